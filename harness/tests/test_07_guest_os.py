"""Lesson 07: the hypervisor boots another lesson's disk as its guest.

Lessons 01-04's own test modules also run under this hypervisor (their
"bochs-under-07" variants, see conftest.py and equivalence.py): that is
the equivalence half of the lesson. Here is the rest, each checked against
a reference the hypervisor does not print. Lesson 09 runs these same tests
on its SVM hypervisor (test_09_guest_os_svm.py imports them); VENDOR says
what differs in the words each one prints:
  * resource control: the memory it takes is the page an independent
    Python model picks from the native E820 map, and the map the guest
    reads is the native one without exactly that page;
  * the hidden page: a read at an address the test chose inside it is an
    EPT violation at that address, and the machine survives it;
  * harness-only probe guests (harness/broken/) that triple-fault or run an
    instruction the hypervisor must intercept, stopped with a report naming
    the instruction's address, which the test finds in the probe's bytes;
  * the guest's disk is byte for byte the image a native boot uses;
  * its COM1 bytes reach the transcript as it wrote them;
  * the exits each guest lesson causes, by reason;
  * what a guest sees of its CPU (a probe prints it; Bochs shows the real
    registers), natively and under the hypervisor.
"""
import hashlib
import json
import random
import re
import struct
import subprocess

import pytest

from kit import lessons
from kit.emulators.base import kit_constants
from kit.hosted import machine_of

LESSON = "07"
# VMX: Bochs, and QEMU only under KVM with nested VMX (its "qemu-kvm"
# variant, a skip that says why where there is none: TCG has no VMX).
pytestmark = pytest.mark.emulators("bochs", "qemu")

# What each hypervisor lesson calls things: its exit names, its report of
# a nested-paging fault and that status, the CPUID bit it hides, whether
# it keeps caching on under the guest, a CPU model without nested paging.
VENDOR = {
    "07": {"hypercall": "VMCALL", "io": "IO_INSTRUCTION", "msr": "MSR_WRITE",
           "nested": "EPT_VIOLATION", "others": {"CR_ACCESS", "XSETBV"},
           "fault": "EPT violation", "fault_status": "POWER_FAIL_EPT_VIOLATION",
           "hidden": ("printed ecx", 1 << 5),          # CPUID.1:ECX.VMX
           "guards_caching": True,
           "no_nested": ({"bochs": "core2_penryn_t9600",
                          "qemu": "host,vmx-ept=off"}, "EPT lacks",
                         "POWER_FAIL_VMX_CONTROLS")},
    "09": {"hypercall": "VMMCALL", "io": "IOIO", "msr": "MSR",
           "nested": "NPF", "others": set(),
           "fault": "nested page fault", "fault_status": "POWER_FAIL_NPF",
           "hidden": ("printed ecx8", 1 << 2),         # 8000_0001h ECX.SVM
           "guards_caching": False,
           "no_nested": ({"qemu": "phenom,fxsr-opt=off,npt=off",
                          "bochs": "turion64_tyler"},
                         "no nested paging", "POWER_FAIL_NO_SVM")},
}
MiB = 1 << 20
HV_SIZE = 2 * MiB           # the hypervisor's share: one 2 MiB page
HV_REACH = 1 << 30          # below 1 GiB, which its first page tables map
RNG = random.Random()       # seeded by the OS: different on every run
POWER = kit_constants("power.h")
BROKEN = lessons.ROOT / "harness" / "broken"

E820_LINE = re.compile(r"e820\[\d+\]: base=0x([0-9a-f]{16}) "
                       r"length=0x([0-9a-f]{16}) type=(\d+)")
TAKEN = re.compile(r"\[hv\] top of RAM \(E820\): taking physical "
                   r"0x([0-9a-f]+)-0x([0-9a-f]+)")


def e820(serial: str) -> list[tuple[int, int, int]]:
    """(base, length, type) of each E820 line lesson 02's entry printed."""
    return [(int(b, 16), int(n, 16), int(t))
            for b, n, t in E820_LINE.findall(serial)]


