"""Boot a disk image on QEMU or Bochs, stream COM1, and say how it ended.

One function, boot(), serves the tests, `make run` and `make bench`. It
  * copies the image into a private temporary directory (the original is
    never written: patched copies, snapshot disks), optionally patching
    parameters into the copy;
  * starts the emulator with no network and COM1 going to a file;
  * follows that file while the guest runs, stopping the guest when it
    powers off, triple-faults, runs past its timeout, or prints more than
    the serial cap (a guest stuck in a print loop);
  * always kills the emulator's whole process group, whatever happened;
  * returns a BootResult whose `diagnosis` is one line a student can act on,
    and, after a triple fault or a hang, `registers`: where the CPU was and
    in which mode (QEMU's -d int log or monitor; Bochs' panic dump, or its
    debugger, stopped with SIGINT as Ctrl-C would, for a hang).

How each emulator reports the end of a run:
  QEMU  isa-debug-exit makes it exit with (code << 1) | 1: 33 pass, 35 fail.
        With -no-reboot a triple fault exits with 0 and its -d log says
        "Triple fault"; -d int records the exceptions that led there.
  Bochs writing "Shutdown" to port 0x8900 exits with status 1 and logs
        "shutdown requested"; with reset_on_triple_fault=0 a triple fault is
        a panic, "3rd (13) exception with no resolution". Bochs has no exit
        status for pass/fail, so both emulators rely on the kit's last serial
        line, "[kit] power off: PASS" (common/power.c), for that.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import pty
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from . import sandbox

EMULATORS = ("qemu", "bochs")
QEMU = "qemu-system-x86_64"
BOCHS = "bochs"
# The names the emulators' processes have (Debian's bochs is a script that
# runs bochs-bin), to find them inside a sandbox.
PROCESS_NAMES = {"qemu": ("qemu-system-x86_64",), "bochs": ("bochs-bin", "bochs")}
BOCHS_SHARE = Path("/usr/share/bochs")
VGABIOS = Path("/usr/share/vgabios/vgabios.bin")
BOCHS_CPU = "corei7_skylake_x"      # VMX with EPT and unrestricted guest
BOCHS_CYLINDER = 16 * 63 * 512      # Bochs sizes flat disks in cylinders
QEMU_EXIT_PASS = (0x10 << 1) | 1    # common/power.h: DEBUG_EXIT_PASS
QEMU_EXIT_FAIL = (0x11 << 1) | 1    # common/power.h: DEBUG_EXIT_FAIL
# A guest can make its emulator log heavily (an interrupt storm under QEMU's
# -d int): past LOG_CAP bytes the boot is stopped as a flood, and only the
# last LOG_READ bytes of a log are ever read. The kit's lessons log < 64 KiB.
LOG_CAP = 16 << 20
LOG_READ = 1 << 20
MONITOR_CAP = 1 << 20               # bytes one monitor answer may have
# Set by grading (kit.gradeplugin): every emulator then runs in this
# sandbox (kit/sandbox.py), as its user, seeing only its own work folder.
SANDBOX: Optional[sandbox.Sandbox] = None
POWER_LINE = re.compile(r"\[kit\] power off: (PASS|FAIL \(status (-?\d+)\))")

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


class EmulatorMissing(RuntimeError):
    """The emulator (or its firmware) is not installed."""


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
        path = Path(self.workdir) / ("qemu.log" if self.emulator == "qemu"
                                     else "bochs.log")
        return path if path.exists() else None

    def report(self) -> str:
        """The diagnosis and transcript, as a failing test shows them."""
        text = f"{self.emulator}: {self.diagnosis}\n"
        if self.registers:
            text += f"--- CPU state ---\n{cpu_state_line(self.registers)}\n"
        text += "--- COM1 transcript ---\n"
        text += self.serial[-8000:] if self.serial else "(nothing)\n"
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
    if emulator == "qemu":
        if not shutil.which(QEMU):
            return f"{QEMU} is not installed (Debian package qemu-system-x86)"
    elif emulator == "bochs":
        if not shutil.which(BOCHS):
            return "bochs is not installed (Debian package bochs)"
        if not (BOCHS_SHARE / "BIOS-bochs-latest").exists():
            return "the Bochs BIOS is missing (Debian package bochsbios)"
        if not VGABIOS.exists():
            return "the VGA BIOS is missing (Debian package vgabios)"
        if not list(Path("/usr/lib").glob("*/bochs/plugins/libbx_term_gui*")):
            return "Bochs' terminal display is missing (Debian package bochs-term)"
    else:
        return f"unknown emulator {emulator!r} (choose from {', '.join(EMULATORS)})"
    return None


# ---------------------------------------------------------------- parameters
def load_params(params_json: Path) -> dict:
    """{name: entry} from a lesson's params.json (see common/tools/params.py)."""
    with open(params_json) as f:
        return {p["name"]: p for p in json.load(f)["params"]}


