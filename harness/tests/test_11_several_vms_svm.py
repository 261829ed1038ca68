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
from kit import lessons
from test_10_several_vms import (  # noqa: F401 (collected here again)
    ENDINGS, ROUND, SUMMARY, VMS_MAX, calls, greetings, scenarios,
    summaries, test_parameters_out_of_range_are_refused)

LESSON = "11"
# SVM with nested paging: QEMU's TCG (phenom) and Bochs (ryzen).
pytestmark = pytest.mark.emulators("qemu", "bochs")
RNG = vm1.RNG

SWITCH = re.compile(r"sched: (host|VM\d) -> (VM\d) \((\w+)\): VMCB "
                    r"0x([0-9a-f]+), ASID (\d+)$")
VMCB = re.compile(r"svm: VMCB at physical 0x([0-9a-f]+): ASID (\d+), "
                  r"NP_ENABLE, N_CR3 0x([0-9a-f]+)")
# A slice the timer never ends on either emulator: 200 M TSC ticks are
# 200 M instructions on Bochs, 80 ms of wall-clock time on QEMU's TCG.
NO_TIMER = 200_000_000


def svm_calls(rounds: int, scenario: int) -> dict:
    """test_10's model of a rounds scenario's exits, in SVM's names: the
    hypercall is VMMCALL (Appendix C, code 0x81)."""
    exits = calls(rounds, scenario)
    exits["VMMCALL"] = exits.pop("VMCALL")
    return exits


def kit_value(name: str) -> int:
    """A number the lesson's C and NASM share (kit.json)."""
    return lessons.find(LESSON).constants[name]


def address_of(code: bytes) -> int:
    """The guest address of the one place @code sits in VM1's program, as
    this lesson built it."""
    image = (lessons.find(LESSON).build / "vm1.bin").read_bytes()
    assert image.count(code) == 1, code
    return kit_value("GUEST_LOAD_ADDR") + image.index(code)


def vmcbs(result) -> dict:
    """{ASID: VMCB physical address} as the lesson created them."""
    return {int(m[2]): int(m[1], 16) for m in VMCB.finditer(result.serial)}


def switches(result) -> list:
    return [m for m in map(SWITCH.match, result.lines()) if m]


@pytest.mark.points(3)
def test_every_vm_says_hello_from_its_own_memory(boot, emulator):
    """By default two VMs each say
    exactly "Hello! I am VMn!" and end with HC_EXIT(0). With 2 to 4 VMs
    and greetings the harness draws, each greeting is printed once, while
    that VM holds the CPU (the trace's last switch before it went to that
    VM)."""
    result = boot(params={})
    assert result.passed, result.diagnosis
    lines = result.lines()
    for n in (1, 2):
        assert lines.count(f"Hello! I am VM{n}!") == 1
        assert f"vm: VM{n} stopped (HC_EXIT, status 0)" in lines
    assert "Hello! I am VM3!" not in lines
    count = RNG.randrange(2, VMS_MAX + 1)
    texts = [f"VM{n} greets with {RNG.randrange(10**6):06d}"
             for n in range(1, count + 1)]
    result = boot(params={
        "vms": count, "greetings": greetings(texts), "trace": 1})
    assert result.passed, result.diagnosis
    lines = result.lines()
    for n, text in enumerate(texts, 1):
        assert lines.count(text) == 1, text
        before = [SWITCH.match(l) for l in lines[:lines.index(text)]]
        running = [m[2] for m in before if m][-1]
        assert running == f"VM{n}", f"{text!r} printed while {running} ran"
    assert "Hello! I am VM1!" not in lines
    assert set(summaries(result)) == {f"VM{n}" for n in range(1, count + 1)}


