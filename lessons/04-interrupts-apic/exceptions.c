/**
 * @file exceptions.c
 * @brief Raise #BP, #UD, #DE and #PF on purpose, and recover from each.
 * @ingroup lesson04
 *
 * Exceptions come in two kinds that matter here (SDM Vol. 3A, 6.5): a
 * *trap* is reported after its instruction (int3: the saved RIP already
 * points past it), a *fault* before it (the saved RIP points at the
 * faulting instruction, which IRETQ will run again). So a fault handler
 * must either remove the cause (map the missing page: the retry succeeds)
 * or move RIP past the instruction, which means knowing its length. x86
 * instructions are 1 to 15 bytes long and only a decoder can tell; our
 * handlers recognise the one instruction each demonstration plants, by its
 * bytes, and refuse anything else (the dispatcher then panics).
 */
#include "demo.h"
#include "kprintf.h"
#include "param.h"
#include "trap.h"
#include "vmm.h"
#include "x86.h"

/** Patchable: int3 runs with register number n holding magic ^ n. */
volatile uint64_t param_magic KIT_PARAM = 0x0123456789ABCDEFULL;
/** Patchable: the unmapped address the page-fault demonstration touches. */
volatile uint64_t param_fault_address KIT_PARAM = 0x0000123456789ABCULL;
/** Patchable: the selector demo_unhandled_gp() loads (GDT index 5: past
 * the end of the 5-entry GDT). */
volatile uint16_t param_gp_selector KIT_PARAM = 0x28;

/* ------------------------------------------------------------------ #BP */
/** #BP: nothing to repair, int3 is a trap (RIP is already past it). */
static int on_breakpoint(struct trap_frame *frame)
{
	(void)frame;
	return 1;
}

void demo_breakpoint(void)
{
	uint64_t m = param_magic;

	trap_register(X86_TRAP_BP, on_breakpoint);
	kprintf("bp: int3 with register n = 0x%016llx ^ n\n",
		(unsigned long long)m);
	/*
	 * Register numbers as instructions encode them (SDM Vol. 2A, 2.1.5):
	 * rax 0, rcx 1, rdx 2, rbx 3, (rsp 4, rbp 5), rsi 6, rdi 7, r8-r15.
	 * A register variable is only sure to be in its register at the asm
	 * statement (a call would clobber r8-r11), so no call comes between.
	 */
	uint64_t rax = m ^ 0, rcx = m ^ 1, rdx = m ^ 2, rbx = m ^ 3;
	uint64_t rsi = m ^ 6, rdi = m ^ 7;
	register uint64_t r8 __asm__("r8") = m ^ 8;
	register uint64_t r9 __asm__("r9") = m ^ 9;
	register uint64_t r10 __asm__("r10") = m ^ 10;
	register uint64_t r11 __asm__("r11") = m ^ 11;
	register uint64_t r12 __asm__("r12") = m ^ 12;
	register uint64_t r13 __asm__("r13") = m ^ 13;
	register uint64_t r14 __asm__("r14") = m ^ 14;
	register uint64_t r15 __asm__("r15") = m ^ 15;

	/* "+": the values must survive the trap, and we check that they do. */
	__asm__ volatile("int3"
			 : "+a"(rax), "+c"(rcx), "+d"(rdx), "+b"(rbx),
			   "+S"(rsi), "+D"(rdi), "+r"(r8), "+r"(r9),
			   "+r"(r10), "+r"(r11), "+r"(r12), "+r"(r13),
			   "+r"(r14), "+r"(r15)
			 : : "memory");
	unsigned int kept = (rax == (m ^ 0)) + (rcx == (m ^ 1)) +
		(rdx == (m ^ 2)) + (rbx == (m ^ 3)) + (rsi == (m ^ 6)) +
		(rdi == (m ^ 7)) + (r8 == (m ^ 8)) + (r9 == (m ^ 9)) +
		(r10 == (m ^ 10)) + (r11 == (m ^ 11)) + (r12 == (m ^ 12)) +
		(r13 == (m ^ 13)) + (r14 == (m ^ 14)) + (r15 == (m ^ 15));

	kprintf("bp: resumed after int3, %u of 14 registers intact\n", kept);
}

/* ------------------------------------------------------------------ #UD */
/** #UD: step over our ud2, refuse any other invalid instruction. */
static int on_invalid_opcode(struct trap_frame *frame)
{
	const uint8_t *ip = (const uint8_t *)frame->rip;

	if (ip[0] != 0x0F || ip[1] != 0x0B)     /* ud2 is 0F 0B */
		return 0;
	frame->rip += 2;
	kprintf("ud: skipped the 2-byte ud2 (0f 0b) at 0x%llx\n",
		(unsigned long long)(frame->rip - 2));
	return 1;
}

