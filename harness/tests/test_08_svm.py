"""Lesson 08: lesson 06's hypervisor on AMD-V (SVM), on plain QEMU (TCG)
and on Bochs.

QEMU's TCG emulates SVM; the CPU model there is AMD's Phenom (family 10h,
the first with nested paging), which QEMU gives SVM with nested paging
(fxsr-opt off: TCG does not emulate it and would warn), but no NRIP save.
Bochs 2.7 as Debian builds it emulates SVM too, on its AMD models: the
lesson's Ryzen has nested paging and NRIP save, so the two emulators take
both ways to the next RIP. Models with SVM but no nested paging (QEMU's
qemu64, Bochs' Turion 64) have VM1 run in paged real mode (APM 15.19) on
page tables of the hypervisor's; models without SVM (an AMD one with it
off or without it, an Intel one) are refused.
References: the raw CPUID Fn8000_000A registers the lesson prints, decoded
here from the APM's layout; CPU models the harness chooses with and
without SVM and nested paging; text the harness patches into VM1's memory
(its greeting) and into the hypervisor (the brand VM1 must see), a
guest-physical address it chooses for VM1 to touch and the number of
hypercalls it tells VM1 to time (all drawn afresh on every run); the
EXITINFO1 layouts of APM Vol. 2 (15.10.2 for I/O, 15.25.6 for nested page
faults) and VM1's own listing (where its OUT instruction is).
"""
import re

import pytest

import vm1
from kit import lessons

LESSON = "08"
RNG = vm1.RNG
SVM = lessons.find(LESSON).cpu      # the Makefile's QEMU_CPU, BOCHS_CPU
NO_NPT = {"qemu": "qemu64", "bochs": "turion64_tyler"}   # SVM, no NPT
NO_SVM = {"amd": {"qemu": "qemu64,svm=off", "bochs": "athlon64_venice"},
          "intel": {"qemu": "Skylake-Client", "bochs": "corei7_skylake_x"}}

# APM Vol. 3, CPUID Fn8000_000A EDX: the bits the lesson names.
SVM_FEATURES = {"NP": 0, "LbrVirt": 1, "SVML": 2, "NRIPS": 3,
                "TscRateMsr": 4, "VmcbClean": 5, "FlushByAsid": 6,
                "DecodeAssists": 7, "PauseFilter": 10, "vGIF": 16}


def kit_value(name: str) -> int:
    """A number the lesson's C and NASM share (kit.json: POWER_FAIL_*...)."""
    return lessons.find(LESSON).constants[name]


def random_greeting() -> tuple[str, str]:
    return vm1.random_greeting(LESSON)


def param_size(name: str) -> int:
    return vm1.param_size(LESSON, name)


def vm_output(result) -> list[str]:
    return vm1.vm_output(result, "vm: VMRUN VM1")


summary = vm1.summary


def listing_address(label: str) -> int:
    """The guest address of the first instruction after @label in VM1's
    NASM listing (vm1.lst: line, offset, bytes, source)."""
    lst = (lessons.find(LESSON).build / "vm1.lst").read_text().splitlines()
    at = next(i for i, l in enumerate(lst) if re.search(rf"\s{label}:", l))
    for line in lst[at:]:
        m = re.match(r"\s*\d+\s+([0-9A-F]{8})\s+[0-9A-F]+", line)
        if m:
            return kit_value("GUEST_LOAD_ADDR") + int(m[1], 16)
    raise AssertionError(f"no instruction after {label} in vm1.lst")


def greeted(request, boot):
    return vm1.greeted(request, boot, request.node.callspec.params["emulator"],
                       LESSON, cpu=SVM)


