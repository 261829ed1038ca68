/**
 * @file gdt64.c
 * @brief Install the 64-bit kernel's GDT with a TSS descriptor, and load TR.
 * @ingroup lesson03
 *
 * longmode.asm entered long mode through a minimal GDT in low memory. The
 * kernel replaces it with its own, in the higher half, which adds the one
 * system descriptor long mode still needs: a TSS, where lesson 04 puts the
 * separate stack its double-fault handler runs on.
 */
#include "gdt64.h"
#include "x86.h"

struct tss64 kernel_tss;

/*
 * A TSS descriptor is 16 bytes in long mode (SDM Vol. 3A, 7.2.3): the usual
 * 8 with type 0x9 (available 64-bit TSS), then the upper 32 bits of the base.
 */
static uint64_t gdt[5] __attribute__((aligned(16)));

static void gdt_set_tss(unsigned int index, uint64_t base, uint32_t limit)
{
	gdt[index] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 |
		     0x89ULL << 40 |                 /* P=1, DPL=0, type 9 */
		     (uint64_t)((limit >> 16) & 0xF) << 48 |
		     ((base >> 24) & 0xFF) << 56;
	gdt[index + 1] = base >> 32;
}

void gdt64_init(void)
{
	struct desc_ptr gdtr = { sizeof(gdt) - 1, (unsigned long)gdt };

	gdt[0] = 0;
	gdt[1] = 0x00AF9A000000FFFFULL;  /* code: P, DPL 0, execute/read, L=1 */
	gdt[2] = 0x00CF92000000FFFFULL;  /* data: P, DPL 0, read/write */
	kernel_tss.iomap_base = sizeof(kernel_tss); /* no I/O bitmap */
	gdt_set_tss(3, (uint64_t)(uintptr_t)&kernel_tss, sizeof(kernel_tss) - 1);
	lgdt(&gdtr);
	/*
	 * CS can only be reloaded by a far transfer: push the selector and the
	 * address of the next instruction and "return" to them (lretq).
	 */
	__asm__ volatile("pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %[ds], %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 : : [cs] "i"(GDT64_KERNEL_CODE), [ds] "i"(GDT64_KERNEL_DATA)
			 : "rax", "memory");
	ltr(GDT64_TSS);
}
