"""A VGA text screen drawn as a PNG, from the bytes of its text buffer.

Bochs cannot save a screenshot, so lesson 07's hypervisor reads the
guest's screen for the book itself: with its parameter `screen` set to 1,
its report after the guest ends with 25 lines, one per row of the text
buffer at 0xB8000, each 80 cells of a character byte and an attribute
byte in hex:

    [hv] screen 00: 4c074507...          320 hex digits: 160 bytes

parse_dump() reads them back from the whole transcript (only after the
hypervisor's end marker: a guest cannot forge them), and render() draws
them as the VGA hardware would in mode 3, with the card's own font:

  * each cell is 9 x 16 pixels, as mode 3 shows it (720 x 400, the size
    of QEMU's screenshots of the other lessons): the glyph of its character
    in the VGA BIOS's 8x16 font, then a 9th column that repeats the 8th for
    the line-drawing characters 0xC0-0xDF (so that their lines and blocks
    join) and is background for every other character;
  * the attribute's low nibble is the foreground colour, bits 4-6 the
    background, in the 16-colour palette of the CGA that the VGA keeps in
    text mode; bit 7 (blink, or bright background) is ignored;
  * there is no cursor: the dump does not say where it was.

The font comes from Debian's vgabios package, the VGA BIOS Bochs and QEMU
run (/usr/share/vgabios/vgabios.bin). It is found by its content, not an
offset: the 16 bytes of the IBM VGA font's "A" mark where the table of 256
glyphs is, and the glyphs that must be empty or full confirm it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Sequence, Union

from . import hosted, screenshots
from .emulators.base import decode

ROWS, COLS = 25, 80
GLYPH_WIDTH, CELL_WIDTH, CELL_HEIGHT = 8, 9, 16
WIDTH, HEIGHT = COLS * CELL_WIDTH, ROWS * CELL_HEIGHT   # 720 x 400
LINE_GRAPHICS = range(0xC0, 0xE0)   # their 9th column repeats the 8th
ROW_BYTES = 2 * COLS            # character, attribute; character, ...

VGABIOS = Path("/usr/share/vgabios/vgabios.bin")
FONT_SIZE = 256 * CELL_HEIGHT   # 256 glyphs, one byte per pixel row
# "A" in the IBM VGA 8x16 font, top row first, bit 7 the leftmost pixel.
GLYPH_A = bytes.fromhex("000010386cc6c6fec6c6c6c600000000")

# The CGA palette, by colour number: what an attribute's nibbles name.
PALETTE = (
    (0x00, 0x00, 0x00), (0x00, 0x00, 0xAA),     # black, blue
    (0x00, 0xAA, 0x00), (0x00, 0xAA, 0xAA),     # green, cyan
    (0xAA, 0x00, 0x00), (0xAA, 0x00, 0xAA),     # red, magenta
    (0xAA, 0x55, 0x00), (0xAA, 0xAA, 0xAA),     # brown, light grey
    (0x55, 0x55, 0x55), (0x55, 0x55, 0xFF),     # dark grey, light blue
    (0x55, 0xFF, 0x55), (0x55, 0xFF, 0xFF),     # light green, light cyan
    (0xFF, 0x55, 0x55), (0xFF, 0x55, 0xFF),     # light red, light magenta
    (0xFF, 0xFF, 0x55), (0xFF, 0xFF, 0xFF),     # yellow, white
)

DUMP_LINE = re.compile(r"^\[hv\] screen (\S*): ?(.*)$", re.M)


class VgaTextError(ValueError):
    """The font or the screen dump is not what it must be; says why."""


# ---------------------------------------------------------------- the font
def find_font(rom: bytes) -> bytes:
    """The 4096 bytes of the 8x16 font inside VGA BIOS image @rom: the
    table whose glyph 0x41 is GLYPH_A, glyphs 0x00 and 0x20 blank and
    0xDB (the full block) all ones."""
    at = rom.find(GLYPH_A)
    while at >= 0:
        base = at - 0x41 * CELL_HEIGHT
        font = rom[base:base + FONT_SIZE] if base >= 0 else b""

        def glyph(c: int) -> bytes:
            return font[c * CELL_HEIGHT:(c + 1) * CELL_HEIGHT]
        if len(font) == FONT_SIZE and not any(glyph(0) + glyph(0x20)) \
                and glyph(0xDB) == b"\xff" * CELL_HEIGHT:
            return font
        at = rom.find(GLYPH_A, at + 1)
    raise VgaTextError("no 8x16 VGA font in this ROM (no table whose "
                       "\"A\" is the IBM VGA font's)")


def load_font(rom: Path = VGABIOS) -> bytes:
    """The 8x16 font of the VGA BIOS at @rom (see find_font())."""
    try:
        data = Path(rom).read_bytes()
    except FileNotFoundError:
        raise VgaTextError(f"{rom} is missing: it comes with the Debian "
                           "package vgabios (apt-get install vgabios; "
                           "sudo make deps installs it)") from None
    try:
        return find_font(data)
    except VgaTextError as error:
        raise VgaTextError(f"{rom}: {error}") from None


# ---------------------------------------------------------------- drawing
def _check_rows(rows: Sequence[bytes]) -> None:
    if len(rows) != ROWS:
        raise VgaTextError(f"a text screen has {ROWS} rows, not {len(rows)}")
    for number, row in enumerate(rows):
        if len(row) != ROW_BYTES:
            raise VgaTextError(f"row {number:02d} has {len(row)} bytes, not "
                               f"{ROW_BYTES} (80 characters and attributes)")


def render(rows: Sequence[bytes], font: Optional[bytes] = None) -> bytes:
    """The RGB pixels (WIDTH x HEIGHT, 3 bytes each, top row first) of
    text screen @rows: 25 rows of 160 bytes, character then attribute for
    each of the 80 cells, as in VGA memory."""
    _check_rows(rows)
    font = load_font() if font is None else font
    if len(font) != FONT_SIZE:
        raise VgaTextError(f"an 8x16 font has {FONT_SIZE} bytes, not "
                           f"{len(font)}")
    spans: dict[tuple[int, int, int], bytes] = {}   # one cell row, coloured

    def span(bits: int, fg: int, bg: int) -> bytes:
        """9 pixels of @bits: bit 8 the leftmost, bit 0 the 9th column."""
        key = (bits, fg, bg)
        if key not in spans:
            on, off = bytes(PALETTE[fg]), bytes(PALETTE[bg])
            spans[key] = b"".join(on if bits & (0x100 >> x) else off
                                  for x in range(CELL_WIDTH))
        return spans[key]

    def cell_bits(char: int, y: int) -> int:
        glyph = font[char * CELL_HEIGHT + y]
        ninth = glyph & 1 if char in LINE_GRAPHICS else 0
        return glyph << 1 | ninth

    out = bytearray()
    for row in rows:
        cells = [(row[i], row[i + 1]) for i in range(0, ROW_BYTES, 2)]
        for y in range(CELL_HEIGHT):
            out += b"".join(span(cell_bits(char, y), attr & 0x0F,
                                 (attr >> 4) & 0x07)
                            for char, attr in cells)
    return bytes(out)


def png(rows: Sequence[bytes], font: Optional[bytes] = None) -> bytes:
    """Text screen @rows (see render()) as a PNG file's bytes."""
    return screenshots.png_bytes(WIDTH, HEIGHT, render(rows, font))


