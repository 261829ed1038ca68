; vmexit.asm - lesson 05: into the guest, and back out on every VM exit.
;
; VMLAUNCH and VMRESUME load the guest's RSP, RIP and RFLAGS from the VMCS,
; but its other general registers are whatever the hypervisor leaves in
; them; on a VM exit they still hold the guest's values. So the entry path
; loads them from a struct guest_regs (vmx.h), and the exit path saves them
; into one, on the host stack, before any C code can clobber them.
; SDM Vol. 3C, 27.1 "Architectural State Before a VM Exit".

        bits    64
        section .text

; Offsets of struct guest_regs, in the order the exit path pushes them.
%define REG(n)  [rdi + (n) * 8]
SLOT_RAX equ 0
SLOT_RCX equ 1
SLOT_RDX equ 2
SLOT_RBX equ 3
SLOT_RBP equ 4
SLOT_RSI equ 5
SLOT_RDI equ 6
SLOT_R8  equ 7                          ; r9..r15 follow
VMX_FAIL_INVALID equ 1                  ; enum vmx_status (vmx_ops.h)
VMX_FAIL_VALID   equ 2

; vmx_launch - enter the guest for the first time.
; Entry: RDI = struct guest_regs *.  Returns: only if VMLAUNCH fails, with
; EAX = enum vmx_status. On success, execution continues in the guest and
; comes back at vmexit_entry, on the host stack, never here.
        global  vmx_launch
vmx_launch:
        push    rbx                     ; callee-saved, for the failure path
        push    rbp
        push    r12
        push    r13
        push    r14
        push    r15
        mov     rax, REG(SLOT_RAX)
        mov     rcx, REG(SLOT_RCX)
        mov     rdx, REG(SLOT_RDX)
        mov     rbx, REG(SLOT_RBX)
        mov     rbp, REG(SLOT_RBP)
        mov     rsi, REG(SLOT_RSI)
        mov     r8,  REG(SLOT_R8)
        mov     r9,  REG(SLOT_R8 + 1)
        mov     r10, REG(SLOT_R8 + 2)
        mov     r11, REG(SLOT_R8 + 3)
        mov     r12, REG(SLOT_R8 + 4)
        mov     r13, REG(SLOT_R8 + 5)
        mov     r14, REG(SLOT_R8 + 6)
        mov     r15, REG(SLOT_R8 + 7)
        mov     rdi, REG(SLOT_RDI)           ; last: it was our pointer
        vmlaunch                        ; SDM 30.3 "VMLAUNCH/VMRESUME"
        ; Still here: VMfailInvalid (CF) or VMfailValid (ZF).
        mov     eax, VMX_FAIL_INVALID
        jc      .out
        mov     eax, VMX_FAIL_VALID
.out:   pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbp
        pop     rbx
        ret

; vmexit_entry - where every VM exit lands (the VMCS's HOST_RIP), with RSP
; = HOST_RSP, the top of the hypervisor's own stack, and the host's CR3,
; segments and EFER already loaded by the processor. Interrupts are off
; (RFLAGS is cleared on exit).
        global  vmexit_entry
        extern  vmexit_dispatch, vmx_resume_failed
vmexit_entry:
        push    r15                     ; build a struct guest_regs on the
        push    r14                     ; stack, last member first
        push    r13
        push    r12
        push    r11
        push    r10
        push    r9
        push    r8
        push    rdi
        push    rsi
        push    rbp
        push    rbx
        push    rdx
        push    rcx
        push    rax
        mov     rdi, rsp                ; the C handler's argument
        sub     rsp, 8                  ; 15 pushes: realign to 16 bytes
        call    vmexit_dispatch         ; may change the saved registers
        add     rsp, 8
        pop     rax
        pop     rcx
        pop     rdx
        pop     rbx
        pop     rbp
        pop     rsi
        pop     rdi
        pop     r8
        pop     r9
        pop     r10
        pop     r11
        pop     r12
        pop     r13
        pop     r14
        pop     r15
        vmresume                        ; back into the guest
        ; Still here: VMRESUME failed. Say why; this does not return.
        mov     edi, VMX_FAIL_INVALID
        jc      .failed
        mov     edi, VMX_FAIL_VALID
.failed:
        and     rsp, -16
        call    vmx_resume_failed
.hang:  cli
        hlt
        jmp     .hang
