; a20.asm - lesson 02: switch on address line 20, and prove it is on.
;
; Runs in real mode from entry.asm, before the switch to protected mode.
; The 8086 had 20 address lines, so FFFF:0010 (linear 0x100000) wrapped to
; 0x00000. Old software relied on that, so PCs start with line 20 forced to
; zero: every odd megabyte is then a copy of the even one below it. A
; protected-mode kernel wants all its memory, so A20 goes on first.

        bits    16
        section .entry

; a20_enable - make sure A20 is on, trying the gentlest method first.
; Entry: DS = 0.  Returns: CF clear and [a20_method] = name of what worked,
; or CF set when nothing did.  Clobbers: AX, SI.
        global  a20_enable
a20_enable:
        mov     si, a20_already
        call    a20_is_on
        jnz     .done
        mov     si, a20_bios            ; 1. ask the BIOS (int 15h AX=2401h)
        mov     ax, 0x2401
        int     0x15
        call    a20_is_on
        jnz     .done
        mov     si, a20_kbc             ; 2. the keyboard controller's output
        call    kbc_wait                ;    port, where IBM wired A20 in 1984
        mov     al, 0xD1                ;    command: write output port
        out     0x64, al
        call    kbc_wait
        mov     al, 0xDF                ;    output port with the A20 bit set
        out     0x60, al
        call    kbc_wait
        call    a20_is_on
        jnz     .done
        mov     si, a20_fast            ; 3. "fast A20": bit 1 of port 0x92
        in      al, 0x92
        or      al, 2
        and     al, 0xFE                ;    bit 0 would reset the machine
        out     0x92, al
        call    a20_is_on
        jnz     .done
        stc
        ret
.done:  mov     [a20_method], si
        clc
        ret

; a20_is_on - the wrap-around test: do 0000:0500 and FFFF:0510 (linear
; 0x000500 and 0x100500) name different bytes?
; Entry: none.  Returns: ZF clear when A20 is on.  Clobbers: AX.
a20_is_on:
        push    ds
        push    es
        push    di
        push    si
        xor     ax, ax
        mov     ds, ax                  ; DS:DI = 0000:0500 = 0x000500
        mov     di, 0x0500
        not     ax
        mov     es, ax                  ; ES:SI = FFFF:0510 = 0x100500
        mov     si, 0x0510
        mov     al, [di]                ; save both bytes
        mov     ah, [es:si]
        push    ax
        mov     byte [di], 0x00
        mov     byte [es:si], 0xFF      ; with A20 off this overwrites [di]
        cmp     byte [di], 0xFF         ; ZF set: they are one byte: off
        pop     ax                      ; (MOV and POP leave the flags alone)
        mov     [es:si], ah
        mov     [di], al
        pop     si
        pop     di
        pop     es
        pop     ds
        ret

; kbc_wait - wait until the 8042 keyboard controller can take a byte.
; Entry: none.  Returns: nothing.  Clobbers: AL.
kbc_wait:
        in      al, 0x64                ; status register
        test    al, 2                   ; input buffer still full?
        jnz     kbc_wait
        ret

; The C kernel prints which method worked (see a20.c).
        global  a20_method
a20_method:     dd 0                    ; 32-bit pointer to one of these:
a20_already:    db "already on (the BIOS did it)", 0
a20_bios:       db "BIOS int 15h AX=2401h", 0
a20_kbc:        db "keyboard controller output port", 0
a20_fast:       db "fast A20 (port 0x92)", 0
