/**
 * @file gdt.c
 * @brief Decode the GDT the CPU is using, descriptor by descriptor.
 * @ingroup lesson02
 *
 * SGDT tells us where the table is (the GDTR), so we read the descriptors the
 * processor really uses rather than trusting our own source code. Each 8-byte
 * descriptor scatters its base and limit over several fields, for backward
 * compatibility with the 80286 (SDM Vol. 3A, 3.4.5, "Segment Descriptors").
 */
#include "boot.h"
#include "kprintf.h"
#include "x86.h"

/** A segment descriptor, field by field. */
struct seg_desc {
	uint32_t base;  /**< linear address where the segment starts */
	uint32_t limit; /**< 20-bit limit, in bytes or in 4 KiB units (g) */
	unsigned type;  /**< 4 type bits: accessed, R/W, C/E, code */
	unsigned s;     /**< 1 = code or data, 0 = system (TSS, gates) */
	unsigned dpl;   /**< descriptor privilege level 0..3 */
	unsigned p;     /**< present */
	unsigned l;     /**< 64-bit code segment (long mode) */
	unsigned db;    /**< default operand size: 1 = 32-bit */
	unsigned g;     /**< granularity: 1 = limit counts 4 KiB pages */
};

/** Gather a raw 8-byte descriptor's scattered fields. */
static struct seg_desc desc_decode(uint64_t raw)
{
	struct seg_desc d;

	/* Exercise: fill in every field of d from raw (SDM Vol. 3A, 3.4.5). */
	/* BEGIN SOLUTION: gdt-decode */
	d.limit = (uint32_t)(raw & 0xFFFF) | (uint32_t)((raw >> 48) & 0xF) << 16;
	d.base = (uint32_t)((raw >> 16) & 0xFFFFFF) |
		 (uint32_t)((raw >> 56) & 0xFF) << 24;
	d.type = (raw >> 40) & 0xF;
	d.s = (raw >> 44) & 1;
	d.dpl = (raw >> 45) & 3;
	d.p = (raw >> 47) & 1;
	d.l = (raw >> 53) & 1;
	d.db = (raw >> 54) & 1;
	d.g = (raw >> 55) & 1;
	/* END SOLUTION */
	return d;
}

/** Code or data, and what it allows, from the S and type bits. */
static const char *desc_kind(const struct seg_desc *d)
{
	if (!d->s)
		return "system";
	if (d->type & 8)
		return (d->type & 2) ? "code, execute/read" : "code, execute-only";
	return (d->type & 2) ? "data, read/write" : "data, read-only";
}

/** Print the GDTR and every descriptor, raw and decoded. */
void gdt_print(void)
{
	struct desc_ptr gdtr;
	const uint64_t *table;
	unsigned int count;

	sgdt(&gdtr);
	table = (const uint64_t *)gdtr.base;
	count = (gdtr.limit + 1u) / 8;
	kprintf("gdt: base=0x%08lx limit=0x%04x (%u descriptors)\n",
		gdtr.base, gdtr.limit, count);
	for (unsigned int i = 0; i < count; i++) {
		struct seg_desc d = desc_decode(table[i]);

		if (table[i] == 0) {
			kprintf("gdt[%u]: sel=0x%02x raw=0x%016llx null\n", i, i * 8,
				table[i]);
			continue;
		}
		kprintf("gdt[%u]: sel=0x%02x raw=0x%016llx base=0x%08x "
			"limit=0x%05x G=%u D/B=%u L=%u P=%u DPL=%u S=%u "
			"type=0x%x (%s)\n", i, i * 8, table[i], d.base, d.limit,
			d.g, d.db, d.l, d.p, d.dpl, d.s, d.type, desc_kind(&d));
	}
}
