"""The screen of a hosted guest (kit/vgatext.py): the VGA font found in the
VGA BIOS, a text screen drawn the way mode 3 shows it, and the
hypervisor's screen dump read back from COM1. No emulator: the screens
are made here, and the pixels are checked against glyphs read from the
ROM by this file itself, and against the IBM font's "A" and "B" as
published, not as vgatext.py finds them.
"""
import os
import random
import struct
import zlib

import pytest

from kit import hosted, vgatext
from kit.emulators.base import decode

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
RNG = random.Random()           # seeded by the OS: other cells every run
# The IBM VGA 8x16 font's "B" and the smiley (0x01), top row first.
GLYPH_B = bytes.fromhex("0000fc6666667c66666666fc00000000")
GLYPH_SMILEY = bytes.fromhex("00007e81a58181bd9981817e00000000")
BLANK = bytes(vgatext.ROW_BYTES)


def need_rom() -> None:
    """The VGA BIOS is missing: a failure in CI, which installs it with
    Bochs, and a skip that names the package anywhere else."""
    if vgatext.VGABIOS.exists():
        return
    why = f"{vgatext.VGABIOS} is missing (Debian package vgabios)"
    if IN_CI:
        pytest.fail(f"CI must draw the hosted screenshots, but {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def font():
    """The 8x16 font as vgatext.py loads it."""
    need_rom()
    return vgatext.load_font()


@pytest.fixture(scope="module")
def rom_glyph():
    """rom_glyph(c): character @c's 16 bytes, found in the ROM from the
    published "B", independently of vgatext.find_font()."""
    need_rom()
    rom = vgatext.VGABIOS.read_bytes()
    assert rom.count(GLYPH_B) == 1, "the ROM's font has no IBM \"B\""
    base = rom.index(GLYPH_B) - 0x42 * 16
    return lambda c: rom[base + 16 * c:base + 16 * (c + 1)]


def screen(cells: dict) -> list[bytes]:
    """A blank screen (character 0, attribute 0) with @cells:
    {(row, column): (character, attribute)}."""
    rows = [bytearray(BLANK) for _ in range(vgatext.ROWS)]
    for (row, column), (char, attr) in cells.items():
        rows[row][2 * column:2 * column + 2] = bytes((char, attr))
    return [bytes(r) for r in rows]


def pixel(rgb: bytes, x: int, y: int) -> tuple:
    at = 3 * (y * vgatext.WIDTH + x)
    return tuple(rgb[at:at + 3])


def cell_pixels(rgb: bytes, row: int, column: int) -> list[list[tuple]]:
    """The 16 rows of 9 pixels of one cell."""
    x0, y0 = column * vgatext.CELL_WIDTH, row * vgatext.CELL_HEIGHT
    return [[pixel(rgb, x0 + x, y0 + y) for x in range(vgatext.CELL_WIDTH)]
            for y in range(vgatext.CELL_HEIGHT)]


def expected_cell(glyph: bytes, fg: tuple, bg: tuple,
                  ninth_repeats: bool) -> list[list[tuple]]:
    return [[fg if (bits >> (7 - x)) & 1 else bg for x in range(8)] +
            [fg if ninth_repeats and bits & 1 else bg]
            for bits in glyph]


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB) of a PNG as screenshots.png_bytes() writes
    them: 8-bit RGB, filter 0 on every row."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, header = 8, b"", None
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + size]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + size
    width, height = header[:2]
    raw = zlib.decompress(idat)
    stride = 3 * width + 1
    assert all(raw[y * stride] == 0 for y in range(height))
    return width, height, b"".join(raw[y * stride + 1:(y + 1) * stride]
                                   for y in range(height))


def transcript(rows: list[bytes], guest_part: str = "hello\n") -> str:
    """A hosted boot's whole COM1, as BootResult.host["serial"] holds it,
    with @rows dumped after the guest, as the hypervisor does."""
    return ("[hv] Lesson 07\n" + decode(hosted.START) + guest_part +
            decode(hosted.END) + "[hv] stop: guest powered off\n"
            "[hv] guest status: PASS\n[hv] exits: VMCALL=1 (total 1)\n"
            "[hv] time: 10 TSC ticks in the guest, 2 in the hypervisor\n" +
            vgatext.dump_lines(rows) + "\n[kit] power off: PASS\n")