@pytest.mark.points(1)
def test_one_vm_runs_as_in_lesson_08(boot, emulator):
    """With vms = 1, VM1's run is lesson 08's line for line, from its
    greeting to its stop (the benchmark's mean, a measurement, aside)."""
    def vm1_run(result):
        lines = [re.sub(r"mean round trip \d+", "mean round trip N", l)
                 for l in result.lines()]
        start = lines.index("Hello! I am VM1!")
        return lines[start:lines.index("vm: VM1 stopped (HC_EXIT, status 0)")
                     + 1]

    ours = boot(params={"vms": 1})
    assert ours.passed, ours.diagnosis
    lesson08 = lessons.find("08")
    theirs = boot(lesson08.image, cpu=lesson08.cpu)
    assert theirs.passed, theirs.diagnosis
    assert vm1_run(ours) == vm1_run(theirs)
    assert list(summaries(ours)) == ["VM1"]


@pytest.mark.points(3)
def test_spinning_vms_share_the_cpu(boot):
    """VMs that only compute (rounds of a counting loop sized to last
    several slices) are preempted by #VMEXIT INTR and take turns: the
    rounds interleave, every VM gets at least a slice per round, each
    one's slices are its INTR exits plus its first, and its other exits
    are the model's."""
    count = RNG.randrange(2, VMS_MAX + 1)
    rounds = RNG.randrange(3, 6)
    slice_ticks = RNG.randrange(8000, 16000)
    work = slice_ticks * RNG.randrange(2, 4)   # ~2 ticks per iteration
    rounds_scenario = kit_value("SCENARIO_ROUNDS")
    result = boot(params={"vms": count, "rounds": rounds,
                          "round_work": work, "slice": slice_ticks,
                          "scenarios": scenarios(*[rounds_scenario] * count)})
    assert result.passed, result.diagnosis
    said = [(m[1], int(m[2])) for m in map(ROUND.match, result.lines()) if m]
    names = [f"VM{n}" for n in range(1, count + 1)]
    assert sorted(said) == [(v, r) for v in names
                            for r in range(1, rounds + 1)]
    firsts = max(said.index((v, 1)) for v in names)
    lasts = min(said.index((v, rounds)) for v in names)
    assert firsts < lasts, f"no interleaving: {said}"
    for name, (how, status, slices, _, exits) in summaries(result).items():
        assert (how, status) == ("HC_EXIT", 0)
        assert slices >= rounds, f"{name}: {slices} slices"
        assert exits.pop("INTR") == slices - 1, name
        assert exits == svm_calls(rounds, rounds_scenario), name


@pytest.mark.parametrize("way", ["YIELD", "HLT"])
@pytest.mark.points(1)
def test_yield_and_hlt_give_the_slice_away(boot, way):
    """A VM that says its round and then calls HC_YIELD (or executes HLT,
    intercepted) hands the CPU on at once: with a slice no round comes
    near, the VMs alternate strictly, round by round, no INTR exit ever
    comes, and each VM has one slice per round plus its first."""
    count = RNG.randrange(2, VMS_MAX + 1)
    rounds = RNG.randrange(2, 6)
    scenario = kit_value(f"SCENARIO_ROUNDS_{way}")
    result = boot(params={"vms": count, "rounds": rounds,
                          "round_work": RNG.randrange(50, 500),
                          "slice": NO_TIMER,
                          "scenarios": scenarios(*[scenario] * count)})
    assert result.passed, result.diagnosis
    said = [(m[1], int(m[2])) for m in map(ROUND.match, result.lines()) if m]
    assert said == [(f"VM{n}", r) for r in range(1, rounds + 1)
                    for n in range(1, count + 1)]
    for name, (_, _, slices, _, exits) in summaries(result).items():
        assert "INTR" not in exits, name
        assert slices == rounds + 1, name
        assert exits == svm_calls(rounds, scenario), name


