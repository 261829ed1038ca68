; bootstrap_image.asm - lesson 07: bootstrap.bin inside the hypervisor.
;
; bootstrap.asm is assembled on its own as a flat binary for the address
; it runs at (org HV_BOOTSTRAP_ADDR); guest_exits.c copies it there.

        section .rodata
        global  bootstrap_image, bootstrap_image_end
bootstrap_image:
        incbin  "bootstrap.bin"
bootstrap_image_end:
