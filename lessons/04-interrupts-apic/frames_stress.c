/**
 * @file frames_stress.c
 * @brief A patchable stress run of the frame allocator: mixed-order
 * allocations and frees, summed up in a digest the harness recomputes.
 * @ingroup lesson04
 *
 * main.c calls frames_stress() after frames_init(). With the default
 * param_frames_steps = 0 it does nothing. The harness patches a step
 * count, a seed and the largest order, and runs the same steps in a Python
 * model of the buddy policy (frames.h): the guest's digest of every
 * address it got, its counts and its free blocks by order must be the
 * model's, to the bit.
 *
 * Each step draws from xorshift32 (xorshift.h). Two times in three it
 * allocates a block of a random order (if a slot is left to remember it),
 * otherwise it frees a random block it holds.
 */
#include "frames.h"
#include "kprintf.h"
#include "param.h"
#include "x86.h"           /* BIT(), which paging.h uses */
#include "paging.h"
#include "xorshift.h"

/** @{ */
#define STRESS_SLOTS 64             /**< blocks held at once, at most */
#define STRESS_MAX_STEPS 100000     /**< keeps a run within seconds */
#define FNV_OFFSET 0xcbf29ce484222325ULL /**< FNV-1's 64-bit start value */
#define FNV_PRIME 0x100000001b3ULL         /**< and its 64-bit prime */
/** @} */

/** Patchable: the number of steps; 0 (the default) skips the run. */
volatile uint32_t param_frames_steps KIT_PARAM = 0;
/** Patchable: xorshift32's seed, not 0. */
volatile uint32_t param_frames_seed KIT_PARAM = 1;
/** Patchable: the largest order a step asks for, 0..FRAMES_MAX_ORDER. */
volatile uint8_t param_frames_max_order KIT_PARAM = 4;

/** A block the run holds. */
struct held {
	uint64_t base;
	unsigned int order;
};

/** The next word of the run's xorshift32 sequence (xorshift.h). */
static uint32_t next(uint32_t *state)
{
	return *state = xorshift32(*state);
}

/** Free what the run still holds, then print the free blocks by order. */
static void give_back(struct held *held, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++)
		frames_free(held[i].base, held[i].order);
	kprintf("frames: stress: all freed: %llu free pages, blocks by order:",
		(unsigned long long)frames_free_count());
	for (unsigned int k = 0; k <= FRAMES_MAX_ORDER; k++)
		kprintf(" %llu", (unsigned long long)frames_free_blocks(k));
	kprintf("\n");
}

int frames_stress(void)
{
	static struct held held[STRESS_SLOTS];
	uint32_t steps = param_frames_steps, state = param_frames_seed;
	unsigned int max_order = param_frames_max_order, count = 0;
	uint32_t allocs = 0, failed = 0, frees = 0;
	uint64_t digest = FNV_OFFSET, lowest = ~0ULL, highest = 0;

	if (!steps)
		return 0;
	if (steps > STRESS_MAX_STEPS || !state || max_order > FRAMES_MAX_ORDER) {
		kprintf("frames: stress: frames_steps %u (1..%u), frames_seed %u "
			"(not 0), frames_max_order %u (0..%u): out of range\n",
			steps, STRESS_MAX_STEPS, state, max_order,
			FRAMES_MAX_ORDER);
		return -1;
	}
	for (uint32_t step = 0; step < steps; step++) {
		int take = count == 0 ||
			   (count < STRESS_SLOTS && next(&state) % 3 != 0);

		if (take) {
			unsigned int order = next(&state) % (max_order + 1);
			uint64_t base = frames_alloc(order);

			/* FNV-1a style, one 64-bit word a step: the sequence
			 * matters, the order (in the base's zero low bits) and
			 * a failure (0) too. */
			digest = (digest ^ (base | order)) * FNV_PRIME;
			if (!base) {
				failed++;
				continue;
			}
			allocs++;
			held[count++] = (struct held){ base, order };
			if (base < lowest)
				lowest = base;
			if (base + (PAGE_SIZE << order) > highest)
				highest = base + (PAGE_SIZE << order);
		} else {
			unsigned int i = next(&state) % count;

			frames_free(held[i].base, held[i].order);
			held[i] = held[--count];    /* the last fills the gap */
			frees++;
		}
	}
	kprintf("frames: stress: seed %u, %u steps, orders 0-%u: %u allocated "
		"(%u failed), %u freed, digest 0x%016llx, lowest 0x%llx, "
		"highest end 0x%llx, %llu free pages\n", param_frames_seed,
		steps, max_order, allocs, failed, frees,
		(unsigned long long)digest,
		(unsigned long long)(allocs ? lowest : 0),
		(unsigned long long)highest,
		(unsigned long long)frames_free_count());
	give_back(held, count);
	return 0;
}
