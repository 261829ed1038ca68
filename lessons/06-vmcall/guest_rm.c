/**
 * @file guest_rm.c
 * @brief VM1 under VMX, a real-mode guest confined by EPT: controls, state.
 * @ingroup lesson06
 *
 * Why real mode: it needs no guest page tables and no guest GDT, so the
 * whole guest is 64 KiB of RAM and a program, and every address VM1 uses
 * is a guest-physical address that EPT translates. The CPU only runs a
 * guest with CR0.PE = 0 under "unrestricted guest" (SDM Vol. 3C, 24.6.2),
 * which requires EPT: exactly what we want to show. vm1_create() gives VM1
 * its memory and program (vm1_load.c), maps it with EPT (ept.c), and
 * returns what lesson 05's vmcs_setup() needs to fill the VMCS for it:
 * the controls VM1 wants and the function that writes its real-mode guest
 * state (as guest64.c does for lesson 05's guest). Lesson 10 starts every
 * one of its VMs from the same two: guest_rm_controls and
 * guest_rm_write_state().
 */
#include "ept.h"
#include "guest_rm.h"
#include "hypercall.h"
#include "vm.h"
#include "x86.h"

/* A real-mode segment: selector 0, base 0, 64 KiB. */
static void rm_segment(enum vmcs_field selector, uint32_t ar)
{
	vmcs_write_segment(selector, 0, ar, 0xFFFF, 0);
}

void guest_rm_write_state(void)
{
	vmcs_write(GUEST_CR0, CR0_NE | BIT(4));   /* ET; PE = PG = 0 */
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_CR4, CR4_VMXE);
	vmcs_write_rm_segments();       /* lesson 05's vmcs.c */
	rm_segment(GUEST_TR_SELECTOR, AR_TSS32_BUSY);
	rm_segment(GUEST_LDTR_SELECTOR, AR_UNUSABLE);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0xFFFF);
	vmcs_write(GUEST_IDTR_BASE, 0);          /* the real-mode IVT */
	vmcs_write(GUEST_IDTR_LIMIT, 0x3FF);
	vmcs_write(GUEST_IA32_EFER, 0);
	vmcs_write(GUEST_RSP, GUEST_LOAD_ADDR);
	vmcs_write(GUEST_RIP, GUEST_LOAD_ADDR);
}

const struct vmx_controls guest_rm_controls = {
	/* HLT and every I/O instruction exit: VM1 owns no device (SDM
	 * 24.6.2). */
	.proc = CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
		CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
	.proc2 = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST,
	/* Not an IA-32e mode guest: VM1 is 16-bit. */
	.entry = VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT,
	/*
	 * CR4.VMXE must be 1 in the guest too (the fixed bits), but VM1
	 * should not see it: the host owns the bit (mask) and the guest reads
	 * 0 (shadow). SDM 24.6.6 "Guest/Host Masks and Read Shadows".
	 */
	.cr4_mask = CR4_VMXE,
	.cr4_shadow = 0,
	/* SDM 24.6.3: #DE and #UD exit (vm.h); VM1 has no IVT for them. */
	.exception_bitmap = VM_EXCEPTIONS,
};

/* The guest-state area beyond vmcs.c's defaults, and VM1's boot
 * parameters. */
static void vm1_setup_state(struct guest_regs *regs)
{
	guest_rm_write_state();
	vm1_boot_regs(regs);            /* vm1_load.c: EBX, ECX, EDX, ESI */
}

const struct vmcs_guest *vm1_create(void)
{
	static struct vmcs_guest vm1 = { .setup_state = vm1_setup_state };

	vm1.controls = guest_rm_controls;

	/* VM1's RAM, reached through EPT (the hypervisor too: guest_mem.c). */
	vm1.controls.ept_pointer = ept_init(vm1_memory_init(ept_translate),
					    GUEST_RAM_SIZE);
	vm1_load_program();             /* through EPT, as VM1 will see it */
	return &vm1;
}
