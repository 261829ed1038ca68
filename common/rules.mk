# common/rules.mk - the build rules every lesson shares.
#
# A lesson Makefile says what kind of image it builds and which sources it
# adds, then includes this file:
#
#   KIND      := bootsector          # or kernel32, or kernel64 (lesson 03 on)
#   EMULATORS := qemu bochs          # which emulators can boot the lesson
#   NEEDS     :=                     # CPU features it needs (vmx), or nothing
#   SOURCES   := automaton.asm       # paths relative to the lesson folder
#   ASM_HEADERS := paging.h          # optional: C headers whose #defines the
#                                    # lesson's assembly needs too (kit.inc)
#   GUEST_BINS := vm1.bin            # optional: flat binaries assembled from
#                                    # vm1.asm, for incbin in the lesson
#   include ../../common/rules.mk
#
# EMULATORS and NEEDS are facts for the harness, which reads them from the
# Makefile with a regular expression: one assignment each, literal words
# only. The build ignores them.
#
# A lesson reuses an earlier one's code through the file that lesson
# exports it in, next to its Makefile: lessons/02-protected-mode/pm.mk
# (PM_ENTRY_SOURCES), 03-long-mode/longmode.mk (LONGMODE_SOURCES),
# 04-interrupts-apic/interrupts.mk (INTERRUPTS_SOURCES), 05-vmx/vmx.mk
# (VMX_SOURCES); each list holds everything before it too, and each
# *_ASM_HEADERS the headers its assembly needs:
#
#   include ../05-vmx/vmx.mk
#   SOURCES     := $(VMX_SOURCES) ept.c main.c
#   ASM_HEADERS := $(VMX_ASM_HEADERS) hypercall.h
#
# Everything is written to build/<lesson>/, never into the source tree:
#   disk.img      the bootable disk image
#   disk.map      the linker's map: where every symbol landed
#   *.lst         NASM listings: each instruction next to its bytes
#   *.dis         objdump disassembly (objdump -S: C source interleaved)
#   params.json   the image's patchable parameters (name, offset, size, default)
#   kit.inc       the shared headers' numbers, for NASM (common/tools/h2inc.py)
#   kit.json      the same numbers by name, for the harness: the load address
#                 and KERNEL_VMA (layout.h), the power-off statuses
#                 (power.h), the lesson's ASM_HEADERS' constants...
#   kernel.ld     from lesson 02 on: kernel32.ld or kernel64.ld, preprocessed

TOP    := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
# The lesson's Makefile and the exports it includes: what SOURCES and
# ASM_HEADERS come from.
LESSON_MAKEFILES := $(filter-out %/rules.mk,$(MAKEFILE_LIST))
LESSON_DIR := $(notdir $(CURDIR))
B      := $(TOP)/build/$(LESSON_DIR)
C      := $(TOP)/common

PYTHON  ?= /usr/bin/python3
NASM    ?= nasm
CC      := gcc
LD      := ld
OBJCOPY := objcopy
OBJDUMP := objdump
# Our images are flat binaries with no OS to enforce permissions: silence
# ld's warnings about executable stacks and RWX segments.
LDFLAGS := -m elf_i386 -z noexecstack --no-warn-rwx-segments

# Real-mode and 32-bit code are both assembled as 32-bit ELF objects (NASM's
# `bits 16` works inside them); the linker script decides the addresses.
NASMFLAGS := -f elf32 -g -F dwarf -w+all -I$(C)/boot/ -I$(CURDIR)/ -I$(B)/

# Freestanding: no C library, no startup files, nothing the compiler may call
# behind our back (no SSE, no stack protector, no position independence).
# min-pagesize=0: addresses near 0 (the BIOS data area, 0x500) are real
# memory here, not NULL-pointer bugs, so gcc must not warn about them.
CFLAGS32 := -m32 -march=i686 -std=gnu11 -O2 -g -Wall -Wextra \
	-ffreestanding -fno-builtin -fno-pic -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	-mgeneral-regs-only --param=min-pagesize=0 -I$(C)/include $(addprefix -I,$(sort $(dir $(abspath $(SOURCES))))) \
	-MMD -MP
COMMON_C := serial.c console.c kputc.c printf.c string.c power.c

# 64-bit kernels (lesson 03 on) live in the top 2 GiB (-mcmodel=kernel) and
# must not use the red zone below RSP: interrupts would overwrite it.
CFLAGS64 := $(filter-out -m32 -march=i686,$(CFLAGS32)) -m64 -mcmodel=kernel \
	-mno-red-zone

# Objects are named after their source file (a20.asm -> a20.asm.o), so names
# must be unique across a lesson and the code it reuses; vpath finds each
# source wherever it lives.
vpath %.asm $(sort $(dir $(SOURCES))) $(C)/boot
vpath %.c   $(sort $(dir $(SOURCES))) $(C)
ASM_OBJS := $(patsubst %,$(B)/%.o,$(notdir $(filter %.asm,$(SOURCES))))
C_SRCS   := $(notdir $(filter %.c,$(SOURCES)))

.PHONY: all clean
all: $(B)/disk.img $(B)/params.json $(B)/kit.json

# Constants C, assembly and the harness share are #defines (or enumerators
# with a value) in these headers; NASM reads them from the generated
# kit.inc, the harness from kit.json (see common/tools/h2inc.py).
SHARED_HEADERS := $(C)/include/serial.h $(C)/include/power.h \
	$(C)/include/x86.h $(C)/include/layout.h $(abspath $(ASM_HEADERS))

