; ap_trampoline.asm - lesson 04: an application processor, from its
; start-up IPI to 64-bit C.
;
; Boot chain: the BSP (smp.c) has copied this code to SMP_TRAMPOLINE, a
; page below 1 MiB, filled its argument block and sent the AP INIT, then a
; start-up IPI whose vector is that page's number. The AP wakes in real
; mode at CS:IP = (SMP_TRAMPOLINE >> 4):0000, interrupts off, caches on,
; no stack (SDM Vol. 3A, 8.4.4 "MP Initialization Example"; 9.4.4 from
; 2022 on). Here it does in a few lines what lesson 02's entry.asm and
; lesson 03's longmode.asm did for the BSP: a GDT, protected mode, PAE,
; the BSP's page tables, EFER.LME, paging, a 64-bit code segment; then it
; takes the stack the BSP gave it and calls smp_ap_main(cpu) in the higher
; half (smp_ap.c), which never returns.
;
; The code runs at SMP_TRAMPOLINE, not where it is linked, so it names
; every address as SMP_TRAMPOLINE + its offset in the trampoline (AT()):
; numbers, which need no relocation and stay right after the copy.

%include "kit.inc"                      ; SMP_*, CR0_*, CR4_PAE, MSR_EFER...
%include "gdt.inc"                      ; GDT_ENTRY, ACCESS_*, FLAGS_*

%define AT(label) (SMP_TRAMPOLINE + (label) - ap_trampoline)

CODE32_SEL      equ ap_gdt.code32 - ap_gdt
CODE64_SEL      equ ap_gdt.code64 - ap_gdt
DATA_SEL        equ ap_gdt.data - ap_gdt

        section .rodata                 ; copied, never run where linked
        align   16

; ap_trampoline - the AP's first instruction.
; Entry: real mode, CS = SMP_TRAMPOLINE >> 4, IP = 0.  Returns: never.
        bits    16
        global  ap_trampoline
ap_trampoline:
        cli                             ; IF is 0 already; say so
        cld
        mov     ax, cs                  ; DS = CS: offsets in the page
        mov     ds, ax
        lgdt    [ap_gdt_descriptor - ap_trampoline]
        mov     eax, cr0
        or      eax, CR0_PE
        mov     cr0, eax
        jmp     dword CODE32_SEL:AT(ap_protected_mode)

        bits    32
ap_protected_mode:
        mov     ax, DATA_SEL
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     eax, cr4                ; long mode needs PAE (SDM 9.8.5)
        or      eax, CR4_PAE
        mov     cr4, eax
        mov     eax, [AT(ap_trampoline_args) + SMP_ARG_CR3]
        mov     cr3, eax                ; the BSP's PML4: below 4 GiB
        mov     ecx, MSR_EFER           ; LME, and NXE if the BSP's tables
        mov     eax, [AT(ap_trampoline_args) + SMP_ARG_EFER]
        xor     edx, edx                ; use NX bits (smp.c clears LMA)
        wrmsr
        mov     eax, cr0                ; paging on: long mode is active,
        or      eax, CR0_PG             ; in compatibility mode
        mov     cr0, eax
        jmp     CODE64_SEL:AT(ap_long_mode)

        bits    64
ap_long_mode:
        xor     eax, eax                ; 64-bit mode ignores data segment
        mov     ds, ax                  ; bases; 0 is a valid selector for
        mov     es, ax                  ; all of them but SS (at CPL 0 too,
        mov     fs, ax                  ; but a real one costs nothing)
        mov     gs, ax
        mov     ax, DATA_SEL
        mov     ss, ax
        mov     rsp, [AT(ap_trampoline_args) + SMP_ARG_STACK]
        mov     rdi, [AT(ap_trampoline_args) + SMP_ARG_CPU]
        mov     rax, [AT(ap_trampoline_args) + SMP_ARG_ENTRY]
        call    rax                     ; smp_ap_main(cpu): never returns
.hang:  cli
        hlt
        jmp     .hang

        align   8
ap_gdt:
        dq      0                       ; null
.code32: GDT_ENTRY 0, 0xFFFFF, ACCESS_CODE, FLAGS_32BIT_4K
.code64: GDT_ENTRY 0, 0xFFFFF, ACCESS_CODE, FLAGS_64BIT
.data:  GDT_ENTRY 0, 0xFFFFF, ACCESS_DATA, FLAGS_32BIT_4K
.end:
ap_gdt_descriptor:
        dw      ap_gdt.end - ap_gdt - 1
        dd      AT(ap_gdt)              ; a linear address: the copy's

; struct smp_ap_args (smp.h): the BSP writes it in the copy before each
; start-up IPI.
        align   8
        global  ap_trampoline_args
ap_trampoline_args:
        times   SMP_ARGS_SIZE db 0
        global  ap_trampoline_end
ap_trampoline_end:
