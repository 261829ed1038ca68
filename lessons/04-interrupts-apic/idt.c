/**
 * @file idt.c
 * @brief Build the 64-bit IDT: 256 interrupt gates to isr.asm's stubs.
 * @ingroup lesson04
 *
 * gdt64_init() (lesson 03) has loaded the kernel's GDT and a TSS. An
 * interrupt or exception now makes the CPU read gate number `vector` of the
 * table the IDTR points to: a 16-byte descriptor holding the handler's
 * 64-bit address, the code selector to load, the gate type and an IST index
 * (SDM Vol. 3A, 6.14.1 "64-Bit Mode IDT"). With no IDT at all, the first
 * exception is a triple fault: the machine resets without a word.
 */
#include <stdint.h>

#include "gdt64.h"
#include "idt.h"
#include "kprintf.h"
#include "power.h"
#include "trap.h"
#include "x86.h"

/** @{ */
#define GATE_INTERRUPT 0x8E   /**< P=1, DPL=0, type 0xE: 64-bit interrupt gate */
#define DF_IST 1              /**< #DF runs on IST1: kernel_tss.ist[0] */
#define DF_STACK_SIZE 8192    /**< bytes of the double-fault stack */
/** @} */

/** One 16-byte gate descriptor, as the CPU reads it. */
struct idt_gate {
	uint16_t offset_low;  /**< handler address, bits 15:0 */
	uint16_t selector;    /**< code segment to run it in */
	uint8_t ist;          /**< bits 2:0: IST index (0 = stay on this stack) */
	uint8_t type_attr;    /**< present, DPL, gate type */
	uint16_t offset_mid;  /**< bits 31:16 */
	uint32_t offset_high; /**< bits 63:32 */
	uint32_t reserved;    /**< must be 0 */
} __attribute__((packed));

/** The address of each vector's entry stub (isr.asm). */
extern const uint64_t isr_stub_table[IDT_ENTRIES];

/** The IDT itself: the IDTR points here. */
static struct idt_gate idt[IDT_ENTRIES] __attribute__((aligned(16)));

/**
 * The stack #DF switches to. A double fault often means the current stack
 * is unusable (it overflowed into an unmapped page, say): had the CPU pushed
 * the #DF frame there too, that would fault a third time and reset the
 * machine. A gate with a non-zero IST index makes the CPU load RSP from the
 * TSS first, whatever the stack was (SDM Vol. 3A, 6.14.5).
 */
static uint8_t df_stack[DF_STACK_SIZE] __attribute__((aligned(16)));

/** Point gate @p vector at @p handler, on IST @p ist (0: no switch). */
static void idt_set_gate(unsigned int vector, uint64_t handler,
			 unsigned int ist)
{
	struct idt_gate *g = &idt[vector];

	/* Exercise: fill in the 16-byte gate: the handler's address in three
	 * pieces, the kernel code selector, the IST index and the type. */
	/* BEGIN SOLUTION: idt-gate */
	g->offset_low = handler & 0xFFFF;
	g->selector = GDT64_KERNEL_CODE;
	g->ist = ist;
	/* Interrupt gates clear IF on entry: no interrupt can nest inside the
	 * stub before it has saved the registers (a trap gate would not). */
	g->type_attr = GATE_INTERRUPT;
	g->offset_mid = (handler >> 16) & 0xFFFF;
	g->offset_high = handler >> 32;
	g->reserved = 0;
	/* END SOLUTION */
}

void idt_init(void)
{
	struct desc_ptr idtr = { sizeof(idt) - 1, (unsigned long)idt };

	for (unsigned int v = 0; v < IDT_ENTRIES; v++)
		idt_set_gate(v, isr_stub_table[v], v == X86_TRAP_DF ? DF_IST : 0);
	kernel_tss.ist[DF_IST - 1] = (uint64_t)(uintptr_t)(df_stack +
							    sizeof(df_stack));
	lidt(&idtr);
	sidt(&idtr);                    /* read back what the CPU now uses */
	kprintf("idt: %u gates at 0x%016llx, limit 0x%x; #DF on IST%u, stack "
		"top 0x%016llx\n", IDT_ENTRIES, (unsigned long long)idtr.base,
		idtr.limit, DF_IST, (unsigned long long)kernel_tss.ist[DF_IST - 1]);
}
