/**
 * @file scancode.c
 * @brief Decode scancode set 1: one table and the state of the Shift keys.
 * @ingroup lesson04
 *
 * keyboard.c hands us each byte the 8042 delivered (translated to set 1 by
 * the controller: i8042.c). The table is indexed by make code and follows
 * the rows of a US keyboard: Esc and the digits, the row that starts with
 * Q, the row with A, the row with Z, then the space bar. A 0 entry is a key
 * that types nothing (Esc has its ASCII code, 0x1B, but we leave it out).
 */
#include "scancode.h"

/** What each key types: [0] alone, [1] with a Shift key down. */
static const char keymap[SCANCODE_KEYS][2] = {
	[0x02] = "1!", "2@", "3#", "4$", "5%", "6^", "7&", "8*", "9(", "0)",
	"-_", "=+", "\b\b", "\t\t",
	[0x10] = "qQ", "wW", "eE", "rR", "tT", "yY", "uU", "iI", "oO", "pP",
	"[{", "]}", "\n\n",
	[0x1E] = "aA", "sS", "dD", "fF", "gG", "hH", "jJ", "kK", "lL", ";:",
	"'\"", "`~",
	[0x2B] = "\\|", "zZ", "xX", "cC", "vV", "bB", "nN", "mM", ",<", ".>",
	"/?",
	[0x37] = "**",                  /* the keypad's, from the first PC */
	[0x39] = "  ",
};

/** The state bit of a Shift key's make code, 0 for any other key. */
static uint8_t shift_bit(uint8_t key)
{
	if (key == SCANCODE_LEFT_SHIFT)
		return 1;
	if (key == SCANCODE_RIGHT_SHIFT)
		return 2;
	return 0;
}

char scancode_decode(struct scancode_state *state, uint8_t code)
{
	uint8_t key = code & ~SCANCODE_RELEASE;
	int released = code & SCANCODE_RELEASE;

	if (code == SCANCODE_EXTENDED) {
		state->extended = 1;
		return 0;
	}
	/* An extended key (its code follows 0xE0) shares its second byte
	 * with an old key (E0 1C is the keypad's Enter, E0 2A a "fake
	 * shift" some keyboards send around the arrows): none types here. */
	if (state->extended) {
		state->extended = 0;
		return 0;
	}
	if (shift_bit(key)) {
		if (released)
			state->shift &= (uint8_t)~shift_bit(key);
		else
			state->shift |= shift_bit(key);
		return 0;
	}
	if (released || key >= SCANCODE_KEYS)
		return 0;
	return keymap[key][state->shift ? 1 : 0];
}
