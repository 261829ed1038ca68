/**
 * @file svm_names.c
 * @brief The name of every #VMEXIT code, as AMD64 APM Vol. 2, Appendix C.
 * @ingroup lesson08
 *
 * Lesson 05's vmx_names.c for SVM: one designated-initializer table indexed
 * by EXITCODE (VMCB offset 0x070), so an exit report says "VMMCALL" and not
 * 0x81. The ranges (CR and DR accesses, exceptions) are named by their
 * range; anything else the table does not know is "unknown".
 */
#include "svm.h"

/* APM Vol. 2, Table C-1 "SVM Intercept Codes". */
static const char *const svm_exit_names[SVM_EXIT_CODE_MAX] = {
	[0x040] = "EXCP_DE", [0x041] = "EXCP_DB", [0x043] = "EXCP_BP", [0x046] = "EXCP_UD",
	[0x048] = "EXCP_DF", [0x04D] = "EXCP_GP", [0x04E] = "EXCP_PF",
	[0x060] = "INTR", [0x061] = "NMI", [0x062] = "SMI", [0x063] = "INIT",
	[0x064] = "VINTR", [0x065] = "CR0_SEL_WRITE",
	[0x066] = "IDTR_READ", [0x067] = "GDTR_READ",
	[0x068] = "LDTR_READ", [0x069] = "TR_READ",
	[0x06A] = "IDTR_WRITE", [0x06B] = "GDTR_WRITE",
	[0x06C] = "LDTR_WRITE", [0x06D] = "TR_WRITE",
	[0x06E] = "RDTSC", [0x06F] = "RDPMC", [0x070] = "PUSHF",
	[0x071] = "POPF", [0x072] = "CPUID", [0x073] = "RSM",
	[0x074] = "IRET", [0x075] = "SWINT", [0x076] = "INVD",
	[0x077] = "PAUSE", [0x078] = "HLT", [0x079] = "INVLPG",
	[0x07A] = "INVLPGA", [0x07B] = "IOIO", [0x07C] = "MSR",
	[0x07D] = "TASK_SWITCH", [0x07E] = "FERR_FREEZE",
	[0x07F] = "SHUTDOWN", [0x080] = "VMRUN", [0x081] = "VMMCALL",
	[0x082] = "VMLOAD", [0x083] = "VMSAVE", [0x084] = "STGI",
	[0x085] = "CLGI", [0x086] = "SKINIT", [0x087] = "RDTSCP",
	[0x088] = "ICEBP", [0x089] = "WBINVD", [0x08A] = "MONITOR",
	[0x08B] = "MWAIT", [0x08C] = "MWAIT_CONDITIONAL",
	[0x08D] = "XSETBV", [0x08E] = "RDPRU", [0x08F] = "EFER_WRITE_TRAP",
	[0x0A0] = "INVLPGB", [0x0A1] = "INVLPGB_ILLEGAL",
	[0x0A2] = "INVPCID", [0x0A3] = "MCOMMIT", [0x0A4] = "TLBSYNC",
	[0x400] = "NPF", [0x401] = "AVIC_INCOMPLETE_IPI",
	[0x402] = "AVIC_NOACCEL", [0x403] = "VMGEXIT",
};

const char *svm_exit_name(uint64_t code)
{
	if (code == (uint64_t)SVM_EXIT_ERR)
		return "VMEXIT_INVALID";
	if (code < SVM_EXIT_CODE_MAX && svm_exit_names[code])
		return svm_exit_names[code];
	if (code < SVM_EXIT_INTR) {           /* the four ranges of 16/32 */
		static const char *const ranges[] = {
			"CR_READ", "CR_WRITE", "DR_READ", "DR_WRITE",
			"EXCP", "EXCP",
		};
		return ranges[code >> 4];
	}
	if (code >= 0x090 && code <= 0x09F)
		return "CR_WRITE_TRAP";
	return "unknown";
}
