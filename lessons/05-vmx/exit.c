/**
 * @file exit.c
 * @brief Lesson 05's VM-exit handler: report the first exit and stop.
 * @ingroup lesson05
 *
 * vmexit.asm saved the guest's registers and called us on the host stack.
 * The VMCS's exit-information fields say why we are here (SDM Vol. 3C,
 * 24.9 "VM-Exit Information Fields"). Lesson 05 looks once and leaves VMX
 * operation; lesson 06 handles exits and resumes the guest.
 */
#include "kprintf.h"
#include "power.h"
#include "vmx.h"

static void print_guest_regs(const struct guest_regs *r)
{
	kprintf("vmexit: rax=0x%llx rcx=0x%llx rdx=0x%llx rbx=0x%llx\n",
		(unsigned long long)r->rax, (unsigned long long)r->rcx,
		(unsigned long long)r->rdx, (unsigned long long)r->rbx);
	kprintf("vmexit: rbp=0x%llx rsi=0x%llx rdi=0x%llx r8=0x%llx\n",
		(unsigned long long)r->rbp, (unsigned long long)r->rsi,
		(unsigned long long)r->rdi, (unsigned long long)r->r8);
	kprintf("vmexit: r9=0x%llx r10=0x%llx r11=0x%llx r12=0x%llx\n",
		(unsigned long long)r->r9, (unsigned long long)r->r10,
		(unsigned long long)r->r11, (unsigned long long)r->r12);
	kprintf("vmexit: r13=0x%llx r14=0x%llx r15=0x%llx\n",
		(unsigned long long)r->r13, (unsigned long long)r->r14,
		(unsigned long long)r->r15);
}

void vmexit_dispatch(struct guest_regs *regs)
{
	uint64_t reason = vmcs_read(VM_EXIT_REASON);
	unsigned int basic = reason & VMX_EXIT_REASON_MASK;
	uint64_t qualification = vmcs_read(EXIT_QUALIFICATION);

	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY) {
		/* SDM 26.7: the entry failed after VMLAUNCH looked fine. */
		kprintf("vmexit: VM entry failed: exit reason %u (%s), "
			"qualification 0x%llx\n", basic,
			exit_reason_name(basic),
			(unsigned long long)qualification);
		vmx_disable();
		power_off(POWER_FAIL_VM_ENTRY);
	}
	kprintf("vmexit: exit reason %u (%s), qualification 0x%llx\n", basic,
		exit_reason_name(basic), (unsigned long long)qualification);
	kprintf("vmexit: guest RIP 0x%llx, instruction length %llu\n",
		(unsigned long long)vmcs_read(GUEST_RIP),
		(unsigned long long)vmcs_read(VM_EXIT_INSTRUCTION_LEN));
	print_guest_regs(regs);
	vmx_disable();
	power_off(POWER_PASS);
}
