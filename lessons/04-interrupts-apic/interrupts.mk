# lessons/04-interrupts-apic/interrupts.mk - what later lessons take from 04.
#
# Lesson 03's 64-bit kernel plus lesson 04's IDT (idt.c), its 256 entry
# stubs (isr.asm) and the trap dispatcher that reports every exception
# (trap.c): a kernel whose faults say what went wrong. The ACPI, APIC and
# timer code stays lesson 04's own. A later lesson includes this file:
#
#   include ../04-interrupts-apic/interrupts.mk
#   SOURCES     := $(INTERRUPTS_SOURCES) main.c ...
#   ASM_HEADERS := $(INTERRUPTS_ASM_HEADERS) ...

include ../03-long-mode/longmode.mk

LESSON04 := ../04-interrupts-apic

INTERRUPTS_SOURCES := $(LONGMODE_SOURCES) $(LESSON04)/idt.c \
	$(LESSON04)/isr.asm $(LESSON04)/trap.c
# isr.asm reads idt.h's and trap.h's constants through kit.inc.
INTERRUPTS_ASM_HEADERS := $(LONGMODE_ASM_HEADERS) $(LESSON04)/idt.h \
	$(LESSON04)/trap.h
