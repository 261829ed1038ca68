/**
 * @file exit_counts.h
 * @brief Exits counted by the vendor's own code, for a hypervisor's summary.
 * @ingroup lesson06
 *
 * Lesson 06's VM1 and lesson 07's guests end with a line of exits by
 * name, whichever vendor ran them; lesson 10 keeps one table per VM. The
 * counts live here, the names are the vendor's (exit_reason_name(),
 * svm_exit_name()).
 */
#ifndef LESSON06_EXIT_COUNTS_H
#define LESSON06_EXIT_COUNTS_H

#include <stdint.h>

/** How many different exit codes a table keeps: a guest causes a handful
 * of different ones, never more than this. */
#define EXIT_CODES_MAX 16

/** One guest's exits, counted by vendor code and sorted by it (the
 * summary's order). Zero-initialised, it is an empty table. */
struct exit_counts {
	struct {
		uint64_t code;          /**< the vendor's exit code */
		unsigned long count;    /**< how many exits had it */
	} codes[EXIT_CODES_MAX];        /**< the codes seen, sorted */
	unsigned int seen;              /**< how many entries are used */
};

/** One more exit with vendor code @p code in @p counts. */
void exit_count(struct exit_counts *counts, uint64_t code);

/** Print " NAME=count" for every code in @p counts, in code order, then
 * " (total N)"; @p name gives each code's name. */
void exit_counts_print(const struct exit_counts *counts,
		       const char *(*name)(uint64_t code));

#endif
