"""A lesson booted under a hypervisor is judged as if booted natively.

Reference: COM1 transcripts built here byte by byte in the protocol
kit/hosted.py documents (the hypervisor's lines, the guest's framed by
START and END, the hypervisor's report), and what a native Bochs boot of
the same guest would say. One boot on Bochs checks the real path: a fake
"hypervisor" sector that reads its second disk through the BIOS and
prints that disk's text as the guest's. The conftest's variants are
checked in a copy of the harness with a throwaway hosting lesson.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from equivalence import DIFFERENCES
from kit import emu, hosted, lessons

TESTS = Path(__file__).resolve().parent
CRLF = b"\r\n"
GUEST = b"hello from the guest\r\n\r\n[kit] power off: PASS\r\n"


def transcript(guest=GUEST, *, start=True, end=True, stop="guest powered off",
               status="PASS", exits=b"CPUID=3 IO_INSTRUCTION=120 HLT=1",
               total=124) -> bytes:
    """COM1 of a hosted boot, as the hypervisor frames its guest."""
    out = b"[hv] lesson 07: a hypervisor\r\n[hv] guest disk: 0x81\r\n"
    if start:
        out += hosted.START + guest
    if start and end:
        out += hosted.END
        out += b"[hv] stop: " + stop.encode() + CRLF
        out += b"[hv] guest status: " + status.encode() + CRLF
        out += b"[hv] exits: " + exits + b" (total %d)" % total + CRLF
        out += b"[hv] time: 9000 TSC ticks in the guest, 700 in the " \
               b"hypervisor" + CRLF
        out += b"\r\n[kit] power off: PASS\r\n"
    return out


def machine(raw: bytes, outcome="pass", diagnosis="powered off: PASS",
            **fields) -> emu.BootResult:
    """A boot of the whole machine as emu.boot judges it before settle()."""
    text = emu.decode(raw)
    return emu.BootResult("bochs", outcome, text, diagnosis, 1.0,
                          raw_serial=raw, status=emu.power_status(text),
                          **fields)


def settled(raw: bytes, **machine_fields) -> emu.BootResult:
    result = machine(raw, **machine_fields)
    hosted.settle(result)
    return result


# ---------------------------------------------------------------- cutting
def test_the_guest_part_is_its_bytes_exactly():
    """Between START and END is the guest's output byte for byte: the
    hypervisor's lines before and after are not in it."""
    before, guest, after = hosted.cut(transcript())
    assert guest == GUEST
    assert before.endswith(b"[hv] guest disk: 0x81\r\n")
    assert after.startswith(b"[hv] stop: guest powered off\r\n")


def test_markers_the_guest_prints_do_not_cut_it_short():
    """A guest that prints START and END itself keeps its whole part: the
    first START and the last END count."""
    fake = (b"evil\r\n" + hosted.START + b"more\r\n" + hosted.END +
            b"[hv] stop: guest triple fault at nowhere\r\n" + GUEST)
    _, guest, after = hosted.cut(transcript(fake))
    assert guest == fake
    assert hosted.report(after)["stop"] == "guest powered off"
    result = settled(transcript(fake))
    assert result.passed, result.diagnosis
    assert result.serial == emu.decode(fake)


def test_without_end_the_guest_runs_to_the_end():
    """No END (a guest that hangs or floods): the guest part is the rest of
    COM1, and the hypervisor said nothing after it."""
    _, guest, after = hosted.cut(transcript(b"still going...", end=False))
    assert (guest, after) == (b"still going...", None)
    assert hosted.report(after) == {
        "stop": None, "guest_status": None, "exits": {}, "total_exits": None,
        "guest_ticks": None, "host_ticks": None}


def test_the_same_cut_works_on_decoded_text():
    """The whole decoded transcript (result.host["serial"]) cuts the same
    way as the bytes."""
    raw = transcript()
    assert hosted.cut(emu.decode(raw)) == tuple(
        emu.decode(part) for part in hosted.cut(raw))


def test_the_report_is_parsed():
    """stop, the guest's status, the exits by name and their total, and the
    two tick counts are read from the lines after END."""
    result = settled(transcript())
    assert result.host == {
        "serial": emu.decode(transcript()), "stop": "guest powered off",
        "guest_status": "PASS",
        "exits": {"CPUID": 3, "IO_INSTRUCTION": 120, "HLT": 1},
        "total_exits": 124, "guest_ticks": 9000, "host_ticks": 700}


