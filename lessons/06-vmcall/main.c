/**
 * @file main.c
 * @brief Lesson 06: a hypervisor whose VM1 says hello through VMCALL.
 * @ingroup lesson06
 *
 * Lesson 05's VMX layer runs a different guest: VM1, a real-mode program in
 * 64 KiB of its own, mapped by EPT and nothing else. guest_rm.c creates
 * it; lesson 05's vmcs.c fills its VMCS. From VMLAUNCH on the hypervisor
 * only reacts: every VM exit comes to vmexit_dispatch() below, which asks
 * vmx_exits.c what the VMCS says and hands it to the vendor-neutral core
 * (vm.h), which lesson 08 reuses for SVM.
 */
#include "console.h"
#include "gdt64.h"
#include "guest_rm.h"
#include "idt.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "serial.h"
#include "vm.h"
#include "vmx_exits.h"

static uint8_t vmcs[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t host_stack[4 * PAGE_SIZE] __attribute__((aligned(16)));
static struct guest_regs vm1_regs;

/** Every VM exit of VM1 (vmexit.asm calls it): translate, then handle.
 * Returns if VM1 goes on; vmexit.asm then VMRESUMEs it. */
void vmexit_dispatch(struct guest_regs *regs)
{
	uint64_t reason = vmcs_read(VM_EXIT_REASON);    /* SDM 24.9.1 */

	if (vmx_entry_failed(reason))
		vm_stop();
	vm_exit_handle(vmx_exit_reason(reason), reason & VMX_EXIT_REASON_MASK,
		       regs);                           /* vm_one.c */
}

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	const struct vmcs_guest *vm1;

	serial_init();
	console_init((uintptr_t)phys_to_virt(VGA_TEXT_BUFFER));
	kprintf("Lesson 06: a hypervisor and its first VM\n");
	gdt64_init();
	idt_init();                     /* lesson 04's exception reports */
	vmx_detect();                   /* as lesson 05: SDM 23.6 */
	vmx_enable();                   /* SDM 23.7: VMXON */
	vmcs_load(vmcs);                /* SDM 24.11.3: VMCLEAR, VMPTRLD */
	vm1 = vm1_create();             /* guest_rm.c: RAM, EPT, program */
	vmcs_setup(vm1, host_stack + sizeof(host_stack), &vm1_regs);
					/* vmcs.c: SDM 24.4-24.8, real mode */
	if (vmcheck_guest_state())      /* SDM 26.3.1 */
		power_off(POWER_FAIL_GUEST_STATE);
	kprintf("vm: VMLAUNCH VM1\n");
	vmx_check(vmx_launch(&vm1_regs), "VMLAUNCH");   /* SDM 30.3 */
	panic("VMLAUNCH returned without an error");
}
