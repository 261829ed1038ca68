; vm1.asm - lesson 06: VM1, the guest. A real-mode program in its own memory.
;
; The hypervisor copies this program to guest-physical GUEST_LOAD_ADDR in
; VM1's 64 KiB of RAM and starts it in real mode (unrestricted guest), with
; EBX = an address to touch, ECX = how many null hypercalls to time, EDX =
; the scenario and ESI = its number, n of "VMn" (1 in lessons 06 and 08;
; lesson 10 runs one copy per VM, as a BIOS hands the boot drive in DL).
; VM1 can see nothing but its own RAM: every other
; guest-physical address is unmapped in EPT, I/O instructions exit, and the
; only way out is a hypercall (see hypercall.h for the ABI).
;
; One binary for both vendors. Intel's hypercall instruction is VMCALL
; (0F 01 C1, SDM Vol. 3C, 30.3); AMD's is VMMCALL (0F 01 D9, AMD64 APM
; Vol. 3, "VMMCALL"); each is #UD on the other vendor's CPU. So VM1 makes
; every hypercall through one stub, `hypercall`, and before the first one
; reads the CPUID vendor string (leaf 0) and, on AuthenticAMD, rewrites
; the stub's third byte: C1 becomes D9. Paravirtualized kernels patch
; their hypercall sites the same way (Linux's alternatives, KVM's
; "hypercall patching"). Lesson 06 (VMX, Bochs) runs it with VMCALL,
; lesson 08 (SVM, QEMU) with VMMCALL.

%include "kit.inc"                      ; HC_*, GUEST_*, SCENARIO_*

        bits    16
        org     GUEST_LOAD_ADDR

start:  jmp     main
        times   GUEST_GREETING_OFFSET - ($ - $$) db 0
greeting:                               ; patchable: the harness may change it
        db      "Hello! I am VM1!", 10, 0
        times   GUEST_GREETING_OFFSET + GUEST_GREETING_SIZE - ($ - $$) db 0

main:
        xor     ax, ax
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     sp, GUEST_LOAD_ADDR     ; stack just below the program
        mov     [touch_gpa], ebx
        mov     [bench_count], ecx
        mov     [scenario], dl
        mov     ax, si                  ; "VMn: " in front of what it says
        add     [prefix + 2], al
        call    hypercall_choose        ; 0. VMCALL or VMMCALL, once

        mov     si, greeting            ; 1. say hello, through the
        call    print                   ;    hypervisor (HC_PRINT)

        movzx   bx, byte [scenario]     ; the scenarios that are not normal
        cmp     bx, SCENARIOS
        jae     .normal
        add     bx, bx
        mov     bx, [scenarios + bx]
        test    bx, bx
        jz      .normal
        jmp     bx
.normal:
        call    show_cpu                ; 2. CPUID: what CPU do we see?
        call    bad_hypercall           ; 3. an invalid hypercall number
        call    benchmark               ; 4. time null hypercalls
        mov     eax, HC_EXIT            ; 5. done: exit with status 0
        xor     ebx, ebx
        call    hypercall
        hlt                             ; HC_EXIT does not return

; The scenarios after the greeting, by number (hypercall.h); 0: normal.
scenarios:
        dw      0, touch_outside, triple_fault, port_io, spin
        dw      rounds, rounds, rounds, divide_error, invalid_opcode
SCENARIOS equ ($ - scenarios) / 2
%if SCENARIOS != SCENARIO_COUNT
%error "scenarios: one entry per SCENARIO_* of hypercall.h"
%endif

; --- the scenarios that end VM1 badly --------------------------------------
touch_outside:                          ; read a byte at guest-physical EBX
        mov     eax, [touch_gpa]
        cmp     eax, 0x100000
        jae     .high
        mov     edx, eax
        shr     edx, 4
        mov     es, dx                  ; ES:DI = EBX, as segment:offset
        and     ax, 0x000F
        mov     di, ax
        jmp     .read
