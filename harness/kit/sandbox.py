"""The sandbox a student's code runs in while it is graded (bubblewrap).

Grading runs two kinds of untrusted code: the build (make, gcc and nasm on
the student's files, and whatever those files make them do) and the guest
(the student's image, inside QEMU or Bochs). Each runs through wrap():

    setpriv --reuid U     an unprivileged user of its own (when the grader
                          is root): one that can write neither the harness
                          nor the results, even outside the sandbox
    prlimit               address space, processes, CPU seconds, file size,
                          no core files
    bwrap                 new user, PID, network, IPC, UTS and cgroup
                          namespaces (no network at all; every process of the
                          sandbox dies with it); a read-only view of /usr
                          (the toolchain and the emulators) and nothing else
                          of the machine: no /home, /root, /etc secrets, no
                          kit tree, no grading outputs; a private /tmp of a
                          fixed size; only the folders the caller binds

What it does not promise: a kernel bug that escapes namespaces, or an
emulator bug that escapes the guest, gets the sandbox user (with the
grader's own user when the grader is not root, since then there is no
other user to switch to); the student's code can still spend its CPU and
memory limits, and it can read the public files under /usr.
"""
from __future__ import annotations

import ctypes
import dataclasses
import fcntl
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Optional

UID_BASE = 61000            # first uid tried for sandbox users (no passwd entry)
UID_RANGE = 1000
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# /etc: only what dynamic linking and Debian's alternatives need.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
             "/etc/alternatives")
