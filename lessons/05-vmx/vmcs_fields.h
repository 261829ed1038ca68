/**
 * @file vmcs_fields.h
 * @brief Every VMCS field the kit uses, by its encoding (SDM Vol. 3D, App. B).
 * @ingroup lesson05
 *
 * A VMCS is opaque: software never reads its memory, it names a field by a
 * 32-bit encoding and uses VMREAD/VMWRITE. The encoding itself says what
 * kind of field it is (SDM Vol. 3C, 24.11.2 "VMREAD, VMWRITE, and
 * Encodings of VMCS Fields"): bits 14:13 the width (0 = 16-bit,
 * 1 = 64-bit, 2 = 32-bit, 3 = natural width), bits 11:10 the type
 * (0 = control, 1 = read-only exit information, 2 = guest state,
 * 3 = host state), bits 9:1 an index. Names follow Linux (vmx.h); where the
 * SDM's differs, it is noted.
 */
#ifndef LESSON05_VMCS_FIELDS_H
#define LESSON05_VMCS_FIELDS_H

/** The VMCS field encodings, grouped as in SDM Vol. 3D, Appendix B. */
enum vmcs_field {
	/* B.1.1 16-bit control fields */
	VIRTUAL_PROCESSOR_ID = 0x0000,          /**< VPID */
	/* B.1.2 16-bit guest-state fields */
	GUEST_ES_SELECTOR = 0x0800,             /**< guest ES selector */
	GUEST_CS_SELECTOR = 0x0802,             /**< guest CS selector */
	GUEST_SS_SELECTOR = 0x0804,             /**< guest SS selector */
	GUEST_DS_SELECTOR = 0x0806,             /**< guest DS selector */
	GUEST_FS_SELECTOR = 0x0808,             /**< guest FS selector */
	GUEST_GS_SELECTOR = 0x080A,             /**< guest GS selector */
	GUEST_LDTR_SELECTOR = 0x080C,           /**< guest LDTR selector */
	GUEST_TR_SELECTOR = 0x080E,             /**< guest TR selector */
	/* B.1.3 16-bit host-state fields */
	HOST_ES_SELECTOR = 0x0C00,              /**< host ES selector */
	HOST_CS_SELECTOR = 0x0C02,              /**< host CS selector */
	HOST_SS_SELECTOR = 0x0C04,              /**< host SS selector */
	HOST_DS_SELECTOR = 0x0C06,              /**< host DS selector */
	HOST_FS_SELECTOR = 0x0C08,              /**< host FS selector */
	HOST_GS_SELECTOR = 0x0C0A,              /**< host GS selector */
	HOST_TR_SELECTOR = 0x0C0C,              /**< host TR selector */
	/* B.2.1 64-bit control fields */
	IO_BITMAP_A = 0x2000,                   /**< I/O bitmap for ports 0-7FFF */
	IO_BITMAP_B = 0x2002,                   /**< I/O bitmap for 8000-FFFF */
	MSR_BITMAP = 0x2004,                    /**< MSR bitmaps */
	TSC_OFFSET = 0x2010,                    /**< added to the guest's TSC */
	EPT_POINTER = 0x201A,                   /**< EPTP: the guest's EPT root */
	/* B.2.2 64-bit read-only data fields */
	GUEST_PHYSICAL_ADDRESS = 0x2400,        /**< of an EPT violation */
	/* B.2.3 64-bit guest-state fields */
	VMCS_LINK_POINTER = 0x2800,             /**< ~0 unless VMCS shadowing */
	GUEST_IA32_DEBUGCTL = 0x2802,           /**< guest IA32_DEBUGCTL */
	GUEST_IA32_PAT = 0x2804,                /**< guest IA32_PAT */
	GUEST_IA32_EFER = 0x2806,               /**< guest IA32_EFER */
	/* B.2.4 64-bit host-state fields */
	HOST_IA32_PAT = 0x2C00,                 /**< host IA32_PAT */
	HOST_IA32_EFER = 0x2C02,                /**< host IA32_EFER */
	/* B.3.1 32-bit control fields */
	PIN_BASED_VM_EXEC_CONTROL = 0x4000,     /**< pin-based controls */
	CPU_BASED_VM_EXEC_CONTROL = 0x4002,     /**< primary processor-based */
	EXCEPTION_BITMAP = 0x4004,              /**< exceptions that exit */
	PAGE_FAULT_ERROR_CODE_MASK = 0x4006,    /**< #PF filter: mask */
	PAGE_FAULT_ERROR_CODE_MATCH = 0x4008,   /**< #PF filter: match */
	CR3_TARGET_COUNT = 0x400A,              /**< CR3-target count */
	VM_EXIT_CONTROLS = 0x400C,              /**< VM-exit controls */
	VM_EXIT_MSR_STORE_COUNT = 0x400E,       /**< MSRs stored on exit */
	VM_EXIT_MSR_LOAD_COUNT = 0x4010,        /**< MSRs loaded on exit */
	VM_ENTRY_CONTROLS = 0x4012,             /**< VM-entry controls */
	VM_ENTRY_MSR_LOAD_COUNT = 0x4014,       /**< MSRs loaded on entry */
	VM_ENTRY_INTR_INFO_FIELD = 0x4016,      /**< event to inject on entry */
	SECONDARY_VM_EXEC_CONTROL = 0x401E,     /**< secondary processor-based */
	/* B.3.2 32-bit read-only data fields */
	VM_INSTRUCTION_ERROR = 0x4400,          /**< why VMfailValid */
	VM_EXIT_REASON = 0x4402,                /**< basic reason + flags */
	VM_EXIT_INTR_INFO = 0x4404,             /**< interruption info */
	VM_EXIT_INTR_ERROR_CODE = 0x4406,       /**< its error code */
	IDT_VECTORING_INFO_FIELD = 0x4408,      /**< event being delivered */
	VM_EXIT_INSTRUCTION_LEN = 0x440C,       /**< length of the exiting one */
	VMX_INSTRUCTION_INFO = 0x440E,          /**< operands of VMX exits */
	/* B.3.3 32-bit guest-state fields */
	GUEST_ES_LIMIT = 0x4800,                /**< guest ES limit */
	GUEST_CS_LIMIT = 0x4802,                /**< guest CS limit */
	GUEST_SS_LIMIT = 0x4804,                /**< guest SS limit */
	GUEST_DS_LIMIT = 0x4806,                /**< guest DS limit */
	GUEST_FS_LIMIT = 0x4808,                /**< guest FS limit */
	GUEST_GS_LIMIT = 0x480A,                /**< guest GS limit */
	GUEST_LDTR_LIMIT = 0x480C,              /**< guest LDTR limit */
	GUEST_TR_LIMIT = 0x480E,                /**< guest TR limit */
	GUEST_GDTR_LIMIT = 0x4810,              /**< guest GDTR limit */
	GUEST_IDTR_LIMIT = 0x4812,              /**< guest IDTR limit */
	GUEST_ES_AR_BYTES = 0x4814,             /**< guest ES access rights */
	GUEST_CS_AR_BYTES = 0x4816,             /**< guest CS access rights */
	GUEST_SS_AR_BYTES = 0x4818,             /**< guest SS access rights */
	GUEST_DS_AR_BYTES = 0x481A,             /**< guest DS access rights */
	GUEST_FS_AR_BYTES = 0x481C,             /**< guest FS access rights */
	GUEST_GS_AR_BYTES = 0x481E,             /**< guest GS access rights */
	GUEST_LDTR_AR_BYTES = 0x4820,           /**< guest LDTR access rights */
	GUEST_TR_AR_BYTES = 0x4822,             /**< guest TR access rights */
	GUEST_INTERRUPTIBILITY_INFO = 0x4824,   /**< blocking by STI, MOV SS */
	GUEST_ACTIVITY_STATE = 0x4826,          /**< active, HLT, shutdown */
	GUEST_SYSENTER_CS = 0x482A,             /**< guest IA32_SYSENTER_CS */
	VMX_PREEMPTION_TIMER_VALUE = 0x482E,    /**< counts down, exits at 0 */
	/* B.3.4 32-bit host-state field */
	HOST_IA32_SYSENTER_CS = 0x4C00,         /**< host IA32_SYSENTER_CS */
	/* B.4.1 natural-width control fields */
	CR0_GUEST_HOST_MASK = 0x6000,           /**< CR0 bits the host owns */
	CR4_GUEST_HOST_MASK = 0x6002,           /**< CR4 bits the host owns */
	CR0_READ_SHADOW = 0x6004,               /**< what the guest reads there */
	CR4_READ_SHADOW = 0x6006,               /**< what the guest reads there */
	/* B.4.2 natural-width read-only data fields */
	EXIT_QUALIFICATION = 0x6400,            /**< details of the exit */
	GUEST_LINEAR_ADDRESS = 0x640A,          /**< of some exits */
	/* B.4.3 natural-width guest-state fields */
	GUEST_CR0 = 0x6800,                     /**< guest CR0 */
	GUEST_CR3 = 0x6802,                     /**< guest CR3 */
	GUEST_CR4 = 0x6804,                     /**< guest CR4 */
	GUEST_ES_BASE = 0x6806,                 /**< guest ES base */
	GUEST_CS_BASE = 0x6808,                 /**< guest CS base */
	GUEST_SS_BASE = 0x680A,                 /**< guest SS base */
	GUEST_DS_BASE = 0x680C,                 /**< guest DS base */
	GUEST_FS_BASE = 0x680E,                 /**< guest FS base */
	GUEST_GS_BASE = 0x6810,                 /**< guest GS base */
	GUEST_LDTR_BASE = 0x6812,               /**< guest LDTR base */
	GUEST_TR_BASE = 0x6814,                 /**< guest TR base */
	GUEST_GDTR_BASE = 0x6816,               /**< guest GDTR base */
	GUEST_IDTR_BASE = 0x6818,               /**< guest IDTR base */
	GUEST_DR7 = 0x681A,                     /**< guest DR7 */
	GUEST_RSP = 0x681C,                     /**< guest RSP */
	GUEST_RIP = 0x681E,                     /**< guest RIP */
	GUEST_RFLAGS = 0x6820,                  /**< guest RFLAGS */
	GUEST_PENDING_DBG_EXCEPTIONS = 0x6822,  /**< pending #DB conditions */
	GUEST_SYSENTER_ESP = 0x6824,            /**< guest IA32_SYSENTER_ESP */
	GUEST_SYSENTER_EIP = 0x6826,            /**< guest IA32_SYSENTER_EIP */
	/* B.4.4 natural-width host-state fields */
	HOST_CR0 = 0x6C00,                      /**< host CR0 */
	HOST_CR3 = 0x6C02,                      /**< host CR3 */
	HOST_CR4 = 0x6C04,                      /**< host CR4 */
	HOST_FS_BASE = 0x6C06,                  /**< host FS base */
	HOST_GS_BASE = 0x6C08,                  /**< host GS base */
	HOST_TR_BASE = 0x6C0A,                  /**< host TR base */
	HOST_GDTR_BASE = 0x6C0C,                /**< host GDTR base */
	HOST_IDTR_BASE = 0x6C0E,                /**< host IDTR base */
	HOST_IA32_SYSENTER_ESP = 0x6C10,        /**< host IA32_SYSENTER_ESP */
	HOST_IA32_SYSENTER_EIP = 0x6C12,        /**< host IA32_SYSENTER_EIP */
	HOST_RSP = 0x6C14,                      /**< host RSP after an exit */
	HOST_RIP = 0x6C16,                      /**< where exits land */
};

#endif
