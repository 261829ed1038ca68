/**
 * @file npt_mem.c
 * @brief VM1's RAM, reached by guest-physical address through NPT.
 * @ingroup lesson08
 *
 * Lesson 06's guest_mem.h interface (which its hypercall.c, reused here,
 * calls), implemented over nested page tables instead of EPT: the
 * hypervisor reaches VM1's memory only through the walk the guest's own
 * accesses take (npt_translate()), so an address VM1 cannot reach is one
 * the hypervisor will not touch for it either (AMD64 APM Vol. 2, 15.25).
 * Without nested paging, VM1 runs in paged real mode (prm.c), whose
 * tables map exactly the same pages.
 */
#include "guest_mem.h"
#include "hypercall.h"
#include "npt.h"
#include "paging.h"
#include "string.h"

static uint8_t guest_ram[GUEST_RAM_SIZE] __attribute__((aligned(PAGE_SIZE)));

/** guest_mem.h: VM1's RAM and its nested tables. @return N_CR3. */
uint64_t guest_mem_init(void)
{
	return npt_init(guest_ram, sizeof(guest_ram));   /* N_CR3 */
}

/** npt.h: VM1's RAM and both tables. @return VM1's CR3. */
uint64_t guest_mem_init_paged_real_mode(void)
{
	/* The nested tables still describe VM1's memory to the hypervisor
	 * (guest_mem_map()); the CPU walks prm.c's tables instead. */
	npt_init(guest_ram, sizeof(guest_ram));
	return prm_init(guest_ram, sizeof(guest_ram));   /* VM1's CR3 */
}

/* The host address of guest-physical [gpa, gpa + len), or NULL: VM1's RAM
 * is one block, so both ends must translate to its two ends. */
static void *guest_mem_map(uint64_t gpa, uint64_t len)
{
	uint8_t *start = npt_translate(gpa);

	if (!start || !len || gpa + len < gpa ||
	    npt_translate(gpa + len - 1) != start + len - 1)
		return NULL;
	return start;
}

/** guest_mem.h: copy out of VM1's memory, through NPT. @return 0 or -1. */
int guest_mem_read(uint64_t gpa, void *buf, uint64_t len)
{
	const void *from = guest_mem_map(gpa, len);

	if (!from)
		return -1;
	memcpy(buf, from, len);
	return 0;
}

/** guest_mem.h: copy into VM1's memory, through NPT. @return 0 or -1. */
int guest_mem_write(uint64_t gpa, const void *buf, uint64_t len)
{
	void *to = guest_mem_map(gpa, len);

	if (!to)
		return -1;
	memcpy(to, buf, len);
	return 0;
}
