/**
 * @file ept.c
 * @brief Build VM1's extended page tables and walk them in software.
 * @ingroup lesson06
 *
 * The layout mirrors 4-level paging (lesson 03): PML4, PDPT, PD and PT,
 * each indexed by 9 bits of the guest-physical address. One table of each
 * is enough for a VM's 64 KiB at guest-physical 0.
 */
#include "ept.h"
#include "kprintf.h"
#include "paging.h"
#include "vmx.h"

/* VM1's tables (lesson 10 gives every VM a struct ept of its own). */
static struct ept vm1_ept;

uint64_t ept_build(struct ept *ept, void *ram, size_t size)
{
	/* What these tables use: 4-level walks, write-back (SDM A.10). */
	vmx_require_ept(VMX_EPT_CAP_WALK_4 | VMX_EPT_CAP_WB);
	/* Non-leaf entries: the next table's address and RWX (28.2.2). */
	ept->pml4[0] = virt_to_phys(ept->pdpt) | EPT_RWX;
	ept->pdpt[0] = virt_to_phys(ept->pd) | EPT_RWX;
	ept->pd[0] = virt_to_phys(ept->pt) | EPT_RWX;
	/* Leaves: a host frame, RWX, and the memory type to use for it. */
	for (size_t i = 0; i < size / PAGE_SIZE; i++)
		ept->pt[i] = virt_to_phys((uint8_t *)ram + i * PAGE_SIZE) |
			     EPT_RWX | EPT_MT_WB;
	kprintf("ept: guest-physical 0x0-0x%llx -> host-physical 0x%llx "
		"(%llu pages); everything else unmapped\n",
		(unsigned long long)size - 1,
		(unsigned long long)virt_to_phys(ram),
		(unsigned long long)size / PAGE_SIZE);
	/* SDM 24.6.11 "Extended-Page-Table Pointer (EPTP)". */
	return virt_to_phys(ept->pml4) | EPTP_WALK_4 | EPTP_WB;
}

void *ept_walk(const struct ept *ept, uint64_t gpa)
{
	uint64_t entry = 0, table = virt_to_phys(ept->pml4);

	for (int level = 0; level < 4; level++) {
		unsigned int index = (gpa >> (39 - 9 * level)) & (PT_ENTRIES - 1);

		entry = ((uint64_t *)phys_to_virt(table))[index];
		if (!(entry & EPT_RWX))
			return NULL;    /* not present: no permission at all */
		table = entry & PTE_ADDR;
	}
	return phys_to_virt((entry & PTE_ADDR) | (gpa & (PAGE_SIZE - 1)));
}

uint64_t ept_init(void *ram, size_t size)
{
	return ept_build(&vm1_ept, ram, size);
}

void *ept_translate(uint64_t gpa)
{
	return ept_walk(&vm1_ept, gpa);
}
