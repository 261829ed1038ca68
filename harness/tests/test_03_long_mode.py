"""Lesson 03: long mode, 4-level paging and the higher-half kernel.

References: the architectural requirements of long mode, a CPU name the
harness chooses (QEMU -cpu model-id=...) and a byte value it patches in
(both drawn afresh on every run), CPU models without long mode, and the
emulator's own view: on QEMU its registers, its translation of each virtual
address (gva2gpa) and the page-table entries read from guest memory and
walked here in Python, with the lesson parked at its end (booted once,
shared by the tests that read it); on Bochs the register dump it logs when
the guest powers off.
"""
import random
import re

import pytest

from kit import lessons
from kit.hosted import machine_of

from conftest import guest_number

LESSON = "03"
RNG = random.Random()       # seeded by the OS: different on every run
MEMORY_MIB = 32             # the RAM of the parked run
MAX_WALKS = 64              # the lesson prints 7
ALIAS = RNG.randrange(1, 256)

WALK = re.compile(r"walk: va=0x([0-9a-f]{16}) \((.+?)\)(.*)$")
ENTRY = re.compile(r"(pml4|pdpt|pd|pt)\[(\d+)\]=0x([0-9a-f]+)")
REG = re.compile(r"^(cr0|cr3|cr4|efer)\s*= 0x([0-9a-f]{16})((?: \S+)*)$")
P, PS = 1, 1 << 7
ADDR = 0x000FFFFFFFFFF000
BIT_NAMES = {
    "cr0": {0: "PE", 1: "MP", 2: "EM", 3: "TS", 4: "ET", 5: "NE", 16: "WP",
            18: "AM", 29: "NW", 30: "CD", 31: "PG"},
    "cr4": {0: "VME", 1: "PVI", 2: "TSD", 3: "DE", 4: "PSE", 5: "PAE",
            6: "MCE", 7: "PGE", 8: "PCE", 9: "OSFXSR", 10: "OSXMMEXCPT",
            11: "UMIP", 12: "LA57", 13: "VMXE", 14: "SMXE", 16: "FSGSBASE",
            17: "PCIDE", 18: "OSXSAVE", 20: "SMEP", 21: "SMAP", 22: "PKE",
            23: "CET", 24: "PKS"},
    "efer": {0: "SCE", 8: "LME", 10: "LMA", 11: "NXE", 12: "SVME",
             13: "LMSLE", 14: "FFXSR", 15: "TCE"},
}


def kernel_vma() -> int:
    """Where the higher half starts, as the build has it (kit.json, from
    common/include/layout.h)."""
    return lessons.find(LESSON).constants["KERNEL_VMA"]


def registers(result) -> dict:
    regs = {}
    for line in result.lines():
        m = REG.match(line)
        if m:
            regs[m[1]] = (int(m[2], 16), m[3].split())
    return regs


def walks(result) -> list:
    return [(int(m[1], 16), m[2], m[3]) for m in map(WALK.match,
                                                      result.lines()) if m]


def bochs_final_state(result) -> dict:
    """The CPU as Bochs logged it when the guest powered off (the register
    dump after "shutdown requested")."""
    tail = result.log_tail
    dump = tail[tail.rfind("shutdown requested"):] \
        if "shutdown requested" in tail else ""

    def hexval(pattern):
        m = re.search(pattern, dump)
        return m and int(m[1].replace("_", ""), 16)
    mode = re.search(r"CPU is in (.+?) mode", dump)
    bits = re.search(r"CS\.mode = (\d+) bit", dump)
    return {"mode": mode and mode[1], "bits": bits and int(bits[1]),
            "cs": hexval(r"\|\s+CS:([0-9a-f]{4})\("),
            "rip": hexval(r"\| RIP=([0-9a-f_]+)"),
            "cr0": hexval(r"CR0=0x([0-9a-f_]+)"),
            "cr3": hexval(r"CR3=0x([0-9a-f_]+)"),
            "cr4": hexval(r"CR4=0x([0-9a-f_]+)"),
            "efer": hexval(r"EFER\s+= 0x([0-9a-f_]+)")}


