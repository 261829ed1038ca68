/**
 * @file vbe.c
 * @brief Report the VESA VBE mode vbe.asm set, or why none was, then draw.
 * @ingroup lesson02
 *
 * vbe.asm did all the talking to the video BIOS in real mode; what it
 * learnt is in the variables of vbe.h. Here, in protected mode, we judge
 * it: was a mode asked for at all, did the BIOS have VBE, did one of its
 * modes match, did 4F02h take it. A bad request ends the lesson with one
 * line saying why and POWER_FAIL_PARAM. With no request (the default)
 * nothing is printed: the lesson's transcript stays what it was.
 */
#include <stddef.h>

#include "kprintf.h"
#include "power.h"
#include "vbe.h"

/*
 * The layouts are fixed by the VBE spec; vbe.asm's offsets and its
 * VBE_ENTRY_SIZE rely on the same (hidden from the book: nothing to
 * document).
 */
/** @cond */
_Static_assert(offsetof(struct vbe_mode_info, lfb) == 40, "PhysBasePtr");
_Static_assert(offsetof(struct vbe_mode_info, lin_pitch) == 50, "LinBytes");
_Static_assert(offsetof(struct vbe_controller_info, mode_list) == 14,
	       "VideoModePtr");
_Static_assert(sizeof(struct vbe_mode_entry) == 10, "VBE_ENTRY_SIZE");
/** @endcond */

/** Print every mode the BIOS listed, four to a line. */
static void vbe_list_modes(void)
{
	for (unsigned int i = 0; i < vbe_mode_count; i++) {
		const struct vbe_mode_entry *m = &vbe_modes[i];

		kprintf("%s0x%03x %ux%ux%u", i % 4 ? "  " : "vbe: offers ",
			m->number, m->width, m->height, m->bpp);
		if (i % 4 == 3 || i + 1 == vbe_mode_count)
			kprintf("\n");
	}
}

/** Bytes from one row of pixels to the next in the LFB. */
unsigned int vbe_pitch(void)
{
	/* VBE 3.0 gives the LFB its own pitch; VBE 2.0 has only one. */
	if (vbe_controller.version >= 0x0300 && vbe_mode_info.lin_pitch)
		return vbe_mode_info.lin_pitch;
	return vbe_mode_info.pitch;
}

/**
 * Called by pm_main(): if the parameters asked for a mode, check that
 * vbe.asm got it, print it (`vbe: mode 0x... WxHxBPP pitch=... lfb=...`)
 * and draw in it; else return without a word.
 */
void vbe_show(void)
{
	unsigned int w = param_vbe_width, h = param_vbe_height;
	unsigned int bpp = param_vbe_bpp;
	const struct vbe_mode_info *mi = &vbe_mode_info;

	if (w == 0 && h == 0 && bpp == 0)
		return;                 /* the default: VGA text mode */
	if (w == 0 || h == 0 || (bpp != 8 && bpp != 15 && bpp != 16 &&
				 bpp != 24 && bpp != 32)) {
		kprintf("vbe: bad mode request %ux%ux%u: width and height must "
			"be non-zero, bpp 8, 15, 16, 24 or 32\n", w, h, bpp);
		power_off(POWER_FAIL_PARAM);
	}
	if (vbe_info_ax != VBE_OK) {
		kprintf("vbe: no VBE BIOS: 4F00h returned AX=0x%04x\n",
			vbe_info_ax);
		power_off(POWER_FAIL_PARAM);
	}
	kprintf("vbe: VBE %u.%u, %u KiB of video memory, %u modes\n",
		vbe_controller.version >> 8, vbe_controller.version & 0xFF,
		vbe_controller.total_memory * 64u, vbe_mode_count);
	if (vbe_mode == VBE_NO_MODE) {
		kprintf("vbe: no linear-framebuffer mode %ux%ux%u among the "
			"BIOS's modes\n", w, h, bpp);
		vbe_list_modes();
		power_off(POWER_FAIL_PARAM);
	}
	if (vbe_set_ax != VBE_OK) {
		kprintf("vbe: 4F02h refused mode 0x%03x: AX=0x%04x\n", vbe_mode,
			vbe_set_ax);
		power_off(POWER_FAIL_PARAM);
	}
	kprintf("vbe: mode 0x%03x %ux%ux%u pitch=%u lfb=0x%08x model=%u\n",
		vbe_mode, mi->width, mi->height, mi->bpp, vbe_pitch(), mi->lfb,
		mi->memory_model);
	vbe_draw_automaton();
}
