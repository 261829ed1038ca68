"""Lesson 10: several VMs share one CPU, each in its own VMCS, EPT and RAM.

Runs on Bochs (and on QEMU only under KVM with nested VMX, probed).
References: per-VM greetings and scenarios the harness draws and patches
in; a Python model of what each scenario makes a VM do (its hypercalls,
its exits, how it ends and with which status), of the round robin (who
runs after whom) and of the budget (the preemption timer's slices, from
the rate the lesson reads from IA32_VMX_MISC); the faulting and spinning
instructions' addresses found in VM1's own bytes (vm1.bin); lesson 06's
own transcript for one VM; and, on Bochs, what Bochs logs of the EPT
violation.
"""
from __future__ import annotations

import math
import re

import pytest

import vm1
from kit import lessons

LESSON = "10"
RNG = vm1.RNG
VMS_MAX = 4

# What differs between the vendors, by lesson: lesson 11 runs the same
# tests (test_11_several_vms_svm.py imports them) in SVM's words.
VENDOR = {
    "10": {"timer": "PREEMPTION_TIMER", "hypercall": "VMCALL",
           "exceptions": ("EXCEPTION_NMI", "EXCEPTION_NMI"),
           "spy": ("vm: EPT violation at guest-physical", "read access, "
                   "page not mapped", "EPT violation",
                   "POWER_FAIL_EPT_VIOLATION", "EPT_VIOLATION"),
           "left": "vmx: VMXOFF: left VMX operation", "reference": "06",
           "triple_fault": ("bochs", "qemu-kvm")},
    "11": {"timer": "INTR", "hypercall": "VMMCALL",
           "exceptions": ("EXCP_DE", "EXCP_UD"),
           "spy": ("vm: nested page fault at guest-physical", "user read, "
                   "page not present", "nested page fault",
                   "POWER_FAIL_NPF", "NPF"),
           "left": "svm: EFER.SVME = 0: left SVM", "reference": "08",
           # Bochs 2.7 stops the whole machine when an SVM guest
           # triple-faults (lesson 08's README).
           "triple_fault": ("qemu",)},
}
# A slice no round of the yielding scenarios comes near, on either vendor.
NO_TIMER = 200_000_000

SUMMARY = re.compile(r"vm: (VM\d): (.+?), status (\d+); (\d+) slices, "
                     r"(\d+) TSC ticks; exits:(.*) \(total (\d+)\)$")
ROUND = re.compile(r"(VM\d): round (\d+)$")
# Any vendor's trace line: from, to, why, what the vendor says.
SWITCHED = re.compile(r"sched: (host|VM\d) -> (VM\d) \((\w+)\): (.*)$")
SWITCH = re.compile(r"sched: (host|VM\d) -> (VM\d) \((\w+)\): VMPTRLD "
                    r"0x([0-9a-f]+), (VMLAUNCH|VMRESUME)$")


def lesson_of(request) -> str:
    """The lesson of the module that collected the test (10 or 11)."""
    return request.module.LESSON


def kit_value(name: str, lesson: str = LESSON) -> int:
    """A number the lesson's C and NASM share (kit.json: POWER_FAIL_*,
    SCENARIO_*, HC_*)."""
    return lessons.find(lesson).constants[name]


def scenarios(*per_vm: int) -> list[int]:
    """The `scenarios` parameter: one byte per VM, VM1 first."""
    return list(per_vm) + [0] * (VMS_MAX - len(per_vm))


def greetings(texts: list[str], lesson: str = LESSON) -> str:
    """The `greetings` parameter: each VM's line, in its 32 bytes."""
    size = vm1.param_size(lesson, "greetings") // VMS_MAX
    return "".join((t + "\n").ljust(size, "\0")
                   for t in texts + [""] * (VMS_MAX - len(texts)))