def encode_param(entry: dict, value) -> bytes:
    """The bytes that set parameter @entry to @value, checked for range."""
    size = entry["size"]
    if entry["type"] == "uint":
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


# ---------------------------------------------------------------- QEMU monitor
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


# ---------------------------------------------------------------- boot
@dataclasses.dataclass
class _Run:
    proc: subprocess.Popen
    serial_path: Path
    log_path: Path
    monitor_path: Optional[Path] = None
    pty_master: Optional[int] = None
    pty_thread: Optional[threading.Thread] = None


def _qemu_command(disk: Path, work: Path, memory_mib: int, cpus: int,
                  display: str, debug_exit: bool,
                  interactive: bool, qemu_cpu: Optional[str] = None
                  ) -> list[str]:
    cmd = [QEMU, "-machine", "pc", "-m", str(memory_mib),
           "-cpu", qemu_cpu or "qemu64",
           "-smp", str(cpus), "-nic", "none", "-no-reboot",
           "-drive", f"file={disk},format=raw,if=ide,snapshot=on",
           "-serial", f"file:{work / 'com1.txt'}",
           "-d", "int,cpu_reset,guest_errors", "-D", str(work / "qemu.log")]
    if qemu_cpu == "host":           # the host's own CPU: only under KVM
        cmd += ["-accel", "kvm"]
    if not interactive:              # a person keeps the monitor on Ctrl-Alt-2
        cmd += ["-monitor",
                f"unix:{work / 'monitor.sock'},server=on,wait=off"]
    if debug_exit:
        cmd += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    else:                            # make run HOLD=1: keep the last screen
        cmd += ["-action", "shutdown=pause"]
    if display == "none":
        cmd += ["-display", "none"]
    elif display == "curses":
        cmd += ["-display", "curses"]
    else:                            # a window on $DISPLAY
        cmd += ["-display", "gtk"] if display == "gtk" else []
    return cmd


def _bochs_config(disk: Path, work: Path, memory_mib: int, cpus: int,
                  cpu_model: str, display: str,
                  magic_break: bool = False, watched: bool = True) -> Path:
    # ips: how many instructions make one emulated second. Timed waits (the
    # BIOS's disk time-outs, the UART sending at 115200 baud) cost the guest
    # that many polling instructions; 4 million (Bochs' default) keeps every
    # lesson about as fast as a bare boot, as `make bench` measures.
    cpu = f"model={cpu_model}, reset_on_triple_fault=0, ips=4000000"
    if cpus > 1:
        cpu += f", count={cpus}"
    # The BIOS option "fastboot" skips its boot-menu delay (three emulated
    # seconds of polling for F12: 12 million instructions at this ips).
    # Nobody looks at the screen of a test boot (watched=False): redraw it
    # once per emulated second instead of Bochs' default, which costs time.
    vga = "" if watched else "vga: update_freq=1\n"
    rc = work / "bochsrc"
    rc.write_text(f"""\
# Generated by harness/kit/emu.py for one boot; see the Bochs manual.
megs: {memory_mib}
romimage: file={BOCHS_SHARE / 'BIOS-bochs-latest'}, options=fastboot
vgaromimage: file={VGABIOS}
cpu: {cpu}
ata0-master: type=disk, path={disk}, mode=flat
boot: disk
com1: enabled=1, mode=file, dev={work / 'com1.txt'}
display_library: {display}
{vga}log: {work / 'bochs.log'}
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
clock: sync=none, time0=1
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
""")
    if magic_break:                  # make debug: `xchg bx, bx` stops Bochs
        with open(rc, "a") as f:     # in its debugger (BOCHS_BREAK)
            f.write("magic_break: enabled=1\n")
    (work / "continue.rc").write_text("c\n")  # Bochs' debugger: just run
    return rc


