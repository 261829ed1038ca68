"""Lesson 02: VESA VBE graphics, asked for by the parameters vbe_width,
vbe_height and vbe_bpp, set in real mode and drawn in from C.

References, none of them the guest's: a Python model of the picture (lesson
01's elementary automaton on a ring as wide as the screen, from a rule and a
first-row seed the test chose, drawn in the two colours the lesson
promises), compared pixel for pixel with QEMU's own rendering of the screen
(the monitor's `screendump`); QEMU's view of the mode it is showing (the
std VGA's Bochs-interface registers, read with the monitor's `xp` through
the MMIO BAR `info pci` names) and of where the framebuffer is (BAR0); the
mode numbers the VESA standard gave each size (VBE 2.0, which QEMU's and
Bochs' BIOSes follow); and on Bochs, which has no screendump and whose
debugger cannot read video memory, the mode Bochs logs it switched to.
"""
import json
import random
import re

import pytest

from kit.hosted import machine_of

LESSON = "02"
RNG = random.Random()       # seeded by the OS: different on every run

# The mode numbers VESA assigned up to VBE 1.2 (from VBE 2.0 on it assigns
# no more: a program must look modes up by size, as vbe.asm does); QEMU's
# and Bochs' BIOSes keep them: (width, height, bpp) -> number.
VESA_MODES = {
    (640, 400, 8): 0x100, (640, 480, 8): 0x101, (800, 600, 8): 0x103,
    (1024, 768, 8): 0x105, (1280, 1024, 8): 0x107,
    (320, 200, 15): 0x10D, (320, 200, 16): 0x10E, (320, 200, 24): 0x10F,
    (640, 480, 15): 0x110, (640, 480, 16): 0x111, (640, 480, 24): 0x112,
    (800, 600, 15): 0x113, (800, 600, 16): 0x114, (800, 600, 24): 0x115,
    (1024, 768, 15): 0x116, (1024, 768, 16): 0x117, (1024, 768, 24): 0x118,
}
# The sizes the tests ask QEMU for, by bpp (the larger ones cost seconds
# of TCG time to draw and of Python time to model).
SIZES = [(320, 200), (640, 400), (640, 480), (800, 600)]
# Three kinds of pixel: a DAC index, 5- or 6-bit fields, whole bytes. 32
# bits have no VESA number, but QEMU's BIOS (SeaBIOS) has every SIZES.
DEPTHS = {"8bpp": (8,), "15-16bpp": (15, 16), "24-32bpp": (24, 32)}
# The lesson's colours: dead cells blue, live cells green, full intensity.
DEAD, ALIVE = (0, 0, 255), (0, 255, 0)
# Bits of red, green and blue a pixel holds: the VGA DAC's 6 for 8 bpp,
# VBE's 5:5:5 and 5:6:5 direct-colour layouts, then whole bytes. QEMU
# widens them to 8 for the screendump in its own way (0x1f becomes 0xf8 at
# 15 bpp, 0xff at 16), so pictures are compared at the mode's own depth.
CHANNEL_BITS = {8: (6, 6, 6), 15: (5, 5, 5), 16: (5, 6, 5), 24: (8, 8, 8),
                32: (8, 8, 8)}
# QEMU's std VGA: the Bochs display interface (VBE_DISPI) registers, 16
# bits each, at offset 0x500 of its MMIO BAR (BAR2), in this order.
DISPI = ("id", "xres", "yres", "bpp", "enable", "bank", "virt_width",
         "virt_height", "x_offset", "y_offset")
DISPI_ENABLED, DISPI_LFB_ENABLED = 0x01, 0x40
# Bochs' VBE framebuffer (its VBE_DISPI_LFB_PHYSICAL_ADDRESS) and its log.
BOCHS_LFB = 0xE0000000
BOCHS_VBE_LOG = re.compile(r"VBE enabling x (\d+), y (\d+), bpp (\d+)")

MODE_LINE = re.compile(r"vbe: mode 0x([0-9a-f]+) (\d+)x(\d+)x(\d+) "
                       r"pitch=(\d+) lfb=0x([0-9a-f]{8}) model=(\d+)")
OFFER = re.compile(r"0x([0-9a-f]+) (\d+)x(\d+)x(\d+)")


def xorshift32(x: int) -> int:
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return x


