/**
 * @file cpuinfo.c
 * @brief CPUID identity and the control registers of long mode, decoded.
 * @ingroup lesson03
 */
#include <stdint.h>

#include "cpuinfo.h"
#include "kprintf.h"
#include "string.h"
#include "x86.h"

void cpu_print_identity(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	char vendor[13], brand[49];

	/* Leaf 0: the vendor string, 12 bytes in EBX, EDX, ECX (that order). */
	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = '\0';
	kprintf("cpuid: vendor \"%s\", highest leaf 0x%x\n", vendor, r.eax);

	/* Leaves 0x80000002..4: the brand string, 16 bytes each. */
	if (cpuid(0x80000000, 0).eax < 0x80000004) {
		kprintf("cpuid: no brand string\n");
		return;
	}
	for (uint32_t i = 0; i < 3; i++) {
		r = cpuid(0x80000002 + i, 0);
		memcpy(brand + 16 * i, &r, 16);
	}
	brand[48] = '\0';
	kprintf("cpuid: brand \"%s\"\n", brand);
}

/* Bit names of each register, indexed by bit number (SDM Vol. 3A, 2.5). */
static const char *const cr0_names[64] = {
	[0] = "PE", [1] = "MP", [2] = "EM", [3] = "TS", [4] = "ET",
	[5] = "NE", [16] = "WP", [18] = "AM", [29] = "NW", [30] = "CD",
	[31] = "PG",
};
static const char *const cr3_names[64] = { [3] = "PWT", [4] = "PCD" };
static const char *const cr4_names[64] = {
	[0] = "VME", [1] = "PVI", [2] = "TSD", [3] = "DE", [4] = "PSE",
	[5] = "PAE", [6] = "MCE", [7] = "PGE", [8] = "PCE", [9] = "OSFXSR",
	[10] = "OSXMMEXCPT", [11] = "UMIP", [12] = "LA57", [13] = "VMXE",
	[14] = "SMXE", [16] = "FSGSBASE", [17] = "PCIDE", [18] = "OSXSAVE",
	[20] = "SMEP", [21] = "SMAP", [22] = "PKE", [23] = "CET", [24] = "PKS",
};
static const char *const efer_names[64] = {
	[0] = "SCE", [8] = "LME", [10] = "LMA", [11] = "NXE", [12] = "SVME",
	[13] = "LMSLE", [14] = "FFXSR", [15] = "TCE",
};

static void print_bits(const char *name, uint64_t value,
		       const char *const names[64], uint64_t mask)
{
	kprintf("%-4s = 0x%016llx", name, (unsigned long long)value);
	for (int bit = 0; bit < 64; bit++)
		if ((mask >> bit) & (value >> bit) & 1)
			kprintf(" %s", names[bit] ? names[bit] : "?");
	kprintf("\n");
}

void cpu_print_control_registers(void)
{
	uint64_t cr3 = read_cr3();

	print_bits("cr0", read_cr0(), cr0_names, ~0ULL);
	/* CR3's high bits are an address, not flags: decode only 3 and 4. */
	print_bits("cr3", cr3, cr3_names, BIT(3) | BIT(4));
	kprintf("       PML4 at physical 0x%llx\n",
		(unsigned long long)(cr3 & ~0xFFFULL));
	print_bits("cr4", read_cr4(), cr4_names, ~0ULL);
	print_bits("efer", rdmsr(MSR_EFER), efer_names, ~0ULL);
}