def qemu_register(regs: str, name: str) -> int:
    return int(re.search(r"\b" + name + r"=([0-9a-f]+)", regs)[1], 16)


_parked = {}


def parked(request, boot, emulator):
    """The lesson parked at its end on QEMU, inspected by qemu_inspect:
    booted on first use (per emulator and pytest worker), then shared."""
    if emulator not in _parked:
        _parked[emulator] = boot(
            params={"park": 1, "alias_value": ALIAS}, memory_mib=MEMORY_MIB,
            until=r"\[kit\] parked", monitor_commands=qemu_inspect)
    else:                           # so that a failure still shows it
        request.node._kit_boots.append(_parked[emulator])
    result = _parked[emulator]
    assert result.outcome == "stopped", result.diagnosis
    return result


def assert_walks_match_qemu(printed: list, mon: dict):
    """Each printed walk's entries are those in guest memory, and its
    physical address QEMU's own translation (or QEMU finds it unmapped)."""
    for va, what, rest in printed:
        assert va in mon["walks"], f"{what}: not in the parked run"
        entries, qemu = mon["walks"][va]
        assert [int(e[2], 16) for e in ENTRY.findall(rest)] == entries, what
        if "pa=" in rest:
            pa = int(re.search(r"pa=0x([0-9a-f]+)", rest)[1], 16)
            assert re.search(r"gpa: 0x([0-9a-f]+)", qemu), (what, qemu)
            assert int(re.search(r"gpa: 0x([0-9a-f]+)", qemu)[1], 16) == pa
        else:
            assert "Unmapped" in qemu or "not" in qemu.lower(), (what, qemu)


@pytest.mark.points(2)
def test_reaches_64_bit_c_in_the_higher_half(request, boot, emulator):
    """The kernel runs at a higher-half address (the top 2 GiB), loads its
    own GDT with a TSS in TR, and powers off with PASS; the emulator agrees
    that the CPU runs 64-bit code in the higher half: Bochs' dump at the
    power-off, QEMU's registers with the lesson parked at its end (and its
    TR, the TSS, in the higher half too)."""
    result = boot()
    assert result.passed, result.diagnosis
    kernel = int(re.search(r"kernel at 0x([0-9a-f]+)", result.serial)[1], 16)
    assert kernel >= kernel_vma()
    assert "tr=0x18" in result.serial
    if machine_of(emulator) == "qemu":
        regs = parked(request, boot, emulator).monitor["regs"]
        assert qemu_register(regs, "EFER") >> 10 & 1, "EFER.LMA"
        cs = re.search(r"^CS =([0-9a-f]{4}) [0-9a-f]+ [0-9a-f]+ ([0-9a-f]+)",
                       regs, re.M)
        assert int(cs[1], 16) == 0x08 and int(cs[2], 16) >> 21 & 1, "CS.L"
        assert qemu_register(regs, "RIP") >= kernel_vma()
        tr = re.search(r"TR =([0-9a-f]{4}) ([0-9a-f]{16})", regs)
        assert int(tr[1], 16) == 0x18 and int(tr[2], 16) >= kernel_vma()
    else:
        cpu = bochs_final_state(result)
        assert (cpu["mode"], cpu["bits"], cpu["cs"]) == ("long", 64, 0x08), \
            cpu
        assert cpu["rip"] >= kernel_vma(), f"RIP {cpu['rip']:#x}"


