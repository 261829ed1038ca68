/**
 * @file vm.h
 * @brief The vendor-neutral core of the hypervisor, and what a vendor adds.
 * @ingroup lesson06
 *
 * Lesson 06 runs VM1 under Intel VMX, lesson 08 the same VM1 under AMD SVM.
 * What the two share is written once, in lesson 06, and never says "VMCS"
 * or "VMCB" (as KVM's x86.c, between vmx.c and svm.c): the exit dispatcher,
 * the exit summary and stopping the VM (vm_one.c), the hypercalls
 * (hypercall.c), the copies to and from guest memory (guest_mem.c) and
 * loading VM1 (vm1_load.c). Lesson 10 runs several VMs: it keeps
 * vm_exit.c's handlers and replaces vm_one.c, the one-VM policy, by its
 * scheduler.
 * Each vendor's exit file (lesson 06's vmx_exits.c, lesson 08's
 * svm_exits.c) translates its raw exit code into enum vm_exit_reason and
 * fills in the functions at the end of this header. The interface is
 * plain functions, bound at link time: one vendor per image.
 */
#ifndef LESSON06_VM_H
#define LESSON06_VM_H

#include <stdint.h>

/* struct guest_regs: lesson 05's, shared by both vendors (by path, so that
 * a lesson without lesson 05's code needs no include path for it). */
#include "../05-vmx/guest_regs.h"

/** What an exit handler wants next. */
enum exit_action {
	VM_RESUME, /**< enter the guest again (VMRESUME, or the next VMRUN) */
	VM_STOP,   /**< stop the VM: print the summary and power off */
	VM_YIELD,  /**< the guest gives up its time slice (HC_YIELD): with
		    one VM, the same as VM_RESUME */
};

/** An exit handler: reads the exit, may change @p regs, decides. */
typedef enum exit_action (*exit_handler_t)(struct guest_regs *regs);

/**
 * Why the guest left, in words both vendors share. A vendor translates its
 * own code once (SDM Vol. 3C, Appendix C; AMD64 APM Vol. 2, Appendix C)
 * and keeps that code for the summary, which prints the vendor's name.
 */
enum vm_exit_reason {
	VM_EXIT_OTHER = 0,    /**< anything else: VM1 stops, never the host
			       (0, so a vendor's table need not list it) */
	VM_EXIT_HYPERCALL,    /**< VMCALL / VMMCALL: hypercall.h's ABI */
	VM_EXIT_CPUID,        /**< CPUID */
	VM_EXIT_HLT,          /**< HLT */
	VM_EXIT_NESTED_PAGE_FAULT, /**< EPT violation / NPF (or #PF in paged
				    real mode): memory VM1 does not have */
	VM_EXIT_TRIPLE_FAULT, /**< triple fault / SHUTDOWN */
	VM_EXIT_EXCEPTION,    /**< a fault in VM_EXCEPTIONS: the exception
			       bitmap / exception intercepts */
	VM_EXIT_REASONS,      /**< how many there are */
};

/**
 * The faults that exit instead of reaching the guest's vector table: #DE
 * (vector 0) and #UD (6), which a real-mode program with no IVT of its own
 * cannot handle. One bit per vector, as both the VMCS's exception bitmap
 * (SDM 24.6.3) and the VMCB's exception intercepts (APM Vol. 2, 15.12)
 * take them. #BP, #GP and #DF stay the guest's, so that the triple-fault
 * scenario (INT3 with an empty IDT) still triple-faults.
 */
#define VM_EXCEPTIONS ((1U << 0) | (1U << 6))

/* ---- vm_exit.c: the handlers every hypervisor here shares ---------- */

/** Run the handler for @p reason (CPUID and HLT here, the hypercalls in
 * hypercall.c, the vendor's for the rest) and say what comes next. */
enum exit_action vm_exit_handler(enum vm_exit_reason reason,
				 struct guest_regs *regs);

/* ---- vm_one.c: one VM (lessons 06 and 08; lesson 10 has its own) ---- */

/**
 * One exit: count @p code (the vendor's), run the handler for @p reason.
 * Returns if the guest is to go on; otherwise stops the VM (vm_stop()).
 */
void vm_exit_handle(enum vm_exit_reason reason, uint64_t code,
		    struct guest_regs *regs);

/** Why the VM that exited stopped and with what status (set before
 * VM_STOP). */
void vm_set_stop_reason(const char *why, int status);

/** Print why VM1 stopped and its exits by code, leave VMX or SVM
 * (vm_hardware_disable()) and power off with the stop status. */
__attribute__((noreturn)) void vm_stop(void);

/** The name of the VM that exited, for the handlers' messages: "VM1". */
const char *vm_name(void);

/** Print one character of the guest's own text (HC_PRINT). */
void vm_putc(char c);

/** VM_EXIT_HLT: with one VM, nothing wakes it (VM_STOP); with several
 * (lesson 10's sched.c), it gives the rest of its slice away. */
enum exit_action vm_halted(struct guest_regs *regs);

/* ---- vm1_load.c: VM1, whichever vendor runs it --------------------- */

/**
 * Announce VM1 and give it its RAM, reached through @p translate (the
 * vendor's walk of its nested tables: guest_mem_init()).
 * @return the RAM, for the vendor's nested page tables to map.
 */
void *vm1_memory_init(void *(*translate)(uint64_t gpa));

/** Copy VM1's program to GUEST_LOAD_ADDR through the nested tables. */
void vm1_load_program(void);

/** Put VM1's patchable parameters in @p regs (EBX, ECX, EDX) and its
 * number, 1, in ESI. */
void vm1_boot_regs(struct guest_regs *regs);

/** The same for VM number @p id running @p scenario (lesson 10). */
void vm_boot_regs(struct guest_regs *regs, unsigned int id,
		  unsigned int scenario);

/* ---- hypercall.c --------------------------------------------------- */

/** Handle VMCALL or VMMCALL: the hypercall ABI of hypercall.h. */
enum exit_action exit_handle_hypercall(struct guest_regs *regs);

/* ---- What each vendor provides (vmx_exits.c, svm_exits.c) ----------- */

/** The guest's RIP (VMCS GUEST_RIP, VMCB RIP). */
uint64_t vm_read_rip(void);

/** Move the guest past the instruction that exited. */
void vm_skip_instruction(void);

/** The vendor's name of its exit code @p code ("VMCALL", "VMMCALL"). */
const char *vm_exit_name(uint64_t code);

/** VM_EXIT_NESTED_PAGE_FAULT: report what VM1 touched, stop it. */
enum exit_action vm_handle_nested_page_fault(struct guest_regs *regs);

/** VM_EXIT_EXCEPTION: the vector of the fault that exited (the VMCS's
 * exit interruption information, SDM 24.9.2; EXITCODE - 0x40, APM
 * Appendix C). */
unsigned int vm_exception_vector(void);

/** VM_EXIT_TRIPLE_FAULT: report it, stop VM1. */
enum exit_action vm_handle_triple_fault(struct guest_regs *regs);

/** VM_EXIT_OTHER: name the exit and what the vendor says of it, stop. */
enum exit_action vm_handle_unexpected_exit(struct guest_regs *regs);

/** Leave VMX operation (VMXOFF) or SVM (EFER.SVME = 0). */
void vm_hardware_disable(void);

#endif
