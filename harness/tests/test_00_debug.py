"""`make debug`: GDB on QEMU from real mode to long mode, Bochs' debugger.

Each GDB test runs the launcher's non-interactive mode (harness/kit/debug.py:
QEMU started halted, GDB in batch mode with harness/gdb/kit.py and every ELF
of the lesson loaded), stops where a student would, reads registers, checks
the disassembly against the image's own bytes or objdump's reading of the
ELF, and continues until the lesson powers off. GDB prints what a test
wants to read with `printf "KIT ..."` lines.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kit import debug, emu, lessons

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
BROKEN = Path(__file__).resolve().parents[1] / "broken"


def needs(why):
    """A missing tool is a failure in CI and a skip, with its reason,
    elsewhere (as conftest.py does for emulators)."""
    if why:
        if IN_CI:
            pytest.fail(f"CI must run the debugger tests, but {why}")
        pytest.skip(why)


@pytest.fixture
def gdb_session():
    """run(lesson_number, commands) -> debug.GdbRun, QEMU gone afterwards."""
    needs(debug.have_gdb() or emu.have("qemu"))
    runs = []

    def run(number, commands):
        result = debug.run_gdb_batch(lessons.find(number), commands,
                                     timeout=30, keep=True)
        runs.append(result)
        return result
    yield run
    for result in runs:
        import shutil
        shutil.rmtree(result.workdir, ignore_errors=True)


def kit_values(output: str) -> dict:
    """{name: int} from the `printf "KIT name=%x ..."` lines of a session."""
    values = {}
    for line in output.splitlines():
        if line.startswith("KIT "):
            for name, value in re.findall(r"(\w+)=([0-9a-f]+)", line):
                values[name] = int(value, 16)
    return values


def objdump_first_instruction(elf: Path, symbol: str) -> str:
    """The first instruction at @symbol as objdump decodes @elf (Intel
    syntax): an independent reading of the same bytes."""
    out = subprocess.run(["objdump", "-d", "-M", "intel", "--no-show-raw-insn",
                          f"--disassemble={symbol}", str(elf)],
                         capture_output=True, text=True, check=True).stdout
    lines = [l for l in out.splitlines() if re.match(r"\s*[0-9a-f]+:\t", l)]
    return " ".join(lines[0].split("\t", 1)[1].split())


def assert_gone(result):
    """QEMU ended by itself (the lesson's power-off, not our kill) while
    GDB was connected, and no process of that session is left."""
    assert result.powered_off, result.output
    assert "Remote connection closed" in result.output
    assert [pid for pid in os.listdir("/proc") if pid.isdigit()
            and result.workdir.encode() in _cmdline(pid)] == []


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_gdb_stops_at_the_boot_sector_and_decodes_16_bit_code(gdb_session):
    """GDB stops at lesson 01's first instruction, 0000:7C00, with the boot
    drive the BIOS passes in DL, decodes the far jump there as 16-bit code
    (the bytes of the image, not a 64-bit misreading), steps it, and the
    lesson then runs to its power-off."""
    image = lessons.find("01").image.read_bytes()
    assert image[0] == 0xEA                    # jmp far ptr16:16
    offset = int.from_bytes(image[1:3], "little")
    segment = int.from_bytes(image[3:5], "little")
    result = gdb_session("01", """\
continue
printf "KIT cs=%x eip=%x dl=%x\\n", $cs, $eip, $edx & 0xff
x/i $pc
stepi
printf "KIT after_cs=%x after_eip=%x\\n", $cs, $eip
continue
""")
    values = kit_values(result.output)
    assert values["cs"] == 0 and values["eip"] == 0x7C00, result.output
    assert values["dl"] == 0x80                # the first hard disk
    assert re.search(rf"=> 0x7c00 <_start>:\s+jmp\s+{segment:#x}:{offset:#x}",
                     result.output), result.output
    assert (values["after_cs"], values["after_eip"]) == (segment, offset)
    assert "Breakpoint 1, _start () at automaton.asm:30" in result.output
    assert_gone(result)


def test_gdb_follows_lesson02_into_protected_mode(gdb_session):
    """In lesson 02 GDB stops where the loader jumps (kernel.elf's _start,
    still real mode), then by name at the 32-bit C function the entry calls,
    where CR0.PE is set and the code is decoded as 32-bit, as objdump
    decodes the ELF."""
    lesson = lessons.find("02")
    start = debug.read_symbols(str(lesson.build / "kernel.elf"))["_start"][0]
    expected = objdump_first_instruction(lesson.build / "kernel.elf",
                                         "pm_main")
    result = gdb_session("02", """\
continue
printf "KIT start_cs=%x start_eip=%x start_cr0=%x\\n", $cs, $eip, $cr0
break pm_main
continue
printf "KIT c_cs=%x c_cr0=%x\\n", $cs, $cr0
kit-mode
x/i $pc
continue
""")
    values = kit_values(result.output)
    assert start == lesson.constants["LOAD_ADDRESS"]  # where loader.asm jumps
    assert (values["start_cs"], values["start_eip"]) == (0, start)
    assert values["start_cr0"] & 1 == 0        # real mode
    assert "Breakpoint 2, pm_main () at main.c" in result.output
    assert values["c_cr0"] & 1 == 1            # protected mode
    assert "kit: the CPU is now in 32-bit protected mode" in result.output
    decoded = re.search(r"=> 0x[0-9a-f]+ <pm_main>:\s+(.*)", result.output)
    assert decoded and " ".join(decoded.group(1).split()) == expected
    assert_gone(result)


def test_gdb_follows_lesson03_into_the_higher_half(gdb_session):
    """In lesson 03 GDB stops at the 64-bit label `long_mode` (a NASM label
    GDB's own `break` refuses; kit-break finds it) with EFER.LMA set, then
    at kernel_main in the higher half: a 64-bit address set from real mode
    and hit, RIP and the decoding matching the ELF."""
    lesson = lessons.find("03")
    elf = lesson.build / "kernel.elf"
    symbols = debug.read_symbols(str(elf))
    expected = objdump_first_instruction(elf, "kernel_main")
    result = gdb_session("03", """\
kit-break long_mode
break kernel_main
continue
continue
printf "KIT lm_rip=%lx lm_efer=%lx\\n", $rip, $efer
continue
printf "KIT k_rip=%lx\\n", $rip
x/i $pc
continue
""")
    values = kit_values(result.output)
    assert values["lm_rip"] == symbols["long_mode"][0], result.output
    assert values["lm_efer"] & (1 << 10)       # EFER.LMA: long mode active
    assert "kit: the CPU is now in 64-bit long mode" in result.output
    assert values["k_rip"] == symbols["kernel_main"][0] >= 0xFFFFFFFF80000000
    decoded = re.search(r"=> 0xffffffff8[0-9a-f]+ <kernel_main>:\s+(.*)",
                        result.output)
    assert decoded and " ".join(decoded.group(1).split()) == expected
    assert_gone(result)


def test_debug_command_runs_a_batch_script(tmp_path):
    """`python3 -m kit debug --batch FILE` (what `make debug` runs, without
    a terminal) drives GDB to the end and says the lesson powered off; a
    script that does not exist is one clear line."""
    needs(debug.have_gdb() or emu.have("qemu"))
    script = tmp_path / "run.gdb"
    script.write_text("continue\ncontinue\n")
    env = dict(os.environ, PYTHONPATH=str(lessons.ROOT / "harness"))
    proc = subprocess.run([sys.executable, "-m", "kit", "debug", "--lesson",
                           "01", "--batch", str(script)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("powered off: PASS")
    proc = subprocess.run([sys.executable, "-m", "kit", "debug", "--lesson",
                           "01", "--batch", str(tmp_path / "none.gdb")],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("debug: cannot read")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_debug_boots_the_machine_and_parameters_it_is_given(tmp_path):
    """`make debug CPUS=N PARAMS=...` (the same options as make run,
    kit/machine_args.py): GDB reads, in the halted guest's memory, the
    timer rate this test drew, and QEMU's GDB stub shows one thread per
    processor the test asked for; the lesson then runs to its power-off
    with both (COM1 says so). A bad value ends it with one line."""
    needs(debug.have_gdb() or emu.have("qemu"))
    import random
    hz, cpus = random.randrange(100, 2001), random.randrange(2, 5)
    script = tmp_path / "run.gdb"
    script.write_text("""\
continue
break kernel_main
continue
printf "KIT hz=%x\\n", param_timer_hz
info threads
continue
""")
    env = dict(os.environ, PYTHONPATH=str(lessons.ROOT / "harness"))
    proc = subprocess.run([sys.executable, "-m", "kit", "debug", "--lesson",
                           "04", "--batch", str(script), "--cpus", str(cpus),
                           "--params", f"timer_hz={hz}"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert kit_values(proc.stdout)["hz"] == hz, proc.stdout
    threads = re.findall(r"^[ *]+(\d+)\s+Thread ", proc.stdout, re.M)
    assert sorted(map(int, threads)) == list(range(1, cpus + 1)), proc.stdout
    proc = subprocess.run([sys.executable, "-m", "kit", "debug", "--lesson",
                           "04", "--batch", str(script), "--memory", "1"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "debug: MEMORY=1: choose 16-2048"


@pytest.fixture(scope="module")
def magic_image(tmp_path_factory):
    """harness/broken/magic.asm, assembled: BOCHS_BREAK between two lines."""
    out = tmp_path_factory.mktemp("magic") / "magic.img"
    subprocess.run(["nasm", "-f", "bin", "-I", f"{BROKEN}/",
                    "-I", f"{lessons.ROOT / 'common' / 'boot'}/",
                    "-I", f"{lessons.find('01').build}/", "-o", str(out),
                    str(BROKEN / "magic.asm")], check=True)
    return out


def test_bochs_magic_breakpoint_stops_in_its_debugger(magic_image):
    """With magic_break on (as `make debug EMU=bochs` sets it), Bochs stops
    in its debugger right after BOCHS_BREAK's `xchg bx, bx`, with the
    registers the sector set; the debugger's `c` then runs it to PASS."""
    needs(emu.have("bochs"))
    xchg = 0x7C00 + magic_image.read_bytes().index(b"\x87\xdb")
    run = debug.run_bochs_batch(magic_image, ["c", "r", "c"], timeout=20)
    assert "Magic breakpoint" in run.debugger, run.debugger
    stop = run.debugger.split("Magic breakpoint", 1)[1]
    where = re.search(r"\[0x([0-9a-f]+)\] 0000:([0-9a-f]+)", stop)
    assert where and int(where.group(1), 16) == xchg + 2
    registers = {name: int(value.replace("_", ""), 16) for name, value in
                 re.findall(r"(r[a-z0-9]+): ([0-9a-f_]+)", stop)}
    assert registers["rbx"] & 0xFFFF == 0xB0C5   # BX and CX as set; the
    assert registers["rcx"] & 0xFFFF == 0x1234   # upper halves: the BIOS's
    assert registers["rip"] == xchg + 2
    # Stopped between the two lines, then finished.
    assert run.serial.index("before the breakpoint") < \
        run.serial.index("after the breakpoint")
    assert "[kit] power off: PASS" in run.serial
    assert run.exit_status is not None         # ended by itself


def test_magic_breakpoint_is_harmless_in_a_normal_boot(boot, magic_image):
    """Without Bochs' magic_break (QEMU, or a normal Bochs boot),
    BOCHS_BREAK changes nothing: the sector runs through it to PASS."""
    result = boot(magic_image, timeout=10)
    assert result.passed, result.report()
    assert "after the breakpoint" in result.serial


def test_bochs_vmexitbp_stops_in_the_exit_handler():
    """Bochs' `vmexitbp` stops lesson 05 at its first VM exit on the first
    instruction of vmexit_entry (HOST_RIP), with the guest's registers
    (seed + index) still loaded, as docs/debugging.md shows."""
    needs(emu.have("bochs"))
    lesson = lessons.find("05")
    if not lesson.image.exists():
        pytest.fail(f"{lesson.image} is missing: run make first")
    entry = debug.read_symbols(str(lesson.build / "kernel.elf"))[
        "vmexit_entry"][0]
    run = debug.run_bochs_batch(lesson.image, ["vmexitbp", "c", "r", "c"],
                                magic_break=False)
    text = run.debugger
    assert "Caught VMEXIT breakpoint" in text, text[-2000:]
    rip = re.search(r"rip: ([0-9a-f]{8})_([0-9a-f]{8})", text)
    assert int(rip[1] + rip[2], 16) == entry
    regs = dict(re.findall(r"^(r\w+)\s*: ([0-9a-f]{8}_[0-9a-f]{8})", text,
                           re.M))
    seed = 0x1000                   # param_guest_seed's default
    for i, name in enumerate(["rax", "rcx", "rdx", "rbx", "rbp", "rsi",
                              "rdi", "r8", "r9", "r10", "r11", "r12",
                              "r13", "r14", "r15"]):
        assert int(regs[name].replace("_", ""), 16) == seed + i, name
    assert "[kit] power off: PASS" in run.serial
