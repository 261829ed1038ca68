"""Screenshots of each lesson's VGA screen, for the book (`make screenshots`).

Each lesson that QEMU can run is booted the way `make run HOLD=1` boots it:
without QEMU's isa-debug-exit device, so that the kit's power-off falls
through to ACPI, which QEMU turns into a pause. The last screen then stays
on display, and QEMU's monitor dumps it (`screendump`, a binary PPM) once
COM1 shows the power-off line. The PPM becomes build/docs/screenshots/
lessonNN.png through a PNG writer of a few lines (zlib is all a PNG needs).

Lessons that need VMX run on Bochs only, which has no screendump: each is
booted parked at its end (its `park` parameter) and Bochs' debugger reads
its VGA text buffer (`xp`), which vgatext.py draws as lessonNN.png. A
hypervisor that boots other lessons as its guest (lessons 07 and 09,
GUESTS in their Makefiles) dumps the guest's text screen on COM1 itself,
when its parameter `screen` is 1: each of its guests is booted under it
(on Bochs for lesson 07, QEMU for lesson 09), and the dump drawn by
vgatext.py as build/docs/screenshots/lessonNN-guestMM.png.
"""
from __future__ import annotations

import re
import struct
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Optional

from . import emu, emulators, lessons, vgatext
from .emulators import bochs

# The kit's last line, with the guest's verdict.
POWER_OFF = r"\[kit\] power off: (PASS|FAIL[^\n]*)\n"


class ScreenshotError(RuntimeError):
    """A lesson did not reach the screen the book wants to show."""


def read_ppm(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes) of a binary PPM (P6) with 8-bit samples."""
    match = re.match(rb"P6\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s", data)
    if not match:
        raise ValueError("not a binary PPM (P6) image")
    width, height, maxval = (int(v) for v in match.groups())
    if maxval != 255:
        raise ValueError(f"PPM with maxval {maxval}: only 255 is supported")
    rgb = data[match.end():match.end() + 3 * width * height]
    if len(rgb) != 3 * width * height:
        raise ValueError(f"PPM is truncated: {len(rgb)} of "
                         f"{3 * width * height} bytes of pixels")
    return width, height, rgb


def png_bytes(width: int, height: int, rgb: bytes) -> bytes:
    """A PNG of 8-bit RGB pixels (PNG spec: IHDR, one IDAT, IEND)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body)))

    stride = 3 * width
    # Each row starts with its filter type; 0 ("None") keeps rows as they are.
    raw = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride]
                   for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def ppm_to_png(ppm: Path, png: Path) -> tuple[int, int]:
    """Convert QEMU's screendump @ppm to @png; returns (width, height)."""
    width, height, rgb = read_ppm(ppm.read_bytes())
    png.write_bytes(png_bytes(width, height, rgb))
    return width, height


def screenshot_lessons() -> list[lessons.Lesson]:
    """The lessons that have a screenshot of their own: those QEMU can run,
    but a hypervisor's, whose screen is its guest's (hosted_shots())."""
    return [l for l in lessons.all_lessons()
            if "qemu" in l.emulators and not l.guests]


def take(lesson: lessons.Lesson, png: Path) -> None:
    """Boot @lesson on QEMU and save its final screen as @png."""
    if not lesson.image.exists():
        raise ScreenshotError(f"{lesson.image} is missing: run make first")
    with tempfile.TemporaryDirectory(prefix="kit-shot-") as tmp:
        ppm = Path(tmp) / "screen.ppm"
        result = emu.boot(lesson.image, "qemu", **lesson.boot_options,
                          debug_exit=False,
                          until=POWER_OFF,
                          monitor_commands=[f"screendump {ppm}"])
        if result.outcome != "stopped":
            raise ScreenshotError(f"lesson {lesson.number}: no screenshot: "
                                  f"{result.diagnosis}")
        verdict = re.search(POWER_OFF, result.serial).group(1)
        if verdict != "PASS":
            raise ScreenshotError(f"lesson {lesson.number}: no screenshot: "
                                  f"it powered off with {verdict}")
        if not ppm.exists():
            raise ScreenshotError(
                f"lesson {lesson.number}: QEMU wrote no screendump: "
                f"{result.monitor.get(f'screendump {ppm}') or 'no reason'}")
        ppm_to_png(ppm, png)


def bochs_lessons() -> list[lessons.Lesson]:
    """The lessons that run on Bochs only (VMX) and boot no guest: their
    screenshot is read from guest memory by Bochs' debugger (take_bochs)."""
    return [l for l in lessons.all_lessons() if "qemu" not in l.emulators
            and "bochs" in l.emulators and not l.guests]


