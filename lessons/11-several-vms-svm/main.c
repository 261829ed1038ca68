/**
 * @file main.c
 * @brief Lesson 11: several VMs share one CPU, under AMD-V.
 * @ingroup lesson11
 *
 * Lesson 10 on SVM: VM1 to VMn are one program (lesson 06's vm1.asm),
 * each told its number, each with its own VMCB, nested page tables, ASID
 * and RAM (svm_vms.c). The LAPIC timer, through the INTR intercept, ends
 * each time slice (slice_timer.c); lesson 10's scheduler (sched.c) picks
 * the next VM, round robin, until every VM has ended, then says how each
 * one ended.
 */
#include "console.h"
#include "frames.h"
#include "gdt64.h"
#include "idt.h"
#include "kprintf.h"
#include "paging.h"
#include "serial.h"
#include "svm.h"
#include "vms.h"

/** svm_vms.c: the timer, then every VM (needs @p features' NP). */
void svm_vms_create(uint32_t features);
/** svm_vms.c: run the VMs, round robin, until each has ended. */
__attribute__((noreturn)) void svm_vms_run(void);

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	uint32_t features;

	serial_init();
	console_init((uintptr_t)phys_to_virt(VGA_TEXT_BUFFER));
	kprintf("Lesson 11: several VMs share one CPU, under AMD-V\n");
	gdt64_init();
	idt_init();                     /* lesson 04's exception reports */
	frames_init();                  /* lesson 04: vmm.c's page tables */
	svm_detect();                   /* APM 15.4: CPUID, VM_CR.SVMDIS */
	features = svm_caps_report();   /* CPUID Fn8000_000A */
	svm_enable();                   /* APM 15.4, 15.30.4: EFER.SVME */
	vms_init();                     /* sched.c: the parameters, the VMs */
	svm_vms_create(features);       /* a VMCB, NPT and ASID each */
	svm_vms_run();                  /* round robin until all have ended */
}
