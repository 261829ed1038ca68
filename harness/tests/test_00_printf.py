"""Host-side unit test of common/printf.c, the kit's freestanding printf.

Every lesson prints through kprintf(), and the harness reads what the guests
print, so a formatting bug would make every later test lie. This module runs
before all others: it compiles common/printf.c for the host as a shared
library, together with a stub kputc() that records characters in a buffer,
loads it with ctypes and compares ksnprintf() with Python's own % operator,
which follows C's printf for the conversions the kit supports.

Arguments are always passed as explicit ctypes objects (c_int, c_longlong,
...): a C variadic function reads each argument with the type the format
names, so the caller must pass exactly that type.
"""

import ctypes
import random
import re
import shutil
import subprocess
from ctypes import (c_char_p, c_int, c_long, c_longlong, c_size_t, c_ssize_t,
                    c_uint, c_ulong, c_ulonglong, c_void_p)
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
PRINTF_C = REPO / "common" / "printf.c"
INCLUDE = REPO / "common" / "include"

PTR_DIGITS = 2 * ctypes.sizeof(c_void_p)

# Stands in for common/kputc.c: collect what kprintf() would put on COM1.
KPUTC_STUB = r"""
#include <stddef.h>

char kputc_buf[8192];
size_t kputc_len;

void kputc(char c)
{
	if (kputc_len < sizeof(kputc_buf))
		kputc_buf[kputc_len++] = c;
}
"""


