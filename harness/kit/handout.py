"""Make the student handout: the kit with its marked solutions taken out.

    python3 -m kit.handout --out DIR [--exercise NAME]... [--force]
                           [--no-check]

An instructor marks, in a lesson's sources, the code a student is meant to
write:

    C      /* BEGIN SOLUTION: gdt-decode */   ...   /* END SOLUTION */
    NASM   ; BEGIN SOLUTION: rule-lookup      ...   ; END SOLUTION

Each marker stands alone on its line; the name (lower case, digits and
hyphens) is the exercise's, unique across the kit. The handout is a copy of
the kit in which every region, markers included, is replaced by a stub that
still builds but makes the lesson fail visibly, naming the exercise:

    C        panic("TODO(gdt-decode): not written yet");  (the region must
             lie inside a function body; power.h is included if needed)
    NASM 16  prints TODO(name) with puts16 and powers off with FAIL
             (rm_io.inc, rm_power.inc): 17 bytes plus the name's length,
             small enough for lesson 01's boot sector
    NASM 32  calls panic_at() (common/power.c): only where C can already run
    NASM 64  the same, System V calling convention

Whether NASM code is 16-, 32- or 64-bit is read from the last `bits`
directive above the region. Every other file is copied as it is, and the
handout is then built in a scratch copy to prove it still builds.

strip() is the whole transformation of one file. Each Region it returns
holds both the solution and the stub that replaced it, which is how the
tests put the solutions back into a handout and check that it passes.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Optional

from . import lessons

NAME = r"[a-z0-9][a-z0-9-]*"
LANGUAGES = {".c": "c", ".h": "c", ".asm": "nasm", ".inc": "nasm"}
BEGIN = {
    "c": re.compile(rf"^([ \t]*)/\*\s*BEGIN SOLUTION:\s*({NAME})\s*\*/\s*$"),
    "nasm": re.compile(rf"^([ \t]*);\s*BEGIN SOLUTION:\s*({NAME})\s*$")}
END = {"c": re.compile(r"^[ \t]*/\*\s*END SOLUTION\s*\*/\s*$"),
       "nasm": re.compile(r"^[ \t]*;\s*END SOLUTION\s*$")}
# A line that looks like a marker but is not one exactly: an error, never
# silently copied into the handout with its solution.
LOOKS_LIKE_MARKER = re.compile(r"^\s*(/\*|//|;)\s*(BEGIN|END)\s+SOLUTION")
BITS = re.compile(r"^\s*\[?\s*bits\s+(16|32|64)\b", re.IGNORECASE)
# What a handout copies from the kit: everything but what the build, git and
# Python write.
SKIP_DIRS = {".git", "build", "__pycache__", ".pytest_cache"}


class MarkerError(Exception):
    """A solution marker the handout cannot use; str() is file:line: why."""


@dataclasses.dataclass
class Region:
    """One marked solution of one file."""
    name: str               # the exercise, as in TODO(name)
    path: str               # the file, relative to the kit
    line: int               # the BEGIN marker's line, from 1
    solution: str           # the lines between the markers
    stub: str               # what the handout has instead of the region


def _c_stub(name: str, indent: str) -> str:
    return (f"{indent}/* TODO({name}): write this part of the exercise. "
            "Until you do, the\n"
            f"{indent} * lesson stops here with a panic that names it. */\n"
            f'{indent}panic("TODO({name}): not written yet");\n')


def _nasm_stub(name: str, indent: str, bits: str, path: str) -> str:
    label = ".todo_" + name.replace("-", "_")
    head = (f"{indent}; TODO({name}): write this part of the exercise. "
            "Until you do, the\n"
            f"{indent}; lesson stops here and powers off with FAIL, "
            "naming it.\n")
    i = indent or " " * 8            # instructions sit in column 8
    if bits == "16":
        # Kept tiny: lesson 01's boot sector has a few bytes to spare.
        return head + (
            f"{i}mov     si, {label}\n"
            f"{i}call    puts16                  ; rm_io.inc\n"
            f"{i}mov     al, 1                   ; status: FAIL\n"
            f"{i}jmp     power_off16             ; rm_power.inc\n"
            f'{label}: db "TODO({name})", 0\n')
    call = (f"{i}push    {label}                 ; panic_at(file, 0, msg)\n"
            f"{i}push    0\n"
            f"{i}push    {label}_file\n") if bits == "32" else (
            f"{i}lea     rdi, [rel {label}_file] ; panic_at(file, 0, msg)\n"
            f"{i}xor     esi, esi\n"
            f"{i}lea     rdx, [rel {label}]\n"
            f"{i}xor     eax, eax                ; no vector arguments\n")
    return head + (
        f"{i}extern  panic_at                ; common/power.c\n" + call +
        f"{i}call    panic_at                ; does not return\n"
        f'{label}: db "TODO({name}): not written yet", 0\n'
        f'{label}_file: db "{Path(path).name}", 0\n')


def strip(text: str, path: str, only: Optional[set] = None
          ) -> tuple[str, list[Region]]:
    """(handout text, regions) for the file @path (relative to the kit)
    holding @text. Regions named in @only (all when None) become stubs; the
    others keep their solution and lose only their marker lines."""
    lang = LANGUAGES.get(Path(path).suffix)
    lines = text.splitlines(keepends=True)
    out, regions = [], []
    bits = None
    current = None           # (name, indent, first line, bits) inside a region
    body: list[str] = []
    for number, line in enumerate(lines, 1):
        begin = BEGIN[lang].match(line) if lang else None
        end = END[lang].match(line) if lang else None
        where = f"{path}:{number}"
        if not begin and not end and LOOKS_LIKE_MARKER.match(line):
            if not lang:
                raise MarkerError(f"{where}: solution markers work in "
                                  f"{', '.join(sorted(LANGUAGES))} files only")
            raise MarkerError(
                f"{where}: malformed solution marker; write " +
                ("`/* BEGIN SOLUTION: name */` and `/* END SOLUTION */`"
                 if lang == "c" else
                 "`; BEGIN SOLUTION: name` and `; END SOLUTION`") +
                f" on lines of their own (name: {NAME})")
        if begin:
            if current:
                raise MarkerError(f"{where}: BEGIN SOLUTION inside region "
                                  f"{current[0]!r} (line {current[2]}): "
                                  "regions do not nest")
            if lang == "nasm" and bits is None:
                raise MarkerError(f"{where}: cannot tell whether region "
                                  f"{begin[2]!r} is 16-, 32- or 64-bit code: "
                                  "put a `bits` directive above it")
            current, body = (begin[2], begin[1], number, bits), []
            continue
        if end:
            if not current:
                raise MarkerError(f"{where}: END SOLUTION without a BEGIN")
            name, indent, first, region_bits = current
            solution = "".join(body)
            wanted = only is None or name in only
            stub = (_c_stub(name, indent) if lang == "c" else
                    _nasm_stub(name, indent, region_bits, path))
            regions.append(Region(name, path, first, solution, stub))
            out.append(stub if wanted else solution)
            current = None
            continue
        if current:
            body.append(line)
        else:
            out.append(line)
        if lang == "nasm":
            directive = BITS.match(line)
            if directive:
                bits = directive[1]
    if current:
        raise MarkerError(f"{path}:{current[2]}: region {current[0]!r} has no "
                          "END SOLUTION")
    result = "".join(out)
    stubbed = [r for r in regions if only is None or r.name in only]
    if lang == "c" and stubbed and not re.search(
            r'^\s*#\s*include\s+"power\.h"', result, re.MULTILINE):
        result = _include_power_h(result)
    return result, regions


def _include_power_h(text: str) -> str:
    """@text with #include "power.h" (for panic()) after its last #include."""
    lines = text.splitlines(keepends=True)
    last = max((i for i, l in enumerate(lines)
                if re.match(r"\s*#\s*include\b", l)), default=-1)
    lines.insert(last + 1, '#include "power.h" /* panic(), for the TODO '
                 'stubs */\n')
    return "".join(lines)


