/**
 * @file trap.c
 * @brief The one C entry point of every interrupt: report, then dispatch.
 * @ingroup lesson04
 *
 * isr.asm calls trap_dispatch() with interrupts off and a struct trap_frame
 * on the stack. Exceptions (vectors 0-31) are always printed, because each
 * one is news: its name, its error code decoded, CR2 for a page fault, and
 * every register. Then the handler registered for the vector decides: it
 * may repair the cause or move RIP and return non-zero, and isr.asm resumes
 * the interrupted code with IRETQ. With no handler, or one that gives up,
 * the trap is a bug and the kit powers off with FAIL (a kernel has no one
 * to hand an unexpected fault to).
 */
#include "idt.h"
#include "kprintf.h"
#include "power.h"
#include "trap.h"
#include "x86.h"

static trap_handler_t handlers[IDT_ENTRIES];   /**< trap_register()'s */

/** What the SDM calls each exception (Vol. 3A, Table 6-1). */
static const char *const exception_names[IDT_EXCEPTIONS] = {
	[X86_TRAP_DE] = "#DE divide error",
	[X86_TRAP_DB] = "#DB debug",
	[X86_TRAP_NMI] = "NMI non-maskable interrupt",
	[X86_TRAP_BP] = "#BP breakpoint",
	[X86_TRAP_OF] = "#OF overflow",
	[X86_TRAP_BR] = "#BR bound range exceeded",
	[X86_TRAP_UD] = "#UD invalid opcode",
	[X86_TRAP_NM] = "#NM device not available",
	[X86_TRAP_DF] = "#DF double fault",
	[X86_TRAP_TS] = "#TS invalid TSS",
	[X86_TRAP_NP] = "#NP segment not present",
	[X86_TRAP_SS] = "#SS stack-segment fault",
	[X86_TRAP_GP] = "#GP general protection",
	[X86_TRAP_PF] = "#PF page fault",
	[X86_TRAP_MF] = "#MF x87 floating-point error",
	[X86_TRAP_AC] = "#AC alignment check",
	[X86_TRAP_MC] = "#MC machine check",
	[X86_TRAP_XF] = "#XM SIMD floating-point exception",
	[X86_TRAP_VE] = "#VE virtualization exception",
	[X86_TRAP_CP] = "#CP control-protection exception",
	[X86_TRAP_VC] = "#VC VMM communication exception",
	[X86_TRAP_SX] = "#SX security exception",
};

void trap_register(uint8_t vector, trap_handler_t handler)
{
	handlers[vector] = handler;
}

const char *trap_name(uint64_t vector)
{
	if (vector < IDT_EXCEPTIONS)
		return exception_names[vector] ? exception_names[vector]
						: "reserved exception";
	return "interrupt";
}

/** "not-present write kernel": the #PF error code in words (SDM 4.7). */
static void print_pf_error(uint64_t e)
{
	kprintf(" (%s %s %s%s%s)", e & X86_PF_PROT ? "protection" : "not-present",
		e & X86_PF_WRITE ? "write" : "read",
		e & X86_PF_USER ? "user" : "kernel",
		e & X86_PF_RSVD ? " reserved-bit" : "",
		e & X86_PF_INSTR ? " instruction-fetch" : "");
}

/** A selector error code: which table and index caused it (SDM 6.13). */
static void print_selector_error(uint64_t e)
{
	const char *table = e & X86_SEL_IDT ? "IDT" : e & X86_SEL_TI ? "LDT"
								     : "GDT";

	if (e == 0) {
		kprintf(" (no selector)");
		return;
	}
	kprintf(" (%s index %llu%s)", table, (unsigned long long)(e >> 3),
		e & X86_SEL_EXT ? ", external event" : "");
}

void trap_dump(const struct trap_frame *f)
{
	/* CR2 holds the address a page fault tried to reach: read it before
	 * anything else could fault and overwrite it. */
	unsigned long cr2 = read_cr2();

	kprintf("trap: %s (vector %llu), error 0x%llx", trap_name(f->vector),
		(unsigned long long)f->vector, (unsigned long long)f->error_code);
	if (f->vector == X86_TRAP_PF)
		print_pf_error(f->error_code);
	else if (f->vector == X86_TRAP_GP || f->vector == X86_TRAP_TS ||
		 f->vector == X86_TRAP_NP || f->vector == X86_TRAP_SS)
		print_selector_error(f->error_code);
	kprintf("\n");
	/* A #DF is often a page fault that could not be delivered: show the
	 * address it was about too. */
	if (f->vector == X86_TRAP_PF || f->vector == X86_TRAP_DF)
		kprintf("  cr2=0x%016lx\n", cr2);
	kprintf("  rip=0x%016llx cs=0x%04llx rflags=0x%016llx\n"
		"  rsp=0x%016llx ss=0x%04llx\n",
		(unsigned long long)f->rip, (unsigned long long)f->cs,
		(unsigned long long)f->rflags, (unsigned long long)f->rsp,
		(unsigned long long)f->ss);
	kprintf("  rax=0x%016llx rbx=0x%016llx rcx=0x%016llx\n"
		"  rdx=0x%016llx rsi=0x%016llx rdi=0x%016llx\n"
		"  rbp=0x%016llx r8=0x%016llx r9=0x%016llx\n"
		"  r10=0x%016llx r11=0x%016llx r12=0x%016llx\n"
		"  r13=0x%016llx r14=0x%016llx r15=0x%016llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx,
		(unsigned long long)f->rcx, (unsigned long long)f->rdx,
		(unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp, (unsigned long long)f->r8,
		(unsigned long long)f->r9, (unsigned long long)f->r10,
		(unsigned long long)f->r11, (unsigned long long)f->r12,
		(unsigned long long)f->r13, (unsigned long long)f->r14,
		(unsigned long long)f->r15);
}

void trap_wait_for(volatile uint32_t *counter, uint32_t target)
{
	/*
	 * HLT sleeps until the next interrupt: the CPU is free meanwhile (on
	 * an emulator, for the host threads that deliver timer interrupts).
	 * Interrupts are off while we test, and STI only takes effect after
	 * the next instruction, so none can come between the test and the
	 * HLT and leave us asleep (SDM Vol. 2B, STI). If no interrupt ever
	 * comes, we sleep for good: the harness then reports a hang, with the
	 * CPU at this HLT.
	 */
	for (;;) {
		cli();
		if (*counter >= target)
			break;
		__asm__ volatile("sti; hlt");
	}
	sti();
}

void trap_dispatch(struct trap_frame *f)
{
	trap_handler_t handler = handlers[f->vector];
	int exception = f->vector < IDT_EXCEPTIONS;

	if (exception)
		trap_dump(f);
	if (handler && handler(f))
		return;
	if (!exception)
		trap_dump(f);
	panic("unhandled %s (vector %llu) at rip 0x%llx", trap_name(f->vector),
	      (unsigned long long)f->vector, (unsigned long long)f->rip);
}
