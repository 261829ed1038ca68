/**
 * @file demo.h
 * @brief The lesson's demonstrations: exceptions raised on purpose and
 * recovered from, a stack overflow caught by a guard page, and an external
 * interrupt routed through the I/O APIC.
 * @ingroup lesson04
 */
#ifndef LESSON04_DEMO_H
#define LESSON04_DEMO_H

/** int3 with every general register holding param_magic ^ its number. */
void demo_breakpoint(void);

/** ud2, skipped by the #UD handler. */
void demo_invalid_opcode(void);

/** A division by zero, skipped by the #DE handler. */
void demo_divide_error(void);

/** Read, then write param_fault_address: the #PF handler maps the page
 * read-only, then makes it writable. @return 0, or -1 on a bad address. */
int demo_page_fault(void);

/** Load param_gp_selector into ES, with no #GP handler: the dispatcher
 * reports the fault and panics. Returns only if nothing faulted. */
void demo_unhandled_gp(void);

/** Make the lowest page of the kernel stack a guard page (unmapped), and
 * report a double fault caused by running into it as a stack overflow. */
void stack_guard_init(void);

/** Recurse until the stack hits the guard page: #PF, #DF. Never returns. */
void stack_overflow(void);

/** Route the PIT's IRQ 0 through the I/O APIC and wait for a few of its
 * interrupts. @return 0, or -1 if no I/O APIC serves its GSI. */
int pit_irq_demo(void);

#endif
