/* libalbatross — framing (spec §2.1).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "albatross/frame.h"
#include "base/internal.h"
#include "base/nosigpipe.h"
#include "base/spare.h"

enum reader_state {
	ST_HEADER,  /* collecting the 4-byte length */
	ST_PAYLOAD, /* collecting `want` payload bytes */
	ST_DONE,    /* a complete frame waits to be taken */
	ST_BROKEN   /* an oversized length was announced: unusable */
};

struct alb_frame_reader {
	enum reader_state st;
	size_t max;
	uint8_t hdr[ALB_FRAME_HEADER_LEN];
	size_t hdr_got;
	size_t want; /* payload length announced by the header */
	size_t got;  /* payload bytes received so far */
	uint8_t *buf;
	size_t cap;
};

int alb_frame_header(uint8_t hdr[ALB_FRAME_HEADER_LEN], size_t len,
		     struct alb_error *err)
{
	if (len > ALB_FRAME_MAX_LIMIT)
		return alb_fail(err, ALB_ETOOBIG,
				"frame of %zu bytes exceeds the 32-bit length", len);
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	return 0;
}

static int check_max(size_t *max, struct alb_error *err)
{
	if (*max == 0)
		*max = ALB_FRAME_MAX_DEFAULT;
	if (*max > ALB_FRAME_MAX_LIMIT)
		return alb_fail(err, ALB_EINVAL,
				"frame maximum %zu exceeds %u bytes", *max,
				ALB_FRAME_MAX_LIMIT);
	return 0;
}

static void reader_init(struct alb_frame_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->st = ST_HEADER;
	r->max = max;
}

int alb_frame_reader_new(size_t max, struct alb_frame_reader **out,
			 struct alb_error *err)
{
	int rc = check_max(&max, err);
	if (rc != 0)
		return rc;
	struct alb_frame_reader *r = malloc(sizeof(*r));
	if (r == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	reader_init(r, max);
	*out = r;
	return 0;
}

void alb_frame_reader_free(struct alb_frame_reader *r)
{
	if (r == NULL)
		return;
	alb_spare_free(r->buf, r->cap);
	free(r);
}

int alb_frame_reader_set_max(struct alb_frame_reader *r, size_t max,
			     struct alb_error *err)
{
	int rc = check_max(&max, err);
	if (rc == 0)
		r->max = max;
	return rc;
}

size_t alb_frame_reader_max(const struct alb_frame_reader *r)
{
	return r->max;
}

bool alb_frame_reader_idle(const struct alb_frame_reader *r)
{
	return r->st == ST_DONE || (r->st == ST_HEADER && r->hdr_got == 0);
}

static void start_frame(struct alb_frame_reader *r)
{
	r->st = ST_HEADER;
	r->hdr_got = 0;
	r->want = 0;
	r->got = 0;
}

/* A payload buffer of at least this many bytes is aligned to it, and the
 * kernel is asked for huge pages for it: a large image then costs a few
 * page faults instead of one per 4 KiB page, as it arrives and again when
 * it is first read (on a virtual machine each is dear: a 4 MiB create
 * took 15 ms longer in 4 KiB pages; bench-albd --images). */
#define FRAME_HUGE_BYTES ALB_SPARE_ALIGN

/* Maps the pages of buf's bytes [from, to) now, with one system call,
 * instead of one page fault each as the bytes arrive. */
static void populate(uint8_t *buf, size_t from, size_t to)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)buf + from + page - 1) & ~(page - 1);
	uintptr_t b = ((uintptr_t)buf + to) & ~(page - 1);
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
}

/* A buffer of cap >= FRAME_HUGE_BYTES bytes holding the first got bytes
 * of old (of old_cap bytes, given up), or NULL (old kept). Its whole huge
 * pages are asked for as such; a tail shorter than one stays in small
 * pages, so that an image held in memory does not hold up to a huge page
 * more than its size. */
static uint8_t *huge_move(uint8_t *old, size_t old_cap, size_t got, size_t cap)
{
	void *p = NULL;
	if (posix_memalign(&p, FRAME_HUGE_BYTES, cap) != 0)
		return NULL;
	size_t whole = cap & ~(size_t)(FRAME_HUGE_BYTES - 1);
	(void)madvise(p, whole, MADV_HUGEPAGE);
	populate(p, 0, cap);
	memcpy(p, old, got);
	alb_spare_free(old, old_cap);
	return p;
}

