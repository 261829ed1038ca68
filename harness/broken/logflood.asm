; logflood.asm - a deliberately broken boot sector for the harness's own
; tests: it enters 32-bit protected mode and raises a software interrupt
; forever. Each one returns at once, so the guest never faults and never
; prints, but QEMU's -d int log gains a whole register dump per interrupt:
; the log, not COM1, floods (megabytes a second), and the harness must stop
; the boot at its log cap instead of reading a log of any size.
        bits    16
        org     0x7C00
        mov     si, hello
%include "broken.inc"
%include "pm32.inc"
        ENTER_PM32 idt_descriptor
storm:  int     0x30                    ; logged by QEMU, handled by iret
        jmp     storm
handler:
        iret
        align   8
idt_descriptor:
        dw      0x31 * 8 - 1            ; vectors 0..0x30
        dd      idt - 0x30 * 8          ; only gate 0x30 is ever read
idt:    dw      handler                 ; gate 0x30: offset 15..0
        dw      0x08                    ; selector: flat code
        dw      0x8E00                  ; present, DPL 0, 32-bit interrupt gate
        dw      0                       ; offset 31..16 (handler < 64 KiB)
hello:  db      "broken: about to flood QEMU's log with interrupts", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
