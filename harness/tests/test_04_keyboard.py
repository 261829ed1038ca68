"""Lesson 04: keyboard input, IRQ 1 through the I/O APIC or the 8259.

With the parameter `keyboard` set, the lesson waits for a line typed on the
keyboard and echoes it on COM1 and the screen. The test types through
QEMU's monitor (`sendkey`, while the guest runs: emu.boot(on_match=)) a
random line it chose this run: letters of both cases, digits, spaces,
symbols, a Backspace or two. References: that line and a model of what
each key sends in scancode set 1 (a make and a break code, Shift's around
a shifted key), a model console for the screen, and QEMU's own view: its
-d int log of every interrupt it delivered, and the VGA text buffer read
from guest memory through the monitor. Bochs has no monitor that types:
there the test checks the timeout and the default (no wait) only.
"""
import random
import re
import string

import pytest

from kit.emulators import qemu
from kit.hosted import machine_of

LESSON = "04"
RNG = random.Random()               # seeded by the OS: different on every run
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SYMBOLS = " -=[];',./!@#$%^&*()_+{}:\"<>?~`|\\"
SHIFTED = LETTERS.upper() + '!@#$%^&*()_+{}:"~|<>?'
ROUTES = {1: 0x31, 2: 0x21}         # param_keyboard -> the vector IRQ 1 uses
BOOT_TIMEOUT = 60                   # seconds: the lesson, then the typing
XP_SCREEN = "xp /2000hx 0xb8000"    # the 80x25 text buffer, 16-bit cells
LINE = re.compile(r"^keyboard: line of (\d+) characters \((Enter|the limit)"
                  r"\): (.*)$", re.M)
COUNTS = re.compile(r"^keyboard: (\d+) scancodes \((\d+) key releases "
                    r"ignored\), (\d+) lost, in (\d+) interrupts on vector "
                    r"0x([0-9a-f]+); irq 0 and 1 masked again$", re.M)
READY = "keyboard: ready: type up to {} characters and Enter, within {} ms\n"


def random_keys(rng) -> str:
    """What the test types: 12-30 characters of every kind, some rubbed
    out again with Backspace (never two in a row, never first)."""
    alphabet = LETTERS + LETTERS.upper() + "0123456789" + SYMBOLS
    keys = ""
    for _ in range(rng.randrange(12, 31)):
        if keys and keys[-1] != "\b" and rng.random() < 0.1:
            keys += "\b"
        keys += rng.choice(alphabet)
    return keys


def edited(keys: str) -> str:
    """The line @keys leave, Backspace rubbing out what it follows."""
    line = ""
    for c in keys:
        line = line[:-1] if c == "\b" else line + c
    return line


def echo(keys: str) -> str:
    """What the lesson echoes for @keys: each character, and for a
    Backspace with something to rub out, back-space-back."""
    out, length = "", 0
    for c in keys:
        if c != "\b":
            out, length = out + c, length + 1
        elif length:
            out, length = out + "\b \b", length - 1
    return out


def scancodes(keys: str) -> tuple[int, int]:
    """How many set 1 bytes the lesson reads when @keys, then Enter, are
    typed, and how many of them are break codes: a make and a break code
    for each key, as many again for the Shift held around a shifted one
    (QEMU presses Shift first and lets it go last), then Enter's make code,
    which ends the line (its break code comes after)."""
    breaks = sum(2 if c in SHIFTED else 1 for c in keys)
    return 2 * breaks + 1, breaks


def screen_model(text: str, cols: int = 80, rows: int = 25) -> list[str]:
    """The 80x25 screen after @text, by common/console.c's rules: a line
    wraps as soon as its 80th cell is written (so a line of exactly 80
    characters, then "\\n", leaves a blank row), the screen scrolls, and a
    "\\b" moves the cursor one cell left, never past the row's start."""
    lines, col = [[" "] * cols], 0
    for ch in text:
        if ch == "\n":
            lines.append([" "] * cols)
            col = 0
        elif ch == "\b":
            col = max(col - 1, 0)
        else:
            lines[-1][col] = ch
            col += 1
            if col == cols:
                lines.append([" "] * cols)
                col = 0
    shown = lines[-rows:]
    return ["".join(line) for line in shown + [[" "] * cols] *
            (rows - len(shown))]


