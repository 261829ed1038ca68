"""Lesson 06: VM1, a real-mode guest confined by EPT, and its hypercalls.

Runs on Bochs (and on QEMU only under KVM with nested VMX, probed).
References: text the harness patches into VM1's memory (its greeting) and
into the hypervisor (the brand string VM1 must see), guest-physical
addresses the harness chooses for VM1 to touch, the number of hypercalls it
tells VM1 to time (all drawn afresh on every run), the I/O exit
qualification decoded from the SDM's layout, exit counts derived from what
each scenario makes VM1 do, and on Bochs what Bochs logs of VM1's faults.
A scenario's boot also carries a greeting of the run's choosing, which VM1
prints first: the output that follows is VM1's, from this run.
"""
import re

import pytest

import vm1
from kit import lessons

LESSON = "06"
RNG = vm1.RNG


def kit_value(name: str) -> int:
    """A number the lesson's C and NASM share, as the build exports it
    (kit.json: POWER_FAIL_* from power.h, HC_* from hypercall.h...)."""
    return lessons.find(LESSON).constants[name]


def bad_hypercall_line() -> str:
    """What VM1 prints after its hypercall 0x99: EAX, HC_ERR_INVALID."""
    return f"VM1: hypercall 0x99 returned {kit_value('HC_ERR_INVALID'):#x}"


def random_greeting() -> tuple[str, str]:
    return vm1.random_greeting(LESSON)


def param_size(name: str) -> int:
    return vm1.param_size(LESSON, name)


def vm_output(result) -> list[str]:
    return vm1.vm_output(result, "vm: VMLAUNCH VM1")


def greeted(request, boot, emulator):
    return vm1.greeted(request, boot, emulator, LESSON)


summary = vm1.summary


@pytest.mark.points(4)
def test_vm1_says_hello(request, boot, emulator):
    """The hypervisor prints, on its own line, exactly "Hello! I am VM1!",
    read from VM1's memory through EPT, and VM1 ends with HC_EXIT(0); so
    it does a greeting of the run's choosing patched into VM1 (the boot
    test_greeting_comes_from_guest_memory reads too)."""
    result = boot()
    assert result.passed, result.diagnosis
    out = vm_output(result)
    assert out[0] == "Hello! I am VM1!"
    assert "vm: VM1 called HC_EXIT with status 0" in out
    assert "vm: VM1 stopped (HC_EXIT, status 0)" in out
    text, result = greeted(request, boot, emulator)
    assert result.passed, result.diagnosis
    out = vm_output(result)
    assert out[0] == text
    assert "vm: VM1 called HC_EXIT with status 0" in out
    assert "vm: VM1 stopped (HC_EXIT, status 0)" in out


@pytest.mark.points(2)
def test_greeting_comes_from_guest_memory(request, boot, emulator):
    """A greeting the harness writes into VM1's program (not into the
    hypervisor) is what the hypervisor prints: HC_PRINT really reads the
    guest's memory."""
    text, result = greeted(request, boot, emulator)
    assert result.passed, result.diagnosis
    assert vm_output(result)[0] == text
    assert "Hello! I am VM1!" not in result.serial


@pytest.mark.points(2)
def test_cpuid_passes_through_but_the_brand_is_ours(boot):
    """CPUID is passed through (VM1 sees the real vendor) except the brand
    string leaves 0x80000002-4, which carry the hypervisor's brand: VM1
    prints exactly the brand the harness patched in."""
    brand = f"Harness brand {RNG.randrange(10**6):06d}"
    result = boot(params={"brand": brand.ljust(param_size("brand"), "\0")})
    assert result.passed, result.diagnosis
    out = vm_output(result)
    assert f"VM1: CPU brand {brand}" in out
    assert "VM1: CPU vendor GenuineIntel" in out
    default = boot()
    assert "VM1: CPU brand Kit Hypervisor virtual CPU" in vm_output(default)


@pytest.mark.points(2)
def test_invalid_hypercall_returns_an_error(boot):
    """An unknown hypercall number returns HC_ERR_INVALID (0xffffffff) in
    EAX, as VM1 itself reports, and VM1 goes on running: it then times as
    many null hypercalls as the run told it to."""
    n = RNG.randrange(5, 120)
    result = boot(params={"bench_count": n})
    out = vm_output(result)
    assert bad_hypercall_line() in out
    assert out.index(bad_hypercall_line()) < \
        out.index("vm: VM1 called HC_EXIT with status 0")
    bench = [i for i, line in enumerate(out)
             if line.startswith(f"VM1: {n} null hypercalls, mean round trip")]
    assert bench, f"no timing of bench_count {n} hypercalls"
    assert out.index(bad_hypercall_line()) < bench[0]


