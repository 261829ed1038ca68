/**
 * @file svm_guest_exits.c
 * @brief The VMRUN loop and every #VMEXIT of the guest under SVM.
 * @ingroup lesson09
 *
 * Lesson 07's vmx_exits.c for a VMCB. The guest runs until it does one of
 * the few things the VMCB intercepts (svm_guest.c): CPUID, an I/O to a
 * power-off port, RDMSR or WRMSR of EFER, a fetch from the trapped BIOS
 * page (a nested page fault, lesson 07's e820_trap.c), VMMCALL, a triple
 * fault (SHUTDOWN). The exit code and EXITINFO1/2 (APM Vol. 2, 15.6,
 * Appendix C) say what happened; what follows is lesson 07's shared code
 * (guest_exits.c). Each exit is counted by its exit code.
 */
#include "hv.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "svm_guest.h"

/** @name EXITINFO1 of IOIO and NPF (APM 15.10.2, 15.25.6)
 * @{ */
#define IOIO_IN BIT(0)                 /**< IN (else OUT) */
#define IOIO_SIZE_SHIFT 4              /**< bits 4-6: 1, 2 or 4 bytes */
#define NPF_PRESENT BIT(0)             /**< the entry was present */
#define NPF_WRITE BIT(1)               /**< a write */
#define NPF_FETCH BIT(4)               /**< an instruction fetch */
/** @} */

const uint64_t hv_hypercall_exit = SVM_EXIT_VMMCALL;

static struct vmcb host_vmcb __attribute__((aligned(PAGE_SIZE)));
static uint32_t svm_features;

/** hv.h: the APM's name of a #VMEXIT code. */
const char *hv_exit_name(uint64_t code)
{
	return svm_exit_name(code);     /* lesson 08 */
}

/** hv.h: leave SVM. */
void hv_disable(void)
{
	svm_disable();                  /* APM 15.4: EFER.SVME = 0 */
}

/* Past an instruction of @p length bytes: the next RIP the CPU saved with
 * NRIP save (15.7.1), else computed (QEMU's TCG has none; the guests use
 * CPUID, RDMSR and WRMSR without prefixes: 2 bytes each). */
static void skip(unsigned int length)
{
	struct vmcb *v = &guest_vmcb;

	if (svm_features & SVM_FEATURE_NRIP)
		vmcb_write(v, VMCB_RIP, vmcb_read(v, VMCB_NEXT_RIP));
	else
		vmcb_write(v, VMCB_RIP, vmcb_read(v, VMCB_RIP) + length);
}

/* 15.10.2: EXITINFO1 says port, direction and size; EXITINFO2 is the RIP
 * of the next instruction, with or without NRIP save. */
static void handle_ioio(struct guest_regs *regs)
{
	uint64_t info = vmcb_read(&guest_vmcb, VMCB_EXIT_INFO_1);
	unsigned int size = (info >> IOIO_SIZE_SHIFT) & 7;  /* 1, 2 or 4 */
	uint64_t mask = size == 4 ? 0xFFFFFFFF : size == 2 ? 0xFFFF : 0xFF;

	if (info & IOIO_IN) {           /* nothing to read there */
		regs->rax |= mask;
		vmcb_write(&guest_vmcb, VMCB_RIP,
			   vmcb_read(&guest_vmcb, VMCB_EXIT_INFO_2));
		return;
	}
	guest_power_write((uint16_t)(info >> 16), regs->rax & mask);
}

/* EFER (the only MSR intercepted, 15.11): EXITINFO1 0 = RDMSR, 1 = WRMSR.
 * The guest reads EFER without SVME, and never clears it. */
static void handle_msr(struct guest_regs *regs)
{
	struct vmcb *v = &guest_vmcb;
	uint64_t efer = vmcb_read(v, VMCB_EFER);

	if ((uint32_t)regs->rcx != MSR_EFER)
		guest_stop(POWER_FAIL_UNEXPECTED_EXIT, "MSR 0x%llx exited",
			   (unsigned long long)(uint32_t)regs->rcx);
	if (vmcb_read(v, VMCB_EXIT_INFO_1)) {
		uint64_t value = (regs->rdx << 32) | (uint32_t)regs->rax;

		vmcb_write(v, VMCB_EFER, (value & ~EFER_LMA) |
			   (efer & EFER_LMA) | EFER_SVME);
	} else {
		efer &= ~EFER_SVME;
		regs->rax = (uint32_t)efer;
		regs->rdx = efer >> 32;
	}
	skip(2);
}

