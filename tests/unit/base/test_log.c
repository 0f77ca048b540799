/* Tests of the logger: the handler an embedder sets, levels and their
 * bounds, long lines, and handlers swapped while threads log.
 * SPDX-License-Identifier: ISC */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "albatross/log.h"

struct capture {
	pthread_mutex_t lock;
	unsigned n;
	enum alb_log_level last_level;
	char last[ALB_LOG_LINE_MAX + 16];
};

static void capture_fn(void *ctx, enum alb_log_level level, const char *line)
{
	struct capture *c = ctx;
	pthread_mutex_lock(&c->lock);
	c->n++;
	c->last_level = level;
	snprintf(c->last, sizeof(c->last), "%s", line);
	pthread_mutex_unlock(&c->lock);
}

static int teardown(void **state)
{
	(void)state;
	alb_log_set_handler(NULL, ALB_LOG_WARN, NULL);
	return 0;
}

static void test_handler_captures(void **state)
{
	(void)state;
	struct capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	assert_int_equal(alb_log_set_handler(capture_fn, ALB_LOG_INFO, &c), 0);
	assert_int_equal(alb_log_get_level(), ALB_LOG_INFO);
	alb_log_info("created %s (pid %d)", "hello", 42);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.last_level, ALB_LOG_INFO);
	assert_string_equal(c.last, "created hello (pid 42)");
	/* above the level: dropped before formatting */
	alb_log_debug("not this one");
	assert_int_equal(c.n, 1);
	alb_log_error("bad");
	assert_int_equal(c.n, 2);
	assert_int_equal(c.last_level, ALB_LOG_ERROR);
	/* the level set later applies to the handler too */
	assert_int_equal(alb_log_set_level(ALB_LOG_DEBUG), 0);
	alb_log_debug("now this one");
	assert_int_equal(c.n, 3);
	assert_string_equal(c.last, "now this one");
	/* back to stderr: the handler is not called any more */
	assert_int_equal(alb_log_set_handler(NULL, ALB_LOG_ERROR, &c), 0);
	alb_log_error("to stderr (expected in the test log)");
	assert_int_equal(c.n, 3);
}

static void test_level_bounds(void **state)
{
	(void)state;
	struct capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	assert_int_equal(alb_log_set_handler(capture_fn, ALB_LOG_WARN, &c), 0);
	/* the last level and one past it, and one below the first */
	assert_int_equal(alb_log_set_level(ALB_LOG_DEBUG), 0);
	assert_int_equal(alb_log_set_level((enum alb_log_level)(ALB_LOG_DEBUG + 1)),
			 ALB_EINVAL);
	assert_int_equal(alb_log_set_level((enum alb_log_level)-1), ALB_EINVAL);
	assert_int_equal(alb_log_get_level(), ALB_LOG_DEBUG);
	struct capture other = {.lock = PTHREAD_MUTEX_INITIALIZER};
	assert_int_equal(alb_log_set_handler(capture_fn,
					     (enum alb_log_level)(ALB_LOG_DEBUG + 1),
					     &other),
			 ALB_EINVAL);
	/* nothing changed: the first handler still gets the messages */
	alb_log_warn("still here");
	assert_int_equal(c.n, 1);
	assert_int_equal(other.n, 0);
	/* a message with a level out of range counts as debug: no
	 * out-of-bounds name, no crash */
	alb_log((enum alb_log_level)99, "odd level");
	assert_int_equal(c.n, 2);
	assert_int_equal(c.last_level, ALB_LOG_DEBUG);
	assert_int_equal(alb_log_set_level(ALB_LOG_WARN), 0);
	alb_log((enum alb_log_level)99, "odd level, dropped");
	alb_log((enum alb_log_level)-5, "negative level, dropped");
	assert_int_equal(c.n, 2);
}

static void test_long_line_cut(void **state)
{
	(void)state;
	struct capture c = {.lock = PTHREAD_MUTEX_INITIALIZER};
	assert_int_equal(alb_log_set_handler(capture_fn, ALB_LOG_WARN, &c), 0);
	static char big[ALB_LOG_LINE_MAX + 1];
	/* at the limit: ALB_LOG_LINE_MAX - 1 bytes pass whole */
	memset(big, 'a', ALB_LOG_LINE_MAX - 1);
	big[ALB_LOG_LINE_MAX - 1] = '\0';
	alb_log_warn("%s", big);
	assert_int_equal(strlen(c.last), ALB_LOG_LINE_MAX - 1);
	/* one past it: cut to the same length */
	memset(big, 'b', ALB_LOG_LINE_MAX);
	big[ALB_LOG_LINE_MAX] = '\0';
	alb_log_warn("%s", big);
	assert_int_equal(strlen(c.last), ALB_LOG_LINE_MAX - 1);
	assert_int_equal(c.last[0], 'b');
}

#define THREADS 4
#define PER_THREAD 2000

static void *logger_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++)
		alb_log_warn("message %d", i);
	return NULL;
}

/* Threads log while the handler goes back and forth between two
 * captures: every message reaches exactly one of them, and once
 * alb_log_set_handler() has returned the old one gets nothing more. */
static void test_threads_and_swaps(void **state)
{
	(void)state;
	struct capture a = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct capture b = {.lock = PTHREAD_MUTEX_INITIALIZER};
	assert_int_equal(alb_log_set_handler(capture_fn, ALB_LOG_WARN, &a), 0);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, logger_thread, NULL), 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(alb_log_set_handler(capture_fn, ALB_LOG_WARN,
						     i % 2 ? &a : &b),
				 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(a.n + b.n, THREADS * PER_THREAD);
	/* the last set handler is a (i = 199); b no longer gets anything */
	unsigned before = b.n;
	alb_log_warn("after");
	assert_int_equal(b.n, before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_handler_captures, teardown),
		cmocka_unit_test_teardown(test_level_bounds, teardown),
		cmocka_unit_test_teardown(test_long_line_cut, teardown),
		cmocka_unit_test_teardown(test_threads_and_swaps, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
