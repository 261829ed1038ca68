; entry.asm - lesson 02: from real mode to 32-bit protected mode and C.
;
; Boot chain: the disk loader (common/boot/loader.asm) read this program to
; 0x8000 and jumped to _start in real mode with the boot drive in DL. Here we
; collect what only the BIOS can tell us (A20, the memory map), load a flat
; GDT, set CR0.PE, and far-jump into 32-bit code, which sets up segments, a
; stack and .bss, then calls pm_main(), the 32-bit program: main.c in this
; lesson; lesson 03 supplies its own pm_main, which goes on to long mode.
; We never come back.

%include "kit.inc"                      ; CR0_PE...: from common/include/x86.h

        bits    16
        section .entry.start            ; linked first: the loader jumps here

%include "gdt.inc"                      ; GDT_ENTRY, ACCESS_*, FLAGS_*

CODE_SEL        equ gdt.code - gdt      ; selector = byte offset in the GDT
DATA_SEL        equ gdt.data - gdt
STACK_SIZE      equ 16384

        global  _start
_start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00              ; real-mode stack below the loader
        sti                             ; the BIOS calls below need IRQs
        mov     [boot_drive], dl
        cld

        extern  caches_enable
        call    caches_enable           ; caches.asm: CR0.CD, NW off
        extern  a20_enable
        call    a20_enable              ; a20.asm
        jc      .no_a20
        call    ask_bios                ; the memory map, a video mode

        cli                             ; no real-mode IVT from here on
        ; Exercise: load the GDT, set CR0.PE and enter 32-bit code at
        ; protected_mode through the GDT's code segment.
        ; BEGIN SOLUTION: enter-protected-mode
        lgdt    [gdt_descriptor]
        mov     eax, cr0
        or      eax, CR0_PE
        mov     cr0, eax
        ; Protected mode is on, but CS still holds a real-mode segment and
        ; the CPU may have prefetched 16-bit instructions. A far jump loads
        ; CS from the GDT (making us 32-bit) and flushes the pipeline.
        jmp     CODE_SEL:protected_mode
        ; END SOLUTION

.no_a20:
        mov     si, msg_no_a20
        call    puts16
        mov     al, POWER_FAIL
        jmp     power_off16

%include "rm_io.inc"
%include "rm_power.inc"
msg_no_a20:     db "lesson 02: could not switch A20 on", 0

        align   8
gdt:                                    ; the flat model: 0 to 4 GiB
        dq      0                       ; the null descriptor is required
.code:  GDT_ENTRY 0, 0xFFFFF, ACCESS_CODE, FLAGS_32BIT_4K
.data:  GDT_ENTRY 0, 0xFFFFF, ACCESS_DATA, FLAGS_32BIT_4K
.end:
gdt_descriptor:                         ; the operand of LGDT
        dw      gdt.end - gdt - 1       ; limit: size in bytes minus one
        dd      gdt                     ; linear base address

        global  boot_drive
boot_drive:     db 0

        bits    32
protected_mode:
        mov     ax, DATA_SEL            ; every data segment register gets
        mov     ds, ax                  ; the flat data descriptor; their
        mov     es, ax                  ; hidden caches still held real-mode
        mov     fs, ax                  ; values until reloaded
        mov     gs, ax
        mov     ss, ax
        mov     esp, stack_top
        extern  __bss_start, __bss_end
        mov     edi, __bss_start        ; C expects .bss to be zero; the
        mov     ecx, __bss_end          ;   image does not store it
        sub     ecx, edi
        xor     eax, eax
        rep     stosb
        extern  pm_main
        call    pm_main                 ; does not return
.hang:  cli
        hlt
        jmp     .hang

; The stack lives in .boot.bss: uninitialised like .bss, but always at a low
; address, even in lessons whose C code is linked in the higher half.
        section .boot.bss nobits alloc write align=16
stack:  resb    STACK_SIZE
stack_top:

; ask_bios - what else only the BIOS can tell: the memory map (e820.asm)
; and, where the program links vbe.asm (lesson 02), a graphics mode.
; vbe_setup is a weak reference: 0 in a program without vbe.asm, so later
; lessons skip it. In .entry, after _start's code, so that adding it moved
; nothing _start's section holds (the GDT's address is in the transcript).
; Entry: as e820_read.  Returns: nothing.  Clobbers: what e820_read and
; vbe_setup do.
        bits    16
        section .entry
        extern  e820_read
        extern  vbe_setup:weak
ask_bios:
        call    e820_read               ; e820.asm
        mov     ax, vbe_setup
        test    ax, ax
        jz      .done
        call    ax                      ; vbe.asm: a mode, if one is asked
.done:  ret