# ---------------------------------------------------------------- verdicts
def test_a_guest_that_powers_off_is_judged_by_its_own_line():
    """Its last power line decides, as natively: PASS is a pass, FAIL a fail
    with its status; the hypervisor's own power line does not count."""
    result = settled(transcript())
    assert (result.outcome, result.status) == ("pass", 0)
    assert result.diagnosis == "powered off: PASS"
    assert result.raw_serial == GUEST and result.has_power_line
    failing = settled(transcript(b"bad\r\n[kit] power off: FAIL (status 3)"
                                 b"\r\n", status="FAIL"))
    assert (failing.outcome, failing.status) == ("fail", 3)
    assert failing.diagnosis == "powered off: FAIL (status 3)"
    silent = settled(transcript(b"no status line\r\n", status="none"))
    assert silent.outcome == "fail" and silent.status is None
    assert "without the kit's status line" in silent.diagnosis


def test_a_guest_triple_fault_is_a_triple_fault():
    """The hypervisor caught the guest's triple fault: the outcome a native
    Bochs boot gives, with the hypervisor's stop line as diagnosis."""
    stop = "guest triple fault at RIP=0x7c2e (real mode)"
    result = settled(transcript(b"about to fault\r\n", stop=stop,
                                status="none"))
    assert (result.outcome, result.diagnosis) == ("triple-fault", stop)
    assert result.serial == "about to fault\n"


def test_any_other_stop_is_a_failure_that_names_it():
    """An EPT violation or an unexpected exit stops the guest: a failure
    whose diagnosis is the hypervisor's reason."""
    stop = "EPT violation at guest-physical 0x1f00000 (the hypervisor's)"
    result = settled(transcript(b"poking\r\n", stop=stop, status="none"))
    assert result.outcome == "fail"
    assert result.diagnosis == f"hypervisor stopped the guest: {stop}"


def test_a_guest_that_never_started_fails_with_the_last_hv_line():
    """No START: nothing of COM1 is the guest's, and the diagnosis quotes
    what the hypervisor said last."""
    raw = transcript(start=False) + b"[hv] VMXON failed: CF=1\r\n" \
        b"\r\n[kit] power off: FAIL (status 1)\r\n"
    result = settled(raw, outcome="fail",
                     diagnosis="powered off: FAIL (status 1)")
    assert (result.outcome, result.serial, result.status) == ("fail", "",
                                                              None)
    assert "never started the guest" in result.diagnosis
    assert "'[hv] VMXON failed: CF=1'" in result.diagnosis
    assert "\n" not in result.diagnosis
    assert "[hv] VMXON failed: CF=1" in result.report()
    early = settled(b"no long mode\r\n\r\n[kit] power off: FAIL (status 1)"
                    b"\r\n", outcome="fail", diagnosis="powered off: FAIL")
    assert "(its last line: 'no long mode')" in early.diagnosis
    assert "(it printed nothing)" in settled(b"", outcome="hang",
                                             diagnosis="hung").diagnosis


def test_a_hang_flood_or_stop_stays_what_the_boot_decided():
    """What emu.boot decided while watching (a hang, a flood, a stop at
    `until`) stands; the guest's part is still cut out."""
    for outcome in ("hang", "flood", "stopped"):
        result = settled(transcript(b"loop\r\nloop\r\n", end=False),
                         outcome=outcome, diagnosis=f"{outcome}: as seen")
        assert (result.outcome, result.diagnosis) == (outcome,
                                                      f"{outcome}: as seen")
        assert result.serial == "loop\nloop\n"


def test_a_machine_that_ends_without_the_report_is_a_failure():
    """The machine powered off or crashed without END: the guest cannot
    have passed, whatever was printed."""
    result = settled(transcript(GUEST, end=False), outcome="triple-fault",
                     diagnosis="triple fault: the CPU gave up")
    assert result.outcome == "fail"
    assert result.diagnosis.endswith("the machine: triple fault: the CPU "
                                     "gave up")


def test_until_sees_only_the_guest():
    """`until` is matched against the guest's part: nothing before START,
    not the hypervisor's lines."""
    assert hosted.guest_text(transcript(start=False)) is None
    assert hosted.guest_text(transcript()) == emu.decode(GUEST)


