/**
 * @file vmx.h
 * @brief Lesson 05's VMX layer: enter VMX operation, fill a VMCS, launch.
 * @ingroup lesson05
 *
 * Lesson 06 reuses all of it and adds EPT, a real-mode guest and hypercalls.
 */
#ifndef LESSON05_VMX_H
#define LESSON05_VMX_H

#include <stdint.h>

#include "vmcs_fields.h"
#include "vmx_defs.h"
#include "vmx_ops.h"

/**
 * The guest's general registers, saved by vmexit.asm on every VM exit and
 * loaded from here on every entry. The VMCS holds RSP, RIP and RFLAGS; the
 * other registers are the hypervisor's job. Order: as vmexit.asm pushes.
 */
struct guest_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;  /**< legacy registers */
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15; /**< 64-bit additions */
};

/** Stop with a clear message unless @p status is VMX_OK. */
void vmx_check(enum vmx_status status, const char *what);

/** VMREAD of the current VMCS; a failure is fatal. */
uint64_t vmcs_read(enum vmcs_field field);

/** VMWRITE to the current VMCS; a failure is fatal and names the field. */
void vmcs_write(enum vmcs_field field, uint64_t value);

/** CPUID.1:ECX.VMX: say whether VMX exists, power off with FAIL if not. */
void vmx_detect(void);

/** Print IA32_VMX_BASIC, every control set and EPT/VPID, decoded. */
void vmx_print_capabilities(void);

/** Whether IA32_VMX_BASIC says the TRUE control MSRs exist. */
int vmx_has_true_controls(void);

/** IA32_FEATURE_CONTROL, CR0/CR4 fixed bits, CR4.VMXE, then VMXON. */
void vmx_enable(void);

/** VMXOFF and clear CR4.VMXE: back to ordinary operation. */
void vmx_disable(void);

/** Initialise @p vmcs (4 KiB, aligned), VMCLEAR it and make it current. */
void vmcs_load(void *vmcs);

/**
 * Compute one control field from what we @p want and what the capability
 * MSR @p msr allows (SDM Vol. 3D, A.3-A.5): bits the CPU requires are
 * forced to 1; a bit we want but the CPU cannot set is refused with a
 * message naming the bit, and the machine powers off with FAIL.
 */
uint32_t vmx_adjust_controls(uint32_t want, uint32_t msr, const char *name);

/** The controls a guest wants, before the capability MSRs have a say. */
struct vmx_controls {
	uint32_t pin;   /**< pin-based VM-execution controls */
	uint32_t proc;  /**< primary processor-based controls */
	uint32_t proc2; /**< secondary ones (with ACTIVATE_SECONDARY_CONTROLS) */
	uint32_t exit;  /**< VM-exit controls beyond the host's own needs */
	uint32_t entry; /**< VM-entry controls */
};

/**
 * Write every control field from @p want, each adjusted to what the CPU
 * allows (vmx_adjust_controls()), plus the exit controls the host state
 * of vmcs_setup_host() needs: a 64-bit host, EFER and PAT swapped. The
 * exception bitmap, CR3-target and MSR-list counts and event injection
 * are cleared: nothing exits or is injected unless a lesson asks.
 */
void vmcs_setup_controls(const struct vmx_controls *want);

/** Write one guest segment register: selector, limit, access rights, base
 * (its four fields sit at fixed distances, SDM Appendix B). */
void vmcs_write_segment(enum vmcs_field selector_field, uint16_t selector,
			uint32_t access_rights, uint32_t limit, uint64_t base);

/** Fill the host-state area: where and how a VM exit lands (SDM 24.5). */
void vmcs_setup_host(void *host_stack_top);

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
