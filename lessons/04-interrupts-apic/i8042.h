/**
 * @file i8042.h
 * @brief The 8042 keyboard controller: its two ports and the bits we use.
 * @ingroup lesson04
 *
 * The PC's keyboard does not talk to the CPU itself: a small controller,
 * the Intel 8042 (today a part of the chipset that behaves like one),
 * receives the keyboard's bytes, holds one at a time in its output buffer
 * and raises ISA IRQ 1 while it does. The CPU reads that byte from port
 * 0x60; port 0x64 reads the status and takes commands (OSDev wiki "8042
 * PS/2 Controller"; IBM PC AT Technical Reference, keyboard controller).
 */
#ifndef LESSON04_I8042_H
#define LESSON04_I8042_H

#include <stdint.h>

#include "x86.h"

/** Ports. @{ */
#define I8042_DATA 0x60       /**< read: the output buffer; write: data */
#define I8042_STATUS 0x64     /**< read: the status register */
#define I8042_COMMAND 0x64    /**< write: a command to the controller */
/** @} */

/** Status register bits. @{ */
#define I8042_STR_OBF BIT(0)  /**< output buffer full: a byte for the CPU */
#define I8042_STR_IBF BIT(1)  /**< input buffer full: still busy with ours */
/** @} */

/** Commands, and the bits of the controller's configuration byte. @{ */
#define I8042_CMD_CTL_RCTR 0x20  /**< read the configuration byte */
#define I8042_CMD_CTL_WCTR 0x60  /**< write it (the next byte on 0x60) */
#define I8042_CTR_KBDINT BIT(0)  /**< raise IRQ 1 when a key byte arrives */
#define I8042_CTR_AUXINT BIT(1)  /**< raise IRQ 12 for the mouse */
#define I8042_CTR_KBDDIS BIT(4)  /**< keyboard clock disabled */
#define I8042_CTR_XLATE BIT(6)   /**< translate the keyboard's set 2 to set 1 */
/** @} */

#define I8042_ISA_IRQ 1         /**< the keyboard's ISA interrupt line */

/**
 * Empty the output buffer, then set the configuration byte so that every
 * key byte raises IRQ 1 (and the mouse raises nothing), translated to
 * scancode set 1. @return 0, or -1 if the controller does not answer.
 */
int i8042_init(void);

#endif
