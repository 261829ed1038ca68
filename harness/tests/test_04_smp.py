"""Lesson 04: starting the application processors (smp.c, ap_trampoline.asm,
smp_ap.c).

References: the number of CPUs the harness gave the emulator (QEMU's -smp,
Bochs' `cpu: count=`), whose APIC IDs both number 0..n-1; the link map
(where each AP's stack and the parking loop are); values the harness
patches in (which AP stalls, bad parameters), drawn afresh on every run;
and on QEMU its monitor (`info registers -a`): where each CPU really is
after the lesson, in which mode, on which stack, halted or not.
"""
import random
import re

import pytest

from conftest import map_symbol
from kit import lessons
from kit.hosted import machine_of

LESSON = "04"
RNG = random.Random()               # seeded by the OS: different on every run
PARKED = r"\[kit\] parked"

AP_LINE = re.compile(r"smp: cpu (\d+): apic id (\d+), (xAPIC|x2APIC) mode, "
                     r"rsp 0x([0-9a-f]{16}), parked")
MISSING_LINE = re.compile(r"smp: cpu (\d+) \(apic id (\d+)\) never arrived: "
                          r"sent INIT, it waits for SIPI again")
CPU_STATE = re.compile(r"^CPU#(\d+)\n(.*?)(?=^CPU#|\Z)", re.M | re.S)


def constant(name: str) -> int:
    """A number of smp.h or power.h, as the build exports it (kit.json)."""
    return lessons.find(LESSON).constants[name]


def symbol(name: str) -> int:
    return map_symbol(lessons.find(LESSON), name)


def madt_ids(result) -> list[int]:
    """The enabled processors' APIC IDs, in the MADT's order."""
    return [int(a) for a, f in re.findall(
        r"madt: cpu: processor \d+, apic id (\d+), flags 0x([0-9a-f]+)",
        result.serial) if int(f, 16) & 1]


def ap_lines(result) -> dict:
    """{cpu number: (apic id, mode, rsp)} from the APs' own lines, each of
    which must be whole: a line that mentions an AP but is not exactly one
    of the lesson's was garbled."""
    found = {}
    for line in result.lines():
        if not line.startswith("smp: cpu "):
            assert "smp: cpu " not in line, f"garbled: {line!r}"
            continue
        m = AP_LINE.fullmatch(line)
        if m:
            assert int(m[1]) not in found, f"cpu {m[1]} printed twice"
            found[int(m[1])] = (int(m[2]), m[3], int(m[4], 16))
        else:
            assert MISSING_LINE.fullmatch(line), f"garbled: {line!r}"
    return found


def stack_of(cpu: int) -> range:
    """The addresses of AP @cpu's stack, from the link map."""
    size = constant("SMP_AP_STACK_SIZE")
    base = symbol("smp_ap_stacks") + (cpu - 1) * size
    return range(base, base + size)


def cpu_states(text: str) -> dict:
    """{CPU index: {"rip", "rsp", "halted", "mode"}} from QEMU's
    `info registers -a`: RIP/RSP in long mode, EIP/ESP otherwise."""
    states = {}
    for m in CPU_STATE.finditer(text):
        dump = m[2]
        ip = re.search(r"\b[RE]IP=([0-9a-f]+)", dump)
        sp = re.search(r"\b[RE]SP=([0-9a-f]+)", dump)
        cs = re.search(r"^CS =(\w+) (.*)$", dump, re.M)
        mode = re.search(r"\b(CS64|CS32|CS16)\b", cs[2])
        states[int(m[1])] = {
            "rip": int(ip[1], 16), "rsp": int(sp[1], 16),
            "halted": re.search(r"\bHLT=1\b", dump) is not None,
            "mode": mode[1] if mode else "real", "cs": int(cs[1], 16)}
    return states


@pytest.mark.points(3)
@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_every_processor_arrives_once(boot, emulator, cpus):
    """On a machine of 1, 2 or 4 CPUs the APIC IDs the APs print, with the
    BSP's, are exactly the MADT's enabled processors and exactly the CPUs
    the emulator was given (0..n-1); each AP prints one whole line with its
    CPU number (1..n-1 in MADT order), on its own stack (the link map's
    smp_ap_stacks slot for that number), and the BSP counts all of them."""
    result = boot(cpus=cpus)
    assert result.passed, result.diagnosis
    ids = madt_ids(result)
    assert ids == list(range(cpus)), f"{cpus} CPUs given"
    aps = ap_lines(result)
    smp = [line for line in result.lines() if line.startswith("smp:")]
    if cpus == 1:
        assert aps == {}
        assert smp == ["smp: 1 processor, the BSP (apic id 0): no AP to "
                       "start"]
        return
    assert sorted(aps) == list(range(1, cpus))
    assert {0} | {a for a, _, _ in aps.values()} == set(range(cpus))
    assert [aps[n][0] for n in sorted(aps)] == [i for i in ids if i != 0]
    for n, (_, mode, rsp) in aps.items():
        assert mode == "xAPIC"
        assert rsp in stack_of(n), f"cpu {n}'s rsp {rsp:#x}"
    assert smp[0] == (f"smp: BSP apic id 0; trampoline at "
                      f"{constant('SMP_TRAMPOLINE'):#x} (SIPI vector "
                      f"{constant('SMP_SIPI_VECTOR'):#04x}); starting "
                      f"{cpus - 1} AP(s) through the xAPIC ICR")
    assert smp[-1] == f"smp: {cpus} of {cpus} processors up, the APs parked"


