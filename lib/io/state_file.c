/* libalbatross — atomic persistence of the state file (spec §6.10, §12.4).
 * SPDX-License-Identifier: ISC
 *
 * A file is replaced by writing a temporary file beside it, fsync'ing it,
 * keeping the current file as the backup through a hard link renamed over
 * the old backup, renaming the temporary file over the target and
 * fsync'ing the directory. Every rename is atomic, so at any instant the
 * target holds the old or the new content, and the backup the previous
 * backup or the old content; Albatross instead renames the state away
 * before writing the new one, leaving no state at all after a crash in
 * between. All names are resolved relative to a descriptor of dbdir. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/internal.h"
#include "base/write_all.h"
#include "io/state_file.h"
#include "io_file.h"
#include "proto/state_codec.h"

/* Size of the buffer that copies a file. */
#define COPY_BUF_LEN 65536

#ifdef ALB_TEST_HOOKS
/* The fault-injection hook exists only in the variant of this file that
 * the tests link (io/meson.build, alb_io_hooks_dep): the shipped library
 * has neither the hook nor its state. */
static alb_state_hook_fn hook_fn;
static void *hook_ctx;

void alb_state_file_set_hook(alb_state_hook_fn fn, void *ctx)
{
	hook_fn = fn;
	hook_ctx = ctx;
}
#endif

/* One definition in both variants (the coverage of the two objects of this
 * file is merged function by function, by line). */
int alb_io_step(enum alb_state_step s, struct alb_error *err)
{
#ifdef ALB_TEST_HOOKS
	if (hook_fn != NULL && hook_fn(s, hook_ctx) != 0) {
		errno = EIO;
		return alb_fail_sys(err, "injected fault at step %d", (int)s);
	}
#else
	(void)s;
	(void)err;
#endif
	return 0;
}

int alb_io_open_dir(const char *dbdir, struct alb_error *err)
{
	int fd = open(dbdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return alb_fail(err, ALB_ENOENT, "%s: no such directory", dbdir);
		return alb_fail_sys(err, "open %s", dbdir);
	}
	return fd;
}

/* Removes a leftover of an earlier crash (a large one a step at a time);
 * its absence is the normal case. */
static int unlink_stale(int dirfd, const char *name,
			const struct alb_io_yield *y, struct alb_error *err)
{
	int e = alb_io_unlink_gradually(dirfd, name, y);
	if (e != 0 && e != ENOENT) {
		errno = e;
		return alb_fail_sys(err, "unlink %s", name);
	}
	return 0;
}

/* Fills the temporary file; returns 0 or an ALB_E* code. */
typedef int (*fill_fn)(int fd, void *ctx, struct alb_error *err);

struct replace {
	const char *name;    /* the target */
	const char *tmp;     /* its temporary file */
	const char *bak;     /* backup of the current target, or NULL */
	const char *bak_tmp; /* the backup's temporary link */
	fill_fn fill;
	void *fill_ctx;
	const struct alb_io_yield *y; /* given way to; NULL: none */
};

/* Renames from over to; what to named before (if nothing else names it)
 * is then freed a step at a time: the two names are exchanged, and from
 * unlinked with alb_io_unlink_gradually. On a filesystem that cannot
 * exchange, a plain rename. */
static int rename_over(int dirfd, const char *from, const char *to,
		       const struct alb_io_yield *y)
{
	if (renameat2(dirfd, from, dirfd, to, RENAME_EXCHANGE) != 0) {
		/* nothing to replace, or no exchange here */
		if ((errno != ENOENT && errno != EINVAL) ||
		    renameat(dirfd, from, dirfd, to) != 0)
			return -1;
	}
	/* After a crash between a backup's link and its rename, the target
	 * and the backup are one file, and the exchange leaves from naming
	 * it too: only the name goes (st_nlink is not 0). A name left behind
	 * is a leftover that the next replacement removes. */
	alb_io_unlink_gradually(dirfd, from, y);
	return 0;
}

