"""Debug a lesson: `make debug LESSON=NN [EMU=qemu|bochs]`.

QEMU + GDB (the default):
  * QEMU starts halted (-S) with its GDB stub on a TCP port of 127.0.0.1
    that is free right now, with the same disk, COM1 and log options as a
    normal boot (emulators.qemu.command);
  * GDB starts connected to it, with harness/gdb/kit.py loaded (it makes
    GDB follow the CPU from real mode to protected and long mode), every
    *.elf of the lesson's build folder loaded with add-symbol-file (so a
    later lesson's kernel64.elf needs no change here), and a breakpoint at
    the lesson's entry: the boot sector's _start (lesson 01, 0x7C00), or
    kernel.elf's _start, where the disk loader jumps (lesson 02 on).
Bochs (EMU=bochs): Bochs' own debugger in this terminal, with magic
  breakpoints on (`xchg bx, bx`: BOCHS_BREAK / bochs_break()), every ELF's
  symbols loaded with ldsym, stopped at the lesson's entry.
Non-interactive (`--batch FILE`, for the tests): GDB runs FILE in batch
  mode against a QEMU started the same way, in a private folder; the QEMU
  is always killed afterwards. run_gdb_batch() and run_bochs_batch() are
  the same from Python.

See docs/debugging.md for a worked session.
"""
from __future__ import annotations

import dataclasses
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from . import emu, lessons, machine_args
from .emulators import Machine, bochs, qemu
from .machine_args import Setup

GDB = "gdb"
GDB_DIR = lessons.ROOT / "harness" / "gdb"
MEMORY_MIB = machine_args.DEFAULT_MEMORY_MIB  # as emu.boot() gives a lesson

sys.path.insert(0, str(lessons.ROOT / "common" / "tools"))
from symbols import read_symbols  # noqa: E402  (common/tools/symbols.py)


