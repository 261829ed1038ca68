/**
 * @file power.h
 * @brief Power the machine off with a pass/fail status, and panic().
 * @ingroup common
 *
 * How a lesson ends matters to the grader. power_off() prints the kit's last
 * line, `[kit] power off: PASS` or `[kit] power off: FAIL (status N)`, then
 * tries every way it knows to stop the machine, in this order:
 *  1. QEMU's isa-debug-exit device: QEMU exits with status (code << 1) | 1.
 *  2. Bochs' power-off port 0x8900: the string "Shutdown".
 *  3. ACPI S5 through the PM1a control ports emulators commonly use.
 *  4. cli; hlt forever (real hardware without ACPI support here).
 */
#ifndef KIT_POWER_H
#define KIT_POWER_H

/** @{ */
#define DEBUG_EXIT_PORT 0xF4        /**< isa-debug-exit I/O port (QEMU) */
#define DEBUG_EXIT_PASS 0x10        /**< QEMU exits with (0x10 << 1) | 1 = 33 */
#define DEBUG_EXIT_FAIL 0x11        /**< QEMU exits with (0x11 << 1) | 1 = 35 */
#define BOCHS_SHUTDOWN_PORT 0x8900  /**< Bochs: write "Shutdown" here */
#define QEMU_PIIX4_PM1A_CNT 0x604   /**< ACPI PM1a control on QEMU's i440fx */
#define BOCHS_PIIX4_PM1A_CNT 0xB004 /**< ACPI PM1a control on Bochs */
#define ACPI_SLP_EN 0x2000          /**< PM1_CNT.SLP_EN with SLP_TYP 0 (S5) */
/** @} */

/**
 * @name Power-off statuses
 * The N of `[kit] power off: FAIL (status N)`, named once for every lesson
 * so that no two lessons give one number two meanings. The harness reads
 * them from the kit.json the build writes (common/tools/h2inc.py).
 * @{
 */
#define POWER_PASS 0                  /**< the lesson did all it set out to */
#define POWER_FAIL 1                  /**< panic(), or a lesson gave up */
#define POWER_FAIL_NO_VMX 2           /**< lesson 05 on: no VMX in CPUID */
#define POWER_FAIL_VMX_LOCKED 3       /**< IA32_FEATURE_CONTROL: VMX off */
#define POWER_FAIL_VMX_CONTROLS 4     /**< a control the CPU cannot set */
#define POWER_FAIL_VM_ENTRY 5         /**< VM entry failed (reason bit 31) */
#define POWER_FAIL_GUEST_STATE 6      /**< the pre-entry check said no */
#define POWER_FAIL_EPT_VIOLATION 7    /**< lesson 06: VM1 left its RAM */
#define POWER_FAIL_GUEST_HLT 8        /**< VM1 halted: nothing wakes it */
#define POWER_FAIL_TRIPLE_FAULT 9     /**< VM1 triple-faulted */
#define POWER_FAIL_UNEXPECTED_EXIT 10 /**< an exit no handler expects */
#define POWER_FAIL_NO_SVM 11          /**< lesson 08: no SVM in CPUID */
#define POWER_FAIL_SVM_DISABLED 12    /**< VM_CR.SVMDIS: firmware said no */
#define POWER_FAIL_NPF 13             /**< VM1 touched a page NPT lacks */
#define POWER_FAIL_VMRUN 14           /**< VMRUN refused the VMCB */
#define POWER_FAIL_GUEST_EXCEPTION 15 /**< lesson 10: a VM's fault exited */
#define POWER_FAIL_BUDGET 16          /**< a VM spun for its whole budget */
#define POWER_FAIL_PARAM 17           /**< a patched parameter is out of range */
#define POWER_FAIL_HOST_SMP 18        /**< lesson 07 on: processors it cannot confine */
/** @} */

/**
 * Print the status line, drain the serial port and switch the machine off.
 * @param status POWER_PASS, or any other number for a failure (it is
 *               printed); the POWER_FAIL_* above are the kit's own.
 */
__attribute__((noreturn)) void power_off(int status);

/** Print "PANIC at FILE:LINE: message" and power off with a failure status. */
__attribute__((noreturn)) void panic_at(const char *file, int line,
					const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** panic() with the caller's location filled in. */
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)

#endif
