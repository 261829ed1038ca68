/**
 * @file vmx_exits.c
 * @brief Every VM exit of the guest under VMX: decode, then act.
 * @ingroup lesson07
 *
 * The guest runs natively until it does one of the few things the VMCS
 * makes exit (vmx_guest.c): CPUID (always, SDM Vol. 3C, 25.1.2), XSETBV
 * (always), a write to a power-off port or to EFER (the bitmaps), a CR0
 * or CR4 write that touches a bit the host owns, a fetch from the trapped
 * BIOS page (e820_trap.c), VMCALL, a triple fault. Here is what reads the
 * VMCS; what follows is shared with SVM (guest_exits.c). Each exit is
 * counted by its basic reason (SDM Appendix C) for the summary.
 */
#include "hv.h"
#include "kprintf.h"
#include "power.h"
#include "vmx.h"
#include "vmx_guest.h"
#include "x86.h"

const uint64_t hv_hypercall_exit = EXIT_REASON_VMCALL;

/** hv.h: the SDM's name of a basic exit reason. */
const char *hv_exit_name(uint64_t code)
{
	return exit_reason_name((unsigned int)code);   /* lesson 05 */
}

/** hv.h: leave VMX operation. */
void hv_disable(void)
{
	vmx_disable();                  /* SDM 30.3 "VMXOFF" */
}

static void skip_instruction(void)
{
	/* SDM 27.2.5: the length of the instruction that exited. */
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) +
		   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
}

/* The guest's general register number @p n (SDM Table 28-3's encoding). */
static uint64_t *gpr(struct guest_regs *regs, unsigned int n)
{
	static uint64_t rsp;
	uint64_t *by_number[16] = {
		&regs->rax, &regs->rcx, &regs->rdx, &regs->rbx, &rsp,
		&regs->rbp, &regs->rsi, &regs->rdi, &regs->r8, &regs->r9,
		&regs->r10, &regs->r11, &regs->r12, &regs->r13, &regs->r14,
		&regs->r15,
	};

	rsp = vmcs_read(GUEST_RSP);     /* RSP lives in the VMCS */
	return by_number[n & 15];
}

/* An I/O exit (only the power-off ports): SDM 28.2.1, Table 28-5. */
static void handle_io(struct guest_regs *regs)
{
	uint64_t q = vmcs_read(EXIT_QUALIFICATION);
	uint64_t mask = 0xFFFFFFFF >> (32 - 8 * ((q & 7) + 1));

	if (q & BIT(3)) {               /* IN: nothing to read there */
		regs->rax |= mask;
		skip_instruction();
		return;
	}
	guest_power_write((uint16_t)(q >> 16), regs->rax & mask);
}

/* WRMSR to EFER (the only MSR exit): keep it in the VMCS, where VM entry
 * loads it (VM_ENTRY_LOAD_IA32_EFER). LMA is the CPU's, not the guest's. */
static void handle_wrmsr(struct guest_regs *regs)
{
	uint64_t value = (regs->rdx << 32) | (uint32_t)regs->rax;
	uint64_t efer = vmcs_read(GUEST_IA32_EFER);

	if ((uint32_t)regs->rcx != MSR_EFER)
		guest_stop(POWER_FAIL_UNEXPECTED_EXIT, "WRMSR 0x%llx exited",
			   (unsigned long long)(uint32_t)regs->rcx);
	vmcs_write(GUEST_IA32_EFER, (value & ~EFER_LMA) | (efer & EFER_LMA));
	skip_instruction();
}

/* MOV to CR0 or CR4 that changes a bit the host owns (SDM 25.1.3). The
 * guest's value goes to the read shadow; the real register keeps NE set
 * (CD and NW are never loaded from the VMCS: vmx_guest.c); CR4.VMXE the
 * guest cannot set. */
static void handle_cr(struct guest_regs *regs)
{
	uint64_t q = vmcs_read(EXIT_QUALIFICATION);
	unsigned int cr = q & 15, type = (q >> 4) & 3;
	uint64_t *reg = gpr(regs, (q >> 8) & 15), value = *reg;

	if (type == 0 && cr == 0) {             /* MOV to CR0 */
		vmcs_write(CR0_READ_SHADOW, value);
		vmcs_write(GUEST_CR0, (value | CR0_NE) & ~(CR0_CD | CR0_NW));
	} else if (type == 0 && cr == 3) {      /* CR3 exiting, if forced */
		vmcs_write(GUEST_CR3, value);
	} else if (type == 1 && cr == 3) {
		*reg = vmcs_read(GUEST_CR3);
	} else if (type == 0 && cr == 4 && !(value & CR4_VMXE)) {
		vmcs_write(CR4_READ_SHADOW, value);
		vmcs_write(GUEST_CR4, value | CR4_VMXE);
	} else {
		guest_stop(POWER_FAIL_UNEXPECTED_EXIT, "guest CR%u access "
			   "(type %u, value 0x%llx) at 0x%llx: not emulated",
			   cr, type, (unsigned long long)value,
			   (unsigned long long)guest_linear_rip());
	}
	if (((q >> 8) & 15) == 4)
		vmcs_write(GUEST_RSP, *reg);
	skip_instruction();
}

