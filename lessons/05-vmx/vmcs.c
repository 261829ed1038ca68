/**
 * @file vmcs.c
 * @brief The host-state area of the VMCS: where a VM exit lands.
 * @ingroup lesson05
 *
 * On every VM exit the processor loads the host's state from the VMCS
 * (SDM Vol. 3C, 27.5 "Loading Host State"; the fields are listed in 24.5
 * "Host-State Area"). There is no "previous state" saved anywhere: if a
 * field here is wrong, the exit lands somewhere wrong. So we copy the state
 * we are running in now. The control fields that go with it, and the one
 * helper every guest's segment registers need, live here too.
 */
#include "gdt64.h"
#include "kprintf.h"
#include "vmx.h"
#include "x86.h"

void vmcs_setup_host(void *host_stack_top)
{
	struct desc_ptr gdtr, idtr;

	sgdt(&gdtr);
	sidt(&idtr);
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, read_cr4());
	/* SDM 26.2.3: selectors with RPL = TI = 0; CS and TR not null. */
	vmcs_write(HOST_CS_SELECTOR, GDT64_KERNEL_CODE);
	vmcs_write(HOST_SS_SELECTOR, GDT64_KERNEL_DATA);
	vmcs_write(HOST_DS_SELECTOR, GDT64_KERNEL_DATA);
	vmcs_write(HOST_ES_SELECTOR, GDT64_KERNEL_DATA);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT64_TSS);
	vmcs_write(HOST_FS_BASE, 0);
	vmcs_write(HOST_GS_BASE, 0);
	vmcs_write(HOST_TR_BASE, (uint64_t)(uintptr_t)&kernel_tss);
	vmcs_write(HOST_GDTR_BASE, gdtr.base);
	vmcs_write(HOST_IDTR_BASE, idtr.base);
	vmcs_write(HOST_IA32_SYSENTER_CS, 0);
	vmcs_write(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_write(HOST_IA32_SYSENTER_EIP, 0);
	/* Loaded on exit because VM_EXIT_LOAD_IA32_EFER/PAT are set. */
	vmcs_write(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_write(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	/* A stack of its own: the exit handler never runs on the guest's. */
	vmcs_write(HOST_RSP, (uint64_t)(uintptr_t)host_stack_top);
	vmcs_write(HOST_RIP, (uint64_t)(uintptr_t)vmexit_entry);
	kprintf("vmcs: host state: RIP=vmexit_entry (0x%llx), RSP=0x%llx, "
		"CR3=0x%lx, TR=0x%x\n",
		(unsigned long long)(uintptr_t)vmexit_entry,
		(unsigned long long)(uintptr_t)host_stack_top, read_cr3(),
		GDT64_TSS);
}

void vmcs_setup_controls(const struct vmx_controls *want)
{
	int t = vmx_has_true_controls();   /* SDM A.2: prefer TRUE MSRs */
	uint32_t proc = vmx_adjust_controls(want->proc,
		t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
		MSR_IA32_VMX_PROCBASED_CTLS, "primary processor-based");

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(want->pin,
		   t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
		   MSR_IA32_VMX_PINBASED_CTLS, "pin-based"));
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
	if (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
		vmcs_write(SECONDARY_VM_EXEC_CONTROL,
			   vmx_adjust_controls(want->proc2,
					       MSR_IA32_VMX_PROCBASED_CTLS2,
					       "secondary processor-based"));
	/* The host is 64-bit; vmcs_setup_host() gives EFER and PAT values. */
	vmcs_write(VM_EXIT_CONTROLS, vmx_adjust_controls(want->exit |
		   VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
		   VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT |
		   VM_EXIT_LOAD_IA32_PAT,
		   t ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
		   "VM-exit"));
	vmcs_write(VM_ENTRY_CONTROLS, vmx_adjust_controls(want->entry,
		   t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
		   "VM-entry"));
	vmcs_write(EXCEPTION_BITMAP, 0);   /* guest exceptions stay inside */
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);   /* inject nothing */
}

void vmcs_write_segment(enum vmcs_field selector_field, uint16_t selector,
			uint32_t access_rights, uint32_t limit, uint64_t base)
{
	unsigned int offset = selector_field - GUEST_ES_SELECTOR;

	vmcs_write(selector_field, selector);
	vmcs_write(GUEST_ES_LIMIT + offset, limit);
	vmcs_write(GUEST_ES_AR_BYTES + offset, access_rights);
	vmcs_write(GUEST_ES_BASE + offset, base);
}
