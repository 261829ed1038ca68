"""Lesson 02: the disk loader, A20, the E820 map, the GDT and protected mode.

References: the memory size the harness gives the emulator (chosen afresh
on each run), a descriptor decoder written here from the SDM's layout, fed a
null descriptor the harness patches into the GDT, the flat descriptors the
lesson is meant to load, and the CPU state as the emulator itself reports
it: QEMU through its monitor, Bochs in the register dump it logs when the
guest powers off.
"""
import random
import re
import sys

import pytest

from conftest import guest_number
from kit.hosted import machine_of

LESSON = "02"
MiB = 1 << 20
RNG = random.Random()       # seeded by the OS: different on every run
SEGMENTS = ("cs", "ds", "es", "fs", "gs", "ss")

E820_LINE = re.compile(r"e820\[(\d+)\]: base=0x([0-9a-f]{16}) "
                       r"length=0x([0-9a-f]{16}) type=(\d+) \((.+)\)")
GDT_LINE = re.compile(r"gdt\[(\d+)\]: sel=0x([0-9a-f]+) raw=0x([0-9a-f]{16})"
                      r"(?: (.*))?$")
E820_NAMES = {1: "usable", 2: "reserved", 3: "ACPI reclaimable",
              4: "ACPI NVS", 5: "unusable"}


def e820_entries(result):
    return [(int(m[2], 16), int(m[3], 16), int(m[4]), m[5])
            for m in map(E820_LINE.match, result.lines()) if m]


def usable_total(result) -> int:
    line = next(l for l in result.lines() if "e820: usable total:" in l)
    return int(re.search(r"0x([0-9a-f]+) bytes", line).group(1), 16)


def decode_descriptor(raw: int) -> dict:
    """SDM Vol. 3A 3.4.5: where base, limit and the flags sit in 8 bytes."""
    return {
        "base": (raw >> 16) & 0xFFFFFF | ((raw >> 56) & 0xFF) << 24,
        "limit": raw & 0xFFFF | ((raw >> 48) & 0xF) << 16,
        "type": (raw >> 40) & 0xF, "S": (raw >> 44) & 1,
        "DPL": (raw >> 45) & 3, "P": (raw >> 47) & 1, "L": (raw >> 53) & 1,
        "D/B": (raw >> 54) & 1, "G": (raw >> 55) & 1,
    }


def gdt_lines(result):
    return [(int(m[1]), int(m[2], 16), int(m[3], 16), m[4] or "")
            for m in map(GDT_LINE.match, result.lines()) if m]


def printed_fields(text: str) -> dict:
    fields = dict(re.findall(r"(\S+)=(0x[0-9a-f]+|\d+)", text))
    return {k: int(v, 0) for k, v in fields.items()}


def descriptor_kind(d: dict) -> str:
    """What a decoded descriptor describes, from its S and type bits."""
    if not d["S"]:
        return "system"
    if d["type"] & 8:
        return "code, " + ("execute/read" if d["type"] & 2 else
                           "execute-only")
    return "data, " + ("read/write" if d["type"] & 2 else "read-only")


def bochs_final_state(result) -> dict:
    """The CPU as Bochs logged it when the guest powered off (the register
    dump after "shutdown requested"): mode, CS.mode, CR0 and selectors."""
    tail = result.log_tail
    dump = tail[tail.rfind("shutdown requested"):] \
        if "shutdown requested" in tail else ""
    mode = re.search(r"CPU is in (.+?) mode", dump)
    bits = re.search(r"CS\.mode = (\d+) bit", dump)
    cr0 = re.search(r"CR0=0x([0-9a-f]+)", dump)
    state = {"mode": mode and mode[1], "bits": bits and int(bits[1]),
             "cr0": cr0 and int(cr0[1], 16)}
    for seg in SEGMENTS:
        m = re.search(r"\|\s+" + seg.upper() + r":([0-9a-f]{4})\(", dump)
        state[seg] = m and int(m[1], 16)
    return state


def qemu_selectors(regs: str) -> dict:
    return {seg.lower(): int(sel, 16) for seg, sel in re.findall(
        r"^(ES|CS|SS|DS|FS|GS) =([0-9a-f]{4}) ", regs, re.M)}


def layout(lesson) -> dict:
    """The build's numbers (kit.json, from common/include/layout.h...)."""
    return lesson.constants


