/**
 * @file paging.c
 * @brief Walk our own page tables in software, as the MMU does in hardware.
 * @ingroup lesson03
 *
 * A 48-bit virtual address is cut into four 9-bit table indexes and a 12-bit
 * offset (SDM Vol. 3A, 4.5 "4-Level Paging"):
 *
 *     63    48 47   39 38   30 29   21 20   12 11        0
 *    | sign   | PML4  | PDPT  |  PD   |  PT   |  offset   |
 *
 * CR3 holds the physical address of the PML4. Each entry holds the physical
 * address of the next table, or, with PS set in a PDPT or PD entry, of a
 * 1 GiB or 2 MiB page. Tables are physical memory, so to read them we go
 * through the higher half: phys_to_virt().
 */
#include "kprintf.h"
#include "param.h"
#include "paging.h"
#include "power.h"
#include "x86.h"

/** Patchable: the byte the alias demonstration writes. */
volatile uint8_t param_alias_value KIT_PARAM = 0x5A;

static volatile uint8_t alias_byte;     /* lives in the higher-half .bss */

static const char *const level_names[4] = { "pml4", "pdpt", "pd", "pt" };

/** A canonical address has bits 63:47 all equal (sign extension of 47). */
static int is_canonical(uint64_t va)
{
	uint64_t top = va >> 47;

	return top == 0 || top == 0x1FFFF;
}

/** Print one line: every entry the walk reads, then where it ends. */
static void walk(uint64_t va, const char *what)
{
	uint64_t table = read_cr3() & PTE_ADDR;

	kprintf("walk: va=0x%016llx (%s)", (unsigned long long)va, what);
	if (!is_canonical(va)) {
		kprintf(" -> not canonical\n");
		return;
	}
	/* Exercise: walk the four levels from CR3, printing each entry, and end
	 * with the physical address or "not mapped" (SDM Vol. 3A, 4.5). */
	/* BEGIN SOLUTION: page-walk */
	for (int level = 0; level < 4; level++) {
		unsigned int shift = 39 - 9 * level;
		unsigned int index = (va >> shift) & (PT_ENTRIES - 1);
		uint64_t entry = ((uint64_t *)phys_to_virt(table))[index];

		kprintf(" %s[%u]=0x%llx", level_names[level], index,
			(unsigned long long)entry);
		if (!(entry & PTE_P)) {
			kprintf(" -> not mapped\n");
			return;
		}
		if (level == 3 || (level > 0 && (entry & PTE_PS))) {
			/* a leaf: the frame's address plus the offset below it */
			uint64_t offset_mask = (1ULL << shift) - 1;
			uint64_t pa = (entry & PTE_ADDR & ~offset_mask) |
				      (va & offset_mask);

			kprintf(" -> pa=0x%016llx (%s page)\n",
				(unsigned long long)pa,
				shift == 12 ? "4 KiB" : shift == 21 ? "2 MiB"
							    : "1 GiB");
			return;
		}
		table = entry & PTE_ADDR;
	}
	/* END SOLUTION */
}

extern void kernel_main(void);

/** Walk a handful of addresses: code, stack, VGA, a large page, holes. */
void paging_show_walks(void)
{
	int on_stack = 0;

	walk((uint64_t)(uintptr_t)kernel_main, "kernel code");
	walk((uint64_t)(uintptr_t)&on_stack, "kernel stack");
	walk((uint64_t)(uintptr_t)phys_to_virt(0xB8000), "VGA, higher half");
	walk(0xB8000, "VGA, identity");
	walk(0x400000, "identity, inside a 2 MiB page");
	walk(0x40000000, "1 GiB: beyond the map");
	walk(0x0000800000000000ULL, "not canonical");
}

/** Show one physical byte through both of its virtual addresses. */
void paging_show_alias(void)
{
	volatile uint8_t *low = (volatile uint8_t *)(uintptr_t)
		virt_to_phys(&alias_byte);      /* identity: va == pa */
	uint8_t seen;

	*low = param_alias_value;
	seen = alias_byte;
	kprintf("alias: wrote 0x%02x at 0x%016llx (identity), read 0x%02x at "
		"0x%016llx (higher half): one byte at physical 0x%llx\n",
		param_alias_value, (unsigned long long)(uintptr_t)low, seen,
		(unsigned long long)(uintptr_t)&alias_byte,
		(unsigned long long)virt_to_phys(&alias_byte));
}
