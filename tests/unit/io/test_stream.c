/* Unit tests: data streams and zlib (spec §2.4, §5.6).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "albatross/stream.h"

/* Half text-like (compresses well), half pseudo-random (does not), so that
 * compressed output spans several full chunks. */
static uint8_t *make_data(size_t len)
{
	uint8_t *d = malloc(len > 0 ? len : 1);
	assert_non_null(d);
	uint32_t x = 12345;
	for (size_t i = 0; i < len; i++) {
		if ((i / 8192) % 2 == 0) {
			d[i] = (uint8_t)("albatross unikernel "[i % 20]);
		} else {
			x = x * 1103515245u + 12345u;
			d[i] = (uint8_t)(x >> 16);
		}
	}
	return d;
}

/* Collects emitted pieces: their concatenation and their boundaries. */
struct collect {
	uint8_t *data;
	size_t len, cap;
	size_t *ends;
	size_t n, ncap;
	size_t largest;
	int fail_at; /* emit number that fails with ALB_EPERM, or -1 */
};

static int collect_emit(void *ctx, const uint8_t *p, size_t n,
			struct alb_error *err)
{
	(void)err;
	struct collect *c = ctx;
	assert_true(n > 0);
	if (c->fail_at >= 0 && (size_t)c->fail_at == c->n)
		return ALB_EPERM;
	if (c->len + n > c->cap) {
		c->cap = (c->len + n) * 2;
		c->data = realloc(c->data, c->cap);
		assert_non_null(c->data);
	}
	memcpy(c->data + c->len, p, n);
	c->len += n;
	if (c->n == c->ncap) {
		c->ncap = c->ncap ? c->ncap * 2 : 64;
		c->ends = realloc(c->ends, c->ncap * sizeof(*c->ends));
		assert_non_null(c->ends);
	}
	c->ends[c->n++] = c->len;
	if (n > c->largest)
		c->largest = n;
	return 0;
}

static void collect_free(struct collect *c)
{
	free(c->data);
	free(c->ends);
	memset(c, 0, sizeof(*c));
}

/* Writes data in pieces of `in_chunk`, reads the produced chunks back
 * re-cut into pieces of `in_chunk` (so a receiver sees chunks of any
 * size), and checks that the data survives and no chunk was too big. */
static void round_trip(int level, size_t len, size_t in_chunk)
{
	uint8_t *data = make_data(len);
	struct collect wire = { .fail_at = -1 }, back = { .fail_at = -1 };
	struct alb_stream_writer *w;
	assert_int_equal(alb_stream_writer_new(level, collect_emit, &wire, &w, NULL), 0);
	for (size_t off = 0; off < len; off += in_chunk) {
		size_t n = len - off < in_chunk ? len - off : in_chunk;
		assert_int_equal(alb_stream_writer_write(w, data + off, n, NULL), 0);
	}
	assert_int_equal(alb_stream_writer_finish(w, NULL), 0);
	alb_stream_writer_free(w);
	assert_true(wire.largest <= ALB_STREAM_CHUNK_MAX);
	if (level == ALB_STREAM_RAW) {
		assert_int_equal(wire.len, len);
	} else {
		/* Every chunk but the last is full. */
		for (size_t i = 0; i + 1 < wire.n; i++)
			assert_int_equal(wire.ends[i], (i + 1) * ALB_STREAM_CHUNK_MAX);
		/* An independent inflater agrees. */
		uLongf dlen = len;
		uint8_t *check = malloc(len + 1);
		assert_non_null(check);
		assert_int_equal(uncompress(check, &dlen, wire.data, wire.len), Z_OK);
		assert_int_equal(dlen, len);
		assert_memory_equal(check, data, len);
		free(check);
	}

	struct alb_stream_reader *r;
	assert_int_equal(alb_stream_reader_new(level != ALB_STREAM_RAW, len,
					       collect_emit, &back, &r, NULL),
			 0);
	for (size_t off = 0; off < wire.len; off += in_chunk) {
		size_t n = wire.len - off < in_chunk ? wire.len - off : in_chunk;
		assert_int_equal(alb_stream_reader_write(r, wire.data + off, n, NULL), 0);
	}
	assert_int_equal(alb_stream_reader_finish(r, NULL), 0);
	assert_int_equal(alb_stream_reader_total(r), len);
	alb_stream_reader_free(r);
	assert_int_equal(back.len, len);
	if (len > 0)
		assert_memory_equal(back.data, data, len);
	if (level != ALB_STREAM_RAW)
		assert_true(back.largest <= ALB_STREAM_CHUNK_MAX);
	collect_free(&wire);
	collect_free(&back);
	free(data);
}

