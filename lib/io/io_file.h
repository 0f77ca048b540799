/* libalbatross — io's private file helpers, shared by the state file
 * (state_file.c) and the journal (journal_file.c).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_IO_FILE_H
#define ALB_IO_FILE_H

#include <sys/uio.h>

#include "io/state_file.h"

/** Opens the directory dbdir (O_DIRECTORY): its descriptor, or ALB_ENOENT
 * when missing, ALB_ESYS. */
int alb_io_open_dir(const char *dbdir, struct alb_error *err);

/** Writes iov[0..n) whole with writev (IOV_MAX pieces at a time, resuming
 * after a short write or EINTR); with pace > 0, at most pace bytes per
 * writev, each pace bytes written sent to the disk at once (two such
 * chunks on their way at most), giving way to y (may be NULL) before each
 * chunk. 0 or ALB_ESYS ("write: <errno>"). */
int alb_io_writev_all(int fd, const struct iovec *iov, size_t n, size_t pace,
		      const struct alb_io_yield *y, struct alb_error *err);

#endif
