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

SUMMARY = re.compile(r"vm: (VM\d): (.+?), status (\d+); (\d+) slices, "
                     r"(\d+) TSC ticks; exits:(.*) \(total (\d+)\)$")
ROUND = re.compile(r"(VM\d): round (\d+)$")
SWITCH = re.compile(r"sched: (host|VM\d) -> (VM\d) \((\w+)\): VMPTRLD "
                    r"0x([0-9a-f]+), (VMLAUNCH|VMRESUME)$")


def kit_value(name: str) -> int:
    """A number the lesson's C and NASM share (kit.json: POWER_FAIL_*,
    SCENARIO_*, HC_*)."""
    return lessons.find(LESSON).constants[name]


def scenarios(*per_vm: int) -> list[int]:
    """The `scenarios` parameter: one byte per VM, VM1 first."""
    return list(per_vm) + [0] * (VMS_MAX - len(per_vm))


def greetings(texts: list[str]) -> str:
    """The `greetings` parameter: each VM's line, in its 32 bytes."""
    size = vm1.param_size(LESSON, "greetings") // VMS_MAX
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


def vm1_bin() -> bytes:
    """VM1's program as the lesson built it (the same for every VM)."""
    return (lessons.find(LESSON).build / "vm1.bin").read_bytes()


def address_of(code: bytes) -> int:
    """The guest address of the one place @code sits in VM1's program."""
    image = vm1_bin()
    assert image.count(code) == 1, code
    return kit_value("GUEST_LOAD_ADDR") + image.index(code)


def timer_slice(result, slice_ticks: int) -> int:
    """TSC ticks one full slice lasts, by the rate the lesson read from
    IA32_VMX_MISC (SDM A.6): the timer counts slice >> X, every 2^X."""
    m = re.search(r"IA32_VMX_MISC\[4:0\] = (\d+)\)", result.serial)
    assert m, "no preemption-timer rate in the transcript"
    rate = int(m[1])
    return max(1, slice_ticks >> rate) << rate


def calls(rounds: int, scenario: int) -> dict:
    """The model: the exits a rounds scenario makes (vm1.asm): CPUID once
    (the vendor), a VMCALL for the greeting, four per round (prefix,
    "round ", the number, the newline), HC_EXIT; HC_YIELD or HLT after
    each round in the scenarios that give the slice away."""
    exits = {"CPUID": 1, "VMCALL": 2 + 4 * rounds}
    if scenario == kit_value("SCENARIO_ROUNDS_YIELD"):
        exits["VMCALL"] += rounds
    if scenario == kit_value("SCENARIO_ROUNDS_HLT"):
        exits["HLT"] = rounds
    return exits


@pytest.mark.points(3)
def test_every_vm_says_hello_from_its_own_memory(boot):
    """By default two VMs each say exactly "Hello! I am VMn!" on a line of
    its own and end with HC_EXIT(0). With 2 to 4 VMs and greetings the
    harness draws for each, patched into the hypervisor and copied into
    each VM's own RAM, each greeting is printed once, while that VM holds
    the CPU (the trace's last switch before it went to that VM)."""
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
    result = boot(params={"vms": count, "greetings": greetings(texts),
                          "trace": 1})
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
def test_one_vm_runs_as_in_lesson_06(boot):
    """With vms = 1, VM1's run is lesson 06's line for line, from its
    greeting to its stop (the benchmark's mean, a measurement, aside)."""
    def vm1_run(result):
        lines = [re.sub(r"mean round trip \d+", "mean round trip N", l)
                 for l in result.lines()]
        start = lines.index("Hello! I am VM1!")
        return lines[start:lines.index("vm: VM1 stopped (HC_EXIT, status 0)")
                     + 1]

    ours = boot(params={"vms": 1})
    assert ours.passed, ours.diagnosis
    theirs = boot(lessons.find("06").image)
    assert theirs.passed, theirs.diagnosis
    assert vm1_run(ours) == vm1_run(theirs)
    assert list(summaries(ours)) == ["VM1"]


@pytest.mark.points(3)
def test_spinning_vms_share_the_cpu(boot):
    """VMs that only compute (rounds of a counting loop the harness sizes
    to last several slices) are preempted by the timer and take turns: the
    rounds interleave (each VM's first round comes before any VM's last),
    every VM gets many slices, and each one's slices are its timer exits
    plus its first; the exits are the model's."""
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
        assert exits.pop("PREEMPTION_TIMER") == slices - 1, name
        assert exits == calls(rounds, rounds_scenario), name