@pytest.mark.points(3)
def test_a_vm_cannot_read_another_vms_memory(boot, emulator):
    """VM2 reads the host-physical address of VM1's greeting as a
    guest-physical one: VM2's nested tables do not map it, so it is a
    nested page fault of VM2 alone, at exactly that address, a read of a
    page not present; VM1, preempted mid-computation, finishes normally
    after the fault."""
    rounds = RNG.randrange(2, 5)
    result = boot(params={"scenarios": scenarios(
        kit_value("SCENARIO_ROUNDS"), kit_value("SCENARIO_EPT_VIOLATION")),
        "rounds": rounds})
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_NPF"), result.diagnosis
    lines = result.lines()
    ram = int(re.search(r"vm: VM1: 64 KiB of RAM at host-physical "
                        r"0x([0-9a-f]+)", result.serial)[1], 16)
    spied = ram + kit_value("GUEST_LOAD_ADDR") + \
        kit_value("GUEST_GREETING_OFFSET")
    fault = [i for i, l in enumerate(lines)
             if l.startswith("vm: nested page fault at guest-physical")]
    assert len(fault) == 1
    assert lines[fault[0]].startswith(
        f"vm: nested page fault at guest-physical {spied:#x}: user read, "
        "page not present")
    assert lines[fault[0] + 1] == "vm: VM2 stopped (nested page fault, " \
        f"status {kit_value('POWER_FAIL_NPF')})"
    assert lines.index(f"VM1: round {rounds}") > fault[0]
    ends = summaries(result)
    assert ends["VM1"][:2] == ("HC_EXIT", 0)
    assert ends["VM2"][4]["NPF"] == 1
    assert "NPF" not in ends["VM1"][4]


@pytest.mark.points(3)
def test_a_crashing_vm_stops_alone(boot, emulator):
    """Four VMs with scenarios the harness shuffles (an unexpected I/O
    exit, a divide error, an invalid opcode, a normal run; on QEMU a
    triple fault, SHUTDOWN, in place of one of them): each ends as the
    model says, alone, every other VM still gets its turn, and the machine
    powers off with the first failing VM's status after leaving SVM.
    (Bochs 2.7 stops the whole machine at a triple fault inside an SVM
    guest: lesson 08's README.)"""
    names = [n for n in ENDINGS if n != "SCENARIO_TRIPLE_FAULT"]
    RNG.shuffle(names)
    if emulator == "qemu":
        names[RNG.randrange(4)] = "SCENARIO_TRIPLE_FAULT"
    result = boot(params={"vms": 4, "scenarios": scenarios(
        *[kit_value(n) for n in names])})
    ends = summaries(result)
    assert list(ends) == ["VM1", "VM2", "VM3", "VM4"]
    statuses = []
    for n, name in enumerate(names, 1):
        how, status = ENDINGS[name]
        statuses.append(kit_value(status))
        assert ends[f"VM{n}"][:2] == (how, kit_value(status)), name
        assert f"Hello! I am VM{n}!" in result.lines()
    first = next(s for s in statuses if s) if any(statuses) else 0
    assert result.status == first, result.diagnosis
    assert "PANIC" not in result.serial
    assert "svm: EFER.SVME = 0: left SVM" in result.serial


@pytest.mark.points(2)
def test_exceptions_are_caught_by_the_intercepts(boot, emulator):
    """A divide by zero and VMXON in real mode (#UD on AMD) do not run
    through VM1's empty IVT: the exception intercepts make each a #VMEXIT
    EXCP_DE or EXCP_UD (codes 0x40 and 0x46), reported by vector name at
    the RIP of the faulting instruction, found in VM1's own bytes (DIV AX:
    F7 F0; VMXON m64: F3 0F C7 /6)."""
    result = boot(params={"scenarios": scenarios(
        kit_value("SCENARIO_DIVIDE_ERROR"),
        kit_value("SCENARIO_INVALID_OPCODE"))})
    assert result.status == kit_value("POWER_FAIL_GUEST_EXCEPTION"), \
        result.diagnosis
    div = address_of(bytes.fromhex("f7f0"))
    vmxon = address_of(bytes.fromhex("f30fc736"))
    assert f"vm: VM1: exception #DE divide error (vector 0) at RIP " \
        f"{div:#x}" in result.lines()
    assert f"vm: VM2: exception #UD invalid opcode (vector 6) at RIP " \
        f"{vmxon:#x}" in result.lines()
    ends = summaries(result)
    assert ends["VM1"][4]["EXCP_DE"] == 1
    assert ends["VM2"][4]["EXCP_UD"] == 1


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
