/* libalbatross — writing a buffer whole to a descriptor (write_all.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <unistd.h>

#include "base/write_all.h"

int alb_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}
