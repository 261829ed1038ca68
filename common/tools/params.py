#!/usr/bin/python3
"""Describe a lesson's patchable parameters as JSON.

A parameter is a global symbol named `param_*` with a size (NASM:
`global param_rule:data 1`; C: any sized object). Its byte offset in the disk
image is its load address minus the address the image's first byte is
loaded at, plus where that part of the image starts in the file. Students, instructors
and the harness change a parameter by writing new bytes at that offset, with
no assembler needed.

Usage: params.py ELF IMAGE LOAD_ADDRESS FILE_OFFSET OUTPUT.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from symbols import load_offset, read_symbols  # noqa: E402


def main() -> int:
    if len(sys.argv) != 6:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    elf, image_path, load, file_offset, out = sys.argv[1:]
    load, file_offset = int(load, 0), int(file_offset, 0)
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
