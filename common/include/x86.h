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

/**
 * Stop in Bochs' debugger here (`make debug EMU=bochs`).
 *
 * `xchg bx, bx` exchanges BX with itself: it changes nothing, so QEMU and
 * real CPUs run straight through it. Bochs with `magic_break: enabled=1`
 * in its configuration (which `make debug EMU=bochs` writes) treats it as
 * a breakpoint and stops in its debugger just after it. The asm also tells
 * the compiler that memory may be looked at, so values are stored first.
 */
static inline void bochs_break(void)
{
	__asm__ volatile("xchg %%bx, %%bx" : : : "memory");
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

/** Load the GDT register (the table must stay where it is). */
static inline void lgdt(const struct desc_ptr *dp)
{
	__asm__ volatile("lgdt %0" : : "m"(*dp));
}

/** Load the task register with a TSS selector (marks the TSS busy). */
static inline void ltr(uint16_t sel)
{
	__asm__ volatile("ltr %0" : : "rm"(sel));
}

/** Read the task register's selector. */
static inline uint16_t read_tr(void)
{
	uint16_t sel;
	__asm__ volatile("str %0" : "=rm"(sel));
	return sel;
}

/** Read CR2: the linear address of the last page fault. */
static inline unsigned long read_cr2(void)
{
	unsigned long val;
	__asm__ volatile("mov %%cr2, %0" : "=r"(val));
	return val;
}

/** Read CR3: the physical address of the top-level page table. */
static inline unsigned long read_cr3(void)
{
	unsigned long val;
	__asm__ volatile("mov %%cr3, %0" : "=r"(val));
	return val;
}

/** Read CR4: the architectural extension enables (PAE, VMXE, ...). */
static inline unsigned long read_cr4(void)
{
	unsigned long val;
	__asm__ volatile("mov %%cr4, %0" : "=r"(val));
	return val;
}

/** Write CR0. */
static inline void write_cr0(unsigned long val)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(val) : "memory");
}

/** Write CR3: switch page tables (and flush non-global TLB entries). */
static inline void write_cr3(unsigned long val)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(val) : "memory");
}

/** Write CR4. */
static inline void write_cr4(unsigned long val)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(val) : "memory");
}

/** Invalidate the TLB entry of one linear address after changing its PTE. */
static inline void invlpg(const volatile void *addr)
{
	__asm__ volatile("invlpg (%0)" : : "r"(addr) : "memory");
}

/** Read a model-specific register. */
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

/** Write a model-specific register. */
static inline void wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val),
			 "d"((uint32_t)(val >> 32)));
}

/** The four registers CPUID returns. */
struct cpuid_regs {
	uint32_t eax; /**< EAX */
	uint32_t ebx; /**< EBX */
	uint32_t ecx; /**< ECX */
	uint32_t edx; /**< EDX */
};

/** Execute CPUID for @p leaf and @p subleaf. */
static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/** Read the time-stamp counter. */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/** Enable maskable interrupts. */
static inline void sti(void)
{
	__asm__ volatile("sti");
}

/** Read a 32-bit double word from an I/O port. */
static inline uint32_t inl(uint16_t port)
{
	uint32_t val;
	__asm__ volatile("inl %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/** @{ */
#define CR0_PE BIT(0)          /**< protection enable */
#define CR0_NE BIT(5)          /**< native x87 error reporting */
#define CR0_WP BIT(16)         /**< ring 0 honours read-only pages */
#define CR0_NW BIT(29)         /**< not write-through */
#define CR0_CD BIT(30)         /**< cache disable */
#define CR0_PG BIT(31)         /**< paging */
#define CR4_PAE BIT(5)         /**< physical address extension: 64-bit PTEs */
#define CR4_VMXE BIT(13)       /**< VMX enable */
#define MSR_EFER 0xC0000080    /**< extended feature enables */
#define EFER_LME BIT(8)        /**< long mode enable */
#define EFER_LMA BIT(10)       /**< long mode active (read-only) */
#define EFER_NXE BIT(11)       /**< no-execute enable */
/** @} */

/** Load the IDT register (the table must stay where it is). */
static inline void lidt(const struct desc_ptr *dp)
{
	__asm__ volatile("lidt %0" : : "m"(*dp));
}

/** Store the IDT register: where the CPU looks up interrupt gates. */
static inline void sidt(struct desc_ptr *dp)
{
	__asm__ volatile("sidt %0" : "=m"(*dp));
}

/** Spin-loop hint: tells the CPU (and an emulator) that we are polling. */
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

#endif
