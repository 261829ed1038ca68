/**
 * @file guest_rm.h
 * @brief VM1 under VMX: how it is created (guest_rm.c).
 * @ingroup lesson06
 *
 * guest_rm.c creates VM1 (vm1_create()); lesson 05's vmcs.c fills its VMCS
 * from what that returns; vmx_exits.c and the core (vm.h) handle its
 * exits. Lesson 08's vm1_setup() (svm.h) is the same for a VMCB.
 */
#ifndef LESSON06_GUEST_RM_H
#define LESSON06_GUEST_RM_H

#include "vmx.h"

/** The controls of a real-mode guest in its own RAM: EPT, unrestricted
 * guest, HLT and I/O exiting, CR4.VMXE hidden. */
extern const struct vmx_controls guest_rm_controls;

/**
 * Write the guest-state area beyond vmcs.c's defaults into the current
 * VMCS: the state of a PC right after its BIOS (SDM 24.4.1; Vol. 3A,
 * 9.1.1), real mode, CS:IP = 0000:GUEST_LOAD_ADDR.
 */
void guest_rm_write_state(void);

/**
 * Give VM1 its RAM (guest_mem.c) and EPT (ept.c) and copy its program in.
 * @return VM1 as vmcs_setup() takes it: its controls (EPT, unrestricted
 * guest, HLT and I/O exiting) and its real-mode guest state.
 */
const struct vmcs_guest *vm1_create(void);

#endif
