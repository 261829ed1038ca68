"""The harness's own checks: broken guests and bad builds are diagnosed.

Each broken sector (harness/broken/*.asm) is built here, booted, and must be
reported in one line as what it is, with the emulator gone afterwards.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit import emu, lessons

BROKEN = Path(__file__).resolve().parents[1] / "broken"
TOOLS = lessons.ROOT / "common" / "tools"


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """name -> path of each broken sector, assembled with NASM."""
    out = tmp_path_factory.mktemp("broken")
    images = {}
    for src in sorted(BROKEN.glob("*.asm")):
        image = out / (src.stem + ".img")
        # common/boot/ and a build folder (kit.inc): for sectors that use
        # the kit's real-mode helpers (magic.asm: BOCHS_BREAK).
        subprocess.run(["nasm", "-f", "bin", "-I", f"{BROKEN}/",
                        "-I", f"{lessons.ROOT / 'common' / 'boot'}/",
                        "-I", f"{lessons.find('01').build}/", "-o",
                        str(image), str(src)], check=True)
        images[src.stem] = image
    return images


def emulator_processes(workdir: str) -> list[str]:
    """PIDs of processes whose command line mentions @workdir."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if workdir.encode() in cmdline:
            pids.append(entry.name)
    return pids


def test_hang_is_reported_with_where_the_cpu_was(boot, broken, emulator):
    """A guest that never powers off is stopped at the timeout and called a
    hang in one line with where the CPU was (QEMU's monitor; Bochs stopped
    in its debugger), and the emulator is gone afterwards."""
    result = boot(broken["hang"], timeout=1.5, keep=True)
    try:
        assert result.outcome == "hang"
        assert "about to hang" in result.serial
        assert result.diagnosis.startswith("guest hung: no power-off within")
        assert "\n" not in result.diagnosis
        # The spin loop is the sector's only `jmp $` (EB FE): that is where
        # the CPU must have been, in real mode.
        spin = 0x7C00 + broken["hang"].read_bytes().index(b"\xeb\xfe")
        assert f"0000:{spin:04x} (real mode, linear {spin:#x})" \
            in result.diagnosis
        assert result.registers["mode"] == "real mode"
        if emulator == "bochs":     # its debugger also decodes the loop
            assert result.registers["instruction"].startswith("jmp .-2")
        assert emulator_processes(result.workdir) == []
    finally:
        import shutil
        shutil.rmtree(result.workdir, ignore_errors=True)


def test_triple_fault_is_reported(boot, broken, emulator):
    """A triple fault is named as such, with the exceptions that led to it
    on QEMU, instead of being mistaken for a power-off or a hang."""
    result = boot(broken["triple"], timeout=10)
    assert result.outcome == "triple-fault", result.diagnosis
    assert "about to triple-fault" in result.serial
    assert result.diagnosis.startswith("triple fault")
    if emulator == "qemu":
        assert "#DF double fault" in result.diagnosis
    else:
        assert "3rd (13) exception" in result.diagnosis
    assert result.seconds < 10


def test_protected_mode_triple_fault_shows_the_registers(boot, broken,
                                                       emulator, tmp_path):
    """A triple fault in 32-bit code is reported with the CPU state at the
    last exception: the faulting instruction's address, the stack, CR0 with
    PE set; on QEMU the chain starts with the exception that caused it all
    (#UD). The emulator's whole log can be kept, as `make run` does."""
    image = broken["triple32"]
    ud2 = 0x7C00 + image.read_bytes().index(b"\x0f\x0b")
    result = boot(image, timeout=10, keep=True)
    try:
        assert result.outcome == "triple-fault", result.diagnosis
        regs = result.registers
        assert regs["mode"] == "32-bit protected mode"
        assert regs["rip"] == ud2
        assert regs["rsp"] == 0x7000          # set just before the ud2
        assert regs["cs"] == 0x08             # the sector's code selector
        assert regs["cr0"] & 1
        assert f"RIP={ud2:#x}" in result.report()
        if emulator == "qemu":
            assert "after #UD invalid opcode -> #GP general protection" \
                in result.diagnosis
        saved = emu.save_log(result, tmp_path / "last-run.log")
        log = saved.read_text()
        assert ("Triple fault" if emulator == "qemu"
                else "3rd (13) exception") in log
    finally:
        import shutil
        shutil.rmtree(result.workdir, ignore_errors=True)


