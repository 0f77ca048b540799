/* libalbatross — data streams and zlib (spec §2.4, §5.6).
 * SPDX-License-Identifier: ISC */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "albatross/stream.h"
#include "base/internal.h"

/* zlib counts in uInt; larger inputs are given to it in pieces. */
#define ZLIB_PIECE_MAX ((size_t)1 << 30)

struct alb_stream_writer {
	int level;
	bool zinit;    /* zs is initialised */
	bool finished;
	int failed;    /* sticky error code, 0 while usable */
	alb_stream_emit_fn emit;
	void *ctx;
	z_stream zs;
	size_t out_len; /* bytes waiting in out */
	uint8_t *out;   /* ALB_STREAM_CHUNK_MAX bytes when compressing */
};

struct alb_stream_reader {
	bool compressed;
	bool zinit;
	bool ended;     /* the zlib stream reached its end */
	bool finished;
	int failed;
	uint64_t max_out;
	uint64_t total;
	alb_stream_emit_fn emit;
	void *ctx;
	z_stream zs;
	uint8_t *out; /* ALB_STREAM_CHUNK_MAX bytes when decompressing */
};

static int zlib_error(struct alb_error *err, int zr, const z_stream *zs)
{
	if (zr == Z_MEM_ERROR)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	if (zr == Z_NEED_DICT)
		return alb_fail(err, ALB_EPARSE,
				"zlib preset dictionary not supported");
	return alb_fail(err, ALB_EPARSE, "%s",
			zs->msg != NULL ? zs->msg : "corrupt zlib data");
}

/* ---- writer ------------------------------------------------------------ */

