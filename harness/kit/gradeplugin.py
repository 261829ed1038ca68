"""The pytest side of grading: points, scores, results.json and transcripts.

Loaded by kit.grade (`-p kit.gradeplugin --grade-out DIR`); without
--grade-out or --grade-check it does nothing, so `make test` is unchanged.

Points are declared once, beside each test, with a marker registered in
harness/pytest.ini:

    @pytest.mark.points(2)
    def test_defaults_are_rule_30_from_one_cell(lesson, boot): ...

Every item pytest collects from the test (each parametrization, each
emulator) is worth that many points. Every test of a lesson module
(test_NN_*.py, NN > 00) must carry points when grading: one without is a
collection error that says what to add. The harness's self-tests
(test_00_*) carry none and are never graded.

Scoring: an item scores its points when it passed and 0 otherwise. A skip
is never a pass: it scores 0 and is reported as "could not run here" with
the reason (a missing emulator, say), and its points still count in the
maximum. The one exception is an item marked may_skip_in_ci, which the
harness allows not to run where the machine lacks something (QEMU with
KVM and nested VMX): when it skips, it "does not apply here" and counts
neither in the score nor in the maximum. When lesson NN did not build, each
of its tests fails at setup with the compiler's messages instead of
running.

While grading, every boot gets a wall-clock timeout and a serial cap
(--grade-boot-timeout, --grade-serial-cap) unless the test sets its own;
a failing test's output names the exercise left undone (TODO(name) in
COM1), what the test expected, and the end of each boot's transcript, and
each whole transcript is saved in DIR/transcripts/.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from . import emu, lessons, sandbox
from .untrusted import lossless, shown

LESSON_MODULE = re.compile(r"test_(\d\d)_")
TODO_LINE = re.compile(r"TODO\(([a-z0-9][a-z0-9-]*)\)")
MARKER_HELP = ("points(n): what each item of a test is worth in `make grade`; "
               "required on every test of a lesson module (test_NN_*.py)")
VISIBILITY_HELP = ("visibility(when): when Gradescope shows the student this "
                   "test: visible (default), hidden, after_due_date, "
                   "after_published")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
OUTPUT_EXPECTED_LINES = 30      # of pytest's "E   " explanation lines
OUTPUT_SERIAL_LINES = 20        # of each boot's transcript


def pytest_addoption(parser):
    group = parser.getgroup("kit grading (kit.gradeplugin)")
    group.addoption("--grade-out", default=None,
                    help="grade: write results.json and transcripts/ here")
    group.addoption("--grade-check", action="store_true",
                    help="only check that every lesson test carries points")
    group.addoption("--grade-builds", default=None,
                    help="JSON file {lesson: build error} of lessons that "
                         "did not build")
    group.addoption("--grade-name", default="",
                    help="the student, as results.json names them")
    group.addoption("--grade-boot-timeout", type=float, default=10.0,
                    help="seconds a boot may run unless the test sets its own")
    group.addoption("--grade-serial-cap", type=int, default=256 * 1024,
                    help="COM1 bytes kept per boot before it is a flood")
    group.addoption("--grade-sandbox", default="off",
                    help="run every emulator in the sandbox (kit/sandbox.py) "
                         "as this uid, or 'self' (as ourselves, when not "
                         "root), or 'off'")
    group.addoption("--grade-items", action="store_true",
                    help="write DIR/items.json: every graded item, as "
                         "collected (for results when grading fails)")


def pytest_configure(config):
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", VISIBILITY_HELP)
    if config.getoption("--grade-out") or config.getoption("--grade-check"):
        config.pluginmanager.register(Grader(config), "kit-grader")


def lesson_of(item) -> str | None:
    """"01" for an item of test_01_*.py; None for test_00_* and others."""
    match = LESSON_MODULE.match(Path(str(item.fspath)).name)
    return match[1] if match and match[1] != "00" else None


def points_of(item) -> float | None:
    """The item's points, None when it has none; raises on a bad marker."""
    marker = item.get_closest_marker("points")
    if marker is None:
        return None
    value = marker.args[0] if len(marker.args) == 1 and not marker.kwargs \
        else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            value <= 0:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.points takes one positive number, "
            f"e.g. @pytest.mark.points(2), not {marker.args!r}")
    return value


