"""GDB helpers for debugging the kit's lessons on QEMU, from the boot sector
to long mode.

Load it into GDB with `source harness/gdb/kit.py` (`make debug` does, see
harness/kit/debug.py). It needs GDB's Python support (Debian's gdb has it).

The problem it solves: the CPU of a lesson changes mode under GDB's feet.
It starts in 16-bit real mode, where addresses are CS*16+IP; lesson 02
switches to 32-bit protected mode; lesson 03 to 64-bit long mode. GDB
decodes instructions with one fixed architecture, and QEMU's GDB stub always
describes the CPU as x86-64, so out of the box every boot sector is
disassembled as 64-bit code, and `set architecture i8086` is refused.
kit.py follows the CPU instead: each time it stops, `kit-sync` asks QEMU
(`monitor info registers`) for CR0, EFER and the CS descriptor and switches
GDB to the matching architecture:

    real mode / 16-bit code   realmode.xml (next to this file) + i8086
    32-bit protected mode     realmode.xml + i386
    64-bit long mode          QEMU's own description      + i386:x86-64

Commands (each has `help kit-...` in GDB):
    kit-mode [auto|16|32|64]   show or force the mode GDB decodes in
    kit-sync                   follow the CPU's mode now (runs at each stop)
    kit-where                  mode, CS:IP and linear address, next instruction
    kit-regs                   CS:IP/RIP, CR0, CR3, CR4, EFER, GDTR and IDTR
    kit-break SEG:OFF|SYMBOL   breakpoint at SEG*16+OFF or at any symbol
    kit-ni                     step over a call or an `int` in real mode
"""
import os
import re

import gdb

HERE = os.path.dirname(os.path.abspath(__file__))
REALMODE_XML = os.path.join(HERE, "realmode.xml")

CR0_PE = 1 << 0
EFER_LMA = 1 << 10
DESC_L = 1 << 21        # CS descriptor, high dword: 64-bit code segment
DESC_DB = 1 << 22       # CS descriptor, high dword: 32-bit code segment
EFLAGS_VM = 1 << 17     # virtual-8086 mode: 16-bit code with PE set

ARCH = {16: "i8086", 32: "i386", 64: "i386:x86-64"}
NAMES = {16: "16-bit code (real mode)", 32: "32-bit protected mode",
         64: "64-bit long mode"}

state = {"forced": None, "current": None}


def _cpu() -> dict:
    """CR0, EFER, EFLAGS, CS and its descriptor flags, from QEMU's monitor
    (the flags say whether CS is a 16-, 32- or 64-bit segment, which no GDB
    register does). Falls back on GDB's registers for other stubs."""
    try:
        text = gdb.execute("monitor info registers", to_string=True)
    except gdb.error:
        text = ""
    cs = re.search(r"^CS =([0-9a-f]{4}) ([0-9a-f]+) [0-9a-f]+ ([0-9a-f]+)",
                   text, re.M)
    regs = {}
    for name, pattern in (("cr0", r"CR0=([0-9a-f]+)"),
                          ("efer", r"EFER=([0-9a-f]+)"),
                          ("eflags", r"EFL=([0-9a-f]+)")):
        m = re.search(pattern, text)
        if m:
            regs[name] = int(m.group(1), 16)
    if cs:
        regs["cs"] = int(cs.group(1), 16)
        regs["cs_base"] = int(cs.group(2), 16)
        regs["cs_flags"] = int(cs.group(3), 16)
    for name in ("cr0", "efer", "eflags", "cs"):
        if name not in regs:
            try:
                regs[name] = int(gdb.parse_and_eval(f"${name}"))
            except gdb.error:
                regs[name] = 0
    return regs


def _mode(regs: dict) -> int:
    """16, 32 or 64: the width of the code the CPU executes now."""
    if not regs["cr0"] & CR0_PE or regs["eflags"] & EFLAGS_VM:
        return 16
    flags = regs.get("cs_flags")
    if regs["efer"] & EFER_LMA and (flags is None or flags & DESC_L):
        return 64
    if flags is not None and not flags & DESC_DB:
        return 16       # e.g. right after `mov cr0, eax`, before the far jmp
    return 32


