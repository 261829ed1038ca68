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


def load_offset(elf: str, address: int) -> int:
    """Where @address (a link-time address, VMA) is loaded (LMA).

    The same for most sections; different in a higher-half kernel, whose
    sections run at 0xFFFFFFFF8xxxxxxx but are loaded low (kernel64.ld).
    """
    out = subprocess.run(["objdump", "-h", elf], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[0].isdigit():
            size, vma, lma = (int(f, 16) for f in fields[2:5])
            if vma <= address < vma + size:
                return address - vma + lma
    return address


def image_base(elf: str) -> int:
    """The address the first byte of `objcopy -O binary @elf` is loaded at:
    the lowest load address (LMA) of the sections objcopy copies (those
    with contents that are loaded; not .bss, not the debugging sections)."""
    out = subprocess.run(["objdump", "-h", elf], check=True,
                         capture_output=True, text=True).stdout.splitlines()
    bases = []
    for line, flags in zip(out, out[1:]):
        fields = line.split()
        if len(fields) >= 6 and fields[0].isdigit() and \
                int(fields[2], 16) and "LOAD" in flags.split(", "):
            bases.append(int(fields[4], 16))
    return min(bases)
