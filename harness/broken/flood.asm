; flood.asm - a deliberately broken boot sector for the harness's own tests:
; it prints to COM1 forever and never powers off.
        bits    16
        org     0x7C00
        mov     si, hello
%include "broken.inc"
again:  mov     si, line
        call    print
        jmp     again
hello:  db      "broken: about to flood the serial port", 13, 10, 0
line:   db      "flood flood flood flood flood flood flood flood", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