def test_serial_flood_is_stopped(boot, broken, emulator):
    """A guest printing forever is stopped once it passes the serial cap,
    reported as a flood, and the transcript kept is capped."""
    cap = 20000
    result = boot(broken["flood"], serial_cap=cap, timeout=30)
    assert result.outcome == "flood"
    assert "serial flood" in result.diagnosis
    assert len(result.serial) <= cap
    assert result.serial.startswith("broken: about to flood")


def test_unbootable_image_is_refused(boot, tmp_path, emulator):
    """An image without the 0x55 0xAA signature is refused with a clear
    message before any emulator starts."""
    image = tmp_path / "blank.img"
    image.write_bytes(bytes(512))
    result = boot(image)
    assert result.outcome == "emulator-error"
    assert "not bootable" in result.diagnosis


def test_missing_image_says_run_make(tmp_path):
    """Booting an image that was never built says to run make."""
    with pytest.raises(FileNotFoundError, match="run make first"):
        emu.boot(tmp_path / "nothing.img", "qemu")


def test_sign_refuses_an_oversized_boot_sector(tmp_path):
    """A boot sector over 510 bytes of code and data is a build error that
    names its size."""
    big = tmp_path / "big.raw"
    big.write_bytes(bytes(530))
    proc = subprocess.run([sys.executable, str(TOOLS / "sign.py"), str(big),
                           str(tmp_path / "out.bin")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "boot sector too large: 530 bytes" in proc.stderr
    assert "20 too many" in proc.stderr


def test_mkimage_refuses_an_oversized_program(tmp_path):
    """A program larger than the loader can place below LOAD_LIMIT (0x80000)
    is a build error that says how large it is and what the limit is."""
    lesson = lessons.find("02")      # the instructor's tool, on its loader
    kit = lesson.constants
    limit = (kit["LOAD_LIMIT"] - kit["LOAD_ADDRESS"]) // kit["SECTOR_SIZE"]
    program = tmp_path / "big.bin"
    program.write_bytes(bytes((limit + 1) * kit["SECTOR_SIZE"]))
    tools = lesson.source.parents[1] / "common" / "tools"
    proc = subprocess.run(
        [sys.executable, str(tools / "mkimage.py"),
         str(lesson.build / "loader.elf"), str(lesson.build / "loader.bin"),
         str(program), str(tmp_path / "out.img")],
        capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"image too large: the program needs {limit + 1} sectors" in \
        proc.stderr
    assert f"at most {limit}" in proc.stderr
    assert not (tmp_path / "out.img").exists()


def test_sign_appends_the_signature(tmp_path):
    """A small program is padded to 510 bytes and signed 0x55 0xAA."""
    small = tmp_path / "small.raw"
    small.write_bytes(b"\xeb\xfe")
    out = tmp_path / "out.bin"
    subprocess.run([sys.executable, str(TOOLS / "sign.py"), str(small),
                    str(out)], check=True, capture_output=True)
    data = out.read_bytes()
    assert len(data) == 512 and data[:2] == b"\xeb\xfe"
    assert data[510:] == b"\x55\xaa" and data[2:510] == bytes(508)


def test_parameter_values_are_range_checked(tmp_path):
    """Patching a parameter with a value that does not fit is an error, not
    a silently truncated byte."""
    params = emu.load_params(lessons.find("01").params_json)
    with pytest.raises(ValueError, match="does not fit"):
        emu.encode_param(params["rule"], 256)
    with pytest.raises(ValueError, match="exactly 80"):
        emu.encode_param(params["row"], "#")
    with pytest.raises(KeyError, match="no parameter"):
        emu.patch_image(bytearray(512), params, {"nope": 1})


@pytest.mark.bochs
def test_bochs_debugger_reads_guest_memory_for_inspect():
    """On Bochs, boot(until=..., monitor_commands=[...]) runs debugger
    commands on the parked guest: `xp` of the program's first bytes at
    LOAD_ADDRESS gives exactly the image's bytes after its boot sector,
    where the loader put them."""
    why = emu.have("bochs")
    if why:
        pytest.skip(why)
    from kit.emulators.bochs import xp_bytes
    lesson = lessons.find("02")
    layout = lesson.constants           # layout.h, as the build read it
    command = f"xp /32bx {layout['LOAD_ADDRESS']:#x}"
    result = emu.boot(lesson.image, "bochs", params={"park": 1},
                      until=r"\[kit\] parked", monitor_commands=[command])
    assert result.outcome == "stopped", result.diagnosis
    first = layout["LOAD_LBA"] * layout["SECTOR_SIZE"]
    assert xp_bytes(result.monitor[command]) == \
        lesson.image.read_bytes()[first:first + 32]


STAND_IN = """
import signal, sys, time
log, marks = sys.argv[1], sys.argv[2]
def caught(signum, frame):
    with open(marks, "a") as f:
        f.write(f"sigint {time.monotonic()}\\n")
    sys.exit(0)
signal.signal(signal.SIGINT, caught)
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    now = time.monotonic()          # taken before the line is written
    with open(log, "a") as f:
        f.write("00000000001i[CPU0  ] a log line\\n")
    with open(marks, "a") as f:
        f.write(f"wrote {now}\\n")
    time.sleep(0.005)
time.sleep(30)
"""


@pytest.mark.parametrize("writes", [0.4, 60.0],
                         ids=["stops-writing", "never-stops"])
def test_bochs_gets_no_sigint_while_it_writes_its_log(tmp_path, monkeypatch,
                                                      writes):
    """Bochs 2.7's SIGINT handler logs through the lock that its log
    writer holds while it writes: a SIGINT in the middle of a log line
    stops Bochs for good (gdb: pthread_mutex_lock in the handler, inside
    an interrupted iofunctions::out()). So debugger_stop() sends its
    SIGINT only once the log has been quiet for LOG_QUIET seconds. A
    stand-in process appends to its log every 5 ms for 0.4 s and notes
    when the SIGINT comes: after its last line, by at least LOG_QUIET. One
    that never stops writing gets it after LOG_QUIET_MAX all the same,
    rather than never."""
    from kit.emulators import bochs
    from kit.emulators.base import Run
    log, marks = tmp_path / "bochs.log", tmp_path / "marks"
    monkeypatch.setattr(bochs, "STOP_TRIES", 1)
    monkeypatch.setattr(bochs, "STOP_WAIT", 0.2)
    monkeypatch.setattr(bochs, "LOG_QUIET_MAX", 1.0)
    proc = subprocess.Popen([sys.executable, "-c", STAND_IN, str(log),
                             str(marks), str(writes)])
    read_fd, write_fd = os.pipe()
    try:
        deadline = time.monotonic() + 10
        while not log.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert log.exists(), "the stand-in never wrote its log"
        run = Run(proc, tmp_path / "com1.txt", log, pty_master=write_fd)
        start = time.monotonic()
        assert not bochs.debugger_stop(run, proc.pid, lambda: "")
        proc.wait(timeout=10)
        seen = [line.split() for line in marks.read_text().splitlines()]
        wrote = [float(t) for what, t in seen if what == "wrote"]
        sigint = [float(t) for what, t in seen if what == "sigint"]
        assert len(sigint) == 1, seen[-3:]
        if writes < 1:
            assert sigint[0] - max(wrote) >= bochs.LOG_QUIET
        else:               # unless a loaded machine paused the writer
            gaps = [b - a for a, b in zip(wrote, wrote[1:]) if b < sigint[0]]
            assert sigint[0] - start >= bochs.LOG_QUIET_MAX or \
                max(gaps, default=0) >= bochs.LOG_QUIET / 2, (sigint[0] - start)
    finally:
        proc.kill()
        proc.wait()
        os.close(read_fd)
        os.close(write_fd)


def test_no_module_reaches_into_another_modules_private_names():
    """The harness's modules use one another through public names only:
    no `module._name` of a kit module outside that module (debug.py once
    started Bochs through emu._spawn and emu._contain). Read from the
    sources' syntax trees, so a comment or a string does not count."""
    import ast
    kit = Path(emu.__file__).parent
    modules = {p.stem for p in kit.rglob("*.py")} - {"__init__", "__main__"}
    found = []
    for path in sorted(kit.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and \
                    isinstance(node.value, ast.Name) and \
                    node.value.id in modules and \
                    node.value.id != path.stem and \
                    node.attr.startswith("_") and \
                    not node.attr.startswith("__"):
                found.append(f"{path.relative_to(kit)}:{node.lineno}: "
                             f"{node.value.id}.{node.attr}")
    assert not found, "private names used from outside their module:\n" + \
        "\n".join(found)
