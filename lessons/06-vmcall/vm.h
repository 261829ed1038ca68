/**
 * @file vm.h
 * @brief VM1: how it is created, and how its exits are handled.
 * @ingroup lesson06
 *
 * guest_rm.c creates VM1 (vm1_create()); lesson 05's vmcs.c fills its VMCS
 * from what that returns; exits.c and hypercall.c handle its exits, and
 * reach its memory through guest_mem.h.
 */
#ifndef LESSON06_VM_H
#define LESSON06_VM_H

#include <stdint.h>

#include "vmx.h"

/** What an exit handler wants next. */
enum exit_action {
	VM_RESUME, /**< VMRESUME the guest */
	VM_STOP,   /**< stop the VM: print the summary and power off */
};

/** An exit handler: reads the VMCS, may change @p regs, decides. */
typedef enum exit_action (*exit_handler_t)(struct guest_regs *regs);

/**
 * Give VM1 its RAM and EPT (guest_mem.c) and copy its program in.
 * @return VM1 as vmcs_setup() takes it: its controls (EPT, unrestricted
 * guest, HLT and I/O exiting) and its real-mode guest state.
 */
const struct vmcs_guest *vm1_create(void);

/** Move the guest past the instruction that exited. */
void vm_skip_instruction(void);

/** Handle VMCALL: the hypercall ABI of hypercall.h. */
enum exit_action exit_handle_vmcall(struct guest_regs *regs);

/** Why VM1 stopped and with what status (set before VM_STOP). */
void vm_set_stop_reason(const char *why, int status);

#endif
