/**
 * @file frames.c
 * @brief A buddy allocator of physical frames, built from the E820 map.
 * @ingroup lesson04
 *
 * Boot chain: lesson 02's e820.asm asked the BIOS for the memory map in
 * real mode and left it in e820_map; lesson 03 mapped the first GiB at
 * KERNEL_VMA; main.c calls frames_init() once the IDT can report a fault,
 * before anything needs a page. Until then nothing was allocated at run
 * time: every table and stack so far is in the image's .bss.
 *
 * The bookkeeping is one bitmap per order: bit i of order k's bitmap is set
 * when frames i * 2^k .. (i + 1) * 2^k - 1 form one free block of order k.
 * A free frame is covered by exactly one set bit, in the largest block it
 * belongs to. Finding the buddy is flipping bit 0 of i; finding the lowest
 * free block is finding the first set bit. The bitmaps cover frames 0 up
 * to the end of the highest usable range, about two bits a frame (1 + 1/2
 * + 1/4 ...): 64 KiB for the whole first GiB, sized for the machine only
 * now, and too much to add to an image that must end below LOAD_LIMIT
 * (lesson 11's already takes 356 KiB of the 480). So the allocator's first
 * allocation is its own: a few frames of the first usable range that fits
 * them, taken before any block is free.
 */
#include "boot.h"
#include "frames.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "string.h"

/** The first physical byte after the image's .bss and .boot.bss, its
 * page tables and stacks (kernel64.ld). */
extern char __bss_end[];

/** A range of usable frames: [base, end), both page-aligned. */
struct frames_region {
	uint64_t base;  /**< its first frame's address */
	uint64_t end;   /**< the address after its last frame */
};

static struct frames_region regions[FRAMES_MAX_REGIONS];
static unsigned int region_count;
static uint64_t map_base;                 /**< physical: the bitmaps */
static uint64_t map_pages;                /**< their size in frames */
static uint64_t *bitmap[FRAMES_MAX_ORDER + 1];   /**< one per order */
static uint64_t bitmap_bits[FRAMES_MAX_ORDER + 1]; /**< blocks per order */
static uint64_t free_frames;              /**< frames in free blocks */