def hidden_page(native: list) -> int:
    """The model of relocate.c's choice: the highest 2 MiB-aligned page
    that fits inside a usable range, below 1 GiB, above the first 2 MiB."""
    best = 0
    for base, length, kind in native:
        end = min(base + length, HV_REACH)
        if kind != 1 or end < HV_SIZE:
            continue
        page = (end - HV_SIZE) & ~(HV_SIZE - 1)
        if page >= base and page >= HV_SIZE:
            best = max(best, page)
    return best


def without(native: list, low: int, high: int) -> list:
    """@native with [low, high) cut out of every range."""
    out = []
    for base, length, kind in native:
        end = base + length
        if end <= low or base >= high:
            out.append((base, length, kind))
            continue
        if base < low:
            out.append((base, low - base, kind))
        if end > high:
            out.append((high, end - high, kind))
    return out


def stop_line(result) -> str:
    return result.host["stop"] or ""


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    """name -> path of each harness-only probe guest, assembled."""
    out = tmp_path_factory.mktemp("probes")
    images = {}
    for name in ("peek", "vmcall", "triple", "cpuprobe"):
        image = out / f"{name}.img"
        subprocess.run(["nasm", "-f", "bin", "-I", f"{BROKEN}/", "-o",
                        str(image), str(BROKEN / f"{name}.asm")], check=True)
        images[name] = image
    return images


@pytest.fixture
def vendor(lesson) -> dict:
    """VENDOR's words for this module's hypervisor lesson."""
    return VENDOR[lesson.number]


@pytest.fixture
def native(boot, lesson, emulator):
    """native(image, **options): @image booted alone, on the CPU model the
    hypervisor lesson asks of this emulator."""
    def run(image, **options):
        if lesson.cpu.get(machine_of(emulator)):
            options.setdefault("cpu", lesson.cpu[machine_of(emulator)])
        return boot(image, **options)
    return run


@pytest.fixture
def hosted(native, lesson):
    """hosted(guest_image, **options): a boot of @guest_image as the
    guest of this lesson's hypervisor."""
    def run(image, **options):
        return native(image, host=lesson.image, **options)
    return run


@pytest.mark.points(2)
@pytest.mark.parametrize("size", ["32MiB", "drawn"])
def test_the_hypervisor_hides_at_the_top_of_ram(native, hosted, size):
    """With 32 MiB of RAM, and with a size drawn by the run (a multiple of
    2 MiB or not), the hypervisor takes the 2 MiB page the model
    picks from the native E820 map, and lesson 02, its guest, prints the
    native map without exactly that page: resource control."""
    mib = 32 if size == "32MiB" else RNG.randrange(33, 257)
    guest = lessons.find("02").image
    alone = native(guest, memory_mib=mib)
    assert alone.passed, alone.diagnosis
    result = hosted(guest, memory_mib=mib)
    assert result.passed, result.diagnosis
    page = hidden_page(e820(alone.serial))
    taken = TAKEN.search(result.host["serial"])
    assert taken, "the hypervisor did not say which memory it took"
    assert (int(taken[1], 16), int(taken[2], 16)) == (page,
                                                      page + HV_SIZE - 1)
    assert e820(result.serial) == without(e820(alone.serial), page,
                                          page + HV_SIZE)


@pytest.mark.points(2)
def test_reading_hidden_memory_is_a_nested_fault_there(native, hosted,
                                                       probes, vendor,
                                                       tmp_path):
    """A guest that reads an address the test chose inside the hidden page
    is stopped by an EPT violation (a nested page fault, under SVM) at
    exactly that address, reported in one line, and the machine powers off
    with that status."""
    alone = native(lessons.find("02").image)
    page = hidden_page(e820(alone.serial))
    address = page + RNG.randrange(0, HV_SIZE, 4)
    image = tmp_path / "peek.img"
    data = bytearray(probes["peek"].read_bytes())
    data[506:510] = struct.pack("<I", address)
    image.write_bytes(bytes(data))
    result = hosted(image)
    assert result.outcome == "fail", result.diagnosis
    assert stop_line(result).startswith(
        f"{vendor['fault']}: guest read at guest-physical {address:#x} "
        "(the hypervisor's hidden memory)"), stop_line(result)
    assert f"[kit] power off: FAIL (status " \
        f"{POWER[vendor['fault_status']]})" in result.host["serial"]


