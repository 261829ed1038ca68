; triple32.asm - a deliberately broken boot sector for the harness's own
; tests: it enters 32-bit protected mode with an IDT of limit 0 and executes
; UD2. The #UD cannot be delivered (no gate fits in the IDT), nor the #GP
; that follows, nor the #DF: a triple fault in protected mode, where QEMU's
; -d int log records the registers of each exception, so the harness can
; show where it happened (EIP = fault_here) and in which mode (CR0.PE = 1).
        bits    16
        org     0x7C00
        mov     si, hello
%include "broken.inc"
        cli
        lgdt    [gdt_descriptor]
        lidt    [empty_idt]
        mov     eax, cr0
        or      al, 1                   ; CR0.PE
        mov     cr0, eax
        jmp     0x08:protected
        bits    32
protected:
        mov     ax, 0x10
        mov     ds, ax
        mov     ss, ax
        mov     esp, 0x7000             ; a stack the test can recognise
fault_here:
        ud2                             ; -> #UD -> #GP -> #DF -> reset
        jmp     $
        align   8
gdt:    dq      0
        dq      0x00CF9A000000FFFF      ; 0x08: flat 32-bit code
        dq      0x00CF92000000FFFF      ; 0x10: flat data
gdt_descriptor:
        dw      3 * 8 - 1
        dd      gdt
empty_idt:
        dw      0                       ; limit 0: no vector fits
        dd      0
hello:  db      "broken: about to triple-fault in protected mode", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
