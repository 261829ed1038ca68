/**
 * @file guest_mem.c
 * @brief A guest's RAM, reached by guest-physical address through its tables.
 * @ingroup lesson06
 *
 * VM1's 64 KiB are an ordinary array of the hypervisor's (vm1_load.c),
 * which only the nested page tables make visible to the guest (EPT: SDM
 * Vol. 3C, 28.2 "The Extended Page Table Mechanism"; NPT: AMD64 APM
 * Vol. 2, 15.25 "Nested Paging"). The hypervisor could index the array directly; it
 * walks the vendor's tables instead (the translate function it was given),
 * so that it sees exactly what the guest sees, and a guest-physical
 * address the guest cannot reach is one the hypervisor will not touch for
 * it either.
 */
#include "guest_mem.h"
#include "string.h"

static guest_mem_translate_t guest_mem_translate;

void guest_mem_use(guest_mem_translate_t translate)
{
	guest_mem_translate = translate;
}

/* The host address of guest-physical [gpa, gpa + len), or NULL. */
static void *guest_mem_map(uint64_t gpa, uint64_t len)
{
	uint8_t *start = guest_mem_translate(gpa);

	/* A guest's RAM is one contiguous block: check both ends through
	 * the tables. */
	if (!start || !len || gpa + len < gpa ||
	    guest_mem_translate(gpa + len - 1) != start + len - 1)
		return NULL;
	return start;
}

int guest_mem_read(uint64_t gpa, void *buf, uint64_t len)
{
	const void *from = guest_mem_map(gpa, len);

	if (!from)
		return -1;
	memcpy(buf, from, len);
	return 0;
}

int guest_mem_write(uint64_t gpa, const void *buf, uint64_t len)
{
	void *to = guest_mem_map(gpa, len);

	if (!to)
		return -1;
	memcpy(to, buf, len);
	return 0;
}
