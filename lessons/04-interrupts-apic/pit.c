/**
 * @file pit.c
 * @brief Program two channels of the 8254 PIT: a clock and IRQ 0.
 * @ingroup lesson04
 *
 * A mode byte written to port 0x43 selects the channel, how its 16-bit
 * count is transferred (low byte then high byte) and its mode; the count
 * then follows on the channel's data port (Intel 8254 datasheet; OSDev
 * wiki "Programmable Interval Timer").
 */
#include "pit.h"
#include "x86.h"

/** @{ */
#define PIT_SEL_CH0 (0 << 6)      /**< mode byte: channel 0 */
#define PIT_SEL_CH2 (2 << 6)      /**< mode byte: channel 2 */
#define PIT_LATCH (0 << 4)        /**< mode byte: latch the count to read it */
#define PIT_LOHI (3 << 4)         /**< mode byte: low byte, then high byte */
#define PIT_MODE0 (0 << 1)        /**< interrupt on terminal count */
#define PIT_MODE2 (2 << 1)        /**< rate generator: periodic */
#define PORT_B_GATE2 BIT(0)       /**< port B: channel 2 gate (counts when 1) */
#define PORT_B_SPEAKER BIT(1)     /**< port B: speaker follows channel 2 */
/** @} */

void pit_clock_start(void)
{
	/* Gate on, speaker off: we want the count, not a beep. */
	outb(PIT_PORT_B, (inb(PIT_PORT_B) & ~PORT_B_SPEAKER) | PORT_B_GATE2);
	/* Mode 0 counts down once to 0 and, with nothing reloaded, goes on
	 * from 0xFFFF: a free-running 16-bit counter. */
	outb(PIT_MODE, PIT_SEL_CH2 | PIT_LOHI | PIT_MODE0);
	outb(PIT_CH2, 0xFF);
	outb(PIT_CH2, 0xFF);            /* counting starts now */
}

uint16_t pit_clock_read(void)
{
	uint8_t lo, hi;

	/* Latching freezes a copy of the count, so that its two bytes are
	 * read from the same instant even while the counter keeps going. */
	outb(PIT_MODE, PIT_SEL_CH2 | PIT_LATCH);
	lo = inb(PIT_CH2);
	hi = inb(PIT_CH2);
	return (uint16_t)(hi << 8 | lo);
}

void pit_periodic_start(uint16_t count)
{
	outb(PIT_MODE, PIT_SEL_CH0 | PIT_LOHI | PIT_MODE2);
	outb(PIT_CH0, count & 0xFF);
	outb(PIT_CH0, count >> 8);
}

uint32_t pit_wait_us(uint32_t us, volatile uint32_t *flag)
{
	uint64_t goal = (uint64_t)us * PIT_HZ / 1000000, elapsed = 0;
	uint16_t last, now;

	pit_clock_start();
	last = pit_clock_read();
	while (elapsed < goal && !(flag && *flag)) {
		now = pit_clock_read();
		elapsed += (uint16_t)(last - now);  /* it counts down, mod 2^16 */
		last = now;
	}
	return flag ? *flag : 0;
}
