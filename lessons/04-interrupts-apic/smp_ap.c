/**
 * @file smp_ap.c
 * @brief What an application processor does in C: say who it is, and park.
 * @ingroup lesson04
 *
 * ap_trampoline.asm has brought the AP to 64-bit mode on the BSP's page
 * tables and a stack of its own, and called smp_ap_main() with the CPU
 * number smp_start() (smp.c) gave it. The AP shares everything with the
 * BSP: the kernel, its data, COM1 and the VGA console. Two processors
 * printing at once would mix their characters, so every line printed
 * while APs run is printed under print_lock(), a spinlock.
 */
#include "kprintf.h"
#include "lapic.h"
#include "smp.h"

volatile uint32_t smp_arrived[SMP_MAX_CPUS];
uint8_t smp_ap_stacks[SMP_MAX_CPUS - 1][SMP_AP_STACK_SIZE]
	__attribute__((aligned(16)));
struct desc_ptr smp_idtr;
int smp_x2apic;

static volatile uint32_t print_spinlock;   /**< 1 while a CPU prints */

void print_lock(void)
{
	/* XCHG with memory is atomic (and a full barrier) on x86: whoever
	 * swaps the 0 out owns the lock; the others spin, reading, with
	 * PAUSE (SDM Vol. 3A, 8.10.6.1 "Use the PAUSE Instruction in
	 * Spin-Wait Loops"). */
	while (__atomic_exchange_n(&print_spinlock, 1, __ATOMIC_ACQUIRE))
		while (print_spinlock)
			cpu_relax();
}

void print_unlock(void)
{
	__atomic_store_n(&print_spinlock, 0, __ATOMIC_RELEASE);
}

/* Only INIT (or an NMI, an SMI) wakes a parked AP, and the loop halts it
 * again. A function of its own, so that the harness finds the parked APs'
 * RIP in it (kernel.dis). */
__attribute__((noinline)) void smp_ap_park(void)
{
	for (;;) {
		cli();
		hlt();
	}
}

void smp_ap_stall(uint64_t cpu)
{
	(void)cpu;
	for (;;)                /* stuck, as a broken AP might be */
		cpu_relax();
}

void smp_ap_main(uint64_t cpu)
{
	uint64_t base = rdmsr(MSR_IA32_APICBASE) | MSR_IA32_APICBASE_ENABLE;
	uint32_t id;

	lidt(&smp_idtr);        /* a fault here is reported, not a reset */
	/* Each processor has its own local APIC and its own IA32_APIC_BASE.
	 * lapic_read() serves every CPU in the BSP's mode, so when the BSP
	 * is in x2APIC mode, so must this one be: enable, then EXTD, the
	 * order SDM Vol. 3A, 10.12.5 allows. */
	wrmsr(MSR_IA32_APICBASE, base);
	if (smp_x2apic)
		wrmsr(MSR_IA32_APICBASE, base | X2APIC_ENABLE);
	id = lapic_id();

	print_lock();
	kprintf("smp: cpu %u: apic id %u, %s mode, rsp 0x%llx, parked\n",
		(unsigned int)cpu, id, smp_x2apic ? "x2APIC" : "xAPIC",
		(unsigned long long)(uintptr_t)__builtin_frame_address(0));
	smp_arrived[cpu] = id + 1;
	print_unlock();
	smp_ap_park();
}