/* XSETBV always exits (SDM 25.1.2). XCR0 is not switched by VMX: the host
 * does not use the extended state, so the guest's value is simply set. */
static void handle_xsetbv(struct guest_regs *regs)
{
	uint64_t value = (regs->rdx << 32) | (uint32_t)regs->rax;

	if ((uint32_t)regs->rcx != 0 || !(value & 1))
		guest_stop(POWER_FAIL_UNEXPECTED_EXIT, "XSETBV of XCR%u = "
			   "0x%llx: #GP natively, not emulated",
			   (unsigned int)regs->rcx, (unsigned long long)value);
	write_cr4(read_cr4() | CR4_OSXSAVE);
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)value),
			 "d"((uint32_t)(value >> 32)));
	skip_instruction();
}

static void handle_ept_violation(struct guest_regs *regs)
{
	uint64_t gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	uint64_t q = vmcs_read(EXIT_QUALIFICATION);

	/* A fetch from a page that is mapped (readable) but not executable
	 * in this view: the E820 trap's, never the hidden range's. */
	if ((q & BIT(2)) && (q & BIT(3)) && e820_trap_fetch(gpa, regs))
		return;
	/* SDM 28.2.1, Table 28-7: what was tried; 29.3.3.2. */
	guest_stop(POWER_FAIL_EPT_VIOLATION, "EPT violation: guest %s at "
		   "guest-physical 0x%llx (%s), RIP 0x%llx, qualification "
		   "0x%llx", q & BIT(1) ? "write" : q & BIT(2) ? "fetch" :
		   "read", (unsigned long long)gpa,
		   gpa >= hidden_base && gpa < hidden_base + HV_SIZE ?
		   "the hypervisor's hidden memory" : "not mapped",
		   (unsigned long long)guest_linear_rip(),
		   (unsigned long long)q);
}

/** Every VM exit (lesson 05's vmexit.asm calls it, then VMRESUMEs). */
void vmexit_dispatch(struct guest_regs *regs)
{
	uint64_t start, reason = vmcs_read(VM_EXIT_REASON);
	unsigned int basic = reason & VMX_EXIT_REASON_MASK;
	uint32_t entry;

	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY)   /* SDM 26.8 */
		guest_stop(POWER_FAIL_VM_ENTRY, "VM entry failed: exit reason "
			   "%u (%s), qualification 0x%llx", basic,
			   exit_reason_name(basic),
			   (unsigned long long)vmcs_read(EXIT_QUALIFICATION));
	start = guest_exit_begin(basic);        /* counted before it may stop */
	switch (basic) {
	case EXIT_REASON_CPUID:
		guest_cpuid(regs);
		skip_instruction();
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		handle_io(regs);
		break;
	case EXIT_REASON_MSR_WRITE:
		handle_wrmsr(regs);
		break;
	case EXIT_REASON_CR_ACCESS:
		handle_cr(regs);
		break;
	case EXIT_REASON_XSETBV:
		handle_xsetbv(regs);
		break;
	case EXIT_REASON_EPT_VIOLATION:
		handle_ept_violation(regs);
		break;
	case EXIT_REASON_VMCALL:
		guest_hypercall(regs);
		break;
	case EXIT_REASON_INVD:          /* keep the caches: like WBINVD */
		skip_instruction();
		break;
	case EXIT_REASON_TRIPLE_FAULT:  /* SDM 25.2: an exit, not a reset */
		guest_stop(POWER_FAIL_TRIPLE_FAULT, "guest triple fault at "
			   "CS:RIP 0x%llx:0x%llx (linear 0x%llx), CR0 0x%llx",
			   (unsigned long long)vmcs_read(GUEST_CS_SELECTOR),
			   (unsigned long long)vmcs_read(GUEST_RIP),
			   (unsigned long long)guest_linear_rip(),
			   (unsigned long long)vmcs_read(GUEST_CR0));
	default:
		guest_stop(POWER_FAIL_UNEXPECTED_EXIT, "unexpected exit %u "
			   "(%s), qualification 0x%llx, at 0x%llx", basic,
			   exit_reason_name(basic),
			   (unsigned long long)vmcs_read(EXIT_QUALIFICATION),
			   (unsigned long long)guest_linear_rip());
	}
	/* SDM 26.3.1.1: with "load IA32_EFER", entry checks that the
	 * "IA-32e mode guest" control equals EFER.LMA. The guest switches
	 * modes without exits, so follow the LMA the exit saved. */
	entry = (uint32_t)vmcs_read(VM_ENTRY_CONTROLS);
	if (vmcs_read(GUEST_IA32_EFER) & EFER_LMA)
		entry |= VM_ENTRY_IA32E_MODE;
	else
		entry &= ~(uint32_t)VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, entry);
	guest_exit_end(start);
}
