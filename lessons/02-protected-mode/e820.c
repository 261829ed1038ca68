/**
 * @file e820.c
 * @brief Print the BIOS memory map that e820.asm collected.
 * @ingroup lesson02
 */
#include "boot.h"
#include "kprintf.h"

/** The name of an E820 range type, or "unknown". */
static const char *e820_type_name(uint32_t type)
{
	static const char *const names[] = {
		[E820_USABLE] = "usable",
		[E820_RESERVED] = "reserved",
		[E820_ACPI] = "ACPI reclaimable",
		[E820_NVS] = "ACPI NVS",
		[E820_UNUSABLE] = "unusable",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}

/** Print every range (base, length, type by name) and the usable total. */
void e820_print(void)
{
	uint64_t usable = 0;

	kprintf("e820: %u entries from the BIOS\n", e820_count);
	for (unsigned int i = 0; i < e820_count; i++) {
		const struct e820_entry *e = &e820_map[i];

		kprintf("e820[%u]: base=0x%016llx length=0x%016llx type=%u (%s)\n",
			i, (unsigned long long)e->base,
			(unsigned long long)e->length, e->type,
			e820_type_name(e->type));
		/* Exercise: count the bytes of every usable range. */
		/* BEGIN SOLUTION: e820-usable-total */
		if (e->type == E820_USABLE)
			usable += e->length;
		/* END SOLUTION */
	}
	/* 64-bit shifts are fine without libgcc; 64-bit division is not. */
	kprintf("e820: usable total: 0x%llx bytes (%llu KiB)\n",
		(unsigned long long)usable, (unsigned long long)(usable >> 10));
}
