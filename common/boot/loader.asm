; loader.asm - the disk loader: sector 0 of every image from lesson 02 on.
;
; Boot chain: the BIOS loaded this sector to 0x7C00 and jumped here in real
; mode with the boot drive in DL. We read the rest of the image (the lesson's
; program, loader_sectors sectors from LOAD_LBA) to LOAD_ADDRESS with the
; BIOS "extended read" service, int 13h AH=42h, which takes a 64-bit LBA
; instead of cylinder/head/sector numbers. Then we jump to LOAD_ADDRESS,
; still in real mode, with the boot drive in DL again.
;
; The build (common/tools/mkimage.py) patches loader_sectors with the
; program's size and refuses a program larger than loader_max_sectors.
; LOAD_ADDRESS, LOAD_LIMIT, LOAD_LBA and SECTOR_SIZE come from
; common/include/layout.h, which the linker scripts read too.

        bits    16
        section .text

%include "kit.inc"                      ; LOAD_*, SECTOR_*: from layout.h

CHUNK_SECTORS   equ 64                  ; 32 KiB a read: never crosses 64 KiB

        global  loader_max_sectors
loader_max_sectors equ (LOAD_LIMIT - LOAD_ADDRESS) / SECTOR_SIZE

        global  _start
_start:
        jmp     0x0000:.normalise       ; CS = 0 whatever the BIOS used
.normalise:
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, 0x7C00
        cld
        sti
        mov     [boot_drive], dl
        call    serial_init16

        ; Does this BIOS have the extensions? int 13h AH=41h answers with
        ; BX = AA55h and CX bit 0 set when AH=42h is available.
        mov     ah, 0x41
        mov     bx, 0x55AA
        mov     dl, [boot_drive]
        int     0x13
        jc      no_extensions
        cmp     bx, 0xAA55
        jne     no_extensions
        test    cl, 1
        jz      no_extensions

        mov     di, [loader_sectors]    ; DI = sectors still to read
read_chunk:
        mov     ax, CHUNK_SECTORS
        cmp     di, ax
        jae     .count
        mov     ax, di
.count: mov     [dap.count], ax
        mov     bp, ax                  ; remember what we asked for
        mov     si, dap
        mov     dl, [boot_drive]
        mov     ah, 0x42
        int     0x13
        jc      read_error              ; CF set: AH holds the error code
        cmp     [dap.count], bp         ; the BIOS writes back how many
        jne     short_read              ;   sectors it really transferred
        add     word [dap.lba], bp      ; advance on disk ...
        adc     word [dap.lba + 2], 0
        shl     bp, SECTOR_SHIFT - 4
        add     [dap.segment], bp       ; ... and in memory (in paragraphs)
        shr     bp, SECTOR_SHIFT - 4
        sub     di, bp
        jnz     read_chunk

        mov     dl, [boot_drive]        ; the program expects the drive in DL
        jmp     0x0000:LOAD_ADDRESS

short_read:
        mov     si, msg_short_read
        call    puts16
        jmp     fail
read_error:
        mov     si, msg_read_error
        call    puts16
        mov     al, ah
        call    puthex8_16
        jmp     fail
no_extensions:
        mov     si, msg_no_ext
        call    puts16
fail:   mov     al, 1
        jmp     power_off16

%define RM_IO_HEX
%include "rm_io.inc"
%include "rm_power.inc"

msg_read_error: db "loader: disk read failed, BIOS error 0x", 0
msg_short_read: db "loader: the BIOS read fewer sectors than asked", 0
msg_no_ext:     db "loader: BIOS has no int 13h extensions", 0

; Disk address packet for int 13h AH=42h.
        align   4
dap:    db      16                      ; size of this packet
        db      0                       ; reserved
.count: dw      0                       ; sectors to read (BIOS updates it)
.offset: dw     0                       ; buffer offset ...
.segment: dw    LOAD_ADDRESS >> 4       ; ... and segment
.lba:   dq      LOAD_LBA                ; first sector: the one after us

        global  loader_sectors:data 2
loader_sectors: dw 0                    ; patched by mkimage.py
boot_drive:     db 0
