"""Where the lessons are, and what each one says it is.

A lesson is a folder lessons/NN-topic/ with a Makefile; everything the
harness, `make grade`, `make handout` and the book know of it comes from
that folder. Its Makefile says, in plain assignments read here:

    KIND      := kernel64        # bootsector, kernel32 or kernel64
    EMULATORS := bochs           # where it runs (default: qemu bochs)
    NEEDS     := vmx             # CPU features it needs (default: none)
    QEMU_CPU  := phenom          # optional: the CPU model each emulator
    BOCHS_CPU := corei7_skylake_x #  boots it with (default: the runner's)
    GUESTS    := 01 02 03 04     # a hypervisor: the lessons it boots as
                                 #  its guest (default: none)
    REFERENCES := 06             # lessons whose images its tests boot to
                                 #  compare with (default: none)
    QEMU_ICOUNT := shift=0,sleep=off # optional: QEMU's -icount, a clock
                                 #  that counts instructions (default: the
                                 #  host's clock)

A lesson that NEEDS vmx also gets a QEMU+KVM variant of its tests, run
where KVM really has nested VMX; a lesson some hypervisor lists in its
GUESTS, a variant of its Bochs tests booted under that hypervisor
(conftest.py).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
DEFAULT_EMULATORS = ("qemu", "bochs")
META = re.compile(r"^(KIND|EMULATORS|NEEDS|QEMU_CPU|BOCHS_CPU|GUESTS|"
                  r"REFERENCES|QEMU_ICOUNT)[ \t]*"
                  r":?=[ \t]*([^#\n]*)", re.M)


@functools.lru_cache(maxsize=None)
def _meta(makefile: Path) -> dict:
    """{KIND, EMULATORS, NEEDS, ...} as @makefile assigns them."""
    try:
        text = makefile.read_text()
    except OSError:
        return {}
    return {m[1]: m[2].split() for m in META.finditer(text)}


@dataclasses.dataclass(frozen=True)
class Lesson:
    number: str             # "01"
    name: str               # "01-bootsector"

    @property
    def source(self) -> Path:
        return ROOT / "lessons" / self.name

    @property
    def build(self) -> Path:
        return BUILD / self.name

    @property
    def image(self) -> Path:
        return self.build / "disk.img"

    @property
    def params_json(self) -> Path:
        return self.build / "params.json"

    @property
    def kind(self) -> str:
        return " ".join(_meta(self.source / "Makefile").get("KIND", []))

    @property
    def emulators(self) -> tuple[str, ...]:
        """The emulators that can run it, as its Makefile says."""
        return tuple(_meta(self.source / "Makefile").get(
            "EMULATORS") or DEFAULT_EMULATORS)

    @property
    def cpu(self) -> dict:
        """{emulator: CPU model} its Makefile asks for (QEMU_CPU, BOCHS_CPU),
        as emu.boot(cpu=) takes it; {} for the runners' own models."""
        meta = _meta(self.source / "Makefile")
        return {name: " ".join(meta[f"{name.upper()}_CPU"])
                for name in ("qemu", "bochs") if meta.get(f"{name.upper()}_CPU")}

    @property
    def icount(self) -> Optional[str]:
        """QEMU's -icount for it (QEMU_ICOUNT), or None: the host's clock."""
        value = _meta(self.source / "Makefile").get("QEMU_ICOUNT")
        return " ".join(value) if value else None

    @property
    def boot_options(self) -> dict:
        """What emu.boot() needs to boot it as its Makefile asks: its CPU
        models (cpu=) and QEMU's clock (icount=), where it says so."""
        options = {"cpu": self.cpu} if self.cpu else {}
        if self.icount:
            options["icount"] = self.icount
        return options

    @property
    def needs(self) -> frozenset:
        """The CPU features it needs ("vmx"), as its Makefile says."""
        return frozenset(_meta(self.source / "Makefile").get("NEEDS", []))

    @property
    def guests(self) -> list[str]:
        """The lessons it boots as its guest ("01", ...), as its Makefile's
        GUESTS says; [] for a lesson that is no hypervisor."""
        return [_number(guest) for guest in
                _meta(self.source / "Makefile").get("GUESTS", [])]

    @property
    def references(self) -> list[str]:
        """The lessons whose images its tests boot to compare with ("06":
        lesson 10's one VM against lesson 06's), as its Makefile's
        REFERENCES says; [] for most lessons."""
        return [_number(other) for other in
                _meta(self.source / "Makefile").get("REFERENCES", [])]

    @property
    def constants(self) -> dict:
        """Every number its C, NASM and the harness share, by name, as its
        build exports them (build/NN/kit.json, from the headers kit.inc is
        made from: layout.h, power.h, ...)."""
        return json.loads((self.build / "kit.json").read_text())

    @property
    def title(self) -> str:
        """The first heading of its README, or its folder's name."""
        try:
            for line in (self.source / "README.md").read_text().splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
        except OSError:
            pass
        return self.name


def all_lessons() -> list[Lesson]:
    """Every lesson folder, in course order."""
    return [Lesson(d.name[:2], d.name)
            for d in sorted((ROOT / "lessons").glob("[0-9][0-9]-*"))
            if (d / "Makefile").exists()]


def hosts(number: str) -> list[Lesson]:
    """The lessons whose GUESTS include lesson @number, in order."""
    key = _number(number)
    return [lesson for lesson in all_lessons() if key in lesson.guests]


def hosting(number: str) -> Lesson | None:
    """The first lesson whose GUESTS include lesson @number, or None."""
    found = hosts(number)
    return found[0] if found else None


def _number(number: str) -> str:
    """"01" for "1", "01" or "01-bootsector"."""
    return number.split("-")[0].zfill(2)


def find(number: str | None) -> Lesson:
    """The lesson numbered @number ("1", "01", "01-bootsector"), or the most
    advanced lesson of the kit when @number is empty."""
    lessons = all_lessons()
    if not number:
        return lessons[-1]
    key = _number(number)
    for lesson in lessons:
        if lesson.number == key:
            return lesson
    raise SystemExit(f"no lesson {number!r}; the kit has "
                     f"{', '.join(l.name for l in lessons)}")
