"""pytest configuration for the kit's harness.

Each lesson's test module sets LESSON = "NN". A test that asks for the
`emulator` fixture runs once per emulator that can boot that lesson, marked
`qemu` or `bochs`; every test of test_NN_*.py is marked `lessonNN`. So:
    make test PYTEST_ARGS='-m bochs'        every Bochs boot
    make test PYTEST_ARGS='-k lesson01'     lesson 01 only

A lesson that a hypervisor lists in its Makefile's GUESTS (lesson 07 boots
01-04) gets one more variant of each Bochs test, "bochs-under-07", marked
`bochs` and `hosted`: every boot it makes is the same image booted as the
guest of that hypervisor (emu.boot(host=)). What cannot be the same under
a hypervisor is declared once, in tests/equivalence.py. --no-hosted leaves
these variants out, and grading never makes them.

A missing emulator is a skip that names the package, except in CI (CI set),
where it is a failure: CI must boot everything. After any failing test the
report shows the COM1 transcript of each boot the test made.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent
sys.path.insert(0, str(HARNESS))
from kit import emu, hosted, lessons  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
HOSTED_HELP = ("hosted: a lesson's test booted as the guest of another "
               "lesson's hypervisor (emulator bochs-under-NN)")


def pytest_addoption(parser):
    parser.addoption("--emulator", action="append", default=[],
                     choices=emu.EMULATORS,
                     help="only boot on this emulator (repeatable)")
    parser.addoption("--build-dir", default=str(lessons.BUILD),
                     help="where the lessons were built (default: build/)")
    parser.addoption("--no-hosted", action="store_true", default=False,
                     help="no bochs-under-NN variants: do not boot lessons "
                          "as a hypervisor's guest")


def pytest_configure(config):
    lessons.BUILD = Path(config.getoption("--build-dir")).resolve()
    config.addinivalue_line("markers", HOSTED_HELP)
    for lesson in lessons.all_lessons():    # -m lessonNN, for every folder
        config.addinivalue_line(
            "markers", f"lesson{lesson.number}: lesson {lesson.number}, "
                       f"{lesson.title}")


def _module_lesson(module) -> str | None:
    match = re.match(r"test_(\d\d)_", Path(module.__file__).name)
    if match and match.group(1) != "00":
        return match.group(1)
    return None


def pytest_generate_tests(metafunc):
    if "emulator" not in metafunc.fixturenames:
        return
    number = getattr(metafunc.module, "LESSON", None)
    supported = lessons.find(number).emulators if number else emu.EMULATORS
    only = metafunc.definition.get_closest_marker("emulators")
    if only:                    # @pytest.mark.emulators("qemu"): QEMU-only
        supported = [e for e in supported if e in only.args]
    wanted = metafunc.config.getoption("--emulator") or emu.EMULATORS
    names = [e for e in supported if e in wanted]
    params = [pytest.param(e, marks=getattr(pytest.mark, e), id=e)
              for e in names]
    # A hypervisor's guest (its GUESTS) also runs its tests under it, on
    # each emulator that both run on: Bochs under lesson 07 (VMX), QEMU
    # under lesson 09 (SVM).
    for host in lessons.hosts(number) if number and \
            _hosted_variants(metafunc.config) else []:
        for machine in (e for e in host.emulators if e in names):
            name = hosted.variant(machine, host.number)
            params.append(pytest.param(name, id=name, marks=[
                getattr(pytest.mark, machine), pytest.mark.hosted]))
    # VMX lessons also run on QEMU when KVM with nested VMX really works;
    # where it does not (TCG has no VMX) that variant is a named skip.
    if number and "vmx" in lessons.find(number).needs and \
            "qemu" in wanted and \
            (not only or "qemu" in only.args):
        params.append(pytest.param(
            "qemu-kvm", id="qemu-kvm",
            marks=[pytest.mark.qemu, pytest.mark.may_skip_in_ci]))
    metafunc.parametrize("emulator", params)


def _hosted_variants(config) -> bool:
    """Whether guest lessons get their bochs-under-NN variants: not with
    --no-hosted, and never when grading (kit.gradeplugin's grader is
    registered): a student's unfinished hypervisor must not cost the
    lessons it hosts their points."""
    return not config.getoption("--no-hosted") and \
        config.pluginmanager.get_plugin("kit-grader") is None


_kvm_verdict: list = []


def kvm_unavailable() -> str | None:
    """Why QEMU cannot run a VMX lesson under KVM here (None: it can).

    Probed once: /dev/kvm, the kvm_intel module with nested VMX, then a
    real boot of lesson 05 with a short timeout (guests can hang under KVM
    on some hosts even when everything looks right).
    """
    if _kvm_verdict:
        return _kvm_verdict[0]
    why = None
    nested = Path("/sys/module/kvm_intel/parameters/nested")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        why = "no usable /dev/kvm"
    elif not nested.exists():
        why = "KVM here has no Intel VMX (kvm_intel is not loaded)"
    elif nested.read_text().strip() not in ("Y", "1"):
        why = "kvm_intel has nested VMX disabled (nested=N)"
    else:
        image = next(l for l in lessons.all_lessons()
                     if "vmx" in l.needs).image
        result = emu.boot(image, "qemu", accel="kvm", timeout=10)
        if not result.passed:
            why = f"QEMU+KVM could not run lesson 05: {result.diagnosis}"
    _kvm_verdict.append(why and f"QEMU+KVM with nested VMX unavailable: "
                                f"{why}; lessons 05-07 run on Bochs")
    return _kvm_verdict[0]


def pytest_collection_modifyitems(config, items):
    for item in items:
        number = _module_lesson(item.module)
        if number:
            item.add_marker(getattr(pytest.mark, f"lesson{number}"))
        else:
            item.add_marker(pytest.mark.harness)
        callspec = getattr(item, "callspec", None)
        emulator = callspec.params.get("emulator") if callspec else None
        reason = declared_difference(item) \
            if isinstance(emulator, str) and hosted.host_of(emulator) else None
        if reason:                  # stale (it passes): the run fails
            item.add_marker(pytest.mark.xfail(
                strict=True, reason=f"tests/equivalence.py: {reason}"))


def declared_difference(item) -> str | None:
    """Why tests/equivalence.py says @item cannot pass under a hypervisor,
    None when it does not say so. Its keys are "module.py::test_name" or
    "module.py::test_name[ids]", where "*" matches anything."""
    module = Path(str(item.fspath)).name
    names = (f"{module}::{getattr(item, 'originalname', item.name)}",
             f"{module}::{item.name}")
    for pattern, reason in _equivalence().DIFFERENCES.items():
        regex = re.compile(".*".join(map(re.escape, pattern.split("*"))))
        if any(regex.fullmatch(name) for name in names):
            return reason
    return None


def _equivalence():
    """tests/equivalence.py, loaded once by its path."""
    module = sys.modules.get("equivalence")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "equivalence", HARNESS / "tests" / "equivalence.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["equivalence"] = module
    return module


@pytest.fixture
def lesson(request) -> lessons.Lesson:
    """The lesson of this test module, built (or a clear failure)."""
    lesson = lessons.find(request.module.LESSON)
    if not lesson.image.exists():
        pytest.fail(f"{lesson.image} is missing: run `make` first "
                    "(make test does)")
    return lesson


@pytest.fixture
def boot(request, emulator):
    """boot(image=None, *, log=False, **options) -> BootResult, on this
    test's emulator.

    The image defaults to the module's lesson. Every result is remembered so
    that a failing test shows what each boot printed. log=True also gives
    result.log, the end of the emulator's own log (QEMU's -d int, Bochs').

    Boot once, check many: a boot of the same image bytes, on the same
    emulator, with the same options as one already made in this session is
    not made again; its result is shared (see _boot_key: a boot that runs
    a function of the test's, keeps its folder or shares one is its own).
    Tests must not change a result they did not make alone.

    On an EMU-under-NN variant every boot is of the same image as the
    guest of lesson NN's hypervisor on EMU, on a machine of the test's
    options (memory_mib, cpu: the hypervisor needs VMX or SVM);
    result.host has the hypervisor's side.
    """
    kvm = emulator == "qemu-kvm"
    host = hosted.host_of(emulator)     # "07": under lesson 07's hypervisor
    machine = "qemu" if kvm else hosted.machine_of(emulator)
    why = emu.have(machine)
    if why:
        if IN_CI and not kvm:
            pytest.fail(f"CI must run every emulator, but {why}")
        pytest.skip(why)
    if kvm and kvm_unavailable():
        pytest.skip(kvm_unavailable())
    hypervisor = lessons.find(host) if host else None
    if hypervisor and not hypervisor.image.exists():
        pytest.fail(f"{hypervisor.image} is missing: run `make` first (make "
                    f"test does); lesson {host}'s hypervisor boots this test")
    results = []
    request.node._kit_boots = results

    def run(image=None, *, log=False, **options):
        if image is None:           # the lesson's image, on its CPU model
            lesson = lessons.find(request.module.LESSON)
            image = lesson.image
            for name, value in lesson.boot_options.items():
                options.setdefault(name, value)
        if kvm:
            options["accel"] = "kvm"
        if hypervisor:              # the machine runs the hypervisor
            if hypervisor.cpu:
                options.setdefault("cpu", hypervisor.cpu)
            options["host"] = hypervisor.image
        refused = []
        inspect = options.get("monitor_commands")
        if callable(inspect):       # a refused guest number fails the test
            def guarded(serial, command):     # once the boot is recorded
                try:
                    return inspect(serial, command)
                except GuestNumberError as error:
                    refused.append(error)
                    return {}
            options["monitor_commands"] = guarded
        key = _boot_key(image, emulator, options, log)
        if key in _booted:
            results.append(_booted[key])
            _boot_counts["shared"] += 1
            return _booted[key]
        if log:
            options["keep"] = True
        result = emu.boot(image, machine, **options)
        results.append(result)
        _boot_counts["made"] += 1
        if log:                     # log=True: result.log, the emulator's own
            result.log = _read_log(result)
        if refused:
            raise refused[0]
        if key is not None:
            _booted[key] = result
        return result

    return run


_booted: dict = {}                  # _boot_key(...) -> BootResult
_boot_counts = {"made": 0, "shared": 0}


def _boot_key(image, emulator: str, options: dict, log: bool):
    """What makes two boots the same boot (None: this one is never shared):
    the image's bytes (and its hypervisor's), the emulator and every
    option."""
    if options.get("keep") or options.get("share") or any(
            callable(v) for v in options.values()):
        return None
    try:
        described = json.dumps(options, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return None
    digests = tuple(hashlib.sha256(Path(path).read_bytes()).hexdigest()
                    for path in (image, options.get("host")) if path)
    return digests, emulator, described, log


class GuestNumberError(AssertionError):
    """A number the guest printed is outside what the test may act on."""


def guest_number(value: int, low: int, high: int, what: str) -> int:
    """@value, a number the guest printed (or the submission otherwise
    decided), once it is known to lie in low..high (inclusive). Check every
    such number before it drives the emulator (an address, a size, a count
    of monitor commands): out of range, the test fails in one line naming
    @what, the value and the range."""
    if not low <= value <= high:
        show = str if high <= 0xFFFF else hex
        raise GuestNumberError(f"{what} {show(value)} is outside the allowed "
                               f"range {show(low)}..{show(high)}: not used")
    return value


def map_symbol(lesson, name: str) -> int:
    """The address of symbol @name in @lesson's link map (disk.map), a
    function's or variable's line or a linker script's `name = .`."""
    m = re.search(r"^\s+0x([0-9a-f]+)\s+" + re.escape(name) + r"(?: = .*)?$",
                  (lesson.build / "disk.map").read_text(), re.M)
    assert m, f"{name} is not in {lesson.build / 'disk.map'}"
    return int(m[1], 16)