def summaries(result) -> dict:
    """{VMn: (how it ended, status, slices, ticks, {exit: count})} from the
    lesson's last lines, one per VM; the total is checked on the way."""
    found = {}
    for line in result.lines():
        m = SUMMARY.match(line)
        if m:
            exits = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m[6])}
            assert sum(exits.values()) == int(m[7]), line
            found[m[1]] = (m[2], int(m[3]), int(m[4]), int(m[5]), exits)
    return found


def address_of(code: bytes, lesson: str = LESSON) -> int:
    """The guest address of @code in VM1's program, as the lesson built it
    (the same for every VM)."""
    return vm1.address_of(lesson, code)


def timer_slice(result, slice_ticks: int) -> int:
    """TSC ticks one full slice lasts, by the rate the lesson read from
    IA32_VMX_MISC (SDM A.6): the timer counts slice >> X, every 2^X."""
    m = re.search(r"IA32_VMX_MISC\[4:0\] = (\d+)\)", result.serial)
    assert m, "no preemption-timer rate in the transcript"
    rate = int(m[1])
    return max(1, slice_ticks >> rate) << rate


def calls(rounds: int, scenario: int, lesson: str = LESSON) -> dict:
    """The model: the exits a rounds scenario makes (vm1.asm): CPUID once
    (the vendor), a hypercall (VMCALL, VMMCALL) for the greeting, four per
    round (prefix, "round ", the number, the newline), HC_EXIT; HC_YIELD
    or HLT after each round in the scenarios that give the slice away."""
    hypercall = VENDOR[lesson]["hypercall"]
    exits = {"CPUID": 1, hypercall: 2 + 4 * rounds}
    if scenario == kit_value("SCENARIO_ROUNDS_YIELD", lesson):
        exits[hypercall] += rounds
    if scenario == kit_value("SCENARIO_ROUNDS_HLT", lesson):
        exits["HLT"] = rounds
    return exits


@pytest.mark.points(3)
def test_every_vm_says_hello_from_its_own_memory(request, boot):
    """By default two VMs each say exactly "Hello! I am VMn!" on a line of
    its own and end with HC_EXIT(0). With 2 to 4 VMs and greetings the
    harness draws for each, patched into the hypervisor and copied into
    each VM's own RAM, each greeting is printed once, while that VM holds
    the CPU (the trace's last switch before it went to that VM)."""
    lesson = lesson_of(request)
    result = boot()
    assert result.passed, result.diagnosis
    lines = result.lines()
    for n in (1, 2):
        assert lines.count(f"Hello! I am VM{n}!") == 1
        assert f"vm: VM{n} stopped (HC_EXIT, status 0)" in lines
    assert "Hello! I am VM3!" not in lines
    count = RNG.randrange(2, VMS_MAX + 1)
    texts = [f"VM{n} greets with {RNG.randrange(10**6):06d}"
             for n in range(1, count + 1)]
    result = boot(params={"vms": count, "greetings": greetings(texts, lesson),
                          "trace": 1})
    assert result.passed, result.diagnosis
    lines = result.lines()
    for n, text in enumerate(texts, 1):
        assert lines.count(text) == 1, text
        before = [SWITCHED.match(l) for l in lines[:lines.index(text)]]
        running = [m[2] for m in before if m][-1]
        assert running == f"VM{n}", f"{text!r} printed while {running} ran"
    assert "Hello! I am VM1!" not in lines
    assert set(summaries(result)) == {f"VM{n}" for n in range(1, count + 1)}


@pytest.mark.points(1)
def test_one_vm_runs_as_its_one_vm_lesson(request, boot):
    """With vms = 1, VM1's run is that of the lesson with one VM (06 under
    VMX, 08 under SVM) line for line, from its greeting to its stop (the
    benchmark's mean, a measurement, aside)."""
    def vm1_run(result):
        lines = [re.sub(r"mean round trip \d+", "mean round trip N", l)
                 for l in result.lines()]
        start = lines.index("Hello! I am VM1!")
        return lines[start:lines.index("vm: VM1 stopped (HC_EXIT, status 0)")
                     + 1]

    ours = boot(params={"vms": 1})
    assert ours.passed, ours.diagnosis
    one = lessons.find(VENDOR[lesson_of(request)]["reference"])
    theirs = boot(one.image, **one.boot_options)
    assert theirs.passed, theirs.diagnosis
    assert vm1_run(ours) == vm1_run(theirs)
    assert list(summaries(ours)) == ["VM1"]


