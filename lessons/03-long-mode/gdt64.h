/**
 * @file gdt64.h
 * @brief The 64-bit kernel's GDT and its task-state segment (TSS).
 * @ingroup lesson03
 */
#ifndef LESSON03_GDT64_H
#define LESSON03_GDT64_H

#include <stdint.h>

/** @{ */
#define GDT64_KERNEL_CODE 0x08 /**< 64-bit ring-0 code segment selector */
#define GDT64_KERNEL_DATA 0x10 /**< ring-0 data segment selector */
#define GDT64_TSS 0x18         /**< TSS selector (a 16-byte descriptor) */
/** @} */

/**
 * The 64-bit TSS (SDM Vol. 3A, 7.7 "Task Management in 64-bit Mode"). In
 * long mode it holds no registers any more: only the stacks the CPU
 * switches to, on a privilege change (rsp) or for chosen interrupt vectors
 * (the interrupt stack table, ist).
 */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];      /**< stack for entering ring 0, 1, 2 */
	uint64_t reserved1;
	uint64_t ist[7];      /**< IST1..IST7: per-vector emergency stacks */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;  /**< offset of the I/O bitmap: none here */
} __attribute__((packed));

extern struct tss64 kernel_tss; /**< the only TSS: loaded in TR */

/** Build the kernel's GDT (null, code, data, TSS), load it, reload every
 * segment register and load TR. */
void gdt64_init(void);

#endif
