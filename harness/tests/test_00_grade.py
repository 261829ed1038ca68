"""The instructor's tools: points, `make grade` on submissions, the handout.

References: pytest's own JUnit XML and exit status for what passed; the
kit's own sources for what the handout took out; and submissions made here
by breaking a copy of the kit in known ways (a wrong rule lookup, a syntax
error, a guest that hangs or floods, a build that never ends, a student who
rewrote their copy of the tests). Each is graded as a class, two at a time,
on a few lesson 01/02 tests on QEMU, to stay quick.
"""
import csv
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kit import emu, grade, handout, lessons

HARNESS = Path(__file__).resolve().parents[1]
ROOT = lessons.ROOT
# Two lesson 01 tests (one boots, one reads the image) and one of lesson 02.
SUBSET = "sector_size or defaults or boots_to"
GRADE_ARGS = ["--lesson", "01,02", "-k", SUBSET, "--emulator", "qemu",
              "--boot-timeout", "3", "--serial-cap", "4096"]
LESSON01_ARGS = [a if a != "01,02" else "01" for a in GRADE_ARGS]
EXERCISES = {"neighbourhood": "01", "rule-lookup": "01",
             "enter-protected-mode": "02", "gdt-decode": "02",
             "e820-usable-total": "02", "page-walk": "03", "idt-gate": "04",
             "adjust-controls": "05", "hypercall-print": "06",
             "e820-filter": "07", "svm-next-rip": "08",
             "vmcs-switch": "10"}


def run_kit(module, *args, cwd=None):
    """python3 -m kit.<module> ARGS, as the Makefile runs it."""
    env = dict(os.environ, PYTHONPATH=str(HARNESS))
    return subprocess.run([sys.executable, "-m", f"kit.{module}", *args],
                          capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=300)


def kit_copy(dst: Path, with_harness=False) -> Path:
    """A student's tree: a copy of the kit, as handed out."""
    for part in ("lessons", "common") + (("harness",) if with_harness else ()):
        shutil.copytree(ROOT / part, dst / part, ignore=shutil.ignore_patterns(
            "__pycache__"))
    shutil.copy(ROOT / "Makefile", dst / "Makefile")
    return dst


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: {old!r}"
    path.write_text(text.replace(old, new))


AUTOMATON = "lessons/01-bootsector/automaton.asm"
RULE_BIT = "        shr     al, cl                  ; the rule's bit"


def sabotage_rule(tree: Path) -> None:
    """The rule lookup shifts the wrong way: it assembles, boots, passes its
    own power-off, and computes the wrong cells."""
    edit(tree / AUTOMATON, RULE_BIT, RULE_BIT.replace("shr", "shl"))


def results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def by_test(out: Path) -> dict:
    """{test name without lesson: test entry} of a results.json."""
    return {t["name"].split("::", 1)[1]: t for t in results(out)["tests"]}


def junit_outcomes(path: Path) -> dict:
    """{nodeid: passed|failed|skipped} as pytest's JUnit XML says."""
    outcomes = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        nodeid = (case.get("classname").replace(".", "/") + ".py::" +
                  case.get("name"))
        kinds = {child.tag for child in case}
        outcomes[nodeid] = ("failed" if kinds & {"failure", "error"} else
                            "skipped" if "skipped" in kinds else "passed")
    return outcomes


def assert_agrees_with_junit(out: Path) -> None:
    res = results(out)
    junit = junit_outcomes(out / "junit.xml")
    mine = {t["extra_data"]["nodeid"]:
            {"passed": "passed", "skipped": "skipped"}.get(
                t["extra_data"]["outcome"], "failed") for t in res["tests"]}
    assert mine == junit
    assert res["score"] == sum(t["max_score"] for t in res["tests"]
                               if junit[t["extra_data"]["nodeid"]] == "passed")


