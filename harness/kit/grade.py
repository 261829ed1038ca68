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
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

from . import emu, lessons, sandbox, untrusted
from .submission import (Submission, TreeError, copy_tree, find_submissions,
                         install_build_rules)

HARNESS = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"
MAX_BUILD_OUTPUT = 64 << 20         # what the harness copies from a build
MAX_LOG_BYTES = 16 << 20            # of a build's or pytest's log, kept
RESULT_FILES = ("results.json", "junit.xml", "report.txt", "pytest.log")
# Inside a build's sandbox: the submission (read-only), the tree being
# built (a tmpfs of its own), and where the build's products are copied.
SUBMISSION, KIT, PRODUCTS = "/submission", "/kit", "/products"
BUILD_SCRIPT = f"""\
cp -R {SUBMISSION}/. {KIT}/ || exit 97
make --no-print-directory -C {KIT}/lessons/"$1" -f {KIT}/lessons/"$1"/Makefile all
status=$?
if [ -d {KIT}/build/"$1" ]; then cp -R {KIT}/build/"$1"/. {PRODUCTS}/; fi
exit $status
"""
# make echoes each command; the compiler's messages are the other lines.
COMMAND_ECHO = re.compile(r"^(gcc|cc|nasm|ld|objcopy|objdump|mkdir|rm|"
                          r"\S*python3\S*|make\[\d+\]: (Entering|Leaving)) ")


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


def private_env(work: Path) -> dict:
    """The environment of the harness run for one submission: nothing of
    the grader's but PATH, a HOME and TMPDIR of its own, and no CI
    (grading scores a skip as 0 instead of failing the run)."""
    for d in ("home", "tmp"):
        (work / d).mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work / "home"), "TMPDIR": str(work / "tmp"),
            "LC_ALL": "C.UTF-8", "TERM": "dumb",
            "PYTHONDONTWRITEBYTECODE": "1"}


def run_contained(cmd, *, env, cwd, log: Path, timeout: float,
                  box: Optional[sandbox.Sandbox] = None) -> Optional[int]:
    """Run @cmd in a session of its own, output to @log; kill the whole
    session (and, for a sandboxed @cmd, every process of @box's user) when
    it ends or at @timeout. Returns its status, None at the timeout."""
    spawn = sandbox.popen if box is not None else subprocess.Popen
    with open(log, "wb") as out:
        proc = spawn(cmd, stdin=subprocess.DEVNULL, stdout=out,
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
            if box is not None:
                box.kill_all()
                sandbox.reap()
    return status


def kill_strays(work: Path) -> list[int]:
    """Kill our processes still tied to @work (command line, current folder
    or environment), e.g. an emulator whose harness was stopped. Returns
    their PIDs. (Sandboxed code is killed through its user instead.)"""
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


def escape_log(path: Path) -> None:
    """Rewrite the log @path with lossless escapes (untrusted.lossless), so
    that reading it can neither act on a terminal nor lose a byte."""
    if path.is_file():
        with open(path, "rb") as f:
            raw = f.read(MAX_LOG_BYTES + 1)
        text = untrusted.lossless(raw[:MAX_LOG_BYTES])
        if len(raw) > MAX_LOG_BYTES:
            text += f"\n[grade: log cut at {MAX_LOG_BYTES >> 20} MiB]\n"
        path.write_text(text)


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
                 opts: Options, box: sandbox.Sandbox) -> Optional[str]:
    """Build @lesson of @tree in @box: None when it built, else why not.
    Its products land in work/products-NN."""
    folder = tree / "lessons" / lesson.name
    if not (folder / "Makefile").is_file():
        log.write_text("")
        return f"lessons/{lesson.name}/Makefile is missing from the submission"
    products = work / f"products-{lesson.number}"
    products.mkdir()
    box.own(products)
    if opts.sandboxed:
        cmd = box.wrap(["sh", "-c", BUILD_SCRIPT, "build", lesson.name],
                       sandbox.BUILD, ro=[(tree, SUBMISSION)],
                       rw=[(products, PRODUCTS)], scratch=[KIT], chdir=KIT)
        cwd, prefix = work, KIT + "/"
    else:                           # --unsafe-no-sandbox: limits only
        cmd = box.wrap(["make", "--no-print-directory", "-C", folder, "-f",
                        folder / "Makefile", "all"], sandbox.BUILD)
        cwd, prefix = folder, str(tree) + os.sep
    status = run_contained(cmd, env=private_env(work), cwd=cwd, log=log,
                           timeout=opts.build_timeout, box=box)
    if not opts.sandboxed:
        kill_strays(work)
        built = tree / "build" / lesson.name
        if built.is_dir() and not built.is_symlink():
            shutil.copytree(built, products, dirs_exist_ok=True,
                            symlinks=True)
    escape_log(log)
    with open(log, "rb") as f:
        f.seek(max(0, log.stat().st_size - (64 << 10)))
        text = f.read().decode("utf-8", "replace").replace(prefix, "")
    if status is None:
        return (f"the build did not finish within {opts.build_timeout:g} s "
                f"and was stopped. make's last words:\n"
                f"{compiler_excerpt(text)}")
    if status != 0:
        return f"make failed (status {status}):\n{compiler_excerpt(text)}"
    image = products / "disk.img"
    if image.is_symlink() or not image.is_file():
        return f"make succeeded but wrote no build/{lesson.name}/disk.img"
    return None


