# lessons/03-long-mode/longmode.mk - what later lessons take from lesson 03.
#
# Lesson 02's entry, then lesson 03's way into long mode (longmode.asm: its
# pm_main builds the first page tables and jumps to the higher half) and the
# 64-bit GDT with its TSS (gdt64.c): everything a 64-bit kernel_main needs
# under it. A later lesson includes this file:
#
#   include ../03-long-mode/longmode.mk
#   SOURCES     := $(LONGMODE_SOURCES) main.c ...
#   ASM_HEADERS := $(LONGMODE_ASM_HEADERS) ...

include ../02-protected-mode/pm.mk

LESSON03 := ../03-long-mode

LONGMODE_SOURCES := $(PM_ENTRY_SOURCES) $(LESSON03)/longmode.asm \
	$(LESSON03)/gdt64.c
# longmode.asm reads paging.h's constants through kit.inc.
LONGMODE_ASM_HEADERS := $(LESSON03)/paging.h
