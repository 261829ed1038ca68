/**
 * @file svm.c
 * @brief Detect AMD-V (SVM), enable it, leave it.
 * @ingroup lesson08
 *
 * The AMD counterpart of lesson 05's vmx.c, and much shorter: AMD64 APM
 * Vol. 2, 15.4 "Enabling SVM" asks for three things only. CPUID
 * Fn8000_0001 ECX[2] must say SVM exists; VM_CR.SVMDIS (15.30.1) must be 0,
 * or firmware has switched SVM off; then EFER.SVME = 1 makes VMRUN and its
 * friends legal. There is no VMXON region and no fixed CR0/CR4 bits:
 * instead VMRUN needs the physical address of a 4 KiB host save area in
 * VM_HSAVE_PA (15.30.4), where it keeps the host's state while a guest
 * runs.
 */
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "svm.h"

/* APM 15.30.4: 4 KiB, aligned; only the processor reads and writes it. */
static uint8_t host_save_area[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

void svm_detect(void)
{
	struct cpuid_regs ext = cpuid(0x80000000, 0);
	uint64_t vm_cr;

	/* APM 15.4: Fn8000_0001 ECX[2]. Leaf 0x80000001 must exist first. */
	if (ext.eax < 0x80000001 ||
	    !(cpuid(0x80000001, 0).ecx & CPUID_80000001_ECX_SVM)) {
		kprintf("svm: this CPU has no SVM (CPUID Fn8000_0001:ECX.SVM"
			"[bit 2] is clear): lesson 08 needs AMD-V\n");
		power_off(POWER_FAIL_NO_SVM);
	}
	kprintf("svm: CPUID Fn8000_0001:ECX.SVM[bit 2] = 1: SVM is "
		"supported\n");
	/* APM 15.30.1: SVMDIS set means EFER.SVME cannot be set; with
	 * VM_CR.LOCK also set only the firmware (or a key) undoes it. */
	vm_cr = rdmsr(MSR_VM_CR);
	kprintf("svm: VM_CR = 0x%llx (SVMDIS %u, LOCK %u)\n",
		(unsigned long long)vm_cr, !!(vm_cr & SVM_VM_CR_SVM_DISABLE),
		!!(vm_cr & SVM_VM_CR_SVM_LOCK));
	if (vm_cr & SVM_VM_CR_SVM_DISABLE) {
		kprintf("svm: VM_CR.SVMDIS is set: SVM is disabled (enable "
			"SVM in the firmware setup)\n");
		power_off(POWER_FAIL_SVM_DISABLED);
	}
}

void svm_enable(void)
{
	uint64_t efer = rdmsr(MSR_EFER);

	/* APM 15.4: EFER.SVME = 1. Before it, VMRUN, VMLOAD, VMSAVE, CLGI,
	 * STGI and VMMCALL's host side are #UD. */
	wrmsr(MSR_EFER, efer | EFER_SVME);
	kprintf("svm: EFER 0x%llx -> 0x%llx (EFER.SVME[bit 12])\n",
		(unsigned long long)efer,
		(unsigned long long)rdmsr(MSR_EFER));
	/* APM 15.30.4: VMRUN saves the host here, #VMEXIT reloads it. */
	wrmsr(MSR_VM_HSAVE_PA, virt_to_phys(host_save_area));
	kprintf("svm: VM_HSAVE_PA = 0x%llx: the host save area\n",
		(unsigned long long)rdmsr(MSR_VM_HSAVE_PA));
}

void svm_disable(void)
{
	/* APM 15.4: clearing SVME leaves SVM; no guest may be running. */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) & ~EFER_SVME);
	kprintf("svm: EFER.SVME = 0: left SVM\n");
}
