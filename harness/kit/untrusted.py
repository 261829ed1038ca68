"""Showing text a student controls without letting it act on the reader.

What a guest prints on COM1, what the compiler says about a student's
file, and the student's file names all reach the grading report, the
terminal that runs `make grade`, results.json and the transcripts. Any of
them could hold escape sequences (clear the screen, move the cursor up and
print a forged "Score: 25/25"), a carriage return that overwrites a line,
Unicode that reorders what is shown (bidirectional overrides), or bytes
that are not UTF-8 at all. Everything such text passes through one of:

    shown(text)      for a report line: every control character (but the
                     newline and tab) and every bidirectional control is
                     written as a visible escape, \\x1b or \\u202e
    lossless(raw)    for a file of raw bytes (a transcript, a log): the
                     same, and also every byte that is not UTF-8 as \\xNN
                     and the backslash itself as \\\\, so that the original
                     bytes can always be told back from the text
    name(path)       a file name (bytes on Linux) as lossless() writes it
    xml(text)        for XML (junit.xml): the same characters as XML
                     character references (&#13;), which an XML reader
                     turns back into what they were
"""
from __future__ import annotations

import os
import re

# C0 controls but \t and \n, DEL, C1 controls; bidirectional embeddings,
# overrides and isolates; the line and paragraph separators.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e"
                      "\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """@text with every character that could act on a terminal or reorder
    what it shows written as a visible escape."""
    return _CONTROL.sub(_escape, text)


def lossless(raw: bytes) -> str:
    """@raw as text: UTF-8 where it is UTF-8, every other byte as \\xNN, a
    backslash as \\\\, controls as shown() writes them; "\\r\\n" stays."""
    def escape(match: re.Match) -> str:
        code = ord(match.group())
        if 0xDC80 <= code <= 0xDCFF:            # a byte that was not UTF-8
            return f"\\x{code - 0xDC00:02x}"
        return _escape(match)
    text = raw.decode("utf-8", "surrogateescape").replace("\\", "\\\\")
    return "\r\n".join(_CONTROL.sub(escape, part)
                       for part in text.split("\r\n"))


def xml(text: str) -> str:
    """@text (XML) with every character shown() escapes written as a
    character reference: the document means the same, and nothing in it
    acts on a terminal that shows it."""
    return _CONTROL.sub(lambda m: f"&#{ord(m.group()):d};", text)


def name(path) -> str:
    """A file name, shown losslessly on one line (Linux names are bytes,
    not text, and may hold a newline)."""
    text = lossless(os.fsencode(path))
    return text.replace("\r\n", "\\x0d\\x0a").replace(
        "\n", "\\x0a").replace("\t", "\\x09")
