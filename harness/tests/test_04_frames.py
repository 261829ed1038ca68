"""Lesson 04's physical frame allocator (frames.c, frames_stress.c).

References: the E820 map the firmware gives for the RAM size the harness
chose (drawn afresh on every run), as lesson 03 prints it on the same
emulator and memory size (under a hypervisor, the map that hypervisor
gives its guest); the kernel's extent from the ELF's section headers
(objdump); the stress parameters the harness patches in (seed, step count,
largest order); and a Python model of the buddy policy frames.h states,
written here from that statement: sets of free blocks, not bitmaps.
"""
import random
import re
import subprocess

import pytest

from conftest import guest_number
from kit import lessons

LESSON = "04"
PAGE = 4096
MiB = 1 << 20
FRAMES_LIMIT = 1 << 30      # frames.h: the first GiB, which lesson 03 maps
MAX_ORDER = 10              # frames.h: FRAMES_MAX_ORDER
STRESS_SLOTS = 64           # frames_stress.c: blocks held at once
STRESS_MAX_STEPS = 100000
ADDR = 0x000FFFFFFFFFF000  # a page-table entry's address bits (SDM 4.5)
RNG = random.Random()       # seeded by the OS: different on every run
# One small and one larger machine per worker, shared by the tests below.
SMALL_MIB, LARGE_MIB = RNG.randrange(33, 64), RNG.randrange(96, 257)

E820_LINE = re.compile(r"e820\[\d+\]: base=0x([0-9a-f]{16}) "
                       r"length=0x([0-9a-f]{16}) type=(\d+) ")
REPORT = re.compile(r"frames: (\d+) regions:((?: 0x[0-9a-f]+-0x[0-9a-f]+)*);"
                    r" bitmaps: (\d+) page\(s\) at 0x([0-9a-f]+); (\d+) "
                    r"free pages$")
STRESS = re.compile(r"frames: stress: seed (\d+), (\d+) steps, orders "
                    r"0-(\d+): (\d+) allocated \((\d+) failed\), (\d+) "
                    r"freed, digest 0x([0-9a-f]{16}), lowest 0x([0-9a-f]+), "
                    r"highest end 0x([0-9a-f]+), (\d+) free pages$")
FREED = re.compile(r"frames: stress: all freed: (\d+) free pages, blocks "
                   r"by order:((?: \d+){11})$")


