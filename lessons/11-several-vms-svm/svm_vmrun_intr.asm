; svm_vmrun_intr.asm - lesson 11: lesson 08's trip into the guest, with
; the host's interrupts on while the guest runs.
;
; Called by svm_vms.c in 64-bit mode with RFLAGS.IF = 0, as svm_vmrun is.
; The one difference is an STI after CLGI and a CLI after STGI (lesson
; 08's svm_run.inc, SVM_VMRUN_TRIP 1). STI does nothing while GIF = 0
; (AMD64 APM Vol. 2, 15.17), but VMRUN saves the host's RFLAGS, IF = 1,
; and with the INTR intercept and V_INTR_MASKING = 1 it is that IF which
; lets the LAPIC timer's interrupt end the guest's run with #VMEXIT INTR
; (15.21.1). The interrupt stays pending in the LAPIC; #VMEXIT sets
; GIF = 0 and restores IF = 1, so the host's IDT takes it right at STGI,
; and CLI closes the window again.

%include "kit.inc"                      ; GUEST_REGS_*: guest_regs.h
%include "../05-vmx/guest_regs.inc"     ; GUEST_REGS_LOAD_GPRS, _SAVE_GPRS
%include "../08-svm/svm_run.inc"        ; SVM_VMRUN_TRIP

        bits    64
        section .text

; svm_vmrun_intr - run the guest until its next #VMEXIT, interrupts on.
; Entry: RDI = struct guest_regs *, RSI = guest VMCB physical address,
;        RDX = host VMCB physical address (VMSAVEd by svm_vms.c).
; Returns: after #VMEXIT, as lesson 08's svm_vmrun; an interrupt that
;        ended the run has been through its IDT handler; IF = 0.
; Clobbers: RAX, RCX, RDX, RSI, RDI, R8-R11 (the ABI's scratch registers).
        global  svm_vmrun_intr
svm_vmrun_intr:
        SVM_VMRUN_TRIP 1
