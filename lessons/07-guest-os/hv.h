/**
 * @file hv.h
 * @brief Lesson 07: the hypervisor that boots a lesson as its guest.
 * @ingroup lesson07
 *
 * What does not depend on the vendor, here and in the files it names:
 * relocate.c moves the hypervisor to the top of RAM; guest_e820.c cuts
 * it out of the guest's memory map; e820_trap.c answers the guest's
 * memory-map question from that map; guest_exits.c has what every exit
 * handler shares (CPUID, the power-off ports, the report at the end);
 * bootstrap.asm is the guest's first code: it asks the BIOS for the guest
 * disk's boot sector. What a vendor provides is declared at the end: VMX
 * in this lesson (vmx_guest.h), SVM in lesson 09, which reuses the rest
 * by path, as KVM's svm.c and vmx.c share x86.c.
 */
#ifndef LESSON07_HV_H
#define LESSON07_HV_H

/** @name Numbers bootstrap.asm shares with C (through kit.inc)
 * @{ */
#define HV_BOOTSTRAP_ADDR 0x600   /**< where the bootstrap runs: free RAM
				     above the BIOS data area */
#define HV_BOOT_SECTOR 0x7C00     /**< where a BIOS puts a boot sector */
#define HV_GUEST_DRIVE 0x81       /**< the guest's disk: the second one */
#define HV_BOOTSTRAP_TRIES 3      /**< BIOS reads before giving up */
#define HV_HANDOVER_SP 0xFFD6     /**< the guest's SP at 7C00 (seed 003) */
#define HV_HANDOVER_FLAGS 0x82    /**< its RFLAGS: SF and the reserved 1 */
/** @} */

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "boot.h"     /* lesson 02: struct e820_entry */
#include "../05-vmx/guest_regs.h"
#include "x86.h"

/** @name Control-register bits x86.h does not name
 * @{ */
#define CR0_ET BIT(4)        /**< extension type: always 1 */
#define CR4_OSXSAVE BIT(18)  /**< XSETBV and XGETBV allowed */
/** @} */

#define HV_SIZE 0x200000 /**< the hypervisor's share of RAM: one 2 MiB
			       page, which the higher half maps */
#define HV_REACH 0x40000000 /**< it must lie below 1 GiB: the first
				  page tables map no more (longmode.asm) */

/**
 * Guest-physical address @p gpa as the hypervisor reaches it: the low half
 * maps physical memory 1:1 (relocate.c) and so do the nested page tables
 * (guest_ept.c here, lesson 09's guest_npt.c).
 * The empty asm hides the number from the compiler, which may otherwise
 * treat a pointer to address 0 (the IVT) as null.
 */
static inline void *guest_phys(uint64_t gpa)
{
	void *p = (void *)(uintptr_t)gpa;

	__asm__("" : "+r"(p));
	return p;
}

/* ---- relocate.c ---------------------------------------------------- */

/** The hidden range: [hidden_base, hidden_base + HV_SIZE). */
extern uint64_t hidden_base;

/** Find the top of RAM in the E820 map, move there, switch page tables. */
void hv_relocate(void);

/** Power off with POWER_FAIL_HOST_SMP unless the MADT lists exactly one
 * processor: a guest could start any other outside the VM (processors.c). */
void hv_one_processor(void);

/* ---- guest_e820.c -------------------------------------------------- */

/** The E820 map the guest reads: the BIOS's, without the hidden range. */
extern struct e820_entry guest_e820[];
extern unsigned int guest_e820_count; /**< entries in guest_e820 */

/** Build guest_e820[] from the BIOS's map (the exercise). */
void guest_e820_init(void);

/** Whether the BIOS's map calls all of [@p base, @p base + @p size) RAM
 * (usable, ACPI or NVS): write-back for nested paging, else uncacheable. */
int e820_is_ram(uint64_t base, uint64_t size);

/* ---- e820_trap.c --------------------------------------------------- */

/** @name The two nested-paging views of the E820 trap
 * @{ */
