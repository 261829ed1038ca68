"""`make run`: what the README and the lessons' READMEs say it does.

Each test runs what `make run` runs, `python3 -m kit run ...`, without a
terminal (so COM1 comes back on standard output and the screen is not
shown), and checks what it printed against what the test chose: the
lesson it should pick, the parameters and the processor count the test
drew at random and passed on the command line, and the errors a bad
value must get before anything boots.
"""
import os
import random
import re
import subprocess
import sys

import pytest

from kit import emu, hosted, lessons, vgatext

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
RNG = random.Random()


def kit_run(*args, timeout=120):
    """`python3 -m kit run ARGS` without a terminal: (status, stdout,
    stderr)."""
    env = dict(os.environ, PYTHONPATH=str(lessons.ROOT / "harness"))
    proc = subprocess.run([sys.executable, "-m", "kit", "run", *args],
                          env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def needs(emulator):
    """Skip, naming what is missing, when @emulator cannot run here (a
    failure in CI, which must run them all)."""
    why = emu.have(emulator)
    if why:
        if IN_CI:
            pytest.fail(f"CI must run every emulator, but {why}")
        pytest.skip(why)


def first_line(stdout):
    return stdout.splitlines()[0] if stdout else ""


def last_line(stdout):
    return stdout.rstrip().splitlines()[-1] if stdout.strip() else ""


@pytest.mark.qemu
def test_run_boots_the_most_advanced_lesson_by_default():
    """With no LESSON, the highest-numbered lesson folder, on the first
    emulator its Makefile names; the exit status says it passed."""
    newest = lessons.all_lessons()[-1]
    needs(newest.emulators[0])
    status, out, err = kit_run()
    where = newest.name
    if newest.guests:               # a hypervisor boots its first guest
        where = f"{lessons.find(newest.guests[0]).name} under {newest.name}"
    assert first_line(out).startswith(
        f"run: booting {where} on {newest.emulators[0]} "), out + err
    assert status == 0, out + err
    assert last_line(out).endswith("powered off: PASS"), out


@pytest.mark.qemu
def test_run_boots_a_hypervisor_with_its_first_guest():
    """LESSON=09 boots lesson 09's hypervisor with lesson 01, the first of
    its GUESTS, as its guest (the README's example)."""
    needs("qemu")
    host = lessons.find("09")
    guest = lessons.find(host.guests[0])
    status, out, err = kit_run("--lesson", "09")
    assert first_line(out).startswith(
        f"run: booting {guest.name} under {host.name} on qemu "), out + err
    assert status == 0 and last_line(out).endswith("powered off: PASS"), \
        out + err


@pytest.mark.qemu
def test_params_and_cpus_reach_the_machine():
    """PARAMS patches the lesson's parameters and CPUS sizes the machine:
    lesson 04 programs the timer rate and tick count this test drew, and
    starts every processor QEMU was given."""
    needs("qemu")
    hz, ticks, cpus = RNG.randrange(100, 2001), RNG.randrange(2, 7), \
        RNG.randrange(2, 5)
    status, out, err = kit_run("--lesson", "04", "--cpus", str(cpus),
                               "--params", f"timer_hz={hz} "
                               f"timer_ticks={ticks:#x}")
    assert status == 0, out + err
    assert first_line(out).startswith(
        f"run: booting 04-interrupts-apic on qemu, {cpus} CPUs, PARAMS "
        f"timer_hz={hz} timer_ticks={ticks:#x} "), out
    assert re.search(rf"^lapic timer: {ticks} ticks in \d+ PIT clocks "
                     rf".*programmed {hz} Hz$", out, re.M), out
    assert f"\nsmp: {cpus} of {cpus} processors up, the APs parked\n" in out


@pytest.mark.qemu
def test_guest_params_patch_the_guest_and_params_the_hypervisor():
    """With a hypervisor lesson, GUEST_PARAMS patch the guest and PARAMS
    the hypervisor: lesson 04 under lesson 09 programs the rate drawn here,
    and lesson 09, told screen=1, dumps the guest's screen, whose bottom
    row is the guest's last line on COM1 (the console mirrors it)."""
    needs("qemu")
    hz = RNG.randrange(100, 2001)
    status, out, err = kit_run("--lesson", "09", "--guest", "04",
                               "--guest-params", f"timer_hz={hz}",
                               "--params", "screen=1")
    assert status == 0, out + err
    assert re.search(rf"^lapic timer: .*programmed {hz} Hz$", out, re.M), out
    rows = vgatext.parse_dump(out)
    text = [bytes(row[0::2]).decode("latin-1").rstrip() for row in rows]
    _, guest, _ = hosted.cut(out)
    last = [line for line in guest.splitlines() if line.strip()][-1]
    assert last.rstrip() in text, (last, text)


@pytest.mark.parametrize("args, message", [
    (["--lesson", "04", "--params", "nosuch=1"],
     r"run: PARAMS: lesson 04 has no parameter 'nosuch'; it has "
     r"fault_address, .*timer_hz, timer_ticks, x2apic \(its README"),
    (["--lesson", "04", "--params", "timer_hz"],
     r"run: PARAMS: 'timer_hz' is not NAME=VALUE"),
    (["--lesson", "04", "--params", "timer_hz=fast"],
     r"run: PARAMS: timer_hz=fast: a number, decimal or 0x\.\.\."),
    (["--lesson", "04", "--params", "x2apic=256"],
     r"run: PARAMS: parameter x2apic=256 does not fit in 1 byte\(s\)"),
    (["--lesson", "01", "--params", "row=" + "#" * 81],
     r"run: PARAMS: row: at most 80 ASCII characters"),
    (["--lesson", "04", "--cpus", "9"], r"run: CPUS=9: choose 1-8"),
    (["--lesson", "04", "--cpus", "two"], r"run: CPUS=two: choose 1-8"),
    (["--lesson", "04", "--memory", "8"], r"run: MEMORY=8: choose 16-2048"),
    (["--lesson", "04", "--guest-params", "timer_hz=100"],
     r"run: GUEST_PARAMS= is for a lesson that boots others as its guest: "
     r"LESSON=07 or 09"),
    (["--lesson", "09", "--guest", "04", "--guest-params", "screen=1"],
     r"run: GUEST_PARAMS: lesson 04 has no parameter 'screen'"),
])
def test_bad_values_get_one_line_before_anything_boots(args, message):
    """Each mistake is one line on standard error that says what is wrong
    (and, for a name, which ones there are), and nothing boots."""
    status, out, err = kit_run(*args, timeout=30)
    assert status != 0
    assert out == "", out               # "run: booting ..." never printed
    assert len(err.strip().splitlines()) == 1, err
    assert re.match(message, err.strip()), err


MAKE_RUN = re.compile(r"make run (?P<words>(?:[A-Z_]+=(?:'[^']*'|[^\s`']+) ?)+)")


def readme_runs():
    """Every `make run NAME=VALUE ...` line of the kit's READMEs, as
    (README, {make variable: value})."""
    found = []
    for readme in [lessons.ROOT / "README.md"] + sorted(
            lessons.ROOT.glob("lessons/*/README.md")):
        for m in MAKE_RUN.finditer(readme.read_text()):
            words = dict(re.findall(r"([A-Z_]+)=('[^']*'|[^\s`']+)",
                                    m["words"]))
            found.append((readme, {k: v.strip("'") for k, v in
                                   words.items()}))
    return found


def test_every_readme_make_run_names_real_parameters():
    """Each PARAMS and GUEST_PARAMS a README gives to `make run` names
    parameters its lesson (or guest) has, with values that fit them."""
    checked = 0
    for readme, words in readme_runs():
        if not re.fullmatch(r"\d\d|", words.get("LESSON", "")):
            continue                # a pattern: make run LESSON=NN
        lesson = lessons.find(words.get("LESSON") or
                              lessons.all_lessons()[-1].number)
        for option in ("PARAMS", "GUEST_PARAMS"):
            if option not in words:
                continue
            owner = lesson if option == "PARAMS" else lesson.guests and \
                lessons.find(words.get("GUEST") or lesson.guests[0])
            assert owner, f"{readme}: {option} for lesson {lesson.number}"
            known = emu.load_params(owner.build / "params.json")
            for item in words[option].split():
                name, _, value = item.partition("=")
                assert name in known, (readme, option, name)
                emu.encode_param(known[name], int(value, 0))
                checked += 1
    assert checked >= 4


@pytest.mark.qemu
def test_lesson_02s_readme_command_draws_what_it_asks_for():
    """Lesson 02's README command for its VBE picture (without `park`,
    which keeps the window open): the lesson draws the rule, seed and
    size it gives."""
    needs("qemu")
    words = next(w for r, w in readme_runs()
                 if w.get("LESSON") == "02" and "PARAMS" in w)
    values = dict(item.split("=") for item in words["PARAMS"].split())
    values.pop("park")
    status, out, err = kit_run("--lesson", "02", "--params", " ".join(
        f"{k}={v}" for k, v in values.items()))
    assert status == 0, out + err
    assert (f"vbe: drew rule {values['vbe_rule']} from seed "
            f"{int(values['vbe_seed']):#010x}: {values['vbe_height']} "
            f"generations of {values['vbe_width']} cells") in out, out
