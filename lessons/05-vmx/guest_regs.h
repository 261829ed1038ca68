/**
 * @file guest_regs.h
 * @brief The guest's general registers, as vmexit.asm loads and saves them.
 * @ingroup lesson05
 *
 * VMLAUNCH and VMRESUME load the guest's RSP, RIP and RFLAGS from the VMCS,
 * but the other fifteen general registers are the hypervisor's job: on a
 * VM exit they still hold the guest's values (SDM Vol. 3C, 27.1
 * "Architectural State Before a VM Exit"). vmexit.asm keeps them in a
 * struct guest_regs. Its offsets are written once, here: NASM reads the
 * GUEST_REGS_* numbers from the generated kit.inc, and the _Static_asserts
 * below make the build fail if the struct ever disagrees with them.
 */
#ifndef LESSON05_GUEST_REGS_H
#define LESSON05_GUEST_REGS_H

#include <stddef.h>
#include <stdint.h>

/** @name Byte offsets of struct guest_regs (vmexit.asm uses these)
 * @{ */
#define GUEST_REGS_RAX 0    /**< guest_regs.rax */
#define GUEST_REGS_RCX 8    /**< guest_regs.rcx */
#define GUEST_REGS_RDX 16   /**< guest_regs.rdx */
#define GUEST_REGS_RBX 24   /**< guest_regs.rbx */
#define GUEST_REGS_RBP 32   /**< guest_regs.rbp */
#define GUEST_REGS_RSI 40   /**< guest_regs.rsi */
#define GUEST_REGS_RDI 48   /**< guest_regs.rdi */
#define GUEST_REGS_R8 56    /**< guest_regs.r8 */
#define GUEST_REGS_R9 64    /**< guest_regs.r9 */
#define GUEST_REGS_R10 72   /**< guest_regs.r10 */
#define GUEST_REGS_R11 80   /**< guest_regs.r11 */
#define GUEST_REGS_R12 88   /**< guest_regs.r12 */
#define GUEST_REGS_R13 96   /**< guest_regs.r13 */
#define GUEST_REGS_R14 104  /**< guest_regs.r14 */
#define GUEST_REGS_R15 112  /**< guest_regs.r15 */
#define GUEST_REGS_SIZE 120 /**< sizeof(struct guest_regs) */
/** @} */

/**
 * The guest's general registers, saved by vmexit.asm on every VM exit and
 * loaded from here on every entry. The VMCS holds RSP, RIP and RFLAGS.
 */
struct guest_regs {
	uint64_t rax, rcx, rdx, rbx, rbp, rsi, rdi;  /**< legacy registers */
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15; /**< 64-bit additions */
};

/** Fail the build unless register @p reg sits at @p offset. */
#define GUEST_REGS_CHECK(reg, offset) \
	_Static_assert(offsetof(struct guest_regs, reg) == (offset), \
		       "guest_regs.h: GUEST_REGS_* disagrees with the struct")

/* The checks themselves (hidden from the book: nothing to document). */
/** @cond */
GUEST_REGS_CHECK(rax, GUEST_REGS_RAX);
GUEST_REGS_CHECK(rcx, GUEST_REGS_RCX);
GUEST_REGS_CHECK(rdx, GUEST_REGS_RDX);
GUEST_REGS_CHECK(rbx, GUEST_REGS_RBX);
GUEST_REGS_CHECK(rbp, GUEST_REGS_RBP);
GUEST_REGS_CHECK(rsi, GUEST_REGS_RSI);
GUEST_REGS_CHECK(rdi, GUEST_REGS_RDI);
GUEST_REGS_CHECK(r8, GUEST_REGS_R8);
GUEST_REGS_CHECK(r9, GUEST_REGS_R9);
GUEST_REGS_CHECK(r10, GUEST_REGS_R10);
GUEST_REGS_CHECK(r11, GUEST_REGS_R11);
GUEST_REGS_CHECK(r12, GUEST_REGS_R12);
GUEST_REGS_CHECK(r13, GUEST_REGS_R13);
GUEST_REGS_CHECK(r14, GUEST_REGS_R14);
GUEST_REGS_CHECK(r15, GUEST_REGS_R15);
_Static_assert(sizeof(struct guest_regs) == GUEST_REGS_SIZE,
	       "guest_regs.h: GUEST_REGS_SIZE disagrees with the struct");
/** @endcond */

#endif
