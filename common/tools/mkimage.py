#!/usr/bin/python3
"""Join the disk loader and a lesson's program into one bootable disk image.

Sector 0 is the loader (common/boot/loader.asm); the program follows from
sector 1, padded to whole sectors. The loader learns how many sectors to read
from its `loader_sectors` word, which this script patches; a program larger
than `loader_max_sectors` is refused here, at build time, instead of
half-loading at boot.

Usage: mkimage.py LOADER.elf LOADER.bin PROGRAM.bin OUTPUT.img
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from symbols import image_base, read_symbols  # noqa: E402

SECTOR = 512


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    loader_elf, loader_bin, program_bin, out = sys.argv[1:]
    symbols = read_symbols(loader_elf)
    offset = symbols["loader_sectors"][0] - image_base(loader_elf)
    limit = symbols["loader_max_sectors"][0]
    with open(loader_bin, "rb") as f:
        loader = bytearray(f.read())
    with open(program_bin, "rb") as f:
        program = f.read()
    sectors = (len(program) + SECTOR - 1) // SECTOR
    if sectors > limit:
        print(f"{program_bin}: image too large: the program needs {sectors} "
              f"sectors ({len(program)} bytes) but the loader can load at "
              f"most {limit} ({limit * SECTOR} bytes)", file=sys.stderr)
        return 1
    struct.pack_into("<H", loader, offset, sectors)
    with open(out, "wb") as f:
        f.write(bytes(loader) + program.ljust(sectors * SECTOR, b"\0"))
    print(f"{out}: loader + {sectors} sectors ({len(program)} bytes, "
          f"limit {limit} sectors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
