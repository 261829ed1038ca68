"""Hostile submissions: `make grade` must be neither subverted nor harmed.

Each submission below is a copy of the kit changed the way a student after
full marks without the work, or after the grader's secrets, would change
it. They are graded as two classes (the instructor's Makefiles, then the
students' own with --student-makefiles), lessons 01-02 on QEMU, and after
each the tests check that nothing escaped:

  * no file appeared outside the scratch folder (a folder every attack
    aims at, world-writable, stays empty), and no scratch folder remains;
  * no process is left (every attack's processes sleep for a number of
    seconds that marks them, and the check first sees them alive);
  * no byte of a planted secret reached any output (results, report,
    transcripts, logs, the grader's own output);
  * the instructor's harness is byte for byte what it was;
  * the trick changed no score: the tricked submission scores what its
    sources score without the trick (a boot sector that fails at once).

The attacks are those of the issue that asked for the sandbox; a control
run without the sandbox (--unsafe-no-sandbox) shows one of them leaking,
so that these checks could see a leak.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from kit import emu, lessons
from test_00_grade import AUTOMATON, HARNESS, edit, kit_copy

ARGS = ["--lesson", "01,02", "-k",
        "sector_size or defaults or each_line or boots_to",
        "--emulator", "qemu", "--boot-timeout", "5", "--serial-cap", "8192",
        "-j", "2"]
MAIN_C = "lessons/02-protected-mode/main.c"
LESSON01 = "lessons/01-bootsector"
# A boot sector that powers off with FAIL at once: what the tricks must not
# turn into points.
FAILS_AT_ONCE = """\
        bits    16
        section .text
        global  _start
_start: xor     ax, ax
        mov     ds, ax
        call    serial_init16
        mov     si, msg
        call    serial_puts16
        mov     al, 1
        jmp     power_off16
%include "rm_io.inc"
%include "rm_power.inc"
msg:    db      {text}, 13, 10, 0
        global  param_rule:data 1
        global  param_generations:data 2
        global  param_row:data 80
param_rule:         db 30
param_generations:  dw 24
param_row:          times 40 db '.'
                    db '#'
                    times 39 db '.'
"""


def sector(text: str) -> str:
    """FAILS_AT_ONCE printing @text (a NASM operand list) first."""
    return FAILS_AT_ONCE.format(text=text)


def tree_digest(root: Path) -> str:
    """One hash of every file under @root (names and contents)."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()


def running(marker: str) -> list[str]:
    """Live processes whose command line holds @marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def all_output(out: Path, stdout: str) -> bytes:
    """Every byte grading wrote or printed."""
    data = stdout.encode()
    for path in out.rglob("*"):
        if path.is_file():
            data += path.read_bytes()
    return data


def grade(subs: Path, out: Path, tmp: Path,
          *extra) -> subprocess.CompletedProcess:
    """Grade @subs into @out with TMPDIR=@tmp (a folder the sandbox user
    can pass through, as /tmp is: pytest's own are not)."""
    env = dict(os.environ, PYTHONPATH=str(HARNESS), TMPDIR=str(tmp))
    tmp.mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "kit.grade", str(subs),
                           "--out", str(out), *ARGS, *extra],
                          capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc


