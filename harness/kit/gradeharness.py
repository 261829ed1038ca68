"""The test half of grading: the instructor's harness run on a
submission's build products, and results.json when it cannot be.
kit/grade.py drives it; see its docstring for the whole story.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional

from . import untrusted
from .gradebuild import escape_log, private_env, run_contained

HARNESS = Path(__file__).resolve().parents[1]
PYTHON = "/usr/bin/python3"


def lesson_tests(lesson) -> list[Path]:
    """The instructor's test modules of @lesson (test_NN_*.py)."""
    return sorted((HARNESS / "tests").glob(f"test_{lesson.number}_*.py"))


def run_harness(sub, opts, out, work, graded, builds,
                uid: Optional[int]) -> Optional[int]:
    """Run the instructor's harness on @graded; returns pytest's status
    (None when it was stopped at its time limit). The harness is trusted
    and runs as the grader; each emulator it starts runs in the sandbox as
    @uid (kit.gradeplugin, --grade-sandbox). Grading one submission at a
    time (-j 1), the test modules are split between SHARDS pytest runs at
    once; each run writes in a folder of its own, merged into @out."""
    (work / "run").mkdir()
    private_env(work)                   # makes work/home and work/tmp
    os.chmod(work / "tmp", 0o711)       # emulators' folders go in there
    files = [f for l in opts.lessons for f in lesson_tests(l)]
    shards = split(files, SHARDS if opts.jobs == 1 else 1)
    outs = [work / f"shard{n}" for n in range(len(shards))]
    with concurrent.futures.ThreadPoolExecutor(len(shards)) as pool:
        statuses = list(pool.map(
            lambda n: _pytest(sub, opts, outs[n], work, graded, builds, uid,
                              shards[n]), range(len(shards))))
    merge(outs, out, sub.name)
    if None in statuses:
        return None
    return max(statuses)


SHARDS = 2                          # the machines the kit is made for: 2 cores


def split(files: list[Path], count: int) -> list[list[Path]]:
    """@files in @count groups of about equal weight (a module's size
    stands for its boots), each in course order."""
    groups: list[list[Path]] = [[] for _ in range(max(1, min(count,
                                                             len(files))))]
    weights = [0] * len(groups)
    for f in sorted(files, key=lambda f: -f.stat().st_size):
        lightest = weights.index(min(weights))
        groups[lightest].append(f)
        weights[lightest] += f.stat().st_size
    return [sorted(g) for g in groups]


def _pytest(sub, opts, out: Path, work: Path, graded: Path, builds: Path,
            uid: Optional[int], files: list[Path]) -> Optional[int]:
    """One pytest run of @files, its results, junit.xml and pytest.log in
    @out; returns its status."""
    out.mkdir(parents=True, exist_ok=True)
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
    cmd += [f"--emulator={e}" for e in opts.emulators] + [str(f)
                                                           for f in files]
    env = dict(private_env(work), PYTHONPATH=str(HARNESS))
    status = run_contained(cmd, env=env, cwd=work / "run",
                           log=out / "pytest.log", timeout=opts.run_timeout)
    escape_log(out / "pytest.log")
    junit = out / "junit.xml"
    if junit.is_file():             # pytest leaves \r and bidi controls raw
        junit.write_text(untrusted.xml(junit.read_text(errors="replace")))
    return status


def merge(shards: list[Path], out: Path, name: str) -> None:
    """One set of results in @out from the shards' (entries.json, as the
    plugin keeps it, junit.xml, pytest.log, transcripts/). Without every
    shard's entries there is no results.json: grading then says the
    harness did not run, for every test (kit.grade.summarize)."""
    from .gradeplugin import build_results
    entries, seconds = [], 0.0
    for shard in shards:
        if not (shard / "entries.json").is_file():
            entries = None
            break
        entries += json.loads((shard / "entries.json").read_text())
        seconds = max(seconds, json.loads(
            (shard / "results.json").read_text())["execution_time"])
    with open(out / "pytest.log", "w") as log:
        for shard in shards:
            if (shard / "pytest.log").is_file():
                log.write((shard / "pytest.log").read_text())
    suites = [ET.parse(shard / "junit.xml").getroot() for shard in shards
              if (shard / "junit.xml").is_file()]
    if suites:
        for other in suites[1:]:
            suites[0].extend(list(other))
        ET.ElementTree(suites[0]).write(out / "junit.xml", encoding="unicode")
    for shard in shards:
        if (shard / "transcripts").is_dir():
            shutil.copytree(shard / "transcripts", out / "transcripts",
                            dirs_exist_ok=True)
    if entries is not None:         # in course order, as one run has them
        entries.sort(key=lambda e: e["nodeid"].split("::")[0])
        (out / "results.json").write_text(json.dumps(
            build_results(entries, name, seconds), indent=2) + "\n")


def fallback_results(opts, out: Path, name: str, why: str) -> None:
    """results.json when the harness could not grade: every test the
    harness would run, each at 0 with @why (so that the score, the
    maximum and the class summary still agree)."""
    from .gradeplugin import build_results
    entries = [dict(e, outcome="error", output=[why])
               for e in expected_tests(opts)]
    results = build_results(entries, name, 0.0)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


_expected: dict = {}


def expected_tests(opts) -> list[dict]:
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
