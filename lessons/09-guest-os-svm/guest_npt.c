/**
 * @file guest_npt.c
 * @brief Nested page tables for a real guest: lesson 07's EPT, on AMD.
 * @ingroup lesson09
 *
 * Nested paging (AMD64 APM Vol. 2, 15.25) translates guest-physical to
 * host-physical with tables in the format of ordinary long-mode paging
 * (lesson 03's): N_CR3 names the PML4, every entry needs P, and U/S too,
 * because the CPU walks them as user accesses (15.25.5). As lesson 07's
 * guest_ept.c: guest-physical X is host-physical X for the first 4 GiB
 * (the first 2 MiB in 4 KiB pages, the rest in 2 MiB pages), except the
 * hidden 2 MiB, which is not present; write-back where the E820 map says
 * RAM, uncacheable (PCD, PWT) elsewhere. And two views for the E820 trap:
 * "outside", where only the trapped page is NX, and "inside", where every
 * page but it is. NX in a nested entry needs EFER.NXE in the host (the
 * bit is reserved otherwise, 15.25.5), which main.c sets.
 */
#include "hv.h"
#include "kprintf.h"
#include "paging.h"
#include "svm_guest.h"

#define NPT_TABLE (PTE_P | PTE_RW | PTE_US)   /**< a non-leaf entry */
#define NPT_UC (PTE_PCD | PTE_PWT)            /**< leaf: uncacheable */

/** One view: a PML4, one PDPT, four PDs (4 GiB), the first 2 MiB's PT. */
struct npt_view {
	uint64_t pml4[PT_ENTRIES];
	uint64_t pdpt[PT_ENTRIES];
	uint64_t pd[4][PT_ENTRIES];
	uint64_t pt0[PT_ENTRIES];
};

static struct npt_view views[2] __attribute__((aligned(PAGE_SIZE)));
static unsigned int current_view;

/* Build view @p t: every leaf NX or not as @p nx says (PTE_NX or 0). */
static void build_view(struct npt_view *t, uint64_t nx)
{
	t->pml4[0] = virt_to_phys(t->pdpt) | NPT_TABLE;
	for (int i = 0; i < 4; i++) {
		t->pdpt[i] = virt_to_phys(t->pd[i]) | NPT_TABLE;
		for (int j = 0; j < PT_ENTRIES; j++) {
			uint64_t gpa = (uint64_t)(i * PT_ENTRIES + j) *
				       LARGE_PAGE_SIZE;

			if (gpa == hidden_base)
				continue;       /* not present: hidden */
			t->pd[i][j] = gpa | NPT_TABLE | PTE_PS | nx |
				      (e820_is_ram(gpa, LARGE_PAGE_SIZE) ? 0 :
				       NPT_UC);
		}
	}
	t->pd[0][0] = virt_to_phys(t->pt0) | NPT_TABLE;
	for (int k = 0; k < PT_ENTRIES; k++) {
		uint64_t gpa = (uint64_t)k * PAGE_SIZE;

		t->pt0[k] = gpa | NPT_TABLE | nx |
			    (e820_is_ram(gpa, PAGE_SIZE) ? 0 : NPT_UC);
	}
}

uint64_t guest_npt_init(void)
{
	build_view(&views[VIEW_OUTSIDE], 0);
	build_view(&views[VIEW_INSIDE], PTE_NX);
	kprintf("[hv] NPT: guest-physical 0-4 GiB 1:1, except 0x%llx-0x%llx "
		"(not present); E820 for the guest: %u ranges\n",
		(unsigned long long)hidden_base,
		(unsigned long long)(hidden_base + HV_SIZE - 1),
		guest_e820_count);
	/* 15.25: N_CR3 has CR3's format; PCD = PWT = 0: write-back walks. */
	return virt_to_phys(views[VIEW_OUTSIDE].pml4);
}

/** hv.h: the trapped page is NX outside, executable inside. */
void hv_nested_trap_page(uint64_t gpa)
{
	unsigned int k = (gpa >> 12) & (PT_ENTRIES - 1);

	views[VIEW_OUTSIDE].pt0[k] |= PTE_NX;
	views[VIEW_INSIDE].pt0[k] &= ~PTE_NX;
	/* The guest's TLB entries (ASID 1) may hold the old permission:
	 * flush them at the next VMRUN (Table B-1, TLB_CONTROL). */
	vmcb_write_n(&guest_vmcb, VMCB_TLB_CONTROL, 1, TLB_CONTROL_FLUSH_ASID);
}

/** hv.h: the view in use. */
unsigned int hv_nested_view(void)
{
	return current_view;
}

/** hv.h: another N_CR3, and ASID 1's TLB entries flushed. */
void hv_nested_switch(unsigned int view)
{
	current_view = view;
	vmcb_write(&guest_vmcb, VMCB_NESTED_CR3,
		   virt_to_phys(views[view].pml4));        /* 15.25 */
	vmcb_write_n(&guest_vmcb, VMCB_TLB_CONTROL, 1, TLB_CONTROL_FLUSH_ASID);
}