def test_a_failing_hosted_boot_shows_the_hypervisor_lines():
    """report() of a failing hosted boot has the guest's transcript and,
    apart, what the hypervisor printed; a native one has no such part."""
    result = settled(transcript(b"oops\r\n", stop="unexpected exit: RDMSR",
                                status="none"))
    text = result.report()
    assert "--- the hypervisor's own lines ---" in text
    assert "[hv] stop: unexpected exit: RDMSR" in text
    assert "[hv] guest disk: 0x81" in text
    native = machine(GUEST, outcome="fail", diagnosis="x")
    assert native.host is None and "hypervisor" not in native.report()


def test_variant_names_round_trip():
    assert hosted.variant("bochs", "07") == "bochs-under-07"
    assert hosted.variant("qemu", "09") == "qemu-under-09"
    assert hosted.machine_of("qemu-under-09") == "qemu"
    assert hosted.machine_of("bochs") == "bochs"
    assert hosted.host_of("bochs-under-07") == "07"
    assert hosted.host_of("bochs") is None
    assert hosted.host_of("qemu-kvm") is None


def test_a_missing_host_image_says_run_make(tmp_path):
    if emu.have("bochs"):
        pytest.skip(emu.have("bochs"))
    guest = lessons.find("01").image
    with pytest.raises(FileNotFoundError, match="run make first"):
        emu.boot(guest, "bochs", host=tmp_path / "nothing.img")
    unbootable = tmp_path / "zeros.img"
    unbootable.write_bytes(bytes(1024))
    result = emu.boot(guest, "bochs", host=unbootable)
    assert result.outcome == "emulator-error"
    assert f"{unbootable} is not bootable" in result.diagnosis


# ---------------------------------------------------------------- lessons
def test_guests_and_their_hosting_lesson(tmp_path, monkeypatch):
    """GUESTS in a lesson's Makefile makes it the host of those lessons;
    a lesson no Makefile names has none."""
    for name, extra in (("01-one", ""), ("02-two", ""),
                        ("07-hyper", "GUESTS := 01 2 # both\n"),
                        ("08-late", "GUESTS := 01\n")):
        (tmp_path / "lessons" / name).mkdir(parents=True)
        (tmp_path / "lessons" / name / "Makefile").write_text(
            f"KIND := bootsector\n{extra}")
    monkeypatch.setattr(lessons, "ROOT", tmp_path)
    assert lessons.find("07").guests == ["01", "02"]
    assert lessons.find("01").guests == []
    assert lessons.hosting("01").number == "07"     # the first one
    assert lessons.hosting("2").number == "07"
    assert lessons.hosting("08") is None


def test_every_declared_difference_names_a_real_test():
    """Each key of tests/equivalence.py names a lesson test module and one
    of its tests, each with a one-sentence reason."""
    for pattern, reason in DIFFERENCES.items():
        module, _, name = pattern.partition("::")
        assert module.startswith("test_0") and (TESTS / module).is_file(), \
            pattern
        plain = name.split("[")[0].split("*")[0]
        assert plain and f"def {plain}" in (TESTS / module).read_text(), \
            pattern
        assert reason.strip(), pattern


# ---------------------------------------------------------------- conftest
PROBE = '''\
import pytest

LESSON = "01"


@pytest.mark.points(1)
def test_declared_and_failing(emulator):
    assert emulator != "bochs-under-07"


@pytest.mark.points(1)
def test_declared_but_passing(emulator):
    pass


@pytest.mark.points(1)
def test_plain(emulator):
    pass


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")
def test_qemu_only(emulator):
    pass


@pytest.mark.points(1)
def test_boots(boot):
    pass
'''
DECLARED = {"test_01_probe.py::test_declared_and*": "it cannot pass",
            "test_01_probe.py::test_declared_but_passing": "a stale one"}