# ------------------------------------------------------------ the font
def test_the_font_is_the_roms_ibm_font(font, rom_glyph):
    """The font vgatext.py found is the ROM's table of 256 glyphs: its "A"
    and "B" are the IBM font's as published, and every glyph is the one
    this test reads from the ROM itself."""
    assert len(font) == 256 * 16
    assert font[0x41 * 16:0x42 * 16] == vgatext.GLYPH_A
    assert font[0x42 * 16:0x43 * 16] == GLYPH_B
    assert font[0x01 * 16:0x02 * 16] == GLYPH_SMILEY
    assert all(font[c * 16:(c + 1) * 16] == rom_glyph(c) for c in range(256))


def test_a_missing_rom_names_the_package(tmp_path):
    """Without the VGA BIOS the error says which Debian package has it."""
    with pytest.raises(vgatext.VgaTextError, match=r"nothing\.bin is "
                       r"missing: it comes with the Debian package vgabios"):
        vgatext.load_font(tmp_path / "nothing.bin")


def test_a_rom_without_the_font_is_refused(tmp_path):
    """A ROM without the 8x16 font is refused, also when it holds an "A"
    at a place where no font table fits around it."""
    rom = tmp_path / "rom.bin"
    rom.write_bytes(bytes(100) + vgatext.GLYPH_A + bytes(100))
    with pytest.raises(vgatext.VgaTextError, match="no 8x16 VGA font"):
        vgatext.load_font(rom)


# ------------------------------------------------------------ drawing
def test_glyphs_are_drawn_in_their_attributes_colours(font, rom_glyph):
    """A glyph's pixels are its ROM bits: set bits in the foreground
    colour (the attribute's low nibble), clear ones in the background
    (bits 4-6, blink ignored), with a 9th column that repeats the 8th only
    for the line-drawing characters 0xC0-0xDF; the picture is 720 x 400."""
    yellow, blue = (0xFF, 0xFF, 0x55), (0x00, 0x00, 0xAA)
    white, red = (0xFF, 0xFF, 0xFF), (0xAA, 0x00, 0x00)
    black, grey = (0, 0, 0), (0xAA, 0xAA, 0xAA)
    row, column = RNG.randrange(25), RNG.randrange(1, 79)
    char = RNG.choice([c for c in range(0x21, 0x7F) if c != 0x42])
    cells = {(row, column): (char, 0x1E),           # yellow on blue
             (row, column - 1): (0x42, 0x9E),       # blink bit: still blue
             (row, column + 1): (0xC4, 0x4F),       # "─": white on red
             (24 - row, 79 - column): (0x01, 0x07)}  # smiley, grey on black
    rgb = vgatext.render(screen(cells), font)
    assert len(rgb) == 3 * 720 * 400
    assert cell_pixels(rgb, row, column) == expected_cell(
        rom_glyph(char), yellow, blue, False)
    assert cell_pixels(rgb, row, column - 1) == expected_cell(
        GLYPH_B, yellow, blue, False)
    line = cell_pixels(rgb, row, column + 1)
    assert line == expected_cell(rom_glyph(0xC4), white, red, True)
    assert white in [r[8] for r in line], "0xC4's line does not reach col 9"
    assert cell_pixels(rgb, 24 - row, 79 - column) == expected_cell(
        GLYPH_SMILEY, grey, black, False)
    empty = next((r, c) for r in range(25) for c in range(80)
                 if (r, c) not in cells)
    assert cell_pixels(rgb, *empty) == [[black] * 9] * 16


def test_a_screen_must_be_25_rows_of_160_bytes(font):
    """A screen of the wrong shape is refused, naming what is wrong."""
    rows = screen({})
    with pytest.raises(vgatext.VgaTextError, match="25 rows, not 24"):
        vgatext.render(rows[:24], font)
    rows[7] = rows[7][:-2]
    with pytest.raises(vgatext.VgaTextError, match="row 07 has 158 bytes"):
        vgatext.render(rows, font)


