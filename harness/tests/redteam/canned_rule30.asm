; canned_rule30.asm - a hostile lesson 01 for the red-team suite
; (harness/tests/test_00_redteam.py): it prints the 24 rows of rule 30 from
; one live cell, as the lesson's defaults would, from a picture stored in the
; sector, and never reads its parameters. It must score only what a sector
; that fails at once scores: its size and signature.

        bits    16
        section .text

CELLS           equ 80                  ; width of the ring = a screen row
SCREEN_ROWS     equ 25
VGA_SEGMENT     equ 0xB800              ; colour text buffer at 0xB8000
LIVE_CELL       equ 0x0ADB              ; light green full block
DEAD_CELL       equ 0x1000 | ' '        ; blank on blue: shows the ring's edges
NEXT_ROW        equ 0x0600              ; scratch: next generation (free RAM)

        global  _start
_start:
        jmp     0x0000:.normalise
.normalise:
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7C00
        cld
        call    serial_init16
        mov     si, picture             ; hard-coded: never reads a parameter
        mov     di, 24
.row:   call    dots
        mov     bp, 6
.byte:  lodsb
        mov     ah, al
        mov     cx, 8
.bit:   mov     al, '.'
        shl     ah, 1
        jnc     .put
        mov     al, '#'
.put:   call    serial_putc16
        loop    .bit
        dec     bp
        jnz     .byte
        call    dots
        mov     al, 13
        call    serial_putc16
        mov     al, 10
        call    serial_putc16
        dec     di
        jnz     .row
        xor     al, al
        jmp     power_off16

dots:   mov     cx, 16
.d:     mov     al, '.'
        call    serial_putc16
        loop    .d
        ret

picture:
        db      0, 0, 0, 128, 0, 0, 0, 0, 1, 192, 0, 0, 0, 0, 3, 32, 0, 0, 0, 0, 6, 240, 0, 0, 0, 0, 12, 136, 0, 0, 0, 0, 27, 220, 0, 0, 0, 0, 50, 18, 0, 0, 0, 0, 111, 63, 0, 0, 0, 0, 200, 224, 128, 0, 0, 1, 189, 145, 192, 0, 0, 3, 33, 123, 32, 0, 0, 6, 243, 66, 240, 0, 0, 12, 142, 102, 136, 0, 0, 27, 217, 220, 220, 0, 0, 50, 23, 19, 146, 0, 0, 111, 52, 190, 127, 0, 0, 200, 231, 161, 192, 128, 1, 189, 156, 51, 33, 192, 3, 33, 114, 110, 243, 32, 6, 243, 79, 200, 142, 240, 12, 142, 120, 61, 216, 136, 27, 217, 196, 97, 21, 220, 50, 23, 46, 211, 181, 18, 111, 52, 232, 158, 37, 191

%include "rm_io.inc"
%include "rm_power.inc"

; --- patchable parameters ------------------------------------------------
; The harness and students change these bytes in the image without
; re-assembling: the build lists name, offset and size in params.json.
        global  param_rule:data 1
        global  param_generations:data 2
        global  param_row:data CELLS
param_rule:        db 30                ; Wolfram rule number, 0..255
param_generations: dw 24                ; rows printed, the first included
param_row:                              ; generation 0, '#' live, '.' dead
        times 40 db '.'
        db '#'
        times CELLS - 41 db '.'
