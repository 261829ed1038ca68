/**
 * @file svm_guest.c
 * @brief The guest's VMCB: lesson 07's PC-after-its-BIOS, on AMD.
 * @ingroup lesson09
 *
 * Lesson 07's vmx_guest.c with a VMCB (AMD64 APM Vol. 2, Appendix B). The
 * guest owns the machine but what would let it see or stop the
 * hypervisor:
 *  - I/O: the permission map (15.10.1) intercepts only the kit's power-off
 *    ports; COM1, the PIC, the PIT, the disk are the guest's;
 *  - MSRs: the permission map (15.11) intercepts only EFER, whose SVME bit
 *    VMRUN needs set in the guest (15.5.1) and the guest must not see;
 *  - interrupts: no INTR intercept and V_INTR_MASKING clear (15.21.1), so
 *    the guest's IF governs physical interrupts, which go through its own
 *    IVT or IDT; no HLT intercept: a halted guest waits for them;
 *  - CPUID, VMMCALL (the bootstrap's report), SHUTDOWN (a triple fault)
 *    and VMRUN (15.5.1 requires it) are intercepted.
 * What lesson 07 does and this cannot, on QEMU's TCG: guard CR0.CD and NW.
 * SVM has no read shadows; intercepting CR0 writes means emulating MOV
 * CR0, which needs the source register (decode assists, 15.33), and TCG
 * offers none. The guest's CR0 is its own here (README: what AMD adds).
 */
#include "hv.h"
#include "kprintf.h"
#include "paging.h"
#include "string.h"
#include "svm_guest.h"

#define CR0_CACHE_BITS (CR0_CD | CR0_NW) /**< CR0's caching controls */

struct vmcb guest_vmcb __attribute__((aligned(PAGE_SIZE)));

/* 15.10.1: one bit per port, set = intercept; 15.11: two bits (read,
 * write) per MSR in three ranges. Zero: the guest's. */
