/* Benchmarks: the durable-write floor of a directory's disk, measured in
 * the run that compares against it.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_BENCH_FLOOR_H
#define ALB_BENCH_FLOOR_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"

static inline int64_t bench_floor_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Median, in ms, of `runs` (at most 64) of: append len bytes to one file
 * in dir + fdatasync, what a journal append costs at least; -1 when the
 * file cannot be written. */
static inline double bench_floor_append(const char *dir, const uint8_t *p,
					size_t len, int runs)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/floor-append", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || runs < 1 || runs > 64)
		return -1;
	int64_t v[64];
	int ok = 1;
	for (int i = 0; ok && i < runs; i++) {
		int64_t t0 = bench_floor_now_us();
		ok = write(fd, p, len) == (ssize_t)len && fdatasync(fd) == 0;
		v[i] = bench_floor_now_us() - t0;
	}
	close(fd);
	unlink(path);
	if (!ok)
		return -1;
	return (double)bench_median_i64(v, (size_t)runs) / 1000.0;
}

#endif
