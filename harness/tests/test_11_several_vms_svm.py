"""Lesson 11: lesson 10's several VMs under AMD-V, on QEMU and Bochs.

Where lesson 10's tests say nothing of the vendor they are collected here
again, with this module's LESSON (as test_09 collects test_07's); the
others are written again in SVM's words: #VMEXIT INTR (code 0x60, APM
Appendix C) ends a slice where lesson 10 has PREEMPTION_TIMER, the
exception intercepts' EXCP_DE and EXCP_UD stand for EXCEPTION_NMI, a
nested page fault for the EPT violation, and the trace names each VM's
VMCB and ASID where lesson 10 names the VMCS it VMPTRLDs.

References, as lesson 10's: greetings, scenarios and parameters the
harness draws and patches in; the model of each scenario's exits and end
(test_10's calls() and ENDINGS); the faulting and spinning instructions'
addresses found in VM1's own bytes (vm1.bin); lesson 08's own transcript
for one VM; the VMCB addresses and ASIDs the lesson reports as it creates
each VM. The budget's model under SVM: a VM is stopped at the first slice
end (an INTR exit) at which its guest time has reached the budget.
"""
from __future__ import annotations

import re

import pytest

import vm1
import test_10_several_vms as lesson10
from test_10_several_vms import scenarios, summaries
from test_10_several_vms import (  # noqa: F401 (collected here again)
    test_a_crashing_vm_stops_alone, test_a_vm_cannot_read_another_vms_memory,
    test_every_vm_says_hello_from_its_own_memory,
    test_exceptions_are_caught_and_named,
    test_one_vm_runs_as_its_one_vm_lesson,
    test_parameters_out_of_range_are_refused,
    test_spinning_vms_share_the_cpu, test_yield_and_hlt_give_the_slice_away)

LESSON = "11"
# SVM with nested paging: QEMU's TCG (phenom) and Bochs (ryzen).
pytestmark = pytest.mark.emulators("qemu", "bochs")
RNG = vm1.RNG

SWITCH = re.compile(r"sched: (host|VM\d) -> (VM\d) \((\w+)\): VMCB "
                    r"0x([0-9a-f]+), ASID (\d+)$")
VMCB = re.compile(r"svm: VMCB at physical 0x([0-9a-f]+): ASID (\d+), "
                  r"NP_ENABLE, N_CR3 0x([0-9a-f]+)")


def kit_value(name: str) -> int:
    """A number this lesson's C and NASM share (kit.json)."""
    return lesson10.kit_value(name, LESSON)


def address_of(code: bytes) -> int:
    """The guest address of @code in VM1's program, as this lesson built
    it."""
    return lesson10.address_of(code, LESSON)


def vmcbs(result) -> dict:
    """{ASID: VMCB physical address} as the lesson created them."""
    return {int(m[2]): int(m[1], 16) for m in VMCB.finditer(result.serial)}


def switches(result) -> list:
    return [m for m in map(SWITCH.match, result.lines()) if m]


