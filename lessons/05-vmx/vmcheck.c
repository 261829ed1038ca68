/**
 * @file vmcheck.c
 * @brief Check the guest-state area before VMLAUNCH, as the CPU will.
 * @ingroup lesson05
 *
 * A VM entry that fails a guest-state check (SDM Vol. 3C, 26.3.1 "Checks
 * on the Guest State Area") turns into a VM exit with reason 33,
 * "invalid guest state", and no hint which of a hundred rules broke. This
 * file checks the rules students break most and names the field. It is
 * not complete: the SDM's list is the authority.
 */
#include "kprintf.h"
#include "vmx.h"
#include "x86.h"

/** RFLAGS bits 63:22, 15, 5 and 3 are reserved and must be 0. */
#define RFLAGS_RESERVED_ZERO (~0x3FFFFFULL | BIT(15) | BIT(5) | BIT(3))
/** RFLAGS bit 1 is reserved and must be 1. */
#define RFLAGS_RESERVED_ONE BIT(1)

static int failures;

static void fail(const char *field, uint64_t value, const char *rule,
		 const char *section)
{
	kprintf("vmcheck: %s = 0x%llx: %s (SDM %s)\n", field,
		(unsigned long long)value, rule, section);
	failures++;
}

static void check_control_registers(int unrestricted, int ia32e)
{
	uint64_t cr0 = vmcs_read(GUEST_CR0), cr4 = vmcs_read(GUEST_CR4);
	uint64_t fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);

	/* Unrestricted guests may run with paging or protection off. */
	if (unrestricted)
		fixed0 &= ~(CR0_PE | CR0_PG);
	if ((cr0 & fixed0) != fixed0 ||
	    (cr0 & ~rdmsr(MSR_IA32_VMX_CR0_FIXED1)))
		fail("GUEST_CR0", cr0, "violates IA32_VMX_CR0_FIXED0/1",
		     "26.3.1.1");
	if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
		fail("GUEST_CR0", cr0, "PG set without PE", "26.3.1.1");
	if ((cr4 & rdmsr(MSR_IA32_VMX_CR4_FIXED0)) !=
		    rdmsr(MSR_IA32_VMX_CR4_FIXED0) ||
	    (cr4 & ~rdmsr(MSR_IA32_VMX_CR4_FIXED1)))
		fail("GUEST_CR4", cr4,
		     "violates IA32_VMX_CR4_FIXED0/1 (CR4.VMXE must be 1)",
		     "26.3.1.1");
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		fail("GUEST_CR0/GUEST_CR4", cr0,
		     "an IA-32e mode guest needs CR0.PG and CR4.PAE",
		     "26.3.1.1");
}

