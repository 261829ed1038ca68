/**
 * @file vm_exit.c
 * @brief The exit handlers, picked by the vendor-neutral exit reason.
 * @ingroup lesson06
 *
 * Every exit of a guest arrives here from the vendor's exit file
 * (vmx_exits.c after vmexit.asm, svm_exits.c after VMRUN), already
 * translated into enum vm_exit_reason: the reason picks the handler, the
 * handler says whether the guest goes on or stops. CPUID and the faults
 * VM_EXCEPTIONS catches mean the same on both vendors and are handled
 * here; what HLT means depends on how many VMs there are (vm_halted()); what only a vendor can report (which page, which
 * qualification, which vector) is the vendor's.
 * What stopping means is not decided here: vm_one.c powers off with VM1,
 * lesson 10's scheduler goes on with the other VMs.
 */
#include "kprintf.h"
#include "param.h"
#include "power.h"
#include "string.h"
#include "trap.h"
#include "vm.h"
#include "x86.h"

/** Patchable: the processor brand VM1 sees in CPUID 0x80000002-4. */
char param_brand[48] KIT_PARAM = "Kit Hypervisor virtual CPU";

/* CPUID: the host's answer, except the brand string, which is ours. CPUID
 * exits whatever the controls say (SDM 25.1.2); under SVM because the
 * VMCB intercepts it (APM Vol. 2, Table B-1). */
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

/* A fault VM_EXCEPTIONS catches: VM1 has no vector table to take it, so
 * say which and where; the VM stops. */
static enum exit_action exit_handle_exception(struct guest_regs *regs)
{
	unsigned int vector = vm_exception_vector();

	(void)regs;
	kprintf("vm: %s: exception %s (vector %u) at RIP 0x%llx\n",
		vm_name(), trap_name(vector), vector,
		(unsigned long long)vm_read_rip());
	vm_set_stop_reason("exception", POWER_FAIL_GUEST_EXCEPTION);
	return VM_STOP;
}

static const exit_handler_t exit_handlers[VM_EXIT_REASONS] = {
	[VM_EXIT_HYPERCALL] = exit_handle_hypercall,       /* hypercall.c */
	[VM_EXIT_CPUID] = exit_handle_cpuid,
	[VM_EXIT_HLT] = vm_halted,      /* the policy's: vm_one.c, sched.c */
	[VM_EXIT_EXCEPTION] = exit_handle_exception,
	[VM_EXIT_NESTED_PAGE_FAULT] = vm_handle_nested_page_fault, /* vendor */
	[VM_EXIT_TRIPLE_FAULT] = vm_handle_triple_fault,           /* vendor */
	[VM_EXIT_OTHER] = vm_handle_unexpected_exit,               /* vendor */
};

enum exit_action vm_exit_handler(enum vm_exit_reason reason,
				 struct guest_regs *regs)
{
	exit_handler_t handler = reason < VM_EXIT_REASONS ?
				 exit_handlers[reason] : 0;

	return (handler ? handler : vm_handle_unexpected_exit)(regs);
}
