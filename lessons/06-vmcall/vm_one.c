/**
 * @file vm_one.c
 * @brief One VM: its exits counted, why it stopped, the end of the run.
 * @ingroup lesson06
 *
 * Lessons 06 and 08 run a single guest, VM1, so their policy is short:
 * every exit is counted (exit_counts.c) and handled (vm_exit.c), and when
 * a handler says stop, the hypervisor prints the summary and powers off.
 * VM1's text goes straight to the console. Lesson 10, with several VMs,
 * links its scheduler instead of this file.
 */
#include "exit_counts.h"
#include "kprintf.h"
#include "power.h"
#include "vm.h"

static struct exit_counts vm1_exits;
static const char *stop_reason = "unknown";
static int stop_status = POWER_FAIL;

const char *vm_name(void)
{
	return "VM1";
}

void vm_putc(char c)
{
	kputc(c);
}

enum exit_action vm_halted(struct guest_regs *regs)
{
	(void)regs;
	/* HLT exits because of CPU_BASED_HLT_EXITING (SDM 24.6.2), or the
	 * VMCB's HLT intercept (APM Table B-1). No interrupts reach VM1 and
	 * there is no other VM to run: a halted VM1 would never wake up. */
	kprintf("vm: %s executed HLT at 0x%llx\n", vm_name(),
		(unsigned long long)vm_read_rip());
	vm_set_stop_reason("HLT", POWER_FAIL_GUEST_HLT);
	return VM_STOP;
}

void vm_set_stop_reason(const char *why, int status)
{
	stop_reason = why;
	stop_status = status;
}

void vm_stop(void)
{
	kprintf("vm: VM1 stopped (%s, status %d)\n", stop_reason, stop_status);
	kprintf("vm: exits handled:");
	exit_counts_print(&vm1_exits, vm_exit_name);    /* exit_counts.c */
	kprintf("\n");
	vm_hardware_disable();
	power_off(stop_status);
}

void vm_exit_handle(enum vm_exit_reason reason, uint64_t code,
		    struct guest_regs *regs)
{
	exit_count(&vm1_exits, code);
	/* VM_YIELD: there is no other VM to give the time to. */
	if (vm_exit_handler(reason, regs) == VM_STOP)
		vm_stop();
}
