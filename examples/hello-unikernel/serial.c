/* hello-unikernel — output on the first serial port (COM1), polled.
 * SPDX-License-Identifier: ISC */
#include "io.h"

#define COM1 0x3f8
#define REG_DATA 0      /* THR, or divisor low byte with DLAB */
#define REG_IER 1       /* interrupt enable, or divisor high byte with DLAB */
#define REG_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS 0x03
#define LSR_THR_EMPTY 0x20
#define DIVISOR_115200 1

void serial_init(void)
{
	outb(COM1 + REG_IER, 0); /* we poll; no interrupts */
	outb(COM1 + REG_LCR, LCR_DLAB);
	outb(COM1 + REG_DATA, DIVISOR_115200);
	outb(COM1 + REG_IER, 0);
	outb(COM1 + REG_LCR, LCR_8N1);
	outb(COM1 + REG_FCR, FCR_ENABLE_CLEAR);
	outb(COM1 + REG_MCR, MCR_DTR_RTS);
}

void serial_putc(char c)
{
	while ((inb(COM1 + REG_LSR) & LSR_THR_EMPTY) == 0)
		cpu_relax();
	outb(COM1 + REG_DATA, (uint8_t)c);
}

/* Lines end in a bare "\n": the console is read by programs (a FIFO, a
 * log), not by a terminal. */
void serial_puts(const char *s)
{
	while (*s != '\0')
		serial_putc(*s++);
}

void serial_putu(uint32_t v)
{
	char digits[10];
	int n = 0;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		serial_putc(digits[--n]);
}