# ------------------------------------------------------------ points
def test_every_lesson_test_carries_points():
    """Collected for grading, every test of every lesson module has points
    (so a new test cannot silently be worth nothing)."""
    files = sorted(str(f) for f in (HARNESS / "tests").glob("test_[0-9]*.py")
                   if not f.name.startswith("test_00_"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"-c={HARNESS / 'pytest.ini'}",
         f"--rootdir={HARNESS}", "-p", "kit.gradeplugin", "--grade-check",
         "--collect-only", "-q", *files],
        capture_output=True, text=True, env=dict(
            os.environ, PYTHONPATH=str(HARNESS)), cwd=HARNESS, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"grading: all \d+ lesson test item\(s\) carry points",
                     proc.stdout)


FAKE_LESSON = '''
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

@pytest.mark.points(2)
def test_passes():
    assert 1 + 1 == 2

@pytest.mark.points(3)
def test_fails():
    assert 6 * 7 == 41, "the answer"

@pytest.mark.points(1)
def test_could_not_run():
    pytest.skip("bochs is not installed (Debian package bochs)")

@pytest.mark.points(1)
def test_setup_error(broken):
    pass

@pytest.mark.points(5)
@pytest.mark.may_skip_in_ci
def test_needs_kvm():
    pytest.skip("no KVM here")

@pytest.mark.points(1)
@pytest.mark.parametrize("n", [1, 2])
def test_each(n):
    assert n
'''
SELF_TEST = '''
def test_harness_checks_itself():
    assert True
'''


def run_fake(tmp_path, lesson_source, *extra):
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    may_skip_in_ci: allowed to skip\n"
        "    visibility: Gradescope visibility\n")
    (tmp_path / "test_07_fake.py").write_text(lesson_source)
    (tmp_path / "test_00_self.py").write_text(SELF_TEST)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"-c={tmp_path / 'pytest.ini'}",
         f"--rootdir={tmp_path}", "-p", "kit.gradeplugin",
         f"--grade-out={out}", f"--junitxml={out / 'junit.xml'}", "-p",
         "no:cacheprovider", *extra, str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(HARNESS)))
    return proc, out


def test_scores_agree_with_pytests_own_outcomes(tmp_path):
    """results.json scores exactly the items pytest's JUnit XML says passed;
    a skip scores 0 and says it could not run and why; a failure shows what
    the test expected; a harness self-test is not graded at all; report.txt
    prints one OK/FAIL/SKIP line per item and the score. A skip the harness
    allows (may_skip_in_ci: needs KVM) does not count at all."""
    proc, out = run_fake(tmp_path, FAKE_LESSON)
    assert proc.returncode == 1                 # pytest saw failures
    res = results(out)
    assert_agrees_with_junit(out)
    assert (res["score"], res["max_score"]) == (2 + 1 + 1, 2 + 3 + 1 + 1 + 2)
    assert res["extra_data"]["lessons"] == {"07": {"score": 4, "max_score": 9}}
    tests = by_test(out)
    assert set(tests) == {"test_passes", "test_fails", "test_could_not_run",
                          "test_setup_error", "test_each[1]", "test_each[2]",
                          "test_needs_kvm"}
    kvm = tests.pop("test_needs_kvm")
    assert (kvm["score"], kvm["max_score"]) == (0, 0) and "status" not in kvm
    assert kvm["output"] == ("does not apply here, so it is not counted: "
                             "no KVM here")
    assert res["extra_data"]["not_applicable"] == [kvm["extra_data"]["nodeid"]]
    skip = tests["test_could_not_run"]
    assert (skip["score"], skip["status"]) == (0, "failed")
    assert skip["output"] == ("could not run here, so it scores 0: bochs is "
                              "not installed (Debian package bochs)")
    assert res["extra_data"]["not_run"] == [skip["extra_data"]["nodeid"]]
    assert "assert (6 * 7) == 41" in tests["test_fails"]["output"]
    assert "the answer" in tests["test_fails"]["output"]
    assert "fixture broke" in tests["test_setup_error"]["output"]
    for t in tests.values():
        assert t["visibility"] == "visible" and t["max_score"] > 0
        assert set(t) >= {"name", "score", "max_score", "output"}
    report = grade.report_text(res)
    assert re.search(r"lesson07::test_passes +OK +\d+\.\d\d s  2/2", report)
    assert re.search(r"lesson07::test_fails +FAIL .* 0/3", report)
    assert re.search(r"lesson07::test_could_not_run +SKIP .* 0/1", report)
    assert re.search(r"lesson07::test_needs_kvm +SKIP .* 0/0", report)
    assert "lesson 07: 4/9" in report and "Score: 4/9" in report
    assert "1 test(s) could not run here and scored 0" in report
    assert "1 test(s) do not apply here" in report


