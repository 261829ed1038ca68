/**
 * @file main.c
 * @brief Lesson 04's kernel: exceptions, ACPI, the local APIC and I/O APIC.
 * @ingroup lesson04
 *
 * Lesson 03's longmode.asm has put the CPU in 64-bit mode, mapped the first
 * GiB at 0 and at KERNEL_VMA, and called us on its kernel stack, with
 * interrupts off and no IDT: any exception would reset the machine. We
 * first make exceptions survivable, then find the interrupt hardware in
 * the ACPI tables and take interrupts through the APICs.
 */
#include "acpi.h"
#include "console.h"
#include "demo.h"
#include "frames.h"
#include "gdt64.h"
#include "idt.h"
#include "ioapic.h"
#include "keyboard.h"
#include "kprintf.h"
#include "lapic.h"
#include "param.h"
#include "paging.h"
#include "pic.h"
#include "power.h"
#include "serial.h"
#include "smp.h"
#include "x86.h"

/** What this run shows (the harness picks one per boot). @{ */
#define SCENARIO_LESSON 0          /**< the whole lesson */
#define SCENARIO_STACK_OVERFLOW 1  /**< overflow the stack: #DF on IST1 */
#define SCENARIO_UNHANDLED_GP 2    /**< a #GP nobody handles: panic */
/** @} */

/** Patchable: SCENARIO_LESSON, SCENARIO_STACK_OVERFLOW or ..._UNHANDLED_GP. */
volatile uint8_t param_scenario KIT_PARAM = SCENARIO_LESSON;
/** Patchable: 1 = use x2APIC mode when CPUID offers it; 0 = xAPIC. */
volatile uint8_t param_x2apic KIT_PARAM = 0;
/** Patchable: the local APIC timer's rate, in Hz. */
volatile uint32_t param_timer_hz KIT_PARAM = 1000;
/** Patchable: how many timer ticks to count and time. */
volatile uint32_t param_timer_ticks KIT_PARAM = 5;

/** Called by longmode.asm in 64-bit mode; never returns. */
void kernel_main(void);

void kernel_main(void)
{
	serial_init();
	console_init((uintptr_t)phys_to_virt(VGA_TEXT_BUFFER));
	kprintf("Lesson 04: interrupts and the APIC\n");
	gdt64_init();                   /* lesson 03: the GDT and the TSS */
	idt_init();
	stack_guard_init();
	frames_init();                  /* physical frames, from E820 */
	frames_report();

	if (param_scenario > SCENARIO_UNHANDLED_GP) {
		kprintf("scenario %u: choose 0 (the lesson), 1 (stack overflow) "
			"or 2 (an unhandled #GP)\n", param_scenario);
		power_off(POWER_FAIL);
	}
	if (param_scenario == SCENARIO_STACK_OVERFLOW)
		stack_overflow();
	if (param_scenario == SCENARIO_UNHANDLED_GP) {
		demo_unhandled_gp();
		power_off(POWER_FAIL);
	}
	if (frames_stress() < 0)
		power_off(POWER_FAIL);
	demo_breakpoint();
	demo_invalid_opcode();
	demo_divide_error();
	if (demo_page_fault() < 0)
		power_off(POWER_FAIL);

	pic_disable();
	if (acpi_init() < 0 || madt_parse() < 0)
		power_off(POWER_FAIL);
	lapic_init(madt.lapic_address, param_x2apic);
	ioapic_init();
	sti();                          /* from here on, interrupts arrive */
	if (lapic_timer_run(lapic_timer_calibrate(), param_timer_hz,
			    param_timer_ticks) < 0)
		power_off(POWER_FAIL);
	if (pit_irq_demo() < 0)
		power_off(POWER_FAIL);
	if (keyboard_demo() < 0)        /* only if param_keyboard asks */
		power_off(POWER_FAIL);
	cli();
	if (smp_start() < 0)            /* the other processors, parked */
		power_off(POWER_FAIL);
	power_off(POWER_PASS);
}
