/**
 * @file vmcb.h
 * @brief The VMCB's layout: every field lesson 08 uses, by its APM offset.
 * @ingroup lesson08
 *
 * The VMCB (virtual machine control block) is SVM's VMCS: one 4 KiB page,
 * 4 KiB aligned, that software reads and writes as ordinary memory (no
 * VMREAD/VMWRITE). Its control area is at 0x000, its state-save area at
 * 0x400 (AMD64 APM Vol. 2, Appendix B "Layout of VMCB", Tables B-1 and
 * B-2). The offsets are written once, here, as byte offsets from the start
 * of the page: vmcb.c reaches a field with vmcb_read()/vmcb_write() and a
 * name, never with a number. Names follow Linux's arch/x86/include/asm/svm.h
 * where it has one; the APM's name is in the comment where they differ.
 */
#ifndef LESSON08_VMCB_H
#define LESSON08_VMCB_H

#include <stdint.h>

#include "paging.h"
#include "x86.h"

/** Byte offsets in the VMCB (APM Vol. 2, Appendix B). */
enum vmcb_field {
	/* Table B-1: the control area. */
	VMCB_INTERCEPT_CR = 0x000,      /**< u32: CR0-15 reads, bits 16-31 writes */
	VMCB_INTERCEPT_DR = 0x004,      /**< u32: DR0-15 reads, then writes */
	VMCB_INTERCEPT_EXCEPTIONS = 0x008, /**< u32: one bit per vector */
	VMCB_INTERCEPT_MISC1 = 0x00C,   /**< u32: INTR ... SHUTDOWN (vector 3) */
	VMCB_INTERCEPT_MISC2 = 0x010,   /**< u32: VMRUN ... (vector 4) */
	VMCB_IOPM_BASE_PA = 0x040,      /**< u64: the I/O permission map */
	VMCB_MSRPM_BASE_PA = 0x048,     /**< u64: the MSR permission map */
	VMCB_TSC_OFFSET = 0x050,        /**< u64: added to the guest's TSC */
	VMCB_ASID = 0x058,              /**< u32: guest address-space ID */
	VMCB_TLB_CONTROL = 0x05C,       /**< u8: flush the ASID's TLB entries */
	VMCB_INT_CTL = 0x060,           /**< u64: V_TPR, V_IRQ, V_INTR_MASKING */
	VMCB_INT_STATE = 0x068,         /**< u64: interrupt shadow */
	VMCB_EXIT_CODE = 0x070,         /**< u64: EXITCODE, why #VMEXIT came */
	VMCB_EXIT_INFO_1 = 0x078,       /**< u64: EXITINFO1 */
	VMCB_EXIT_INFO_2 = 0x080,       /**< u64: EXITINFO2 */
	VMCB_EXIT_INT_INFO = 0x088,     /**< u64: EXITINTINFO, event in flight */
	VMCB_NESTED_CTL = 0x090,        /**< u64: bit 0 NP_ENABLE */
	VMCB_EVENT_INJ = 0x0A8,         /**< u64: EVENTINJ */
	VMCB_NESTED_CR3 = 0x0B0,        /**< u64: N_CR3, nested page tables */
	VMCB_CLEAN = 0x0C0,             /**< u32: VMCB clean bits */
	VMCB_NEXT_RIP = 0x0C8,          /**< u64: nRIP (NRIP save only) */

	/* Table B-2: the state-save area, from 0x400. A segment is 16 bytes:
	 * selector (u16), attrib (u16), limit (u32), base (u64). */
	VMCB_ES = 0x400,                /**< segment: ES */
	VMCB_CS = 0x410,                /**< segment: CS */
	VMCB_SS = 0x420,                /**< segment: SS */
	VMCB_DS = 0x430,                /**< segment: DS */
	VMCB_FS = 0x440,                /**< segment: FS (VMLOAD/VMSAVE) */
	VMCB_GS = 0x450,                /**< segment: GS (VMLOAD/VMSAVE) */
	VMCB_GDTR = 0x460,              /**< limit and base only */
	VMCB_LDTR = 0x470,              /**< segment: LDTR (VMLOAD/VMSAVE) */
	VMCB_IDTR = 0x480,              /**< limit and base only */
	VMCB_TR = 0x490,                /**< segment: TR (VMLOAD/VMSAVE) */
	VMCB_CPL = 0x4CB,               /**< u8: current privilege level */
	VMCB_EFER = 0x4D0,              /**< u64: EFER, SVME must be 1 */
	VMCB_CR4 = 0x548,               /**< u64 */
	VMCB_CR3 = 0x550,               /**< u64: the guest's own CR3 */
	VMCB_CR0 = 0x558,               /**< u64 */
	VMCB_DR7 = 0x560,               /**< u64 */
	VMCB_DR6 = 0x568,               /**< u64 */
	VMCB_RFLAGS = 0x570,            /**< u64 */
	VMCB_RIP = 0x578,               /**< u64 */
	VMCB_RSP = 0x5D8,               /**< u64 */
	VMCB_RAX = 0x5F8,               /**< u64: the guest's RAX lives here */
	VMCB_CR2 = 0x640,               /**< u64 */
	VMCB_G_PAT = 0x668,             /**< u64: guest PAT (nested paging) */
};