@pytest.mark.points(2)
def test_exit_counts_match_what_vm1_did(boot):
    """The exit summary counts what VM1 did: 4 CPUIDs (vendor, three brand
    leaves), and one VMCALL per null hypercall it was told to time, so two
    runs (told counts the run chooses) differ by exactly the difference in
    that count."""
    counts = {}
    low = RNG.randrange(5, 60)
    high = low + RNG.randrange(1, 60)
    for n in (low, high):
        result = boot(params={"bench_count": n})
        assert result.passed, result.diagnosis
        assert f"VM1: {n} null hypercalls, mean round trip" in result.serial
        counts[n] = summary(result)
        assert counts[n]["CPUID"] == 4
        total = int(re.search(r"\(total (\d+)\)", result.serial)[1])
        assert total == sum(counts[n].values())
    assert counts[high]["VMCALL"] - counts[low]["VMCALL"] == high - low, \
        f"bench_count {low}, then {high}"


@pytest.mark.points(3)
def test_touching_memory_outside_ept_is_stopped(boot, emulator):
    """VM1 reading a guest-physical address the harness chose, outside its
    64 KiB, causes an EPT violation reported with that exact address as a
    read of an unmapped page; VM1 stops and the host powers off cleanly.
    On Bochs, Bochs logs that EPT violation at that address."""
    rng = RNG
    gpa = rng.randrange(0x10000, 0xFFFFF)
    text, greeting = random_greeting()
    result = boot(params={"scenario": 1, "touch_gpa": gpa,
                          "greeting": greeting}, log=True)
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_EPT_VIOLATION"), \
        result.diagnosis
    m = re.search(r"vm: EPT violation at guest-physical 0x([0-9a-f]+): "
                  r"(\w+) access, page not mapped \(qualification "
                  r"0x([0-9a-f]+)\)", result.serial)
    assert m, result.serial
    assert int(m[1], 16) == gpa and m[2] == "read"
    assert int(m[3], 16) & 0x3F == 0x1       # read; no R/W/X allowed
    assert summary(result)["EPT_VIOLATION"] == 1
    assert "PANIC" not in result.serial
    assert "vmx: VMXOFF: left VMX operation" in result.serial
    assert vm_output(result)[0] == text
    if emulator == "bochs":
        assert re.findall(r"VMEXIT: EPT violation for guest paddr "
                          r"0x([0-9a-f]+)", result.log) == [f"{gpa:012x}"], \
            f"touch_gpa {gpa:#x}"


@pytest.mark.points(1)
def test_triple_fault_stops_only_the_vm(boot, emulator):
    """VM1 triple-faulting (an empty IDT, then INT3) is a TRIPLE_FAULT exit:
    the hypervisor stops VM1 and powers off cleanly instead of resetting.
    On Bochs, Bochs logs the three faults (each vector beyond VM1's empty
    real-mode IDT)."""
    text, greeting = random_greeting()
    result = boot(params={"scenario": 2, "greeting": greeting}, log=True)
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_TRIPLE_FAULT"), result.diagnosis
    assert "vm: VM1 triple-faulted at" in result.serial
    assert summary(result)["TRIPLE_FAULT"] == 1
    assert vm_output(result)[0] == text
    if emulator == "bochs":
        assert result.log.count("interrupt(real mode) vector > idtr.limit") \
            == 3


@pytest.mark.points(2)
def test_unexpected_exit_is_named_with_its_qualification(boot):
    """An exit no handler expects (VM1's OUT to port 0x80) is reported by
    name with a qualification that decodes, per the SDM's I/O layout, to a
    1-byte OUT to port 0x80; VM1 stops, the host does not."""
    text, greeting = random_greeting()
    result = boot(params={"scenario": 3, "greeting": greeting})
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_UNEXPECTED_EXIT"), \
        result.diagnosis
    assert vm_output(result)[0] == text
    m = re.search(r"vm: unexpected exit reason 30 \(IO_INSTRUCTION\), "
                  r"qualification 0x([0-9a-f]+)", result.serial)
    assert m, result.serial
    q = int(m[1], 16)
    assert q >> 16 == 0x80          # port
    assert q & 7 == 0               # size - 1: one byte
    assert not q >> 3 & 1           # direction: OUT
    assert summary(result)["IO_INSTRUCTION"] == 1


@pytest.mark.points(1)
def test_benchmark_reports_a_mean(boot):
    """VM1 times the null hypercalls with RDTSC and prints a positive mean
    round trip in TSC ticks, for the count the harness asked for (one the
    run chooses)."""
    n = RNG.randrange(16, 128)
    result = boot(params={"bench_count": n})
    m = re.search(rf"VM1: {n} null hypercalls, mean round trip (\d+) TSC "
                  r"ticks", result.serial)
    assert m and int(m[1]) > 0, f"bench_count {n}"


@pytest.mark.parametrize("scenario", sorted(vm1.FAULTS))
@pytest.mark.points(1)
def test_a_fault_in_vm1_is_caught_by_the_exception_bitmap(boot, scenario):
    """A divide by zero, or VMXON in real mode (#UD), does not run through
    VM1's empty IVT: the exception bitmap makes it an exit (reason 0,
    EXCEPTION_NMI), reported by vector name at the faulting instruction's
    RIP, found in VM1's own bytes."""
    vm1.check_fault(boot, LESSON, scenario, "EXCEPTION_NMI")


# Lesson 02's entry turns the caches on for this lesson too: its test,
# run on this lesson's image (the `lesson` fixture is this module's).
from test_02_caches import \
    test_bochs_sees_the_entry_turn_the_caches_on  # noqa: E402,F401
