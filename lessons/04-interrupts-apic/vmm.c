/**
 * @file vmm.c
 * @brief Create page-table entries on demand, from the frame allocator.
 * @ingroup lesson04
 *
 * The walk is lesson 03's (paging.c), with one difference: where an entry is
 * not present we allocate a zeroed table from the frame allocator
 * (frames.c) and point the entry at it. Every frame is physical memory in
 * the first GiB, which the higher half maps, so phys_to_virt() lets us
 * write to it.
 */
#include "frames.h"
#include "kprintf.h"
#include "power.h"
#include "string.h"
#include "vmm.h"
#include "x86.h"

/** @{ */
#define FIRST_GIB 0x40000000ULL /**< what lesson 03 maps at KERNEL_VMA */
/** @} */

uint64_t vmm_alloc_page(void)
{
	uint64_t page = frames_alloc(0);

	if (!page)
		panic("vmm: no free physical page left");
	memset(phys_to_virt(page), 0, PAGE_SIZE);
	return page;
}

/** The index of @p va in the table at @p level (0 = PML4 ... 3 = PT). */
static unsigned int table_index(uint64_t va, int level)
{
	return (va >> (39 - 9 * level)) & (PT_ENTRIES - 1);
}

/**
 * The page-table entry that maps @p va as a 4 KiB page, allocating missing
 * tables when @p create is set. NULL if a table is missing (and !create) or
 * a large page covers @p va.
 */
static uint64_t *walk(uint64_t va, int create)
{
	uint64_t table = read_cr3() & PTE_ADDR;

	for (int level = 0; level < 3; level++) {
		uint64_t *entry = (uint64_t *)phys_to_virt(table) +
				  table_index(va, level);

		if (!(*entry & PTE_P)) {
			if (!create)
				return NULL;
			/* Intermediate entries grant everything; the leaf
			 * decides what the page really allows. */
			*entry = vmm_alloc_page() | PTE_P | PTE_RW;
		} else if (*entry & PTE_PS) {
			return NULL;
		}
		table = *entry & PTE_ADDR;
	}
	return (uint64_t *)phys_to_virt(table) + table_index(va, 3);
}

void vmm_map(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *pte;

	if (!vmm_is_canonical(va))
		panic("vmm: 0x%llx is not a canonical address",
		      (unsigned long long)va);
	pte = walk(va, 1);
	if (!pte)
		panic("vmm: 0x%llx lies in a large page", (unsigned long long)va);
	*pte = (pa & PTE_ADDR) | flags | PTE_P;
	/* The TLB may hold the old translation (or the old flags): drop it. */
	invlpg((void *)(uintptr_t)va);
}

void vmm_unmap(uint64_t va)
{
	uint64_t *pte = walk(va, 0);

	if (pte) {
		*pte = 0;
		invlpg((void *)(uintptr_t)va);
	}
}

int vmm_is_mapped(uint64_t va)
{
	uint64_t table = read_cr3() & PTE_ADDR;

	if (!vmm_is_canonical(va))
		return 0;
	for (int level = 0; level < 4; level++) {
		uint64_t entry = ((uint64_t *)phys_to_virt(table))
					 [table_index(va, level)];

		if (!(entry & PTE_P))
			return 0;
		if (level == 3 || (level > 0 && (entry & PTE_PS)))
			return 1;
		table = entry & PTE_ADDR;
	}
	return 0;
}

void *vmm_map_phys(uint64_t pa, uint64_t size, uint64_t flags)
{
	if (pa + size <= FIRST_GIB)
		return phys_to_virt(pa);
	/* Identity-map: the virtual address is the physical one, which lies
	 * in the lower half, where lesson 03 only mapped the first GiB. */
	for (uint64_t page = pa & ~(uint64_t)(PAGE_SIZE - 1); page < pa + size;
	     page += PAGE_SIZE)
		vmm_map(page, page, flags);
	return (void *)(uintptr_t)pa;
}