/* Links the current target as the backup and exchanges the link with the
 * old backup, so that the backup is never missing once it existed; the
 * old backup, now under the temporary name, is freed a step at a time
 * (alb_io_unlink_gradually: all at once, freeing hundreds of MB holds up
 * the journal's fdatasync). No current target: nothing to keep. */
static int keep_backup(int dirfd, const struct replace *rp,
		       struct alb_error *err)
{
	int rc = unlink_stale(dirfd, rp->bak_tmp, rp->y, err);
	if (rc != 0)
		return rc;
	if (linkat(dirfd, rp->name, dirfd, rp->bak_tmp, 0) != 0) {
		if (errno == ENOENT)
			return 0;
		return alb_fail_sys(err, "link %s to %s", rp->name, rp->bak_tmp);
	}
	rc = alb_io_step(ALB_STATE_STEP_BAK_LINKED, err);
	if (rc == 0 && rename_over(dirfd, rp->bak_tmp, rp->bak, rp->y) != 0)
		rc = alb_fail_sys(err, "rename %s to %s", rp->bak_tmp, rp->bak);
	if (rc != 0) {
		/* the link to the current target goes */
		unlinkat(dirfd, rp->bak_tmp, 0);
		return rc;
	}
	return alb_io_step(ALB_STATE_STEP_BAK_REPLACED, err);
}

