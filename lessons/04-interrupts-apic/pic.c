/**
 * @file pic.c
 * @brief Remap and mask the two 8259A PICs before using the APICs.
 * @ingroup lesson04
 *
 * The BIOS leaves the 8259s delivering IRQ 0-7 on vectors 0x08-0x0F: in
 * protected and long mode those are exception vectors (0x08 is #DF!), so a
 * timer tick from the PIT would look like a double fault. Even when we will
 * never use the 8259s, we reprogram their vector bases first, so that a
 * stray (spurious) interrupt lands on a harmless vector, and then mask all
 * sixteen lines. The initialisation sequence is four "ICW" bytes per chip
 * (Intel 8259A datasheet; OSDev wiki "8259 PIC").
 */
#include "kprintf.h"
#include "pic.h"
#include "x86.h"

/** @{ */
#define ICW1_INIT 0x11        /**< start initialisation; an ICW4 follows */
#define ICW3_MASTER 0x04      /**< master: a slave hangs on line 2 */
#define ICW3_SLAVE 0x02       /**< slave: my cascade identity is 2 */
#define ICW4_8086 0x01        /**< 8086 mode (not the 8080's) */
#define PIC_MASK_ALL 0xFF     /**< OCW1: every line masked */
/** @} */

void pic_disable(void)
{
	outb(PIC1_CMD, ICW1_INIT);
	outb(PIC2_CMD, ICW1_INIT);
	outb(PIC1_DATA, PIC1_VECTOR);   /* ICW2: vector base */
	outb(PIC2_DATA, PIC2_VECTOR);
	outb(PIC1_DATA, ICW3_MASTER);   /* ICW3: how they are cascaded */
	outb(PIC2_DATA, ICW3_SLAVE);
	outb(PIC1_DATA, ICW4_8086);     /* ICW4: mode */
	outb(PIC2_DATA, ICW4_8086);
	outb(PIC1_DATA, PIC_MASK_ALL);  /* OCW1: mask every line */
	outb(PIC2_DATA, PIC_MASK_ALL);
	kprintf("pic: 8259s remapped to vectors 0x%02x-0x%02x, masks 0x%02x "
		"0x%02x\n", PIC1_VECTOR, PIC2_VECTOR + 7, inb(PIC1_DATA),
		inb(PIC2_DATA));
}