def _drain_pty(fd: int, keep: bytearray) -> None:
    """Read Bochs' terminal display forever so that it never blocks."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        keep.extend(data)
        del keep[:-65536]


def _kill(run: _Run) -> None:
    """Stop the emulator and everything it started. Idempotent. In a
    sandbox the emulator goes first, so that bwrap ends by itself and is
    reaped (killed all at once, its inner process would be left to init)."""
    if SANDBOX is not None and run.proc.poll() is None:
        for names in PROCESS_NAMES.values():
            pid = sandbox.descendant(run.proc.pid, names)
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


def _read_serial(path: Path, limit: int) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(limit + 1)
    except FileNotFoundError:
        return b""


def _read_end(path: Path, size: int = LOG_READ) -> str:
    """The last @size bytes of @path as text ("" if it is missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read(size).decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(_read_end(path, 64 << 10).splitlines()[-lines:])


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


def _qemu_last_exception_state(log: str) -> dict:
    """The registers QEMU's -d int log printed with the last exception it
    tried to deliver. QEMU prints them only outside real mode: in real mode
    this is {} (Bochs prints them in every mode)."""
    entries = list(re.finditer(r"^\s*\d+: v=[0-9a-f]{2} .*$", log, re.M))
    if not entries:
        return {}
    dump = log[entries[-1].end():].split("check_exception", 1)[0]
    return parse_qemu_registers(dump)


def _qemu_triple_fault_chain(log: str) -> str:
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


def _qemu_where(log: str) -> str:
    """The instruction pointer of the last interrupt QEMU logged."""
    hits = re.findall(r"pc=([0-9a-f]+)", log)
    return f" at pc={int(hits[-1], 16):#x}" if hits else ""


def boot(image, emulator: str = "qemu", *, memory_mib: int = 32,
         cpus: int = 1, timeout: Optional[float] = 20.0, serial_cap: int = 1 << 20,
         params: Optional[dict] = None, params_json=None,
         bochs_cpu: str = BOCHS_CPU, qemu_cpu: Optional[str] = None,
         until: Optional[str] = None, monitor_commands=None,
         on_serial: Optional[Callable[[str], None]] = None,
         display: str = "none", interactive: bool = False,
         debug_exit: bool = True, keep: bool = False,
         share: Optional[Path] = None) -> BootResult:
    """Boot @image and watch it until it ends (see the module docstring).

    params/params_json: patch these parameters into the private copy.
    until: stop the guest (outcome "stopped") once COM1 matches this regex,
        after running @monitor_commands in QEMU's monitor (results in
        BootResult.monitor). Used to inspect a guest parked at a known point.
        @monitor_commands is a list of commands, or a function
        f(serial_text, command) -> dict that runs what it needs through
        command(str) -> str (when later commands depend on earlier answers).
    bochs_cpu/qemu_cpu: the CPU model (Bochs `cpu: model=`, QEMU `-cpu`).
    on_serial: called with each new piece of COM1 text as it arrives.
    timeout: seconds before the guest counts as hung; None waits forever.
    share: a folder the emulator may write in, for files @monitor_commands
        ask it to write (screendump); inside a sandbox, the only one besides
        the boot's own.
    display/interactive/debug_exit: for `make run`; tests leave the defaults.
    """
    why = have(emulator)
    if why:
        raise EmulatorMissing(why)
    image = Path(image)
    if not image.is_file():
        raise FileNotFoundError(f"{image}: no such disk image (run make first)")
    data = bytearray(image.read_bytes())
    if len(data) < 512 or data[510:512] != b"\x55\xaa":
        return BootResult(emulator, "emulator-error", "",
                          f"{image} is not bootable: sector 0 does not end "
                          "with the 0x55 0xAA signature", 0.0)
    if params:
        if params_json is None:
            params_json = image.with_name("params.json")
        patch_image(data, load_params(Path(params_json)), params)

    work = Path(tempfile.mkdtemp(prefix=f"kit-{emulator}-"))
    disk = work / "disk.img"
    if emulator == "bochs":          # whole cylinders, or Bochs refuses it
        data.extend(bytes(-len(data) % BOCHS_CYLINDER))
    disk.write_bytes(bytes(data))

    start = time.monotonic()
    run = _start(emulator, disk, work, memory_mib, cpus, bochs_cpu, display,
                 interactive, debug_exit, qemu_cpu, share)
    try:
        result = _watch(run, emulator, start, timeout, serial_cap, until,
                        monitor_commands, on_serial)
    finally:
        _kill(run)
        if run.pty_thread:
            run.pty_thread.join(timeout=2)
    result.seconds = time.monotonic() - start
    if result.outcome not in ("hang", "flood"):  # those are decided already
        _classify(result, run, emulator)
    if keep:
        result.workdir = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return result


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


def _start(emulator, disk, work, memory_mib, cpus, bochs_cpu, display,
           interactive, debug_exit, qemu_cpu=None, share=None) -> _Run:
    serial = work / "com1.txt"
    if emulator == "qemu":
        cmd = _contain(_qemu_command(disk, work, memory_mib, cpus, display,
                                     debug_exit, interactive, qemu_cpu),
                       work, share, memory_mib)
        std = None if interactive else subprocess.DEVNULL
        with open(work / "stderr.txt", "wb") as err:
            proc = _spawn(cmd, stdin=std, stdout=std,
                                    stderr=None if interactive else err,
                                    start_new_session=not interactive,
                                    cwd=work)
        return _Run(proc, serial, work / "qemu.log",
                    None if interactive else work / "monitor.sock")
    rc = _bochs_config(disk, work, memory_mib, cpus, bochs_cpu,
                       display if display in ("term", "x", "sdl2")
                       else "term", watched=interactive)
    # -dbglog: what Bochs' debugger prints also goes to a file, which is
    # where _bochs_where() reads it (the terminal is full of screen codes).
    cmd = [BOCHS, "-q", "-f", str(rc), "-rc", str(work / "continue.rc"),
           "-dbglog", str(work / "debugger.log")]
    env = dict(os.environ, TERM=os.environ.get("TERM", "xterm") or "xterm")
    if interactive:                  # the user's own terminal shows the screen
        proc = subprocess.Popen(cmd, cwd=work, env=env)
        return _Run(proc, serial, work / "bochs.log")
    # Bochs' term display needs a terminal: give it a pseudo-terminal of a
    # fixed size so that it behaves the same with or without a tty (CI).
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env["TERM"] = "xterm"
    cmd = _contain(cmd, work, share, memory_mib, {"TERM": "xterm"})
    proc = _spawn(cmd, stdin=slave, stdout=slave, stderr=slave,
                            cwd=work, env=env, start_new_session=True)
    os.close(slave)
    screen = bytearray()
    thread = threading.Thread(target=_drain_pty, args=(master, screen),
                              daemon=True)
    thread.start()
    return _Run(proc, serial, work / "bochs.log", pty_master=master,
                pty_thread=thread)


def _log_flood(run: _Run) -> Optional[str]:
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


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").replace("\r\n", "\n").replace(
        "\r", "")


