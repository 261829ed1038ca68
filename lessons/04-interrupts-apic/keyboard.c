/**
 * @file keyboard.c
 * @brief Read a line from the keyboard: IRQ 1 end to end, echoed as typed.
 * @ingroup lesson04
 *
 * main.c calls keyboard_demo() last, after pit_irq_demo(): the local APIC
 * and the I/O APIC are set up, the 8259s remapped to 0x20-0x2F and masked,
 * interrupts on. Only when param_keyboard asks for it does the lesson wait
 * for a person (or the harness) to type; by default nothing here runs.
 *
 * Each key pressed or released makes the 8042 (i8042.c) hold one byte of
 * scancode set 1 and raise ISA IRQ 1. That line reaches the CPU one of two
 * ways, as param_keyboard chooses:
 *  - KEYBOARD_IOAPIC: the I/O APIC pin the MADT gives IRQ 1 sends vector
 *    0x31 to this CPU's local APIC, as pit_irq.c does for IRQ 0; the
 *    handler ends with an EOI to the local APIC.
 *  - KEYBOARD_PIC: the master 8259's line 1, unmasked, gives vector 0x21
 *    (pic.c's base 0x20 + 1). The 8259's output is wired to the local
 *    APIC's LINT0 pin, which lapic.c masked: we set its LVT entry to
 *    ExtINT, "ask the 8259 for the vector" (SDM Vol. 3A, 10.5.1). The EOI
 *    then goes to the 8259: a handler of an ExtINT interrupt must not
 *    write the local APIC's EOI register (SDM Vol. 3A, 10.8.1).
 * The handler only takes the byte into a ring; the loop below decodes it
 * (scancode.c) and echoes, outside interrupt context. A timeout needs a
 * clock that wakes the HLT: the PIT's IRQ 0 at 100 Hz, routed the same way.
 */
#include "i8042.h"
#include "ioapic.h"
#include "keyboard.h"
#include "kprintf.h"
#include "lapic.h"
#include "param.h"
#include "pic.h"
#include "pit.h"
#include "power.h"
#include "scancode.h"
#include "trap.h"

/** @{ */
#define KEYBOARD_VECTOR 0x31       /**< IRQ 1 through the I/O APIC */
#define KEYBOARD_TIMER_VECTOR 0x32 /**< IRQ 0 through it, for the timeout */
#define KEYBOARD_TICK_HZ 100       /**< the timeout's clock: 10 ms ticks */
#define KEYBOARD_RING 64           /**< bytes between handler and loop */
#define PIC_EOI 0x20               /**< OCW2: non-specific end of interrupt */
#define APIC_LVT_EXTINT 0x700      /**< LVT delivery mode 111b: ExtINT */
/** @} */

/** Patchable: KEYBOARD_OFF (default), KEYBOARD_IOAPIC or KEYBOARD_PIC. */
volatile uint8_t param_keyboard KIT_PARAM = KEYBOARD_OFF;
/** Patchable: the line ends after this many characters (or at Enter). */
volatile uint32_t param_keyboard_chars KIT_PARAM = 64;
/** Patchable: give up (FAIL) when the line has not ended after this. */
volatile uint32_t param_keyboard_timeout_ms KIT_PARAM = 10000;

static volatile uint8_t ring[KEYBOARD_RING]; /**< bytes from the 8042 */
static volatile uint32_t ring_head;  /**< next to write (handler only) */
static volatile uint32_t ring_tail;  /**< next to read (the loop only) */
static volatile uint32_t irqs;       /**< IRQ 1 interrupts */
static volatile uint32_t lost;       /**< bytes dropped: the ring was full */
static volatile uint32_t ticks;      /**< IRQ 0 interrupts */
static uint8_t route;                /**< param_keyboard, once checked */

/** Acknowledge the interrupt to whichever controller delivered it. */
static void keyboard_eoi(void)
{
	if (route == KEYBOARD_PIC)
		outb(PIC1_CMD, PIC_EOI);
	else
		lapic_eoi();
}

