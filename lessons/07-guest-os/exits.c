/**
 * @file exits.c
 * @brief Every exit of the guest: what the hypervisor must see, and the end.
 * @ingroup lesson07
 *
 * The guest runs natively until it does one of the few things the VMCS
 * makes exit (guest.c): CPUID (always, SDM Vol. 3C, 25.1.2), XSETBV
 * (always), a write to a power-off port or to EFER (the bitmaps), a CR0
 * or CR4 write that touches a bit the host owns, a fetch from the trapped
 * BIOS page (e820_trap.c), a triple fault. Each exit is counted by its
 * basic reason (SDM Appendix C) for the summary. When the guest stops,
 * the hypervisor prints the end marker, its report, and powers the machine
 * off with the guest's status: its lines never fall inside the guest's.
 */
#include <stdarg.h>

#include "console.h"
#include "hv.h"
#include "kprintf.h"
#include "param.h"
#include "power.h"
#include "vmx.h"
#include "x86.h"

#define CPUID_1_ECX_VMX BIT(5)      /**< CPUID.1:ECX: VMX */
#define CPUID_1_ECX_OSXSAVE BIT(27) /**< CPUID.1:ECX: CR4.OSXSAVE is set */

/**
 * Patchable: when non-zero, the report ends with the guest's text screen,
 * read from its VGA memory: 25 lines "[hv] screen NN: " and 80 cells of
 * character and attribute bytes in hex. Bochs cannot save a screenshot;
 * the harness draws this one (harness/kit/vgatext.py).
 */
volatile uint8_t param_screen KIT_PARAM;

static unsigned long exit_count[EXIT_REASON_MAX];
static uint64_t launched_at, host_ticks;
static int bootstrapping = 1;         /* the bootstrap runs, not the guest */
static const char *guest_status = "none"; /* what it wrote to 0xF4 */

void guest_started(void)
{
	launched_at = rdtsc();
}

uint64_t guest_linear_rip(void)
{
	return vmcs_read(GUEST_CS_BASE) + vmcs_read(GUEST_RIP);
}

static void skip_instruction(void)
{
	/* SDM 27.2.5: the length of the instruction that exited. */
	vmcs_write(GUEST_RIP, vmcs_read(GUEST_RIP) +
		   vmcs_read(VM_EXIT_INSTRUCTION_LEN));
}

void guest_stop(int status, const char *fmt, ...)
{
	uint64_t total = rdtsc() - launched_at;
	unsigned long sum = 0;
	va_list ap;

	kprintf("\n[hv] ---- guest stopped ----\n[hv] stop: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n[hv] guest status: %s\n[hv] exits:", guest_status);
	for (unsigned int i = 0; i < EXIT_REASON_MAX; i++)
		if (exit_count[i]) {
			kprintf(" %s=%lu", exit_reason_name(i), exit_count[i]);
			sum += exit_count[i];
		}
	kprintf(" (total %lu)\n[hv] time: %llu TSC ticks in the guest, "
		"%llu in the hypervisor\n", sum,
		(unsigned long long)(total - host_ticks),
		(unsigned long long)host_ticks);
	if (param_screen) {
		const volatile uint8_t *vga = guest_phys(VGA_TEXT_BUFFER);

		for (int row = 0; row < 25; row++) {
			kprintf("[hv] screen %02d: ", row);
			for (int i = 0; i < 160; i++)
				kprintf("%02x", vga[row * 160 + i]);
			kprintf("\n");
		}
	}
	vmx_disable();                  /* SDM 30.3 "VMXOFF" */
	power_off(status);
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

/* CPUID: the host's answer, without VMX (SDM 25.1.2: CPUID always exits).
 * OSXSAVE follows the guest's CR4, as it would natively. */
static void handle_cpuid(struct guest_regs *regs)
{
	uint32_t leaf = (uint32_t)regs->rax;
	struct cpuid_regs r = cpuid(leaf, (uint32_t)regs->rcx);

	if (leaf == 1) {
		r.ecx &= ~(uint32_t)(CPUID_1_ECX_VMX | CPUID_1_ECX_OSXSAVE);
		if (vmcs_read(GUEST_CR4) & CR4_OSXSAVE)
			r.ecx |= CPUID_1_ECX_OSXSAVE;
	}
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
	skip_instruction();
}

/* An I/O exit (only the power-off ports): SDM 27.2.1, Table 28-5. */
static void handle_io(struct guest_regs *regs)
{
	uint64_t q = vmcs_read(EXIT_QUALIFICATION);
	uint16_t port = (uint16_t)(q >> 16);
	uint64_t value = regs->rax & (0xFFFFFFFF >> (32 - 8 * ((q & 7) + 1)));

	if (q & BIT(3)) {               /* IN: nothing to read there */
		regs->rax |= value | (0xFFFFFFFF >> (32 - 8 * ((q & 7) + 1)));
		skip_instruction();
		return;
	}
	if (port == DEBUG_EXIT_PORT)
		guest_status = value == DEBUG_EXIT_PASS ? "PASS" :
			       "FAIL";
	guest_stop(guest_status[0] == 'P' ? POWER_PASS : POWER_FAIL,
		   "guest powered off (port 0x%x, value 0x%llx) at 0x%llx",
		   port, (unsigned long long)value,
		   (unsigned long long)guest_linear_rip());
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
 * and CD, NW clear (seed 003's guard); CR4.VMXE the guest cannot set. */
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

/* The bootstrap's VMCALL: AX = 0, or AH = the BIOS's int 13h error. */
static void handle_vmcall(struct guest_regs *regs)
{
	uint16_t ax = (uint16_t)regs->rax;

	if (!bootstrapping)
		guest_stop(POWER_FAIL_UNEXPECTED_EXIT, "guest executed "
			   "VMCALL at 0x%llx",
			   (unsigned long long)guest_linear_rip());
	if (ax)
		guest_stop(POWER_FAIL, "the BIOS could not read drive 0x%x's "
			   "boot sector (int 13h error 0x%x): is the guest's "
			   "disk the machine's second one?", HV_GUEST_DRIVE,
			   ax >> 8);
	bootstrapping = 0;
	guest_handover(regs);           /* guest.c: now at 0000:7C00 */
}

/** Every VM exit (vmexit.asm calls it, then VMRESUMEs). */
void vmexit_dispatch(struct guest_regs *regs)
{
	uint64_t start = rdtsc(), reason = vmcs_read(VM_EXIT_REASON);
	unsigned int basic = reason & VMX_EXIT_REASON_MASK;
	uint32_t entry;

	if (reason & VMX_EXIT_REASONS_FAILED_VMENTRY)   /* SDM 26.8 */
		guest_stop(POWER_FAIL_VM_ENTRY, "VM entry failed: exit reason "
			   "%u (%s), qualification 0x%llx", basic,
			   exit_reason_name(basic),
			   (unsigned long long)vmcs_read(EXIT_QUALIFICATION));
	if (basic < EXIT_REASON_MAX)
		exit_count[basic]++;
	switch (basic) {
	case EXIT_REASON_CPUID:
		handle_cpuid(regs);
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
		handle_vmcall(regs);
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
	host_ticks += rdtsc() - start;
}
