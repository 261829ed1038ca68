/**
 * @file guest_mem.h
 * @brief VM1's memory: its RAM, and how the hypervisor reads and writes it.
 * @ingroup lesson06
 *
 * Every access the hypervisor makes to VM1's memory goes through here, by
 * guest-physical address and through EPT, as the guest's own accesses do:
 * copying VM1's program in (guest_rm.c) and reading what a hypercall
 * points at (hypercall.c). An address EPT does not map is refused, so no
 * guest can make the hypervisor read or write outside the guest's RAM.
 */
#ifndef LESSON06_GUEST_MEM_H
#define LESSON06_GUEST_MEM_H

#include <stdint.h>

/**
 * Give VM1 its GUEST_RAM_SIZE bytes of RAM at guest-physical 0 and map
 * them with EPT (ept.c). @return the EPT pointer for the VMCS (EPTP).
 */
uint64_t guest_mem_init(void);

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
