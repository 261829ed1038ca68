; vmcall.asm - a harness-only guest for lesson 07: it executes VMCALL, an
; instruction that always exits in VMX non-root operation (and is #UD on a
; bare machine). Lesson 07's hypervisor must stop it with a report naming
; the instruction and where it was, and never crash.
        bits    16
        org     0x7C00
        mov     si, hello
%include "broken.inc"
call_here:
        vmcall
        jmp     $
hello:  db      "broken: about to execute VMCALL", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