def need_tool(name):
    """Return the path of a host tool, failing (not skipping) without it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"'{name}' not found on PATH: the printf unit test "
                    f"compiles common/printf.c on the host. Install it "
                    f"(Debian: apt-get install gcc binutils).", pytrace=False)
    return path


def run_gcc(args):
    """Run gcc; on failure, fail the test showing gcc's own messages."""
    cmd = [need_tool("gcc"), *map(str, args)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        pytest.fail(f"gcc failed:\n  {' '.join(cmd)}\n{res.stderr}",
                    pytrace=False)
    return res


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """common/printf.c and the kputc stub, built as a host shared library."""
    out = tmp_path_factory.mktemp("printf")
    stub = out / "kputc_stub.c"
    stub.write_text(KPUTC_STUB)
    so = out / "libkprintf.so"
    run_gcc(["-shared", "-fPIC", "-O1", f"-I{INCLUDE}",
             PRINTF_C, stub, "-o", so])
    library = ctypes.CDLL(str(so))
    library.ksnprintf.restype = c_int
    library.kprintf.restype = c_int
    return library


def ksnprintf(lib, fmt, *args, size=1024):
    """Call ksnprintf() into a fresh buffer; return (return value, text)."""
    buf = ctypes.create_string_buffer(size)
    n = lib.ksnprintf(buf, c_size_t(size), fmt.encode(), *args)
    return n, buf.value.decode("latin-1")


# One conversion specification, in the grammar printf.c accepts.
SPEC = re.compile(r"%([-0]*)(\*|\d*)(ll|l|hh|h|z)?([diuxXcsp%])")
MODIFIER_BITS = {"h": 16, "hh": 8}


def reference(fmt, *args):
    """What C's printf prints for fmt and the ctypes args, via Python's %.

    Python's %d/%x know no C types: C's %u or %x of a negative argument is
    its unsigned reinterpretation, and %hd/%hhd first cut the value to a
    short/char, so both are done here before Python formats the number.
    """
    args = list(args)

    def one(match):
        flags, width, modifier, conv = match.groups()
        if conv == "%":
            return "%"
        py_args = [args.pop(0).value] if width == "*" else []
        arg = args.pop(0)
        if conv in "diuxX":
            bits = MODIFIER_BITS.get(modifier, 8 * ctypes.sizeof(arg))
            value = arg.value % (1 << bits)             # unsigned view
            if conv in "di" and value >= 1 << (bits - 1):
                value -= 1 << bits                      # back to signed
            py_conv = "d" if conv == "u" else conv
        elif conv == "c":
            value, py_conv = chr(arg.value), "c"
        elif conv == "s":
            value = "(null)" if arg.value is None else arg.value.decode()
            py_conv = "s"
        else:  # %p: our documented choice, "0x" and every hex digit
            value = "0x%0*x" % (PTR_DIGITS, arg.value or 0)
            py_conv = "s"
        return ("%" + flags + width + py_conv) % tuple(py_args + [value])

    return SPEC.sub(one, fmt)


def check(lib, fmt, *args):
    """Assert ksnprintf() prints what C would, and returns its length."""
    expected = reference(fmt, *args)
    n, got = ksnprintf(lib, fmt, *args)
    assert got == expected, f"format {fmt!r} args {args}"
    assert n == len(expected), f"return value for {fmt!r} args {args}"


INT_MIN, INT_MAX, UINT_MAX = -2**31, 2**31 - 1, 2**32 - 1
LONG_BITS = 8 * ctypes.sizeof(c_long)
LONG_MIN, LONG_MAX = -2**(LONG_BITS - 1), 2**(LONG_BITS - 1) - 1
LLONG_MIN, LLONG_MAX, ULLONG_MAX = -2**63, 2**63 - 1, 2**64 - 1

CASES = [
    ("plain text, no conversions", ()),
    ("", ()),
    ("%d", (c_int(0),)),
    ("%d", (c_int(42),)),
    ("%i", (c_int(-42),)),
    ("%u", (c_uint(3000000000),)),
    ("%u", (c_int(-1),)),
    ("%x", (c_uint(0xdeadbeef),)),
    ("%X", (c_uint(0xdeadbeef),)),
    ("%x", (c_int(-1),)),
    ("%c", (c_int(ord("A")),)),
    ("%s", (c_char_p(b"hello"),)),
    ("%%", ()),
    ("100%% sure", ()),
    ("%d %d", (c_int(INT_MIN), c_int(INT_MAX))),
    ("%u", (c_uint(UINT_MAX),)),
    ("%8d|%-8d|", (c_int(42), c_int(42))),
    ("%08d", (c_int(42),)),
    ("%05d", (c_int(-42),)),
    ("%-05d|", (c_int(-42),)),
    ("%0-5d|", (c_int(7),)),
    ("%2d", (c_int(12345),)),
    ("%08x %08X", (c_uint(0xbeef), c_uint(0xbeef))),
    ("%ld %ld", (c_long(LONG_MIN), c_long(LONG_MAX))),
    ("%lu %lx", (c_ulong(2**LONG_BITS - 1), c_ulong(2**LONG_BITS - 1))),
    ("%lld", (c_longlong(LLONG_MIN),)),
    ("%lld", (c_longlong(LLONG_MAX),)),
    ("%llu", (c_ulonglong(ULLONG_MAX),)),
    ("%llu", (c_ulonglong(10**19),)),
    ("%llx %llX", (c_ulonglong(0x0123456789abcdef),
                   c_ulonglong(0xfedcba9876543210))),
    ("%016llx", (c_ulonglong(0xffffffff),)),
    ("%llx", (c_ulonglong(0x100000000),)),
    ("%025lld|", (c_longlong(LLONG_MIN),)),
    ("%-25llu|", (c_ulonglong(ULLONG_MAX),)),
    ("%lli", (c_longlong(-1),)),
    ("%zu %zx", (c_size_t(2**64 - 1), c_size_t(4096))),
    ("%hd %hu %hx", (c_int(-1), c_int(-1), c_int(-1))),
    ("%hhd %hhu %hhx", (c_int(200), c_int(-1), c_int(0x1234))),
    ("%*d|", (c_int(6), c_int(42))),
    ("%*d|", (c_int(-6), c_int(42))),
    ("%0*d|", (c_int(6), c_int(-42))),
    ("%-*s|", (c_int(7), c_char_p(b"ab"))),
    ("%*s|%*s|", (c_int(0), c_char_p(b"x"), c_int(-3), c_char_p(b"y"))),
    ("%5c|%-5c|", (c_int(ord("x")), c_int(ord("y")))),
    ("%10s|%-10s|", (c_char_p(b"left"), c_char_p(b"right"))),
    ("%3s|", (c_char_p(b"longer than width"),)),
    ("%s", (c_char_p(b""),)),
    ("%5s|", (c_char_p(b""),)),
    ("%d %lld %d %s %llx %c", (c_int(1), c_longlong(-2**40), c_int(3),
                               c_char_p(b"four"), c_ulonglong(2**63),
                               c_int(ord("!")))),
]


@pytest.mark.parametrize("fmt,args", CASES, ids=[c[0] for c in CASES])
def test_matches_c_printf(lib, fmt, args):
    """ksnprintf prints this conversion, width and flags exactly as C does."""
    check(lib, fmt, *args)


@pytest.mark.parametrize("value", [0, 1, 0xdeadbeef, 0xffff800000001000,
                                   2**64 - 1])
def test_pointer_prints_all_hex_digits(lib, value):
    """%p prints 0x and every hex digit of the address, leading zeros kept."""
    value &= (1 << 4 * PTR_DIGITS) - 1
    n, got = ksnprintf(lib, "%p", c_void_p(value))
    assert got == "0x%0*x" % (PTR_DIGITS, value)
    assert n == 2 + PTR_DIGITS


def test_pointer_respects_width(lib):
    """%p takes a field width and the '-' flag like any other conversion."""
    check(lib, "[%24p] [%-24p]", c_void_p(0x1000), c_void_p(0x1000))


def test_null_string(lib):
    """%s of a NULL pointer prints (null) instead of faulting."""
    assert ksnprintf(lib, "%s", c_char_p(None)) == (6, "(null)")
    assert ksnprintf(lib, "[%8s]", c_char_p(None)) == (10, "[  (null)]")


@pytest.mark.parametrize("fmt,expected", [
    ("%q", "%q"),
    ("a%qb", "a%qb"),
    ("%-5q|", "%-5q|"),
    ("%lq", "%lq"),
    ("50%", "50%"),
    ("%", "%"),
    ("%08", "%08"),
])
def test_unknown_conversion_copied(lib, fmt, expected):
    """An unknown or unfinished conversion is printed as written."""
    assert ksnprintf(lib, fmt) == (len(expected), expected)


def test_unknown_conversion_consumes_no_argument(lib):
    """A typo in one conversion does not shift the arguments of the next."""
    assert ksnprintf(lib, "%q %d", c_int(5)) == (4, "%q 5")


FULL = "value=12345 name=hypervisor"


@pytest.mark.parametrize("size", [1, 2, 5, len(FULL) - 1, len(FULL),
                                  len(FULL) + 1, len(FULL) + 10])
def test_truncation(lib, size):
    """A short buffer gets a NUL-terminated prefix; the full length returns."""
    canary = 0x5a
    buf = ctypes.create_string_buffer(bytes([canary]) * (size + 8), size + 8)
    n = lib.ksnprintf(buf, c_size_t(size), b"value=%d name=%s",
                      c_int(12345), c_char_p(b"hypervisor"))
    assert n == len(FULL)
    kept = min(size - 1, len(FULL))
    assert buf.raw[:kept] == FULL[:kept].encode()
    assert buf.raw[kept] == 0
    assert buf.raw[kept + 1:] == bytes([canary]) * (size + 8 - kept - 1), \
        "ksnprintf wrote past the size it was given"


def test_size_zero_writes_nothing(lib):
    """With size 0, ksnprintf only measures: the buffer stays untouched."""
    buf = ctypes.create_string_buffer(b"XXXX", 4)
    assert lib.ksnprintf(buf, c_size_t(0), b"%d", c_int(12345)) == 5
    assert buf.raw == b"XXXX"
    assert lib.ksnprintf(None, c_size_t(0), b"%s!", c_char_p(b"abc")) == 4


def kputc_output(lib):
    """Everything the stub kputc() has received since the last reset."""
    length = c_size_t.in_dll(lib, "kputc_len").value
    buf = (ctypes.c_char * 8192).in_dll(lib, "kputc_buf")
    return ctypes.string_at(buf, length).decode("latin-1")


def reset_kputc(lib):
    c_size_t.in_dll(lib, "kputc_len").value = 0


def test_kprintf_sends_every_character_to_kputc(lib):
    """kprintf hands each formatted character to kputc, and counts them."""
    reset_kputc(lib)
    fmt = "cpu %d: %s rip=%p %llx%%\n"
    args = (c_int(3), c_char_p(b"ok"), c_void_p(0xfff0),
            c_ulonglong(0x123456789))
    n = lib.kprintf(fmt.encode(), *args)
    expected = reference(fmt, *args)
    assert kputc_output(lib) == expected
    assert n == len(expected)


def test_kprintf_is_not_truncated(lib):
    """kprintf prints long output whole, with no fixed buffer cutting it."""
    reset_kputc(lib)
    n = lib.kprintf(b"[%3000s]", c_char_p(b"end"))
    assert n == 3002
    assert kputc_output(lib) == "[" + " " * 2997 + "end]"


# Random specs: (length modifier, signed ctype, unsigned ctype)
MODIFIERS = [("", c_int, c_uint), ("l", c_long, c_ulong),
             ("ll", c_longlong, c_ulonglong), ("z", c_ssize_t, c_size_t),
             ("h", c_int, c_uint), ("hh", c_int, c_uint)]
FLAGS = ["", "", "-", "0", "-0", "0-", "00"]
PRINTABLE = "".join(chr(c) for c in range(32, 127))


def random_integer(rng, ctype):
    """An edge value or a random one of ctype's width (signed range)."""
    bits = 8 * ctypes.sizeof(ctype)
    low, high = -2**(bits - 1), 2**(bits - 1) - 1
    return rng.choice([0, 1, -1, low, high, rng.randint(-1000, 1000),
                       rng.randint(low, high),
                       rng.randint(-2**rng.randint(1, bits - 1), 2**31)])


def random_spec(rng):
    """One random conversion and the ctypes arguments it consumes."""
    flags, args = rng.choice(FLAGS), []
    width = rng.choice(["", "", str(rng.randint(0, 30)), "*"])
    if width == "*":
        args.append(c_int(rng.randint(-30, 30)))
    conv = rng.choice("diuxXcsp%")
    if conv == "%":
        return "%%", []
    modifier = ""
    if conv in "diuxX":
        modifier, signed, unsigned = rng.choice(MODIFIERS)
        ctype = signed if conv in "di" else unsigned
        args.append(ctype(random_integer(rng, signed)))
    elif conv == "c":
        args.append(c_int(ord(rng.choice(PRINTABLE))))
    elif conv == "s":
        text = "".join(rng.choice(PRINTABLE) for _ in range(rng.randint(0, 12)))
        args.append(c_char_p(text.encode()) if rng.random() > 0.05
                    else c_char_p(None))
    else:  # '0' with %p is undefined in C: not part of the kit's contract
        flags = flags.replace("0", "")
        args.append(c_void_p(rng.getrandbits(4 * PTR_DIGITS)))
    return "%" + flags + width + modifier + conv, args


def test_random_formats_match_c(lib):
    """Thousands of random flag/width/length/value mixes all print as in C."""
    rng = random.Random(20240501)  # fixed seed: a failure reproduces
    for _ in range(5000):
        fmt, args = "", []
        for _ in range(rng.randint(1, 4)):
            spec, spec_args = random_spec(rng)
            fmt += rng.choice(["", " ", "<", "=", "ab "]) + spec
            args += spec_args
        check(lib, fmt, *args)


@pytest.mark.parametrize("target", [
    ["-m32", "-fno-pie"],
    ["-m64", "-fno-pie", "-mno-red-zone", "-mcmodel=kernel"],
], ids=["32-bit", "64-bit"])
def test_freestanding_build_needs_only_kputc(tmp_path, target):
    """printf.c builds warning-free for the kernels and needs nothing but kputc
    (in particular no libgcc __udivdi3/__umoddi3 for 64-bit division)."""
    obj = tmp_path / "printf.o"
    run_gcc([*target, "-ffreestanding", "-nostdlib", "-fno-builtin", "-O2",
             "-Wall", "-Wextra", "-Werror", f"-I{INCLUDE}",
             "-c", PRINTF_C, "-o", obj])
    nm = subprocess.run([need_tool("nm"), "--undefined-only", str(obj)],
                        capture_output=True, text=True, check=True)
    undefined = sorted(line.split()[-1] for line in nm.stdout.splitlines())
    assert undefined == ["kputc"], \
        f"printf.o must call nothing but kputc; it needs {undefined}"
