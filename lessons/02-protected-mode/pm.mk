# lessons/02-protected-mode/pm.mk - what later lessons take from lesson 02.
#
# Every program from lesson 02 on starts where the disk loader jumps: the
# real-mode entry (entry.asm's _start), which switches A20 on, collects the
# E820 memory map and enters 32-bit protected mode. A later lesson includes
# this file and builds on the list (lessons/03-long-mode/Makefile):
#
#   include ../02-protected-mode/pm.mk
#   SOURCES := $(PM_ENTRY_SOURCES) ...
#
# Paths are relative to a lesson folder, where every lesson's make runs, so
# they work from any lesson.

LESSON02 := ../02-protected-mode

# Real mode to protected mode: _start, A20, E820; entry.asm calls pm_main.
PM_ENTRY_SOURCES := $(LESSON02)/entry.asm $(LESSON02)/a20.asm \
	$(LESSON02)/e820.asm
# caches_enable (called by _start): CR0.CD and NW off, CR0 as the
# firmware left it in boot_cr0.
PM_ENTRY_SOURCES += $(LESSON02)/caches.asm
# e820_print(): the map e820.asm collected, printed from C (boot.h).
PM_E820_SOURCES := $(LESSON02)/e820.c