def test_a_lesson_test_without_points_is_a_collection_error(tmp_path):
    """When grading, a lesson test with no points stops the run at
    collection with a message naming it and saying what to add."""
    proc, out = run_fake(tmp_path, FAKE_LESSON + "\ndef test_new():\n"
                         "    pass\n")
    assert proc.returncode == 4                 # pytest: usage error
    assert "1 test(s) of lesson modules carry no points" in proc.stderr
    assert "test_07_fake.py::test_new (line" in proc.stderr
    assert "Add @pytest.mark.points(N) on the line above each" in proc.stderr
    assert not (out / "results.json").exists()


HIDDEN_LESSON = '''
import pytest

@pytest.mark.points(2)
def test_shown():
    pass

@pytest.mark.points(3)
@pytest.mark.visibility("after_due_date")
def test_hidden_until_due():
    assert False, "not yet"
'''


def test_visibility_marker_reaches_gradescope(tmp_path):
    """@pytest.mark.visibility beside the points sets the test's Gradescope
    visibility; its points and score count as any other's; a value
    Gradescope does not know is a collection error that lists the ones it
    does."""
    proc, out = run_fake(tmp_path, HIDDEN_LESSON)
    tests = by_test(out)
    assert tests["test_shown"]["visibility"] == "visible"
    hidden = tests["test_hidden_until_due"]
    assert (hidden["visibility"], hidden["score"], hidden["max_score"]) == \
        ("after_due_date", 0, 3)
    assert results(out)["score"] == 2
    proc, out = run_fake(tmp_path, HIDDEN_LESSON.replace(
        "after_due_date", "tomorrow"))
    assert proc.returncode == 4
    assert ("@pytest.mark.visibility takes one of visible, hidden, "
            "after_due_date, after_published, not ('tomorrow',)") in proc.stderr


