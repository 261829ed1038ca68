; isr.asm - lesson 04: the first instructions of every interrupt and exception.
;
; The CPU enters here through an IDT gate (idt.c) in 64-bit mode, ring 0,
; with interrupts off (every gate is an interrupt gate). It has already
; pushed SS, RSP, RFLAGS, CS and RIP, and for some exceptions an error code,
; on the current stack, or on the IST stack the gate names (SDM Vol. 3A,
; 6.14.2 "64-Bit Mode Stack Frame"). Each vector gets a stub that makes the
; frame uniform (a dummy error code where the CPU pushed none, then the
; vector number) and jumps to isr_common, which saves the general registers,
; calls trap_dispatch() (trap.c) with a pointer to the whole frame, restores
; the registers, possibly changed by the handler, and returns with IRETQ.

%include "kit.inc"                      ; IDT_ENTRIES, X86_TRAP_*: idt.h, trap.h

        bits    64
        section .text

; ISR_STUB n - the entry stub of vector n.
; Only these exceptions push an error code (SDM Vol. 3A, Table 6-1); for
; all other vectors, including every external interrupt, we push a 0 in
; its place so that struct trap_frame has one layout.
%macro ISR_STUB 1
isr_stub_%1:
%if %1 == X86_TRAP_DF || %1 == X86_TRAP_TS || %1 == X86_TRAP_NP || \
    %1 == X86_TRAP_SS || %1 == X86_TRAP_GP || %1 == X86_TRAP_PF || \
    %1 == X86_TRAP_AC || %1 == X86_TRAP_CP || %1 == X86_TRAP_VC || \
    %1 == X86_TRAP_SX
        push    %1                      ; error code already pushed by the CPU
%else
        push    0                       ; dummy error code
        push    %1                      ; vector number
%endif
        jmp     isr_common
%endmacro

%assign vector 0
%rep IDT_ENTRIES
        ISR_STUB vector
%assign vector vector + 1
%endrep

; isr_common - save the interrupted code's registers, call the dispatcher.
; Entry: the stack holds the vector, an error code and the CPU's frame.
; Returns: to the interrupted code (IRETQ), at the frame's RIP.
; Clobbers: nothing; every register is restored from the frame.
; The CPU aligned RSP to 16 bytes before pushing its frame; its 5 words,
; the error code, the vector and our 15 registers make 22 words, so RSP is
; still 16-byte aligned at the call, as the System V ABI asks.
isr_common:
        push    rax                     ; the order is struct trap_frame's,
        push    rcx                     ; read from the bottom up (trap.h)
        push    rdx
        push    rbx
        push    rbp
        push    rsi
        push    rdi
        push    r8
        push    r9
        push    r10
        push    r11
        push    r12
        push    r13
        push    r14
        push    r15
        mov     rdi, rsp                ; argument 1: struct trap_frame *
        cld                             ; the ABI wants DF clear on calls
        extern  trap_dispatch
        call    trap_dispatch
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     r11
        pop     r10
        pop     r9
        pop     r8
        pop     rdi
        pop     rsi
        pop     rbp
        pop     rbx
        pop     rdx
        pop     rcx
        pop     rax
        add     rsp, 16                 ; drop the vector and error code
        iretq

; The address of every stub, indexed by vector: idt.c writes them into the
; gates (the stubs differ in size, so their addresses must be listed).
        section .rodata
        align   8
        global  isr_stub_table
isr_stub_table:
%assign vector 0
%rep IDT_ENTRIES
        dq      isr_stub_ %+ vector
%assign vector vector + 1
%endrep
