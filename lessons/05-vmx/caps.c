/**
 * @file caps.c
 * @brief Print what this CPU's VMX can do, from its capability MSRs.
 * @ingroup lesson05
 *
 * Software never guesses VMX features: IA32_VMX_BASIC and one MSR per
 * control field say what may be used (SDM Vol. 3D, Appendix A "VMX
 * Capability Reporting Facility"). For a control field, the MSR's low 32
 * bits are the "allowed-0 settings" (a 1 there: the control must be 1) and
 * its high 32 bits the "allowed-1 settings" (a 0 there: it must be 0).
 */
#include "kprintf.h"
#include "power.h"
#include "vmx.h"

/* Control names per field, indexed by bit (SDM 24.6-24.8). */
static const char *const pin_names[32] = {
	[0] = "EXT_INTR_EXITING", [3] = "NMI_EXITING", [5] = "VIRTUAL_NMIS",
	[6] = "PREEMPTION_TIMER", [7] = "POSTED_INTR",
};
static const char *const proc_names[32] = {
	[2] = "INTR_WINDOW_EXITING", [3] = "USE_TSC_OFFSETTING",
	[7] = "HLT_EXITING", [9] = "INVLPG_EXITING", [10] = "MWAIT_EXITING",
	[11] = "RDPMC_EXITING", [12] = "RDTSC_EXITING",
	[15] = "CR3_LOAD_EXITING", [16] = "CR3_STORE_EXITING",
	[17] = "TERTIARY_CONTROLS", [19] = "CR8_LOAD_EXITING",
	[20] = "CR8_STORE_EXITING", [21] = "TPR_SHADOW",
	[22] = "NMI_WINDOW_EXITING", [23] = "MOV_DR_EXITING",
	[24] = "UNCOND_IO_EXITING", [25] = "USE_IO_BITMAPS",
	[27] = "MONITOR_TRAP_FLAG", [28] = "USE_MSR_BITMAPS",
	[29] = "MONITOR_EXITING", [30] = "PAUSE_EXITING",
	[31] = "SECONDARY_CONTROLS",
};
static const char *const proc2_names[32] = {
	[0] = "VIRTUALIZE_APIC_ACCESSES", [1] = "ENABLE_EPT",
	[2] = "DESC_TABLE_EXITING", [3] = "ENABLE_RDTSCP",
	[4] = "VIRTUALIZE_X2APIC", [5] = "ENABLE_VPID",
	[6] = "WBINVD_EXITING", [7] = "UNRESTRICTED_GUEST",
	[8] = "APIC_REGISTER_VIRT", [9] = "VIRTUAL_INTR_DELIVERY",
	[10] = "PAUSE_LOOP_EXITING", [11] = "RDRAND_EXITING",
	[12] = "ENABLE_INVPCID", [13] = "ENABLE_VMFUNC",
	[14] = "VMCS_SHADOWING", [15] = "ENCLS_EXITING",
	[16] = "RDSEED_EXITING", [17] = "ENABLE_PML",
	[18] = "EPT_VIOLATION_VE", [19] = "CONCEAL_VMX_FROM_PT",
	[20] = "ENABLE_XSAVES", [22] = "MODE_BASED_EPT_EXEC",
	[23] = "SUBPAGE_WRITE", [24] = "PT_USE_GPA", [25] = "TSC_SCALING",
	[26] = "USER_WAIT_PAUSE", [28] = "ENCLV_EXITING",
};
static const char *const exit_names[32] = {
	[2] = "SAVE_DEBUG_CONTROLS", [9] = "HOST_ADDR_SPACE_SIZE",
	[12] = "LOAD_PERF_GLOBAL_CTRL", [15] = "ACK_INTR_ON_EXIT",
	[18] = "SAVE_IA32_PAT", [19] = "LOAD_IA32_PAT",
	[20] = "SAVE_IA32_EFER", [21] = "LOAD_IA32_EFER",
	[22] = "SAVE_PREEMPTION_TIMER", [23] = "CLEAR_BNDCFGS",
	[24] = "CONCEAL_VMX_FROM_PT", [25] = "CLEAR_RTIT_CTL",
	[28] = "LOAD_CET_STATE",
};
static const char *const entry_names[32] = {
	[2] = "LOAD_DEBUG_CONTROLS", [9] = "IA32E_MODE_GUEST",
	[10] = "ENTRY_TO_SMM", [11] = "DEACT_DUAL_MONITOR",
	[13] = "LOAD_PERF_GLOBAL_CTRL", [14] = "LOAD_IA32_PAT",
	[15] = "LOAD_IA32_EFER", [16] = "LOAD_BNDCFGS",
	[17] = "CONCEAL_VMX_FROM_PT", [18] = "LOAD_RTIT_CTL",
	[20] = "LOAD_CET_STATE",
};

static const char *const memory_types[8] = {
	[0] = "uncacheable", [6] = "write-back",
};

static void print_bits(uint32_t bits, const char *const names[32])
{
	if (!bits)
		kprintf(" none");
	for (int bit = 0; bit < 32; bit++) {
		if (!((bits >> bit) & 1))
			continue;
		if (names[bit])
			kprintf(" %s", names[bit]);
		else
			kprintf(" bit%d", bit);
	}
}

