/**
 * @file sched.c
 * @brief The VMs, their parameters, and round-robin time slices.
 * @ingroup lesson10
 *
 * What several VMs need beyond lesson 06's core, none of it vendor's:
 * a table of VMs (struct vm, vms.h), each started from the same program
 * with its own number, greeting and scenario; the choice of the next one
 * to run; and the end of each, alone, while the others go on. It also
 * defines what lesson 06's handlers ask of "the VM that exited"
 * (vm_name(), vm_putc(), vm_set_stop_reason(): vm.h), in place of
 * lesson 06's vm_one.c, so hypercall.c and the vendor's reports speak of
 * VM2 when VM2 exited. Seed 000 plans this as its "round-robin scheduler
 * and VM management"; xv6's scheduler() is the same loop for processes.
 */
#include "boot.h"
#include "guest_mem.h"
#include "kprintf.h"
#include "paging.h"
#include "param.h"
#include "power.h"
#include "string.h"
#include "vms.h"

/** Patchable: how many VMs to run, 1 to VMS_MAX. */
volatile uint8_t param_vms KIT_PARAM = 2;
/** Patchable: one time slice, in TSC ticks (the preemption timer's). */
uint32_t param_slice KIT_PARAM = 20000;
/** Patchable: the guest time, in TSC ticks, one VM may use in all. */
volatile uint32_t param_budget KIT_PARAM = 2000000;
/** Patchable: 1 to trace every change of VM (default: quiet). */
uint8_t param_trace KIT_PARAM;
/** Patchable: each VM's scenario (hypercall.h SCENARIO_*), VM1 first. */
volatile uint8_t param_scenarios[VMS_MAX] KIT_PARAM;
/** Patchable: each VM's greeting, copied into its own RAM. */
char param_greetings[VMS_MAX][GUEST_GREETING_SIZE] KIT_PARAM = {
	"Hello! I am VM1!\n", "Hello! I am VM2!\n", "Hello! I am VM3!\n",
	"Hello! I am VM4!\n",
};
/** Patchable: the rounds scenarios' work loop, iterations per round. */
volatile uint32_t param_round_work KIT_PARAM = 20000;
/** Patchable: how many rounds the rounds scenarios do. */
volatile uint32_t param_rounds KIT_PARAM = 4;

/** Their RAM, GUEST_RAM_SIZE each, from here up: the first MiB above the
 * BIOS area, which the kernel (below LOAD_LIMIT) leaves alone and the
 * higher half maps (lesson 03). Only each VM's own EPT shows it its part. */
#define VMS_RAM_BASE 0x100000

/* The VMs' RAM, checked against the BIOS's memory map (lesson 02). */
static uint8_t *vms_ram(unsigned int count)
{
	uint64_t start = VMS_RAM_BASE, end = start + count * GUEST_RAM_SIZE;

	for (unsigned int i = 0; i < e820_count; i++) {
		const struct e820_entry *e = &e820_map[i];

		if (e->type == E820_USABLE && e->base <= start &&
		    e->base + e->length >= end) {
			memset(phys_to_virt(start), 0, end - start);
			return phys_to_virt(start);
		}
	}
	kprintf("vms: physical 0x%llx-0x%llx is not usable RAM (E820)\n",
		(unsigned long long)start, (unsigned long long)end - 1);
	power_off(POWER_FAIL);
}

struct vm vms[VMS_MAX];
unsigned int vm_count;
struct vm *vm_current;

const char *sched_why_name(enum sched_why why)
{
	static const char *const names[] = {
		[SCHED_FIRST] = "first", [SCHED_PREEMPTED] = "preempted",
		[SCHED_YIELDED] = "yielded", [SCHED_ENDED] = "ended",
	};

	return names[why];
}

void vms_init(void)
{
	uint8_t *ram;

	vm_count = param_vms;
	if (vm_count < 1 || vm_count > VMS_MAX) {
		kprintf("vms: param vms = %u: 1 to %u VMs, please\n", vm_count,
			VMS_MAX);
		power_off(POWER_FAIL_PARAM);
	}
	if (param_slice == 0 || param_round_work == 0) {
		kprintf("vms: param slice and round_work must not be 0\n");
		power_off(POWER_FAIL_PARAM);
	}
	ram = vms_ram(vm_count);
	for (unsigned int i = 0; i < vm_count; i++) {
		struct vm *vm = &vms[i];

		vm->id = i + 1;
		memcpy(vm->name, "VM0", 4);
		vm->name[2] = (char)('0' + vm->id);
		vm->state = VM_RUNNABLE;
		vm->scenario = param_scenarios[i];
		vm->ram = ram + i * GUEST_RAM_SIZE;
		vm->stop_reason = "unknown";
		vm->stop_status = POWER_FAIL;
	}
	kprintf("vms: %u VMs, a slice of %u TSC ticks, a budget of %u each\n",
		vm_count, param_slice, param_budget);
}

