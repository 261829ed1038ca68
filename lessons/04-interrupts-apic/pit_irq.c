/**
 * @file pit_irq.c
 * @brief An external interrupt end to end: PIT -> I/O APIC -> local APIC.
 * @ingroup lesson04
 *
 * The PIT's channel 0 raises ISA IRQ 0 at a rate we choose. The MADT says on
 * which GSI that line arrives (2, on PCs), ioapic.c points that pin at a
 * vector of ours on this processor's local APIC, and each interrupt ends
 * with an EOI to the local APIC, without which it would deliver nothing of
 * equal or lower priority again.
 */
#include "demo.h"
#include "ioapic.h"
#include "kprintf.h"
#include "lapic.h"
#include "pit.h"
#include "trap.h"

/** @{ */
#define PIT_IRQ_VECTOR 0x30   /**< ISA IRQ 0 through the I/O APIC */
#define PIT_IRQ_HZ 1000       /**< channel 0's rate for the demonstration */
#define PIT_IRQ_COUNT 5       /**< interrupts to wait for */
#define PIT_IRQ_SETTLE_US 1000 /**< after the mask: time for a late one */
/** @} */

static volatile uint32_t pit_irqs;      /**< IRQ 0 interrupts so far */
static uint16_t pit_second;             /**< the PIT clock at the second one */
static uint16_t pit_last;               /**< and at the last one */

/** IRQ 0: count it, time the 2nd and the last, acknowledge it. */
static int on_pit_irq(struct trap_frame *frame)
{
	(void)frame;
	pit_irqs++;
	if (pit_irqs == 2)
		pit_second = pit_clock_read();
	if (pit_irqs == PIT_IRQ_COUNT)
		pit_last = pit_clock_read();
	lapic_eoi();
	return 1;
}

int pit_irq_demo(void)
{
	uint64_t elapsed;
	uint32_t late;

	trap_register(PIT_IRQ_VECTOR, on_pit_irq);
	/* Channel 0 first: while the pin is masked its edges go nowhere. */
	pit_periodic_start(PIT_HZ / PIT_IRQ_HZ);
	pit_clock_start();
	pit_irqs = 0;
	if (ioapic_route_isa_irq(PIT_ISA_IRQ, PIT_IRQ_VECTOR, lapic_id()) < 0)
		return -1;
	trap_wait_for(&pit_irqs, PIT_IRQ_COUNT);
	ioapic_mask_isa_irq(PIT_ISA_IRQ);
	/*
	 * The mask stops the pin, not what it already sent: an edge that came
	 * between the 5th interrupt and the mask is in the local APIC's IRR
	 * (or on its way there) and is delivered all the same. On a loaded
	 * emulator, or under a hypervisor, that window can be longer than a
	 * PIT period. Wait a little with interrupts on, and count what came.
	 */
	pit_wait_us(PIT_IRQ_SETTLE_US, NULL);
	late = pit_irqs - PIT_IRQ_COUNT;
	/* The first may be an edge the I/O APIC kept from before the pin was
	 * unmasked: time the periods from the second interrupt on. */
	elapsed = (uint16_t)(pit_second - pit_last);
	kprintf("ioapic: %u interrupts from the PIT (%u Hz) on vector 0x%x; "
		"2nd to %uth: %llu us; irq 0 masked again", PIT_IRQ_COUNT,
		PIT_IRQ_HZ, PIT_IRQ_VECTOR, PIT_IRQ_COUNT,
		(unsigned long long)(elapsed * 1000000 / PIT_HZ));
	if (late)
		kprintf(" (%u more came before the mask took)", late);
	kprintf("\n");
	return 0;
}
