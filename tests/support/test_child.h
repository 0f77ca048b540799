/* Test helper: how a forked child of a test ends.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_CHILD_H
#define ALB_TEST_CHILD_H

#include <unistd.h>

/* gcov's counter dump, present only in a coverage build (-Db_coverage). */
extern void __gcov_dump(void) __attribute__((weak));

/* Ends a forked child with code. exit() would run the parent's atexit
 * handlers and flush the stdio buffers it inherited a second time; a bare
 * _exit() would drop what the child ran from the coverage data. This
 * writes the coverage counters first (in a coverage build), then _exits. */
static inline _Noreturn void test_child_exit(int code)
{
	if (__gcov_dump != NULL)
		__gcov_dump();
	_exit(code);
}

#endif
