"""The QEMU runner: TCG (or KVM, as an option of the machine), COM1 to a
file, the human monitor on a Unix socket, the -d int log for forensics.

How QEMU reports the end of a run: isa-debug-exit makes it exit with
(code << 1) | 1: 33 pass, 35 fail. With -no-reboot a triple fault exits
with 0 and its -d log says "Triple fault"; -d int records the exceptions
that led there.
"""
from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Optional

from .base import (EXCEPTION_NAMES, Machine, Run, Runner, cpu_mode,
                   kit_constants, tail)

QEMU = "qemu-system-x86_64"
# The kit's power-off (common/include/power.h) writes DEBUG_EXIT_PASS or
# _FAIL to isa-debug-exit's port; QEMU exits with (code << 1) | 1.
POWER = kit_constants("power.h")
QEMU_EXIT_PASS = (POWER["DEBUG_EXIT_PASS"] << 1) | 1
QEMU_EXIT_FAIL = (POWER["DEBUG_EXIT_FAIL"] << 1) | 1
MONITOR_CAP = 1 << 20               # bytes one monitor answer may have


# ---------------------------------------------------------------- monitor
class MonitorError(OSError):
    """The monitor's answer took too long or was too large."""


class Monitor:
    """QEMU's human monitor (HMP) on a Unix socket: one command at a time.
    Each answer must arrive within @timeout seconds and MONITOR_CAP bytes:
    a command built from a guest's numbers (an `xp` of a huge size) cannot
    hold the harness past its deadline."""
    PROMPT = b"(qemu) "

    def __init__(self, path: str, timeout: float = 5.0):
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self._read_until_prompt()

    def _read_until_prompt(self) -> str:
        data = bytearray()
        deadline = time.monotonic() + self.timeout
        while not data.endswith(self.PROMPT):
            left = deadline - time.monotonic()
            if left <= 0:
                raise MonitorError(f"QEMU's monitor did not answer within "
                                   f"{self.timeout:g} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            data += chunk
            if len(data) > MONITOR_CAP:
                raise MonitorError(f"QEMU's monitor answered more than "
                                   f"{MONITOR_CAP} bytes")
        return data.decode("utf-8", "replace")

    def command(self, cmd: str) -> str:
        """Run @cmd and return its output without the echo and prompt."""
        self.sock.sendall(cmd.encode() + b"\n")
        out = self._read_until_prompt()
        out = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", out).replace("\r", "")
        lines = out.split("\n")
        if lines and cmd in lines[0]:
            lines = lines[1:]
        text = "\n".join(lines)
        if text.endswith("(qemu) "):
            text = text[: -len("(qemu) ")]
        return text.strip("\n")

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- keyboard
# The keys of a US keyboard, by the character each types: alone, then with
# Shift. QEMU's monitor names them as its QKeyCode enum does.
_KEYS = {**{c: c for c in "abcdefghijklmnopqrstuvwxyz0123456789"},
         " ": "spc", "\n": "ret", "\b": "backspace", "\t": "tab",
         "-": "minus", "=": "equal", "[": "bracket_left",
         "]": "bracket_right", ";": "semicolon", "'": "apostrophe",
         "`": "grave_accent", "\\": "backslash", ",": "comma", ".": "dot",
         "/": "slash"}
_SHIFTED = {**{c.upper(): c for c in "abcdefghijklmnopqrstuvwxyz"},
            **dict(zip("!@#$%^&*()", "1234567890")),
            **dict(zip('_+{}:"~|<>?', "-=[];'`\\,./"))}


def sendkey_commands(text: str, hold_ms: int = 10) -> list[str]:
    """The monitor commands that type @text on a US keyboard, one `sendkey`
    per character, each key held @hold_ms ms (QEMU presses, then releases
    it, and queues the next key after the release). "\\n" is Enter, "\\b"
    Backspace. A character with no key raises ValueError."""
    commands = []
    for c in text:
        if c in _KEYS:
            key = _KEYS[c]
        elif c in _SHIFTED:
            key = "shift-" + _KEYS[_SHIFTED[c]]
        else:
            raise ValueError(f"no key types {c!r} on a US keyboard")
        commands.append(f"sendkey {key} {hold_ms}")
    return commands


# ---------------------------------------------------------------- command
def command(disk: Path, work: Path, machine: Machine, display: str = "none",
            debug_exit: bool = True, interactive: bool = False,
            second_disk: Optional[Path] = None) -> list[str]:
    """QEMU's command line for one boot of @disk, everything in @work:
    COM1 to com1.txt, the -d log to qemu.log, the monitor on monitor.sock
    (unless @interactive: a person keeps it on Ctrl-Alt-2). @second_disk:
    the second IDE disk (a hypervisor's guest, for a future KVM path)."""
    cpu = machine.cpu or ("host" if machine.accel == "kvm" else "qemu64")
    cmd = [QEMU, "-machine", "pc", "-m", str(machine.memory_mib),
           "-cpu", cpu, "-smp", str(machine.cpus), "-nic", "none",
           "-no-reboot",
           "-drive", f"file={disk},format=raw,if=ide,snapshot=on",
           "-serial", f"file:{work / 'com1.txt'}",
           "-d", "int,cpu_reset,guest_errors", "-D", str(work / "qemu.log")]
    if second_disk:
        cmd += ["-drive", f"file={second_disk},format=raw,index=1,if=ide"]
    if machine.icount:               # time counted in instructions
        cmd += ["-icount", machine.icount]
    if machine.accel != "tcg":       # KVM: the host's own CPU
        cmd += ["-accel", machine.accel]
    if not interactive:              # a person keeps the monitor on Ctrl-Alt-2
        cmd += ["-monitor",
                f"unix:{work / 'monitor.sock'},server=on,wait=off"]
    if debug_exit:
        cmd += ["-device", f"isa-debug-exit,iobase="
                f"{POWER['DEBUG_EXIT_PORT']:#x},iosize=0x04"]
    else:                            # make run HOLD=1: keep the last screen
        cmd += ["-action", "shutdown=pause"]
    if display == "none":
        cmd += ["-display", "none"]
    elif display == "curses":
        cmd += ["-display", "curses"]
    else:                            # a window on $DISPLAY
        cmd += ["-display", "gtk"] if display == "gtk" else []
    return cmd


class Qemu(Runner):
    name = "qemu"
    process_names = (QEMU,)
    log_name = "qemu.log"
    can_host = True                 # lesson 09: SVM with NPT under TCG

    can_hold = True

    def display(self, window, terminal):
        if window:
            return "gtk", False
        return ("curses", True) if terminal else ("none", False)

    def quit_hint(self, display):
        if display == "curses":
            return ("the lesson powers off by itself; to quit earlier press "
                    "Esc then 2 and type quit")
        if display == "gtk":
            return ("the lesson powers off by itself; close the window to "
                    "quit earlier")
        return super().quit_hint(display)

    def have(self) -> Optional[str]:
        if not shutil.which(QEMU):
            return f"{QEMU} is not installed (Debian package qemu-system-x86)"
        return None

    def start(self, disk, work, machine, *, display, interactive,
              debug_exit, contain, spawn, second_disk=None) -> Run:
        cmd = contain(command(disk, work, machine, display, debug_exit,
                              interactive, second_disk))
        std = None if interactive else subprocess.DEVNULL
        with open(work / "stderr.txt", "wb") as err:
            proc = spawn(cmd, stdin=std, stdout=std,
                         stderr=None if interactive else err,
                         start_new_session=not interactive, cwd=work)
        return Run(proc, work / "com1.txt", work / self.log_name,
                   None if interactive else work / "monitor.sock")

    def inspect(self, run, commands, serial, pid=None) -> dict:
        if not commands or not run.monitor_path:
            return {}
        mon = Monitor(str(run.monitor_path))
        try:
            if callable(commands):
                return commands(serial, mon.command)
            return {cmd: mon.command(cmd) for cmd in commands}
        finally:
            mon.close()

    can_command_running = True      # the monitor never stops the guest

    def command_running(self, run, commands, serial) -> dict:
        try:
            return self.inspect(run, commands, serial)
        except OSError as error:    # QEMU gone meanwhile: the boot says why
            return {"on_match": f"QEMU's monitor failed: {error}"}

    def where_hung(self, run, signal_pid) -> dict:
        if not run.monitor_path:
            return {}
        try:
            mon = Monitor(str(run.monitor_path), timeout=2)
            try:
                return parse_qemu_registers(mon.command("info registers"))
            finally:
                mon.close()
        except OSError:
            return {}

    def classify(self, result, run, log) -> None:
        rc = result.exit_status
        stderr = tail(run.log_path.with_name("stderr.txt"), 5)
        if rc == QEMU_EXIT_PASS and result.status == 0:
            result.outcome, result.diagnosis = "pass", "powered off: PASS"
        elif rc in (QEMU_EXIT_PASS, QEMU_EXIT_FAIL):
            result.outcome = "fail"
            result.diagnosis = ("powered off: FAIL" +
                                (f" (status {result.status})"
                                 if result.status else ""))
        elif rc == 0 and "Triple fault" in log:
            result.outcome = "triple-fault"
            result.registers = last_exception_state(log)
            result.diagnosis = ("triple fault: the CPU reset itself after "
                                f"{triple_fault_chain(log)}"
                                f"{where_from_log(log)}")
        elif rc == 0:
            result.outcome = "reset"
            result.diagnosis = ("the machine reset or shut down without the "
                                "kit's power-off (no isa-debug-exit status)")
        else:
            result.outcome = "emulator-error"
            result.diagnosis = (f"QEMU exited with status {rc}: "
                                f"{stderr.strip() or 'no message'}")


# ---------------------------------------------------------------- forensics
def parse_qemu_registers(dump: str) -> dict:
    """The registers of one QEMU register dump (a -d int log entry or the
    monitor's `info registers`), as BootResult.registers."""
    def field(pattern):
        m = re.search(pattern, dump, re.M)
        return int(m.group(1), 16) if m else None
    regs = {}
    for key, pattern in (("rip", r"\b[RE]IP=([0-9a-f]+)"),
                         ("rsp", r"\b[RE]SP=([0-9a-f]+)"),
                         ("cr0", r"\bCR0=([0-9a-f]+)"),
                         ("cr2", r"\bCR2=([0-9a-f]+)"),
                         ("cr3", r"\bCR3=([0-9a-f]+)")):
        value = field(pattern)
        if value is not None:
            regs[key] = value
    cs = re.search(r"^CS =([0-9a-f]{4}) [0-9a-f]+ [0-9a-f]+ ([0-9a-f]+)",
                   dump, re.M)
    if cs:
        regs["cs"] = int(cs.group(1), 16)
    if "cr0" in regs:
        regs["mode"] = cpu_mode(regs["cr0"], field(r"\bEFER=([0-9a-f]+)") or 0,
                                int(cs.group(2), 16) if cs else None)
    return regs if "rip" in regs else {}


def last_exception_state(log: str) -> dict:
    """The registers QEMU's -d int log printed with the last exception it
    tried to deliver. QEMU prints them only outside real mode: in real mode
    this is {} (Bochs prints them in every mode)."""
    entries = list(re.finditer(r"^\s*\d+: v=[0-9a-f]{2} .*$", log, re.M))
    if not entries:
        return {}
    dump = log[entries[-1].end():].split("check_exception", 1)[0]
    return parse_qemu_registers(dump)


def triple_fault_chain(log: str) -> str:
    """'#GP general protection -> #DF double fault' from QEMU's -d int log."""
    # Outside real mode each delivery attempt is logged as "N: v=XX ... pc=":
    # the attempts at the pc of the last one are the chain, starting with the
    # exception that started it all (a #UD that could not be delivered is
    # logged as v=06 before the #GP it caused).
    matches = list(re.finditer(
        r"^\s*\d+: v=([0-9a-f]{2}) .*? pc=([0-9a-f]+)", log, re.M))
    attempts = [(int(m.group(1), 16), m.group(2)) for m in matches]
    finals = re.findall(r"check_exception old: 0x8 new (0x[0-9a-f]+)", log)
    first = log.rfind("check_exception old: 0xffffffff")
    if attempts and finals and matches[-1].start() > first:
        chain = []
        for vector, pc in reversed(attempts):
            if pc != attempts[-1][1] or vector >= 0x20:
                break
            chain.insert(0, vector)
        chain.append(int(finals[-1], 16))
        return " -> ".join(EXCEPTION_NAMES.get(v, f"vector {v:#x}")
                           for v in chain)
    # Each line is one exception raised while delivering another: "old" is
    # the one being delivered (0xffffffff: none), "new" the one raised. A
    # fault during a fault becomes #DF (old 0x8); a fault during #DF resets.
    events = [(int(m.group(1), 16), int(m.group(2), 16)) for m in re.finditer(
        r"check_exception old: (0x[0-9a-f]+) new (0x[0-9a-f]+)", log)]
    starts = [i for i, (old, _) in enumerate(events) if old == 0xFFFFFFFF]
    if not starts:
        return "no exception recorded"
    chain = []
    for old, new in events[starts[-1]:]:
        if old != 0xFFFFFFFF and (not chain or chain[-1] != old):
            chain.append(old)
        if not chain:
            chain.append(new)
    chain.append(events[-1][1])
    return " -> ".join(EXCEPTION_NAMES.get(v, f"vector {v:#x}")
                       for v in chain)


def where_from_log(log: str) -> str:
    """The instruction pointer of the last interrupt QEMU logged."""
    hits = re.findall(r"pc=([0-9a-f]+)", log)
    return f" at pc={int(hits[-1], 16):#x}" if hits else ""
