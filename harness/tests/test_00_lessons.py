"""A lesson is just a folder: the kit finds a new one with nothing else.

Reference: a throwaway lesson 99 made in a copy of the kit from a folder (a
Makefile that says what it is, one source file) and a test module, and
nothing else edited. It must build with the top Makefile, be selected by
its own marker, run on the emulators its Makefile names and only those,
be graded with points, and have a page and a group in the book.
"""
import json
import os
import subprocess
import sys

import pytest

from kit import emu, lessons
from test_00_grade import kit_copy

THROWAWAY = "99-throwaway"
SECTOR = """\
; hello.asm - a throwaway lesson: print a patchable byte, power off.
        bits    16
        section .text
        global  _start
_start: xor     ax, ax
        mov     ds, ax
        call    serial_init16
        mov     si, msg
        call    serial_puts16
        mov     al, [param_value]
        call    puthex8_16
        xor     al, al
        jmp     power_off16
%define RM_IO_HEX
%include "rm_io.inc"
%include "rm_power.inc"
msg:    db      "throwaway value ", 0
        global  param_value:data 1
param_value: db 0x2a
"""
MAKEFILE = """\
# Lesson 99: a throwaway lesson, made by harness/tests/test_00_lessons.py.
KIND      := bootsector
EMULATORS := qemu
NEEDS     :=
SOURCES   := hello.asm
include ../../common/rules.mk
"""
README = "# Lesson 99: A throwaway lesson\n\nIt prints one byte.\n"
TESTS = '''\
import random

import pytest

LESSON = "99"


@pytest.mark.points(2)
def test_prints_the_patched_value(boot):
    value = random.randrange(256)
    result = boot(params={"value": value})
    assert result.passed, result.diagnosis
    assert f"throwaway value {value:02x}" in result.serial.lower()
'''


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A copy of the kit with the throwaway lesson: its folder and its test
    module, nothing else changed."""
    root = kit_copy(tmp_path_factory.mktemp("kit") / "kit", with_harness=True)
    for name in ("docs", "README.md"):
        src = lessons.ROOT / name
        if src.is_dir():
            subprocess.run(["cp", "-r", str(src), str(root / name)],
                           check=True)
        else:
            (root / name).write_bytes(src.read_bytes())
    folder = root / "lessons" / THROWAWAY
    folder.mkdir()
    (folder / "Makefile").write_text(MAKEFILE)
    (folder / "hello.asm").write_text(SECTOR)
    (folder / "README.md").write_text(README)
    (root / "harness" / "tests" / "test_99_throwaway.py").write_text(TESTS)
    made = subprocess.run(["make", "-s", "-C", str(root), THROWAWAY],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    return root


def run(kit, *args, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(kit / "harness"))
    env.pop("CI", None)
    return subprocess.run([sys.executable, *args], capture_output=True,
                          text=True, cwd=kit, env=env, timeout=timeout)


def test_the_folder_describes_the_lesson(kit):
    """The harness reads the lesson from its Makefile: kind, emulators,
    needs, and its title from its README."""
    proc = run(kit, "-c", "from kit import lessons; l = lessons.find('99'); "
               "print(l.name, l.kind, l.emulators, sorted(l.needs), l.title)")
    assert proc.stdout.split("\n")[0] == (
        f"{THROWAWAY} bootsector ('qemu',) [] Lesson 99: A throwaway lesson")
    params = json.loads((kit / "build" / THROWAWAY / "params.json")
                        .read_text())
    assert [p["name"] for p in params["params"]] == ["value"]


def test_its_marker_selects_its_tests_on_its_emulators(kit):
    """-m lesson99 selects exactly its test, once, on QEMU (its Makefile's
    EMULATORS), and the test passes."""
    if emu.have("qemu"):
        pytest.fail(f"needs QEMU: {emu.have('qemu')}")
    proc = run(kit, "-m", "pytest", "-c", "harness/pytest.ini",
               "--rootdir=harness", "-p", "no:xdist", "-m", "lesson99", "-v")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ran = [l for l in proc.stdout.splitlines() if "::" in l and "PASSED" in l]
    assert len(ran) == 1 and "test_prints_the_patched_value[qemu]" in ran[0]
    assert "1 passed" in proc.stdout


def test_it_is_graded(kit, tmp_path):
    """make grade finds it, builds it in the sandbox and gives its points."""
    out = tmp_path / "out"
    proc = run(kit, "-m", "kit.grade", str(kit), "--lesson", "99", "--out",
               str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = json.loads((out / "results.json").read_text())
    assert (res["score"], res["max_score"]) == (2, 2)
    assert res["extra_data"]["lessons"] == {"99": {"score": 2,
                                                  "max_score": 2}}


def test_it_has_a_page_and_a_module_in_the_book(kit, tmp_path):
    """The book's pages, as make docs writes them for doxygen, include the
    throwaway lesson's chapter (from its README) and its module (titled
    from it): no page or group is listed anywhere by hand."""
    proc = run(kit, "-c", "import sys; from pathlib import Path; "
               "from kit import docs; docs.write_pages(Path(sys.argv[1]), "
               "Path(sys.argv[1]) / 'shots')", str(tmp_path / "pages"))
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "pages" / "lesson99.md").read_text()
    assert page.startswith("# Lesson 99: A throwaway lesson {#lesson99_page}")
    assert "It prints one byte." in page
    groups = (tmp_path / "pages" / "lesson_groups.dox").read_text()
    assert ("@defgroup lesson99 Lesson 99: A throwaway lesson\n"
            " * @brief It prints one byte. The chapter: @ref lesson99_page."
            in groups)

