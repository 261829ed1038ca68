/**
 * @file vbe.h
 * @brief What vbe.asm asked the video BIOS (VESA VBE) in real mode, for C.
 * @ingroup lesson02
 *
 * Boot chain: entry.asm calls vbe_setup (vbe.asm) in real mode when the
 * parameter vbe_width is not 0; it lists the BIOS's modes, picks the one
 * param_vbe_width x param_vbe_height x param_vbe_bpp names and sets it. In
 * protected mode pm_main() calls vbe_show() (vbe.c), which reports the mode
 * and has vbe_draw.c draw lesson 01's automaton in its linear framebuffer.
 * The layouts are the VBE 3.0 specification's (functions 4F00h and 4F01h).
 */
#ifndef LESSON02_VBE_H
#define LESSON02_VBE_H

#include <stdint.h>

/** @{ */
#define VBE_OK 0x004F           /**< AX after a VBE call that worked */
#define VBE_NO_MODE 0xFFFF      /**< vbe_mode when no mode matched */
#define VBE_MODEL_PACKED 4      /**< memory model: a pixel is a DAC index */
#define VBE_MODEL_DIRECT 6      /**< memory model: red, green, blue fields */
/** @} */

/** The start of 4F00h's 512-byte VbeInfoBlock (VBE 3.0, 4.3). */
struct vbe_controller_info {
	char signature[4];      /**< "VESA" in the answer */
	uint16_t version;       /**< BCD: 0x0300 is VBE 3.0 */
	uint32_t oem_string;    /**< far pointer (segment:offset) */
	uint32_t capabilities;  /**< bit 0: the DAC can do 8 bits a colour */
	uint32_t mode_list;     /**< far pointer to 16-bit mode numbers */
	uint16_t total_memory;  /**< video memory in 64 KiB blocks */
} __attribute__((packed));

/** The fields we use of 4F01h's 256-byte ModeInfoBlock (VBE 3.0, 4.4). */
struct vbe_mode_info {
	uint16_t attributes;    /**< bit 0 supported, 4 graphics, 7 LFB */
	uint8_t window[14];     /**< banked (64 KiB window) access: not used */
	uint16_t pitch;         /**< BytesPerScanLine */
	uint16_t width;         /**< XResolution, pixels */
	uint16_t height;        /**< YResolution, pixels */
	uint8_t char_size[2];   /**< text modes' character cell */
	uint8_t planes;         /**< NumberOfPlanes: 1 for packed/direct */
	uint8_t bpp;            /**< BitsPerPixel */
	uint8_t banks;          /**< NumberOfBanks */
	uint8_t memory_model;   /**< VBE_MODEL_PACKED, VBE_MODEL_DIRECT... */
	uint8_t bank_size;      /**< BankSize, KiB */
	uint8_t image_pages;    /**< NumberOfImagePages */
	uint8_t reserved0;      /**< 1 in VBE 3.0 */
	uint8_t red_size;       /**< RedMaskSize: bits of red */
	uint8_t red_pos;        /**< RedFieldPosition: its lowest bit */
	uint8_t green_size;     /**< GreenMaskSize */
	uint8_t green_pos;      /**< GreenFieldPosition */
	uint8_t blue_size;      /**< BlueMaskSize */
	uint8_t blue_pos;       /**< BlueFieldPosition */
	uint8_t rsvd_size;      /**< RsvdMaskSize */
	uint8_t rsvd_pos;       /**< RsvdFieldPosition */
	uint8_t direct_info;    /**< DirectColorModeInfo */
	uint32_t lfb;           /**< PhysBasePtr: the linear framebuffer */
	uint32_t reserved1;     /**< OffScreenMemOffset in VBE 2.0 */
	uint16_t reserved2;     /**< OffScreenMemSize in VBE 2.0 */
	uint16_t lin_pitch;     /**< LinBytesPerScanLine (VBE 3.0 only) */
} __attribute__((packed));

/** One mode as vbe.asm lists it (VBE_ENTRY_SIZE bytes there). */
struct vbe_mode_entry {
	uint16_t number;        /**< the mode number 4F02h takes */
	uint16_t width;         /**< pixels */
	uint16_t height;        /**< pixels */
	uint8_t bpp;            /**< bits per pixel */
	uint8_t memory_model;   /**< VBE_MODEL_PACKED, VBE_MODEL_DIRECT... */
	uint16_t attributes;    /**< ModeAttributes, as 4F01h gave them */
} __attribute__((packed));

extern volatile uint16_t param_vbe_width;  /**< 0: text mode (default) */
extern volatile uint16_t param_vbe_height; /**< pixels asked for */
extern volatile uint8_t param_vbe_bpp;     /**< bits per pixel asked for */
extern uint16_t vbe_info_ax;     /**< 4F00h's status; 0: never asked */
extern uint16_t vbe_set_ax;      /**< 4F02h's status; 0: never asked */
extern uint16_t vbe_mode;        /**< the mode set, or VBE_NO_MODE */
extern uint16_t vbe_mode_count;  /**< entries in vbe_modes */
extern struct vbe_controller_info vbe_controller; /**< 4F00h's answer */
extern struct vbe_mode_info vbe_mode_info;        /**< the chosen mode's */
extern struct vbe_mode_entry vbe_modes[];         /**< every listed mode */

void vbe_show(void);
unsigned int vbe_pitch(void);
void vbe_draw_automaton(void);

#endif
