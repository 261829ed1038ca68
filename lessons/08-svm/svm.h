/**
 * @file svm.h
 * @brief Lesson 08's SVM layer: detect AMD-V, enable it, run a VMCB.
 * @ingroup lesson08
 *
 * The AMD side of lesson 05's vmx.h. svm.c detects SVM and enables it
 * (AMD64 APM Vol. 2, 15.4 "Enabling SVM"); svm_caps.c prints what CPUID
 * Fn8000_000A says this SVM can do; vmcb.c fills a VMCB (Appendix B);
 * svm_run.asm enters the guest with VMRUN and comes back on #VMEXIT
 * (15.5-15.6); svm_names.c names the exit codes (Appendix C). The MSR and
 * bit names are Linux's (msr-index.h, cpufeatures.h), the APM's in the
 * comments where they differ.
 */
#ifndef LESSON08_SVM_H
#define LESSON08_SVM_H

#include <stdint.h>

#include "vm.h"         /* lesson 06's core; struct guest_regs */
#include "vmcb.h"
#include "x86.h"

/** @name CPUID bits (APM Vol. 3, Appendix E; Vol. 2, 15.4)
 * @{ */
#define CPUID_80000001_ECX_SVM BIT(2)    /**< Fn8000_0001 ECX[2]: SVM */
#define CPUID_SVM_LEAF 0x8000000A        /**< Fn8000_000A: SVM features */
#define SVM_FEATURE_NPT BIT(0)           /**< EDX[0]: nested paging */
#define SVM_FEATURE_LBRV BIT(1)          /**< EDX[1]: LBR virtualization */
#define SVM_FEATURE_SVML BIT(2)          /**< EDX[2]: SVM lock */
#define SVM_FEATURE_NRIP BIT(3)          /**< EDX[3]: NRIP save (nRIP) */
#define SVM_FEATURE_TSC_RATE BIT(4)      /**< EDX[4]: TSC rate MSR */
#define SVM_FEATURE_VMCB_CLEAN BIT(5)    /**< EDX[5]: VMCB clean bits */
#define SVM_FEATURE_FLUSHBYASID BIT(6)   /**< EDX[6]: TLB flush by ASID */
#define SVM_FEATURE_DECODEASSISTS BIT(7) /**< EDX[7]: decode assists */
#define SVM_FEATURE_PAUSEFILTER BIT(10)  /**< EDX[10]: PAUSE filter */
#define SVM_FEATURE_VGIF BIT(16)         /**< EDX[16]: virtual GIF */
/** @} */

/** @name MSRs and bits (APM Vol. 2, 15.30 "SVM-Related MSRs")
 * @{ */
#define MSR_VM_CR 0xC0010114       /**< 15.30.1: VM_CR */
#define SVM_VM_CR_SVM_LOCK BIT(3)  /**< VM_CR.LOCK: SVMDIS is read-only */
#define SVM_VM_CR_SVM_DISABLE BIT(4) /**< VM_CR.SVMDIS: EFER.SVME is stuck 0 */
#define MSR_VM_HSAVE_PA 0xC0010117 /**< 15.30.4: the host save area */
#define EFER_SVME BIT(12)          /**< EFER.SVME: SVM enable (15.4) */
/** @} */

/* ---- svm.c: into and out of SVM (APM 15.4) -------------------------- */

/** CPUID Fn8000_0001 ECX[2] and VM_CR.SVMDIS: refuse clearly if no SVM. */
void svm_detect(void);

/** EFER.SVME = 1, then VM_HSAVE_PA = our host save area. */
void svm_enable(void);

/** EFER.SVME = 0 again: leave SVM. */
void svm_disable(void);

/* ---- svm_caps.c: what this SVM can do (CPUID Fn8000_000A) ----------- */

/** Print Fn8000_000A raw and decoded. @return its EDX feature bits. */
uint32_t svm_caps_report(void);

/* ---- svm_names.c: Appendix C ---------------------------------------- */

/** The APM's name of #VMEXIT code @p code ("VMMCALL", "NPF"...). */
const char *svm_exit_name(uint64_t code);

/* ---- vmcb.c, vm1_svm.c: the VMCB of VM1 ---------------------------- */

/** Zero @p vmcb, then fill its control area: intercepts, permission maps,
 * ASID @p asid (1 for VM1), and nested paging through @p n_cr3, or with
 * @p n_cr3 = 0 the intercepts paged real mode needs (Appendix B, Table
 * B-1). */
void vmcb_setup_controls(struct vmcb *vmcb, uint64_t n_cr3, uint32_t asid);

/** VM1's real-mode state at 0000:7C00 in @p vmcb's state-save area
 * (Table B-2), RFLAGS.IF = 0; @p cr3: paged real mode's tables, or 0
 * with nested paging (15.19, 15.25). */
void svm_rm_write_state(struct vmcb *vmcb, uint64_t cr3);

/** Give VM1 its RAM, page tables (nested if @p svm_features has NP, its
 * own for paged real mode if not) and program; fill @p vmcb for it
 * (controls, then its real-mode state) and @p regs with its arguments. */
void vm1_setup(struct vmcb *vmcb, struct guest_regs *regs,
	       uint32_t svm_features);

/* ---- svm_exits.c: the VMCB's side of every #VMEXIT ------------------ */

/** From now on the exit handlers (vm.h's vendor functions) read and write
 * @p vmcb: the VM that exited. Also reads CPUID Fn8000_000A (NRIP save). */
void svm_exits_use(struct vmcb *vmcb);

/** Appendix C's codes that have a handler, in lesson 06's words. */
extern const enum vm_exit_reason svm_exit_reasons[SVM_EXIT_CODE_MAX];

/** EXITCODE @p code (Appendix C) in lesson 06's words (vm.h): the
 * handlers' VM_EXIT_*, or VM_EXIT_OTHER for a code without one. */
static inline enum vm_exit_reason svm_exit_reason(uint64_t code)
{
	return code < SVM_EXIT_CODE_MAX ? svm_exit_reasons[code] :
	       VM_EXIT_OTHER;
}

/* ---- svm_loop.c: one VM's VMRUN loop --------------------------------- */

/** Run VM1 until an exit handler stops it; then leave SVM, power off. */
__attribute__((noreturn)) void svm_run_vm(struct vmcb *vmcb,
					  struct guest_regs *regs);

/* ---- svm_run.asm: one trip into the guest and back ------------------- */

/**
 * VMLOAD the guest's extra state, VMRUN, VMSAVE it, VMLOAD the host's
 * (APM 15.5, 15.6); the guest's RAX, RSP and RIP live in its VMCB, its
 * other general registers in @p regs. Returns at the next #VMEXIT.
 */
void svm_vmrun(struct guest_regs *regs, uint64_t vmcb_pa,
	       uint64_t host_vmcb_pa);

/** VMSAVE to @p pa: the host's FS, GS, TR, LDTR and syscall MSRs. */
static inline void svm_vmsave(uint64_t pa)
{
	__asm__ volatile("vmsave %%rax" : : "a"(pa) : "memory");
}

#endif
