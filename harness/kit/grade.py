"""Grade a student's kit tree, or a class of them, with your own harness.

    python3 -m kit.grade TREE|CLASS [--out DIR] [-j N] [--lesson NN]...
                         [-k EXPR] [--emulator qemu|bochs]
    python3 -m kit.grade --bench N [-j N]       throughput on copies of the kit

TREE is a copy of the kit with a student's changes (it has a lessons/
folder); CLASS is a folder of such trees, one per student (a tree may sit
one folder deeper, as unpacked archives often do). For each submission:

 1. its tree is copied into a private scratch folder (no build/, .git or
    harness/, no symlinks), and, unless --student-makefiles, the
    instructor's build rules are put over the student's (the top Makefile,
    common/rules.mk, common/tools/, every lessons/NN-*/Makefile), so no
    Makefile of the student's runs;
 2. each lesson is built there by `make -C lessons/NN-topic` with a
    timeout, a private HOME and TMPDIR, a cap on file sizes, no network
    when the kernel allows it (unshare), and its process group killed
    afterwards; a build that fails or hangs is a zero for that lesson, with
    the compiler's messages in each of its tests' output;
 3. the build's regular files (never symlinks) are copied into a folder the
    grader owns, and the instructor's harness (this folder's pytest.ini,
    conftest.py and tests/, never the student's copy) runs on it through
    kit.gradeplugin, which bounds every boot and writes results.json;
 4. any process left behind that belongs to the scratch folder is killed.

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
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

from . import emu, lessons

HARNESS = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
SKIP_NAMES = {"build", ".git", "harness", "__pycache__", ".pytest_cache"}
MAX_TREE_BYTES = 64 << 20           # a submission larger than this is refused
MAX_FILE_BYTES = 256 << 20          # what one build may write to one file
MAX_BUILD_OUTPUT = 64 << 20         # what the harness copies from a build
RESULT_FILES = ("results.json", "junit.xml", "report.txt", "pytest.log")
# make echoes each command; the compiler's messages are the other lines.
COMMAND_ECHO = re.compile(r"^(gcc|cc|nasm|ld|objcopy|objdump|mkdir|rm|"
                          r"\S*python3\S*|make\[\d+\]: (Entering|Leaving)) ")


@dataclasses.dataclass
class Submission:
    name: str                        # as the class summary names the student
    tree: Optional[Path]             # None when @problem says why not
    problem: str = ""
    slug: str = ""                   # the student's folder under --out


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


# ------------------------------------------------------------ submissions
def is_tree(path: Path) -> bool:
    return (path / "lessons").is_dir() and not path.is_symlink()


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"


def inner_tree(path: Path) -> Optional[Path]:
    """The one kit tree in a folder of @path, if there is exactly one."""
    inner = [c for c in path.iterdir() if c.is_dir() and is_tree(c)]
    return inner[0] if len(inner) == 1 else None


def find_submissions(path: Path, single: bool = False
                     ) -> tuple[list[Submission], bool]:
    """(submissions, one_tree): @path itself, or each folder inside it.
    With @single, @path is one submission even if its tree sits a folder
    deeper (Gradescope unpacks an archive into /autograder/submission)."""
    if not path.is_dir():
        raise SystemExit(f"grade: {path} is not a folder")
    if is_tree(path) or single:
        tree = path if is_tree(path) else inner_tree(path)
        return [Submission(path.resolve().name, tree, "" if tree else
                           "not a kit tree: no lessons/ folder in the "
                           "submission (nor in exactly one folder inside it)",
                           slug=".")], True
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
                problem = ("not a kit tree: no lessons/ folder in the "
                           "submission (nor in exactly one folder inside it)")
        name = slug(child.name)
        while name in slugs:
            name += "_"
        slugs.add(name)
        subs.append(Submission(child.name, tree, problem, name))
    if not subs:
        raise SystemExit(f"grade: {path} holds no submissions: give a kit "
                         "tree (with lessons/) or a folder of them")
    return subs, False


def copy_tree(src: Path, dst: Path) -> list[str]:
    """Copy a submission without what grading never uses; returns notes."""
    notes, total = [], 0
    for folder, dirs, files in os.walk(src):
        rel = Path(folder).relative_to(src)
        keep = []
        for d in sorted(dirs):
            path = Path(folder) / d
            if d in SKIP_NAMES:
                continue
            if path.is_symlink():
                notes.append(f"ignored symlink {rel / d}")
                continue
            keep.append(d)
        dirs[:] = keep
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                kind = "symlink" if path.is_symlink() else "special file"
                notes.append(f"ignored {kind} {rel / name}")
                continue
            total += path.stat().st_size
            if total > MAX_TREE_BYTES:
                raise ValueError(f"the submission is larger than "
                                 f"{MAX_TREE_BYTES >> 20} MiB")
            shutil.copyfile(path, dst / rel / name)
    return notes


def install_build_rules(tree: Path) -> None:
    """Put the instructor's Makefiles and build tools over the student's."""
    root = lessons.ROOT
    for rel in ("Makefile", "common/rules.mk"):
        if (root / rel).is_file() and (tree / rel).parent.is_dir():
            shutil.copyfile(root / rel, tree / rel)
    if (tree / "common").is_dir():
        shutil.rmtree(tree / "common" / "tools", ignore_errors=True)
        shutil.copytree(root / "common" / "tools", tree / "common" / "tools",
                        ignore=shutil.ignore_patterns("__pycache__"))
    for lesson in lessons.all_lessons():
        if (tree / "lessons" / lesson.name).is_dir():
            shutil.copyfile(lesson.source / "Makefile",
                            tree / "lessons" / lesson.name / "Makefile")


# ------------------------------------------------------------ containment
_unshare_ok: Optional[bool] = None


def sandbox_prefix() -> list[str]:
    """Command prefix for untrusted builds: file-size cap, no network."""
    global _unshare_ok
    prefix = []
    if shutil.which("prlimit"):
        prefix += ["prlimit", f"--fsize={MAX_FILE_BYTES}", "--core=0", "--"]
    if _unshare_ok is None:
        try:
            _unshare_ok = subprocess.run(
                ["unshare", "--net", "--map-root-user", "true"],
                capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _unshare_ok = False
    if _unshare_ok:
        prefix += ["unshare", "--net", "--map-root-user", "--"]
    return prefix


def private_env(work: Path) -> dict:
    """The environment of everything run for one submission: nothing of the
    grader's but PATH, a HOME and TMPDIR of its own, and no CI (grading
    scores a skip as 0 instead of failing the run)."""
    for d in ("home", "tmp"):
        (work / d).mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work / "home"), "TMPDIR": str(work / "tmp"),
            "LC_ALL": "C.UTF-8", "TERM": "dumb",
            "PYTHONDONTWRITEBYTECODE": "1"}


def run_contained(cmd, *, env, cwd, log: Path,
                  timeout: float) -> Optional[int]:
    """Run @cmd in a session of its own, output to @log; kill the whole
    session when it ends or at @timeout. Returns its status, None when it
    was stopped at the timeout."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return status


