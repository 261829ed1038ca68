/**
 * @file vmx_exits.c
 * @brief VMX's side of every VM exit: read the VMCS, translate, report.
 * @ingroup lesson06
 *
 * The basic exit reason (SDM Vol. 3C, 24.9.1) becomes the shared enum
 * vm_exit_reason (vmx_exit_reason()), and vm_exit.c's handlers take it
 * from there. Here is everything of that which reads the current VMCS:
 * the guest's RIP and the instruction length, the failed VM entry, the
 * EPT violation's qualification, the triple fault, the unexpected exit,
 * and VMXOFF at the end. Lesson 06's main.c and lesson 10's scheduler
 * call it from their vmexit_dispatch(). Lesson 08's svm_exits.c is the
 * same for a VMCB.
 */
#include "ept.h"
#include "kprintf.h"
#include "power.h"
#include "vm.h"
#include "vmx.h"
#include "vmx_exits.h"

/* SDM Appendix C: the basic exit reasons VM1 has a handler for; every
 * other one is VM_EXIT_OTHER (0). */
static const enum vm_exit_reason vmx_exit_reasons[EXIT_REASON_MAX] = {
	[EXIT_REASON_VMCALL] = VM_EXIT_HYPERCALL,
	[EXIT_REASON_CPUID] = VM_EXIT_CPUID,
	[EXIT_REASON_HLT] = VM_EXIT_HLT,
	[EXIT_REASON_EPT_VIOLATION] = VM_EXIT_NESTED_PAGE_FAULT,
	[EXIT_REASON_TRIPLE_FAULT] = VM_EXIT_TRIPLE_FAULT,
	[EXIT_REASON_EXCEPTION_NMI] = VM_EXIT_EXCEPTION,   /* VM_EXCEPTIONS */
};

uint64_t vm_read_rip(void)
{
	return vmcs_read(GUEST_RIP);
}

void vm_skip_instruction(void)
{
	/* SDM 27.2.4: the length of the instruction that caused the exit. */
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) +
		   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
}

unsigned int vm_exception_vector(void)
{
	/* SDM 24.9.2: bits 7:0 of the exit interruption information. */
	return (unsigned int)vmcs_read(VM_EXIT_INTR_INFO) & 0xFF;
}

const char *vm_exit_name(uint64_t code)
{
	return exit_reason_name((unsigned int)code);   /* vmx_names.c */
}

void vm_hardware_disable(void)
{
	vmx_disable();                  /* SDM 30.3 "VMXOFF", 23.8 */
}

enum exit_action vm_handle_nested_page_fault(struct guest_regs *regs)
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

enum exit_action vm_handle_triple_fault(struct guest_regs *regs)
{
	(void)regs;
	/* A triple fault in the guest is a VM exit, not a reset (SDM 25.2). */
	kprintf("vm: %s triple-faulted at 0x%llx: it would have reset\n",
		vm_name(), (unsigned long long)vmcs_read(GUEST_RIP));
	vm_set_stop_reason("triple fault", POWER_FAIL_TRIPLE_FAULT);
	return VM_STOP;
}

enum exit_action vm_handle_unexpected_exit(struct guest_regs *regs)
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

enum vm_exit_reason vmx_exit_reason(uint64_t exit_reason)
{
	unsigned int basic = exit_reason & VMX_EXIT_REASON_MASK;

	return basic < EXIT_REASON_MAX ? vmx_exit_reasons[basic] :
	       VM_EXIT_OTHER;
}

int vmx_entry_failed(uint64_t exit_reason)
{
	unsigned int basic = exit_reason & VMX_EXIT_REASON_MASK;

	if (!(exit_reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
		return 0;
	/* SDM 26.7: the entry failed after VMLAUNCH looked fine. */
	kprintf("vmexit: VM entry failed: exit reason %u (%s), "
		"qualification 0x%llx\n", basic, exit_reason_name(basic),
		(unsigned long long)vmcs_read(EXIT_QUALIFICATION));
	vm_set_stop_reason("VM entry failed", POWER_FAIL_VM_ENTRY);
	return 1;
}
