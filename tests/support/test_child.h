/* Test helper: how a forked child of a test ends.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_CHILD_H
#define ALB_TEST_CHILD_H

#include <unistd.h>

#ifdef ALB_TEST_COVERAGE
/* gcov's counter dump (libgcov), linked in a coverage build
 * (-Db_coverage=true defines ALB_TEST_COVERAGE for the tests). */
void __gcov_dump(void);
#endif

/* Ends a forked child with code. exit() would run the parent's atexit
 * handlers and flush the stdio buffers it inherited a second time; a bare
 * _exit() would drop what the child ran from the coverage data. This
 * writes the coverage counters first (in a coverage build), then _exits. */
static inline _Noreturn void test_child_exit(int code)
{
#ifdef ALB_TEST_COVERAGE
	__gcov_dump();
#endif
	_exit(code);
}

#endif