def kill_strays(work: Path) -> list[int]:
    """Kill our processes still tied to @work (command line, current folder
    or environment), e.g. a build's background job or an emulator whose
    harness was stopped. Returns their PIDs."""
    key = str(work) + os.sep
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            cwd = os.readlink(entry / "cwd") + os.sep
            tied = (key.encode() in (entry / "cmdline").read_bytes() or
                    cwd.startswith(key) or
                    key.encode() in (entry / "environ").read_bytes())
        except OSError:
            continue
        if tied:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except ProcessLookupError:
                pass
    return killed


# ------------------------------------------------------------ building
def compiler_excerpt(text: str, lines: int = 25) -> str:
    """The part of make's output a student needs: from the first error on,
    without the echoed commands."""
    kept = [l for l in text.splitlines() if not COMMAND_ECHO.match(l)]
    first = next((i for i, l in enumerate(kept) if re.search(
        r"\berror\b|\*\*\*|too large|No rule", l, re.IGNORECASE)), None)
    start = first if first is not None else max(0, len(kept) - lines)
    return "\n".join(kept[start:start + lines]) or "(make printed nothing)"


def build_lesson(tree: Path, lesson, work: Path, log: Path,
                 timeout: float) -> Optional[str]:
    """Build @lesson in @tree; None when it built, else why not."""
    folder = tree / "lessons" / lesson.name
    if not (folder / "Makefile").is_file():
        log.write_text("")
        return f"lessons/{lesson.name}/Makefile is missing from the submission"
    cmd = sandbox_prefix() + ["make", "--no-print-directory", "-C",
                              str(folder), "all"]
    status = run_contained(cmd, env=private_env(work), cwd=folder, log=log,
                           timeout=timeout)
    kill_strays(work)
    with open(log, "rb") as f:
        f.seek(max(0, log.stat().st_size - (64 << 10)))
        text = f.read().decode("utf-8", "replace").replace(
            str(tree) + os.sep, "")
    if status is None:
        return (f"the build did not finish within {timeout:g} s and was "
                f"stopped. make's last words:\n{compiler_excerpt(text)}")
    if status != 0:
        return f"make failed (status {status}):\n{compiler_excerpt(text)}"
    image = tree / "build" / lesson.name / "disk.img"
    if image.is_symlink() or not image.is_file():
        return f"make succeeded but wrote no build/{lesson.name}/disk.img"
    return None


