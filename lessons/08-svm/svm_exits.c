/**
 * @file svm_exits.c
 * @brief The VMRUN loop and the #VMEXIT dispatcher: one handler per code.
 * @ingroup lesson08
 *
 * Lesson 06's exits.c for SVM. VMX comes back at HOST_RIP; SVM comes back
 * after the VMRUN, so the hypervisor is an ordinary loop: VMRUN, read
 * EXITCODE (VMCB offset 0x070, AMD64 APM Vol. 2, 15.6 "#VMEXIT"), call the
 * handler the code selects, go round again. The handlers are lesson 06's:
 * VMMCALL is its hypercall ABI (its hypercall.c, reused as it is), CPUID
 * passes through but for the brand string, HLT, a triple fault (SHUTDOWN)
 * and a nested page fault stop VM1. A code without a handler stops VM1
 * with its name and EXITINFO1/2, never the host.
 */
#include "kprintf.h"
#include "param.h"
#include "power.h"
#include "string.h"
#include "svm.h"
#include "vm.h"         /* lesson 06: enum exit_action, the hypercalls */

/** Patchable: the processor brand VM1 sees in CPUID 0x80000002-4. */
char param_brand[48] KIT_PARAM = "Kit Hypervisor virtual CPU";

/** A #VMEXIT handler: reads the VMCB, may change @p regs, decides. */
typedef enum exit_action (*svm_exit_handler_t)(struct vmcb *vmcb,
					       struct guest_regs *regs);

/* 15.5.2: VMSAVE's target for the host's FS, GS, TR, LDTR and MSRs. */
static struct vmcb host_vmcb __attribute__((aligned(PAGE_SIZE)));
static struct vmcb *vm1_vmcb;     /* one VM: the VMCB every handler uses */
static uint32_t svm_features;     /* CPUID Fn8000_000A EDX */
static unsigned long exit_counts[SVM_EXIT_CODE_MAX];
static const char *stop_reason = "unknown";
static int stop_status = POWER_FAIL;

/** Lesson 06's vm.h: why VM1 stopped, and the power-off status. */
void vm_set_stop_reason(const char *why, int status)
{
	stop_reason = why;
	stop_status = status;
}

/* The length of the intercepted instruction, by exit code. */
static unsigned int svm_insn_len(uint64_t code)
{
	switch (code) {
	case SVM_EXIT_VMMCALL:
		return 3;               /* 0F 01 D9 */
	case SVM_EXIT_CPUID:
		return 2;               /* 0F A2 */
	default:
		panic("no instruction length for #VMEXIT 0x%llx",
		      (unsigned long long)code);
	}
}

/** Lesson 06's vm.h: move VM1 past the instruction that exited. */
void vm_skip_instruction(void)
{
	uint64_t rip = vmcb_read(vm1_vmcb, VMCB_RIP);
	uint64_t code = vmcb_read(vm1_vmcb, VMCB_EXIT_CODE);

	/*
	 * VMX tells the length of the instruction that exited (SDM 27.2.4).
	 * SVM does only with NRIP save (CPUID Fn8000_000A EDX[3]): then
	 * #VMEXIT writes the next RIP to the VMCB's nRIP (offset 0x0C8,
	 * APM 15.7.1). QEMU's TCG has no NRIP save, so without it the
	 * hypervisor adds the length itself: VM1 uses no prefixes, so
	 * VMMCALL is always 3 bytes and CPUID 2.
	 */
	/* BEGIN SOLUTION: svm-next-rip */
	if (svm_features & SVM_FEATURE_NRIP)
		vmcb_write(vm1_vmcb, VMCB_RIP,
			   vmcb_read(vm1_vmcb, VMCB_NEXT_RIP));
	else
		vmcb_write(vm1_vmcb, VMCB_RIP, rip + svm_insn_len(code));
	/* END SOLUTION */
}

static enum exit_action svm_handle_vmmcall(struct vmcb *vmcb,
					   struct guest_regs *regs)
{
	(void)vmcb;
	return exit_handle_vmcall(regs);   /* lesson 06's hypercall ABI */
}

