"""What the tests of lessons 06 (VMX) and 08 (SVM) read of VM1's runs.

Both hypervisors run the same VM1 with the same parameters and print the
same summary line; only the line that starts VM1 differs (VMLAUNCH,
VMRUN). Not a test module: test_06_vmcall.py and test_08_svm.py import it.
"""
from __future__ import annotations

import random
import re

from kit import emu, lessons

RNG = random.Random()     # seeded by the OS: different on every run


def param_size(lesson: str, name: str) -> int:
    """The size in bytes of lesson @lesson's parameter @name (params.json)."""
    return emu.load_params(lessons.find(lesson).params_json)[name]["size"]


def random_greeting(lesson: str) -> tuple[str, str]:
    """A greeting of the run's choosing: (the text, the parameter)."""
    text = f"Patched VM1 says {RNG.randrange(10**6):06d}"
    return text, (text + "\n").ljust(param_size(lesson, "greeting"), "\0")


def summary(result) -> dict:
    """{exit name: count} from the hypervisor's `vm: exits handled:` line."""
    line = next(l for l in result.lines() if l.startswith("vm: exits handled:"))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def vm_output(result, start: str) -> list[str]:
    """The lines after @start (the hypervisor's "vm: VMLAUNCH VM1" or
    "vm: VMRUN VM1"): VM1's run."""
    lines = result.lines()
    return lines[lines.index(start) + 1:]


_greeted: dict = {}


def greeted(request, boot, emulator: str, lesson: str, **options):
    """(text, result): lesson @lesson booted with a greeting of the run's
    choosing, on first use per emulator (and pytest worker), then shared by
    the tests that check it; a test that shares it still shows it when it
    fails."""
    key = (lesson, emulator)
    if key not in _greeted:
        text, param = random_greeting(lesson)
        _greeted[key] = (text, boot(params={"greeting": param}, **options))
    else:
        request.node._kit_boots.append(_greeted[key][1])
    return _greeted[key]


def address_of(lesson: str, code: bytes) -> int:
    """The guest address of the one place @code sits in VM1's program, as
    lesson @lesson built it (vm1.bin)."""
    image = (lessons.find(lesson).build / "vm1.bin").read_bytes()
    assert image.count(code) == 1, code
    return lessons.find(lesson).constants["GUEST_LOAD_ADDR"] + \
        image.index(code)


# The faults VM1's scenarios raise: scenario, its bytes in vm1.bin (DIV AX:
# F7 F0; VMXON m64: F3 0F C7 /6), the report's name of the vector.
FAULTS = {"SCENARIO_DIVIDE_ERROR": ("f7f0", "#DE divide error (vector 0)"),
          "SCENARIO_INVALID_OPCODE": ("f30fc736",
                                      "#UD invalid opcode (vector 6)")}


def check_fault(boot, lesson: str, scenario: str, exit_name: str) -> None:
    """VM1 in @scenario faults with no IVT of its own: the exit (@exit_name
    in the summary) is reported by vector name at the RIP of the faulting
    instruction, found in VM1's bytes, and VM1 alone stops."""
    constants = lessons.find(lesson).constants
    code, words = FAULTS[scenario]
    result = boot(params={"scenario": constants[scenario]})
    assert result.status == constants["POWER_FAIL_GUEST_EXCEPTION"], \
        result.diagnosis
    rip = address_of(lesson, bytes.fromhex(code))
    assert f"vm: VM1: exception {words} at RIP {rip:#x}" in result.lines()
    assert "vm: VM1 stopped (exception, status " \
        f"{constants['POWER_FAIL_GUEST_EXCEPTION']})" in result.lines()
    assert summary(result)[exit_name] == 1
    assert "PANIC" not in result.serial
