/**
 * @file vmx_vms.c
 * @brief Several VMs under VMX: a VMCS and an EPT each, the preemption timer.
 * @ingroup lesson10
 *
 * Each VM gets what lesson 06 gave VM1, once per VM: a VMCS (filled by
 * lesson 05's vmcs_setup() from lesson 06's real-mode controls and
 * state), an EPT of its own mapping its own 64 KiB and nothing else
 * (lesson 06's ept_build()), and VM1's program. Two things are new:
 *
 * - The VMX-preemption timer (SDM Vol. 3C, 25.5.1): with the pin-based
 *   control "activate VMX-preemption timer", the VMCS field counts down
 *   while the guest runs, one tick every 2^X TSC ticks (X = IA32_VMX_MISC
 *   bits 4:0, SDM A.6), and a VM exit (reason 52) comes when it reaches
 *   0. With the exit control "save VMX-preemption timer value" the exit
 *   writes what is left back to the field (SDM 27.3.4), so a slice
 *   survives the exits that do not end it: a hypercall resumes the VM
 *   with the rest of its slice.
 * - The switch (SDM 24.1, 24.11): one VMCS is current at a time. To run
 *   another VM the hypervisor VMPTRLDs its VMCS; a VMCS that has never
 *   been entered is VMLAUNCHed, one that has is VMRESUMEd (SDM 30.3: its
 *   launch state is "launched" after the first VMLAUNCH).
 *
 * Every VMCS has the same host state: the one host stack, and HOST_RIP =
 * lesson 05's vmexit_entry, which calls vmexit_dispatch() below with the
 * exiting VM's registers on the stack and VMRESUMEs the current VMCS when
 * it returns. So switching is: save the registers into the old VM's
 * struct vm, VMPTRLD the next VM's VMCS, put its registers where
 * vmexit_entry will load them from, return.
 */
#include "../06-vmcall/ept.h"
#include "../06-vmcall/guest_rm.h"
#include "../06-vmcall/vmx_exits.h"
#include "guest_mem.h"
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "vms.h"
#include "vmx.h"
#include "x86.h"

/** A VM's VMX half: its VMCS, its EPT, whether it was ever entered. */
struct vmx_vm {
	/** its VMCS (SDM 24.2), VMCLEARed, then VMPTRLDed to run it */
	uint8_t vmcs[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
	struct ept ept;         /**< its guest-physical memory: its RAM */
	int launched;           /**< VMLAUNCHed: VMRESUME from now on */
	uint64_t timer;         /**< the timer's value at the last entry */
};

static struct vmx_vm vmx_vms[VMS_MAX];
static uint8_t host_stack[4 * PAGE_SIZE] __attribute__((aligned(16)));
static unsigned int timer_rate;  /* IA32_VMX_MISC[4:0]: 2^X TSC ticks */

static struct vmx_vm *vmx_of(const struct vm *vm)
{
	return vm->arch;
}

/* guest_mem.h's walk: the EPT of the VM whose exit this is. */
static void *vms_translate(uint64_t gpa)
{
	return ept_walk(&vmx_of(vm_current)->ept, gpa);
}

static void vms_setup_state(struct guest_regs *regs)
{
	(void)regs;                     /* vm_load() set them */
	guest_rm_write_state();         /* lesson 06's guest_rm.c */
}

/* The timer's start value for a whole slice, in its own ticks. */
static uint64_t slice_ticks(void)
{
	uint64_t t = param_slice >> timer_rate;

	return t ? t : 1;
}

/* Create @p vm: its VMCS current, its EPT, its program, its state. */
static void vmx_vm_create(struct vm *vm, struct vmx_vm *x)
{
	struct vmcs_guest guest = { .setup_state = vms_setup_state };

	vm->arch = x;
	vm_current = vm;                /* for vms_translate() */
	vmcs_load(x->vmcs);             /* SDM 24.11.3: VMCLEAR, VMPTRLD */
	guest.controls = guest_rm_controls;
	guest.controls.ept_pointer = ept_build(&x->ept, vm->ram,
					       GUEST_RAM_SIZE);
	guest.controls.pin |= PIN_BASED_VMX_PREEMPTION_TIMER;   /* 24.6.1 */
	guest.controls.exit |= VM_EXIT_SAVE_VMX_PREEMPTION_TIMER; /* 24.7.1 */
	vm_load(vm);                    /* sched.c: program, greeting, regs */
	vmcs_setup(&guest, host_stack + sizeof(host_stack), &vm->regs);
	if (vmcheck_guest_state())      /* SDM 26.3.1 */
		power_off(POWER_FAIL_GUEST_STATE);
}

void vmx_vms_create(void)
{
	timer_rate = rdmsr(MSR_IA32_VMX_MISC) & 0x1F;   /* SDM A.6 */
	kprintf("vmx: preemption timer: 1 tick per %u TSC ticks "
		"(IA32_VMX_MISC[4:0] = %u); a slice is %llu ticks\n",
		1U << timer_rate, timer_rate,
		(unsigned long long)slice_ticks());
	guest_mem_use(vms_translate);
	for (unsigned int i = 0; i < vm_count; i++)
		vmx_vm_create(&vms[i], &vmx_vms[i]);
}

/*
 * Give the CPU to @p next for a whole slice, @p why. @p frame is where
 * vmexit_entry loads the guest registers from (NULL: from the host, the
 * first entry of all). Returns if vmexit_entry is to VMRESUME.
 */
static void vmx_switch(struct vm *next, enum sched_why why,
		       struct guest_regs *frame)
{
	struct vmx_vm *x = vmx_of(next);
	uint64_t pa = virt_to_phys(x->vmcs);

