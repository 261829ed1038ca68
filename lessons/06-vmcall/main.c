/**
 * @file main.c
 * @brief Lesson 06: a hypervisor whose VM1 says hello through VMCALL.
 * @ingroup lesson06
 *
 * Lesson 05's VMX layer runs a different guest: VM1, a real-mode program in
 * 64 KiB of its own, mapped by EPT and nothing else. From here on the
 * hypervisor only reacts: every VM exit goes to exits.c.
 */
#include "console.h"
#include "gdt64.h"
#include "idt.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "serial.h"
#include "vm.h"

static uint8_t vmcs[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t host_stack[4 * PAGE_SIZE] __attribute__((aligned(16)));
static struct guest_regs vm1_regs;

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	serial_init();
	console_init((uintptr_t)phys_to_virt(VGA_TEXT_BUFFER));
	kprintf("Lesson 06: a hypervisor and its first VM\n");
	gdt64_init();
	idt_init();                     /* lesson 04's exception reports */
	vmx_detect();                   /* as lesson 05 */
	vmx_enable();
	vmcs_load(vmcs);
	vmcs_setup_host(host_stack + sizeof(host_stack));
	vm_setup(&vm1_regs);            /* EPT, real mode, VM1's program */
	if (vmcheck_guest_state())
		power_off(6);
	kprintf("vm: VMLAUNCH VM1\n");
	vmx_check(vmx_launch(&vm1_regs), "VMLAUNCH");
	panic("VMLAUNCH returned without an error");
}