/* Makes room for the next payload bytes. A frame of FRAME_HUGE_BYTES or
 * more arrives in the process's spare buffer when that is large enough
 * (base/spare.h): memory used before, whose pages are there. Otherwise the
 * buffer grows as bytes arrive, never to the announced length up front:
 * it starts at ALB_FRAME_BUF_MIN bytes (or the announced length if
 * smaller) and doubles each time it is full, up to the announced length;
 * from FRAME_HUGE_BYTES on, in huge pages. A peer that announces a large
 * frame and stalls costs what it sent, not what it announced. At the start
 * of a frame the previous buffer is kept only when it is not larger than
 * ALB_FRAME_BUF_MIN, so that one large frame does not pin its memory for
 * the reader's lifetime (it may become the spare). */
static int grow_payload_buffer(struct alb_frame_reader *r,
			       struct alb_error *err)
{
	if (r->got == 0 && r->buf != NULL && r->cap > ALB_FRAME_BUF_MIN) {
		alb_spare_free(r->buf, r->cap);
		r->buf = NULL;
		r->cap = 0;
	}
	if (r->got == 0 && r->cap < r->want && r->want >= FRAME_HUGE_BYTES) {
		size_t have;
		uint8_t *s = alb_spare_take(r->want, &have);
		if (s != NULL) {
			free(r->buf);
			r->buf = s;
			r->cap = have;
			return 0;
		}
	}
	if (r->buf != NULL && r->got < r->cap)
		return 0;
	size_t cap = r->cap < ALB_FRAME_BUF_MIN ? ALB_FRAME_BUF_MIN : r->cap * 2;
	if (cap > r->want)
		cap = r->want;
	if (r->buf != NULL && cap <= r->cap)
		return 0;
	uint8_t *b = cap >= FRAME_HUGE_BYTES
			     ? huge_move(r->buf, r->cap, r->got, cap)
			     : realloc(r->buf, cap);
	if (b == NULL)
		return alb_fail(err, ALB_ENOMEM,
				"out of memory for a frame of %zu bytes", r->want);
	if (cap < FRAME_HUGE_BYTES)
		populate(b, r->cap, cap);
	r->buf = b;
	r->cap = cap;
	return 0;
}

size_t alb_frame_reader_held(const struct alb_frame_reader *r)
{
	return r->cap;
}

int alb_frame_reader_space(struct alb_frame_reader *r, uint8_t **ptr,
			   size_t *len, struct alb_error *err)
{
	if (r->st == ST_BROKEN)
		return alb_fail(err, ALB_ETOOBIG,
				"frame reader unusable after an oversized frame");
	if (r->st == ST_DONE)
		start_frame(r);
	if (r->st == ST_HEADER) {
		*ptr = r->hdr + r->hdr_got;
		*len = ALB_FRAME_HEADER_LEN - r->hdr_got;
		return 0;
	}
	int rc = grow_payload_buffer(r, err);
	if (rc != 0)
		return rc;
	*ptr = r->buf + r->got;
	*len = (r->cap < r->want ? r->cap : r->want) - r->got;
	return 0;
}

/* The header is complete: decide between end of stream, refusal and a
 * payload to collect. Refusal happens here, before any allocation. */
static int header_done(struct alb_frame_reader *r, struct alb_error *err)
{
	uint32_t u = (uint32_t)r->hdr[0] << 24 | (uint32_t)r->hdr[1] << 16 |
		     (uint32_t)r->hdr[2] << 8 | (uint32_t)r->hdr[3];
	/* A signed length <= 0 (zero or top bit set) is the end-of-stream
	 * marker, exactly as Albatross reads it. */
	if (u == 0 || u > ALB_FRAME_MAX_LIMIT) {
		start_frame(r);
		return alb_fail(err, ALB_EEOF, "end of stream (length %d)",
				u == 0 ? 0 : (int)(int32_t)u);
	}
	if (u > r->max) {
		r->st = ST_BROKEN;
		return alb_fail(err, ALB_ETOOBIG,
				"frame of %u bytes exceeds the maximum of %zu bytes",
				u, r->max);
	}
	r->want = u;
	r->got = 0;
	r->st = ST_PAYLOAD;
	return ALB_EAGAIN;
}

