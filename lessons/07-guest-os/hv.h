/**
 * @file hv.h
 * @brief Lesson 07: the hypervisor that boots a lesson as its guest.
 * @ingroup lesson07
 *
 * The pieces, in the order main.c calls them: relocate.c moves the
 * hypervisor to the top of RAM; guest_ept.c maps every other page of
 * guest-physical memory to itself; guest.c fills the VMCS for a PC that
 * has just been through its BIOS; exits.c handles what the guest does
 * that the hypervisor must see; e820_trap.c answers the guest's memory
 * map question without the hidden pages. bootstrap.asm is the guest's
 * first code: it asks the BIOS for the guest disk's boot sector.
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
#include "guest_regs.h"
#include "x86.h"

/** @name Control-register bits x86.h does not name
 * @{ */
#define CR0_ET BIT(4)        /**< extension type: always 1 */
#define CR0_NW BIT(29)       /**< not write-through */
#define CR0_CD BIT(30)       /**< cache disable */
#define CR4_OSXSAVE BIT(18)  /**< XSETBV and XGETBV allowed */
/** @} */

#define HV_SIZE 0x200000 /**< the hypervisor's share of RAM: one 2 MiB
			       page, which the higher half maps */
#define HV_REACH 0x40000000 /**< it must lie below 1 GiB: the first
				  page tables map no more (longmode.asm) */

/**
 * Guest-physical address @p gpa as the hypervisor reaches it: the low half
 * maps physical memory 1:1 (relocate.c) and so does EPT (guest_ept.c).
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

/* ---- guest_ept.c --------------------------------------------------- */

/** Check the EPT capabilities the kit uses (IA32_VMX_EPT_VPID_CAP), map
 * guest-physical memory 1:1 except the hidden range; returns the EPTP. */
uint64_t guest_ept_init(void);

/** @name The two EPT views of the E820 trap
 * @{ */
#define EPT_OUTSIDE 0 /**< every page executable but the trapped one */
#define EPT_INSIDE 1  /**< only the trapped page executable */
/** @} */

/** Make the 4 KiB page at @p gpa (below 2 MiB) the trapped page. */
void guest_ept_trap_page(uint64_t gpa);

/** The view in use (EPT_OUTSIDE or EPT_INSIDE). */
unsigned int guest_ept_view(void);

/** Run the guest in @p view from its next entry on. */
void guest_ept_switch(unsigned int view);

/** The E820 map the guest reads: the BIOS's, without the hidden range. */
extern struct e820_entry guest_e820[];
extern unsigned int guest_e820_count; /**< entries in guest_e820 */

/* ---- e820_trap.c --------------------------------------------------- */

/** Arm the trap on the BIOS's int 15h entry point (read from the IVT). */
void e820_trap_init(void);

/** An EPT violation on a fetch from a page that is mapped but not
 * executable in the current view: the trap. Returns 1 if it was ours. */
int e820_trap_fetch(uint64_t gpa, struct guest_regs *regs);

/* ---- guest.c ------------------------------------------------------- */

struct vmcs_guest;

/** Turn caching on for the host (CR0.CD = NW = 0), and with it for the
 * guest, which reads CD and NW as the BIOS left them (the read shadow). */
void guest_caching_guard(void);

/** The guest's controls and first state (the bootstrap at
 * HV_BOOTSTRAP_ADDR), with EPT from @p eptp. */
const struct vmcs_guest *guest_create(uint64_t eptp);

/** Write what vmcs_setup() does not: the I/O and MSR bitmaps. */
void guest_setup_bitmaps(void);

/** The bootstrap is done: make the guest a PC whose BIOS just jumped to
 * the boot sector at 0000:7C00 with the drive in DL. */
void guest_handover(struct guest_regs *regs);

/* ---- exits.c ------------------------------------------------------- */

/** The guest is about to start: remember the time. */
void guest_started(void);

/** Stop the guest: the end marker, the report, power off. */
__attribute__((noreturn, format(printf, 2, 3)))
void guest_stop(int status, const char *fmt, ...);

/** The guest's CS:IP as one linear address (real mode) or RIP. */
uint64_t guest_linear_rip(void);

/* ---- move.asm ------------------------------------------------------ */

/** Copy @p len bytes from @p src to @p dst (identity-mapped physical
 * addresses), then load @p cr3; returns on the copy. */
void hv_move(uint64_t dst, uint64_t src, uint64_t len, uint64_t cr3);

/** invept: drop EPT's cached translations for @p eptp (SDM 30.3). */
static inline void invept_single(uint64_t eptp)
{
	struct { uint64_t eptp, reserved; } desc = { eptp, 0 };

	__asm__ volatile("invept %0, %1" : : "m"(desc), "r"(1ULL)
			 : "cc", "memory");
}
#endif

#endif
