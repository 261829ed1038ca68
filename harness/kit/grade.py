"""Grade a student's kit tree, or a class of them, with your own harness.

    python3 -m kit.grade TREE|CLASS [--out DIR] [-j N] [--lesson NN]...
                         [-k EXPR] [--emulator qemu|bochs]
    python3 -m kit.grade --bench N [-j N]       throughput on copies of the kit

TREE is a copy of the kit with a student's changes (it has a lessons/
folder); CLASS is a folder of such trees, one per student (a tree may sit
one folder deeper, as unpacked archives often do). For each submission:

 1. its tree is copied into a private scratch folder (kit/submission.py:
    no build/, .git, harness/, links, GNUmakefile or makefile), and, unless
    --student-makefiles, the instructor's build rules are put over the
    student's (the top Makefile, common/rules.mk, common/tools/, the linker
    scripts and layout.h, every lesson's Makefile and *.mk);
 2. each lesson is built by `make -f` its Makefile in the sandbox
    (kit/gradebuild.py, kit/sandbox.py: bubblewrap, a user of its own,
    limits); a build that fails or hangs is a zero for that lesson, with
    the compiler's messages in each of its tests' output;
 3. the build's regular files are copied into a folder the grader owns,
    and the instructor's harness (this folder's pytest.ini, conftest.py
    and tests/, never the student's copy) runs on them through
    kit.gradeplugin (kit/gradeharness.py), which bounds every boot, runs
    every emulator in the sandbox and writes results.json;
 4. every process of the submission's sandbox user is killed and the
    scratch folder removed; results.json is written whatever happened.

It writes, per submission (in DIR, or DIR/<student>/ for a class):
    results.json   Gradescope's format: score, max_score, and per test its
                   name, score, max_score, status, output and visibility
    junit.xml      pytest's own JUnit XML, with lesson and points properties
    report.txt     the lines printed below: one per test, subtotals, score
    transcripts/   the whole COM1 transcript of each boot of a failed test
    build-NN.log   make's output for each lesson;  pytest.log
and for a class DIR/summary.csv: student, score per lesson, total.

Exit status: for one tree, 0 only with full marks; for a class, 0 when
every submission was graded (whatever its marks); 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import csv
import dataclasses
import json
import os
import shutil
import sys
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

from . import emu, lessons, sandbox, untrusted
from .gradebuild import (build_lesson, collect_build, kill_strays,
                         make_reachable)
from .gradeharness import fallback_results, lesson_tests, run_harness
from .submission import (Submission, TreeError, copy_tree, find_submissions,
                         install_build_rules)

RESULT_FILES = ("results.json", "junit.xml", "report.txt", "pytest.log")


@dataclasses.dataclass
class Options:
    lessons: list                    # lessons.Lesson, each with a test module
    out: Path
    jobs: int = 1
    keyword: str = ""
    emulators: tuple = ()
    build_timeout: float = 120.0
    boot_timeout: float = 10.0
    serial_cap: int = 256 * 1024
    run_timeout: float = 1800.0
    student_makefiles: bool = False
    keep: bool = False
    sandboxed: bool = True           # False: --unsafe-no-sandbox
    uids: Optional[queue.Queue] = None   # a sandbox user per running job


# ------------------------------------------------------------ containment
def sandbox_for(uid: Optional[int], opts: Options) -> sandbox.Sandbox:
    return sandbox.Sandbox.for_slot(uid, opts.sandboxed,
                                    hidden=(lessons.ROOT, opts.out))


def check_sandbox(opts: Options) -> Optional[str]:
    """None when student code can be sandboxed here, else why not. Claims
    the sandbox users of the jobs (opts.uids) on the way."""
    try:
        uids = sandbox.free_uids(max(1, opts.jobs))
        sandbox_for(uids[0], opts).check()
    except sandbox.Unavailable as why:
        return str(why)
    opts.uids = queue.Queue()
    for uid in uids:
        opts.uids.put(uid)
    return None


# ------------------------------------------------------------ grading
def clear_results(out: Path) -> None:
    """Remove what an earlier grading wrote in @out (and nothing else)."""
    for name in RESULT_FILES:
        (out / name).unlink(missing_ok=True)
    for log in out.glob("build-[0-9][0-9].log"):
        log.unlink()
    shutil.rmtree(out / "transcripts", ignore_errors=True)


def grade_one(sub: Submission, opts: Options, out: Path) -> dict:
    """Build and test one submission; write its results in @out. Whatever
    happens, results.json is written and the scratch folder removed."""
    out.mkdir(parents=True, exist_ok=True)
    clear_results(out)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(
        prefix=f"kit-grade-{sub.slug.strip('.') or 'tree'}-"))
    uid = opts.uids.get() if opts.uids else None
    box = sandbox_for(uid, opts)
    notes, errors, status = [], {}, None
    try:
        graded = work / "graded"
        graded.mkdir()
        tree = work / "src"
        if sub.tree is None:
            errors = {l.number: sub.problem for l in opts.lessons}
        else:
            try:
                notes += copy_tree(sub.tree, tree)
                if not opts.student_makefiles:
                    notes += install_build_rules(tree)
            except (OSError, TreeError) as error:
                why = (f"could not copy the submission: "
                       f"{untrusted.shown(str(error))}")
                errors = {l.number: why for l in opts.lessons}
        if not errors:
            make_reachable(work, tree)
            for lesson in with_guests(opts.lessons):
                why = build_lesson(tree, lesson, work,
                                   out / f"build-{lesson.number}.log",
                                   opts, box)
                why = why or collect_build(work, lesson, graded)
                if why and lesson in opts.lessons:
                    errors[lesson.number] = why
                elif why:
                    notes.append(f"lesson {lesson.number} (a guest or a "
                                 f"reference, not graded) did not build: "
                                 f"{why}")
        builds = work / "builds.json"
        builds.write_text(json.dumps(errors))
        status = run_harness(sub, opts, out, work, graded, builds, uid)
        strays = len(kill_strays(work)) + box.kill_all()
        sandbox.reap()
        if strays:
            notes.append(f"killed {strays} process(es) left behind")
    finally:
        if opts.uids is not None:
            opts.uids.put(uid)
        if opts.keep:
            notes.append(f"scratch folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return summarize(sub, opts, out, errors, notes, status,
                     time.monotonic() - started)


def summarize(sub, opts, out, errors, notes, status, seconds) -> dict:
    """One row of the class summary, and report.txt, both from
    results.json (written here if the harness did not)."""
    row = {"student": sub.name, "out": out, "seconds": seconds,
           "lessons": {}, "score": 0, "max_score": 0, "not_run": 0,
           "notes": [untrusted.shown(n) for n in notes], "graded": False}
    results_path = out / "results.json"
    if sub.tree is not None and errors and len(errors) == len(opts.lessons) \
            and len(set(errors.values())) == 1:
        row["notes"].insert(0, next(iter(errors.values())).splitlines()[0])
    elif sub.tree is None:
        row["notes"].insert(0, sub.problem)
    else:
        row["notes"] += [f"lesson {n} did not build" for n in sorted(errors)]
    if not results_path.exists():
        tail = ""
        if (out / "pytest.log").exists():
            lines = (out / "pytest.log").read_text(
                errors="replace").strip().splitlines()
            tail = lines[-1] if lines else ""
        why = ("the harness did not run" if status is not None else
               "grading stopped at its time limit before the harness "
               "wrote any result") + (f" (pytest: {tail})" if tail else "")
        fallback_results(opts, out, sub.name, why)
        row["notes"].insert(0, why)
    else:
        row["graded"] = True
        if status is None:
            row["notes"].insert(0, "grading stopped at its time limit")
    results = json.loads(results_path.read_text())
    row.update(score=results["score"], max_score=results["max_score"],
               lessons=results["extra_data"]["lessons"],
               not_run=len(results["extra_data"]["not_run"]))
    (out / "report.txt").write_text(report_text(results, row["notes"]))
    return row


def report_text(results: dict, notes=(), details: bool = True) -> str:
    """One line per test (name, OK/FAIL/SKIP, time, points), with what went
    wrong under each failure (every line of it the student's, so indented
    and escaped), the notes, subtotals per lesson, then the score, last."""
    label = {"passed": "OK", "skipped": "SKIP", "not run": "SKIP"}
    lines = []
    width = max([len(t["name"]) for t in results["tests"]] + [40])
    for t in results["tests"]:
        extra = t["extra_data"]
        lines.append(f"{t['name']:<{width}}  "
                     f"{label.get(extra['outcome'], 'FAIL'):<4} "
                     f"{extra['seconds']:6.2f} s  "
                     f"{t['score']:g}/{t['max_score']:g}")
        if details and t.get("status") != "passed" and t["output"]:
            lines += ["    | " + untrusted.shown(l)
                      for l in t["output"].splitlines()]
    lines.append("")
    lines += ["note: " + untrusted.shown(n) for n in notes]
    summary = results["output"].splitlines()
    score = [l for l in summary if l.startswith("Score: ")]
    lines += [l for l in summary if not l.startswith("Score: ")] + score
    return "\n".join(lines) + "\n"


def write_summary(rows: list[dict], numbers: list[str], path: Path) -> None:
    """The class summary: student, score per lesson, total, maximum."""
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student"] + [f"lesson{n}" for n in numbers] +
                     ["total", "max_score", "not_run", "notes"])
        for row in rows:
            out.writerow([untrusted.shown(row["student"])] +
                         [f"{row['lessons'].get(n, {}).get('score', 0):g}"
                          for n in numbers] +
                         [f"{row['score']:g}", f"{row['max_score']:g}",
                          row["not_run"],
                          untrusted.shown("; ".join(row["notes"]))])


def grade_all(subs: list[Submission], opts: Options, one_tree: bool,
              echo=print) -> list[dict]:
    """Grade @subs, opts.jobs at a time; rows in the order of @subs."""
    lock = threading.Lock()
    if opts.sandboxed and opts.uids is None:
        why = check_sandbox(opts)
        if why:
            raise sandbox.Unavailable(why)

    def one(sub):
        out = opts.out if one_tree else opts.out / sub.slug
        try:
            row = grade_one(sub, opts, out)
        except Exception as error:      # a grader bug: keep the others
            why = (f"grader error: {type(error).__name__}: "
                   f"{untrusted.shown(str(error))}")
            out.mkdir(parents=True, exist_ok=True)
            fallback_results(opts, out, sub.name, why)
            results = json.loads((out / "results.json").read_text())
            row = {"student": sub.name, "out": out, "seconds": 0.0,
                   "lessons": results["extra_data"]["lessons"], "score": 0,
                   "max_score": results["max_score"], "not_run": 0,
                   "graded": False, "notes": [why]}
            (out / "report.txt").write_text(report_text(results, [why]))
        if not one_tree:
            with lock:
                echo(f"grade: {untrusted.shown(sub.name)}: {row['score']:g}/"
                     f"{row['max_score']:g} in {row['seconds']:.1f} s"
                     + (f" ({'; '.join(row['notes'])})"
                        if row["notes"] else ""))
        return row

    with concurrent.futures.ThreadPoolExecutor(max(1, opts.jobs)) as pool:
        rows = list(pool.map(one, subs))
    if not one_tree:
        write_summary(rows, [l.number for l in opts.lessons],
                      opts.out / "summary.csv")
    return rows


def with_guests(graded: list) -> list:
    """The lessons to build for grading @graded: those, and the guests a
    hypervisor lesson among them boots (lesson 07's GUESTS) or the lessons
    its tests compare with (lesson 10's REFERENCES), built from the same
    submission but not graded themselves."""
    build = list(graded)
    for lesson in graded:
        for number in lesson.guests + lesson.references:
            guest = lessons.find(number)
            if guest not in build:
                build.append(guest)
    return build


# ------------------------------------------------------------ command line
def pick_lessons(wanted: list[str]) -> list:
    """The instructor's lessons to grade: those asked for (default: every
    lesson that has a test module)."""
    numbers = [n.strip() for w in wanted for n in w.split(",") if n.strip()]
    chosen = [lessons.find(n) for n in numbers] if numbers else \
        [l for l in lessons.all_lessons() if lesson_tests(l)]
    for lesson in chosen:
        if not lesson_tests(lesson):
            raise SystemExit(f"grade: lesson {lesson.number} has no tests "
                             f"(harness/tests/test_{lesson.number}_*.py)")
    if not chosen:
        raise SystemExit("grade: no lesson has tests to grade")
    return chosen


def bench(count: int, opts: Options) -> int:
    """Grade @count copies of this kit and report submissions per minute."""
    with tempfile.TemporaryDirectory(prefix="kit-grade-bench-") as tmp:
        klass = Path(tmp) / "class"
        for i in range(count):
            copy_tree(lessons.ROOT, klass / f"student{i + 1:02d}")
        opts.out = Path(tmp) / "out"
        start = time.monotonic()
        rows = grade_all(find_submissions(klass)[0], opts, False)
        elapsed = time.monotonic() - start
    print(f"\nbench: graded {count} submissions ({len(opts.lessons)} "
          f"lesson(s) each, emulators: "
          f"{', '.join(opts.emulators) or 'all installed'}) in "
          f"{elapsed:.1f} s with -j {opts.jobs} on {os.cpu_count()} CPU(s): "
          f"{60 * count / elapsed:.1f} submissions per minute")
    if not all(r["graded"] and r["score"] == r["max_score"] > 0
               for r in rows):
        print("bench: not every copy got full marks; see the notes above")
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="kit.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submission", nargs="?", type=Path,
                        help="a kit tree, or a folder of them (one per "
                             "student)")
    parser.add_argument("--single", action="store_true",
                        help="the submission is one student's, even if its "
                             "tree sits one folder deeper")
    parser.add_argument("--out", type=Path, default=lessons.ROOT / "build" /
                        "grade", help="where results go (default build/grade)")
    parser.add_argument("-j", "--jobs", type=int, default=1,
                        help="grade this many submissions at once")
    parser.add_argument("--lesson", action="append", default=[],
                        help="grade only these lessons (01, or 01,02)")
    parser.add_argument("-k", dest="keyword", default="",
                        help="only the tests pytest -k selects")
    parser.add_argument("--emulator", action="append", default=[],
                        choices=emu.EMULATORS, help="only this emulator")
    parser.add_argument("--build-timeout", type=float, default=120.0,
                        help="seconds one lesson's build may take")
    parser.add_argument("--boot-timeout", type=float, default=10.0,
                        help="seconds one boot may take (unless its test "
                             "sets its own)")
    parser.add_argument("--serial-cap", type=int, default=256 * 1024,
                        help="COM1 bytes a boot may print before it is a "
                             "flood")
    parser.add_argument("--run-timeout", type=float, default=1800.0,
                        help="seconds the harness may take per submission")
    parser.add_argument("--student-makefiles", action="store_true",
                        help="build with the student's own Makefiles and "
                             "tools (inside the sandbox, like any build)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade even where no sandbox can be made: the "
                             "students' builds and guests then run as you, "
                             "with only time and size limits (README.md)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each submission's scratch folder")
    parser.add_argument("--bench", type=int, metavar="N",
                        help="grade N copies of this kit; print throughput")
    args = parser.parse_args(argv)
    if (args.submission is None) == (args.bench is None):
        parser.error("give a submission (tree or class folder) or --bench N")
    if args.jobs < 0 or (args.bench is not None and args.bench < 1):
        parser.error("-j and --bench take positive numbers")
    opts = Options(pick_lessons(args.lesson), args.out.resolve(),
                   max(1, args.jobs), args.keyword, tuple(args.emulator),
                   args.build_timeout, args.boot_timeout, args.serial_cap,
                   args.run_timeout, args.student_makefiles, args.keep,
                   sandboxed=not args.unsafe_no_sandbox)
    why = check_sandbox(opts)
    if why and opts.sandboxed:
        print(f"grade: refusing to grade: no sandbox for the students' code "
              f"here ({why}). Install bubblewrap and allow unprivileged user "
              "namespaces (README.md, \"The sandbox\"), or pass "
              "--unsafe-no-sandbox to accept running their code as "
              f"{'root' if os.geteuid() == 0 else 'you'}.", file=sys.stderr)
        return 2
    if not opts.sandboxed:
        print("grade: WARNING: --unsafe-no-sandbox: the students' builds and "
              "guests run as you, with time and size limits only"
              + (f" (and no sandbox could be made here: {why})" if why
                 else ""), file=sys.stderr)
    if args.bench is not None:
        return bench(args.bench, opts)
    subs, one_tree = find_submissions(args.submission, args.single)
    rows = grade_all(subs, opts, one_tree)
    if one_tree:
        row = rows[0]
        print(f"grade: results in {row['out']}")
        print((row["out"] / "report.txt").read_text(), end="")
        return 0 if row["graded"] and row["score"] == row["max_score"] else 1
    print(f"grade: {len(rows)} submission(s); summary in "
          f"{opts.out / 'summary.csv'}")
    return 0 if all(r["graded"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
