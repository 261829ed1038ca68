/**
 * @file vmx_defs.h
 * @brief VMX numbers: capability MSRs, control bits, exit reasons, errors.
 * @ingroup lesson05
 *
 * Names follow Linux (arch/x86/include/asm/vmx.h, msr-index.h); the SDM's
 * name is given where it differs. Every control bit is described in SDM
 * Vol. 3C, sections 24.6-24.8 ("VM-Execution/Exit/Entry Control Fields").
 */
#ifndef LESSON05_VMX_DEFS_H
#define LESSON05_VMX_DEFS_H

#include "x86.h"

/** @name Model-specific registers (SDM Vol. 4, Table 2-2; Vol. 3D, App. A)
 * @{ */
#define MSR_IA32_FEAT_CTL 0x3A          /**< SDM: IA32_FEATURE_CONTROL */
#define FEAT_CTL_LOCKED BIT(0)          /**< no more writes until reset */
#define FEAT_CTL_VMX_ENABLED_INSIDE_SMX BIT(1)  /**< VMXON inside SMX */
#define FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX BIT(2) /**< VMXON outside SMX */
#define MSR_IA32_PAT 0x277              /**< page attribute table */
#define MSR_IA32_VMX_BASIC 0x480        /**< revision, VMCS size, ... */
#define MSR_IA32_VMX_PINBASED_CTLS 0x481   /**< pin-based allowed bits */
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482  /**< primary allowed bits */
#define MSR_IA32_VMX_EXIT_CTLS 0x483       /**< VM-exit allowed bits */
#define MSR_IA32_VMX_ENTRY_CTLS 0x484      /**< VM-entry allowed bits */
#define MSR_IA32_VMX_MISC 0x485            /**< activity states, ... */
#define MSR_IA32_VMX_CR0_FIXED0 0x486      /**< CR0 bits that must be 1 */
#define MSR_IA32_VMX_CR0_FIXED1 0x487      /**< CR0 bits that may be 1 */
#define MSR_IA32_VMX_CR4_FIXED0 0x488      /**< CR4 bits that must be 1 */
#define MSR_IA32_VMX_CR4_FIXED1 0x489      /**< CR4 bits that may be 1 */
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48B /**< secondary allowed bits */
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48C    /**< EPT and VPID features */
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48D  /**< TRUE pin-based */
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48E /**< TRUE primary */
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48F      /**< TRUE VM-exit */
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490     /**< TRUE VM-entry */
/** @} */

/** @name IA32_VMX_BASIC fields (SDM Vol. 3D, A.1)
 * @{ */
#define VMX_BASIC_TRUE_CTLS BIT(55)     /**< the TRUE_*_CTLS MSRs exist */
#define VMX_BASIC_MEM_TYPE_WB 6         /**< VMCS memory type write-back */
/** @} */

/** @name CPUID
 * @{ */
#define CPUID_1_ECX_VMX BIT(5)          /**< CPUID.1:ECX.VMX[bit 5] */
/** @} */

/** @name Pin-based VM-execution controls (SDM 24.6.1)
 * @{ */
#define PIN_BASED_EXT_INTR_MASK BIT(0)  /**< external interrupts exit */
#define PIN_BASED_NMI_EXITING BIT(3)    /**< NMIs exit */
#define PIN_BASED_VIRTUAL_NMIS BIT(5)   /**< virtual NMIs */
#define PIN_BASED_VMX_PREEMPTION_TIMER BIT(6) /**< preemption timer */
#define PIN_BASED_POSTED_INTR BIT(7)    /**< process posted interrupts */
/** @} */

/** @name Primary processor-based VM-execution controls (SDM 24.6.2)
 * @{ */