static int write_tmp(int dirfd, const struct replace *rp, struct alb_error *err)
{
	int fd = openat(dirfd, rp->tmp,
			O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return alb_fail_sys(err, "create %s", rp->tmp);
	int rc = alb_io_step(ALB_STATE_STEP_TMP_CREATED, err);
	/* Exactly 0600 whatever the umask: it holds every image and its
	 * arguments (Albatross's is 0644, readable by anyone). */
	if (rc == 0 && fchmod(fd, 0600) != 0)
		rc = alb_fail_sys(err, "chmod %s", rp->tmp);
	if (rc == 0)
		rc = rp->fill(fd, rp->fill_ctx, err);
	if (rc == 0)
		rc = alb_io_step(ALB_STATE_STEP_TMP_WRITTEN, err);
	if (rc == 0 && fsync(fd) != 0)
		rc = alb_fail_sys(err, "fsync %s", rp->tmp);
	/* close() can report a delayed write error (NFS). */
	if (close(fd) != 0 && rc == 0)
		rc = alb_fail_sys(err, "close %s", rp->tmp);
	if (rc == 0)
		rc = alb_io_step(ALB_STATE_STEP_TMP_SYNCED, err);
	return rc;
}

static int replace_file(const char *dbdir, const struct replace *rp,
			struct alb_error *err)
{
	int dirfd = alb_io_open_dir(dbdir, err);
	if (dirfd < 0)
		return dirfd;
	int rc = unlink_stale(dirfd, rp->tmp, rp->y, err);
	if (rc == 0) {
		rc = write_tmp(dirfd, rp, err);
		if (rc == 0 && rp->bak != NULL)
			rc = keep_backup(dirfd, rp, err);
		if (rc == 0 && rename_over(dirfd, rp->tmp, rp->name, rp->y) != 0)
			rc = alb_fail_sys(err, "rename %s to %s", rp->tmp, rp->name);
		if (rc != 0)
			unlinkat(dirfd, rp->tmp, 0);
	}
	if (rc == 0)
		rc = alb_io_step(ALB_STATE_STEP_RENAMED, err);
	/* The renames are durable only once the directory is. */
	if (rc == 0 && fsync(dirfd) != 0)
		rc = alb_fail_sys(err, "fsync %s", dbdir);
	if (rc == 0)
		rc = alb_io_step(ALB_STATE_STEP_DIR_SYNCED, err);
	close(dirfd);
	return rc;
}

struct iov_src {
	const struct iovec *iov;
	size_t n;
	const struct alb_io_yield *y;
};

static int fill_iov(int fd, void *ctx, struct alb_error *err)
{
	const struct iov_src *src = ctx;
	return alb_io_writev_all(fd, src->iov, src->n, ALB_STATE_WRITE_BEHIND,
				 src->y, err);
}

/* sync_file_range of [from, to) with flags (nothing when empty); 0, or -1
 * with errno (a filesystem without it is not an error). */
static int write_behind(int fd, uint64_t from, uint64_t to, unsigned flags)
{
	if (to == from ||
	    sync_file_range(fd, (off64_t)from, (off64_t)(to - from), flags) == 0)
		return 0;
	return errno == ENOSYS || errno == EINVAL ? 0 : -1;
}

int alb_io_writev_all(int fd, const struct iovec *iov, size_t n, size_t pace,
		      const struct alb_io_yield *y, struct alb_error *err)
{
	/* IOV_MAX pieces (and at most pace bytes) at a time, resuming after
	 * a short write */
	struct iovec batch[IOV_MAX];
	size_t i = 0, done = 0; /* bytes of iov[i] already written */
	/* [done_upto, started): the chunk on its way to the disk;
	 * [started, off): the one being written */
	uint64_t off = 0, started = 0, done_upto = 0;
	while (i < n) {
		int k = 0;
		size_t bytes = 0;
		for (size_t j = i; j < n && k < IOV_MAX; j++) {
			size_t skip = j == i ? done : 0;
			if (iov[j].iov_len == skip)
				continue;
			size_t len = iov[j].iov_len - skip;
			if (pace > 0 && len > pace - bytes)
				len = pace - bytes;
			batch[k].iov_base = (uint8_t *)iov[j].iov_base + skip;
			batch[k].iov_len = len;
			k++;
			bytes += len;
			if (pace > 0 && bytes == pace)
				break;
		}
		if (k == 0)
			break;
		if (off == started)
			alb_io_yield_wait(y);
		ssize_t w = writev(fd, batch, k);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return alb_fail_sys(err, "write");
		}
		/* advance over what was written */
		size_t left = (size_t)w;
		off += (uint64_t)w;
		while (i < n && left >= iov[i].iov_len - done) {
			left -= iov[i].iov_len - done;
			done = 0;
			i++;
		}
		done += left;
		/* write-behind: each chunk written starts on its way to the
		 * disk, and the one before it must be there: two chunks in
		 * flight at most, so that the final fsync (and whatever
		 * fdatasync another file does meanwhile on the same
		 * filesystem) waits for those, not for the whole file's dirty
		 * pages; the disk always has the next chunk queued */
		if (pace > 0 && off - started >= pace) {
			if (write_behind(fd, started, off, SYNC_FILE_RANGE_WRITE) != 0 ||
			    write_behind(fd, done_upto, started,
					 SYNC_FILE_RANGE_WAIT_BEFORE |
						 SYNC_FILE_RANGE_WRITE |
						 SYNC_FILE_RANGE_WAIT_AFTER) != 0)
				return alb_fail_sys(err, "sync_file_range");
			done_upto = started;
			started = off;
		}
	}
	return 0;
}

int alb_state_file_write_iov(const char *dbdir, const struct iovec *iov,
			     size_t n, const struct alb_io_yield *y,
			     struct alb_error *err)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		total += iov[i].iov_len;
		/* checked as it grows: the sum cannot wrap */
		int rc = alb_state_file_check_size(total, err);
		if (rc != 0)
			return rc;
	}
	struct iov_src src = {iov, n, y};
	const struct replace rp = {
		ALB_STATE_NAME, ALB_STATE_NAME ".tmp", ALB_STATE_BAK_NAME,
		ALB_STATE_BAK_NAME ".tmp", fill_iov, &src, y,
	};
	return replace_file(dbdir, &rp, err);
}

int alb_state_file_write_bytes(const char *dbdir, const uint8_t *buf,
			       size_t len, struct alb_error *err)
{
	struct iovec one = {(void *)buf, len};
	return alb_state_file_write_iov(dbdir, &one, 1, NULL, err);
}

