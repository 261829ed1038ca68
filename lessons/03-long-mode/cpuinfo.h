/**
 * @file cpuinfo.h
 * @brief Who the CPU is and what state it is in: CPUID and control registers.
 * @ingroup lesson03
 */
#ifndef LESSON03_CPUINFO_H
#define LESSON03_CPUINFO_H

/** Print the CPUID vendor string and processor brand string. */
void cpu_print_identity(void);

/** Print CR0, CR3, CR4 and EFER with the names of their set bits. */
void cpu_print_control_registers(void);

#endif