/** IRQ 1: take the byte the 8042 holds (if any) into the ring. Reading
 * port 0x60 empties the output buffer, so the 8042 can send the next. */
static int on_keyboard_irq(struct trap_frame *frame)
{
	(void)frame;
	irqs++;
	if (inb(I8042_STATUS) & I8042_STR_OBF) {
		uint8_t code = inb(I8042_DATA);

		if (ring_head - ring_tail < KEYBOARD_RING)
			ring[ring_head++ % KEYBOARD_RING] = code;
		else
			lost++;
	}
	keyboard_eoi();
	return 1;
}

/** IRQ 0: one tick of the timeout's clock. */
static int on_tick(struct trap_frame *frame)
{
	(void)frame;
	ticks++;
	keyboard_eoi();
	return 1;
}

/** Let IRQ 0 and 1 in, by the way param_keyboard chose. @return the
 * keyboard's vector, or -1 if no I/O APIC serves their GSIs. */
static int keyboard_route(void)
{
	if (route == KEYBOARD_IOAPIC) {
		trap_register(KEYBOARD_VECTOR, on_keyboard_irq);
		trap_register(KEYBOARD_TIMER_VECTOR, on_tick);
		if (ioapic_route_isa_irq(I8042_ISA_IRQ, KEYBOARD_VECTOR,
					 lapic_id()) < 0 ||
		    ioapic_route_isa_irq(PIT_ISA_IRQ, KEYBOARD_TIMER_VECTOR,
					 lapic_id()) < 0)
			return -1;
		return KEYBOARD_VECTOR;
	}
	trap_register(PIC1_VECTOR + I8042_ISA_IRQ, on_keyboard_irq);
	trap_register(PIC1_VECTOR + PIT_ISA_IRQ, on_tick);
	/* LINT0 first: while it is masked the 8259 reaches no one. For
	 * ExtINT the trigger mode bit is ignored: always level (SDM Vol. 3A,
	 * 10.5.1). An IRQ 1 edge from i8042_init() may wait in the 8259's
	 * request register, masked: it arrives now, with no byte to read. */
	lapic_write(APIC_LVT0, APIC_LVT_EXTINT);
	outb(PIC1_DATA, (uint8_t)~(BIT(PIT_ISA_IRQ) | BIT(I8042_ISA_IRQ)));
	kprintf("pic: irq 0 and 1 unmasked (masks 0x%02x 0x%02x): vectors "
		"0x%02x and 0x%02x through LINT0 (lvt 0x%x, ExtINT)\n",
		inb(PIC1_DATA), inb(PIC2_DATA), PIC1_VECTOR + PIT_ISA_IRQ,
		PIC1_VECTOR + I8042_ISA_IRQ, lapic_read(APIC_LVT0));
	return PIC1_VECTOR + I8042_ISA_IRQ;
}

/** Mask both lines again, as keyboard_route() found them. */
static void keyboard_unroute(void)
{
	if (route == KEYBOARD_IOAPIC) {
		ioapic_mask_isa_irq(I8042_ISA_IRQ);
		ioapic_mask_isa_irq(PIT_ISA_IRQ);
		return;
	}
	outb(PIC1_DATA, 0xFF);
	lapic_write(APIC_LVT0, APIC_LVT_MASKED);
}

/** The next byte from the ring, sleeping until one comes; -1 once the
 * clock reaches @p deadline ticks first. */
static int keyboard_next(uint32_t deadline)
{
	int code = -1;

	/* As trap_wait_for(): test with interrupts off, then STI; HLT, so
	 * that no interrupt slips in between and leaves us asleep. */
	for (;;) {
		cli();
		if (ring_tail != ring_head) {
			code = ring[ring_tail++ % KEYBOARD_RING];
			break;
		}
		if (ticks >= deadline)
			break;
		__asm__ volatile("sti; hlt");
	}
	sti();
	return code;
}

