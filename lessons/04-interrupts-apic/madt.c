/**
 * @file madt.c
 * @brief Read the MADT: processors, I/O APICs and ISA interrupt overrides.
 * @ingroup lesson04
 *
 * After its fixed part, the MADT is a list of variable-length entries, each
 * starting with a type byte and a length byte (ACPI 5.2.12). We keep what
 * the APIC drivers need in @ref madt and print every entry, so that the
 * output can be compared with how the emulator was configured.
 */
#include "acpi.h"
#include "kprintf.h"
#include "string.h"

struct madt_info madt;

/** Every entry starts with these two bytes. */
struct madt_entry {
	uint8_t type;              /**< ACPI_MADT_TYPE_... */
	uint8_t length;            /**< of the whole entry, in bytes */
} __attribute__((packed));

/** ACPI_MADT_TYPE_LOCAL_APIC: one processor (APIC IDs up to 255). */
struct madt_local_apic {
	struct madt_entry h;       /**< type 0, length 8 */
	uint8_t processor_id;      /**< ACPI processor UID */
	uint8_t id;                /**< its local APIC ID */
	uint32_t lapic_flags;      /**< ACPI_MADT_ENABLED... */
} __attribute__((packed));

/** ACPI_MADT_TYPE_IO_APIC. */
struct madt_io_apic {
	struct madt_entry h;       /**< type 1, length 12 */
	uint8_t id;                /**< I/O APIC ID */
	uint8_t reserved;          /**< 0 */
	uint32_t address;          /**< physical address of its registers */
	uint32_t global_irq_base;  /**< the GSI of its pin 0 */
} __attribute__((packed));

/** ACPI_MADT_TYPE_INTERRUPT_OVERRIDE: ISA IRQ source_irq is GSI global_irq. */
struct madt_interrupt_override {
	struct madt_entry h;       /**< type 2, length 10 */
	uint8_t bus;               /**< 0: ISA */
	uint8_t source_irq;        /**< the ISA IRQ */
	uint32_t global_irq;       /**< the GSI it arrives on */
	uint16_t inti_flags;       /**< polarity and trigger */
} __attribute__((packed));

/** ACPI_MADT_TYPE_LOCAL_APIC_NMI: which LINT pin of which processor. */
struct madt_local_apic_nmi {
	struct madt_entry h;       /**< type 4, length 6 */
	uint8_t processor_id;      /**< 0xFF: all of them */
	uint16_t inti_flags;       /**< polarity and trigger */
	uint8_t lint;              /**< LINT0 or LINT1 */
} __attribute__((packed));

/** ACPI_MADT_TYPE_LOCAL_APIC_OVERRIDE: a 64-bit local APIC address. */
struct madt_local_apic_override {
	struct madt_entry h;       /**< type 5, length 12 */
	uint16_t reserved;         /**< 0 */
	uint64_t address;          /**< replaces the MADT's 32-bit address */
} __attribute__((packed));

/** ACPI_MADT_TYPE_LOCAL_X2APIC: one processor with a 32-bit APIC ID. */
struct madt_local_x2apic {
	struct madt_entry h;       /**< type 9, length 16 */
	uint16_t reserved;         /**< 0 */
	uint32_t local_apic_id;    /**< its 32-bit x2APIC ID */
	uint32_t lapic_flags;      /**< ACPI_MADT_ENABLED... */
	uint32_t uid;              /**< ACPI processor UID */
} __attribute__((packed));

/** Print and keep one processor. */
static void add_cpu(uint32_t processor_id, uint32_t apic_id, uint32_t flags)
{
	kprintf("madt: cpu: processor %u, apic id %u, flags 0x%x (%s)\n",
		processor_id, apic_id, flags,
		flags & ACPI_MADT_ENABLED ? "enabled"
		: flags & ACPI_MADT_ONLINE_CAPABLE ? "online capable"
						    : "disabled");
	if (madt.cpus < MADT_MAX_CPUS) {
		madt.cpu[madt.cpus].processor_id = processor_id;
		madt.cpu[madt.cpus].apic_id = apic_id;
		madt.cpu[madt.cpus].flags = flags;
	}
	madt.cpus++;
}

/** Print and keep one I/O APIC. */
static void add_ioapic(const struct madt_io_apic *e)
{
	kprintf("madt: ioapic: id %u, address 0x%x, gsi base %u\n", e->id,
		e->address, e->global_irq_base);
	if (madt.ioapics < MADT_MAX_IOAPICS) {
		madt.ioapic[madt.ioapics].id = e->id;
		madt.ioapic[madt.ioapics].address = e->address;
		madt.ioapic[madt.ioapics].gsi_base = e->global_irq_base;
	}
	madt.ioapics++;
}