def visibility_of(item) -> str:
    """Gradescope's visibility for @item (@pytest.mark.visibility)."""
    marker = item.get_closest_marker("visibility")
    if marker is None:
        return "visible"
    if len(marker.args) != 1 or marker.args[0] not in VISIBILITIES:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.visibility takes one of "
            f"{', '.join(VISIBILITIES)}, not {marker.args!r}")
    return marker.args[0]


def missing_points_message(items) -> str:
    """What to tell a developer whose lesson tests carry no points."""
    where = sorted({(item.nodeid.split("::")[0],
                     getattr(item, "originalname", item.name),
                     item.location[1] + 1) for item in items})
    lines = [f"grading: {len(where)} test(s) of lesson modules carry no "
             "points, so they would count for nothing:"]
    lines += [f"  {path}::{name} (line {line})" for path, name, line in where]
    lines.append("Add @pytest.mark.points(N) on the line above each "
                 "`def test_...` (N = what each of its items is worth; see "
                 "README.md, \"Setting points\"). A harness self-test belongs "
                 "in a test_00_*.py module, which is not graded.")
    return "\n".join(lines)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:150]


def _tail(text: str, count: int) -> tuple[list[str], int]:
    lines = text.splitlines()
    return lines[-count:], len(lines)


class Grader:
    """Scores one pytest session; registered by pytest_configure."""

    def __init__(self, config):
        self.config = config
        out = config.getoption("--grade-out")
        self.out = Path(out).resolve() if out else None
        self.check_only = config.getoption("--grade-check")
        builds = config.getoption("--grade-builds")
        self.build_errors = json.loads(Path(builds).read_text()) \
            if builds else {}
        self.items_only = config.getoption("--grade-items")
        self.timeout = config.getoption("--grade-boot-timeout")
        self.serial_cap = config.getoption("--grade-serial-cap")
        self.items: dict[str, dict] = {}     # nodeid -> what results.json says
        self.order: list[str] = []
        self.checked = None                  # items, once all have points
        self.started = time.monotonic()
        self._wrap_boot()
        box = config.getoption("--grade-sandbox")
        if box != "off":                # every emulator in the sandbox
            emu.SANDBOX = sandbox.Sandbox.for_slot(
                None if box == "self" else int(box),
                hidden=(lessons.ROOT,) + ((self.out,) if self.out else ()))

    # ---- every boot of a graded test: bounded (the conftest remembers it)
    def _wrap_boot(self):
        real_boot = emu.boot
        grader = self

        def boot(image, emulator="qemu", **options):
            if options.get("timeout") is None:
                options["timeout"] = grader.timeout
            options.setdefault("serial_cap", grader.serial_cap)
            return real_boot(image, emulator, **options)

        boot.__doc__ = real_boot.__doc__
        emu.boot = boot                 # the conftest calls emu.boot(...)

    # ---- collection: points are required, self-tests are not graded
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        missing, graded, ungraded = [], [], []
        for item in items:
            lesson = lesson_of(item)
            if lesson is None:
                ungraded.append(item)
                continue
            points = points_of(item)
            if points is None:
                missing.append(item)
                continue
            item.user_properties += [("lesson", lesson), ("points", points),
                                     ("visibility", visibility_of(item))]
            if "may_skip_in_ci" in item.keywords:
                item.user_properties.append(("optional", True))
            graded.append(item)
        if missing:
            raise pytest.UsageError(missing_points_message(missing))
        self.checked = len(graded)
        if ungraded:
            config.hook.pytest_deselected(items=ungraded)
            items[:] = graded
        for item in graded:
            self._record(item.nodeid, lesson_of(item), points_of(item),
                         "may_skip_in_ci" in item.keywords,
                         visibility_of(item))
        if self.items_only and self.out:
            (self.out / "items.json").write_text(json.dumps(
                [self.items[n] for n in self.order]))
            return
        self._write()

    def pytest_collection_finish(self, session):
        if self.check_only and self.checked is not None:
            print(f"\ngrading: all {self.checked} lesson test item(s) carry "
                  "points")

    def _record(self, nodeid, lesson, points, optional,
                visibility="visible"):
        if nodeid not in self.items:
            self.order.append(nodeid)
            self.items[nodeid] = {
                "nodeid": nodeid, "lesson": lesson, "points": points,
                "optional": optional, "visibility": visibility,
                "outcome": "not run", "seconds": 0.0, "output": [],
            }

    # ---- running: a lesson that did not build is not booted
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        lesson = lesson_of(item)
        if lesson in self.build_errors:
            pytest.fail(f"lesson {lesson} did not build, so this test could "
                        f"not run. The build said:\n"
                        f"{self.build_errors[lesson]}", pytrace=False)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        if report.failed:
            report.kit_output = self._failure_output(item, report)
        elif report.skipped and report.when != "teardown":
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) \
                else str(report.longrepr)
            report.kit_output = (
                "does not apply here, so it is not counted: "
                if "may_skip_in_ci" in item.keywords else
                "could not run here, so it scores 0: ") + \
                reason.removeprefix("Skipped: ")

    def _failure_output(self, item, report) -> str:
        text = []
        # This test's boots, made or shared, as the conftest's boot fixture
        # records them.
        boots = getattr(item, "_kit_boots", [])
        todo = {m[1] for r in boots for m in TODO_LINE.finditer(r.serial)}
        if todo:
            text.append("exercise not written yet: " +
                        ", ".join(f"TODO({t})" for t in sorted(todo)))
        # pytest's own explanation (its "E" lines), without the repr of a
        # BootResult: the boots are shown below, transcript and all.
        explanation = [line[1:].strip() for line in
                       report.longreprtext.splitlines()
                       if line.startswith("E ") and "BootResult(" not in line]
        heading = "what the test expected:"
        if not explanation:             # pytest.fail(..., pytrace=False)
            explanation = report.longreprtext.strip().splitlines()
            heading = "why it failed:"
        if explanation:
            text.append(heading)
            text += ["  " + shown(line[:300])
                     for line in explanation[:OUTPUT_EXPECTED_LINES]]
            if len(explanation) > OUTPUT_EXPECTED_LINES:
                more = len(explanation) - OUTPUT_EXPECTED_LINES
                text.append(f"  ... ({more} more lines)")
        for number, result in enumerate(boots, 1):
            saved = self._save_transcript(item, number, result)
            tail, total = _tail(result.serial, OUTPUT_SERIAL_LINES)
            text.append(f"boot {number} on {result.emulator}: "
                        f"{shown(result.diagnosis)}")
            text.append(f"--- COM1, last {len(tail)} of {total} lines ---"
                        if total > len(tail) else "--- COM1 ---")
            text += [shown(line) for line in tail] or ["(nothing)"]
            if saved:
                text.append(f"--- whole transcript: {saved} ---")
        return "\n".join(text)

    def _save_transcript(self, item, number, result) -> str | None:
        if self.out is None:
            return None
        name = f"transcripts/{_safe(item.nodeid.split('::', 1)[-1])}" \
               f".boot{number}.txt"
        path = self.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # The guest's bytes, escaped losslessly (kit/untrusted.py).
        path.write_text(f"# {item.nodeid}\n# boot {number} on "
                        f"{result.emulator}: {shown(result.diagnosis)}\n"
                        f"{lossless(result.raw_serial)}")
        return name

    def pytest_runtest_logreport(self, report):
        entry = self.items.get(report.nodeid)
        if entry is None:
            props = dict(report.user_properties)
            if "points" not in props:
                return
            self._record(report.nodeid, props["lesson"], props["points"],
                         props.get("optional", False),
                         props.get("visibility", "visible"))
            entry = self.items[report.nodeid]
        entry["seconds"] += report.duration
        output = getattr(report, "kit_output", None)
        if output:
            entry["output"].append(output)
        if report.when == "setup" or entry["outcome"] == "not run":
            entry["outcome"] = ("error" if report.failed else
                                "skipped" if report.skipped else "running")
        elif report.when == "call":
            entry["outcome"] = report.outcome
        if report.when == "teardown":
            if report.failed and entry["outcome"] != "error":
                entry["outcome"] = "error"
            elif entry["outcome"] == "running":
                entry["outcome"] = "passed"
            self._write()       # kept up to date: a killed run still counts

    # ---- the end: results.json
    def pytest_sessionfinish(self, session, exitstatus):
        self._write()

    def _write(self):
        """Write results.json (atomically: a reader never sees half)."""
        if self.out is None or self.check_only or self.checked is None or \
                hasattr(self.config, "workerinput"):
            return
        self.out.mkdir(parents=True, exist_ok=True)
        entries = [self.items[n] for n in self.order]
        results = build_results(entries, self.config.getoption("--grade-name"),
                                time.monotonic() - self.started)
        # entries.json: the items as recorded, so that kit.grade can merge
        # the results of runs that each had some of the tests.
        for name, data in (("entries.json", entries),
                           ("results.json", results)):
            partial = self.out / f"{name}.part"
            partial.write_text(json.dumps(data, indent=2) + "\n")
            partial.replace(self.out / name)


