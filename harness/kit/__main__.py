"""Command line of the harness library: `make run` and `make bench` land here.

    python3 -m kit run [--lesson NN] [--emu qemu|bochs] [--guest NN] [--hold]
                       [--params "NAME=VALUE ..."] [--guest-params "..."]
                       [--cpus N] [--memory MIB]
    python3 -m kit bench [--runs N]
    python3 -m kit debug [--lesson NN] [--emu qemu|bochs] [--batch FILE]
                         [--params "..."] [--cpus N] [--memory MIB]
    python3 -m kit screenshots [--out DIR]       (make screenshots)
    python3 -m kit docs [--out DIR] [--no-screenshots]   (make docs)
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from . import emu, emulators, lessons, machine_args
from .emulators.base import kit_constants

DEPS = lessons.ROOT / "common" / "tools" / "deps.sh"


def ensure_emulator(name: str) -> None:
    """Install (or name) what @name needs, or exit with deps.sh's message."""
    if subprocess.run(["sh", str(DEPS), "ensure", name]).returncode != 0:
        sys.exit(1)


def pick_display(emulator: str) -> tuple[str, bool]:
    """(display, takes_terminal): a window when there is a display, the
    terminal when there is one, otherwise nothing at all."""
    window = bool(os.environ.get("DISPLAY") or
                  os.environ.get("WAYLAND_DISPLAY"))
    terminal = sys.stdin.isatty() and sys.stdout.isatty()
    return emulators.runner(emulator).display(window, terminal)