def _pc_register() -> str:
    return "rip" if state["current"] == 64 else "eip"


def _apply(mode: int) -> None:
    """Make GDB decode @mode-bit code (see the module docstring)."""
    if mode == state["current"]:
        return
    if mode == 64:
        # Auto first: with an architecture chosen by hand, GDB would reject
        # QEMU's x86-64 description when it fetches it again.
        gdb.execute("set architecture auto", to_string=True)
        gdb.execute("unset tdesc filename", to_string=True)
    else:
        if state["current"] in (None, 64):
            gdb.execute(f"set tdesc filename {REALMODE_XML}", to_string=True)
        gdb.execute(f"set architecture {ARCH[mode]}", to_string=True)
    # Addresses in packets to QEMU keep all 64 bits even while GDB decodes
    # 16- or 32-bit code: a breakpoint in the higher-half kernel
    # (0xffffffff8...) set from real mode must not be cut to 32 bits.
    gdb.execute("set remoteaddresssize 64", to_string=True)
    state["current"] = mode


def _linear(regs: dict) -> int:
    """The linear address of the next instruction: CS base + IP."""
    ip = int(gdb.parse_and_eval(f"${_pc_register()}"))
    base = regs.get("cs_base")
    if base is None:
        base = regs["cs"] * 16 if _mode(regs) == 16 else 0
    return base + ip


def _print_next(regs: dict) -> None:
    linear = _linear(regs)
    ip = int(gdb.parse_and_eval(f"${_pc_register()}"))
    insn = gdb.selected_inferior().architecture().disassemble(linear)[0]
    print(f"kit: {NAMES[state['current']]}, CS:IP={regs['cs']:04x}:{ip:04x}"
          f" linear {linear:#x}: {insn['asm']}")


