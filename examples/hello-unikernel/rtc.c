/* hello-unikernel — seconds from the CMOS real-time clock, so that a tick
 * is a real second on any host, emulated or not.
 * SPDX-License-Identifier: ISC */
#include "io.h"

#define CMOS_ADDR 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_OFF 0x80
#define RTC_SECONDS 0x00
#define RTC_STATUS_A 0x0a
#define RTC_STATUS_B 0x0b
#define STATUS_A_UPDATING 0x80
#define STATUS_B_BINARY 0x04

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_ADDR, CMOS_NMI_OFF | reg);
	return inb(CMOS_DATA);
}

static uint8_t seconds_raw(void)
{
	while (cmos_read(RTC_STATUS_A) & STATUS_A_UPDATING)
		cpu_relax();
	return cmos_read(RTC_SECONDS);
}

/* The seconds register, read twice until stable so that an update between
 * the status check and the read cannot give a torn value. */
static uint8_t rtc_seconds(void)
{
	uint8_t a, b = seconds_raw();
	do {
		a = b;
		b = seconds_raw();
	} while (a != b);
	if ((cmos_read(RTC_STATUS_B) & STATUS_B_BINARY) == 0)
		a = (uint8_t)((a >> 4) * 10 + (a & 0x0f));
	return a;
}

void rtc_wait_next_second(void)
{
	uint8_t now = rtc_seconds();
	while (rtc_seconds() == now)
		cpu_relax();
}