void demo_invalid_opcode(void)
{
	trap_register(X86_TRAP_UD, on_invalid_opcode);
	kprintf("ud: executing ud2, an instruction defined to be invalid\n");
	__asm__ volatile("ud2");
	kprintf("ud: resumed after ud2\n");
}

/* ------------------------------------------------------------------ #DE */
/** #DE: step over our `div ecx`, refuse any other division. */
static int on_divide_error(struct trap_frame *frame)
{
	const uint8_t *ip = (const uint8_t *)frame->rip;

	/* div ecx: opcode F7, ModRM F1 (mod 11: a register; reg 6: DIV;
	 * r/m 001: ECX). Any other division fault is not ours to skip. */
	if (ip[0] != 0xF7 || ip[1] != 0xF1)
		return 0;
	frame->rip += 2;
	kprintf("de: skipped the 2-byte div ecx (f7 f1) at 0x%llx\n",
		(unsigned long long)(frame->rip - 2));
	return 1;
}

void demo_divide_error(void)
{
	uint32_t quotient = 42, remainder = 0, divisor = 0;

	trap_register(X86_TRAP_DE, on_divide_error);
	kprintf("de: dividing %u by %u\n", quotient, divisor);
	/* In C a division by zero is undefined behaviour the compiler may
	 * remove; written in assembly it reaches the CPU. */
	__asm__ volatile("divl %%ecx"
			 : "+a"(quotient), "+d"(remainder) : "c"(divisor));
	kprintf("de: resumed after the division, eax still %u\n", quotient);
}

/* ------------------------------------------------------------------ #PF */
static uint64_t fault_page;     /**< the page of param_fault_address */
static uint64_t fault_frame;    /**< the physical page it gets */

/**
 * #PF: demand paging in miniature: a missing page is mapped read-only on first
 * touch; a write to it then faults again (a protection fault, since CR0.WP
 * makes ring 0 respect read-only pages) and the page becomes writable.
 * IRETQ re-runs the faulting instruction, which now succeeds.
 */
static int on_page_fault(struct trap_frame *frame)
{
	uint64_t address = read_cr2();

	if ((address & ~(uint64_t)(PAGE_SIZE - 1)) != fault_page)
		return 0;               /* a real bug, not our demonstration */
	if (!(frame->error_code & X86_PF_PROT)) {
		fault_frame = vmm_alloc_page();
		vmm_map(fault_page, fault_frame, 0);
		kprintf("pf: mapped page 0x%llx -> physical 0x%llx, read-only\n",
			(unsigned long long)fault_page,
			(unsigned long long)fault_frame);
		return 1;
	}
	if (frame->error_code & X86_PF_WRITE) {
		vmm_map(fault_page, fault_frame, PTE_RW);
		kprintf("pf: page 0x%llx made writable\n",
			(unsigned long long)fault_page);
		return 1;
	}
	return 0;
}

int demo_page_fault(void)
{
	uint64_t address = param_fault_address;
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)address;
	uint8_t before, after;

	if (!vmm_is_canonical(address)) {
		kprintf("pf: fault_address 0x%llx is not canonical (bits 63:47 "
			"differ): it would raise #GP, not #PF\n",
			(unsigned long long)address);
		return -1;
	}
	if (vmm_is_mapped(address)) {
		kprintf("pf: fault_address 0x%llx is already mapped: choose an "
			"unmapped address\n", (unsigned long long)address);
		return -1;
	}
	fault_page = address & ~(uint64_t)(PAGE_SIZE - 1);
	trap_register(X86_TRAP_PF, on_page_fault);
	write_cr0(read_cr0() | CR0_WP);
	kprintf("pf: reading, then writing 0x%llx, which is not mapped\n",
		(unsigned long long)address);
	before = *p;
	*p = (uint8_t)param_magic;
	after = *p;
	kprintf("pf: read 0x%02x, wrote 0x%02x, read back 0x%02x at 0x%llx\n",
		before, (uint8_t)param_magic, after, (unsigned long long)address);
	return 0;
}

/* ------------------------------------------------------------------ #GP */
void demo_unhandled_gp(void)
{
	uint16_t selector = param_gp_selector;

	kprintf("gp: loading selector 0x%x into ES; nothing handles #GP\n",
		selector);
	__asm__ volatile("movw %0, %%es" : : "r"(selector));
	kprintf("gp: selector 0x%x loaded without a fault\n", selector);
}