def source_files(root: Path) -> Iterable[Path]:
    """Every file of the kit a handout copies, relative to @root."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith(".pyc"):
                yield (Path(folder) / name).relative_to(root)


def find_regions(root: Path) -> list[Region]:
    """Every marked region under @root's lessons/ and common/ (checked)."""
    regions = []
    for rel in source_files(root):
        if rel.parts[0] in ("lessons", "common") and rel.suffix in LANGUAGES:
            _, found = strip((root / rel).read_text(), str(rel))
            regions += found
    seen: dict[str, Region] = {}
    for region in regions:
        if region.name in seen:
            other = seen[region.name]
            raise MarkerError(f"{region.path}:{region.line}: exercise "
                              f"{region.name!r} is also marked at "
                              f"{other.path}:{other.line}; names are unique")
        seen[region.name] = region
    return regions


def write_handout(root: Path, out: Path, only: Optional[set] = None
                  ) -> list[Region]:
    """Copy the kit at @root to @out with the regions in @only (default:
    all) replaced by stubs. Returns the regions replaced."""
    regions = find_regions(root)
    names = {r.name for r in regions}
    if only is not None and only - names:
        raise MarkerError(
            f"no exercise named {', '.join(sorted(only - names))}; the kit "
            f"marks {', '.join(sorted(names)) or 'none'}")
    for rel in source_files(root):
        src, dst = root / rel, out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel.parts[0] in ("lessons", "common") and rel.suffix in LANGUAGES:
            text, _ = strip(src.read_text(), str(rel), only)
            dst.write_text(text)
            shutil.copymode(src, dst)
        elif src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    return [r for r in regions if only is None or r.name in only]


