/**
 * @file vm1_svm.c
 * @brief VM1 under SVM: its nested tables, VMCB and real-mode state.
 * @ingroup lesson08
 *
 * Lesson 06's guest_rm.c for a VMCB. VM1 is the same binary (vm1.asm),
 * started as a PC's BIOS starts a boot sector: real mode, CS:IP
 * 0000:7C00. SVM has no "unrestricted guest" control to ask for: a guest
 * with CR0.PE = 0 is legal in a VMCB as it is, and with nested paging its
 * addresses are guest-physical ones that N_CR3's tables translate (AMD64
 * APM Vol. 2, 15.25). Without nested paging VM1 runs in "paged real
 * mode", CR0.PG = 1 with PE = 0, on page tables of ours (15.19, prm.c).
 * The state-save area (Appendix B, Table B-2) holds what VMRUN loads.
 * VM1's RAM, program and boot registers are lesson 06's vm1_load.c.
 */
#include "hypercall.h"
#include "npt.h"
#include "svm.h"

/* A real-mode segment: selector 0, base 0, 64 KiB (15.5.1: the VMCB holds
 * the hidden part of each segment register, in Table B-2's format). */
static void rm_segment(struct vmcb *vmcb, enum vmcb_field seg,
		       uint16_t attrib)
{
	vmcb_write_segment(vmcb, seg, 0, attrib, 0xFFFF, 0);
}

void svm_rm_write_state(struct vmcb *vmcb, uint64_t cr3)
{
	rm_segment(vmcb, VMCB_CS, SVM_ATTRIB_RM_CODE);
	rm_segment(vmcb, VMCB_SS, SVM_ATTRIB_RM_DATA);
	rm_segment(vmcb, VMCB_DS, SVM_ATTRIB_RM_DATA);
	rm_segment(vmcb, VMCB_ES, SVM_ATTRIB_RM_DATA);
	/* FS, GS, TR and LDTR are VMLOAD's (15.5.2): svm_run.asm loads
	 * them from this VMCB before every VMRUN. */
	rm_segment(vmcb, VMCB_FS, SVM_ATTRIB_RM_DATA);
	rm_segment(vmcb, VMCB_GS, SVM_ATTRIB_RM_DATA);
	rm_segment(vmcb, VMCB_TR, SVM_ATTRIB_TSS32_BUSY);
	rm_segment(vmcb, VMCB_LDTR, SVM_ATTRIB_LDT);
	vmcb_write_segment(vmcb, VMCB_GDTR, 0, 0, 0xFFFF, 0);
	vmcb_write_segment(vmcb, VMCB_IDTR, 0, 0, 0x3FF, 0); /* the IVT */
	vmcb_write_n(vmcb, VMCB_CPL, 1, 0);
	/* 15.5.1: VMRUN checks EFER.SVME = 1 in the guest's EFER too;
	 * LME = 0: not a long-mode guest. */
	vmcb_write(vmcb, VMCB_EFER, EFER_SVME);
	/* ET; PE = 0. PG = 0 with nested paging, 1 in paged real mode
	 * (15.19), where CR3 is the hypervisor's tables (prm.c). */
	vmcb_write(vmcb, VMCB_CR0, BIT(4) | (cr3 ? CR0_PG : 0));
	vmcb_write(vmcb, VMCB_CR3, cr3);
	vmcb_write(vmcb, VMCB_CR4, 0);
	vmcb_write(vmcb, VMCB_DR6, 0xFFFF0FF0); /* their reset values */
	vmcb_write(vmcb, VMCB_DR7, 0x400);
	vmcb_write(vmcb, VMCB_RFLAGS, BIT(1));  /* bit 1 is always 1; IF=0 */
	vmcb_write(vmcb, VMCB_RIP, GUEST_LOAD_ADDR);
	vmcb_write(vmcb, VMCB_RSP, GUEST_LOAD_ADDR);
	/* 15.25: with nested paging the guest has its own PAT: the
	 * power-on value (APM Vol. 2, 7.8.2). */
	vmcb_write(vmcb, VMCB_G_PAT, 0x0007040600070406ULL);
}

static void vm1_setup_state(struct vmcb *vmcb, struct guest_regs *regs,
			    uint64_t cr3)
{
	svm_rm_write_state(vmcb, cr3);
	regs->rax = 0;                  /* the VMCB's RAX, when VMRUN runs */
	vm1_boot_regs(regs);            /* lesson 06's vm1_load.c */
}

void vm1_setup(struct vmcb *vmcb, struct guest_regs *regs,
	       uint32_t svm_features)
{
	/* VM1's RAM, reached through NPT (the hypervisor too: lesson 06's
	 * guest_mem.c). */
	void *ram = vm1_memory_init(npt_translate);
	uint64_t cr3 = 0;

	if (svm_features & SVM_FEATURE_NPT) {
		vmcb_setup_controls(vmcb, npt_init(ram, GUEST_RAM_SIZE), 1);
	} else {
		/* The nested tables still describe VM1's memory to the
		 * hypervisor (npt_translate()); the CPU walks prm.c's
		 * tables instead. */
		npt_init(ram, GUEST_RAM_SIZE);
		cr3 = prm_init(ram, GUEST_RAM_SIZE);    /* VM1's CR3 */
		vmcb_setup_controls(vmcb, 0, 1);
	}
	vm1_load_program();             /* through NPT, as VM1 will see it */
	vm1_setup_state(vmcb, regs, cr3);
}