def collect_build(tree: Path, lesson, graded: Path) -> Optional[str]:
    """Copy @lesson's build products, regular files only, into @graded:
    the harness reads nothing else of the student's."""
    src, dst = tree / "build" / lesson.name, graded / lesson.name
    dst.mkdir(parents=True)
    total = 0
    for path in sorted(src.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        total += path.stat().st_size
        if total > MAX_BUILD_OUTPUT:
            return f"the build wrote more than {MAX_BUILD_OUTPUT >> 20} MiB"
        shutil.copyfile(path, dst / path.name)
    return None


# ------------------------------------------------------------ grading
def lesson_tests(lesson) -> list[Path]:
    """The instructor's test modules of @lesson (test_NN_*.py)."""
    return sorted((HARNESS / "tests").glob(f"test_{lesson.number}_*.py"))


def clear_results(out: Path) -> None:
    """Remove what an earlier grading wrote in @out (and nothing else)."""
    for name in RESULT_FILES:
        (out / name).unlink(missing_ok=True)
    for log in out.glob("build-[0-9][0-9].log"):
        log.unlink()
    shutil.rmtree(out / "transcripts", ignore_errors=True)


def grade_one(sub: Submission, opts: Options, out: Path) -> dict:
    """Build and test one submission; write its results in @out."""
    out.mkdir(parents=True, exist_ok=True)
    clear_results(out)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(
        prefix=f"kit-grade-{sub.slug.strip('.') or 'tree'}-"))
    notes, errors = [], {}
    try:
        graded = work / "graded"
        graded.mkdir()
        tree = work / "src"
        if sub.tree is None:
            errors = {l.number: sub.problem for l in opts.lessons}
            notes.append(sub.problem)
        else:
            try:
                notes += copy_tree(sub.tree, tree)
            except (OSError, ValueError) as error:
                errors = {l.number: f"could not copy the submission: {error}"
                          for l in opts.lessons}
        if not errors:
            if not opts.student_makefiles:
                install_build_rules(tree)
            for lesson in opts.lessons:
                why = build_lesson(tree, lesson, work,
                                   out / f"build-{lesson.number}.log",
                                   opts.build_timeout)
                why = why or collect_build(tree, lesson, graded)
                if why:
                    errors[lesson.number] = why
        builds = work / "builds.json"
        builds.write_text(json.dumps(errors))
        status = run_harness(sub, opts, out, work, graded, builds)
        strays = kill_strays(work)
        if strays:
            notes.append(f"killed {len(strays)} process(es) left behind")
    finally:
        if opts.keep:
            notes.append(f"scratch folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return summarize(sub, out, errors, notes, status,
                     time.monotonic() - started)


def run_harness(sub, opts, out, work, graded, builds) -> Optional[int]:
    """Run the instructor's harness on @graded; returns pytest's status."""
    (work / "run").mkdir()
    files = [str(f) for l in opts.lessons for f in lesson_tests(l)]
    # --option=value: pytest reads a conftest's options (--build-dir) only
    # after a first pass in which a separate value would pass for a path.
    cmd = [PYTHON, "-m", "pytest", f"-c={HARNESS / 'pytest.ini'}",
           f"--rootdir={HARNESS}", "-p", "kit.gradeplugin",
           f"--grade-out={out}", f"--grade-name={sub.name}",
           f"--grade-builds={builds}", f"--build-dir={graded}",
           f"--grade-boot-timeout={opts.boot_timeout}",
           f"--grade-serial-cap={opts.serial_cap}",
           f"--junitxml={out / 'junit.xml'}",
           "-o", f"junit_suite_name={sub.name}", "-p", "no:xdist",
           "-vv"]                       # -vv: pytest's whole diffs
    if opts.keyword:
        cmd += [f"-k={opts.keyword}"]
    cmd += [f"--emulator={e}" for e in opts.emulators] + files
    env = dict(private_env(work), PYTHONPATH=str(HARNESS))
    return run_contained(cmd, env=env, cwd=work / "run",
                         log=out / "pytest.log", timeout=opts.run_timeout)


