/**
 * @file layout.h
 * @brief Where the kit's programs sit: on the disk and in memory.
 * @ingroup common
 *
 * The addresses every stage of the boot chain agrees on, written once:
 * the disk loader (common/boot/loader.asm, through kit.inc) reads the
 * program to LOAD_ADDRESS and jumps there; the linker scripts (kernel32.ld,
 * kernel64.ld, run through the C preprocessor by rules.mk) link it there
 * and put a 64-bit kernel at KERNEL_VMA; C converts addresses with them
 * (lesson 03's paging.h); the harness reads them from the kit.json the
 * build writes next to each image. Only plain numbers here: no C suffixes,
 * which the linker could not read.
 */
#ifndef KIT_LAYOUT_H
#define KIT_LAYOUT_H

/** @{ */
#define SECTOR_SHIFT 9                  /**< a sector is 1 << 9 bytes */
#define SECTOR_SIZE (1 << SECTOR_SHIFT) /**< 512 bytes */
#define LOAD_LBA 1            /**< the program's first sector: the loader's next */
#define LOAD_ADDRESS 0x8000   /**< where the loader puts it and jumps */
#define LOAD_LIMIT 0x80000    /**< it ends below, .bss too (the EBDA is above) */
/** Lesson 03 on: the higher half, where physical 0 is mapped too. */
#define KERNEL_VMA 0xFFFFFFFF80000000
/** @} */

#endif