def _read_log(result) -> str:
    """The end of the emulator's log of @result's boot (made with
    keep=True), whose work folder is then removed."""
    try:
        return emu.read_end(result.log_file) if result.log_file else ""
    finally:
        if result.workdir:
            shutil.rmtree(result.workdir, ignore_errors=True)
            result.workdir = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for i, result in enumerate(getattr(item, "_kit_boots", []), 1):
            report.sections.append((f"boot {i}: {result.emulator}",
                                    result.report()))


def pytest_runtest_logreport(report):
    """Count the skips CI does not allow (runs where reports arrive, so it
    works with pytest-xdist's workers too). An expected failure (a
    difference equivalence.py declares, strict: it ran and failed as
    declared) is reported as skipped too, but is not one."""
    if report.skipped and IN_CI and not hasattr(report, "wasxfail") and \
            "may_skip_in_ci" not in report.keywords:
        _ci_skips.append(report.nodeid)


_ci_skips: list[str] = []


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("KIT_BOOT_COUNTS"):
        print(f"\nboots: {_boot_counts['made']} made, "
              f"{_boot_counts['shared']} shared", file=sys.stderr)
    if hasattr(session.config, "workerinput"):
        return                  # an xdist worker: the controller decides
    skips = _ci_skips
    if skips:
        print(f"\nCI: {len(skips)} test(s) skipped that must run in CI:",
              *skips, sep="\n  ")
        session.exitstatus = 1
