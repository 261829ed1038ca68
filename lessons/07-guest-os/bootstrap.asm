; bootstrap.asm - lesson 07: the guest's first instructions, the hypervisor's.
;
; A BIOS ends its start-up by reading the boot disk's first sector to
; 0000:7C00 and jumping there with the drive number in DL (int 19h). The
; guest's disk is the machine's second one (drive 81h), which this BIOS
; never boots, so the hypervisor asks the BIOS to do that one read, in the
; guest, before the guest proper starts: guest_exits.c copies it to
; HV_BOOTSTRAP_ADDR and starts the VM here. It reads with int 13h AH=02h
; (CHS sector 1: the boot sector) and reports with VMCALL: AX = 0 read,
; else AH = the BIOS's error code. The hypervisor then sets up the state a
; BIOS hands over and resumes the guest at 0000:7C00 (hv_handover()).
; One binary for both vendors, as lesson 06's VM1: on an AMD CPU (lesson
; 09's SVM hypervisor) VMCALL is #UD and the call must be VMMCALL, so the
; bootstrap patches its own instruction once, from the CPUID vendor.

%include "kit.inc"                      ; HV_*: hv.h

        bits    16
        org     HV_BOOTSTRAP_ADDR

start:
        cli
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, HV_BOOT_SECTOR      ; the stack a boot sector gets
        xor     eax, eax                ; CPUID 0: the vendor, in EBX EDX ECX
        cpuid
        cmp     ebx, 'Auth'             ; "AuthenticAMD"
        jne     .timer
        mov     byte [hypercall + 2], 0xD9 ; 0F 01 C1 VMCALL -> 0F 01 D9
.timer: sti                             ; the BIOS's timer keeps ticking
        mov     si, HV_BOOTSTRAP_TRIES
.read:  mov     ax, 0x0201              ; AH=02h read, AL=1 sector
        mov     cx, 0x0001              ; cylinder 0, sector 1
        mov     dx, HV_GUEST_DRIVE      ; head 0, DL = the guest's disk
        mov     bx, HV_BOOT_SECTOR      ; ES:BX = 0000:7C00
        int     0x13
        jnc     .done
        mov     bl, ah                  ; keep the error over the reset
        xor     ax, ax                  ; AH=00h: reset the disk, try again
        mov     dx, HV_GUEST_DRIVE
        int     0x13
        mov     ah, bl
        dec     si
        jnz     .read
        jmp     .report                 ; AH: the BIOS's last error
.done:  xor     ax, ax
.report:
hypercall:
        vmcall                          ; to the hypervisor: AX = result
.stop:  hlt                             ; never reached: it does not return
        jmp     .stop