PATH = "/usr/bin:/bin"
MiB = 1 << 20


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one sandboxed process may use (setrlimit(2), per process, except
    processes: per sandbox user) and how large its private /tmp is."""
    memory: int             # RLIMIT_AS, bytes of address space
    processes: int          # RLIMIT_NPROC, processes of the sandbox user
    cpu_seconds: int        # RLIMIT_CPU
    file_size: int          # RLIMIT_FSIZE, bytes of any one file it writes
    tmp_size: int           # bytes of its /tmp, /var/tmp and each scratch


# A build: cc1 on one of the kit's files needs well under 100 MiB.
BUILD = Limits(memory=1024 * MiB, processes=128, cpu_seconds=120,
               file_size=256 * MiB, tmp_size=512 * MiB)
# A boot: QEMU's TCG reserves 1 GiB of address space for its code buffer,
# and each virtual CPU a thread with its stack and malloc arena; the
# guest's RAM comes on top (boot_limits()). Address space, not memory: a
# boot of the kit's lessons uses some tens of MiB.
BOOT = Limits(memory=4096 * MiB, processes=64, cpu_seconds=300,
              file_size=64 * MiB, tmp_size=16 * MiB)


def boot_limits(memory_mib: int) -> Limits:
    """BOOT, with room for a guest of @memory_mib MiB of RAM."""
    return dataclasses.replace(BOOT, memory=BOOT.memory + memory_mib * MiB)


class Unavailable(RuntimeError):
    """The sandbox cannot be made on this machine (one line says why)."""


_held: dict[int, int] = {}          # uid -> the fd of its lock file


def _claim(uid: int) -> bool:
    """Hold @uid's lock file for as long as this process lives, so that two
    graders on one machine (or two test workers) never share a user."""
    if uid in _held:
        return False
    folder = Path("/tmp/kit-sandbox-uids")      # one for every grader
    folder.mkdir(mode=0o1777, exist_ok=True)
    fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _held[uid] = fd
    return True


def free_uids(count: int) -> list[int]:
    """@count uids from UID_BASE on that no account on this machine uses,
    no process runs as (not even a zombie, which still counts against the
    user's process limit) and no other grader holds; this process holds
    them from now on."""
    busy = {proc.uid for proc in processes()}
    uids = []
    for uid in range(UID_BASE, UID_BASE + UID_RANGE):
        if uid in busy:
            continue
        try:
            pwd.getpwuid(uid)
        except KeyError:
            if _claim(uid):
                uids.append(uid)
            if len(uids) == count:
                return uids
    raise Unavailable(f"no {count} free uids from {UID_BASE}")


@dataclasses.dataclass(frozen=True)
class Sandbox:
    """How to run untrusted commands: as @uid (None: as ourselves, when we
    are not root), inside bwrap unless @enabled is False (the instructor's
    --unsafe-no-sandbox: then only the limits apply)."""
    uid: Optional[int] = None
    enabled: bool = True
    hidden: tuple = ()      # host paths to hide even under /usr (the kit)

    @classmethod
    def for_slot(cls, uid: Optional[int], enabled: bool = True,
                 hidden: tuple = ()) -> "Sandbox":
        if os.geteuid() != 0 or not enabled:
            uid = None          # no other user to become: bwrap maps ours
        return cls(uid, enabled, tuple(str(h) for h in hidden))

    def own(self, path: Path) -> None:
        """Give @path (a folder the sandbox writes) to the sandbox user."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def reachable(self, path: Path) -> None:
        """Let the sandbox user reach @path (bwrap binds it as that user):
        each folder above it that we own gets o+x, never o+r, so that it
        can be passed through but not listed (pytest makes its temporary
        folders 0700). Only folders inside the temporary folder (TMPDIR) are
        changed: never a home or the kit."""
        if self.uid is None:
            return
        top = Path(tempfile.gettempdir()).resolve()
        for folder in Path(path).resolve().parents:
            if top not in folder.parents:   # only our own temporary folders
                break
            try:
                info = folder.stat()
                if info.st_uid == os.geteuid() and not info.st_mode & 0o001:
                    os.chmod(folder, info.st_mode | 0o001)
            except OSError:
                pass

    def wrap(self, cmd: list, limits: Limits, *, rw=(), ro=(), scratch=(),
             chdir: Optional[str] = None, env: Optional[dict] = None,
             new_session: bool = True) -> list[str]:
        """@cmd as a sandboxed command line. @rw and @ro: host folders bound
        writable or not, each at its own path or as (host path, path
        inside), made reachable(); @scratch: paths that get an
        empty tmpfs of limits.tmp_size; @env: the whole environment inside
        (PATH, HOME and TMPDIR are set when absent). @new_session: setsid
        inside, so that nothing can reach a terminal (TIOCSTI); an emulator
        that is signalled by process group leaves it False."""
        prefix = []
        if self.uid is not None:
            prefix += ["setpriv", f"--reuid={self.uid}",
                       f"--regid={self.uid}", "--clear-groups",
                       "--inh-caps=-all", "--bounding-set=-all",
                       "--no-new-privs", "--"]
        prefix += ["prlimit", f"--as={limits.memory}",
                   f"--nproc={limits.processes}",
                   f"--cpu={limits.cpu_seconds}",
                   f"--fsize={limits.file_size}", "--core=0", "--"]
        if not self.enabled:
            return prefix + [str(c) for c in cmd]
        box = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
               "--die-with-parent", "--ro-bind", "/usr", "/usr",
               "--tmpfs", "/usr/local"]
        if new_session:
            box.append("--new-session")
        for link in SYSTEM_LINKS:
            if os.path.islink(link):
                box += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                box += ["--ro-bind", link, link]
        for name in ETC_FILES:
            box += ["--ro-bind-try", name, name]
        box += ["--proc", "/proc", "--dev", "/dev",
                "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
                # QEMU's snapshot=on writes its overlay in /var/tmp
                "--size", str(limits.tmp_size), "--tmpfs", "/var/tmp"]
        for path in self.hidden:            # e.g. a kit kept under /usr
            if path.startswith("/usr/"):
                box += ["--tmpfs", path]
        for kind, binds in (("--ro-bind", ro), ("--bind", rw)):
            for bind in binds:
                src, dst = bind if isinstance(bind, tuple) else (bind, bind)
                self.reachable(Path(src))
                box += [kind, str(src), str(dst)]
        for path in scratch:
            box += ["--size", str(limits.tmp_size), "--tmpfs", str(path)]
        inside = {"PATH": PATH, "HOME": "/tmp", "TMPDIR": "/tmp",
                  "LC_ALL": "C.UTF-8"}
        inside.update(env or {})
        box.append("--clearenv")
        for key, value in inside.items():
            box += ["--setenv", key, str(value)]
        if chdir:
            box += ["--chdir", str(chdir)]
        return prefix + box + ["--"] + [str(c) for c in cmd]

    def check(self) -> None:
        """Raise Unavailable, with the tool's own words, unless a sandboxed
        command really runs here."""
        for tool in ("prlimit",) + (("setpriv",) if self.uid is not None
                                    else ()) + (("bwrap",) if self.enabled
                                                else ()):
            if not shutil.which(tool):
                package = {"bwrap": "bubblewrap"}.get(tool, "util-linux")
                raise Unavailable(f"{tool} is not installed (Debian package "
                                  f"{package})")
        self._probe([])
        if self.uid is not None and self.enabled:
            tmp = tempfile.gettempdir()
            try:
                self._probe([tmp])
            except Unavailable:
                raise Unavailable(
                    f"the sandbox user (uid {self.uid}) cannot reach the "
                    f"temporary folder {tmp}, where grading works: set "
                    "TMPDIR to a folder every user may pass through, such "
                    "as /tmp") from None

    def _probe(self, ro: list) -> None:
        try:
            proc = subprocess.run(self.wrap(["true"], BUILD, ro=ro),
                                  stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            raise Unavailable("a sandboxed `true` did not finish in 20 s")
        if proc.returncode != 0:
            words = proc.stderr.decode("utf-8", "replace").strip()
            raise Unavailable(words.splitlines()[-1] if words else
                              f"a sandboxed `true` failed "
                              f"(status {proc.returncode})")

    def kill_all(self) -> int:
        """Kill every process of the sandbox user (it has no others);
        returns how many were still running (not zombies). Nothing when we
        run without a user of its own."""
        if self.uid is None:
            return 0
        killed = 0
        for proc in processes():
            if proc.uid == self.uid:
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed += proc.state != "Z"
                except ProcessLookupError:
                    pass
        return killed


# ---------------------------------------------------------------- reaping
# bwrap leaves a helper process of each sandbox to be reaped by init; where
# init does not reap (some containers), those zombies would pile up and
# count against the sandbox user's process limit. So whoever starts
# sandboxes becomes a "child subreaper" (prctl(2)): the helpers are handed
# to it, and reap() collects them. It must never collect a child someone
# is waiting for, so it takes only bwrap zombies that popen() did not start.
PR_SET_CHILD_SUBREAPER = 36
_lock = threading.Lock()
_started: set[int] = set()          # PIDs popen() returned, until reaped
_is_reaper = False


def _become_reaper() -> None:
    global _is_reaper
    if not _is_reaper:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        _is_reaper = True


def popen(cmd: list, **options) -> subprocess.Popen:
    """subprocess.Popen(@cmd), for a command from Sandbox.wrap()."""
    with _lock:
        _become_reaper()
        proc = subprocess.Popen(cmd, **options)
        _started.add(proc.pid)
    return proc


@dataclasses.dataclass(frozen=True)
class Process:
    """One line of /proc: what the sandbox's bookkeeping needs of it."""
    pid: int
    name: str                       # its command name (comm)
    state: str                      # "Z": a zombie, waiting to be reaped
    ppid: int
    uid: int


def processes() -> list[Process]:
    """Every process of the machine (that /proc shows us) right now."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            uid = entry.stat().st_uid
        except OSError:
            continue                # it has just ended
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        found.append(Process(int(entry.name), name, state, int(ppid), uid))
    return found


def reap() -> int:
    """Collect the sandboxes' orphaned helpers; returns how many."""
    me, reaped = os.getpid(), 0
    with _lock:
        now = processes()
        _started.intersection_update(p.pid for p in now)
        for proc in now:
            if proc.name == "bwrap" and proc.state == "Z" and \
                    proc.ppid == me and proc.pid not in _started:
                try:
                    os.waitpid(proc.pid, os.WNOHANG)
                    reaped += 1
                except ChildProcessError:
                    pass
    return reaped


def descendant(pid: int, names: tuple) -> Optional[int]:
    """The PID of the first process below @pid whose name is one of @names
    (the emulator inside its sandbox, to signal it alone), or None."""
    now = processes()
    todo = [p for p in now if p.ppid == pid]
    while todo:
        proc = todo.pop(0)
        if proc.name in names:
            return proc.pid
        todo += [p for p in now if p.ppid == proc.pid]
    return None
