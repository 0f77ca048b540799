/* libFuzzer target: the incremental frame reader (frame.h) and the data
 * stream reader with its zlib decompressor (stream.h), fed in random
 * splits.
 *
 * Input: byte 0 holds options (OPT_*), bytes 1..4 seed the splits, the
 * rest is what a peer sends. Properties: the frames, end markers and
 * errors the reader reports do not depend on how the bytes are split or
 * on which of its two interfaces (feed, or space + advance) is used; the
 * frames up to the first end marker, read as a data stream in random
 * pieces, give the same result as the whole stream at once (one-shot
 * alb_zlib_inflate when compressed); every frame's payload decodes as a
 * wire message or fails cleanly.
 * SPDX-License-Identifier: ISC */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/frame.h"
#include "albatross/stream.h"
#include "albatross/wire.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPT_COMPRESSED 0x01u /* the data stream is zlib */
#define OPT_SPACE_API 0x02u  /* the split reader uses space + advance */
#define OPT_MAX_SHIFT 2      /* bits 2-3 pick the frame maximum */
#define PREFIX_LEN 5
/* Frame maxima to pick from; 0 is ALB_FRAME_MAX_DEFAULT. */
static const size_t frame_max[] = {64, 4096, 65536, 0};
/* Most bytes a data stream may decompress to. */
#define STREAM_MAX_OUT (1u << 20)

/* ---- a growable byte log ------------------------------------------------ */

struct log {
	uint8_t *p;
	size_t len, cap;
};

static void log_put(struct log *l, const void *p, size_t n)
{
	if (n > l->cap - l->len) {
		size_t cap = l->cap ? l->cap : 256;
		while (cap - l->len < n)
			cap *= 2;
		l->p = realloc(l->p, cap);
		FUZZ_ASSERT(l->p != NULL);
		l->cap = cap;
	}
	if (n > 0)
		memcpy(l->p + l->len, p, n);
	l->len += n;
}

static bool log_same(const struct log *a, const struct log *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* ---- random splits (xorshift32) ------------------------------------------ */

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	uint32_t x = rnd_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rnd_state = x;
}

/* A piece length: often 1 byte, often a few, sometimes large. */
static size_t piece(size_t left)
{
	uint32_t r = rnd();
	size_t n = (r & 3) == 0 ? 1 : (r & 3) == 1 ? 1 + (r >> 8) % 8 : 1 + (r >> 8) % 5000;
	return n < left ? n : left;
}

/* ---- frames ------------------------------------------------------------------ */

enum ev { EV_FRAME = 'F', EV_EOF = 'E', EV_TOOBIG = 'T', EV_IDLE = 'I', EV_BUSY = 'B' };

/* Records one result of the reader; false when reading must stop. */
static bool record(struct alb_frame_reader *r, int rc, bool take, struct log *ev,
		   struct log *frames)
{
	uint8_t e;
	if (rc == ALB_EAGAIN)
		return true;
	if (rc == ALB_EEOF) {
		e = EV_EOF;
		log_put(ev, &e, 1);
		return true;
	}
	if (rc == ALB_ETOOBIG) {
		e = EV_TOOBIG;
		log_put(ev, &e, 1);
		return false;
	}
	FUZZ_ASSERT(rc == 0);
	struct alb_bytes f;
	struct alb_buf owned = {0};
	if (take) {
		FUZZ_ASSERT(alb_frame_reader_take(r, &owned) == 0);
		f = (struct alb_bytes){owned.data, owned.len};
		FUZZ_ASSERT(alb_frame_reader_frame(r, &f) == ALB_EAGAIN);
		f = (struct alb_bytes){owned.data, owned.len};
	} else {
		FUZZ_ASSERT(alb_frame_reader_frame(r, &f) == 0);
	}
	uint32_t n = (uint32_t)f.len;
	e = EV_FRAME;
	log_put(ev, &e, 1);
	log_put(ev, &n, sizeof(n));
	log_put(ev, f.ptr, f.len);
	if (frames != NULL) {
		log_put(frames, &n, sizeof(n));
		log_put(frames, f.ptr, f.len);
	}
	alb_buf_free(&owned);
	return true;
}

static void record_end(const struct alb_frame_reader *r, struct log *ev)
{
	uint8_t e = alb_frame_reader_idle(r) ? EV_IDLE : EV_BUSY;
	log_put(ev, &e, 1);
}

/* The reference: every byte offered at once to alb_frame_reader_feed. */
static void read_whole(const uint8_t *in, size_t n, size_t max, struct log *ev,
		       struct log *frames)
{
	struct alb_frame_reader *r;
	FUZZ_ASSERT(alb_frame_reader_new(max, &r, NULL) == 0);
	size_t off = 0;
	while (off < n) {
		size_t used = 0;
		int rc = alb_frame_reader_feed(r, in + off, n - off, &used, NULL);
		FUZZ_ASSERT(used <= n - off);
		off += used;
		FUZZ_ASSERT(rc != ALB_EAGAIN || off == n);
		if (!record(r, rc, false, ev, frames))
			break;
	}
	record_end(r, ev);
	alb_frame_reader_free(r);
}

/* The same bytes in random pieces, through feed or through space and
 * advance, taking some frames and borrowing others. */
