# lessons/05-vmx/vmx.mk - what later lessons take from lesson 05.
#
# Lesson 04's kernel plus lesson 05's VMX layer: detection and VMXON
# (vmx.c), the capability report (caps.c), the VMCS (vmcs.c), the pre-entry
# guest-state check (vmcheck.c), the exit-reason and error names
# (vmx_names.c) and the way into and out of the guest (vmexit.asm). Not the
# guest or the exit handler: each lesson brings its own, and defines
# vmexit_dispatch(). A later lesson includes this file:
#
#   include ../05-vmx/vmx.mk
#   SOURCES     := $(VMX_SOURCES) main.c ...
#   ASM_HEADERS := $(VMX_ASM_HEADERS) ...

include ../04-interrupts-apic/interrupts.mk

LESSON05 := ../05-vmx

VMX_SOURCES := $(INTERRUPTS_SOURCES) $(LESSON05)/vmx.c \
	$(LESSON05)/vmx_names.c $(LESSON05)/caps.c $(LESSON05)/vmcs.c \
	$(LESSON05)/vmcheck.c $(LESSON05)/vmexit.asm
# vmexit.asm reads struct guest_regs' offsets and enum vmx_status.
VMX_ASM_HEADERS := $(INTERRUPTS_ASM_HEADERS) $(LESSON05)/guest_regs.h \
	$(LESSON05)/vmx_ops.h
