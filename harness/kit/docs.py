"""Build the kit's book with doxygen (`make docs`).

    python3 -m kit docs [--out build/docs] [--no-screenshots]

1. Screenshots: each lesson QEMU can run is booted and its last screen saved
   as OUT/screenshots/lessonNN.png (screenshots.py), when QEMU is installed;
   and each guest of a hypervisor lesson, booted under it (lesson 07: on
   Bochs), as lessonNN-guestMM.png (the page shows one: SHOWN_GUEST).
2. Pages, into OUT/pages/: one page per lesson, labelled lessonNN_page (its
   code's module is lessonNN). A lesson with a README gets its README, with
   the label added to its title, its screenshot at the end of "Expected
   output", and the book's additions (docs/lessons/lessonNN.md: diagrams,
   theory, the manual) before its exercises. A lesson without a README yet
   gets docs/coming/lessonNN.md instead, so a new README replaces its
   "coming" page by itself. The main page (docs/mainpage.md) gets each
   lesson's status filled in; the other pages (docs/theory/*.md, docs/*.md)
   are copied. Pages are written in the Markdown GitHub shows, adjusted
   here for doxygen's (for_doxygen()).
3. doxygen, from the top folder, with docs/Doxyfile and OUT as output
   folder; the book fails on any warning but those significant() forgives.
4. Links: every `code span` of a page that names a documented symbol
   (`serial_init16`, `kmain()`) becomes a link to its documentation, found
   in the tag file doxygen wrote (doxygen links file names itself). So
   READMEs stay plain Markdown that reads well on its own.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from . import emu, lessons, screenshots

ROOT = lessons.ROOT
DOCS = ROOT / "docs"
DOXYFILE = DOCS / "Doxyfile"
COMING = DOCS / "coming"        # lessonNN.md: a lesson's page until it exists
EXTRAS = DOCS / "lessons"       # lessonNN.md: what the book adds to a README
THEORY = DOCS / "theory"
DEFAULT_OUT = ROOT / "build" / "docs"


class DocsError(RuntimeError):
    """The book cannot be built; the message says why, in one line."""


# ------------------------------------------------------------------ pages
def readmes() -> dict[str, Path]:
    """{"01": lessons/01-bootsector/README.md, ...} for every lesson that has
    its README."""
    return {d.name[:2]: d / "README.md"
            for d in sorted((ROOT / "lessons").glob("[0-9][0-9]-*"))
            if (d / "README.md").is_file()}


def slots() -> list[str]:
    """Every lesson number of the course: written ones and coming ones."""
    coming = {p.stem[len("lesson"):] for p in COMING.glob("lesson[0-9][0-9].md")}
    return sorted(coming | set(readmes()))


def page_label(path: Path) -> str | None:
    """The {#label} of a Markdown page's title line, if it has one."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            match = re.search(r"\{#([\w-]+)\}\s*$", line)
            return match.group(1) if match else None
    return None


def _outside_code(lines: list[str]):
    """(index, line) of each line that is not inside a ``` fenced block."""
    fenced = False
    for i, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield i, line


LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")


def for_doxygen(text: str) -> str:
    """GitHub-flavoured Markdown @text as doxygen reads it the same way:
    **bold** as <b>bold</b> (doxygen's Markdown does not take
    `**(graded)**` for bold), and code spans that hold a quote doubled."""
    lines = text.split("\n")
    for i, line in _outside_code(lines):
        spans = re.findall(r"`[^`]*`", line)
        line = re.sub(r"`[^`]*`", "\0", line)     # code spans stay verbatim
        line = BOLD.sub(r"<b>\1</b>", line)
        for span in spans:
            # `mov al, '.'`: doxygen reads a backquote closed by a quote
            # as typographic quotes; a double-backquote span is safe.
            if "'" in span:
                span = f"`{span}`"
            line = line.replace("\0", span, 1)
        lines[i] = line
    return "\n".join(lines)


def rewrite_links(text: str, source: Path, images: Path, number: str) -> str:
    """Relative Markdown links of a README, made to work from its page:
    another lesson's README -> that lesson's page, a page of the book
    (docs/*.md, docs/theory/*.md) -> that page, any other file -> its path as
    code (linked to its source listing later), an image -> copied next to
    the pages. A link to a missing file is an error."""
    lesson_of = {path.resolve(): n for n, path in readmes().items()}

    def fix(match: re.Match) -> str:
        bang, label, target = match.groups()
        if re.match(r"[a-z]+:|#|@", target):    # URL, anchor, doxygen ref
            return match.group(0)
        path, _, _ = target.partition("#")
        resolved = (source.parent / path).resolve()
        if not resolved.exists():
            raise DocsError(f"{source.relative_to(ROOT)}: the link to "
                            f"{target} points to no file")
        if bang:
            name = f"lesson{number}-{resolved.name}"
            shutil.copyfile(resolved, images / name)
            return f"![{label}]({name})"
        if resolved in lesson_of:
            return f"[{label}](@ref lesson{lesson_of[resolved]}_page)"
        if resolved.suffix == ".md" and resolved.parent in (DOCS, THEORY) \
                and page_label(resolved):
            return f"[{label}](@ref {page_label(resolved)})"
        rel = resolved.relative_to(ROOT).as_posix()
        if label.strip("`") in (rel, resolved.name):
            return f"`{rel}`"
        return f"{label} (`{rel}`)"

    lines = text.split("\n")
    for i, line in _outside_code(lines):
        # Leave `code spans` alone: split them off, fix the rest.
        parts = re.split(r"(`[^`]*`)", line)
        lines[i] = "".join(p if p.startswith("`") else LINK.sub(fix, p)
                           for p in parts)
    return "\n".join(lines)


def _section_end(lines: list[str], heading: re.Pattern) -> int | None:
    """Index of the line after the section whose '## ' heading matches
    @heading (the next '## ' heading, or the end), or None."""
    start = None
    for i, line in _outside_code(lines):
        if start is not None and re.match(r"##?\s", line):
            return i
        if start is None and line.startswith("## ") and heading.match(line[3:]):
            start = i
    return None if start is None else len(lines)


def _heading_index(lines: list[str], heading: re.Pattern) -> int | None:
    for i, line in _outside_code(lines):
        if line.startswith("## ") and heading.match(line[3:]):
            return i
    return None


def screen_section(number: str, shots: Path) -> str:
    """Markdown showing lesson @number's screenshot, or saying why not."""
    lesson = next((l for l in lessons.all_lessons() if l.number == number),
                  None)
    if lesson is None:
        return ""
    png = shots / f"lesson{number}.png"
    head = "### The screen at the end\n\n"
    if lesson.guests:
        return head + hosted_screen(lesson, shots)
    if "qemu" not in lesson.emulators:
        if not png.exists():
            return (head + "No screenshot here: Bochs was not installed "
                    "when this book was built. `make screenshots` takes "
                    f"one, and `make run LESSON={number}` shows the "
                    "screen.\n")
        return (head + f"Lesson {number} needs VMX, which QEMU's TCG does "
                "not emulate, so it runs on Bochs, which has no screen "
                "dump: the harness parks the lesson at its end (its "
                "parameter `park`), reads the VGA text buffer at 0xB8000 "
                "with Bochs' debugger and draws it with the VGA BIOS's own "
                "font (`harness/kit/vgatext.py`):\n\n"
                f"![The screen of lesson {number} at its end, on Bochs]"
                f"(lesson{number}.png)\n")
    if not png.exists():
        return (head + "No screenshot here: QEMU was not installed when "
                "this book was built. `make screenshots` takes one, and "
                f"`make run LESSON={number} HOLD=1` shows the screen.\n")
    return (head + f"The VGA screen when the lesson has powered off, as "
            f"QEMU shows it (`make run LESSON={number} HOLD=1`; the "
            "book's copy comes from `make screenshots`):\n\n"
            f"![Lesson {number}: the last screen, from QEMU]"
            f"(lesson{number}.png)\n")


# The guest whose screen a hypervisor lesson's page shows, when it hosts
# it: lesson 03, a 64-bit kernel booted unmodified, whose last screen
# still shows the E820 map with the hypervisor's 2 MiB cut out.
SHOWN_GUEST = "03"


def hosted_screen(lesson: lessons.Lesson, shots: Path) -> str:
    """Markdown showing a guest's screen under hypervisor @lesson, from
    the screenshots screenshots.take_hosted() drew, or saying why not."""
    guest = SHOWN_GUEST if SHOWN_GUEST in lesson.guests else lesson.guests[0]
    name = screenshots.hosted_png(lesson.number, guest)
    run = f"`make run LESSON={lesson.number} GUEST={guest}`"
    emulator = screenshots.host_emulator(lesson)
    where = {"bochs": "Bochs", "qemu": "QEMU"}.get(emulator, emulator)
    if not (shots / name).exists():
        return (f"No screenshot here: `make screenshots` takes it on {where}, "
                "and did not when this book was built (it also needs QEMU "
                f"for the other lessons). {run} shows the screen.\n")
    return (f"Lesson {guest}'s VGA screen when it has powered off, booted "
            f"as this lesson's guest on {where}. The hypervisor dumps the "
            "guest's text buffer on COM1 after the guest stops (its "
            "parameter `screen`; Bochs cannot save a screenshot), and "
            "`harness/kit/vgatext.py` draws it with the VGA BIOS's own "
            f"font ({run} shows it live; the book's copy comes from `make "
            "screenshots`, which takes one of every guest):\n\n"
            f"![Lesson {guest}'s last screen, under lesson "
            f"{lesson.number}'s hypervisor on {where}]({name})\n")


def lesson_page(number: str, shots: Path, pages: Path) -> str:
    """The Markdown of lesson @number's page, labelled lesson@number_page
    (lesson@number is the lesson's module); images go to @pages."""
    return for_doxygen(_lesson_page(number, shots, pages))


def _lesson_page(number: str, shots: Path, pages: Path) -> str:
    extras = EXTRAS / f"lesson{number}.md"
    extra = extras.read_text(encoding="utf-8").strip() + "\n" \
        if extras.exists() else ""
    screen = screen_section(number, shots)
    readme = readmes().get(number)
    if readme is None:                  # the lesson's "coming" page
        lines = (COMING / f"lesson{number}.md").read_text(
            encoding="utf-8").rstrip().split("\n")
    else:
        lines = rewrite_links(readme.read_text(encoding="utf-8"), readme,
                              pages, number).split("\n")
        rel = readme.relative_to(ROOT)
        if not lines[0].startswith("# "):
            raise DocsError(f"{rel}: the first line must be the lesson's "
                            "title, a '# ' heading")
        title = re.sub(r"\s*\{#[\w-]+\}\s*$", "", lines[0])
        lines[0] = f"{title} {{#lesson{number}_page}}"
        lines[1:1] = ["", f"*This page is `{rel}`, with the book's pictures "
                      "and links added.*", "", "[TOC]"]
    # The screenshot closes "Expected output"; the book's additions go
    # before the exercises, which stay at the end with the references.
    exercises = _heading_index(lines, re.compile(r"exercises\b", re.I))
    if exercises is None:
        exercises = _heading_index(lines, re.compile(r"references", re.I))
    if exercises is None:
        exercises = len(lines)
    output_end = _section_end(lines, re.compile(r"expected output", re.I))
    if output_end is None or output_end > exercises:
        output_end = exercises
    # Insert the later one first, so that the other index stays right; at
    # the same place the screen comes first.
    lines[exercises:exercises] = [extra] if extra else []
    lines[output_end:output_end] = [screen] if screen else []
    return "\n".join(lines).rstrip() + "\n"


def book_pages() -> list[Path]:
    """The book's other pages: docs/theory/*.md, and docs/*.md but the main
    page and docs/README.md (debugging.md, ...). Each needs a {#label}."""
    pages = sorted(THEORY.glob("*.md")) + sorted(
        p for p in DOCS.glob("*.md") if p.name not in ("README.md",
                                                       "mainpage.md"))
    for page in pages:
        if not page_label(page):
            raise DocsError(f"{page.relative_to(ROOT)}: its first '# ' line "
                            "needs a page label, e.g. '# Title {#my_page}'")
    return pages


def main_page() -> str:
    """docs/mainpage.md with {{status NN}} filled in (ready or coming), and
    a list of the book's pages that it does not name itself."""
    written = readmes()

    def status(match: re.Match) -> str:
        return "ready" if match.group(1) in written else "coming"

    text = (DOCS / "mainpage.md").read_text(encoding="utf-8")
    text = re.sub(r"\{\{status (\d\d)\}\}", status, text)
    others = [page_label(p) for p in book_pages()
              if not re.search(rf"@(sub)?page {page_label(p)}\b", text)]
    if others:
        text = text.rstrip() + "\n\n## More pages {#more_pages}\n\n" + \
            "".join(f"- @subpage {label}\n" for label in others)
    return for_doxygen(text)


def lesson_groups() -> str:
    """The book's module of each lesson folder (docs/groups.dox has the one
    of common/): titled as its README is, its brief the README's first
    sentence, so that a new lesson needs no line outside its folder."""
    out = ["/* Generated by harness/kit/docs.py from each lesson's README.md. */"]
    for lesson in lessons.all_lessons():
        title = re.sub(r"\s*\{#[\w-]+\}\s*$", "", lesson.title)
        brief = f"The lesson in lessons/{lesson.name}/."
        if (lesson.source / "README.md").is_file():
            text = (lesson.source / "README.md").read_text(encoding="utf-8")
            paragraphs = [p for p in text.split("\n\n")[1:]
                          if p.strip() and not p.lstrip().startswith(
                              ("#", "`", "|", "-", "!"))]
            if paragraphs:
                words = " ".join(paragraphs[0].split())
                brief = re.split(r"(?<=[.!?])\s", words, 1)[0]
                brief = re.sub(r"[*`]", "", brief)
        out.append(f"/**\n * @defgroup lesson{lesson.number} {title}\n"
                   f" * @brief {brief} The chapter: "
                   f"@ref lesson{lesson.number}_page.\n */")
    return "\n\n".join(out) + "\n"


def write_pages(pages: Path, shots: Path) -> list[Path]:
    """Write the main page, the theory pages, every lesson's page and the
    lessons' modules (lesson_groups.dox) into @pages, each as doxygen
    should read it."""
    if pages.exists():
        shutil.rmtree(pages)
    pages.mkdir(parents=True)
    written = [pages / "mainpage.md", pages / "lesson_groups.dox"]
    written[0].write_text(main_page(), encoding="utf-8")
    written[1].write_text(lesson_groups(), encoding="utf-8")
    for page in book_pages():
        path = pages / f"{page.parent.name}_{page.name}"
        path.write_text(for_doxygen(page.read_text(encoding="utf-8")),
                        encoding="utf-8")
        written.append(path)
    for number in slots():
        path = pages / f"lesson{number}.md"
        path.write_text(lesson_page(number, shots, pages), encoding="utf-8")
        written.append(path)
    return written


# ------------------------------------------------------------------ doxygen
def _config_list(text: str, key: str) -> list[str]:
    """The values of list option @key in a Doxyfile (continuations joined)."""
    joined = re.sub(r"\\\n", " ", text)
    match = re.search(rf"^{key}\s*=(.*)$", joined, re.M)
    return match.group(1).split() if match else []


def doxygen_config(out: Path) -> str:
    """docs/Doxyfile, redirected to @out (its pages, screenshots, output)."""
    text = DOXYFILE.read_text(encoding="utf-8")
    default = "build/docs"
    inputs = [str(out / v[len(default) + 1:]) if v.startswith(default + "/")
              else v for v in _config_list(text, "INPUT")]
    images = [str(out / v[len(default) + 1:]) if v.startswith(default + "/")
              else v for v in _config_list(text, "IMAGE_PATH")]
    images.append(str(out / "pages"))
    quote = lambda values: " ".join(f'"{v}"' for v in values)  # noqa: E731
    return text + f"""
# ---- set by harness/kit/docs.py for this build ----
OUTPUT_DIRECTORY = "{out}"
WARN_LOGFILE     = "{out / 'warnings.log'}"
GENERATE_TAGFILE = "{out / 'kit.tag'}"
INPUT            = {quote(inputs)}
IMAGE_PATH       = {quote(images)}
"""


# x86 exceptions ("#GP", "#PF", "#VMEXIT"): doxygen takes "#name" for a
# link to a member, warns that there is none, and prints the text as it is.
EXCEPTIONS = {"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "TS",
              "NP", "SS", "GP", "PF", "MF", "AC", "MC", "XM", "XF", "VE",
              "CP", "HV", "VC", "SX", "VMEXIT"}
EXCEPTION_LINK = re.compile(
    r"warning: explicit link request to '(\w+)' could not be resolved$")
UNDOCUMENTED = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+): warning: Member \w+.* \((?P<kind>\w+)\)"
    r" of (?P<scope>file|group|struct|union) \S+ is not documented\.$")


