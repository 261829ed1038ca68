"""What every emulator runner shares, and the interface each one fills.

kit/emu.py's boot() copies and patches the image, starts a runner, watches
COM1 and the runner's log, and stops the emulator; it names no emulator.
A runner (kit/emulators/qemu.py, bochs.py) owns everything that differs:
its command line, how it is told to stop or asked where the CPU is (QEMU's
monitor, Bochs' debugger), and how its exit and log say the guest ended.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Optional

LOG_READ = 1 << 20                  # a log is only ever read from its end
KIT = Path(__file__).resolve().parents[3]
# The kit's last line (common/power.c): PASS, or FAIL with the status.
POWER_LINE = re.compile(r"\[kit\] power off: (PASS|FAIL \(status (-?\d+)\))")


def kit_constants(header: str) -> dict:
    """The numbers a header of common/include/ defines, read as the build
    reads them (common/tools/h2inc.py): the harness keeps no copy."""
    sys.path.insert(0, str(KIT / "common" / "tools"))
    try:
        import h2inc
    finally:
        sys.path.pop(0)
    path = str(KIT / "common" / "include" / header)
    return json.loads(h2inc.as_json(h2inc.constants([path])))


class EmulatorMissing(RuntimeError):
    """The emulator (or its firmware) is not installed."""


@dataclasses.dataclass(frozen=True)
class Machine:
    """The machine a boot asks for, whatever emulates it."""
    memory_mib: int = 32
    cpus: int = 1
    cpu: Optional[str] = None       # the CPU model; None: the runner's own
    accel: str = "tcg"              # QEMU: "kvm" runs on the host's CPU
    icount: Optional[str] = None    # QEMU: -icount (instructions as clock)


@dataclasses.dataclass
class Run:
    """One running emulator, as its runner started it."""
    proc: subprocess.Popen
    serial_path: Path
    log_path: Path
    monitor_path: Optional[Path] = None
    pty_master: Optional[int] = None
    pty_thread: Optional[threading.Thread] = None


# start(): contain(cmd, env) puts a command in the grading sandbox (or
# returns it as it is); spawn(cmd, **popen_options) starts it.
Contain = Callable[..., list]
Spawn = Callable[..., subprocess.Popen]


class Runner:
    """One emulator. Subclasses set the class attributes and fill the
    methods; boot() calls them in this order."""
    name = ""
    process_names: tuple = ()       # its processes' names, inside a sandbox
    log_name = ""                   # its own log, in the boot's folder
    can_host = False                # boots boot(host=)'s hypervisor + guest

    def have(self) -> Optional[str]:
        """None if it can run here, else why not (one line)."""
        raise NotImplementedError

    def prepare(self, data: bytearray) -> None:
        """Change the private copy of the image as the emulator needs."""

    def start(self, disk: Path, work: Path, machine: Machine, *,
              display: str, interactive: bool, debug_exit: bool,
              contain: Contain, spawn: Spawn,
              second_disk: Optional[Path] = None) -> Run:
        """Start the emulator booting @disk; @second_disk, when given, is
        the machine's second hard disk (a hypervisor's guest)."""
        raise NotImplementedError

    can_hold = False                # make run HOLD=1: keep the last screen

    def display(self, window: bool, terminal: bool) -> tuple[str, bool]:
        """`make run`'s screen: (display, takes_terminal), for a machine
        with a window system (@window) or a terminal (@terminal)."""
        raise NotImplementedError

    def quit_hint(self, display: str) -> str:
        """How a person stops a `make run` early on @display."""
        return "the lesson powers off by itself; press Ctrl-C to quit earlier"

    def inspect(self, run: Run, commands, serial: str,
                pid: Optional[int] = None) -> dict:
        """Run @commands (a list, or f(serial, command) -> dict) in the
        emulator's monitor while the guest is stopped where the caller
        asked; {} for an emulator without one. @pid: the emulator's own
        process (inside a sandbox, run.proc is bwrap)."""
        return {}

    can_command_running = False     # command_running() works (on_match=)

    def command_running(self, run: Run, commands, serial: str) -> dict:
        """Run @commands (as inspect()'s) in the emulator's monitor and let
        the guest go on: boot(on_match=). Only a runner that sets
        can_command_running has it."""
        raise NotImplementedError

    def where_hung(self, run: Run, signal_pid: int) -> dict:
        """Where the CPU of a guest that never powered off is, as
        BootResult.registers ({} if the emulator will not say)."""
        return {}

    def classify(self, result, run: Run, log: str) -> None:
        """Turn an exit into result.outcome and result.diagnosis, from the
        exit status, @log (the end of the emulator's log) and
        result.status (the guest's own power-off line, when it printed
        one)."""
        raise NotImplementedError


# ---------------------------------------------------------------- power-off
def power_status(serial: str) -> Optional[int]:
    """The status of the last kit power line in @serial (0: PASS), or None
    without one."""
    power = None
    for power in POWER_LINE.finditer(serial):
        pass                                # keep the last one
    if power is None:
        return None
    return 0 if power.group(1) == "PASS" else int(power.group(2))


def powered_off(result) -> None:
    """Set result.outcome and .diagnosis of a guest that wrote the kit's
    power-off port, from its own status line (result.status)."""
    if not result.has_power_line:
        result.outcome = "fail"
        result.diagnosis = ("powered off without the kit's status line "
                            "(\"[kit] power off: ...\")")
        return
    result.outcome = "pass" if result.status == 0 else "fail"
    result.diagnosis = "powered off: " + (
        "PASS" if result.status == 0 else f"FAIL (status {result.status})")


# ---------------------------------------------------------------- files
def read_serial(path: Path, limit: int) -> bytes:
    """COM1 as written so far, at most @limit + 1 bytes."""
    try:
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except FileNotFoundError:
        return b""


def decode(raw: bytes) -> str:
    """COM1 bytes as the tests read them: UTF-8, line ends folded."""
    return raw.decode("utf-8", "replace").replace("\r\n", "\n").replace(
        "\r", "")


def read_end(path: Path, size: int = LOG_READ) -> str:
    """The last @size bytes of @path as text ("" if it is missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read(size).decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(read_end(path, 64 << 10).splitlines()[-lines:])


def drain_pty(fd: int, keep: bytearray) -> None:
    """Read a terminal display forever so that it never blocks."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        keep.extend(data)
        del keep[:-65536]


# ---------------------------------------------------------------- exceptions
EXCEPTION_NAMES = {
    0x00: "#DE divide error", 0x01: "#DB debug", 0x02: "NMI",
    0x03: "#BP breakpoint", 0x04: "#OF overflow", 0x05: "#BR bound range",
    0x06: "#UD invalid opcode", 0x07: "#NM device not available",
    0x08: "#DF double fault", 0x0A: "#TS invalid TSS",
    0x0B: "#NP segment not present", 0x0C: "#SS stack fault",
    0x0D: "#GP general protection", 0x0E: "#PF page fault",
    0x10: "#MF x87 error", 0x11: "#AC alignment check",
    0x12: "#MC machine check", 0x13: "#XM SIMD error",
}


# ---------------------------------------------------------------- CPU state
CR0_PE = 1 << 0                     # protection enable
EFER_LMA = 1 << 10                  # long mode active
DESC_L = 1 << 21                    # CS descriptor, high dword: 64-bit code
DESC_DB = 1 << 22                   # CS descriptor, high dword: 32-bit code


def cpu_mode(cr0: int, efer: int = 0, cs_flags: Optional[int] = None) -> str:
    """Which mode the CPU executes in, from CR0, EFER and the high dword of
    the CS descriptor (QEMU's register dump shows it as the fourth field of
    the CS line, Bochs' `sreg` as dh=). Without @cs_flags: a best guess."""
    if not cr0 & CR0_PE:
        return "real mode"
    if efer & EFER_LMA:
        if cs_flags is None or cs_flags & DESC_L:
            return "64-bit long mode"
        return "compatibility mode"
    if cs_flags is not None and not cs_flags & DESC_DB:
        return "16-bit protected mode"
    return "32-bit protected mode"


def cpu_state_line(regs: dict) -> str:
    """One line from a BootResult.registers dict: where, in which mode,
    and the registers that explain most crashes (CR2: the address of the
    last page fault; CR3: the page tables in use)."""
    mode = regs.get("mode", "")
    parts = [mode] if mode else []
    if "rip" in regs:
        if mode == "real mode" and "cs" in regs:
            linear = regs["cs"] * 16 + regs["rip"]
            parts.append(f"CS:IP={regs['cs']:04x}:{regs['rip']:04x} "
                         f"(linear {linear:#x})")
        elif "cs" in regs:
            parts.append(f"CS={regs['cs']:#06x} RIP={regs['rip']:#x}")
        else:
            parts.append(f"RIP={regs['rip']:#x}")
    for name in ("rsp", "cr0", "cr2", "cr3"):
        if name in regs:
            parts.append(f"{name.upper()}={regs[name]:#x}")
    if regs.get("instruction"):
        parts.append(f"next instruction: {regs['instruction']}")
    return ", ".join(parts)