/** @name Offsets inside a VMCB segment (Table B-2, "segment" fields)
 * @{ */
#define VMCB_SEG_SELECTOR 0  /**< u16 */
#define VMCB_SEG_ATTRIB 2    /**< u16: packed access rights, below */
#define VMCB_SEG_LIMIT 4     /**< u32 */
#define VMCB_SEG_BASE 8      /**< u64 */
/** @} */

/** @name Segment attributes: descriptor bits 47:40 in attrib 7:0, bits
 * 55:52 in attrib 11:8 (APM Vol. 2, Table B-2)
 * @{ */
#define SVM_SELECTOR_S BIT(4)       /**< code or data (not system) */
#define SVM_SELECTOR_P BIT(7)       /**< present */
#define SVM_ATTRIB_RM_CODE 0x9B     /**< P, S, execute/read, accessed */
#define SVM_ATTRIB_RM_DATA 0x93     /**< P, S, read/write, accessed */
#define SVM_ATTRIB_LDT 0x82         /**< P, system type 2: an LDT */
#define SVM_ATTRIB_TSS32_BUSY 0x8B  /**< P, system type 11: busy TSS */
/** @} */

/** @name VMCB_INTERCEPT_CR and _EXCEPTIONS bits (Table B-1, 0x000, 0x008)
 * @{ */
#define INTERCEPT_CR_READ(n) BIT(n)        /**< reads of CRn */
#define INTERCEPT_CR_WRITE(n) BIT(16 + (n)) /**< writes of CRn */
#define INTERCEPT_EXCEPTION(v) BIT(v)      /**< exception vector v */
#define PF_VECTOR 14                       /**< #PF */
/** @} */

/** @name VMCB_INTERCEPT_MISC1: intercept vector 3 (Table B-1, 0x00C)
 * @{ */
#define INTERCEPT_INTR BIT(0)        /**< physical interrupts */
#define INTERCEPT_CPUID BIT(18)      /**< CPUID */
#define INTERCEPT_HLT BIT(24)        /**< HLT */
#define INTERCEPT_IOIO_PROT BIT(27)  /**< IN/OUT, through the IOPM */
#define INTERCEPT_MSR_PROT BIT(28)   /**< RDMSR/WRMSR, through the MSRPM */
#define INTERCEPT_SHUTDOWN BIT(31)   /**< shutdown (a triple fault) */
/** @} */

/** @name VMCB_INTERCEPT_MISC2: intercept vector 4 (Table B-1, 0x010)
 * @{ */
#define INTERCEPT_VMRUN BIT(0)       /**< VMRUN: VMRUN fails without it */
#define INTERCEPT_VMMCALL BIT(1)     /**< VMMCALL: the hypercall */
/** @} */

/** @name Other control-area bits
 * @{ */
#define SVM_NESTED_CTL_NP_ENABLE BIT(0)  /**< 0x090 bit 0: nested paging */
#define TLB_CONTROL_FLUSH_ASID 3         /**< 0x05C: flush this ASID */
#define V_INTR_MASKING_MASK BIT(24)      /**< 0x060 bit 24: V_INTR_MASKING */
/** @} */

/** @name The permission maps' sizes (APM Vol. 2, 15.10.1 and 15.11)
 * @{ */
#define IOPM_SIZE (3 * PAGE_SIZE)     /**< 12 KiB: one bit per port, 64K+ */
#define MSRPM_SIZE (2 * PAGE_SIZE)    /**< 8 KiB: two bits per MSR */
/** @} */

/** @name #VMEXIT codes, VMCB_EXIT_CODE (APM Vol. 2, Appendix C, Table
 * C-1; names as Linux's uapi/asm/svm.h, SVM_EXIT_*)
 * @{ */
