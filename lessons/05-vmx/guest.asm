; guest.asm - lesson 05: the guest's whole program.
;
; Runs in VMX non-root operation, in 64-bit mode, on the host's own page
; tables and segments (lesson 05 has no EPT yet: the guest is not confined,
; only observed). The hypervisor puts a seed in RAX; the guest derives every
; other general register from it, so that the exit handler's register dump
; can be checked, then executes CPUID, which always causes a VM exit
; (SDM Vol. 3C, 25.1.2 "Instructions That Cause VM Exits Unconditionally").

        bits    64
        section .text

; guest_entry - GUEST_RIP points here.
; Entry: RAX = seed.  Returns: never (CPUID exits to the hypervisor).
        global  guest_entry
        global  guest_cpuid
guest_entry:
        lea     rcx, [rax + 1]
        lea     rdx, [rax + 2]
        lea     rbx, [rax + 3]
        lea     rbp, [rax + 4]
        lea     rsi, [rax + 5]
        lea     rdi, [rax + 6]
        lea     r8,  [rax + 7]
        lea     r9,  [rax + 8]
        lea     r10, [rax + 9]
        lea     r11, [rax + 10]
        lea     r12, [rax + 11]
        lea     r13, [rax + 12]
        lea     r14, [rax + 13]
        lea     r15, [rax + 14]
guest_cpuid:
        cpuid                           ; VM exit, reason 10 (CPUID)
        ud2                             ; lesson 05 never comes back here
