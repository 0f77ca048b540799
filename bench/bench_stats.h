/* Benchmarks: sorting samples and taking their median, one way for all.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_BENCH_STATS_H
#define ALB_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline int bench_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sorts v[0..n) ascending. */
static inline void bench_sort_i64(int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_i64);
}

static inline void bench_sort_double(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
}

/* The median of v[0..n), n > 0 (the upper one of an even count); sorts v. */
static inline int64_t bench_median_i64(int64_t *v, size_t n)
{
	bench_sort_i64(v, n);
	return v[n / 2];
}

static inline double bench_median_double(double *v, size_t n)
{
	bench_sort_double(v, n);
	return v[n / 2];
}

#endif
