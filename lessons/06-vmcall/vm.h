/**
 * @file vm.h
 * @brief VM1: its memory, its VMCS setup, and how its exits are handled.
 * @ingroup lesson06
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

/** Copy VM1 into its RAM, build EPT and fill the VMCS for real mode. */
void vm_setup(struct guest_regs *regs);

/** The guest's RAM, seen from the host, for hypercalls (NULL outside). */
void *vm_guest_memory(uint64_t gpa, uint64_t length);

/** Move the guest past the instruction that exited. */
void vm_skip_instruction(void);

/** Handle VMCALL: the hypercall ABI of hypercall.h. */
enum exit_action exit_handle_vmcall(struct guest_regs *regs);

/** Why VM1 stopped and with what status (set before VM_STOP). */
void vm_set_stop_reason(const char *why, int status);

#endif
