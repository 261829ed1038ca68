/**
 * @file console.c
 * @brief VGA text-mode console: writes character cells at 0xB8000.
 * @ingroup common
 *
 * The BIOS leaves the card in 80x25 colour text mode. Each cell is two bytes:
 * the character, then an attribute (background colour in the high nibble,
 * foreground in the low one). The blinking cursor is separate hardware; we
 * move it through the CRT controller's index/data ports 0x3D4/0x3D5.
 *
 * The text buffer is video memory, not RAM: under an emulator every access
 * to it is a call into the VGA device's model, and a scroll that read and
 * rewrote it cell by cell cost more than all the characters printed. So
 * the console keeps a copy of the screen in RAM, scrolls the copy, and
 * writes out, in 8-byte stores, only the cells that changed: no reads, and
 * a small part of the writes.
 */
#include "console.h"
#include "string.h"
#include "x86.h"

#define CRTC_INDEX 0x3D4      /**< CRT controller: register index */
#define CRTC_DATA 0x3D5       /**< CRT controller: register data */
#define CRTC_CURSOR_HIGH 0x0E /**< cursor location, high byte */
#define CRTC_CURSOR_LOW 0x0F  /**< cursor location, low byte */

static volatile uint16_t *vga;  /**< the text buffer, 0 until console_init() */
/** What the text buffer holds, in RAM; aligned to copy it 8 bytes at a time. */
static uint16_t screen[VGA_COLS * VGA_ROWS] __attribute__((aligned(8)));
static unsigned int row, col;   /**< where the next character goes */
/** Colour of new characters: background high nibble, foreground low. */
static uint8_t attr = (VGA_BLACK << 4) | VGA_LIGHT_GREY;

/** Move the blinking hardware cursor to (row, col). */
static void cursor_update(void)
{
	uint16_t pos = (uint16_t)(row * VGA_COLS + col);

	outb(CRTC_INDEX, CRTC_CURSOR_HIGH);
	outb(CRTC_DATA, (uint8_t)(pos >> 8));
	outb(CRTC_INDEX, CRTC_CURSOR_LOW);
	outb(CRTC_DATA, (uint8_t)pos);
}

/** Write the whole copy out to the text buffer, four cells a store. */
static void screen_flush(void)
{
	const uint64_t *from = (const uint64_t *)screen;
	volatile uint64_t *to = (volatile uint64_t *)vga;

	for (unsigned int i = 0; i < sizeof(screen) / sizeof(*to); i++)
		to[i] = from[i];
}

/** An empty cell in the current colours. */
static uint16_t blank_cell(void)
{
	return (uint16_t)(attr << 8 | ' ');
}

void console_init(uintptr_t vaddr)
{
	vga = (volatile uint16_t *)vaddr;
	for (unsigned int i = 0; i < VGA_COLS * VGA_ROWS; i++)
		screen[i] = blank_cell();
	screen_flush();
	row = col = 0;
	cursor_update();
}

void console_set_color(enum vga_color fg, enum vga_color bg)
{
	attr = (uint8_t)(bg << 4 | fg);
}

/**
 * Move every row up by one and blank the bottom row, in the copy and on
 * the screen. Only the 8-byte groups of cells that change are written:
 * rows share their blank ends and many their first words.
 */
static void console_scroll(void)
{
	uint64_t *cells = (uint64_t *)screen;
	volatile uint64_t *to = (volatile uint64_t *)vga;
	const unsigned int per_row = VGA_COLS * sizeof(*screen) / sizeof(*cells);
	const unsigned int total = sizeof(screen) / sizeof(*cells);
	uint64_t blank = blank_cell() * 0x0001000100010001ULL;
	uint64_t next;

	for (unsigned int i = 0; i < total; i++) {
		next = i + per_row < total ? cells[i + per_row] : blank;
		if (cells[i] != next) {
			cells[i] = next;
			to[i] = next;
		}
	}
	row = VGA_ROWS - 1;
}

void console_putc(char c)
{
	if (!vga)
		return;         /* not initialised: serial output only */
	switch (c) {
	case '\n':
		col = 0;
		row++;
		break;
	case '\r':
		col = 0;
		break;
	case '\t':
		col = (col + 8) & ~7u;
		break;
	case '\b':
		if (col > 0)
			col--;
		break;
	default:
		screen[row * VGA_COLS + col] = (uint16_t)(attr << 8 | (uint8_t)c);
		vga[row * VGA_COLS + col] = screen[row * VGA_COLS + col];
		col++;
	}
	if (col >= VGA_COLS) {  /* wrap long lines */
		col = 0;
		row++;
	}
	if (row >= VGA_ROWS)
		console_scroll();
	/*
	 * Moving the hardware cursor costs four port writes, more than the
	 * character itself under emulation: do it once a line.
	 */
	if (c == '\n')
		cursor_update();
}
