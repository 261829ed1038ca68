/**
 * @file vmx.h
 * @brief Lesson 05's VMX layer: enter VMX operation, fill a VMCS, launch.
 * @ingroup lesson05
 *
 * vmx.c enters and leaves VMX operation; vmcs.c is the one place a VMCS is
 * filled (vmcs_setup()), from a struct vmcs_guest that each lesson's guest
 * file provides (guest64.c here, lesson 06's guest_rm.c); vmexit.asm goes
 * into the guest and back. Lesson 06 reuses all of it and adds EPT, a
 * real-mode guest and hypercalls.
 */
#ifndef LESSON05_VMX_H
#define LESSON05_VMX_H

#include <stdint.h>

#include "guest_regs.h"
#include "vmcs_fields.h"
#include "vmx_defs.h"
#include "vmx_ops.h"

/* ---- vmx.c: into and out of VMX operation (SDM 23.6-23.8) ---------- */

/** CPUID.1:ECX.VMX: say whether VMX exists, power off with FAIL if not. */
void vmx_detect(void);

/** IA32_FEATURE_CONTROL, CR0/CR4 fixed bits, CR4.VMXE, then VMXON. */
void vmx_enable(void);

/** VMXOFF and clear CR4.VMXE: back to ordinary operation. */
void vmx_disable(void);

/** Stop with a clear message unless @p status is VMX_OK. */
void vmx_check(enum vmx_status status, const char *what);

/** VMREAD of the current VMCS; a failure is fatal. */
uint64_t vmcs_read(enum vmcs_field field);

/** VMWRITE to the current VMCS; a failure is fatal and names the field. */
void vmcs_write(enum vmcs_field field, uint64_t value);

/** Bits 30:0 of IA32_VMX_BASIC: the revision identifier a VMXON region
 * and every VMCS region must start with (SDM Vol. 3D, A.1). */
uint32_t vmx_revision(void);

/**
 * Compute one control field from what we @p want and what the capability
 * MSR @p msr allows (SDM Vol. 3D, A.3-A.5): bits the CPU requires are
 * forced to 1; a bit we want but the CPU cannot set is refused with a
 * message naming the bit, and the machine powers off with FAIL.
 */
uint32_t vmx_adjust_controls(uint32_t want, uint32_t msr, const char *name);

/* ---- caps.c: what this CPU's VMX can do (SDM Appendix A) ---------- */

/** Print IA32_VMX_BASIC, every control set and EPT/VPID, decoded. */
void vmx_print_capabilities(void);

/** Whether IA32_VMX_BASIC says the TRUE control MSRs exist. */
int vmx_has_true_controls(void);

/**
 * Check IA32_VMX_EPT_VPID_CAP (SDM A.10) for every VMX_EPT_CAP_* bit in
 * @p need: say so in one line, or name the missing ones and power off
 * with POWER_FAIL_VMX_CONTROLS.
 */
void vmx_require_ept(uint64_t need);

/* ---- vmcs.c: the VMCS, filled in one place (SDM 24) ---------------- */

/** Initialise @p vmcs (4 KiB, aligned), VMCLEAR it and make it current. */
void vmcs_load(void *vmcs);

/** The controls a guest wants, before the capability MSRs have a say. */
struct vmx_controls {
	uint32_t pin;   /**< pin-based VM-execution controls */
	uint32_t proc;  /**< primary processor-based controls */
	uint32_t proc2; /**< secondary ones (with ACTIVATE_SECONDARY_CONTROLS) */
	uint32_t exit;  /**< VM-exit controls beyond the host's own needs */
	uint32_t entry; /**< VM-entry controls */
	uint64_t ept_pointer; /**< EPTP, with SECONDARY_EXEC_ENABLE_EPT */
	uint64_t cr0_mask;    /**< CR0 bits the host owns (SDM 24.6.6) */
	uint64_t cr0_shadow;  /**< what the guest reads for those bits */
	uint64_t cr4_mask;    /**< CR4 bits the host owns */
	uint64_t cr4_shadow;  /**< what the guest reads for those bits */
	uint32_t exception_bitmap; /**< vectors that exit (SDM 24.6.3) */
};

/**
 * A guest, as vmcs_setup() needs it: the controls it wants and the code
 * that writes its part of the guest-state area. Each lesson's guest file
 * defines one (guest64.c: lesson 05's; guest_rm.c: lesson 06's VM1).
 */
struct vmcs_guest {
	struct vmx_controls controls; /**< adjusted, then written by vmcs.c */
	/**
	 * Write the guest's control registers, segments, descriptor tables,
	 * EFER, RSP and RIP (SDM 24.4.1), over vmcs_setup()'s defaults, and
	 * set the general registers it starts with in @p regs.
	 */
	void (*setup_state)(struct guest_regs *regs);
};

/**
 * Fill the current VMCS, every field a VM entry reads, in one place:
 * the host-state area (where a VM exit lands, on @p host_stack_top; SDM
 * 24.5), the controls @p guest wants, each adjusted to what the CPU
 * allows (SDM 24.6-24.8, A.3-A.5), the guest-state fields every guest
 * starts with (SDM 24.4), then @p guest's own guest state and registers.
 */
void vmcs_setup(const struct vmcs_guest *guest, void *host_stack_top,
		struct guest_regs *regs);

/** Write one guest segment register: selector, limit, access rights, base
 * (its four fields sit at fixed distances, SDM Appendix B). */
void vmcs_write_segment(enum vmcs_field selector_field, uint16_t selector,
			uint32_t access_rights, uint32_t limit, uint64_t base);

/** CS, SS, DS, ES, FS and GS of a real-mode guest: selector 0, base 0,
 * 64 KiB, accessed code or data (lessons 06 and 07). */
void vmcs_write_rm_segments(void);

/* ---- vmcheck.c, vmexit.asm: before and around the launch ----------- */

/**
 * Check the guest-state area as VM entry will (SDM 26.3.1) and print the
 * first field that would fail, by name. @return 0 when all checks pass.
 */
int vmcheck_guest_state(void);

/**
 * Load the guest registers from @p regs and VMLAUNCH (vmexit.asm). Returns
 * only if the launch itself fails (VMfailInvalid or VMfailValid).
 */
enum vmx_status vmx_launch(struct guest_regs *regs);

/** The VM-exit entry point (vmexit.asm): HOST_RIP points here. */
void vmexit_entry(void);

/**
 * Called by vmexit.asm on every VM exit with the guest's registers; each
 * lesson defines it. When it returns, the guest resumes (VMRESUME).
 */
void vmexit_dispatch(struct guest_regs *regs);

/** Called by vmexit.asm when VMRESUME fails; prints why and stops. */
void vmx_resume_failed(enum vmx_status status);

#endif
