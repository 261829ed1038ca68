/**
 * @file a20.c
 * @brief Check A20 again, now from protected mode, and report it.
 * @ingroup lesson02
 *
 * a20.asm already tested A20 in real mode. Protected mode lets us test it
 * directly: with A20 off, address 0x100500 has bit 20 cleared on the bus
 * and lands on 0x000500. So write two different values and read them back.
 */
#include "boot.h"
#include "kprintf.h"
#include "power.h"

/** Print how A20 was enabled and verify it by the wrap-around test. */
void a20_report(void)
{
	volatile uint32_t *low = (volatile uint32_t *)0x000500;
	volatile uint32_t *high = (volatile uint32_t *)0x100500;
	uint32_t saved = *low;
	int on;

	*low = 0x12345678;
	*high = 0x87654321;     /* overwrites *low when A20 is off */
	on = (*low == 0x12345678);
	*low = saved;
	kprintf("a20: %s; wrap-around test at 0x100500: %s\n", a20_method,
		on ? "on" : "OFF");
	if (!on)
		panic("A20 is off: every odd megabyte aliases the one below");
}