@pytest.fixture(scope="module")
def probe_kit(tmp_path_factory):
    """The harness, the lessons' Makefiles and common/ in a copy, with a
    throwaway hypervisor lesson 07 (GUESTS := 01), a probe test module of
    lesson 01 that boots nothing and an equivalence list for it."""
    root = tmp_path_factory.mktemp("kit")
    shutil.copytree(lessons.ROOT / "common", root / "common")
    shutil.copytree(TESTS.parent / "kit", root / "harness" / "kit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pytest.ini"):
        shutil.copy(TESTS.parent / name, root / "harness" / name)
    for lesson in lessons.all_lessons():
        if not lesson.guests:
            (root / "lessons" / lesson.name).mkdir(parents=True)
            shutil.copy(lesson.source / "Makefile",
                        root / "lessons" / lesson.name / "Makefile")
    (root / "lessons" / "07-hyper").mkdir()
    (root / "lessons" / "07-hyper" / "Makefile").write_text(
        "KIND := kernel64\nEMULATORS := bochs\nGUESTS := 01 02\n")
    tests = root / "harness" / "tests"
    tests.mkdir()
    (tests / "test_01_probe.py").write_text(PROBE)
    (tests / "equivalence.py").write_text(f"DIFFERENCES = {DECLARED!r}\n")
    return root


def pytest_run(root: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(root / "harness"))
    env.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", "harness/pytest.ini",
         "--rootdir=harness", "-p", "no:xdist", "-p", "no:cacheprovider",
         f"--build-dir={root / 'build'}", *args, "harness/tests"],
        capture_output=True, text=True, cwd=root, env=env, timeout=120)


def outcomes(proc) -> dict:
    """{test id: PASSED, FAILED, XFAIL, ...} from pytest -rA's summary."""
    found = {}
    for line in proc.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if "::" in rest and word.isupper():
            found[rest.split("::", 1)[1].split(" ")[0]] = word
    return found


def test_a_guest_lesson_gets_a_hosted_variant(probe_kit):
    """Each Bochs test of a lesson in some GUESTS gets "bochs-under-07"
    (QEMU-only tests do not); a declared difference is a strict xfail of
    that variant only; without the hypervisor's image a hosted boot fails
    saying to run make."""
    proc = pytest_run(probe_kit, "--emulator=bochs", "-rA")
    found = outcomes(proc)
    assert found == {
        "test_declared_and_failing[bochs]": "PASSED",
        "test_declared_and_failing[bochs-under-07]": "XFAIL",
        "test_declared_but_passing[bochs]": "PASSED",
        "test_declared_but_passing[bochs-under-07]": "FAILED",
        "test_plain[bochs]": "PASSED",
        "test_plain[bochs-under-07]": "PASSED",
        "test_boots[bochs]": "PASSED",
        "test_boots[bochs-under-07]": "ERROR",
    }, proc.stdout + proc.stderr
    assert "[XPASS(strict)] tests/equivalence.py: a stale one" in proc.stdout
    assert "07-hyper/disk.img is missing: run `make` first" in proc.stdout
    selected = pytest_run(probe_kit, "-m", "hosted", "--collect-only", "-q")
    assert collected(selected) == [
        f"{name}[bochs-under-07]" for name in (
            "test_declared_and_failing", "test_declared_but_passing",
            "test_plain", "test_boots")], selected.stdout


def collected(proc) -> list[str]:
    """The test ids pytest --collect-only -q listed."""
    return [line.split("::", 1)[1] for line in proc.stdout.splitlines()
            if "::" in line]


def test_no_hosted_variant_when_asked_or_grading(probe_kit):
    """--no-hosted, --emulator=qemu and grading (kit.gradeplugin) make no
    hosted variant."""
    for args in (["--no-hosted"], ["--emulator=qemu"],
                 ["-p", "kit.gradeplugin", "--grade-check"]):
        proc = pytest_run(probe_kit, "--collect-only", "-q", *args)
        assert proc.returncode == 0, (args, proc.stdout + proc.stderr)
        ids = collected(proc)
        assert ids and not [i for i in ids if "bochs-under" in i], (args, ids)
    assert "all 9 lesson test item(s) carry points" in proc.stdout


def test_no_hosted_variant_without_a_hypervisor(probe_kit, tmp_path):
    """With no lesson listing GUESTS, nothing new is generated."""
    kit = tmp_path / "kit"
    shutil.copytree(probe_kit, kit)
    shutil.rmtree(kit / "lessons" / "07-hyper")
    proc = pytest_run(kit, "--collect-only", "-q")
    assert "test_plain[bochs]" in collected(proc), proc.stdout + proc.stderr
    assert not [i for i in collected(proc) if "bochs-under" in i]


