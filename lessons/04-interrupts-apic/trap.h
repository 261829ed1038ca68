/**
 * @file trap.h
 * @brief The trap frame every interrupt entry builds, and the C dispatcher.
 * @ingroup lesson04
 *
 * isr.asm turns every one of the 256 vectors into the same picture on the
 * stack, a struct trap_frame, and calls trap_dispatch(). Exceptions are
 * always reported (name, decoded error code, registers); then the handler
 * registered for the vector, if any, gets to fix things up. A vector nobody
 * handles is a bug: it is reported and the machine powers off with FAIL.
 */
#ifndef LESSON04_TRAP_H
#define LESSON04_TRAP_H

#include <stdint.h>

#include "x86.h"

/** Exception vectors (SDM Vol. 3A, 6.3.1, Table 6-1; Linux's names). @{ */
#define X86_TRAP_DE 0   /**< #DE divide error */
#define X86_TRAP_DB 1   /**< #DB debug */
#define X86_TRAP_NMI 2  /**< non-maskable interrupt */
#define X86_TRAP_BP 3   /**< #BP breakpoint (int3) */
#define X86_TRAP_OF 4   /**< #OF overflow (into) */
#define X86_TRAP_BR 5   /**< #BR bound range exceeded */
#define X86_TRAP_UD 6   /**< #UD invalid opcode */
#define X86_TRAP_NM 7   /**< #NM device not available */
#define X86_TRAP_DF 8   /**< #DF double fault (error code: always 0) */
#define X86_TRAP_TS 10  /**< #TS invalid TSS (error code) */
#define X86_TRAP_NP 11  /**< #NP segment not present (error code) */
#define X86_TRAP_SS 12  /**< #SS stack-segment fault (error code) */
#define X86_TRAP_GP 13  /**< #GP general protection (error code) */
#define X86_TRAP_PF 14  /**< #PF page fault (error code) */
#define X86_TRAP_MF 16  /**< #MF x87 floating-point error */
#define X86_TRAP_AC 17  /**< #AC alignment check (error code) */
#define X86_TRAP_MC 18  /**< #MC machine check */
#define X86_TRAP_XF 19  /**< #XM SIMD floating-point exception */
#define X86_TRAP_VE 20  /**< #VE virtualization exception */
#define X86_TRAP_CP 21  /**< #CP control-protection exception (error code) */
#define X86_TRAP_VC 29  /**< #VC VMM communication (AMD; error code) */
#define X86_TRAP_SX 30  /**< #SX security exception (AMD; error code) */
/** @} */

/** The #PF error code (SDM Vol. 3A, 4.7; Linux's names). @{ */
#define X86_PF_PROT BIT(0)  /**< 0: page not present; 1: protection violation */
#define X86_PF_WRITE BIT(1) /**< the access was a write */
#define X86_PF_USER BIT(2)  /**< the access came from user mode (CPL 3) */
#define X86_PF_RSVD BIT(3)  /**< a paging entry had a reserved bit set */
#define X86_PF_INSTR BIT(4) /**< an instruction fetch */
/** @} */

/** A selector error code: #TS, #NP, #SS, #GP (SDM Vol. 3A, 6.13). @{ */
#define X86_SEL_EXT BIT(0)  /**< an event external to the program caused it */
#define X86_SEL_IDT BIT(1)  /**< the index is an IDT vector */
#define X86_SEL_TI BIT(2)   /**< (IDT clear) the index is in the LDT, not GDT */
/** @} */

/**
 * The stack at the moment isr.asm calls trap_dispatch(), lowest address
 * first: the general registers isr.asm pushed, the vector number and an
 * error code (the CPU's, or a 0 the stub pushed so that every frame looks
 * the same), then what the CPU pushed on entry (SDM Vol. 3A, 6.14.2).
 * A handler may change any field: isr.asm restores them all and IRETQ
 * resumes at frame->rip.
 */
struct trap_frame {
	uint64_t r15;        /**< pushed last by isr_common */
	uint64_t r14;        /**< general register */
	uint64_t r13;        /**< general register */
	uint64_t r12;        /**< general register */
	uint64_t r11;        /**< general register */
	uint64_t r10;        /**< general register */
	uint64_t r9;         /**< general register */
	uint64_t r8;         /**< general register */
	uint64_t rdi;        /**< general register */
	uint64_t rsi;        /**< general register */
	uint64_t rbp;        /**< general register */
	uint64_t rbx;        /**< general register */
	uint64_t rdx;        /**< general register */
	uint64_t rcx;        /**< general register */
	uint64_t rax;        /**< pushed first by isr_common */
	uint64_t vector;     /**< pushed by the stub */
	uint64_t error_code; /**< pushed by the CPU, or a dummy 0 */
	uint64_t rip;        /**< where to resume (the faulting instruction
				  for faults, the next one for traps) */
	uint64_t cs;         /**< code segment of the interrupted code */
	uint64_t rflags;     /**< its flags (IF included) */
	uint64_t rsp;        /**< its stack pointer */
	uint64_t ss;         /**< its stack segment */
};

/**
 * A handler for one vector. It returns non-zero when it dealt with the
 * event (fixing the frame if needed), 0 to let the dispatcher report it
 * and panic.
 */
typedef int (*trap_handler_t)(struct trap_frame *frame);

/** Call @p handler for every trap on @p vector (replaces any earlier one). */
void trap_register(uint8_t vector, trap_handler_t handler);

/** The name of an exception vector ("#PF page fault"), or "interrupt". */
const char *trap_name(uint64_t vector);

/** Print the frame: vector, decoded error code, CR2 for #PF, registers. */
void trap_dump(const struct trap_frame *frame);

/**
 * Sleep until interrupt handlers have counted @p *counter up to @p target:
 * enables interrupts and halts between them. Returns with interrupts on.
 */
void trap_wait_for(volatile uint32_t *counter, uint32_t target);

/** Called by isr.asm with a pointer to the frame on the stack. */
void trap_dispatch(struct trap_frame *frame);

#endif
