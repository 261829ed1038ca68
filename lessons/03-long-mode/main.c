/**
 * @file main.c
 * @brief Lesson 03's 64-bit kernel, running in the higher half.
 * @ingroup lesson03
 *
 * longmode.asm has switched the CPU to 64-bit mode, with the first GiB of
 * physical memory mapped twice (at 0 and at KERNEL_VMA), and called us on a
 * higher-half stack. The BIOS's memory map, read by lesson 02's real-mode
 * code, is still where e820.asm left it.
 */
#include "boot.h"
#include "console.h"
#include "cpuinfo.h"
#include "gdt64.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "serial.h"
#include "x86.h"

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	serial_init();
	console_init((uintptr_t)phys_to_virt(VGA_TEXT_BUFFER));
	kprintf("Lesson 03: 64-bit long mode, kernel at 0x%llx\n",
		(unsigned long long)(uintptr_t)kernel_main);
	gdt64_init();
	kprintf("gdt64: code 0x%02x, data 0x%02x, tss 0x%02x; tr=0x%02x\n",
		GDT64_KERNEL_CODE, GDT64_KERNEL_DATA, GDT64_TSS, read_tr());
	cpu_print_identity();
	cpu_print_control_registers();
	e820_print();                   /* lesson 02's code, now 64-bit */
	paging_show_walks();
	paging_show_alias();
	power_off(POWER_PASS);
}
