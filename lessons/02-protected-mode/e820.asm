; e820.asm - lesson 02: ask the BIOS for the memory map (int 15h, EAX=E820h).
;
; Runs in real mode from entry.asm. Only the BIOS knows which physical
; addresses are RAM, which are ROM or devices, and which the firmware keeps
; for itself (ACPI tables, say). Once we leave real mode its services are
; gone, so the map is copied into e820_map now; the C kernel prints it.

        bits    16
        section .entry

E820_MAX        equ 32                  ; entries we keep; QEMU gives ~6
E820_ENTRY_SIZE equ 24                  ; base, length, type, ACPI 3.0 flags
SMAP            equ 0x534D4150          ; "SMAP": the call's magic number

; e820_read - fill e820_map and e820_count.
; Entry: DS = ES = 0.  Returns: [e820_count] entries (0 if the BIOS has no
; E820).  Clobbers: EAX, EBX, ECX, EDX, DI.
        global  e820_read
e820_read:
        xor     ebx, ebx                ; continuation value: 0 = first entry
        mov     di, e820_map            ; ES:DI: where the BIOS writes
.next:  mov     dword [di + 20], 1      ; ACPI 3.0 flags: "valid" by default
        mov     eax, 0xE820
        mov     edx, SMAP
        mov     ecx, E820_ENTRY_SIZE
        int     0x15
        jc      .done                   ; CF: no E820, or past the last entry
        cmp     eax, SMAP               ; a BIOS that knows E820 echoes it
        jne     .done
        cmp     dword [di + 8], 0       ; skip empty entries (some BIOSes
        jne     .keep                   ;   report them)
        cmp     dword [di + 12], 0
        je      .skip
.keep:  inc     word [e820_count]
        add     di, E820_ENTRY_SIZE
        cmp     word [e820_count], E820_MAX
        jae     .done
.skip:  test    ebx, ebx                ; EBX = 0: that was the last one
        jnz     .next
.done:  ret

        global  e820_count
        global  e820_map
e820_count:     dw 0
        align   8
e820_map:       times E820_MAX * E820_ENTRY_SIZE db 0