def ceil_div(n: int, d: int) -> int:
    return -(-n // d)


# ---------------------------------------------------------------- references
def e820_usable(boot, mib: int) -> list[tuple[int, int]]:
    """The usable ranges (base, end) of the E820 map this machine's
    firmware gives: lesson 03 prints it, booted the same way."""
    result = boot(lessons.find("03").image, memory_mib=mib)
    assert result.passed, result.diagnosis
    entries = [(int(m[1], 16), int(m[2], 16), int(m[3]))
               for m in map(E820_LINE.match, result.lines()) if m]
    assert entries, "lesson 03 printed no E820 map"
    usable = [(base, base + length) for base, length, kind in entries
              if kind == 1]
    assert max(end for _, end in usable) <= mib * MiB
    return usable


def kernel_end(lesson) -> int:
    """The physical end of the image, .bss and .boot.bss included: the
    highest load address (LMA) + size of any section the program occupies
    in memory (ALLOC), rounded up to a page."""
    out = subprocess.run(["objdump", "-h", str(lesson.build / "kernel.elf")],
                         check=True, capture_output=True, text=True).stdout
    lines, end = out.splitlines(), 0
    for header, flags in zip(lines, lines[1:]):
        fields = header.split()
        if len(fields) == 7 and fields[0].isdigit() and "ALLOC" in flags:
            end = max(end, int(fields[4], 16) + int(fields[2], 16))
    assert end, "objdump listed no section of kernel.elf"
    return ceil_div(end, PAGE) * PAGE


def expected_regions(usable, kernel: int) -> list[tuple[int, int]]:
    """Usable RAM, whole pages only, above the kernel, below 1 GiB."""
    regions = []
    for base, end in usable:
        base = max(ceil_div(base, PAGE) * PAGE, kernel)
        end = min(end // PAGE * PAGE, FRAMES_LIMIT)
        if base < end:
            regions.append((base, end))
    return regions


# ---------------------------------------------------------------- the model
class BuddyModel:
    """frames.h's policy over frame numbers: one set of free block starts
    per order. Built by freeing one frame at a time (the guest frees the
    largest aligned blocks): the same free blocks, if joining is right."""

    def __init__(self, regions):
        self.regions = regions
        top = max(end for _, end in regions) // PAGE
        # frames.c's bitmaps: a bit per block of each order that starts
        # below the top, in 64-bit words; the model keeps sets instead.
        words = sum(ceil_div(ceil_div(top, 1 << k), 64)
                    for k in range(MAX_ORDER + 1))
        self.map_pages = ceil_div(words * 8, PAGE)
        self.map_base = next(base for base, end in regions
                             if end - base >= self.map_pages * PAGE)
        self.free = [set() for _ in range(MAX_ORDER + 1)]
        for base, end in regions:
            if base == self.map_base:
                base += self.map_pages * PAGE
            for frame in range(base // PAGE, end // PAGE):
                self.release(frame, 0)

    def release(self, frame: int, order: int) -> None:
        for k in range(order, MAX_ORDER + 1):
            assert frame >> k << k not in self.free[k], "freed twice"
        while order < MAX_ORDER and frame ^ (1 << order) in self.free[order]:
            self.free[order].remove(frame ^ (1 << order))
            frame &= ~(1 << order)
            order += 1
        self.free[order].add(frame)

    def take(self, order: int):
        """The frame number of the block handed out, or None."""
        for k in range(order, MAX_ORDER + 1):
            if self.free[k]:
                frame = min(self.free[k])
                self.free[k].remove(frame)
                while k > order:
                    k -= 1
                    self.free[k].add(frame + (1 << k))
                return frame
        return None

    def free_pages(self) -> int:
        return sum(len(s) << k for k, s in enumerate(self.free))

    def ours(self, base: int, size: int) -> bool:
        """Inside one region, and not the bitmaps."""
        in_map = self.map_base < base + size and \
            base < self.map_base + self.map_pages * PAGE
        return not in_map and any(b <= base and base + size <= e
                                  for b, e in self.regions)


def xorshift32(state: int) -> int:
    state ^= state << 13 & 0xFFFFFFFF
    state ^= state >> 17
    state ^= state << 5 & 0xFFFFFFFF
    return state


def run_stress(model: BuddyModel, seed: int, steps: int, max_order: int):
    """frames_stress.c's steps, on the model: what it must print."""
    state, held, handed = seed, [], []
    allocs = failed = frees = 0
    digest = 0xcbf29ce484222325

    def draw():
        nonlocal state
        state = xorshift32(state)
        return state

    for _ in range(steps):
        if not held or (len(held) < STRESS_SLOTS and draw() % 3 != 0):
            order = draw() % (max_order + 1)
            frame = model.take(order)
            base = 0 if frame is None else frame * PAGE
            digest = (digest ^ (base | order)) * 0x100000001b3 % (1 << 64)
            if frame is None:
                failed += 1
                continue
            allocs += 1
            held.append((base, order))
            handed.append((base, PAGE << order))
        else:
            i = draw() % len(held)
            base, order = held[i]
            model.release(base // PAGE, order)
            held[i] = held[-1]
            held.pop()
            frees += 1
    summary = {"seed": seed, "steps": steps, "max_order": max_order,
               "allocs": allocs, "failed": failed, "frees": frees,
               "digest": digest,
               "lowest": min((b for b, _ in handed), default=0),
               "highest": max((b + n for b, n in handed), default=0),
               "free": model.free_pages()}
    for base, order in held:
        model.release(base // PAGE, order)
    return summary, handed


# ---------------------------------------------------------------- the guest
def report(result) -> dict:
    line = next((l for l in result.lines() if l.startswith("frames: ")), "")
    m = REPORT.match(line)
    assert m, f"no frames report in the transcript (first: {line!r})"
    pairs = re.findall(r"0x([0-9a-f]+)-0x([0-9a-f]+)", m[2])
    return {"regions": [(int(a, 16), int(b, 16)) for a, b in pairs],
            "count": int(m[1]), "map_pages": int(m[3]),
            "map_base": int(m[4], 16), "free": int(m[5])}


def stress_lines(result):
    stress = next((STRESS.match(l) for l in result.lines()
                   if STRESS.match(l)), None)
    freed = next((FREED.match(l) for l in result.lines()
                  if FREED.match(l)), None)
    assert stress and freed, "the stress run printed no summary"
    numbers = [int(v, 16) if i in (6, 7, 8) else int(v)
               for i, v in enumerate(stress.groups())]
    keys = ("seed", "steps", "max_order", "allocs", "failed", "frees",
            "digest", "lowest", "highest", "free")
    return dict(zip(keys, numbers)), int(freed[1]), \
        [int(n) for n in freed[2].split()]


# ---------------------------------------------------------------- the tests
@pytest.mark.points(2)
def test_frames_report_matches_e820(lesson, boot):
    """At two memory sizes the allocator manages exactly the usable E820
    ranges above the kernel's extent (whole pages, below 1 GiB), keeps its
    bitmaps inside one of them, and counts as free every other page of
    them: the free count grows with the RAM given, less what the larger
    bitmaps take."""
    kernel = kernel_end(lesson)
    free = {}
    for mib in (SMALL_MIB, LARGE_MIB):
        regions = expected_regions(e820_usable(boot, mib), kernel)
        result = boot(memory_mib=mib)
        assert result.passed, result.diagnosis
        got = report(result)
        assert got["regions"] == regions, f"{mib} MiB"
        assert got["count"] == len(regions)
        model = BuddyModel(regions)
        assert (got["map_base"], got["map_pages"]) == \
            (model.map_base, model.map_pages)
        assert got["free"] == model.free_pages() == \
            sum(e - b for b, e in regions) // PAGE - got["map_pages"]
        free[mib] = got["free"] + got["map_pages"]
    assert free[LARGE_MIB] - free[SMALL_MIB] == \
        (LARGE_MIB - SMALL_MIB) * MiB // PAGE, \
        "the larger machine's extra RAM is not all the allocator's"


@pytest.mark.points(2)
def test_frames_stress_matches_the_model(lesson, boot):
    """A stress run the harness chose (seed, steps, largest order: often
    more than the RAM can give, so some allocations fail) prints what the
    Python model of the buddy policy computes: the digest of every block
    handed out, in order, the counts, the lowest and highest address, the
    free pages at the end; once all is freed the buddies have joined back
    into the very blocks the model has. No block the model (so the guest)
    handed out lies outside usable RAM, in the kernel or the bitmaps."""
    kernel = kernel_end(lesson)
    regions = expected_regions(e820_usable(boot, SMALL_MIB), kernel)
    seed, steps = RNG.randrange(1, 1 << 32), RNG.randrange(500, 3001)
    max_order = RNG.randrange(3, MAX_ORDER + 1)
    result = boot(memory_mib=SMALL_MIB, params={
        "frames_steps": steps, "frames_seed": seed,
        "frames_max_order": max_order})
    assert result.passed, result.diagnosis
    model = BuddyModel(regions)
    initial = model.free_pages()
    want, handed = run_stress(model, seed, steps, max_order)
    got, final_free, blocks = stress_lines(result)
    assert got == want, f"seed {seed}, {steps} steps, orders 0-{max_order}"
    assert final_free == initial == model.free_pages()
    assert blocks == [len(s) for s in model.free]
    assert handed, "the run handed out nothing"
    for base, size in handed:
        assert base >= kernel and model.ours(base, size), hex(base)


@pytest.mark.points(1)
def test_demand_paged_frame_is_the_allocators_first(lesson, boot):
    """The frame lesson 04's page-fault handler maps on demand is the
    first block the buddy policy hands out (the lowest free single page),
    so it is usable RAM outside the kernel, and it came from the
    allocator, not from a pool in .bss."""
    kernel = kernel_end(lesson)
    regions = expected_regions(e820_usable(boot, SMALL_MIB), kernel)
    result = boot(memory_mib=SMALL_MIB)
    assert result.passed, result.diagnosis
    m = re.search(r"pf: mapped page 0x[0-9a-f]+ -> physical 0x([0-9a-f]+),",
                  result.serial)
    assert m, "no demand-paged frame in the transcript"
    model = BuddyModel(regions)
    frame = int(m[1], 16)
    assert frame == model.take(0) * PAGE
    assert frame >= kernel and model.ours(frame, PAGE)


def walk_inspect(address: int, mib: int):
    """A monitor_commands function: QEMU's translation of @address, the
    byte there, and the four page-table entries on its way from CR3, read
    from guest memory."""
    def inspect(serial, command):
        out = {"gpa": command(f"gva2gpa {address:#x}"), "entries": []}
        cr3 = int(re.search(r"CR3=([0-9a-f]+)",
                            command("info registers"))[1], 16)
        table = cr3 & ADDR
        for level in range(4):
            index = address >> (39 - 9 * level) & 511
            at = guest_number(table + index * 8, 0, mib * MiB - 8,
                              "a page-table entry's address")
            entry = int(command(f"xp /1gx {at:#x}").split(":")[1], 16)
            out["entries"].append(entry)
            table = entry & ADDR
        at = guest_number(table + (address & (PAGE - 1)), 0, mib * MiB - 1,
                          "the demand-paged byte's physical address")
        out["byte"] = int(command(f"xp /1bx {at:#x}").split(":")[1], 16)
        return out
    return inspect


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")      # needs QEMU's monitor
def test_demand_paging_walks_through_allocated_frames(lesson, boot):
    """Parked at the end, with a fault address the harness chose, QEMU's
    own walk agrees: the page the #PF handler mapped is the model's first
    frame and holds the byte the lesson wrote, and the three page tables
    vmm_map() created for it (PDPT, PD, PT) are the model's next three:
    vmm.c's tables come from the allocator, in the policy's order."""
    kernel = kernel_end(lesson)
    regions = expected_regions(e820_usable(boot, SMALL_MIB), kernel)
    # From 512 GiB on, PML4[0] (lesson 03's first GiB) is not on the way:
    # the walk needs a new PDPT, PD and PT.
    address = RNG.randrange(1 << 39, 1 << 47)
    magic = RNG.randrange(1, 1 << 64)
    result = boot(memory_mib=SMALL_MIB, params={
        "park": 1, "fault_address": address, "magic": magic},
        until=r"\[kit\] parked",
        monitor_commands=walk_inspect(address, SMALL_MIB))
    assert result.outcome == "stopped", result.diagnosis
    model = BuddyModel(regions)
    frame, pdpt, pd, pt = (model.take(0) * PAGE for _ in range(4))
    mon = result.monitor
    assert [e & ADDR for e in mon["entries"]] == [pdpt, pd, pt, frame]
    assert int(mon["gpa"].split(":")[1], 16) == frame + (address & (PAGE - 1))
    assert mon["byte"] == magic & 0xFF
    assert f"pf: mapped page {address & ~(PAGE - 1):#x} -> physical " \
        f"{frame:#x}," in result.serial


@pytest.mark.points(1)
def test_bad_stress_parameters_are_refused(lesson, boot):
    """A largest order beyond FRAMES_MAX_ORDER, seed 0 (which xorshift
    never leaves) or more than 100000 steps are each refused in one line,
    with a FAIL power-off, before any step runs or the lesson goes on."""
    cases = ({"frames_max_order": RNG.randrange(MAX_ORDER + 1, 256)},
             {"frames_seed": 0},
             {"frames_steps": RNG.randrange(STRESS_MAX_STEPS + 1, 1 << 32)})
    for bad in cases:
        params = {"frames_steps": 10, **bad}
        result = boot(params=params)
        assert result.outcome == "fail" and \
            result.status == lesson.constants["POWER_FAIL"], \
            f"{bad}: {result.diagnosis}"
        lines = [l for l in result.lines() if l.startswith("frames: stress")]
        assert len(lines) == 1 and lines[0].endswith(": out of range"), lines
        assert f"frames_steps {params['frames_steps']} " in lines[0]
        assert "Lesson 04" in result.serial and "bp:" not in result.serial
