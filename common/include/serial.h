/**
 * @file serial.h
 * @brief COM1: the 16550 UART every lesson talks through.
 * @ingroup common
 *
 * The serial port is the kit's most important output: the harness grades what
 * arrives on it. It is polled, never interrupt driven, so it works from the
 * first instruction of a lesson to the last, even with interrupts broken.
 */
#ifndef KIT_SERIAL_H
#define KIT_SERIAL_H

/** @{ */
#define COM1_PORT 0x3F8       /**< I/O base of the first serial port */
#define UART_THR 0            /**< transmit holding register (write) */
#define UART_IER 1            /**< interrupt enable register */
#define UART_DLL 0            /**< divisor latch, low byte (when DLAB=1) */
#define UART_DLM 1            /**< divisor latch, high byte (when DLAB=1) */
#define UART_FCR 2            /**< FIFO control register (write) */
#define UART_LCR 3            /**< line control register */
#define UART_MCR 4            /**< modem control register */
#define UART_LSR 5            /**< line status register */
#define UART_LCR_8N1 0x03     /**< 8 data bits, no parity, 1 stop bit */
#define UART_LCR_DLAB 0x80    /**< divisor latch access bit */
#define UART_LSR_THRE 0x20    /**< transmit holding register empty */
#define UART_LSR_TEMT 0x40    /**< transmitter empty: every bit is on the wire */
/** @} */

/** Program COM1 for 115200 baud, 8N1, FIFOs on, interrupts off. */
void serial_init(void);

/** Send one byte, waiting until the UART can take it. "\n" is sent as "\r\n". */
void serial_putc(char c);

/** Wait until every byte written so far has left the UART (LSR.TEMT). */
void serial_drain(void);

#endif
