/**
 * @file frames.h
 * @brief The physical frame allocator: a buddy allocator built from E820.
 * @ingroup lesson04
 *
 * A frame is a 4 KiB page of physical memory, the smallest page a
 * page-table entry maps (SDM Vol. 3A, 4.5 "4-Level Paging": a PTE holds
 * its address bits 51:12). frames_init() takes every range the BIOS's
 * E820 map calls usable (lesson 02's e820.asm read it in real mode), keeps
 * out everything from physical 0 up to the end of the kernel's image and
 * .bss, and hands the rest out in blocks of 2^order frames, order 0
 * (4 KiB) to FRAMES_MAX_ORDER (4 MiB). vmm.c takes its page
 * tables and demand-mapped pages from here instead of a fixed pool.
 *
 * The policy, which the harness models in Python (tests/test_04_frames.py):
 *  - a block of order k starts at a multiple of 2^k frames; its "buddy" is
 *    the block of the same order it was split from, its address with bit
 *    (12 + k) flipped;
 *  - frames_alloc(k) takes the lowest-addressed free block of the smallest
 *    order >= k that has one, and splits it, keeping the lower half and
 *    freeing the upper one, until it is of order k;
 *  - frames_free() joins a block with its buddy as long as the buddy is
 *    free and whole, so no two free buddies ever stay apart.
 */
#ifndef LESSON04_FRAMES_H
#define LESSON04_FRAMES_H

#include <stdint.h>

/** @{ */
#define FRAMES_MAX_ORDER 10         /**< the largest block: 2^10 frames, 4 MiB */
#define FRAMES_LIMIT 0x40000000ULL  /**< frames end below 1 GiB, the part of
				       RAM lesson 03 maps at KERNEL_VMA */
#define FRAMES_MAX_REGIONS 8        /**< usable ranges kept from E820 */
/** @} */

/** Build the allocator from the E820 map; prints nothing. Panics if no
 * usable range can hold the allocator's own bitmaps. */
void frames_init(void);

/** Print one line: the regions managed, where the bitmaps sit, the number
 * of free frames. */
void frames_report(void);

/** The physical address of a free block of 2^@p order frames, now
 * allocated (not zeroed); 0 if there is none. */
uint64_t frames_alloc(unsigned int order);

/** Give back the block of 2^@p order frames at physical @p base, which
 * frames_alloc(@p order) returned. Panics on a block that is misaligned,
 * outside every region, or (partly) free already. */
void frames_free(uint64_t base, unsigned int order);

/** How many frames are free now. */
uint64_t frames_free_count(void);

/** How many free blocks of order @p order there are now. */
uint64_t frames_free_blocks(unsigned int order);

/** Run the stress scenario the harness patched in (param_frames_steps
 * mixed-order allocations and frees); does nothing when it is 0, the
 * default. @return 0, or -1 on a bad parameter (after a one-line error). */
int frames_stress(void);

#endif
