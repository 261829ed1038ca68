"""Boot a disk image on an emulator, stream COM1, and say how it ended.

One function, boot(), serves the tests, `make run` and `make bench`. It
  * copies the image into a private temporary directory (the original is
    never written: patched copies, snapshot disks), optionally patching
    parameters into the copy;
  * starts the emulator's runner (kit/emulators/: QEMU, Bochs) with no
    network and COM1 going to a file; when grading, inside the sandbox;
  * follows that file while the guest runs, stopping the guest when it
    powers off, triple-faults, runs past its timeout, or prints more than
    the serial cap (a guest stuck in a print loop), or when the emulator's
    log passes its cap (a guest that makes it log without pause);
  * meanwhile, when COM1 first matches a pattern of on_match=, runs its
    commands in the emulator's monitor and lets the guest go on (QEMU's
    `sendkey`: a test types on the guest's keyboard);
  * always kills the emulator's whole process group, whatever happened;
  * returns a BootResult whose `diagnosis` is one line a student can act on,
    and, after a triple fault or a hang, `registers`: where the CPU was and
    in which mode, as the runner found out.

With host= (a hypervisor's disk image: lesson 07 on Bochs, lesson 09 on
QEMU), the emulator boots that image with the guest's as its second disk,
and the result is the guest's part of COM1, judged as a native boot would
be (kit/hosted.py).

Nothing here names an emulator: what differs is each runner's.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from . import emulators, hosted, sandbox
from .emulators import EmulatorMissing, Machine  # noqa: F401 (for callers)
from .emulators.base import (POWER_LINE, cpu_state_line,  # noqa: F401
                             decode, power_status, read_end, read_serial,
                             tail)
from .emulators.qemu import MonitorError, QEMU_EXIT_PASS  # noqa: F401

EMULATORS = emulators.NAMES
# A guest can make its emulator log heavily (an interrupt storm under QEMU's
# -d int): past LOG_CAP bytes the boot is stopped as a flood, and only the
# last LOG_READ bytes of a log are ever read. The kit's lessons log < 64 KiB.
LOG_CAP = 16 << 20
# Set by grading (kit.gradeplugin): every emulator then runs in this
# sandbox (kit/sandbox.py), as its user, seeing only its own work folder.
SANDBOX: Optional[sandbox.Sandbox] = None


@dataclasses.dataclass
class BootResult:
    """What one boot did, as seen from outside the guest."""
    emulator: str
    outcome: str            # pass | fail | triple-fault | reset | hang |
                            # flood | emulator-error | stopped
    serial: str             # COM1 transcript, "\r\n" folded to "\n"
    diagnosis: str          # one line for a human
    seconds: float          # emulator start to end
    exit_status: Optional[int] = None
    status: Optional[int] = None          # the guest's power-off status
    monitor: dict = dataclasses.field(default_factory=dict)
    log_tail: str = ""      # the end of the emulator's own log
    workdir: Optional[str] = None         # kept only with keep=True
    # The CPU at the last exception (triple fault) or where it hung, as
    # {"mode", "rip", "cs", "rsp", "cr0", "cr2", "cr3"}: whatever the
    # emulator told (see cpu_state_line()).
    registers: dict = dataclasses.field(default_factory=dict)
    raw_serial: bytes = b""  # COM1 as the guest wrote it, byte for byte
    disk_sha256: str = ""   # the guest image as booted: patched, not padded
    # Booted under a hypervisor (host=): {"serial": the whole transcript,
    # "stop", "guest_status", "exits", "total_exits", "guest_ticks",
    # "host_ticks"} as kit/hosted.py reads them; None for a native boot.
    host: Optional[dict] = None

    @property
    def has_power_line(self) -> bool:
        """The guest printed the kit's power-off line."""
        return POWER_LINE.search(self.serial) is not None

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def lines(self) -> list[str]:
        return self.serial.splitlines()

    @property
    def log_file(self) -> Optional[Path]:
        """The emulator's whole log, while its workdir exists (keep=True)."""
        if not self.workdir:
            return None
        path = Path(self.workdir) / emulators.runner(self.emulator).log_name
        return path if path.exists() else None

    def report(self) -> str:
        """The diagnosis and transcript, as a failing test shows them."""
        guest = " (a hypervisor's guest)" if self.host is not None else ""
        text = f"{self.emulator}{guest}: {self.diagnosis}\n"
        if self.registers:
            text += f"--- CPU state ---\n{cpu_state_line(self.registers)}\n"
        text += "--- COM1 transcript ---\n"
        text += self.serial[-8000:] if self.serial else "(nothing)\n"
        if self.host is not None and self.outcome != "pass":
            text += ("\n--- the hypervisor's own lines ---\n" +
                     hosted.hypervisor_text(self.host["serial"])[-8000:])
        if self.log_tail and self.outcome not in ("pass", "fail", "stopped"):
            text += f"\n--- {self.emulator} log (end) ---\n{self.log_tail}"
        return text


