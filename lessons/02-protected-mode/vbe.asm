; vbe.asm - lesson 02: ask the video BIOS for a graphics mode (VESA VBE).
;
; Runs in real mode from entry.asm, after e820_read and before the switch,
; and only when the parameter vbe_width asks for a mode: by default the
; screen stays in VGA text mode and this file does nothing.
;
; The VESA BIOS Extensions (VBE 3.0 spec) are int 10h functions with
; AH=4Fh, answered by the video card's option ROM. Like E820, they are real
; mode only (VBE 2.0 adds a protected-mode interface, which we do not need),
; so everything C will want is asked now and left in memory:
;   4F00h  the controller: VBE version, video memory, the list of modes;
;   4F01h  one mode: resolution, bits per pixel, pixel layout, and the
;          physical address of its linear framebuffer (LFB);
;   4F02h  set a mode; bit 14 of the number asks for the LFB, in which the
;          whole screen is one run of memory (no 64 KiB bank switching).
; Every function returns AX=004Fh on success: AL=4Fh "supported", AH=0 "ok".

        bits    16
        section .entry

VBE_OK          equ 0x004F              ; AX after a successful call
VBE_INFO_MODES  equ 14                  ; controller info: far ptr to mode list
VBE_MODE_END    equ 0xFFFF              ; the mode list's terminator
VBE_SET_LFB     equ 0x4000              ; 4F02h: BX bit 14, use the LFB
VBE_MAX_MODES   equ 128                 ; entries we keep; QEMU lists ~100
VBE_ENTRY_SIZE  equ 10                  ; struct vbe_mode_entry in vbe.h
; Mode info block offsets (VBE 3.0, 4F01h) and the attributes we need:
MI_ATTRIBUTES   equ 0                   ; bit 0 supported, 3 colour,
MI_WIDTH        equ 18                  ;   4 graphics, 7 LFB available
MI_HEIGHT       equ 20
MI_BPP          equ 25
MI_MODEL        equ 27                  ; memory model: 4 packed, 6 direct
MODE_USABLE     equ 0x99                ; supported | colour | graphics | LFB
MODEL_PACKED    equ 4                   ; 8 bits: an index into the DAC
MODEL_DIRECT    equ 6                   ; 15-32 bits: red, green, blue fields

; The mode the harness (or a student) asks for: 0 x 0 = stay in text mode.
        global  param_vbe_width:data 2
        global  param_vbe_height:data 2
        global  param_vbe_bpp:data 1
param_vbe_width:  dw 0                 ; pixels across; 0: text mode
param_vbe_height: dw 0                 ; pixels down
param_vbe_bpp:    db 0                 ; bits per pixel: 8, 15, 16, 24, 32