def build_check(tree: Path, timeout: float = 300) -> Optional[str]:
    """None if every lesson of @tree builds, else make's messages. The build
    happens in a scratch copy, so @tree stays clean."""
    with tempfile.TemporaryDirectory(prefix="kit-handout-check-") as tmp:
        copy = Path(tmp) / "kit"
        shutil.copytree(tree, copy, symlinks=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MAKE") and k != "MFLAGS"}
        for lesson in sorted((copy / "lessons").glob("[0-9][0-9]-*/Makefile")):
            proc = subprocess.run(
                ["make", "--no-print-directory", "-C", str(lesson.parent)],
                capture_output=True, text=True, env=env, timeout=timeout)
            if proc.returncode:
                return (f"{lesson.parent.name} does not build:\n" +
                        (proc.stdout + proc.stderr).replace(str(copy), "."))
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kit.handout",
        description="Write the student handout: the kit with its marked "
                    "solutions replaced by TODO stubs.")
    parser.add_argument("--out", required=True, type=Path,
                        help="where to write the handout tree")
    parser.add_argument("--exercise", action="append", default=None,
                        help="only take out this exercise (repeatable)")
    parser.add_argument("--force", action="store_true",
                        help="replace --out if it already exists")
    parser.add_argument("--no-check", action="store_true",
                        help="do not build the handout to check it")
    parser.add_argument("--root", type=Path, default=lessons.ROOT,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root, out = args.root.resolve(), args.out.resolve()
    inside = out == root or root in out.parents
    if inside and out.relative_to(root).parts[:1] != ("build",):
        print(f"handout: --out {args.out} is inside the kit; put it under "
              "build/ or outside the kit", file=sys.stderr)
        return 2
    if out.exists() and any(out.iterdir()):
        if not args.force:
            print(f"handout: {args.out} exists and is not empty (--force "
                  "replaces it)", file=sys.stderr)
            return 2
        shutil.rmtree(out)
    try:
        regions = write_handout(root, out,
                                set(args.exercise) if args.exercise else None)
    except MarkerError as error:
        print(f"handout: {error}", file=sys.stderr)
        shutil.rmtree(out, ignore_errors=True)
        return 1
    for region in regions:
        print(f"handout: TODO({region.name})  {region.path}:{region.line}")
    if not args.no_check:
        problem = build_check(out)
        if problem:
            print(f"handout: the handout does not build, so a stub "
                  f"is wrong:\n{problem}", file=sys.stderr)
            return 1
        print("handout: every lesson of the handout builds")
    print(f"handout: {len(regions)} exercise(s) taken out; the student tree "
          f"is {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
