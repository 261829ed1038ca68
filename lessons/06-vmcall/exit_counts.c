/**
 * @file exit_counts.c
 * @brief Exits counted by vendor code, printed by name.
 * @ingroup lesson06
 */
#include "exit_counts.h"
#include "kprintf.h"
#include "string.h"

void exit_count(struct exit_counts *c, uint64_t code)
{
	unsigned int i = 0;

	while (i < c->seen && c->codes[i].code < code)
		i++;
	if (i == c->seen || c->codes[i].code != code) {
		if (c->seen == EXIT_CODES_MAX)
			return;         /* more kinds than a guest has */
		memmove(&c->codes[i + 1], &c->codes[i],
			(c->seen - i) * sizeof(c->codes[0]));
		c->codes[i].code = code;
		c->codes[i].count = 0;
		c->seen++;
	}
	c->codes[i].count++;
}

void exit_counts_print(const struct exit_counts *c,
		       const char *(*name)(uint64_t code))
{
	unsigned long total = 0;

	for (unsigned int i = 0; i < c->seen; i++) {
		kprintf(" %s=%lu", name(c->codes[i].code), c->codes[i].count);
		total += c->codes[i].count;
	}
	kprintf(" (total %lu)", total);
}