static void read_split(const uint8_t *in, size_t n, size_t max, bool space_api,
		       struct log *ev)
{
	struct alb_frame_reader *r;
	FUZZ_ASSERT(alb_frame_reader_new(0, &r, NULL) == 0);
	FUZZ_ASSERT(alb_frame_reader_set_max(r, max, NULL) == 0);
	FUZZ_ASSERT(alb_frame_reader_max(r) == (max ? max : ALB_FRAME_MAX_DEFAULT));
	size_t off = 0;
	bool go = true;
	while (go && off < n) {
		size_t k = piece(n - off);
		int rc;
		if (space_api) {
			uint8_t *p;
			size_t room;
			rc = alb_frame_reader_space(r, &p, &room, NULL);
			FUZZ_ASSERT(rc == 0);
			FUZZ_ASSERT(room > 0);
			if (k > room)
				k = room;
			memcpy(p, in + off, k);
			off += k;
			rc = alb_frame_reader_advance(r, k, NULL);
		} else {
			size_t used = 0;
			rc = alb_frame_reader_feed(r, in + off, k, &used, NULL);
			FUZZ_ASSERT(used <= k);
			FUZZ_ASSERT(rc != ALB_EAGAIN || used == k);
			off += used;
		}
		go = record(r, rc, (rnd() & 1) != 0, ev, NULL);
	}
	record_end(r, ev);
	alb_frame_reader_free(r);
}

/* ---- the data stream ------------------------------------------------------------ */

static int sink(void *ctx, const uint8_t *p, size_t n, struct alb_error *err)
{
	(void)err;
	FUZZ_ASSERT(n > 0 && n <= ALB_STREAM_CHUNK_MAX);
	log_put(ctx, p, n);
	return 0;
}

/* Reads the chunks in frames (length-prefixed, as logged) as one data
 * stream, each chunk cut again at random. */
static int stream_split(const struct log *frames, bool compressed, struct log *out)
{
	struct alb_stream_reader *r;
	FUZZ_ASSERT(alb_stream_reader_new(compressed, STREAM_MAX_OUT, sink, out, &r,
					  NULL) == 0);
	int rc = 0;
	for (size_t off = 0; rc == 0 && off < frames->len;) {
		uint32_t n;
		memcpy(&n, frames->p + off, sizeof(n));
		off += sizeof(n);
		const uint8_t *chunk = frames->p + off;
		off += n;
		for (size_t c = 0; rc == 0 && c < n;) {
			size_t k = piece(n - c);
			rc = alb_stream_reader_write(r, chunk + c, k, NULL);
			c += k;
		}
	}
	if (rc == 0)
		rc = alb_stream_reader_finish(r, NULL);
	else
		FUZZ_ASSERT(alb_stream_reader_write(r, frames->p, 1, NULL) == ALB_EINVAL);
	FUZZ_ASSERT(alb_stream_reader_total(r) == out->len);
	FUZZ_ASSERT(out->len <= STREAM_MAX_OUT);
	alb_stream_reader_free(r);
	return rc;
}

static void check_stream(const struct log *frames, bool compressed)
{
	/* the whole stream in one piece */
	struct log whole = {0};
	for (size_t off = 0; off < frames->len;) {
		uint32_t n;
		memcpy(&n, frames->p + off, sizeof(n));
		off += sizeof(n);
		log_put(&whole, frames->p + off, n);
		off += n;
	}
	struct log out = {0};
	int rc = stream_split(frames, compressed, &out);
	FUZZ_ASSERT(rc == 0 || rc == ALB_EPARSE || rc == ALB_ETOOBIG);
	if (compressed) {
		struct alb_buf ref = {0};
		int rrc = alb_zlib_inflate(whole.p, whole.len, STREAM_MAX_OUT, &ref, NULL);
		FUZZ_ASSERT((rc == 0) == (rrc == 0));
		if (rc == 0)
			FUZZ_ASSERT(ref.len == out.len &&
				    (out.len == 0 || memcmp(ref.data, out.p, out.len) == 0));
		alb_buf_free(&ref);
	} else {
		FUZZ_ASSERT((rc == 0) == (whole.len <= STREAM_MAX_OUT));
		if (rc == 0)
			FUZZ_ASSERT(log_same(&whole, &out));
	}
	free(whole.p);
	free(out.p);
}

/* ---- the target ----------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < PREFIX_LEN)
		return 0;
	unsigned opt = data[0];
	uint32_t seed = (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
			(uint32_t)data[3] << 8 | data[4];
	rnd_state = seed != 0 ? seed : 1;
	size_t max = frame_max[(opt >> OPT_MAX_SHIFT) & 3];
	size_t n = size - PREFIX_LEN;
	uint8_t *in = malloc(n > 0 ? n : 1);
	FUZZ_ASSERT(in != NULL);
	if (n > 0)
		memcpy(in, data + PREFIX_LEN, n);

	struct log ev_whole = {0}, ev_split = {0}, frames = {0};
	read_whole(in, n, max, &ev_whole, &frames);
	read_split(in, n, max, (opt & OPT_SPACE_API) != 0, &ev_split);
	FUZZ_ASSERT(log_same(&ev_whole, &ev_split));

	/* the data stream: the frames before the first end marker */
	struct log stream = {0};
	for (size_t off = 0; off < ev_whole.len && ev_whole.p[off] == EV_FRAME;) {
		uint32_t k;
		memcpy(&k, ev_whole.p + off + 1, sizeof(k));
		log_put(&stream, ev_whole.p + off + 1, sizeof(k) + k);
		off += 1 + sizeof(k) + k;
	}
	check_stream(&stream, (opt & OPT_COMPRESSED) != 0);

	/* every frame as a wire message */
	for (size_t off = 0; off < frames.len;) {
		uint32_t k;
		memcpy(&k, frames.p + off, sizeof(k));
		off += sizeof(k);
		struct alb_msg *m = NULL;
		int rc = alb_msg_decode(frames.p + off, k, ALB_DECODE_BORROW, &m, NULL);
		FUZZ_ASSERT(rc == 0 || rc == ALB_EPARSE);
		alb_msg_free(m);
		off += k;
	}
	free(stream.p);
	free(frames.p);
	free(ev_whole.p);
	free(ev_split.p);
	free(in);
	return 0;
}
