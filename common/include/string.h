/**
 * @file string.h
 * @brief Memory and string functions for freestanding kernels.
 * @ingroup common
 *
 * gcc may emit calls to memcpy, memset, memmove and memcmp by itself (for a
 * struct copy, say) even in freestanding code, so these keep their standard
 * names and signatures.
 */
#ifndef KIT_STRING_H
#define KIT_STRING_H

#include <stddef.h>

void *memset(void *dst, int c, size_t n);              /**< fill n bytes with c */
void *memcpy(void *dst, const void *src, size_t n);    /**< copy, no overlap */
void *memmove(void *dst, const void *src, size_t n);   /**< copy, may overlap */
int memcmp(const void *a, const void *b, size_t n);    /**< compare n bytes */
size_t strlen(const char *s);                          /**< length without NUL */
int strcmp(const char *a, const char *b);              /**< compare two strings */
int strncmp(const char *a, const char *b, size_t n);   /**< compare at most n */

#endif