def _is_static(path: str, line: int) -> bool:
    """Does the declaration at @path:@line (or the line above, for a
    `static int` on a line of its own) start with `static`?"""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return False
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    above = lines[line - 2] if 1 < line <= len(lines) else ""
    return bool(re.match(r"\s*static\b", here) or
                re.match(r"\s*static\b[^;{}()]*$", above))


def significant(warnings: list[str]) -> list[str]:
    """The warnings that fail the book. Doxygen is told to report every
    undocumented member, so that all of them appear in the book; the kit's
    rule (docs/README.md) asks for documentation of every non-static
    function and variable, every type, macro and enum member, but not of a
    .c file's static helpers nor of each field of a structure. And "#GP"
    is an exception's name, not a broken link."""
    kept = []
    for warning in warnings:
        link = EXCEPTION_LINK.search(warning)
        if link and link.group(1) in EXCEPTIONS:
            continue
        match = UNDOCUMENTED.match(warning)
        if match and match.group("scope") in ("struct", "union"):
            continue
        if match and match.group("kind") in ("function", "variable") and \
                match.group("path").endswith(".c") and \
                _is_static(match.group("path"), int(match.group("line"))):
            continue
        kept.append(warning)
    return kept


def run_doxygen(out: Path) -> list[str]:
    """Run doxygen into @out/html; returns the warnings that fail the book
    (none: success)."""
    for tool, package in (("doxygen", "doxygen"), ("dot", "graphviz")):
        if not shutil.which(tool):
            raise DocsError(f"{tool} is not installed (Debian package "
                            f"{package}; sudo make deps installs it)")
    log = out / "warnings.log"
    log.unlink(missing_ok=True)
    if (out / "html").exists():
        shutil.rmtree(out / "html")     # no page survives from an old build
    proc = subprocess.run(["doxygen", "-"], input=doxygen_config(out),
                          text=True, cwd=ROOT, capture_output=True)
    warnings = log.read_text().splitlines() if log.exists() else []
    warnings += [line for line in proc.stderr.splitlines() if line.strip()]
    if proc.returncode != 0 and not warnings:
        warnings.append(f"doxygen exited with status {proc.returncode}")
    warnings = significant(warnings)
    # doxygen may say the same thing twice (for the file and for the group).
    return list(dict.fromkeys(w.replace(str(ROOT) + "/", "")
                              for w in warnings))


