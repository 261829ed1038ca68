#!/usr/bin/python3
"""Describe a lesson's patchable parameters as JSON.

A parameter is a global symbol named `param_*` with a size (NASM:
`global param_rule:data 1`; C: any sized object). Its byte offset in the disk
image is its load address minus the address the ELF's first byte is loaded
at (the lowest load address of its sections), plus where the ELF's bytes
start in the image: at 0 for a boot sector, at sector LOAD_LBA for a
program behind the disk loader (KIT.json, the build's copy of
common/include/layout.h). Students, instructors and the harness change a
parameter by writing new bytes at that offset, with no assembler needed.

Usage: params.py ELF IMAGE OUTPUT.json [KIT.json]
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from symbols import image_base, load_offset, read_symbols  # noqa: E402


def main() -> int:
    if len(sys.argv) not in (4, 5):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    elf, image_path, out = sys.argv[1:4]
    load, file_offset = image_base(elf), 0
    if len(sys.argv) == 5:
        with open(sys.argv[4]) as f:
            layout = json.load(f)
        file_offset = layout["LOAD_LBA"] * layout["SECTOR_SIZE"]
    with open(image_path, "rb") as f:
        image = f.read()
    params = []
    for name, (value, size) in sorted(read_symbols(elf).items(),
                                      key=lambda item: item[1][0]):
        if not name.startswith("param_"):
            continue
        if size == 0:
            print(f"{elf}: {name} has no size (NASM: global {name}:data N)",
                  file=sys.stderr)
            return 1
        offset = load_offset(elf, value) - load + file_offset
        raw = image[offset:offset + size]
        entry = {"name": name[len("param_"):], "offset": offset, "size": size}
        if size in (1, 2, 4, 8):
            entry["type"] = "uint"
            entry["default"] = int.from_bytes(raw, "little")
        else:
            entry["type"] = "ascii"
            entry["default"] = raw.decode("ascii")
        params.append(entry)
    with open(out, "w") as f:
        json.dump({"image": os.path.basename(image_path), "params": params},
                  f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
