/**
 * @file idt.h
 * @brief The 64-bit interrupt descriptor table: 256 gates, one entry stub each.
 * @ingroup lesson04
 *
 * Lesson 05 reuses this with trap.h: call idt_init() once after gdt64_init()
 * and every exception is reported by trap_dispatch() instead of resetting
 * the machine.
 */
#ifndef LESSON04_IDT_H
#define LESSON04_IDT_H

/** @{ */
#define IDT_ENTRIES 256       /**< one gate per vector: 0..255 */
#define IDT_EXCEPTIONS 32     /**< vectors 0..31 are the CPU's exceptions */
/** @} */

/** Fill all 256 gates with isr.asm's stubs, give #DF its own stack through
 * the TSS's IST1, and load the IDTR. Needs gdt64_init() first (the TSS). */
void idt_init(void);

#endif
