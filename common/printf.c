/**
 * @file printf.c
 * @brief The formatting engine behind kprintf() and ksnprintf().
 * @ingroup common
 *
 * Every C part of every lesson prints through this file, from the first
 * protected-mode kernel to the 64-bit hypervisor, so it needs nothing at all:
 * no C library, no libgcc, no interrupts, no memory allocator. It is built
 * three ways: -m32 and -m64 freestanding for the kernels, and for the host by
 * harness/tests/test_00_printf.py, which checks it against Python's %.
 *
 * One engine, format(), walks the format string and hands each character to
 * a "sink": either a caller's buffer (kvsnprintf) or kputc() (kvprintf). So
 * kprintf() needs no stack buffer and cannot be truncated.
 *
 * %p prints "0x" and then all 2*sizeof(void*) hex digits (8 on a 32-bit
 * kernel, 16 on a 64-bit one), because an address whose leading zeros are
 * kept lines up in a column and is never mistaken for a small number.
 *
 * Beyond kprintf.h's list, `z` (size_t) is read as a long, which it is on
 * every target of the kit, and `h`/`hh` (short, char) work as in C.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "kprintf.h"

/** @{ Flags of one conversion specification. */
#define FLAG_LEFT 0x1 /**< '-': pad on the right instead of the left */
#define FLAG_ZERO 0x2 /**< '0': pad numbers with zeros after the sign */
/** @} */

/** Where the formatted characters go. */
struct sink {
	char *buf;       /**< destination of kvsnprintf() */
	size_t size;     /**< bytes in buf, including room for the NUL */
	size_t len;      /**< characters produced, stored or not */
	int to_console;  /**< nonzero: send to kputc() instead of buf */
};

/** Put one character into the sink, or just count it if the buffer is full. */
static void sink_putc(struct sink *s, char c)
{
	if (s->to_console)
		kputc(c);
	else if (s->len + 1 < s->size) /* keep the last byte for the NUL */
		s->buf[s->len] = c;
	s->len++; /* counted even when dropped: C99's return value */
}

/** strlen(), which we may not call: there is no C library. */
static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/**
 * A 64-bit `/` or `%` on a 32-bit CPU makes gcc call __udivdi3/__umoddi3 in
 * libgcc, which our -nostdlib kernels do not link. So divide the way we do
 * on paper, but in binary: bring down one bit of n at a time and subtract
 * the base whenever it fits. Only shifts, compares and 32-bit subtraction.
 */
static uint64_t divmod_u64(uint64_t n, unsigned base, unsigned *rem)
{
	uint64_t quot = 0;
	unsigned r = 0; /* always < base, so r << 1 cannot overflow */
	int bit;

	for (bit = 63; bit >= 0; bit--) {
		r = (r << 1) | (unsigned)((n >> bit) & 1);
		quot <<= 1;
		if (r >= base) {
			r -= base;
			quot |= 1;
		}
	}
	*rem = r;
	return quot;
}

/**
 * Digits come out least significant first, so write them backwards from
 * @p end and return where they start. At least @p min_digits are written.
 */
static char *utoa(char *end, uint64_t n, unsigned base, int upper,
		  int min_digits)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	unsigned rem;

	do {
		if (n <= 0xffffffffu) { /* fits: the CPU's own divide will do */
			rem = (uint32_t)n % base;
			n = (uint32_t)n / base;
		} else {
			n = divmod_u64(n, base, &rem);
		}
		*--end = digits[rem];
	} while (--min_digits > 0 || n != 0);
	return end;
}

/**
 * Emit one field: padding, prefix ("-" or "0x"), body, as C orders them.
 * Zero padding goes between prefix and body, which is why %05d of -42 is
 * "-0042" and not "00-42"; space padding goes outside both.
 */
static void emit_field(struct sink *s, const char *prefix, const char *body,
		       size_t body_len, int width, int flags)
{
	int pad = width - (int)(str_len(prefix) + body_len);

	if (!(flags & (FLAG_LEFT | FLAG_ZERO)))
		for (; pad > 0; pad--)
			sink_putc(s, ' ');
	while (*prefix)
		sink_putc(s, *prefix++);
	if (flags & FLAG_ZERO)
		for (; pad > 0; pad--)
			sink_putc(s, '0');
	while (body_len--)
		sink_putc(s, *body++);
	for (; pad > 0; pad--) /* only left alignment has padding left now */
		sink_putc(s, ' ');
}

