/* hello-unikernel — x86 port I/O and the few helpers the kernel shares.
 * SPDX-License-Identifier: ISC */
#ifndef HELLO_IO_H
#define HELLO_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Tells the CPU (and a hypervisor) that we are spinning. */
static inline void cpu_relax(void)
{
	__asm__ volatile("pause");
}

/* serial.c: COM1 at 115200 8N1. */
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
void serial_putu(uint32_t v);

/* rtc.c: the CMOS real-time clock. */
void rtc_wait_next_second(void);

#endif
