/**
 * @file lapic.c
 * @brief Enable the local APIC, in xAPIC (MMIO) or x2APIC (MSR) mode.
 * @ingroup lesson04
 *
 * Every processor has a local APIC: it receives interrupts (from its own
 * timer, from I/O APICs, from other processors), queues them by priority
 * and interrupts the core, which must acknowledge each one with an EOI.
 * The BIOS leaves it globally enabled (IA32_APIC_BASE) but software
 * disabled: until bit 8 of the spurious-interrupt vector register is set
 * it delivers nothing (SDM Vol. 3A, 10.4.3).
 *
 * Two ways to reach its registers:
 *  - xAPIC: a 4 KiB page of memory-mapped registers at the physical address
 *    in IA32_APIC_BASE (0xFEE00000 by default), one register per 16 bytes.
 *    We map that page uncached, since reads have side effects.
 *  - x2APIC: the same registers as MSRs 0x800 + offset / 16 (SDM 10.12),
 *    with 32-bit APIC IDs; no mapping needed. CPUID.01H:ECX[21] says
 *    whether the processor has it.
 */
#include "kprintf.h"
#include "lapic.h"
#include "trap.h"
#include "vmm.h"

static volatile uint32_t *mmio;     /**< xAPIC registers; NULL in x2APIC mode */
static int x2apic_mode;             /**< registers are MSRs */

uint32_t lapic_read(uint32_t reg)
{
	if (x2apic_mode)
		return (uint32_t)rdmsr(APIC_BASE_MSR + (reg >> 4));
	return mmio[reg / 4];
}

void lapic_write(uint32_t reg, uint32_t value)
{
	if (x2apic_mode)
		wrmsr(APIC_BASE_MSR + (reg >> 4), value);
	else
		mmio[reg / 4] = value;
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(APIC_ID);

	return x2apic_mode ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(APIC_EOI, 0);
}

/**
 * A spurious interrupt: the APIC raised an interrupt whose source went away
 * before the core acknowledged it. It is not in service, so no EOI.
 */
static int on_spurious(struct trap_frame *frame)
{
	(void)frame;
	kprintf("lapic: spurious interrupt\n");
	return 1;
}

void lapic_init(uint64_t madt_address, int want_x2apic)
{
	uint64_t base = rdmsr(MSR_IA32_APICBASE);
	uint64_t phys = base & MSR_IA32_APICBASE_BASE;
	int has_x2apic = (cpuid(1, 0).ecx & CPUID_1_ECX_X2APIC) != 0;
	uint32_t version;

	kprintf("lapic: IA32_APIC_BASE 0x%llx: base 0x%llx%s%s; MADT says "
		"0x%llx\n", (unsigned long long)base, (unsigned long long)phys,
		base & MSR_IA32_APICBASE_BSP ? ", BSP" : "",
		base & MSR_IA32_APICBASE_ENABLE ? ", enabled" : ", disabled",
		(unsigned long long)madt_address);
	if (want_x2apic && !has_x2apic)
		kprintf("lapic: x2APIC asked for, but CPUID.01H:ECX.x2APIC[bit 21]"
			" is clear: using xAPIC\n");
	x2apic_mode = want_x2apic && has_x2apic;

	/* x2APIC is entered from an enabled xAPIC by setting EXTD (SDM
	 * 10.12.5); there is no way back short of disabling the APIC. */
	base |= MSR_IA32_APICBASE_ENABLE;
	wrmsr(MSR_IA32_APICBASE, base);
	if (x2apic_mode)
		wrmsr(MSR_IA32_APICBASE, base | X2APIC_ENABLE);
	else
		mmio = vmm_map_phys(phys, PAGE_SIZE, PTE_MMIO);

	trap_register(LAPIC_SPURIOUS_VECTOR, on_spurious);
	lapic_write(APIC_TASKPRI, 0);           /* accept every priority */
	/* LINT0 carries the 8259s' output ("virtual wire" mode, as the BIOS
	 * left it). They are masked and the I/O APIC takes over: mask it. */
	lapic_write(APIC_LVT0, APIC_LVT_MASKED);
	lapic_write(APIC_SPIV, APIC_SPIV_APIC_ENABLED | LAPIC_SPURIOUS_VECTOR);

	version = lapic_read(APIC_LVR);
	if (x2apic_mode)
		kprintf("lapic: x2APIC mode (MSRs 0x%x-0x%x)", APIC_BASE_MSR,
			APIC_BASE_MSR + 0xFF);
	else
		kprintf("lapic: xAPIC mode (MMIO at 0x%llx)",
			(unsigned long long)(uintptr_t)mmio);
	kprintf(", id %u, version 0x%x, %u LVT entries, SPIV 0x%x\n",
		lapic_id(), version & 0xFF, ((version >> 16) & 0xFF) + 1,
		lapic_read(APIC_SPIV));
}