def _watch(run: _Run, emulator, start, timeout, serial_cap, until,
           monitor_commands, on_serial) -> BootResult:
    seen = 0
    pattern = re.compile(until) if until else None
    while True:
        exited = run.proc.poll() is not None
        raw = _read_serial(run.serial_path, serial_cap)
        if len(raw) > seen and on_serial:
            on_serial(_decode(raw[seen:]))
        seen = len(raw)
        text = _decode(raw[:serial_cap])
        raw = raw[:serial_cap]
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
        if pattern and pattern.search(text):
            result = BootResult(emulator, "stopped", text,
                                f"stopped at {until!r} as asked", 0.0,
                                raw_serial=raw)
            if monitor_commands and run.monitor_path:
                mon = Monitor(str(run.monitor_path))
                try:
                    if callable(monitor_commands):
                        result.monitor = monitor_commands(text, mon.command)
                    else:
                        for cmd in monitor_commands:
                            result.monitor[cmd] = mon.command(cmd)
                finally:
                    mon.close()
            return result
        if exited:
            return BootResult(emulator, "exited", text, "", 0.0,
                              exit_status=run.proc.returncode,
                              raw_serial=raw)
        if timeout is not None and time.monotonic() - start > timeout:
            where, regs = _where_hung(run, emulator)
            return BootResult(
                emulator, "hang", text,
                f"guest hung: no power-off within {timeout:g} s{where}", 0.0,
                registers=regs, raw_serial=raw)
        time.sleep(0.01)


