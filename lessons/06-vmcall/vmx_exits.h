/**
 * @file vmx_exits.h
 * @brief VMX's side of a VM exit, for a lesson's vmexit_dispatch().
 * @ingroup lesson06
 *
 * vmx_exits.c also defines the vendor functions vm.h lists; these two are
 * what a dispatcher needs before it hands the exit to the core.
 */
#ifndef LESSON06_VMX_EXITS_H
#define LESSON06_VMX_EXITS_H

#include <stdint.h>

#include "vm.h"

/** The shared reason for the VMCS's VM_EXIT_REASON value @p exit_reason
 * (SDM Appendix C): VM_EXIT_OTHER for any reason the core has no handler
 * for. */
enum vm_exit_reason vmx_exit_reason(uint64_t exit_reason);

/**
 * Whether @p exit_reason says the VM entry itself failed (bit 31, SDM
 * 26.7); if so, report it and set the stop reason. @return 1 if it did.
 */
int vmx_entry_failed(uint64_t exit_reason);

#endif
