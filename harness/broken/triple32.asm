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
%include "pm32.inc"
        ENTER_PM32 empty_idt
fault_here:
        ud2                             ; -> #UD -> #GP -> #DF -> reset
        jmp     $
empty_idt:
        dw      0                       ; limit 0: no vector fits
        dd      0
hello:  db      "broken: about to triple-fault in protected mode", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