def collect_build(work: Path, lesson, graded: Path) -> Optional[str]:
    """Copy @lesson's build products, regular files only, into @graded:
    the harness reads nothing else of the student's."""
    src, dst = work / f"products-{lesson.number}", graded / lesson.name
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


def make_reachable(work: Path, tree: Path) -> None:
    """Let the sandbox user reach @work and read the copied @tree (whatever
    the grader's umask), and no one else list @work."""
    os.chmod(work, 0o711)
    for folder, dirs, files in os.walk(tree):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


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
            for lesson in opts.lessons:
                why = build_lesson(tree, lesson, work,
                                   out / f"build-{lesson.number}.log",
                                   opts, box)
                why = why or collect_build(work, lesson, graded)
                if why:
                    errors[lesson.number] = why
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


def run_harness(sub, opts, out, work, graded, builds,
                uid: Optional[int]) -> Optional[int]:
    """Run the instructor's harness on @graded; returns pytest's status.
    The harness is trusted and runs as the grader; each emulator it starts
    runs in the sandbox as @uid (kit.gradeplugin, --grade-sandbox)."""
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
           f"--grade-sandbox={'off' if not opts.sandboxed else uid or 'self'}",
           f"--junitxml={out / 'junit.xml'}",
           "-o", f"junit_suite_name={sub.name}", "-p", "no:xdist",
           "-vv"]                       # -vv: pytest's whole diffs
    if opts.keyword:
        cmd += [f"-k={opts.keyword}"]
    cmd += [f"--emulator={e}" for e in opts.emulators] + files
    env = dict(private_env(work), PYTHONPATH=str(HARNESS))
    os.chmod(work / "tmp", 0o711)
    status = run_contained(cmd, env=env, cwd=work / "run",
                           log=out / "pytest.log", timeout=opts.run_timeout)
    escape_log(out / "pytest.log")
    junit = out / "junit.xml"
    if junit.is_file():             # pytest leaves \r and bidi controls raw
        junit.write_text(untrusted.xml(junit.read_text(errors="replace")))
    return status


def fallback_results(opts: Options, out: Path, name: str, why: str) -> None:
    """results.json when the harness could not grade: every test the
    harness would run, each at 0 with @why (so that the score, the
    maximum and the class summary still agree)."""
    from .gradeplugin import build_results
    entries = [dict(e, outcome="error", output=[why])
               for e in expected_tests(opts)]
    results = build_results(entries, name, 0.0)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


_expected: dict = {}


def expected_tests(opts: Options) -> list[dict]:
    """The items the harness grades for @opts, as the grading plugin
    records them before any runs (collected once, without booting)."""
    key = (tuple(l.number for l in opts.lessons), opts.keyword,
           opts.emulators)
    if key not in _expected:
        with tempfile.TemporaryDirectory(prefix="kit-grade-collect-") as tmp:
            files = [str(f) for l in opts.lessons for f in lesson_tests(l)]
            cmd = [PYTHON, "-m", "pytest", f"-c={HARNESS / 'pytest.ini'}",
                   f"--rootdir={HARNESS}", "-p", "kit.gradeplugin",
                   f"--grade-out={tmp}", "--grade-items", "--collect-only",
                   "-q", "-p", "no:xdist"]
            cmd += [f"-k={opts.keyword}"] if opts.keyword else []
            cmd += [f"--emulator={e}" for e in opts.emulators] + files
            subprocess.run(cmd, capture_output=True, timeout=120, cwd=tmp,
                           env=dict(os.environ, PYTHONPATH=str(HARNESS)))
            items = Path(tmp) / "items.json"
            _expected[key] = json.loads(items.read_text()) \
                if items.exists() else []
    return _expected[key]


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