def build_results(entries: list[dict], student: str, seconds: float) -> dict:
    """Gradescope's results.json from the items' outcomes."""
    tests, per_lesson, not_run, not_applicable = [], {}, [], []
    for e in entries:
        passed = e["outcome"] == "passed"
        score = e["points"] if passed else 0
        counted = not (e["optional"] and e["outcome"] == "skipped")
        maximum = e["points"] if counted else 0
        output = "\n\n".join(e["output"])
        if e["outcome"] == "not run":
            output = "did not run: grading stopped before this test"
        elif e["outcome"] == "running":
            output = "stopped while running: grading reached its time limit"
        if not counted:
            not_applicable.append(e["nodeid"])
        elif e["outcome"] in ("skipped", "not run"):
            not_run.append(e["nodeid"])
        lesson = per_lesson.setdefault(e["lesson"], {"score": 0, "max_score": 0})
        lesson["score"] += score
        lesson["max_score"] += maximum
        test = {
            "name": f"lesson{e['lesson']}::{e['nodeid'].split('::', 1)[-1]}",
            "score": score, "max_score": maximum,
            "status": "passed" if passed else "failed",
            "output": shown(output), "visibility": e.get("visibility",
                                                         "visible"),
            "tags": [f"lesson{e['lesson']}"],
            "extra_data": {"nodeid": e["nodeid"], "lesson": e["lesson"],
                           "outcome": e["outcome"], "counted": counted,
                           "seconds": round(e["seconds"], 3)},
        }
        if not counted:
            del test["status"]      # neither passed nor failed: 0 of 0
        tests.append(test)
    score = sum(t["score"] for t in tests)
    maximum = sum(t["max_score"] for t in tests)
    summary = [f"lesson {n}: {_num(l['score'])}/{_num(l['max_score'])}"
               for n, l in sorted(per_lesson.items())]
    if not_run:
        summary.append(f"{len(not_run)} test(s) could not run here and "
                       "scored 0; see each test's output")
    if not_applicable:
        summary.append(f"{len(not_applicable)} test(s) do not apply here "
                       "(e.g. they need KVM) and are not counted")
    summary.append(f"Score: {_num(score)}/{_num(maximum)}")   # always last
    return {
        "score": score, "max_score": maximum,
        "output": "\n".join(summary), "visibility": "visible",
        "stdout_visibility": "hidden",
        "execution_time": round(seconds, 1),
        "tests": tests,
        "extra_data": {"student": student, "lessons": per_lesson,
                       "not_run": not_run, "not_applicable": not_applicable},
    }


def _num(value) -> str:
    return f"{value:g}"
