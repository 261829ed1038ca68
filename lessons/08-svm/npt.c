/**
 * @file npt.c
 * @brief Build VM1's nested page tables and walk them in software.
 * @ingroup lesson08
 *
 * The same shape as lesson 06's ept.c: one PML4, PDPT, PD and PT (struct
 * npt), enough for a VM's 64 KiB at guest-physical 0; VM1's are static
 * here, lesson 11 keeps one struct npt per VM. The entries are lesson 03's PTE_*
 * bits, because nested page tables are ordinary long-mode page tables
 * (AMD64 APM Vol. 2, 15.25 "Nested Paging"), walked in the paging
 * mode the host had at VMRUN.
 */
#include "kprintf.h"
#include "npt.h"
#include "paging.h"

static struct npt vm1_npt;         /* npt_init()'s: lesson 08's one VM */

/** Every nested entry: present, writable, and user (15.25: nested walks
 * are user accesses, so US on every level, or every guest access faults). */
#define NPT_RWX (PTE_P | PTE_RW | PTE_US)

uint64_t npt_build(struct npt *npt, void *ram, size_t size)
{
	npt->pml4[0] = virt_to_phys(npt->pdpt) | NPT_RWX;
	npt->pdpt[0] = virt_to_phys(npt->pd) | NPT_RWX;
	npt->pd[0] = virt_to_phys(npt->pt) | NPT_RWX;
	for (size_t i = 0; i < size / PAGE_SIZE; i++)
		npt->pt[i] = virt_to_phys((uint8_t *)ram + i * PAGE_SIZE) |
			     NPT_RWX;
	kprintf("npt: guest-physical 0x0-0x%llx -> host-physical 0x%llx "
		"(%llu pages); everything else unmapped\n",
		(unsigned long long)size - 1,
		(unsigned long long)virt_to_phys(ram),
		(unsigned long long)size / PAGE_SIZE);
	/* 15.25: N_CR3 has CR3's format; PCD = PWT = 0: write-back. */
	return virt_to_phys(npt->pml4);
}

void *npt_walk(const struct npt *npt, uint64_t gpa)
{
	uint64_t entry = 0, table = virt_to_phys(npt->pml4);

	for (int level = 0; level < 4; level++) {
		unsigned int index = (gpa >> (39 - 9 * level)) & (PT_ENTRIES - 1);

		entry = ((uint64_t *)phys_to_virt(table))[index];
		if (!(entry & PTE_P))
			return NULL;
		table = entry & PTE_ADDR;
	}
	return phys_to_virt((entry & PTE_ADDR) | (gpa & (PAGE_SIZE - 1)));
}

uint64_t npt_init(void *ram, size_t size)
{
	return npt_build(&vm1_npt, ram, size);
}

void *npt_translate(uint64_t gpa)
{
	return npt_walk(&vm1_npt, gpa);
}