/* CPUID: the host's answer, except the brand string, which is ours. */
static enum exit_action svm_handle_cpuid(struct vmcb *vmcb,
					 struct guest_regs *regs)
{
	uint32_t leaf = (uint32_t)regs->rax, subleaf = (uint32_t)regs->rcx;
	struct cpuid_regs r = cpuid(leaf, subleaf);

	(void)vmcb;
	if (leaf >= 0x80000002 && leaf <= 0x80000004)
		memcpy(&r, param_brand + 16 * (leaf - 0x80000002), 16);
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
	vm_skip_instruction();
	return VM_RESUME;
}

static enum exit_action svm_handle_hlt(struct vmcb *vmcb,
				       struct guest_regs *regs)
{
	(void)regs;
	/* No interrupts reach VM1: a halted VM1 would never wake up. */
	kprintf("vm: VM1 executed HLT at 0x%llx\n",
		(unsigned long long)vmcb_read(vmcb, VMCB_RIP));
	vm_set_stop_reason("HLT", POWER_FAIL_GUEST_HLT);
	return VM_STOP;
}

static enum exit_action svm_handle_shutdown(struct vmcb *vmcb,
					    struct guest_regs *regs)
{
	(void)regs;
	/* The SHUTDOWN intercept (Table B-1; exit code 0x7F, Appendix C): a
	 * triple fault exits instead of shutting the machine down. The
	 * guest state it leaves in the VMCB is not to be trusted. */
	kprintf("vm: VM1 triple-faulted at 0x%llx: it would have shut "
		"down\n", (unsigned long long)vmcb_read(vmcb, VMCB_RIP));
	vm_set_stop_reason("triple fault", POWER_FAIL_TRIPLE_FAULT);
	return VM_STOP;
}

static enum exit_action svm_handle_npf(struct vmcb *vmcb,
				       struct guest_regs *regs)
{
	uint64_t error = vmcb_read(vmcb, VMCB_EXIT_INFO_1);
	uint64_t gpa = vmcb_read(vmcb, VMCB_EXIT_INFO_2);

	(void)regs;
	/* 15.25: EXITINFO1 is a page-fault error code, EXITINFO2 the
	 * guest-physical address that faulted. */
	kprintf("vm: nested page fault at guest-physical 0x%llx: %s %s, "
		"page %s%s (EXITINFO1 0x%llx)\n", (unsigned long long)gpa,
		error & NPF_US ? "user" : "supervisor",
		error & NPF_ID ? "fetch" : error & NPF_RW ? "write" : "read",
		error & NPF_P ? "present, access denied" : "not present",
		error & NPF_RSV ? ", reserved bit set" : "",
		(unsigned long long)error);
	vm_set_stop_reason("nested page fault", POWER_FAIL_NPF);
	return VM_STOP;
}

static enum exit_action svm_handle_pf(struct vmcb *vmcb,
				      struct guest_regs *regs)
{
	uint64_t error = vmcb_read(vmcb, VMCB_EXIT_INFO_1);
	uint64_t addr = vmcb_read(vmcb, VMCB_EXIT_INFO_2);

	(void)regs;
	/* Paged real mode (15.19): VM1's linear address is what we call its
	 * guest-physical one; EXITINFO1 is the #PF error code, EXITINFO2
	 * the faulting address (15.12 "Exception Intercepts"). */
	kprintf("vm: page fault (paged real mode) at guest-physical 0x%llx: "
		"%s, page %s (EXITINFO1 0x%llx)\n", (unsigned long long)addr,
		error & NPF_ID ? "fetch" : error & NPF_RW ? "write" : "read",
		error & NPF_P ? "present, access denied" : "not present",
		(unsigned long long)error);
	vm_set_stop_reason("page fault", POWER_FAIL_NPF);
	return VM_STOP;
}

static enum exit_action svm_handle_unexpected(struct vmcb *vmcb,
					      struct guest_regs *regs)
{
	uint64_t code = vmcb_read(vmcb, VMCB_EXIT_CODE);

