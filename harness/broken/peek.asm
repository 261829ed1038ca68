; peek.asm - a harness-only guest for lesson 07: in 32-bit protected mode it
; reads the dword at the address held in `target`, the four bytes before
; the signature (offset 506), which the test patches. Natively that is just
; a read (and then a hang); under lesson 07's hypervisor an address in its
; hidden memory must be an EPT violation, reported with that address.
        bits    16
        org     0x7C00
        mov     si, hello
%include "broken.inc"
%include "pm32.inc"
        ENTER_PM32 empty_idt
        mov     ebx, [target]
        mov     eax, [ebx]              ; the read the hypervisor must stop
        jmp     $
empty_idt:
        dw      0
        dd      0
hello:  db      "broken: about to read the address in my last dword", 13, 10, 0
        times   506 - ($ - $$) db 0
target: dd      0                       ; patched by the test
        dw      0xAA55
