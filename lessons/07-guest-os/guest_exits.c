/**
 * @file guest_exits.c
 * @brief What every vendor's exit handler shares, and the end of the guest.
 * @ingroup lesson07
 *
 * The vendor's dispatcher (vmx_exits.c here, lesson 09's svm_exits.c)
 * decodes each exit; what the hypervisor then does is the same on both:
 * CPUID passes through with the virtualization extensions hidden, a write
 * to a power-off port ends the guest, the bootstrap's hypercall hands the
 * machine to the boot sector. When the guest stops, the hypervisor prints
 * the end marker, its report (the exits by the vendor's names, the time in
 * the guest) and powers the machine off with the guest's status: its lines
 * never fall inside the guest's.
 */
#include <stdarg.h>

#include "../06-vmcall/exit_counts.h"
#include "console.h"
#include "hv.h"
#include "kprintf.h"
#include "param.h"
#include "power.h"
#include "string.h"

#define CPUID_1_ECX_VMX BIT(5)      /**< CPUID.1:ECX: VMX */
#define CPUID_1_ECX_OSXSAVE BIT(27) /**< CPUID.1:ECX: CR4.OSXSAVE is set */
#define CPUID_80000001_ECX_SVM BIT(2) /**< CPUID 8000_0001h:ECX: SVM */

/**
 * Patchable: when non-zero, the report ends with the guest's text screen,
 * read from its VGA memory: 25 lines "[hv] screen NN: " and 80 cells of
 * character and attribute bytes in hex. Bochs cannot save a screenshot;
 * the harness draws this one (harness/kit/vgatext.py).
 */
volatile uint8_t param_screen KIT_PARAM;

const uint16_t guest_power_ports[] = {
	DEBUG_EXIT_PORT, BOCHS_SHUTDOWN_PORT, QEMU_PIIX4_PM1A_CNT,
	BOCHS_PIIX4_PM1A_CNT,
};
const unsigned int guest_power_port_count =
	sizeof(guest_power_ports) / sizeof(guest_power_ports[0]);

static uint64_t launched_at, host_ticks;
static struct exit_counts exits;      /* lesson 06's exit_counts.c */
static int bootstrapping = 1;         /* the bootstrap runs, not the guest */
static const char *guest_status = "none"; /* what it wrote to 0xF4 */

/** bootstrap.bin, from bootstrap_image.asm: its first byte... */
extern const uint8_t bootstrap_image[];
/** ...and the byte past its last. */
extern const uint8_t bootstrap_image_end[];

void guest_bootstrap_load(void)
{
	size_t size = (size_t)(bootstrap_image_end - bootstrap_image);

	memcpy(guest_phys(HV_BOOTSTRAP_ADDR), bootstrap_image, size);
	kprintf("[hv] bootstrap: %u bytes at 0x%x, to read drive 0x%x's boot "
		"sector through the BIOS\n", (unsigned int)size,
		HV_BOOTSTRAP_ADDR, HV_GUEST_DRIVE);
}

void guest_started(void)
{
	launched_at = rdtsc();
}

uint64_t guest_exit_begin(uint64_t code)
{
	exit_count(&exits, code);
	return rdtsc();
}

void guest_exit_end(uint64_t start)
{
	host_ticks += rdtsc() - start;
}

uint64_t guest_linear_rip(void)
{
	return hv_guest_get(HV_CS_BASE) + hv_guest_get(HV_RIP);
}

static void print_screen(void)
{
	const volatile uint8_t *vga = guest_phys(VGA_TEXT_BUFFER);

	for (int row = 0; row < 25; row++) {
		kprintf("[hv] screen %02d: ", row);
		for (int i = 0; i < 160; i++)
			kprintf("%02x", vga[row * 160 + i]);
		kprintf("\n");
	}
}

void guest_stop(int status, const char *fmt, ...)
{
	uint64_t total = rdtsc() - launched_at;
	va_list ap;

	kprintf("\n[hv] ---- guest stopped ----\n[hv] stop: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n[hv] guest status: %s\n[hv] exits:", guest_status);
	exit_counts_print(&exits, hv_exit_name);
	kprintf("\n[hv] time: %llu TSC ticks in the guest, %llu in the "
		"hypervisor\n", (unsigned long long)(total - host_ticks),
		(unsigned long long)host_ticks);
	if (param_screen)
		print_screen();
	hv_disable();
	power_off(status);
}

void guest_cpuid(struct guest_regs *regs)
{
	uint32_t leaf = (uint32_t)regs->rax;
	struct cpuid_regs r = cpuid(leaf, (uint32_t)regs->rcx);

	if (leaf == 1) {                /* OSXSAVE: the guest's CR4, not ours */
		r.ecx &= ~(uint32_t)(CPUID_1_ECX_VMX | CPUID_1_ECX_OSXSAVE);
		if (hv_guest_get(HV_CR4) & CR4_OSXSAVE)
			r.ecx |= CPUID_1_ECX_OSXSAVE;
	}
	if (leaf == 0x80000001)
		r.ecx &= ~(uint32_t)CPUID_80000001_ECX_SVM;
	regs->rax = r.eax;
	regs->rbx = r.ebx;
	regs->rcx = r.ecx;
	regs->rdx = r.edx;
}

void guest_power_write(uint16_t port, uint64_t value)
{
	if (port == DEBUG_EXIT_PORT)
		guest_status = value == DEBUG_EXIT_PASS ? "PASS" : "FAIL";
	guest_stop(guest_status[0] == 'P' ? POWER_PASS : POWER_FAIL,
		   "guest powered off (port 0x%x, value 0x%llx) at 0x%llx",
		   port, (unsigned long long)value,
		   (unsigned long long)guest_linear_rip());
}

void guest_hypercall(struct guest_regs *regs)
{
	uint16_t ax = (uint16_t)regs->rax;

	if (!bootstrapping)
		guest_stop(POWER_FAIL_UNEXPECTED_EXIT, "guest executed %s at "
			   "0x%llx", hv_exit_name(hv_hypercall_exit),
			   (unsigned long long)guest_linear_rip());
	if (ax)
		guest_stop(POWER_FAIL, "the BIOS could not read drive 0x%x's "
			   "boot sector (int 13h error 0x%x): is the guest's "
			   "disk the machine's second one?", HV_GUEST_DRIVE,
			   ax >> 8);
	bootstrapping = 0;
	hv_handover(regs);              /* the vendor's: now at 0000:7C00 */
}
