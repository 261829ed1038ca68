/**
 * @file lapic.h
 * @brief The local APIC: each processor's own interrupt controller and timer.
 * @ingroup lesson04
 *
 * Register offsets and bit names are Linux's (apicdef.h), from SDM Vol. 3A,
 * chapter 11 "Advanced Programmable Interrupt Controller (APIC)": Table
 * 10-1 lists the xAPIC registers, Table 10-6 their x2APIC MSRs.
 */
#ifndef LESSON04_LAPIC_H
#define LESSON04_LAPIC_H

#include <stdint.h>

#include "x86.h"

/** Register offsets in the xAPIC's 4 KiB MMIO page. @{ */
#define APIC_ID 0x20          /**< local APIC ID (xAPIC: bits 31:24) */
#define APIC_LVR 0x30         /**< version; bits 23:16: last LVT entry */
#define APIC_TASKPRI 0x80     /**< task priority (TPR) */
#define APIC_EOI 0xB0         /**< end of interrupt: write 0 */
#define APIC_SPIV 0xF0        /**< spurious-interrupt vector register */
#define APIC_ESR 0x280        /**< error status */
#define APIC_LVTT 0x320       /**< LVT: timer */
#define APIC_LVT0 0x350       /**< LVT: LINT0 pin */
#define APIC_LVT1 0x360       /**< LVT: LINT1 pin */
#define APIC_LVTERR 0x370     /**< LVT: error */
#define APIC_TMICT 0x380      /**< timer initial count */
#define APIC_TMCCT 0x390      /**< timer current count */
#define APIC_TDCR 0x3E0       /**< timer divide configuration */
/** @} */

/** Register bits. @{ */
#define APIC_SPIV_APIC_ENABLED BIT(8) /**< the software enable of the APIC */
#define APIC_LVT_MASKED BIT(16)       /**< LVT entry: delivery inhibited */
#define APIC_LVT_TIMER_PERIODIC BIT(17) /**< LVTT: reload TMICT at 0 */
#define APIC_TDR_DIV_1 0xB            /**< TDCR: count at the bus clock */
/** @} */

/** MSRs and CPUID bits (SDM Vol. 3A, 10.4.4 and 10.12.1). @{ */
#define MSR_IA32_APICBASE 0x1B          /**< IA32_APIC_BASE */
#define MSR_IA32_APICBASE_BSP BIT(8)    /**< this is the bootstrap processor */
#define X2APIC_ENABLE BIT(10)           /**< EXTD: x2APIC mode */
#define MSR_IA32_APICBASE_ENABLE BIT(11) /**< the global enable */
#define MSR_IA32_APICBASE_BASE 0xFFFFFF000ULL /**< physical base, bits 35:12 */
#define APIC_BASE_MSR 0x800             /**< x2APIC: MSR of register offset 0 */
#define CPUID_1_ECX_X2APIC BIT(21)      /**< CPUID.01H:ECX: x2APIC supported */
/** @} */

/** Vectors this lesson uses (priority class = vector / 16, >= 2). @{ */
#define LAPIC_TIMER_VECTOR 0x40    /**< the local APIC timer */
#define LAPIC_SPURIOUS_VECTOR 0xFF /**< spurious interrupts: no EOI */
/** @} */

/**
 * Enable the local APIC at @p madt_address (the MADT's idea of it), in
 * x2APIC mode when @p want_x2apic and CPUID offers it, else in xAPIC mode
 * through its MMIO page; mask LINT0 (the 8259s' input) and print its state.
 */
void lapic_init(uint64_t madt_address, int want_x2apic);

/** Read local APIC register @p reg (an xAPIC offset, in either mode). */
uint32_t lapic_read(uint32_t reg);

/** Write local APIC register @p reg (an xAPIC offset, in either mode). */
void lapic_write(uint32_t reg, uint32_t value);

/** This processor's local APIC ID. */
uint32_t lapic_id(void);

/** Signal the end of the interrupt being handled (not for spurious ones). */
void lapic_eoi(void);

/** Measure the APIC timer against the PIT; @return its counts per second. */
uint64_t lapic_timer_calibrate(void);

/**
 * Run the timer periodically at @p hz for @p ticks ticks, timing them with
 * the PIT, and print the rate measured. Needs lapic_timer_calibrate()'s
 * @p counts_per_second, and interrupts on. @return 0, or -1 if @p hz or
 * @p ticks cannot be run (the reason is printed).
 */
int lapic_timer_run(uint64_t counts_per_second, uint32_t hz, uint32_t ticks);

#endif
