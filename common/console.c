/**
 * @file console.c
 * @brief VGA text-mode console: writes character cells at 0xB8000.
 * @ingroup common
 *
 * The BIOS leaves the card in 80x25 colour text mode. Each cell is two bytes:
 * the character, then an attribute (background colour in the high nibble,
 * foreground in the low one). The blinking cursor is separate hardware; we
 * move it through the CRT controller's index/data ports 0x3D4/0x3D5.
 */
#include "console.h"
#include "string.h"
#include "x86.h"

#define CRTC_INDEX 0x3D4      /**< CRT controller: register index */
#define CRTC_DATA 0x3D5       /**< CRT controller: register data */
#define CRTC_CURSOR_HIGH 0x0E /**< cursor location, high byte */
#define CRTC_CURSOR_LOW 0x0F  /**< cursor location, low byte */

static volatile uint16_t *vga;  /**< the text buffer, 0 until console_init() */
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

/** An empty cell in the current colours. */
static uint16_t blank_cell(void)
{
	return (uint16_t)(attr << 8 | ' ');
}

void console_init(uintptr_t vaddr)
{
	vga = (volatile uint16_t *)vaddr;
	for (unsigned int i = 0; i < VGA_COLS * VGA_ROWS; i++)
		vga[i] = blank_cell();
	row = col = 0;
	cursor_update();
}

void console_set_color(enum vga_color fg, enum vga_color bg)
{
	attr = (uint8_t)(bg << 4 | fg);
}

/** Move every row up by one and blank the bottom row. */
static void console_scroll(void)
{
	for (unsigned int i = 0; i < VGA_COLS * (VGA_ROWS - 1); i++)
		vga[i] = vga[i + VGA_COLS];
	for (unsigned int i = 0; i < VGA_COLS; i++)
		vga[VGA_COLS * (VGA_ROWS - 1) + i] = blank_cell();
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
		vga[row * VGA_COLS + col] = (uint16_t)(attr << 8 | (uint8_t)c);
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