@pytest.mark.points(3)
def test_spinning_vms_share_the_cpu(request, boot):
    """VMs that only compute (rounds of a counting loop the harness sizes
    to last several slices) are preempted by the timer and take turns: the
    rounds interleave (each VM's first round comes before any VM's last),
    every VM gets many slices, and each one's slices are its timer exits
    plus its first; the exits are the model's."""
    lesson = lesson_of(request)
    count = RNG.randrange(2, VMS_MAX + 1)
    rounds = RNG.randrange(3, 6)
    slice_ticks = RNG.randrange(8000, 16000)
    work = slice_ticks * RNG.randrange(2, 4)   # ~2 ticks per iteration
    rounds_scenario = kit_value("SCENARIO_ROUNDS", lesson)
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
        assert exits.pop(VENDOR[lesson]["timer"]) == slices - 1, name
        assert exits == calls(rounds, rounds_scenario, lesson), name


@pytest.mark.parametrize("way", ["YIELD", "HLT"])
@pytest.mark.points(1)
def test_yield_and_hlt_give_the_slice_away(request, boot, way):
    """A VM that says its round and then calls HC_YIELD (or executes HLT)
    hands the CPU on at once: with a slice no round comes near the VMs
    alternate strictly, round by round, no timer ever fires, and each VM
    has one slice per round plus its first."""
    lesson = lesson_of(request)
    count = RNG.randrange(2, VMS_MAX + 1)
    rounds = RNG.randrange(2, 6)
    scenario = kit_value(f"SCENARIO_ROUNDS_{way}", lesson)
    result = boot(params={"vms": count, "rounds": rounds,
                          "round_work": RNG.randrange(50, 500),
                          "slice": NO_TIMER,
                          "scenarios": scenarios(*[scenario] * count)})
    assert result.passed, result.diagnosis
    said = [(m[1], int(m[2])) for m in map(ROUND.match, result.lines()) if m]
    assert said == [(f"VM{n}", r) for r in range(1, rounds + 1)
                    for n in range(1, count + 1)]
    for name, (_, _, slices, _, exits) in summaries(result).items():
        assert VENDOR[lesson]["timer"] not in exits, name
        assert slices == rounds + 1, name
        assert exits == calls(rounds, scenario, lesson), name


@pytest.mark.points(3)
def test_a_vm_cannot_read_another_vms_memory(request, boot, emulator):
    """VM2 reads the host-physical address of VM1's greeting (where the
    hypervisor put VM1's RAM) as a guest-physical one: VM2's EPT (or
    nested page tables) has no mapping there, so it is an EPT violation
    (a nested page fault) of VM2 alone, at exactly that address; VM1,
    still computing, finishes normally after it. On Bochs under VMX,
    Bochs logs that one violation at that address."""
    lesson = lesson_of(request)
    fault, words, stop, status, exit_name = VENDOR[lesson]["spy"]
    rounds = RNG.randrange(2, 5)
    result = boot(params={"scenarios": scenarios(
        kit_value("SCENARIO_ROUNDS", lesson),
        kit_value("SCENARIO_EPT_VIOLATION", lesson)),
        "rounds": rounds}, log=lesson == "10")
    assert result.outcome == "fail" and \
        result.status == kit_value(status, lesson), result.diagnosis
    lines = result.lines()
    ram = int(re.search(r"vm: VM1: 64 KiB of RAM at host-physical "
                        r"0x([0-9a-f]+)", result.serial)[1], 16)
    spied = ram + kit_value("GUEST_LOAD_ADDR", lesson) + \
        kit_value("GUEST_GREETING_OFFSET", lesson)
    at = [i for i, l in enumerate(lines) if l.startswith(fault)]
    assert len(at) == 1
    assert lines[at[0]].startswith(f"{fault} {spied:#x}: {words}")
    assert lines[at[0] + 1] == f"vm: VM2 stopped ({stop}, " \
        f"status {kit_value(status, lesson)})"
    assert lines.index(f"VM1: round {rounds}") > at[0]
    ends = summaries(result)
    assert ends["VM1"][:2] == ("HC_EXIT", 0)
    assert ends["VM2"][4][exit_name] == 1
    assert exit_name not in ends["VM1"][4]
    if emulator == "bochs" and lesson == "10":
        assert re.findall(r"VMEXIT: EPT violation for guest paddr "
                          r"0x([0-9a-f]+)", result.log) == [f"{spied:012x}"]