.high:  mov     dx, 0xFFFF              ; the 64 KiB above 1 MiB (to
        mov     es, dx                  ; 0x10FFEF): FFFF:(EBX - 0xFFFF0)
        sub     eax, 0xFFFF0
        mov     di, ax
.read:  mov     al, [es:di]             ; not in EPT: an EPT violation
        hlt
triple_fault:
        lidt    [empty_idt]             ; no interrupt vector is valid now
        int3                            ; #BP -> #GP -> #DF -> triple fault
        hlt
port_io:
        mov     al, 0x42
        out     0x80, al                ; I/O exits unconditionally here
        hlt
spin:   jmp     spin                    ; never exits: only a timer stops it
divide_error:
        xor     ax, ax
        xor     dx, dx
        div     ax                      ; 0 / 0: #DE
        hlt
invalid_opcode:
        vmxon   [touch_gpa]             ; not in real mode: #UD (SDM 30.3)
        hlt

; --- rounds: work, say so, and (5) go on, (6) yield or (7) halt -------------
; rounds - EBX iterations of work, then "VMn: round r", ECX times; after
; each round, by scenario: nothing (the timer preempts it), HC_YIELD, or
; HLT (each gives the rest of the slice away). Then HC_EXIT(0).
rounds:
        mov     dword [round], 0
.round: mov     ecx, [touch_gpa]        ; the work: a loop that only counts
.work:  dec     ecx
        jnz     .work
        inc     dword [round]
        mov     si, prefix
        call    print
        mov     si, msg_round
        call    print
        mov     eax, [round]
        call    print_dec
        call    newline
        cmp     byte [scenario], SCENARIO_ROUNDS_YIELD
        jne     .hlt
        mov     eax, HC_YIELD
        call    hypercall
.hlt:   cmp     byte [scenario], SCENARIO_ROUNDS_HLT
        jne     .next
        hlt                             ; exits: the slice is over
.next:  mov     eax, [round]
        cmp     eax, [bench_count]
        jb      .round
        mov     eax, HC_EXIT
        xor     ebx, ebx
        call    hypercall
        hlt

; --- the hypercall instruction, chosen by vendor ----------------------------
; hypercall - the one hypercall instruction VM1 has: VMCALL as assembled,
; VMMCALL once hypercall_choose has patched it. Entry: EAX = number, EBX,
; ECX, EDX = arguments (hypercall.h). Returns: EAX = result.
hypercall:
        vmcall                          ; 0F 01 C1; on AMD: 0F 01 D9
        ret
HYPERCALL_MODRM equ hypercall + 2       ; the byte that tells them apart
VMMCALL_MODRM   equ 0xD9                ; 0F 01 D9: VMMCALL

; hypercall_choose - read the vendor (CPUID leaf 0: EBX, EDX, ECX) into
; [vendor] and patch the stub on an AMD CPU. Clobbers: EAX..EDX.
hypercall_choose:
        xor     eax, eax
        cpuid
        mov     [vendor + 0], ebx       ; "GenuineIntel" is EBX, EDX, ECX
        mov     [vendor + 4], edx
        mov     [vendor + 8], ecx
        cmp     ebx, "Auth"             ; "AuthenticAMD"?
        jne     .done
        cmp     edx, "enti"
        jne     .done
        cmp     ecx, "cAMD"
        jne     .done
        mov     byte [HYPERCALL_MODRM], VMMCALL_MODRM
        jmp     .done                   ; a jump after a code write (SMC)
.done:  ret

; --- CPUID: vendor and brand ------------------------------------------------
; show_cpu - print the vendor (read at start) and brand (0x80000002-4).
show_cpu:
        mov     si, prefix
        call    print
        mov     si, msg_vendor
        call    print
        mov     si, vendor
        call    print
        call    newline
        mov     di, text
        mov     eax, 0x80000002