# ------------------------------------------------------------ a class
@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """A class of submissions, graded two at a time, once per session even
    when pytest-xdist runs this module's tests in two workers (the first
    grades, under a lock; the other reads its results)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent                      # shared by the workers
    root = base / "kit-grade-class"
    with open(base / "kit-grade-class.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "stdout.txt").exists():
            shutil.rmtree(root, ignore_errors=True)
            stdout = grade_class(root)
            (root / "stdout.txt").write_text(stdout)
    classes = {"two_lessons": 5, "lesson01": 3}      # and their max scores
    subs = {s.name: s for c in classes for s in (root / c).iterdir()}
    return {"subs": subs, "max": classes, "root": root,
            "out": {s: root / "out" / subs[s].parent.name / s for s in subs},
            "stdout": (root / "stdout.txt").read_text()}


def grade_class(root: Path) -> str:
    """Make the submissions under @root and grade them: those that need
    lesson 02 with lessons 01 and 02, the others (which only break lesson
    01) with lesson 01 alone, which builds faster."""
    subs = root / "two_lessons"
    edit(kit_copy(subs / "no_assemble") / AUTOMATON, RULE_BIT,
         RULE_BIT.replace("shr     al, cl", "shr     al, cl, 1"))
    # The handout as `make handout` writes it, and as a student who wrote
    # every exercise returns it: each stub replaced by its solution.
    proc = run_kit("handout", "--out", str(subs / "handout"), "--no-check")
    assert proc.returncode == 0, proc.stderr
    shutil.copytree(subs / "handout", subs / "restored")
    regions = handout.find_regions(ROOT)
    for path in {r.path for r in regions}:
        text = (subs / "restored" / path).read_text()
        for region in (r for r in regions if r.path == path):
            assert text.count(region.stub) == 1
            text = text.replace(region.stub, region.solution)
        (subs / "restored" / path).write_text(text.replace(
            '#include "power.h" /* panic(), for the TODO stubs */\n', ""))
    stdout = run_class(subs, root / "out" / subs.name, GRADE_ARGS)
    subs = root / "lesson01"
    kit_copy(subs / "good")
    sabotage_rule(kit_copy(subs / "sabotaged"))
    # The cheater's rule is as wrong as the saboteur's, but their copy of the
    # harness passes everything for 100 points, their Makefile copies a good
    # image, and they ship the kit's own build/.
    cheater = kit_copy(subs / "cheater", with_harness=True)
    sabotage_rule(cheater)
    for test in (cheater / "harness" / "tests").glob("test_0[12]_*.py"):
        names = re.findall(r"^def (test_\w+)", test.read_text(), re.M)
        test.write_text("import pytest\n" + "".join(
            f"@pytest.mark.points(100)\ndef {n}():\n    pass\n"
            for n in names))
    (cheater / "harness" / "conftest.py").write_text(
        "import os\nos._exit(0)\n")
    good = lessons.find("01").build
    edit(cheater / "lessons/01-bootsector/Makefile", "include",
         f"all:\n\tcp {good}/disk.img {good}/params.json $(B)/\ninclude")
    (cheater / "build" / "01-bootsector").mkdir(parents=True)
    for name in ("disk.img", "params.json"):
        shutil.copy(good / name, cheater / "build" / "01-bootsector" / name)
    # A guest that hangs before printing, and one that prints forever.
    edit(kit_copy(subs / "hangs") / AUTOMATON, "generation:\n",
         "        jmp     $\ngeneration:\n")
    edit(kit_copy(subs / "floods") / AUTOMATON, "generation:\n",
         ".flood: mov     al, 'x'\n        call    serial_putc16\n"
         "        jmp     .flood\ngeneration:\n")
    (subs / "not_a_kit").mkdir()
    (subs / "not_a_kit" / "notes.txt").write_text("forgot to upload\n")
    return stdout + run_class(subs, root / "out" / subs.name, LESSON01_ARGS)


def run_class(subs: Path, out: Path, args: list) -> str:
    proc = run_kit("grade", str(subs), "--out", str(out), "-j", "2", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_class_summary_matches_each_result(klass):
    """summary.csv has a row per submission with its score per lesson and in
    total, equal to that student's results.json, which agrees with pytest's
    JUnit XML."""
    rows = {}
    for name, maximum in klass["max"].items():
        with open(klass["root"] / "out" / name / "summary.csv") as f:
            table = list(csv.DictReader(f))
        lessons_graded = ("01", "02") if name == "two_lessons" else ("01",)
        assert list(table[0]) == ["student"] + [
            f"lesson{n}" for n in lessons_graded] + [
            "total", "max_score", "not_run", "notes"]
        for row in table:
            out = klass["out"][row["student"]]
            res = results(out)
            assert_agrees_with_junit(out)
            assert float(row["total"]) == res["score"]
            assert float(row["max_score"]) == res["max_score"] == maximum
            for lesson in lessons_graded:
                assert float(row[f"lesson{lesson}"]) == sum(
                    t["score"] for t in res["tests"]
                    if t["extra_data"]["lesson"] == lesson)
            assert f"grade: {row['student']}: {row['total']}/{maximum} in " \
                in klass["stdout"]
            rows[row["student"]] = row
    assert set(rows) == {"good", "sabotaged", "no_assemble", "cheater",
                         "hangs", "floods", "not_a_kit", "handout",
                         "restored"}
    assert rows["not_a_kit"]["total"] == "0"
    assert "not a kit tree" in results(klass["out"]["not_a_kit"])[
        "tests"][0]["output"]


def test_intact_submission_gets_full_marks(klass):
    """An unchanged copy of the kit gets every point."""
    res = results(klass["out"]["good"])
    assert res["score"] == res["max_score"] == 3
    assert all(t["status"] == "passed" for t in res["tests"])


def test_wrong_rule_loses_only_the_tests_it_breaks(klass):
    """A rule lookup shifting the wrong way scores 0 on the tests that boot
    lesson 01, with the rows expected against the rows printed and the
    transcript (saved whole), and full marks on the test it does not break
    (for another lesson, see the next test)."""
    out = klass["out"]["sabotaged"]
    tests = by_test(out)
    assert len(tests) == 2
    assert tests["test_sector_size_and_signature"]["score"] == 1
    t = tests["test_defaults_are_rule_30_from_one_cell[qemu]"]
    assert t["score"] == 0 and t["status"] == "failed"
    assert "what the test expected:" in t["output"]
    assert "At index 1 diff:" in t["output"]
    assert "boot 1 on qemu: powered off: PASS" in t["output"]
    saved = re.search(r"whole transcript: (\S+) ---", t["output"])[1]
    transcript = (out / saved).read_text()
    assert len([l for l in transcript.splitlines()
                if re.fullmatch(r"[#.]{80}", l)]) == 24


def test_submission_that_does_not_assemble_gets_the_compilers_message(klass):
    """A lesson 01 that NASM rejects is a 0 on every lesson 01 test, each
    showing NASM's error, and does not stop lesson 02 being graded."""
    tests = by_test(klass["out"]["no_assemble"])
    assert len(tests) == 3
    for name, t in tests.items():
        if name.startswith("test_boots_to"):
            assert t["score"] == t["max_score"] == 2
        else:
            assert t["score"] == 0
            assert "lesson 01 did not build" in t["output"]
            assert re.search(r"automaton\.asm:\d+: error: ", t["output"])
    log = (klass["out"]["no_assemble"] / "build-01.log").read_text()
    assert "error:" in log


