/**
 * @file slice_timer.c
 * @brief The LAPIC timer as SVM's preemption timer: one-shot, calibrated.
 * @ingroup lesson11
 *
 * Lesson 10's slice is in TSC ticks, because that is what the
 * VMX-preemption timer counts (SDM Vol. 3C, 25.5.1). The LAPIC timer
 * counts the bus clock divided by TDCR (SDM Vol. 3A, 10.5.4), a rate no
 * register states, so we measure it against the TSC itself: start the
 * timer, masked, from 0xFFFFFFFF, and see how far it counts while the TSC
 * advances CALIBRATION_TSC ticks. A slice of S TSC ticks is then S times
 * that ratio in LAPIC counts. On Bochs both advance one per instruction
 * (ratio 1); on QEMU's TCG both follow the host's clock (about 0.4 LAPIC
 * counts per TSC tick), so there a slice is wall-clock time.
 *
 * The timer runs one-shot and only while a VM runs: svm_vms.c starts it
 * before VMRUN with what is left of the slice and stops it after
 * #VMEXIT, so the host's time in a hypercall does not count against the
 * VM's slice, as the VMX-preemption timer's saved value (SDM 27.3.4) does
 * not in lesson 10.
 */
#include "kprintf.h"
#include "lapic.h"
#include "pic.h"
#include "trap.h"
#include "x86.h"

/** How long to measure the two clocks against each other, in TSC
 * ticks: 65536 instructions on Bochs and on QEMU counting instructions
 * (QEMU_ICOUNT), enough for a ratio good to 1 count in 65536. */
#define CALIBRATION_TSC (1ULL << 16)

/*
 * The timer's interrupt. With the INTR intercept the guest never sees it:
 * #VMEXIT INTR leaves it pending in the LAPIC, and this handler runs in
 * the host when svm_vmrun_intr executes STGI (APM 15.17, 15.21.1). All it
 * owes the LAPIC is the EOI; the exit code tells svm_vms.c the rest.
 */
static int on_slice_end(struct trap_frame *frame)
{
	(void)frame;
	lapic_eoi();
	return 1;
}

/* The measurement: LAPIC counts per TSC ticks, as a fraction. */
static uint32_t rate_counts;
static uint64_t rate_tsc;

/* Count both clocks over the same CALIBRATION_TSC ticks. */
static void slice_timer_calibrate(void)
{
	uint32_t c0, c1;
	uint64_t t0, t1;

	lapic_write(APIC_TDCR, APIC_TDR_DIV_1);
	lapic_write(APIC_LVTT, APIC_LVT_MASKED | LAPIC_TIMER_VECTOR);
	lapic_write(APIC_TMICT, 0xFFFFFFFF);    /* counting from here */
	t0 = rdtsc();
	c0 = lapic_read(APIC_TMCCT);
	do
		t1 = rdtsc();
	while (t1 - t0 < CALIBRATION_TSC);
	c1 = lapic_read(APIC_TMCCT);
	lapic_write(APIC_TMICT, 0);             /* stop it */
	rate_counts = c0 - c1;
	rate_tsc = t1 - t0;
	kprintf("slice: LAPIC timer: %u counts (divide by 1) in %llu TSC "
		"ticks\n", rate_counts, (unsigned long long)rate_tsc);
}

uint32_t slice_timer_counts(uint64_t tsc)
{
	/* Rounded to the nearest count; 64 bits: no overflow for slices
	 * of up to 2^32 ticks. */
	uint64_t counts = (tsc * rate_counts + rate_tsc / 2) / rate_tsc;

	return counts ? (uint32_t)counts : 1;
}

void slice_timer_init(void)
{
	pic_disable();  /* the BIOS's 8259 timer would come as vector 8 */
	lapic_init(rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BASE, 0);
	trap_register(LAPIC_TIMER_VECTOR, on_slice_end);
	slice_timer_calibrate();
	/* From now on unmasked, one-shot (SDM 10.5.4), idle until started. */
	lapic_write(APIC_LVTT, LAPIC_TIMER_VECTOR);
}

void slice_timer_start(uint32_t counts)
{
	lapic_write(APIC_TMICT, counts ? counts : 1);   /* 10.5.4: starts */
}

uint32_t slice_timer_stop(void)
{
	uint32_t left = lapic_read(APIC_TMCCT);

	lapic_write(APIC_TMICT, 0);     /* 10.5.4: 0 stops the count */
	return left;
}
