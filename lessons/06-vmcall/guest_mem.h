/**
 * @file guest_mem.h
 * @brief VM1's memory: its RAM, and how the hypervisor reads and writes it.
 * @ingroup lesson06
 *
 * Every access the hypervisor makes to VM1's memory goes through here, by
 * guest-physical address and through the vendor's nested page tables (EPT
 * in lesson 06, NPT in lesson 08), as the guest's own accesses do: copying
 * VM1's program in (guest_rm.c, vm1_svm.c) and reading what a hypercall
 * points at (hypercall.c). An address the tables do not map is refused, so
 * no guest can make the hypervisor read or write outside the guest's RAM.
 * Vendor-neutral: the vendor hands over its walk as a function.
 */
#ifndef LESSON06_GUEST_MEM_H
#define LESSON06_GUEST_MEM_H

#include <stdint.h>

/** A vendor's software walk of its nested page tables (ept_translate(),
 * npt_translate()): the host address behind @p gpa, or NULL. */
typedef void *(*guest_mem_translate_t)(uint64_t gpa);

/**
 * Reach guest memory from now on through @p translate: VM1's tables in
 * lessons 06 and 08, the current VM's in lesson 10.
 */
void guest_mem_use(guest_mem_translate_t translate);

/**
 * Copy @p len bytes at guest-physical @p gpa to @p buf.
 * @return 0, or -1 (nothing copied) when any byte is outside VM1's RAM.
 */
int guest_mem_read(uint64_t gpa, void *buf, uint64_t len);

/**
 * Copy @p len bytes from @p buf to guest-physical @p gpa.
 * @return 0, or -1 (nothing copied) when any byte is outside VM1's RAM.
 */
int guest_mem_write(uint64_t gpa, const void *buf, uint64_t len);

#endif
