"""Lesson 05: VMX capabilities, VMXON, the VMCS and the first VM exit.

Runs on Bochs (corei7_skylake_x: VMX with EPT and unrestricted guest) and on
QEMU only under KVM with nested VMX (probed; a named skip elsewhere).
References: the raw capability MSRs the guest prints, decoded here from the
SDM's layout; the guest code's address in the linked kernel; register
values derived from a seed the harness patches in (drawn afresh on every
run); the processor's own verdict on a broken guest state (a failed VM
entry) against the lesson's software check, and on Bochs that verdict as
Bochs logs it; a CPU model without VMX.
"""
import random
import re
import sys

import pytest

from kit import lessons

LESSON = "05"
RNG = random.Random()       # seeded by the OS: different on every run
sys.path.insert(0, str(lessons.ROOT / "common" / "tools"))
from symbols import read_symbols  # noqa: E402

CONTROL = re.compile(r"vmx: (.+?) controls \(MSR 0x([0-9a-f]+) = "
                     r"0x([0-9a-f]{16})\): must be 1:(.*); may be 1:(.*)$")
# SDM Vol. 3C 25.6-25.8: name -> bit, per control field.
CONTROL_BITS = {
    "pin-based": {"EXT_INTR_EXITING": 0, "NMI_EXITING": 3,
                  "VIRTUAL_NMIS": 5, "PREEMPTION_TIMER": 6,
                  "POSTED_INTR": 7},
    "primary processor-based": {
        "INTR_WINDOW_EXITING": 2, "USE_TSC_OFFSETTING": 3, "HLT_EXITING": 7,
        "INVLPG_EXITING": 9, "MWAIT_EXITING": 10, "RDPMC_EXITING": 11,
        "RDTSC_EXITING": 12, "CR3_LOAD_EXITING": 15,
        "CR3_STORE_EXITING": 16, "TERTIARY_CONTROLS": 17,
        "CR8_LOAD_EXITING": 19, "CR8_STORE_EXITING": 20, "TPR_SHADOW": 21,
        "NMI_WINDOW_EXITING": 22, "MOV_DR_EXITING": 23,
        "UNCOND_IO_EXITING": 24, "USE_IO_BITMAPS": 25,
        "MONITOR_TRAP_FLAG": 27, "USE_MSR_BITMAPS": 28,
        "MONITOR_EXITING": 29, "PAUSE_EXITING": 30,
        "SECONDARY_CONTROLS": 31},
    "secondary processor-based": {
        "VIRTUALIZE_APIC_ACCESSES": 0, "ENABLE_EPT": 1,
        "DESC_TABLE_EXITING": 2, "ENABLE_RDTSCP": 3,
        "VIRTUALIZE_X2APIC": 4, "ENABLE_VPID": 5, "WBINVD_EXITING": 6,
        "UNRESTRICTED_GUEST": 7, "APIC_REGISTER_VIRT": 8,
        "VIRTUAL_INTR_DELIVERY": 9, "PAUSE_LOOP_EXITING": 10,
        "RDRAND_EXITING": 11, "ENABLE_INVPCID": 12, "ENABLE_VMFUNC": 13,
        "VMCS_SHADOWING": 14, "ENCLS_EXITING": 15, "RDSEED_EXITING": 16,
        "ENABLE_PML": 17, "EPT_VIOLATION_VE": 18,
        "CONCEAL_VMX_FROM_PT": 19, "ENABLE_XSAVES": 20,
        "MODE_BASED_EPT_EXEC": 22, "SUBPAGE_WRITE": 23, "PT_USE_GPA": 24,
        "TSC_SCALING": 25, "USER_WAIT_PAUSE": 26, "ENCLV_EXITING": 28},
    "VM-exit": {"SAVE_DEBUG_CONTROLS": 2, "HOST_ADDR_SPACE_SIZE": 9,
                "LOAD_PERF_GLOBAL_CTRL": 12, "ACK_INTR_ON_EXIT": 15,
                "SAVE_IA32_PAT": 18, "LOAD_IA32_PAT": 19,
                "SAVE_IA32_EFER": 20, "LOAD_IA32_EFER": 21,
                "SAVE_PREEMPTION_TIMER": 22, "CLEAR_BNDCFGS": 23,
                "CONCEAL_VMX_FROM_PT": 24, "CLEAR_RTIT_CTL": 25,
                "LOAD_CET_STATE": 28},
    "VM-entry": {"LOAD_DEBUG_CONTROLS": 2, "IA32E_MODE_GUEST": 9,
                 "ENTRY_TO_SMM": 10, "DEACT_DUAL_MONITOR": 11,
                 "LOAD_PERF_GLOBAL_CTRL": 13, "LOAD_IA32_PAT": 14,
                 "LOAD_IA32_EFER": 15, "LOAD_BNDCFGS": 16,
                 "CONCEAL_VMX_FROM_PT": 17, "LOAD_RTIT_CTL": 18,
                 "LOAD_CET_STATE": 20},
}
TRUE_MSRS = {"pin-based": 0x48D, "primary processor-based": 0x48E,
             "secondary processor-based": 0x48B, "VM-exit": 0x48F,
             "VM-entry": 0x490}
