/**
 * @file svm_caps.c
 * @brief What this CPU's SVM can do: CPUID Fn8000_000A, raw and decoded.
 * @ingroup lesson08
 *
 * Lesson 05 read VMX's capabilities from a dozen MSRs (SDM Appendix A);
 * SVM has one CPUID leaf (AMD64 APM Vol. 3, Appendix E, "Fn8000_000A";
 * Vol. 2, 15.4): EAX[7:0] the SVM revision, EBX the number of ASIDs, EDX
 * one bit per optional feature. The raw registers are printed first, so
 * that a reader (and the harness) can decode them independently.
 */
#include "kprintf.h"
#include "svm.h"

/** The EDX bits the lesson names, in bit order (APM Vol. 3, Fn8000_000A,
 * names as the APM spells them). */
static const struct {
	uint32_t bit;           /**< SVM_FEATURE_* */
	const char *name;       /**< the APM's name */
} svm_features[] = {
	{ SVM_FEATURE_NPT, "NP" },
	{ SVM_FEATURE_LBRV, "LbrVirt" },
	{ SVM_FEATURE_SVML, "SVML" },
	{ SVM_FEATURE_NRIP, "NRIPS" },
	{ SVM_FEATURE_TSC_RATE, "TscRateMsr" },
	{ SVM_FEATURE_VMCB_CLEAN, "VmcbClean" },
	{ SVM_FEATURE_FLUSHBYASID, "FlushByAsid" },
	{ SVM_FEATURE_DECODEASSISTS, "DecodeAssists" },
	{ SVM_FEATURE_PAUSEFILTER, "PauseFilter" },
	{ SVM_FEATURE_VGIF, "vGIF" },
};

uint32_t svm_caps_report(void)
{
	struct cpuid_regs r = cpuid(CPUID_SVM_LEAF, 0);

	kprintf("svm: CPUID Fn8000_000A: EAX=0x%08x EBX=0x%08x ECX=0x%08x "
		"EDX=0x%08x\n", r.eax, r.ebx, r.ecx, r.edx);
	kprintf("svm: SVM revision %u, %u ASIDs\n", r.eax & 0xFF, r.ebx);
	kprintf("svm: features:");
	for (unsigned int i = 0; i < sizeof(svm_features) /
				     sizeof(svm_features[0]); i++)
		kprintf(" %s=%u", svm_features[i].name,
			!!(r.edx & svm_features[i].bit));
	kprintf("\n");
	/* Without NRIP save the processor does not tell us where the next
	 * instruction starts (VMCB offset 0x0C8 stays 0): exit handlers
	 * must know each intercepted instruction's length (svm_exits.c). */
	if (!(r.edx & SVM_FEATURE_NRIP))
		kprintf("svm: no NRIP save: the hypervisor computes the next "
			"RIP itself\n");
	/* VM1 is confined by nested paging (APM 15.25); without it, by page
	 * tables of ours under its real mode (15.19, prm.c). */
	if (!(r.edx & SVM_FEATURE_NPT))
		kprintf("svm: no nested paging (Fn8000_000A:EDX.NP[bit 0] is "
			"clear): VM1 runs in paged real mode\n");
	return r.edx;
}
