"""Lesson 09: lesson 07's hypervisor on AMD-V, on plain QEMU.

The same tests as lesson 07's, not a copy: they are test_07_guest_os.py's
functions, collected here a second time with this module's LESSON, so each
boots lesson 09's hypervisor on its emulator (QEMU, whose TCG emulates SVM
with nested paging). What differs in the words the two print is
test_07_guest_os.VENDOR's. The equivalence half of the lesson is lessons
01-04's own tests, run again as "qemu-under-09" (conftest.py; the
declared differences are in equivalence.py).
"""
import pytest

from test_07_guest_os import \
    test_a_guest_triple_fault_is_stopped_and_named as triple_fault_test
from test_07_guest_os import (  # noqa: F401 (collected here again)
    probes, vendor, native, hosted,
    test_the_hypervisor_hides_at_the_top_of_ram,
    test_reading_hidden_memory_is_a_nested_fault_there,
    test_an_intercepted_instruction_is_stopped_and_named,
    test_without_a_guest_disk_it_says_so,
    test_a_machine_with_more_processors_is_refused,
    test_the_guest_disk_is_the_native_image_byte_for_byte,
    test_exits_are_counted_by_reason,
    test_what_a_guest_sees_of_its_cpu,
    test_missing_nested_paging_is_named)

LESSON = "09"
# SVM with nested paging: QEMU's TCG (phenom) and Bochs (ryzen).
pytestmark = pytest.mark.emulators("qemu", "bochs")


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")
def test_a_guest_triple_fault_is_stopped_and_named(hosted, probes):
    """test_07's, on QEMU only: Bochs 2.7, run with reset_on_triple_fault=0
    so that a native triple fault is a report and not a reset, stops
    itself on a triple fault inside an SVM guest instead of giving the
    hypervisor its SHUTDOWN intercept (lesson 08's README)."""
    triple_fault_test(hosted, probes)
