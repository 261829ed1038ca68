/**
 * @file vmx_guest.c
 * @brief The guest's VMCS: a PC right after its BIOS, with its devices.
 * @ingroup lesson07
 *
 * Lesson 06's VM1 owned nothing: every port exited, HLT stopped it. This
 * guest owns the machine, except what would let it see or stop the
 * hypervisor:
 *  - I/O: the bitmaps (SDM Vol. 3C, 24.6.4) let every port through but the
 *    kit's power-off ports; COM1, the PIC, the PIT, the disk are the
 *    guest's, so its serial bytes reach the transcript as it wrote them;
 *  - MSRs: the bitmap (24.6.9) lets every read and write through but
 *    writes to EFER, which the hypervisor checks and keeps in the VMCS;
 *  - interrupts: external-interrupt exiting is off (24.6.1), so the BIOS's
 *    and the guest's interrupts go through the guest's own IVT or IDT,
 *    and HLT exiting is off: a halted guest waits for them natively;
 *  - CR0 and CR4 (24.6.6): the host owns CR4.VMXE (the guest reads 0) and
 *    CR0.NE, CD and NW: NE must stay 1 in VMX operation (CR0_FIXED0), and
 *    seed 003's guard keeps caching on whatever the guest writes into CD and
 *    NW, while the read shadow shows the guest its own value. VM entry
 *    never loads CD and NW from the VMCS (SDM 26.3.2.1): the guest runs
 *    with the host's, so the guard is the host's own CR0, with caching on
 *    (guest_caching_guard()).
 * The guest starts in the bootstrap (bootstrap.asm) and, once the BIOS has
 * read its boot sector, at 0000:7C00 (hv_handover()).
 */
#include "hv.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "string.h"
#include "vmx.h"
#include "vmx_guest.h"
#include "x86.h"

#define AR_LDT 0x82          /**< an LDT, present */