/**
 * Fetch an integer argument with the type it was passed as. @p len counts
 * the length modifier's letters: 2 ll, 1 l, 0 none, -1 h, -2 hh. Reading
 * the wrong size would misalign every later argument. The va_list comes
 * by pointer so that va_arg here advances the caller's copy.
 */
static int64_t arg_signed(va_list *ap, int len)
{
	int v;

	if (len >= 2)
		return va_arg(*ap, long long);
	if (len == 1)
		return va_arg(*ap, long);
	v = va_arg(*ap, int); /* short and char arrive promoted to int */
	return len == -1 ? (short)v : len <= -2 ? (signed char)v : v;
}

/** arg_signed() for the unsigned conversions: u, x and X. */
static uint64_t arg_unsigned(va_list *ap, int len)
{
	unsigned v;

	if (len >= 2)
		return va_arg(*ap, unsigned long long);
	if (len == 1)
		return va_arg(*ap, unsigned long);
	v = va_arg(*ap, unsigned); /* so %hx of (short)-1 is ffff */
	return len == -1 ? (unsigned short)v : len <= -2 ? (unsigned char)v : v;
}

/** The engine: %[-0][width|*][l|ll|h|hh|z]conversion, see kprintf.h. */
static void format(struct sink *s, const char *fmt, va_list *ap)
{
	while (*fmt) {
		const char *spec = fmt; /* kept to copy unknown specs as-is */
		int flags = 0, width = 0, len = 0, upper = 0, min_digits = 1;
		const char *prefix = "", *str;
		char tmp[24], *end = tmp + sizeof(tmp), conv, c; /* 2^64: 20 digits */
		unsigned base = 10;
		uint64_t u;
		int64_t v;

		if (*fmt != '%') {
			sink_putc(s, *fmt++);
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++)
			flags |= *fmt == '-' ? FLAG_LEFT : FLAG_ZERO;
		if (*fmt == '*') {
			width = va_arg(*ap, int);
			if (width < 0) { /* C: a negative '*' width means '-' */
				flags |= FLAG_LEFT;
				width = -width;
			}
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		if (flags & FLAG_LEFT) /* C: '-' overrides '0' */
			flags &= ~FLAG_ZERO;

		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			len++; /* size_t is unsigned long on all our targets */
		for (; *fmt == 'h'; fmt++)
			len--;

		conv = *fmt;
		if (conv) /* a lone '%' at the very end is printed as it is */
			fmt++;
		switch (conv) {
		case 'd':
		case 'i':
			v = arg_signed(ap, len);
			/* 0 - u, not -v: -LLONG_MIN does not fit in int64_t */
			u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
			prefix = v < 0 ? "-" : "";
			break;
		case 'u':
			u = arg_unsigned(ap, len);
			break;
		case 'X':
			upper = 1;
			/* fall through */
		case 'x':
			u = arg_unsigned(ap, len);
			base = 16;
			break;
		case 'p':
			u = (uintptr_t)va_arg(*ap, void *);
			base = 16;
			prefix = "0x";
			min_digits = 2 * sizeof(void *);
			break;
		case 'c':
			c = (char)va_arg(*ap, int); /* char is promoted to int */
			emit_field(s, "", &c, 1, width, flags & ~FLAG_ZERO);
			continue;
		case 's':
			str = va_arg(*ap, const char *);
			if (!str)
				str = "(null)";
			emit_field(s, "", str, str_len(str), width,
				   flags & ~FLAG_ZERO);
			continue;
		case '%':
			sink_putc(s, '%');
			continue;
		default: /* unknown conversion: print the spec as written */
			while (spec < fmt)
				sink_putc(s, *spec++);
			continue;
		}
		str = utoa(end, u, base, upper, min_digits);
		emit_field(s, prefix, str, (size_t)(end - str), width, flags);
	}
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { buf, size, 0, 0 };
	va_list args;

	/*
	 * On x86-64 va_list is an array type, so a va_list parameter is really
	 * a pointer and &ap would have the wrong type: take a local copy.
	 */
	va_copy(args, ap);
	format(&s, fmt, &args);
	va_end(args);
	if (size > 0)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int kvprintf(const char *fmt, va_list ap)
{
	struct sink s = { NULL, 0, 0, 1 };
	va_list args;

	va_copy(args, ap);
	format(&s, fmt, &args);
	va_end(args);
	return (int)s.len;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvprintf(fmt, ap);
	va_end(ap);
	return n;
}
