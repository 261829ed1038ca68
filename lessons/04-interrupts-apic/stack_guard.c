/**
 * @file stack_guard.c
 * @brief A guard page under the kernel stack, and the double fault it causes.
 * @ingroup lesson04
 *
 * Nothing stops a stack from growing into whatever lies below it: here
 * .bss, which it would silently overwrite. Unmapping the stack's lowest
 * page turns an overflow into a page fault instead. But then the CPU must
 * push the #PF frame on that same stack, which faults again: a page fault
 * while delivering a page fault is a double fault (SDM Vol. 3A, Table 6-5).
 * The #DF gate has its own stack (IST1, idt.c), so the report comes out
 * instead of a third fault, the triple fault that resets the machine.
 */
#include "demo.h"
#include "kprintf.h"
#include "power.h"
#include "trap.h"
#include "vmm.h"


/** The top of the kernel stack (longmode.asm). */
extern uint8_t kernel_stack_top[];

static uint64_t guard_page;     /**< the unmapped page under the stack */

/** #DF: if the fault was in the guard page, say it was a stack overflow. */
static int on_double_fault(struct trap_frame *frame)
{
	uint64_t address = read_cr2();

	if (address - guard_page < PAGE_SIZE)
		panic("kernel stack overflow: rsp 0x%llx ran into the guard "
		      "page at 0x%llx", (unsigned long long)frame->rsp,
		      (unsigned long long)guard_page);
	return 0;       /* some other double fault: the dispatcher panics */
}

void stack_guard_init(void)
{
	uint64_t top = (uint64_t)(uintptr_t)kernel_stack_top;
	uint64_t bottom = top - KERNEL_STACK_SIZE;

	/* The lowest whole page inside the stack: nothing else lives there. */
	guard_page = (bottom + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	vmm_unmap(guard_page);
	trap_register(X86_TRAP_DF, on_double_fault);
	kprintf("stack: kernel stack 0x%llx-0x%llx, guard page 0x%llx unmapped\n",
		(unsigned long long)bottom, (unsigned long long)top,
		(unsigned long long)guard_page);
}

static volatile int keep_going = 1;     /**< recurse() never stops */

/** Each call takes a return address and a 256-byte frame from the stack.
 * The addition after the call keeps the compiler from turning the
 * recursion into a loop. */
static __attribute__((noinline)) uint64_t recurse(uint64_t depth)
{
	volatile uint8_t frame[256];

	frame[0] = (uint8_t)depth;
	if (keep_going)
		return recurse(depth + 1) + frame[0];
	return depth;
}

void stack_overflow(void)
{
	kprintf("stack: recursing until the stack runs into its guard page\n");
	recurse(0);
	panic("stack: the recursion returned");
}