def offset_of(image, code: bytes) -> int:
    """Where @code is in @image, as a real-mode address at 0000:7C00."""
    data = image.read_bytes()
    assert data.count(code) >= 1, f"{code.hex()} not in {image.name}"
    return 0x7C00 + data.index(code)


@pytest.mark.points(1)
def test_a_guest_triple_fault_is_stopped_and_named(hosted, probes):
    """A guest that triple-faults is an exit, not a reset of the machine:
    the hypervisor names it with the faulting instruction's address (the
    probe's INT3, found in its bytes) and powers off with its status."""
    result = hosted(probes["triple"])
    assert result.outcome == "triple-fault", result.diagnosis
    int3 = offset_of(probes["triple"], b"\xcc")
    assert stop_line(result).startswith(
        f"guest triple fault at CS:RIP 0x0:{int3:#x}"), stop_line(result)
    assert f"(status {POWER['POWER_FAIL_TRIPLE_FAULT']})" in \
        result.host["serial"]


@pytest.mark.points(1)
def test_an_intercepted_instruction_is_stopped_and_named(hosted, probes,
                                                         vendor):
    """VMCALL (VMMCALL under SVM) in the guest, an exit by nature and not
    emulated, ends it with a report naming the instruction and its address,
    not a crash of the host."""
    result = hosted(probes["vmcall"])
    assert result.outcome == "fail", result.diagnosis
    where = offset_of(probes["vmcall"], b"\x0f\x01\xc1")
    assert stop_line(result) == \
        f"guest executed {vendor['hypercall']} at {where:#x}"
    assert f"(status {POWER['POWER_FAIL_UNEXPECTED_EXIT']})" in \
        result.host["serial"]


@pytest.mark.points(1)
def test_without_a_guest_disk_it_says_so(boot):
    """The hypervisor booted alone (no second disk) stops in one line that
    says what is missing."""
    result = boot()
    assert not result.passed
    assert "the BIOS could not read drive 0x81's boot sector" in \
        result.serial, result.serial[-2000:]


@pytest.mark.points(1)
def test_a_machine_with_more_processors_is_refused(hosted):
    """The hypervisor confines the one processor it runs on. On a machine
    with N > 1 (N drawn by the run, given to the emulator) the guest could
    start the other N - 1 outside any VM, as lesson 04's smp_start() does,
    so the hypervisor refuses before it moves or starts anything: one line
    with N and N - 1, POWER_FAIL_HOST_SMP, and lesson 04 never runs."""
    cpus = RNG.randrange(2, 5)
    result = hosted(lessons.find("04").image, cpus=cpus)
    assert result.outcome == "fail", result.diagnosis
    host = result.host["serial"]
    assert f"[hv] the MADT lists {cpus} processors; this hypervisor " \
        f"confines one, and a guest could start the other {cpus - 1} " \
        "outside any VM" in host, host[-2000:]
    assert f"(status {POWER['POWER_FAIL_HOST_SMP']})" in host, host[-2000:]
    assert "---- guest ----" not in host and not result.serial, host[-2000:]