@pytest.mark.points(4)
def test_vm1_says_hello_through_vmmcall(request, boot):
    """The same VM1 binary as lesson 06 chooses VMMCALL on an AMD CPU and
    says exactly "Hello! I am VM1!" on its own line, through the
    hypervisor, from its memory through NPT; it ends with HC_EXIT(0) and
    the host leaves SVM. So it does a greeting of the run's choosing."""
    result = boot(cpu=SVM)
    assert result.passed, result.diagnosis
    out = vm_output(result)
    assert out[0] == "Hello! I am VM1!"
    assert "VM1: CPU vendor AuthenticAMD" in out
    assert "vm: VM1 called HC_EXIT with status 0" in out
    assert "vm: VM1 stopped (HC_EXIT, status 0)" in out
    assert "svm: EFER.SVME = 0: left SVM" in result.serial
    text, result = greeted(request, boot)
    assert result.passed, result.diagnosis
    assert vm_output(result)[0] == text
    assert "vm: VM1 stopped (HC_EXIT, status 0)" in vm_output(result)


@pytest.mark.points(2)
def test_greeting_comes_from_guest_memory(request, boot):
    """A greeting the harness writes into VM1's program (not into the
    hypervisor) is what the hypervisor prints: HC_PRINT reads the guest's
    memory, and VMMCALL really reached the hypervisor."""
    text, result = greeted(request, boot)
    assert result.passed, result.diagnosis
    assert vm_output(result)[0] == text
    assert "Hello! I am VM1!" not in result.serial
    assert summary(result)["VMMCALL"] > 0


@pytest.mark.points(2)
def test_svm_capabilities_decode_the_raw_cpuid(boot):
    """The revision, ASID count and feature bits printed are what the raw
    CPUID Fn8000_000A registers (printed too) say by the APM's layout; the
    harness's own choice of nested paging (npt=on, then off) is what EDX[0]
    shows and decides how VM1 is confined: NP_ENABLE, or paged real
    mode."""
    for npt, model in ((1, SVM), (0, NO_NPT)):
        result = boot(cpu=model)
        raw = re.search(r"svm: CPUID Fn8000_000A: EAX=0x([0-9a-f]{8}) "
                        r"EBX=0x([0-9a-f]{8}) ECX=0x([0-9a-f]{8}) "
                        r"EDX=0x([0-9a-f]{8})", result.serial)
        assert raw, result.serial
        eax, ebx, _, edx = (int(v, 16) for v in raw.groups())
        assert f"svm: SVM revision {eax & 0xFF}, {ebx} ASIDs" in \
            result.lines()
        line = next(l for l in result.lines()
                    if l.startswith("svm: features:"))
        shown = {k: int(v) for k, v in re.findall(r"(\w+)=(\d)", line)}
        assert shown == {k: edx >> b & 1 for k, b in SVM_FEATURES.items()}
        assert edx & 1 == npt, model
        assert ("svm: no NRIP save: the hypervisor computes the next RIP "
                "itself" in result.serial) == (not edx >> 3 & 1)
        assert result.passed, result.diagnosis
        assert ("NP_ENABLE, N_CR3" in result.serial) == bool(npt)
        assert ("VM1 runs in paged real mode" in result.serial) == (not npt)


@pytest.mark.points(2)
@pytest.mark.parametrize("vendor", sorted(NO_SVM))
def test_cpu_without_svm_is_refused(boot, vendor):
    """A CPU without SVM (CPUID Fn8000_0001 ECX[2] clear: SVM switched off,
    or an Intel model) is refused in one clear line with the lesson's
    POWER_FAIL_NO_SVM, before any SVM instruction or MSR is touched."""
    result = boot(cpu=NO_SVM[vendor])
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_NO_SVM"), result.diagnosis
    assert "svm: this CPU has no SVM (CPUID Fn8000_0001:ECX.SVM[bit 2] " \
           "is clear)" in result.serial
    assert "VM_CR" not in result.serial and "PANIC" not in result.serial


