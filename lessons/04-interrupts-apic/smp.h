/**
 * @file smp.h
 * @brief Start the other processors: INIT-SIPI-SIPI, a trampoline, parking.
 * @ingroup lesson04
 *
 * At reset only one processor runs, the bootstrap processor (BSP, the one
 * with IA32_APIC_BASE bit 8). The others, the application processors
 * (APs), wait for a start-up IPI. smp_start() (smp.c) sends each AP the
 * MADT lists an INIT and two start-up IPIs through the local APIC's
 * interrupt command register, as SDM Vol. 3A, 8.4.4 "MP Initialization
 * Example" does (9.4.4 in editions from 2022 on). The start-up IPI's vector
 * byte names a 4 KiB page below 1 MiB where the AP starts in real mode:
 * ap_trampoline.asm, copied to SMP_TRAMPOLINE, takes it to long mode and
 * calls smp_ap_main() (smp_ap.c), which prints one line and parks the AP.
 *
 * ap_trampoline.asm reads this header's numbers through kit.inc
 * (common/tools/h2inc.py): only plain numbers in the defines.
 */
#ifndef LESSON04_SMP_H
#define LESSON04_SMP_H

#include <stdint.h>

#include "x86.h"

/** Where the trampoline runs. @{ */
/** Its page: free once the kit has booted (below the real-mode stack the
 * loader and entry.asm used, above the BIOS data area, under LOAD_ADDRESS:
 * layout.h). A start-up IPI starts the AP at CS:IP = 0x0100:0000. */
#define SMP_TRAMPOLINE 0x1000
#define SMP_SIPI_VECTOR (SMP_TRAMPOLINE >> 12) /**< the SIPI's vector byte */
/** @} */

/** What the BSP leaves in the trampoline for the AP it starts: byte offsets
 * of struct smp_ap_args's fields in ap_trampoline_args. @{ */
#define SMP_ARG_CR3 0         /**< the BSP's CR3: the same page tables */
#define SMP_ARG_EFER 8        /**< the BSP's EFER (LME, NXE) */
#define SMP_ARG_STACK 16      /**< top of this AP's own stack */
#define SMP_ARG_ENTRY 24      /**< smp_ap_main(), a higher-half address */
#define SMP_ARG_CPU 32        /**< this AP's CPU number, its argument */
#define SMP_ARGS_SIZE 40      /**< the whole block */
/** @} */

/** Sizes. @{ */
#define SMP_MAX_CPUS 16           /**< processors started, the BSP included */
#define SMP_AP_STACK_SIZE 4096    /**< each AP's stack */
/** @} */

/** The interrupt command register (SDM Vol. 3A, 10.6.1, Figure 10-12). @{ */
#define APIC_ICR 0x300            /**< low half: writing it sends the IPI */
#define APIC_ICR2 0x310           /**< high half: destination in bits 31:24 */
#define X2APIC_ICR_MSR 0x830      /**< x2APIC: both halves, one 64-bit MSR */
#define APIC_DM_INIT 0x500        /**< delivery mode 101: INIT */
#define APIC_DM_STARTUP 0x600     /**< delivery mode 110: start-up */
#define APIC_INT_ASSERT 0x4000    /**< level: assert (bit 14) */
#define APIC_ICR_BUSY 0x1000      /**< delivery status: send pending */
/** @} */

/** The SDM's delays (8.4.4.1, "Typical BSP Initialization Sequence"), and
 * how long the BSP waits for an AP to say it arrived. @{ */
#define SMP_INIT_DELAY_US 10000   /**< after INIT: 10 ms */
#define SMP_SIPI_DELAY_US 200     /**< after each start-up IPI: 200 us */
#define SMP_AP_TIMEOUT_US 100000  /**< then give the AP 100 ms more */
/** @} */


/** The block at ap_trampoline_args, in SMP_ARG_* order. */
struct smp_ap_args {
	uint64_t cr3;             /**< SMP_ARG_CR3 */
	uint64_t efer;            /**< SMP_ARG_EFER */
	uint64_t stack;           /**< SMP_ARG_STACK */
	uint64_t entry;           /**< SMP_ARG_ENTRY */
	uint64_t cpu;             /**< SMP_ARG_CPU */
};

/** ap_trampoline.asm: its first and last byte, and its argument block. @{ */
extern const uint8_t ap_trampoline[];      /**< real-mode entry */
extern const uint8_t ap_trampoline_end[];  /**< just past it */
extern const uint8_t ap_trampoline_args[]; /**< a struct smp_ap_args */
/** @} */

/**
 * Start every enabled processor of the MADT but this one, one after the
 * other, each with INIT-SIPI-SIPI and up to SMP_AP_TIMEOUT_US to arrive;
 * print which did. Needs madt_parse() and lapic_init(); polls the PIT, so
 * interrupts may be off (main.c calls it after cli). With param_smp = 0
 * the APs are left waiting for their start-up IPI.
 * @return 0, or -1 if an AP never arrived (or a parameter is bad: it powers
 * off with POWER_FAIL_PARAM).
 */
int smp_start(void);

/** Send @p command (APIC_DM_..., vector) to the local APIC @p apic_id,
 * through the ICR in xAPIC or x2APIC mode, whichever this CPU is in, and
 * wait until the APIC has sent it. */
void lapic_send_ipi(uint32_t apic_id, uint32_t command);

/** The AP's C entry, called by the trampoline on its own stack: print
 * "smp: cpu N: apic id A ..." under print_lock, say it arrived, and park.
 * @p cpu is the CPU number smp_start() gave it. */
void smp_ap_main(uint64_t cpu) __attribute__((noreturn));

/** Set by each AP on arrival (in its CPU number's slot): its APIC ID + 1. */
extern volatile uint32_t smp_arrived[SMP_MAX_CPUS];

/** The stacks of the APs, cpu 1 to SMP_MAX_CPUS - 1. */
extern uint8_t smp_ap_stacks[SMP_MAX_CPUS - 1][SMP_AP_STACK_SIZE];

/** The BSP's IDTR, loaded by each AP so that its faults are reported. */
extern struct desc_ptr smp_idtr;

/** 1 if the BSP's local APIC is in x2APIC mode: each AP then switches its
 * own too, so that lapic_read() works there as well. */
extern int smp_x2apic;

/** Where an AP ends: interrupts off, HLT, forever. */
void smp_ap_park(void) __attribute__((noreturn));

/** The entry smp_start() gives the AP param_smp_stall names: it spins
 * without arriving, so that the BSP's timeout (and the INIT that stops
 * it) can be seen at work. */
void smp_ap_stall(uint64_t cpu) __attribute__((noreturn));

/** Take the spinlock that keeps lines whole: one CPU prints at a time. */
void print_lock(void);

/** Let the next CPU print. */
void print_unlock(void);

#endif
