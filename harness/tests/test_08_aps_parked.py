"""Lesson 08 on a machine of two CPUs: lesson 04's APs stay where the BIOS
left them, since lessons 05-11 start no AP (smp.c is lesson 04's own).

References: the same lesson booted on one CPU, whose transcript must be
the same line for line once every number is masked; and QEMU's monitor,
which shows the second CPU present but outside the kernel, as the BIOS
left it.
"""
import re

import pytest

from conftest import map_symbol
from kit import lessons

LESSON = "08"


def kernel_range() -> range:
    lesson = lessons.find(LESSON)
    return range(map_symbol(lesson, "__kernel_start"),
                 map_symbol(lesson, "__kernel_end"))


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")
def test_a_second_cpu_changes_nothing(boot):
    """With 2 CPUs the SVM hypervisor and VM1 print what they print with 1
    (then park, for the monitor); QEMU has both CPUs, and the second one's
    RIP is not in the kernel: nothing started it."""
    one = boot(cpus=1)
    two = boot(cpus=2, params={"park": 1}, until=r"\[kit\] parked",
               monitor_commands=["info registers -a"])
    assert one.passed, one.diagnosis
    assert two.outcome == "stopped", two.diagnosis
    parked = two.serial.replace("[kit] parked\n", "")
    assert re.sub(r"\d+", "#", parked) == re.sub(r"\d+", "#", one.serial)
    dumps = re.split(r"^CPU#\d+\n", two.monitor["info registers -a"],
                     flags=re.M)
    assert len(dumps) == 3, "two CPUs"
    rip = int(re.search(r"\b[RE]IP=([0-9a-f]+)", dumps[2])[1], 16)
    assert rip not in kernel_range(), hex(rip)