@pytest.mark.points(2)
def test_exit_counts_by_name_match_what_vm1_did(boot):
    """The exit summary counts by APM name what VM1 did: 4 CPUIDs (vendor,
    three brand leaves), and one VMMCALL per null hypercall it was told to
    time, so two runs differ by exactly the difference in that count; the
    brand VM1 sees is the one the harness patched in."""
    counts = {}
    low = RNG.randrange(5, 60)
    high = low + RNG.randrange(1, 60)
    brand = f"Harness brand {RNG.randrange(10**6):06d}"
    for n in (low, high):
        result = boot(cpu=SVM, params={
            "bench_count": n,
            "brand": brand.ljust(param_size("brand"), "\0")})
        assert result.passed, result.diagnosis
        assert f"VM1: {n} null hypercalls, mean round trip" in result.serial
        assert f"VM1: CPU brand {brand}" in vm_output(result)
        counts[n] = summary(result)
        assert counts[n]["CPUID"] == 4
        total = int(re.search(r"\(total (\d+)\)", result.serial)[1])
        assert total == sum(counts[n].values())
    assert counts[high]["VMMCALL"] - counts[low]["VMMCALL"] == high - low, \
        f"bench_count {low}, then {high}"


@pytest.mark.points(2)
def test_invalid_hypercall_returns_an_error_and_vm1_goes_on(boot):
    """An unknown hypercall number returns HC_ERR_INVALID in EAX (the
    guest's RAX lives in the VMCB) and VM1 resumes after the 3-byte
    VMMCALL: the hypervisor computed the next RIP itself."""
    result = boot(cpu=SVM)
    out = vm_output(result)
    line = f"VM1: hypercall 0x99 returned {kit_value('HC_ERR_INVALID'):#x}"
    assert line in out
    assert out.index(line) < out.index("vm: VM1 called HC_EXIT with status 0")


@pytest.mark.points(3)
def test_touching_memory_outside_npt_is_a_nested_page_fault(boot):
    """VM1 reading a guest-physical address the harness chose, outside its
    64 KiB, is a nested page fault (#VMEXIT NPF) reported with exactly that
    address (EXITINFO2) and an error code (EXITINFO1, APM 15.25.6) that
    decodes to a read of a page not present, during the final
    guest-physical translation; VM1 stops, the host leaves SVM cleanly."""
    gpa = RNG.randrange(0x10000, 0xFFFFF)
    text, greeting = random_greeting()
    result = boot(cpu=SVM, params={"scenario": 1, "touch_gpa": gpa,
                                   "greeting": greeting})
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_NPF"), result.diagnosis
    m = re.search(r"vm: nested page fault at guest-physical 0x([0-9a-f]+): "
                  r"\w+ (\w+), page not present \(EXITINFO1 0x([0-9a-f]+)\)",
                  result.serial)
    assert m, result.serial
    assert int(m[1], 16) == gpa and m[2] == "read", f"touch_gpa {gpa:#x}"
    error = int(m[3], 16)
    assert error & 0b10011 == 0          # not present, not write, not fetch
    assert error >> 32 & 1               # the final guest-physical address
    assert summary(result)["NPF"] == 1
    assert vm_output(result)[0] == text
    assert "svm: EFER.SVME = 0: left SVM" in result.serial
    assert "PANIC" not in result.serial


@pytest.mark.points(2)
def test_unexpected_exit_is_named_with_its_exitinfo(boot):
    """An exit no handler expects (VM1's OUT to port 0x80, intercepted
    through the I/O permission map) is reported by APM name and code with
    an EXITINFO1 that decodes (APM 15.10.2) to a 1-byte OUT to port 0x80,
    at the address VM1's listing gives its OUT, and EXITINFO2, the next
    RIP, 2 bytes on; VM1 stops, the host does not."""
    text, greeting = random_greeting()
    result = boot(cpu=SVM, params={"scenario": 3, "greeting": greeting})
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_UNEXPECTED_EXIT"), \
        result.diagnosis
    assert vm_output(result)[0] == text
    m = re.search(r"vm: unexpected #VMEXIT 0x7b \(IOIO\) at 0x([0-9a-f]+), "
                  r"EXITINFO1 0x([0-9a-f]+), EXITINFO2 0x([0-9a-f]+)",
                  result.serial)
    assert m, result.serial
    rip, info1, info2 = (int(v, 16) for v in m.groups())
    assert info1 >> 16 == 0x80               # port
    assert info1 & 1 == 0                    # TYPE: OUT
    assert info1 >> 4 & 7 == 1               # SZ8
    assert info1 & 0b1100 == 0               # not string, no REP
    out_at = listing_address("port_io") + 2  # after mov al, 0x42
    assert rip == out_at and info2 == rip + 2, f"OUT at {out_at:#x}"
    assert summary(result)["IOIO"] == 1


