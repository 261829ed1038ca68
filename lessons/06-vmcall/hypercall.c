/**
 * @file hypercall.c
 * @brief The hypervisor's side of VMCALL and VMMCALL: VM1's system calls.
 * @ingroup lesson06
 *
 * VM1 asks by number (EAX) with arguments in EBX, ECX, EDX, as
 * hypercall.h documents. Addresses are guest-physical: the hypervisor
 * reads them through the nested page tables, EPT or NPT (guest_mem_read(),
 * guest_mem.c), never trusting the guest to stay inside its RAM. Every
 * call, valid or not, returns to the guest with a result in EAX, except
 * HC_EXIT. Vendor-neutral: lesson 08 runs it for VMMCALL under SVM.
 */
#include "guest_mem.h"
#include "hypercall.h"
#include "kprintf.h"
#include "power.h"
#include "vm.h"

/* Print @p len bytes of guest memory at @p gpa: the guest's own text. */
static uint32_t hc_print(uint64_t gpa, uint64_t len)
{
	/* Exercise: check the length, copy the text out of guest memory with
	 * guest_mem_read() and print it; return the count or an error. */
	/* BEGIN SOLUTION: hypercall-print */
	static char text[HC_PRINT_MAX];  /* one VM on one CPU: one copy */

	if (len > HC_PRINT_MAX)
		return HC_ERR_TOO_LONG;
	if (len == 0)
		return 0;               /* nothing to print, nothing to check */
	if (guest_mem_read(gpa, text, len))
		return HC_ERR_FAULT;
	for (uint64_t i = 0; i < len; i++) {
		char c = text[i];

		/* Only printable text and newlines reach the console. */
		vm_putc((c >= ' ' && c <= '~') || c == '\n' ? c : '?');
	}
	return (uint32_t)len;
	/* END SOLUTION */
}

enum exit_action exit_handle_hypercall(struct guest_regs *regs)
{
	/* A 16-bit guest owns only the low halves of its registers. */
	uint32_t nr = (uint32_t)regs->rax, a1 = (uint32_t)regs->rbx;
	uint32_t a2 = (uint32_t)regs->rcx, result;

	switch (nr) {
	case HC_NOP:
		result = 0;
		break;
	case HC_PRINT:
		result = hc_print(a1, a2);
		break;
	case HC_EXIT:
		kprintf("vm: %s called HC_EXIT with status %u\n", vm_name(),
			a1);
		vm_set_stop_reason("HC_EXIT", (int)a1);
		return VM_STOP;
	case HC_YIELD:
		regs->rax = 0;
		vm_skip_instruction();
		return VM_YIELD;        /* the rest of the slice is another's */
	default:
		kprintf("vm: %s called hypercall 0x%x: no such number, "
			"returning 0x%x\n", vm_name(), nr, HC_ERR_INVALID);
		result = HC_ERR_INVALID;
	}
	regs->rax = result;
	vm_skip_instruction();  /* past VMCALL or VMMCALL: on after it */
	return VM_RESUME;
}
