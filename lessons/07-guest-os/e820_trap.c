/**
 * @file e820_trap.c
 * @brief The guest asks the BIOS for its memory map; the hypervisor answers.
 * @ingroup lesson07
 *
 * A real-mode guest asks "which RAM is there?" with int 15h, AX=E820h.
 * The hypervisor must answer without the pages it took, or the guest would
 * use them. But INT n in real mode never exits (only exceptions reach the
 * exception bitmap, SDM Vol. 3C, 25.2; the same holds for SVM's exception
 * intercepts), and patching the IVT would change what the BIOS left. So
 * the hypervisor watches the BIOS's own entry point instead: the nested
 * page tables take execute permission from the 4 KiB page that holds it
 * (its address is the IVT's vector 15h), and every instruction fetched
 * from that page exits: an EPT violation (SDM 29.3.3.2), a nested page
 * fault (AMD64 APM Vol. 2, 15.25.6).
 *  - At the entry point, with EAX = E820h and EDX = "SMAP": the call is
 *    answered from guest_e820[] (guest_e820.c) exactly as the BIOS would
 *    (ACPI 6.5, 15.1 "INT 15H, E820H"), then the hypervisor does the BIOS's
 *    IRET: pops IP, CS and FLAGS, with CF saying success.
 *  - Anything else in that page (other BIOS code shares it): the guest
 *    goes on in the "inside" view (the vendor's nested tables: guest_ept.c
 *    here), where only that page is executable; its first fetch elsewhere
 *    brings it back "outside".
 */
#include "hv.h"
#include "kprintf.h"
#include "string.h"

#define SMAP 0x534D4150     /**< "SMAP": the E820 call's signature */
#define E820_ENTRY_BASIC 20 /**< base, length, type */
#define E820_ENTRY_ACPI 24  /**< ... and ACPI 3.0 extended attributes */
#define RFLAGS_CF BIT(0)    /**< carry: the BIOS's error flag */

static uint64_t entry_point;        /* linear address of int 15h's entry */

void e820_trap_init(void)
{
	/* The IVT at 0: vector 15h is offset, segment at 4 * 0x15. */
	const volatile uint16_t *ivt = guest_phys(0);

	entry_point = ((uint64_t)ivt[2 * 0x15 + 1] << 4) + ivt[2 * 0x15];
	if (entry_point >= HV_SIZE) {   /* not in the 4 KiB-page region */
		kprintf("[hv] int 15h points at 0x%llx: no E820 trap\n",
			(unsigned long long)entry_point);
		return;
	}
	hv_nested_trap_page(entry_point);
	kprintf("[hv] E820 trap: int 15h's entry point 0x%llx is "
		"not executable for the guest\n",
		(unsigned long long)entry_point);
}

/* The BIOS's IRET, done for it: IP, CS, FLAGS from the real-mode stack.
 * CF carries the result; IF and the rest come back as the caller had them. */
static void emulate_iret(int carry)
{
	uint64_t ss = hv_guest_get(HV_SS_BASE);
	uint16_t sp = (uint16_t)hv_guest_get(HV_RSP);
	const volatile uint16_t *frame = guest_phys(ss + sp);
	uint16_t ip = frame[0], cs = frame[1], flags = frame[2];
	uint64_t rflags = hv_guest_get(HV_RFLAGS);

	flags = carry ? (flags | RFLAGS_CF) : (flags & ~RFLAGS_CF);
	hv_guest_set(HV_RSP, (uint16_t)(sp + 6));
	hv_guest_set(HV_RIP, ip);
	hv_guest_set_cs(cs);
	hv_guest_set(HV_RFLAGS, (rflags & ~0xFFFFULL) | flags | 0x2);
}

/* int 15h, E820h: entry EBX of guest_e820[] to ES:DI, at most ECX bytes. */
static void answer_e820(struct guest_regs *regs)
{
	uint32_t index = (uint32_t)regs->rbx, size = (uint32_t)regs->rcx;
	uint8_t *buffer = guest_phys(hv_guest_get(HV_ES_BASE) +
				     (uint16_t)regs->rdi);

	if (index >= guest_e820_count || size < E820_ENTRY_BASIC) {
		emulate_iret(1);                /* CF: no such entry */
		return;
	}
	size = size >= E820_ENTRY_ACPI ? E820_ENTRY_ACPI : E820_ENTRY_BASIC;
	memcpy(buffer, &guest_e820[index], size);
	regs->rax = SMAP;
	regs->rcx = size;
	regs->rbx = index + 1 < guest_e820_count ? index + 1 : 0;
	emulate_iret(0);
}

int e820_trap_fetch(uint64_t gpa, struct guest_regs *regs)
{
	int trapped = (gpa >> 12) == (entry_point >> 12);

	if (!entry_point)
		return 0;
	if (hv_nested_view() == VIEW_INSIDE) {  /* left the page */
		hv_nested_switch(VIEW_OUTSIDE);
		return 1;
	}
	if (!trapped)
		return 0;
	if (guest_linear_rip() == entry_point &&
	    (uint32_t)regs->rax == 0xE820 && (uint32_t)regs->rdx == SMAP &&
	    !(hv_guest_get(HV_CR0) & CR0_PE)) {
		answer_e820(regs);
		return 1;
	}
	hv_nested_switch(VIEW_INSIDE);          /* other BIOS code there */
	return 1;
}
