"""Read an ELF file's symbols (name, value, size) with binutils' nm.

Shared by the build tools: mkimage.py finds the loader's patchable sector
count with it, params.py every `param_*` symbol of a lesson.
"""
import subprocess


def read_symbols(elf: str) -> dict:
    """Return {name: (value, size)} for every symbol nm -S lists in @elf."""
    out = subprocess.run(["nm", "-S", elf], check=True, capture_output=True,
                         text=True).stdout
    symbols = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4:            # value size type name
            symbols[fields[3]] = (int(fields[0], 16), int(fields[1], 16))
        elif len(fields) == 3:          # value type name (no size)
            symbols[fields[2]] = (int(fields[0], 16), 0)
    return symbols
