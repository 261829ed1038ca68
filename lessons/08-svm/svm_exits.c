/**
 * @file svm_exits.c
 * @brief SVM's side of every #VMEXIT: read the VMCB of the VM that exited.
 * @ingroup lesson08
 *
 * Lesson 06's vmx_exits.c for SVM. Every #VMEXIT leaves its EXITCODE in
 * the VMCB (offset 0x070, AMD64 APM Vol. 2, 15.6 "#VMEXIT");
 * svm_exit_reason() translates it into lesson 06's enum vm_exit_reason
 * for lesson 06's dispatcher (vm_exit.c), which runs the hypercall ABI
 * for VMMCALL (its hypercall.c) and CPUID and HLT as it does under VMX.
 * Here is what reads the VMCB: the guest's RIP and the next one, a triple
 * fault (SHUTDOWN), a nested page fault (or #PF in paged real mode), and
 * a code without a handler, which stops the VM with its name and
 * EXITINFO1/2, never the host. They all read the current VMCB, the one
 * svm_exits_use() named: VM1's here (svm_loop.c), the VM that exited in
 * lesson 11.
 */
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "svm.h"
#include "vm.h"         /* lesson 06: the vendor-neutral core */

static struct vmcb *vm1_vmcb;     /* the current VMCB: every handler's */
static uint32_t svm_features;     /* CPUID Fn8000_000A EDX */

/* APM Appendix C: the exit codes VM1 has a handler for; every other one
 * is VM_EXIT_OTHER (0). */
const enum vm_exit_reason svm_exit_reasons[SVM_EXIT_CODE_MAX] = {
	[SVM_EXIT_VMMCALL] = VM_EXIT_HYPERCALL,
	[SVM_EXIT_CPUID] = VM_EXIT_CPUID,
	[SVM_EXIT_HLT] = VM_EXIT_HLT,
	[SVM_EXIT_SHUTDOWN] = VM_EXIT_TRIPLE_FAULT,
	[SVM_EXIT_NPF] = VM_EXIT_NESTED_PAGE_FAULT,
	[SVM_EXIT_EXCP_PF] = VM_EXIT_NESTED_PAGE_FAULT, /* paged real mode */
	[SVM_EXIT_EXCP_BASE + 0] = VM_EXIT_EXCEPTION,   /* #DE: VM_EXCEPTIONS */
	[SVM_EXIT_EXCP_BASE + 6] = VM_EXIT_EXCEPTION,   /* #UD */
};

void svm_exits_use(struct vmcb *vmcb)
{
	vm1_vmcb = vmcb;
	svm_features = cpuid(CPUID_SVM_LEAF, 0).edx;    /* NRIP save? */
}

/** vm.h: the vector of an intercepted fault: its EXITCODE is 0x40 plus
 * the vector (Appendix C). */
unsigned int vm_exception_vector(void)
{
	return (unsigned int)(vmcb_read(vm1_vmcb, VMCB_EXIT_CODE) -
			      SVM_EXIT_EXCP_BASE);
}

/** vm.h: the guest's RIP, from the VMCB's state-save area. */
uint64_t vm_read_rip(void)
{
	return vmcb_read(vm1_vmcb, VMCB_RIP);
}

/** vm.h: the APM's name of EXITCODE @p code (svm_names.c). */
const char *vm_exit_name(uint64_t code)
{
	return svm_exit_name(code);     /* svm_names.c */
}

/** vm.h: leave SVM at the end (svm_disable()). */
void vm_hardware_disable(void)
{
	svm_disable();                  /* APM 15.4: EFER.SVME = 0 */
}

/* The length of the intercepted instruction, by exit code. */
static unsigned int svm_insn_len(uint64_t code)
{
	switch (code) {
	case SVM_EXIT_VMMCALL:
		return 3;               /* 0F 01 D9 */
	case SVM_EXIT_CPUID:
		return 2;               /* 0F A2 */
	case SVM_EXIT_HLT:
		return 1;               /* F4 (lesson 11: HLT yields) */
	default:
		panic("no instruction length for #VMEXIT 0x%llx",
		      (unsigned long long)code);
	}
}

/** vm.h: move VM1 past the instruction that exited. */
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

/** vm.h: #VMEXIT SHUTDOWN, VM1's triple fault. */
enum exit_action vm_handle_triple_fault(struct guest_regs *regs)
{
	(void)regs;
	/* The SHUTDOWN intercept (Table B-1; exit code 0x7F, Appendix C): a
	 * triple fault exits instead of shutting the machine down. The
	 * guest state it leaves in the VMCB is not to be trusted. */
	kprintf("vm: %s triple-faulted at 0x%llx: it would have shut "
		"down\n", vm_name(),
		(unsigned long long)vmcb_read(vm1_vmcb, VMCB_RIP));
	vm_set_stop_reason("triple fault", POWER_FAIL_TRIPLE_FAULT);
	return VM_STOP;
}

/* #VMEXIT NPF: what VM1 touched that its nested tables do not allow. */
static enum exit_action svm_handle_npf(struct vmcb *vmcb)
{
	uint64_t error = vmcb_read(vmcb, VMCB_EXIT_INFO_1);
	uint64_t gpa = vmcb_read(vmcb, VMCB_EXIT_INFO_2);

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

/* #VMEXIT EXCP_PF: the same, in paged real mode (prm.c's tables). */
static enum exit_action svm_handle_pf(struct vmcb *vmcb)
{
	uint64_t error = vmcb_read(vmcb, VMCB_EXIT_INFO_1);
	uint64_t addr = vmcb_read(vmcb, VMCB_EXIT_INFO_2);

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

/** vm.h: #VMEXIT NPF, or EXCP_PF in paged real mode. */
enum exit_action vm_handle_nested_page_fault(struct guest_regs *regs)
{
	(void)regs;
	if (vmcb_read(vm1_vmcb, VMCB_EXIT_CODE) == SVM_EXIT_EXCP_PF)
		return svm_handle_pf(vm1_vmcb);
	return svm_handle_npf(vm1_vmcb);
}

/** vm.h: any other #VMEXIT, named with EXITINFO1/2. */
enum exit_action vm_handle_unexpected_exit(struct guest_regs *regs)
{
	uint64_t code = vmcb_read(vm1_vmcb, VMCB_EXIT_CODE);

	(void)regs;
	/* EXITINFO1/2 mean what Appendix C and 15.9-15.13 say for @code. */
	kprintf("vm: unexpected #VMEXIT 0x%llx (%s) at 0x%llx, EXITINFO1 "
		"0x%llx, EXITINFO2 0x%llx\n", (unsigned long long)code,
		svm_exit_name(code),
		(unsigned long long)vmcb_read(vm1_vmcb, VMCB_RIP),
		(unsigned long long)vmcb_read(vm1_vmcb, VMCB_EXIT_INFO_1),
		(unsigned long long)vmcb_read(vm1_vmcb, VMCB_EXIT_INFO_2));
	vm_set_stop_reason("unexpected exit", POWER_FAIL_UNEXPECTED_EXIT);
	return VM_STOP;
}
