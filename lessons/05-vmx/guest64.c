/**
 * @file guest64.c
 * @brief Lesson 05's guest, as the VMCS describes it: controls and state.
 * @ingroup lesson05
 *
 * The guest (guest.asm) is 64-bit code that shares the host's page tables,
 * GDT and segments: the least a VMCS can describe. This file says what
 * vmcs.c's vmcs_setup() needs to know about it (struct vmcs_guest): the
 * controls it wants and its guest state, copied from the host's. Then the
 * fields a student most often gets wrong can be broken on purpose
 * (param_break_guest) to see the pre-entry check and the CPU refuse them.
 */
#include "gdt64.h"
#include "kprintf.h"
#include "param.h"
#include "paging.h"
#include "vmx.h"
#include "x86.h"

/** Patchable: the value the guest starts with in RAX (see guest.asm). */
volatile uint64_t param_guest_seed KIT_PARAM = 0x1000;

/**
 * Patchable: break one guest-state field on purpose. 0 none, 1 CS access
 * rights (not accessed), 2 RFLAGS bit 1 clear, 3 CR4.VMXE clear, 4 activity
 * state 7, 5 TR type "available" instead of "busy".
 */
volatile uint8_t param_break_guest KIT_PARAM;

/** The guest's first instruction (guest.asm). */
extern char guest_entry[];
static uint8_t guest_stack[PAGE_SIZE] __attribute__((aligned(16)));

/** @name Access rights of the guest's segments (vmx_defs.h, AR_*)
 * @{ */
#define AR_CODE64 0xA09B   /**< accessed execute/read code, L=1, G=1 */
#define AR_DATA 0xC093     /**< accessed read/write data, D/B=1, G=1 */
#define AR_TSS_BUSY 0x008B /**< busy 64-bit TSS */
/** @} */

static void guest64_setup_state(struct guest_regs *regs);

/** Lesson 05's guest, for vmcs_setup() (main.c). */
const struct vmcs_guest guest64 = {
	.controls = {
		/* Nothing to ask for: CPUID exits whatever the controls say. */
		.entry = VM_ENTRY_IA32E_MODE |      /* the guest is 64-bit */
			 VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT,
	},
	.setup_state = guest64_setup_state,
};

/* The guest-state area beyond vmcs.c's defaults; @p regs gets RAX. */
static void guest64_setup_state(struct guest_regs *regs)
{
	struct desc_ptr gdtr, idtr;

	sgdt(&gdtr);
	sidt(&idtr);
	/* SDM 24.4.1: the guest-state area, register by register. */
	vmcs_write(GUEST_CR0, read_cr0());
	vmcs_write(GUEST_CR3, read_cr3());
	vmcs_write(GUEST_CR4, read_cr4());
	vmcs_write_segment(GUEST_CS_SELECTOR, GDT64_KERNEL_CODE, AR_CODE64,
			   0xFFFFFFFF, 0);
	vmcs_write_segment(GUEST_SS_SELECTOR, GDT64_KERNEL_DATA, AR_DATA,
			   0xFFFFFFFF, 0);
	vmcs_write_segment(GUEST_DS_SELECTOR, GDT64_KERNEL_DATA, AR_DATA,
			   0xFFFFFFFF, 0);
	vmcs_write_segment(GUEST_ES_SELECTOR, GDT64_KERNEL_DATA, AR_DATA,
			   0xFFFFFFFF, 0);
	vmcs_write_segment(GUEST_FS_SELECTOR, 0, AR_UNUSABLE, 0, 0);
	vmcs_write_segment(GUEST_GS_SELECTOR, 0, AR_UNUSABLE, 0, 0);
	vmcs_write_segment(GUEST_LDTR_SELECTOR, 0, AR_UNUSABLE, 0, 0);
	vmcs_write_segment(GUEST_TR_SELECTOR, GDT64_TSS, AR_TSS_BUSY,
			   sizeof(kernel_tss) - 1, (uint64_t)(uintptr_t)&kernel_tss);
	vmcs_write(GUEST_GDTR_BASE, gdtr.base);
	vmcs_write(GUEST_GDTR_LIMIT, gdtr.limit);
	vmcs_write(GUEST_IDTR_BASE, idtr.base);
	vmcs_write(GUEST_IDTR_LIMIT, idtr.limit);
	vmcs_write(GUEST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_write(GUEST_RSP, (uint64_t)(uintptr_t)(guest_stack + PAGE_SIZE));
	vmcs_write(GUEST_RIP, (uint64_t)(uintptr_t)guest_entry);
	regs->rax = param_guest_seed;
	kprintf("vmcs: guest: 64-bit, RIP=guest_entry (0x%llx), RSP=0x%llx, "
		"RAX=0x%llx\n", (unsigned long long)(uintptr_t)guest_entry,
		(unsigned long long)(uintptr_t)(guest_stack + PAGE_SIZE),
		(unsigned long long)regs->rax);

	switch (param_break_guest) {   /* the deliberate mistakes */
	case 1:
		vmcs_write(GUEST_CS_AR_BYTES, AR_CODE64 & ~1u);
		break;
	case 2:
		vmcs_write(GUEST_RFLAGS, 0);
		break;
	case 3:
		vmcs_write(GUEST_CR4, read_cr4() & ~CR4_VMXE);
		break;
	case 4:
		vmcs_write(GUEST_ACTIVITY_STATE, 7);
		break;
	case 5:
		vmcs_write(GUEST_TR_AR_BYTES, AR_TSS_BUSY & ~2u);
		break;
	}
	if (param_break_guest)
		kprintf("vmcs: broke guest-state field #%u on purpose\n",
			param_break_guest);
}
