/**
 * @file relocate.c
 * @brief The hypervisor moves to the top of RAM and maps itself there.
 * @ingroup lesson07
 *
 * The loader put the hypervisor at LOAD_ADDRESS (0x8000), which is exactly
 * where the guest's own loader will put the guest: the hypervisor must go.
 * Like seed 001's, it takes its memory from the top of RAM, found in the
 * E820 map the real-mode entry read (lesson 02's e820.asm): one 2 MiB page,
 * the highest that fits in a usable range below 1 GiB.
 *
 * The C kernel is linked at KERNEL_VMA + its physical address, and every
 * pointer it holds (return addresses, the GDT's TSS, the IDT's handlers)
 * is such a virtual address. So the move keeps every virtual address and
 * changes only what the higher half maps to: copy the image, then load page
 * tables whose higher half starts at the copy. paging.h's kernel_phys_base
 * says where that is, so virt_to_phys() stays right for the VMXON region,
 * the VMCS and the EPT tables. The low half maps the first 4 GiB 1:1: the
 * hypervisor reads guest memory there (the guest-physical address is the
 * host-physical one, except the hidden range, which the guest cannot map).
 */
#include "hv.h"
#include "kprintf.h"
#include "layout.h"
#include "paging.h"
#include "power.h"

/** The first physical byte after the image's .bss (kernel64.ld). */
extern char __bss_end[];

uint64_t hidden_base;

static uint64_t pml4[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pdpt_low[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pd_low[4][PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pdpt_high[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pd_high[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));

/* The 2 MiB page the hypervisor takes: the highest HV_SIZE-aligned page
 * inside a usable range and below HV_REACH, above the first 2 MiB. */
static uint64_t find_top_of_ram(void)
{
	uint64_t best = 0;

	for (unsigned int i = 0; i < e820_count; i++) {
		const struct e820_entry *e = &e820_map[i];
		uint64_t end = e->base + e->length, base;

		if (e->type != E820_USABLE)
			continue;
		if (end > HV_REACH)
			end = HV_REACH;
		if (end < HV_SIZE)
			continue;
		base = (end - HV_SIZE) & ~(HV_SIZE - 1);
		if (base >= e->base && base >= HV_SIZE && base > best)
			best = base;
	}
	return best;
}

/* Where a kernel object will be once the higher half maps @p base. */
static uint64_t moved(const void *virt, uint64_t base)
{
	return (uint64_t)(uintptr_t)virt - KERNEL_VMA + base;
}

void hv_relocate(void)
{
	uint64_t base = find_top_of_ram();
	uint64_t length = (uint64_t)(uintptr_t)__bss_end - LOAD_ADDRESS;

	if (!base) {
		kprintf("[hv] no usable 2 MiB of RAM below 1 GiB in the E820 "
			"map: nowhere to hide\n");
		power_off(POWER_FAIL);
	}
	/* Low half: the first 4 GiB, 1:1, in 2 MiB pages (SDM Vol. 3A,
	 * 4.5: a PS=1 page-directory entry maps 2 MiB). */
	pml4[0] = moved(pdpt_low, base) | PTE_P | PTE_RW;
	for (int i = 0; i < 4; i++) {
		pdpt_low[i] = moved(pd_low[i], base) | PTE_P | PTE_RW;
		for (int j = 0; j < PT_ENTRIES; j++)
			pd_low[i][j] = ((uint64_t)(i * PT_ENTRIES + j) *
					LARGE_PAGE_SIZE) | PTE_P | PTE_RW |
				       PTE_PS;
	}
	/* Higher half: KERNEL_VMA (PML4 511, PDPT 510) maps the copy. */
	pml4[511] = moved(pdpt_high, base) | PTE_P | PTE_RW;
	pdpt_high[510] = moved(pd_high, base) | PTE_P | PTE_RW;
	pd_high[0] = base | PTE_P | PTE_RW | PTE_PS;

	kprintf("[hv] top of RAM (E820): taking physical 0x%llx-0x%llx, "
		"moving %llu KiB there\n", (unsigned long long)base,
		(unsigned long long)(base + HV_SIZE - 1),
		(unsigned long long)length >> 10);
	hidden_base = base;
	kernel_phys_base = base;        /* set before the copy: it is copied */
	hv_move(base + LOAD_ADDRESS, LOAD_ADDRESS, length, moved(pml4, base));
	/* From here on we run in the copy; LOAD_ADDRESS is the guest's. */
	kprintf("[hv] running at physical 0x%llx (CR3=0x%lx)\n",
		(unsigned long long)virt_to_phys((void *)hv_relocate),
		read_cr3());
}
