/**
 * @file slice_timer.h
 * @brief Time slices from the local APIC timer, in TSC ticks.
 * @ingroup lesson11
 *
 * SVM has no VMX-preemption timer: a slice ends when a real interrupt
 * comes and the INTR intercept turns it into #VMEXIT INTR (AMD64 APM
 * Vol. 2, 15.21). The interrupt is lesson 04's LAPIC timer in one-shot
 * mode (SDM Vol. 3A, 10.5.4), counting only while a VM runs: started
 * before VMRUN with what is left of the slice, stopped after #VMEXIT.
 */
#ifndef LESSON11_SLICE_TIMER_H
#define LESSON11_SLICE_TIMER_H

#include <stdint.h>

/** Mask the 8259s, enable the LAPIC, take its timer's vector, and
 * measure the LAPIC timer's rate against the TSC's. */
void slice_timer_init(void);

/** @p tsc TSC ticks in LAPIC counts (at least 1), by that measurement. */
uint32_t slice_timer_counts(uint64_t tsc);

/** Count down @p counts (never 0: 0 stops the timer), then interrupt. */
void slice_timer_start(uint32_t counts);

/** Stop the count. @return the counts that were left (0: it expired). */
uint32_t slice_timer_stop(void);

#endif