void vm_load(struct vm *vm)
{
	struct guest_regs *r = &vm->regs;

	vm1_load_program();             /* lesson 06: through the tables */
	if (guest_mem_write(GUEST_LOAD_ADDR + GUEST_GREETING_OFFSET,
			    param_greetings[vm->id - 1], GUEST_GREETING_SIZE))
		panic("%s's greeting does not fit in its RAM", vm->name);
	kprintf("vm: %s: %u KiB of RAM at host-physical 0x%llx\n",
		vm->name, GUEST_RAM_SIZE / 1024,
		(unsigned long long)virt_to_phys(vm->ram));
	memset(r, 0, sizeof(*r));
	vm_boot_regs(r, vm->id, vm->scenario);  /* lesson 06's vm1_load.c */
	if (vm->scenario >= SCENARIO_ROUNDS &&
	    vm->scenario <= SCENARIO_ROUNDS_HLT) {
		r->rbx = param_round_work;      /* vm1.asm's rounds */
		r->rcx = param_rounds;
	}
	if (vm->scenario == SCENARIO_EPT_VIOLATION) {
		/* The spy: where VM1's greeting really is, in host memory. */
		r->rbx = virt_to_phys(vms[0].ram + GUEST_LOAD_ADDR +
				      GUEST_GREETING_OFFSET);
		kprintf("vm: %s will read guest-physical 0x%llx, where VM1's "
			"greeting is in host memory\n", vm->name,
			(unsigned long long)r->rbx);
	}
}

/* ---- lesson 06's handlers, about the VM that exited (vm.h) --------- */

/** vm.h: the VM that exited is vm_current. */
const char *vm_name(void)
{
	return vm_current->name;
}

static void line_flush(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->line_len; i++)
		kputc(vm->line[i]);
	vm->line_len = 0;
}

/** vm.h: @p c into vm_current's line, printed when the line is whole. */
void vm_putc(char c)
{
	/* A VM's text reaches the console a whole line at a time: a slice
	 * that ends mid-line never splits another VM's line in two. */
	vm_current->line[vm_current->line_len++] = c;
	if (c == '\n' || vm_current->line_len == sizeof(vm_current->line))
		line_flush(vm_current);
}

/** vm.h: a halted VM gives the rest of its slice away; on its next turn
 * it goes on after the HLT (SDM 24.6.2, APM Table B-1: HLT exits). */
enum exit_action vm_halted(struct guest_regs *regs)
{
	(void)regs;
	vm_skip_instruction();
	return VM_YIELD;
}

/** vm.h: why vm_current stops, and with what status. */
void vm_set_stop_reason(const char *why, int status)
{
	vm_current->stop_reason = why;
	vm_current->stop_status = status;
}

/* ---- the scheduler -------------------------------------------------- */

enum exit_action sched_slice_over(struct vm *vm, uint64_t rip)
{
	if (vm->used < param_budget)
		return VM_YIELD;        /* preempted: the next VM's turn */
	kprintf("vm: %s spun for its whole budget (%llu TSC ticks) at RIP "
		"0x%llx\n", vm->name, (unsigned long long)vm->used,
		(unsigned long long)rip);
	vm_set_stop_reason("budget spent", POWER_FAIL_BUDGET);
	return VM_STOP;
}

void sched_end(struct vm *vm)
{
	if (vm->line_len) {             /* what it said without a newline */
		line_flush(vm);
		kputc('\n');
	}
	vm->state = VM_ENDED;
	kprintf("vm: %s stopped (%s, status %d)\n", vm->name, vm->stop_reason,
		vm->stop_status);
}

struct vm *sched_next(void)
{
	unsigned int from = vm_current ? vm_current->id % vm_count : 0;

	for (unsigned int i = 0; i < vm_count; i++) {
		struct vm *next = &vms[(from + i) % vm_count];

		if (next->state == VM_RUNNABLE) {
			next->slices++;
			return next;
		}
	}
	return NULL;
}

void sched_finish(void)
{
	int status = POWER_PASS;

	for (unsigned int i = 0; i < vm_count; i++) {
		struct vm *vm = &vms[i];

		kprintf("vm: %s: %s, status %d; %lu slices, %llu TSC ticks; "
			"exits:", vm->name, vm->stop_reason, vm->stop_status,
			vm->slices, (unsigned long long)vm->used);
		exit_counts_print(&vm->exits, vm_exit_name);
		kprintf("\n");
		if (status == POWER_PASS && vm->stop_status != 0)
			status = vm->stop_status;
	}
	vm_hardware_disable();
	power_off(status);
}
