/**
 * @file npt.h
 * @brief Nested page tables: the guest-physical address space of VM1.
 * @ingroup lesson08
 *
 * SVM's EPT (lesson 06's ept.h). With nested paging on (VMCB NP_ENABLE),
 * every guest-physical address goes through a second walk, of the tables
 * at N_CR3, to a host-physical address (AMD64 APM Vol. 2, 15.25 "Nested
 * Paging"). Unlike EPT, the nested tables have the host's own format:
 * ordinary 4-level long-mode page tables, with P, RW and US bits (15.25:
 * every nested access counts as a user access, so US must be set at every
 * level). What they do not map is a nested page fault (#VMEXIT NPF).
 */
#ifndef LESSON08_NPT_H
#define LESSON08_NPT_H

#include <stddef.h>
#include <stdint.h>

#include "paging.h"

/** One VM's nested page tables: one table per level, 2 MiB at most, of
 * which a VM uses its first GUEST_RAM_SIZE (15.25: long-mode format).
 * Leaf first: the order lesson 08's four separate tables had in memory. */
struct npt {
	uint64_t pt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
	uint64_t pd[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
	uint64_t pdpt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
	uint64_t pml4[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
};

/**
 * Fill @p npt to map guest-physical [0, @p size) to the host memory at
 * @p ram in 4 KiB pages, readable, writable and executable, and nothing
 * else. @return N_CR3 for the VMCB.
 */
uint64_t npt_build(struct npt *npt, void *ram, size_t size);

/** Walk @p npt in software: the host (higher-half) address behind
 * guest-physical @p gpa, or NULL when it is not mapped. */
void *npt_walk(const struct npt *npt, uint64_t gpa);

/** npt_build() of VM1's own tables (lesson 08's one VM). */
uint64_t npt_init(void *ram, size_t size);

/** npt_walk() of VM1's tables. */
void *npt_translate(uint64_t gpa);

/**
 * Without nested paging (prm.c): 32-bit page tables for VM1's own CR3
 * that map linear [0, @p size) to @p ram, for paged real mode (APM 15.19).
 * @return the physical address of the page directory, for VM1's CR3.
 */
uint64_t prm_init(void *ram, size_t size);

#endif
