; vmexit.asm - lesson 05: into the guest, and back out on every VM exit.
;
; VMLAUNCH and VMRESUME load the guest's RSP, RIP and RFLAGS from the VMCS,
; but its other general registers are whatever the hypervisor leaves in
; them; on a VM exit they still hold the guest's values. So the entry path
; loads them from a struct guest_regs (guest_regs.h), and the exit path saves
; them into one, on the host stack, before any C code can clobber them.
; SDM Vol. 3C, 27.1 "Architectural State Before a VM Exit". The struct's
; offsets (GUEST_REGS_*) and enum vmx_status (VMX_FAIL_*) are C's, read
; from the generated kit.inc.

%include "kit.inc"      ; GUEST_REGS_*: guest_regs.h; VMX_FAIL_*: vmx_ops.h
%include "../05-vmx/guest_regs.inc" ; GUEST_REGS_LOAD, _SAVE (from any lesson)

        bits    64
        section .text

; A struct guest_regs on the host stack, rounded up so that RSP stays
; 16-byte aligned (HOST_RSP is) for the call into C.
GUEST_REGS_FRAME equ (GUEST_REGS_SIZE + 15) & ~15 ; bytes the exit path reserves


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
        GUEST_REGS_LOAD rdi             ; RDI last: it was our pointer
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
; segments and EFER already loaded by the processor (SDM 27.5). Interrupts
; are off (RFLAGS is cleared on exit).
        global  vmexit_entry
        extern  vmexit_dispatch, vmx_resume_failed
vmexit_entry:
        sub     rsp, GUEST_REGS_FRAME   ; a struct guest_regs on the stack
        GUEST_REGS_SAVE rsp
        mov     rdi, rsp                ; the C handler's argument
        call    vmexit_dispatch         ; may change the saved registers
        GUEST_REGS_LOAD rsp
        add     rsp, GUEST_REGS_FRAME
        vmresume                        ; back into the guest (SDM 30.3)
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