def registers(serial, command):
    return {"cpus": command("info registers -a")}


@pytest.mark.points(2)
@pytest.mark.emulators("qemu")      # needs QEMU's monitor
def test_qemu_sees_the_aps_parked(boot):
    """Parked at the end on a QEMU of 2-4 CPUs (the run chooses), QEMU's
    own view of every AP: halted, in 64-bit mode, its RIP in the parking
    loop smp_ap_park() (link map), its RSP inside the stack of the CPU
    number it printed; the machine has exactly the CPUs it was given."""
    cpus = RNG.randrange(2, 5)
    result = boot(cpus=cpus, params={"park": 1}, until=PARKED,
                  monitor_commands=registers)
    assert result.outcome == "stopped", result.diagnosis
    states = cpu_states(result.monitor["cpus"])
    assert sorted(states) == list(range(cpus))
    park = symbol("smp_ap_park")
    number = {apic: n for n, (apic, _, _) in ap_lines(result).items()}
    for index in range(1, cpus):    # QEMU's CPU n has APIC ID n
        s = states[index]
        assert s["halted"] and s["mode"] == "CS64", (index, s)
        assert park <= s["rip"] < park + 8, (index, hex(s["rip"]))
        assert s["rsp"] in stack_of(number[index]), (index, hex(s["rsp"]))


@pytest.mark.points(2)
def test_an_ap_that_never_arrives_is_named(boot, emulator):
    """An AP patched to stall (smp_stall: one the run chooses) is reported
    by CPU number and APIC ID after the timeout, the others still arrive,
    the BSP counts one fewer and the lesson fails; on QEMU the monitor
    shows the INIT the BSP then sent: that CPU waits for SIPI at
    F000:FFF0, halted, in real mode."""
    cpus = 4 if machine_of(emulator) == "qemu" else 2
    stall = RNG.randrange(1, cpus)
    qemu = machine_of(emulator) == "qemu"
    result = boot(cpus=cpus, params={"smp_stall": stall, "park": int(qemu)},
                  **({"until": PARKED, "monitor_commands": registers}
                     if qemu else {}))
    assert result.status == constant("POWER_FAIL"), result.diagnosis
    missing = [MISSING_LINE.fullmatch(line) for line in result.lines()]
    missing = [(int(m[1]), int(m[2])) for m in missing if m]
    assert missing == [(stall, stall)], f"smp_stall={stall}"
    aps = ap_lines(result)
    assert sorted(aps) == [n for n in range(1, cpus) if n != stall]
    assert f"smp: {cpus - 1} of {cpus} processors up" in result.serial
    if qemu:
        s = cpu_states(result.monitor["cpus"])[stall]
        assert s["halted"] and s["mode"] == "real", s
        assert (s["cs"], s["rip"]) == (0xF000, 0xFFF0), s


@pytest.mark.points(1)
@pytest.mark.emulators("bochs")     # QEMU 7.2's TCG has no x2APIC
def test_x2apic_icr_starts_the_aps(boot):
    """With x2apic=1 on Bochs' Skylake-X (CPUID offers x2APIC), the BSP
    sends INIT-SIPI-SIPI through MSR 0x830 and the AP, having switched its
    own local APIC to x2APIC mode, reads its 32-bit APIC ID there: 1."""
    result = boot(cpus=2, params={"x2apic": 1})
    assert result.passed, result.diagnosis
    assert "through the x2APIC ICR" in result.serial
    assert ap_lines(result) == {1: (1, "x2APIC", ap_lines(result)[1][2])}
    assert ap_lines(result)[1][2] in stack_of(1)


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")      # needs QEMU's monitor
def test_smp_off_leaves_the_aps_alone(boot):
    """smp=0 on a QEMU of 2-4 CPUs: one line counts the MADT's processors
    and no AP runs the kernel; QEMU shows each AP outside it (where the
    BIOS left it), not in 64-bit mode."""
    cpus = RNG.randrange(2, 5)
    result = boot(cpus=cpus, params={"smp": 0, "park": 1}, until=PARKED,
                  monitor_commands=registers)
    assert result.outcome == "stopped", result.diagnosis
    assert [line for line in result.lines() if line.startswith("smp:")] == [
        f"smp: {cpus} processors; smp=0: the {cpus - 1} APs stay waiting "
        f"for SIPI"]
    states = cpu_states(result.monitor["cpus"])
    assert sorted(states) == list(range(cpus))
    kernel = range(symbol("__kernel_start"), symbol("__kernel_end"))
    for index in range(1, cpus):
        assert states[index]["mode"] != "CS64", states[index]
        assert states[index]["rip"] not in kernel, states[index]


@pytest.mark.points(1)
def test_bad_smp_parameters_are_refused(boot):
    """smp above 1 (the run chooses), or smp_stall naming the BSP rather
    than an AP, gets one line naming both and POWER_FAIL_PARAM."""
    for params in ({"smp": RNG.randrange(2, 256)}, {"smp_stall": 0}):
        result = boot(cpus=2, params=params)
        assert result.status == constant("POWER_FAIL_PARAM"), params
        line = [x for x in result.lines() if x.startswith("smp: smp=")]
        assert len(line) == 1 and line[0].startswith(
            f"smp: smp={params.get('smp', 1)}, smp_stall="
            f"{params.get('smp_stall', 255)}:"), line
        assert "smp: cpu" not in result.serial