@pytest.mark.points(1)
def test_control_registers_meet_long_mode(request, boot, emulator):
    """CR0.PG and PE, CR4.PAE and EFER.LME and LMA are all set (SDM 9.8.5),
    and each register's printed names are exactly its set bits; the values
    printed are the CPU's, as the emulator reports them (QEMU's registers
    with the lesson parked, Bochs' dump at the power-off)."""
    result = boot()
    regs = registers(result)
    if machine_of(emulator) == "qemu":
        mon = parked(request, boot, emulator).monitor["regs"]
        cpu = {name: qemu_register(mon, name.upper())
               for name in ("cr0", "cr3", "cr4", "efer")}
    else:
        assert result.passed, result.diagnosis
        cpu = bochs_final_state(result)
    for name in ("cr0", "cr3", "cr4", "efer"):
        assert regs[name][0] == cpu[name], \
            f"{name}: printed {regs[name][0]:#x}, the CPU's {cpu[name]:#x}"
    cr0, cr4, efer = regs["cr0"][0], regs["cr4"][0], regs["efer"][0]
    assert cr0 & 1 and cr0 >> 31 & 1, "CR0.PE and CR0.PG"
    assert cr4 >> 5 & 1, "CR4.PAE"
    assert efer >> 8 & 1 and efer >> 10 & 1, "EFER.LME and EFER.LMA"
    for name in ("cr0", "cr4", "efer"):
        value, printed = regs[name]
        assert printed == [BIT_NAMES[name].get(b, "?") for b in range(64)
                           if value >> b & 1], name
    assert regs["cr3"][1] == [n for b, n in ((3, "PWT"), (4, "PCD"))
                              if regs["cr3"][0] >> b & 1]


@pytest.mark.points(2)
def test_walks_are_consistent(request, boot, emulator):
    """Each software walk indexes its tables with the right 9-bit slices of
    the address, and its physical address is the leaf's frame plus the
    offset; the identity and higher-half views of VGA meet at 0xB8000. On
    QEMU every entry printed is also the one in guest memory and every
    physical address QEMU's own translation (the lesson parked). (Bochs
    shows guest memory to no test: there the walks are checked only
    against each other.)"""
    result = boot()
    lines = walks(result)
    assert len(lines) == 7
    for va, what, rest in lines:
        entries = ENTRY.findall(rest)
        for level, (name, index, _) in enumerate(entries):
            assert int(index) == va >> (39 - 9 * level) & 511, (what, name)
        if "pa=" in rest:
            leaf = int(entries[-1][2], 16)
            shift = 39 - 9 * (len(entries) - 1)
            pa = int(re.search(r"pa=0x([0-9a-f]+)", rest)[1], 16)
            assert pa == (leaf & ADDR & ~((1 << shift) - 1)) | \
                (va & ((1 << shift) - 1))
    by_name = {what: rest for _, what, rest in lines}
    assert "pa=0x00000000000b8000" in by_name["VGA, higher half"]
    assert "pa=0x00000000000b8000" in by_name["VGA, identity"]
    assert "(2 MiB page)" in by_name["identity, inside a 2 MiB page"]
    assert by_name["1 GiB: beyond the map"].endswith("-> not mapped")
    assert by_name["not canonical"].endswith("-> not canonical")
    if machine_of(emulator) == "qemu":
        assert_walks_match_qemu(lines, parked(request, boot, emulator).monitor)


def qemu_inspect(serial, command):
    """Monitor script: registers, then each printed walk redone from the
    page tables in guest memory, and QEMU's own translation."""
    out = {"regs": command("info registers")}
    cr3 = int(re.search(r"CR3=([0-9a-f]+)", out["regs"])[1], 16)
    out["walks"] = {}
    printed = [m for m in map(WALK.match, serial.splitlines()) if m]
    guest_number(len(printed), 0, MAX_WALKS,
                 "the number of walks the guest printed")
    ram = MEMORY_MIB << 20
    for m in printed:
        va = guest_number(int(m[1], 16), 0, (1 << 64) - 1,
                          "the walk address the guest printed")
        entries, table = [], cr3 & ADDR
        if va >> 47 in (0, 0x1FFFF):
            for level in range(4):
                index = va >> (39 - 9 * level) & 511
                # the tables' addresses come from the guest (CR3, entries)
                at = guest_number(table + index * 8, 0, ram - 8,
                                  "the page-table entry address")
                word = command(f"xp /1gx {at:#x}")
                entry = int(word.split(":")[1], 16)
                entries.append(entry)
                if not entry & P or level == 3 or (level and entry & PS):
                    break
                table = entry & ADDR
        out["walks"][va] = (entries, command(f"gva2gpa {va:#x}"))
    alias = re.search(r"one byte at physical 0x([0-9a-f]+)", serial)
    if alias:
        at = guest_number(int(alias[1], 16), 0, ram - 1,
                          "the alias physical address the guest printed")
        out["alias"] = command(f"xp /1bx {at:#x}")
    return out


