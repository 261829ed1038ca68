/**
 * @file vmx_ops.h
 * @brief The VMX instructions as inline C functions that report success.
 * @ingroup lesson05
 *
 * Every VMX instruction ends in one of three ways (SDM Vol. 3C, 30.2
 * "Conventions"): VMsucceed (CF = ZF = 0), VMfailInvalid (CF = 1: there is
 * no current VMCS to hold an error number), or VMfailValid (ZF = 1: the
 * reason is in the current VMCS's VM-instruction error field). These
 * wrappers turn the flags into an enum vmx_status; vmx.c checks them.
 */
#ifndef LESSON05_VMX_OPS_H
#define LESSON05_VMX_OPS_H

#include <stdint.h>

#include "vmcs_fields.h"

/** How a VMX instruction ended. */
enum vmx_status {
	VMX_OK = 0,           /**< VMsucceed */
	VMX_FAIL_INVALID = 1, /**< VMfailInvalid: CF set */
	VMX_FAIL_VALID = 2,   /**< VMfailValid: ZF set, see VM_INSTRUCTION_ERROR */
};

/** The status from the CF and ZF a VMX instruction left behind. */
#define VMX_STATUS(cf, zf) \
	((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_OK)

/** VMXON: enter VMX root operation (SDM 30.3 "VMXON"). */
static inline enum vmx_status __vmxon(uint64_t vmxon_region_pa)
{
	uint8_t cf, zf;

	__asm__ volatile("vmxon %[pa]; setc %[cf]; setz %[zf]"
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [pa] "m"(vmxon_region_pa) : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

/** VMXOFF: leave VMX operation (SDM 30.3 "VMXOFF"). */
static inline enum vmx_status __vmxoff(void)
{
	uint8_t cf, zf;

	__asm__ volatile("vmxoff; setc %[cf]; setz %[zf]"
			 : [cf] "=qm"(cf), [zf] "=qm"(zf) : : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

/** VMCLEAR: flush a VMCS to memory and mark it clear (SDM 30.3). */
static inline enum vmx_status __vmclear(uint64_t vmcs_pa)
{
	uint8_t cf, zf;

	__asm__ volatile("vmclear %[pa]; setc %[cf]; setz %[zf]"
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [pa] "m"(vmcs_pa) : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

/** VMPTRLD: make a VMCS the current one (SDM 30.3 "VMPTRLD"). */
static inline enum vmx_status __vmptrld(uint64_t vmcs_pa)
{
	uint8_t cf, zf;

	__asm__ volatile("vmptrld %[pa]; setc %[cf]; setz %[zf]"
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [pa] "m"(vmcs_pa) : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

/** VMREAD: read a field of the current VMCS (SDM 30.3 "VMREAD"). */
static inline enum vmx_status __vmread(enum vmcs_field field, uint64_t *value)
{
	uint8_t cf, zf;

	__asm__ volatile("vmread %[field], %[value]; setc %[cf]; setz %[zf]"
			 : [value] "=rm"(*value), [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [field] "r"((uint64_t)field) : "cc");
	return VMX_STATUS(cf, zf);
}

/** VMWRITE: write a field of the current VMCS (SDM 30.3 "VMWRITE"). */
static inline enum vmx_status __vmwrite(enum vmcs_field field, uint64_t value)
{
	uint8_t cf, zf;

	__asm__ volatile("vmwrite %[value], %[field]; setc %[cf]; setz %[zf]"
			 : [cf] "=qm"(cf), [zf] "=qm"(zf)
			 : [value] "rm"(value), [field] "r"((uint64_t)field)
			 : "cc", "memory");
	return VMX_STATUS(cf, zf);
}

#endif
