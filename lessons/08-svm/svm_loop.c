/**
 * @file svm_loop.c
 * @brief Lesson 08's VMRUN loop: one VM, VMRUN until it stops.
 * @ingroup lesson08
 *
 * main.c calls svm_run_vm() once VM1's VMCB is filled (vm1_svm.c). VMX
 * comes back at HOST_RIP; SVM comes back after the VMRUN (AMD64 APM
 * Vol. 2, 15.5-15.6), so the hypervisor is an ordinary loop: VMRUN, read
 * EXITCODE (VMCB offset 0x070), translate it (svm_exits.c) and hand it to
 * lesson 06's one-VM policy (vm_one.c), which runs the handler, counts
 * the exit and, when VM1 stops, prints the summary and powers off.
 * Lesson 11 replaces this file by its scheduler.
 */
#include "kprintf.h"
#include "paging.h"
#include "power.h"
#include "svm.h"
#include "vm.h"         /* lesson 06: the vendor-neutral core */

/* 15.5.2: VMSAVE's target for the host's FS, GS, TR, LDTR and MSRs. */
static struct vmcb host_vmcb __attribute__((aligned(PAGE_SIZE)));

/* One #VMEXIT: translate EXITCODE, then lesson 06's dispatcher. */
static void svm_exit_dispatch(struct vmcb *vmcb, struct guest_regs *regs)
{
	uint64_t code = vmcb_read(vmcb, VMCB_EXIT_CODE);

	if (code == (uint64_t)SVM_EXIT_ERR) {
		/* 15.5.1: VMRUN's consistency checks failed; nothing ran. */
		kprintf("svm: VMRUN failed: #VMEXIT VMEXIT_INVALID (the VMCB "
			"breaks a rule of APM 15.5.1)\n");
		vm_set_stop_reason("VMRUN failed", POWER_FAIL_VMRUN);
		vm_stop();
	}
	vm_exit_handle(svm_exit_reason(code), code, regs);
}

void svm_run_vm(struct vmcb *vmcb, struct guest_regs *regs)
{
	svm_exits_use(vmcb);            /* svm_exits.c: VM1's VMCB */
	svm_vmsave(virt_to_phys(&host_vmcb));   /* the host's extra state */
	kprintf("vm: VMRUN VM1\n");
	for (;;) {
		/* 15.5.1: VMRUN loads the guest's RAX from the VMCB. */
		vmcb_write(vmcb, VMCB_RAX, regs->rax);
		svm_vmrun(regs, virt_to_phys(vmcb), virt_to_phys(&host_vmcb));
		regs->rax = vmcb_read(vmcb, VMCB_RAX);
		/* The first run flushed ASID 1's TLB entries; later ones need
		 * not (Table B-1, TLB_CONTROL). */
		vmcb_write_n(vmcb, VMCB_TLB_CONTROL, 1, 0);
		svm_exit_dispatch(vmcb, regs);  /* returns if VM1 goes on */
	}
}