REGS = ["rax", "rcx", "rdx", "rbx", "rbp", "rsi", "rdi", "r8", "r9", "r10",
        "r11", "r12", "r13", "r14", "r15"]


def guest_seed() -> int:
    """A guest_seed of the run's choosing (the guest adds 0..14 to it)."""
    return RNG.getrandbits(63) & ~0xFF


def exit_registers(result) -> list:
    """The fifteen guest registers the exit handler printed, in REGS order."""
    values = dict(re.findall(r"\b(r[a-z0-9]+)=0x([0-9a-f]+)",
                             " ".join(l for l in result.lines()
                                      if l.startswith("vmexit: r"))))
    return [int(values[r], 16) if r in values else None for r in REGS]


def bochs_vm_entry_failures(result) -> list:
    """What Bochs logged about VM entries it refused (its own checks)."""
    return re.findall(r"VMENTER FAIL: (.*)", result.log)


def printed_bits(text: str, names: dict) -> set:
    bits = set()
    for word in text.split():
        if word == "none":
            continue
        bits.add(int(word[3:]) if word.startswith("bit") else names[word])
    return bits


@pytest.mark.points(3)
def test_first_vm_exit_is_the_guests_cpuid(boot, lesson, emulator):
    """VMXON succeeds, VMLAUNCH runs the guest, and its CPUID comes back as
    exit reason 10 at the address where the linker put the guest's CPUID,
    with instruction length 2 (0F A2); then VMXOFF and PASS. The guest
    really ran: the registers at that exit hold what it computed from a
    seed the run chose, and on Bochs, Bochs refused no VM entry."""
    seed = guest_seed()
    result = boot(params={"guest_seed": seed}, log=True)
    assert result.passed, result.diagnosis
    text = result.serial
    assert "vmx: VMXON at physical" in text
    assert "vmexit: exit reason 10 (CPUID), qualification 0x0" in text
    m = re.search(r"vmexit: guest RIP 0x([0-9a-f]+), instruction length "
                  r"(\d+)", text)
    cpuid_at = read_symbols(str(lesson.build / "kernel.elf"))["guest_cpuid"][0]
    assert int(m[1], 16) == cpuid_at
    assert int(m[2]) == 2
    assert text.index("vmexit: exit reason") < \
        text.index("vmx: VMXOFF: left VMX operation")
    assert exit_registers(result) == [(seed + i) % 2**64 for i in range(15)], \
        f"guest_seed {seed:#x}"
    if emulator == "bochs":
        assert bochs_vm_entry_failures(result) == []


@pytest.mark.points(2)
def test_exit_saves_every_guest_register(boot):
    """The exit entry saves all fifteen general registers of the guest: each
    holds the seed the harness patched in plus its own index, as the guest
    computed them."""
    seed = guest_seed()
    result = boot(params={"guest_seed": seed})
    assert result.passed, result.diagnosis
    values = dict(re.findall(r"\b(r[a-z0-9]+)=0x([0-9a-f]+)",
                             " ".join(l for l in result.lines()
                                      if l.startswith("vmexit: r"))))
    assert [int(values[r], 16) for r in REGS] == \
        [(seed + i) % 2**64 for i in range(15)], f"guest_seed {seed:#x}"


@pytest.mark.points(1)
def test_vmx_basic_decoded(boot, emulator):
    """The decoded IA32_VMX_BASIC (revision, VMCS size, memory type, TRUE
    controls) matches the raw MSR value, decoded here from SDM A.1; on
    Bochs the revision is Bochs' documented 0x2b."""
    result = boot()
    m = re.search(r"IA32_VMX_BASIC = 0x([0-9a-f]{16}): revision 0x([0-9a-f]+)"
                  r", VMCS region (\d+) bytes, memory type (\d+) \((.+?)\), "
                  r"TRUE controls: (yes|no), 32-bit physical addresses "
                  r"only: (yes|no)", result.serial)
    raw = int(m[1], 16)
    assert int(m[2], 16) == raw & 0x7FFFFFFF
    assert int(m[3]) == raw >> 32 & 0x1FFF
    assert int(m[4]) == raw >> 50 & 0xF
    assert m[5] == {0: "uncacheable", 6: "write-back"}[raw >> 50 & 0xF]
    assert (m[6] == "yes") == bool(raw >> 55 & 1)
    assert (m[7] == "yes") == bool(raw >> 48 & 1)
    if emulator == "bochs":
        assert raw & 0x7FFFFFFF == 0x2B