@pytest.mark.points(2)
def test_a_vm_that_never_exits_spends_its_budget(boot):
    """VM2 spinning on `jmp $` (EB FE in VM1's bytes) is stopped when its
    budget, drawn by the harness, is spent: at an INTR exit, at the RIP of
    the spin, with a guest time of at least the budget, reached only at
    that slice (Bochs' clocks count instructions: the guest time less one
    slice, and the trip around it, is still under the budget); every one
    of its slices ended with INTR, and VM1 finishes normally."""
    slice_ticks = RNG.randrange(5000, 30000)
    budget = RNG.randrange(100000, 400000)
    result = boot(params={"scenarios": scenarios(
        0, kit_value("SCENARIO_SPIN")), "slice": slice_ticks,
        "budget": budget})
    assert result.status == kit_value("POWER_FAIL_BUDGET"), result.diagnosis
    spin = address_of(bytes.fromhex("ebfe"))
    m = re.search(r"vm: VM2 spun for its whole budget \((\d+) TSC ticks\) "
                  r"at RIP 0x([0-9a-f]+)$", result.serial, re.M)
    assert m, result.serial
    used = int(m[1])
    assert int(m[2], 16) == spin
    trip = int(re.search(r"a VMRUN trip to one HLT takes (\d+) TSC ticks",
                         result.serial)[1])
    ends = summaries(result)
    assert ends["VM1"][:2] == ("HC_EXIT", 0)
    how, status, slices, ticks, exits = ends["VM2"]
    assert (how, status) == ("budget spent", kit_value("POWER_FAIL_BUDGET"))
    assert ticks == used >= budget
    assert exits["INTR"] == slices
    # The slice before the last still left it under the budget.
    assert used - slice_ticks - 2 * trip < budget


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")      # the one clock that is not instructions
def test_spinning_vms_end_on_qemus_own_clock_too(boot):
    """Without QEMU_ICOUNT, QEMU's TSC and LAPIC timer follow the host's
    clock, and a slice of a few thousand TSC ticks (about a microsecond)
    runs out while the hypervisor is still handling a VM's hypercall: the
    count reads 0 when the trip is over. Both VMs say hello and then spin
    on `jmp $`; each must still be stopped, at the spin, by an INTR exit
    once its guest time reaches the budget. (When a count of 0 meant "no
    timer", the VM went on spinning with nothing to stop it: 6 boots of 6
    hung.) The slice counts are no model's here: on this clock they
    include the host's own time around every trip, translating the VM's
    code the first time too, and any time the host takes the CPU away:
    the budget, 120 to 200 ms of host time, leaves room to reach the
    spin on a loaded machine."""
    slice_ticks = RNG.randrange(2000, 6000)
    budget = RNG.randrange(300_000_000, 500_000_000)
    spin = kit_value("SCENARIO_SPIN")
    result = boot(params={"scenarios": scenarios(spin, spin),
                          "slice": slice_ticks, "budget": budget},
                  icount=None)
    assert result.status == kit_value("POWER_FAIL_BUDGET"), result.diagnosis
    at = address_of(bytes.fromhex("ebfe"))
    spun = dict(re.findall(r"vm: (VM\d) spun for its whole budget \((\d+) "
                           rf"TSC ticks\) at RIP {at:#x}$", result.serial,
                           re.M))
    ends = summaries(result)
    assert sorted(ends) == sorted(spun) == ["VM1", "VM2"], result.serial
    for name, (how, status, slices, ticks, exits) in ends.items():
        assert f"Hello! I am {name}!" in result.serial
        assert (how, status) == ("budget spent",
                                 kit_value("POWER_FAIL_BUDGET"))
        assert ticks == int(spun[name]) >= budget
        assert exits["INTR"] == slices >= 1


@pytest.mark.points(1)
def test_the_trace_says_every_switch_only_when_asked(boot, emulator):
    """The default transcript has no trace. With trace = 1 every slice
    begins with one line: from the VM that left to the one that comes,
    naming that VM's own VMCB (the address it was created with) and its
    ASID, its number (APM 15.16); the lines chain and number as many as
    the slices in the summary."""
    assert "sched:" not in boot(params={}).serial
    rounds = kit_value("SCENARIO_ROUNDS")
    result = boot(params={
        "trace": 1, "vms": 3, "rounds": 2,
        "scenarios": scenarios(rounds, 0, rounds)})
    assert result.passed, result.diagnosis
    created = vmcbs(result)
    assert len(set(created[n] for n in (1, 2, 3))) == 3
    trace = switches(result)
    assert trace[0][1] == "host" and trace[0][3] == "first"
    for i, m in enumerate(trace):
        if i:
            assert m[1] == trace[i - 1][2]
        n = int(m[2][2:])
        assert int(m[5]) == n
        assert int(m[4], 16) == created[n]
    assert len(trace) == sum(s[2] for s in summaries(result).values())