def patched_image(lesson, tmp_path, symbol: str, data: bytes):
    """A copy of the lesson's image with @data written where the program's
    @symbol is (its ELF address, loaded at LOAD_ADDRESS from sector
    LOAD_LBA, as layout.h says and the loader does)."""
    sys.path.insert(0, str(lesson.source.parents[1] / "common" / "tools"))
    from symbols import load_offset, read_symbols
    kit = layout(lesson)
    program = kit["LOAD_LBA"] * kit["SECTOR_SIZE"]   # its offset in disk.img
    elf = str(lesson.build / "kernel.elf")
    image = bytearray(lesson.image.read_bytes())
    offset = load_offset(elf, read_symbols(elf)[symbol][0]) - \
        kit["LOAD_ADDRESS"] + program
    guest_number(offset, program, len(image) - len(data),
                 f"the image offset of the build's {symbol}")
    image[offset:offset + len(data)] = data
    path = tmp_path / f"{symbol}.img"
    path.write_bytes(image)
    return path


@pytest.mark.points(2)
def test_boots_to_protected_mode(boot, emulator):
    """The loader reads the program, which reaches 32-bit C and powers off
    with PASS after printing every section of the lesson; its E820 section
    describes the RAM this run gave the emulator (a size the harness
    chose: everything but the 384 KiB hole below 1 MiB and at most 640 KiB
    of the BIOS's), and on Bochs the CPU it powered off from was in 32-bit
    protected mode on the GDT's code segment, as Bochs itself logs it."""
    mib = RNG.randrange(33, 257)
    result = boot(memory_mib=mib)
    assert result.passed, result.diagnosis
    text = result.serial
    for section in ("a20:", "e820:", "gdt:", "cr0=", "segments:"):
        assert section in text
    total = usable_total(result)
    assert total == sum(n for _, n, t, _ in e820_entries(result) if t == 1)
    assert (mib - 1) * MiB <= total <= mib * MiB - 384 * 1024, \
        f"usable total {total:#x} with {mib} MiB of RAM"
    if machine_of(emulator) == "bochs":   # natively or under lesson 07
        cpu = bochs_final_state(result)
        assert (cpu["mode"], cpu["bits"], cpu["cs"]) == \
            ("protected", 32, 0x08), cpu


@pytest.mark.points(2)
def test_gdt_is_flat_and_decoded_right(boot, lesson, tmp_path):
    """The GDT the CPU uses (read back with SGDT) holds a null descriptor and
    flat 4 GiB ring-0 code and data segments, and the lesson's decoding of
    every field agrees with an independent decoder; so it does for a null
    descriptor holding bits the harness chose and patched into the GDT."""
    result = boot()
    assert result.passed, result.diagnosis
    entries = gdt_lines(result)
    header = re.search(r"gdt: base=0x([0-9a-f]+) limit=0x([0-9a-f]+)",
                       result.serial)
    assert int(header[2], 16) == len(entries) * 8 - 1
    assert [e[0] for e in entries] == list(range(len(entries)))
    assert entries[0][2] == 0 and "null" in entries[0][3]
    for index, sel, raw, text in entries[1:]:
        assert sel == index * 8
        assert printed_fields(text) == decode_descriptor(raw), text
    # The flat model (SDM 3.2.1), whatever the CPU did to the accessed bit:
    code, data = (decode_descriptor(e[2]) for e in entries[1:3])
    for d in (code, data):
        assert (d["base"], d["limit"], d["G"], d["D/B"], d["L"]) == \
            (0, 0xFFFFF, 1, 1, 0)
        assert (d["P"], d["DPL"], d["S"]) == (1, 0, 1)
    assert code["type"] & ~1 == 0xA      # code, execute/read
    assert data["type"] & ~1 == 0x2      # data, read/write
    assert "(code, execute/read)" in entries[1][3]
    assert "(data, read/write)" in entries[2][3]
    # The CPU never reads the null descriptor: give it bits of the run's
    # choosing, which the lesson must then print and decode.
    null = RNG.getrandbits(64) | 1 << RNG.randrange(64)
    result = boot(patched_image(lesson, tmp_path, "gdt",
                                null.to_bytes(8, "little")))
    assert result.passed, result.diagnosis
    entries = gdt_lines(result)
    assert entries[0][:3] == (0, 0, null), f"null descriptor {null:#018x}"
    decoded = decode_descriptor(null)
    assert printed_fields(entries[0][3]) == decoded, entries[0][3]
    assert f"({descriptor_kind(decoded)})" in entries[0][3]
    for index, sel, raw, text in entries[1:]:
        assert printed_fields(text) == decode_descriptor(raw), text


