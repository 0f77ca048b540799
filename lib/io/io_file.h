/* libalbatross — io's private file helpers, shared by the state file
 * (state_file.c) and the journal (journal_file.c).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_IO_FILE_H
#define ALB_IO_FILE_H

#include <sys/uio.h>

#include "io/state_file.h"

/** Calls the test hook (alb_state_file_set_hook) at step s: 0, or an
 * injected failure (ALB_ESYS, errno EIO) with its message in err. */
int alb_io_step(enum alb_state_step s, struct alb_error *err);

/** Opens the directory dbdir (O_DIRECTORY): its descriptor, or ALB_ENOENT
 * when missing, ALB_ESYS. */
int alb_io_open_dir(const char *dbdir, struct alb_error *err);

/** Bytes of a state file written between two write-behind flushes
 * (sync_file_range): a compaction of a large state keeps at most this
 * much unwritten, so the journal's fdatasync beside it is not held up by
 * hundreds of MB of the state file's pages. */
#define ALB_STATE_WRITE_BEHIND (8u * 1024u * 1024u)

/** Writes iov[0..n) whole with writev (IOV_MAX pieces at a time, resuming
 * after a short write or EINTR); with pace > 0, at most pace bytes per
 * writev and each pace bytes written are flushed to the disk before going
 * on. 0 or ALB_ESYS ("write: <errno>"). */
int alb_io_writev_all(int fd, const struct iovec *iov, size_t n, size_t pace,
		      struct alb_error *err);

#endif