static void check_segments(int unrestricted, int ia32e)
{
	uint64_t cs = vmcs_read(GUEST_CS_AR_BYTES);
	uint64_t ss = vmcs_read(GUEST_SS_AR_BYTES);
	uint64_t tr = vmcs_read(GUEST_TR_AR_BYTES);
	uint64_t ldtr = vmcs_read(GUEST_LDTR_AR_BYTES);
	static const struct {
		enum vmcs_field field;
		const char *name;
	} data[] = {
		{ GUEST_DS_AR_BYTES, "GUEST_DS_AR_BYTES" },
		{ GUEST_ES_AR_BYTES, "GUEST_ES_AR_BYTES" },
		{ GUEST_FS_AR_BYTES, "GUEST_FS_AR_BYTES" },
		{ GUEST_GS_AR_BYTES, "GUEST_GS_AR_BYTES" },
	};
	unsigned int type = AR_TYPE(cs);

	if (!(type == 9 || type == 11 || type == 13 || type == 15 ||
	      (unrestricted && type == 3)))
		fail("GUEST_CS_AR_BYTES", cs,
		     "CS must be an accessed code segment (type 9, 11, 13 or "
		     "15)", "26.3.1.2");
	if (!(cs & AR_S) || !(cs & AR_P) || (cs & AR_RESERVED))
		fail("GUEST_CS_AR_BYTES", cs,
		     "CS needs S=1, P=1 and reserved bits clear", "26.3.1.2");
	if (ia32e && (cs & AR_L) && (cs & AR_DB))
		fail("GUEST_CS_AR_BYTES", cs, "CS.L and CS.D/B both set",
		     "26.3.1.2");
	if (!(ss & AR_UNUSABLE) &&
	    ((AR_TYPE(ss) != 3 && AR_TYPE(ss) != 7) || !(ss & AR_S) ||
	     !(ss & AR_P)))
		fail("GUEST_SS_AR_BYTES", ss,
		     "SS must be a present read/write data segment (type 3 or "
		     "7)", "26.3.1.2");
	for (unsigned int i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		uint64_t ar = vmcs_read(data[i].field);

		if (ar & AR_UNUSABLE)
			continue;
		if (!(AR_TYPE(ar) & 1) || !(ar & AR_S) || !(ar & AR_P) ||
		    ((AR_TYPE(ar) & 8) && !(AR_TYPE(ar) & 2)))
			fail(data[i].name, ar,
			     "must be accessed, S=1, P=1, and readable if "
			     "code", "26.3.1.2");
	}
	if ((AR_TYPE(tr) != 11 && (ia32e || AR_TYPE(tr) != 3)) ||
	    (tr & AR_S) || !(tr & AR_P) || (tr & AR_UNUSABLE))
		fail("GUEST_TR_AR_BYTES", tr,
		     "TR must be a present busy TSS (type 11; or 3 outside "
		     "IA-32e mode)", "26.3.1.2");
	if (!(ldtr & AR_UNUSABLE) &&
	    (AR_TYPE(ldtr) != 2 || (ldtr & AR_S) || !(ldtr & AR_P)))
		fail("GUEST_LDTR_AR_BYTES", ldtr,
		     "a usable LDTR must be a present LDT (type 2)",
		     "26.3.1.2");
}

static void check_rflags_and_state(void)
{
	uint64_t rflags = vmcs_read(GUEST_RFLAGS);
	uint64_t activity = vmcs_read(GUEST_ACTIVITY_STATE);
	uint64_t supported = (rdmsr(MSR_IA32_VMX_MISC) >> 6) & 7;

	if ((rflags & RFLAGS_RESERVED_ZERO) || !(rflags & RFLAGS_RESERVED_ONE))
		fail("GUEST_RFLAGS", rflags,
		     "reserved bits: bit 1 must be 1; 3, 5, 15, 63:22 must be "
		     "0", "26.3.1.4");
	/* 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI (SDM 24.4.2). */
	if (activity > 3 || (activity && !((supported >> (activity - 1)) & 1)))
		fail("GUEST_ACTIVITY_STATE", activity,
		     "not an activity state this CPU supports (IA32_VMX_MISC "
		     "bits 8:6)", "26.3.1.5");
	if (vmcs_read(VMCS_LINK_POINTER) != ~0ULL)
		fail("VMCS_LINK_POINTER", vmcs_read(VMCS_LINK_POINTER),
		     "must be all ones without VMCS shadowing", "26.3.1.5");
}

int vmcheck_guest_state(void)
{
	uint64_t proc = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	int unrestricted = (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) &&
			   (vmcs_read(SECONDARY_VM_EXEC_CONTROL) &
			    SECONDARY_EXEC_UNRESTRICTED_GUEST);
	int ia32e = !!(vmcs_read(VM_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE);

	failures = 0;
	check_control_registers(unrestricted, ia32e);
	check_segments(unrestricted, ia32e);
	check_rflags_and_state();
	if (failures)
		kprintf("vmcheck: %d guest-state problem(s): VMLAUNCH would "
			"fail with exit reason 33\n", failures);
	else
		kprintf("vmcheck: guest state passes the checks\n");
	return failures;
}
