/**
 * @file boot.h
 * @brief What the real-mode entry (entry.asm, a20.asm, e820.asm) hands to C.
 * @ingroup lesson02
 *
 * The BIOS is only reachable in real mode, so the assembly asks it everything
 * we need before the switch and leaves the answers in these variables.
 */
#ifndef LESSON02_BOOT_H
#define LESSON02_BOOT_H

#include <stdint.h>

/** One entry of the BIOS memory map, exactly as int 15h E820h writes it. */
struct e820_entry {
	uint64_t base;   /**< first physical address of the range */
	uint64_t length; /**< size of the range in bytes */
	uint32_t type;   /**< E820_USABLE, E820_RESERVED, ... */
	uint32_t acpi;   /**< ACPI 3.0 extended attributes (bit 0: valid) */
} __attribute__((packed));

/** @{ */
#define E820_USABLE 1       /**< free RAM for the operating system */
#define E820_RESERVED 2     /**< in use by firmware or devices: keep out */
#define E820_ACPI 3         /**< ACPI tables: reusable once they are read */
#define E820_NVS 4          /**< ACPI non-volatile storage: keep out */
#define E820_UNUSABLE 5     /**< RAM with errors */
/** @} */

extern struct e820_entry e820_map[]; /**< filled by e820_read (e820.asm) */
extern uint16_t e820_count;          /**< number of valid e820_map entries */
extern const char *a20_method;       /**< how a20_enable (a20.asm) got A20 on */
extern uint8_t boot_drive;           /**< BIOS drive number we booted from */
extern uint32_t boot_cr0;  /**< CR0 as the firmware left it (caches.asm) */

void a20_report(void);
void e820_print(void);
void gdt_print(void);
void cpu_print_state(void);

#endif
