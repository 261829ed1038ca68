/**
 * @file vmcs.c
 * @brief The VMCS, filled in one place: host state, controls, guest state.
 * @ingroup lesson05
 *
 * A VMCS (SDM Vol. 3C, chapter 24 "Virtual Machine Control Structures")
 * holds everything a VM entry loads and a VM exit saves. vmcs_load() makes
 * one current; vmcs_setup() then writes every field VM entry checks: the
 * host-state area (24.5), the control fields (24.6-24.8) and the
 * guest-state area (24.4). What differs
 * from guest to guest comes in a struct vmcs_guest: the controls it wants
 * and a function that writes its registers (lesson 05's guest64.c, lesson
 * 06's guest_rm.c). Everything else is the same for every guest and lives
 * here: the host state, copied from the state we are running in now
 * (there is no "previous state" saved anywhere: if a host field is wrong,
 * the exit lands somewhere wrong), and the exit controls that host needs.
 */
#include "gdt64.h"
#include "kprintf.h"
#include "paging.h"
#include "vmx.h"
#include "x86.h"

void vmcs_load(void *vmcs)
{
	uint64_t pa = virt_to_phys(vmcs);

	/* SDM 24.2: bits 30:0 revision ID, bit 31 (shadow VMCS) clear. */
	*(uint32_t *)vmcs = vmx_revision();
	/* SDM 24.11.3 "Initializing a VMCS": VMCLEAR, then VMPTRLD. */
	vmx_check(__vmclear(pa), "VMCLEAR");  /* state "clear", in memory */
	vmx_check(__vmptrld(pa), "VMPTRLD");  /* the current VMCS */
	kprintf("vmx: VMCLEAR and VMPTRLD of the VMCS at physical 0x%llx\n",
		(unsigned long long)pa);
}

/*
 * The host-state area (SDM 24.5), which every VM exit loads (27.5
 * "Loading Host State"): the state of this kernel, now.
 */
static void vmcs_setup_host(void *host_stack_top)
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

/*
 * The control fields (SDM 24.6-24.8) from what the guest wants, each
 * adjusted to what the CPU allows (vmx_adjust_controls(), SDM A.3-A.5),
 * plus the exit controls the host state above needs: a 64-bit host, EFER
 * and PAT swapped. Nothing exits or is injected unless a guest asks.
 */
static void vmcs_setup_controls(const struct vmx_controls *want)
{
	int t = vmx_has_true_controls();   /* SDM A.2: prefer TRUE MSRs */
	uint32_t proc = vmx_adjust_controls(want->proc,
		t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
		MSR_IA32_VMX_PROCBASED_CTLS, "primary processor-based");
	uint32_t proc2 = 0;

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(want->pin,
		   t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
		   MSR_IA32_VMX_PINBASED_CTLS, "pin-based"));      /* 24.6.1 */
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);            /* 24.6.2 */
	if (proc & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) {
		proc2 = vmx_adjust_controls(want->proc2,
					    MSR_IA32_VMX_PROCBASED_CTLS2,
					    "secondary processor-based");
		vmcs_write(SECONDARY_VM_EXEC_CONTROL, proc2);
	}
	/* The host is 64-bit; vmcs_setup_host() gives EFER and PAT values. */
	vmcs_write(VM_EXIT_CONTROLS, vmx_adjust_controls(want->exit |
		   VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
		   VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT |
		   VM_EXIT_LOAD_IA32_PAT,
		   t ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
		   "VM-exit"));                                  /* 24.7.1 */
	vmcs_write(VM_ENTRY_CONTROLS, vmx_adjust_controls(want->entry,
		   t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
		   "VM-entry"));                                 /* 24.8.1 */
	/* SDM 24.6.11: the guest-physical address space, when EPT is on. */
	if (proc2 & SECONDARY_EXEC_ENABLE_EPT)
		vmcs_write(EPT_POINTER, want->ept_pointer);
	/* SDM 24.6.6: CR bits the host owns, and what the guest reads. */
	vmcs_write(CR0_GUEST_HOST_MASK, want->cr0_mask);
	vmcs_write(CR0_READ_SHADOW, want->cr0_shadow);
	vmcs_write(CR4_GUEST_HOST_MASK, want->cr4_mask);
	vmcs_write(CR4_READ_SHADOW, want->cr4_shadow);
	/* 24.6.3: the exceptions that exit; every other one stays inside. */
	vmcs_write(EXCEPTION_BITMAP, want->exception_bitmap);
	vmcs_write(CR3_TARGET_COUNT, 0);          /* 24.6.7 */
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);   /* 24.7.2 */
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);   /* 24.8.2 */
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);  /* 24.8.3: inject nothing */
}

/*
 * The guest-state fields every guest here starts with (SDM 24.4.1, 24.4.2;
 * the values of Vol. 3A, 9.1.1 after reset): no debug state, no SYSENTER,
 * only RFLAGS' reserved 1, active, not blocked, no shadow VMCS. The
 * guest's setup_state() writes the rest, and may override these.
 */
static void vmcs_setup_guest_defaults(void)
{
	vmcs_write(GUEST_DR7, 0x400);         /* the value after reset */
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_RFLAGS, 0x2);        /* only the reserved 1 bit */
	vmcs_write(GUEST_ACTIVITY_STATE, 0);  /* active */
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL); /* no shadow VMCS */
}

void vmcs_setup(const struct vmcs_guest *guest, void *host_stack_top,
		struct guest_regs *regs)
{
	vmcs_setup_host(host_stack_top);          /* SDM 24.5 */
	vmcs_setup_controls(&guest->controls);    /* SDM 24.6-24.8 */
	vmcs_setup_guest_defaults();              /* SDM 24.4 */
	guest->setup_state(regs);                 /* SDM 24.4.1: the guest's */
}

void vmcs_write_rm_segments(void)
{
	static const enum vmcs_field data[] = {
		GUEST_SS_SELECTOR, GUEST_DS_SELECTOR, GUEST_ES_SELECTOR,
		GUEST_FS_SELECTOR, GUEST_GS_SELECTOR,
	};

	vmcs_write_segment(GUEST_CS_SELECTOR, 0, AR_RM_CODE, 0xFFFF, 0);
	for (unsigned int i = 0; i < sizeof(data) / sizeof(data[0]); i++)
		vmcs_write_segment(data[i], 0, AR_RM_DATA, 0xFFFF, 0);
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