def summarize(sub, out, errors, notes, status, seconds) -> dict:
    """One row of the class summary, and report.txt."""
    row = {"student": sub.name, "out": out, "seconds": seconds,
           "lessons": {}, "score": 0, "max_score": 0, "not_run": 0,
           "notes": list(notes), "graded": False}
    results_path = out / "results.json"
    if not results_path.exists():
        log = (out / "pytest.log").read_text(errors="replace") \
            if (out / "pytest.log").exists() else ""
        row["notes"].insert(0, "the harness did not run (see pytest.log)")
        tail = log.strip().splitlines()[-15:] or ["(pytest printed nothing)"]
        (out / "report.txt").write_text("\n".join(row["notes"] + tail) + "\n")
        return row
    results = json.loads(results_path.read_text())
    row.update(graded=True, score=results["score"],
               max_score=results["max_score"],
               lessons=results["extra_data"]["lessons"],
               not_run=len(results["extra_data"]["not_run"]))
    if status is None:
        row["notes"].insert(0, "grading stopped at its time limit")
    if sub.tree is not None:
        row["notes"] += [f"lesson {n} did not build" for n in sorted(errors)]
    (out / "report.txt").write_text(report_text(results, row["notes"]))
    return row


def report_text(results: dict, notes=(), details: bool = True) -> str:
    """One line per test (name, OK/FAIL/SKIP, time, points), with what went
    wrong under each failure, subtotals per lesson, then the score."""
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
            lines += ["    | " + l for l in t["output"].splitlines()]
    lines.append("")
    lines += results["output"].splitlines()
    lines += list(notes)
    return "\n".join(lines) + "\n"


def write_summary(rows: list[dict], numbers: list[str], path: Path) -> None:
    """The class summary: student, score per lesson, total, maximum."""
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["student"] + [f"lesson{n}" for n in numbers] +
                     ["total", "max_score", "not_run", "notes"])
        for row in rows:
            out.writerow([row["student"]] +
                         [f"{row['lessons'].get(n, {}).get('score', 0):g}"
                          for n in numbers] +
                         [f"{row['score']:g}", f"{row['max_score']:g}",
                          row["not_run"], "; ".join(row["notes"])])


def grade_all(subs: list[Submission], opts: Options, one_tree: bool,
              echo=print) -> list[dict]:
    """Grade @subs, opts.jobs at a time; rows in the order of @subs."""
    lock = threading.Lock()

    def one(sub):
        out = opts.out if one_tree else opts.out / sub.slug
        try:
            row = grade_one(sub, opts, out)
        except Exception as error:      # a grader bug: keep the others
            row = {"student": sub.name, "out": out, "seconds": 0.0,
                   "lessons": {}, "score": 0, "max_score": 0, "not_run": 0,
                   "graded": False,
                   "notes": [f"grader error: {type(error).__name__}: {error}"]}
            out.mkdir(parents=True, exist_ok=True)
            (out / "report.txt").write_text(row["notes"][0] + "\n")
        if not one_tree:
            with lock:
                echo(f"grade: {sub.name}: {row['score']:g}/"
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
                             "tools (they run as you: see README.md)")
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
                   args.run_timeout, args.student_makefiles, args.keep)
    if args.bench is not None:
        return bench(args.bench, opts)
    subs, one_tree = find_submissions(args.submission, args.single)
    rows = grade_all(subs, opts, one_tree)
    if one_tree:
        row = rows[0]
        print((row["out"] / "report.txt").read_text(), end="")
        print(f"grade: results in {row['out']}")
        return 0 if row["graded"] and row["score"] == row["max_score"] else 1
    print(f"grade: {len(rows)} submission(s); summary in "
          f"{opts.out / 'summary.csv'}")
    return 0 if all(r["graded"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