static void print_control_field(const char *name, uint32_t msr,
				const char *const names[32])
{
	uint64_t caps = rdmsr(msr);

	kprintf("vmx: %s controls (MSR 0x%x = 0x%016llx): must be 1:", name,
		msr, (unsigned long long)caps);
	print_bits((uint32_t)caps, names);
	kprintf("; may be 1:");
	print_bits((uint32_t)(caps >> 32), names);
	kprintf("\n");
}

int vmx_has_true_controls(void)
{
	return !!(rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS);
}

/** SDM A.10: IA32_VMX_EPT_VPID_CAP's bits, by name. */
static const struct { int bit; const char *name; } ept_bits[] = {
	{ 0, "execute-only" }, { 6, "4-level walk" },
	{ 8, "UC" }, { 14, "WB" }, { 16, "2MB pages" },
	{ 17, "1GB pages" }, { 20, "INVEPT" },
	{ 21, "accessed/dirty flags" }, { 25, "INVEPT single-context" },
	{ 26, "INVEPT all-context" }, { 32, "INVVPID" },
	{ 41, "INVVPID single-context" }, { 42, "INVVPID all-context" },
};

/* Print the names of the bits of @p caps that are set. */
static void print_ept_bits(uint64_t caps)
{
	for (unsigned int i = 0; i < sizeof(ept_bits) / sizeof(ept_bits[0]); i++)
		if ((caps >> ept_bits[i].bit) & 1)
			kprintf(" [%s]", ept_bits[i].name);
}

/* SDM A.10: which EPT and VPID features exist. */
static void print_ept_vpid(void)
{
	uint64_t caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);

	kprintf("vmx: EPT/VPID capabilities (MSR 0x%x = 0x%016llx):",
		MSR_IA32_VMX_EPT_VPID_CAP, (unsigned long long)caps);
	print_ept_bits(caps);
	kprintf("\n");
}

void vmx_require_ept(uint64_t need)
{
	uint32_t proc = (uint32_t)(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32);
	uint64_t caps = 0;

	/* The MSR exists only if EPT or VPID can be enabled (SDM A.10). */
	if ((proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
	    (rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32 &
	     (SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID)))
		caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);

	if ((caps & need) != need) {
		kprintf("vmx: EPT lacks what this hypervisor uses:");
		print_ept_bits(need & ~caps);
		kprintf(" (IA32_VMX_EPT_VPID_CAP = 0x%llx, SDM A.10)\n",
			(unsigned long long)caps);
		power_off(POWER_FAIL_VMX_CONTROLS);
	}
	kprintf("vmx: EPT has what this hypervisor uses:");
	print_ept_bits(need);
	kprintf("\n");
}

void vmx_print_capabilities(void)
{
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	unsigned int type = (basic >> 50) & 0xF;
	int use_true = vmx_has_true_controls();
	uint32_t proc_allowed1;

	/* SDM A.1: the layout of IA32_VMX_BASIC. */
	kprintf("vmx: IA32_VMX_BASIC = 0x%016llx: revision 0x%x, VMCS region "
		"%u bytes, memory type %u (%s), TRUE controls: %s, "
		"32-bit physical addresses only: %s\n",
		(unsigned long long)basic, (unsigned int)(basic & 0x7FFFFFFF),
		(unsigned int)((basic >> 32) & 0x1FFF), type,
		type < 8 && memory_types[type] ? memory_types[type] : "?",
		use_true ? "yes" : "no", (basic >> 48) & 1 ? "yes" : "no");
	/* The TRUE MSRs may allow clearing "default1" bits: prefer them. */
	print_control_field("pin-based", use_true ?
			    MSR_IA32_VMX_TRUE_PINBASED_CTLS :
			    MSR_IA32_VMX_PINBASED_CTLS, pin_names);
	print_control_field("primary processor-based", use_true ?
			    MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
			    MSR_IA32_VMX_PROCBASED_CTLS, proc_names);
	proc_allowed1 = (uint32_t)(rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32);
	if (proc_allowed1 & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) {
		print_control_field("secondary processor-based",
				    MSR_IA32_VMX_PROCBASED_CTLS2, proc2_names);
		print_ept_vpid();
	} else {
		kprintf("vmx: no secondary processor-based controls\n");
	}
	print_control_field("VM-exit", use_true ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
			    MSR_IA32_VMX_EXIT_CTLS, exit_names);
	print_control_field("VM-entry", use_true ?
			    MSR_IA32_VMX_TRUE_ENTRY_CTLS :
			    MSR_IA32_VMX_ENTRY_CTLS, entry_names);
	kprintf("vmx: CR0 fixed0 0x%llx fixed1 0x%llx, CR4 fixed0 0x%llx "
		"fixed1 0x%llx\n",
		(unsigned long long)rdmsr(MSR_IA32_VMX_CR0_FIXED0),
		(unsigned long long)rdmsr(MSR_IA32_VMX_CR0_FIXED1),
		(unsigned long long)rdmsr(MSR_IA32_VMX_CR4_FIXED0),
		(unsigned long long)rdmsr(MSR_IA32_VMX_CR4_FIXED1));
}
