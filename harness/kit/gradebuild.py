"""The build half of grading: each lesson of a submission built in the
sandbox (kit/sandbox.py), its products collected, its log made safe to
read. kit/grade.py drives it; see its docstring for the whole story.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Optional

from . import sandbox, untrusted

MAX_BUILD_OUTPUT = 64 << 20         # what the harness copies from a build
MAX_LOG_BYTES = 16 << 20            # of a build's or pytest's log, kept
# Inside a build's sandbox: the submission (read-only), the tree being
# built (a tmpfs of its own), and where the build's products are copied.
SUBMISSION, KIT, PRODUCTS = "/submission", "/kit", "/products"
BUILD_SCRIPT = f"""\
cp -R {SUBMISSION}/. {KIT}/ || exit 97
make --no-print-directory -C {KIT}/lessons/"$1" -f {KIT}/lessons/"$1"/Makefile all
status=$?
if [ -d {KIT}/build/"$1" ]; then cp -R {KIT}/build/"$1"/. {PRODUCTS}/; fi
exit $status
"""
# make echoes each command; the compiler's messages are the other lines.
COMMAND_ECHO = re.compile(r"^(gcc|cc|nasm|ld|objcopy|objdump|mkdir|rm|"
                          r"\S*python3\S*|make\[\d+\]: (Entering|Leaving)) ")


# ------------------------------------------------------------ containment
def private_env(work: Path) -> dict:
    """The environment of the harness run for one submission: nothing of
    the grader's but PATH, a HOME and TMPDIR of its own, and no CI
    (grading scores a skip as 0 instead of failing the run)."""
    for d in ("home", "tmp"):
        (work / d).mkdir(exist_ok=True)
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(work / "home"), "TMPDIR": str(work / "tmp"),
            "LC_ALL": "C.UTF-8", "TERM": "dumb",
            "PYTHONDONTWRITEBYTECODE": "1"}


def run_contained(cmd, *, env, cwd, log: Path, timeout: float,
                  box: Optional[sandbox.Sandbox] = None) -> Optional[int]:
    """Run @cmd in a session of its own, output to @log; kill the whole
    session (and, for a sandboxed @cmd, every process of @box's user) when
    it ends or at @timeout. Returns its status, None at the timeout."""
    spawn = sandbox.popen if box is not None else subprocess.Popen
    with open(log, "wb") as out:
        proc = spawn(cmd, stdin=subprocess.DEVNULL, stdout=out,
                     stderr=subprocess.STDOUT, env=env, cwd=cwd,
                     start_new_session=True)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            if box is not None:
                box.kill_all()
                sandbox.reap()
    return status


def kill_strays(work: Path) -> list[int]:
    """Kill our processes still tied to @work (command line, current folder
    or environment), e.g. an emulator whose harness was stopped. Returns
    their PIDs. (Sandboxed code is killed through its user instead.)"""
    key = str(work) + os.sep
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            cwd = os.readlink(entry / "cwd") + os.sep
            tied = (key.encode() in (entry / "cmdline").read_bytes() or
                    cwd.startswith(key) or
                    key.encode() in (entry / "environ").read_bytes())
        except OSError:
            continue
        if tied:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except ProcessLookupError:
                pass
    return killed


def escape_log(path: Path) -> None:
    """Rewrite the log @path with lossless escapes (untrusted.lossless), so
    that reading it can neither act on a terminal nor lose a byte."""
    if path.is_file():
        with open(path, "rb") as f:
            raw = f.read(MAX_LOG_BYTES + 1)
        text = untrusted.lossless(raw[:MAX_LOG_BYTES])
        if len(raw) > MAX_LOG_BYTES:
            text += f"\n[grade: log cut at {MAX_LOG_BYTES >> 20} MiB]\n"
        path.write_text(text)


# ------------------------------------------------------------ building
def compiler_excerpt(text: str, lines: int = 25) -> str:
    """The part of make's output a student needs: from the first error on,
    without the echoed commands."""
    kept = [l for l in text.splitlines() if not COMMAND_ECHO.match(l)]
    first = next((i for i, l in enumerate(kept) if re.search(
        r"\berror\b|\*\*\*|too large|No rule", l, re.IGNORECASE)), None)
    start = first if first is not None else max(0, len(kept) - lines)
    return "\n".join(kept[start:start + lines]) or "(make printed nothing)"


def build_lesson(tree: Path, lesson, work: Path, log: Path,
                 opts, box: sandbox.Sandbox) -> Optional[str]:
    """Build @lesson of @tree in @box: None when it built, else why not.
    Its products land in work/products-NN."""
    folder = tree / "lessons" / lesson.name
    if not (folder / "Makefile").is_file():
        log.write_text("")
        return f"lessons/{lesson.name}/Makefile is missing from the submission"
    products = work / f"products-{lesson.number}"
    products.mkdir()
    box.own(products)
    if opts.sandboxed:
        cmd = box.wrap(["sh", "-c", BUILD_SCRIPT, "build", lesson.name],
                       sandbox.BUILD, ro=[(tree, SUBMISSION)],
                       rw=[(products, PRODUCTS)], scratch=[KIT], chdir=KIT)
        cwd, prefix = work, KIT + "/"
    else:                           # --unsafe-no-sandbox: limits only
        cmd = box.wrap(["make", "--no-print-directory", "-C", folder, "-f",
                        folder / "Makefile", "all"], sandbox.BUILD)
        cwd, prefix = folder, str(tree) + os.sep
    status = run_contained(cmd, env=private_env(work), cwd=cwd, log=log,
                           timeout=opts.build_timeout, box=box)
    if not opts.sandboxed:
        kill_strays(work)
        built = tree / "build" / lesson.name
        if built.is_dir() and not built.is_symlink():
            shutil.copytree(built, products, dirs_exist_ok=True,
                            symlinks=True)
    escape_log(log)
    with open(log, "rb") as f:
        f.seek(max(0, log.stat().st_size - (64 << 10)))
        text = f.read().decode("utf-8", "replace").replace(prefix, "")
    if status is None:
        return (f"the build did not finish within {opts.build_timeout:g} s "
                f"and was stopped. make's last words:\n"
                f"{compiler_excerpt(text)}")
    if status != 0:
        return f"make failed (status {status}):\n{compiler_excerpt(text)}"
    image = products / "disk.img"
    if image.is_symlink() or not image.is_file():
        return f"make succeeded but wrote no build/{lesson.name}/disk.img"
    return None


def collect_build(work: Path, lesson, graded: Path) -> Optional[str]:
    """Copy @lesson's build products, regular files only, into @graded:
    the harness reads nothing else of the student's."""
    src, dst = work / f"products-{lesson.number}", graded / lesson.name
    dst.mkdir(parents=True)
    total = 0
    for path in sorted(src.iterdir()):
        if path.is_symlink() or not path.is_file():
            continue
        total += path.stat().st_size
        if total > MAX_BUILD_OUTPUT:
            return f"the build wrote more than {MAX_BUILD_OUTPUT >> 20} MiB"
        shutil.copyfile(path, dst / path.name)
    return None


def make_reachable(work: Path, tree: Path) -> None:
    """Let the sandbox user reach @work and read the copied @tree (whatever
    the grader's umask), and no one else list @work."""
    os.chmod(work, 0o711)
    for folder, dirs, files in os.walk(tree):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
