/**
 * @file processors.c
 * @brief Host a guest only on a machine with one processor.
 * @ingroup lesson07
 *
 * Where it sits: the first thing kernel_main() of lessons 07 and 09 checks,
 * before the hypervisor moves or enables anything.
 *
 * Why: the hypervisor confines one guest on one processor, the one it runs
 * on. Any other processor the firmware left waiting for a start-up IPI is
 * in no VM at all, and the guest can wake it: its local APIC is the real
 * one (EPT and NPT map the APIC page 1:1, the MSR bitmaps let x2APIC's ICR,
 * MSR 0x830, through), so lesson 04's INIT-SIPI-SIPI (smp.c) starts that
 * processor at a page the guest chose, in real mode, outside VMX non-root
 * operation or a VMCB's nested paging. Nothing then stands between it and
 * the 2 MiB the hypervisor hides in. Closing that means keeping the ICR for
 * the hypervisor (intercepting MSR 0x830 and the APIC's page, or
 * virtualising the APIC: SDM Vol. 3C, chapter 29 "APIC Virtualization and
 * Virtual Interrupts"; AMD APM Vol. 2, 15.29 "AVIC"), or parking the other
 * processors where INIT cannot reach them (in VMX root operation INIT is
 * blocked: SDM Vol. 3C, 23.8 "Restrictions on VMX Operation"). Until it
 * does either, it refuses a machine with more than one processor, with
 * POWER_FAIL_HOST_SMP, rather than run a guest it cannot hold.
 *
 * The processors are the MADT's entries that are enabled or can be
 * (ACPI 6.x, 5.2.12.2 and 5.2.12.12): the same list lesson 04 starts.
 */
#include "acpi.h"
#include "frames.h"
#include "hv.h"
#include "kprintf.h"
#include "power.h"

/** The MADT's entries start after its 44-byte header (ACPI 5.2.12). */
#define MADT_ENTRIES_OFFSET sizeof(struct acpi_table_madt)
/** Where each processor entry keeps its flags. @{ */
#define LOCAL_APIC_FLAGS 4    /**< type 0: after type, length, UID, APIC ID */
#define LOCAL_X2APIC_FLAGS 8  /**< type 9: after 2 reserved bytes, x2APIC ID */
/** @} */

/** How many processors the MADT says could run. */
static unsigned int madt_processors(const struct acpi_table_header *t)
{
	const uint8_t *p = (const uint8_t *)t + MADT_ENTRIES_OFFSET;
	const uint8_t *end = (const uint8_t *)t + t->length;
	unsigned int n = 0;

	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		uint32_t flags = 0;

		if (p[0] == ACPI_MADT_TYPE_LOCAL_APIC && p[1] >= 8)
			flags = *(const uint32_t *)(p + LOCAL_APIC_FLAGS);
		else if (p[0] == ACPI_MADT_TYPE_LOCAL_X2APIC && p[1] >= 12)
			flags = *(const uint32_t *)(p + LOCAL_X2APIC_FLAGS);
		if (flags & (ACPI_MADT_ENABLED | ACPI_MADT_ONLINE_CAPABLE))
			n++;
		p += p[1];
	}
	return n;
}

void hv_one_processor(void)
{
	const struct acpi_table_header *t;
	uint64_t pa;
	unsigned int n;

	/* acpi.c maps a table above the first GiB through vmm.c, whose page
	 * tables come from frames.c. The hypervisor leaves those tables (and
	 * whatever frames they took) behind when it moves (relocate.c): they
	 * serve this check only. */
	frames_init();
	if (acpi_init() < 0 || !(t = acpi_find_table("APIC", &pa))) {
		kprintf("[hv] no MADT: cannot tell how many processors there "
			"are to confine\n");
		power_off(POWER_FAIL_HOST_SMP);
	}
	n = madt_processors(t);
	if (n == 1)
		return;
	if (n == 0) {
		kprintf("[hv] the MADT lists no processor: cannot tell how many "
			"there are to confine\n");
		power_off(POWER_FAIL_HOST_SMP);
	}
	kprintf("[hv] the MADT lists %u processors; this hypervisor confines "
		"one, and a guest could start the other %u outside any VM: "
		"it runs on one processor only\n", n, n - 1);
	power_off(POWER_FAIL_HOST_SMP);
}
