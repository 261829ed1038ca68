"""The book (`make docs`): doxygen builds it without a warning, from the
lessons' READMEs, the theory pages and every source file; and a real
headless browser (Debian's Chromium) shows the main page, every lesson page
and every screenshot, with no broken link and no missing image.

The book is built into a temporary folder by the same code as `make docs`
(kit.docs.build), screenshots included.
"""
import base64
import os
import re
import shutil
import struct
import subprocess
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from kit import browser, docs, emu, lessons, screenshots

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
TOOLS = lessons.ROOT / "docs" / "tools"
SOURCE_KINDS = (".c", ".h", ".asm", ".inc", ".ld", ".mk")


def unavailable(why: str) -> None:
    """A tool is missing: a failure in CI, which must check the book, and a
    skip that names the package anywhere else."""
    if IN_CI:
        pytest.fail(f"CI must build and check the book, but {why}")
    pytest.skip(why)


def need_tools(*tools: str) -> None:
    packages = {"doxygen": "doxygen", "dot": "graphviz"}
    for tool in tools:
        if tool == "chromium":
            why = browser.missing()
        elif tool == "qemu":
            why = emu.have("qemu")
        else:
            why = None if shutil.which(tool) else \
                f"{tool} is not installed (Debian package {packages[tool]})"
        if why:
            unavailable(why)


# ------------------------------------------------------------ the sources
def source_files() -> list[Path]:
    """Every source file the book documents: common/ and lessons/."""
    found = []
    for top in ("common", "lessons"):
        for path in sorted((lessons.ROOT / top).rglob("*")):
            if "tools" in path.relative_to(lessons.ROOT).parts:
                continue
            if path.suffix in SOURCE_KINDS or path.name == "Makefile":
                found.append(path)
    return found


def expected_group(path: Path) -> str:
    """The module a file belongs to, from where it lives."""
    parts = path.relative_to(lessons.ROOT).parts
    return f"lesson{parts[1][:2]}" if parts[0] == "lessons" else "common"


