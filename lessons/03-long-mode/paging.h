/**
 * @file paging.h
 * @brief 4-level paging: entry bits, the higher half, and the page walk.
 * @ingroup lesson03
 *
 * longmode.asm builds the first page tables with these constants (through
 * the generated kit.inc) and paging.c reads them back with the same ones.
 */
#ifndef LESSON03_PAGING_H
#define LESSON03_PAGING_H

#include <stdint.h>

#include "layout.h"   /* KERNEL_VMA: where the higher half starts */
#include "x86.h"

/** @{ */
#define PAGE_SIZE 4096                   /**< a 4 KiB page */
#define LARGE_PAGE_SIZE 0x200000         /**< a 2 MiB page (PD entry, PS=1) */
#define PT_ENTRIES 512                   /**< 8-byte entries in a 4 KiB table */
#define KERNEL_STACK_SIZE 16384          /**< the 64-bit kernel's stack */
#define PTE_P BIT(0)      /**< present: the entry is valid */
#define PTE_RW BIT(1)     /**< writable */
#define PTE_US BIT(2)     /**< user mode may access */
#define PTE_PWT BIT(3)    /**< write-through caching */
#define PTE_PCD BIT(4)    /**< caching disabled */
#define PTE_A BIT(5)      /**< accessed: set by the CPU on use */
#define PTE_D BIT(6)      /**< dirty: set by the CPU on write (leaf only) */
#define PTE_PS BIT(7)     /**< page size: this PD/PDPT entry is a leaf */
#define PTE_G BIT(8)      /**< global: survives a CR3 reload */
#define PTE_NX BIT(63)    /**< no execute (needs EFER.NXE) */
#define PTE_ADDR 0x000FFFFFFFFFF000ULL /**< bits 51:12: next table or frame */
/** @} */

/**
 * Where the kernel's first 2 MiB really are in physical memory: 0, so the
 * higher half maps physical 0 and up (longmode.asm). Only lesson 07's
 * hypervisor changes it, when it moves itself to the top of RAM and maps
 * the higher half's first 2 MiB there (lessons/07-guest-os/relocate.c).
 */
extern uint64_t kernel_phys_base;

/** The virtual address at which the kernel sees physical address @p phys
 * (valid for the first GiB, which the higher half maps; after lesson 07's
 * move, only for the kernel's own 2 MiB). */
static inline void *phys_to_virt(uint64_t phys)
{
	return (void *)(uintptr_t)(phys - kernel_phys_base + KERNEL_VMA);
}

/** The physical address behind a higher-half kernel address. */
static inline uint64_t virt_to_phys(const volatile void *virt)
{
	return (uint64_t)(uintptr_t)virt - KERNEL_VMA + kernel_phys_base;
}

void paging_show_walks(void);
void paging_show_alias(void);

#endif