; vbe_setup - find the mode param_vbe_* ask for among the BIOS's and set it.
; Entry: DS = ES = 0, real mode, interrupts on.  Returns: vbe_info_ax,
; vbe_controller, vbe_modes/vbe_mode_count (every mode the BIOS listed),
; vbe_mode (0xFFFF: none matched), vbe_mode_info and vbe_set_ax (the chosen
; mode's, if any).  Clobbers: EAX, EBX, ECX, EDX, SI, DI, FS.
        global  vbe_setup
vbe_setup:
        cmp     word [param_vbe_width], 0
        je      .done                   ; no mode asked for: text mode stays
        mov     dword [vbe_controller], 'VBE2'  ; ask for the VBE 2.0+ block
        mov     di, vbe_controller      ; ES:DI: 512 bytes for the answer
        mov     ax, 0x4F00
        int     0x10
        mov     [vbe_info_ax], ax
        cmp     ax, VBE_OK
        jne     .done                   ; no VBE: vbe.c says so
        lfs     si, [vbe_controller + VBE_INFO_MODES] ; FS:SI: mode numbers
        mov     di, vbe_modes
.next:  mov     cx, [fs:si]             ; CX = the next mode number
        cmp     cx, VBE_MODE_END
        je      .chosen
        cmp     word [vbe_mode_count], VBE_MAX_MODES
        jae     .chosen
        add     si, 2
        call    mode_info
        cmp     ax, VBE_OK
        jne     .next                   ; a mode it cannot describe: skip it
        call    keep_mode
        jmp     .next
.chosen:
        mov     cx, [vbe_mode]
        cmp     cx, VBE_MODE_END
        je      .done                   ; nothing matched: vbe.c lists them
        call    mode_info               ; the chosen mode's block, for C
        mov     bx, cx
        or      bx, VBE_SET_LFB
        mov     ax, 0x4F02
        int     0x10                    ; the screen changes here
        mov     [vbe_set_ax], ax
.done:  ret

; mode_info - int 10h 4F01h for mode CX into vbe_mode_info.
; Entry: CX = mode, ES = 0.  Returns: AX = the BIOS's status.
; Clobbers: nothing else (the BIOS may, so we save what we use).
mode_info:
        push    cx
        push    si
        push    di
        push    fs
        mov     di, vbe_mode_info
        mov     ax, 0x4F01
        int     0x10
        pop     fs
        pop     di
        pop     si
        pop     cx
        ret

; keep_mode - append mode CX (its info in vbe_mode_info) to vbe_modes at
; DI, and make it vbe_mode if it is the first usable one of the size asked.
; Entry: CX = mode, DI = free entry.  Returns: DI = the next free entry.
; Clobbers: AX.
keep_mode:
        mov     [di], cx                        ; struct vbe_mode_entry:
        mov     ax, [vbe_mode_info + MI_WIDTH]  ; number, width, height,
        mov     [di + 2], ax                    ; bpp, model, attributes
        mov     ax, [vbe_mode_info + MI_HEIGHT]
        mov     [di + 4], ax
        mov     al, [vbe_mode_info + MI_BPP]
        mov     [di + 6], al
        mov     al, [vbe_mode_info + MI_MODEL]
        mov     [di + 7], al
        mov     ax, [vbe_mode_info + MI_ATTRIBUTES]
        mov     [di + 8], ax
        add     di, VBE_ENTRY_SIZE
        inc     word [vbe_mode_count]
        ; Choose it (vbe_mode = CX) if none was chosen yet and it is the
        ; size and depth asked for, with an LFB and pixels C can draw.
        cmp     word [vbe_mode], VBE_MODE_END
        jne     .no                     ; the first match wins
        and     ax, MODE_USABLE
        cmp     ax, MODE_USABLE
        jne     .no
        mov     ax, [vbe_mode_info + MI_WIDTH]
        cmp     ax, [param_vbe_width]
        jne     .no
        mov     ax, [vbe_mode_info + MI_HEIGHT]
        cmp     ax, [param_vbe_height]
        jne     .no
        mov     al, [vbe_mode_info + MI_BPP]
        cmp     al, [param_vbe_bpp]
        jne     .no
        mov     al, [vbe_mode_info + MI_MODEL]
        cmp     al, MODEL_PACKED
        je      .yes
        cmp     al, MODEL_DIRECT
        jne     .no
.yes:   mov     [vbe_mode], cx
.no:    ret

; What C reads (vbe.h). In .entry, like e820_map: .bss would be zeroed
; after the switch, wiping the answers.
        global  vbe_info_ax, vbe_set_ax, vbe_mode, vbe_mode_count
        global  vbe_controller, vbe_mode_info, vbe_modes
vbe_info_ax:    dw 0                    ; 4F00h's AX (0: never asked)
vbe_set_ax:     dw 0                    ; 4F02h's AX (0: never asked)
vbe_mode:       dw VBE_MODE_END         ; the mode chosen, or none
vbe_mode_count: dw 0
        align   4
vbe_controller: times 512 db 0          ; 4F00h's VbeInfoBlock
vbe_mode_info:  times 256 db 0          ; 4F01h's ModeInfoBlock
vbe_modes:      times VBE_MAX_MODES * VBE_ENTRY_SIZE db 0