def test_students_copy_of_the_harness_cannot_change_the_score(klass):
    """Tests that pass anything, 100-point markers, a conftest that exits,
    a Makefile that copies a good image and a shipped build/: the cheater
    scores exactly what the same sources score without them."""
    cheat, honest = by_test(klass["out"]["cheater"]), \
        by_test(klass["out"]["sabotaged"])
    assert {n: (t["score"], t["max_score"]) for n, t in cheat.items()} == \
        {n: (t["score"], t["max_score"]) for n, t in honest.items()}
    assert results(klass["out"]["cheater"])["score"] == 1


def test_hanging_and_flooding_guests_are_contained(klass):
    """A guest that hangs is stopped at the boot timeout and one that
    prints forever at the serial cap; each is reported as such, with no
    emulator left running."""
    hang = by_test(klass["out"]["hangs"])
    flood = by_test(klass["out"]["floods"])
    for tests, words in ((hang, "guest hung: no power-off within 3 s"),
                         (flood, "serial flood: the guest printed more "
                                 "than 4096 bytes")):
        booted = [t for n, t in tests.items() if "qemu" in n]
        assert len(booted) == 1
        for t in booted:
            assert t["score"] == 0 and words in t["output"]
            assert t["extra_data"]["seconds"] < 10
    report = (klass["out"]["hangs"] / "report.txt").read_text()
    assert "left behind" not in report
    saved = re.search(r"whole transcript: (\S+) ---",
                      flood["test_defaults_are_rule_30_from_one_cell[qemu]"]
                      ["output"])[1]
    assert 4000 < len((klass["out"]["floods"] / saved).read_text()) < 4400


