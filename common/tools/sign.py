#!/usr/bin/python3
"""Turn a flat binary into a boot sector: pad to 510 bytes, append 0x55 0xAA.

The BIOS only boots a sector whose last two bytes are 0x55 0xAA, so code and
data get 510 bytes at most. A larger program is a build error that says by how
much it is too large (the idea of xv6's sign.pl).

Usage: sign.py INPUT.bin OUTPUT.bin
"""
import sys

LIMIT = 510


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        code = f.read()
    if len(code) > LIMIT:
        print(f"{src}: boot sector too large: {len(code)} bytes of code and "
              f"data, at most {LIMIT} fit ({len(code) - LIMIT} too many)",
              file=sys.stderr)
        return 1
    with open(dst, "wb") as f:
        f.write(code.ljust(LIMIT, b"\0") + b"\x55\xaa")
    print(f"{dst}: boot sector: {len(code)} of {LIMIT} bytes used")
    return 0


if __name__ == "__main__":
    sys.exit(main())