int alb_frame_reader_advance(struct alb_frame_reader *r, size_t n,
			     struct alb_error *err)
{
	switch (r->st) {
	case ST_BROKEN:
		return alb_fail(err, ALB_ETOOBIG,
				"frame reader unusable after an oversized frame");
	case ST_DONE:
		return alb_fail(err, ALB_EINVAL,
				"advance without space: a frame is complete");
	case ST_HEADER:
		if (n > ALB_FRAME_HEADER_LEN - r->hdr_got)
			return alb_fail(err, ALB_EINVAL,
					"advance of %zu bytes past the space given", n);
		r->hdr_got += n;
		if (r->hdr_got < ALB_FRAME_HEADER_LEN)
			return ALB_EAGAIN;
		return header_done(r, err);
	case ST_PAYLOAD:
		/* The buffer exists only once space() was asked after the
		 * header; bytes reported before that went nowhere. */
		if (r->buf == NULL || n > (r->cap < r->want ? r->cap : r->want) - r->got)
			return alb_fail(err, ALB_EINVAL,
					"advance of %zu bytes past the space given", n);
		r->got += n;
		if (r->got < r->want)
			return ALB_EAGAIN;
		r->st = ST_DONE;
		return 0;
	}
	return alb_fail(err, ALB_EINVAL, "frame reader in an invalid state");
}

int alb_frame_reader_feed(struct alb_frame_reader *r, const uint8_t *data,
			  size_t len, size_t *used, struct alb_error *err)
{
	size_t off = 0;
	int rc = ALB_EAGAIN;
	if (used != NULL)
		*used = 0;
	if (r->st == ST_BROKEN)
		return alb_fail(err, ALB_ETOOBIG,
				"frame reader unusable after an oversized frame");
	if (r->st == ST_DONE)
		start_frame(r);
	while (off < len) {
		uint8_t *p;
		size_t room;
		rc = alb_frame_reader_space(r, &p, &room, err);
		if (rc != 0)
			break;
		size_t n = len - off < room ? len - off : room;
		memcpy(p, data + off, n);
		off += n;
		rc = alb_frame_reader_advance(r, n, err);
		if (rc != ALB_EAGAIN)
			break;
	}
	if (used != NULL)
		*used = off;
	return rc;
}

int alb_frame_reader_frame(const struct alb_frame_reader *r,
			   struct alb_bytes *out)
{
	if (r->st != ST_DONE)
		return ALB_EAGAIN;
	out->ptr = r->buf;
	out->len = r->want;
	return 0;
}

int alb_frame_reader_take(struct alb_frame_reader *r, struct alb_buf *out)
{
	if (r->st != ST_DONE)
		return ALB_EAGAIN;
	out->base_ = r->buf;
	out->data = r->buf;
	out->len = r->want;
	out->cap_ = r->cap;
	r->buf = NULL;
	r->cap = 0;
	start_frame(r);
	return 0;
}

int alb_frame_read_fd(int fd, size_t max, struct alb_buf *out,
		      struct alb_error *err)
{
	int rc = check_max(&max, err);
	if (rc != 0)
		return rc;
	struct alb_frame_reader r;
	reader_init(&r, max);
	for (;;) {
		uint8_t *p;
		size_t room;
		rc = alb_frame_reader_space(&r, &p, &room, err);
		if (rc != 0)
			break;
		ssize_t n = read(fd, p, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = alb_fail_sys(err, "read");
			break;
		}
		if (n == 0) {
			rc = alb_frame_reader_idle(&r)
				     ? alb_fail(err, ALB_EEOF, "connection closed")
				     : alb_fail(err, ALB_EPROTO,
						"connection closed in the middle of a frame");
			break;
		}
		rc = alb_frame_reader_advance(&r, (size_t)n, err);
		if (rc != ALB_EAGAIN)
			break;
	}
	if (rc == 0)
		alb_frame_reader_take(&r, out);
	alb_spare_free(r.buf, r.cap);
	return rc;
}

int alb_frame_write_fd(int fd, const uint8_t *data, size_t len,
		       struct alb_error *err)
{
	uint8_t hdr[ALB_FRAME_HEADER_LEN];
	int rc = alb_frame_header(hdr, len, err);
	if (rc != 0)
		return rc;
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)(uintptr_t)data, .iov_len = len },
	};
	struct iovec *v = iov;
	int cnt = len > 0 ? 2 : 1;
	while (cnt > 0) {
		ssize_t n = alb_writev_nosigpipe(fd, v, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return alb_fail_sys(err, "write");
		}
		size_t left = (size_t)n;
		while (cnt > 0 && left >= v->iov_len) {
			left -= v->iov_len;
			v++;
			cnt--;
		}
		if (cnt > 0) {
			v->iov_base = (uint8_t *)v->iov_base + left;
			v->iov_len -= left;
		}
	}
	return 0;
}