# ---------------------------------------------------------------- on Bochs
FAKE_GUEST = """\
; A guest of the fake hypervisor: natively it prints its text and powers
; off; the fake hypervisor prints the same text from this sector.
        bits    16
        org     0x7C00
        jmp     short start
        nop
text:   db      "guest: hello "         ; at offset 3
letter: db      "X", 13, 10, 0          ; at offset 16: a parameter
start:  jmp     0x0000:main
%include "rm_io.inc"
%include "rm_power.inc"
main:   xor     ax, ax
        mov     ds, ax
        mov     ss, ax
        mov     sp, 0x7C00
        call    serial_init16
        mov     si, text
        call    serial_puts16
        xor     al, al
        jmp     power_off16
        times   510 - ($ - $$) db 0
        dw      0xAA55
"""
FAKE_HYPERVISOR = r"""
; A fake hypervisor: it reads sector 0 of the second disk (BIOS drive
; 0x81) and prints that sector's text between the protocol's markers, as
; the guest's output, then the report (without its time line: 510 bytes)
; and its own power-off.
        bits    16
        org     0x7C00
        jmp     0x0000:start
%include "rm_io.inc"
%include "rm_power.inc"
start:  xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        call    serial_init16
        mov     si, hello
        call    serial_puts16
        mov     ax, 0x0201              ; read one sector
        mov     cx, 0x0001              ; cylinder 0, sector 1
        mov     dx, 0x0081              ; head 0, the second hard disk
        mov     bx, 0x7E00
        int     0x13
        mov     al, 1                   ; FAIL without it
        jc      power_off16
        mov     si, begin
        call    serial_puts16
        mov     si, 0x7E00 + 3          ; the guest's text
        call    serial_puts16
        mov     si, guest_power
        call    serial_puts16
        mov     si, report
        call    serial_puts16
        xor     al, al
        jmp     power_off16
hello:  db      "[hv] fake hypervisor", 13, 10, 0
begin:  db      "[hv] ---- guest ----", 13, 10, 0
guest_power:
        db      13, 10, "[kit] power off: PASS", 13, 10, 0
report: db      13, 10, "[hv] ---- guest stopped ----", 13, 10
        db      "[hv] stop: guest powered off", 13, 10
        db      "[hv] guest status: PASS", 13, 10
        db      "[hv] exits: IO_INSTRUCTION=2 (total 2)", 13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
"""


@pytest.mark.bochs
def test_a_hosted_boot_on_bochs_is_the_native_one(tmp_path):
    """Booted with host=, Bochs starts the hypervisor's disk with the guest's
    patched private copy as its second disk: the guest's part equals a
    native boot's COM1, from the same bytes (disk_sha256), and `until`
    waits for the guest's text, not the hypervisor's."""
    why = emu.have("bochs")
    if why:
        pytest.skip(why)
    images = {}
    for name, source in (("guest", FAKE_GUEST), ("hv", FAKE_HYPERVISOR)):
        (tmp_path / f"{name}.asm").write_text(source)
        subprocess.run(["nasm", "-f", "bin", "-I",
                        f"{lessons.ROOT / 'common' / 'boot'}/", "-I",
                        f"{lessons.find('01').build}/", "-o",
                        str(tmp_path / f"{name}.img"),
                        str(tmp_path / f"{name}.asm")], check=True)
        images[name] = tmp_path / f"{name}.img"
    (tmp_path / "params.json").write_text(json.dumps({"params": [
        {"name": "letter", "offset": 16, "size": 1, "type": "uint"}]}))
    params = {"letter": ord("Y")}
    native = emu.boot(images["guest"], "bochs", params=params)
    under = emu.boot(images["guest"], "bochs", params=params,
                     host=images["hv"])
    assert native.passed and under.passed, (native.report(), under.report())
    assert under.serial == native.serial == \
        "guest: hello Y\n\n[kit] power off: PASS\n"
    assert under.disk_sha256 == native.disk_sha256 != ""
    assert native.host is None
    assert under.host["exits"] == {"IO_INSTRUCTION": 2}
    assert under.host["serial"].startswith("[hv] fake hypervisor\n")
    stopped = emu.boot(images["guest"], "bochs", host=images["hv"],
                       until=r"hello X")
    assert stopped.outcome == "stopped", stopped.diagnosis
    assert stopped.serial.startswith("guest: hello X")
    ignored = emu.boot(images["guest"], "bochs", host=images["hv"],
                       until=r"fake hypervisor")
    assert ignored.passed, ignored.diagnosis
