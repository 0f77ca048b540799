/* Unit tests of alb_grow() (base/internal.h): the capacity doubles from 16
 * until it holds what is needed; a count or a byte size that would wrap
 * is refused with the array left as it was.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/internal.h"

static void test_doubles_from_16(void **state)
{
	(void)state;
	int64_t *v = NULL;
	size_t cap = 0;
	assert_true(alb_grow((void **)&v, &cap, 1, sizeof(*v)));
	assert_int_equal(cap, 16);
	v[15] = 15;
	int64_t *same = v;
	/* enough already: nothing moves */
	assert_true(alb_grow((void **)&v, &cap, 16, sizeof(*v)));
	assert_ptr_equal(v, same);
	assert_int_equal(cap, 16);
	/* one past: doubled, the elements kept */
	assert_true(alb_grow((void **)&v, &cap, 17, sizeof(*v)));
	assert_int_equal(cap, 32);
	assert_int_equal(v[15], 15);
	assert_true(alb_grow((void **)&v, &cap, 1000, sizeof(*v)));
	assert_int_equal(cap, 1024);
	free(v);
}

static void test_refuses_what_would_wrap(void **state)
{
	(void)state;
	uint8_t *v = NULL;
	size_t cap = 0;
	assert_true(alb_grow((void **)&v, &cap, 16, 1));
	/* a count past the largest power of two a size_t holds */
	assert_false(alb_grow((void **)&v, &cap, SIZE_MAX / 2 + 2, 1));
	/* a count whose bytes do not fit a size_t */
	assert_false(alb_grow((void **)&v, &cap, 32, SIZE_MAX / 16));
	assert_int_equal(cap, 16);
	assert_non_null(v);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_from_16),
		cmocka_unit_test(test_refuses_what_would_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
