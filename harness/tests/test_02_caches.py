"""Lesson 02's caches_enable (caches.asm): every program from lesson 02 on
runs with CR0.CD and CR0.NW clear, whatever its firmware left there.

References: the CPU as the emulator itself shows it, never the lesson's
own print. Bochs' debugger, breakpoints set before the machine starts,
stops the boot where the BIOS hands over (0x7C00), where the disk loader
hands over (LOAD_ADDRESS, from the build's layout.h numbers) and where the
lesson calls power_off(); QEMU's monitor and Bochs' debugger read CR0 with
the lesson parked at its end, natively and as a hypervisor's guest. The
bit numbers (CD bit 30, NW bit 29) and the reset value 60000010H are the
SDM's (Vol. 3A, 2.5 and 9.1.1, Table 9-1), written here, not read from
the kit's headers.
"""
import re

import pytest

from conftest import IN_CI
from kit import debug, emu
from kit.hosted import machine_of

LESSON = "02"
CR0_PE = 1 << 0
CR0_NW = 1 << 29            # SDM Vol. 3A, 2.5: not write-through
CR0_CD = 1 << 30            # cache disable
RESET_CR0 = 0x60000010      # SDM Vol. 3A, 9.1.1, Table 9-1
# Lessons 03 to 06 run these tests too, on their own image: their modules
# import them (the `lesson` fixture is the module's lesson), so that each
# lesson's grade counts its own and needs no later lesson built.


def cr0_of(text: str) -> int:
    """CR0 from a Bochs `creg` answer ("CR0=0x60000010: pg CD NW ...") or
    QEMU's `info registers` ("CR0=80000011"); not XCR0's line."""
    match = re.search(r"(?:^|\s)CR0=(?:0x)?([0-9a-f]+)", text, re.M)
    assert match, f"no CR0 in the emulator's answer: {text[-500:]!r}"
    return int(match[1], 16)


def stops(debugger: str) -> list[tuple[int, str]]:
    """(linear address, what the debugger printed there) of each breakpoint
    the boot stopped at, in order."""
    parts = re.split(r"\(\d+\) Breakpoint \d+, 0x([0-9a-f]+) in", debugger)
    return [(int(parts[i], 16), parts[i + 1])
            for i in range(1, len(parts) - 1, 2)]


@pytest.mark.bochs
@pytest.mark.points(2)
def test_bochs_sees_the_entry_turn_the_caches_on(lesson):
    """On Bochs, whose BIOS leaves CR0 as the reset set it, the debugger
    finds CR0 = 60000010H (CD and NW set) where the BIOS jumps to the
    loader and again where the loader jumps to the program, so the firmware
    left the caches off and the loader did not touch them; when the lesson
    calls power_off(), CR0 has CD = NW = 0 and PE set: the entry turned
    them on for the whole lesson. The CR0 the entry kept for lessons 07 and
    09 (boot_cr0) is the one the debugger saw before it ran."""
    why = emu.have("bochs")
    if why:
        (pytest.fail if IN_CI else pytest.skip)(why)
    symbols = debug.read_symbols(str(lesson.build / "kernel.elf"))
    power_off, boot_cr0 = symbols["power_off"][0], symbols["boot_cr0"][0]
    load = lesson.constants["LOAD_ADDRESS"]
    # One breakpoint at a time, each deleted once hit: VM1 (lessons 05,
    # 06) may run at those linear addresses too, as a guest.
    script = []
    for n, address in enumerate((0x7C00, load, power_off), 1):
        script += [f"lb {address:#x}", "c", "creg", f"d {n}"]
    script[-1:-1] = [f"xp /1wx {boot_cr0:#x}"]   # the entry's data: low
    run = debug.run_bochs_batch(lesson.image, script + ["c"],
                                magic_break=False)
    assert "[kit] power off: PASS" in run.serial, run.serial[-800:]
    seen = stops(run.debugger)
    assert [address for address, _ in seen] == \
        [0x7C00, load, power_off], run.debugger[-3000:]
    (_, at_bios), (_, at_loader), (_, at_end) = seen
    assert cr0_of(at_bios) == RESET_CR0, \
        f"the BIOS handed over with CR0 {cr0_of(at_bios):#x}"
    assert cr0_of(at_loader) == RESET_CR0, "the loader must not change CR0"
    end = cr0_of(at_end)
    assert end & CR0_PE, f"CR0 {end:#x} at power_off(): not the lesson's"
    assert not end & (CR0_CD | CR0_NW), \
        f"CR0 {end:#x} at power_off(): the caches are still off"
    kept = re.search(r"<bogus\+\s*0>:\s*0x([0-9a-f]+)", at_end)
    assert kept and int(kept[1], 16) == RESET_CR0, \
        f"boot_cr0 must hold the firmware's CR0: {at_end[-300:]!r}"


@pytest.mark.points(1)
def test_caches_are_on_at_the_end(boot, emulator):
    """Parked at its end, the lesson's CPU has CR0.PE set and CD = NW = 0
    as the emulator shows it: QEMU's monitor (SeaBIOS clears them
    already), Bochs' debugger (its BIOS does not: the entry does). As a
    hypervisor's guest too, where the CPU the emulator shows while the
    guest is parked is the guest's."""
    command = "info registers" if machine_of(emulator) == "qemu" else "creg"
    result = boot(params={"park": 1},
                  until=r"\[kit\] parked", monitor_commands=[command])
    assert result.outcome == "stopped", result.diagnosis
    answer = result.monitor.get(command, "")
    cr0 = cr0_of(answer)
    assert cr0 & CR0_PE, f"CR0 {cr0:#x}: the parked CPU is not the lesson's"
    assert not cr0 & (CR0_CD | CR0_NW), f"CR0 {cr0:#x}: caches off"