def have_gdb() -> Optional[str]:
    """None if GDB can run here, else why not (one line)."""
    if not shutil.which(GDB):
        return "gdb is not installed (Debian package gdb)"
    return None


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now: the kernel
    picks one when we bind to port 0. (Another program could take it
    before QEMU does; GDB then fails to connect and says so.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def symbol_files(build: Path) -> list[Path]:
    """Every ELF the lesson's build wrote: boot.elf, loader.elf, kernel.elf,
    and whatever later lessons add."""
    return sorted(build.glob("*.elf"))


def entry_point(build: Path) -> tuple[int, str]:
    """(address, description) of the lesson's entry: kernel.elf's _start,
    where the disk loader jumps, or else the boot sector's own _start."""
    for name in ("kernel.elf", "boot.elf"):
        elf = build / name
        if elf.exists():
            symbols = read_symbols(str(elf))
            if "_start" not in symbols:
                raise SystemExit(f"debug: {elf} has no _start symbol")
            return symbols["_start"][0], f"_start of {name}"
    raise SystemExit(f"debug: no kernel.elf or boot.elf in {build}: "
                     "run make first")


def gdb_script(build: Path, port: int, entry: int) -> str:
    """The GDB commands that set up a session (see the module docstring)."""
    lines = [
        "set confirm off",
        "set pagination off",
        # No operating system here: stops GDB asking for a Linux ABI handler.
        "set osabi none",
        # The kit's assembly is NASM, Intel syntax: disassemble the same way.
        "set disassembly-flavor intel",
        f"source {GDB_DIR / 'kit.py'}",
        "kit-mode 16",               # the reset vector is real-mode code
        "kit-mode auto",
    ]
    lines += [f"add-symbol-file {elf}" for elf in symbol_files(build)]
    lines += [f"target remote 127.0.0.1:{port}",
              "set remoteaddresssize 64",
              f"break *{entry:#x}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- QEMU
def _machine(lesson: lessons.Lesson, emulator: str,
             setup: Optional[Setup] = None) -> Machine:
    """The machine @lesson asks for on @emulator: its Makefile's CPU model
    (QEMU_CPU, BOCHS_CPU) and QEMU's clock (QEMU_ICOUNT), of the size
    @setup asks for (make debug CPUS= MEMORY=)."""
    setup = setup or Setup()
    return Machine(setup.memory_mib, setup.cpus, cpu=lesson.cpu.get(emulator),
                   icount=lesson.icount if emulator == "qemu" else None)


def _disk(lesson: lessons.Lesson, setup: Optional[Setup]) -> bytearray:
    """A copy of @lesson's image with @setup's parameters patched in."""
    return machine_args.patched(bytearray(lesson.image.read_bytes()), lesson,
                                setup.params if setup else {})


def _start_qemu(lesson: lessons.Lesson, work: Path, display: str = "none",
                setup: Optional[Setup] = None
                ) -> tuple[subprocess.Popen, int]:
    """QEMU halted before the first instruction, its GDB stub on a free
    port; COM1 goes to @work/com1.txt and the -d int log to qemu.log."""
    why = emu.have("qemu")
    if why:
        raise emu.EmulatorMissing(why)
    disk = work / "disk.img"
    disk.write_bytes(bytes(_disk(lesson, setup)))
    port = free_port()
    cmd = qemu.command(disk, work, _machine(lesson, "qemu", setup), display,
                       debug_exit=True, interactive=False)
    cmd += ["-S", "-gdb", f"tcp:127.0.0.1:{port}"]
    with open(work / "stderr.txt", "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True, cwd=work)
    return proc, port


def _stop(proc: subprocess.Popen, grace: float = 0.0) -> Optional[int]:
    """Wait up to @grace seconds for @proc to end by itself, then kill its
    whole process group. Returns its exit status if it ended by itself."""
    try:
        return proc.wait(timeout=grace) if grace else (
            proc.returncode if proc.poll() is not None else None)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)


@dataclasses.dataclass
class GdbRun:
    """What one batch session did."""
    output: str                     # GDB's stdout and stderr
    gdb_status: int
    qemu_status: Optional[int]      # None: QEMU had to be killed
    serial: str                     # COM1
    workdir: str                    # removed afterwards unless keep=True

    @property
    def powered_off(self) -> bool:
        """The lesson reached the kit's power-off with PASS."""
        return self.qemu_status == emu.QEMU_EXIT_PASS


def run_gdb_batch(lesson: lessons.Lesson, commands: str,
                  timeout: float = 30.0, keep: bool = False,
                  setup: Optional[Setup] = None) -> GdbRun:
    """Run @commands (GDB's language) after the usual session set-up, in
    `gdb -batch`, against @lesson on a halted QEMU (its machine and
    parameters as @setup says); kill QEMU afterwards."""
    why = have_gdb()
    if why:
        raise emu.EmulatorMissing(why)
    if not lesson.image.exists():
        raise FileNotFoundError(f"{lesson.image}: no such disk image "
                                "(run make first)")
    entry, _ = entry_point(lesson.build)
    work = Path(tempfile.mkdtemp(prefix="kit-gdb-"))
    proc, port = _start_qemu(lesson, work, setup=setup)
    try:
        (work / "session.gdb").write_text(gdb_script(lesson.build, port,
                                                     entry))
        (work / "commands.gdb").write_text(commands)
        try:
            done = subprocess.run(
                [GDB, "-q", "-nx", "-batch", "-x", str(work / "session.gdb"),
                 "-x", str(work / "commands.gdb")],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=timeout,
                cwd=work)
            output, status = done.stdout, done.returncode
        except subprocess.TimeoutExpired as exc:
            output = (exc.stdout or b"").decode(errors="replace")
            output += f"\ndebug: GDB did not finish within {timeout:g} s"
            status = -1
        # The guest powers off by itself once GDB lets it run to the end.
        qemu_status = _stop(proc, grace=5.0)
    finally:
        _stop(proc)
    serial = emu.decode(emu.read_serial(work / "com1.txt", 1 << 20))
    result = GdbRun(output, status, qemu_status, serial, str(work))
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def debug_qemu(lesson: lessons.Lesson, setup: Setup) -> int:
    """`make debug`: QEMU halted and GDB in this terminal."""
    why = have_gdb()
    if why:
        sys.exit(f"debug: {why}")
    work = lesson.build / "debug"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    entry, what = entry_point(lesson.build)
    display = "gtk" if (os.environ.get("DISPLAY") or
                        os.environ.get("WAYLAND_DISPLAY")) else "none"
    proc, port = _start_qemu(lesson, work, display, setup)
    script = gdb_script(lesson.build, port, entry)
    script += (f"echo \\nkit: QEMU is halted at the reset vector; breakpoint 1"
               f" is the lesson's entry ({what}, {entry:#x}).\\n"
               "kit: type `continue` to run there; `help kit` lists the "
               "kit's commands; docs/debugging.md shows a session.\\n\\n")
    (work / "session.gdb").write_text(script)
    print(f"debug: {lesson.name} on QEMU, GDB stub on 127.0.0.1:{port}\n"
          f"debug: COM1 goes to {work / 'com1.txt'} (tail -f it in "
          f"another terminal); QEMU's exception log to "
          f"{work / 'qemu.log'}", flush=True)
    # Ctrl-C belongs to GDB (it interrupts the guest), not to us.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = subprocess.run([GDB, "-q", "-nx", "-x",
                                 str(work / "session.gdb")]).returncode
    finally:
        signal.signal(signal.SIGINT, previous)
        qemu_status = _stop(proc)
    serial = emu.decode(emu.read_serial(work / "com1.txt", 1 << 20))
    print("\n--- COM1 ---\n" + (serial or "(nothing)\n"), end="")
    if qemu_status is not None:
        print(f"debug: QEMU exited with status {qemu_status}")
    return status


