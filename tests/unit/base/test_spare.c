/* Unit tests of the process's spare buffer (base/spare.h): kept only when
 * aligned and of ALB_SPARE_ALIGN to ALB_SPARE_MAX bytes (at each limit and
 * one past it), the largest wins, and taking it hands it over once.
 * AddressSanitizer checks that a buffer replaced or refused is freed once.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/spare.h"

static void *aligned(size_t len)
{
	void *p = NULL;
	assert_int_equal(posix_memalign(&p, ALB_SPARE_ALIGN, len), 0);
	return p;
}

/* Empties the spare (each test starts and ends with none). */
static void drain(void)
{
	size_t cap;
	free(alb_spare_take(0, &cap));
}

static void test_limits(void **state)
{
	(void)state;
	const size_t lens[] = {ALB_SPARE_ALIGN - 1, ALB_SPARE_ALIGN, ALB_SPARE_MAX,
			       ALB_SPARE_MAX + 1};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i], cap = 0;
		bool fits = len >= ALB_SPARE_ALIGN && len <= ALB_SPARE_MAX;
		void *p = aligned(len);
		assert_int_equal(alb_spare_keep(p, len), fits);
		void *q = alb_spare_take(len, &cap);
		if (fits) {
			assert_ptr_equal(q, p);
			assert_int_equal(cap, len);
			memset(q, 1, cap); /* all of it the caller's */
		} else {
			assert_null(q);
		}
		free(p);
	}
	/* not aligned: not kept */
	uint8_t *p = aligned(ALB_SPARE_ALIGN + 4096);
	assert_false(alb_spare_keep(p + 4096, ALB_SPARE_ALIGN));
	free(p);
	assert_false(alb_spare_keep(NULL, ALB_SPARE_ALIGN));
	drain();
}

static void test_take(void **state)
{
	(void)state;
	size_t cap = 0;
	assert_null(alb_spare_take(1, &cap));
	void *p = aligned(ALB_SPARE_ALIGN);
	alb_spare_free(p, ALB_SPARE_ALIGN);
	/* one byte more than it holds: not handed over, still there */
	assert_null(alb_spare_take(ALB_SPARE_ALIGN + 1, &cap));
	assert_ptr_equal(alb_spare_take(ALB_SPARE_ALIGN, &cap), p);
	/* once */
	assert_null(alb_spare_take(1, &cap));
	free(p);
}

static void test_largest_kept(void **state)
{
	(void)state;
	size_t small = ALB_SPARE_ALIGN, large = 2 * ALB_SPARE_ALIGN, cap = 0;
	void *a = aligned(small), *b = aligned(large), *c = aligned(small);
	assert_true(alb_spare_keep(a, small));
	assert_true(alb_spare_keep(b, large)); /* a freed */
	assert_false(alb_spare_keep(c, small)); /* b stays, c is ours */
	alb_spare_free(c, small);                /* so freed */
	assert_ptr_equal(alb_spare_take(small, &cap), b);
	assert_int_equal(cap, large);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_largest_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
