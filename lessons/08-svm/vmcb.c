/**
 * @file vmcb.c
 * @brief The VMCB's control area: what VM1 may do without the hypervisor.
 * @ingroup lesson08
 *
 * Lesson 05's vmcs.c for SVM, but with no capability MSRs to consult: a
 * VMCB is memory, and an intercept bit is honoured or VMRUN says why not
 * (#VMEXIT VMEXIT_INVALID, AMD64 APM Vol. 2, 15.5.1 "Basic Operation").
 * The control area (Appendix B, Table B-1) says which instructions and
 * events leave the guest (the intercept vectors, 15.9-15.13), where the
 * I/O and MSR permission maps are (15.10.1, 15.11), which ASID tags the
 * guest's TLB entries (15.16) and whether nested paging is on (15.25).
 */
#include "kprintf.h"
#include "string.h"
#include "svm.h"

/* 15.10.1: one bit per I/O port, set = intercept; 12 KiB so that a
 * multi-byte access at 0xFFFF has bits too. All set: VM1 owns no port. */
static uint8_t iopm[IOPM_SIZE] __attribute__((aligned(PAGE_SIZE)));
/* 15.11: two bits (read, write) per MSR of three ranges. All set: every
 * RDMSR and WRMSR exits (an MSR outside the ranges always does). A map of
 * zeros would let VM1 read and write the host's MSRs directly. */
static uint8_t msrpm[MSRPM_SIZE] __attribute__((aligned(PAGE_SIZE)));

void vmcb_setup_controls(struct vmcb *vmcb, uint64_t n_cr3, uint32_t asid)
{
	memset(vmcb, 0, sizeof(*vmcb));
	memset(iopm, 0xFF, sizeof(iopm));
	memset(msrpm, 0xFF, sizeof(msrpm));
	/* 15.9-15.13 and Table B-1: the intercepts. CPUID so that the brand
	 * string is ours, HLT because nothing would wake VM1, SHUTDOWN so
	 * that VM1's triple fault stops VM1 and not the machine, I/O and
	 * MSRs through their maps. */
	vmcb_write32(vmcb, VMCB_INTERCEPT_MISC1, INTERCEPT_CPUID |
		     INTERCEPT_HLT | INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT |
		     INTERCEPT_SHUTDOWN);
	/* 15.5.1: VMRUN must be intercepted, or VMRUN fails the VMCB's
	 * consistency checks. VMMCALL is the hypercall: without its
	 * intercept it is #UD in the guest (APM Vol. 3, "VMMCALL"). */
	vmcb_write32(vmcb, VMCB_INTERCEPT_MISC2, INTERCEPT_VMRUN |
		     INTERCEPT_VMMCALL);
	/* 15.12: #DE and #UD exit (lesson 06's vm.h); VM1 has no IVT. */
	vmcb_write32(vmcb, VMCB_INTERCEPT_EXCEPTIONS, VM_EXCEPTIONS);
	vmcb_write(vmcb, VMCB_IOPM_BASE_PA, virt_to_phys(iopm));
	vmcb_write(vmcb, VMCB_MSRPM_BASE_PA, virt_to_phys(msrpm));
	/* 15.16: ASID 0 is the host's; VMRUN refuses it for a guest. One VM,
	 * one ASID (lesson 11: one each); flushing it on the first run costs
	 * nothing. */
	vmcb_write32(vmcb, VMCB_ASID, asid);
	vmcb_write_n(vmcb, VMCB_TLB_CONTROL, 1, TLB_CONTROL_FLUSH_ASID);
	if (n_cr3) {
		/* 15.25: nested paging on, through the tables at N_CR3. */
		vmcb_write(vmcb, VMCB_NESTED_CTL, SVM_NESTED_CTL_NP_ENABLE);
		vmcb_write(vmcb, VMCB_NESTED_CR3, n_cr3);
	} else {
		/* 15.19: paged real mode. The paging is the hypervisor's:
		 * VM1's #PF exits (it has no handler, and its addresses
		 * outside its RAM are ours to report), and so does any
		 * access to CR0, CR3 or CR4, which would show or change it. */
		vmcb_write32(vmcb, VMCB_INTERCEPT_CR,
			     INTERCEPT_CR_READ(0) | INTERCEPT_CR_READ(3) |
			     INTERCEPT_CR_READ(4) | INTERCEPT_CR_WRITE(0) |
			     INTERCEPT_CR_WRITE(3) | INTERCEPT_CR_WRITE(4));
		vmcb_write32(vmcb, VMCB_INTERCEPT_EXCEPTIONS, VM_EXCEPTIONS |
			     INTERCEPT_EXCEPTION(PF_VECTOR));
	}
	kprintf("svm: VMCB at physical 0x%llx: ASID %u, %s 0x%llx, IOPM "
		"0x%llx, MSRPM 0x%llx\n",
		(unsigned long long)virt_to_phys(vmcb), asid,
		n_cr3 ? "NP_ENABLE, N_CR3" : "paged real mode, no NP: N_CR3",
		(unsigned long long)n_cr3,
		(unsigned long long)virt_to_phys(iopm),
		(unsigned long long)virt_to_phys(msrpm));
}