def scores(out: Path) -> dict:
    res = json.loads((out / "results.json").read_text())
    return {t["name"]: t["score"] for t in res["tests"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The machine as an attacker finds it: a secret only the grader may
    read, one any user may read, a folder anyone may write, a port that
    answers on the loopback."""
    root = tmp_path_factory.mktemp("redteam")
    token = secrets.token_hex(16)
    secret_dir = root / "grader-home"
    secret_dir.mkdir()
    private = secret_dir / "private.key"
    private.write_text(f"PRIVATE{token}\n")
    private.chmod(0o600)
    public = secret_dir / "public.txt"
    public.write_text(f"PUBLIC{token}\n")
    public.chmod(0o644)
    outside = root / "outside"
    outside.mkdir()
    outside.chmod(0o777)
    tmp = tempfile.mkdtemp(prefix="kit-redteam-")      # in /tmp
    os.chmod(tmp, 0o711)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0)
    yield {"root": root, "token": token, "private": private,
           "public": public, "outside": outside, "listener": listener,
           # a sleep of 3000.<digits> seconds: the attacks' processes
           "marker": f"{int(token[:8], 16):010d}",
           "harness": tree_digest(HARNESS),
           "tmp": tmp}
    listener.close()
    shutil.rmtree(tmp, ignore_errors=True)
    deep = root / "class" / "odd_tree" / "d"
    if deep.exists():                   # rmtree would recurse too deep
        subprocess.run(["rm", "-rf", str(deep)], check=True)


def build_class(world) -> Path:
    """The submissions graded with the instructor's Makefiles."""
    subs = world["root"] / "class"
    mark, outside = world["marker"], world["outside"]
    # The control: sources that fail at once, no trick.
    (kit_copy(subs / "control") / AUTOMATON).write_text(sector('"control"'))
    # No work at all: the 24 default rows of rule 30, printed from a
    # picture; the parameters are never read.
    shutil.copy(Path(__file__).parent / "redteam" / "canned_rule30.asm",
                kit_copy(subs / "canned") / AUTOMATON)
    # GNU make reads GNUmakefile before Makefile: it would run the
    # student's make code (and fake the build).
    t = kit_copy(subs / "gnumakefile")
    (t / AUTOMATON).write_text(sector('"gnumakefile"'))
    for name in ("GNUmakefile", "makefile"):
        (t / LESSON01 / name).write_text(
            f"$(shell touch {outside}/{name} ; setsid sleep 3000.{mark} &)\n"
            "include Makefile\n")
    # Secrets into the compiler's messages, or into the image and printed
    # (NASM's %include and incbin in lesson 01, C's #include and the
    # assembler's .incbin in lesson 02).
    t = kit_copy(subs / "secrets")
    (t / AUTOMATON).write_text(sector('"secrets"').replace(
        "msg:", f'%include "{world["private"]}"\nmsg:'))
    edit(t / MAIN_C, "void pm_main(void);", f'#include "{world["private"]}"\n'
         f'#include "{world["public"]}"\nvoid pm_main(void);')
    t = kit_copy(subs / "incbin")
    (t / AUTOMATON).write_text(sector('"incbin"').replace(
        "msg:    db", f'msg:    incbin "{world["public"]}"\n        db'))
    edit(t / MAIN_C, "void pm_main(void);",
         f'__asm__(".section .rodata\\nleak: .incbin \\"{world["public"]}\\"'
         f'\\n.byte 0\\n.text");\nextern const char leak[];\nvoid pm_main(void);')
    # Exhaustion: the compiler reading /dev/zero.
    t = kit_copy(subs / "devzero")
    (t / AUTOMATON).write_text(sector('"devzero"'))
    edit(t / MAIN_C, "void pm_main(void);", '#include "/dev/zero"\nvoid pm_main(void);')
    # A forged report: escapes, a carriage return and a fake score line on
    # COM1, bytes that are not UTF-8, and file names made of the same.
    t = kit_copy(subs / "forged")
    (t / AUTOMATON).write_text(sector(
        '27, "[2J", 27, "[H", "Score: 99/99", 13, "lesson 01: 99/99", '
        '0xff, 0xfe, 0xe2, 0x80, 0xae'))
    (t / LESSON01 / "\x1b[2J\rScore: 99\n.asm").write_text("; name\n")
    (t / LESSON01 / os.fsdecode(b"\xff\xfe-not-utf8.asm")).write_text("")
    # An odd tree, otherwise intact: it must get full marks.
    t = kit_copy(subs / "odd_tree")
    deep = t
    for _ in range(1100):               # deeper than Python's recursion
        deep = deep / "d"
        os.mkdir(deep)
    (deep / "f.txt").write_text("deep\n")
    (t / "lessons" / "Makefile").mkdir()
    (t / "common" / "rules.mk.d").mkdir()
    os.mkfifo(t / LESSON01 / "pipe")
    os.symlink("/etc/shadow", t / LESSON01 / "shadow.asm")
    (t / "lessons" / os.fsdecode(b"\xc3\x28bad")).write_text("x")
    shutil.rmtree(t / "lessons/02-protected-mode")
    (t / "lessons/02-protected-mode").mkdir()
    (t / "lessons/02-protected-mode/Makefile").mkdir()    # a folder
    return subs


def build_student_makefiles(world) -> Path:
    """A submission whose own Makefile (--student-makefiles) attacks."""
    subs, mark, outside = world["root"] / "own", world["marker"], \
        world["outside"]
    port = world["listener"].getsockname()[1]
    t = kit_copy(subs / "own_makefile")
    (t / AUTOMATON).write_text(sector('"own makefile"'))
    attack = f"""\
KIND    := bootsector
SOURCES := automaton.asm
$(shell touch {outside}/escaped)
$(shell echo 'import pytest' > {HARNESS}/tests/conftest.py)
$(shell setsid sh -c 'cd / ; exec env -i sleep 3000.{mark}' > /dev/null 2>&1 &)
$(shell for i in $$(seq 50); do sleep 3000.{mark} & done > /dev/null 2>&1)
$(info alive: $(shell ps -eo args | grep -c '^sleep 3000.{mark}'))
$(shell /usr/bin/python3 -c 'import socket; socket.create_connection(("127.0.0.1", {port}), 2)' \\
    > /dev/null 2>&1 && touch {outside}/network)
LEAK := $(shell cat {world["private"]} {world["public"]} 2>&1)
$(info leaked: $(LEAK))
include ../../common/rules.mk
"""
    (t / LESSON01 / "Makefile").write_text(attack)
    # Far more processes than the sandbox user may have: the build may
    # fail for it, but grading must go on and nothing may be left.
    t = kit_copy(subs / "fork_bomb")
    (t / LESSON01 / "Makefile").write_text(
        f"$(shell for i in $$(seq 1000); do sleep 3000.{mark} & done "
        "> /dev/null 2>&1)\n"
        "KIND := bootsector\nSOURCES := automaton.asm\n"
        "include ../../common/rules.mk\n")
    return subs


@pytest.fixture(scope="module")
def graded(world):
    """Both classes graded, and the checks that nothing escaped."""
    if not shutil.which("bwrap") or emu.have("qemu"):
        pytest.fail("the red-team suite needs bubblewrap and QEMU (make deps)")
    root = world["root"]
    started = time.monotonic()
    runs = {}
    for name, subs, extra in (
            ("class", build_class(world), ()),
            ("own", build_student_makefiles(world), ("--student-makefiles",))):
        out, tmp = root / f"out-{name}", Path(world["tmp"]) / name
        runs[name] = {"proc": grade(subs, out, tmp, *extra), "out": out,
                      "tmp": tmp, "subs": subs}
    runs["seconds"] = time.monotonic() - started
    return runs


def test_nothing_escaped(world, graded):
    """No file outside scratch, no scratch left, no process left, no
    secret in any output, the harness unchanged, no network."""
    assert sorted(os.listdir(world["outside"])) == []
    for name in ("class", "own"):
        run = graded[name]
        assert list(run["tmp"].glob("kit-*")) == [], \
            "a scratch folder was left behind"
        data = all_output(run["out"], run["proc"].stdout + run["proc"].stderr)
        assert world["token"].encode() not in data
    # The attack's sleepers were alive inside the sandbox, and none is now.
    log = (graded["own"]["out"] / "own_makefile" / "build-01.log").read_text()
    assert int(re.search(r"alive: (\d+)", log)[1]) >= 50, log[:2000]
    assert running(world["marker"]) == []
    assert not (HARNESS / "tests" / "conftest.py").exists()
    assert tree_digest(HARNESS) == world["harness"]
    try:
        world["listener"].accept()
        pytest.fail("a sandboxed build reached the loopback")
    except BlockingIOError:
        pass


def test_tricks_change_no_score(graded):
    """Every tricked submission scores, test by test, exactly what its
    sources score without the trick (the control: a sector that fails at
    once, with lesson 02 intact); those whose lesson 02 attack made it
    fail to build lose lesson 02 too, nothing else. A sector printing the
    default rows from a picture scores what the control scores."""
    out = graded["class"]["out"]
    control = scores(out / "control")
    lesson01 = {n: s for n, s in control.items() if n.startswith("lesson01")}
    assert sum(lesson01.values()) == 1      # the sector-size test only
    assert all(s > 0 for n, s in control.items() if n.startswith("lesson02"))
    for student in ("gnumakefile", "forged", "canned"):
        assert scores(out / student) == control, student
    assert scores(out / "devzero") == dict(
        lesson01, **{n: 0 for n in control if n.startswith("lesson02")})
    for student in ("secrets", "incbin"):       # neither lesson builds
        assert set(scores(out / student).values()) == {0}, student
    assert scores(graded["own"]["out"] / "own_makefile") == control


def test_shadowing_makefiles_are_removed_and_reported(graded):
    report = (graded["class"]["out"] / "gnumakefile" / "report.txt"
              ).read_text()
    for name in ("GNUmakefile", "makefile"):
        assert (f"note: removed {LESSON01}/{name}: GNU make would read it "
                "before the instructor's Makefile") in report


def test_secrets_are_not_there_to_read(graded, world):
    """NASM's %include and incbin, gcc's #include and the assembler's
    .incbin find no secret, private or readable by all: the sandbox shows them the toolchain and the tree only, so the
    build fails saying the file does not exist."""
    out = graded["class"]["out"]
    for student, lesson in (("secrets", "01"), ("secrets", "02"),
                            ("incbin", "01"), ("incbin", "02")):
        log = (out / student / f"build-{lesson}.log").read_text()
        assert re.search(r"No such file|not found|can.t open|"
                         r"unable to (open|get length of) file", log, re.I), \
            log[-2000:]
    leaked = (graded["own"]["out"] / "own_makefile" / "build-01.log"
              ).read_text()
    assert "leaked: cat:" in leaked and "No such file" in leaked


def test_exhaustion_is_bounded(graded):
    """#include "/dev/zero" ends at the memory limit, a fork bomb at the
    process limit (a later fork of its build fails), and the whole
    red-team grading stays within minutes."""
    res = json.loads((graded["class"]["out"] / "devzero" / "results.json"
                      ).read_text())
    lesson02 = [t for t in res["tests"] if t["extra_data"]["lesson"] == "02"]
    assert lesson02 and all("lesson 02 did not build" in t["output"]
                            for t in lesson02)
    bomb = (graded["own"]["out"] / "fork_bomb" / "build-01.log").read_text()
    assert re.search(r"Cannot fork|Resource temporarily unavailable",
                     bomb), bomb[:2000]
    assert graded["seconds"] < 300


def test_reports_cannot_be_forged(graded):
    """No escape, no carriage return reaches the report or the terminal;
    the grader's score line is the last line; the transcript keeps every
    byte, escaped losslessly; escaped file names in the notes."""
    out = graded["class"]["out"] / "forged"
    report = (out / "report.txt").read_text()
    stdout = graded["class"]["proc"].stdout
    for text in (report, stdout, (out / "results.json").read_text(),
                 (out / "junit.xml").read_text()):
        assert "\x1b" not in text and "\r" not in text
        assert "\u202e" not in text
    res = json.loads((out / "results.json").read_text())
    assert report.rstrip("\n").splitlines()[-1] == \
        f"Score: {res['score']:g}/{res['max_score']:g}"
    assert res["score"] == sum(scores(graded["class"]["out"] / "control")
                               .values())
    # (the report shows COM1 as the tests read it: carriage returns folded)
    assert "| \\x1b[2J\\x1b[HScore: 99/99lesson 01: 99/99" in report
    transcript = next((out / "transcripts").glob("*.txt")).read_text()
    assert "\\x1b[2J\\x1b[HScore: 99/99\\x0dlesson 01: 99/99\\xff\\xfe" \
           "\\u202e" in transcript
    assert "note: ignored lessons/01-bootsector/\\xff\\xfe-not-utf8.asm" \
           in report
    assert "\\x1b[2J\\x0dScore: 99\\x0a.asm" in report


def test_odd_trees_are_graded_not_crashed(graded):
    """Folders 1100 deep, folders where the instructor's Makefiles go, a
    FIFO, a link to /etc/shadow, a name that is not UTF-8: the intact
    lesson 01 gets full marks, lesson 02 (its Makefile a folder, its
    sources gone) a 0 with the reason, and the summary agrees with
    results.json for every student."""
    out = graded["class"]["out"]
    res = json.loads((out / "odd_tree" / "results.json").read_text())
    lesson01 = [t for t in res["tests"] if t["extra_data"]["lesson"] == "01"]
    assert lesson01 and all(t["score"] == t["max_score"] > 0
                            for t in lesson01)
    report = (out / "odd_tree" / "report.txt").read_text()
    assert "folders deep" in report
    assert "ignored symlink lessons/01-bootsector/shadow.asm" in report
    assert "ignored special file lessons/01-bootsector/pipe" in report
    with open(out / "summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(list(graded["class"]["subs"].iterdir()))
    for row in rows:
        res = json.loads((out / row["student"] / "results.json").read_text())
        assert float(row["total"]) == res["score"]
        assert float(row["max_score"]) == res["max_score"] > 0


def test_the_checks_see_a_leak_without_the_sandbox(world, tmp_path):
    """The control: --unsafe-no-sandbox lets the compiler read the public
    secret into its error message, and NASM's incbin into the image and so
    onto COM1, and these checks catch both."""
    subs = tmp_path / "class"
    t = kit_copy(subs / "leaker")
    (t / AUTOMATON).write_text(sector('"incbin"').replace(
        "msg:    db", f'msg:    incbin "{world["public"]}"\n        db'))
    edit(t / MAIN_C, "void pm_main(void);",
         f'#include "{world["public"]}"\nvoid pm_main(void);')
    proc = grade(subs, tmp_path / "out", Path(world["tmp"]) / "unsafe",
                 "--unsafe-no-sandbox")
    assert "WARNING: --unsafe-no-sandbox" in proc.stderr
    out = tmp_path / "out" / "leaker"
    token = world["token"].encode()
    assert token in (out / "build-02.log").read_bytes()
    assert token in b"".join(p.read_bytes()
                             for p in (out / "transcripts").iterdir())


def test_grading_refuses_without_a_sandbox(tmp_path):
    """Where no sandbox can be made (here: bwrap missing from PATH),
    grading refuses in one line that names the way out."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("make", "prlimit", "setpriv", "nasm", "gcc"):
        if shutil.which(tool):
            os.symlink(shutil.which(tool), tools / tool)
    env = dict(os.environ, PYTHONPATH=str(HARNESS), PATH=str(tools))
    proc = subprocess.run([sys.executable, "-m", "kit.grade",
                           str(lessons.ROOT), "--out", str(tmp_path / "out"),
                           "--lesson", "01"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 2
    assert "refusing to grade: no sandbox" in proc.stderr
    assert "bwrap is not installed (Debian package bubblewrap)" in proc.stderr
    assert "--unsafe-no-sandbox" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_guest_log_floods_are_stopped(tmp_path):
    """A guest that makes QEMU log without pause (an interrupt storm, no
    COM1 at all) is stopped at the log cap, long before its timeout, and
    only the end of the log is ever read."""
    image = tmp_path / "logflood.img"
    subprocess.run(["nasm", "-f", "bin", "-I", f"{HARNESS / 'broken'}/",
                    "-o", str(image), str(HARNESS / "broken" /
                                          "logflood.asm")], check=True)
    started = time.monotonic()
    result = emu.boot(image, "qemu", timeout=30)
    assert result.outcome == "flood", result.diagnosis
    assert "log flood: the emulator's log passed 16 MiB" in result.diagnosis
    assert time.monotonic() - started < 10
    assert len(result.log_tail) < 64 << 10


def test_monitor_answers_are_bounded():
    """A monitor command built from a guest's numbers (an `xp` of a huge
    size) ends with MonitorError at the byte cap, not minutes later."""
    started = time.monotonic()
    with pytest.raises(emu.MonitorError, match="more than"):
        emu.boot(lessons.find("01").image, "qemu", until=r"\[kit\] power",
                 debug_exit=False,
                 monitor_commands=["xp /100000000xb 0"])
    assert time.monotonic() - started < 10
