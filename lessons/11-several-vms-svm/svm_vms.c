/**
 * @file svm_vms.c
 * @brief Several VMs under SVM: a VMCB, nested tables and ASID each.
 * @ingroup lesson11
 *
 * Lesson 10's vmx_vms.c for AMD-V. main.c has enabled SVM and sched.c has
 * named the VMs; here each VM gets what lesson 08 gave VM1, once per VM:
 * a VMCB (lesson 08's vmcb.c and real-mode state, vm1_svm.c), nested page
 * tables of its own mapping its own 64 KiB and nothing else (lesson 08's
 * npt.c), and VM1's program. What is new:
 *
 * - An ASID per VM, its number (AMD64 APM Vol. 2, 15.16 "TLB Control"):
 *   the TLB tags each translation with the ASID it was made under, so
 *   VM2's entries never serve VM1, and a switch needs no flush. Each VMCB
 *   flushes its own ASID on its first VMRUN only (TLB_CONTROL, Table
 *   B-1); with nested paging the tags cover the guest-physical to
 *   host-physical walk too (15.25.9).
 * - The time slice: the INTR intercept (Table B-1, offset 0x00C bit 0;
 *   15.21) with V_INTR_MASKING = 1 (offset 0x060 bit 24, 15.21.1) makes
 *   the LAPIC timer's interrupt (slice_timer.c) a #VMEXIT INTR, code
 *   0x60 (Appendix C), instead of the guest's. Each VM runs with its own
 *   RFLAGS.IF = 1: Bochs 2.7 only takes the INTR exit while the guest's
 *   IF is 1, even with V_INTR_MASKING; VM1 never executes CLI, and no
 *   interrupt ever reaches it, since every one is intercepted.
 * - The cost of the trip itself. The LAPIC timer and the TSC both run
 *   while VMRUN loads the guest and #VMEXIT the host, which the
 *   VMX-preemption timer does not count. On Bochs that is a few
 *   instructions; on QEMU's TCG a trip takes longer than a default slice
 *   of wall-clock time, and a VM would be preempted before its first
 *   instruction. So the hypervisor measures it: the shortest of
 *   TRIP_PROBES trips into a probe, a VMCB of its own whose one page of
 *   RAM is all HLT, which exits at its first instruction (Table B-1). A
 *   slice is param_slice TSC ticks plus that much, and a VM's guest time
 *   is what the TSC says around VMRUN less that much.
 *
 * SVM comes back after VMRUN (15.6), so, unlike lesson 10's exit
 * handler that returns into VMRESUME, the scheduler here is a loop:
 * pick a VM, VMRUN it until its slice ends or it yields or stops, pick
 * the next. The switch is only: name another VMCB in RAX. Each VM's
 * general registers are its struct vm's @c regs, which svm_vmrun_intr
 * loads and saves; RAX, RSP, RIP and the rest live in its VMCB.
 */
#include "../08-svm/npt.h"
#include "guest_mem.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "slice_timer.h"
#include "string.h"
#include "svm.h"
#include "vms.h"
#include "x86.h"

/** svm_vmrun_intr.asm: lesson 08's svm_vmrun with the host's IF = 1 while
 * the guest runs, so that an intercepted interrupt ends the run. */
void svm_vmrun_intr(struct guest_regs *regs, uint64_t vmcb_pa,
		    uint64_t host_vmcb_pa);

/** A VM's SVM half: its VMCB and its nested page tables. */
struct svm_vm {
	/** its VMCB (Appendix B), whose address VMRUN takes in RAX */
	struct vmcb vmcb __attribute__((aligned(PAGE_SIZE)));
	struct npt npt;         /**< its guest-physical memory: its RAM */
};

static struct svm_vm svm_vms[VMS_MAX];
/* 15.5.2: VMSAVE's target for the host's FS, GS, TR, LDTR and MSRs. */
static struct vmcb host_vmcb __attribute__((aligned(PAGE_SIZE)));
static uint32_t slice_counts;   /* one whole slice, in LAPIC counts */
static uint32_t slice_left;     /* what the running VM has left of it */
static uint64_t trip_ticks;     /* TSC ticks of a trip that runs nothing */

#define TRIP_PROBES 8           /**< probe trips timed, the shortest kept */
#define HLT_OPCODE 0xF4         /**< the probe's every byte */