# ------------------------------------------------------------ the dump
def test_a_dump_round_trips_to_the_pixels(font, rom_glyph):
    """Random cells, dumped as the hypervisor prints them, parsed back
    from a whole transcript and drawn as a PNG, decode to exactly the
    pixels those cells' glyphs give."""
    rows = [bytes(RNG.randrange(256) for _ in range(160)) for _ in range(25)]
    text = transcript(rows)
    assert vgatext.parse_dump(text) == rows
    width, height, rgb = decode_png(vgatext.png(vgatext.parse_dump(text),
                                                font))
    assert (width, height) == (720, 400)
    assert rgb == vgatext.render(rows, font)
    for _ in range(20):
        row, column = RNG.randrange(25), RNG.randrange(80)
        char, attr = rows[row][2 * column], rows[row][2 * column + 1]
        assert cell_pixels(rgb, row, column) == expected_cell(
            rom_glyph(char), vgatext.PALETTE[attr & 15],
            vgatext.PALETTE[(attr >> 4) & 7], 0xC0 <= char <= 0xDF)


def test_a_dump_as_com1_bytes_parses():
    """COM1 as the machine wrote it, lines ended by "\\r\\n", as bytes or
    as text: the same rows."""
    rows = [bytes(RNG.randrange(256) for _ in range(160)) for _ in range(25)]
    raw = transcript(rows).replace("\n", "\r\n")
    assert vgatext.parse_dump(raw) == rows
    assert vgatext.parse_dump(raw.encode()) == rows


def dump_with(change) -> str:
    """A good transcript whose dump lines @change(lines) edited."""
    rows = [bytes(RNG.randrange(256) for _ in range(160)) for _ in range(25)]
    lines = transcript(rows).split("\n")
    first = next(i for i, l in enumerate(lines) if l.startswith("[hv] screen"))
    dump = lines[first:first + 25]
    change(dump)
    return "\n".join(lines[:first] + dump + lines[first + 25:])


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop(7), r"row 07 missing"),
    (lambda d: d.__delitem__(slice(3, 6)), r"rows 03, 04, 05 missing"),
    (lambda d: d.__setitem__(9, d[9][:-1]), r"row 09 has 319 hex digits"),
    (lambda d: d.__setitem__(9, d[9] + "00"), r"row 09 has 322 hex digits"),
    (lambda d: d.__setitem__(12, d[12][:30] + "g" + d[12][31:]),
     r"row 12 has 'g' at digit 14: not hex"),
    (lambda d: d.__setitem__(4, d[3]), r"row 03 twice.*row 04 missing"),
    (lambda d: d.append(d[0].replace("screen 00", "screen 25")),
     r"a line for row '25'"),
    (lambda d: d.__setitem__(0, d[0].replace("screen 00", "screen 0")),
     r"a line for row '0'.*row 00 missing"),
    (lambda d: d.clear(), r"no \"\[hv\] screen NN:\" line .*screen=1"),
], ids=["one-missing", "three-missing", "short", "long", "not-hex",
        "repeated", "row-25", "one-digit", "none"])
def test_a_bad_dump_is_refused_naming_the_row(change, message):
    """A dump with a row missing, cut short, too long, not hex, repeated
    or numbered wrong is an error that names the row, never a picture
    with a hole in it."""
    with pytest.raises(vgatext.VgaTextError, match=message):
        vgatext.parse_dump(dump_with(change))


def test_only_the_hypervisors_report_counts():
    """Screen lines the guest printed itself (before the end marker) are
    not the dump; a transcript without the markers has no dump at all."""
    rows = [bytes(RNG.randrange(256) for _ in range(160)) for _ in range(25)]
    forged = vgatext.dump_lines(screen({(0, 0): (0x41, 0x07)}))
    assert vgatext.parse_dump(transcript(rows, guest_part=forged)) == rows
    with pytest.raises(vgatext.VgaTextError, match="row 00 twice"):
        vgatext.parse_dump(transcript(rows) + forged)
    with pytest.raises(vgatext.VgaTextError, match="never started"):
        vgatext.parse_dump(vgatext.dump_lines(rows))
    with pytest.raises(vgatext.VgaTextError, match="did not stop"):
        vgatext.parse_dump(decode(hosted.START) + vgatext.dump_lines(rows))
