/**
 * @file x86.h
 * @brief Single privileged instructions as tiny inline C functions.
 * @ingroup common
 *
 * C cannot say "read port 0x3F8" or "load CR3", so each such instruction gets
 * a one-line wrapper here (the idea of xv6's x86.h). Everything else in the kit
 * is plain C that calls these. The file compiles for both 32-bit and 64-bit
 * kernels: `unsigned long` is the natural register width in each.
 */
#ifndef KIT_X86_H
#define KIT_X86_H

#include <stdint.h>

/** Bit @p n as an unsigned long long constant. */
#define BIT(n) (1ULL << (n))

/** Write a byte to an I/O port. */
static inline void outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

/** Write a 16-bit word to an I/O port. */
static inline void outw(uint16_t port, uint16_t val)
{
	__asm__ volatile("outw %0, %1" : : "a"(val), "Nd"(port));
}

/** Write a 32-bit double word to an I/O port. */
static inline void outl(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port));
}

/** Read a byte from an I/O port. */
static inline uint8_t inb(uint16_t port)
{
	uint8_t val;
	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/** Read a 16-bit word from an I/O port. */
static inline uint16_t inw(uint16_t port)
{
	uint16_t val;
	__asm__ volatile("inw %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/** Disable maskable interrupts. */
static inline void cli(void)
{
	__asm__ volatile("cli");
}

/** Halt until the next interrupt (forever, after cli()). */
static inline void hlt(void)
{
	__asm__ volatile("hlt");
}

/** Read control register 0 (protection, paging, caching bits). */
static inline unsigned long read_cr0(void)
{
	unsigned long val;
	__asm__ volatile("mov %%cr0, %0" : "=r"(val));
	return val;
}

/** Read the code segment selector. */
static inline uint16_t read_cs(void)
{
	uint16_t val;
	__asm__ volatile("mov %%cs, %0" : "=r"(val));
	return val;
}

/** Read the data segment selector. */
static inline uint16_t read_ds(void)
{
	uint16_t val;
	__asm__ volatile("mov %%ds, %0" : "=r"(val));
	return val;
}

/** Read the extra segment selector. */
static inline uint16_t read_es(void)
{
	uint16_t val;
	__asm__ volatile("mov %%es, %0" : "=r"(val));
	return val;
}

/** Read the FS selector. */
static inline uint16_t read_fs(void)
{
	uint16_t val;
	__asm__ volatile("mov %%fs, %0" : "=r"(val));
	return val;
}

/** Read the GS selector. */
static inline uint16_t read_gs(void)
{
	uint16_t val;
	__asm__ volatile("mov %%gs, %0" : "=r"(val));
	return val;
}

/** Read the stack segment selector. */
static inline uint16_t read_ss(void)
{
	uint16_t val;
	__asm__ volatile("mov %%ss, %0" : "=r"(val));
	return val;
}

/** The operand of LGDT/SGDT: a limit and a linear base address. */
struct __attribute__((packed)) desc_ptr {
	uint16_t limit;     /**< size of the table in bytes, minus one */
	unsigned long base; /**< linear address of the first entry */
};

/** Store the GDT register: where the CPU is reading descriptors from. */
static inline void sgdt(struct desc_ptr *dp)
{
	__asm__ volatile("sgdt %0" : "=m"(*dp));
}

#endif
