; vmcall.asm - a harness-only guest for lessons 07 and 09: it executes
; VMCALL (VMMCALL on an AMD CPU, patched in from the CPUID vendor as
; lesson 06's VM1 does), which always exits in a guest (and is #UD on a
; bare machine). The hypervisor must stop it with a report naming the
; instruction and where it was, and never crash.
        bits    16
        org     0x7C00
        mov     si, hello
%include "broken.inc"
        xor     eax, eax
        cpuid
        cmp     ebx, 'Auth'             ; "AuthenticAMD": VMMCALL
        jne     call_here
        mov     byte [call_here + 2], 0xD9
call_here:
        vmcall
        jmp     $
hello:  db      "broken: about to execute VMCALL", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