static void test_round_trip_raw(void **state)
{
	(void)state;
	const size_t sizes[] = { 4096, 65536, 65537, 1024 * 1024 };
	for (size_t i = 0; i < 4; i++)
		round_trip(ALB_STREAM_RAW, 3 * 1024 * 1024 + 11, sizes[i]);
	round_trip(ALB_STREAM_RAW, 100 * 1024, 1);
	round_trip(ALB_STREAM_RAW, 0, 1);
}

static void test_round_trip_zlib(void **state)
{
	(void)state;
	const size_t sizes[] = { 4096, 65536, 65537, 1024 * 1024 };
	for (size_t i = 0; i < 4; i++)
		round_trip(6, 3 * 1024 * 1024 + 11, sizes[i]);
	/* One byte at a time in both directions. */
	round_trip(6, 100 * 1024, 1);
	round_trip(0, 200 * 1024, 65537);
	round_trip(9, 200 * 1024, 4096);
	round_trip(1, 0, 1);
}

/* Raw data is cut at exactly ALB_STREAM_CHUNK_MAX: at the limit one chunk,
 * one past it two. */
static void test_raw_chunk_limit(void **state)
{
	(void)state;
	uint8_t *data = make_data(ALB_STREAM_CHUNK_MAX + 1);
	for (size_t extra = 0; extra < 2; extra++) {
		struct collect c = { .fail_at = -1 };
		struct alb_stream_writer *w;
		assert_int_equal(alb_stream_writer_new(ALB_STREAM_RAW, collect_emit,
						       &c, &w, NULL),
				 0);
		assert_int_equal(alb_stream_writer_write(w, data,
							 ALB_STREAM_CHUNK_MAX + extra,
							 NULL),
				 0);
		assert_int_equal(alb_stream_writer_finish(w, NULL), 0);
		assert_int_equal(c.n, 1 + extra);
		assert_int_equal(c.ends[0], ALB_STREAM_CHUNK_MAX);
		alb_stream_writer_free(w);
		collect_free(&c);
	}
	free(data);
}

static void test_levels(void **state)
{
	(void)state;
	struct alb_stream_writer *w = NULL;
	struct alb_error err;
	struct collect c = { .fail_at = -1 };
	assert_int_equal(alb_stream_writer_new(10, collect_emit, &c, &w, &err),
			 ALB_EINVAL);
	assert_int_equal(alb_stream_writer_new(-2, collect_emit, &c, &w, &err),
			 ALB_EINVAL);
	assert_null(w);
	struct alb_buf out = { 0 };
	assert_int_equal(alb_zlib_deflate((const uint8_t *)"x", 1, 10, &out, &err),
			 ALB_EINVAL);
	assert_int_equal(alb_zlib_deflate((const uint8_t *)"x", 1, -1, &out, &err),
			 ALB_EINVAL);
	/* The zlib header's FLEVEL follows the level (spec §5.6). */
	const uint8_t flg[10] = { 0x01, 0x01, 0x5e, 0x5e, 0x5e, 0x5e, 0x9c, 0xda,
				  0xda, 0xda };
	uint8_t *data = make_data(10000);
	for (int level = 0; level <= 9; level++) {
		assert_int_equal(alb_zlib_deflate(data, 10000, level, &out, NULL), 0);
		assert_true(out.len > 6);
		assert_int_equal(out.data[0], 0x78);
		assert_int_equal(out.data[1], flg[level]);
		struct alb_buf back = { 0 };
		assert_int_equal(alb_zlib_inflate(out.data, out.len, 10000, &back, NULL),
				 0);
		assert_int_equal(back.len, 10000);
		assert_memory_equal(back.data, data, 10000);
		alb_buf_free(&back);
		alb_buf_free(&out);
	}
	free(data);
}