def save_log(result: BootResult, dest: Path) -> Optional[Path]:
    """Copy the emulator's whole log of @result's boot (run with keep=True)
    to @dest, for a student to read after a bad boot (`make run` writes
    build/NN-topic/last-run.log). Returns @dest, or None without a log."""
    if not result.log_file:
        return None
    shutil.copyfile(result.log_file, dest)
    return Path(dest)


def have(emulator: str) -> Optional[str]:
    """None if @emulator can run here, else why not (one line)."""
    try:
        return emulators.runner(emulator).have()
    except KeyError as error:
        return str(error.args[0])


# ---------------------------------------------------------------- parameters
def load_params(params_json: Path) -> dict:
    """{name: entry} from a lesson's params.json (see common/tools/params.py)."""
    with open(params_json) as f:
        return {p["name"]: p for p in json.load(f)["params"]}


def encode_param(entry: dict, value) -> bytes:
    """The bytes that set parameter @entry to @value, checked for range:
    a number, text, or (an array of bytes, such as lesson 10's scenarios,
    one per VM) a list of bytes."""
    size = entry["size"]
    if entry["type"] == "uint" and not isinstance(value, (bytes, list,
                                                           tuple)):
        if not 0 <= int(value) < 1 << (8 * size):
            raise ValueError(f"parameter {entry['name']}={value} does not "
                             f"fit in {size} byte(s)")
        return int(value).to_bytes(size, "little")
    raw = value.encode("ascii") if isinstance(value, str) else bytes(value)
    if len(raw) != size:
        raise ValueError(f"parameter {entry['name']} takes exactly {size} "
                         f"bytes, got {len(raw)}")
    return raw


def patch_image(image: bytearray, params: dict, values: dict) -> None:
    """Write each of @values into @image at its parameter's offset."""
    for name, value in values.items():
        if name not in params:
            raise KeyError(f"no parameter {name!r}; the image has "
                           f"{', '.join(sorted(params)) or 'none'}")
        entry = params[name]
        image[entry["offset"]:entry["offset"] + entry["size"]] = \
            encode_param(entry, value)