/** Print and keep one interrupt source override. */
static void add_override(const struct madt_interrupt_override *e)
{
	static const char *const polarity[4] = { "bus", "high", "?", "low" };
	static const char *const trigger[4] = { "bus", "edge", "?", "level" };
	uint16_t f = e->inti_flags;

	kprintf("madt: override: bus %u, irq %u -> gsi %u, flags 0x%x "
		"(polarity %s, trigger %s)\n", e->bus, e->source_irq,
		e->global_irq, f, polarity[f & ACPI_MADT_POLARITY_MASK],
		trigger[(f & ACPI_MADT_TRIGGER_MASK) >> 2]);
	if (madt.overrides < MADT_MAX_OVERRIDES) {
		madt.override[madt.overrides].source_irq = e->source_irq;
		madt.override[madt.overrides].gsi = e->global_irq;
		madt.override[madt.overrides].inti_flags = f;
	}
	madt.overrides++;
}

/** Decode one MADT entry by its type. */
static void parse_entry(const struct madt_entry *e)
{
	const struct madt_local_apic *lapic = (const void *)e;
	const struct madt_local_x2apic *x2apic = (const void *)e;
	const struct madt_local_apic_nmi *nmi = (const void *)e;
	const struct madt_local_apic_override *addr = (const void *)e;

	switch (e->type) {
	case ACPI_MADT_TYPE_LOCAL_APIC:
		add_cpu(lapic->processor_id, lapic->id, lapic->lapic_flags);
		break;
	case ACPI_MADT_TYPE_LOCAL_X2APIC:
		add_cpu(x2apic->uid, x2apic->local_apic_id, x2apic->lapic_flags);
		break;
	case ACPI_MADT_TYPE_IO_APIC:
		add_ioapic((const void *)e);
		break;
	case ACPI_MADT_TYPE_INTERRUPT_OVERRIDE:
		add_override((const void *)e);
		break;
	case ACPI_MADT_TYPE_LOCAL_APIC_NMI:
		kprintf("madt: nmi: processor 0x%x, lint %u, flags 0x%x\n",
			nmi->processor_id, nmi->lint, nmi->inti_flags);
		break;
	case ACPI_MADT_TYPE_LOCAL_APIC_OVERRIDE:
		kprintf("madt: local APIC address override: 0x%llx\n",
			(unsigned long long)addr->address);
		madt.lapic_address = addr->address;
		break;
	default:
		kprintf("madt: entry type %u, %u bytes (not decoded)\n", e->type,
			e->length);
	}
}

int madt_parse(void)
{
	uint64_t pa;
	const struct acpi_table_madt *t =
		(const void *)acpi_find_table("APIC", &pa);
	const uint8_t *p, *end;

	if (!t) {
		kprintf("madt: no MADT (\"APIC\" table) with a good checksum\n");
		return -1;
	}
	memset(&madt, 0, sizeof(madt));
	madt.lapic_address = t->address;
	madt.flags = t->flags;
	kprintf("madt: at 0x%llx, %u bytes, local APIC at 0x%x, flags 0x%x%s\n",
		(unsigned long long)pa, t->header.length, t->address,
		t->flags, t->flags & ACPI_MADT_PCAT_COMPAT ? " (8259s present)" : "");
	end = (const uint8_t *)t + t->header.length;
	for (p = (const uint8_t *)(t + 1); p + sizeof(struct madt_entry) <= end;
	     p += ((const struct madt_entry *)p)->length) {
		if (((const struct madt_entry *)p)->length < 2)
			break;          /* a zero length would loop forever */
		parse_entry((const void *)p);
	}
	kprintf("madt: %u processor(s), %u I/O APIC(s), %u override(s)\n",
		madt.cpus, madt.ioapics, madt.overrides);
	return 0;
}

uint32_t madt_isa_irq_to_gsi(uint8_t irq, uint16_t *inti_flags)
{
	for (unsigned int i = 0; i < madt.overrides && i < MADT_MAX_OVERRIDES;
	     i++) {
		if (madt.override[i].source_irq == irq) {
			*inti_flags = madt.override[i].inti_flags;
			return madt.override[i].gsi;
		}
	}
	*inti_flags = 0;
	return irq;     /* no override: ISA IRQ n is GSI n */
}
