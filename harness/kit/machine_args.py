"""The machine a student asks `make run` and `make debug` for.

    make run LESSON=04 CPUS=4 MEMORY=64 PARAMS='timer_hz=250 x2apic=1'

PARAMS patch a lesson's parameters (its params.json, which the build writes
from the KIT_PARAM variables; each README has their table), CPUS and MEMORY
size the machine. Everything is checked here, before anything boots, and a
mistake ends the command with one line that says what is wrong and, for a
name, which ones there are.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import emu

CPUS = range(1, 9)              # what both emulators boot
MEMORY_MIB = range(16, 2049)
DEFAULT_MEMORY_MIB = 32         # what the tests boot


@dataclass
class Setup:
    """What the command line asked for: parameters to patch, the machine."""
    params: dict = field(default_factory=dict)
    cpus: int = 1
    memory_mib: int = DEFAULT_MEMORY_MIB

    def describe(self, text: str = "") -> str:
        """", 2 CPUs, 64 MiB, PARAMS a=1" (@text: the PARAMS as typed)."""
        return "".join([
            f", {self.cpus} CPUs" if self.cpus > 1 else "",
            f", {self.memory_mib} MiB"
            if self.memory_mib != DEFAULT_MEMORY_MIB else "",
            f", PARAMS {text.strip()}" if self.params else ""])


def parse_params(text: str, lesson, option: str, command: str) -> dict:
    """{name: value} from "NAME=VALUE ..." for @lesson, every name and value
    checked against its params.json: a number (decimal or 0x...) for a
    number, text for text (NUL-padded to its size). @option and @command
    ("PARAMS", "run") name the mistake in the one line that ends the
    command."""
    if not text.strip():
        return {}
    where = lesson.build / "params.json"
    known = emu.load_params(where) if where.exists() else {}
    values = {}
    for item in text.split():
        name, equals, value = item.partition("=")
        if not equals or not name:
            sys.exit(f"{command}: {option}: {item!r} is not NAME=VALUE")
        entry = known.get(name)
        if entry is None:
            sys.exit(f"{command}: {option}: lesson {lesson.number} has no "
                     f"parameter {name!r}; it has "
                     f"{', '.join(sorted(known)) or 'none'} (its README's "
                     "table of parameters says what each does)")
        if entry["type"] == "uint":
            try:
                number = int(value, 0)
            except ValueError:
                sys.exit(f"{command}: {option}: {name}={value}: a number, "
                         "decimal or 0x...")
        else:
            if len(value) > entry["size"] or not value.isascii():
                sys.exit(f"{command}: {option}: {name}: at most "
                         f"{entry['size']} ASCII characters")
            number = value.ljust(entry["size"], "\0")
        try:
            emu.encode_param(entry, number)
        except ValueError as e:
            sys.exit(f"{command}: {option}: {e}")
        values[name] = number
    return values


def number(text: str, option: str, allowed: range, command: str) -> int:
    """CPUS= or MEMORY=, checked; ends the command with one line if bad."""
    if not text.isdigit() or int(text) not in allowed:
        sys.exit(f"{command}: {option}={text}: choose {allowed.start}-"
                 f"{allowed.stop - 1}")
    return int(text)


def setup(lesson, params: str, cpus: str, memory: str, command: str
          ) -> Setup:
    """The Setup of @lesson's PARAMS, CPUS and MEMORY as typed ("" for
    the defaults)."""
    return Setup(parse_params(params, lesson, "PARAMS", command),
                 number(cpus or "1", "CPUS", CPUS, command),
                 number(memory or str(DEFAULT_MEMORY_MIB), "MEMORY",
                        MEMORY_MIB, command))


def patched(data: bytearray, lesson, values: dict) -> bytearray:
    """@data, a copy of @lesson's image, with @values patched in."""
    if values:
        emu.patch_image(data, emu.load_params(lesson.build / "params.json"),
                        values)
    return data


def patched_copy(image: Path, lesson, values: dict, work: Path) -> Path:
    """@image with @values patched in, written into @work (for a hypervisor,
    which emu.boot() does not patch: it patches only the guest)."""
    out = work / f"{lesson.name}.img"
    out.write_bytes(bytes(patched(bytearray(image.read_bytes()), lesson,
                                  values)))
    return out