# ---------------------------------------------------------------- boot
def boot(image, emulator: str = "qemu", *, memory_mib: int = 32,
         cpus: int = 1, timeout: Optional[float] = 20.0,
         serial_cap: int = 1 << 20, params: Optional[dict] = None,
         params_json=None, cpu=None, accel: str = "tcg",
         until: Optional[str] = None, monitor_commands=None,
         on_match=None,
         on_serial: Optional[Callable[[str], None]] = None,
         display: str = "none", interactive: bool = False,
         debug_exit: bool = True, keep: bool = False,
         share: Optional[Path] = None,
         host: Optional[Path] = None,
         icount: Optional[str] = None) -> BootResult:
    """Boot @image and watch it until it ends (see the module docstring).

    params/params_json: patch these parameters into the private copy.
    until: stop the guest (outcome "stopped") once COM1 matches this regex,
        after running @monitor_commands in the emulator's monitor (QEMU's;
        results in BootResult.monitor). Used to inspect a guest parked at a
        known point. @monitor_commands is a list of commands, or a function
        f(serial_text, command) -> dict that runs what it needs through
        command(str) -> str (when later commands depend on earlier answers).
    on_match: a list of (regex, commands): the first time COM1 matches a
        regex, its commands (as @monitor_commands: a list, or a function)
        run in the emulator's monitor while the guest runs on; their
        answers go into BootResult.monitor. This is how a test types on the
        guest's keyboard (QEMU's `sendkey`; see qemu.sendkey_commands()).
        QEMU only: a runner without such a monitor (Bochs) raises
        ValueError.
    cpu: the CPU model (Bochs `cpu: model=`, QEMU `-cpu`), or a dict of
        them by emulator ({"qemu": "qemu32", "bochs": "p4_willamette"}) for
        a test that runs on each; accel: "tcg" or, on QEMU, "kvm" (the
        host's CPU unless @cpu says otherwise).
    on_serial: called with each new piece of COM1 text as it arrives.
    timeout: seconds before the guest counts as hung; None waits forever.
    share: a folder the emulator may write in, for files @monitor_commands
        ask it to write (screendump); inside a sandbox, the only one besides
        the boot's own.
    display/interactive/debug_exit: for `make run`; tests leave the defaults.
    icount: QEMU's -icount (the lesson's QEMU_ICOUNT: Lesson.boot_options),
        a clock that counts instructions; ignored by Bochs, whose clock
        always does.
    host: boot this hypervisor's image (lesson 07 on Bochs, lesson 09 on
        QEMU), @image being its guest on the second disk; result.host has
        the hypervisor's side, the rest of the result is the guest's
        (kit/hosted.py).
    """
    hosts = [name for name, r in emulators.RUNNERS.items() if r.can_host]
    if host is not None and emulator not in hosts:
        raise ValueError(f"host=: {emulator} cannot boot a hypervisor with "
                         f"a guest; use {' or '.join(hosts)}")
    why = have(emulator)
    if why:
        raise EmulatorMissing(why)
    runner = emulators.runner(emulator)
    if on_match and not runner.can_command_running:
        raise ValueError(f"on_match=: {emulator} has no monitor that runs "
                         "commands while the guest runs (QEMU has)")
    image = Path(image)
    data = _read_image(image)
    host_data = None if host is None else _read_image(Path(host))
    bad = _not_bootable(image, data)
    if host is not None:
        bad = bad or _not_bootable(Path(host), host_data)
    if bad:
        return BootResult(emulator, "emulator-error", "", bad, 0.0,
                          disk_sha256=hashlib.sha256(data).hexdigest())
    if params:
        if params_json is None:
            params_json = image.with_name("params.json")
        patch_image(data, load_params(Path(params_json)), params)
    digest = hashlib.sha256(data).hexdigest()   # what the guest boots

    work = Path(tempfile.mkdtemp(prefix=f"kit-{emulator}-"))
    disk = work / "disk.img"
    runner.prepare(data)
    disk.write_bytes(bytes(data))
    first, second = disk, None
    if host_data is not None:           # the hypervisor first, guest second
        first, second = work / "host.img", disk
        runner.prepare(host_data)
        first.write_bytes(bytes(host_data))
    if isinstance(cpu, dict):
        cpu = cpu.get(emulator)
    machine = Machine(memory_mib, cpus, cpu, accel, icount)

    def contain(cmd: list, env: Optional[dict] = None) -> list:
        return _contain(cmd, work, share, memory_mib, env)

    start = time.monotonic()
    run = runner.start(first, work, machine, display=display,
                       interactive=interactive, debug_exit=debug_exit,
                       contain=contain, spawn=_spawn, second_disk=second)
    try:
        result = _watch(run, runner, start, timeout, serial_cap, until,
                        monitor_commands, on_serial, on_match or (),
                        hosted.guest_text if host is not None else None)
    finally:
        _kill(run)
        if run.pty_thread:
            run.pty_thread.join(timeout=2)
    result.seconds = time.monotonic() - start
    result.log_tail = tail(run.log_path)
    result.status = power_status(result.serial)
    result.disk_sha256 = digest
    if result.outcome == "exited":        # the others are decided already
        runner.classify(result, run, read_end(run.log_path))
    if host is not None:                  # the guest's part, judged as native
        hosted.settle(result)
    if keep:
        result.workdir = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _read_image(image: Path) -> bytearray:
    """@image's bytes; FileNotFoundError names it and what to do."""
    if not image.is_file():
        raise FileNotFoundError(f"{image}: no such disk image (run make first)")
    return bytearray(image.read_bytes())


def _not_bootable(image: Path, data: bytearray) -> Optional[str]:
    """Why @data (@image's bytes) cannot boot, None when it can."""
    if len(data) < 512 or data[510:512] != b"\x55\xaa":
        return (f"{image} is not bootable: sector 0 does not end with the "
                "0x55 0xAA signature")
    return None


def _contain(cmd: list, work: Path, share: Optional[Path], memory_mib: int,
             env: Optional[dict] = None) -> list:
    """@cmd, inside SANDBOX when grading set one: the emulator then sees
    /usr, its own @work folder and @share, nothing else (kit/sandbox.py).
    It is signalled by process group, so it keeps the harness's session."""
    if SANDBOX is None:
        return cmd
    shared = [work] + ([Path(share)] if share else [])
    for path in list(work.iterdir()) + shared:
        SANDBOX.own(path)
    return SANDBOX.wrap(cmd, sandbox.boot_limits(memory_mib), rw=shared,
                        chdir=work, env=env, new_session=False)


def _spawn(cmd: list, **options) -> subprocess.Popen:
    if SANDBOX is None:
        return subprocess.Popen(cmd, **options)
    return sandbox.popen(cmd, **options)


def spawn_contained(cmd: list, work: Path, memory_mib: int,
                    sandbox_env: Optional[dict] = None,
                    **options) -> subprocess.Popen:
    """Start @cmd (an emulator's command line) as boot() starts one:
    inside the grading sandbox when there is one, where it sees /usr and
    its @work folder only, and of the environment only @sandbox_env;
    @options go to subprocess.Popen. For a caller that drives the emulator
    itself (debug.py's Bochs batch), which must then stop it."""
    return _spawn(_contain(cmd, work, None, memory_mib, sandbox_env),
                  **options)


