/**
 * @file acpi.h
 * @brief ACPI tables: find the RSDP, walk the RSDT/XSDT, parse the MADT.
 * @ingroup lesson04
 *
 * The firmware describes the machine's interrupt hardware in the MADT
 * ("Multiple APIC Description Table", signature "APIC"): how many
 * processors there are and their local APIC IDs, where each I/O APIC is and
 * which global system interrupts (GSIs) it serves, and where the ISA IRQs
 * really arrive (the PIT's IRQ 0 is usually GSI 2). Structure layouts and
 * names follow the ACPI specification 6.5, chapter 5.2, and Linux's ACPICA
 * headers (actbl.h, actbl2.h).
 */
#ifndef LESSON04_ACPI_H
#define LESSON04_ACPI_H

#include <stdint.h>

/** Root System Description Pointer (ACPI 5.2.5.3). */
struct acpi_rsdp {
	char signature[8];         /**< "RSD PTR " */
	uint8_t checksum;          /**< bytes 0-19 sum to 0 */
	char oem_id[6];            /**< who made the firmware */
	uint8_t revision;          /**< 0: ACPI 1.0 (RSDT only); 2: 2.0+ */
	uint32_t rsdt_address;     /**< physical address of the RSDT */
	uint32_t length;           /**< revision 2+: size of this structure */
	uint64_t xsdt_address;     /**< revision 2+: the XSDT (64-bit entries) */
	uint8_t extended_checksum; /**< revision 2+: all @ref length bytes sum to 0 */
	uint8_t reserved[3];       /**< must be 0 */
} __attribute__((packed));

/** The header every other table starts with (ACPI 5.2.6). */
struct acpi_table_header {
	char signature[4];         /**< "RSDT", "APIC", "FACP"... */
	uint32_t length;           /**< of the whole table, header included */
	uint8_t revision;          /**< of this table's layout */
	uint8_t checksum;          /**< all @ref length bytes sum to 0 */
	char oem_id[6];            /**< who made the firmware */
	char oem_table_id[8];      /**< the firmware's name for this table */
	uint32_t oem_revision;     /**< the firmware's version of it */
	uint32_t asl_compiler_id;  /**< the tool that built it */
	uint32_t asl_compiler_revision; /**< and its version */
} __attribute__((packed));

/** The MADT's fixed part; variable-length entries follow (ACPI 5.2.12). */
struct acpi_table_madt {
	struct acpi_table_header header; /**< signature "APIC" */
	uint32_t address;          /**< physical address of every local APIC */
	uint32_t flags;            /**< ACPI_MADT_PCAT_COMPAT: 8259s present */
} __attribute__((packed));

/** MADT entry types (ACPI Table 5.21) and flags. @{ */
#define ACPI_MADT_TYPE_LOCAL_APIC 0          /**< a processor's local APIC */
#define ACPI_MADT_TYPE_IO_APIC 1             /**< an I/O APIC */
#define ACPI_MADT_TYPE_INTERRUPT_OVERRIDE 2  /**< ISA IRQ -> GSI, polarity, trigger */
#define ACPI_MADT_TYPE_NMI_SOURCE 3          /**< a GSI wired to NMI */
#define ACPI_MADT_TYPE_LOCAL_APIC_NMI 4      /**< which LINT pin is NMI */
#define ACPI_MADT_TYPE_LOCAL_APIC_OVERRIDE 5 /**< 64-bit local APIC address */
#define ACPI_MADT_TYPE_LOCAL_X2APIC 9        /**< a processor, 32-bit APIC ID */
#define ACPI_MADT_PCAT_COMPAT 1              /**< MADT flags: dual 8259s too */
#define ACPI_MADT_ENABLED 1                  /**< processor flags: usable */
#define ACPI_MADT_ONLINE_CAPABLE 2           /**< processor flags: can be enabled */
/** @} */

/** Polarity and trigger of an interrupt override ("MPS INTI flags"). @{ */
#define ACPI_MADT_POLARITY_MASK 3            /**< bits 1:0 */
#define ACPI_MADT_POLARITY_ACTIVE_LOW 3      /**< 0: bus default, 1: high */
#define ACPI_MADT_TRIGGER_MASK (3 << 2)      /**< bits 3:2 */
#define ACPI_MADT_TRIGGER_LEVEL (3 << 2)     /**< 0: bus default, 1: edge */
/** @} */

/** How many of each entry madt_parse() keeps (it counts them all). @{ */
#define MADT_MAX_CPUS 64         /**< processors */
#define MADT_MAX_IOAPICS 8       /**< I/O APICs */
#define MADT_MAX_OVERRIDES 16    /**< interrupt source overrides */
/** @} */

/** What madt_parse() learnt, for the APIC drivers. */
struct madt_info {
	uint64_t lapic_address;    /**< the local APIC's physical address */
	uint32_t flags;            /**< the MADT's flags */
	unsigned int cpus;         /**< processor entries seen */
	unsigned int ioapics;      /**< I/O APIC entries seen */
	unsigned int overrides;    /**< interrupt source overrides seen */
	struct {
		uint32_t processor_id; /**< ACPI processor UID */
		uint32_t apic_id;      /**< local APIC ID */
		uint32_t flags;        /**< ACPI_MADT_ENABLED... */
	} cpu[MADT_MAX_CPUS];          /**< one per processor entry */
	struct {
		uint32_t id;           /**< I/O APIC ID */
		uint32_t address;      /**< physical address of its registers */
		uint32_t gsi_base;     /**< first GSI its pin 0 serves */
	} ioapic[MADT_MAX_IOAPICS];    /**< one per I/O APIC entry */
	struct {
		uint8_t source_irq;    /**< the ISA IRQ */
		uint32_t gsi;          /**< the GSI it really arrives on */
		uint16_t inti_flags;   /**< polarity and trigger */
	} override[MADT_MAX_OVERRIDES]; /**< one per override entry */
};

extern struct madt_info madt;  /**< filled by madt_parse() */

/** Find the RSDP, check it and print the root table's list of tables.
 * @return 0, or -1 (with a message) when there is no valid ACPI. */
int acpi_init(void);

/** The table with signature @p sig (e.g. "APIC") whose checksum is right,
 * mapped and ready to read, and its physical address in @p pa; NULL if
 * there is none. */
const struct acpi_table_header *acpi_find_table(const char *sig,
						uint64_t *pa);

/** Parse and print the MADT into @ref madt. @return 0, or -1 if missing. */
int madt_parse(void);

/** The GSI ISA @p irq arrives on, and in @p inti_flags its override's
 * polarity and trigger (0: the ISA defaults, active high, edge). */
uint32_t madt_isa_irq_to_gsi(uint8_t irq, uint16_t *inti_flags);

#endif
