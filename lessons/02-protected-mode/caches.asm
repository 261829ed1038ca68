; caches.asm - lesson 02: switch on the caches that a reset leaves off.
;
; Runs in real mode, called by entry.asm's _start before anything else it
; does, so that everything after it (the BIOS calls, the switch to
; protected mode, every later lesson) runs with the caches on. Every
; program from lesson 02 on passes here (pm.mk).
;
; A reset leaves CR0 = 60000010H: CD (bit 30, cache disable) and NW (bit
; 29, not write-through) set, caches off (SDM Vol. 3A, 9.1.1, Table 9-1).
; Turning them on is the firmware's job, and a PC's usually does it, but
; none has to: QEMU's SeaBIOS clears both, Bochs' BIOS leaves them as the
; reset set them. A kernel that trusts its firmware here could run
; entirely uncached, and on real hardware many times slower.
;
; CD = NW = 0 is the "normal cache mode" of SDM Vol. 3A, 11.5.1, Table
; 11-5: write-back wherever the MTRRs and page attributes allow it. CD = 1
; with NW = 1 is the mode a reset leaves: nothing new is cached, but lines
; already in the cache stay there, writes that hit them change only the
; cache, and snoops do not invalidate them, so memory and cache may
; disagree ("memory coherency is not maintained"). A firmware that cached
; for a while and then set CD and NW again would leave such lines behind.
; So first WBINVD: write every modified line back and empty the caches
; (with CD still set nothing refills them), then clear CD and NW. That is
; SDM Vol. 3A, 11.5.3 "Preventing Caching" (set CD, clear NW, WBINVD)
; undone in the reverse order. (The section numbers are those of the
; 2016-2021 editions of the SDM; later ones number them 10.1.1, 12.5.1
; and 12.5.3.)

        bits    16
        section .entry                  ; real-mode code, near entry.asm

%include "kit.inc"                      ; CR0_CD, CR0_NW: common/include/x86.h

; caches_enable - record CR0 as the firmware left it, then turn CD and NW
; off. Entry: real mode, DS = 0. Returns: [boot_cr0] = that CR0, CR0.CD =
; CR0.NW = 0. Clobbers: EAX.
        global  caches_enable
caches_enable:
        mov     eax, cr0
        mov     [boot_cr0], eax         ; the firmware's: lessons 07, 09 show
                                        ;   it to their guests (boot.h)
        wbinvd                          ; write back, empty: nothing is stale
        and     eax, ~(CR0_CD | CR0_NW)
        mov     cr0, eax                ; normal cache mode (Table 11-5)
        ret

        align   4
        global  boot_cr0
boot_cr0:       dd 0                    ; CR0 as the firmware left it
