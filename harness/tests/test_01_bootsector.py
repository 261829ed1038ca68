"""Lesson 01: the cellular automaton in one boot sector.

The reference is an independent Python model of Wolfram's elementary
automata. Each test that boots patches its own rule, first row or generation
count into a copy of the image, chosen afresh on every run (RNG) and named in
the test's failure message, so the sector cannot pass by printing a fixed
picture: only the parameters as built are fixed, and the test of those also
boots with parameters of the run's choosing.
"""
import json
import random
import struct
import zlib

import pytest

LESSON = "01"
CELLS = 80
RNG = random.Random()       # seeded by the OS: different on every run


def automaton(rule: int, row: str, generations: int) -> list[str]:
    """Rows 0..generations-1 of elementary automaton @rule on a ring."""
    cells = [c == "#" for c in row]
    rows = []
    for _ in range(generations):
        rows.append("".join("#" if c else "." for c in cells))
        cells = [bool(rule >> (cells[i - 1] << 2 | cells[i] << 1 |
                               cells[(i + 1) % CELLS]) & 1)
                 for i in range(CELLS)]
    return rows


def generations_printed(result) -> list[str]:
    """The automaton's rows: every line before the power-off line."""
    lines = result.lines()
    end = next(i for i, line in enumerate(lines) if "[kit] power off" in line)
    return [line for line in lines[:end] if line]


def random_row() -> str:
    """A first row of the run's choosing."""
    return "".join(RNG.choice("#.") for _ in range(CELLS))


def single_cell(column: int) -> str:
    return "." * column + "#" + "." * (CELLS - 1 - column)


@pytest.mark.points(1)
def test_sector_size_and_signature(lesson):
    """The image is exactly one 512-byte sector ending in 0x55 0xAA, and every
    patchable parameter lies inside its 510 bytes of code and data."""
    image = lesson.image.read_bytes()
    assert len(image) == 512
    assert image[510:] == b"\x55\xaa"
    params = json.loads(lesson.params_json.read_text())["params"]
    assert {p["name"] for p in params} == {"rule", "generations", "row"}
    for p in params:
        assert p["offset"] + p["size"] <= 510, p


@pytest.mark.points(2)
def test_defaults_are_rule_30_from_one_cell(lesson, boot):
    """With the parameters as built, the sector draws 24 generations of rule
    30 grown from one live cell at column 40; and with the rule byte as
    built, it computes rule 30 from a first row and for a number of
    generations that the harness chose (so a picture of the 24 default rows
    does not pass)."""
    params = {p["name"]: p for p in
              json.loads(lesson.params_json.read_text())["params"]}
    assert params["rule"]["default"] == 30
    assert params["generations"]["default"] == 24
    assert params["row"]["default"] == "." * 40 + "#" + "." * 39
    result = boot()
    assert result.passed, result.diagnosis
    assert generations_printed(result) == automaton(
        30, params["row"]["default"], 24)
    row, generations = random_row(), RNG.randrange(25, 41)
    result = boot(params={"row": row, "generations": generations})
    assert result.passed, result.diagnosis
    assert generations_printed(result) == automaton(30, row, generations), \
        f"the rule as built (30), first row {row}, {generations} generations"


# "single": one live cell, in a column the run chooses; "random": a first
# row the run chooses.
CASES = [
    (30, "single", 30),      # chaotic, more rows than the screen (scrolls)
    (90, "single", 32),      # Sierpinski triangle: XOR of the neighbours
    (110, "random", 25),     # Turing-complete; pattern depends on the row
    (184, "random", 20),     # traffic flow: cells move right
    (45, "random", 12),
    (150, "single", 40),     # wraps around the ring's edges
    (0, "random", 3),        # everything dies
    (255, "random", 3),      # everything lives
]


@pytest.mark.points(1)
@pytest.mark.parametrize("rule,start,generations", CASES,
                         ids=[f"rule{c[0]}-{c[1]}" for c in CASES])
def test_matches_python_model(boot, rule, start, generations):
    """Patched with another rule, first row and length, the sector's output
    equals the Python model line for line: the automaton really computes."""
    row = (single_cell(RNG.randrange(CELLS)) if start == "single"
           else random_row())
    result = boot(params={"rule": rule, "row": row,
                          "generations": generations})
    assert result.passed, result.diagnosis
    assert generations_printed(result) == automaton(rule, row, generations), \
        f"rule {rule}, first row {row}"


@pytest.mark.points(1)
def test_each_line_is_80_cells(boot):
    """Every generation is one line of exactly 80 characters of '#' and '.',
    as many as the generation count as built (24), and they are the rows of
    the rule and first row the harness patched in."""
    row = random_row()
    result = boot(params={"rule": 110, "row": row})
    rows = generations_printed(result)
    assert len(rows) == 24
    assert all(len(r) == CELLS and set(r) <= set("#.") for r in rows)
    assert rows == automaton(110, row, 24), f"rule 110, first row {row}"


# ------------------------------------------------------------- the screen
def read_ppm(data: bytes):
    """(width, height, rgb bytes) of a binary PPM (P6), as QEMU writes it."""
    fields, pos = [], 2
    assert data[:2] == b"P6"
    while len(fields) < 3:
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(int(data[start:pos]))
    width, height, _ = fields
    return width, height, data[pos + 1:]


@pytest.mark.points(2)
@pytest.mark.emulators("qemu")     # Bochs has no screendump command
def test_vga_screen_shows_the_generations(boot, tmp_path):
    """The VGA text screen, as QEMU itself renders it (screendump), shows each
    generation in its row: live cells bright, dead cells dark; and COM1
    shows the same generations."""
    row = random_row()
    shot = tmp_path / "screen.ppm"
    # Without isa-debug-exit the power-off falls through to ACPI, which
    # QEMU turns into a pause: the last screen stays for the screendump.
    result = boot(params={"rule": 110, "row": row, "generations": 20},
                  debug_exit=False, until=r"\[kit\] power off",
                  monitor_commands=[f"screendump {shot}"], share=tmp_path)
    assert result.outcome == "stopped", result.diagnosis
    width, height, rgb = read_ppm(shot.read_bytes())
    cell_w, cell_h = width // 80, height // 25
    expected = automaton(110, row, 20)
    for y, line in enumerate(expected):
        seen = ""
        for x in range(CELLS):
            px = ((y * cell_h + cell_h // 2) * width + x * cell_w +
                  cell_w // 2) * 3
            r, g, b = rgb[px:px + 3]
            seen += "#" if g > 128 else "."
        assert seen == line, f"screen row {y}; rule 110, first row {row}"
    assert generations_printed(result) == expected
