# lessons/06-vmcall/vm.mk - what later lessons take from lesson 06.
#
# The vendor-neutral core of lesson 06's hypervisor (vm.h): the exit
# handlers (vm_exit.c), the counts by exit code (exit_counts.c, which
# lesson 07 uses too), the hypercall ABI (hypercall.c), guest-memory
# copies through a vendor's nested page tables (guest_mem.c), VM1's
# parameters, RAM, program and boot registers (vm1_load.c) and its image
# (vm1_image.asm; the lesson still lists vm1.bin in GUEST_BINS). Nothing
# here is VMX: lesson 08 runs it under SVM. VM_COMMON_SOURCES is that
# much; VM_CORE_SOURCES adds the one-VM policy (vm_one.c: count, stop,
# power off), which lesson 10 replaces by its scheduler. The vendor's exit
# file, memory walk and guest setup come from the lesson. A later lesson
# includes this file:
#
#   include ../06-vmcall/vm.mk
#   SOURCES     := $(INTERRUPTS_SOURCES) $(VM_CORE_SOURCES) ...
#   ASM_HEADERS := $(INTERRUPTS_ASM_HEADERS) $(VM_CORE_ASM_HEADERS) ...

LESSON06 := ../06-vmcall

VM_COMMON_SOURCES := $(LESSON06)/vm_exit.c $(LESSON06)/exit_counts.c \
	$(LESSON06)/hypercall.c $(LESSON06)/guest_mem.c $(LESSON06)/vm1_load.c \
	$(LESSON06)/vm1_image.asm
VM_CORE_SOURCES := $(VM_COMMON_SOURCES) $(LESSON06)/vm_one.c
# vm1.asm and vm1_image.asm read hypercall.h's numbers through kit.inc.
VM_CORE_ASM_HEADERS := $(LESSON06)/hypercall.h