# ---------------------------------------------------------------- the dump
def dump_lines(rows: Sequence[bytes]) -> str:
    """@rows as the hypervisor prints them (the inverse of parse_dump())."""
    _check_rows(rows)
    return "".join(f"[hv] screen {n:02d}: {row.hex()}\n"
                   for n, row in enumerate(rows))


def parse_dump(transcript: Union[str, bytes]) -> list[bytes]:
    """The 25 rows of the hypervisor's screen dump in @transcript, a hosted
    boot's whole COM1: as text (BootResult.host["serial"]) or as the bytes
    it was (raw_serial of the machine). Only the hypervisor's report, after
    the last end marker, counts. A row missing, repeated, numbered out of
    range, or not 320 hex digits is an error that names it."""
    if isinstance(transcript, bytes):
        transcript = decode(transcript)
    _, guest, after = hosted.cut(transcript.replace("\r\n", "\n"))
    if guest is None:
        raise VgaTextError("no screen dump: the hypervisor never started "
                           "the guest (no \"[hv] ---- guest ----\" line)")
    if after is None:
        raise VgaTextError("no screen dump: the hypervisor did not stop "
                           "the guest (no \"[hv] ---- guest stopped ----\" "
                           "line)")
    rows: dict[int, bytes] = {}
    seen: set[int] = set()          # rows with a line, good or bad
    problems = []
    for label, digits in DUMP_LINE.findall(after):
        digits = digits.strip()
        if not re.fullmatch(r"\d\d", label) or int(label) >= ROWS:
            problems.append(f"a line for row {label!r}: rows are 00-"
                            f"{ROWS - 1}")
            continue
        number = int(label)
        if number in seen:
            problems.append(f"row {label} twice")
            continue
        seen.add(number)
        if len(digits) != 2 * ROW_BYTES:
            problems.append(f"row {label} has {len(digits)} hex digits, "
                            f"not {2 * ROW_BYTES}")
        elif not re.fullmatch(r"[0-9a-fA-F]*", digits):
            bad = re.search(r"[^0-9a-fA-F]", digits)
            problems.append(f"row {label} has {bad[0]!r} at digit "
                            f"{bad.start()}: not hex")
        else:
            rows[number] = bytes.fromhex(digits)
    missing = [f"{n:02d}" for n in range(ROWS) if n not in seen]
    if not seen and not problems:
        problems.append("no \"[hv] screen NN:\" line after the guest "
                        "stopped (was the hypervisor patched with screen=1?)")
    elif missing:
        problems.append(f"row{'s' * (len(missing) > 1)} "
                        f"{', '.join(missing)} missing")
    if problems:
        raise VgaTextError("bad screen dump: " + "; ".join(problems))
    return [rows[n] for n in range(ROWS)]


def dump_to_png(transcript: Union[str, bytes], out: Path,
                font: Optional[bytes] = None) -> None:
    """Draw the screen dump in @transcript (see parse_dump()) into @out."""
    out.write_bytes(png(parse_dump(transcript), font))