#define CPU_BASED_INTR_WINDOW_EXITING BIT(2)   /**< exit when IF=1 */
#define CPU_BASED_USE_TSC_OFFSETTING BIT(3)    /**< TSC offset */
#define CPU_BASED_HLT_EXITING BIT(7)           /**< HLT exits */
#define CPU_BASED_INVLPG_EXITING BIT(9)        /**< INVLPG exits */
#define CPU_BASED_MWAIT_EXITING BIT(10)        /**< MWAIT exits */
#define CPU_BASED_RDPMC_EXITING BIT(11)        /**< RDPMC exits */
#define CPU_BASED_RDTSC_EXITING BIT(12)        /**< RDTSC exits */
#define CPU_BASED_CR3_LOAD_EXITING BIT(15)     /**< MOV to CR3 exits */
#define CPU_BASED_CR3_STORE_EXITING BIT(16)    /**< MOV from CR3 exits */
#define CPU_BASED_CR8_LOAD_EXITING BIT(19)     /**< MOV to CR8 exits */
#define CPU_BASED_CR8_STORE_EXITING BIT(20)    /**< MOV from CR8 exits */
#define CPU_BASED_TPR_SHADOW BIT(21)           /**< use TPR shadow */
#define CPU_BASED_NMI_WINDOW_EXITING BIT(22)   /**< NMI-window exiting */
#define CPU_BASED_MOV_DR_EXITING BIT(23)       /**< MOV DR exits */
#define CPU_BASED_UNCOND_IO_EXITING BIT(24)    /**< every I/O exits */
#define CPU_BASED_USE_IO_BITMAPS BIT(25)       /**< I/O bitmaps decide */
#define CPU_BASED_MONITOR_TRAP_FLAG BIT(27)    /**< single-step the guest */
#define CPU_BASED_USE_MSR_BITMAPS BIT(28)      /**< MSR bitmaps decide */
#define CPU_BASED_MONITOR_EXITING BIT(29)      /**< MONITOR exits */
#define CPU_BASED_PAUSE_EXITING BIT(30)        /**< PAUSE exits */
#define CPU_BASED_ACTIVATE_SECONDARY_CONTROLS BIT(31) /**< use secondary */
/** @} */

/** @name Secondary processor-based VM-execution controls (SDM 24.6.2)
 * @{ */
#define SECONDARY_EXEC_VIRTUALIZE_APIC_ACCESSES BIT(0) /**< APIC page */
#define SECONDARY_EXEC_ENABLE_EPT BIT(1)        /**< extended page tables */
#define SECONDARY_EXEC_DESC BIT(2)              /**< descriptor-table exits */
#define SECONDARY_EXEC_ENABLE_RDTSCP BIT(3)     /**< RDTSCP allowed */
#define SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE BIT(4) /**< x2APIC MSRs */
#define SECONDARY_EXEC_ENABLE_VPID BIT(5)       /**< tagged TLB entries */
#define SECONDARY_EXEC_WBINVD_EXITING BIT(6)    /**< WBINVD exits */
#define SECONDARY_EXEC_UNRESTRICTED_GUEST BIT(7) /**< real mode, no paging */
#define SECONDARY_EXEC_APIC_REGISTER_VIRT BIT(8) /**< APIC registers */
#define SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY BIT(9) /**< virtual IRQs */
#define SECONDARY_EXEC_PAUSE_LOOP_EXITING BIT(10) /**< spin loops exit */
#define SECONDARY_EXEC_RDRAND_EXITING BIT(11)   /**< RDRAND exits */
#define SECONDARY_EXEC_ENABLE_INVPCID BIT(12)   /**< INVPCID allowed */
#define SECONDARY_EXEC_ENABLE_VMFUNC BIT(13)    /**< VM functions */
#define SECONDARY_EXEC_SHADOW_VMCS BIT(14)      /**< VMCS shadowing */
#define SECONDARY_EXEC_RDSEED_EXITING BIT(16)   /**< RDSEED exits */
#define SECONDARY_EXEC_ENABLE_PML BIT(17)       /**< page-modification log */
#define SECONDARY_EXEC_EPT_VIOLATION_VE BIT(18) /**< EPT violations -> #VE */
#define SECONDARY_EXEC_XSAVES BIT(20)           /**< XSAVES allowed */
#define SECONDARY_EXEC_TSC_SCALING BIT(25)      /**< TSC scaling */
/** @} */

/** @name VM-exit controls (SDM 24.7.1)
 * @{ */
#define VM_EXIT_SAVE_DEBUG_CONTROLS BIT(2)      /**< save DR7, DEBUGCTL */
#define VM_EXIT_HOST_ADDR_SPACE_SIZE BIT(9)     /**< host is 64-bit */
#define VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL BIT(12) /**< load PERF_GLOBAL */
#define VM_EXIT_ACK_INTR_ON_EXIT BIT(15)        /**< acknowledge IRQ */
#define VM_EXIT_SAVE_IA32_PAT BIT(18)           /**< save guest PAT */
#define VM_EXIT_LOAD_IA32_PAT BIT(19)           /**< load host PAT */
#define VM_EXIT_SAVE_IA32_EFER BIT(20)          /**< save guest EFER */
#define VM_EXIT_LOAD_IA32_EFER BIT(21)          /**< load host EFER */
#define VM_EXIT_SAVE_VMX_PREEMPTION_TIMER BIT(22) /**< save the timer */
/** @} */