# ------------------------------------------------------------------ links
class Symbols:
    """What doxygen documented, from its tag file: files and symbols to
    the HTML that shows them."""

    def __init__(self, tagfile: Path):
        self.files: dict[str, str] = {}         # repo path -> source page
        # name -> [(repo path of the file defining it, href, kind)]
        self.by_name: dict[str, list[tuple[str, str, str]]] = {}
        self.pages: dict[str, str] = {}         # page label -> html file
        for compound in ET.parse(tagfile).getroot():
            kind = compound.get("kind")
            name = compound.findtext("name", "")
            filename = compound.findtext("filename", "")
            if not filename.endswith(".html"):
                filename += ".html"
            if kind == "file":
                directory = Path(compound.findtext("path", ""))
                try:
                    rel = (directory / name).relative_to(ROOT).as_posix()
                except ValueError:
                    continue
                source = filename[:-len(".html")] + "_source.html"
                self.files[rel] = source
                self._add(name, rel, source, "file")
                for member in compound.findall("member"):
                    href = (f"{member.findtext('anchorfile')}#"
                            f"{member.findtext('anchor')}")
                    kind = member.get("kind", "")
                    if member.get("static") == "yes" and rel.endswith(".c"):
                        kind = "private " + kind   # only its lesson links it
                    self._add(member.findtext("name"), rel, href, kind)
            elif kind in ("struct", "union"):
                self._add(f"{kind} {name}", "", filename, kind)
            elif kind == "page":
                self.pages[name] = filename

    def _add(self, name: str, path: str, href: str, kind: str) -> None:
        self.by_name.setdefault(name, []).append((path, href, kind))

    def href(self, text: str, folder: str | None) -> str | None:
        """Where the code span @text should link, seen from the page of
        lesson @folder ("02-protected-mode"; None: a page of the whole
        book), or None when it names nothing, or nothing unambiguously.

        A lesson page links to what the lesson can use: its own code first,
        then common/, then the earlier lessons, nearest first; never to a
        later lesson's symbol of the same name."""
        text = html.unescape(text).strip()
        if text in self.files:
            return self.files[text]
        call = text.endswith("()")
        name = text[:-2] if call else text
        mnemonic = not call and re.fullmatch(r"[a-z]+", name)
        hits = [(p, h, k) for p, h, k in self.by_name.get(name, [])
                # `cli`, `hlt`, `sgdt`: the instruction, not x86.h's wrapper
                if not (mnemonic and p == "common/include/x86.h")]
        if folder is None or name.startswith(("struct ", "union ")):
            scopes = [""]               # the tag file does not say where
        else:
            earlier = sorted((f"lessons/{f}/" for f in self._folders()
                              if f < folder), reverse=True)
            scopes = [f"lessons/{folder}/", "common/", *earlier]
        for prefix in scopes:
            mine = {(p, h) for p, h, k in hits if p.startswith(prefix) and
                    (prefix == scopes[0] != "" or not k.startswith("private"))}
            if len({h for _, h in mine}) == 1:
                return mine.pop()[1]
            # Declared in a header and defined in assembly (e820_map): the
            # header's declaration is the one C code sees.
            headers = {h for p, h in mine if p.endswith(".h")}
            if len(headers) == 1:
                return headers.pop()
            if mine:
                return None             # ambiguous at this level: no link
        return None

    def _folders(self) -> set[str]:
        return {p.split("/")[1] for p in self.files if p.startswith("lessons/")}


