/**
 * @file hypercall.h
 * @brief The hypercall ABI between VM1 and the hypervisor, and VM1's layout.
 * @ingroup lesson06
 *
 * A hypercall is a VMCALL instruction in the guest: it always causes a VM
 * exit (SDM Vol. 3C, 25.1.2), so it is the guest's way to call the
 * hypervisor, as SYSCALL is a program's way to call its kernel.
 *
 * The ABI: the call number in EAX; arguments in EBX, ECX, EDX; the result
 * in EAX; every other register is preserved. VM1 is a real-mode guest, so
 * only the low 32 bits of each register exist for it and only those count.
 * Both sides include this header: the hypervisor as C, the guest (vm1.asm)
 * through the generated kit.inc.
 */
#ifndef LESSON06_HYPERCALL_H
#define LESSON06_HYPERCALL_H

/** @name Hypercall numbers (EAX)
 * @{ */
#define HC_NOP 0    /**< do nothing, return 0: a round trip to measure */
#define HC_PRINT 1  /**< print ECX bytes at guest-physical EBX; returns ECX */
#define HC_EXIT 2   /**< stop this VM with status EBX; never returns */
#define HC_YIELD 3  /**< give up the rest of the time slice; returns 0 */
/** @} */

/** @name Errors returned in EAX
 * @{ */
#define HC_ERR_INVALID 0xFFFFFFFF /**< no such hypercall number */
#define HC_ERR_FAULT 0xFFFFFFFE   /**< an address outside the guest's RAM */
#define HC_ERR_TOO_LONG 0xFFFFFFFD /**< more than HC_PRINT_MAX bytes */
/** @} */

/** @name VM1's memory
 * @{ */
#define HC_PRINT_MAX 256          /**< longest string HC_PRINT accepts */
#define GUEST_RAM_SIZE 0x10000    /**< 64 KiB at guest-physical 0 */
#define GUEST_LOAD_ADDR 0x7C00    /**< where VM1's program starts */
#define GUEST_GREETING_OFFSET 4   /**< the greeting, from the start of VM1 */
#define GUEST_GREETING_SIZE 32    /**< bytes reserved for it */
/** @} */

/** @name Scenarios: what VM1 does besides its greeting (EDX at start).
 * 4 to 9 are lesson 10's: a spinning VM, VMs that share the CPU, and the
 * exceptions its exception bitmap catches.
 * @{ */
#define SCENARIO_NORMAL 0         /**< greet, CPUID, benchmark, exit */
#define SCENARIO_EPT_VIOLATION 1  /**< read guest-physical EBX: unmapped */
#define SCENARIO_TRIPLE_FAULT 2   /**< empty IDT, then INT3 */
#define SCENARIO_IO 3             /**< an OUT instruction (exits) */
#define SCENARIO_SPIN 4           /**< `jmp $`: never exits by itself */
#define SCENARIO_ROUNDS 5         /**< ECX rounds of EBX loops, each said */
#define SCENARIO_ROUNDS_YIELD 6   /**< the same, HC_YIELD after each */
#define SCENARIO_ROUNDS_HLT 7     /**< the same, HLT after each */
#define SCENARIO_DIVIDE_ERROR 8   /**< DIV by zero: #DE */
#define SCENARIO_INVALID_OPCODE 9 /**< VMXON in real mode: #UD */
#define SCENARIO_COUNT 10         /**< how many there are */
/** @} */

#endif
