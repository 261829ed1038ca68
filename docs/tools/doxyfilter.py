#!/usr/bin/python3
"""Doxygen input filter: NASM sources, linker scripts and Makefiles as C.

Doxygen reads only C-like languages, but half of the kit's early lessons is
NASM. docs/Doxyfile maps *.asm, *.inc, *.ld, *.mk and Makefile to C and runs
this filter on them (FILTER_PATTERNS); doxygen parses what it prints. The
source browser still shows the original file (FILTER_SOURCE_FILES = NO), so
the output keeps every line where it was: line N of the output describes line
N of the source, and "Definition at line N" links land on the right line.

What becomes documentation, following the kit's comment conventions:
  * the file's leading comment block:  "; name.asm - what it does." and the
    paragraphs after it become @file, @brief and the file's description, and
    the file and what it defines join the group of the lesson folder it
    lives in (lessons/NN-*: lessonNN; common/: common), unless the header
    names a group itself;
  * a NASM routine: a label preceded by "; name - what it does." and its
    Entry/Returns/Clobbers lines becomes a documented function;
  * "NAME equ value ; comment" becomes a documented macro;
  * a global data label with an end-of-line comment ("param_rule: db 30 ;
    Wolfram rule number") becomes a documented variable.
Every other line is printed empty, and a last line closes the group.

Usage (as doxygen calls it): doxyfilter.py FILE
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Characters that mean something to doxygen or Markdown in a comment, and the
# escapes that make them plain text.
_ESCAPES = {"\\": "\\\\", "@": "\\@", "<": "\\<", ">": "\\>", "&": "\\&",
            "#": "\\#", "%": "\\%", "$": "\\$"}
_ESCAPE_RE = re.compile(r"[\\@<>&#%$]")


def escape(text: str) -> str:
    """@text as plain doxygen text (no commands, tags or comment ends)."""
    text = _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)
    # "'.' dead": a dot before a closing quote would end the brief there.
    text = re.sub(r"\.(?=['\"])", r"\\.", text)
    return text.replace("*/", "* /").replace("/*", "/ *")


def group_of(path: Path) -> str:
    """The doxygen group of a source file: its lesson, or common."""
    try:
        parts = path.resolve().relative_to(ROOT).parts
    except ValueError:
        parts = path.parts
    for i, part in enumerate(parts[:-1]):
        if part == "lessons" and i + 1 < len(parts) - 1:
            match = re.match(r"(\d\d)-", parts[i + 1])
            if match:
                return f"lesson{match.group(1)}"
    return "common"


def header_block(text_lines: list[str], start: int, end: int,
                 path: Path) -> list[str]:
    """Doc-comment lines for the header comment text_lines[start:end]
    (comment markers already removed), exactly end - start lines long."""
    lines = text_lines[start:end]
    first = lines[0].strip()
    # "name.asm - what it does." or "common/rules.mk - ...": the name goes
    first = re.sub(r"^[\w./-]*" + re.escape(path.name) + r"\s+-\s+", "",
                   first)
    explicit = [re.search(r"@ingroup\s+(\w+)", line) for line in lines]
    group = next((m.group(1) for m in explicit if m), None)
    # The path, not the bare name: every lesson has a Makefile.
    try:
        name = path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        name = path.name
    out = [f"/** @file {name} @brief {escape(first)}"]
    for line in lines[1:]:
        out.append(" * " + (line if group and "@ingroup" in line
                            else escape(line)))
    if not group:
        group = group_of(path)
        out[-1] += f" @ingroup {group}"
    # The routines and constants below join the module too; main() closes
    # the group after the last line.
    out[-1] += f" */ /** @addtogroup {group} */ /** @{{ */"
    return out


def comment_text(line: str, marker: str) -> str | None:
    """The text of a whole-line comment ("; text" -> "text"), else None."""
    stripped = line.strip()
    if not stripped.startswith(marker):
        return None
    text = stripped[len(marker):]
    return text[1:] if text.startswith(" ") else text


LABEL = re.compile(r"^([A-Za-z_][\w]*):")
EQU = re.compile(r"^([A-Za-z_]\w*)\s+equ\s+([^;]+?)\s*;\s*(.+)$", re.I)
DATA = re.compile(r"^([A-Za-z_]\w*):\s*(?:(d[bwdq])\b[^;]*)?;\s*(.+)$", re.I)
GLOBAL = re.compile(r"^\s+global\s+([\w]+)", re.I)
C_TYPES = {"db": "uint8_t", "dw": "uint16_t", "dd": "uint32_t",
           "dq": "uint64_t"}


def leading_header(texts: list, out: list[str], path: Path) -> int:
    """Turn the file's leading comment block into its @file header, in
    place in @out; return how many lines it spans."""
    n = 0
    while n < len(texts) and texts[n] is not None:
        n += 1
    if n:
        out[:n] = header_block(texts, 0, n, path)
    return n


def filter_nasm(source: list[str], path: Path) -> list[str]:
    out = [""] * len(source)
    texts = [comment_text(line, ";") for line in source]
    n = leading_header(texts, out, path)
    globals_ = {m.group(1) for m in map(GLOBAL.match, source) if m}
    for i in range(n, len(source)):
        line = source[i].rstrip()
        label = LABEL.match(line)
        if label:
            name = label.group(1)
            # The routine's comment ends right above it, maybe above a
            # "global name" line.
            j = i - 1
            if j >= 0 and GLOBAL.match(source[j]):
                j -= 1
            end = j + 1
            while j >= 0 and texts[j] is not None:
                j -= 1
            start = j + 1
            head = texts[start] if start < end else None
            if head is not None and re.match(
                    rf"{re.escape(name)}\s+-\s+", head):
                # The brief runs up to the Entry/Returns/Clobbers lines.
                block = [f"/** @brief {escape(head.split('-', 1)[1].strip())}"]
                details = False
                for text in texts[start + 1:end]:
                    if not details and re.match(r"(Entry|Returns|Clobbers):",
                                                text):
                        details = True
                        text = "@details " + escape(text)
                    else:
                        text = escape(text)
                    block.append(" * " + text)
                block[-1] += " */"
                out[start:end] = block
                out[i] = f"void {name}(void);"
                continue
        equ = EQU.match(line)
        if equ:
            name, value, doc = equ.groups()
            out[i] = f"#define {name} {value} /**< @brief {escape(doc)} */"
            continue
        data = DATA.match(line)
        if data and data.group(1) in globals_:
            name, directive, doc = data.groups()
            ctype = C_TYPES.get((directive or "").lower())
            decl = f"{ctype} {name};" if ctype else f"uint8_t {name}[];"
            out[i] = f"{decl} /**< @brief {escape(doc)} */"
    return out


def filter_hash(source: list[str], path: Path) -> list[str]:
    """Makefiles: only the leading '#' comment block is documentation."""
    out = [""] * len(source)
    texts = [comment_text(line, "#") for line in source]
    leading_header(texts, out, path)
    return out


def filter_c_comment(source: list[str], path: Path) -> list[str]:
    """Linker scripts: only the leading /* ... */ block is documentation."""
    out = [""] * len(source)
    if not source or not source[0].startswith("/*"):
        return out
    end = next((i for i, line in enumerate(source) if "*/" in line), None)
    if end is None or end < 2:
        return out
    # Lines 1..end-1 hold " * text"; line 0 is "/*", line end is " */".
    texts = [re.sub(r"^\s*\* ?", "", line.rstrip()) for line in source]
    block = header_block(texts, 1, end, path)
    out[0] = ""
    out[1:end] = block
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: doxyfilter.py FILE", file=sys.stderr)
        return 2
    path = Path(argv[1])
    source = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if path.suffix in (".asm", ".inc"):
        out = filter_nasm(source, path)
    elif path.suffix == ".ld":
        out = filter_c_comment(source, path)
    else:                                   # Makefile, *.mk
        out = filter_hash(source, path)
    if any("@addtogroup" in line for line in out):
        out.append("/** @} */")
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