#define VIEW_OUTSIDE 0 /**< every page executable but the trapped one */
#define VIEW_INSIDE 1  /**< only the trapped page executable */
/** @} */

/** Arm the trap on the BIOS's int 15h entry point (read from the IVT). */
void e820_trap_init(void);

/** A fetch from a page that is mapped but not executable in the current
 * view (an EPT violation, a nested page fault): the trap's, if it returns
 * 1; the guest then goes on. */
int e820_trap_fetch(uint64_t gpa, struct guest_regs *regs);

/* ---- guest_exits.c: what every vendor's exit handler shares -------- */

/** Copy the bootstrap (bootstrap.asm) to HV_BOOTSTRAP_ADDR, where the
 * guest starts. */
void guest_bootstrap_load(void);

/** The guest is about to start: remember the time. */
void guest_started(void);

/** An exit with the vendor's code @p code begins: count it; returns the
 * TSC, for guest_exit_end(). */
uint64_t guest_exit_begin(uint64_t code);

/** The exit that began at TSC @p start is handled: the guest goes on. */
void guest_exit_end(uint64_t start);

/** Stop the guest: the end marker, the report, power off. */
__attribute__((noreturn, format(printf, 2, 3)))
void guest_stop(int status, const char *fmt, ...);

/** The guest's CS:IP as one linear address (real mode) or RIP. */
uint64_t guest_linear_rip(void);

/** CPUID for the guest: the host's answer, with VMX and SVM hidden. The
 * caller moves the guest past the instruction. */
void guest_cpuid(struct guest_regs *regs);

/** The guest wrote @p value to power-off port @p port: stop it. */
__attribute__((noreturn))
void guest_power_write(uint16_t port, uint64_t value);

/** VMCALL or VMMCALL: the bootstrap's report (hand over to the boot
 * sector, or stop with the BIOS's error), later an unexpected one. */
void guest_hypercall(struct guest_regs *regs);

/** The kit's power-off ports (power.h), which the guest may not use. */
extern const uint16_t guest_power_ports[];
extern const unsigned int guest_power_port_count; /**< how many */

/* ---- What each vendor provides (lesson 07: VMX, lesson 09: SVM) ---- */

/** Guest registers the shared code reads and writes, in the VMCS or VMCB. */
enum hv_reg {
	HV_RIP, HV_RSP, HV_RFLAGS, HV_CR0, HV_CR4,
	HV_CS_BASE, HV_SS_BASE, HV_ES_BASE,
};

/** Read guest register @p reg. */
uint64_t hv_guest_get(enum hv_reg reg);

/** Write guest register @p reg. */
void hv_guest_set(enum hv_reg reg, uint64_t value);

/** Load the guest's CS with a real-mode @p selector (base selector * 16). */
void hv_guest_set_cs(uint16_t selector);

/** The bootstrap is done: make the guest a PC whose BIOS just jumped to
 * the boot sector at 0000:7C00 with the drive in DL. */
void hv_handover(struct guest_regs *regs);

/** Make the 4 KiB page at @p gpa (below 2 MiB) the trapped page. */
void hv_nested_trap_page(uint64_t gpa);

/** The nested-paging view in use (VIEW_OUTSIDE or VIEW_INSIDE). */
unsigned int hv_nested_view(void);

/** Run the guest in @p view from its next entry on. */
void hv_nested_switch(unsigned int view);

/** The vendor's exit code of its hypercall (VMCALL, VMMCALL). */
extern const uint64_t hv_hypercall_exit;

/** The vendor's name of exit code @p code. */
const char *hv_exit_name(uint64_t code);

/** Leave VMX (VMXOFF) or SVM (EFER.SVME = 0). */
void hv_disable(void);

/* ---- move.asm ------------------------------------------------------ */

/** Copy @p len bytes from @p src to @p dst (identity-mapped physical
 * addresses), then load @p cr3; returns on the copy. */
void hv_move(uint64_t dst, uint64_t src, uint64_t len, uint64_t cr3);
#endif

#endif
