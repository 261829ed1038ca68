"""What cannot be the same under a hypervisor: the one list of it.

Lesson 07's hypervisor boots lessons 01-04 unmodified, and conftest.py runs
each of their Bochs tests once more with every boot made under it (the
"bochs-under-07" variant). A guest that cannot tell it is a guest passes
them all; the rule is that it must, except where a test checks something
that by nature is not the same under a hypervisor: the RAM the hypervisor
keeps for itself, or the CPU state Bochs logs at power-off (the
hypervisor's, not the guest's).

Each such test is declared here, once, with the reason in one sentence.
conftest.py marks its hosted variants (and only those) xfail(strict=True):
a declared test that passes under the hypervisor fails the run, so the
list never keeps a difference that is gone.

Keys: "test_NN_module.py::test_name" for every hosted item of the test,
or "test_NN_module.py::test_name[ids]" for one of them; "*" matches
anything (square brackets are plain characters).
"""

DIFFERENCES: dict[str, str] = {
    # Memory that vanished from E820: the hypervisor's 2 MiB.
    "test_02_protected_mode.py::test_boots_to_protected_mode":
        "the E820 map lacks the 2 MiB the hypervisor keeps, so the usable "
        "total falls below the RAM given minus the firmware's share",
    # The emulator's own view after the guest stops shows the host.
    "test_02_protected_mode.py::test_cr0_and_selectors[bochs-under-*]":
        "Bochs logs the CPU at power-off, when the hypervisor (64-bit, "
        "after VMXOFF or SVM's end) is running, not the guest",
    "test_03_long_mode.py::test_control_registers_meet_long_mode"
    "[bochs-under-*]":
        "Bochs logs the CPU at power-off, when the hypervisor is running, "
        "so its CR0, CR3, CR4 and EFER are the hypervisor's",
    # What AMD adds: VMRUN needs EFER.SVME set in the guest (APM Vol. 2,
    # 15.5.1); the guest reads EFER without it, QEMU's monitor shows it.
    "test_03_long_mode.py::test_control_registers_meet_long_mode"
    "[qemu-under-09]":
        "the guest's EFER has SVME set, as VMRUN requires; the guest reads "
        "it without, QEMU's monitor shows the real one",
    "test_03_long_mode.py::test_walks_and_registers_match_qemu"
    "[qemu-under-09]":
        "the guest's EFER has SVME set, as VMRUN requires; the guest reads "
        "it without, QEMU's monitor shows the real one",
    # The machine's CPU is the hypervisor's too.
    "test_03_long_mode.py::test_no_long_mode_is_refused_clearly":
        "a CPU without long mode (p4_willamette, qemu32) has no VMX or SVM "
        "either: the hypervisor cannot start, so the guest never runs",
    "test_04_interrupts_apic.py::test_x2apic_when_cpuid_offers_it"
    "[bochs-under-09]":
        "the machine's CPU is the one lesson 09's hypervisor needs, Bochs' "
        "Ryzen, which has no x2APIC; the test expects Bochs' Skylake-X",
    "test_04_smp.py::test_x2apic_icr_starts_the_aps[bochs-under-09]":
        "the machine's CPU is the one lesson 09's hypervisor needs, Bochs' "
        "Ryzen, which has no x2APIC; the test expects Bochs' Skylake-X",
    # More than one processor: the hypervisor will not host.
    "test_04_interrupts_apic.py::test_madt_matches_the_configured_machine[*-under-*]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_04_interrupts_apic.py::test_acpi_and_apics_match_qemu[*-under-*]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_04_smp.py::test_every_processor_arrives_once[*-under-*-2]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_04_smp.py::test_every_processor_arrives_once[*-under-*-4]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_04_smp.py::test_qemu_sees_the_aps_parked[*-under-*]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_04_smp.py::test_an_ap_that_never_arrives_is_named[*-under-*]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_04_smp.py::test_x2apic_icr_starts_the_aps[bochs-under-07]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_04_smp.py::test_smp_off_leaves_the_aps_alone[*-under-*]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_04_smp.py::test_bad_smp_parameters_are_refused[*-under-*]":
        "the hypervisors confine one processor and refuse a machine with "
        "more (processors.c, POWER_FAIL_HOST_SMP): a guest could start the "
        "others outside any VM, so the guest never runs",
    "test_03_long_mode.py::test_cpu_identity_is_the_one_qemu_was_given"
    "[qemu-under-09]":
        "the CPU model this test gives QEMU (qemu64 with Intel's vendor) "
        "has no SVM: the hypervisor cannot start, so the guest never runs",
}