/** Statistics of one line. */
struct keyboard_line {
	char text[KEYBOARD_LINE_MAX + 1]; /**< what was typed, edited */
	uint32_t length;                  /**< its characters */
	uint32_t scancodes;               /**< bytes decoded */
	uint32_t releases;                /**< break codes among them */
	int entered;                      /**< it ended with Enter */
};

/** Decode and echo until Enter or @p max characters. @return 0, or -1
 * when the clock reached @p deadline first. */
static int keyboard_read_line(struct keyboard_line *line, uint32_t max,
			      uint32_t deadline)
{
	struct scancode_state state = { 0, 0 };

	while (line->length < max) {
		int code = keyboard_next(deadline);
		char c;

		if (code < 0)
			return -1;
		line->scancodes++;
		if (code != SCANCODE_EXTENDED && code & SCANCODE_RELEASE)
			line->releases++;
		c = scancode_decode(&state, (uint8_t)code);
		if (c == '\n') {
			line->entered = 1;
			break;
		}
		if (c == '\b') {        /* rub out the last one, on screen too */
			if (line->length) {
				line->length--;
				kprintf("\b \b");
			}
		} else if (c) {
			line->text[line->length++] = c;
			kputc(c);
		}
	}
	line->text[line->length] = '\0';
	kputc('\n');
	return 0;
}

/** Is every parameter in range? Prints the first that is not. */
static int keyboard_params_ok(void)
{
	if (param_keyboard > KEYBOARD_PIC) {
		kprintf("keyboard: param_keyboard %u: choose 0 (off), 1 (irq 1 "
			"through the I/O APIC) or 2 (through the 8259)\n",
			param_keyboard);
		return 0;
	}
	if (param_keyboard_chars < 1 ||
	    param_keyboard_chars > KEYBOARD_LINE_MAX) {
		kprintf("keyboard: param_keyboard_chars %u: choose 1-%u\n",
			param_keyboard_chars, KEYBOARD_LINE_MAX);
		return 0;
	}
	if (param_keyboard_timeout_ms < KEYBOARD_TIMEOUT_MIN_MS ||
	    param_keyboard_timeout_ms > KEYBOARD_TIMEOUT_MAX_MS) {
		kprintf("keyboard: param_keyboard_timeout_ms %u: choose %u-%u\n",
			param_keyboard_timeout_ms, KEYBOARD_TIMEOUT_MIN_MS,
			KEYBOARD_TIMEOUT_MAX_MS);
		return 0;
	}
	return 1;
}

int keyboard_demo(void)
{
	static struct keyboard_line line;
	uint32_t max = param_keyboard_chars;
	uint32_t timeout_ms = param_keyboard_timeout_ms;
	int vector, status;

	if (param_keyboard == KEYBOARD_OFF)
		return 0;
	if (!keyboard_params_ok())
		power_off(POWER_FAIL_PARAM);
	route = param_keyboard;
	if (i8042_init() < 0)
		return -1;
	ticks = 0;
	pit_periodic_start(PIT_HZ / KEYBOARD_TICK_HZ);
	vector = keyboard_route();
	if (vector < 0)
		return -1;
	kprintf("keyboard: ready: type up to %u characters and Enter, within "
		"%u ms\n", max, timeout_ms);
	status = keyboard_read_line(&line, max,
				    timeout_ms / (1000 / KEYBOARD_TICK_HZ));
	keyboard_unroute();
	kprintf("keyboard: %u scancodes (%u key releases ignored), %u lost, in "
		"%u interrupts on vector 0x%x; irq 0 and 1 masked again\n",
		line.scancodes, line.releases, lost, irqs, vector);
	if (status < 0) {
		kprintf("keyboard: timed out after %u ms: %u characters and no "
			"Enter\n", timeout_ms, line.length);
		return -1;
	}
	kprintf("keyboard: line of %u characters (%s): %s\n", line.length,
		line.entered ? "Enter" : "the limit", line.text);
	return 0;
}