def screen_of(answer: str) -> list[str]:
    """The 25 rows of QEMU's `xp /2000hx 0xb8000`: each cell's character."""
    cells = [int(word, 16) for line in answer.splitlines()
             for word in line.split(":")[1].split()]
    assert len(cells) == 80 * 25, answer[:200]
    return ["".join(chr(c & 0xFF) for c in cells[r * 80:(r + 1) * 80])
            for r in range(25)]


def interrupts_on(log: str, vector: int) -> int:
    """How many interrupts on @vector QEMU's -d int log records."""
    return len(re.findall(rf"^\s*\d+: v={vector:02x} ", log, re.M))


@pytest.mark.points(3)
@pytest.mark.emulators("qemu")      # only QEMU's monitor can type
@pytest.mark.parametrize("route", sorted(ROUTES), ids=["ioapic", "8259"])
def test_typed_keys_come_back_in_order(boot, emulator, route):
    """Keys typed while the lesson waits come back as the right characters,
    in order, on COM1 and on the screen: the 8042 was set to interrupt and
    translate, IRQ 1 came through the I/O APIC (vector 0x31: 1) or the
    8259 and LINT0 (0x21: 2), set 1 was decoded with Shift, Backspace
    rubbed out, releases were ignored, Enter ended the line. QEMU's log
    counts as many interrupts on that vector as the lesson did, and one
    per scancode the model expects through the I/O APIC."""
    keys = random_keys(RNG)
    timeout_ms = RNG.randrange(20_000, 40_000)
    result = boot(params={"keyboard": route, "keyboard_timeout_ms":
                          timeout_ms, "park": 1},
                  on_match=[(r"keyboard: ready",
                             qemu.sendkey_commands(keys + "\n"))],
                  until=r"\[kit\] parked", monitor_commands=[XP_SCREEN],
                  timeout=BOOT_TIMEOUT, log=True)
    assert result.outcome == "stopped", result.diagnosis
    assert result.status == 0, result.diagnosis
    text = result.serial
    ready = READY.format(64, timeout_ms)
    assert ready in text, text[-2000:]
    assert text.split(ready, 1)[1].startswith(echo(keys) + "\n"), repr(keys)
    line = LINE.search(text)
    assert line, text[-2000:]
    assert (int(line[1]), line[2], line[3]) == \
        (len(edited(keys)), "Enter", edited(keys)), repr(keys)
    counts = COUNTS.search(text)
    assert counts, text[-2000:]
    sent, releases, lost, irqs = (int(counts[i]) for i in range(1, 5))
    vector = int(counts[5], 16)
    assert (sent, releases, lost, vector) == \
        (*scancodes(keys), 0, ROUTES[route]), repr(keys)
    if machine_of(emulator) == "qemu":
        assert interrupts_on(result.log, vector) == irqs
    # One interrupt per byte, and perhaps one more: Enter's break code, if
    # it came before the line was masked again, or (8259) an edge the 8259
    # kept from i8042.c's set-up while it was masked.
    assert sent <= irqs <= sent + 1 + (route == 2)
    if route == 1:
        assert re.search(r"^ioapic: isa irq 1 -> gsi \d+ .*: vector 0x31, "
                         r"edge, active high", text, re.M)
    else:
        assert "pic: irq 0 and 1 unmasked (masks 0xfc 0xff): vectors 0x20 " \
            "and 0x21 through LINT0 (lvt 0x700, ExtINT)" in text
    # power_off() writes "[kit] parked" to the screen before COM1, so the
    # screen is whole when the harness sees that line and stops the guest.
    parked = text[:text.index("[kit] parked") + len("[kit] parked\n")]
    screen, model = screen_of(result.monitor[XP_SCREEN]), screen_model(parked)
    assert screen == model, \
        "the screen differs from the model:\n" + "\n".join(
            f"row {r:2}: {got!r}\n   model: {want!r}"
            for r, (got, want) in enumerate(zip(screen, model)) if got != want)


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")      # only QEMU's monitor can type
def test_every_printable_character_decodes(boot):
    """All 95 printable ASCII characters, typed once each in an order the
    run shuffles, come back as themselves: every entry of the set 1 table,
    alone and with Shift, is the key's on a US keyboard."""
    keys = list(string.printable[:95])
    RNG.shuffle(keys)
    keys = "".join(keys)
    result = boot(params={"keyboard": 1, "keyboard_chars": 128,
                          "keyboard_timeout_ms": 30_000},
                  on_match=[(r"keyboard: ready",
                             qemu.sendkey_commands(keys + "\n"))],
                  timeout=BOOT_TIMEOUT)
    assert result.passed, result.diagnosis
    line = LINE.search(result.serial)
    assert line, result.serial[-2000:]
    assert (int(line[1]), line[2], line[3]) == (95, "Enter", keys)
    assert scancodes(keys)[0] == int(COUNTS.search(result.serial)[1])


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")      # only QEMU's monitor can type
def test_line_ends_at_the_character_limit(boot):
    """With room for N characters (chosen by the run) and more typed, the
    line ends after the N-th, without Enter, and holds exactly those."""
    limit = RNG.randrange(3, 10)
    keys = "".join(RNG.choice(LETTERS + LETTERS.upper()) for _ in
                   range(limit + RNG.randrange(2, 6)))
    result = boot(params={"keyboard": 1, "keyboard_chars": limit,
                          "keyboard_timeout_ms": 30_000},
                  on_match=[(r"keyboard: ready",
                             qemu.sendkey_commands(keys))],
                  timeout=BOOT_TIMEOUT)
    assert result.passed, result.diagnosis
    line = LINE.search(result.serial)
    assert line, result.serial[-2000:]
    assert (int(line[1]), line[2], line[3]) == \
        (limit, "the limit", keys[:limit])
    assert result.serial.split(READY.format(limit, 30_000), 1)[1].startswith(
        keys[:limit] + "\n")