/** @name IA32_VMX_EPT_VPID_CAP bits (SDM A.10)
 * @{ */
#define VMX_EPT_CAP_WALK_4 BIT(6)          /**< 4-level EPT walks */
#define VMX_EPT_CAP_UC BIT(8)              /**< uncacheable EPT memory */
#define VMX_EPT_CAP_WB BIT(14)             /**< write-back EPT memory */
#define VMX_EPT_CAP_2MB BIT(16)            /**< 2 MiB EPT pages */
#define VMX_EPT_CAP_INVEPT BIT(20)         /**< the INVEPT instruction */
#define VMX_EPT_CAP_INVEPT_SINGLE BIT(25)  /**< single-context INVEPT */
/** @} */

/** @name VM-entry controls (SDM 24.8.1)
 * @{ */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS BIT(2)     /**< load DR7, DEBUGCTL */
#define VM_ENTRY_IA32E_MODE BIT(9)              /**< guest is 64-bit */
#define VM_ENTRY_SMM BIT(10)                    /**< entry to SMM */
#define VM_ENTRY_DEACT_DUAL_MONITOR BIT(11)     /**< dual-monitor SMM */
#define VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL BIT(13) /**< PERF_GLOBAL */
#define VM_ENTRY_LOAD_IA32_PAT BIT(14)          /**< load guest PAT */
#define VM_ENTRY_LOAD_IA32_EFER BIT(15)         /**< load guest EFER */
/** @} */

/** @name Bits of the VM-exit reason field (SDM 24.9.1)
 * @{ */
#define VMX_EXIT_REASON_MASK 0xFFFF             /**< the basic reason */
#define VMX_EXIT_REASONS_FAILED_VMENTRY BIT(31) /**< VM entry failed */
/** @} */

/** @name Segment access rights in the VMCS (SDM 24.4.1, Table 24-2)
 * The descriptor's type/S/DPL/P byte and its flags, plus "unusable".
 * @{ */
#define AR_TYPE(ar) ((ar) & 0xF)        /**< segment type (4 bits) */
#define AR_S BIT(4)                     /**< 1: code or data, 0: system */
#define AR_DPL(ar) (((ar) >> 5) & 3)    /**< descriptor privilege level */
#define AR_P BIT(7)                     /**< present */
#define AR_L BIT(13)                    /**< 64-bit code segment */
#define AR_DB BIT(14)                   /**< default operation size 32 */
#define AR_G BIT(15)                    /**< limit in 4 KiB units */
#define AR_UNUSABLE BIT(16)             /**< the register holds no segment */
#define AR_RESERVED 0xFFFE0F00ULL       /**< bits 31:17 and 11:8: zero */
#define AR_RM_CODE 0x9B      /**< real mode: accessed execute/read code */
#define AR_RM_DATA 0x93      /**< real mode: accessed read/write data */
#define AR_TSS32_BUSY 0x8B   /**< busy 32-bit TSS: TR must be one, even in
				  real mode (type 3, a busy 16-bit TSS, also
				  passes) */
/** @} */

