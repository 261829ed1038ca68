/**
 * @file ioapic.h
 * @brief The I/O APIC: routes device interrupt lines to local APICs.
 * @ingroup lesson04
 *
 * An I/O APIC has a number of input pins (24 on the PC chipsets QEMU and
 * Bochs model); pin n of the I/O APIC whose MADT entry says "GSI base b"
 * is global system interrupt b + n. For each pin a 64-bit redirection
 * table entry says which vector to raise, on which local APIC, with which
 * polarity and trigger mode, or that the pin is masked (Intel 82093AA I/O
 * APIC datasheet, 3.2.4).
 */
#ifndef LESSON04_IOAPIC_H
#define LESSON04_IOAPIC_H

#include <stdint.h>

#include "x86.h"

/** Registers: an index/data pair, and what the index selects. @{ */
#define IOAPIC_REGSEL 0x00          /**< MMIO: register index */
#define IOAPIC_WINDOW 0x10          /**< MMIO: the selected register */
#define IO_APIC_ID 0x00             /**< bits 27:24: the I/O APIC ID */
#define IO_APIC_VERSION 0x01        /**< bits 23:16: last pin; 7:0 version */
#define IO_APIC_REDTBL 0x10         /**< pin n: registers 0x10 + 2n (low), +1 */
/** @} */

/** Redirection table entry bits (82093AA, 3.2.4). @{ */
#define IOAPIC_RTE_POLARITY_LOW BIT(13)  /**< active low (else high) */
#define IOAPIC_RTE_LEVEL BIT(15)         /**< level triggered (else edge) */
#define IOAPIC_RTE_MASKED BIT(16)        /**< interrupt masked */
#define IOAPIC_RTE_DEST_SHIFT 56         /**< physical destination APIC ID */
/** @} */

/** Map every I/O APIC the MADT lists, print it and mask all its pins. */
void ioapic_init(void);

/**
 * Deliver ISA @p irq as @p vector to the local APIC @p apic_id, honouring
 * the MADT's interrupt source overrides. @return 0, or -1 if no I/O APIC
 * serves its GSI.
 */
int ioapic_route_isa_irq(uint8_t irq, uint8_t vector, uint32_t apic_id);

/** Mask ISA @p irq again (through the same override). */
void ioapic_mask_isa_irq(uint8_t irq);

#endif
