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
; the host's state and the guest's. svm_vmrun_intr is the same trip with
; the host's RFLAGS.IF = 1 while the guest runs (lesson 11's time slices):
; VMRUN saves that IF in the host save area and #VMEXIT restores it, and
; with the INTR intercept and V_INTR_MASKING (15.21.1) it is the host's IF
; that lets a physical interrupt end the guest's run.

%include "kit.inc"                      ; GUEST_REGS_*: guest_regs.h
%include "../05-vmx/guest_regs.inc"     ; GUEST_REGS_LOAD_GPRS, _SAVE_GPRS

        bits    64
        section .text

; SVM_VMRUN_TRIP - the body of both entry points.
; %1 = 0: host IF untouched (0 in this kernel); 1: STI after CLGI (no
; effect while GIF = 0, 15.17), CLI after STGI, where a pending interrupt
; has just been taken by the host's IDT.
%macro SVM_VMRUN_TRIP 1
        push    rbx                     ; callee-saved: the guest gets them
        push    rbp
        push    r12
        push    r13
        push    r14
        push    r15
        push    rdi                     ; [rsp + 8]: struct guest_regs *
        push    rdx                     ; [rsp]: the host's VMCB
        mov     rax, rsi                ; RAX = the guest's VMCB (15.5)
        GUEST_REGS_LOAD_GPRS rdi        ; all but RAX (the VMCB's) and RDI
        mov     rdi, [rdi + GUEST_REGS_RDI] ; last: it was our pointer
        clgi                            ; GIF = 0: nothing in between (15.17)
%if %1
        sti                             ; IF = 1, still held off by GIF = 0
%endif
        vmload                          ; [RAX]: the guest's FS, GS, TR...
        vmrun                           ; [RAX]: run it; GIF = 1 inside
        ; #VMEXIT: the host's RAX (the guest's VMCB), RSP and RIP are back.
        vmsave                          ; [RAX]: keep the guest's FS, GS...
        push    rdi                     ; the guest's RDI, for a moment
        mov     rdi, [rsp + 16]         ; struct guest_regs *
        GUEST_REGS_SAVE_GPRS rdi
        pop     rax
        mov     [rdi + GUEST_REGS_RDI], rax
        pop     rax                     ; the host's VMCB
        vmload                          ; [RAX]: the host's FS, GS, TR...
        stgi                            ; GIF = 1: events may come (15.17)
%if %1
        cli                             ; the pending interrupt came first
%endif
        pop     rdi
        pop     r15
        pop     r14
        pop     r13
        pop     r12
        pop     rbp
        pop     rbx
        ret
%endmacro

; svm_vmrun - run the guest until its next #VMEXIT.
; Entry: RDI = struct guest_regs *, RSI = guest VMCB physical address,
;        RDX = host VMCB physical address (VMSAVEd by svm_exits.c).
; Returns: after #VMEXIT, with the guest's RCX..R15 in *RDI; the exit code
;        and the guest's RAX, RSP and RIP are in its VMCB.
; Clobbers: RAX, RCX, RDX, RSI, RDI, R8-R11 (the ABI's scratch registers).
        global  svm_vmrun
svm_vmrun:
        SVM_VMRUN_TRIP 0

; svm_vmrun_intr - the same, with host RFLAGS.IF = 1 during the run, so
; that an intercepted physical interrupt (#VMEXIT INTR, 15.21) ends it.
; Entry, Returns: as svm_vmrun; the interrupt's handler has run on return.
; Clobbers: as svm_vmrun; RFLAGS.IF is 0 again.
        global  svm_vmrun_intr
svm_vmrun_intr:
        SVM_VMRUN_TRIP 1