@pytest.mark.points(2)
def test_control_capabilities_decoded(boot):
    """For every control field, the names listed as 'must be 1' are exactly
    the allowed-0 bits and 'may be 1' exactly the allowed-1 bits of the raw
    capability MSR (the TRUE one where IA32_VMX_BASIC offers it)."""
    result = boot()
    seen = {}
    for line in result.lines():
        m = CONTROL.match(line)
        if not m:
            continue
        name, msr, raw = m[1], int(m[2], 16), int(m[3], 16)
        names = CONTROL_BITS[name]
        seen[name] = msr
        allowed0 = {b for b in range(32) if raw >> b & 1}
        allowed1 = {b for b in range(32) if raw >> (32 + b) & 1}
        assert printed_bits(m[4], names) == allowed0, name
        assert printed_bits(m[5], names) == allowed1, name
        assert allowed0 <= allowed1, f"{name}: a must-be-1 bit may not be 1"
    assert seen == TRUE_MSRS
    assert "[4-level walk]" in result.serial and "[WB]" in result.serial


BROKEN = {
    1: ("GUEST_CS_AR_BYTES", "accessed code segment"),
    2: ("GUEST_RFLAGS", "bit 1 must be 1"),
    3: ("GUEST_CR4", "CR4.VMXE must be 1"),
    4: ("GUEST_ACTIVITY_STATE", "not an activity state"),
    5: ("GUEST_TR_AR_BYTES", "busy TSS"),
}
# How Bochs 2.7 itself names each refusal ("VMENTER FAIL: ...").
BOCHS_VERDICT = {1: "VMCS guest CS.TYPE", 2: "RFLAGS[1] cleared",
                 3: "VMCS guest invalid CR4",
                 4: "VMCS guest activity state",
                 5: "VMCS guest incorrect TR type"}


@pytest.mark.parametrize("scenario", sorted(BROKEN))
@pytest.mark.points(1)
def test_pre_entry_check_names_the_broken_field(boot, scenario, emulator):
    """With one guest-state field broken on purpose, the software check
    names that field and refuses to launch; launched anyway, the processor
    itself fails the VM entry with exit reason 33 (invalid guest state),
    so the check agrees with the CPU; on Bochs, Bochs' log names the same
    broken field (and shows no refused entry when the check refused)."""
    field, rule = BROKEN[scenario]
    checked = boot(params={"break_guest": scenario}, log=True)
    assert checked.outcome == "fail", checked.diagnosis
    problems = [l for l in checked.lines() if l.startswith("vmcheck: GUEST")
                or l.startswith("vmcheck: VMCS")]
    assert len(problems) == 1 and problems[0].startswith(f"vmcheck: {field} =")
    assert rule in problems[0]
    assert "vmx: VMLAUNCH" not in checked.serial
    forced = boot(params={"break_guest": scenario, "skip_check": 1},
                  log=True)
    assert forced.outcome == "fail", forced.diagnosis
    assert "vmexit: VM entry failed: exit reason 33 (INVALID_GUEST_STATE)" \
        in forced.serial
    if emulator == "bochs":
        assert bochs_vm_entry_failures(checked) == []
        refused = bochs_vm_entry_failures(forced)
        assert len(refused) == 1 and \
            refused[0].startswith(BOCHS_VERDICT[scenario]), refused


@pytest.mark.points(1)
def test_unbroken_guest_passes_the_check(boot, emulator):
    """The guest state as the lesson builds it passes every check, and the
    processor agrees: the VM entry succeeds (the guest's CPUID exits; on
    Bochs, Bochs refused no VM entry)."""
    result = boot(log=True)
    assert "vmcheck: guest state passes the checks" in result.serial
    assert not re.search(r"vmcheck: GUEST", result.serial)
    assert "vmexit: exit reason 10 (CPUID)" in result.serial
    if emulator == "bochs":
        assert bochs_vm_entry_failures(result) == []


@pytest.mark.emulators("bochs")     # a CPU model without VMX
@pytest.mark.points(1)
def test_cpu_without_vmx_is_refused(boot):
    """On a 64-bit CPU without VMX (Bochs' Athlon 64) the lesson says so
    and powers off with FAIL instead of faulting on VMXON; on the CPU with
    VMX the same image says no such thing and passes (so a lesson that
    always refuses scores nothing)."""
    result = boot(cpu={"bochs": "athlon64_clawhammer"})
    assert result.outcome == "fail", result.diagnosis
    assert "this CPU has no VMX (CPUID.1:ECX.VMX[bit 5] is clear)" in \
        result.serial
    assert "VMXON" not in result.serial
    capable = boot()
    assert capable.passed, capable.diagnosis
    assert "this CPU has no VMX" not in capable.serial


# Lesson 02's entry turns the caches on for this lesson too: its test,
# run on this lesson's image (the `lesson` fixture is this module's).
from test_02_caches import \
    test_bochs_sees_the_entry_turn_the_caches_on  # noqa: E402,F401
