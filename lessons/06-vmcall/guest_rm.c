/**
 * @file guest_rm.c
 * @brief VM1, a real-mode guest confined by EPT: its program, controls, state.
 * @ingroup lesson06
 *
 * Why real mode: it needs no guest page tables and no guest GDT, so the
 * whole guest is 64 KiB of RAM and a program, and every address VM1 uses
 * is a guest-physical address that EPT translates. The CPU only runs a
 * guest with CR0.PE = 0 under "unrestricted guest" (SDM Vol. 3C, 24.6.2),
 * which requires EPT: exactly what we want to show. vm1_create() gives VM1
 * its memory (guest_mem.c) and program, and returns what lesson 05's
 * vmcs_setup() needs to fill the VMCS for it: the controls VM1 wants and
 * the function that writes its real-mode guest state (as guest64.c does
 * for lesson 05's guest).
 */
#include "guest_mem.h"
#include "hypercall.h"
#include "kprintf.h"
#include "param.h"
#include "power.h"
#include "vm.h"
#include "x86.h"

/** Patchable: VM1's scenario (hypercall.h SCENARIO_*), passed in EDX. */
volatile uint8_t param_scenario KIT_PARAM;
/** Patchable: the guest-physical address VM1 touches (SCENARIO_EPT_...). */
volatile uint32_t param_touch_gpa KIT_PARAM = 0x20000;
/** Patchable: how many null hypercalls VM1 times (ECX). */
volatile uint32_t param_bench_count KIT_PARAM = 100;

extern const uint8_t vm1_image[];     /**< VM1's program (vm1_image.asm) */
extern const uint8_t vm1_image_end[]; /**< the byte after its end */

/** @name Real-mode segment access rights (vmx_defs.h, AR_*)
 * @{ */
#define AR_RM_CODE 0x9B      /**< accessed execute/read code, S=1, P=1 */
#define AR_RM_DATA 0x93      /**< accessed read/write data, S=1, P=1 */
#define AR_TSS32_BUSY 0x8B   /**< busy 32-bit TSS: TR must be one, even in
				  real mode (type 3, a busy 16-bit TSS, also
				  passes) */
/** @} */

/* A real-mode segment: selector 0, base 0, 64 KiB. */
static void rm_segment(enum vmcs_field selector, uint32_t ar)
{
	vmcs_write_segment(selector, 0, ar, 0xFFFF, 0);
}

/*
 * The guest-state area beyond vmcs.c's defaults: the state of a PC right
 * after its BIOS (SDM 24.4.1; Vol. 3A, 9.1.1), and VM1's boot parameters.
 */
static void vm1_setup_state(struct guest_regs *regs)
{
	vmcs_write(GUEST_CR0, CR0_NE | BIT(4));   /* ET; PE = PG = 0 */
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_CR4, CR4_VMXE);
	rm_segment(GUEST_CS_SELECTOR, AR_RM_CODE);
	rm_segment(GUEST_SS_SELECTOR, AR_RM_DATA);
	rm_segment(GUEST_DS_SELECTOR, AR_RM_DATA);
	rm_segment(GUEST_ES_SELECTOR, AR_RM_DATA);
	rm_segment(GUEST_FS_SELECTOR, AR_RM_DATA);
	rm_segment(GUEST_GS_SELECTOR, AR_RM_DATA);
	rm_segment(GUEST_TR_SELECTOR, AR_TSS32_BUSY);
	rm_segment(GUEST_LDTR_SELECTOR, AR_UNUSABLE);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0xFFFF);
	vmcs_write(GUEST_IDTR_BASE, 0);          /* the real-mode IVT */
	vmcs_write(GUEST_IDTR_LIMIT, 0x3FF);
	vmcs_write(GUEST_IA32_EFER, 0);
	vmcs_write(GUEST_RSP, GUEST_LOAD_ADDR);
	vmcs_write(GUEST_RIP, GUEST_LOAD_ADDR);
	/* VM1's "boot parameters", in registers (vm1.asm). */
	regs->rbx = param_touch_gpa;
	regs->rcx = param_bench_count;
	regs->rdx = param_scenario;
	kprintf("vm: real mode, CS:IP 0000:%04x, scenario %u\n",
		GUEST_LOAD_ADDR, param_scenario);
}

const struct vmcs_guest *vm1_create(void)
{
	static struct vmcs_guest vm1 = {
		.controls = {
			/* HLT and every I/O instruction exit: VM1 owns no
			 * device (SDM 24.6.2). */
			.proc = CPU_BASED_HLT_EXITING |
				CPU_BASED_UNCOND_IO_EXITING |
				CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
			.proc2 = SECONDARY_EXEC_ENABLE_EPT |
				 SECONDARY_EXEC_UNRESTRICTED_GUEST,
			/* Not an IA-32e mode guest: VM1 is 16-bit. */
			.entry = VM_ENTRY_LOAD_IA32_EFER |
				 VM_ENTRY_LOAD_IA32_PAT,
			/*
			 * CR4.VMXE must be 1 in the guest too (the fixed
			 * bits), but VM1 should not see it: the host owns
			 * the bit (mask) and the guest reads 0 (shadow).
			 * SDM 24.6.6 "Guest/Host Masks and Read Shadows".
			 */
			.cr4_mask = CR4_VMXE,
			.cr4_shadow = 0,
		},
		.setup_state = vm1_setup_state,
	};
	uint64_t size = (uint64_t)(vm1_image_end - vm1_image);

	kprintf("vm: VM1 is %llu bytes at guest-physical 0x%x\n",
		(unsigned long long)size, GUEST_LOAD_ADDR);
	vm1.controls.ept_pointer = guest_mem_init();
	/* Through EPT, as VM1 will see it: its program at GUEST_LOAD_ADDR. */
	if (guest_mem_write(GUEST_LOAD_ADDR, vm1_image, size))
		panic("VM1's program does not fit in its RAM");
	return &vm1;
}
