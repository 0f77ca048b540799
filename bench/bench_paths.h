/* Benchmarks: where the build tree that holds this program keeps the fake
 * tender and the programs, unless the environment says it already.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_BENCH_PATHS_H
#define ALB_BENCH_PATHS_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Sets ALB_BUILD_ROOT (<build>, this program being <build>/bench/NAME) and
 * ALB_FAKE_TENDER (<build>/tests/tools/fake-tender) where unset. */
static inline void bench_default_paths(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	for (int k = 0; k < 2; k++) {
		char *slash = strrchr(exe, '/');
		if (slash == NULL)
			return;
		*slash = '\0';
	}
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/tests/tools/fake-tender", exe);
	setenv("ALB_FAKE_TENDER", path, 0);
	setenv("ALB_BUILD_ROOT", exe, 0);
}

#endif