/* Our inflater reads what an independent compressor made. */
static void test_inflate_foreign(void **state)
{
	(void)state;
	size_t len = 300000;
	uint8_t *data = make_data(len);
	uLongf clen = compressBound(len);
	uint8_t *comp = malloc(clen);
	assert_non_null(comp);
	assert_int_equal(compress2(comp, &clen, data, len, 9), Z_OK);
	struct alb_buf out = { 0 };
	assert_int_equal(alb_zlib_inflate(comp, clen, len, &out, NULL), 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, data, len);
	alb_buf_free(&out);
	free(comp);
	free(data);
}

static void test_corrupt(void **state)
{
	(void)state;
	size_t len = 200000;
	uint8_t *data = make_data(len);
	struct alb_buf z = { 0 }, out = { 0 };
	struct alb_error err;
	assert_int_equal(alb_zlib_deflate(data, len, 6, &z, NULL), 0);

	/* Bad header. */
	uint8_t save = z.data[0];
	z.data[0] = 0x79;
	assert_int_equal(alb_zlib_inflate(z.data, z.len, len, &out, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "incorrect header check");
	assert_null(out.data);
	z.data[0] = save;

	/* A gzip header is not zlib. */
	const uint8_t gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	assert_int_equal(alb_zlib_inflate(gz, sizeof(gz), len, &out, &err), ALB_EPARSE);

	/* Bad checksum. */
	z.data[z.len - 1] ^= 0x55;
	assert_int_equal(alb_zlib_inflate(z.data, z.len, len, &out, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "incorrect data check");
	z.data[z.len - 1] ^= 0x55;

	/* Truncated. */
	assert_int_equal(alb_zlib_inflate(z.data, z.len - 1, len, &out, &err),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "truncated zlib stream");
	assert_int_equal(alb_zlib_inflate(z.data, 0, len, &out, &err), ALB_EPARSE);

	/* Trailing bytes, in the same chunk and in a later one. */
	uint8_t *longer = malloc(z.len + 1);
	assert_non_null(longer);
	memcpy(longer, z.data, z.len);
	longer[z.len] = 0;
	assert_int_equal(alb_zlib_inflate(longer, z.len + 1, len, &out, &err),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "data after the end of the zlib stream");
	struct collect c = { .fail_at = -1 };
	struct alb_stream_reader *r;
	assert_int_equal(alb_stream_reader_new(true, len, collect_emit, &c, &r, NULL), 0);
	assert_int_equal(alb_stream_reader_write(r, z.data, z.len, NULL), 0);
	assert_int_equal(alb_stream_reader_write(r, longer + z.len, 1, &err),
			 ALB_EPARSE);
	/* A failed reader stays failed. */
	assert_int_equal(alb_stream_reader_write(r, z.data, 1, &err), ALB_EINVAL);
	assert_int_equal(alb_stream_reader_finish(r, &err), ALB_EINVAL);
	alb_stream_reader_free(r);
	collect_free(&c);
	free(longer);

	/* Every single-byte corruption of the body fails cleanly or (rarely,
	 * where a flipped bit still decodes) is caught by the checksum; none
	 * may crash or succeed with different data. */
	for (size_t i = 2; i < z.len; i += 97) {
		z.data[i] ^= 0xff;
		int rc = alb_zlib_inflate(z.data, z.len, len, &out, NULL);
		if (rc == 0) {
			assert_int_equal(out.len, len);
			assert_memory_equal(out.data, data, len);
			alb_buf_free(&out);
		} else {
			assert_true(rc == ALB_EPARSE || rc == ALB_ETOOBIG);
			assert_null(out.data);
		}
		z.data[i] ^= 0xff;
	}
	alb_buf_free(&z);
	free(data);
}

/* The output limit: exactly max_out is fine, one byte more is refused; a
 * zip bomb stops early with ALB_ETOOBIG. */
static void test_output_limit(void **state)
{
	(void)state;
	size_t len = 100000;
	uint8_t *data = make_data(len);
	struct alb_buf z = { 0 }, out = { 0 };
	struct alb_error err;
	assert_int_equal(alb_zlib_deflate(data, len, 6, &z, NULL), 0);
	assert_int_equal(alb_zlib_inflate(z.data, z.len, len, &out, NULL), 0);
	assert_int_equal(out.len, len);
	alb_buf_free(&out);
	assert_int_equal(alb_zlib_inflate(z.data, z.len, len - 1, &out, &err),
			 ALB_ETOOBIG);
	assert_int_equal(err.code, ALB_ETOOBIG);
	assert_null(out.data);
	alb_buf_free(&z);

	/* Raw streams obey the same limit. */
	struct collect c = { .fail_at = -1 };
	struct alb_stream_reader *r;
	assert_int_equal(alb_stream_reader_new(false, 10, collect_emit, &c, &r, NULL), 0);
	assert_int_equal(alb_stream_reader_write(r, data, 6, NULL), 0);
	assert_int_equal(alb_stream_reader_write(r, data, 4, NULL), 0);
	assert_int_equal(alb_stream_reader_write(r, data, 1, &err), ALB_ETOOBIG);
	assert_int_equal(c.len, 10);
	alb_stream_reader_free(r);
	collect_free(&c);

	/* 256 MiB of zeros compress to about 256 KiB; built in pieces so the
	 * test does not hold the plain data. */
	struct collect bomb = { .fail_at = -1 };
	struct alb_stream_writer *w;
	assert_int_equal(alb_stream_writer_new(9, collect_emit, &bomb, &w, NULL), 0);
	uint8_t *zeros = calloc(1, 1 << 20);
	assert_non_null(zeros);
	for (int i = 0; i < 256; i++)
		assert_int_equal(alb_stream_writer_write(w, zeros, 1 << 20, NULL), 0);
	assert_int_equal(alb_stream_writer_finish(w, NULL), 0);
	alb_stream_writer_free(w);
	assert_true(bomb.len < 1024 * 1024);
	assert_int_equal(alb_zlib_inflate(bomb.data, bomb.len, 8 << 20, &out, &err),
			 ALB_ETOOBIG);
	assert_string_equal(err.msg, "decompressed data exceeds 8388608 bytes");
	assert_null(out.data);
	collect_free(&bomb);
	free(zeros);
	free(data);
}

/* An emitter's error stops the writer or reader and is returned. */
static void test_emit_error(void **state)
{
	(void)state;
	uint8_t *data = make_data(300000);
	struct collect c = { .fail_at = 1 };
	struct alb_stream_writer *w;
	struct alb_error err;
	assert_int_equal(alb_stream_writer_new(ALB_STREAM_RAW, collect_emit, &c, &w,
					       NULL),
			 0);
	assert_int_equal(alb_stream_writer_write(w, data, 300000, &err), ALB_EPERM);
	assert_int_equal(c.len, ALB_STREAM_CHUNK_MAX);
	assert_int_equal(alb_stream_writer_write(w, data, 1, &err), ALB_EINVAL);
	assert_int_equal(alb_stream_writer_finish(w, &err), ALB_EINVAL);
	alb_stream_writer_free(w);
	collect_free(&c);

	c = (struct collect){ .fail_at = 0 };
	assert_int_equal(alb_stream_writer_new(1, collect_emit, &c, &w, NULL), 0);
	assert_int_equal(alb_stream_writer_write(w, data, 1000, NULL), 0);
	assert_int_equal(alb_stream_writer_finish(w, &err), ALB_EPERM);
	alb_stream_writer_free(w);
	collect_free(&c);

	struct alb_buf z = { 0 };
	assert_int_equal(alb_zlib_deflate(data, 300000, 1, &z, NULL), 0);
	c = (struct collect){ .fail_at = 2 };
	struct alb_stream_reader *r;
	assert_int_equal(alb_stream_reader_new(true, 300000, collect_emit, &c, &r,
					       NULL),
			 0);
	assert_int_equal(alb_stream_reader_write(r, z.data, z.len, &err), ALB_EPERM);
	assert_int_equal(c.len, 2 * ALB_STREAM_CHUNK_MAX);
	alb_stream_reader_free(r);
	collect_free(&c);
	alb_buf_free(&z);

	/* Writing after finish is refused. */
	c = (struct collect){ .fail_at = -1 };
	assert_int_equal(alb_stream_writer_new(3, collect_emit, &c, &w, NULL), 0);
	assert_int_equal(alb_stream_writer_finish(w, NULL), 0);
	assert_int_equal(alb_stream_writer_write(w, data, 1, &err), ALB_EINVAL);
	alb_stream_writer_free(w);
	collect_free(&c);
	alb_stream_writer_free(NULL);
	alb_stream_reader_free(NULL);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_raw),
		cmocka_unit_test(test_round_trip_zlib),
		cmocka_unit_test(test_raw_chunk_limit),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_inflate_foreign),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_emit_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