int alb_state_write_file(const char *dbdir, const struct alb_state *s,
			 struct alb_error *err)
{
	struct alb_buf b = { 0 };
	int rc = alb_state_encode(s, &b, err);
	if (rc == 0)
		rc = alb_state_file_write_bytes(dbdir, b.data, b.len, err);
	alb_buf_free(&b);
	return rc;
}

/* Opens dbdir/name for reading and checks that it is a regular file;
 * returns the descriptor (and its size) or an ALB_E* code. */
static int open_regular(const char *dbdir, const char *name, uint64_t *size,
			struct alb_error *err)
{
	int dirfd = alb_io_open_dir(dbdir, err);
	if (dirfd < 0)
		return dirfd;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	struct stat st;
	if (fd < 0)
		rc = errno == ENOENT
			     ? alb_fail(err, ALB_ENOENT, "%s/%s: no such file", dbdir, name)
			     : alb_fail_sys(err, "open %s/%s", dbdir, name);
	else if (fstat(fd, &st) != 0)
		rc = alb_fail_sys(err, "stat %s/%s", dbdir, name);
	else if (!S_ISREG(st.st_mode))
		rc = alb_fail(err, ALB_EPARSE, "%s/%s: not a regular file", dbdir, name);
	close(dirfd);
	if (rc != 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int alb_state_file_open(const char *dbdir, const char *name, uint64_t *size,
			struct alb_error *err)
{
	int fd = open_regular(dbdir, name, size, err);
	if (fd < 0)
		return fd;
	int rc = alb_state_file_check_size(*size, err);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int alb_state_file_read_bytes(const char *dbdir, const char *name,
			      struct alb_buf *out, struct alb_error *err)
{
	uint64_t size;
	memset(out, 0, sizeof(*out));
	int fd = alb_state_file_open(dbdir, name, &size, err);
	if (fd < 0)
		return fd;
	int rc = 0;
	uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
	if (buf == NULL)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory for %llu bytes",
			      (unsigned long long)size);
	size_t got = 0;
	while (rc == 0 && got < size) {
		ssize_t n = read(fd, buf + got, (size_t)size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = alb_fail_sys(err, "read %s/%s", dbdir, name);
		else if (n == 0)
			rc = alb_fail(err, ALB_EPARSE, "%s/%s: shrank while being read",
				      dbdir, name);
		else
			got += (size_t)n;
	}
	close(fd);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	out->base_ = out->data = buf;
	out->len = out->cap_ = (size_t)size;
	return 0;
}

static int fill_copy(int fd, void *ctx, struct alb_error *err)
{
	int src = *(const int *)ctx;
	uint8_t *buf = malloc(COPY_BUF_LEN);
	if (buf == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	int rc = 0;
	for (;;) {
		ssize_t n = read(src, buf, COPY_BUF_LEN);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = alb_fail_sys(err, "read " ALB_STATE_NAME);
		if (n <= 0)
			break;
		if (alb_write_all(fd, buf, (size_t)n) != 0) {
			rc = alb_fail_sys(err, "write");
			break;
		}
	}
	free(buf);
	return rc;
}

int alb_state_copy_started(const char *dbdir, struct alb_error *err)
{
	uint64_t size;
	int src = open_regular(dbdir, ALB_STATE_NAME, &size, err);
	if (src < 0)
		return src;
	const struct replace rp = {
		ALB_STATE_STARTED_NAME, ALB_STATE_STARTED_NAME ".tmp", NULL, NULL,
		fill_copy, &src,
	};
	int rc = replace_file(dbdir, &rp, err);
	close(src);
	return rc;
}

int alb_state_read_file(const char *dbdir, struct alb_state **out,
			struct alb_error *err)
{
	struct alb_buf b;
	*out = NULL;
	int rc = alb_state_file_read_bytes(dbdir, ALB_STATE_NAME, &b, err);
	if (rc != 0)
		return rc;
	/* Decoded values are copied out of the file's bytes, which are
	 * freed here. */
	rc = alb_state_decode(b.data, b.len, 0, out, err);
	alb_buf_free(&b);
	return rc;
}
