"""A student's submission as the grader takes it in: found, then copied.

Whatever shape a tree has (folders thousands deep, a folder called
Makefile, names that are not UTF-8, links, devices, files it cannot read),
the copy either succeeds with notes on what was left out, or raises
TreeError with one line that says why. The copy holds only the regular
files grading uses, and no GNUmakefile or makefile (GNU make would read
those before the instructor's Makefile): each left-out file is noted.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
from pathlib import Path
from typing import Optional

from . import lessons
from .untrusted import name as shown_name

SKIP_NAMES = {"build", ".git", "harness", "__pycache__", ".pytest_cache"}
# GNU make reads these before `Makefile`: a student's would replace ours.
SHADOWING_MAKEFILES = {"GNUmakefile", "makefile"}
MAX_TREE_BYTES = 64 << 20           # a submission larger than this is refused
MAX_FILES = 5000
MAX_DEPTH = 12                      # the kit itself is 3 folders deep
MAX_NOTES = 20


class TreeError(Exception):
    """The submission cannot be graded; the message says why, in one line."""


@dataclasses.dataclass
class Submission:
    name: str                        # as the class summary names the student
    tree: Optional[Path]             # None when @problem says why not
    problem: str = ""
    slug: str = ""                   # the student's folder under --out


NOT_A_TREE = ("not a kit tree: no lessons/ folder in the submission (nor in "
              "exactly one folder inside it)")


def is_tree(path: Path) -> bool:
    return (not path.is_symlink() and (path / "lessons").is_dir() and
            not (path / "lessons").is_symlink())


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"


def inner_tree(path: Path) -> Optional[Path]:
    """The one kit tree in a folder of @path, if there is exactly one."""
    try:
        inner = [c for c in path.iterdir() if c.is_dir() and is_tree(c)]
    except OSError:
        return None
    return inner[0] if len(inner) == 1 else None


def find_submissions(path: Path, single: bool = False
                     ) -> tuple[list[Submission], bool]:
    """(submissions, one_tree): @path itself, or each folder inside it.
    With @single, @path is one submission even if its tree sits a folder
    deeper (Gradescope unpacks an archive into /autograder/submission)."""
    if not path.is_dir():
        raise SystemExit(f"grade: {shown_name(path)} is not a folder")
    if is_tree(path) or single:
        tree = path if is_tree(path) else inner_tree(path)
        return [Submission(shown_name(path.resolve().name), tree,
                           "" if tree else NOT_A_TREE, slug=".")], True
    subs, slugs = [], set()
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") or not child.is_dir():
            continue
        tree, problem = child, ""
        if child.is_symlink():
            tree, problem = None, "the submission is a symlink, not a folder"
        elif not is_tree(child):
            tree = inner_tree(child)
            if tree is None:
                problem = NOT_A_TREE
        name = slug(child.name)
        while name in slugs:
            name += "_"
        slugs.add(name)
        subs.append(Submission(shown_name(child.name), tree, problem, name))
    if not subs:
        raise SystemExit(f"grade: {shown_name(path)} holds no submissions: "
                         "give a kit tree (with lessons/) or a folder of them")
    return subs, False


def _readable_name(entry: os.DirEntry) -> bool:
    """A name grading can use: UTF-8, printable."""
    try:
        entry.name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return entry.name.isprintable()


def copy_tree(src: Path, dst: Path) -> list[str]:
    """Copy a submission without what grading never uses; returns notes.
    Raises TreeError when the tree is too large to grade."""
    notes, total, files = [], 0, 0
    todo = [(Path(), 0)]                # (folder relative to @src, depth)
    while todo:
        rel, depth = todo.pop()
        (dst / rel).mkdir(parents=True, exist_ok=True)
        try:
            entries = sorted(os.scandir(src / rel), key=lambda e: e.name)
        except OSError as error:
            notes.append(f"ignored unreadable folder {shown_name(rel)} "
                         f"({error.strerror})")
            continue
        for entry in entries:
            where = rel / entry.name
            if not _readable_name(entry):
                notes.append(f"ignored {shown_name(where)}: its name is not "
                             "printable UTF-8")
                continue
            if entry.is_symlink():
                notes.append(f"ignored symlink {where}")
            elif entry.is_dir():
                if entry.name in SKIP_NAMES:
                    continue
                if depth + 1 >= MAX_DEPTH:
                    notes.append(f"ignored {where}: more than {MAX_DEPTH} "
                                 "folders deep")
                else:
                    todo.append((where, depth + 1))
            elif not entry.is_file():
                notes.append(f"ignored special file {where}")
            elif entry.name in SHADOWING_MAKEFILES:
                notes.append(f"removed {where}: GNU make would read it "
                             "before the instructor's Makefile")
            else:
                files += 1
                total += entry.stat().st_size
                if files > MAX_FILES:
                    raise TreeError(f"the submission has more than "
                                    f"{MAX_FILES} files")
                if total > MAX_TREE_BYTES:
                    raise TreeError(f"the submission is larger than "
                                    f"{MAX_TREE_BYTES >> 20} MiB")
                try:
                    shutil.copyfile(entry.path, dst / where)
                except OSError as error:
                    notes.append(f"ignored unreadable file {where} "
                                 f"({error.strerror})")
    if len(notes) > MAX_NOTES:
        notes[MAX_NOTES:] = [f"... and {len(notes) - MAX_NOTES} more "
                             "ignored files"]
    return notes


def _put(src: Path, dst: Path, notes: list) -> None:
    """Copy the instructor's @src to @dst, whatever the student has there."""
    if dst.is_dir() and not dst.is_symlink():
        shutil.rmtree(dst)
        if not src.is_dir():
            notes.append(f"replaced the folder {shown_name(dst.name)} by "
                         "the instructor's file")
    elif dst.exists() or dst.is_symlink():
        dst.unlink()
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
            "__pycache__"))
    else:
        shutil.copyfile(src, dst)


def install_build_rules(tree: Path) -> list[str]:
    """Put the instructor's Makefiles and build tools over the student's:
    the top Makefile, common/rules.mk, common/tools/, the linker scripts
    and the memory layout they read (common/include/layout.h), every
    lesson's Makefile and the source lists lessons export to later ones
    (lessons/NN-topic/*.mk). Returns notes."""
    root, notes = lessons.ROOT, []
    rules = ["Makefile", "common/rules.mk", "common/tools",
             "common/include/layout.h"]
    rules += [str(p.relative_to(root)) for p in (root / "common").glob("*.ld")]
    for rel in rules:
        if (root / rel).exists():
            _put(root / rel, tree / rel, notes)
    for lesson in lessons.all_lessons():
        if (tree / "lessons" / lesson.name).is_dir():
            for rule in [lesson.source / "Makefile"] + sorted(
                    lesson.source.glob("*.mk")):
                _put(rule, tree / "lessons" / lesson.name / rule.name, notes)
    return notes