CODE = re.compile(r"<code>([^<]+)</code>")
ANCHOR = re.compile(r"(<a\b[^>]*>.*?</a>)", re.S)


def link_code_spans(html_dir: Path, symbols: Symbols) -> int:
    """Link the code spans of every page; returns how many were linked."""
    folders = {n: p.parent.name for n, p in readmes().items()}
    count = 0
    for label, filename in symbols.pages.items():
        page = html_dir / filename
        if not page.exists():
            continue
        match = re.fullmatch(r"lesson(\d\d)_page", label)
        folder = folders.get(match.group(1)) if match else None

        def link(m: re.Match) -> str:
            nonlocal count
            href = symbols.href(m.group(1), folder)
            if not href:
                return m.group(0)
            count += 1
            return f'<a class="el" href="{href}">{m.group(0)}</a>'

        text = page.read_text(encoding="utf-8")
        parts = ANCHOR.split(text)      # odd parts are links already
        page.write_text("".join(p if i % 2 else CODE.sub(link, p)
                                for i, p in enumerate(parts)),
                        encoding="utf-8")
    return count


# ------------------------------------------------------------------ build
def build(out: Path = DEFAULT_OUT, shots: bool | None = None,
          log=print) -> list[str]:
    """Build the book into @out; returns doxygen's warnings (empty: the
    book is good). @shots: True take screenshots (QEMU required), None take
    them when QEMU is installed, False keep those already in @out."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    shot_dir = out / "screenshots"
    shot_dir.mkdir(exist_ok=True)
    if shots or (shots is None and not emu.have("qemu")):
        screenshots.take_all(shot_dir, log=log)
    elif shots is None:
        log(f"docs: no screenshots: {emu.have('qemu')}")
    write_pages(out / "pages", shot_dir)
    warnings = run_doxygen(out)
    if warnings:
        return warnings
    linked = link_code_spans(out / "html", Symbols(out / "kit.tag"))
    log(f"docs: {out / 'html' / 'index.html'} ({linked} code links)")
    return []


def main(out: str, shots: bool | None) -> int:
    try:
        warnings = build(Path(out), shots)
    except (DocsError, screenshots.ScreenshotError) as e:
        print(f"docs: {e}", file=sys.stderr)
        return 1
    if warnings:
        print(f"docs: {len(warnings)} doxygen warning(s); the book must "
              "build without any:", *warnings, sep="\n  ", file=sys.stderr)
        return 1
    return 0
