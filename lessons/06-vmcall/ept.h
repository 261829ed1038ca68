/**
 * @file ept.h
 * @brief Extended page tables: the guest-physical address space of VM1.
 * @ingroup lesson06
 *
 * With EPT on, every guest-physical address the guest uses goes through a
 * second 4-level walk, the hypervisor's, to a host-physical address (SDM
 * Vol. 3C, 28.2 "The Extended Page Table Mechanism (EPT)"). What EPT does
 * not map, the guest cannot reach: touching it is an EPT violation exit.
 */
#ifndef LESSON06_EPT_H
#define LESSON06_EPT_H

#include <stddef.h>
#include <stdint.h>

#include "paging.h"
#include "x86.h"

/** @name EPT entry bits (SDM 28.2.2, Tables 28-1 to 28-6)
 * @{ */
#define EPT_READ BIT(0)        /**< reads allowed */
#define EPT_WRITE BIT(1)       /**< writes allowed */
#define EPT_EXEC BIT(2)        /**< instruction fetches allowed */
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXEC) /**< all three */
#define EPT_MT_WB (6ULL << 3)  /**< leaf: memory type write-back */
#define EPTP_WB 6ULL           /**< EPTP bits 2:0: paging-structure type */
#define EPTP_WALK_4 (3ULL << 3) /**< EPTP bits 5:3: walk length - 1 */
/** @} */

/** @name EPT-violation exit qualification (SDM 27.2.1, Table 27-7)
 * @{ */
#define EPT_VIOL_READ BIT(0)       /**< the access was a read */
#define EPT_VIOL_WRITE BIT(1)      /**< the access was a write */
#define EPT_VIOL_FETCH BIT(2)      /**< the access was an instruction fetch */
#define EPT_VIOL_READABLE BIT(3)   /**< the entry allowed reads */
#define EPT_VIOL_WRITABLE BIT(4)   /**< the entry allowed writes */
#define EPT_VIOL_EXECUTABLE BIT(5) /**< the entry allowed fetches */
/** @} */

/** One guest's EPT: a table of each level, enough for 2 MiB at
 * guest-physical 0. Page-aligned, as every EPT table must be. */
struct ept {
	uint64_t pml4[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
	uint64_t pdpt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
	uint64_t pd[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
	uint64_t pt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
};

/**
 * Fill @p ept to map guest-physical [0, @p size) to the host memory at
 * @p ram, 4 KiB pages, read/write/execute, write-back. @return the EPT
 * pointer (EPTP).
 */
uint64_t ept_build(struct ept *ept, void *ram, size_t size);

/**
 * Walk @p ept in software, as the processor does: the host (higher-half)
 * address behind guest-physical @p gpa, or NULL when it is not mapped.
 */
void *ept_walk(const struct ept *ept, uint64_t gpa);

/** ept_build() for VM1's own tables. */
uint64_t ept_init(void *ram, size_t size);

/** ept_walk() of VM1's tables: the translate function of guest_mem.h. */
void *ept_translate(uint64_t gpa);

#endif
