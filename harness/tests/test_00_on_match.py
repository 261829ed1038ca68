"""The harness's own checks of boot(on_match=): monitor commands run while
the guest goes on, which is how the tests type on a guest's keyboard."""
import re
import string

import pytest

from kit import emu, lessons
from kit.emulators import qemu


def test_sendkey_types_every_printable_character_with_its_own_key():
    """Each of the 95 printable ASCII characters (and Enter, Backspace) is
    typed by one `sendkey` of its own: no two share a key combination, a
    shifted one is Shift plus a key that types something alone, and a
    character no US key types is refused."""
    printable = string.printable[:95]
    commands = qemu.sendkey_commands(printable + "\n\b", hold_ms=7)
    keys = [c.split()[1] for c in commands]
    assert all(c.split()[0] == "sendkey" and c.split()[2] == "7"
               for c in commands)
    assert len(set(keys)) == len(keys) == 97
    alone = {k for k in keys if not k.startswith("shift-")}
    shifted = [k for k in keys if k.startswith("shift-")]
    assert len(shifted) == 26 + 21      # capitals and the symbols above
    assert all(k[len("shift-"):] in alone for k in shifted)
    with pytest.raises(ValueError, match="no key types"):
        qemu.sendkey_commands("é")


def test_on_match_runs_commands_and_the_guest_goes_on():
    """Each (pattern, commands) runs once, when COM1 first matches, in
    QEMU's monitor while the guest runs: the monitor says it is running,
    and the guest still gets to its own power-off."""
    why = emu.have("qemu")
    if why:
        pytest.skip(why)
    result = emu.boot(lessons.find("01").image, "qemu", timeout=20,
                      on_match=[(r"\S", ["info status"]),
                                (r"\S", ["info version"])])
    assert result.passed, result.diagnosis
    assert result.monitor["info status"] == "VM status: running"
    assert re.match(r"\d+\.\d+\.\d+", result.monitor["info version"])


def test_on_match_is_refused_where_the_monitor_cannot_do_it():
    """Bochs' debugger stops the guest to take a command: on_match= is
    refused there in one line before anything is booted."""
    why = emu.have("bochs")
    if why:
        pytest.skip(why)
    with pytest.raises(ValueError, match="on_match=: bochs"):
        emu.boot(lessons.find("01").image, "bochs",
                 on_match=[(r"\S", ["info status"])])
