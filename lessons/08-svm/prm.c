/**
 * @file prm.c
 * @brief Paged real mode: VM1's memory on an SVM without nested paging.
 * @ingroup lesson08
 *
 * Without nested paging (CPUID Fn8000_000A EDX[0] clear, as on QEMU's
 * default qemu64 model) nothing stands between a real-mode guest's
 * addresses and host-physical memory. SVM's answer is paged real mode
 * (AMD64 APM Vol. 2, 15.19 "Paged Real Mode"): VMRUN accepts CR0.PG = 1
 * with CR0.PE = 0, so the guest keeps real-mode segmentation while its
 * linear addresses go through page tables, which the hypervisor builds and
 * owns. VM1's CR3 points at two 32-bit tables (legacy, non-PAE paging,
 * APM Vol. 2, 5.3) that map linear [0, 64 KiB) to VM1's RAM and nothing
 * else; the hypervisor intercepts #PF and any CR0/CR3/CR4 access, so VM1
 * can neither see the paging nor change it.
 */
#include "kprintf.h"
#include "npt.h"
#include "paging.h"

static uint32_t prm_pd[1024] __attribute__((aligned(PAGE_SIZE)));
static uint32_t prm_pt[1024] __attribute__((aligned(PAGE_SIZE)));

uint64_t prm_init(void *ram, size_t size)
{
	/* 32-bit entries, same low bits as lesson 03's: P, RW, US. VM1 runs
	 * at CPL 0, but US costs nothing and matches the nested tables. */
	prm_pd[0] = (uint32_t)virt_to_phys(prm_pt) | PTE_P | PTE_RW | PTE_US;
	for (size_t i = 0; i < size / PAGE_SIZE; i++)
		prm_pt[i] = (uint32_t)virt_to_phys((uint8_t *)ram +
						   i * PAGE_SIZE) |
			    PTE_P | PTE_RW | PTE_US;
	kprintf("prm: paged real mode: linear 0x0-0x%llx -> host-physical "
		"0x%llx; CR3 0x%llx\n", (unsigned long long)size - 1,
		(unsigned long long)virt_to_phys(ram),
		(unsigned long long)virt_to_phys(prm_pd));
	return virt_to_phys(prm_pd);
}
