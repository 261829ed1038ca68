/**
 * @file main.c
 * @brief Lesson 02's kernel: the first C code of the course.
 * @ingroup lesson02
 *
 * entry.asm has put the CPU in 32-bit protected mode with flat segments, a
 * stack and a zeroed .bss. The BIOS is gone; everything from here on talks to
 * the hardware directly. This file reads like the lesson's table of contents.
 */
#include "boot.h"
#include "console.h"
#include "kprintf.h"
#include "power.h"
#include "serial.h"
#include "vbe.h"

/** The 32-bit program: called by entry.asm; never returns. */
void pm_main(void);

void pm_main(void)
{
	serial_init();
	console_init(VGA_TEXT_BUFFER);
	kprintf("Lesson 02: 32-bit protected mode (booted from drive 0x%02x)\n",
		boot_drive);
	a20_report();
	e820_print();
	gdt_print();
	cpu_print_state();
	vbe_show();
	power_off(POWER_PASS);
}