/** Basic exit reasons (SDM Vol. 3D, Appendix C). */
enum exit_reason {
	EXIT_REASON_EXCEPTION_NMI = 0,      /**< exception or NMI */
	EXIT_REASON_EXTERNAL_INTERRUPT = 1, /**< external interrupt */
	EXIT_REASON_TRIPLE_FAULT = 2,       /**< the guest triple-faulted */
	EXIT_REASON_INIT_SIGNAL = 3,        /**< INIT signal */
	EXIT_REASON_SIPI_SIGNAL = 4,        /**< start-up IPI */
	EXIT_REASON_INTERRUPT_WINDOW = 7,   /**< interrupt window */
	EXIT_REASON_NMI_WINDOW = 8,         /**< NMI window */
	EXIT_REASON_TASK_SWITCH = 9,        /**< task switch */
	EXIT_REASON_CPUID = 10,             /**< CPUID: always exits */
	EXIT_REASON_HLT = 12,               /**< HLT (with HLT exiting) */
	EXIT_REASON_INVD = 13,              /**< INVD: always exits */
	EXIT_REASON_INVLPG = 14,            /**< INVLPG */
	EXIT_REASON_RDPMC = 15,             /**< RDPMC */
	EXIT_REASON_RDTSC = 16,             /**< RDTSC */
	EXIT_REASON_VMCALL = 18,            /**< VMCALL: a hypercall */
	EXIT_REASON_VMCLEAR = 19,           /**< VMCLEAR in the guest */
	EXIT_REASON_VMLAUNCH = 20,          /**< VMLAUNCH in the guest */
	EXIT_REASON_VMPTRLD = 21,           /**< VMPTRLD in the guest */
	EXIT_REASON_VMPTRST = 22,           /**< VMPTRST in the guest */
	EXIT_REASON_VMREAD = 23,            /**< VMREAD in the guest */
	EXIT_REASON_VMRESUME = 24,          /**< VMRESUME in the guest */
	EXIT_REASON_VMWRITE = 25,           /**< VMWRITE in the guest */
	EXIT_REASON_VMOFF = 26,             /**< VMXOFF in the guest */
	EXIT_REASON_VMON = 27,              /**< VMXON in the guest */
	EXIT_REASON_CR_ACCESS = 28,         /**< MOV to/from a CR */
	EXIT_REASON_DR_ACCESS = 29,         /**< MOV to/from a DR */
	EXIT_REASON_IO_INSTRUCTION = 30,    /**< IN, OUT, INS, OUTS */
	EXIT_REASON_MSR_READ = 31,          /**< RDMSR */
	EXIT_REASON_MSR_WRITE = 32,         /**< WRMSR */
	EXIT_REASON_INVALID_STATE = 33,     /**< entry failed: guest state */
	EXIT_REASON_MSR_LOAD_FAIL = 34,     /**< entry failed: MSR loading */
	EXIT_REASON_MWAIT_INSTRUCTION = 36, /**< MWAIT */
	EXIT_REASON_MONITOR_TRAP_FLAG = 37, /**< monitor trap flag */
	EXIT_REASON_MONITOR_INSTRUCTION = 39, /**< MONITOR */
	EXIT_REASON_PAUSE_INSTRUCTION = 40, /**< PAUSE */
	EXIT_REASON_MCE_DURING_VMENTRY = 41, /**< entry failed: machine check */
	EXIT_REASON_TPR_BELOW_THRESHOLD = 43, /**< TPR below threshold */
	EXIT_REASON_APIC_ACCESS = 44,       /**< APIC access */
	EXIT_REASON_EOI_INDUCED = 45,       /**< virtualized EOI */
	EXIT_REASON_GDTR_IDTR = 46,         /**< LGDT, LIDT, SGDT, SIDT */
	EXIT_REASON_LDTR_TR = 47,           /**< LLDT, LTR, SLDT, STR */
	EXIT_REASON_EPT_VIOLATION = 48,     /**< EPT violation */
	EXIT_REASON_EPT_MISCONFIG = 49,     /**< EPT misconfiguration */
	EXIT_REASON_INVEPT = 50,            /**< INVEPT */
	EXIT_REASON_RDTSCP = 51,            /**< RDTSCP */
	EXIT_REASON_PREEMPTION_TIMER = 52,  /**< VMX-preemption timer */
	EXIT_REASON_INVVPID = 53,           /**< INVVPID */
	EXIT_REASON_WBINVD = 54,            /**< WBINVD */
	EXIT_REASON_XSETBV = 55,            /**< XSETBV: always exits */
	EXIT_REASON_APIC_WRITE = 56,        /**< APIC write */
	EXIT_REASON_RDRAND = 57,            /**< RDRAND */
	EXIT_REASON_INVPCID = 58,           /**< INVPCID */
	EXIT_REASON_VMFUNC = 59,            /**< VMFUNC */
	EXIT_REASON_RDSEED = 61,            /**< RDSEED */
	EXIT_REASON_PML_FULL = 62,          /**< page-modification log full */
	EXIT_REASON_XSAVES = 63,            /**< XSAVES */
	EXIT_REASON_XRSTORS = 64,           /**< XRSTORS */
	EXIT_REASON_MAX = 65,               /**< size of the name table */
};

/** Name of basic exit reason @p reason ("CPUID"), or "unknown". */
const char *exit_reason_name(unsigned int reason);

/** Name of VM-instruction error @p error (SDM 30.4), or "unknown". */
const char *vm_instruction_error_name(unsigned int error);

#endif
