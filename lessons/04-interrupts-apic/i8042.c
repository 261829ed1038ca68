/**
 * @file i8042.c
 * @brief Set up the 8042 keyboard controller for interrupts in scancode set 1.
 * @ingroup lesson04
 *
 * keyboard.c calls this with interrupts on but IRQ 1 still masked, so the
 * bytes read here are ours, not an interrupt handler's. The BIOS has used
 * the keyboard already and may have left a byte in the output buffer: as
 * long as it sits there the controller sends nothing more, so we read it
 * away first. Then we read, change and write back the configuration byte
 * (commands 0x20 and 0x60): IRQ 1 on, the mouse's IRQ 12 off, the keyboard
 * clock on, and translation on. A PS/2 keyboard speaks scancode set 2; with
 * translation the controller turns each byte into the set 1 of the original
 * PC keyboard, which is what scancode.c decodes.
 */
#include "i8042.h"
#include "kprintf.h"

/** Status polls before we decide the controller is not there. @{ */
#define I8042_POLLS 100000
#define I8042_FLUSH_MAX 32      /**< bytes we are ready to throw away */
/** @} */

/** Wait until the controller has taken the last byte we wrote. */
static int i8042_wait_write(void)
{
	for (int i = 0; i < I8042_POLLS; i++)
		if (!(inb(I8042_STATUS) & I8042_STR_IBF))
			return 0;
	return -1;
}

/** Wait until the controller has a byte for us. */
static int i8042_wait_read(void)
{
	for (int i = 0; i < I8042_POLLS; i++)
		if (inb(I8042_STATUS) & I8042_STR_OBF)
			return 0;
	return -1;
}

int i8042_init(void)
{
	unsigned int flushed = 0;
	uint8_t before, after;

	while (inb(I8042_STATUS) & I8042_STR_OBF && flushed < I8042_FLUSH_MAX) {
		inb(I8042_DATA);
		flushed++;
	}
	if (i8042_wait_write() < 0)
		goto silent;
	outb(I8042_COMMAND, I8042_CMD_CTL_RCTR);
	if (i8042_wait_read() < 0)
		goto silent;
	before = inb(I8042_DATA);
	after = (uint8_t)((before | I8042_CTR_KBDINT | I8042_CTR_XLATE) &
			  ~(I8042_CTR_AUXINT | I8042_CTR_KBDDIS));
	outb(I8042_COMMAND, I8042_CMD_CTL_WCTR);
	if (i8042_wait_write() < 0)
		goto silent;
	outb(I8042_DATA, after);
	if (i8042_wait_write() < 0)
		goto silent;
	kprintf("i8042: %u byte(s) flushed; configuration 0x%02x -> 0x%02x: "
		"irq 1 on, translation to set 1 on\n", flushed, before, after);
	return 0;
silent:
	kprintf("i8042: the keyboard controller does not answer\n");
	return -1;
}
