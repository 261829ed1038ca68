"""Where the lessons are, and which emulators can run each one."""
from __future__ import annotations

import dataclasses
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"

# Lessons 05 and 06 need VMX, which QEMU's TCG does not emulate; they run on
# Bochs (and on QEMU only with KVM and nested VMX, probed by their tests).
NEEDS_VMX = {"05", "06"}


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
    def emulators(self) -> tuple[str, ...]:
        return ("bochs",) if self.number in NEEDS_VMX else ("qemu", "bochs")


def all_lessons() -> list[Lesson]:
    """Every lesson folder, in course order."""
    return [Lesson(d.name[:2], d.name)
            for d in sorted((ROOT / "lessons").glob("[0-9][0-9]-*"))
            if (d / "Makefile").exists()]


def find(number: str | None) -> Lesson:
    """The lesson numbered @number ("1", "01", "01-bootsector"), or the most
    advanced lesson of the kit when @number is empty."""
    lessons = all_lessons()
    if not number:
        return lessons[-1]
    key = number.split("-")[0].zfill(2)
    for lesson in lessons:
        if lesson.number == key:
            return lesson
    raise SystemExit(f"no lesson {number!r}; the kit has "
                     f"{', '.join(l.name for l in lessons)}")
