/**
 * @file kputc.c
 * @brief Where kprintf() output goes: COM1 first, the VGA console as a mirror.
 * @ingroup common
 */
#include "console.h"
#include "kprintf.h"
#include "serial.h"

void kputc(char c)
{
	serial_putc(c);
	console_putc(c);
}