class KitPrefix(gdb.Command):
    """The kit's helpers for debugging lessons on QEMU (harness/gdb/kit.py).

kit-mode [auto|16|32|64]  show or force the mode GDB decodes in
kit-sync                  follow the CPU's mode now (runs at each stop)
kit-where                 mode, CS:IP and linear address, next instruction
kit-regs                  CS:IP/RIP, CR0, CR3, CR4, EFER, GDTR and IDTR
kit-break SEG:OFF|SYMBOL  breakpoint at SEG*16+OFF or at any symbol
kit-ni                    step over a call or an `int` in real mode"""

    def __init__(self):
        super().__init__("kit", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        print(self.__doc__)


class KitMode(gdb.Command):
    """Show or choose how GDB decodes instructions and registers.

kit-mode        show the current mode
kit-mode auto   follow the CPU at every stop (the default)
kit-mode 16     real mode / 16-bit code (i8086, realmode.xml)
kit-mode 32     32-bit protected mode (i386, realmode.xml)
kit-mode 64     64-bit long mode (i386:x86-64, QEMU's description)

Before `target remote`, `kit-mode 16` selects realmode.xml so that GDB
accepts QEMU's registers for the first stop at the reset vector."""

    def __init__(self):
        super().__init__("kit-mode", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if not arg:
            how = "forced" if state["forced"] else "auto"
            current = state["current"]
            print(f"kit: decoding as {NAMES.get(current, 'nothing yet')} "
                  f"({how})")
            return
        if arg == "auto":
            state["forced"] = None
            if gdb.selected_inferior().pid:
                _apply(_mode(_cpu()))
        elif arg in ("16", "32", "64"):
            state["forced"] = int(arg)
            _apply(int(arg))
        else:
            raise gdb.GdbError("kit-mode: say auto, 16, 32 or 64")
        if from_tty:
            self.invoke("", from_tty)


class KitSync(gdb.Command):
    """Switch GDB to the CPU's current mode (16-, 32- or 64-bit code).

Runs by itself each time the CPU stops (hook-stop), before GDB shows
where it stopped, and says so when the mode changed. In real mode with a
CS other than 0 (in the BIOS, for instance) GDB's own "stopped at" address
is IP alone; kit-sync then also prints the instruction at CS*16+IP."""

    def __init__(self):
        super().__init__("kit-sync", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        if not gdb.selected_inferior().pid:
            return
        regs = _cpu()
        before = state["current"]
        mode = state["forced"] or _mode(regs)
        _apply(mode)
        if before is not None and mode != before:
            print(f"kit: the CPU is now in {NAMES[mode]}: decoding as "
                  f"{ARCH[mode]}")
        if mode == 16 and _linear(regs) != int(
                gdb.parse_and_eval(f"${_pc_register()}")):
            _print_next(regs)


class KitWhere(gdb.Command):
    """Where the CPU is: its mode, CS:IP, the linear address and the
instruction there (decoded for that mode, whatever CS is)."""

    def __init__(self):
        super().__init__("kit-where", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        regs = _cpu()
        _apply(state["forced"] or _mode(regs))
        _print_next(regs)


class KitRegs(gdb.Command):
    """The registers that say what state the CPU is in: CS:IP, the control
registers with their bits named, EFER, and the GDT and IDT registers
(which GDB cannot read; they come from QEMU's `info registers`)."""

    def __init__(self):
        super().__init__("kit-regs", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        text = gdb.execute("monitor info registers", to_string=True)
        wanted = ("EIP=", "RIP=", "CS =", "SS =", "DS =", "GDT=", "IDT=",
                  "CR0=", "EFER=")
        for line in text.replace("\r", "").splitlines():
            if line.startswith(wanted):
                print(line)
        regs = _cpu()
        bits = [name for bit, name in ((0, "PE"), (16, "WP"), (31, "PG"))
                if regs["cr0"] >> bit & 1]
        print(f"kit: {NAMES[_mode(regs)]}; CR0: {' '.join(bits) or '-'} "
              f"(of PE WP PG); EFER.LMA={regs['efer'] >> 10 & 1}")


class KitBreak(gdb.Command):
    """kit-break SEG:OFF | SYMBOL - a breakpoint at a real-mode address or
at any symbol of the lesson.

SEG:OFF: QEMU matches breakpoints against linear addresses, so this sets
`break *(SEG*16+OFF)`: kit-break 0x07c0:0 and kit-break 0:0x7c00 are the
same place.
SYMBOL: any name the ELF files define, also NASM labels that GDB's `break`
refuses ("Function not defined": labels in a data section, or local
labels such as _start.no_a20)."""

    def __init__(self):
        super().__init__("kit-break", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        m = re.fullmatch(r"(\w+):(\w+)", arg)
        if m:
            seg, off = (int(x, 0) for x in m.groups())
            gdb.execute(f"break *{seg * 16 + off:#x}")
            return
        if not arg:
            raise gdb.GdbError("usage: kit-break SEG:OFF | SYMBOL")
        try:
            text = gdb.execute(f"info address {arg}", to_string=True)
        except gdb.error as exc:
            raise gdb.GdbError(f"kit-break: {exc}")
        where = re.search(r"\bat (?:address )?(0x[0-9a-f]+)", text)
        if not where:
            raise gdb.GdbError(f"kit-break: no address for {arg}: {text}")
        gdb.execute(f"break *{where.group(1)}")


class KitNi(gdb.Command):
    """Step over the next instruction; in real mode, also over `int` and
`call` whose CS is not 0, by running to the linear address after them.

GDB's own `nexti` steps into a BIOS service (`int 0x10`), and in real mode
with CS other than 0 it computes the return address from IP alone."""

    def __init__(self):
        super().__init__("kit-ni", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        regs = _cpu()
        if (state["forced"] or _mode(regs)) != 16:
            gdb.execute("nexti", from_tty)
            return
        linear = _linear(regs)
        insn = gdb.selected_inferior().architecture().disassemble(linear)[0]
        if re.match(r"\s*(call|int|rep|loop)", insn["asm"]):
            gdb.execute(f"tbreak *{linear + insn['length']:#x}",
                        to_string=True)
            gdb.execute("continue", from_tty)
        else:
            gdb.execute("stepi", from_tty)


for command in (KitPrefix, KitMode, KitSync, KitWhere, KitRegs, KitBreak,
                KitNi):
    command()

# Before GDB prints where it stopped, make it decode in the CPU's mode.
gdb.execute("define hook-stop\nkit-sync\nend")
