/**
 * @file main.c
 * @brief Lesson 05: into VMX operation, one guest instruction, and back out.
 * @ingroup lesson05
 *
 * Boot chain as in lesson 03: lesson 02's real-mode entry, lesson 03's
 * long-mode switch, and this kernel_main in the higher half, which loads
 * lesson 04's IDT so that a fault in the hypervisor is reported. Each step
 * cites the SDM section that specifies it (Vol. 3C; numbers as in the 2016-2021 editions).
 */
#include "console.h"
#include "gdt64.h"
#include "idt.h"
#include "kprintf.h"
#include "param.h"
#include "paging.h"
#include "power.h"
#include "serial.h"
#include "vmx.h"

/** Patchable: launch even when the pre-entry check finds a problem, to see
 * the processor's own verdict (a failed VM entry, exit reason 33). */
volatile uint8_t param_skip_check KIT_PARAM;

/* The VMCS region (SDM 24.2): 4 KiB aligned; the CPU owns its contents. */
static uint8_t vmcs[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* The stack VM exits land on (HOST_RSP). */
static uint8_t host_stack[4 * PAGE_SIZE] __attribute__((aligned(16)));
static struct guest_regs guest_regs;

/** The guest: its controls and guest state (guest64.c). */
extern const struct vmcs_guest guest64;

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	enum vmx_status status;

	serial_init();
	console_init((uintptr_t)phys_to_virt(VGA_TEXT_BUFFER));
	kprintf("Lesson 05: VMX operation and the first VM exit\n");
	gdt64_init();
	idt_init();                     /* lesson 04: a fault in the host is
					   reported, and HOST_IDTR_BASE is real */
	vmx_detect();                   /* SDM 23.6 "Discovering Support" */
	vmx_print_capabilities();       /* SDM Appendix A */
	vmx_enable();                   /* SDM 23.7: VMXON */
	vmcs_load(vmcs);                /* SDM 24.11.3: VMCLEAR, VMPTRLD */
	vmcs_setup(&guest64, host_stack + sizeof(host_stack), &guest_regs);
					/* vmcs.c: SDM 24.4-24.8 */
	if (vmcheck_guest_state() && !param_skip_check)     /* SDM 26.3.1 */
		power_off(POWER_FAIL_GUEST_STATE);
	kprintf("vmx: VMLAUNCH\n");
	status = vmx_launch(&guest_regs);  /* SDM 30.3; exits: exit.c */
	vmx_check(status, "VMLAUNCH");
	panic("VMLAUNCH returned without an error");
}
