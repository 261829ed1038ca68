/**
 * @file guest_rm.c
 * @brief VM1's VMCS: a real-mode guest confined by EPT.
 * @ingroup lesson06
 *
 * Why real mode: it needs no guest page tables and no guest GDT, so the
 * whole guest is 64 KiB of RAM and a program, and every address VM1 uses
 * is a guest-physical address that EPT translates. The CPU only runs a
 * guest with CR0.PE = 0 under "unrestricted guest" (SDM Vol. 3C, 24.6.2),
 * which requires EPT: exactly what we want to show.
 */
#include "ept.h"
#include "hypercall.h"
#include "kprintf.h"
#include "param.h"
#include "paging.h"
#include "string.h"
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

/* VM1's RAM: host memory that only EPT makes visible to the guest. */
static uint8_t guest_ram[GUEST_RAM_SIZE] __attribute__((aligned(PAGE_SIZE)));

/** @name Real-mode segment access rights (vmx_defs.h, AR_*)
 * @{ */
#define AR_RM_CODE 0x9B      /**< accessed execute/read code, S=1, P=1 */
#define AR_RM_DATA 0x93      /**< accessed read/write data, S=1, P=1 */
#define AR_TSS32_BUSY 0x8B   /**< busy 32-bit TSS: TR must be one, even in
				  real mode (type 3, a busy 16-bit TSS, also
				  passes) */
/** @} */

static void vm_controls(void)
{
	static const struct vmx_controls want = {
		/* HLT and every I/O instruction exit: VM1 owns no device. */
		.proc = CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
			CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
		.proc2 = SECONDARY_EXEC_ENABLE_EPT |
			 SECONDARY_EXEC_UNRESTRICTED_GUEST,
		/* Not an IA-32e mode guest: VM1 is 16-bit. */
		.entry = VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT,
	};

	vmcs_setup_controls(&want);
	/*
	 * CR4.VMXE must be 1 in the guest too (the fixed bits), but VM1 should
	 * not see it: the host owns the bit (mask) and the guest reads 0
	 * (shadow). SDM 24.6.6 "Guest/Host Masks and Read Shadows".
	 */
	vmcs_write(CR4_GUEST_HOST_MASK, CR4_VMXE);
	vmcs_write(CR4_READ_SHADOW, 0);
	vmcs_write(CR0_GUEST_HOST_MASK, 0);
	vmcs_write(CR0_READ_SHADOW, 0);
}

/* A real-mode segment: selector 0, base 0, 64 KiB. */
static void rm_segment(enum vmcs_field selector, uint32_t ar)
{
	vmcs_write_segment(selector, 0, ar, 0xFFFF, 0);
}

void vm_setup(struct guest_regs *regs)
{
	size_t size = (size_t)(vm1_image_end - vm1_image);

	memcpy(guest_ram + GUEST_LOAD_ADDR, vm1_image, size);
	kprintf("vm: VM1 is %llu bytes at guest-physical 0x%x\n",
		(unsigned long long)size, GUEST_LOAD_ADDR);
	vmcs_write(EPT_POINTER, ept_init(guest_ram, sizeof(guest_ram)));
	vm_controls();
	/* The state of a PC right after the BIOS, SDM 24.4.1 / Vol. 3A 9.1.1. */
	vmcs_write(GUEST_CR0, CR0_NE | BIT(4));   /* ET; PE = PG = 0 */
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_CR4, CR4_VMXE);
	vmcs_write(GUEST_DR7, 0x400);
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
	vmcs_write(GUEST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_RSP, GUEST_LOAD_ADDR);
	vmcs_write(GUEST_RIP, GUEST_LOAD_ADDR);
	vmcs_write(GUEST_RFLAGS, 0x2);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	/* VM1's "boot parameters", in registers (vm1.asm). */
	regs->rbx = param_touch_gpa;
	regs->rcx = param_bench_count;
	regs->rdx = param_scenario;
	kprintf("vm: real mode, CS:IP 0000:%04x, scenario %u\n",
		GUEST_LOAD_ADDR, param_scenario);
}

void *vm_guest_memory(uint64_t gpa, uint64_t length)
{
	uint8_t *start = ept_translate(gpa);

	/* VM1's RAM is one contiguous block: check both ends through EPT. */
	if (!start || !length || gpa + length < gpa ||
	    ept_translate(gpa + length - 1) != start + length - 1)
		return NULL;
	return start;
}