$(B)/kit.inc $(B)/kit.json: $(B)/kit.%: $(SHARED_HEADERS) $(C)/tools/h2inc.py \
		$(LESSON_MAKEFILES) | $(B)
	$(PYTHON) $(C)/tools/h2inc.py $@ $(SHARED_HEADERS)

# Dependencies come from a separate `nasm -M` pass: NASM 2.16's -MD, given
# while assembling, leaves the %include files out.
$(B)/%.asm.o: %.asm $(B)/kit.inc $(C)/rules.mk | $(B)
	@$(NASM) $(NASMFLAGS) -M -MP -MT $@ -MF $(B)/$*.asm.d $<
	$(NASM) $(NASMFLAGS) -l $(B)/$*.lst -o $@ $<

# Flat binaries a lesson embeds with incbin (lesson 06's guest): GUEST_BINS.
$(B)/%.bin: %.asm $(B)/kit.inc $(C)/rules.mk | $(B)
	$(NASM) -f bin -w+all -I$(C)/boot/ -I$(CURDIR)/ -I$(B)/ \
		-l $(B)/$*.lst -o $@ $<
$(ASM_OBJS): $(addprefix $(B)/,$(GUEST_BINS))

$(B)/%.c.o: %.c $(C)/rules.mk | $(B)
	$(CC) $(if $(filter kernel64,$(KIND)),$(CFLAGS64),$(CFLAGS32)) -c -o $@ $<

$(B):
	mkdir -p $@

ifeq ($(KIND),bootsector)
# ---- lesson 01: the whole program is the boot sector -------------------
$(B)/boot.elf: $(ASM_OBJS) $(C)/boot16.ld
	$(LD) $(LDFLAGS) -T $(C)/boot16.ld -Map $(B)/disk.map -o $@ $(ASM_OBJS)
	$(OBJDUMP) -d -M i8086 $@ > $(B)/boot.dis

$(B)/disk.img: $(B)/boot.elf $(C)/tools/sign.py
	$(OBJCOPY) -O binary $< $(B)/boot.raw
	$(PYTHON) $(C)/tools/sign.py $(B)/boot.raw $@

$(B)/params.json: $(B)/disk.img $(C)/tools/params.py
	$(PYTHON) $(C)/tools/params.py $(B)/boot.elf $< $@

else ifneq ($(filter kernel32 kernel64,$(KIND)),)
# ---- lesson 02 on: disk loader in sector 0, the program after it -------
# kernel32: real mode, then 32-bit C (lesson 02). kernel64: the same start,
# then a 64-bit C kernel in the higher half (lesson 03 on): its assembly is
# assembled as 64-bit ELF (`bits 16` and `bits 32` still work inside).
ifeq ($(KIND),kernel64)
KERNEL_LDFLAGS := -m elf_x86_64 -z noexecstack --no-warn-rwx-segments \
	-z max-page-size=0x1000 -T $(B)/kernel.ld
$(ASM_OBJS): NASMFLAGS := $(subst -f elf32,-f elf64,$(NASMFLAGS))
else
KERNEL_LDFLAGS := $(LDFLAGS) -T $(B)/kernel.ld
endif
OBJS := $(ASM_OBJS) $(patsubst %,$(B)/%.o,$(C_SRCS) $(COMMON_C))

$(B)/loader.elf: $(B)/loader.asm.o $(C)/boot16.ld
	$(LD) $(LDFLAGS) -T $(C)/boot16.ld -Map $(B)/loader.map -o $@ $<
	$(OBJDUMP) -d -M i8086 $@ > $(B)/loader.dis

$(B)/loader.bin: $(B)/loader.elf $(C)/tools/sign.py
	$(OBJCOPY) -O binary $< $(B)/loader.raw
	$(PYTHON) $(C)/tools/sign.py $(B)/loader.raw $@

# The linker script names layout.h's addresses (LOAD_ADDRESS, KERNEL_VMA):
# the C preprocessor fills them in, as Linux does for vmlinux.lds.
$(B)/kernel.ld: $(C)/$(KIND).ld $(C)/include/layout.h $(C)/rules.mk | $(B)
	$(CC) -E -P -undef -nostdinc -x c -I$(C)/include -o $@ $<

$(B)/kernel.elf: $(OBJS) $(B)/kernel.ld
	$(LD) $(KERNEL_LDFLAGS) -Map $(B)/disk.map -o $@ $(OBJS)
	@# NASM 2.16's DWARF makes objdump warn "Bogus end-of-siblings
	@# marker" about harmless padding: keep that one line out of the build.
	$(OBJDUMP) -S $@ 2>&1 > $(B)/kernel.dis | grep -v "end-of-sibling" >&2 || true

$(B)/disk.img: $(B)/loader.elf $(B)/loader.bin $(B)/kernel.elf $(C)/tools/mkimage.py
	$(OBJCOPY) -O binary $(B)/kernel.elf $(B)/kernel.bin
	$(PYTHON) $(C)/tools/mkimage.py $(B)/loader.elf $(B)/loader.bin $(B)/kernel.bin $@

# The program follows the loader, at sector LOAD_LBA of the image.
$(B)/params.json: $(B)/disk.img $(B)/kit.json $(C)/tools/params.py
	$(PYTHON) $(C)/tools/params.py $(B)/kernel.elf $< $@ $(B)/kit.json

else
$(error $(CURDIR)/Makefile: set KIND to bootsector, kernel32 or kernel64)
endif

clean:
	rm -rf $(B)

-include $(wildcard $(B)/*.d)
