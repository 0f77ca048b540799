/* hello-unikernel — a tiny multiboot kernel for testing supervisors: it
 * greets, prints its command line, prints one numbered line per second for
 * --seconds=N seconds (forever without it) and exits with --exit=C through
 * QEMU's isa-debug-exit device (QEMU's status is then (C << 1) | 1).
 * SPDX-License-Identifier: ISC */
#include <stdbool.h>
#include <stdint.h>

#include "io.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002u
#define MULTIBOOT_INFO_CMDLINE 0x4u
#define DEBUG_EXIT_PORT 0xf4
/* Longest command line looked at, in bytes (QEMU passes the kernel's path,
 * a space, then -append's text). */
#define CMDLINE_MAX 4096
#define EXIT_CODE_MAX 255

/* The start of the multiboot information structure. */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline; /* physical address, valid with MULTIBOOT_INFO_CMDLINE */
};

struct args {
	bool has_seconds;
	uint32_t seconds;
	uint32_t exit_code;
};

void hello_main(uint32_t magic, const struct multiboot_info *mbi);

/* Does the word w[0..n) start with prefix p? */
static bool has_prefix(const char *w, uint32_t n, const char *p)
{
	uint32_t i = 0;
	for (; p[i] != '\0'; i++)
		if (i >= n || w[i] != p[i])
			return false;
	return true;
}

/* A decimal number of at most max filling s[0..n). */
static bool parse_uint(const char *s, uint32_t n, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;
	if (n == 0)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint32_t d = (uint32_t)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static void option(const char *w, uint32_t n, struct args *a)
{
	static const char seconds[] = "--seconds=", exit_code[] = "--exit=";
	const uint32_t ls = sizeof(seconds) - 1, le = sizeof(exit_code) - 1;
	if (has_prefix(w, n, seconds)) {
		if (parse_uint(w + ls, n - ls, UINT32_MAX, &a->seconds))
			a->has_seconds = true;
		else
			serial_puts("ignoring a malformed --seconds\n");
	} else if (has_prefix(w, n, exit_code)) {
		if (!parse_uint(w + le, n - le, EXIT_CODE_MAX, &a->exit_code))
			serial_puts("ignoring a malformed --exit\n");
	}
	/* Anything else (the kernel's path, --name=... added by albd, unknown
	 * options) is ignored. */
}

/* Prints the command line as given and reads the options in it. */
static void read_cmdline(const char *s, struct args *a)
{
	serial_puts("cmdline: ");
	for (uint32_t i = 0; i < CMDLINE_MAX && s[i] != '\0'; i++)
		serial_putc(s[i]);
	serial_puts("\n");
	uint32_t i = 0;
	while (i < CMDLINE_MAX && s[i] != '\0') {
		while (i < CMDLINE_MAX && s[i] == ' ')
			i++;
		uint32_t start = i;
		while (i < CMDLINE_MAX && s[i] != ' ' && s[i] != '\0')
			i++;
		if (i > start)
			option(s + start, i - start, a);
	}
}

static void debug_exit(uint32_t code)
{
	outl(DEBUG_EXIT_PORT, code);
}

void hello_main(uint32_t magic, const struct multiboot_info *mbi)
{
	struct args a = {false, 0, 0};
	serial_init();
	serial_puts("Hello from albatross hello-unikernel\n");
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		serial_puts("not started by a multiboot loader: no arguments\n");
	else if ((mbi->flags & MULTIBOOT_INFO_CMDLINE) != 0)
		read_cmdline((const char *)(uintptr_t)mbi->cmdline, &a);
	else
		serial_puts("cmdline:\n");
	for (uint32_t tick = 1; !a.has_seconds || tick <= a.seconds; tick++) {
		rtc_wait_next_second();
		serial_puts("tick ");
		serial_putu(tick);
		serial_puts("\n");
		if (tick == UINT32_MAX)
			break;
	}
	serial_puts("exiting with code ");
	serial_putu(a.exit_code);
	serial_puts("\n");
	debug_exit(a.exit_code);
	/* Without the exit device, boot.S halts. */
	serial_puts("isa-debug-exit not present; halting\n");
}