# ---------------------------------------------------------------- Bochs
def _bochs_disk(image: Path, work: Path,
                data: Optional[bytearray] = None) -> Path:
    """@image (or @data, its patched copy) as Bochs' disk in @work."""
    data = bytearray(image.read_bytes()) if data is None else data
    bochs.pad(data)                                  # whole cylinders
    disk = work / "disk.img"
    disk.write_bytes(bytes(data))
    return disk


def bochs_symbols(build: Path, work: Path) -> list[str]:
    """ldsym commands for every ELF of the lesson: Bochs' debugger then
    names the function of each address it shows (`_start+3`)."""
    commands = []
    for elf in symbol_files(build):
        sym = work / (elf.stem + ".sym")
        sym.write_text("".join(f"{value:x} {name}\n" for name, (value, _)
                               in read_symbols(str(elf)).items()
                               if not name.startswith("$")))
        commands.append(f'ldsym global "{sym}"')
    return commands


@dataclasses.dataclass
class BochsRun:
    """What one Bochs session driven by a command file did."""
    debugger: str                   # everything the debugger printed
    serial: str
    exit_status: Optional[int]      # None: Bochs had to be killed


def run_bochs_batch(image: Path, commands: list[str], timeout: float = 20.0,
                    magic_break: bool = True) -> BochsRun:
    """Boot @image on Bochs with its debugger reading @commands (then the
    terminal, where nobody types), magic breakpoints on or off."""
    why = emu.have("bochs")
    if why:
        raise emu.EmulatorMissing(why)
    work = Path(tempfile.mkdtemp(prefix="kit-bochsdbg-"))
    try:
        disk = _bochs_disk(Path(image), work)
        rc = bochs.config(disk, work, Machine(MEMORY_MIB), "term",
                          magic_break=magic_break)
        (work / "commands.rc").write_text("\n".join(commands) + "\n")
        # The term display needs a terminal: a pseudo-terminal, as boot().
        master, slave = bochs.open_terminal()
        # Inside the grading sandbox when there is one, as boot()'s Bochs.
        proc = emu.spawn_contained(
            bochs.command(rc, work, "commands.rc"), work, MEMORY_MIB,
            sandbox_env={"TERM": "xterm"}, stdin=slave, stdout=slave,
            stderr=slave, cwd=work, env=dict(os.environ, TERM="xterm"),
            start_new_session=True)
        os.close(slave)
        thread = bochs.drain(master)
        try:
            status = _stop(proc, grace=timeout)
        finally:
            _stop(proc)
            os.close(master)
            thread.join(timeout=2)
        debugger = (work / "debugger.log").read_text(errors="replace") \
            if (work / "debugger.log").exists() else ""
        serial = emu.decode(emu.read_serial(work / "com1.txt", 1 << 20))
        return BochsRun(debugger, serial, status)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def debug_bochs(lesson: lessons.Lesson, setup: Setup) -> int:
    """`make debug EMU=bochs`: Bochs' debugger in this terminal, stopped at
    the lesson's entry, magic breakpoints on."""
    work = lesson.build / "debug"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    entry, what = entry_point(lesson.build)
    display = "term"
    if os.environ.get("DISPLAY"):
        for plugin in ("x", "sdl2"):
            if glob.glob(f"/usr/lib/*/bochs/plugins/libbx_{plugin}_gui*"):
                display = plugin
                break
    disk = _bochs_disk(lesson.image, work, _disk(lesson, setup))
    rc = bochs.config(disk, work, _machine(lesson, "bochs", setup), display,
                      magic_break=True)
    commands = bochs_symbols(lesson.build, work)
    commands += [f"lb {entry:#x}", "c"]
    (work / "debug.rc").write_text("\n".join(commands) + "\n")
    print(f"debug: {lesson.name} on Bochs: its debugger runs to {what} "
          f"({entry:#x}) and waits for you at <bochs:N>.\n"
          f"debug: `c` continues, `s` steps, `r`/`sreg`/`creg` show "
          f"registers, `q` quits; docs/debugging.md has the rest.\n"
          f"debug: COM1 goes to {work / 'com1.txt'}; the debugger's output "
          f"is also in {work / 'debugger.log'}", flush=True)
    if display == "term":
        print("debug: no X display: Bochs' text screen and its debugger "
              "share this terminal (the screen is redrawn while the guest "
              "runs)", flush=True)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        status = subprocess.run(
            bochs.command(rc, work, "debug.rc"), cwd=work,
            env=dict(os.environ, TERM=os.environ.get("TERM") or "xterm"),
            preexec_fn=lambda: signal.signal(signal.SIGINT,
                                             signal.SIG_DFL)).returncode
    finally:
        signal.signal(signal.SIGINT, previous)
    serial = emu.decode(emu.read_serial(work / "com1.txt", 1 << 20))
    print("\n--- COM1 ---\n" + (serial or "(nothing)\n"), end="")
    # Bochs exits with 1 when the guest switches it off (port 0x8900).
    return 0 if status in (0, 1) else status


