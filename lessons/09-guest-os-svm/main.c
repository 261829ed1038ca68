/**
 * @file main.c
 * @brief Lesson 09: lesson 07's hypervisor on AMD-V, on plain QEMU.
 * @ingroup lesson09
 *
 * The same guests as lesson 07 (lessons 01-04, byte for byte, on the
 * second disk), the same move to the top of RAM, E820 trap, bootstrap and
 * report (lesson 07's hv.mk), run by lesson 08's SVM layer: EFER.SVME and
 * the host save area (svm.c), a VMCB (svm_guest.c), nested page tables
 * (guest_npt.c) and the VMRUN loop (svm_guest_exits.c).
 */
#include "gdt64.h"
#include "hv.h"
#include "idt.h"
#include "kprintf.h"
#include "power.h"
#include "serial.h"
#include "svm_guest.h"

static struct guest_regs guest_regs;

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	serial_init();                  /* COM1 only: the screen is the guest's */
	kprintf("[hv] Lesson 09: lesson 07's hypervisor on AMD-V (SVM)\n");
	gdt64_init();
	idt_init();                     /* lesson 04's exception reports */
	hv_one_processor();             /* processors.c: no AP to escape */
	svm_detect();                   /* APM 15.4: CPUID, VM_CR.SVMDIS */
	if (!(svm_caps_report() & SVM_FEATURE_NPT)) {    /* Fn8000_000A */
		kprintf("[hv] no nested paging (CPUID Fn8000_000A EDX[0]): "
			"the guest could not be given its memory\n");
		power_off(POWER_FAIL_NO_SVM);
	}
	hv_relocate();                  /* lesson 07: to the top of RAM */
	/* NX in the nested tables needs EFER.NXE in the host (15.25.5). */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	svm_enable();                   /* APM 15.4, 15.30.4: from the copy */
	guest_e820_init();              /* lesson 07: without our page */
	guest_vmcb_setup(guest_npt_init(), &guest_regs);   /* Appendix B */
	e820_trap_init();               /* lesson 07: the BIOS's int 15h */
	kprintf("[hv] VMRUN: the bootstrap, then the guest at 0000:7C00\n");
	kprintf("[hv] ---- guest ----\n");
	guest_started();
	guest_run(&guest_regs);         /* 15.5-15.6: the VMRUN loop */
}
