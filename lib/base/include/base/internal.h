/* libalbatross — private helpers shared by the library's modules.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_INTERNAL_H
#define ALB_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/common.h"

#define ALB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Bytewise order of a[0..an) and b[0..bn), a prefix first (OCaml's
 * String.compare): the order of labels, names and wire strings. Either
 * pointer may be NULL when its length is 0. */
static inline int alb_bytes_cmp(const void *a, size_t an, const void *b,
				size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n > 0 ? memcmp(a, b, n) : 0;
	return c != 0 ? c : (an > bn) - (an < bn);
}

/* True when the reserved tail (ALB_RESERVED) of the public struct *s is
 * all zero: functions that take a configuration or options check it, so
 * that a caller who forgot to zero one fails now rather than changing
 * meaning under a later version of the library. */
static inline bool alb_reserved_zero(const uint64_t *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r[i] != 0)
			return false;
	return true;
}
#define ALB_RESERVED_ZERO(s)                                                   \
	alb_reserved_zero((s)->reserved_, ALB_ARRAY_LEN((s)->reserved_))

/* Room for need elements of elem bytes in the array *arr of *cap: the
 * capacity doubles from 16 until it suffices. false when out of memory or
 * too large (*arr and *cap unchanged). */
static inline bool alb_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t c = *cap != 0 ? *cap : 16;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			return false;
		c *= 2;
	}
	if (elem != 0 && c > SIZE_MAX / elem)
		return false;
	void *p = realloc(*arr, c * elem);
	if (p == NULL)
		return false;
	*arr = p;
	*cap = c;
	return true;
}

/* alb_set_error() is public (common.h): the programs report through it too. */

/** Like alb_set_error() for a failed system call: records errno and appends
 * ": <strerror(errno)>" to the message; errno is preserved. */
void alb_set_error_sys(struct alb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* `return alb_fail(err, ALB_EPARSE, "...", ...)` fills err and returns the
 * code. These are macros so that the compiler sees the (constant, non-zero)
 * result at the call site: it then knows that a failed call leaves outputs
 * unset, instead of warning "may be used uninitialized" at -O3. */
#define alb_fail(err, code, ...)                                               \
	__extension__({                                                        \
		int alb_fail_code_ = (code);                                   \
		alb_set_error((err), alb_fail_code_, __VA_ARGS__);             \
		alb_fail_code_;                                                \
	})
#define alb_fail_sys(err, ...)                                                 \
	__extension__({                                                        \
		alb_set_error_sys((err), __VA_ARGS__);                         \
		ALB_ESYS;                                                      \
	})

#endif
