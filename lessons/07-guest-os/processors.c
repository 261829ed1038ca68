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
 * (ACPI 6.x, 5.2.12.2 and 5.2.12.12), as lesson 04's madt_parse() reads
 * them: the same list its smp_start() starts.
 */
#include "acpi.h"
#include "frames.h"
#include "hv.h"
#include "kprintf.h"
#include "power.h"

/** How many processors the MADT lists as enabled or able to be: the
 * entries madt_parse() kept, and any past those, which count as such. */
static unsigned int madt_processors(void)
{
	unsigned int kept = madt.cpus < MADT_MAX_CPUS ? madt.cpus
						       : MADT_MAX_CPUS;
	unsigned int n = madt.cpus - kept;

	for (unsigned int i = 0; i < kept; i++)
		if (madt.cpu[i].flags &
		    (ACPI_MADT_ENABLED | ACPI_MADT_ONLINE_CAPABLE))
			n++;
	return n;
}

void hv_one_processor(void)
{
	unsigned int n;

	/* acpi.c maps a table above the first GiB through vmm.c, whose page
	 * tables come from frames.c. The hypervisor leaves those tables (and
	 * whatever frames they took) behind when it moves (relocate.c): they
	 * serve this check only. */
	frames_init();
	if (acpi_init() < 0 || madt_parse() < 0) {      /* lesson 04's */
		kprintf("[hv] no MADT: cannot tell how many processors there "
			"are to confine\n");
		power_off(POWER_FAIL_HOST_SMP);
	}
	n = madt_processors();
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