.leaf:  push    eax
        cpuid                           ; 16 brand bytes in EAX..EDX
        mov     [di], eax
        mov     [di + 4], ebx
        mov     [di + 8], ecx
        mov     [di + 12], edx
        add     di, 16
        pop     eax
        inc     eax
        cmp     eax, 0x80000004
        jbe     .leaf
        mov     byte [di], 0
        mov     si, prefix
        call    print
        mov     si, msg_brand
        call    print
        mov     si, text
        call    print
        jmp     newline

; bad_hypercall - call a number the ABI does not have; print the answer.
bad_hypercall:
        mov     eax, 0x99
        call    hypercall
        push    eax
        mov     si, prefix
        call    print
        mov     si, msg_bad
        call    print
        pop     eax
        call    print_hex
        jmp     newline

; benchmark - time [bench_count] null hypercalls with RDTSC; print the mean.
benchmark:
        mov     ecx, [bench_count]
        jecxz   .done
        rdtsc
        mov     [t0], eax
        mov     [t0 + 4], edx
.loop:  mov     eax, HC_NOP
        call    hypercall               ; exit, handler, resume: a round trip
        loop    .loop, ecx
        rdtsc
        sub     eax, [t0]               ; EDX:EAX = ticks for all of them
        sbb     edx, [t0 + 4]
        div     dword [bench_count]     ; EAX = mean
        push    eax
        mov     si, prefix
        call    print
        mov     eax, [bench_count]
        call    print_dec
        mov     si, msg_bench2
        call    print
        pop     eax
        call    print_dec
        mov     si, msg_bench3
        call    print
.done:  ret

; --- printing through HC_PRINT ----------------------------------------------
; print - print the NUL-terminated string at DS:SI (DS = 0: SI is its
; guest-physical address). Clobbers: EAX, EBX, ECX.
print:
        xor     ecx, ecx                ; ECX = length
.len:   mov     bx, si
        add     bx, cx
        cmp     byte [bx], 0
        je      .call
        inc     cx
        jmp     .len
.call:  movzx   ebx, si
        mov     eax, HC_PRINT
        jmp     hypercall

newline:
        mov     si, msg_newline
        jmp     print

; print_dec - print EAX in decimal. Clobbers: EAX, EBX, ECX, EDX, DI.
print_dec:
        mov     di, number + 11
        mov     byte [di], 0
        mov     ebx, 10
.digit: xor     edx, edx
        div     ebx
        add     dl, '0'
        dec     di
        mov     [di], dl
        test    eax, eax
        jnz     .digit
        mov     si, di
        jmp     print

; print_hex - print EAX as 0x and 8 hexadecimal digits. Clobbers: EAX..EDX.
print_hex:
        mov     di, number
        mov     word [di], '0x'
        add     di, 2
        mov     cx, 8
.digit: rol     eax, 4
        mov     dl, al
        and     dl, 0x0F
        add     dl, '0'
        cmp     dl, '9'
        jbe     .store
        add     dl, 'a' - '9' - 1
.store: mov     [di], dl
        inc     di
        loop    .digit
        mov     byte [di], 0
        mov     si, number
        jmp     print

prefix:         db "VM0: ", 0               ; the digit becomes n at start
msg_vendor:     db "CPU vendor ", 0
msg_brand:      db "CPU brand ", 0
msg_bad:        db "hypercall 0x99 returned ", 0
msg_round:      db "round ", 0
msg_bench2:     db " null hypercalls, mean round trip ", 0
msg_bench3:     db " TSC ticks", 10, 0
msg_newline:    db 10, 0
empty_idt:      dw 0                    ; limit 0
                dd 0
touch_gpa:      dd 0
bench_count:    dd 0
scenario:       db 0
round:          dd 0
t0:             dq 0
number:         times 12 db 0
text:           times 52 db 0
vendor:         times 13 db 0           ; CPUID leaf 0, NUL-terminated
