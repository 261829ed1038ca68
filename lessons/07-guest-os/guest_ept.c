/**
 * @file guest_ept.c
 * @brief EPT for a real guest: all of guest-physical memory but the hidden
 * range, 1:1, with memory types from the E820 map.
 * @ingroup lesson07
 *
 * Lesson 06 gave VM1 64 KiB and nothing else. A guest that boots through
 * its BIOS needs everything a native boot sees: RAM, the BIOS ROM, VGA
 * memory, the LAPIC and IOAPIC, the ACPI tables. So guest-physical address
 * X is host-physical X for the first 4 GiB, except the 2 MiB the
 * hypervisor took (relocate.c), which EPT does not map at all: a guest
 * that touches them exits with an EPT violation (SDM Vol. 3C, 29.3.3.2).
 * The first 2 MiB use 4 KiB pages, so that the E820 trap (e820_trap.c) can
 * take execute permission from one page; the rest uses 2 MiB pages.
 * The trap needs a second view of the same memory (SDM 29.3: the EPTP
 * names the tables in use, and the hypervisor may switch it at any exit):
 * "outside", where every page but the trapped one is executable, and
 * "inside", where only the trapped page is. The guest runs in the view
 * where its code is executable, and each crossing is one exit.
 * Memory types (SDM 29.3.7): write-back where the E820 map says RAM
 * (usable, ACPI, NVS), uncacheable everywhere else (VGA, ROM, MMIO).
 */
#include "../06-vmcall/ept.h" /* lesson 06: EPT entry bits */
#include "hv.h"
#include "vmx_guest.h"
#include "kprintf.h"
#include "paging.h"
#include "vmx.h"

#define EPT_MT_UC (0ULL << 3)        /**< leaf: memory type uncacheable */
#define EPT_LARGE BIT(7)             /**< PD entry: a 2 MiB leaf */

/** One view: a PML4, one PDPT, four PDs (4 GiB), the first 2 MiB's PT. */
struct ept_view {
	uint64_t pml4[PT_ENTRIES];
	uint64_t pdpt[PT_ENTRIES];
	uint64_t pd[4][PT_ENTRIES];
	uint64_t pt0[PT_ENTRIES];
};

static struct ept_view views[2] __attribute__((aligned(PAGE_SIZE)));
static uint64_t eptp[2];
static unsigned int current_view;

/* Build view @p t: every leaf executable or not as @p exec says
 * (EPT_EXEC or 0). */
static void build_view(struct ept_view *t, uint64_t exec)
{
	t->pml4[0] = virt_to_phys(t->pdpt) | EPT_RWX;  /* non-leaf: RWX */
	for (int i = 0; i < 4; i++) {
		t->pdpt[i] = virt_to_phys(t->pd[i]) | EPT_RWX;
		for (int j = 0; j < PT_ENTRIES; j++) {
			uint64_t gpa = (uint64_t)(i * PT_ENTRIES + j) *
				       LARGE_PAGE_SIZE;

			if (gpa == hidden_base)
				continue;       /* not mapped: hidden */
			t->pd[i][j] = gpa | EPT_READ | EPT_WRITE | exec |
				      EPT_LARGE |
				      (e820_is_ram(gpa, LARGE_PAGE_SIZE) ? EPT_MT_WB : EPT_MT_UC);
		}
	}
	t->pd[0][0] = virt_to_phys(t->pt0) | EPT_RWX;
	for (int k = 0; k < PT_ENTRIES; k++) {
		uint64_t gpa = (uint64_t)k * PAGE_SIZE;

		t->pt0[k] = gpa | EPT_READ | EPT_WRITE | exec |
			    (e820_is_ram(gpa, PAGE_SIZE) ? EPT_MT_WB : EPT_MT_UC);
	}
}

uint64_t guest_ept_init(void)
{
	vmx_require_ept(VMX_EPT_CAP_WALK_4 | VMX_EPT_CAP_UC | VMX_EPT_CAP_WB |
			VMX_EPT_CAP_2MB | VMX_EPT_CAP_INVEPT |
			VMX_EPT_CAP_INVEPT_SINGLE);        /* SDM A.10 */
	build_view(&views[VIEW_OUTSIDE], EPT_EXEC);
	build_view(&views[VIEW_INSIDE], 0);
	kprintf("[hv] EPT: guest-physical 0-4 GiB 1:1, except 0x%llx-0x%llx "
		"(not mapped); E820 for the guest: %u ranges\n",
		(unsigned long long)hidden_base,
		(unsigned long long)(hidden_base + HV_SIZE - 1),
		guest_e820_count);
	/* SDM 24.6.11: write-back walks, 4 levels. */
	for (int v = 0; v < 2; v++)
		eptp[v] = virt_to_phys(views[v].pml4) | EPTP_WALK_4 | EPTP_WB;
	return eptp[VIEW_OUTSIDE];
}

/** hv.h: the trapped page loses X outside and keeps it inside. */
void hv_nested_trap_page(uint64_t gpa)
{
	unsigned int k = (gpa >> 12) & (PT_ENTRIES - 1);

	views[VIEW_OUTSIDE].pt0[k] &= ~EPT_EXEC;
	views[VIEW_INSIDE].pt0[k] |= EPT_EXEC;
	/* Fewer permissions must be flushed from the CPU's EPT caches
	 * (SDM 29.4.3.3). */
	invept_single(eptp[VIEW_OUTSIDE]);
}

/** hv.h: the view in use. */
unsigned int hv_nested_view(void)
{
	return current_view;
}

/** hv.h: another EPT pointer, and its cached translations dropped. */
void hv_nested_switch(unsigned int view)
{
	current_view = view;
	vmcs_write(EPT_POINTER, eptp[view]);   /* SDM 24.6.11 */
	invept_single(eptp[view]);
}
