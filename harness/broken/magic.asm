; magic.asm - a test sector for the harness (not broken): it stops at a
; Bochs magic breakpoint (BOCHS_BREAK, common/boot/rm_io.inc) with BX and
; CX holding values the test reads back in Bochs' debugger, then powers off
; with PASS. On QEMU, and on Bochs without magic_break, it runs straight
; through. Assembled with -I common/boot/ and a lesson's build folder (for
; the generated kit.inc), as harness/tests/test_00_*.py do.
        bits    16
        org     0x7C00
        jmp     0x0000:start            ; the BIOS may enter at 07C0:0000
%include "rm_io.inc"
%include "rm_power.inc"
start:
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7C00
        call    serial_init16
        mov     si, before
        call    serial_puts16
        mov     bx, 0xB0C5              ; what the debugger must see
        mov     cx, 0x1234
        BOCHS_BREAK
after_break:                            ; Bochs stops here, after the xchg
        mov     si, after
        call    serial_puts16
        xor     al, al                  ; PASS
        jmp     power_off16
before: db      "magic: before the breakpoint", 13, 10, 0
after:  db      "magic: after the breakpoint", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
