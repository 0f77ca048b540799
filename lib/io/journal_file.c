/* libalbatross — the journal's segments on disk (journal_file.h): listing,
 * creating, appending with fdatasync, replaying with torn-tail detection,
 * removing what a compaction covers. Names are resolved relative to a
 * descriptor of dbdir, never following a symbolic link.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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

/* A segment as a replay reads it: through its descriptor (pread: a file
 * that albd may shorten meanwhile, as a test's reader finds it) or as
 * bytes the caller mapped (fd < 0). */
struct seg_src {
	int fd;
	const uint8_t *bytes;
	uint64_t size;
};

/* The n bytes at off (off + n <= size) in *out: in the mapping, or read
 * into scratch (n bytes). ALB_EPARSE when the file is shorter now. */
static int seg_view(const struct seg_src *s, uint64_t off, size_t n,
		    uint8_t *scratch, const uint8_t **out, struct alb_error *err)
{
	*out = s->fd < 0 ? s->bytes + off : scratch;
	size_t got = 0;
	while (s->fd >= 0 && got < n) {
		ssize_t r = pread(s->fd, scratch + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return alb_fail_sys(err, "read");
		if (r == 0)
			return alb_fail(err, ALB_EPARSE, "file shrank while being read");
		got += (size_t)r;
	}
	return 0;
}

static bool all_zero(const struct seg_src *s, uint64_t off)
{
	uint8_t buf[4096];
	while (off < s->size) {
		size_t n = s->size - off < sizeof(buf) ? (size_t)(s->size - off)
						       : sizeof(buf);
		const uint8_t *p;
		if (seg_view(s, off, n, buf, &p, NULL) != 0)
			return false;
		for (size_t i = 0; i < n; i++)
			if (p[i] != 0)
				return false;
		off += n;
	}
	return true;
}

/* One record at off: 0 with *rec and *len (0 at the end; *owned to free()
 * when it was read), 1 when what is there is a torn tail (reason in err),
 * or an error. A record that fails its checks is torn when nothing but
 * zeros follows it: an interrupted append leaves no data after itself. */
static int next_record(const struct seg_src *s, uint64_t off,
		       const uint8_t **rec, uint8_t **owned, size_t *len,
		       struct alb_error *err)
{
	*rec = NULL;
	*owned = NULL;
	*len = 0;
	if (off == s->size)
		return 0;
	uint8_t scratch[ALB_JOURNAL_HEADER_MAX];
	size_t got = s->size - off < sizeof(scratch) ? (size_t)(s->size - off)
						       : sizeof(scratch);
	const uint8_t *hdr;
	int rc = seg_view(s, off, got, scratch, &hdr, err);
	if (rc != 0)
		return rc == ALB_EPARSE ? 1 : rc; /* shortened: a tail cut */
	size_t rl;
	rc = alb_journal_record_len(hdr, got, &rl, err);
	if (rc == ALB_EAGAIN) {
		alb_set_error(err, ALB_EPARSE, "%zu bytes, less than a header", got);
		return 1;
	}
	if (rc != 0) {
		/* an append that extended the file without its data */
		if (all_zero(s, off)) {
			alb_set_error(err, ALB_EPARSE, "zero bytes");
			return 1;
		}
		return rc;
	}
	if (rl > s->size - off) {
		alb_set_error(err, ALB_EPARSE, "record of %zu bytes, %" PRIu64
			      " in the file", rl, s->size - off);
		return 1;
	}
	if (s->fd >= 0 && (*owned = malloc(rl)) == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory for %zu bytes", rl);
	const uint8_t *r;
	rc = seg_view(s, off, rl, *owned, &r, err);
	/* the last record, or one followed by nothing but zeros (an append
	 * whose size reached the disk before all of its data): torn */
	if (rc == 0 && (rc = alb_journal_check(r, rl, err)) != 0 &&
	    all_zero(s, off + rl))
		rc = 1;
	if (rc != 0) {
		free(*owned);
		*owned = NULL;
		return rc;
	}
	*rec = r;
	*len = rl;
	return 0;
}

/* Replays s, segment id of dbdir. */
static int replay(const struct seg_src *s, const char *dbdir, uint64_t id,
		  alb_journal_fn fn, void *ctx,
		  struct alb_journal_replay_stats *st, struct alb_error *err)
{
	memset(st, 0, sizeof(*st));
	char what[PATH_MAX + SEG_NAME_BUF]; /* for messages */
	snprintf(what, sizeof(what), "%s/" ALB_JOURNAL_PREFIX "%" PRIu64, dbdir, id);
	uint64_t off = 0;
	int rc = 0;
	while (rc == 0) {
		const uint8_t *rec;
		uint8_t *owned;
		size_t len;
		struct alb_error e = {0};
		int r = next_record(s, off, &rec, &owned, &len, &e);
		if (r == 1) {
			alb_log_warn("journal: %s: ignoring the torn last record "
				     "at offset %" PRIu64 " (%s): an append that "
				     "did not complete, never acknowledged",
				     what, off, e.msg);
			st->torn = true;
			st->torn_at = off;
			break;
		}
		if (r != 0) {
			rc = alb_fail(err, r,
				      "%s: corrupt record at offset %" PRIu64
				      " of %" PRIu64 " bytes (%s), with data after "
				      "it where an interrupted append leaves none: "
				      "the state and the journal are kept as they are",
				      what, off, s->size, e.msg);
			break;
		}
		if (len == 0)
			break;
		struct alb_journal_change *c = NULL;
		/* a mapped segment's images stay where they are */
		r = alb_journal_decode(rec, len, s->fd < 0 ? ALB_DECODE_BORROW : 0,
				       &c, &e);
		free(owned);
		if (r != 0) {
			rc = alb_fail(err, r,
				      "%s: record at offset %" PRIu64 " does not "
				      "decode (%s): the state and the journal are "
				      "kept as they are", what, off, e.msg);
			break;
		}
		rc = fn(ctx, c, err);
		alb_journal_change_free(c);
		off += len;
		st->records++;
		st->bytes += len;
	}
	return rc;
}

int alb_journal_open(const char *dbdir, uint64_t id, uint64_t *size,
		     struct alb_error *err)
{
	char name[SEG_NAME_BUF];
	seg_name(id, name);
	int dirfd = alb_io_open_dir(dbdir, err);
	if (dirfd < 0)
		return dirfd;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	close(dirfd);
	if (fd < 0)
		return alb_fail_sys(err, "open %s/%s", dbdir, name);
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int rc = alb_fail_sys(err, "stat %s/%s", dbdir, name);
		close(fd);
		return rc;
	}
	*size = (uint64_t)sb.st_size;
	return fd;
}

int alb_journal_replay(const char *dbdir, uint64_t id, alb_journal_fn fn,
		       void *ctx, struct alb_journal_replay_stats *st,
		       struct alb_error *err)
{
	memset(st, 0, sizeof(*st));
	struct seg_src s = {0};
	s.fd = alb_journal_open(dbdir, id, &s.size, err);
	if (s.fd < 0)
		return s.fd;
	int rc = replay(&s, dbdir, id, fn, ctx, st, err);
	close(s.fd);
	return rc;
}

int alb_journal_replay_mapped(const char *dbdir, uint64_t id,
			      const uint8_t *bytes, uint64_t size,
			      alb_journal_fn fn, void *ctx,
			      struct alb_journal_replay_stats *st,
			      struct alb_error *err)
{
	struct seg_src s = {.fd = -1, .bytes = bytes, .size = size};
	return replay(&s, dbdir, id, fn, ctx, st, err);
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
