/**
 * @file vmcs.c
 * @brief The host-state area of the VMCS: where a VM exit lands.
 * @ingroup lesson05
 *
 * On every VM exit the processor loads the host's state from the VMCS
 * (SDM Vol. 3C, 27.5 "Loading Host State"; the fields are listed in 24.5
 * "Host-State Area"). There is no "previous state" saved anywhere: if a
 * field here is wrong, the exit lands somewhere wrong. So we copy the state
 * we are running in now.
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
