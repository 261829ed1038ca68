/**
 * @file kprintf.h
 * @brief The kit's own freestanding printf family.
 * @ingroup common
 *
 * Every lesson after the boot sector prints through these functions. There is
 * no C library underneath us, so the formatting engine is written here, in
 * common/printf.c, and unit-tested on the host against Python's % operator.
 *
 * Supported conversions: %c %s %d %i %u %x %X %p %%, the length modifiers
 * `l` and `ll`, a field width (digits or `*`), the `0` flag (zero padding) and
 * the `-` flag (left alignment). Anything else is copied to the output as-is,
 * so a typo in a format string shows up on the screen instead of crashing.
 */
#ifndef KIT_KPRINTF_H
#define KIT_KPRINTF_H

#include <stdarg.h>
#include <stddef.h>

/**
 * Format into @p buf, writing at most @p size bytes including the final NUL.
 * @return the length the full output would have had (as C99 vsnprintf), so a
 *         return value >= @p size means the output was truncated.
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/** kvsnprintf() with the arguments given directly. */
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Format and send every character to kputc(): the serial port and, when the
 * lesson has one, the VGA console.
 * @return the number of characters printed.
 */
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** kprintf() taking a va_list. */
int kvprintf(const char *fmt, va_list ap);

/**
 * The output hook used by kprintf(). Defined in common/kputc.c: it writes to
 * COM1 and mirrors the character on the VGA text console.
 */
void kputc(char c);

#endif
