/**
 * @file guest_e820.c
 * @brief The memory map the guest reads: the BIOS's, without the hypervisor.
 * @ingroup lesson07
 *
 * Lesson 02's entry read the BIOS's E820 map (e820.asm) before anything
 * else ran; relocate.c took the hidden range from it. Here the guest's
 * copy is made (e820_trap.c answers int 15h, AX=E820h from it), and the
 * map answers the nested page tables' question: which memory is RAM.
 */
#include "hv.h"

struct e820_entry guest_e820[2 * 32];   /* each range may split in two */
unsigned int guest_e820_count;

/*
 * The guest's E820 map (the exercise): every range of the BIOS's map
 * (e820_map, e820_count) into guest_e820[], in order, with
 * [hidden_base, hidden_base + HV_SIZE) cut out of it: a range that
 * overlaps it keeps its part below and its part above, if any.
 */
void guest_e820_init(void)
{
	guest_e820_count = 0;
	/* BEGIN SOLUTION: e820-filter */
	uint64_t lo = hidden_base, hi = hidden_base + HV_SIZE;

	for (unsigned int i = 0; i < e820_count; i++) {
		struct e820_entry e = e820_map[i];
		uint64_t end = e.base + e.length;

		if (end <= lo || e.base >= hi) {
			guest_e820[guest_e820_count++] = e;
			continue;
		}
		if (e.base < lo) {              /* the part below */
			guest_e820[guest_e820_count] = e;
			guest_e820[guest_e820_count++].length = lo - e.base;
		}
		if (end > hi) {                 /* the part above */
			guest_e820[guest_e820_count] = e;
			guest_e820[guest_e820_count].base = hi;
			guest_e820[guest_e820_count++].length = end - hi;
		}
	}
	/* END SOLUTION */
}

int e820_is_ram(uint64_t base, uint64_t size)
{
	for (unsigned int i = 0; i < e820_count; i++) {
		const struct e820_entry *e = &e820_map[i];
		int ram = e->type == E820_USABLE || e->type == E820_ACPI ||
			  e->type == E820_NVS;

		if (ram && e->base <= base && base + size <= e->base + e->length)
			return 1;
	}
	return 0;
}
