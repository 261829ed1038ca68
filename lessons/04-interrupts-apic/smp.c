/**
 * @file smp.c
 * @brief The BSP starts the APs the MADT lists: INIT, SIPI, SIPI, one by one.
 * @ingroup lesson04
 *
 * Boot chain: main.c calls smp_start() on the bootstrap processor once the
 * MADT is read (madt.c) and the BSP's local APIC is enabled (lapic.c).
 * The application processors have run the BIOS's code and sit halted or
 * waiting for a start-up IPI. For each one the MADT lists as enabled, in
 * its order, smp_start() follows SDM Vol. 3A, 8.4.4.1 "Typical BSP
 * Initialization Sequence" (9.4.4.1 from 2022 on), addressed to that one
 * AP rather than broadcast:
 *
 *  1. an INIT IPI: the AP resets and waits for a start-up IPI, whatever it
 *     was doing (the BIOS's parking loop, say);
 *  2. 10 ms;
 *  3. a start-up IPI (SIPI) whose vector is the trampoline's page number:
 *     the AP starts in real mode at vector * 4096;
 *  4. 200 us, and a second SIPI (a processor that started with the first
 *     one ignores it: only a processor waiting for SIPI takes one), and
 *     200 us again.
 *
 * Then the BSP waits up to SMP_AP_TIMEOUT_US for the AP to arrive (to set
 * its smp_arrived[] slot) before it starts the next: one AP at a time, so
 * one argument block and CPU numbers in MADT order. An AP that never
 * arrives is named, sent INIT again so that it cannot run later on another
 * AP's stack, and makes smp_start() fail. Every delay is counted on the
 * PIT's channel 2 (pit.c), the clock lesson 04 already trusts.
 */
#include "acpi.h"
#include "kprintf.h"
#include "lapic.h"
#include "paging.h"
#include "param.h"
#include "pit.h"
#include "power.h"
#include "smp.h"
#include "string.h"

#define SMP_NO_STALL 0xFF     /**< param_smp_stall: every AP arrives */

/** Patchable: 1 = start the APs the MADT lists; 0 = leave them waiting. */
volatile uint8_t param_smp KIT_PARAM = 1;
/** Patchable: the APIC ID of an AP that parks without arriving (to see the
 * timeout at work), or SMP_NO_STALL. */
volatile uint8_t param_smp_stall KIT_PARAM = SMP_NO_STALL;

/** The argument block in the trampoline's copy, below 1 MiB. */
static struct smp_ap_args *trampoline_args(void)
{
	return phys_to_virt(SMP_TRAMPOLINE +
			    (uint64_t)(ap_trampoline_args - ap_trampoline));
}

/** Copy the trampoline to its page and fill in what every AP shares. */
static void trampoline_install(void)
{
	uint64_t size = (uint64_t)(ap_trampoline_end - ap_trampoline);
	struct smp_ap_args *args = trampoline_args();

	if (size > PAGE_SIZE || read_cr3() >> 32)
		panic("smp: trampoline of %llu bytes, CR3 0x%lx: it needs one "
		      "page and a PML4 below 4 GiB", (unsigned long long)size,
		      read_cr3());
	memcpy(phys_to_virt(SMP_TRAMPOLINE), ap_trampoline, size);
	args->cr3 = read_cr3();
	args->efer = rdmsr(MSR_EFER) & ~EFER_LMA;   /* LMA is the CPU's to set */
	sidt(&smp_idtr);
	smp_x2apic = (rdmsr(MSR_IA32_APICBASE) & X2APIC_ENABLE) != 0;
}

/** INIT-SIPI-SIPI to @p apic_id, as CPU number @p cpu; wait for it.
 * @return 1 if it arrived, 0 if not (said, under the print lock). */
static int start_ap(unsigned int cpu, uint32_t apic_id)
{
	struct smp_ap_args *args = trampoline_args();

	args->stack = (uint64_t)(uintptr_t)smp_ap_stacks[cpu - 1] +
		      SMP_AP_STACK_SIZE;
	args->entry = (uint64_t)(uintptr_t)(apic_id == param_smp_stall ?
					    smp_ap_stall : smp_ap_main);
	args->cpu = cpu;

	lapic_send_ipi(apic_id, APIC_DM_INIT | APIC_INT_ASSERT);
	pit_wait_us(SMP_INIT_DELAY_US, NULL);
	for (int sipi = 0; sipi < 2; sipi++) {
		lapic_send_ipi(apic_id, APIC_DM_STARTUP | SMP_SIPI_VECTOR);
		pit_wait_us(SMP_SIPI_DELAY_US, NULL);
	}
	if (pit_wait_us(SMP_AP_TIMEOUT_US, &smp_arrived[cpu]))
		return 1;

	print_lock();               /* it may be printing right now */
	if (!smp_arrived[cpu]) {
		lapic_send_ipi(apic_id, APIC_DM_INIT | APIC_INT_ASSERT);
		kprintf("smp: cpu %u (apic id %u) never arrived: sent INIT, it "
			"waits for SIPI again\n", cpu, apic_id);
	}
	print_unlock();
	return smp_arrived[cpu] != 0;
}

/** Whether MADT entry @p i is a processor to start (not this one). */
static int is_ap(unsigned int i, uint32_t bsp)
{
	return (madt.cpu[i].flags & ACPI_MADT_ENABLED) &&
	       madt.cpu[i].apic_id != bsp;
}

int smp_start(void)
{
	unsigned int entries = madt.cpus < MADT_MAX_CPUS ? madt.cpus
							  : MADT_MAX_CPUS;
	unsigned int aps = 0, cpu = 1, up = 1, stall_found = 0;
	uint32_t bsp = lapic_id();

	for (unsigned int i = 0; i < entries; i++) {
		if (is_ap(i, bsp)) {
			aps++;
			stall_found |= madt.cpu[i].apic_id == param_smp_stall;
		}
	}
	if (param_smp > 1 || (param_smp_stall != SMP_NO_STALL && !stall_found)) {
		kprintf("smp: smp=%u, smp_stall=%u: smp is 0 (leave the APs "
			"waiting) or 1 (start them), smp_stall an AP's APIC ID "
			"or 255 (none)\n", param_smp, param_smp_stall);
		power_off(POWER_FAIL_PARAM);
	}
	if (aps == 0) {
		kprintf("smp: 1 processor, the BSP (apic id %u): no AP to "
			"start\n", bsp);
		return 0;
	}
	if (!param_smp) {
		kprintf("smp: %u processors; smp=0: the %u APs stay waiting for "
			"SIPI\n", aps + 1, aps);
		return 0;
	}

	trampoline_install();
	kprintf("smp: BSP apic id %u; trampoline at 0x%x (SIPI vector 0x%02x); "
		"starting %u AP(s) through the %s ICR\n", bsp, SMP_TRAMPOLINE,
		SMP_SIPI_VECTOR, aps, smp_x2apic ? "x2APIC" : "xAPIC");
	for (unsigned int i = 0; i < entries; i++) {
		if (!is_ap(i, bsp))
			continue;
		if (cpu >= SMP_MAX_CPUS) {
			kprintf("smp: apic id %u not started: this kernel has "
				"stacks for %u CPUs\n", madt.cpu[i].apic_id,
				SMP_MAX_CPUS);
			continue;
		}
		up += start_ap(cpu++, madt.cpu[i].apic_id);
	}

	print_lock();
	kprintf("smp: %u of %u processors up, the APs parked\n", up, cpu);
	print_unlock();
	return up == cpu ? 0 : -1;
}
