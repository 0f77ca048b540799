/* libalbatross — writing a buffer whole to a descriptor (private to the
 * library).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_BASE_WRITE_ALL_H
#define ALB_BASE_WRITE_ALL_H

#include <stddef.h>

/** Writes p[0..len) whole to fd, resuming after EINTR and short writes:
 * 0, or -1 with errno set (EIO for a write that wrote nothing). */
int alb_write_all(int fd, const void *p, size_t len);

#endif
