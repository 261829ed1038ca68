/**
 * @file xorshift.h
 * @brief xorshift32: the pseudo-random words a lesson draws from a seed.
 * @ingroup common
 *
 * George Marsaglia's generator (2003): three shifts and XORs, a full period
 * of 2^32 - 1 for any seed but 0. A test patches the seed in and its own
 * Python model draws the same words, so it can predict what the lesson
 * did with them: lesson 02's automaton on the VBE screen (vbe_draw.c),
 * lesson 04's frame allocator stress run (frames_stress.c).
 */
#ifndef KIT_XORSHIFT_H
#define KIT_XORSHIFT_H

#include <stdint.h>

/** The word after @p x (not 0). */
static inline uint32_t xorshift32(uint32_t x)
{
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

#endif
