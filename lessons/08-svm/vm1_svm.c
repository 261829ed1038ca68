/**
 * @file vm1_svm.c
 * @brief VM1 under SVM: its RAM, its program and its real-mode state.
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
 */
#include "guest_mem.h"
#include "hypercall.h"
#include "kprintf.h"
#include "param.h"
#include "power.h"
#include "npt.h"
#include "svm.h"

/** Patchable: VM1's scenario (hypercall.h SCENARIO_*), passed in EDX. */
volatile uint8_t param_scenario KIT_PARAM;
/** Patchable: the guest-physical address VM1 touches (scenario 1). */
volatile uint32_t param_touch_gpa KIT_PARAM = 0x20000;
/** Patchable: how many null hypercalls VM1 times (ECX). */
volatile uint32_t param_bench_count KIT_PARAM = 100;

extern const uint8_t vm1_image[];     /**< VM1's program (vm1_image.asm) */
extern const uint8_t vm1_image_end[]; /**< the byte after its end */

/* A real-mode segment: selector 0, base 0, 64 KiB (15.5.1: the VMCB holds
 * the hidden part of each segment register, in Table B-2's format). */
static void rm_segment(struct vmcb *vmcb, enum vmcb_field seg,
		       uint16_t attrib)
{
	vmcb_write_segment(vmcb, seg, 0, attrib, 0xFFFF, 0);
}

static void vm1_setup_state(struct vmcb *vmcb, struct guest_regs *regs,
			    uint64_t cr3)
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
	/* VM1's "boot parameters", in registers (vm1.asm). */
	regs->rax = 0;
	regs->rbx = param_touch_gpa;
	regs->rcx = param_bench_count;
	regs->rdx = param_scenario;
	kprintf("vm: real mode, CS:IP 0000:%04x, scenario %u\n",
		GUEST_LOAD_ADDR, param_scenario);
}

void vm1_setup(struct vmcb *vmcb, struct guest_regs *regs,
	       uint32_t svm_features)
{
	uint64_t size = (uint64_t)(vm1_image_end - vm1_image), cr3 = 0;

	kprintf("vm: VM1 is %llu bytes at guest-physical 0x%x\n",
		(unsigned long long)size, GUEST_LOAD_ADDR);
	if (svm_features & SVM_FEATURE_NPT) {
		vmcb_setup_controls(vmcb, guest_mem_init());
	} else {
		cr3 = guest_mem_init_paged_real_mode();
		vmcb_setup_controls(vmcb, 0);
	}
	/* Through NPT, as VM1 will see it: its program at GUEST_LOAD_ADDR. */
	if (guest_mem_write(GUEST_LOAD_ADDR, vm1_image, size))
		panic("VM1's program does not fit in its RAM");
	vm1_setup_state(vmcb, regs, cr3);
}
