/**
 * @file main.c
 * @brief Lesson 10: several VMs share one CPU, each in its own memory.
 * @ingroup lesson10
 *
 * Lesson 06's hypervisor, N times over: VM1 to VMn are one program
 * (lesson 06's vm1.asm), each told its number, each with its own VMCS,
 * EPT and RAM (vmx_vms.c). The VMX-preemption timer ends each time slice;
 * the scheduler (sched.c) picks the next VM, round robin, until every VM
 * has ended, then says how each one ended.
 */
#include "console.h"
#include "gdt64.h"
#include "idt.h"
#include "kprintf.h"
#include "paging.h"
#include "serial.h"
#include "vms.h"
#include "vmx.h"

/** vmx_vms.c: create every VM, then run them. */
void vmx_vms_create(void);
/** vmx_vms.c: enter the first VM; never returns. */
__attribute__((noreturn)) void vmx_vms_run(void);

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	serial_init();
	console_init((uintptr_t)phys_to_virt(VGA_TEXT_BUFFER));
	kprintf("Lesson 10: several VMs share one CPU\n");
	gdt64_init();
	idt_init();                     /* lesson 04's exception reports */
	vmx_detect();                   /* as lesson 05: SDM 23.6 */
	vmx_enable();                   /* SDM 23.7: VMXON */
	vms_init();                     /* sched.c: the parameters, the VMs */
	vmx_vms_create();               /* a VMCS, EPT and RAM each */
	vmx_vms_run();                  /* the first slice; exits from then */
}