	if (param_trace)
		kprintf("sched: %s -> %s (%s): VMPTRLD 0x%llx, %s\n",
			why == SCHED_FIRST ? "host" : vm_current->name,
			next->name, sched_why_name(why),
			(unsigned long long)pa,
			x->launched ? "VMRESUME" : "VMLAUNCH");
	vm_current = next;
	/* Exercise: make @next's VMCS the current one, give it a whole slice
	 * on its preemption timer, and enter it: VMLAUNCH the first time
	 * (vmx_launch()), otherwise leave its registers in @frame for
	 * vmexit_entry's VMRESUME. */
	/* BEGIN SOLUTION: vmcs-switch */
	/* SDM 24.11.1: VMPTRLD makes another VMCS current; the old one keeps
	 * its state in its own page. */
	vmx_check(__vmptrld(pa), "VMPTRLD");
	x->timer = slice_ticks();
	vmcs_write(VMX_PREEMPTION_TIMER_VALUE, x->timer);      /* 25.5.1 */
	if (!x->launched) {
		x->launched = 1;
		/* SDM 30.3: VMLAUNCH for a VMCS whose launch state is clear.
		 * It does not return when it works: the next exit lands on
		 * top of the host stack, whatever was on it now. */
		vmx_check(vmx_launch(&next->regs), "VMLAUNCH");
		panic("VMLAUNCH returned without an error");
	}
	*frame = next->regs;            /* vmexit_entry: VMRESUME */
	/* END SOLUTION */
}

void vmx_vms_run(void)
{
	vmx_switch(sched_next(), SCHED_FIRST, NULL);
	panic("the first VM was launched before");
}

/** Every VM exit of every VM (vmexit.asm calls it): account, handle, and
 * maybe switch. Returns if vmexit_entry is to VMRESUME the current VMCS. */
void vmexit_dispatch(struct guest_regs *regs)
{
	struct vm *vm = vm_current, *next;
	struct vmx_vm *x = vmx_of(vm);
	uint64_t reason = vmcs_read(VM_EXIT_REASON);            /* 24.9.1 */
	unsigned int basic = reason & VMX_EXIT_REASON_MASK;
	uint64_t left = vmcs_read(VMX_PREEMPTION_TIMER_VALUE);  /* 27.3.4 */
	enum exit_action action;

	/* The guest time of this stretch, measured by the timer itself. */
	vm->used += (x->timer - (left < x->timer ? left : x->timer))
		    << timer_rate;
	x->timer = left;
	exit_count(&vm->exits, basic);
	if (vmx_entry_failed(reason))                   /* lesson 06 */
		action = VM_STOP;
	else if (basic == EXIT_REASON_PREEMPTION_TIMER)
		action = sched_slice_over(vm, vm_read_rip());
	else    /* lesson 06's: hypercalls, CPUID, #DE and #UD, HLT (sched.c) */
		action = vm_exit_handler(vmx_exit_reason(reason), regs);
	if (action == VM_RESUME)
		return;                 /* the same VM, the rest of its slice */
	vm->regs = *regs;
	if (action == VM_STOP)
		sched_end(vm);
	next = sched_next();
	if (!next)
		sched_finish();
	vmx_switch(next, action == VM_STOP ? SCHED_ENDED :
		   basic == EXIT_REASON_PREEMPTION_TIMER ? SCHED_PREEMPTED :
		   SCHED_YIELDED, regs);
}