/** @p x rounded up to a whole frame. */
static uint64_t align_up(uint64_t x)
{
	return (x + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
}

/** @p x rounded down to a whole frame. */
static uint64_t align_down(uint64_t x)
{
	return x & ~(uint64_t)(PAGE_SIZE - 1);
}

/** Non-zero if block @p index of @p order is free and whole. */
static int is_free(unsigned int order, uint64_t index)
{
	if (index >= bitmap_bits[order])
		return 0;               /* past the top of RAM: never free */
	return bitmap[order][index / 64] >> (index % 64) & 1;
}

/** Set (@p free) or clear the bit of block @p index of @p order. */
static void mark(unsigned int order, uint64_t index, int free)
{
	uint64_t bit = 1ULL << (index % 64);

	if (free)
		bitmap[order][index / 64] |= bit;
	else
		bitmap[order][index / 64] &= ~bit;
}

/**
 * Free block @p index of @p order, joining it with its buddy for as long
 * as the buddy is free too: the two halves of a block of order k + 1 are
 * never both free at order k.
 */
static void free_block(unsigned int order, uint64_t index)
{
	free_frames += 1ULL << order;
	while (order < FRAMES_MAX_ORDER && is_free(order, index ^ 1)) {
		mark(order, index ^ 1, 0);
		index >>= 1;            /* the joined block, one order up */
		order++;
	}
	mark(order, index, 1);
}

/** Free the frames of [base, end) as the largest aligned blocks that fit. */
static void free_range(uint64_t base, uint64_t end)
{
	uint64_t frame = base / PAGE_SIZE, last = end / PAGE_SIZE;

	while (frame < last) {
		unsigned int order = FRAMES_MAX_ORDER;

		while (order > 0 && ((frame & ((1ULL << order) - 1)) ||
				     frame + (1ULL << order) > last))
			order--;
		free_block(order, frame >> order);
		frame += 1ULL << order;
	}
}

/** Non-zero if [base, end) overlaps a region kept already. */
static int overlaps(uint64_t base, uint64_t end)
{
	for (unsigned int i = 0; i < region_count; i++)
		if (base < regions[i].end && regions[i].base < end)
			return 1;
	return 0;
}

/** Keep the usable E820 ranges, page-aligned inside, cut below 1 GiB and
 * above the kernel; return the end of the highest one. E820 promises no
 * order and, on some firmware, lists RAM twice: a range that overlaps one
 * kept already is left out, or its frames would be freed twice. (ACPI
 * 6.5, 15 "System Address Map Interfaces", defines the map and its types.)
 */
static uint64_t collect_regions(void)
{
	uint64_t kernel_end = align_up((uint64_t)(uintptr_t)__bss_end);
	uint64_t top = 0;

	/* Below kernel_end lie the real-mode IVT and BIOS data area, the
	 * boot sector and loader, and our image: none of it is ours to give. */
	for (unsigned int i = 0; i < e820_count; i++) {
		const struct e820_entry *e = &e820_map[i];
		uint64_t base = align_up(e->base);
		uint64_t end = align_down(e->base + e->length);

		if (e->type != E820_USABLE)
			continue;
		if (base < kernel_end)
			base = kernel_end;
		if (end > FRAMES_LIMIT)
			end = FRAMES_LIMIT;
		if (base >= end || region_count == FRAMES_MAX_REGIONS ||
		    overlaps(base, end))
			continue;
		regions[region_count++] = (struct frames_region){ base, end };
		if (end > top)
			top = end;
	}
	return top;
}

/** Size the bitmaps for frames 0 .. @p top, take their frames from the
 * first region with room, and point bitmap[] into them, zeroed. */
static void place_bitmaps(uint64_t top)
{
	uint64_t words = 0;
	uint64_t *map;

	for (unsigned int k = 0; k <= FRAMES_MAX_ORDER; k++) {
		/* Every block that starts below top, even one that runs past. */
		bitmap_bits[k] = ((top / PAGE_SIZE) + (1ULL << k) - 1) >> k;
		words += (bitmap_bits[k] + 63) / 64;
	}
	map_pages = align_up(words * 8) / PAGE_SIZE;
	for (unsigned int i = 0; i < region_count && !map_base; i++)
		if (regions[i].end - regions[i].base >= map_pages * PAGE_SIZE)
			map_base = regions[i].base;
	if (!map_base)
		panic("frames: no usable range holds %llu pages of bitmaps",
		      (unsigned long long)map_pages);
	/* Below 1 GiB, so the higher half maps it (lesson 03). */
	map = phys_to_virt(map_base);
	memset(map, 0, map_pages * PAGE_SIZE);
	for (unsigned int k = 0; k <= FRAMES_MAX_ORDER; k++) {
		bitmap[k] = map;
		map += (bitmap_bits[k] + 63) / 64;
	}
}

void frames_init(void)
{
	uint64_t top = collect_regions();

	if (!region_count)
		panic("frames: E820 lists no usable RAM above the kernel");
	place_bitmaps(top);
	for (unsigned int i = 0; i < region_count; i++) {
		uint64_t base = regions[i].base;

		if (base == map_base)   /* the bitmaps keep their frames */
			base += map_pages * PAGE_SIZE;
		free_range(base, regions[i].end);
	}
}

void frames_report(void)
{
	kprintf("frames: %u regions:", region_count);
	for (unsigned int i = 0; i < region_count; i++)
		kprintf(" 0x%llx-0x%llx", (unsigned long long)regions[i].base,
			(unsigned long long)regions[i].end);
	kprintf("; bitmaps: %llu page(s) at 0x%llx; %llu free pages\n",
		(unsigned long long)map_pages, (unsigned long long)map_base,
		(unsigned long long)free_frames);
}

uint64_t frames_alloc(unsigned int order)
{
	for (unsigned int k = order; k <= FRAMES_MAX_ORDER; k++) {
		uint64_t words = (bitmap_bits[k] + 63) / 64;

		for (uint64_t w = 0; w < words; w++) {
			uint64_t index;

			if (!bitmap[k][w])
				continue;
			index = w * 64 + __builtin_ctzll(bitmap[k][w]);
			mark(k, index, 0);
			/* Split down to the order asked for: each step frees
			 * the upper half, the lower one is split further. */
			while (k > order) {
				k--;
				index <<= 1;
				mark(k, index + 1, 1);
			}
			free_frames -= 1ULL << order;
			return (index << order) * PAGE_SIZE;
		}
	}
	return 0;
}

void frames_free(uint64_t base, unsigned int order)
{
	uint64_t frame = base / PAGE_SIZE, size = PAGE_SIZE << order;
	int inside = 0;

	if (order > FRAMES_MAX_ORDER || base % size)
		panic("frames: free of 0x%llx, not a block of order %u",
		      (unsigned long long)base, order);
	for (unsigned int i = 0; i < region_count; i++)
		if (base >= regions[i].base && base + size <= regions[i].end)
			inside = 1;
	if (!inside || (base >= map_base &&
			base < map_base + map_pages * PAGE_SIZE))
		panic("frames: free of 0x%llx, which is not ours",
		      (unsigned long long)base);
	/* Free already: the block itself, a larger free block holding it, or
	 * a smaller one inside it (2^(order - k) blocks of each order k)? */
	for (unsigned int k = 0; k <= FRAMES_MAX_ORDER; k++) {
		uint64_t first = frame >> k;
		uint64_t count = k < order ? 1ULL << (order - k) : 1;

		for (uint64_t i = first; i < first + count; i++)
			if (is_free(k, i))
				panic("frames: 0x%llx (order %u) freed twice",
				      (unsigned long long)base, order);
	}
	free_block(order, frame >> order);
}

uint64_t frames_free_count(void)
{
	return free_frames;
}

uint64_t frames_free_blocks(unsigned int order)
{
	uint64_t count = 0, words = (bitmap_bits[order] + 63) / 64;

	for (uint64_t w = 0; w < words; w++)
		for (uint64_t bits = bitmap[order][w]; bits; bits &= bits - 1)
			count++;        /* clears the lowest set bit */
	return count;
}
