; hang.asm - a deliberately broken boot sector for the harness's own tests:
; it says hello on COM1, then spins forever with interrupts off.
        bits    16
        org     0x7C00
        mov     si, hello
%include "broken.inc"
        cli
spin:   jmp     spin                    ; the harness must call this a hang
hello:  db      "broken: about to hang", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
