; move.asm - lesson 07: the hypervisor copies itself and switches to the
; page tables that map its higher half at the copy.
;
; One routine, in assembly because nothing may touch the stack between the
; copy and the switch: the return address was pushed before the copy, so
; both copies hold it, and `ret` after the switch pops it from the new one.

        bits    64
        section .text

; hv_move(dst rdi, src rsi, len rdx, cr3 rcx) - System V ABI.
        global  hv_move
hv_move:
        mov     r8, rcx                 ; rep movsb needs rcx
        mov     rcx, rdx
        cld
        rep movsb                       ; the image, data, .bss and stack
        mov     cr3, r8                 ; now KERNEL_VMA maps the copy
        ret                             ; (and flushes the old TLB entries)