@pytest.mark.points(2)
def test_cr0_and_selectors(boot, emulator):
    """CR0.PE is set, the names printed are exactly CR0's set bits, and CS
    and every data segment register hold the GDT's code and data selectors;
    CR0 and the selectors printed are the CPU's, as the emulator reports
    them (QEMU's monitor with the lesson parked at its end, Bochs' dump when
    it powers off)."""
    if machine_of(emulator) == "qemu":
        result = boot(params={"park": 1}, until=r"\[kit\] parked",
                      monitor_commands=["info registers"])
        assert result.outcome == "stopped", result.diagnosis
        regs = result.monitor["info registers"]
        cpu = {"cr0": int(re.search(r"CR0=([0-9a-f]+)", regs)[1], 16),
               **qemu_selectors(regs)}
    else:
        result = boot()
        assert result.passed, result.diagnosis
        cpu = bochs_final_state(result)
    line = next(l for l in result.lines() if l.startswith("cr0="))
    value = int(line.split()[0][4:], 16)
    assert value & 1, "CR0.PE must be set in protected mode"
    names = {0: "PE", 1: "MP", 2: "EM", 3: "TS", 4: "ET", 5: "NE", 16: "WP",
             18: "AM", 29: "NW", 30: "CD", 31: "PG"}
    assert line.split()[1:] == [names[b] for b in range(32) if value >> b & 1]
    segs = printed_fields(next(l for l in result.lines()
                               if l.startswith("segments:")))
    assert segs["cs"] == 0x08
    assert all(segs[r] == 0x10 for r in ("ds", "es", "fs", "gs", "ss"))
    assert cpu["cr0"] == value, \
        f"printed CR0 {value:#x}, the CPU's {cpu['cr0'] and hex(cpu['cr0'])}"
    assert {r: cpu[r] for r in SEGMENTS} == {r: segs[r] for r in SEGMENTS}


@pytest.mark.points(1)
@pytest.mark.parametrize("low,high", [(32, 64), (48, 128)])
def test_e820_follows_the_memory_size(boot, low, high):
    """Booted with two memory sizes, the E820 map's usable total grows by
    exactly the difference, its printed total is the sum of its usable
    entries, and no usable range goes past the RAM the emulator has."""
    totals = {}
    for mib in (low, high):
        result = boot(memory_mib=mib)
        assert result.passed, result.diagnosis
        entries = e820_entries(result)
        assert len(entries) == int(re.search(r"e820: (\d+) entries",
                                             result.serial)[1])
        usable = [(b, n) for b, n, t, _ in entries if t == 1]
        assert usable_total(result) == sum(n for _, n in usable)
        assert all(name == E820_NAMES.get(t, "unknown")
                   for _, _, t, name in entries)
        assert max(b + n for b, n in usable) <= mib * MiB
        assert any(b == 0 for b, _ in usable), "conventional memory at 0"
        totals[mib] = usable_total(result)
    assert totals[high] - totals[low] == (high - low) * MiB


@pytest.mark.points(1)
def test_a20_is_on(boot, emulator):
    """A20 is on, checked again from protected mode by the wrap-around test
    at 0x100500, and the lesson names the method that switched it on; on
    QEMU, whose monitor shows the A20 line, the emulator agrees. (Bochs
    shows it to no test: there the line is only the lesson's word.)"""
    if machine_of(emulator) == "qemu":
        result = boot(params={"park": 1}, until=r"\[kit\] parked",
                      monitor_commands=["info registers"])
        assert result.outcome == "stopped", result.diagnosis
        assert "A20=1" in result.monitor["info registers"]
    else:
        result = boot()
    line = next(l for l in result.lines() if l.startswith("a20:"))
    assert line.endswith("wrap-around test at 0x100500: on")
    assert re.match(r"a20: (already on|BIOS int 15h|keyboard controller|"
                    r"fast A20)", line)


