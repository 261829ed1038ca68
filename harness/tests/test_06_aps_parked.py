"""Lesson 06 on a machine of two CPUs: lesson 04's APs stay where the BIOS
left them, since lessons 05-11 start no AP (smp.c is lesson 04's own).

Reference: the same lesson booted on one CPU. The transcripts must be the
same line for line once every number is masked (addresses and exit counts
do not change, but timings may).
"""
import re

import pytest

LESSON = "06"


@pytest.mark.points(1)
@pytest.mark.emulators("bochs")     # lesson 06's emulator (QEMU: only KVM)
def test_a_second_cpu_changes_nothing(boot):
    """With 2 CPUs the hypervisor and VM1 print what they print with 1 and
    pass: the second processor, never started, stays out of the way."""
    one, two = boot(cpus=1), boot(cpus=2)
    assert one.passed, one.diagnosis
    assert two.passed, two.diagnosis
    assert re.sub(r"\d+", "#", two.serial) == re.sub(r"\d+", "#", one.serial)