def test_parallel_grading_matches_sequential(klass, tmp_path):
    """Graded one at a time, two submissions get exactly the per-test
    outcomes, scores and outputs they got graded two at a time (lesson 01's
    tests, to keep this quick)."""
    subs = tmp_path / "two"
    for student in ("good", "sabotaged"):
        shutil.copytree(klass["subs"][student], subs / student)
    proc = run_kit("grade", str(subs), "--out", str(tmp_path / "out"),
                   "-j", "1", *LESSON01_ARGS)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def outcomes(out):
        return [(t["name"], t["status"], t["score"], t["max_score"],
                 re.sub(r"\d+\.\d+ s", "", t["output"]))
                for t in results(out)["tests"] if "lesson01" in t["tags"]]
    for student in ("good", "sabotaged"):
        alone = outcomes(tmp_path / "out" / student)
        assert len(alone) == 2
        assert alone == outcomes(klass["out"][student])


def test_one_tree_in_two_runs_matches_the_class_run(klass, tmp_path):
    """Graded alone (-j 1), a tree's tests are split between two pytest
    runs at once (kit/gradeharness.py) and merged: the same outcomes,
    scores and outputs as when its class was graded in one run, one
    results.json that agrees with the merged junit.xml, and the failed
    tests' transcripts where their outputs say."""
    out = tmp_path / "out"
    proc = run_kit("grade", str(klass["subs"]["handout"]), "--out",
                   str(out), *GRADE_ARGS, "-j", "1")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "lesson 01:" in proc.stdout and "lesson 02:" in proc.stdout

    def outcomes(where):
        return [(t["name"], t["status"], t["score"], t["max_score"],
                 re.sub(r"\d+\.\d+ s", "", t["output"]))
                for t in results(where)["tests"]]
    assert outcomes(out) == outcomes(klass["out"]["handout"])
    assert_agrees_with_junit(out)
    saved = [name for t in results(out)["tests"] for name in
             re.findall(r"whole transcript: (\S+) ---", t["output"])]
    assert saved and all((out / name).is_file() for name in saved)


def test_hanging_build_is_stopped_and_scores_zero(tmp_path):
    """With the student's own Makefiles, a make that never ends is stopped
    at the build timeout, with whatever it started (even in a session of its
    own), and the lesson scores 0 saying so. (The tree sits a folder deeper,
    as in an unpacked archive: --single grades it as one submission.)"""
    tree = kit_copy(tmp_path / "upload" / "kit")
    naps = [f"{os.getpid()}{i}" for i in (1, 2)]   # seconds: never ends
    (tree / "lessons/01-bootsector/Makefile").write_text(
        f"all:\n\techo building\n\tsetsid sleep {naps[0]} &\n"
        f"\tsleep {naps[1]}\n")
    out = tmp_path / "out"
    proc = run_kit("grade", "--single", str(tmp_path / "upload"), "--out",
                   str(out), "--lesson", "01", "-k", "sector_size",
                   "--student-makefiles", "--build-timeout", "2")
    assert proc.returncode == 1                 # not full marks
    t = results(out)["tests"][0]
    assert t["score"] == 0
    assert "the build did not finish within 2 s and was stopped" in t["output"]
    assert "building" in t["output"]
    sleeping = {f"sleep\0{n}\0".encode() for n in naps}
    assert not [p for p in Path("/proc").iterdir()
                if p.name.isdigit() and _cmdline(p) in sleeping]


