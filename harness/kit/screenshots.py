"""Screenshots of each lesson's VGA screen, for the book (`make screenshots`).

Each lesson that QEMU can run is booted the way `make run HOLD=1` boots it:
without QEMU's isa-debug-exit device, so that the kit's power-off falls
through to ACPI, which QEMU turns into a pause. The last screen then stays
on display, and QEMU's monitor dumps it (`screendump`, a binary PPM) once
COM1 shows the power-off line. The PPM becomes build/docs/screenshots/
lessonNN.png through a PNG writer of a few lines (zlib is all a PNG needs).

Lessons that need VMX run on Bochs only, which has no screendump: they get
no screenshot, and their page says so.
"""
from __future__ import annotations

import re
import struct
import sys
import tempfile
import zlib
from pathlib import Path

from . import emu, lessons

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
    """The lessons that have a screenshot: those QEMU can run."""
    return [l for l in lessons.all_lessons() if "qemu" in l.emulators]


def take(lesson: lessons.Lesson, png: Path) -> None:
    """Boot @lesson on QEMU and save its final screen as @png."""
    if not lesson.image.exists():
        raise ScreenshotError(f"{lesson.image} is missing: run make first")
    with tempfile.TemporaryDirectory(prefix="kit-shot-") as tmp:
        ppm = Path(tmp) / "screen.ppm"
        result = emu.boot(lesson.image, "qemu", cpu=lesson.cpu,
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


def take_all(out: Path, log=print) -> list[Path]:
    """A screenshot of every lesson QEMU can run, into @out."""
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
    return written


def main(out: str) -> int:
    try:
        take_all(Path(out))
    except (ScreenshotError, ValueError) as e:
        print(f"screenshots: {e}", file=sys.stderr)
        return 1
    return 0
