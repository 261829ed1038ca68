; automaton.asm - lesson 01: a one-dimensional cellular automaton in one sector.
;
; Boot chain: the BIOS has loaded this sector (the first 512 bytes of the
; disk) to 0x0000:0x7C00 and jumped here in 16-bit real mode, with the boot
; drive number in DL. Nothing else is set up: no stack we chose, segment
; registers unknown. We hand over to nobody: after the last generation the
; sector powers the machine off.
;
; The automaton: 80 cells in a ring. Each generation, a cell looks at itself
; and its two neighbours; those three bits (left, centre, right) form a number
; 0..7, and bit n of the rule byte is the cell's next state (Wolfram's rule
; numbering). Rule 30 from a single live cell draws the famous chaotic
; triangle.
;
; Each generation is printed twice: on COM1 as one line of 80 characters
; ('#' alive, '.' dead) and on the VGA text screen in colour.

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
        jmp     0x0000:.normalise       ; some BIOSes jump to 07C0:0000
.normalise:
        xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7C00              ; stack grows down from just below us
        cld                             ; string instructions count upwards
        call    serial_init16
        mov     ax, 0x0003              ; int 10h AH=0: set 80x25 colour text,
        int     0x10                    ;   which also clears the screen
        mov     ax, VGA_SEGMENT
        mov     es, ax
        xor     di, di                  ; ES:DI: where the next row is drawn
        mov     cx, [param_generations]

generation:
        ; --- show the current row ------------------------------------
        cmp     di, SCREEN_ROWS * CELLS * 2
        jb      .draw
        call    scroll_screen
.draw:  mov     si, param_row
        push    cx
        mov     cx, CELLS
.cell:  lodsb                           ; AL = '#' or '.'
        call    serial_putc16
        mov     bx, LIVE_CELL
        cmp     al, '#'
        je      .put
        mov     bx, DEAD_CELL
.put:   mov     [es:di], bx
        add     di, 2
        loop    .cell
        mov     al, 13
        call    serial_putc16
        mov     al, 10
        call    serial_putc16

        ; --- compute the next row into NEXT_ROW -----------------------
        xor     bx, bx                  ; BX = cell index 0..79
.next:
        ; Exercise: AH = the pattern 0..7 of cell BX, its left neighbour in
        ; bit 2, itself in bit 1, its right neighbour in bit 0 (cell_bit
        ; reads one cell); the ring wraps at both ends.
        ; BEGIN SOLUTION: neighbourhood
        mov     al, bl                  ; left neighbour index, wrapping:
        dec     al                      ;   0 - 1 is negative, becomes 79
        jns     .left
        mov     al, CELLS - 1
.left:  call    cell_bit                ; AL = 1 if live
        mov     ah, al
        mov     al, bl
        call    cell_bit                ; centre
        shl     ah, 1
        or      ah, al
        mov     al, bl                  ; right neighbour index, wrapping:
        inc     al                      ;   80 becomes 0
        cmp     al, CELLS
        jb      .right
        xor     al, al
.right: call    cell_bit
        shl     ah, 1
        or      ah, al                  ; AH = pattern 0..7
        ; END SOLUTION
        ; Exercise: bit AH of the rule byte is the cell's next state; store
        ; it at NEXT_ROW + BX as '#' (1, alive) or '.' (0, dead).
        ; BEGIN SOLUTION: rule-lookup
        mov     cl, ah
        mov     al, [param_rule]
        shr     al, cl                  ; the rule's bit for this pattern
        and     al, 1
        mov     al, '.'
        jz      .store
        mov     al, '#'
.store: mov     [NEXT_ROW + bx], al
        ; END SOLUTION
        inc     bx
        cmp     bx, CELLS
        jb      .next

        ; --- the next row becomes the current one ---------------------
        push    es
        push    di
        push    ds
        pop     es
        mov     si, NEXT_ROW
        mov     di, param_row
        mov     cx, CELLS
        rep     movsb
        pop     di
        pop     es
        pop     cx
        dec     cx                      ; (too far for LOOP's short jump)
        jnz     generation

        xor     al, al                  ; POWER_PASS: all generations shown
        jmp     power_off16

; cell_bit - is cell AL of the current row alive?
; Entry: AL = index 0..79.  Returns: AL = 1 (live) or 0.  Clobbers: nothing else.
cell_bit:
        push    bx
        movzx   bx, al
        cmp     byte [param_row + bx], '#'
        sete    al
        pop     bx
        ret

; scroll_screen - move the screen up one row (BIOS int 10h AH=06h).
; Entry: DI = offset past the bottom row.  Returns: DI = start of bottom row.
; Clobbers: AX, BX, DX (CX is saved).
scroll_screen:
        push    cx
        mov     ax, 0x0601              ; scroll up by one line
        mov     bh, 0x07                ; attribute of the new blank row
        xor     cx, cx                  ; upper left corner: (0, 0)
        mov     dx, (SCREEN_ROWS - 1) << 8 | (CELLS - 1)
        int     0x10
        pop     cx
        sub     di, CELLS * 2
        ret

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
