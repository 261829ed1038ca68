"""The emulators the kit boots on, one runner each (see base.py).

    runner("qemu")   kit/emulators/qemu.py: TCG, or KVM as Machine(accel=)
    runner("bochs")  kit/emulators/bochs.py: VMX with EPT

A new way to boot (say, a lesson as the guest of another lesson's
hypervisor) is a Runner subclass registered here.
"""
from __future__ import annotations

from .base import EmulatorMissing, Machine, Run, Runner
from .bochs import Bochs
from .qemu import Qemu

RUNNERS: dict[str, Runner] = {r.name: r for r in (Qemu(), Bochs())}
NAMES = tuple(RUNNERS)


def runner(name: str) -> Runner:
    """The runner called @name; KeyError names the known ones."""
    try:
        return RUNNERS[name]
    except KeyError:
        raise KeyError(f"unknown emulator {name!r} (choose from "
                       f"{', '.join(NAMES)})") from None


__all__ = ["EmulatorMissing", "Machine", "NAMES", "RUNNERS", "Run", "Runner",
           "runner"]
