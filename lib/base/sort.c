/* libalbatross — sets of integers and strings as Albatross's Set modules
 * keep them: sorted ascending, no duplicates.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>

#include "base/internal.h"
#include "base/sort.h"

int alb_int_qcmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int alb_str_qcmp(const void *a, const void *b)
{
	return alb_str_cmp(a, b);
}

size_t alb_sort_ints(int64_t *v, size_t n)
{
	if (n < 2)
		return n;
	qsort(v, n, sizeof(*v), alb_int_qcmp);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (v[i] != v[k - 1])
			v[k++] = v[i];
	return k;
}

size_t alb_sort_strs(struct alb_str *v, size_t n)
{
	if (n < 2)
		return n;
	qsort(v, n, sizeof(*v), alb_str_qcmp);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (alb_str_cmp(&v[i], &v[k - 1]) != 0)
			v[k++] = v[i];
	return k;
}

int alb_str_cmp(const struct alb_str *a, const struct alb_str *b)
{
	return alb_bytes_cmp(a->ptr, a->len, b->ptr, b->len);
}
