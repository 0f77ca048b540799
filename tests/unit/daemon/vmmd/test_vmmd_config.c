/* Unit tests of vmmd's configuration copies: config_adopt() keeps a
 * create's image in the frame it came in (no copy) when the image lies
 * within it, up to the frame's last byte, and copies it when it does not
 * (one byte past the frame, another buffer, an empty image); the copy
 * frees the frame with itself. A restart's copy (config_share(),
 * config_merge()) shares the image with the copy that has it, which lives
 * as long as one of them does, and restarts of restarts do not chain.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmmd_internal.h"

#define FRAME_LEN 110
#define IMAGE_OFF 10

static int64_t cpus[] = {0, 1};

/* A frame of FRAME_LEN bytes (0, 1, 2, ...) in a buffer of its own, one
 * byte longer. */
static struct alb_buf frame_new(void)
{
	struct alb_buf f = {0};
	f.base_ = f.data = malloc(FRAME_LEN + 1);
	assert_non_null(f.data);
	for (size_t i = 0; i <= FRAME_LEN; i++)
		f.data[i] = (uint8_t)i;
	f.len = FRAME_LEN;
	f.cap_ = FRAME_LEN + 1;
	return f;
}

static struct alb_unikernel_config config_in(const uint8_t *image, size_t len)
{
	struct alb_unikernel_config c;
	memset(&c, 0, sizeof(c));
	c.image = (struct alb_bytes){image, len};
	c.memory = 32;
	c.cpuids = cpus;
	c.n_cpuids = 2;
	return c;
}

static void test_adopts_up_to_the_last_byte(void **state)
{
	(void)state;
	struct alb_buf f = frame_new();
	uint8_t *img = f.data + IMAGE_OFF;
	/* the image ends with the frame: the limit */
	struct alb_unikernel_config c = config_in(img, FRAME_LEN - IMAGE_OFF);
	struct alb_unikernel_config *d = config_adopt(&c, &f);
	assert_non_null(d);
	assert_ptr_equal(d->image.ptr, img);
	assert_int_equal(d->image.len, FRAME_LEN - IMAGE_OFF);
	assert_null(f.data);
	assert_null(f.base_);
	assert_int_equal(f.len, 0);
	/* the rest is a copy of its own */
	assert_int_equal(d->memory, 32);
	assert_int_equal(d->n_cpuids, 2);
	assert_ptr_not_equal(d->cpuids, cpus);
	assert_int_equal(d->cpuids[1], 1);
	config_retain(d);
	config_free(d);
	assert_int_equal(d->image.ptr[0], IMAGE_OFF); /* still there */
	config_free(d); /* frees the frame too (ASan: no leak, no double free) */
	alb_buf_free(&f); /* empty: nothing */
}

static void test_copies_one_past_the_frame(void **state)
{
	(void)state;
	struct alb_buf f = frame_new();
	/* one byte past the frame's end (still in its buffer) */
	struct alb_unikernel_config c =
		config_in(f.data + IMAGE_OFF, FRAME_LEN - IMAGE_OFF + 1);
	struct alb_unikernel_config *d = config_adopt(&c, &f);
	assert_non_null(d);
	assert_ptr_not_equal(d->image.ptr, c.image.ptr);
	assert_memory_equal(d->image.ptr, c.image.ptr, c.image.len);
	assert_non_null(f.data);
	assert_int_equal(f.len, FRAME_LEN);
	config_free(d);
	alb_buf_free(&f);
}

static void test_copies_what_is_not_in_the_frame(void **state)
{
	(void)state;
	struct alb_buf f = frame_new();
	uint8_t other[16] = {7};
	struct alb_unikernel_config c = config_in(other, sizeof(other));
	struct alb_unikernel_config *d = config_adopt(&c, &f);
	assert_non_null(d);
	assert_ptr_not_equal(d->image.ptr, other);
	assert_int_equal(d->image.ptr[0], 7);
	assert_non_null(f.data);
	config_free(d);
	/* no frame at all, and an empty image: copies, frame untouched */
	d = config_adopt(&c, NULL);
	assert_non_null(d);
	assert_ptr_not_equal(d->image.ptr, other);
	config_free(d);
	c = config_in(f.data, 0);
	d = config_adopt(&c, &f);
	assert_non_null(d);
	assert_int_equal(d->image.len, 0);
	assert_non_null(f.data);
	config_free(d);
	alb_buf_free(&f);
}

static void test_share_and_merge(void **state)
{
	(void)state;
	struct alb_buf f = frame_new();
	struct alb_unikernel_config c = config_in(f.data + IMAGE_OFF, 20);
	struct alb_unikernel_config *first = config_adopt(&c, &f);
	assert_non_null(first);
	struct alb_unikernel_config *again = config_share(first);
	assert_non_null(again);
	assert_ptr_not_equal(again, first);
	assert_ptr_equal(again->image.ptr, first->image.ptr);
	assert_int_equal(again->image.len, 20);
	assert_ptr_not_equal(again->cpuids, first->cpuids);
	/* restart arguments: every field but typ, compressed and image */
	struct alb_unikernel_config args = config_in(NULL, 0);
	args.memory = 64;
	args.compressed = true;
	struct alb_unikernel_config *merged = config_merge(again, &args);
	assert_non_null(merged);
	assert_int_equal(merged->memory, 64);
	assert_false(merged->compressed);
	assert_ptr_equal(merged->image.ptr, first->image.ptr);
	/* the first copies go (the running one is replaced twice): the
	 * image stays with the last */
	const uint8_t *img = first->image.ptr;
	config_free(first);
	config_free(again);
	assert_ptr_equal(merged->image.ptr, img);
	assert_int_equal(merged->image.ptr[0], IMAGE_OFF);
	assert_int_equal(merged->image.ptr[19], IMAGE_OFF + 19);
	struct alb_unikernel_config *third = config_share(merged);
	assert_non_null(third);
	config_free(merged);
	assert_int_equal(third->image.ptr[19], IMAGE_OFF + 19);
	config_free(third); /* the frame with it (ASan: no leak) */
	alb_buf_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adopts_up_to_the_last_byte),
		cmocka_unit_test(test_copies_one_past_the_frame),
		cmocka_unit_test(test_copies_what_is_not_in_the_frame),
		cmocka_unit_test(test_share_and_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