@pytest.mark.points(1)
# Bochs 2.7 (reset_on_triple_fault=0, which the harness needs to diagnose
# a triple fault) stops the whole machine at the guest's triple fault
# instead of taking the SHUTDOWN intercept: observed, so QEMU only.
@pytest.mark.emulators("qemu")
def test_triple_fault_is_a_shutdown_exit(boot):
    """VM1 triple-faulting (an empty IDT, then INT3) is a SHUTDOWN
    intercept: the hypervisor stops VM1 and powers off cleanly instead of
    the machine shutting down."""
    text, greeting = random_greeting()
    result = boot(cpu=SVM, params={"scenario": 2, "greeting": greeting})
    assert result.outcome == "fail" and \
        result.status == kit_value("POWER_FAIL_TRIPLE_FAULT"), \
        result.diagnosis
    assert "vm: VM1 triple-faulted at" in result.serial
    assert summary(result)["SHUTDOWN"] == 1
    assert vm_output(result)[0] == text


@pytest.mark.points(2)
def test_without_nested_paging_vm1_runs_in_paged_real_mode(boot):
    """On QEMU's default qemu64 (SVM without nested paging) VM1 runs in
    paged real mode, CR0.PG = 1 with PE = 0, on the hypervisor's page
    tables: it still says hello, and reading a guest-physical address the
    harness chose outside its 64 KiB is an intercepted #PF (exit code
    0x4E) at exactly that address, a read of a page not present."""
    no_npt = NO_NPT                     # not the Makefile's models
    result = boot(cpu=no_npt)
    assert result.passed, result.diagnosis
    assert "Fn8000_000A:EDX.NP[bit 0] is clear" in result.serial
    assert vm_output(result)[0] == "Hello! I am VM1!"
    gpa = RNG.randrange(0x10000, 0xFFFFF)
    result = boot(cpu=no_npt, params={"scenario": 1, "touch_gpa": gpa})
    assert result.status == kit_value("POWER_FAIL_NPF"), result.diagnosis
    m = re.search(r"vm: page fault \(paged real mode\) at guest-physical "
                  r"0x([0-9a-f]+): (\w+), page not present \(EXITINFO1 "
                  r"0x([0-9a-f]+)\)", result.serial)
    assert m, result.serial
    assert int(m[1], 16) == gpa and m[2] == "read", f"touch_gpa {gpa:#x}"
    assert int(m[3], 16) & 0b10011 == 0      # not present, a read
    assert summary(result)["EXCP_PF"] == 1


@pytest.mark.parametrize("scenario", sorted(vm1.FAULTS))
@pytest.mark.points(1)
def test_a_fault_in_vm1_is_caught_by_the_exception_intercepts(boot, scenario):
    """A divide by zero, or VMXON (#UD on AMD), does not run through VM1's
    empty IVT: the exception intercepts (APM 15.12) make it a #VMEXIT
    EXCP_DE or EXCP_UD, reported by vector name at the faulting
    instruction's RIP, found in VM1's own bytes."""
    exit_name = {"SCENARIO_DIVIDE_ERROR": "EXCP_DE",
                 "SCENARIO_INVALID_OPCODE": "EXCP_UD"}[scenario]
    vm1.check_fault(boot, LESSON, scenario, exit_name)