/* The probe: its VMCB and nested tables, its page, its registers. */
static struct svm_vm probe;
static uint8_t probe_ram[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct guest_regs probe_regs;

#define RFLAGS_IF BIT(9)        /**< RFLAGS.IF, APM Vol. 2, 3.1.6 */

static struct svm_vm *svm_of(const struct vm *vm)
{
	return vm->arch;
}

/* guest_mem.h's walk: the nested tables of the VM that exited. */
static void *vms_translate(uint64_t gpa)
{
	return npt_walk(&svm_of(vm_current)->npt, gpa);
}

/* What lesson 08's VMCB has, and a VM of several needs besides. */
static void svm_vm_controls(struct vmcb *vmcb)
{
	uint32_t misc1 = (uint32_t)vmcb_read_n(vmcb, VMCB_INTERCEPT_MISC1, 4);

	/* 15.21: a physical interrupt is a #VMEXIT INTR, not the guest's. */
	vmcb_write32(vmcb, VMCB_INTERCEPT_MISC1, misc1 | INTERCEPT_INTR);
	/* 15.21.1: the guest's IF masks only virtual interrupts; physical
	 * ones are masked by the host's IF, 1 while a VM runs. */
	vmcb_write(vmcb, VMCB_INT_CTL, vmcb_read(vmcb, VMCB_INT_CTL) |
		   V_INTR_MASKING_MASK);
}

/* Create @p vm: its nested tables, VMCB with ASID = its number, program
 * and real-mode state. */
static void svm_vm_create(struct vm *vm, struct svm_vm *s)
{
	uint64_t n_cr3;

	vm->arch = s;
	vm_current = vm;                /* for vms_translate() */
	n_cr3 = npt_build(&s->npt, vm->ram, GUEST_RAM_SIZE);   /* 15.25 */
	vmcb_setup_controls(&s->vmcb, n_cr3, vm->id);  /* 15.16: ASID n */
	svm_vm_controls(&s->vmcb);
	vm_load(vm);                    /* sched.c: program, greeting, regs */
	svm_rm_write_state(&s->vmcb, 0);        /* lesson 08: 0000:7C00 */
	vmcb_write(&s->vmcb, VMCB_RFLAGS, BIT(1) | RFLAGS_IF);
}

/*
 * One VMRUN of @p vmcb with @p counts on the LAPIC timer (0: none): its
 * RAX through the VMCB (15.5.1), its other registers through @p regs.
 * @p ticks: the TSC ticks the trip took. @return EXITCODE (15.6).
 */
static uint64_t svm_trip(struct vmcb *vmcb, struct guest_regs *regs,
			 uint32_t counts, uint64_t *ticks)
{
	uint64_t t0;

	vmcb_write(vmcb, VMCB_RAX, regs->rax);
	if (counts)
		slice_timer_start(counts);
	t0 = rdtsc();
	svm_vmrun_intr(regs, virt_to_phys(vmcb), virt_to_phys(&host_vmcb));
	*ticks = rdtsc() - t0;
	slice_left = slice_timer_stop();
	regs->rax = vmcb_read(vmcb, VMCB_RAX);
	/* The first VMRUN flushed this ASID's entries (15.16); the next
	 * ones find its translations still tagged with its ASID. */
	vmcb_write_n(vmcb, VMCB_TLB_CONTROL, 1, 0);
	return vmcb_read(vmcb, VMCB_EXIT_CODE);
}

/* Measure trip_ticks on the probe (ASID vm_count + 1), size the slice. */
static void svm_measure_trip(void)
{
	struct vmcb *vmcb = &probe.vmcb;
	uint64_t ticks;

	memset(probe_ram, HLT_OPCODE, sizeof(probe_ram));
	vmcb_setup_controls(vmcb, npt_build(&probe.npt, probe_ram,
					    sizeof(probe_ram)), vm_count + 1);
	svm_rm_write_state(vmcb, 0);
	vmcb_write(vmcb, VMCB_RIP, 0);  /* 0000:0000, in its one page */
	for (int i = 0; i < TRIP_PROBES; i++) {
		uint64_t code = svm_trip(vmcb, &probe_regs, 0, &ticks);

		if (code != SVM_EXIT_HLT)
			panic("the probe came back with #VMEXIT 0x%llx",
			      (unsigned long long)code);
		if (!i || ticks < trip_ticks)
			trip_ticks = ticks;
	}
	slice_counts = slice_timer_counts(param_slice + trip_ticks);
	kprintf("slice: a VMRUN trip to one HLT takes %llu TSC ticks; a "
		"slice of %u + %llu TSC ticks is %u LAPIC counts\n",
		(unsigned long long)trip_ticks, param_slice,
		(unsigned long long)trip_ticks, slice_counts);
}

void svm_vms_create(uint32_t features)
{
	struct cpuid_regs leaf = cpuid(CPUID_SVM_LEAF, 0);

	/* 15.25 and 15.16: each VM needs nested paging (paged real mode
	 * would need one set of prm.c's tables per VM) and an ASID of its
	 * own; CPUID Fn8000_000A EBX is how many there are, 0 the host's. */
	if (!(features & SVM_FEATURE_NPT) || vm_count + 1 >= leaf.ebx) {
		kprintf("svm: %u VMs and the probe need nested paging and %u "
			"ASIDs; this SVM has NP=%u and %u\n", vm_count,
			vm_count + 2,
			!!(features & SVM_FEATURE_NPT), leaf.ebx);
		power_off(POWER_FAIL);
	}
	slice_timer_init();
	svm_measure_trip();
	guest_mem_use(vms_translate);
	for (unsigned int i = 0; i < vm_count; i++)
		svm_vm_create(&vms[i], &svm_vms[i]);
}

/* Make @p next the running VM, for a whole slice, @p why. */
static void svm_switch(struct vm *next, enum sched_why why)
{
	struct vmcb *vmcb = &svm_of(next)->vmcb;

	if (param_trace)
		kprintf("sched: %s -> %s (%s): VMCB 0x%llx, ASID %u\n",
			why == SCHED_FIRST ? "host" : vm_current->name,
			next->name, sched_why_name(why),
			(unsigned long long)virt_to_phys(vmcb),
			(unsigned int)vmcb_read_n(vmcb, VMCB_ASID, 4));
	vm_current = next;
	svm_exits_use(vmcb);            /* lesson 08's handlers read it */
	slice_left = slice_counts;
}

/* One trip into @p vm, with what is left of its slice; account its guest
 * time (the trip's, less an empty trip's). @return EXITCODE. */
static uint64_t svm_enter(struct vm *vm)
{
	/*
	 * A slice used up still gets one count, never "no timer" (0): the
	 * timer can run out after a #VMEXIT for something else, a
	 * hypercall say, and before slice_timer_stop(). Before the CLI in
	 * svm_vmrun_intr, the host takes its interrupt at STGI, and no
	 * INTR exit will come; on QEMU's TCG it may not even be raised yet
	 * (its main loop raises it), and the stop's TMICT = 0 cancels it
	 * (SDM 10.5.4). Started with 1, the timer ends the slice at once,
	 * with an INTR exit.
	 */
	uint32_t counts = slice_left ? slice_left : 1;
	uint64_t ticks, code = svm_trip(&svm_of(vm)->vmcb, &vm->regs,
					counts, &ticks);

	vm->used += ticks > trip_ticks ? ticks - trip_ticks : 0;
	return code;
}

/* One #VMEXIT of @p vm with @p code: count it, handle it, decide. */
static enum exit_action svm_vm_exit(struct vm *vm, uint64_t code)
{
	if (code == (uint64_t)SVM_EXIT_ERR) {
		/* 15.5.1: VMRUN's consistency checks failed; nothing ran. */
		kprintf("svm: %s: VMRUN failed: #VMEXIT VMEXIT_INVALID\n",
			vm->name);
		vm_set_stop_reason("VMRUN failed", POWER_FAIL_VMRUN);
		return VM_STOP;
	}
	exit_count(&vm->exits, code);
	if (code == SVM_EXIT_INTR)      /* the slice ran out (15.21) */
		return sched_slice_over(vm, vm_read_rip());
	/* Lesson 06's handlers: hypercalls (HC_YIELD: VM_YIELD), CPUID, HLT
	 * (sched.c's vm_halted(): VM_YIELD), #DE and #UD (lesson 08's vmcb.c
	 * intercepts them), SHUTDOWN, NPF, the rest. */
	return vm_exit_handler(svm_exit_reason(code), &vm->regs);
}

/* Run @p vm until it leaves the CPU; @p code: the exit that made it. */
static enum exit_action svm_slice(struct vm *vm, uint64_t *code)
{
	enum exit_action action;

	do {
		*code = svm_enter(vm);
		action = svm_vm_exit(vm, *code);
	} while (action == VM_RESUME);  /* the rest of its slice */
	return action;
}

void svm_vms_run(void)
{
	struct vm *vm = sched_next();
	enum sched_why why = SCHED_FIRST;
	enum exit_action action;
	uint64_t code;

	svm_vmsave(virt_to_phys(&host_vmcb));   /* the host's extra state */
	while (vm) {
		svm_switch(vm, why);
		action = svm_slice(vm, &code);
		if (action == VM_STOP)
			sched_end(vm);
		why = action == VM_STOP ? SCHED_ENDED :
		      code == SVM_EXIT_INTR ? SCHED_PREEMPTED : SCHED_YIELDED;
		vm = sched_next();
	}
	sched_finish();
}