#define SVM_EXIT_READ_CR0 0x000     /**< 0x000-0x00F: CR0-15 reads */
#define SVM_EXIT_WRITE_CR0 0x010    /**< 0x010-0x01F: CR0-15 writes */
#define SVM_EXIT_READ_DR0 0x020     /**< 0x020-0x02F: DR0-15 reads */
#define SVM_EXIT_WRITE_DR0 0x030    /**< 0x030-0x03F: DR0-15 writes */
#define SVM_EXIT_EXCP_BASE 0x040    /**< 0x040-0x05F: exception vectors */
#define SVM_EXIT_EXCP_PF 0x04E      /**< #PF (paged real mode) */
#define SVM_EXIT_INTR 0x060         /**< physical interrupt */
#define SVM_EXIT_CPUID 0x072        /**< CPUID */
#define SVM_EXIT_HLT 0x078          /**< HLT */
#define SVM_EXIT_IOIO 0x07B         /**< IN/OUT/INS/OUTS */
#define SVM_EXIT_MSR 0x07C          /**< RDMSR/WRMSR */
#define SVM_EXIT_SHUTDOWN 0x07F     /**< shutdown: a triple fault */
#define SVM_EXIT_VMRUN 0x080        /**< VMRUN in the guest */
#define SVM_EXIT_VMMCALL 0x081      /**< VMMCALL: a hypercall */
#define SVM_EXIT_NPF 0x400          /**< nested page fault */
#define SVM_EXIT_CODE_MAX 0x404     /**< one past the last code named */
#define SVM_EXIT_ERR (-1)           /**< VMEXIT_INVALID: VMRUN refused */
/** @} */

/** @name EXITINFO1 of an NPF: a page-fault error code (APM 15.25)
 * @{ */
#define NPF_P BIT(0)           /**< the page was present (a protection fault) */
#define NPF_RW BIT(1)          /**< the access was a write */
#define NPF_US BIT(2)          /**< user access (all nested walks are) */
#define NPF_RSV BIT(3)         /**< a reserved bit was set */
#define NPF_ID BIT(4)          /**< an instruction fetch */
#define NPF_GUEST_FINAL BIT(32) /**< translating the final guest-physical address */
#define NPF_GUEST_TABLE BIT(33) /**< translating a guest page-table address */
/** @} */

/** @name EXITINFO1 of an IOIO intercept (APM 15.10.2)
 * @{ */
#define IOIO_TYPE_IN BIT(0)    /**< 1: IN, 0: OUT */
#define IOIO_STR BIT(2)        /**< INS/OUTS */
#define IOIO_REP BIT(3)        /**< REP prefix */
#define IOIO_SZ8 BIT(4)        /**< 8-bit operand */
#define IOIO_SZ16 BIT(5)       /**< 16-bit operand */
#define IOIO_SZ32 BIT(6)       /**< 32-bit operand */
#define IOIO_PORT_SHIFT 16     /**< bits 31:16: the port */
/** @} */

/** A VMCB: one page. vmcb_read()/vmcb_write() name the fields. */
struct vmcb {
	uint8_t bytes[PAGE_SIZE];  /**< the page, by enum vmcb_field offset */
};

/** Read the @p size -byte field at @p field (1, 2, 4 or 8 bytes). */
static inline uint64_t vmcb_read_n(const struct vmcb *vmcb,
				   unsigned int field, unsigned int size)
{
	uint64_t value = 0;

	for (unsigned int i = 0; i < size; i++)   /* little-endian */
		value |= (uint64_t)vmcb->bytes[field + i] << (8 * i);
	return value;
}

/** Write the @p size -byte field at @p field. */
static inline void vmcb_write_n(struct vmcb *vmcb, unsigned int field,
				unsigned int size, uint64_t value)
{
	for (unsigned int i = 0; i < size; i++)
		vmcb->bytes[field + i] = (uint8_t)(value >> (8 * i));
}

/** A 64-bit field (most of them: EXITCODE, RIP, RAX, CR0...). */
static inline uint64_t vmcb_read(const struct vmcb *vmcb, enum vmcb_field f)
{
	return vmcb_read_n(vmcb, f, 8);
}

/** Write a 64-bit field. */
static inline void vmcb_write(struct vmcb *vmcb, enum vmcb_field f,
			      uint64_t value)
{
	vmcb_write_n(vmcb, f, 8, value);
}

/** Write a 32-bit field (the intercept vectors, the ASID). */
static inline void vmcb_write32(struct vmcb *vmcb, enum vmcb_field f,
				uint32_t value)
{
	vmcb_write_n(vmcb, f, 4, value);
}

/** Fill segment @p seg (VMCB_ES ... VMCB_TR) in the state-save area. */
static inline void vmcb_write_segment(struct vmcb *vmcb, enum vmcb_field seg,
				      uint16_t selector, uint16_t attrib,
				      uint32_t limit, uint64_t base)
{
	vmcb_write_n(vmcb, seg + VMCB_SEG_SELECTOR, 2, selector);
	vmcb_write_n(vmcb, seg + VMCB_SEG_ATTRIB, 2, attrib);
	vmcb_write_n(vmcb, seg + VMCB_SEG_LIMIT, 4, limit);
	vmcb_write_n(vmcb, seg + VMCB_SEG_BASE, 8, base);
}

#endif