# ---------------------------------------------------------------- command
def main(lesson_number: str, emulator: str, batch: Optional[str],
         timeout: float, ensure=None, params: str = "", cpus: str = "",
         memory: str = "") -> int:
    """`python3 -m kit debug` (see __main__.py). @ensure(group) installs or
    names what a deps.sh group needs, or exits. @params, @cpus, @memory:
    make debug's PARAMS, CPUS and MEMORY as typed (kit/machine_args.py)."""
    lesson = lessons.find(lesson_number)
    emulator = emulator or lesson.emulators[0]
    if emulator not in emu.EMULATORS:
        sys.exit(f"debug: EMU={emulator}: choose qemu or bochs")
    if emulator not in lesson.emulators:
        sys.exit(f"debug: lesson {lesson.number} needs VMX, which QEMU's "
                 "TCG does not emulate: use EMU=bochs")
    if not lesson.image.exists():
        sys.exit(f"debug: {lesson.image} is missing: run make first")
    setup = machine_args.setup(lesson, params, cpus, memory, "debug")
    if ensure:                       # everything typed is right: install
        ensure(emulator)
        if emulator == "qemu":
            ensure("debug")
    if batch:
        if emulator != "qemu":
            sys.exit("debug: --batch drives GDB, which needs QEMU")
        try:
            commands = Path(batch).read_text()
        except OSError as exc:
            sys.exit(f"debug: cannot read {batch}: {exc.strerror}")
        run = run_gdb_batch(lesson, commands, timeout=timeout, setup=setup)
        print(run.output, end="")
        where = ("powered off: PASS" if run.powered_off else
                 f"QEMU exited with status {run.qemu_status}"
                 if run.qemu_status is not None else
                 "QEMU was still running and was killed")
        print(f"debug: {lesson.name}: GDB exited with status "
              f"{run.gdb_status}; {where}")
        return 0 if run.powered_off else 1
    if emulator == "bochs":
        return debug_bochs(lesson, setup)
    return debug_qemu(lesson, setup)