int alb_stream_writer_new(int level, alb_stream_emit_fn emit, void *ctx,
			  struct alb_stream_writer **out, struct alb_error *err)
{
	if (level != ALB_STREAM_RAW && (level < 0 || level > 9))
		return alb_fail(err, ALB_EINVAL,
				"compression level %d not in 0..9", level);
	struct alb_stream_writer *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	w->level = level;
	w->emit = emit;
	w->ctx = ctx;
	if (level != ALB_STREAM_RAW) {
		w->out = malloc(ALB_STREAM_CHUNK_MAX);
		/* Window 2^15 and the default memory level, as upstream's
		 * compressor; the zlib header carries the level. */
		if (w->out == NULL ||
		    deflateInit2(&w->zs, level, Z_DEFLATED, 15, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			alb_stream_writer_free(w);
			return alb_fail(err, ALB_ENOMEM, "out of memory");
		}
		w->zinit = true;
	}
	*out = w;
	return 0;
}

void alb_stream_writer_free(struct alb_stream_writer *w)
{
	if (w == NULL)
		return;
	if (w->zinit)
		deflateEnd(&w->zs);
	free(w->out);
	free(w);
}

static int writer_usable(const struct alb_stream_writer *w,
			 struct alb_error *err)
{
	if (w->failed != 0)
		return alb_fail(err, ALB_EINVAL, "stream writer failed before");
	if (w->finished)
		return alb_fail(err, ALB_EINVAL, "stream writer already finished");
	return 0;
}

static int writer_emit(struct alb_stream_writer *w, const uint8_t *p, size_t n,
		       struct alb_error *err)
{
	int rc = w->emit(w->ctx, p, n, err);
	if (rc != 0)
		w->failed = rc < 0 ? rc : ALB_EINVAL;
	return w->failed;
}

/* Runs deflate over in[0..len) with the given flush mode, emitting the
 * output buffer each time it is full; with Z_FINISH, until the trailer is
 * out, the last partial chunk included. */
static int deflate_run(struct alb_stream_writer *w, const uint8_t *in,
		       size_t len, int flush, struct alb_error *err)
{
	for (;;) {
		size_t piece = len < ZLIB_PIECE_MAX ? len : ZLIB_PIECE_MAX;
		int f = piece < len ? Z_NO_FLUSH : flush;
		w->zs.next_in = (Bytef *)(uintptr_t)in;
		w->zs.avail_in = (uInt)piece;
		int zr;
		do {
			w->zs.next_out = w->out + w->out_len;
			w->zs.avail_out = (uInt)(ALB_STREAM_CHUNK_MAX - w->out_len);
			zr = deflate(&w->zs, f);
			if (zr == Z_STREAM_ERROR) {
				w->failed = ALB_EINVAL;
				return alb_fail(err, ALB_EINVAL, "zlib stream error");
			}
			w->out_len = ALB_STREAM_CHUNK_MAX - w->zs.avail_out;
			bool last = f == Z_FINISH && zr == Z_STREAM_END;
			if (w->out_len == ALB_STREAM_CHUNK_MAX ||
			    (last && w->out_len > 0)) {
				int rc = writer_emit(w, w->out, w->out_len, err);
				if (rc != 0)
					return rc;
				w->out_len = 0;
			}
			/* Z_BUF_ERROR: no progress was possible, which only
			 * happens once the input is used up. */
		} while (zr != Z_BUF_ERROR &&
			 (w->zs.avail_in > 0 ||
			  (f == Z_FINISH && zr != Z_STREAM_END)));
		in += piece;
		len -= piece;
		if (len == 0)
			return 0;
	}
}

int alb_stream_writer_write(struct alb_stream_writer *w, const uint8_t *data,
			    size_t len, struct alb_error *err)
{
	int rc = writer_usable(w, err);
	if (rc != 0 || len == 0)
		return rc;
	if (w->zinit)
		return deflate_run(w, data, len, Z_NO_FLUSH, err);
	while (len > 0) {
		size_t n = len < ALB_STREAM_CHUNK_MAX ? len : ALB_STREAM_CHUNK_MAX;
		rc = writer_emit(w, data, n, err);
		if (rc != 0)
			return rc;
		data += n;
		len -= n;
	}
	return 0;
}

int alb_stream_writer_finish(struct alb_stream_writer *w, struct alb_error *err)
{
	int rc = writer_usable(w, err);
	if (rc != 0)
		return rc;
	if (w->zinit)
		rc = deflate_run(w, NULL, 0, Z_FINISH, err);
	if (rc == 0)
		w->finished = true;
	return rc;
}

/* ---- reader ------------------------------------------------------------ */

int alb_stream_reader_new(bool compressed, uint64_t max_out,
			  alb_stream_emit_fn emit, void *ctx,
			  struct alb_stream_reader **out, struct alb_error *err)
{
	struct alb_stream_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	r->compressed = compressed;
	r->max_out = max_out;
	r->emit = emit;
	r->ctx = ctx;
	if (compressed) {
		r->out = malloc(ALB_STREAM_CHUNK_MAX);
		/* windowBits 15: zlib format (RFC 1950) only, no gzip. */
		if (r->out == NULL || inflateInit2(&r->zs, 15) != Z_OK) {
			alb_stream_reader_free(r);
			return alb_fail(err, ALB_ENOMEM, "out of memory");
		}
		r->zinit = true;
	}
	*out = r;
	return 0;
}

void alb_stream_reader_free(struct alb_stream_reader *r)
{
	if (r == NULL)
		return;
	if (r->zinit)
		inflateEnd(&r->zs);
	free(r->out);
	free(r);
}

uint64_t alb_stream_reader_total(const struct alb_stream_reader *r)
{
	return r->total;
}

static int reader_fail(struct alb_stream_reader *r, int rc)
{
	r->failed = rc < 0 ? rc : ALB_EINVAL;
	return r->failed;
}

/* Checks the output limit before anything is handed on. */
static int reader_emit(struct alb_stream_reader *r, const uint8_t *p, size_t n,
		       struct alb_error *err)
{
	if (n > r->max_out - r->total)
		return reader_fail(r, alb_fail(err, ALB_ETOOBIG,
					       "decompressed data exceeds %llu bytes",
					       (unsigned long long)r->max_out));
	r->total += n;
	int rc = r->emit(r->ctx, p, n, err);
	return rc != 0 ? reader_fail(r, rc) : 0;
}

static int inflate_run(struct alb_stream_reader *r, const uint8_t *in,
		       size_t len, struct alb_error *err)
{
	while (len > 0) {
		if (r->ended)
			return reader_fail(r, alb_fail(err, ALB_EPARSE,
						       "data after the end of the zlib stream"));
		size_t piece = len < ZLIB_PIECE_MAX ? len : ZLIB_PIECE_MAX;
		r->zs.next_in = (Bytef *)(uintptr_t)in;
		r->zs.avail_in = (uInt)piece;
		/* Keep going while input remains or the output buffer came
		 * back full (inflate may hold more output). */
		do {
			r->zs.next_out = r->out;
			r->zs.avail_out = ALB_STREAM_CHUNK_MAX;
			int zr = inflate(&r->zs, Z_NO_FLUSH);
			size_t got = ALB_STREAM_CHUNK_MAX - r->zs.avail_out;
			if (zr == Z_STREAM_END)
				r->ended = true;
			else if (zr != Z_OK && zr != Z_BUF_ERROR)
				return reader_fail(r, zlib_error(err, zr, &r->zs));
			if (got > 0) {
				int rc = reader_emit(r, r->out, got, err);
				if (rc != 0)
					return rc;
			}
			if (zr == Z_BUF_ERROR && got == 0)
				break;
		} while (!r->ended && (r->zs.avail_in > 0 || r->zs.avail_out == 0));
		size_t used = piece - r->zs.avail_in;
		/* zlib guarantees progress while it has input and room for
		 * output; never spin if it did not. */
		if (used == 0 && !r->ended)
			return reader_fail(r, alb_fail(err, ALB_EPARSE,
						       "corrupt zlib data"));
		in += used;
		len -= used;
		if (r->ended && len > 0)
			return reader_fail(r, alb_fail(err, ALB_EPARSE,
						       "data after the end of the zlib stream"));
	}
	return 0;
}

int alb_stream_reader_write(struct alb_stream_reader *r, const uint8_t *chunk,
			    size_t len, struct alb_error *err)
{
	if (r->failed != 0)
		return alb_fail(err, ALB_EINVAL, "stream reader failed before");
	if (r->finished)
		return alb_fail(err, ALB_EINVAL, "stream reader already finished");
	if (len == 0)
		return 0;
	if (r->compressed)
		return inflate_run(r, chunk, len, err);
	return reader_emit(r, chunk, len, err);
}

int alb_stream_reader_finish(struct alb_stream_reader *r, struct alb_error *err)
{
	if (r->failed != 0)
		return alb_fail(err, ALB_EINVAL, "stream reader failed before");
	if (r->compressed && !r->ended)
		return reader_fail(r, alb_fail(err, ALB_EPARSE,
					       "truncated zlib stream"));
	r->finished = true;
	return 0;
}

/* ---- one-shot helpers -------------------------------------------------- */

struct sink {
	struct alb_buf *buf;
	size_t limit; /* the buffer never grows past this */
};

/* Appends to the sink's buffer, doubling its capacity up to the limit. */
static int sink_append(void *ctx, const uint8_t *p, size_t n,
		       struct alb_error *err)
{
	struct sink *s = ctx;
	struct alb_buf *b = s->buf;
	if (n > s->limit - b->len)
		return alb_fail(err, ALB_ETOOBIG, "output exceeds %zu bytes",
				s->limit);
	if (n > b->cap_ - b->len) {
		size_t cap = b->cap_ > 0 ? b->cap_ : 4096;
		while (cap - b->len < n)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (cap > s->limit)
			cap = s->limit;
		uint8_t *nb = realloc(b->base_, cap);
		if (nb == NULL)
			return alb_fail(err, ALB_ENOMEM, "out of memory");
		b->base_ = b->data = nb;
		b->cap_ = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int alb_zlib_inflate(const uint8_t *in, size_t len, size_t max_out,
		     struct alb_buf *out, struct alb_error *err)
{
	struct sink s = { out, max_out };
	struct alb_stream_reader *r;
	memset(out, 0, sizeof(*out));
	int rc = alb_stream_reader_new(true, max_out, sink_append, &s, &r, err);
	if (rc != 0)
		return rc;
	rc = alb_stream_reader_write(r, in, len, err);
	if (rc == 0)
		rc = alb_stream_reader_finish(r, err);
	alb_stream_reader_free(r);
	if (rc != 0)
		alb_buf_free(out);
	return rc;
}

int alb_zlib_deflate(const uint8_t *in, size_t len, int level,
		     struct alb_buf *out, struct alb_error *err)
{
	if (level < 0 || level > 9)
		return alb_fail(err, ALB_EINVAL,
				"compression level %d not in 0..9", level);
	struct sink s = { out, SIZE_MAX };
	struct alb_stream_writer *w;
	memset(out, 0, sizeof(*out));
	int rc = alb_stream_writer_new(level, sink_append, &s, &w, err);
	if (rc != 0)
		return rc;
	rc = alb_stream_writer_write(w, in, len, err);
	if (rc == 0)
		rc = alb_stream_writer_finish(w, err);
	alb_stream_writer_free(w);
	if (rc != 0)
		alb_buf_free(out);
	return rc;
}
