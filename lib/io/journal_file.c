/* libalbatross — the journal's segments on disk (journal_file.h): listing,
 * creating, appending with fdatasync, replaying with torn-tail detection,
 * removing what a compaction covers. Names are resolved relative to a
 * descriptor of dbdir, never following a symbolic link.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "albatross/log.h"
#include "base/internal.h"
#include "io/journal_file.h"
#include "io_file.h"

/* "journal." and up to 20 digits. */
#define SEG_NAME_BUF 32

static void seg_name(uint64_t id, char out[SEG_NAME_BUF])
{
	snprintf(out, SEG_NAME_BUF, ALB_JOURNAL_PREFIX "%" PRIu64, id);
}

/* The number of a segment's file name: true for "journal.<N>", N a
 * decimal without leading zeros from 1 to UINT64_MAX. */
static bool seg_id(const char *name, uint64_t *id)
{
	size_t pl = strlen(ALB_JOURNAL_PREFIX);
	if (strncmp(name, ALB_JOURNAL_PREFIX, pl) != 0)
		return false;
	const char *d = name + pl;
	if (*d < '1' || *d > '9')
		return false;
	uint64_t v = 0;
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return false;
		unsigned digit = (unsigned)(*d - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	*id = v;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int alb_journal_list(const char *dbdir, uint64_t **ids, size_t *n,
		     struct alb_error *err)
{
	*ids = NULL;
	*n = 0;
	int dirfd = alb_io_open_dir(dbdir, err);
	if (dirfd < 0)
		return dirfd;
	DIR *d = fdopendir(dirfd);
	if (d == NULL) {
		int rc = alb_fail_sys(err, "open %s", dbdir);
		close(dirfd);
		return rc;
	}
	uint64_t *v = NULL;
	size_t k = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		uint64_t id;
		if (strncmp(e->d_name, ALB_JOURNAL_PREFIX,
			    strlen(ALB_JOURNAL_PREFIX)) != 0)
			continue;
		struct stat st;
		if (!seg_id(e->d_name, &id))
			rc = alb_fail(err, ALB_EPARSE,
				      "%s/%s: not a journal segment name", dbdir,
				      e->d_name);
		else if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			rc = alb_fail_sys(err, "stat %s/%s", dbdir, e->d_name);
		else if (!S_ISREG(st.st_mode))
			rc = alb_fail(err, ALB_EPARSE, "%s/%s: not a regular file",
				      dbdir, e->d_name);
		else if (k == ALB_JOURNAL_SEGMENTS_MAX)
			rc = alb_fail(err, ALB_ETOOBIG,
				      "%s: more than %d journal segments", dbdir,
				      ALB_JOURNAL_SEGMENTS_MAX);
		if (rc != 0)
			break;
		if (!alb_grow((void **)&v, &cap, k + 1, sizeof(*v))) {
			rc = alb_fail(err, ALB_ENOMEM, "out of memory");
			break;
		}
		v[k++] = id;
	}
	if (rc == 0 && errno != 0)
		rc = alb_fail_sys(err, "read %s", dbdir);
	closedir(d); /* closes dirfd */
	if (rc != 0) {
		free(v);
		return rc;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_u64);
	*ids = v;
	*n = k;
	return 0;
}

int alb_journal_create(const char *dbdir, uint64_t id, struct alb_error *err)
{
	char name[SEG_NAME_BUF];
	seg_name(id, name);
	int dirfd = alb_io_open_dir(dbdir, err);
	if (dirfd < 0)
		return dirfd;
	int fd = openat(dirfd, name,
			O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC |
				O_NOFOLLOW,
			0600);
	int rc = 0;
	if (fd < 0)
		rc = errno == EEXIST
			     ? alb_fail(err, ALB_EEXIST, "%s/%s exists", dbdir, name)
			     : alb_fail_sys(err, "create %s/%s", dbdir, name);
	if (rc == 0)
		rc = alb_io_step(ALB_STATE_STEP_JOURNAL_CREATED, err);
	/* the records in it are durable only once its name is */
	if (rc == 0 && fsync(dirfd) != 0)
		rc = alb_fail_sys(err, "fsync %s", dbdir);
	if (rc != 0 && fd >= 0) {
		close(fd);
		unlinkat(dirfd, name, 0);
	}
	close(dirfd);
	return rc != 0 ? rc : fd;
}

int alb_journal_discard(const char *dbdir, uint64_t id, struct alb_error *err)
{
	char name[SEG_NAME_BUF];
	seg_name(id, name);
	int dirfd = alb_io_open_dir(dbdir, err);
	if (dirfd < 0)
		return dirfd;
	int rc = 0;
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		rc = alb_fail_sys(err, "unlink %s/%s", dbdir, name);
	close(dirfd);
	return rc;
}

int alb_journal_append(int fd, const struct iovec *iov, size_t n,
		       uint64_t *size, struct alb_error *err)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += iov[i].iov_len;
	int rc = alb_io_writev_all(fd, iov, n, 0, NULL, err);
	if (rc == 0)
		rc = alb_io_step(ALB_STATE_STEP_JOURNAL_WRITTEN, err);
	if (rc == 0 && fdatasync(fd) != 0)
		rc = alb_fail_sys(err, "fdatasync");
	if (rc == 0)
		rc = alb_io_step(ALB_STATE_STEP_JOURNAL_SYNCED, err);
	if (rc != 0) {
		/* a partial record would sit in front of the next one */
		if (ftruncate(fd, (off_t)*size) != 0)
			alb_log_warn("journal: cutting back to %" PRIu64
				     " bytes failed: %s", *size, strerror(errno));
		return rc;
	}
	*size += total;
	return 0;
}

