/**
 * @file vms.h
 * @brief Several VMs on one CPU: what each VM is, and the scheduler's side.
 * @ingroup lesson10
 *
 * Lesson 06 ran one guest; here the same program runs as VM1 to VMn, each
 * a struct vm with its own RAM, registers, exit counts and fate, and the
 * hypervisor shares the one CPU between them, round robin (sched.c, as
 * xv6's proc.c shares it between processes). Nothing in this header says
 * "VMCS": the vendor's file (vmx_vms.c) keeps each VM's VMCS and EPT in
 * struct vm's @c arch, enters the VM sched.c picks, and calls back here at
 * every exit that ends a slice or a VM.
 */
#ifndef LESSON10_VMS_H
#define LESSON10_VMS_H

#include <stdint.h>

#include "../06-vmcall/exit_counts.h"
#include "../06-vmcall/hypercall.h"
#include "../06-vmcall/vm.h"

#define VMS_MAX 4 /**< the most VMs param_vms may ask for */

/** Where a VM is in its life. */
enum vm_state {
	VM_RUNNABLE, /**< waiting for, or using, a time slice */
	VM_ENDED,    /**< stopped: never entered again */
};

/** One VM. sched.c owns everything but @c arch, which is the vendor's. */
struct vm {
	unsigned int id;           /**< the n of "VMn", from 1 */
	char name[4];              /**< "VMn" */
	enum vm_state state;       /**< runnable or ended */
	uint8_t scenario;          /**< what it does (SCENARIO_*, in EDX) */
	uint8_t *ram;              /**< its GUEST_RAM_SIZE bytes of RAM */
	struct guest_regs regs;    /**< its registers while another VM runs */
	struct exit_counts exits;  /**< its exits, by vendor code */
	unsigned long slices;      /**< how many time slices it was given */
	uint64_t used;             /**< TSC ticks it ran, by the timer */
	const char *stop_reason;   /**< why it ended */
	int stop_status;           /**< with what status (power.h, HC_EXIT) */
	char line[HC_PRINT_MAX];   /**< its text since its last newline */
	unsigned int line_len;     /**< bytes in @c line */
	void *arch;                /**< the vendor's: VMCS, EPT (vmx_vms.c) */
};

/** Why a VM leaves the CPU (the trace says it). */
enum sched_why {
	SCHED_FIRST,     /**< the first slice of all */
	SCHED_PREEMPTED, /**< its slice ran out (the timer) */
	SCHED_YIELDED,   /**< HC_YIELD or HLT: it gave the rest away */
	SCHED_ENDED,     /**< it stopped */
};

extern struct vm vms[VMS_MAX]; /**< VM1 is vms[0] */
extern unsigned int vm_count;  /**< how many there are (param_vms) */
extern struct vm *vm_current;  /**< the VM that runs, or last exited */
extern uint32_t param_slice;   /**< a time slice, in TSC ticks */
extern uint8_t param_trace;    /**< 1: the trace says every switch */

/* ---- sched.c ------------------------------------------------------- */

/** Check the parameters, name the VMs and give each its RAM; power off
 * with POWER_FAIL_PARAM, saying which, if one is out of range. */
void vms_init(void);

/** Copy VM1's program into @p vm's RAM (through the vendor's tables, as
 * guest_mem_use() was told), then its own greeting, and set the
 * registers it starts with: its number in ESI, its scenario in EDX. */
void vm_load(struct vm *vm);

/** Account @p ticks of guest time to @p vm; if that spends its budget,
 * report where it spins (@p rip) and set the stop reason. @return
 * VM_STOP then, otherwise VM_YIELD. */
enum exit_action sched_slice_over(struct vm *vm, uint64_t rip);

/** @p vm stopped: it is never entered again. Flush its text, say so. */
void sched_end(struct vm *vm);

/**
 * The VM to run next, round robin from the one after vm_current (which
 * may be vm_current itself if it is the only one left), or NULL when
 * every VM has ended. Counts its slice; the vendor then makes it
 * vm_current and enters it.
 */
struct vm *sched_next(void);

/** @p why in a word, for the trace ("preempted"). */
const char *sched_why_name(enum sched_why why);

/** Every VM has ended: print each one's summary, leave VMX
 * (vm_hardware_disable()) and power off with the first VM's failure
 * status, or POWER_PASS if each one ended with HC_EXIT(0). */
__attribute__((noreturn)) void sched_finish(void);

#endif