def _emulator_pid(run: emulators.Run, runner) -> Optional[int]:
    """The emulator's own process: run.proc, or inside a sandbox (where
    run.proc is bwrap) the process below it with the emulator's name."""
    if SANDBOX is None:
        return run.proc.pid
    return sandbox.descendant(run.proc.pid, runner.process_names)


def _kill(run: emulators.Run) -> None:
    """Stop the emulator and everything it started. Idempotent. In a
    sandbox the emulator goes first, so that bwrap ends by itself and is
    reaped (killed all at once, its inner process would be left to init)."""
    if SANDBOX is not None and run.proc.poll() is None:
        for runner in emulators.RUNNERS.values():
            pid = sandbox.descendant(run.proc.pid, runner.process_names)
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                    run.proc.wait(timeout=2)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
    if run.proc.poll() is None:
        try:
            os.killpg(run.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        run.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if run.pty_master is not None:
        try:
            os.close(run.pty_master)
        except OSError:
            pass
        run.pty_master = None
    if SANDBOX is not None:
        sandbox.reap()


def _log_flood(run: emulators.Run) -> Optional[str]:
    """Why the boot must stop because the emulator's log grew past LOG_CAP
    (None while it has not)."""
    try:
        size = run.log_path.stat().st_size
    except FileNotFoundError:
        return None
    if size <= LOG_CAP:
        return None
    return (f"log flood: the emulator's log passed {LOG_CAP >> 20} MiB "
            "(the guest made it log without pause: an interrupt or "
            "exception storm?); stopped it")


def _watch(run: emulators.Run, runner, start, timeout, serial_cap, until,
           monitor_commands, on_serial, on_match=(), view=None) -> BootResult:
    """Follow COM1 and the log until the boot ends (see the module
    docstring). @view(raw) -> str or None: the part of COM1 @until and
    @on_match are matched against (a hosted guest's; None while it has not
    started)."""
    seen = 0
    emulator = runner.name
    pattern = re.compile(until) if until else None
    pending = [(re.compile(regex), commands) for regex, commands in on_match]
    answers: dict = {}
    while True:
        exited = run.proc.poll() is not None
        raw = read_serial(run.serial_path, serial_cap)
        if len(raw) > seen and on_serial:
            on_serial(decode(raw[seen:]))
        seen = len(raw)
        raw = raw[:serial_cap]
        text = decode(raw)
        if seen > serial_cap:
            return BootResult(
                emulator, "flood", text,
                f"serial flood: the guest printed more than {serial_cap} "
                "bytes without powering off (a print loop?); stopped it",
                0.0, raw_serial=raw)
        flood = _log_flood(run)
        if flood:
            return BootResult(emulator, "flood", text, flood, 0.0,
                              raw_serial=raw)
        watched = (text if view is None else view(raw)) \
            if pattern or pending else None
        while watched is not None and pending and not exited and \
                pending[0][0].search(watched):
            answers.update(runner.command_running(run, pending.pop(0)[1],
                                                  watched))
        if pattern and watched is not None and pattern.search(watched):
            result = BootResult(emulator, "stopped", text,
                                f"stopped at {until!r} as asked", 0.0,
                                raw_serial=raw)
            result.monitor = {**answers, **runner.inspect(
                run, monitor_commands, watched, _emulator_pid(run, runner))}
            return result
        if exited:
            return BootResult(emulator, "exited", text, "", 0.0,
                              exit_status=run.proc.returncode,
                              raw_serial=raw, monitor=answers)
        if timeout is not None and time.monotonic() - start > timeout:
            regs = {}
            pid = _emulator_pid(run, runner)
            if pid is not None and run.proc.poll() is None:
                regs = runner.where_hung(run, pid)
            return BootResult(
                emulator, "hang", text,
                f"guest hung: no power-off within {timeout:g} s"
                f"{_where(regs)}", 0.0, registers=regs, raw_serial=raw,
                monitor=answers)
        time.sleep(0.01)


def _where(regs: dict) -> str:
    """The end of a hang's diagnosis: "; the CPU was at ..."."""
    if not regs:
        return ""
    where = f"; the CPU was at RIP={regs['rip']:#x} ({regs.get('mode')})"
    if regs.get("mode") == "real mode" and "cs" in regs:
        where = (f"; the CPU was at {regs['cs']:04x}:{regs['rip']:04x} "
                 f"(real mode, linear {regs['cs'] * 16 + regs['rip']:#x})")
    if regs.get("instruction"):
        where += f": {regs['instruction']}"
    return where
