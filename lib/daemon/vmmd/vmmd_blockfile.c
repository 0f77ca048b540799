/* libalbatross — vmmd: a block device file is replaced, never damaged.
 * New contents go to #<name> in the block directory (O_EXCL, O_NOFOLLOW,
 * 0600, relative to the directory's descriptor; '#' is in no name), and
 * only a complete, valid write is sized, fsynced and renamed over <name>
 * (or, for a new device, linked where no file is: RENAME_NOREPLACE), the
 * directory fsynced after. Anything less — data larger than the device, a
 * broken compressed stream, a client gone, a full disk, a crash — leaves
 * the previous file exactly as it was; a crash leaves at most #<name>,
 * which the next start removes (blocks_discover()).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/write_all.h"
#include "vmmd_internal.h"

int blockfile_begin(struct blockfile *b, int dirfd, const char *name,
		    struct alb_error *err)
{
	memset(b, 0, sizeof(*b));
	b->dirfd = dirfd;
	b->fd = -1;
	if (snprintf(b->name, sizeof(b->name), "%s", name) >= (int)sizeof(b->name))
		return alb_fail(err, ALB_ETOOBIG, "block device name too long");
	snprintf(b->tmp, sizeof(b->tmp), "#%s", name);
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	b->fd = openat(dirfd, b->tmp, flags, 0600);
	if (b->fd < 0 && errno == EEXIST) {
		/* a write that a crash interrupted (a device is written by
		 * one command at a time: it is marked active meanwhile) */
		unlinkat(dirfd, b->tmp, 0);
		b->fd = openat(dirfd, b->tmp, flags, 0600);
	}
	if (b->fd < 0)
		return alb_fail_sys(err, "error opening block device");
	return 0;
}

int blockfile_write(struct blockfile *b, const uint8_t *p, size_t len,
		    struct alb_error *err)
{
	if (alb_write_all(b->fd, p, len) != 0)
		return alb_fail_sys(err, "error writing to file descriptor");
	b->written += len;
	return 0;
}

int blockfile_commit(struct blockfile *b, uint64_t bytes, bool replace,
		     struct alb_error *err)
{
	int rc = 0;
	if (b->written > bytes)
		rc = alb_fail(err, ALB_ETOOBIG, "data exceeds block size");
	else if (ftruncate(b->fd, (off_t)bytes) != 0 || fsync(b->fd) != 0)
		rc = alb_fail_sys(err, "error writing to file descriptor");
	if (rc == 0 && close(b->fd) != 0)
		rc = alb_fail_sys(err, "error writing to file descriptor");
	b->fd = -1;
	if (rc == 0 && renameat2(b->dirfd, b->tmp, b->dirfd, b->name,
				 replace ? 0 : RENAME_NOREPLACE) != 0) {
		rc = errno == EEXIST ? alb_fail(err, ALB_EEXIST, "file already exists")
				     : alb_fail_sys(err, "error renaming block device");
	}
	if (rc != 0) {
		blockfile_abort(b);
		return rc;
	}
	b->tmp[0] = '\0'; /* it is the device now */
	if (fsync(b->dirfd) != 0)
		return alb_fail_sys(err, "error syncing the block directory");
	return 0;
}

void blockfile_abort(struct blockfile *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	if (b->tmp[0] != '\0' && unlinkat(b->dirfd, b->tmp, 0) != 0 &&
	    errno != ENOENT)
		alb_log_warn("vmmd: removing the unfinished block device %s: %s",
			     b->tmp, strerror(errno));
	b->tmp[0] = '\0';
}

int blockfile_remove(int dirfd, const char *name, struct alb_error *err)
{
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		return alb_fail_sys(err, "file %s error in unlink", name);
	if (fsync(dirfd) != 0)
		return alb_fail_sys(err, "error syncing the block directory");
	return 0;
}