	(void)regs;
	/* EXITINFO1/2 mean what Appendix C and 15.9-15.13 say for @code. */
	kprintf("vm: unexpected #VMEXIT 0x%llx (%s) at 0x%llx, EXITINFO1 "
		"0x%llx, EXITINFO2 0x%llx\n", (unsigned long long)code,
		svm_exit_name(code),
		(unsigned long long)vmcb_read(vmcb, VMCB_RIP),
		(unsigned long long)vmcb_read(vmcb, VMCB_EXIT_INFO_1),
		(unsigned long long)vmcb_read(vmcb, VMCB_EXIT_INFO_2));
	vm_set_stop_reason("unexpected exit", POWER_FAIL_UNEXPECTED_EXIT);
	return VM_STOP;
}

static const svm_exit_handler_t svm_exit_handlers[SVM_EXIT_CODE_MAX] = {
	[SVM_EXIT_VMMCALL] = svm_handle_vmmcall,
	[SVM_EXIT_CPUID] = svm_handle_cpuid,
	[SVM_EXIT_HLT] = svm_handle_hlt,
	[SVM_EXIT_SHUTDOWN] = svm_handle_shutdown,
	[SVM_EXIT_NPF] = svm_handle_npf,
	[SVM_EXIT_EXCP_PF] = svm_handle_pf,
};

/* Print the exits counted by name, leave SVM and switch off. */
static __attribute__((noreturn)) void vm_stop(void)
{
	unsigned long total = 0;

	kprintf("vm: VM1 stopped (%s, status %d)\n", stop_reason, stop_status);
	kprintf("vm: exits handled:");
	for (unsigned int i = 0; i < SVM_EXIT_CODE_MAX; i++) {
		if (!exit_counts[i])
			continue;
		kprintf(" %s=%lu", svm_exit_name(i), exit_counts[i]);
		total += exit_counts[i];
	}
	kprintf(" (total %lu)\n", total);
	svm_disable();
	power_off(stop_status);
}

/* One #VMEXIT: count it, dispatch on EXITCODE, decide. */
static enum exit_action svm_exit_dispatch(struct vmcb *vmcb,
					  struct guest_regs *regs)
{
	uint64_t code = vmcb_read(vmcb, VMCB_EXIT_CODE);
	svm_exit_handler_t handler = svm_handle_unexpected;

	if (code == (uint64_t)SVM_EXIT_ERR) {
		/* 15.5.1: VMRUN's consistency checks failed; nothing ran. */
		kprintf("svm: VMRUN failed: #VMEXIT VMEXIT_INVALID (the VMCB "
			"breaks a rule of APM 15.5.1)\n");
		vm_set_stop_reason("VMRUN failed", POWER_FAIL_VMRUN);
		return VM_STOP;
	}
	if (code < SVM_EXIT_CODE_MAX) {
		exit_counts[code]++;
		if (svm_exit_handlers[code])
			handler = svm_exit_handlers[code];
	}
	return handler(vmcb, regs);
}

void svm_run_vm(struct vmcb *vmcb, struct guest_regs *regs)
{
	vm1_vmcb = vmcb;
	svm_features = cpuid(CPUID_SVM_LEAF, 0).edx;
	svm_vmsave(virt_to_phys(&host_vmcb));   /* the host's extra state */
	kprintf("vm: VMRUN VM1\n");
	for (;;) {
		/* 15.5.1: VMRUN loads the guest's RAX from the VMCB. */
		vmcb_write(vmcb, VMCB_RAX, regs->rax);
		svm_vmrun(regs, virt_to_phys(vmcb), virt_to_phys(&host_vmcb));
		regs->rax = vmcb_read(vmcb, VMCB_RAX);
		/* The first run flushed ASID 1's TLB entries; later ones need
		 * not (Table B-1, TLB_CONTROL). */
		vmcb_write_n(vmcb, VMCB_TLB_CONTROL, 1, 0);
		if (svm_exit_dispatch(vmcb, regs) == VM_STOP)
			vm_stop();
	}
}