@pytest.mark.points(1)
def test_the_guest_disk_is_the_native_image_byte_for_byte(native, hosted):
    """The guest's disk is exactly the (patched) image a native boot of
    the same lesson uses, and its COM1 bytes arrive exactly as natively:
    lesson 01's automaton, with a rule and row of this run's choosing, gives
    the same transcript byte for byte under the hypervisor."""
    lesson01 = lessons.find("01")
    params = {"rule": RNG.randrange(256),
              "row": "".join(RNG.choice("#.") for _ in range(80))}
    alone = native(lesson01.image, params=params)
    result = hosted(lesson01.image, params=params)
    assert alone.passed and result.passed, (alone.diagnosis,
                                            result.diagnosis)
    data = bytearray(lesson01.image.read_bytes())
    entries = {p["name"]: p for p in
               json.loads(lesson01.params_json.read_text())[
                   "params"]}
    data[entries["rule"]["offset"]] = params["rule"]
    row = entries["row"]
    data[row["offset"]:row["offset"] + row["size"]] = params["row"].encode()
    digest = hashlib.sha256(bytes(data)).hexdigest()
    assert alone.disk_sha256 == digest
    assert result.disk_sha256 == digest
    assert result.raw_serial == alone.raw_serial


# What each guest lesson does that must exit, from its own code: the
# bootstrap's CPUID (its vendor check) and VMCALL and one power-off write,
# always; an EFER write and more CPUID from lessons 03-04 (long mode).
@pytest.mark.points(1)
@pytest.mark.parametrize("guest", ["01", "02", "03", "04"])
def test_exits_are_counted_by_reason(hosted, vendor, guest):
    """Each guest lesson's exits, by reason: exactly one VMCALL (the
    bootstrap) and one I/O exit (the power-off port), an EFER write and
    CPUID beyond the bootstrap's one only from the lessons that enter long
    mode, nothing unexpected; the total is their sum and the time is split
    between guest and host."""
    result = hosted(lessons.find(guest).image)
    assert result.passed, result.diagnosis
    exits = result.host["exits"]
    assert exits[vendor["hypercall"]] == 1, exits
    assert exits[vendor["io"]] == 1, exits
    long_mode = guest in ("03", "04")
    assert (vendor["msr"] in exits) == long_mode, exits
    assert (exits["CPUID"] > 1) == long_mode, exits
    assert set(exits) <= {vendor[k] for k in ("hypercall", "io", "msr",
                                              "nested")} | {"CPUID"} | \
        vendor["others"], exits
    assert result.host["total_exits"] == sum(exits.values())
    assert result.host["guest_ticks"] > result.host["host_ticks"] > 0


CR0_CD_NW = 0x60000000
CPUID_VMX = 1 << 5
REGISTERS = ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp",
             "eflags", "cs:ds", "es:ss", "fs:gs")


def probe_report(result) -> dict:
    """What harness/broken/cpuprobe.asm printed: its registers at 7C00
    (by name) and its name=hex lines."""
    lines = result.lines()
    start = lines.index(next(l for l in lines if l.startswith("at 7c00:")))
    seen = {name: int(v, 16) for name, v in
            zip(REGISTERS, lines[start + 1:start + 1 + len(REGISTERS)])}
    for line in lines:
        name, _, value = line.partition("=")
        if name in ("ecx", "ecx8", "cr0", "cr4", "xcr0") and value:
            seen["printed " + name] = int(value, 16)
    return seen


def probe_run(run, probes, emulator):
    """(result, the CPU's real CR0) of the CPU probe booted by @run: on
    QEMU from its monitor once the probe has printed everything, on Bochs
    (no monitor) from its debugger when the boot's timeout stops it."""
    if machine_of(emulator).startswith("qemu"):
        result = run(probes["cpuprobe"], until=r"\ndone\n",
                     monitor_commands=["info registers"])
        assert result.outcome == "stopped", result.diagnosis
        cr0 = re.search(r"CR0=([0-9a-f]+)",
                        result.monitor.get("info registers", ""))
        assert cr0, "QEMU's monitor did not show CR0"
        return result, int(cr0[1], 16)
    # The probe prints all within about 0.5 s of emulator time; the
    # timeout that stops it leaves room for a loaded machine.
    result = run(probes["cpuprobe"], timeout=3)
    assert result.outcome == "hang", result.diagnosis
    assert "done" in result.lines(), "the probe did not finish printing"
    assert "cr0" in result.registers, "Bochs did not say where the CPU was"
    return result, result.registers["cr0"]