# The model: how each scenario ends a VM, and with which status.
ENDINGS = {"SCENARIO_NORMAL": ("HC_EXIT", "POWER_PASS"),
           "SCENARIO_TRIPLE_FAULT": ("triple fault",
                                     "POWER_FAIL_TRIPLE_FAULT"),
           "SCENARIO_IO": ("unexpected exit", "POWER_FAIL_UNEXPECTED_EXIT"),
           "SCENARIO_DIVIDE_ERROR": ("exception",
                                     "POWER_FAIL_GUEST_EXCEPTION"),
           "SCENARIO_INVALID_OPCODE": ("exception",
                                       "POWER_FAIL_GUEST_EXCEPTION")}


@pytest.mark.points(3)
def test_a_crashing_vm_stops_alone(request, boot, emulator):
    """Four VMs with scenarios the harness shuffles (four of: a triple
    fault, where the emulator lets a guest's be the hypervisor's exit, an
    unexpected I/O exit, a divide error, an invalid opcode, a normal run):
    each ends as the model says, alone, every other VM still gets its
    turn, the summary says which VM ended how, and the machine powers off
    with the first failing VM's status after leaving VMX or SVM."""
    lesson = lesson_of(request)
    names = list(ENDINGS)
    if emulator not in VENDOR[lesson]["triple_fault"]:
        names.remove("SCENARIO_TRIPLE_FAULT")
    RNG.shuffle(names)
    names = names[:4]
    result = boot(params={"vms": 4, "scenarios": scenarios(
        *[kit_value(n, lesson) for n in names])})
    ends = summaries(result)
    assert list(ends) == ["VM1", "VM2", "VM3", "VM4"]
    statuses = []
    for n, name in enumerate(names, 1):
        how, status = ENDINGS[name]
        statuses.append(kit_value(status, lesson))
        assert ends[f"VM{n}"][:2] == (how, kit_value(status, lesson)), name
        assert f"Hello! I am VM{n}!" in result.lines()
    first = next(s for s in statuses if s) if any(statuses) else 0
    assert result.status == first, result.diagnosis
    assert "PANIC" not in result.serial
    assert VENDOR[lesson]["left"] in result.serial


@pytest.mark.points(2)
def test_exceptions_are_caught_and_named(request, boot):
    """A divide by zero and VMXON in real mode (#UD) do not run through
    VM1's empty IVT: the exception bitmap (VMX) or the exception
    intercepts (SVM) make each an exit, reported by vector name at the RIP
    of the faulting instruction, found in VM1's own bytes (DIV AX: F7 F0;
    VMXON m64: F3 0F C7 /6)."""
    lesson = lesson_of(request)
    result = boot(params={"scenarios": scenarios(
        kit_value("SCENARIO_DIVIDE_ERROR", lesson),
        kit_value("SCENARIO_INVALID_OPCODE", lesson))})
    assert result.status == kit_value("POWER_FAIL_GUEST_EXCEPTION",
                                      lesson), result.diagnosis
    div = address_of(bytes.fromhex("f7f0"), lesson)
    vmxon = address_of(bytes.fromhex("f30fc736"), lesson)
    assert f"vm: VM1: exception #DE divide error (vector 0) at RIP " \
        f"{div:#x}" in result.lines()
    assert f"vm: VM2: exception #UD invalid opcode (vector 6) at RIP " \
        f"{vmxon:#x}" in result.lines()
    for name, exit_name in zip(("VM1", "VM2"), VENDOR[lesson]["exceptions"]):
        assert summaries(result)[name][4][exit_name] == 1


