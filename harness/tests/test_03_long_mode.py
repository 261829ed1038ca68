"""Lesson 03: long mode, 4-level paging and the higher-half kernel.

References: the architectural requirements of long mode, a CPU name the
harness chooses (QEMU -cpu model-id=...), CPU models without long mode, and
on QEMU the emulator's own view: its registers, its translation of each
virtual address (gva2gpa), and the page-table entries read from guest
memory and walked here in Python.
"""
import random
import re

import pytest

LESSON = "03"

WALK = re.compile(r"walk: va=0x([0-9a-f]{16}) \((.+?)\)(.*)$")
ENTRY = re.compile(r"(pml4|pdpt|pd|pt)\[(\d+)\]=0x([0-9a-f]+)")
REG = re.compile(r"^(cr0|cr3|cr4|efer)\s*= 0x([0-9a-f]{16})((?: \S+)*)$")
KERNEL_VMA = 0xFFFFFFFF80000000
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


@pytest.mark.points(2)
def test_reaches_64_bit_c_in_the_higher_half(boot):
    """The kernel runs at a higher-half address (the top 2 GiB), loads its
    own GDT with a TSS in TR, and powers off with PASS."""
    result = boot()
    assert result.passed, result.diagnosis
    kernel = int(re.search(r"kernel at 0x([0-9a-f]+)", result.serial)[1], 16)
    assert kernel >= KERNEL_VMA
    assert "tr=0x18" in result.serial


@pytest.mark.points(1)
def test_control_registers_meet_long_mode(boot):
    """CR0.PG and PE, CR4.PAE and EFER.LME and LMA are all set (SDM 9.8.5),
    and each register's printed names are exactly its set bits."""
    regs = registers(boot())
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
def test_walks_are_consistent(boot):
    """Each software walk indexes its tables with the right 9-bit slices of
    the address, and its physical address is the leaf's frame plus the
    offset; the identity and higher-half views of VGA meet at 0xB8000."""
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


def qemu_inspect(serial, command):
    """Monitor script: registers, then each printed walk redone from the
    page tables in guest memory, and QEMU's own translation."""
    out = {"regs": command("info registers")}
    cr3 = int(re.search(r"CR3=([0-9a-f]+)", out["regs"])[1], 16)
    out["walks"] = {}
    for m in map(WALK.match, serial.splitlines()):
        if not m:
            continue
        va = int(m[1], 16)
        entries, table = [], cr3 & ADDR
        if va >> 47 in (0, 0x1FFFF):
            for level in range(4):
                index = va >> (39 - 9 * level) & 511
                word = command(f"xp /1gx {table + index * 8:#x}")
                entry = int(word.split(":")[1], 16)
                entries.append(entry)
                if not entry & P or level == 3 or (level and entry & PS):
                    break
                table = entry & ADDR
        out["walks"][va] = (entries, command(f"gva2gpa {va:#x}"))
    alias = re.search(r"one byte at physical 0x([0-9a-f]+)", serial)
    out["alias"] = command(f"xp /1bx {int(alias[1], 16):#x}")
    return out


@pytest.mark.emulators("qemu")      # needs QEMU's monitor
@pytest.mark.points(3)
def test_walks_and_registers_match_qemu(boot):
    """Parked at the end, QEMU agrees: the control registers printed are the
    CPU's, every page-table entry printed is the one in guest memory, every
    physical address printed is QEMU's own translation (gva2gpa), and the
    alias byte holds the value the harness patched in."""
    value = random.Random(3).randrange(1, 256)
    result = boot(params={"park": 1, "alias_value": value},
                  until=r"\[kit\] parked", monitor_commands=qemu_inspect)
    assert result.outcome == "stopped", result.diagnosis
    mon = result.monitor
    for name, (printed, _) in registers(result).items():
        key = {"cr0": "CR0", "cr3": "CR3", "cr4": "CR4", "efer": "EFER"}[name]
        assert int(re.search(key + r"=([0-9a-f]+)", mon["regs"])[1], 16) == \
            printed, name
    for va, what, rest in walks(result):
        entries, qemu = mon["walks"][va]
        assert [int(e[2], 16) for e in ENTRY.findall(rest)] == entries, what
        if "pa=" in rest:
            pa = int(re.search(r"pa=0x([0-9a-f]+)", rest)[1], 16)
            assert re.search(r"gpa: 0x([0-9a-f]+)", qemu), (what, qemu)
            assert int(re.search(r"gpa: 0x([0-9a-f]+)", qemu)[1], 16) == pa
        else:
            assert "Unmapped" in qemu or "not" in qemu.lower(), (what, qemu)
    alias = re.search(r"alias: wrote 0x([0-9a-f]+) .* read 0x([0-9a-f]+)",
                      result.serial)
    assert int(alias[1], 16) == int(alias[2], 16) == value
    assert int(mon["alias"].split(":")[1], 16) == value
    tr = re.search(r"TR =([0-9a-f]{4}) ([0-9a-f]{16})", mon["regs"])
    assert int(tr[1], 16) == 0x18 and int(tr[2], 16) >= KERNEL_VMA


@pytest.mark.points(1)
def test_alias_through_both_mappings(boot):
    """A value the harness patches in is written through the identity
    mapping and read back through the higher half: one physical byte, two
    virtual addresses KERNEL_VMA apart."""
    value = random.Random(5).randrange(1, 256)
    result = boot(params={"alias_value": value})
    m = re.search(r"alias: wrote 0x([0-9a-f]+) at 0x([0-9a-f]+) \(identity\)"
                  r", read 0x([0-9a-f]+) at 0x([0-9a-f]+) \(higher half\): "
                  r"one byte at physical 0x([0-9a-f]+)", result.serial)
    assert m, result.serial
    low, high, phys = (int(m[i], 16) for i in (2, 4, 5))
    assert int(m[1], 16) == int(m[3], 16) == value
    assert low == phys and high == phys + KERNEL_VMA


@pytest.mark.emulators("qemu")      # -cpu lets the harness name the CPU
@pytest.mark.points(1)
def test_cpu_identity_is_the_one_qemu_was_given(boot):
    """The vendor and brand strings printed are the ones the harness gave
    QEMU's virtual CPU, read back through CPUID."""
    brand = f"Kit Test CPU {random.Random(9).randrange(1000)}"
    result = boot(qemu_cpu=f"qemu64,vendor=GenuineIntel,model-id={brand}")
    assert result.passed, result.diagnosis
    assert 'cpuid: vendor "GenuineIntel"' in result.serial
    assert f'cpuid: brand "{brand}"' in result.serial


@pytest.mark.points(1)
def test_no_long_mode_is_refused_clearly(boot, emulator):
    """On a 32-bit CPU (QEMU qemu32, Bochs Pentium 4 Willamette) the lesson
    says that long mode is missing and powers off with FAIL, instead of
    faulting."""
    result = boot(qemu_cpu="qemu32", bochs_cpu="p4_willamette")
    assert result.outcome == "fail", result.diagnosis
    assert "this CPU has no long mode" in result.serial
    assert "Lesson 03" not in result.serial
