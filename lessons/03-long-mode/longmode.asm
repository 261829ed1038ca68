; longmode.asm - lesson 03: from 32-bit protected mode into 64-bit long mode.
;
; Boot chain: lesson 02's entry.asm (reused unchanged) has enabled A20, read
; the E820 map, switched to 32-bit protected mode with flat segments, set up
; a stack, zeroed .bss and .boot.bss, and called pm_main: here. We check that
; the CPU has long mode, build the first page tables, turn on PAE, load CR3,
; set EFER.LME, load a GDT with a 64-bit code segment, turn on paging and
; far-jump into 64-bit code, which moves to the higher half and calls
; kernel_main() (main.c). SDM Vol. 3A, 9.8.5 "Initializing IA-32e Mode".

%include "kit.inc"                      ; CR0_PG, CR4_PAE, EFER_LME, PTE_*...
%include "gdt.inc"

CPUID_EXT_MAX   equ 0x80000000          ; CPUID leaf: highest extended leaf
CPUID_EXT_INFO  equ 0x80000001          ; CPUID leaf: extended features
CPUID_EDX_LM    equ 1 << 29             ;   EDX bit 29: long mode

        bits    32
        section .entry

        global  pm_main
pm_main:
        ; 1. Does this processor have long mode at all?
        mov     eax, CPUID_EXT_MAX
        cpuid
        cmp     eax, CPUID_EXT_INFO     ; extended leaves go far enough?
        jb      no_long_mode
        mov     eax, CPUID_EXT_INFO
        cpuid
        test    edx, CPUID_EDX_LM
        jz      no_long_mode

        ; 2. Page tables: paging is mandatory in long mode.
        call    build_page_tables

        ; 3. CR4.PAE: 64-bit page-table entries (long mode requires them).
        mov     eax, cr4
        or      eax, CR4_PAE
        mov     cr4, eax
        ; 4. CR3: physical address of the top-level table, the PML4.
        mov     eax, pml4
        mov     cr3, eax
        ; 5. EFER.LME: long mode enable. Nothing happens yet...
        mov     ecx, MSR_EFER
        rdmsr
        or      eax, EFER_LME
        wrmsr
        ; 6. A GDT with a 64-bit code segment (L=1) to jump through.
        lgdt    [gdt64_descriptor]
        ; 7. ...until paging goes on: the CPU then sets EFER.LMA and runs
        ;    in compatibility mode, still executing this 32-bit code.
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax
        ; 8. Only loading CS with an L=1 descriptor makes us 64-bit, and
        ;    only a far jump (or call, or return) loads CS.
        jmp     GDT64_CODE:long_mode

no_long_mode:
        mov     esi, msg_no_long_mode
        call    pm_puts
        mov     al, POWER_FAIL
        jmp     pm_power_off

; build_page_tables - map the first GiB twice: at virtual 0 (identity, so
; that this code survives the moment paging goes on) and at KERNEL_VMA (the
; higher half, where the C kernel is linked). Both share one page directory:
;   PML4[0]   -> PDPT_low[0]    -> PD
;   PML4[511] -> PDPT_high[510] -> PD      (0xFFFFFFFF80000000 = 511/510/0/0)
;   PD[0] -> PT: 4 KiB pages for the first 2 MiB, where the kernel lives
;   PD[1..511]: 2 MiB pages (PS=1) for 2 MiB..1 GiB
; The tables are in .boot.bss, already zero: every other entry is "not
; present". Entry: none.  Returns: nothing.  Clobbers: EAX, ECX, EDI.
build_page_tables:
        mov     dword [pml4], pdpt_low + (PTE_P | PTE_RW)
        mov     dword [pml4 + 511 * 8], pdpt_high + (PTE_P | PTE_RW)
        mov     dword [pdpt_low], page_directory + (PTE_P | PTE_RW)
        mov     dword [pdpt_high + 510 * 8], page_directory + (PTE_P | PTE_RW)
        mov     dword [page_directory], page_table + (PTE_P | PTE_RW)
        mov     edi, page_table         ; PT[i] = i * 4 KiB
        mov     eax, PTE_P | PTE_RW
        mov     ecx, PT_ENTRIES
.pt:    mov     [edi], eax
        add     eax, PAGE_SIZE
        add     edi, 8
        loop    .pt
        mov     edi, page_directory + 8 ; PD[i] = i * 2 MiB, large pages
        mov     eax, LARGE_PAGE_SIZE | PTE_P | PTE_RW | PTE_PS
        mov     ecx, PT_ENTRIES - 1
.pd:    mov     [edi], eax
        add     eax, LARGE_PAGE_SIZE
        add     edi, 8
        loop    .pd
        ret

%include "pm_io.inc"                    ; pm_puts, pm_power_off

msg_no_long_mode:
        db      "lesson 03: this CPU has no long mode "
        db      "(CPUID 0x80000001 EDX bit 29 is clear)", 13, 10, 0

        align   8
gdt64:
        dq      0                       ; null
.code:  GDT_ENTRY 0, 0xFFFFF, ACCESS_CODE, FLAGS_64BIT
.data:  GDT_ENTRY 0, 0xFFFFF, ACCESS_DATA, FLAGS_32BIT_4K
.end:
gdt64_descriptor:
        dw      gdt64.end - gdt64 - 1
        dq      gdt64                   ; 8 bytes: also valid for 64-bit LGDT
GDT64_CODE      equ gdt64.code - gdt64
GDT64_DATA      equ gdt64.data - gdt64

        bits    64
long_mode:
        mov     ax, GDT64_DATA          ; data segments are almost ignored in
        mov     ds, ax                  ; 64-bit mode (base 0, no limit), but
        mov     es, ax                  ; SS must hold a valid selector or 0
        mov     ss, ax
        xor     eax, eax
        mov     fs, ax
        mov     gs, ax
        mov     rsp, kernel_stack_top   ; a higher-half address: from here
        mov     rax, kernel_main        ; on we run where the kernel was
        call    rax                     ; linked (an absolute jump)
.hang:  cli
        hlt
        jmp     .hang
        extern  kernel_main

; The first page tables: 4 KiB aligned, as CR3 and every entry require.
        section .boot.bss nobits alloc write align=4096
        global  pml4
pml4:           resb    PAGE_SIZE
pdpt_low:       resb    PAGE_SIZE
pdpt_high:      resb    PAGE_SIZE
page_directory: resb    PAGE_SIZE
page_table:     resb    PAGE_SIZE

; paging.h's kernel_phys_base: the physical address the higher half's
; first 2 MiB map to. 0 here; lesson 07's hypervisor moves itself and sets
; it (lessons/07-guest-os/relocate.c).
        section .data
        align   8
        global  kernel_phys_base
kernel_phys_base:       dq 0

        section .bss
        align   16
kernel_stack:   resb    KERNEL_STACK_SIZE
        global  kernel_stack_top
kernel_stack_top:
