/**
 * @file lapic_timer.c
 * @brief Calibrate the local APIC timer against the PIT, then run it.
 * @ingroup lesson04
 *
 * The APIC timer counts down from an initial count (TMICT) at the bus clock
 * divided by TDCR, and interrupts through its LVT entry when it reaches 0;
 * in periodic mode it then reloads itself (SDM Vol. 3A, 10.5.4). Nothing
 * architectural tells software the bus clock, so we measure it: let the
 * timer run for a known time, 2 ms of PIT, and see how far it counted.
 * The periodic tick is then checked the same way: N ticks are timed on the
 * PIT and the rate is printed next to the one programmed.
 */
#include "kprintf.h"
#include "lapic.h"
#include "pit.h"
#include "trap.h"

/** @{ */
#define CALIBRATION_HZ 500    /**< calibrate over 1/500 s of PIT time */
#define PAIR_SPREAD 4         /**< PIT clocks a reading pair may span */
#define MIN_HZ 20             /**< slowest rate: ticks < 54.9 ms apart */
/** @} */

static volatile uint32_t ticks;         /**< timer interrupts so far */
static uint32_t stamp_from;             /**< the tick the measurement starts at */
static uint32_t stamp_to;               /**< and the one it ends at */
static uint16_t pit_last;               /**< the PIT at the last tick */
static uint64_t pit_clocks;             /**< PIT clocks since stamp_from */
static uint32_t late_from;              /**< APIC counts since stamp_from's tick */
static uint32_t late_to;                /**< APIC counts since stamp_to's tick */

/**
 * The timer's interrupt: count it and acknowledge it. From tick stamp_from
 * to stamp_to it also adds up PIT time, tick by tick (the PIT's 16 bits
 * last 54.9 ms, so each step must be shorter: hence MIN_HZ), and at both
 * ends notes how late the handler runs: in periodic mode the current count
 * restarts from the initial count at each tick, so initial - current is the
 * time since the tick, in APIC counts (an emulator on a busy host can
 * deliver interrupts quite late).
 */
static int on_timer(struct trap_frame *frame)
{
	uint16_t now = pit_clock_read();
	uint32_t late = lapic_read(APIC_TMICT) - lapic_read(APIC_TMCCT);

	(void)frame;
	ticks++;
	if (ticks == stamp_from) {
		pit_clocks = 0;
		late_from = late;
	} else if (ticks > stamp_from && ticks <= stamp_to) {
		pit_clocks += (uint16_t)(pit_last - now);       /* counts down */
		late_to = late;
	}
	pit_last = now;
	lapic_eoi();
	return 1;
}

/**
 * Read the APIC timer between two PIT readings and return the PIT time in
 * the middle; retry while the two PIT readings are too far apart (we were
 * delayed between them: by an SMI, a cache miss, an emulator translating
 * new code).
 */
static uint16_t read_pair(uint32_t *apic)
{
	uint16_t before, after;

	for (int tries = 0; tries < 8; tries++) {
		before = pit_clock_read();
		*apic = lapic_read(APIC_TMCCT);
		after = pit_clock_read();
		if ((uint16_t)(before - after) <= PAIR_SPREAD)
			break;
	}
	return before - (uint16_t)(before - after) / 2;
}

uint64_t lapic_timer_calibrate(void)
{
	/* 2386 PIT clocks. Each end is dated within PAIR_SPREAD / 2 clocks,
	 * so the rate is off by at most 4 / 2386, 0.17%: well inside the 1%
	 * the tests allow, and 10 ms (the window this lesson used first)
	 * would make the boot wait 8 ms longer for an error it does not
	 * have. */
	uint16_t window = PIT_HZ / CALIBRATION_HZ;
	uint16_t pit0, pit1;
	uint32_t apic0, apic1;
	uint64_t per_second;

	lapic_write(APIC_TDCR, APIC_TDR_DIV_1);
	/* One-shot and masked: we only want to read the count, no interrupt. */
	lapic_write(APIC_LVTT, APIC_LVT_MASKED | LAPIC_TIMER_VECTOR);
	lapic_write(APIC_TMICT, 0xFFFFFFFF);
	pit_clock_start();
	pit0 = read_pair(&apic0);
	do
		pit1 = read_pair(&apic1);
	while ((uint16_t)(pit0 - pit1) < window);
	lapic_write(APIC_TMICT, 0);                     /* stop it */

	per_second = (uint64_t)(apic0 - apic1) * PIT_HZ / (uint16_t)(pit0 - pit1);
	kprintf("lapic timer: %u counts in %u PIT clocks: %llu Hz (divide by "
		"1: the bus clock)\n", apic0 - apic1, (uint16_t)(pit0 - pit1),
		(unsigned long long)per_second);
	return per_second;
}

int lapic_timer_run(uint64_t counts_per_second, uint32_t hz, uint32_t n)
{
	uint64_t initial = hz ? counts_per_second / hz : 0;
	int64_t elapsed;
	uint64_t millihz;

	if (hz < MIN_HZ || n == 0 || initial == 0 || initial > 0xFFFFFFFF) {
		kprintf("lapic timer: cannot run %u ticks at %u Hz: the rate must "
			"be %u Hz or more, and fit the timer\n", n, hz, MIN_HZ);
		return -1;
	}
	trap_register(LAPIC_TIMER_VECTOR, on_timer);
	kprintf("lapic timer: periodic, vector 0x%x, initial count %llu: %u Hz "
		"programmed\n", LAPIC_TIMER_VECTOR, (unsigned long long)initial,
		hz);
	/* The first tick only warms up the handler; time the n periods from
	 * tick 2 to tick 2 + n. */
	ticks = 0;
	stamp_from = 2;
	stamp_to = 2 + n;
	pit_clock_start();
	lapic_write(APIC_TDCR, APIC_TDR_DIV_1);
	lapic_write(APIC_LVTT, APIC_LVT_TIMER_PERIODIC | LAPIC_TIMER_VECTOR);
	lapic_write(APIC_TMICT, (uint32_t)initial);
	trap_wait_for(&ticks, stamp_to);
	lapic_write(APIC_LVTT, APIC_LVT_MASKED | LAPIC_TIMER_VECTOR);
	lapic_write(APIC_TMICT, 0);

	/* From the first tick to the last, in PIT clocks: the time between
	 * the two handlers, plus how late the first was, minus how late the
	 * last was. */
	elapsed = (int64_t)pit_clocks + ((int64_t)late_from - late_to) *
		  PIT_HZ / (int64_t)counts_per_second;
	if (elapsed <= 0) {
		kprintf("lapic timer: %u ticks took no PIT time: is channel 2 "
			"counting?\n", n);
		return -1;
	}
	millihz = (uint64_t)n * PIT_HZ * 1000 / elapsed;
	kprintf("lapic timer: %u ticks in %llu PIT clocks (%llu us): measured "
		"%llu.%03llu Hz, programmed %u Hz\n", n,
		(unsigned long long)elapsed,
		(unsigned long long)(elapsed * 1000000 / PIT_HZ),
		(unsigned long long)(millihz / 1000),
		(unsigned long long)(millihz % 1000), hz);
	return 0;
}