@pytest.mark.points(2)
@pytest.mark.emulators("qemu")      # needs QEMU's monitor
def test_cpu_state_matches_qemu(boot):
    """Parked at the end, the CPU as QEMU reports it agrees with what the
    lesson printed: GDTR base and limit, CR0, the A20 line, and the hidden
    descriptor caches of CS and DS loaded from the printed descriptors."""
    result = boot(params={"park": 1}, until=r"\[kit\] parked",
                  monitor_commands=["info registers"])
    assert result.outcome == "stopped", result.diagnosis
    regs = result.monitor["info registers"]
    gdtr = re.search(r"GDT=\s+([0-9a-f]+) ([0-9a-f]+)", regs)
    header = re.search(r"gdt: base=0x([0-9a-f]+) limit=0x([0-9a-f]+)",
                       result.serial)
    assert int(gdtr[1], 16) == int(header[1], 16)
    assert int(gdtr[2], 16) == int(header[2], 16)
    cr0 = next(l for l in result.lines() if l.startswith("cr0="))
    assert int(re.search(r"CR0=([0-9a-f]+)", regs)[1], 16) == \
        int(cr0.split()[0][4:], 16)
    assert "A20=1" in regs
    raws = {sel: raw for _, sel, raw, _ in gdt_lines(result)}
    for reg in ("CS", "DS", "SS"):
        m = re.search(reg + r" =([0-9a-f]{4}) ([0-9a-f]{8}) ([0-9a-f]{8}) "
                      r"([0-9a-f]{8})", regs)
        sel, base, flags = int(m[1], 16), int(m[2], 16), int(m[4], 16)
        d = decode_descriptor(raws[sel])
        assert base == d["base"]
        # the cache keeps the descriptor's high dword: type, S, DPL, P, flags
        assert flags & 0x00F0FE00 == (raws[sel] >> 32) & 0x00F0FE00


# --------------------------------------------------------- the disk loader
@pytest.mark.points(1)
def test_loader_reports_a_bios_read_error(boot, lesson, tmp_path):
    """Told to read far past the end of the disk, the loader prints the
    BIOS's error code and powers off with FAIL instead of jumping into
    garbage."""
    sys.path.insert(0, str(lesson.source.parents[1] / "common" / "tools"))
    from symbols import image_base, read_symbols
    loader = str(lesson.build / "loader.elf")
    offset = read_symbols(loader)["loader_sectors"][0] - image_base(loader)
    guest_number(offset, 0, 510 - 2,
                 "the boot-sector offset of the build's loader_sectors")
    image = bytearray(lesson.image.read_bytes())
    image[offset:offset + 2] = (2000).to_bytes(2, "little")
    broken = tmp_path / "short.img"
    broken.write_bytes(image)
    result = boot(broken)
    assert result.outcome == "fail", result.diagnosis
    assert re.search(r"loader: (disk read failed, BIOS error 0x[0-9A-F]{2}|"
                     r"the BIOS read fewer sectors than asked)", result.serial)
    assert "Lesson 02" not in result.serial


def console_model(text: str, cols: int = 80, rows: int = 25) -> list[str]:
    """What an 80x25 console shows after printing @text: lines wrap at the
    right edge and the screen scrolls up at the bottom."""
    screen, row, col = [[" "] * cols], 0, 0
    for ch in text:
        if ch == "\n":
            row, col = row + 1, 0
        else:
            screen[row][col] = ch
            col += 1
            if col == cols:
                row, col = row + 1, 0
        while len(screen) <= row:
            screen.append([" "] * cols)
    visible = screen[-rows:]    # the cursor's row is the last one kept
    visible += [[" "] * cols] * (rows - len(visible))
    return ["".join(line) for line in visible]


@pytest.mark.points(2)
@pytest.mark.emulators("qemu")      # reads guest memory through the monitor
def test_vga_console_mirrors_com1(boot):
    """The VGA text buffer at 0xB8000, read from guest memory by QEMU, holds
    exactly what a model console shows after COM1's transcript: every
    character mirrored, long lines wrapped, the screen scrolled, grey on
    black."""
    result = boot(params={"park": 1}, until=r"\[kit\] parked",
                  monitor_commands=["xp /2000hx 0xb8000"])
    assert result.outcome == "stopped", result.diagnosis
    cells = [int(word, 16) for line in
             result.monitor["xp /2000hx 0xb8000"].splitlines()
             for word in line.split(":")[1].split()]
    assert len(cells) == 80 * 25
    assert all(cell >> 8 == 0x07 for cell in cells)
    screen = ["".join(chr(c & 0xFF) for c in cells[r * 80:(r + 1) * 80])
              for r in range(25)]
    # the transcript up to and including the parked line, as kprintf sent it
    assert screen == console_model(result.serial)
