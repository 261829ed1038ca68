/**
 * @file console.h
 * @brief The VGA text console at 0xB8000: 80x25 cells, colours, scrolling, cursor.
 * @ingroup common
 */
#ifndef KIT_CONSOLE_H
#define KIT_CONSOLE_H

#include <stdint.h>

/** @{ */
#define VGA_TEXT_BUFFER 0xB8000UL /**< physical address of colour text memory */
#define VGA_COLS 80               /**< characters per row */
#define VGA_ROWS 25               /**< rows on the screen */
/** @} */

/** The 16 colours of the VGA text palette. */
enum vga_color {
	VGA_BLACK = 0,   /**< black */
	VGA_BLUE,        /**< blue */
	VGA_GREEN,       /**< green */
	VGA_CYAN,        /**< cyan */
	VGA_RED,         /**< red */
	VGA_MAGENTA,     /**< magenta */
	VGA_BROWN,       /**< brown */
	VGA_LIGHT_GREY,  /**< light grey: the BIOS default */
	VGA_DARK_GREY,   /**< dark grey */
	VGA_LIGHT_BLUE,  /**< light blue */
	VGA_LIGHT_GREEN, /**< light green */
	VGA_LIGHT_CYAN,  /**< light cyan */
	VGA_LIGHT_RED,   /**< light red */
	VGA_PINK,        /**< pink */
	VGA_YELLOW,      /**< yellow */
	VGA_WHITE,       /**< white */
};

/**
 * Point the console at the text buffer's virtual address @p vaddr (it moves
 * once a lesson maps memory elsewhere), clear the screen and home the cursor.
 */
void console_init(uintptr_t vaddr);

/** Choose the colours of the characters printed from now on. */
void console_set_color(enum vga_color fg, enum vga_color bg);

/** Print one character: handles "\n", "\r", "\t" and "\b", scrolls at the bottom. */
void console_putc(char c);

#endif
