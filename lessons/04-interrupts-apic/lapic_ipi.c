/**
 * @file lapic_ipi.c
 * @brief Send an inter-processor interrupt through the local APIC's ICR.
 * @ingroup lesson04
 *
 * A processor interrupts another by writing the interrupt command register
 * of its own local APIC (SDM Vol. 3A, 10.6.1 "Interrupt Command Register
 * (ICR)"): a delivery mode (fixed, NMI, INIT, start-up...), a vector, a
 * level, and a destination APIC ID. The APIC puts the message on the bus
 * and the destination's APIC acts on it.
 *
 *  - xAPIC: two 32-bit registers. ICR2 (0x310) holds the destination in
 *    bits 31:24; writing the low half (0x300) sends. Bit 12, the delivery
 *    status, stays 1 until the message has left: wait for 0 before the
 *    next one.
 *  - x2APIC: one 64-bit MSR, 0x830, destination in bits 63:32, written at
 *    once (10.12.9 "ICR Operation in x2APIC Mode"). There is no delivery
 *    status any more: a WRMSR to the ICR completes when it is sent.
 *
 * Which mode is this CPU's own: IA32_APIC_BASE bit 10 (EXTD).
 */
#include "lapic.h"
#include "smp.h"

void lapic_send_ipi(uint32_t apic_id, uint32_t command)
{
	if (rdmsr(MSR_IA32_APICBASE) & X2APIC_ENABLE) {
		wrmsr(X2APIC_ICR_MSR, (uint64_t)apic_id << 32 | command);
		return;
	}
	lapic_write(APIC_ICR2, apic_id << 24);
	lapic_write(APIC_ICR, command);         /* this write sends it */
	while (lapic_read(APIC_ICR) & APIC_ICR_BUSY)
		cpu_relax();
}