static uint8_t iopm[IOPM_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t msrpm[MSRPM_SIZE] __attribute__((aligned(PAGE_SIZE)));

/* EFER is 0xC0000080: the second range (0xC0000000-0xC0001FFF) starts at
 * byte 0x800 of the MSRPM, two bits per MSR, read then write (15.11). */
static void intercept_msr_c000(uint32_t msr)
{
	unsigned int bit = 2 * (msr & 0x1FFF);

	msrpm[0x800 + bit / 8] |= 3 << (bit % 8);
}

static void rm_segment(enum vmcb_field seg, uint16_t attrib)
{
	vmcb_write_segment(&guest_vmcb, seg, 0, attrib, 0xFFFF, 0);
}

/* CS, SS, DS, ES, FS and GS: real mode, selector 0, base 0, 64 KiB. */
static void rm_segments(void)
{
	rm_segment(VMCB_CS, SVM_ATTRIB_RM_CODE);
	rm_segment(VMCB_SS, SVM_ATTRIB_RM_DATA);
	rm_segment(VMCB_DS, SVM_ATTRIB_RM_DATA);
	rm_segment(VMCB_ES, SVM_ATTRIB_RM_DATA);
	rm_segment(VMCB_FS, SVM_ATTRIB_RM_DATA);
	rm_segment(VMCB_GS, SVM_ATTRIB_RM_DATA);
}

/* The bootstrap's state: real mode at HV_BOOTSTRAP_ADDR (15.5.1). */
static void bootstrap_state(struct guest_regs *regs)
{
	struct vmcb *v = &guest_vmcb;

	memset(regs, 0, sizeof(*regs));
	rm_segments();
	rm_segment(VMCB_TR, SVM_ATTRIB_TSS32_BUSY);
	rm_segment(VMCB_LDTR, SVM_ATTRIB_LDT);
	vmcb_write_segment(v, VMCB_GDTR, 0, 0, 0, 0);
	vmcb_write_segment(v, VMCB_IDTR, 0, 0, 0x3FF, 0);  /* the IVT */
	vmcb_write_n(v, VMCB_CPL, 1, 0);
	vmcb_write(v, VMCB_EFER, EFER_SVME);    /* 15.5.1: SVME must be 1 */
	/* ET, PE = PG = 0, and CD, NW as the BIOS left them. */
	vmcb_write(v, VMCB_CR0, CR0_ET | (boot_cr0 & CR0_CACHE_BITS));
	vmcb_write(v, VMCB_CR3, 0);
	vmcb_write(v, VMCB_CR4, 0);
	vmcb_write(v, VMCB_DR6, 0xFFFF0FF0);    /* their reset values */
	vmcb_write(v, VMCB_DR7, 0x400);
	vmcb_write(v, VMCB_RFLAGS, BIT(1));
	vmcb_write(v, VMCB_RIP, HV_BOOTSTRAP_ADDR);
	vmcb_write(v, VMCB_RSP, HV_BOOT_SECTOR);
	vmcb_write(v, VMCB_RAX, 0);
	/* 15.25: with nested paging the guest has its own PAT: the power-on
	 * value (APM Vol. 2, 7.8.2). */
	vmcb_write(v, VMCB_G_PAT, 0x0007040600070406ULL);
}

void guest_vmcb_setup(uint64_t n_cr3, struct guest_regs *regs)
{
	struct vmcb *v = &guest_vmcb;

	memset(v, 0, sizeof(*v));
	for (unsigned int i = 0; i < guest_power_port_count; i++)
		iopm[guest_power_ports[i] / 8] |= 1 << (guest_power_ports[i] % 8);
	intercept_msr_c000(MSR_EFER);
	/* 15.9-15.13, Table B-1: the intercepts. */
	vmcb_write32(v, VMCB_INTERCEPT_MISC1, INTERCEPT_CPUID |
		     INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT |
		     INTERCEPT_SHUTDOWN);
	vmcb_write32(v, VMCB_INTERCEPT_MISC2, INTERCEPT_VMRUN |
		     INTERCEPT_VMMCALL);
	vmcb_write(v, VMCB_IOPM_BASE_PA, virt_to_phys(iopm));
	vmcb_write(v, VMCB_MSRPM_BASE_PA, virt_to_phys(msrpm));
	vmcb_write32(v, VMCB_ASID, 1);          /* 15.16: not the host's 0 */
	vmcb_write_n(v, VMCB_TLB_CONTROL, 1, TLB_CONTROL_FLUSH_ASID);
	vmcb_write(v, VMCB_INT_CTL, 0);         /* V_INTR_MASKING = 0 */
	vmcb_write(v, VMCB_NESTED_CTL, SVM_NESTED_CTL_NP_ENABLE);  /* 15.25 */
	vmcb_write(v, VMCB_NESTED_CR3, n_cr3);
	bootstrap_state(regs);
	guest_bootstrap_load();         /* lesson 07's guest_exits.c */
	kprintf("[hv] VMCB at physical 0x%llx: ASID 1, N_CR3 0x%llx; "
		"intercepts: CPUID, VMMCALL, SHUTDOWN, power-off ports, "
		"EFER\n", (unsigned long long)virt_to_phys(v),
		(unsigned long long)n_cr3);
}

/** hv.h: the guest at 0000:7C00, as a BIOS leaves it, in the VMCB. */
void hv_handover(struct guest_regs *regs)
{
	struct vmcb *v = &guest_vmcb;

	/* What a BIOS leaves at 0000:7C00: lesson 07's hv_handover(), in
	 * the VMCB. The guest's RAX lives in the VMCB (15.5.1). */
	memset(regs, 0, sizeof(*regs));
	regs->rdx = HV_GUEST_DRIVE;
	rm_segments();
	vmcb_write(v, VMCB_RSP, HV_HANDOVER_SP);
	vmcb_write(v, VMCB_RIP, HV_BOOT_SECTOR);
	vmcb_write(v, VMCB_RFLAGS, HV_HANDOVER_FLAGS);
}

/* The shared code's view of the guest's registers: VMCB fields. */
static const enum vmcb_field hv_fields[] = {
	[HV_RIP] = VMCB_RIP, [HV_RSP] = VMCB_RSP, [HV_RFLAGS] = VMCB_RFLAGS,
	[HV_CR0] = VMCB_CR0, [HV_CR4] = VMCB_CR4,
	[HV_CS_BASE] = VMCB_CS + VMCB_SEG_BASE,
	[HV_SS_BASE] = VMCB_SS + VMCB_SEG_BASE,
	[HV_ES_BASE] = VMCB_ES + VMCB_SEG_BASE,
};

/** hv.h: a guest register, from the VMCB's state-save area. */
uint64_t hv_guest_get(enum hv_reg reg)
{
	return vmcb_read(&guest_vmcb, hv_fields[reg]);
}

/** hv.h: a guest register, into the VMCB. */
void hv_guest_set(enum hv_reg reg, uint64_t value)
{
	vmcb_write(&guest_vmcb, hv_fields[reg], value);
}

/** hv.h: CS in the VMCB, a real-mode code segment at selector * 16. */
void hv_guest_set_cs(uint16_t selector)
{
	vmcb_write_segment(&guest_vmcb, VMCB_CS, selector, SVM_ATTRIB_RM_CODE,
			   0xFFFF, (uint64_t)selector << 4);
}
