; cpuprobe.asm - a harness-only guest for lesson 07: it prints what a
; hypervisor changes in the CPU a guest sees, then waits forever (the test
; reads the CPU's real registers from the emulator while it waits):
;   ecx=  CPUID.1:ECX (bit 5: VMX, which lesson 07 hides)
;   ecx8= CPUID 8000_0001h:ECX (bit 2: SVM, which lesson 09 hides)
;   cr0=  CR0 read back after setting CD and NW (the guest's own value,
;         though lesson 07 keeps caching on underneath)
;   cr4=  CR4 (bit 13, VMXE, is 1 under VMX but the guest reads 0)
;   xcr0= XCR0 read back after XSETBV of 3 (x87 and SSE), with CR4.OSXSAVE,
;         where CPUID.1:ECX.XSAVE (bit 26) says there is XSAVE
; and first the registers it was started with, as a BIOS hands them to a
; boot sector (saved before anything else runs): eax..esp, then flags and
; the segment registers.
        bits    16
        org     0x7C00
        mov     [cs:saved], eax
        mov     [cs:saved + 4], ebx
        mov     [cs:saved + 8], ecx
        mov     [cs:saved + 12], edx
        mov     [cs:saved + 16], esi
        mov     [cs:saved + 20], edi
        mov     [cs:saved + 24], ebp
        mov     [cs:saved + 28], esp
        pushfd
        pop     dword [cs:saved + 32]
        mov     [cs:saved + 36], cs
        mov     [cs:saved + 38], ds
        mov     [cs:saved + 40], es
        mov     [cs:saved + 42], ss
        mov     [cs:saved + 44], fs
        mov     [cs:saved + 46], gs
        mov     si, hello
%include "broken.inc"
        mov     si, msg_regs
        call    print
        xor     bp, bp
.reg:   mov     ebx, [saved + bp]
        mov     si, msg_sp
        call    show
        add     bp, 4
        cmp     bp, 48
        jb      .reg
        mov     eax, 1
        cpuid
        mov     [xsave], ecx
        mov     si, msg_ecx
        mov     ebx, ecx
        call    show
        mov     eax, 0x80000001
        cpuid
        mov     si, msg_ecx8
        mov     ebx, ecx
        call    show
        mov     eax, cr0
        or      eax, 0x60000000         ; CD (bit 30) and NW (bit 29)
        mov     cr0, eax
        mov     ebx, cr0
        mov     si, msg_cr0
        call    show
        mov     ebx, cr4
        mov     si, msg_cr4
        call    show
        test    dword [xsave], 1 << 26  ; no XSAVE: no XSETBV (#UD)
        jz      .done
        mov     eax, cr4
        or      eax, 1 << 18            ; OSXSAVE: XSETBV allowed
        mov     cr4, eax
        xor     ecx, ecx                ; XCR0
        xor     edx, edx
        mov     eax, 3                  ; x87 | SSE
        xsetbv
        xor     ecx, ecx
        xgetbv
        mov     ebx, eax
        mov     si, msg_xcr0
        call    show
.done:  mov     si, msg_done
        call    print
        jmp     $
; show - print the string at SI, then EBX in hex and a line end.
show:   call    print
        mov     cx, 8
.digit: rol     ebx, 4
        mov     al, bl
        and     al, 0x0F
        add     al, '0'
        cmp     al, '9'
        jbe     .out
        add     al, 'a' - '9' - 1
.out:   mov     ah, al
        mov     dx, 0x3FD               ; LSR: wait for THRE
.wait:  in      al, dx
        test    al, 0x20
        jz      .wait
        mov     al, ah
        mov     dx, 0x3F8
        out     dx, al
        loop    .digit
        mov     si, msg_nl
        jmp     print
saved:  times   12 dd 0
xsave:  dd      0
hello:  db      "broken: my CPU", 13, 10, 0
msg_regs: db    "at 7c00:", 13, 10, 0  ; eax..esp, eflags, cs:ds es:ss fs:gs
msg_sp:   db    " ", 0
msg_ecx:  db    "ecx=", 0
msg_ecx8: db    "ecx8=", 0
msg_cr0:  db    "cr0=", 0
msg_cr4:  db    "cr4=", 0
msg_xcr0: db    "xcr0=", 0
msg_done: db    "done", 13, 10, 0
msg_nl:   db    13, 10, 0
        times   510 - ($ - $$) db 0
        dw      0xAA55
