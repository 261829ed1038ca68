/**
 * @file scancode.c
 * @brief Decode scancode set 1: two tables and the state of the Shift keys.
 * @ingroup lesson04
 *
 * keyboard.c hands us each byte the 8042 delivered (translated to set 1 by
 * the controller: i8042.c). The tables are indexed by make code and follow
 * the rows of a US keyboard: Esc and the digits, the row that starts with
 * Q, the row with A, the row with Z, then the space bar. A 0 entry is a key
 * that types nothing (Esc has its ASCII code, 0x1B, but we leave it out).
 */
#include "scancode.h"

/** What each key types alone... */
static const char plain[SCANCODE_KEYS] = {
	[0x02] = '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-', '=',
	[0x0E] = '\b', '\t',
	[0x10] = 'q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']',
	[0x1C] = '\n',
	[0x1E] = 'a', 's', 'd', 'f', 'g', 'h', 'j', 'k', 'l', ';', '\'', '`',
	[0x2B] = '\\', 'z', 'x', 'c', 'v', 'b', 'n', 'm', ',', '.', '/',
	[0x37] = '*',                   /* the keypad's, from the first PC */
	[0x39] = ' ',
};

/** ...and with a Shift key down. */
static const char shifted[SCANCODE_KEYS] = {
	[0x02] = '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_', '+',
	[0x0E] = '\b', '\t',
	[0x10] = 'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}',
	[0x1C] = '\n',
	[0x1E] = 'A', 'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', ':', '"', '~',
	[0x2B] = '|', 'Z', 'X', 'C', 'V', 'B', 'N', 'M', '<', '>', '?',
	[0x37] = '*',
	[0x39] = ' ',
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
	return state->shift ? shifted[key] : plain[key];
}