def filtered(path: Path) -> list[str]:
    """@path as doxygen reads it, through the Doxyfile's filter for it."""
    if path.suffix in (".c", ".h"):
        cmd = ["sh", str(TOOLS / "cfilter.sh"), str(path)]
    else:
        cmd = ["/usr/bin/python3", str(TOOLS / "doxyfilter.py"), str(path)]
    return subprocess.run(cmd, capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_every_source_file_has_file_brief_and_group():
    """Every source file opens with its @file, @brief and @ingroup: C files
    and headers in their first comment, NASM files, linker scripts and
    Makefiles in the comment header the book's filter reads. The module is
    the folder's (lessonNN or common), and the filters put what the file
    defines into it too, keeping every line where it was (so that the
    book's links to source lines land right) and adding one closing line."""
    problems = []
    for path in source_files():
        rel = path.relative_to(lessons.ROOT)
        group = expected_group(path)
        lines = path.read_text(errors="replace").splitlines()
        out = filtered(path)
        if len(out) != len(lines) + 1 or out[-1] != "/** @} */":
            problems.append(f"{rel}: the filter moved lines ({len(lines)} "
                            f"in, {len(out)} out, last {out[-1:]})")
            continue
        if path.suffix in (".c", ".h"):
            head = re.match(r"\s*/\*\*(.*?)\*/", "\n".join(lines), re.S)
            head = head.group(1) if head else ""
            name = path.name
            changed = [i for i, (a, b) in enumerate(zip(lines, out)) if a != b]
            if len(changed) != 1:
                problems.append(f"{rel}: the C filter changed lines {changed}")
        else:
            head = "\n".join(out).split("*/", 1)[0]
            name = str(rel)
        wanted = [rf"@file\s+{re.escape(name)}(?:\s|$)", r"@brief\s+\S",
                  rf"@ingroup\s+{group}\b"]
        missing = [w.split("\\")[0] for w in wanted if not re.search(w, head)]
        if missing:
            problems.append(f"{rel}: no {', '.join(missing)} in its header"
                            f" (expected @ingroup {group})")
        if not any(f"@addtogroup {group} */ /** @{{ */" in line for line in out):
            problems.append(f"{rel}: its definitions are not put in {group}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------ the pages
def fake_tree(root: Path, readme: str | None) -> None:
    """A kit with lessons 02 and 03 (03 with @readme, or without one) and
    the real docs/ folder's pages."""
    real = lessons.ROOT
    shutil.copytree(real / "docs", root / "docs",
                    ignore=shutil.ignore_patterns("tools"))
    for name in ("02-protected-mode", "03-long-mode"):
        folder = root / "lessons" / name
        folder.mkdir(parents=True)
        (folder / "Makefile").write_text("KIND := kernel32\n")
    (root / "lessons/02-protected-mode/README.md").write_text(
        "# Lesson 02: Protected mode\n\nText.\n")
    if readme is not None:
        (root / "lessons/03-long-mode/README.md").write_text(readme)


README_03 = """# Lesson 03: Long mode

Read [lesson 02](../02-protected-mode/README.md) and
[the theory](../../docs/theory/x86.md) first; a **(graded)** word.

## Expected output

```
[kit] power off: PASS
```

## Exercises

1. **(graded)** Map a page.

## References

- SDM.
"""


def build_page(tmp_path, monkeypatch, readme):
    root = tmp_path / "kit"
    fake_tree(root, readme)
    for module, names in ((docs, ("ROOT",)), (lessons, ("ROOT",))):
        for name in names:
            monkeypatch.setattr(module, name, root)
    monkeypatch.setattr(docs, "DOCS", root / "docs")
    monkeypatch.setattr(docs, "COMING", root / "docs" / "coming")
    monkeypatch.setattr(docs, "EXTRAS", root / "docs" / "lessons")
    monkeypatch.setattr(docs, "THEORY", root / "docs" / "theory")
    shots = tmp_path / "shots"
    shots.mkdir()
    (shots / "lesson03.png").write_bytes(screenshots.png_bytes(1, 1, b"\0\0\0"))
    pages = tmp_path / "pages"
    docs.write_pages(pages, shots)
    return (pages / "lesson03.md").read_text(), (pages / "mainpage.md").read_text()


def test_a_lesson_readme_replaces_its_coming_page(tmp_path, monkeypatch):
    """Before lessons/03-long-mode/README.md exists, lesson 03's page is
    docs/coming/lesson03.md and the course map says "coming"; once it
    exists, its README is the page, under the same label, with its links
    made doxygen's, its screenshot closing "Expected output" and the book's
    pictures before the exercises, which stay last. No Doxyfile edit: the
    Doxyfile reads the generated pages' folder."""
    coming, main = build_page(tmp_path / "a", monkeypatch, None)
    assert coming.startswith("# Lesson 03: Long mode (coming) {#lesson03_page}")
    assert re.search(r"@subpage lesson03_page \| .* \| coming \|", main)
    assert coming.index("## The 4-level page walk") < \
        coming.index("## Exercises (planned)")

    page, main = build_page(tmp_path / "b", monkeypatch, README_03)
    lines = page.splitlines()
    assert lines[0] == "# Lesson 03: Long mode {#lesson03_page}"
    assert "(coming)" not in page
    assert "[lesson 02](@ref lesson02_page)" in page
    assert "[the theory](@ref theory_x86)" in page
    assert "<b>(graded)</b> word" in page
    order = [next(i for i, l in enumerate(lines) if l.startswith(h))
             for h in ("## Expected output", "### The screen at the end",
                       "## The 4-level page walk", "## Exercises",
                       "## References")]
    assert order == sorted(order), order
    assert "![Lesson 03: the last screen, from QEMU](lesson03.png)" in page
    assert re.search(r"@subpage lesson03_page \| .* \| ready \|", main)
    doxyfile = (lessons.ROOT / "docs" / "Doxyfile").read_text()
    assert "build/docs/pages" in docs._config_list(doxyfile, "INPUT")


def test_every_lesson_page_ends_with_marked_exercises(tmp_path):
    """Every lesson's page, as the book shows it (README or coming page,
    with the book's pictures added), ends with its exercises: at least
    three, each marked (graded) when the lesson's tests check it or (open)
    when they do not; only the references may follow them."""
    pages = tmp_path / "pages"
    docs.write_pages(pages, tmp_path / "no-screenshots")
    problems = []
    for number in docs.slots():
        lines = (pages / f"lesson{number}.md").read_text().splitlines()
        heads = [(i, l) for i, l in enumerate(lines) if l.startswith("## ")]
        at = [i for i, l in heads if re.match(r"## Exercises\b", l)]
        if not at:
            problems.append(f"lesson {number}: no '## Exercises' section")
            continue
        after = [l for i, l in heads if i > at[0]]
        if any(not l.startswith("## References") for l in after):
            problems.append(f"lesson {number}: {after} after the exercises")
        end = next((i for i, _ in heads if i > at[0]), len(lines))
        items = [l for l in lines[at[0]:end] if re.match(r"\d+\. ", l)]
        unmarked = [l for l in items
                    if not re.match(r"\d+\. <b>\((graded|open)\)</b>", l)]
        if len(items) < 3 or unmarked:
            problems.append(f"lesson {number}: {len(items)} exercises, "
                            f"unmarked: {unmarked}")
    assert not problems, "\n".join(problems)


def test_a_broken_readme_link_stops_the_book(tmp_path, monkeypatch):
    """A README that links to a file that does not exist is a build error
    naming the README and the link, not a dead link in the book."""
    with pytest.raises(docs.DocsError, match=r"README.md: the link to "
                       r"nowhere.c points to no file"):
        build_page(tmp_path, monkeypatch, "# Lesson 03\n\n[x](nowhere.c)\n")


# ------------------------------------------------------------ the browser
def test_png_writer_decodes_in_chromium():
    """The screenshots' PNG writer is right: Chromium's own decoder reads a
    test picture back pixel for pixel (through a canvas)."""
    need_tools("chromium")
    width, height = 7, 5
    rgb = bytes((x * 36 + y, y * 50, (x * y * 13) & 0xFF)[c]
                for y in range(height) for x in range(width) for c in range(3))
    url = "data:image/png;base64," + base64.b64encode(
        screenshots.png_bytes(width, height, rgb)).decode()
    with browser.Chromium() as chromium:
        rgba = chromium.evaluate(f"""new Promise((done, fail) => {{
            const img = new Image();
            img.onload = () => {{
                const c = document.createElement('canvas');
                c.width = img.width; c.height = img.height;
                const g = c.getContext('2d');
                g.drawImage(img, 0, 0);
                done([img.width, img.height,
                      Array.from(g.getImageData(0, 0, c.width, c.height).data)]);
            }};
            img.onerror = () => fail('the PNG does not decode');
            img.src = '{url}';
        }})""")
    assert rgba[:2] == [width, height]
    decoded = bytes(v for i, v in enumerate(rgba[2]) if i % 4 != 3)
    assert decoded == rgb


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def broken_links(html: Path) -> list[str]:
    """Every href or src, in every HTML file of the book, that points to a
    local file that does not exist (or outside the book), or to an anchor
    its page does not have."""
    anchors: dict[Path, set] = {}

    def anchors_of(path: Path) -> set:
        if path not in anchors:
            anchors[path] = set(re.findall(r'(?:id|name)="([^"]+)"',
                                           path.read_text(errors="replace")))
        return anchors[path]

    broken = []
    book = html.resolve()
    for page in sorted(book.glob("*.html")):
        targets = set(re.findall(r'(?:href|src)="([^"]*)"',
                                 page.read_text(errors="replace")))
        for target in targets:
            if re.match(r"[a-z]+:", target) or target.startswith("#") \
                    or not target:
                continue                # external, javascript:, same page
            name, _, anchor = target.partition("#")
            path = (page.parent / unquote(name)).resolve()
            if path.parent != book and book not in path.parents:
                broken.append(f"{page.name}: {target} leaves the book")
            elif not path.exists():
                broken.append(f"{page.name}: {target} does not exist")
            elif anchor and path.suffix == ".html" and \
                    anchor not in anchors_of(path):
                broken.append(f"{page.name}: {target}: no such anchor")
    return broken


# A book page is ready when doxygen's scripts have built it: the search box
# (menu.js adds it, with its images, from timers after the load event) and
# the nav tree's sync button. The browser then waits for every image those
# scripts added, so each page's search images are checked, every time.
BOOK_READY = ("document.getElementById('MSearchSelect') !== null && "
              "document.querySelector('#nav-sync img') !== null")
SEARCH_IMAGE = "search/mag_sel.svg"


def browser_problems(page: browser.Page, html: Path) -> list[str]:
    """What went wrong when the browser showed @page: resources that failed,
    JavaScript errors, images that did not decode, local links to files
    that are not there, a page that never settled (never ready, or still
    loading after browser.SETTLE seconds)."""
    where = Path(unquote(urlparse(page.url).path)).name
    problems = [f"{where}: {url} failed to load ({error})"
                for url, error in page.failed]
    if not page.ready:
        problems.append(f"{where}: not ready after {browser.SETTLE:g} s "
                        "(its scripts did not build it)")
    elif not page.settled:
        problems.append(f"{where}: still loading or changing after "
                        f"{browser.SETTLE:g} s")
    problems += [f"{where}: JavaScript error {e}" for e in page.errors]
    problems += [f"{where}: image {i['src']} did not load"
                 for i in page.images if not (i["complete"] and i["width"])]
    for link in page.links:
        url = urlparse(link)
        if url.scheme == "file" and not Path(unquote(url.path)).exists():
            problems.append(f"{where}: link to {link} is broken")
    return problems


def test_book_builds_clean_and_every_page_loads_in_chromium(tmp_path):
    """doxygen builds the book, as `make docs` does, without one warning:
    each file, function, type, macro and enum member a student meets is
    documented and every reference resolves. Then, in a real headless
    Chromium, the main page, every lesson page and every other page load
    with every image, stylesheet, script and graph; each lesson QEMU can run
    shows its screenshot, as the browser decodes it; and no link anywhere
    in the book points to a missing file or anchor. Each page is checked
    once doxygen's scripts have built it, with the images they add (the
    search box's), and the check sees that image broken when it is. (One
    test, so that the book is built once even when the tests run in
    parallel.)"""
    need_tools("doxygen", "dot", "qemu", "chromium")
    missing = [l.name for l in lessons.all_lessons() if not l.image.exists()]
    if missing:
        pytest.fail(f"lessons not built: {', '.join(missing)}: run make first "
                    "(make test does)")
    warnings = docs.build(tmp_path, shots=True, log=lambda *_: None)
    assert not warnings, (f"{len(warnings)} doxygen warning(s):\n" +
                          "\n".join(warnings))

    html = tmp_path / "html"
    broken = broken_links(html)
    assert not broken, "\n".join(broken)
    tag = docs.Symbols(tmp_path / "kit.tag")
    for number in docs.slots():
        assert f"lesson{number}_page" in tag.pages, f"no page for lesson {number}"
    shots = {tag.pages[f"lesson{l.number}_page"]: f"lesson{l.number}.png"
             for l in screenshots.screenshot_lessons()
             if f"lesson{l.number}_page" in tag.pages}
    assert shots, "no lesson has a screenshot"
    problems = []
    with browser.Chromium() as chromium:
        for name in ["index.html", *sorted(set(tag.pages.values()))]:
            page = chromium.load(html / name, ready=BOOK_READY)
            problems += browser_problems(page, html)
            if not any(i["src"].endswith("/" + SEARCH_IMAGE)
                       for i in page.images):
                problems.append(f"{name}: {SEARCH_IMAGE} was not checked")
            if name not in shots:
                continue
            png = html / shots[name]
            shown = [i for i in page.images
                     if i["src"].endswith("/" + shots[name])]
            if not png.exists() or not shown:
                problems.append(f"{name}: no screenshot {shots[name]}")
            elif (shown[0]["width"], shown[0]["height"]) != png_size(png):
                problems.append(f"{name}: {shots[name]} shows as "
                                f"{shown[0]['width']}x{shown[0]['height']}, "
                                f"the file is {png_size(png)}")
    assert not problems, "\n".join(problems)

    # The same check sees the search box's image broken (in a new browser,
    # which has not kept the good one).
    (html / SEARCH_IMAGE).write_text("<svg broken")
    with browser.Chromium() as chromium:
        problems = browser_problems(
            chromium.load(html / "index.html", ready=BOOK_READY), html)
    assert problems == [f"index.html: image {(html / SEARCH_IMAGE).as_uri()}"
                        " did not load"], problems


# ------------------------------------------------------------ the check
LATE_IMAGES = """<!DOCTYPE html><title>images</title>
<img src="good.png"><img src="missing.png"><img src="corrupt.png">
<script>
function add(src) {
  const img = document.createElement('img');
  img.src = src;
  document.body.appendChild(img);
}
// As doxygen's scripts do: images added after the load event, the second
// batch while the first is still loading.
addEventListener('load', () => {
  add('%(slow)sgood.png?first');
  setTimeout(() => {
    add('%(slower)sgood.png?second');
    add('%(slower)smissing.png?late');
    add('%(slower)scorrupt.png?late');
    window.allAdded = true;
  }, 100);
});
</script>
"""


class SlowFiles(SimpleHTTPRequestHandler):
    """Files of a folder, each under /slow-N/ too, served N ms late."""

    def do_GET(self):
        head, _, rest = self.path.lstrip("/").partition("/")
        if head.startswith("slow-") and rest:
            time.sleep(int(head[len("slow-"):]) / 1000)
            self.path = "/" + rest
        super().do_GET()

    def log_message(self, *args):
        pass


def not_loaded(problems: list[str]) -> set[str]:
    """The images the problems say did not load: the last part of each
    URL (file name and query)."""
    return {m.group(1).rsplit("/", 1)[-1] for m in
            map(re.compile(r".*: image (\S+) did not load$").match, problems)
            if m}


def test_the_browser_check_waits_for_late_images_and_reports_broken_ones(
        tmp_path):
    """The book's browser check (browser_problems on what Chromium.load
    saw) reports an image that is missing or does not decode, whether the
    page has it or a script adds it after the load event; and does not
    report an image a script added that is still loading when the check
    begins (doxygen's search box: the race that made the book's test fail
    once in a while), however many batches the scripts add: it waits for
    them, from a file and from a server that sends them late."""
    need_tools("chromium")
    (tmp_path / "good.png").write_bytes(
        screenshots.png_bytes(3, 2, bytes(range(18))))
    (tmp_path / "corrupt.png").write_bytes(
        screenshots.png_bytes(3, 2, bytes(18))[:40] + b"not a PNG any more")
    (tmp_path / "late.html").write_text(LATE_IMAGES % {
        "slow": "", "slower": ""})
    (tmp_path / "slow.html").write_text(LATE_IMAGES % {
        "slow": "slow-400/", "slower": "slow-800/"})
    broken = {"missing.png", "corrupt.png",
              "missing.png?late", "corrupt.png?late"}
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(
        SlowFiles, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with browser.Chromium() as chromium:
            for where in (tmp_path / "late.html",
                          f"http://127.0.0.1:{server.server_port}/slow.html"):
                page = chromium.load(where, ready="window.allAdded === true")
                problems = browser_problems(page, tmp_path)
                shown = {i["src"].rsplit("/", 1)[-1] for i in page.images}
                assert shown == broken | {"good.png", "good.png?first",
                                          "good.png?second"}, shown
                assert page.ready and page.settled, problems
                assert not_loaded(problems) == broken, "\n".join(problems)
                good = [i for i in page.images
                        if i["src"].rsplit("/", 1)[-1].startswith("good.png")]
                assert all((i["complete"], i["width"], i["height"]) ==
                           (True, 3, 2) for i in good), good
                if isinstance(where, Path):     # the files: not found
                    assert sum("missing.png" in p and "failed to load" in p
                               for p in problems) == 2, problems
    finally:
        server.shutdown()
        server.server_close()
