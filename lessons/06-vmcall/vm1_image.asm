; vm1_image.asm - lesson 06: VM1's program, inside the hypervisor's image.
;
; vm1.asm is assembled on its own as a flat binary (vm1.bin) for its own
; address space (org GUEST_LOAD_ADDR); here it becomes read-only data of the
; hypervisor, which copies it into VM1's RAM before the first VM entry.
; The greeting is exported as a patchable parameter, so the harness can
; change what VM1 says without the hypervisor knowing.

%include "kit.inc"

        section .rodata
        align   16
        global  vm1_image, vm1_image_end
        global  param_greeting:data GUEST_GREETING_SIZE
vm1_image:
        incbin  "vm1.bin", 0, GUEST_GREETING_OFFSET
param_greeting:
        incbin  "vm1.bin", GUEST_GREETING_OFFSET, GUEST_GREETING_SIZE
        incbin  "vm1.bin", GUEST_GREETING_OFFSET + GUEST_GREETING_SIZE
vm1_image_end:
