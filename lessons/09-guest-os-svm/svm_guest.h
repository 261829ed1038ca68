/**
 * @file svm_guest.h
 * @brief Lesson 09's SVM side: the guest's VMCB and its nested page tables.
 * @ingroup lesson09
 *
 * Lesson 07's hv.h declares what every vendor provides; this is what SVM
 * needs on top: the nested page tables in two views (guest_npt.c), the
 * VMCB's controls and the guest's first state (svm_guest.c), the VMRUN
 * loop (svm_guest_exits.c).
 */
#ifndef LESSON09_SVM_GUEST_H
#define LESSON09_SVM_GUEST_H

#include <stdint.h>

#include "svm.h"      /* lesson 08: struct vmcb, vmcb_read()... */

/** The guest's VMCB (svm_guest.c), which every exit handler reads. */
extern struct vmcb guest_vmcb;

/** Map guest-physical memory 1:1 except the hidden range, in two views;
 * returns the N_CR3 of the outside one (APM Vol. 2, 15.25). */
uint64_t guest_npt_init(void);

/** Fill guest_vmcb: intercepts, permission maps, ASID, nested paging
 * through @p n_cr3, and the bootstrap's real-mode state (Appendix B). */
void guest_vmcb_setup(uint64_t n_cr3, struct guest_regs *regs);

/** Run the guest until it stops (svm_guest_exits.c). */
__attribute__((noreturn)) void guest_run(struct guest_regs *regs);

#endif
