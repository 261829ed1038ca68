/**
 * @file main.c
 * @brief Lesson 08: lesson 06's hypervisor on AMD-V, VM1 says hello again.
 * @ingroup lesson08
 *
 * Lesson 04's kernel, then SVM instead of VMX: detect it and enable it
 * (svm.c), read what it can do (svm_caps.c), give VM1 a VMCB with nested
 * paging (vmcb.c, vm1_svm.c) and run it with VMRUN until it stops
 * (svm_exits.c, svm_run.asm). VM1 itself is lesson 06's, unchanged but for
 * the one instruction it chooses at start: VMMCALL here, VMCALL there.
 */
#include "console.h"
#include "gdt64.h"
#include "idt.h"
#include "kprintf.h"
#include "paging.h"
#include "serial.h"
#include "svm.h"

static struct vmcb vm1_vmcb __attribute__((aligned(PAGE_SIZE)));
static struct guest_regs vm1_regs;

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	uint32_t features;

	serial_init();
	console_init((uintptr_t)phys_to_virt(VGA_TEXT_BUFFER));
	kprintf("Lesson 08: the same hypervisor on AMD-V (SVM)\n");
	gdt64_init();
	idt_init();                     /* lesson 04's exception reports */
	svm_detect();                   /* APM 15.4: CPUID, VM_CR.SVMDIS */
	features = svm_caps_report();   /* CPUID Fn8000_000A */
	svm_enable();                   /* APM 15.4, 15.30.4: EFER.SVME */
	vm1_setup(&vm1_vmcb, &vm1_regs, features);  /* Appendix B: VMCB */
	svm_run_vm(&vm1_vmcb, &vm1_regs);   /* 15.5-15.6: VMRUN loop */
}
