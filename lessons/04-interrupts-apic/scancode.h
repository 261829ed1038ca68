/**
 * @file scancode.h
 * @brief Scancode set 1 to characters, for a US keyboard layout.
 * @ingroup lesson04
 *
 * In set 1 each key has a one-byte "make" code sent when it goes down; the
 * same code with bit 7 set is its "break" code, sent when it comes up.
 * Keys added after the original PC keyboard (arrows, the right Ctrl...)
 * send 0xE0 before their code. A character is a make code read with the
 * state of the Shift keys, which are keys like any other: the decoder has
 * to remember whether one is down.
 */
#ifndef LESSON04_SCANCODE_H
#define LESSON04_SCANCODE_H

#include <stdint.h>

/** Codes with a meaning of their own. @{ */
#define SCANCODE_RELEASE 0x80      /**< bit 7: a break code (key up) */
#define SCANCODE_EXTENDED 0xE0     /**< prefix of the newer keys' codes */
#define SCANCODE_LEFT_SHIFT 0x2A   /**< make code of the left Shift */
#define SCANCODE_RIGHT_SHIFT 0x36  /**< make code of the right Shift */
#define SCANCODE_KEYS 0x3A         /**< make codes 0x00-0x39 have a table
					entry (0x39 is the space bar) */
/** @} */

/** What the decoder remembers between two bytes. */
struct scancode_state {
	uint8_t shift;      /**< bit 0: left Shift down, bit 1: right Shift */
	uint8_t extended;   /**< the last byte was SCANCODE_EXTENDED */
};

/**
 * Decode one byte from the keyboard. @return the character its key types
 * ('\\n' for Enter, '\\b' for Backspace), or 0 for a byte that types
 * nothing: a key release, a Shift, an extended key, a key we do not map.
 */
char scancode_decode(struct scancode_state *state, uint8_t code);

#endif
