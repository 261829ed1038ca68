/**
 * @file vmm.h
 * @brief Map single 4 KiB pages anywhere in the 48-bit address space.
 * @ingroup lesson04
 *
 * Lesson 03's tables map the first GiB of physical memory, twice. This
 * lesson needs more: the local APIC's registers at 0xFEE00000 and the I/O
 * APIC's at 0xFEC00000 (near 4 GiB), ACPI tables that may lie above 1 GiB,
 * and a page the page-fault handler maps on demand. New page tables come
 * from the frame allocator (frames.h), one 4 KiB frame each.
 */
#ifndef LESSON04_VMM_H
#define LESSON04_VMM_H

#include <stdint.h>

#include "x86.h"         /* BIT(), which paging.h uses */
#include "paging.h"

/** Flags for device registers: writable, caching disabled (SDM 11.12.3). */
#define PTE_MMIO (PTE_RW | PTE_PCD | PTE_PWT)

/** A zeroed 4 KiB page from the frame allocator; its physical address.
 * Panics when no frame is left. */
uint64_t vmm_alloc_page(void);

/** Map the 4 KiB page at virtual @p va to physical @p pa with @p flags
 * (PTE_P is added), creating page tables on the way; replaces any earlier
 * mapping of that page. Panics if @p va is not canonical or lies in a
 * large page. */
void vmm_map(uint64_t va, uint64_t pa, uint64_t flags);

/** Remove the mapping of the 4 KiB page at @p va. */
void vmm_unmap(uint64_t va);

/** Non-zero if an access to @p va would find a present page (any size). */
int vmm_is_mapped(uint64_t va);

/** A virtual address for @p size bytes of physical memory at @p pa: in the
 * higher half for the first GiB, else identity-mapped with @p flags. */
void *vmm_map_phys(uint64_t pa, uint64_t size, uint64_t flags);

/** Non-zero if @p va is canonical: bits 63:47 all equal (SDM 3.3.7.1). */
static inline int vmm_is_canonical(uint64_t va)
{
	uint64_t top = va >> 47;

	return top == 0 || top == 0x1FFFF;
}

#endif
