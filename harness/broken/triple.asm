; triple.asm - a deliberately broken boot sector for the harness's own tests:
; it loads an empty IDT, so the breakpoint it raises cannot be delivered, nor
; can the #GP that follows, nor the #DF after that: a triple fault.
        bits    16
        org     0x7C00
        mov     si, hello
%include "broken.inc"
        cli
        lidt    [empty_idt]
        int3                            ; -> #GP -> #DF -> reset
        jmp     $
empty_idt:
        dw      0                       ; limit 0: no vector fits
        dd      0
hello:  db      "broken: about to triple-fault", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
