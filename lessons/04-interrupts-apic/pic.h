/**
 * @file pic.h
 * @brief The legacy 8259A interrupt controllers: moved out of the way, masked.
 * @ingroup lesson04
 */
#ifndef LESSON04_PIC_H
#define LESSON04_PIC_H

/** @{ */
#define PIC1_CMD 0x20         /**< master 8259: command / status */
#define PIC1_DATA 0x21        /**< master 8259: interrupt mask register */
#define PIC2_CMD 0xA0         /**< slave 8259: command / status */
#define PIC2_DATA 0xA1        /**< slave 8259: interrupt mask register */
#define PIC1_VECTOR 0x20      /**< master's IRQ 0-7 -> vectors 0x20-0x27 */
#define PIC2_VECTOR 0x28      /**< slave's IRQ 8-15 -> vectors 0x28-0x2F */
/** @} */

/** Re-initialise both 8259s with their vectors above the exceptions, then
 * mask every line: from now on the I/O APIC delivers external interrupts. */
void pic_disable(void);

#endif