def take_bochs(lesson: lessons.Lesson, png: Path) -> None:
    """Boot @lesson on Bochs parked at its end (the kit's `park`
    parameter: "[kit] parked", then HLT with interrupts off), read the VGA
    text buffer with Bochs' debugger (`xp`) and draw it as @png."""
    if not lesson.image.exists():
        raise ScreenshotError(f"{lesson.image} is missing: run make first")
    command = f"xp /{vgatext.ROWS * vgatext.COLS * 2}bx 0xb8000"
    result = emu.boot(lesson.image, "bochs", **lesson.boot_options,
                      params={"park": 1}, until=r"\[kit\] parked",
                      monitor_commands=[command])
    if result.outcome != "stopped":
        raise ScreenshotError(f"lesson {lesson.number}: no screenshot: "
                              f"{result.diagnosis}")
    answer = result.monitor.get(command, "")
    data = bochs.xp_bytes(answer)
    if len(data) != vgatext.ROWS * vgatext.COLS * 2:
        why = f": {answer}" if answer.startswith("(no answer") else ""
        raise ScreenshotError(f"lesson {lesson.number}: no screenshot: "
                              f"Bochs' debugger gave {len(data)} bytes of "
                              f"the screen{why}")
    row = vgatext.COLS * 2
    png.write_bytes(vgatext.png([data[i:i + row]
                                 for i in range(0, len(data), row)]))


def hosted_png(host: str, guest: str) -> str:
    """The file name of lesson @guest's screenshot under lesson @host's
    hypervisor: "lesson07-guest03.png"."""
    return f"lesson{host}-guest{guest}.png"


def hosted_shots() -> list[tuple[lessons.Lesson, lessons.Lesson, str]]:
    """(hypervisor, guest, PNG name) for each guest of each lesson that
    boots others as its guest (GUESTS in its Makefile)."""
    return [(host, lessons.find(number), hosted_png(host.number, number))
            for host in lessons.all_lessons() for number in host.guests]


def host_emulator(host: lessons.Lesson) -> str:
    """Where hypervisor lesson @host boots its guests for the book: the
    first emulator its Makefile names (lesson 07: Bochs, 09: QEMU)."""
    return host.emulators[0]


def cannot_host(host: lessons.Lesson) -> Optional[str]:
    """None if hypervisor lesson @host's guests can be booted under it
    here, else why not (one line)."""
    name = host_emulator(host)
    why = emu.have(name)
    if why is None and not emulators.runner(name).can_host:
        why = f"{name} cannot boot a hypervisor with its guest yet"
    return why


def take_hosted(host: lessons.Lesson, guest: lessons.Lesson,
                png: Path) -> None:
    """Boot @guest under hypervisor @host (on host_emulator(host)), with the
    hypervisor's `screen` parameter set so that it dumps the guest's last
    screen on COM1, and draw that screen as @png."""
    for lesson in (host, guest):
        if not lesson.image.exists():
            raise ScreenshotError(f"{lesson.image} is missing: run make "
                                  "first")
    what = f"lesson {guest.number} under lesson {host.number}"
    image = bytearray(host.image.read_bytes())
    try:
        emu.patch_image(image, emu.load_params(host.params_json),
                        {"screen": 1})
    except KeyError as error:
        raise ScreenshotError(f"{what}: no screenshot: {error.args[0]}") \
            from None
    with tempfile.TemporaryDirectory(prefix="kit-shot-") as tmp:
        patched = Path(tmp) / "disk.img"
        patched.write_bytes(bytes(image))
        result = emu.boot(guest.image, host_emulator(host), host=patched,
                          cpu=host.cpu)
    if not result.passed:
        raise ScreenshotError(f"{what}: no screenshot: {result.diagnosis}")
    try:
        vgatext.dump_to_png(result.host["serial"], png)
    except vgatext.VgaTextError as error:
        raise ScreenshotError(f"{what}: no screenshot: {error}") from None


def take_all(out: Path, log=print) -> list[Path]:
    """A screenshot of every lesson QEMU can run, into @out; and of each
    guest of a hypervisor lesson (hosted_shots()) whose emulator is here."""
    why = emu.have("qemu")
    if why:
        raise ScreenshotError(f"no screenshots: {why}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson in screenshot_lessons():
        png = out / f"lesson{lesson.number}.png"
        take(lesson, png)
        log(f"screenshots: {png}")
        written.append(png)
    for lesson in bochs_lessons():
        png = out / f"lesson{lesson.number}.png"
        why = emu.have("bochs")
        if why:
            log(f"screenshots: no {png.name}: {why}")
            continue
        take_bochs(lesson, png)
        log(f"screenshots: {png}")
        written.append(png)
    for host, guest, name in hosted_shots():
        why = cannot_host(host)
        if why:
            log(f"screenshots: no {name}: {why}")
            continue
        take_hosted(host, guest, out / name)
        log(f"screenshots: {out / name}")
        written.append(out / name)
    return written


def main(out: str) -> int:
    try:
        take_all(Path(out))
    except (ScreenshotError, ValueError) as e:
        print(f"screenshots: {e}", file=sys.stderr)
        return 1
    return 0
