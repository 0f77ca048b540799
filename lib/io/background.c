/* libalbatross — background file work that gives way to foreground
 * writes (io/background.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/background.h"

void alb_io_yield_wait(const struct alb_io_yield *y)
{
	if (y == NULL || y->busy == NULL)
		return;
	const struct timespec poll = {0, ALB_IO_YIELD_POLL_US * 1000L};
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (y->busy(y->ctx)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t waited_ms = (int64_t)(now.tv_sec - t0.tv_sec) * 1000 +
				    (now.tv_nsec - t0.tv_nsec) / 1000000;
		if (waited_ms >= ALB_IO_YIELD_MAX_MS)
			return;
		nanosleep(&poll, NULL);
	}
}

void alb_io_free_gradually(int fd, const struct alb_io_yield *y)
{
	struct stat st;
	if (y == NULL || fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 0)
		return;
	for (off_t size = st.st_size; size > (off_t)ALB_IO_FREE_STEP;) {
		size -= (off_t)ALB_IO_FREE_STEP;
		if (ftruncate(fd, size) != 0 || fdatasync(fd) != 0)
			return;
		alb_io_yield_wait(y);
	}
}

int alb_io_unlink_gradually(int dirfd, const char *name,
			    const struct alb_io_yield *y)
{
	/* O_NONBLOCK: a FIFO planted there does not block us; not writable
	 * (a file of another owner): unlinked as it is */
	int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int e = unlinkat(dirfd, name, 0) == 0 ? 0 : errno;
	if (fd >= 0) {
		if (e == 0)
			alb_io_free_gradually(fd, y);
		close(fd);
	}
	return e;
}