def first_row(seed: int, width: int) -> list[int]:
    """The first generation as the README defines it: one live cell in the
    middle for seed 0, else 32 cells a word of xorshift32(seed), of that...,
    lowest bit first."""
    if seed == 0:
        return [int(i == width // 2) for i in range(width)]
    row, x = [], seed
    for i in range(width):
        if i % 32 == 0:
            x = xorshift32(x)
        row.append(x >> (i % 32) & 1)
    return row


def picture(rule: int, seed: int, width: int, height: int) -> bytes:
    """The screen the lesson should draw, as RGB bytes: one generation of
    elementary automaton @rule (on a ring of @width cells) per row."""
    cells, rows = first_row(seed, width), []
    colour = {0: bytes(DEAD), 1: bytes(ALIVE)}
    for _ in range(height):
        rows.append(b"".join(colour[c] for c in cells))
        cells = [rule >> (cells[i - 1] << 2 | cells[i] << 1 |
                          cells[(i + 1) % width]) & 1 for i in range(width)]
    return b"".join(rows)


def read_ppm(data: bytes):
    """(width, height, RGB bytes) of QEMU's binary PPM (P6, maxval 255)."""
    match = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    assert match, "the screendump is not a binary PPM"
    width, height = int(match[1]), int(match[2])
    return width, height, data[match.end():match.end() + 3 * width * height]


def at_depth(rgb: bytes, bpp: int) -> bytes:
    """@rgb with each 8-bit channel cut to the bits a @bpp pixel has."""
    planes = [rgb[c::3].translate(bytes(v >> (8 - bits) for v in range(256)))
              for c, bits in enumerate(CHANNEL_BITS[bpp])]
    out = bytearray(len(rgb))
    for c, plane in enumerate(planes):
        out[c::3] = plane
    return bytes(out)


def first_difference(seen: bytes, expected: bytes, width: int) -> str:
    """Where two pictures first differ, and how many pixels do."""
    diffs = [i for i in range(0, min(len(seen), len(expected)), 3)
             if seen[i:i + 3] != expected[i:i + 3]]
    if not diffs:
        return f"sizes differ: {len(seen)} and {len(expected)} bytes"
    i = diffs[0]
    return (f"{len(diffs)} pixels differ; the first at (x={i // 3 % width}, "
            f"y={i // 3 // width}): {tuple(seen[i:i + 3])}, expected "
            f"{tuple(expected[i:i + 3])}")


def vga_bars(info_pci: str) -> dict:
    """{bar number: address} of QEMU's VGA controller, from `info pci`."""
    device = info_pci[info_pci.index("VGA controller"):]
    device = device[:device.find("Bus ") if "Bus " in device else None]
    return {int(n): int(a, 16) for n, a in re.findall(
        r"BAR(\d): 32 bit (?:prefetchable )?memory at 0x([0-9a-f]+) ",
        device)}


def qemu_view(serial, command) -> dict:
    """Monitor commands for a parked guest: the VGA's BARs, its VBE_DISPI
    registers (through BAR2) and the screen as QEMU renders it."""
    out = {"info pci": command("info pci")}
    bars = vga_bars(out["info pci"])
    cmd = f"xp /{len(DISPI)}hx {bars[2] + 0x500:#x}"
    out["dispi"] = command(cmd)
    return out


def dispi_registers(xp: str) -> dict:
    values = [int(v, 16) for v in re.findall(r"0x([0-9a-f]{4})\b",
                                             xp.split(":", 1)[1])]
    return dict(zip(DISPI, values))


def mode_printed(result) -> dict:
    """The mode the lesson says it set (its `vbe: mode ...` line)."""
    match = MODE_LINE.search(result.serial)
    assert match, "no `vbe: mode ...` line:\n" + result.report()
    return {"number": int(match[1], 16), "width": int(match[2]),
            "height": int(match[3]), "bpp": int(match[4]),
            "pitch": int(match[5]), "lfb": int(match[6], 16),
            "model": int(match[7])}


@pytest.mark.points(1)
def test_graphics_is_off_by_default(boot, lesson, emulator):
    """As built the mode parameters are 0, the lesson says nothing about
    VBE, and the screen stays in VGA text mode: QEMU's VGA has its VBE
    interface off at the end, and Bochs never logs a VBE mode."""
    params = {p["name"]: p["default"] for p in
              json.loads(lesson.params_json.read_text())["params"]}
    assert (params["vbe_width"], params["vbe_height"],
            params["vbe_bpp"]) == (0, 0, 0)
    if machine_of(emulator) == "qemu":
        result = boot(params={"park": 1}, until=r"\[kit\] parked",
                      monitor_commands=qemu_view)
        assert result.outcome == "stopped", result.diagnosis
        dispi = dispi_registers(result.monitor["dispi"])
        assert not dispi["enable"] & DISPI_ENABLED, dispi
    else:
        result = boot(log=True)
        assert result.passed, result.diagnosis
        assert not BOCHS_VBE_LOG.search(result.log), result.log[-2000:]
    assert "vbe:" not in result.serial


@pytest.mark.points(3)
@pytest.mark.emulators("qemu")     # Bochs has no screendump command
@pytest.mark.parametrize("depths", DEPTHS)
def test_screen_is_the_automaton(boot, tmp_path, depths):
    """With a mode, a rule and a first-row seed of the run's choosing, the
    screen QEMU shows is, pixel for pixel, the automaton the Python model
    draws; QEMU's VGA is in the mode asked for, with its framebuffer where
    the lesson says (BAR0) and the pitch it says; the mode number is
    VESA's for that size."""
    bpp = RNG.choice(DEPTHS[depths])
    width, height = RNG.choice([s for s in SIZES if bpp == 32 or
                                s + (bpp,) in VESA_MODES])
    rule, seed = RNG.randrange(256), RNG.choice([0, RNG.getrandbits(32)])
    shot = tmp_path / "screen.ppm"

    def inspect(serial, command):
        out = qemu_view(serial, command)
        out["screendump"] = command(f"screendump {shot}")
        return out

    asked = f"{width}x{height}x{bpp}, rule {rule}, seed {seed:#x}"
    result = boot(params={"vbe_width": width, "vbe_height": height,
                          "vbe_bpp": bpp, "vbe_rule": rule,
                          "vbe_seed": seed, "park": 1},
                  until=r"\[kit\] parked", monitor_commands=inspect,
                  share=tmp_path, timeout=60)
    assert result.outcome == "stopped", f"{asked}: {result.diagnosis}"
    mode = mode_printed(result)
    assert (mode["width"], mode["height"], mode["bpp"]) == \
        (width, height, bpp), asked
    if (width, height, bpp) in VESA_MODES:
        assert mode["number"] == VESA_MODES[width, height, bpp], asked
    dispi = dispi_registers(result.monitor["dispi"])
    assert (dispi["xres"], dispi["yres"], dispi["bpp"]) == \
        (width, height, bpp), f"{asked}: QEMU's VGA shows {dispi}"
    assert dispi["enable"] & (DISPI_ENABLED | DISPI_LFB_ENABLED) == \
        DISPI_ENABLED | DISPI_LFB_ENABLED, dispi
    assert mode["lfb"] == vga_bars(result.monitor["info pci"])[0], asked
    assert mode["pitch"] == dispi["virt_width"] * ((bpp + 7) // 8), asked
    seen_w, seen_h, rgb = read_ppm(shot.read_bytes())
    assert (seen_w, seen_h) == (width, height), asked
    seen = at_depth(rgb, bpp)
    expected = at_depth(picture(rule, seed, width, height), bpp)
    assert seen == expected, f"{asked}: " + \
        first_difference(seen, expected, width)


@pytest.mark.points(2)
@pytest.mark.parametrize("request_kind", ["no-such-size", "half-asked",
                                          "odd-bpp"])
def test_a_mode_that_cannot_be_had_is_refused(boot, lesson, request_kind):
    """A size no BIOS mode has, a width without a height, or a bpp that is
    no VBE depth: one line says what was asked and why not, the power-off
    status is POWER_FAIL_PARAM, and for a size the BIOS lacks, the modes
    it offers are listed: VESA's 640x480x8 (0x101) among them, and every
    number VESA assigned with the size VESA gave it."""
    width = RNG.randrange(100, 2000) | 1    # odd: no BIOS mode is that wide
    height = RNG.randrange(100, 1500)
    params = {"no-such-size": (width, height, RNG.choice([8, 16, 32])),
              "half-asked": (RNG.choice([0, 640]), 0, 8),
              "odd-bpp": (640, 480, RNG.choice([1, 7, 12, 31, 64]))}
    w, h, bpp = params[request_kind]
    if request_kind == "half-asked" and w == 0:
        h = 480                                 # a height without a width
    result = boot(params={"vbe_width": w, "vbe_height": h, "vbe_bpp": bpp})
    assert result.status == lesson.constants["POWER_FAIL_PARAM"], \
        result.diagnosis
    errors = [line for line in result.lines()
              if line.startswith("vbe: ") and f"{w}x{h}x{bpp}" in line]
    assert len(errors) == 1, result.report()
    assert "mode 0x" not in result.serial      # nothing was set
    if request_kind == "no-such-size":
        offered = {(int(n, 16), int(a), int(b), int(c)) for line in
                   result.lines() if line.startswith("vbe: offers ")
                   for n, a, b, c in OFFER.findall(line)}
        assert (0x101, 640, 480, 8) in offered, result.report()
        vesa_size = {number: size for size, number in VESA_MODES.items()}
        for number, *size in offered:
            assert vesa_size.get(number, tuple(size)) == tuple(size), \
                f"mode {number:#x} is {size}, VESA's is {vesa_size[number]}"


@pytest.mark.points(2)
@pytest.mark.emulators("bochs")
def test_bochs_switches_to_the_mode_asked(boot, emulator):
    """On Bochs, an 8-bit mode of the run's choosing is set: Bochs logs
    that its VGA now shows that size and depth, the lesson reports the
    same with VESA's number for it and Bochs' framebuffer address, and it
    draws to the end. (Bochs has no screendump, and its debugger cannot
    read video memory: the pixels are checked on QEMU.)"""
    # Up to 640x480: at 800x600 and more, the terminal display the kit runs
    # Bochs 2.7 with crashes (SIGSEGV) once the screen is drawn in.
    width, height = RNG.choice([(640, 400), (640, 480)])
    result = boot(params={"vbe_width": width, "vbe_height": height,
                          "vbe_bpp": 8}, log=True, timeout=120)
    assert result.passed, result.diagnosis
    mode = mode_printed(result)
    assert (mode["number"], mode["width"], mode["height"], mode["bpp"],
            mode["lfb"], mode["pitch"]) == \
        (VESA_MODES[width, height, 8], width, height, 8, BOCHS_LFB, width)
    logged = BOCHS_VBE_LOG.findall(result.log)
    assert logged and tuple(map(int, logged[-1])) == (width, height, 8), \
        f"Bochs logged {logged}, asked {width}x{height}x8"
