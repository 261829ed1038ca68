/**
 * @file pit.h
 * @brief The 8254 programmable interval timer: a clock we know the rate of.
 * @ingroup lesson04
 *
 * Every PC has an 8254 (or its emulation) counting down at 1.193182 MHz,
 * a frequency fixed since the IBM PC (a third of the NTSC colour burst
 * crystal's 14.31818 MHz, divided by 4). That known rate makes it the
 * reference the local APIC timer is calibrated against: the APIC timer's
 * rate depends on the processor's bus clock, which nothing tells us.
 * Channel 2 (its gate reachable through port 0x61) is our clock;
 * channel 0 drives ISA IRQ 0.
 */
#ifndef LESSON04_PIT_H
#define LESSON04_PIT_H

#include <stdint.h>

/** @{ */
#define PIT_HZ 1193182        /**< input clock of every PIT channel */
#define PIT_CH0 0x40          /**< channel 0 data port: IRQ 0 */
#define PIT_CH2 0x42          /**< channel 2 data port: our clock */
#define PIT_MODE 0x43         /**< mode/command register */
#define PIT_PORT_B 0x61       /**< system control port B: channel 2's gate */
#define PIT_ISA_IRQ 0         /**< channel 0's output is ISA IRQ 0 */
/** @} */

/**
 * Start channel 2 counting down from 0xFFFF, forever: after 0 it wraps
 * around. The difference of two readings, modulo 2^16, is the time
 * between them in PIT clocks, for intervals up to 54.9 ms.
 */
void pit_clock_start(void);

/** Channel 2's current count. */
uint16_t pit_clock_read(void);

/** Run channel 0 as a rate generator (mode 2): an IRQ 0 edge every
 * @p count input clocks. */
void pit_periodic_start(uint16_t count);

/**
 * Spin until @p us microseconds have passed on channel 2 (restarted by
 * pit_clock_start()), or sooner, once @p flag (if not NULL) is non-zero.
 * Interrupts keep arriving meanwhile if they are on. @return *flag, or 0
 * without one.
 */
uint32_t pit_wait_us(uint32_t us, volatile uint32_t *flag);

#endif
