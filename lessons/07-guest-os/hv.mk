# lessons/07-guest-os/hv.mk - what lesson 09 takes from lesson 07.
#
# The vendor-neutral part of the hypervisor that boots a lesson as its
# guest (hv.h): the move to the top of RAM (relocate.c, move.asm), the
# guest's E820 map (guest_e820.c) and the int 15h trap that serves it
# (e820_trap.c), what every exit handler shares and the report at the end
# (guest_exits.c, with lesson 06's exit_counts.c), the refusal of a machine
# with more than one processor (processors.c), and the bootstrap that
# asks the BIOS for the guest's boot sector (bootstrap_image.asm; the
# lesson lists bootstrap.bin in GUEST_BINS). The vendor's guest setup,
# nested page tables and exit dispatcher come from the lesson:
#
#   include ../07-guest-os/hv.mk
#   SOURCES     := ... $(HV_SOURCES) ...
#   ASM_HEADERS := ... $(HV_ASM_HEADERS)

LESSON07 := ../07-guest-os

HV_SOURCES := $(LESSON07)/move.asm $(LESSON07)/relocate.c \
	$(LESSON07)/guest_e820.c $(LESSON07)/e820_trap.c \
	$(LESSON07)/guest_exits.c ../06-vmcall/exit_counts.c \
	$(LESSON07)/bootstrap_image.asm
# One processor only: processors.c counts the MADT's, read by lesson 04's
# acpi.c and madt.c (acpi.c maps a table above the first GiB with vmm.c,
# its page tables from frames.c).
HV_SOURCES += $(LESSON07)/processors.c ../04-interrupts-apic/acpi.c \
	../04-interrupts-apic/madt.c ../04-interrupts-apic/vmm.c \
	../04-interrupts-apic/frames.c
# bootstrap.asm reads hv.h's numbers through kit.inc.
HV_ASM_HEADERS := $(LESSON07)/hv.h
