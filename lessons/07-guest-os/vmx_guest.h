/**
 * @file vmx_guest.h
 * @brief Lesson 07's VMX side: the guest's VMCS and its EPT.
 * @ingroup lesson07
 *
 * hv.h declares what every vendor provides; this is what only VMX needs
 * on top: the caching guard (VM entry never loads CR0.CD and NW), the
 * VMCS controls and state (vmx_guest.c), the EPT tables (guest_ept.c).
 */
#ifndef LESSON07_VMX_GUEST_H
#define LESSON07_VMX_GUEST_H

#include <stdint.h>

struct vmcs_guest;

/** Turn caching on for the host (CR0.CD = NW = 0), and with it for the
 * guest, which reads CD and NW as the BIOS left them (the read shadow). */
void guest_caching_guard(void);

/** Check the EPT capabilities used (IA32_VMX_EPT_VPID_CAP), map
 * guest-physical memory 1:1 except the hidden range, in two views;
 * returns the EPTP of the outside one. */
uint64_t guest_ept_init(void);

/** The guest's controls and first state (the bootstrap at
 * HV_BOOTSTRAP_ADDR), with EPT from @p eptp. */
const struct vmcs_guest *guest_create(uint64_t eptp);

/** Write what vmcs_setup() does not: the I/O and MSR bitmaps. */
void guest_setup_bitmaps(void);

/** invept: drop EPT's cached translations for @p eptp (SDM 30.3). */
static inline void invept_single(uint64_t eptp)
{
	struct { uint64_t eptp, reserved; } desc = { eptp, 0 };

	__asm__ volatile("invept %0, %1" : : "m"(desc), "r"(1ULL)
			 : "cc", "memory");
}

#endif