def cmd_run(args) -> int:
    lesson = lessons.find(args.lesson)
    emulator = args.emu or lesson.emulators[0]
    if emulator not in emu.EMULATORS:
        sys.exit(f"run: EMU={emulator}: choose {' or '.join(emu.EMULATORS)}")
    if emulator not in lesson.emulators:
        needs = f" needs {', '.join(sorted(lesson.needs))} and" \
            if lesson.needs else ""
        sys.exit(f"run: lesson {lesson.number}{needs} runs on "
                 f"{' and '.join(lesson.emulators)} only: use "
                 f"EMU={lesson.emulators[0]}")
    if not lesson.image.exists():
        sys.exit(f"run: {lesson.image} is missing: run make first")
    setup = machine_args.setup(lesson, args.params, args.cpus, args.memory,
                               "run")
    image, host, what, guest_params = lesson.image, None, lesson.name, {}
    if lesson.guests:                # a hypervisor: boot a lesson under it
        number = args.guest or lesson.guests[0]
        if number not in lesson.guests:
            sys.exit(f"run: GUEST={number}: lesson {lesson.number} hosts "
                     f"lessons {', '.join(lesson.guests)}")
        guest = lessons.find(number)
        if not guest.image.exists():
            sys.exit(f"run: {guest.image} is missing: run make first")
        guest_params = machine_args.parse_params(
            args.guest_params, guest, "GUEST_PARAMS", "run")
        image, host = guest.image, lesson.image
        what = f"{guest.name} under {lesson.name}"
    elif args.guest or args.guest_params:
        hosts = [l.number for l in lessons.all_lessons() if l.guests]
        option = "GUEST=" if args.guest else "GUEST_PARAMS="
        sys.exit(f"run: {option} is for a lesson that boots others as its "
                 f"guest: LESSON={' or '.join(hosts) or '(none)'}")
    ensure_emulator(emulator)        # everything typed is right: install
    display, takes_terminal = pick_display(emulator)
    if args.hold and not emulators.runner(emulator).can_hold:
        holders = [r.name for r in emulators.RUNNERS.values() if r.can_hold]
        sys.exit(f"run: HOLD=1 works with {', '.join(holders)} only")
    machine = setup.describe(args.params) + (
        f", GUEST_PARAMS {args.guest_params.strip()}" if guest_params else "")
    print(f"run: booting {what} on {emulator}{machine} (screen: {display}); "
          f"{emulators.runner(emulator).quit_hint(display)}.",
          flush=True)
    # emu.boot() patches the image it boots: the lesson's, or under a
    # hypervisor the guest's; the hypervisor's own PARAMS go into a copy.
    boot_params = setup.params if host is None else guest_params
    work = Path(tempfile.mkdtemp(prefix="kit-run-"))
    try:
        if setup.params and host is not None:
            host = machine_args.patched_copy(host, lesson, setup.params, work)
        return run_boot(args, lesson, emulator, image, host, what, display,
                        takes_terminal, setup, boot_params)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_boot(args, lesson, emulator, image, host, what, display,
             takes_terminal, setup, params) -> int:
    """Boot what cmd_run() chose, show it, and say how it ended."""
    def echo(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    interactive = takes_terminal or display in ("gtk", "x", "sdl2")
    result = emu.boot(
        image, emulator, **lesson.boot_options, display=display, host=host,
        interactive=interactive, cpus=setup.cpus,
        memory_mib=setup.memory_mib,
        params=params or None,
        timeout=None if interactive else args.timeout,
        debug_exit=not args.hold, keep=True,
        on_serial=None if takes_terminal else echo)
    if takes_terminal:               # the screen was ours: show COM1 now
        print("\n--- COM1 ---\n" + (result.host["serial"] if host else
                                     result.serial), end="")
    if args.hold and result.outcome == "reset" and result.status is not None:
        result.outcome = "pass" if result.status == 0 else "fail"
        result.diagnosis = "powered off, screen held until the window closed"
    print(f"\nrun: {what} on {emulator}: {result.diagnosis}")
    if not result.passed:            # keep what explains it
        if result.registers:
            print(f"run: CPU: {emu.cpu_state_line(result.registers)}")
        saved = emu.save_log(result, lesson.build / "last-run.log")
        if saved:
            print(f"run: {emulator}'s whole log of this boot: {saved}")
    shutil.rmtree(result.workdir or "", ignore_errors=True)
    return 0 if result.passed else 1


def floor_image(directory: Path) -> Path:
    """A sector that powers off at once: the fastest boot an emulator has."""
    src = directory / "floor.asm"
    power = kit_constants("power.h")        # the ports the kit's power-off uses
    src.write_text(f"""\
        bits 16
        org 0x7C00
        mov al, {power['DEBUG_EXIT_PASS']:#x}  ; QEMU isa-debug-exit: pass
        out {power['DEBUG_EXIT_PORT']:#x}, al
        mov dx, {power['BOCHS_SHUTDOWN_PORT']:#x} ; Bochs: "Shutdown"
        mov si, magic
.next:  lodsb
        out dx, al
        test al, al
        jnz .next
        cli
        hlt
magic:  db "Shutdown", 0
        times 510 - ($ - $$) db 0
        dw 0xAA55
""")
    out = directory / "floor.img"
    subprocess.run(["nasm", "-f", "bin", "-o", str(out), str(src)], check=True)
    return out


ROUND_TRIP = re.compile(r"(\d+) null hypercalls, mean round trip (\d+) TSC")


def guest_note(serial: str) -> int | None:
    """What the guest measured itself (lesson 06: ticks per hypercall)."""
    trip = ROUND_TRIP.search(serial)
    return int(trip[2]) if trip else None


def hosted_bench(runs: int) -> None:
    """Each guest of a hypervisor lesson (07, 09), booted natively and
    under the hypervisor in alternation: the median times, their ratio
    (target: within 1.5x of native), and the exits by reason."""
    target = 1.5
    for host in [l for l in lessons.all_lessons() if l.guests]:
        emulator = host.emulators[0]
        why = emu.have(emulator)
        if why:
            print(f"\nbench: {host.name} skipped: {why}")
            continue
        print(f"\n{host.name}: each guest natively and under the "
              f"hypervisor on {emulator}, median of {runs} "
              f"(target: within {target}x of native)\n")
        print(f"{'guest':<22} {'native s':>9} {'hosted s':>9} {'ratio':>6}"
              "  exits under the hypervisor")
        for number in host.guests:
            guest = lessons.find(number)
            native, hosted, exits = [], [], {}
            for _ in range(runs):
                native.append(emu.boot(guest.image, emulator, cpu=host.cpu,
                                       timeout=60).seconds)
                result = emu.boot(guest.image, emulator, host=host.image,
                                  cpu=host.cpu, timeout=60)
                hosted.append(result.seconds)
                exits = result.host["exits"] if result.passed else \
                    {"(failed)": 0}
            a, b = statistics.median(native), statistics.median(hosted)
            flag = " over target" if b / a > target else ""
            shown = " ".join(f"{k}={v}" for k, v in exits.items())
            print(f"{guest.name:<22} {a:>9.3f} {b:>9.3f} {b / a:>6.2f}"
                  f"{flag}  {shown}")


def cmd_bench(args) -> int:
    """Boot the floor and every lesson in rounds (one boot of each per
    round), so that a slow moment of the machine hits them all alike."""
    target = 1.25
    rows = []
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as tmp:
        floor = floor_image(Path(tmp))
        for emulator in emu.EMULATORS:
            why = emu.have(emulator)
            if why:
                print(f"bench: {emulator} skipped: {why}")
                continue
            images = [("floor", floor)] + [
                (lesson.name, lesson) for lesson in lessons.all_lessons()
                if emulator in lesson.emulators and not lesson.guests]
            times = {name: [] for name, _ in images}
            notes = {name: [] for name, _ in images}
            outcomes = {}
            for _ in range(args.runs):
                for name, what in images:
                    image, options = (what, {}) if name == "floor" else \
                        (what.image, what.boot_options)
                    result = emu.boot(image, emulator, timeout=60, **options)
                    times[name].append(result.seconds)
                    outcomes[name] = result.outcome
                    note = guest_note(result.serial)
                    if note is not None:
                        notes[name].append(note)
            base = statistics.median(times["floor"])
            for name, _ in images:
                secs = statistics.median(times[name])
                note = (f"VM1: {statistics.median(notes[name])} TSC ticks "
                        "per null hypercall" if notes[name] else "")
                if name != "floor" and outcomes[name] != "pass":
                    note = f"({outcomes[name]}) {note}"
                rows.append((name, emulator, secs, secs / base, note))
    print(f"\nMedian of {args.runs} rounds, emulator start to power-off "
          f"(target: within {target}x of the floor)\n")
    print(f"{'lesson':<22} {'emulator':<8} {'median s':>9} {'x floor':>8}")
    worst = 1.0
    for name, emulator, secs, ratio, note in rows:
        flag = " over target" if ratio > target else ""
        print(f"{name:<22} {emulator:<8} {secs:>9.3f} {ratio:>8.2f}"
              f"{flag} {note}".rstrip())
        worst = max(worst, ratio)
    print(f"\nworst ratio: {worst:.2f}x (target {target}x)")
    hosted_bench(args.runs)
    print("TSC ticks on Bochs count emulated instructions, not cycles: "
          "see lessons/06-vmcall/README.md.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="kit")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="boot one lesson")
    run.add_argument("--lesson", default="")
    run.add_argument("--emu", default="")
    run.add_argument("--guest", default="",
                     help="the lesson a hypervisor lesson boots as its guest")
    run.add_argument("--hold", action="store_true",
                     help="QEMU: keep the final screen until the window closes")
    run.add_argument("--timeout", type=float, default=120.0,
                     help="seconds before a non-interactive run is a hang")
    run.add_argument("--guest-params", default="", metavar="'NAME=VALUE ...'",
                     help="the same for the guest of a hypervisor lesson")
    bench = sub.add_parser("bench", help="time every lesson against the floor")
    bench.add_argument("--runs", type=int, default=7)
    shots = sub.add_parser("screenshots", help="each lesson's last screen")
    shots.add_argument("--out", default="build/docs/screenshots")
    docs = sub.add_parser("docs", help="build the book with doxygen")
    docs.add_argument("--out", default="build/docs")
    docs.add_argument("--no-screenshots", action="store_true",
                      help="keep the screenshots already in OUT/screenshots")
    debug = sub.add_parser("debug", help="a lesson under GDB (QEMU) or "
                           "Bochs' debugger")
    debug.add_argument("--lesson", default="")
    debug.add_argument("--emu", default="")
    debug.add_argument("--batch", metavar="FILE",
                       help="run these GDB commands in batch mode (tests)")
    debug.add_argument("--timeout", type=float, default=30.0,
                       help="seconds a --batch session may take")
    for command in (run, debug):
        command.add_argument("--params", default="",
                             metavar="'NAME=VALUE ...'",
                             help="patch the lesson's parameters (its "
                             "README's table)")
        command.add_argument("--cpus", default="", help="processors (1-8)")
        command.add_argument("--memory", default="",
                             help="MiB of RAM (16-2048)")
    args = parser.parse_args()
    if args.command == "debug":
        from . import debug as debugger
        return debugger.main(args.lesson, args.emu, args.batch, args.timeout,
                             ensure_emulator, args.params, args.cpus,
                             args.memory)
    if args.command == "screenshots":
        from . import screenshots
        return screenshots.main(args.out)
    if args.command == "docs":
        from . import docs as book
        return book.main(args.out, False if args.no_screenshots else None)
    return cmd_run(args) if args.command == "run" else cmd_bench(args)


if __name__ == "__main__":
    sys.exit(main())
