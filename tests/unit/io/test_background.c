/* Unit tests: background file work (io/background.h): a large file freed a
 * step at a time, giving way between steps, and never a file that another
 * name still holds.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/background.h"

static char dir[256];
static int dirfd_ = -1;

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/alb-background-XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dirfd_ >= 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	const char *names[] = {"f", "g", "fifo"};
	for (size_t i = 0; i < 3; i++)
		unlinkat(dirfd_, names[i], 0);
	close(dirfd_);
	assert_int_equal(rmdir(dir), 0);
	return 0;
}

/* A file of len bytes named name, byte i being (uint8_t)(i * 7). */
static void make_file(const char *name, off_t len)
{
	int fd = openat(dirfd_, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	static uint8_t buf[65536];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	for (off_t at = 0; at < len;) {
		size_t n = len - at < (off_t)sizeof(buf) ? (size_t)(len - at) : sizeof(buf);
		assert_int_equal(write(fd, buf, n), (ssize_t)n);
		at += (off_t)n;
	}
	assert_int_equal(close(fd), 0);
}

static off_t size_of(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	return st.st_size;
}

/* Counts the questions; never busy. */
static bool count_busy(void *ctx)
{
	(*(unsigned *)ctx)++;
	return false;
}

/* One step more than ALB_IO_FREE_STEP's multiple: freed in steps from its
 * end, one question to y per step (the last piece goes with the close);
 * a file of one step exactly is left to the close. */
static void test_steps(void **state)
{
	(void)state;
	const off_t len = 3 * (off_t)ALB_IO_FREE_STEP + 1;
	make_file("f", len);
	int fd = openat(dirfd_, "f", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(unlinkat(dirfd_, "f", 0), 0);
	unsigned asked = 0;
	const struct alb_io_yield y = {count_busy, &asked};
	alb_io_free_gradually(fd, &y);
	assert_int_equal(asked, 3);
	assert_int_equal(size_of(fd), 1);
	close(fd);

	/* no busy(): in steps all the same, never waiting */
	make_file("f", len);
	fd = openat(dirfd_, "f", O_WRONLY | O_CLOEXEC);
	assert_int_equal(unlinkat(dirfd_, "f", 0), 0);
	const struct alb_io_yield steps = {NULL, NULL};
	alb_io_free_gradually(fd, &steps);
	assert_int_equal(size_of(fd), 1);
	close(fd);

	make_file("f", (off_t)ALB_IO_FREE_STEP);
	fd = openat(dirfd_, "f", O_WRONLY | O_CLOEXEC);
	assert_int_equal(unlinkat(dirfd_, "f", 0), 0);
	asked = 0;
	alb_io_free_gradually(fd, &y);
	assert_int_equal(asked, 0);
	assert_int_equal(size_of(fd), (off_t)ALB_IO_FREE_STEP);
	close(fd);
}

/* A file another name still holds (a backup linked to the state) keeps
 * every byte; so does one that still has its name; with nothing to give
 * way to (y NULL), a file is left whole to close(), which frees it at
 * once. */
static void test_linked_kept(void **state)
{
	(void)state;
	const off_t len = 2 * (off_t)ALB_IO_FREE_STEP + 5;
	unsigned asked = 0;
	const struct alb_io_yield y = {count_busy, &asked};
	make_file("f", len);
	assert_int_equal(linkat(dirfd_, "f", dirfd_, "g", 0), 0);
	assert_int_equal(alb_io_unlink_gradually(dirfd_, "g", &y), 0);
	assert_int_equal(asked, 0);
	int fd = openat(dirfd_, "f", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(size_of(fd), len);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, len - 1), 1);
	assert_int_equal(b, (uint8_t)((size_t)((len - 1) % 65536) * 7));
	close(fd);
	fd = openat(dirfd_, "f", O_WRONLY | O_CLOEXEC);
	alb_io_free_gradually(fd, &y); /* named: untouched */
	assert_int_equal(size_of(fd), len);
	assert_int_equal(unlinkat(dirfd_, "f", 0), 0);
	alb_io_free_gradually(fd, NULL); /* at once, by the close */
	assert_int_equal(size_of(fd), len);
	close(fd);
	assert_int_equal(asked, 0);
}

/* The name goes first; a missing name is its errno; a FIFO planted there
 * neither blocks nor is anything but unlinked. */
static void test_unlink(void **state)
{
	(void)state;
	unsigned asked = 0;
	const struct alb_io_yield y = {count_busy, &asked};
	make_file("f", 2 * (off_t)ALB_IO_FREE_STEP + 1);
	assert_int_equal(alb_io_unlink_gradually(dirfd_, "f", &y), 0);
	assert_int_equal(asked, 2);
	assert_int_equal(faccessat(dirfd_, "f", F_OK, 0), -1);
	assert_int_equal(alb_io_unlink_gradually(dirfd_, "f", NULL), ENOENT);
	assert_int_equal(mkfifoat(dirfd_, "fifo", 0600), 0);
	assert_int_equal(alb_io_unlink_gradually(dirfd_, "fifo", &y), 0);
	assert_int_equal(asked, 2);
	assert_int_equal(faccessat(dirfd_, "fifo", F_OK, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linked_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
