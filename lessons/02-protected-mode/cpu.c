/**
 * @file cpu.c
 * @brief Print CR0, bit by bit, and the segment registers.
 * @ingroup lesson02
 */
#include "boot.h"
#include "kprintf.h"
#include "x86.h"

/** The names of CR0's architectural bits, indexed by bit number. */
static const char *const cr0_bits[32] = {
	[0] = "PE", [1] = "MP", [2] = "EM", [3] = "TS", [4] = "ET", [5] = "NE",
	[16] = "WP", [18] = "AM", [29] = "NW", [30] = "CD", [31] = "PG",
};

/** Print CR0 with the names of its set bits, and every selector. */
void cpu_print_state(void)
{
	unsigned long cr0 = read_cr0();

	kprintf("cr0=0x%08lx", cr0);
	for (int bit = 0; bit < 32; bit++)
		if ((cr0 >> bit) & 1)
			kprintf(" %s", cr0_bits[bit] ? cr0_bits[bit] : "?");
	kprintf("\n");
	kprintf("segments: cs=0x%04x ds=0x%04x es=0x%04x fs=0x%04x gs=0x%04x "
		"ss=0x%04x\n", read_cs(), read_ds(), read_es(), read_fs(),
		read_gs(), read_ss());
}
