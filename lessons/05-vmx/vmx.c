/**
 * @file vmx.c
 * @brief Detect VMX, enter and leave VMX operation.
 * @ingroup lesson05
 *
 * The sequence of SDM Vol. 3C, 23.7 "Enabling and Entering VMX Operation":
 * check CPUID, make IA32_FEATURE_CONTROL allow VMXON, give CR0 and CR4 the
 * values VMX requires (23.8 "Restrictions on VMX Operation"), set
 * CR4.VMXE, and execute VMXON with a VMXON region. Filling a VMCS is
 * vmcs.c's business; this file also turns the capability MSRs into control
 * values (vmx_adjust_controls()) and every failed VMX instruction into a
 * message (vmx_check(), and vmcs_read()/vmcs_write(), which use it). (Section numbers are
 * those of the SDM editions of 2016-2021, which the course cites
 * throughout; from 2022 on, Intel numbers the VMX chapters one higher.)
 */
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "vmx.h"
#include "x86.h"

/* SDM 24.2: 4 KiB, aligned, written by software only for its revision ID. */
static uint8_t vmxon_region[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

uint32_t vmx_revision(void)
{
	return (uint32_t)rdmsr(MSR_IA32_VMX_BASIC) & 0x7FFFFFFF;
}

void vmx_check(enum vmx_status status, const char *what)
{
	uint64_t error;

	if (status == VMX_OK)
		return;
	if (status == VMX_FAIL_INVALID)
		panic("%s: VMfailInvalid (no current VMCS to say why)", what);
	/* VMfailValid: the current VMCS holds the reason (SDM 30.4). */
	__vmread(VM_INSTRUCTION_ERROR, &error);
	panic("%s: VMfailValid, VM-instruction error %llu: %s", what,
	      (unsigned long long)error,
	      vm_instruction_error_name((unsigned int)error));
}

/* VMREAD and VMWRITE sit here, next to vmx_check(), which the compiler
 * then inlines: every exit handler's field access passes through them. */
uint64_t vmcs_read(enum vmcs_field field)
{
	uint64_t value = 0;

	vmx_check(__vmread(field, &value), "VMREAD");   /* SDM 30.3 */
	return value;
}

void vmcs_write(enum vmcs_field field, uint64_t value)
{
	enum vmx_status status = __vmwrite(field, value);   /* SDM 30.3 */

	if (status != VMX_OK)
		kprintf("vmx: VMWRITE of field 0x%04x = 0x%llx failed\n", field,
			(unsigned long long)value);
	vmx_check(status, "VMWRITE");
}

void vmx_detect(void)
{
	if (!(cpuid(1, 0).ecx & CPUID_1_ECX_VMX)) {
		kprintf("vmx: this CPU has no VMX (CPUID.1:ECX.VMX[bit 5] is "
			"clear): lesson 05 needs Intel VT-x\n");
		power_off(POWER_FAIL_NO_VMX);
	}
	kprintf("vmx: CPUID.1:ECX.VMX[bit 5] = 1: VMX is supported\n");
}

/*
 * IA32_FEATURE_CONTROL (SDM 23.7): firmware normally sets it and locks it.
 * Unlocked, we may enable VMX outside SMX ourselves and lock it; locked
 * with VMX disabled, VMXON would #GP and only the firmware can help.
 */
static void vmx_enable_feature_control(void)
{
	uint64_t feat = rdmsr(MSR_IA32_FEAT_CTL);

	kprintf("vmx: IA32_FEATURE_CONTROL = 0x%llx (%s)\n",
		(unsigned long long)feat,
		feat & FEAT_CTL_LOCKED ? "locked" : "unlocked");
	if (!(feat & FEAT_CTL_LOCKED)) {
		feat |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
		wrmsr(MSR_IA32_FEAT_CTL, feat);
		kprintf("vmx: enabled VMX outside SMX and locked it: 0x%llx\n",
			(unsigned long long)feat);
	} else if (!(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		kprintf("vmx: IA32_FEATURE_CONTROL is locked with VMX disabled "
			"(enable VT-x in the firmware setup)\n");
		power_off(POWER_FAIL_VMX_LOCKED);
	}
}

/*
 * SDM 23.8 and A.7/A.8: in VMX operation, CR0 and CR4 bits set in FIXED0
 * must be 1 and bits clear in FIXED1 must be 0. CR4.VMXE is one of them.
 */
static void vmx_apply_fixed_bits(void)
{
	unsigned long cr0 = read_cr0(), cr4 = read_cr4() | CR4_VMXE;
	unsigned long new_cr0 = (cr0 | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) &
				rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	unsigned long new_cr4 = (cr4 | rdmsr(MSR_IA32_VMX_CR4_FIXED0)) &
				rdmsr(MSR_IA32_VMX_CR4_FIXED1);

	write_cr0(new_cr0);
	write_cr4(new_cr4);
	kprintf("vmx: CR0 0x%lx -> 0x%lx, CR4 0x%lx -> 0x%lx (fixed bits, "
		"CR4.VMXE)\n", cr0, new_cr0, (unsigned long)(cr4 & ~CR4_VMXE),
		new_cr4);
}

void vmx_enable(void)
{
	vmx_enable_feature_control();
	vmx_apply_fixed_bits();
	/* SDM 24.11.5: the VMXON region starts with the revision identifier. */
	*(uint32_t *)vmxon_region = vmx_revision();
	vmx_check(__vmxon(virt_to_phys(vmxon_region)), "VMXON");
	kprintf("vmx: VMXON at physical 0x%llx: in VMX root operation\n",
		(unsigned long long)virt_to_phys(vmxon_region));
}

void vmx_disable(void)
{
	/* SDM 30.3 "VMXOFF"; then CR4.VMXE may be cleared again (23.8). */
	vmx_check(__vmxoff(), "VMXOFF");
	write_cr4(read_cr4() & ~CR4_VMXE);
	kprintf("vmx: VMXOFF: left VMX operation\n");
}

uint32_t vmx_adjust_controls(uint32_t want, uint32_t msr, const char *name)
{
	/* Exercise: force the bits the CPU requires (allowed-0 settings) and
	 * refuse the ones it cannot set (allowed-1 settings), SDM A.3. */
	/* BEGIN SOLUTION: adjust-controls */
	uint64_t caps = rdmsr(msr);
	uint32_t must_be_one = (uint32_t)caps;          /* allowed-0 settings */
	uint32_t may_be_one = (uint32_t)(caps >> 32);   /* allowed-1 settings */
	uint32_t missing = want & ~may_be_one;

	if (missing) {
		kprintf("vmx: %s controls: this CPU cannot set bits 0x%08x "
			"(MSR 0x%x allows 0x%08x)\n", name, missing, msr,
			may_be_one);
		power_off(POWER_FAIL_VMX_CONTROLS);
	}
	return want | must_be_one;
	/* END SOLUTION */
}

void vmx_resume_failed(enum vmx_status status)
{
	/* SDM 30.3 "VMLAUNCH/VMRESUME": VMfailValid names why in the VMCS. */
	vmx_check(status, "VMRESUME");
	panic("VMRESUME returned without an error");
}
