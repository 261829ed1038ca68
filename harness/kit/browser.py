"""A real headless browser, for the book's test: Debian's Chromium, driven
through the DevTools protocol over a pipe (--remote-debugging-pipe), with
nothing but the standard library.

    with Chromium() as browser:
        page = browser.load(Path("build/docs/html/index.html"))
        page.images      # [{"src", "complete", "width", "height"}]
        page.links       # every <a href>, as the browser resolved it
        page.failed      # resources that did not load: [(url, error)]
        page.errors      # JavaScript exceptions
        page.settled     # False: still loading or changing after SETTLE s
        # and once the page's own scripts have built it (JavaScript):
        page = browser.load(path, ready="document.getElementById('menu')")

The protocol: Chromium reads commands from file descriptor 3 and writes
answers and events to descriptor 4, as JSON objects each ended by a NUL
byte. A command is {"id", "method", "params"} (plus "sessionId" for one
tab); its answer carries the same id.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

BINARY = "chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-extensions", "--mute-audio",
         "--remote-debugging-pipe"]

# How long a page may take, after its load event, to settle (seconds), and
# how long its document must stay unchanged to count as settled.
SETTLE = 10.0
QUIET = 0.05

# What a page shows, collected in the page itself once it has settled: its
# document complete, the caller's readiness test (if any) true, no element
# added (nor an image's src changed) for QUIET seconds, and every image in
# the document loaded or failed. Scripts add images after the load event
# (doxygen's search box, from a timer, while the nav tree's image is still
# loading), so the images are looked up again after every wait, and the
# snapshot is taken in the same turn as the check that none is still
# loading: an image the snapshot shows incomplete really did not load within
# SETTLE seconds. Called as (ready, settle_ms, quiet_ms).
INSPECT = """async (ready, limit, quiet) => {
  const end = performance.now() + limit;
  const left = () => Math.max(0, end - performance.now());
  const sleep = ms => new Promise(done => setTimeout(done, Math.min(ms, left())));
  const ended = i => new Promise(done => {
      i.addEventListener('load', done, {once: true});
      i.addEventListener('error', done, {once: true}); });
  let changed = performance.now();
  const watch = new MutationObserver(() => { changed = performance.now(); });
  watch.observe(document, {childList: true, subtree: true,
                           attributes: true, attributeFilter: ['src', 'srcset']});
  const isReady = () => document.readyState === 'complete' &&
      (!ready || Boolean((0, eval)(ready)));
  let settled = false;
  for (;;) {
    const pending = [...document.images].filter(i => !i.complete);
    const calm = performance.now() - changed >= quiet;
    if (!pending.length && calm && isReady()) { settled = true; break; }
    if (!left()) break;
    // Until one of them loads or fails, or a moment has passed: look again.
    await Promise.race([...pending.map(ended), sleep(quiet)]);
  }
  watch.disconnect();
  return JSON.stringify({
  settled, ready: isReady(),
  title: document.title,
  images: [...document.images].map(i => ({src: i.currentSrc || i.src,
      complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  frames: [...document.querySelectorAll('iframe[src]')].map(f => f.src),
  });
}"""


def _pipe() -> tuple[int, int]:
    """A pipe whose ends are numbered 10 or more, clear of 3 and 4."""
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    return ends[0], ends[1]


class BrowserError(RuntimeError):
    """Chromium is missing, died, or did not answer in time."""


def missing() -> Optional[str]:
    """None if Chromium can run here, else why not (one line)."""
    if not shutil.which(BINARY):
        return "chromium is not installed (Debian package chromium)"
    return None


@dataclasses.dataclass
class Page:
    """What one page looked like in the browser."""
    url: str
    title: str
    images: list
    links: list
    frames: list
    failed: list          # [(url, error text)] of resources that failed
    errors: list          # JavaScript exceptions, as text
    settled: bool = True  # False: images still loading, the document still
                          # changing or @ready still false after SETTLE s
    ready: bool = True    # the caller's readiness test, at the snapshot


class Chromium:
    def __init__(self, timeout: float = 30.0):
        why = missing()
        if why:
            raise BrowserError(why)
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="kit-chromium-")
        cmd_r, self._cmd_w = _pipe()        # we write, Chromium reads fd 3
        self._out_r, out_w = _pipe()        # Chromium writes fd 4, we read
        # bash (dash takes only one-digit descriptors) puts our pipe ends on
        # descriptors 3 and 4 for Chromium.
        script = (f'exec "$0" "$@" 3<&{cmd_r} 4>&{out_w} '
                  f'{cmd_r}<&- {out_w}>&-')
        self.proc = subprocess.Popen(
            ["bash", "-c", script, BINARY, *FLAGS,
             f"--user-data-dir={self.profile}", "about:blank"],
            pass_fds=(cmd_r, out_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        os.close(cmd_r)
        os.close(out_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})
            self.session = self.call("Target.attachToTarget", {
                "targetId": target["targetId"], "flatten": True})["sessionId"]
            for domain in ("Page", "Network", "Runtime"):
                self.call(f"{domain}.enable", session=True)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ protocol
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._out_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._out_r, 1 << 16)
            if not chunk:
                raise BrowserError("Chromium closed its pipe (it died?)")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, params: Optional[dict] = None,
             session: bool = False, longer: float = 0.0) -> dict:
        """Send one command and return its result, waiting @longer seconds
        more than the browser's timeout for it; events that arrive meanwhile
        are kept for wait_for()."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method,
                   "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout + longer
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_for(self, method: str) -> dict:
        """The first event @method not yet consumed (waiting for it)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method:
                    return self._events.pop(i)
            self._events.append(self._read_message(deadline))

    # ------------------------------------------------------------ pages
    def load(self, path, ready: Optional[str] = None) -> Page:
        """Open @path (a file, or a URL given as a string), wait until it and
        everything it uses has loaded (the load event), then until it has
        settled (INSPECT: the page's own scripts, such as doxygen's menus
        and tree, have run and every image they added has loaded or failed,
        and JavaScript expression @ready, if given, is true), for SETTLE
        seconds at most; and report what the page shows."""
        if isinstance(path, str) and "://" in path:
            url = path
        else:
            url = Path(path).resolve().as_uri()
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for("Page.loadEventFired")
        shown = json.loads(self.evaluate(
            f"({INSPECT})({json.dumps(ready)}, {SETTLE * 1000:.0f}, "
            f"{QUIET * 1000:.0f})", longer=SETTLE))
        requests = {e["params"]["requestId"]: e["params"]["request"]["url"]
                    for e in self._events
                    if e.get("method") == "Network.requestWillBeSent"}
        failed = [(requests.get(e["params"]["requestId"], "?"),
                   e["params"].get("errorText", ""))
                  for e in self._events
                  if e.get("method") == "Network.loadingFailed"]
        errors = [e["params"]["exceptionDetails"].get("text", "")
                  + " " + json.dumps(e["params"]["exceptionDetails"].get(
                      "exception", {}).get("description", ""))
                  for e in self._events
                  if e.get("method") == "Runtime.exceptionThrown"]
        return Page(url, shown["title"], shown["images"], shown["links"],
                    shown["frames"], failed, errors, shown["settled"],
                    shown["ready"])

    def evaluate(self, expression: str, longer: float = 0.0):
        """The value of JavaScript @expression (promises are awaited, for
        @longer seconds more than the browser's timeout)."""
        result = self.call("Runtime.evaluate", {
            "expression": expression, "returnByValue": True,
            "awaitPromise": True}, session=True, longer=longer)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript failed: "
                               f"{result['exceptionDetails']}")
        return result["result"].get("value")

    # ------------------------------------------------------------ the end
    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:                    # Chromium's helpers: its process group
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        for fd in (self._cmd_w, self._out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