def _where_hung(run: _Run, emulator) -> tuple[str, dict]:
    """Ask the emulator where the CPU is, before we kill it: the end of the
    diagnosis ("; the CPU was at ...") and BootResult.registers."""
    if emulator == "qemu":
        regs = {}
        if run.monitor_path:
            try:
                mon = Monitor(str(run.monitor_path), timeout=2)
                try:
                    regs = parse_qemu_registers(mon.command("info registers"))
                finally:
                    mon.close()
            except OSError:
                pass
    else:
        regs = _bochs_where(run)
    if not regs:
        return "", {}
    where = f"; the CPU was at RIP={regs['rip']:#x} ({regs.get('mode')})"
    if regs.get("mode") == "real mode" and "cs" in regs:
        where = (f"; the CPU was at {regs['cs']:04x}:{regs['rip']:04x} "
                 f"(real mode, linear {regs['cs'] * 16 + regs['rip']:#x})")
    if regs.get("instruction"):
        where += f": {regs['instruction']}"
    return where, regs


def _bochs_where(run: _Run) -> dict:
    """Where a running Bochs is: stop it in its debugger with SIGINT (what
    Ctrl-C does), read the "Next at" line it prints on stopping, then type
    `r`, `sreg` and `creg` on its terminal. Everything the debugger prints
    also goes to debugger.log (bochs -dbglog), free of the screen's escape
    codes, so that is where it is read. {} if Bochs does not answer."""
    log = run.serial_path.with_name("debugger.log")
    if run.pty_master is None or run.proc.poll() is not None:
        return {}

    def read() -> str:             # what it printed since we asked, capped
        try:
            with open(log, "rb") as f:
                f.seek(offset)
                return f.read(LOG_READ).decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_for(pattern: str, seconds: float) -> Optional[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and run.proc.poll() is None:
            text = read()
            if re.search(pattern, text):
                return text
            time.sleep(0.02)
        return None

    offset = log.stat().st_size if log.exists() else 0
    # In a sandbox, run.proc is bwrap: signal Bochs itself, as Ctrl-C would.
    pid = run.proc.pid if SANDBOX is None else \
        sandbox.descendant(run.proc.pid, PROCESS_NAMES["bochs"])
    if pid is None:
        return {}
    try:
        os.kill(pid, signal.SIGINT)
        if wait_for(r"Next at t=\d+\n.*\n", 2.0) is None:
            return {}
        os.write(run.pty_master, b"r\nsreg\ncreg\n")
        text = wait_for(r"EFER=0x[0-9a-f]+", 2.0)
    except OSError:
        return {}
    if text is None:
        return {}
    stop = re.search(r"\[0x([0-9a-f]+)\] ([0-9a-f]{4}):([0-9a-f]+) "
                     r"\([^)]*\): ([^;\n]*)", text)
    if not stop:
        return {}

    def hexval(pattern: str) -> int:
        m = re.search(pattern, text)
        return int(m.group(1).replace("_", ""), 16) if m else 0
    regs = {"cs": int(stop.group(2), 16), "rip": int(stop.group(3), 16),
            "instruction": " ".join(stop.group(4).split()),
            "rsp": hexval(r"rsp: ([0-9a-f_]+)"),
            "cr0": hexval(r"CR0=0x([0-9a-f]+)"),
            "cr2": hexval(r"CR2=page fault laddr=0x([0-9a-f]+)"),
            "cr3": hexval(r"CR3=0x([0-9a-f]+)")}
    cs_flags = re.search(r"cs:0x[0-9a-f]+, dh=0x([0-9a-f]+)", text)
    regs["mode"] = cpu_mode(regs["cr0"], hexval(r"EFER=0x([0-9a-f]+)"),
                            int(cs_flags.group(1), 16) if cs_flags else None)
    return regs


def _bochs_panic_state(log: str) -> dict:
    """The registers Bochs logs after a panic (a triple fault with
    reset_on_triple_fault=0), as BootResult.registers."""
    panic = log.rfind(">>PANIC<<")
    if panic < 0:
        return {}
    dump = log[panic:]

    def hexval(pattern: str) -> Optional[int]:
        m = re.search(pattern, dump)
        return int(m.group(1).replace("_", ""), 16) if m else None
    regs = {}
    for key, pattern in (("rip", r"\| [RE]IP=([0-9a-f_]+)"),
                         ("rsp", r"\b[RE]SP=([0-9a-f_]+)"),
                         ("cs", r"\|\s+CS:([0-9a-f]{4})\("),
                         ("cr0", r"CR0=0x([0-9a-f_]+)"),
                         ("cr2", r"CR2=0x([0-9a-f_]+)"),
                         ("cr3", r"CR3=0x([0-9a-f_]+)")):
        value = hexval(pattern)
        if value is not None:
            regs[key] = value
    state = re.search(r"CPU is in (.*?) mode", dump)
    bits = re.search(r"CS\.mode = (\d+) bit", dump)
    if state and bits:
        if state.group(1) == "real":
            regs["mode"] = "real mode"
        elif bits.group(1) == "64":
            regs["mode"] = "64-bit long mode"
        elif "compat" in state.group(1) or "long" in state.group(1):
            regs["mode"] = "compatibility mode"
        else:
            regs["mode"] = f"{bits.group(1)}-bit {state.group(1)} mode"
    return regs if "rip" in regs else {}


def _classify(result: BootResult, run: _Run, emulator: str) -> None:
    """Turn an exit (or a stop) into pass/fail/triple-fault/... + diagnosis."""
    log = _read_end(run.log_path)
    result.log_tail = _tail(run.log_path)
    power = None
    for power in POWER_LINE.finditer(result.serial):
        pass                              # keep the last one
    if power:
        result.status = 0 if power.group(1) == "PASS" else int(power.group(2))
    if result.outcome == "stopped":
        return
    rc = result.exit_status
    if emulator == "qemu":
        stderr = _tail(run.log_path.with_name("stderr.txt"), 5)
        if rc == QEMU_EXIT_PASS and result.status == 0:
            result.outcome, result.diagnosis = "pass", "powered off: PASS"
        elif rc in (QEMU_EXIT_PASS, QEMU_EXIT_FAIL):
            result.outcome = "fail"
            result.diagnosis = ("powered off: FAIL" +
                                (f" (status {result.status})"
                                 if result.status else ""))
        elif rc == 0 and "Triple fault" in log:
            result.outcome = "triple-fault"
            result.registers = _qemu_last_exception_state(log)
            result.diagnosis = ("triple fault: the CPU reset itself after "
                                f"{_qemu_triple_fault_chain(log)}"
                                f"{_qemu_where(log)}")
        elif rc == 0:
            result.outcome = "reset"
            result.diagnosis = ("the machine reset or shut down without the "
                                "kit's power-off (no isa-debug-exit status)")
        else:
            result.outcome = "emulator-error"
            result.diagnosis = (f"QEMU exited with status {rc}: "
                                f"{stderr.strip() or 'no message'}")
        return
    # Bochs: the log says why it stopped.
    if "shutdown requested" in log and power is not None:
        result.outcome = "pass" if result.status == 0 else "fail"
        result.diagnosis = "powered off: " + ("PASS" if result.status == 0
                                              else f"FAIL (status "
                                              f"{result.status})")
    elif "shutdown requested" in log:
        result.outcome = "fail"
        result.diagnosis = ("powered off without the kit's status line "
                            "(\"[kit] power off: ...\")")
    elif "exception with no resolution" in log:
        panic = re.search(r"exception\(\): (3rd .*)", log)
        rip = re.findall(r"\| (?:RIP|EIP)=([0-9a-f]+)", log)
        where = f" at RIP={int(rip[-1], 16):#x}" if rip else ""
        result.outcome = "triple-fault"
        result.registers = _bochs_panic_state(log)
        result.diagnosis = ("triple fault: the CPU gave up (Bochs: "
                            f"{panic.group(1).strip() if panic else 'panic'})"
                            f"{where}")
    else:
        panic = re.findall(r">>PANIC<< (.*)", log)
        result.outcome = "emulator-error"
        result.diagnosis = (f"Bochs stopped with status {rc}: " +
                            (panic[-1].strip() if panic else
                             "no reason in its log"))
