/**
 * @file serial.c
 * @brief Polled driver for COM1, a 16550-compatible UART.
 * @ingroup common
 *
 * Runs in any mode (32- or 64-bit) with I/O privilege. Nothing needs to have
 * happened before serial_init(); every lesson calls it first so that even its
 * earliest failure reaches the harness.
 */
#include "serial.h"
#include "x86.h"

void serial_init(void)
{
	outb(COM1_PORT + UART_IER, 0x00);          /* we poll: no interrupts */
	outb(COM1_PORT + UART_LCR, UART_LCR_DLAB); /* next two bytes: divisor */
	outb(COM1_PORT + UART_DLL, 1);             /* 115200 / 1 = 115200 baud */
	outb(COM1_PORT + UART_DLM, 0);
	/*
	 * Writing LCR also clears DLAB. 8N1 must be set explicitly: Bochs
	 * resets the UART to 5 data bits, which garbles every character.
	 */
	outb(COM1_PORT + UART_LCR, UART_LCR_8N1);
	outb(COM1_PORT + UART_FCR, 0x07);          /* enable and clear FIFOs */
	outb(COM1_PORT + UART_MCR, 0x03);          /* DTR and RTS asserted */
}

/** Wait until the transmit holding register can take another byte. */
static void serial_wait_thre(void)
{
	while (!(inb(COM1_PORT + UART_LSR) & UART_LSR_THRE))
		;
}

void serial_putc(char c)
{
	if (c == '\n') {
		serial_wait_thre();
		outb(COM1_PORT + UART_THR, '\r');
	}
	serial_wait_thre();
	outb(COM1_PORT + UART_THR, (uint8_t)c);
}

void serial_drain(void)
{
	/*
	 * THRE only says the UART accepted the byte; TEMT says the shift
	 * register is empty too. Power off before TEMT and the emulator may
	 * drop the last characters of the transcript.
	 */
	while (!(inb(COM1_PORT + UART_LSR) & UART_LSR_TEMT))
		;
}