@pytest.mark.points(2)
def test_a_vm_that_never_exits_spends_its_budget(boot):
    """VM2 spinning on `jmp $` (EB FE in VM1's bytes) is stopped by the
    hypervisor when its budget, drawn by the harness, is spent: after
    exactly ceil(budget / slice) timer exits, having used that many whole
    slices, at the RIP of the spin; VM1 finishes normally."""
    slice_ticks = RNG.randrange(5000, 30000)
    budget = RNG.randrange(100000, 400000)
    result = boot(params={"scenarios": scenarios(
        0, kit_value("SCENARIO_SPIN")), "slice": slice_ticks,
        "budget": budget})
    assert result.status == kit_value("POWER_FAIL_BUDGET"), result.diagnosis
    whole = timer_slice(result, slice_ticks)
    slices = math.ceil(budget / whole)
    spin = address_of(bytes.fromhex("ebfe"))
    assert f"vm: VM2 spun for its whole budget ({slices * whole} TSC " \
        f"ticks) at RIP {spin:#x}" in result.lines()
    ends = summaries(result)
    assert ends["VM1"][:2] == ("HC_EXIT", 0)
    assert ends["VM2"][:2] == ("budget spent",
                               kit_value("POWER_FAIL_BUDGET"))
    assert ends["VM2"][4]["PREEMPTION_TIMER"] == slices
    assert ends["VM2"][3] == slices * whole


@pytest.mark.points(1)
def test_the_trace_says_every_switch_only_when_asked(boot):
    """The default transcript has no trace. With trace = 1 every slice
    begins with one line: from the VM that left to the one that comes, each
    VM's first entry a VMLAUNCH and the rest VMRESUMEs, always of that VM's
    own VMCS (the address VMCLEARed for it, in order of creation); the
    lines chain (each starts where the last ended) and number as many as
    the slices in the summary."""
    assert "sched:" not in boot().serial
    rounds = kit_value("SCENARIO_ROUNDS")
    result = boot(params={"trace": 1, "vms": 3, "rounds": 2,
                          "scenarios": scenarios(rounds, 0, rounds)})
    assert result.passed, result.diagnosis
    vmcs = [int(a, 16) for a in re.findall(
        r"vmx: VMCLEAR and VMPTRLD of the VMCS at physical 0x([0-9a-f]+)",
        result.serial)]
    switches = [m for m in map(SWITCH.match, result.lines()) if m]
    assert switches[0][1] == "host" and switches[0][3] == "first"
    seen = set()
    for i, m in enumerate(switches):
        if i:
            assert m[1] == switches[i - 1][2]
        n = int(m[2][2:])
        assert int(m[4], 16) == vmcs[n - 1]
        assert m[5] == ("VMRESUME" if n in seen else "VMLAUNCH")
        seen.add(n)
    assert len(switches) == sum(s[2] for s in summaries(result).values())


@pytest.mark.points(1)
def test_parameters_out_of_range_are_refused(boot):
    """0 VMs, or more than the lesson has room for, is refused with a
    one-line reason and POWER_FAIL_PARAM, before any VM exists."""
    for count in (0, RNG.randrange(VMS_MAX + 1, 256)):
        result = boot(params={"vms": count})
        assert result.status == kit_value("POWER_FAIL_PARAM"), count
        assert f"vms: param vms = {count}: 1 to {VMS_MAX} VMs, please" \
            in result.lines()
        assert "Hello!" not in result.serial
