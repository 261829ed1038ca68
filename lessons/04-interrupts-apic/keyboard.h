/**
 * @file keyboard.h
 * @brief Keyboard input: IRQ 1 through the I/O APIC or the 8259, echoed.
 * @ingroup lesson04
 */
#ifndef LESSON04_KEYBOARD_H
#define LESSON04_KEYBOARD_H

/** param_keyboard: which way IRQ 1 takes, or none. @{ */
#define KEYBOARD_OFF 0        /**< no keyboard: the lesson does not wait */
#define KEYBOARD_IOAPIC 1     /**< 8042 -> I/O APIC -> local APIC */
#define KEYBOARD_PIC 2        /**< 8042 -> 8259 -> the local APIC's LINT0 */
/** @} */

/** Limits of the other two parameters. @{ */
#define KEYBOARD_LINE_MAX 128         /**< most characters in one line */
#define KEYBOARD_TIMEOUT_MIN_MS 10    /**< one tick of the timeout's clock */
#define KEYBOARD_TIMEOUT_MAX_MS 600000 /**< ten minutes */
/** @} */

/**
 * With param_keyboard off, return 0 at once. Otherwise route IRQ 1 (and
 * the PIT's IRQ 0, the clock of the timeout) the way it asks, print
 * "keyboard: ready", echo every character typed on COM1 and the screen
 * until Enter or param_keyboard_chars characters, report, and mask both
 * lines again. A parameter out of range powers off with
 * POWER_FAIL_PARAM. @return 0, or -1 on a timeout or a silent controller.
 */
int keyboard_demo(void);

#endif
