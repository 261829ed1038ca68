/**
 * @file acpi.c
 * @brief Find the ACPI root pointer and the tables it leads to.
 * @ingroup lesson04
 *
 * On a BIOS (not UEFI) machine the firmware leaves the Root System
 * Description Pointer on a 16-byte boundary in one of two places: the
 * first KiB of the Extended BIOS Data Area, whose segment is the word at
 * 0x40E, or the BIOS read-only area 0xE0000-0xFFFFF (ACPI 5.2.5.1). It
 * points to the RSDT (32-bit table addresses), or from ACPI 2.0 on also to
 * the XSDT (64-bit addresses). Each table ends in a checksum: all its bytes
 * add up to 0 modulo 256, which tells a real table from stray bytes that
 * happen to spell a signature.
 */
#include "acpi.h"
#include "kprintf.h"
#include "string.h"
#include "vmm.h"

/** @{ */
#define BDA_EBDA_SEGMENT 0x40E /**< BIOS data area: the EBDA's segment */
#define EBDA_SEARCH_SIZE 1024  /**< the RSDP is in its first KiB */
#define BIOS_AREA_START 0xE0000 /**< BIOS read-only area: search from */
#define BIOS_AREA_END 0x100000  /**< ... up to the first MiB */
#define RSDP_V1_SIZE 20        /**< the ACPI 1.0 part the checksum covers */
/** @} */

static const struct acpi_table_header *root;    /**< the RSDT or XSDT */
static unsigned int root_entry_size;            /**< 4 (RSDT) or 8 (XSDT) */

/** The sum of @p n bytes modulo 256: 0 for a valid table. */
static uint8_t checksum(const void *p, uint32_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (n--)
		sum += *b++;
	return sum;
}

/** A valid RSDP in [start, start + size) of physical memory, or NULL. */
static const struct acpi_rsdp *rsdp_scan(uint64_t start, uint64_t size)
{
	for (uint64_t pa = start; pa < start + size; pa += 16) {
		const struct acpi_rsdp *r = phys_to_virt(pa);

		if (memcmp(r->signature, "RSD PTR ", 8) == 0 &&
		    checksum(r, RSDP_V1_SIZE) == 0 &&
		    (r->revision < 2 || checksum(r, r->length) == 0))
			return r;
	}
	return NULL;
}

/** Map a table: its header first, to learn its length, then all of it. */
static const struct acpi_table_header *map_table(uint64_t pa)
{
	const struct acpi_table_header *h =
		vmm_map_phys(pa, sizeof(*h), PTE_RW);

	return vmm_map_phys(pa, h->length, PTE_RW);
}

/** The physical address of the root table's entry @p i. */
static uint64_t root_entry(unsigned int i)
{
	const uint8_t *p = (const uint8_t *)(root + 1) + i * root_entry_size;
	uint64_t pa = 0;

	memcpy(&pa, p, root_entry_size);        /* may be unaligned */
	return pa;
}

/** How many tables the root table lists. */
static unsigned int root_entries(void)
{
	return (root->length - sizeof(*root)) / root_entry_size;
}

const struct acpi_table_header *acpi_find_table(const char *sig,
						uint64_t *pa)
{
	for (unsigned int i = 0; root && i < root_entries(); i++) {
		const struct acpi_table_header *t = map_table(root_entry(i));

		if (memcmp(t->signature, sig, 4) == 0 &&
		    checksum(t, t->length) == 0) {
			*pa = root_entry(i);
			return t;
		}
	}
	return NULL;
}

/** Print a fixed-size, not NUL-terminated string such as a signature. */
static void print_chars(const char *s, unsigned int n)
{
	while (n--)
		kputc(*s++);
}

int acpi_init(void)
{
	uint64_t ebda = (uint64_t)*(volatile uint16_t *)
				phys_to_virt(BDA_EBDA_SEGMENT) << 4;
	const struct acpi_rsdp *rsdp = NULL;
	const char *where = "EBDA";
	uint64_t root_pa;
	unsigned int n;

	if (ebda)
		rsdp = rsdp_scan(ebda, EBDA_SEARCH_SIZE);
	if (!rsdp) {
		rsdp = rsdp_scan(BIOS_AREA_START,
				 BIOS_AREA_END - BIOS_AREA_START);
		where = "BIOS area";
	}
	if (!rsdp) {
		kprintf("acpi: no RSDP in the EBDA (0x%llx) or at 0xe0000-0xfffff\n",
			(unsigned long long)ebda);
		return -1;
	}
	kprintf("acpi: RSDP at 0x%llx (%s), revision %u, OEM \"",
		(unsigned long long)virt_to_phys(rsdp), where, rsdp->revision);
	print_chars(rsdp->oem_id, sizeof(rsdp->oem_id));
	kprintf("\"\n");

	/* ACPI 2.0+ firmware may put tables above 4 GiB: prefer the XSDT. */
	if (rsdp->revision >= 2 && rsdp->xsdt_address) {
		root_pa = rsdp->xsdt_address;
		root_entry_size = 8;
	} else {
		root_pa = rsdp->rsdt_address;
		root_entry_size = 4;
	}
	root = map_table(root_pa);
	if (checksum(root, root->length) != 0) {
		kprintf("acpi: root table at 0x%llx has a bad checksum\n",
			(unsigned long long)root_pa);
		root = NULL;
		return -1;
	}
	n = root_entries();
	kprintf("acpi: %s at 0x%llx, %u tables:", root_entry_size == 8 ? "XSDT"
		: "RSDT", (unsigned long long)root_pa, n);
	for (unsigned int i = 0; i < n; i++) {
		kputc(' ');
		print_chars(map_table(root_entry(i))->signature, 4);
	}
	kprintf("\n");
	return 0;
}
