/**
 * @file vbe_draw.c
 * @brief Lesson 01's automaton again, one pixel a cell, in the VBE framebuffer.
 * @ingroup lesson02
 *
 * vbe_show() calls this once vbe.asm has set a mode with a linear
 * framebuffer. Paging is off and the segments are flat, so the LFB's
 * physical address (PhysBasePtr, e.g. 0xFD000000 on QEMU, 0xE0000000 on
 * Bochs) is a plain pointer: pixel (x, y) starts at
 * lfb + y * pitch + x * bytes_per_pixel. Each row of the screen is one
 * generation of the elementary automaton of lesson 01, with as many cells
 * in its ring as the screen has pixels across.
 */
#include "kprintf.h"
#include "param.h"
#include "power.h"
#include "vbe.h"
#include "x86.h"
#include "xorshift.h"

/** Patchable: the automaton's rule (Wolfram's numbering, as lesson 01). */
volatile uint8_t param_vbe_rule KIT_PARAM = 30;
/**
 * Patchable: the first row. 0: one live cell in the middle; else the bits
 * of xorshift32(seed), xorshift32 of that, ..., 32 cells per word, lowest
 * bit first.
 */
volatile uint32_t param_vbe_seed KIT_PARAM;

/** @{ */
#define VBE_MAX_CELLS 4096  /**< widest screen the row buffers hold */
#define DAC_WRITE_INDEX 0x3C8 /**< VGA DAC: the entry the next writes set */
#define DAC_DATA 0x3C9      /**< VGA DAC: red, green, blue, 6 bits each */
#define DAC_MAX 63          /**< full intensity in a 6-bit DAC entry */
#define PIXEL_DEAD 0        /**< 8 bits: the DAC entry of a dead cell */
#define PIXEL_ALIVE 1       /**< 8 bits: the DAC entry of a live cell */
/** @} */

static uint8_t cells[2][VBE_MAX_CELLS];

/** A colour field of @p size bits at bit @p pos, all ones (full intensity). */
static uint32_t field(uint8_t size, uint8_t pos)
{
	return ((1u << size) - 1) << pos;
}

/**
 * The pixel values of a dead cell (blue) and a live one (green), as the
 * mode stores them. With 8 bits a pixel is an index into the VGA DAC's
 * 256 colours, which we load ourselves rather than trust the BIOS's; with
 * more, the mode info says where each colour's bits are.
 */
static void pixel_values(const struct vbe_mode_info *mi, uint32_t *dead,
			 uint32_t *alive)
{
	if (mi->memory_model == VBE_MODEL_PACKED) {
		outb(DAC_WRITE_INDEX, PIXEL_DEAD);  /* the index auto-increments */
		outb(DAC_DATA, 0);                  /* after each blue */
		outb(DAC_DATA, 0);
		outb(DAC_DATA, DAC_MAX);
		outb(DAC_DATA, 0);                  /* PIXEL_ALIVE */
		outb(DAC_DATA, DAC_MAX);
		outb(DAC_DATA, 0);
		*dead = PIXEL_DEAD;
		*alive = PIXEL_ALIVE;
		return;
	}
	*dead = field(mi->blue_size, mi->blue_pos);
	*alive = field(mi->green_size, mi->green_pos);
}

/** Fill row @p y with the cells of @p row, little-endian pixels. */
static void draw_row(const struct vbe_mode_info *mi, unsigned int y,
		     const uint8_t *row, uint32_t dead, uint32_t alive)
{
	unsigned int bytes = (mi->bpp + 7u) / 8u;
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)mi->lfb +
			      y * vbe_pitch();

	for (unsigned int x = 0; x < mi->width; x++) {
		uint32_t v = row[x] ? alive : dead;

		for (unsigned int b = 0; b < bytes; b++)
			*p++ = (uint8_t)(v >> (8 * b));
	}
}

/** The first generation, from param_vbe_seed (see there). */
static void first_row(uint8_t *row, unsigned int width)
{
	uint32_t x = param_vbe_seed;

	for (unsigned int i = 0; i < width; i++) {
		if (param_vbe_seed == 0) {
			row[i] = (i == width / 2);
			continue;
		}
		if (i % 32 == 0)
			x = xorshift32(x);
		row[i] = (x >> (i % 32)) & 1;
	}
}

/**
 * Draw one generation per screen row, param_vbe_rule from the first row
 * param_vbe_seed gives, in the mode vbe.asm set (vbe_mode_info).
 */
void vbe_draw_automaton(void)
{
	const struct vbe_mode_info *mi = &vbe_mode_info;
	unsigned int width = mi->width, rule = param_vbe_rule;
	uint32_t dead, alive;
	uint8_t *now = cells[0], *next = cells[1], *swap;

	if (width > VBE_MAX_CELLS) {
		kprintf("vbe: %u pixels across: the automaton has room for %u\n",
			width, VBE_MAX_CELLS);
		power_off(POWER_FAIL_PARAM);
	}
	pixel_values(mi, &dead, &alive);
	first_row(now, width);
	for (unsigned int y = 0; y < mi->height; y++) {
		draw_row(mi, y, now, dead, alive);
		for (unsigned int i = 0; i < width; i++) {
			/* Lesson 01's ring: left, centre, right -> 0..7. */
			unsigned int left = now[i ? i - 1 : width - 1];
			unsigned int right = now[i + 1 < width ? i + 1 : 0];
			unsigned int pattern = left << 2 | now[i] << 1 | right;

			next[i] = (rule >> pattern) & 1;
		}
		swap = now;
		now = next;
		next = swap;
	}
	kprintf("vbe: drew rule %u from seed 0x%08x: %u generations of %u "
		"cells\n", rule, (unsigned int)param_vbe_seed, mi->height,
		width);
}
