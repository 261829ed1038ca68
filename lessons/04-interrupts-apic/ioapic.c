/**
 * @file ioapic.c
 * @brief Program I/O APIC redirection entries from what the MADT says.
 * @ingroup lesson04
 *
 * The registers are reached indirectly: write a register index to IOREGSEL,
 * then read or write the 32-bit value through IOWIN. A redirection entry is
 * two registers; we write the high half (the destination) first and the low
 * half (vector, mode, mask) last, so that the pin is never unmasked with a
 * half-written entry.
 *
 * ISA IRQs are not always wired to the pin of the same number: the MADT's
 * interrupt source overrides say where each one really arrives, and with
 * which polarity and trigger. On PCs the PIT's IRQ 0 arrives on GSI 2 (pin
 * 2), because pin 0 is taken by the 8259's output (ACPI 5.2.12.5).
 */
#include "acpi.h"
#include "ioapic.h"
#include "kprintf.h"
#include "vmm.h"

/** Each I/O APIC's registers (indexed like madt.ioapic). */
static volatile uint32_t *ioapic_regs[MADT_MAX_IOAPICS];
/** How many pins each has. */
static unsigned int ioapic_pins[MADT_MAX_IOAPICS];

/** Read register @p reg of I/O APIC @p i. */
static uint32_t ioapic_read(unsigned int i, uint32_t reg)
{
	ioapic_regs[i][IOAPIC_REGSEL / 4] = reg;
	return ioapic_regs[i][IOAPIC_WINDOW / 4];
}

/** Write register @p reg of I/O APIC @p i. */
static void ioapic_write(unsigned int i, uint32_t reg, uint32_t value)
{
	ioapic_regs[i][IOAPIC_REGSEL / 4] = reg;
	ioapic_regs[i][IOAPIC_WINDOW / 4] = value;
}

/** Write pin @p pin's redirection entry, the half with the mask last. */
static void ioapic_write_rte(unsigned int i, unsigned int pin, uint64_t rte)
{
	ioapic_write(i, IO_APIC_REDTBL + 2 * pin + 1, rte >> 32);
	ioapic_write(i, IO_APIC_REDTBL + 2 * pin, (uint32_t)rte);
}

void ioapic_init(void)
{
	for (unsigned int i = 0; i < madt.ioapics && i < MADT_MAX_IOAPICS; i++) {
		uint32_t version;

		ioapic_regs[i] = vmm_map_phys(madt.ioapic[i].address, PAGE_SIZE,
					      PTE_MMIO);
		version = ioapic_read(i, IO_APIC_VERSION);
		ioapic_pins[i] = ((version >> 16) & 0xFF) + 1;
		for (unsigned int pin = 0; pin < ioapic_pins[i]; pin++)
			ioapic_write_rte(i, pin, IOAPIC_RTE_MASKED);
		kprintf("ioapic: id %u, version 0x%x, %u pins (gsi %u-%u), all "
			"masked\n", (ioapic_read(i, IO_APIC_ID) >> 24) & 0xF,
			version & 0xFF, ioapic_pins[i], madt.ioapic[i].gsi_base,
			madt.ioapic[i].gsi_base + ioapic_pins[i] - 1);
	}
}

/** Which I/O APIC (index into madt.ioapic) serves @p gsi, and its pin. */
static int ioapic_for_gsi(uint32_t gsi, unsigned int *pin)
{
	for (unsigned int i = 0; i < madt.ioapics && i < MADT_MAX_IOAPICS; i++) {
		uint32_t base = madt.ioapic[i].gsi_base;

		if (ioapic_regs[i] && gsi >= base && gsi < base + ioapic_pins[i]) {
			*pin = gsi - base;
			return (int)i;
		}
	}
	return -1;
}

int ioapic_route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id)
{
	uint16_t flags;
	uint32_t gsi = madt_isa_irq_to_gsi(irq, &flags);
	unsigned int pin;
	int i = ioapic_for_gsi(gsi, &pin);
	uint64_t rte = vector | (uint64_t)apic_id << IOAPIC_RTE_DEST_SHIFT;

	if (i < 0) {
		kprintf("ioapic: no I/O APIC serves gsi %u (isa irq %u)\n", gsi,
			irq);
		return -1;
	}
	/* ISA interrupts are active high and edge triggered unless the
	 * override says otherwise ("bus default" = the ISA convention). */
	if ((flags & ACPI_MADT_POLARITY_MASK) == ACPI_MADT_POLARITY_ACTIVE_LOW)
		rte |= IOAPIC_RTE_POLARITY_LOW;
	if ((flags & ACPI_MADT_TRIGGER_MASK) == ACPI_MADT_TRIGGER_LEVEL)
		rte |= IOAPIC_RTE_LEVEL;
	kprintf("ioapic: isa irq %u -> gsi %u%s -> ioapic %u pin %u: vector "
		"0x%x, %s, active %s, apic id %u (rte 0x%016llx)\n", irq, gsi,
		gsi != irq ? " (override)" : "", madt.ioapic[i].id, pin, vector,
		rte & IOAPIC_RTE_LEVEL ? "level" : "edge",
		rte & IOAPIC_RTE_POLARITY_LOW ? "low" : "high", apic_id,
		(unsigned long long)rte);
	ioapic_write_rte(i, pin, rte);    /* unmasked: interrupts may come */
	return 0;
}

void ioapic_mask_isa_irq(uint8_t irq)
{
	uint16_t flags;
	unsigned int pin;
	int i = ioapic_for_gsi(madt_isa_irq_to_gsi(irq, &flags), &pin);
	uint32_t reg = IO_APIC_REDTBL + 2 * pin;

	/* Set only the mask bit: the rest of the entry stays as it was. */
	if (i >= 0)
		ioapic_write(i, reg, ioapic_read(i, reg) | IOAPIC_RTE_MASKED);
}
