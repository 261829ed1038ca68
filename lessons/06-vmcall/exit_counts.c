/**
 * @file exit_counts.c
 * @brief Exits counted by vendor code, printed by name.
 * @ingroup lesson06
 */
#include "exit_counts.h"
#include "kprintf.h"
#include "string.h"

/** How many different exit codes the summary keeps: a guest causes a
 * handful of different ones, never more than this. */
#define EXIT_CODES_MAX 16

/** Exits counted by vendor code, sorted by code: the summary's order. */
static struct {
	uint64_t code;          /**< the vendor's exit code */
	unsigned long count;    /**< how many exits had it */
} counts[EXIT_CODES_MAX];
static unsigned int codes_seen;

void exit_count(uint64_t code)
{
	unsigned int i = 0;

	while (i < codes_seen && counts[i].code < code)
		i++;
	if (i == codes_seen || counts[i].code != code) {
		if (codes_seen == EXIT_CODES_MAX)
			return;         /* more kinds than a guest has */
		memmove(&counts[i + 1], &counts[i],
			(codes_seen - i) * sizeof(counts[0]));
		counts[i].code = code;
		counts[i].count = 0;
		codes_seen++;
	}
	counts[i].count++;
}

void exit_counts_print(const char *(*name)(uint64_t code))
{
	unsigned long total = 0;

	for (unsigned int i = 0; i < codes_seen; i++) {
		kprintf(" %s=%lu", name(counts[i].code), counts[i].count);
		total += counts[i].count;
	}
	kprintf(" (total %lu)", total);
}