@pytest.mark.parametrize("way", ["YIELD", "HLT"])
@pytest.mark.points(1)
def test_yield_and_hlt_give_the_slice_away(boot, way):
    """A VM that says its round and then calls HC_YIELD (or executes HLT)
    hands the CPU on at once: with rounds far shorter than a slice the VMs
    alternate strictly, round by round, no timer ever fires, and each VM
    has one slice per round plus its first."""
    count = RNG.randrange(2, VMS_MAX + 1)
    rounds = RNG.randrange(2, 6)
    scenario = kit_value(f"SCENARIO_ROUNDS_{way}")
    result = boot(params={"vms": count, "rounds": rounds,
                          "round_work": RNG.randrange(50, 500),
                          "scenarios": scenarios(*[scenario] * count)})
    assert result.passed, result.diagnosis
    said = [(m[1], int(m[2])) for m in map(ROUND.match, result.lines()) if m]
    assert said == [(f"VM{n}", r) for r in range(1, rounds + 1)
                    for n in range(1, count + 1)]
    for name, (_, _, slices, _, exits) in summaries(result).items():
        assert "PREEMPTION_TIMER" not in exits, name
        assert slices == rounds + 1, name
        assert exits == calls(rounds, scenario), name


@pytest.mark.points(3)
def test_a_vm_cannot_read_another_vms_memory(boot, emulator):
    """VM2 reads the host-physical address of VM1's greeting (where the
    hypervisor put VM1's RAM) as a guest-physical one: VM2's EPT has no
    mapping there, so it is an EPT violation of VM2 alone, at exactly that
    address; VM1, still computing, finishes normally after it. On Bochs,
    Bochs logs that one violation at that address."""
    rounds = RNG.randrange(2, 5)
    result = boot(params={"scenarios": scenarios(
        kit_value("SCENARIO_ROUNDS"), kit_value("SCENARIO_EPT_VIOLATION")),
        "rounds": rounds}, log=True)
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_EPT_VIOLATION"), \
        result.diagnosis
    lines = result.lines()
    ram = int(re.search(r"vm: VM1: 64 KiB of RAM at host-physical "
                        r"0x([0-9a-f]+)", result.serial)[1], 16)
    spied = ram + kit_value("GUEST_LOAD_ADDR") + \
        kit_value("GUEST_GREETING_OFFSET")
    violation = [i for i, l in enumerate(lines)
                 if l.startswith("vm: EPT violation at guest-physical")]
    assert len(violation) == 1
    assert lines[violation[0]].startswith(
        f"vm: EPT violation at guest-physical {spied:#x}: read access, "
        "page not mapped")
    assert lines[violation[0] + 1] == "vm: VM2 stopped (EPT violation, " \
        f"status {kit_value('POWER_FAIL_EPT_VIOLATION')})"
    assert lines.index(f"VM1: round {rounds}") > violation[0]
    ends = summaries(result)
    assert ends["VM1"][:2] == ("HC_EXIT", 0)
    assert ends["VM2"][4]["EPT_VIOLATION"] == 1
    assert "EPT_VIOLATION" not in ends["VM1"][4]
    if emulator == "bochs":
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
def test_a_crashing_vm_stops_alone(boot):
    """Four VMs with scenarios the harness shuffles (a triple fault, an
    unexpected I/O exit, a divide error, a normal run): each ends as the
    model says, alone, every other VM still gets its turn, the summary
    says which VM ended how, and the machine powers off with the first
    failing VM's status."""
    names = list(ENDINGS)[:4]
    RNG.shuffle(names)
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
    assert "vmx: VMXOFF: left VMX operation" in result.serial


@pytest.mark.points(2)
def test_exceptions_are_caught_by_the_bitmap(boot):
    """A divide by zero and VMXON in real mode (#UD) do not run through
    VM1's empty IVT: the exception bitmap makes each an exit, reported by
    vector name at the RIP of the faulting instruction, found in VM1's
    own bytes (DIV AX: F7 F0; VMXON m64: F3 0F C7 /6)."""
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
    for name in ("VM1", "VM2"):
        assert summaries(result)[name][4]["EXCEPTION_NMI"] == 1


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