def _cmdline(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


# ------------------------------------------------------------ the handout
def test_solution_markers_are_found_and_checked():
    """The kit marks the expected exercises; a malformed, nested, unclosed
    or duplicate marker is an error naming the file and line."""
    regions = handout.find_regions(ROOT)
    assert {r.name: r.path.split("/")[1][:2] for r in regions} == EXERCISES
    for bad, why in [
            ("/* BEGIN SOLUTION x */\n", "malformed solution marker"),
            ("/* BEGIN SOLUTION: a */\n/* BEGIN SOLUTION: b */\n",
             "regions do not nest"),
            ("/* BEGIN SOLUTION: a */\nint x;\n", "has no END SOLUTION"),
            ("/* END SOLUTION */\n", "END SOLUTION without a BEGIN")]:
        with pytest.raises(handout.MarkerError, match=f"f.c:\\d+: .*{why}"):
            handout.strip(bad, "f.c")
    with pytest.raises(handout.MarkerError, match="cannot tell whether"):
        handout.strip("; BEGIN SOLUTION: a\n; END SOLUTION\n", "f.asm")


@pytest.mark.parametrize("bits", ["32", "64"])
def test_32_and_64_bit_stubs_assemble(bits, tmp_path):
    """No lesson marks 32- or 64-bit assembly yet: its stub, twice in one
    file, must still assemble and call panic_at() with the TODO message."""
    source = (f"        bits    {bits}\nsection .text\nglobal f\nf:\n" +
              "".join(f"        ; BEGIN SOLUTION: part-{n}\n        nop\n"
                      "        ; END SOLUTION\n        ret\n" for n in (1, 2)))
    text, regions = handout.strip(source, "lessons/09-x/f.asm")
    assert [r.name for r in regions] == ["part-1", "part-2"]
    (tmp_path / "f.asm").write_text(text)
    proc = subprocess.run(["nasm", f"-felf{bits}", "-o", str(tmp_path / "f.o"),
                           str(tmp_path / "f.asm")], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    symbols = subprocess.run(["nm", str(tmp_path / "f.o")],
                             capture_output=True,
                             text=True).stdout
    assert re.search(r"^\s+U panic_at$", symbols, re.M)
    assert b"TODO(part-2): not written yet" in (tmp_path / "f.o").read_bytes()


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_each_exercise_stub_fails_naming_it(exercise, tmp_path):
    """With only this exercise taken out, its lesson still builds and boots,
    and powers off with FAIL after printing TODO(exercise)."""
    tree = tmp_path / "kit"
    handout.write_handout(ROOT, tree, only={exercise})
    lesson = lessons.find(EXERCISES[exercise])
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    proc = subprocess.run(["make", "-s", "-C", str(tree / "lessons" /
                                                   lesson.name)],
                          capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = emu.boot(tree / "build" / lesson.name / "disk.img",
                      lesson.emulators[0], timeout=10)
    assert result.outcome == "fail", result.diagnosis
    assert f"TODO({exercise})" in result.serial
    assert result.serial.rstrip().endswith("[kit] power off: FAIL (status 1)")


def test_handout_fails_at_the_exercises_and_solutions_pass(klass):
    """`make handout`'s tree has no solution left, and graded, its lessons
    build and its booting tests fail naming the first exercise each lesson
    meets. With the solutions put back into the stubs, the files are the
    kit's again (markers aside), and the same tests get full marks."""
    tree, restored = klass["subs"]["handout"], klass["subs"]["restored"]
    regions = handout.find_regions(ROOT)
    assert handout.find_regions(tree) == []
    for region in regions:
        text = (tree / region.path).read_text()
        assert region.solution not in text
        assert f"TODO({region.name})" in text
    tests = by_test(klass["out"]["handout"])
    assert tests["test_sector_size_and_signature"]["score"] == 1
    for name, first in [("test_defaults_are_rule_30_from_one_cell[qemu]",
                         "neighbourhood"),
                        ("test_boots_to_protected_mode[qemu]",
                         "enter-protected-mode")]:
        assert tests[name]["score"] == 0
        assert tests[name]["output"].startswith(
            f"exercise not written yet: TODO({first})")
    for path in sorted({r.path for r in regions}):
        original = "".join(
            line for line in (ROOT / path).read_text().splitlines(True)
            if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)
        assert (restored / path).read_text() == original
    res = results(klass["out"]["restored"])
    assert res["score"] == res["max_score"] == 5


def test_a_hypervisor_lesson_is_graded_with_its_guests_built():
    """Grading lesson 07 (or 09) builds the lessons it boots as guests from
    the same submission, after the graded ones, without grading them."""
    build = grade.with_guests([lessons.find("07"), lessons.find("02")])
    assert [l.number for l in build] == ["07", "02", "01", "03", "04"]
    assert grade.with_guests([lessons.find("01")]) == [lessons.find("01")]
    # Lesson 10's tests compare with lesson 06's image (REFERENCES).
    build = grade.with_guests([lessons.find("10")])
    assert [l.number for l in build] == ["10", "06"]
