/**
 * @file exits.c
 * @brief The VM-exit dispatcher: one handler per exit reason, in a table.
 * @ingroup lesson06
 *
 * Every VM exit arrives here from vmexit.asm with VM1's registers. The
 * basic exit reason (SDM Vol. 3C, 24.9.1) picks the handler; the handler
 * says whether VM1 goes on (VMRESUME) or stops. Reasons without a handler
 * stop VM1, never the host.
 */
#include "ept.h"
#include "kprintf.h"
#include "param.h"
#include "power.h"
#include "string.h"
#include "vm.h"

/** Patchable: the processor brand VM1 sees in CPUID 0x80000002-4. */
char param_brand[48] KIT_PARAM = "Kit Hypervisor virtual CPU";

static unsigned long exit_counts[EXIT_REASON_MAX];
static const char *stop_reason = "unknown";
static int stop_status = POWER_FAIL;

void vm_set_stop_reason(const char *why, int status)
{
	stop_reason = why;
	stop_status = status;
}

void vm_skip_instruction(void)
{
	/* SDM 27.2.4: the length of the instruction that caused the exit. */
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) +
		   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
}

/* CPUID: the host's answer, except the brand string, which is ours. CPUID
 * exits whatever the controls say (SDM 25.1.2). */
static enum exit_action exit_handle_cpuid(struct guest_regs *regs)
{
	uint32_t leaf = (uint32_t)regs->rax, subleaf = (uint32_t)regs->rcx;
	struct cpuid_regs r = cpuid(leaf, subleaf);

	if (leaf >= 0x80000002 && leaf <= 0x80000004)
		memcpy(&r, param_brand + 16 * (leaf - 0x80000002), 16);
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
	vm_skip_instruction();
	return VM_RESUME;
}

static enum exit_action exit_handle_hlt(struct guest_regs *regs)
{
	(void)regs;
	/* HLT exits because of CPU_BASED_HLT_EXITING (SDM 24.6.2). No
	 * interrupts reach VM1: a halted VM1 would never wake up. */
	kprintf("vm: VM1 executed HLT at 0x%llx\n",
		(unsigned long long)vmcs_read(GUEST_RIP));
	vm_set_stop_reason("HLT", POWER_FAIL_GUEST_HLT);
	return VM_STOP;
}

static enum exit_action exit_handle_ept_violation(struct guest_regs *regs)
{
	uint64_t gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	uint64_t q = vmcs_read(EXIT_QUALIFICATION);

	(void)regs;
	/* SDM 27.2.1, Table 27-7: what was tried, and what was allowed. */
	kprintf("vm: EPT violation at guest-physical 0x%llx: %s%s%s access, "
		"page %s%s%s%s (qualification 0x%llx)\n",
		(unsigned long long)gpa, q & EPT_VIOL_READ ? "read" : "",
		q & EPT_VIOL_WRITE ? "write" : "",
		q & EPT_VIOL_FETCH ? "execute" : "",
		q & (EPT_VIOL_READABLE | EPT_VIOL_WRITABLE |
		     EPT_VIOL_EXECUTABLE) ? "allows" : "not mapped",
		q & EPT_VIOL_READABLE ? " R" : "",
		q & EPT_VIOL_WRITABLE ? " W" : "",
		q & EPT_VIOL_EXECUTABLE ? " X" : "", (unsigned long long)q);
	vm_set_stop_reason("EPT violation", POWER_FAIL_EPT_VIOLATION);
	return VM_STOP;
}

static enum exit_action exit_handle_triple_fault(struct guest_regs *regs)
{
	(void)regs;
	/* A triple fault in the guest is a VM exit, not a reset (SDM 25.2). */
	kprintf("vm: VM1 triple-faulted at 0x%llx: it would have reset\n",
		(unsigned long long)vmcs_read(GUEST_RIP));
	vm_set_stop_reason("triple fault", POWER_FAIL_TRIPLE_FAULT);
	return VM_STOP;
}

static enum exit_action exit_handle_unexpected(struct guest_regs *regs)
{
	unsigned int reason = vmcs_read(VM_EXIT_REASON) & VMX_EXIT_REASON_MASK;

	(void)regs;
	/* The qualification's meaning depends on the reason (SDM 27.2.1). */
	kprintf("vm: unexpected exit reason %u (%s), qualification 0x%llx, "
		"at 0x%llx\n", reason, exit_reason_name(reason),
		(unsigned long long)vmcs_read(EXIT_QUALIFICATION),
		(unsigned long long)vmcs_read(GUEST_RIP));
	vm_set_stop_reason("unexpected exit",
			   POWER_FAIL_UNEXPECTED_EXIT);
	return VM_STOP;
}

static const exit_handler_t exit_handlers[EXIT_REASON_MAX] = {
	[EXIT_REASON_VMCALL] = exit_handle_vmcall,
	[EXIT_REASON_CPUID] = exit_handle_cpuid,
	[EXIT_REASON_HLT] = exit_handle_hlt,
	[EXIT_REASON_EPT_VIOLATION] = exit_handle_ept_violation,
	[EXIT_REASON_TRIPLE_FAULT] = exit_handle_triple_fault,
};

/* Print the exits counted by reason, leave VMX and switch off. */
static __attribute__((noreturn)) void vm_stop(void)
{
	unsigned long total = 0;

	kprintf("vm: VM1 stopped (%s, status %d)\n", stop_reason, stop_status);
	kprintf("vm: exits handled:");
	for (unsigned int i = 0; i < EXIT_REASON_MAX; i++) {
		if (!exit_counts[i])
			continue;
		kprintf(" %s=%lu", exit_reason_name(i), exit_counts[i]);
		total += exit_counts[i];
	}
	kprintf(" (total %lu)\n", total);
	vmx_disable();
	power_off(stop_status);
}

/** Every VM exit of VM1 (vmexit.asm calls it): count, dispatch, decide. */
void vmexit_dispatch(struct guest_regs *regs)
{
	uint64_t reason = vmcs_read(VM_EXIT_REASON);
	unsigned int basic = reason & VMX_EXIT_REASON_MASK;
	exit_handler_t handler;

	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		/* SDM 26.7: the entry failed after VMLAUNCH looked fine. */
		kprintf("vmexit: VM entry failed: exit reason %u (%s), "
			"qualification 0x%llx\n", basic,
			exit_reason_name(basic),
			(unsigned long long)vmcs_read(EXIT_QUALIFICATION));
		vm_set_stop_reason("VM entry failed", POWER_FAIL_VM_ENTRY);
		vm_stop();
	}
	handler = basic < EXIT_REASON_MAX && exit_handlers[basic] ?
		  exit_handlers[basic] : exit_handle_unexpected;
	if (basic < EXIT_REASON_MAX)
		exit_counts[basic]++;
	if (handler(regs) == VM_STOP)
		vm_stop();
}
