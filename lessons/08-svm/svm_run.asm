; svm_run.asm - lesson 08: one trip into the guest with VMRUN, and back.
;
; Called by svm_exits.c's loop in 64-bit mode, host state in place. VMRUN
; (AMD64 APM Vol. 2, 15.5) saves the host's RSP, RIP, RAX, RFLAGS, CRs,
; EFER and ES/CS/SS/DS to the host save area (VM_HSAVE_PA) and loads the
; guest's from the VMCB whose physical address is in RAX; #VMEXIT (15.6)
; loads the host's back and continues after the VMRUN. Unlike VMX there
; is no HOST_RIP: the call simply returns. What neither touches:
;   - the guest's RCX..R15: the VMCB holds only RAX, RSP, RIP, so the
;     other general registers are ours to load and save (struct
;     guest_regs, lesson 05's guest_regs.h, as lesson 05's vmexit.asm);
;   - FS, GS, TR, LDTR, KernelGSbase and the SYSCALL/SYSENTER MSRs: VMLOAD
;     and VMSAVE move those between the CPU and a VMCB (15.5.2), so we
;     VMLOAD the guest's before VMRUN, VMSAVE them after, and VMLOAD the
;     host's again from the host's own VMCB-shaped page.
; CLGI/STGI (15.17) keep interrupts, NMIs and SMIs from arriving between
; the host's state and the guest's. The trip itself is svm_run.inc's
; macro, which lesson 11's svm_vmrun_intr uses with the host's IF = 1.

%include "kit.inc"                      ; GUEST_REGS_*: guest_regs.h
%include "../05-vmx/guest_regs.inc"     ; GUEST_REGS_LOAD_GPRS, _SAVE_GPRS
%include "../08-svm/svm_run.inc"        ; SVM_VMRUN_TRIP: the trip itself

        bits    64
        section .text

; svm_vmrun - run the guest until its next #VMEXIT.
; Entry: RDI = struct guest_regs *, RSI = guest VMCB physical address,
;        RDX = host VMCB physical address (VMSAVEd by svm_exits.c).
; Returns: after #VMEXIT, with the guest's RCX..R15 in *RDI; the exit code
;        and the guest's RAX, RSP and RIP are in its VMCB.
; Clobbers: RAX, RCX, RDX, RSI, RDI, R8-R11 (the ABI's scratch registers).
        global  svm_vmrun
svm_vmrun:
        SVM_VMRUN_TRIP 0