@pytest.mark.emulators("qemu")      # needs QEMU's monitor
@pytest.mark.points(3)
def test_walks_and_registers_match_qemu(request, boot, emulator):
    """Parked at the end, QEMU agrees: the control registers printed are the
    CPU's, every page-table entry printed is the one in guest memory, every
    physical address printed is QEMU's own translation (gva2gpa), and the
    alias byte holds the value the harness patched in."""
    value = ALIAS
    result = parked(request, boot, emulator)
    mon = result.monitor
    for name, (printed, _) in registers(result).items():
        key = {"cr0": "CR0", "cr3": "CR3", "cr4": "CR4", "efer": "EFER"}[name]
        assert int(re.search(key + r"=([0-9a-f]+)", mon["regs"])[1], 16) == \
            printed, name
    assert_walks_match_qemu(walks(result), mon)
    alias = re.search(r"alias: wrote 0x([0-9a-f]+) .* read 0x([0-9a-f]+)",
                      result.serial)
    assert int(alias[1], 16) == int(alias[2], 16) == value, \
        f"patched alias_value {value:#x}"
    assert int(mon["alias"].split(":")[1], 16) == value
    tr = re.search(r"TR =([0-9a-f]{4}) ([0-9a-f]{16})", mon["regs"])
    assert int(tr[1], 16) == 0x18 and int(tr[2], 16) >= kernel_vma()


@pytest.mark.points(1)
def test_alias_through_both_mappings(boot):
    """A value the harness patches in is written through the identity
    mapping and read back through the higher half: one physical byte, two
    virtual addresses KERNEL_VMA apart."""
    value = RNG.randrange(1, 256)
    result = boot(params={"alias_value": value})
    m = re.search(r"alias: wrote 0x([0-9a-f]+) at 0x([0-9a-f]+) \(identity\)"
                  r", read 0x([0-9a-f]+) at 0x([0-9a-f]+) \(higher half\): "
                  r"one byte at physical 0x([0-9a-f]+)", result.serial)
    assert m, result.serial
    low, high, phys = (int(m[i], 16) for i in (2, 4, 5))
    assert int(m[1], 16) == int(m[3], 16) == value, \
        f"patched alias_value {value:#x}"
    assert low == phys and high == phys + kernel_vma()


@pytest.mark.emulators("qemu")      # -cpu lets the harness name the CPU
@pytest.mark.points(1)
def test_cpu_identity_is_the_one_qemu_was_given(boot):
    """The vendor and brand strings printed are the ones the harness gave
    QEMU's virtual CPU, read back through CPUID (the brand one of the run's
    choosing)."""
    brand = f"Kit Test CPU {RNG.randrange(10**6):06d}"
    result = boot(cpu={"qemu": f"qemu64,vendor=GenuineIntel,model-id={brand}"})
    assert result.passed, result.diagnosis
    assert 'cpuid: vendor "GenuineIntel"' in result.serial
    assert f'cpuid: brand "{brand}"' in result.serial


@pytest.mark.points(1)
def test_no_long_mode_is_refused_clearly(boot, emulator):
    """On a 32-bit CPU (QEMU qemu32, Bochs Pentium 4 Willamette) the lesson
    says that long mode is missing and powers off with FAIL, instead of
    faulting; on the emulator's 64-bit CPU the same image says no such
    thing and passes (so a lesson that always refuses scores nothing)."""
    result = boot(cpu={"qemu": "qemu32", "bochs": "p4_willamette"})
    assert result.outcome == "fail", result.diagnosis
    assert "this CPU has no long mode" in result.serial
    assert "Lesson 03" not in result.serial
    capable = boot()
    assert capable.passed, capable.diagnosis
    assert "this CPU has no long mode" not in capable.serial


# Lesson 02's entry turns the caches on for this lesson too: its tests,
# run on this lesson's image (the `lesson` fixture is this module's).
from test_02_caches import (  # noqa: E402,F401 (collected here again)
    test_bochs_sees_the_entry_turn_the_caches_on,
    test_caches_are_on_at_the_end)