/* 15.25.6: EXITINFO1 the error code, EXITINFO2 the guest-physical
 * address. A fetch from a present page is the E820 trap's. */
static void handle_npf(struct guest_regs *regs)
{
	uint64_t error = vmcb_read(&guest_vmcb, VMCB_EXIT_INFO_1);
	uint64_t gpa = vmcb_read(&guest_vmcb, VMCB_EXIT_INFO_2);

	if ((error & NPF_FETCH) && (error & NPF_PRESENT) &&
	    e820_trap_fetch(gpa, regs))
		return;
	guest_stop(POWER_FAIL_NPF, "nested page fault: guest %s at "
		   "guest-physical 0x%llx (%s), RIP 0x%llx, error code 0x%llx",
		   error & NPF_WRITE ? "write" : error & NPF_FETCH ? "fetch" :
		   "read", (unsigned long long)gpa,
		   gpa >= hidden_base && gpa < hidden_base + HV_SIZE ?
		   "the hypervisor's hidden memory" : "not mapped",
		   (unsigned long long)guest_linear_rip(),
		   (unsigned long long)error);
}

static void dispatch(struct guest_regs *regs)
{
	struct vmcb *v = &guest_vmcb;
	uint64_t code = vmcb_read(v, VMCB_EXIT_CODE);
	uint64_t start = guest_exit_begin(code);

	switch (code) {
	case SVM_EXIT_CPUID:
		guest_cpuid(regs);
		skip(2);
		break;
	case SVM_EXIT_IOIO:
		handle_ioio(regs);
		break;
	case SVM_EXIT_MSR:
		handle_msr(regs);
		break;
	case SVM_EXIT_NPF:
		handle_npf(regs);
		break;
	case SVM_EXIT_VMMCALL:          /* the bootstrap's: RIP is set anew */
		guest_hypercall(regs);
		break;
	case SVM_EXIT_SHUTDOWN:         /* Table B-1: a triple fault */
		guest_stop(POWER_FAIL_TRIPLE_FAULT, "guest triple fault at "
			   "CS:RIP 0x%llx:0x%llx (linear 0x%llx), CR0 0x%llx",
			   (unsigned long long)vmcb_read_n(v, VMCB_CS, 2),
			   (unsigned long long)vmcb_read(v, VMCB_RIP),
			   (unsigned long long)guest_linear_rip(),
			   (unsigned long long)vmcb_read(v, VMCB_CR0));
	case (uint64_t)SVM_EXIT_ERR:    /* VMEXIT_INVALID: 15.5.1 */
		guest_stop(POWER_FAIL_VMRUN, "VMRUN refused the VMCB "
			   "(VMEXIT_INVALID)");
	default:
		guest_stop(POWER_FAIL_UNEXPECTED_EXIT, "unexpected #VMEXIT "
			   "0x%llx (%s), EXITINFO1 0x%llx, EXITINFO2 0x%llx, "
			   "at 0x%llx", (unsigned long long)code,
			   svm_exit_name(code),
			   (unsigned long long)vmcb_read(v, VMCB_EXIT_INFO_1),
			   (unsigned long long)vmcb_read(v, VMCB_EXIT_INFO_2),
			   (unsigned long long)guest_linear_rip());
	}
	guest_exit_end(start);
}

void guest_run(struct guest_regs *regs)
{
	struct vmcb *v = &guest_vmcb;

	svm_features = cpuid(CPUID_SVM_LEAF, 0).edx;
	svm_vmsave(virt_to_phys(&host_vmcb));   /* the host's extra state */
	for (;;) {
		/* 15.5.1: VMRUN loads the guest's RAX from the VMCB. */
		vmcb_write(v, VMCB_RAX, regs->rax);
		svm_vmrun(regs, virt_to_phys(v), virt_to_phys(&host_vmcb));
		regs->rax = vmcb_read(v, VMCB_RAX);
		vmcb_write_n(v, VMCB_TLB_CONTROL, 1, 0);    /* flushed */
		dispatch(regs);
	}
}
