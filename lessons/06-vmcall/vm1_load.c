/**
 * @file vm1_load.c
 * @brief VM1, whichever vendor runs it: its parameters, RAM, program, start.
 * @ingroup lesson06
 *
 * What creating VM1 means on both vendors before any VMCS or VMCB is
 * written: give it its RAM (guest_mem.c), copy its program in at
 * GUEST_LOAD_ADDR through the nested page tables, and hand it its "boot
 * parameters" in EBX, ECX and EDX (vm1.asm). The vendor's guest file
 * (guest_rm.c, lesson 08's vm1_svm.c) calls these between building its
 * nested tables and writing VM1's real-mode state.
 */
#include "guest_mem.h"
#include "hypercall.h"
#include "kprintf.h"
#include "paging.h"
#include "param.h"
#include "power.h"
#include "vm.h"

/** Patchable: VM1's scenario (hypercall.h SCENARIO_*), passed in EDX. */
volatile uint8_t param_scenario KIT_PARAM;
/** Patchable: the guest-physical address VM1 touches (scenario 1: an EPT
 * violation or a nested page fault). */
volatile uint32_t param_touch_gpa KIT_PARAM = 0x20000;
/** Patchable: how many null hypercalls VM1 times (ECX). */
volatile uint32_t param_bench_count KIT_PARAM = 100;

/* VM1's RAM: host memory that only the nested tables show the guest. */
static uint8_t vm1_ram[GUEST_RAM_SIZE] __attribute__((aligned(PAGE_SIZE)));

extern const uint8_t vm1_image[];     /**< VM1's program (vm1_image.asm) */
extern const uint8_t vm1_image_end[]; /**< the byte after its end */

void *vm1_memory_init(guest_mem_translate_t translate)
{
	kprintf("vm: VM1 is %llu bytes at guest-physical 0x%x\n",
		(unsigned long long)(vm1_image_end - vm1_image),
		GUEST_LOAD_ADDR);
	guest_mem_use(translate);
	return vm1_ram;
}

void vm1_load_program(void)
{
	/* Through the nested tables, as VM1 will see it: its program at
	 * GUEST_LOAD_ADDR. */
	if (guest_mem_write(GUEST_LOAD_ADDR, vm1_image,
			    (uint64_t)(vm1_image_end - vm1_image)))
		panic("VM1's program does not fit in its RAM");
}

void vm_boot_regs(struct guest_regs *regs, unsigned int id,
		  unsigned int scenario)
{
	/* A VM's "boot parameters", in registers (vm1.asm). */
	regs->rbx = param_touch_gpa;
	regs->rcx = param_bench_count;
	regs->rdx = scenario;
	regs->rsi = id;                 /* its number: it says "VMn: ..." */
	kprintf("vm: real mode, CS:IP 0000:%04x, scenario %u\n",
		GUEST_LOAD_ADDR, scenario);
}

void vm1_boot_regs(struct guest_regs *regs)
{
	vm_boot_regs(regs, 1, param_scenario);
}
