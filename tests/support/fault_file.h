/* Test support: the io layer's fault hook (alb_state_file_set_hook, in the
 * tests' build of state_file.c) steered by a file, so that a test steers
 * the core that runs in its child: <root>/fault holds "fail N" (step N
 * fails as if its system call had), "crash N" (the process ends there as
 * under kill -9) or "sleep N MS" (it waits there, after creating
 * <root>/reached). No file: no fault.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_FAULT_FILE_H
#define ALB_TEST_FAULT_FILE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "albd_harness.h"
#include "host_helpers.h"
#include "io/state_file.h"

static char fault_path[H_PATH + 16], reached_path[H_PATH + 32];

static inline int fault_hook(enum alb_state_step s, void *ctx)
{
	(void)ctx;
	char *t = h_read_file(fault_path, NULL);
	if (t == NULL)
		return 0;
	char what[16] = "";
	int step = -1, ms = 0;
	int n = sscanf(t, "%15s %d %d", what, &step, &ms);
	free(t);
	if (n < 2 || step != (int)s)
		return 0;
	if (strcmp(what, "fail") == 0)
		return -1;
	if (strcmp(what, "crash") == 0)
		_exit(9); /* as kill -9: no cleanup */
	if (strcmp(what, "sleep") == 0) {
		h_write_file(reached_path, "1", 1);
		h_sleep_ms(ms);
	}
	return 0;
}

/* Installs the hook, steered from files under root. */
static inline void fault_install(const char *root)
{
	snprintf(fault_path, sizeof(fault_path), "%s/fault", root);
	snprintf(reached_path, sizeof(reached_path), "%s/reached", root);
	alb_state_file_set_hook(fault_hook, NULL);
}

static inline void fault_set(const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (h_write_file(fault_path, buf, strlen(buf)) != 0)
		abort();
}

static inline void fault_clear(void)
{
	unlink(fault_path);
	unlink(reached_path);
}

static inline bool fault_reached(void)
{
	return access(reached_path, F_OK) == 0;
}

#endif
