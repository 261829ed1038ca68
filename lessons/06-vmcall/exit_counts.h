/**
 * @file exit_counts.h
 * @brief Exits counted by the vendor's own code, for a hypervisor's summary.
 * @ingroup lesson06
 *
 * Lesson 06's VM1 and lesson 07's guests end with a line of exits by
 * name, whichever vendor ran them: the counts live here, the names are
 * the vendor's (exit_reason_name(), svm_exit_name()).
 */
#ifndef LESSON06_EXIT_COUNTS_H
#define LESSON06_EXIT_COUNTS_H

#include <stdint.h>

/** One more exit with vendor code @p code. */
void exit_count(uint64_t code);

/** Print " NAME=count" for every code seen, in code order, then
 * " (total N)"; @p name gives each code's name. */
void exit_counts_print(const char *(*name)(uint64_t code));

#endif