/* Reads exactly len bytes at off, or fewer at the end of the file. */
static int read_at(int fd, uint8_t *buf, size_t len, uint64_t off,
		   size_t *got, struct alb_error *err)
{
	*got = 0;
	while (*got < len) {
		ssize_t r = pread(fd, buf + *got, len - *got, (off_t)(off + *got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return alb_fail_sys(err, "read");
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

static bool all_zero(int fd, uint64_t off, uint64_t end)
{
	uint8_t buf[4096];
	while (off < end) {
		size_t want = end - off < sizeof(buf) ? (size_t)(end - off)
						       : sizeof(buf);
		size_t got;
		if (read_at(fd, buf, want, off, &got, NULL) != 0 || got != want)
			return false;
		for (size_t i = 0; i < got; i++)
			if (buf[i] != 0)
				return false;
		off += got;
	}
	return true;
}

/* One record at off of a segment of fsize bytes: 0 with *len (0 at the
 * end), 1 when what is there is a torn tail (reason in err), or an error.
 * A record that fails its checks is torn when nothing but zeros follows
 * it: an interrupted append leaves no data after itself. */
static int next_record(int fd, uint64_t off, uint64_t fsize, uint8_t **rec,
		       size_t *len, struct alb_error *err)
{
	*rec = NULL;
	*len = 0;
	if (off == fsize)
		return 0;
	uint8_t hdr[ALB_JOURNAL_HEADER_MAX];
	size_t got;
	int rc = read_at(fd, hdr, sizeof(hdr), off, &got, err);
	if (rc != 0)
		return rc;
	size_t rl;
	rc = alb_journal_record_len(hdr, got, &rl, err);
	if (rc == ALB_EAGAIN) {
		alb_set_error(err, ALB_EPARSE, "%zu bytes, less than a header", got);
		return 1;
	}
	if (rc != 0) {
		/* an append that extended the file without its data */
		if (all_zero(fd, off, fsize)) {
			alb_set_error(err, ALB_EPARSE, "zero bytes");
			return 1;
		}
		return rc;
	}
	if (rl > fsize - off) {
		alb_set_error(err, ALB_EPARSE, "record of %zu bytes, %" PRIu64
			      " in the file", rl, fsize - off);
		return 1;
	}
	uint8_t *buf = malloc(rl);
	if (buf == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory for %zu bytes", rl);
	rc = read_at(fd, buf, rl, off, &got, err);
	if (rc == 0 && got != rl)
		rc = alb_fail(err, ALB_EPARSE, "file shrank while being read");
	/* the last record, or one followed by nothing but zeros (an append
	 * whose size reached the disk before all of its data): torn */
	if (rc == 0 && (rc = alb_journal_check(buf, rl, err)) != 0 &&
	    all_zero(fd, off + rl, fsize))
		rc = 1;
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*rec = buf;
	*len = rl;
	return 0;
}

int alb_journal_replay(const char *dbdir, uint64_t id, alb_journal_fn fn,
		       void *ctx, struct alb_journal_replay_stats *st,
		       struct alb_error *err)
{
	char name[SEG_NAME_BUF];
	seg_name(id, name);
	memset(st, 0, sizeof(*st));
	int dirfd = alb_io_open_dir(dbdir, err);
	if (dirfd < 0)
		return dirfd;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dirfd);
	if (fd < 0)
		return alb_fail_sys(err, "open %s/%s", dbdir, name);
	struct stat sb;
	int rc = 0;
	if (fstat(fd, &sb) != 0)
		rc = alb_fail_sys(err, "stat %s/%s", dbdir, name);
	uint64_t fsize = rc == 0 ? (uint64_t)sb.st_size : 0, off = 0;
	while (rc == 0) {
		uint8_t *rec;
		size_t len;
		struct alb_error e = {0};
		int r = next_record(fd, off, fsize, &rec, &len, &e);
		if (r == 1) {
			alb_log_warn("journal: %s/%s: ignoring the torn last record "
				     "at offset %" PRIu64 " (%s): an append that "
				     "did not complete, never acknowledged",
				     dbdir, name, off, e.msg);
			st->torn = true;
			st->torn_at = off;
			break;
		}
		if (r != 0) {
			rc = alb_fail(err, r,
				      "%s/%s: corrupt record at offset %" PRIu64
				      " of %" PRIu64 " bytes (%s), with data after "
				      "it where an interrupted append leaves none: "
				      "the state and the journal are kept as they are",
				      dbdir, name, off, fsize, e.msg);
			break;
		}
		if (len == 0)
			break;
		struct alb_journal_change *c = NULL;
		r = alb_journal_decode(rec, len, &c, &e);
		free(rec);
		if (r != 0) {
			rc = alb_fail(err, r,
				      "%s/%s: record at offset %" PRIu64 " does not "
				      "decode (%s): the state and the journal are "
				      "kept as they are", dbdir, name, off, e.msg);
			break;
		}
		rc = fn(ctx, c, err);
		alb_journal_change_free(c);
		off += len;
		st->records++;
		st->bytes += len;
	}
	close(fd);
	return rc;
}

int alb_journal_remove(const char *dbdir, uint64_t upto,
		       const struct alb_io_yield *y, struct alb_error *err)
{
	uint64_t *ids;
	size_t n;
	int rc = alb_journal_list(dbdir, &ids, &n, err);
	if (rc != 0)
		return rc;
	int dirfd = alb_io_open_dir(dbdir, err);
	if (dirfd < 0) {
		free(ids);
		return dirfd;
	}
	for (size_t i = 0; rc == 0 && i < n && ids[i] <= upto; i++) {
		char name[SEG_NAME_BUF];
		seg_name(ids[i], name);
		int e = alb_io_unlink_gradually(dirfd, name, y);
		if (e != 0 && e != ENOENT) {
			errno = e;
			rc = alb_fail_sys(err, "unlink %s/%s", dbdir, name);
		}
		if (rc == 0)
			rc = alb_io_step(ALB_STATE_STEP_JOURNAL_REMOVED, err);
	}
	if (rc == 0 && fsync(dirfd) != 0)
		rc = alb_fail_sys(err, "fsync %s", dbdir);
	close(dirfd);
	free(ids);
	return rc;
}