@pytest.mark.points(1)
@pytest.mark.parametrize("route", sorted(ROUTES), ids=["ioapic", "8259"])
def test_no_keys_times_out_clearly(boot, emulator, route):
    """Nobody types: after the timeout the run chose, the lesson says so in
    one line, counts no scancode and powers off with FAIL, instead of
    waiting for ever; its clock (the PIT's IRQ 0 through the same route)
    really ticked, as QEMU's log shows: at least one interrupt per 10 ms."""
    timeout_ms = RNG.randrange(200, 500)
    result = boot(params={"keyboard": route, "keyboard_timeout_ms":
                          timeout_ms}, timeout=BOOT_TIMEOUT, log=True)
    assert result.outcome == "fail", result.diagnosis
    assert result.status == 1
    assert f"keyboard: timed out after {timeout_ms} ms: 0 characters and " \
        "no Enter" in result.serial
    counts = COUNTS.search(result.serial)
    assert counts and (counts[1], counts[2]) == ("0", "0"), result.serial
    if machine_of(emulator) == "qemu":
        tick = {1: 0x32, 2: 0x20}[route]
        assert interrupts_on(result.log, tick) >= timeout_ms // 10


@pytest.mark.points(1)
def test_keyboard_off_by_default(boot, lesson):
    """Unless asked, the lesson neither touches the keyboard nor waits:
    the default run passes with no keyboard line, although the other two
    keyboard parameters hold values that would be refused if it were on."""
    result = boot(params={"keyboard_chars": 0, "keyboard_timeout_ms": 0},
                  timeout=BOOT_TIMEOUT)
    assert result.passed, result.diagnosis
    assert "keyboard:" not in result.serial
    assert "i8042:" not in result.serial


@pytest.mark.points(1)
@pytest.mark.emulators("qemu")      # the checks are the lesson's own code
def test_bad_keyboard_parameters_are_refused(boot, lesson):
    """A route, a line length or a timeout out of range (chosen by the run)
    is refused in one line naming it, with the parameter status, before
    the lesson touches the keyboard."""
    fail_param = lesson.constants["POWER_FAIL_PARAM"]
    route = RNG.randrange(3, 256)
    chars = RNG.choice([0, RNG.randrange(129, 1 << 16)])
    timeout_ms = RNG.choice([RNG.randrange(0, 10),
                             RNG.randrange(600_001, 1 << 31)])
    for params, message in (
            ({"keyboard": route}, f"keyboard: param_keyboard {route}: choose "
             "0 (off), 1 (irq 1 through the I/O APIC) or 2 (through the "
             "8259)"),
            ({"keyboard": 1, "keyboard_chars": chars},
             f"keyboard: param_keyboard_chars {chars}: choose 1-128"),
            ({"keyboard": 2, "keyboard_timeout_ms": timeout_ms},
             f"keyboard: param_keyboard_timeout_ms {timeout_ms}: choose "
             "10-600000")):
        result = boot(params=params, timeout=BOOT_TIMEOUT)
        assert result.outcome == "fail", result.diagnosis
        assert result.status == fail_param, result.diagnosis
        assert f"\n{message}\n" in result.serial
        assert "i8042:" not in result.serial
