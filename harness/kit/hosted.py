"""A lesson booted as the guest of a hypervisor lesson: its part of COM1.

emu.boot(image, "bochs", host=hypervisor_image) boots Bochs from the
hypervisor's disk (ata0-master) with the guest's own image as ata0-slave
(lesson 07, VMX); on QEMU the guest is the second IDE disk (lesson 09,
SVM). The variants of the lesson tests are named EMU-under-NN.
Both write to COM1; the hypervisor frames the guest's bytes and then says
how the guest ended, each line ending in "\\r\\n":

    [hv] ...                             the hypervisor's own lines
    [hv] ---- guest ----                 START: the guest's bytes follow
    ...                                  the guest, byte for byte
    [hv] ---- guest stopped ----         END (after a "\\r\\n" of its own)
    [hv] stop: guest powered off         or "guest triple fault ...", or
                                         why else it stopped the guest
    [hv] guest status: PASS              PASS, FAIL or none
    [hv] exits: CPUID=3 ... (total 9)    VM exits by reason
    [hv] time: G TSC ticks in the guest, H in the hypervisor
    [kit] power off: PASS                the hypervisor's own power-off

The guest's part runs from the first START to the last END, so that a
guest that prints a marker itself cannot cut its part short; without END
(a hang, a flood) it runs to the end of COM1. Everything here is a pure
function of COM1's bytes, except settle(), which applies them to a
BootResult the way a native boot of the guest would have been judged.
"""
from __future__ import annotations

import re
from typing import Optional

from .emulators.base import POWER_LINE, decode, power_status, powered_off

START = b"[hv] ---- guest ----\r\n"
END = b"\r\n[hv] ---- guest stopped ----\r\n"
STOP = re.compile(r"^\[hv\] stop: (.*?)\s*$", re.M)
GUEST_STATUS = re.compile(r"^\[hv\] guest status: (PASS|FAIL|none)\s*$", re.M)
EXITS = re.compile(r"^\[hv\] exits: (.*)$", re.M)
EXIT_COUNT = re.compile(r"(\S+)=(\d+)")
TOTAL = re.compile(r"\(total (\d+)\)")
TIME = re.compile(r"^\[hv\] time: (\d+) TSC ticks in the guest, (\d+) in "
                  r"the hypervisor", re.M)
VARIANT = re.compile(r"([a-z]+)-under-(\d\d)$")


# ---------------------------------------------------------------- variants
def variant(emulator: str, host: str) -> str:
    """The `emulator` of a test booted on @emulator under lesson @host's
    hypervisor: its pytest id, "bochs-under-07", "qemu-under-09"."""
    return f"{emulator}-under-{host}"


def host_of(emulator: str) -> Optional[str]:
    """The hosting lesson's number of a variant ("07"), None for a plain
    emulator name."""
    match = VARIANT.match(emulator)
    return match[2] if match else None


def machine_of(emulator: str) -> str:
    """The emulator a variant boots on ("bochs" for "bochs-under-07");
    a plain emulator name as it is."""
    match = VARIANT.match(emulator)
    return match[1] if match else emulator


# ---------------------------------------------------------------- cutting
def cut(com1):
    """(before, guest, after) of COM1, as bytes or as text from decode():
    the hypervisor's part before START, the guest's (None: it never
    started), and the hypervisor's after the last END (None: no END)."""
    start, end = (START, END) if isinstance(com1, bytes) else \
        (decode(START), decode(END))
    first = com1.find(start)
    if first < 0:
        return com1, None, None
    begin = first + len(start)
    last = com1.rfind(end, begin)
    if last < 0:
        return com1[:first], com1[begin:], None
    return com1[:first], com1[begin:last], com1[last + len(end):]


def guest_text(raw: bytes) -> Optional[str]:
    """The guest's part of COM1, decoded as tests read it (None: the guest
    has not started)."""
    guest = cut(raw)[1]
    return None if guest is None else decode(guest)


def hypervisor_text(serial: str) -> str:
    """What the hypervisor itself printed, from the whole decoded
    transcript (BootResult.host["serial"]): the guest's part left out."""
    before, guest, after = cut(serial)
    if guest is None:
        return before
    return (before + decode(START) + f"... the guest's {len(guest)} "
            "characters ...\n" + (decode(END) + after if after is not None
                                   else ""))


def last_line(raw: bytes) -> Optional[str]:
    """The hypervisor's last "[hv] " line before the guest; without one,
    its last line but the kit's power line (None: it printed nothing)."""
    lines = [line for line in decode(cut(raw)[0]).splitlines()
             if line.strip() and not POWER_LINE.search(line)]
    own = [line for line in lines if line.startswith("[hv] ")]
    return (own or lines or [None])[-1]


# ---------------------------------------------------------------- the report
def report(after: Optional[bytes]) -> dict:
    """What the hypervisor said after END: {"stop", "guest_status",
    "exits", "total_exits", "guest_ticks", "host_ticks"}, None (or {} for
    exits) for what it did not print."""
    text = decode(after or b"")
    stop = STOP.search(text)
    status = GUEST_STATUS.search(text)
    exits = EXITS.search(text)
    total = TOTAL.search(exits[1]) if exits else None
    ticks = TIME.search(text)
    return {
        "stop": stop[1] if stop else None,
        "guest_status": status[1] if status else None,
        "exits": {name: int(count) for name, count in
                  EXIT_COUNT.findall(exits[1])} if exits else {},
        "total_exits": int(total[1]) if total else None,
        "guest_ticks": int(ticks[1]) if ticks else None,
        "host_ticks": int(ticks[2]) if ticks else None,
    }


def host_record(raw: bytes) -> dict:
    """BootResult.host of a hosted boot: the whole transcript ("serial")
    and the hypervisor's report (see report())."""
    return {"serial": decode(raw), **report(cut(raw)[2])}


# ---------------------------------------------------------------- verdict
def settle(result) -> None:
    """Make @result, a boot of the whole machine as emu.boot judged it,
    the guest's: serial, raw_serial and status from the guest's part,
    outcome and diagnosis as a native boot of the guest would say them,
    the hypervisor's side in result.host."""
    raw = result.raw_serial
    guest = cut(raw)[1]
    result.host = host_record(raw)
    machine = result.diagnosis
    if guest is None:
        said = last_line(raw)
        result.serial, result.raw_serial, result.status = "", b"", None
        result.outcome = "fail"
        result.diagnosis = (
            "the hypervisor never started the guest (its last line: "
            f"{said!r})" if said else "the hypervisor never started the "
            "guest (it printed nothing)") + f"; the machine: {machine}"
        return
    result.raw_serial, result.serial = guest, decode(guest)
    result.status = power_status(result.serial)
    stop = result.host["stop"]
    if result.outcome in ("hang", "flood", "stopped", "emulator-error"):
        if stop:                        # as emu.boot decided, and why
            result.diagnosis += f" (the hypervisor had stopped the guest: " \
                                f"{stop})"
        return
    if stop is None:
        result.outcome = "fail"
        result.diagnosis = ("the machine ended without the hypervisor saying "
                            f"why the guest stopped; the machine: {machine}")
    elif stop.startswith("guest powered off"):
        powered_off(result)
    elif stop.startswith("guest triple fault"):
        result.outcome, result.diagnosis = "triple-fault", stop
    else:
        result.outcome = "fail"
        result.diagnosis = f"hypervisor stopped the guest: {stop}"
