/**
 * @file main.c
 * @brief Lesson 07: a hypervisor that boots another lesson as its guest.
 * @ingroup lesson07
 *
 * Lesson 06's VM1 was written for its hypervisor. This guest is not: it is
 * the disk image of lesson 01, 02, 03 or 04, byte for byte, on the
 * machine's second disk. The hypervisor gets out of its way (relocate.c:
 * to the top of RAM, hidden by EPT and the E820 map), gives it every page
 * and device it would have natively (guest_ept.c, vmx_guest.c), and starts
 * it where a BIOS would: its boot sector at 0000:7C00, read by the BIOS
 * itself (bootstrap.asm). Its lines start with "[hv] " and come only before
 * the guest starts and after it stops (guest_exits.c), between markers the
 * harness cuts the guest's transcript out with.
 */
#include "gdt64.h"
#include "hv.h"
#include "idt.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "serial.h"
#include "vmx.h"
#include "vmx_guest.h"

static uint8_t vmcs[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t host_stack[4 * PAGE_SIZE] __attribute__((aligned(16)));
static struct guest_regs guest_regs;

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	serial_init();                  /* COM1 only: the screen is the guest's */
	kprintf("[hv] Lesson 07: a hypervisor whose guest is another lesson\n");
	gdt64_init();
	idt_init();                     /* lesson 04's exception reports */
	hv_one_processor();             /* processors.c: no AP to escape */
	guest_caching_guard();          /* vmx_guest.c: caching on */
	vmx_detect();                   /* SDM 23.6 */
	hv_relocate();                  /* relocate.c: to the top of RAM */
	vmx_enable();                   /* SDM 23.7: VMXON, from the copy */
	vmcs_load(vmcs);                /* SDM 24.11.3 */
	guest_e820_init();              /* guest_e820.c: without our page */
	vmcs_setup(guest_create(guest_ept_init()),
		   host_stack + sizeof(host_stack), &guest_regs);
	guest_setup_bitmaps();          /* SDM 24.6.4, 24.6.9 */
	e820_trap_init();               /* e820_trap.c: the BIOS's int 15h */
	if (vmcheck_guest_state())      /* SDM 26.3.1 */
		power_off(POWER_FAIL_GUEST_STATE);
	kprintf("[hv] VMLAUNCH: the bootstrap, then the guest at 0000:7C00\n");
	kprintf("[hv] ---- guest ----\n");
	guest_started();
	vmx_check(vmx_launch(&guest_regs), "VMLAUNCH");   /* SDM 30.3 */
	panic("VMLAUNCH returned without an error");
}