@pytest.mark.points(2)
def test_what_a_guest_sees_of_its_cpu(native, hosted, probes, vendor,
                                      lesson, emulator):
    """A probe guest prints the registers it started with, CPUID's leaf 1
    and 8000_0001h ECX, CR0 read back after setting CD and NW, CR4, and
    (where there is XSAVE) XCR0 after XSETBV, then waits while the test
    reads the CPU's real CR0 from the emulator. Natively and under the
    hypervisor it starts at 0000:7C00 with the same segments, DL naming
    its own disk (0x80 natively, 0x81 as the second disk), and SP and
    RFLAGS as seed 003's table has them (hv.h's HV_HANDOVER_*: what Bochs'
    BIOS leaves too; SeaBIOS, QEMU's, leaves SP 0x6F04 and IF set, which
    the kit's lessons do not depend on: they set their own stack and
    interrupts); under the hypervisor VMX (or SVM) is hidden and nothing else,
    CR0 reads back what the guest wrote while lesson 07 keeps caching on
    underneath (CD = NW = 0: seed 003's guard; lesson 09 cannot), CR4.VMXE
    reads 0, and XSETBV works as natively."""
    alone, alone_cr0 = probe_run(native, probes, emulator)
    result, real_cr0 = probe_run(hosted, probes, emulator)
    mine, theirs = probe_report(result), probe_report(alone)
    for name in ("cs:ds", "es:ss", "fs:gs"):
        assert mine[name] == theirs[name], name
    handover = (lesson.constants["HV_HANDOVER_SP"],
                lesson.constants["HV_HANDOVER_FLAGS"])
    assert (mine["esp"], mine["eflags"]) == handover
    if machine_of(emulator) == "bochs":     # its BIOS: seed 003's values
        assert (theirs["esp"], theirs["eflags"]) == handover
    assert (theirs["edx"] & 0xFF, mine["edx"] & 0xFF) == (0x80, 0x81)
    leaf, bit = vendor["hidden"]
    assert theirs[leaf] & bit, "the emulator's CPU model has it natively"
    assert not mine[leaf] & bit, "the hypervisor must hide it"
    for name in ("printed ecx", "printed ecx8"):
        assert mine[name] | bit == theirs[name] | bit, \
            f"{name}: only the hidden bit differs"
    assert mine["printed cr0"] == theirs["printed cr0"]
    assert mine["printed cr0"] & CR0_CD_NW == CR0_CD_NW
    assert alone_cr0 & CR0_CD_NW == CR0_CD_NW
    if vendor["guards_caching"]:
        assert not real_cr0 & CR0_CD_NW, \
            f"the CPU's CR0 {real_cr0:#x}: caching must stay on"
    assert mine["printed cr4"] == theirs["printed cr4"]
    assert not mine["printed cr4"] & (1 << 13), "CR4.VMXE must read 0"
    assert mine.get("printed xcr0") == theirs.get("printed xcr0")


@pytest.mark.points(1)
def test_missing_nested_paging_is_named(boot, vendor):
    """On a CPU with VMX but no EPT (Bochs' core2_penryn_t9600), or SVM
    without nested paging (QEMU's phenom with npt=off), the hypervisor
    checks the capability (IA32_VMX_EPT_VPID_CAP, CPUID Fn8000_000A) before
    using it, says what is missing, and powers off with its status."""
    model, says, status = vendor["no_nested"]
    result = boot(cpu=model)
    assert result.outcome == "fail", result.diagnosis
    line = next(l for l in result.lines() if says in l)
    if says == "EPT lacks":
        for feature in ("4-level walk", "UC", "WB", "2MB pages", "INVEPT",
                        "INVEPT single-context"):
            assert f"[{feature}]" in line, line
    assert result.status == POWER[status]
