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