/* Bitmaps: 4 KiB each, a 1 bit means "exit" (SDM 24.6.4, 24.6.9). */
static uint8_t io_bitmap_a[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t io_bitmap_b[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t msr_bitmap[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void intercept_port(uint16_t port)
{
	uint8_t *bitmap = port < 0x8000 ? io_bitmap_a : io_bitmap_b;

	bitmap[(port & 0x7FFF) / 8] |= 1 << (port % 8);
}

void guest_setup_bitmaps(void)
{
	for (unsigned int i = 0; i < guest_power_port_count; i++)
		intercept_port(guest_power_ports[i]);
	/* MSR bitmap: read low, read high, write low at 0x800, write high
	 * (0xC0000000-0xC0001FFF) at 0xC00. EFER is 0xC0000080. */
	msr_bitmap[0xC00 + (MSR_EFER & 0x1FFF) / 8] |= 1 << (MSR_EFER % 8);
	vmcs_write(IO_BITMAP_A, virt_to_phys(io_bitmap_a));
	vmcs_write(IO_BITMAP_B, virt_to_phys(io_bitmap_b));
	vmcs_write(MSR_BITMAP, virt_to_phys(msr_bitmap));
}

static void rm_segment(enum vmcs_field selector, uint32_t ar)
{
	vmcs_write_segment(selector, 0, ar, 0xFFFF, 0);
}

/* The bootstrap's state: real mode at HV_BOOTSTRAP_ADDR (SDM 24.4.1). */
static void guest_setup_state(struct guest_regs *regs)
{
	memset(regs, 0, sizeof(*regs));
	vmcs_write(GUEST_CR0, CR0_ET | CR0_NE);  /* PE = PG = 0 */
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_CR4, CR4_VMXE);
	vmcs_write_rm_segments();       /* lesson 05 */
	rm_segment(GUEST_TR_SELECTOR, AR_TSS32_BUSY);
	rm_segment(GUEST_LDTR_SELECTOR, AR_LDT);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0);
	vmcs_write(GUEST_IDTR_BASE, 0);          /* the BIOS's IVT */
	vmcs_write(GUEST_IDTR_LIMIT, 0x3FF);
	vmcs_write(GUEST_IA32_EFER, 0);
	vmcs_write(GUEST_RSP, HV_BOOT_SECTOR);
	vmcs_write(GUEST_RIP, HV_BOOTSTRAP_ADDR);
}

/* CD and NW as the BIOS left them: what the guest reads until it writes. */
static uint64_t bios_cache_bits;

void guest_caching_guard(void)
{
	uint64_t cr0 = read_cr0();

	/* Lesson 02's entry cleared CD and NW before anything else ran
	 * (caches.asm: WBINVD, then CD = NW = 0, SDM Vol. 3A 11.5.3 run
	 * backwards) and kept CR0 as the BIOS left it in boot_cr0: the
	 * guest reads the BIOS's CD and NW, the CPU runs with the host's. */
	bios_cache_bits = boot_cr0 & (CR0_CD | CR0_NW);
	if (cr0 & (CR0_CD | CR0_NW))
		panic("CR0 0x%llx has CD or NW set: the guest would run "
		      "uncached", (unsigned long long)cr0);
	kprintf("[hv] caching: the BIOS left CR0 0x%x; the host (and so the "
		"guest, SDM 26.3.2.1) runs with CR0 0x%llx, CD = NW = 0\n",
		(unsigned int)boot_cr0, (unsigned long long)cr0);
}

const struct vmcs_guest *guest_create(uint64_t eptp)
{
	static struct vmcs_guest guest = {
		.controls = {
			.proc = CPU_BASED_USE_IO_BITMAPS |
				CPU_BASED_USE_MSR_BITMAPS |
				CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
			.proc2 = SECONDARY_EXEC_ENABLE_EPT |
				 SECONDARY_EXEC_UNRESTRICTED_GUEST,
			.entry = VM_ENTRY_LOAD_IA32_EFER |
				 VM_ENTRY_LOAD_IA32_PAT,
			.cr0_mask = CR0_NE | CR0_CD | CR0_NW,
			.cr0_shadow = 0,
			.cr4_mask = CR4_VMXE,
			.cr4_shadow = 0,
		},
		.setup_state = guest_setup_state,
	};
	guest.controls.ept_pointer = eptp;
	guest.controls.cr0_shadow = bios_cache_bits;   /* NE reads 0 */
	guest_bootstrap_load();         /* guest_exits.c: at 0x600 */
	return &guest;
}

/** hv.h: the guest at 0000:7C00, as a BIOS leaves it, in the VMCS. */
void hv_handover(struct guest_regs *regs)
{
	/* What a BIOS leaves at 0000:7C00 (seed 003's table, which is also
	 * what Bochs' BIOS leaves; the README lists each difference): real
	 * mode, 64 KiB segments at 0, SS:SP = 0000:FFD6, RFLAGS 0x82 (SF;
	 * interrupts off), DL = the boot drive, the other registers 0. */
	memset(regs, 0, sizeof(*regs));
	regs->rdx = HV_GUEST_DRIVE;
	vmcs_write_rm_segments();       /* lesson 05 */
	vmcs_write(GUEST_RSP, HV_HANDOVER_SP);
	vmcs_write(GUEST_RIP, HV_BOOT_SECTOR);
	vmcs_write(GUEST_RFLAGS, HV_HANDOVER_FLAGS);
}

/* The shared code's view of the guest's registers: VMCS fields. */
static const enum vmcs_field hv_fields[] = {
	[HV_RIP] = GUEST_RIP, [HV_RSP] = GUEST_RSP, [HV_RFLAGS] = GUEST_RFLAGS,
	[HV_CR0] = GUEST_CR0, [HV_CR4] = GUEST_CR4,
	[HV_CS_BASE] = GUEST_CS_BASE, [HV_SS_BASE] = GUEST_SS_BASE,
	[HV_ES_BASE] = GUEST_ES_BASE,
};

/** hv.h: a guest register, from the VMCS. */
uint64_t hv_guest_get(enum hv_reg reg)
{
	return vmcs_read(hv_fields[reg]);
}

/** hv.h: a guest register, into the VMCS. */
void hv_guest_set(enum hv_reg reg, uint64_t value)
{
	vmcs_write(hv_fields[reg], value);
}

/** hv.h: CS in the VMCS, a real-mode code segment at selector * 16. */
void hv_guest_set_cs(uint16_t selector)
{
	vmcs_write(GUEST_CS_SELECTOR, selector);
	vmcs_write(GUEST_CS_BASE, (uint64_t)selector << 4);
}
