/* Unit tests: framing (spec §2.1).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "albatross/frame.h"
#include "base/spare.h"

/* Empties the process's spare buffer, which a large frame freed leaves. */
static void drain_spare(void)
{
	size_t cap;
	free(alb_spare_take(0, &cap));
}

static void put_len(uint8_t *p, uint32_t len)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static struct alb_frame_reader *new_reader(size_t max)
{
	struct alb_frame_reader *r = NULL;
	assert_int_equal(alb_frame_reader_new(max, &r, NULL), 0);
	assert_non_null(r);
	return r;
}

static void test_header(void **state)
{
	(void)state;
	uint8_t h[4];
	struct alb_error err;
	assert_int_equal(alb_frame_header(h, 0, NULL), 0);
	assert_memory_equal(h, "\0\0\0\0", 4);
	assert_int_equal(alb_frame_header(h, 0x01020304, NULL), 0);
	assert_memory_equal(h, "\x01\x02\x03\x04", 4);
	assert_int_equal(alb_frame_header(h, ALB_FRAME_MAX_LIMIT, NULL), 0);
	assert_memory_equal(h, "\x7f\xff\xff\xff", 4);
	assert_int_equal(alb_frame_header(h, (size_t)ALB_FRAME_MAX_LIMIT + 1, &err),
			 ALB_ETOOBIG);
	assert_int_equal(err.code, ALB_ETOOBIG);
}

static void test_new_max(void **state)
{
	(void)state;
	struct alb_frame_reader *r = NULL;
	struct alb_error err;
	assert_int_equal(alb_frame_reader_new(0, &r, NULL), 0);
	assert_int_equal(alb_frame_reader_max(r), ALB_FRAME_MAX_DEFAULT);
	assert_int_equal(alb_frame_reader_set_max(r, ALB_FRAME_MAX_LIMIT, NULL), 0);
	assert_int_equal(alb_frame_reader_max(r), ALB_FRAME_MAX_LIMIT);
	assert_int_equal(alb_frame_reader_set_max(r, (size_t)ALB_FRAME_MAX_LIMIT + 1,
						  &err),
			 ALB_EINVAL);
	assert_int_equal(alb_frame_reader_max(r), ALB_FRAME_MAX_LIMIT);
	alb_frame_reader_free(r);
	r = NULL;
	assert_int_equal(alb_frame_reader_new((size_t)ALB_FRAME_MAX_LIMIT + 1, &r,
					      &err),
			 ALB_EINVAL);
	assert_null(r);
	alb_frame_reader_free(NULL);
}

/* Builds three frames of distinct lengths and contents back to back. */
static size_t build_stream(uint8_t *buf, const size_t *lens, size_t n)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		put_len(buf + off, (uint32_t)lens[i]);
		off += 4;
		for (size_t j = 0; j < lens[i]; j++)
			buf[off + j] = (uint8_t)(i * 31 + j);
		off += lens[i];
	}
	return off;
}

static void check_frame(struct alb_frame_reader *r, size_t i, size_t len)
{
	struct alb_bytes b;
	assert_int_equal(alb_frame_reader_frame(r, &b), 0);
	assert_int_equal(b.len, len);
	for (size_t j = 0; j < len; j++)
		assert_int_equal(b.ptr[j], (uint8_t)(i * 31 + j));
}

/* Feeds the stream split into two pieces at every byte boundary, then one
 * byte at a time, and checks every frame comes out whole. */
static void test_split_everywhere(void **state)
{
	(void)state;
	const size_t lens[] = { 5, 1, 17 };
	uint8_t buf[64];
	size_t total = build_stream(buf, lens, 3);

	for (size_t cut = 0; cut <= total; cut++) {
		struct alb_frame_reader *r = new_reader(0);
		size_t seen = 0, off = 0;
		const size_t ends[] = { cut, total };
		for (size_t part = 0; part < 2; part++) {
			while (off < ends[part]) {
				size_t used;
				int rc = alb_frame_reader_feed(r, buf + off,
							       ends[part] - off,
							       &used, NULL);
				off += used;
				if (rc == ALB_EAGAIN) {
					assert_int_equal(off, ends[part]);
					break;
				}
				assert_int_equal(rc, 0);
				check_frame(r, seen, lens[seen]);
				seen++;
			}
		}
		assert_int_equal(seen, 3);
		assert_true(alb_frame_reader_idle(r));
		alb_frame_reader_free(r);
	}

	struct alb_frame_reader *r = new_reader(0);
	size_t seen = 0;
	for (size_t off = 0; off < total; off++) {
		size_t used;
		int rc = alb_frame_reader_feed(r, buf + off, 1, &used, NULL);
		assert_int_equal(used, 1);
		if (rc == 0) {
			check_frame(r, seen, lens[seen]);
			seen++;
		} else {
			assert_int_equal(rc, ALB_EAGAIN);
			assert_false(alb_frame_reader_idle(r));
		}
	}
	assert_int_equal(seen, 3);
	alb_frame_reader_free(r);
}

/* Many frames in one buffer, taken out without copying. */
static void test_many_frames_take(void **state)
{
	(void)state;
	enum { N = 200 };
	size_t lens[N];
	for (size_t i = 0; i < N; i++)
		lens[i] = i % 7 + 1;
	uint8_t *buf = malloc(N * 12);
	assert_non_null(buf);
	size_t total = build_stream(buf, lens, N);
	struct alb_frame_reader *r = new_reader(0);
	size_t off = 0;
	for (size_t i = 0; i < N; i++) {
		size_t used;
		assert_int_equal(alb_frame_reader_feed(r, buf + off, total - off,
						       &used, NULL),
				 0);
		off += used;
		struct alb_buf out = { 0 };
		assert_int_equal(alb_frame_reader_take(r, &out), 0);
		assert_int_equal(out.len, lens[i]);
		assert_int_equal(out.data[0], (uint8_t)(i * 31));
		assert_int_equal(alb_frame_reader_take(r, &out), ALB_EAGAIN);
		alb_buf_free(&out);
	}
	assert_int_equal(off, total);
	assert_int_equal(alb_frame_reader_feed(r, buf, 0, NULL, NULL), ALB_EAGAIN);
	alb_frame_reader_free(r);
	free(buf);
}

/* A length <= 0 ends a stream, and the reader carries on afterwards. */
static void test_end_of_stream(void **state)
{
	(void)state;
	const uint32_t eofs[] = { 0, 0xffffffffu, 0x80000000u, 0xfffffffeu };
	for (size_t i = 0; i < 4; i++) {
		struct alb_frame_reader *r = new_reader(0);
		uint8_t b[4 + 4 + 1];
		put_len(b, eofs[i]);
		put_len(b + 4, 1);
		b[8] = 0x42;
		size_t used;
		struct alb_error err;
		assert_int_equal(alb_frame_reader_feed(r, b, sizeof(b), &used, &err),
				 ALB_EEOF);
		assert_int_equal(err.code, ALB_EEOF);
		assert_int_equal(used, 4);
		assert_true(alb_frame_reader_idle(r));
		assert_int_equal(alb_frame_reader_feed(r, b + 4, 5, &used, NULL), 0);
		struct alb_bytes f;
		assert_int_equal(alb_frame_reader_frame(r, &f), 0);
		assert_int_equal(f.len, 1);
		assert_int_equal(f.ptr[0], 0x42);
		alb_frame_reader_free(r);
	}
}

/* The maximum is accepted; one past it is refused before allocation and
 * leaves the reader unusable. */
static void test_max(void **state)
{
	(void)state;
	const size_t max = 100;
	uint8_t b[4 + 101];
	memset(b, 0xab, sizeof(b));
	struct alb_frame_reader *r = new_reader(max);
	put_len(b, max);
	size_t used;
	assert_int_equal(alb_frame_reader_feed(r, b, 4 + max, &used, NULL), 0);
	assert_int_equal(used, 4 + max);
	put_len(b, max + 1);
	struct alb_error err;
	assert_int_equal(alb_frame_reader_feed(r, b, sizeof(b), &used, &err),
			 ALB_ETOOBIG);
	assert_int_equal(used, 4);
	assert_int_equal(err.code, ALB_ETOOBIG);
	assert_non_null(strstr(err.msg, "101"));
	assert_int_equal(alb_frame_reader_feed(r, b + 4, 1, &used, NULL),
			 ALB_ETOOBIG);
	assert_int_equal(used, 0);
	uint8_t *p;
	size_t room;
	assert_int_equal(alb_frame_reader_space(r, &p, &room, NULL), ALB_ETOOBIG);
	alb_frame_reader_free(r);

	/* The default maximum: at the limit the header is accepted (and only
	 * the header is fed, so nothing of 64 MiB needs to exist here). */
	r = new_reader(0);
	put_len(b, ALB_FRAME_MAX_DEFAULT);
	assert_int_equal(alb_frame_reader_feed(r, b, 4, &used, NULL), ALB_EAGAIN);
	alb_frame_reader_free(r);
	r = new_reader(0);
	put_len(b, ALB_FRAME_MAX_DEFAULT + 1);
	assert_int_equal(alb_frame_reader_feed(r, b, 4, &used, NULL), ALB_ETOOBIG);
	alb_frame_reader_free(r);
}

/* The payload buffer grows as bytes arrive: a 100 MiB announcement costs
 * ALB_FRAME_BUF_MIN until more is sent, then doubles; a frame of exactly
 * ALB_FRAME_BUF_MIN bytes gets that much, one byte more grows to its
 * length once the first ALB_FRAME_BUF_MIN bytes are in. */
static void test_buffer_grows(void **state)
{
	(void)state;
	struct alb_frame_reader *r = new_reader(ALB_FRAME_MAX_LIMIT);
	uint8_t b[4];
	put_len(b, 100u * 1024 * 1024);
	assert_int_equal(alb_frame_reader_feed(r, b, 4, NULL, NULL), ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_held(r), 0);
	uint8_t *chunk = calloc(1, 3 * ALB_FRAME_BUF_MIN);
	assert_non_null(chunk);
	assert_int_equal(alb_frame_reader_feed(r, chunk, 10, NULL, NULL), ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_held(r), ALB_FRAME_BUF_MIN);
	assert_int_equal(alb_frame_reader_feed(r, chunk, ALB_FRAME_BUF_MIN, NULL, NULL),
			 ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_held(r), 2 * ALB_FRAME_BUF_MIN);
	assert_int_equal(alb_frame_reader_feed(r, chunk, ALB_FRAME_BUF_MIN, NULL, NULL),
			 ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_held(r), 4 * ALB_FRAME_BUF_MIN);
	alb_frame_reader_free(r);
	for (size_t len = ALB_FRAME_BUF_MIN; len <= ALB_FRAME_BUF_MIN + 1; len++) {
		r = new_reader(0);
		put_len(b, (uint32_t)len);
		assert_int_equal(alb_frame_reader_feed(r, b, 4, NULL, NULL), ALB_EAGAIN);
		assert_int_equal(alb_frame_reader_feed(r, chunk, ALB_FRAME_BUF_MIN, NULL,
						       NULL),
				 len == ALB_FRAME_BUF_MIN ? 0 : ALB_EAGAIN);
		assert_int_equal(alb_frame_reader_held(r), ALB_FRAME_BUF_MIN);
		if (len > ALB_FRAME_BUF_MIN) {
			assert_int_equal(alb_frame_reader_feed(r, chunk, 1, NULL, NULL), 0);
			assert_int_equal(alb_frame_reader_held(r), len);
		}
		struct alb_buf out = {0};
		assert_int_equal(alb_frame_reader_take(r, &out), 0);
		assert_int_equal(out.len, len);
		alb_buf_free(&out);
		assert_int_equal(alb_frame_reader_held(r), 0);
		alb_frame_reader_free(r);
	}
	free(chunk);
}

/* Large payloads (from 2 MiB on the reader keeps them in huge pages,
 * moving what arrived so far): around that size and well past it, fed in
 * odd pieces, every byte arrives where it belongs, the buffer stays within
 * twice what arrived, and take() hands over one that free() releases. */
static void test_large_buffer(void **state)
{
	(void)state;
	const size_t mib2 = 2u * 1024u * 1024u;
	const size_t lens[] = {mib2 - 1, mib2, mib2 + 1, 5 * mib2 + 3};
	const size_t piece = 12345;
	uint8_t *src = malloc(5 * mib2 + 3);
	assert_non_null(src);
	drain_spare(); /* each frame's buffer grows as its bytes arrive */
	for (size_t i = 0; i < 5 * mib2 + 3; i++)
		src[i] = (uint8_t)(i * 131u + (i >> 16));
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k];
		struct alb_frame_reader *r = new_reader(ALB_FRAME_MAX_LIMIT);
		uint8_t b[4];
		put_len(b, (uint32_t)len);
		assert_int_equal(alb_frame_reader_feed(r, b, 4, NULL, NULL), ALB_EAGAIN);
		size_t off = 0;
		int rc = ALB_EAGAIN;
		while (off < len) {
			size_t n = len - off < piece ? len - off : piece;
			rc = alb_frame_reader_feed(r, src + off, n, NULL, NULL);
			off += n;
			size_t bound = 2 * off > ALB_FRAME_BUF_MIN ? 2 * off
								   : ALB_FRAME_BUF_MIN;
			assert_true(alb_frame_reader_held(r) <= bound);
			assert_int_equal(rc, off == len ? 0 : ALB_EAGAIN);
		}
		assert_int_equal(alb_frame_reader_held(r), len);
		struct alb_buf out = {0};
		assert_int_equal(alb_frame_reader_take(r, &out), 0);
		assert_int_equal(out.len, len);
		assert_memory_equal(out.data, src, len);
		alb_buf_free(&out);
		alb_frame_reader_free(r);
	}
	free(src);
}

/* A large frame freed stays as the process's spare buffer, and the next
 * frame of ALB_SPARE_ALIGN bytes or more that fits it arrives in it from
 * its first byte (memory used before: its pages are there). A frame one
 * byte larger than the spare, or one byte short of ALB_SPARE_ALIGN, grows
 * as usual and leaves the spare alone. */
static void test_spare_buffer(void **state)
{
	(void)state;
	drain_spare();
	const size_t len = ALB_SPARE_ALIGN + 5;
	uint8_t *src = malloc(len + 1);
	assert_non_null(src);
	for (size_t i = 0; i <= len; i++)
		src[i] = (uint8_t)(i * 7u + (i >> 12));
	uint8_t b[4];
	struct alb_buf out = {0};
	struct alb_frame_reader *r = new_reader(ALB_FRAME_MAX_LIMIT);
	put_len(b, (uint32_t)len);
	assert_int_equal(alb_frame_reader_feed(r, b, 4, NULL, NULL), ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_feed(r, src, len, NULL, NULL), 0);
	assert_int_equal(alb_frame_reader_take(r, &out), 0);
	const uint8_t *first = out.data;
	alb_buf_free(&out); /* now the spare */
	/* fits: the spare, held whole from the first byte */
	put_len(b, (uint32_t)len);
	assert_int_equal(alb_frame_reader_feed(r, b, 4, NULL, NULL), ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_feed(r, src + 1, 1, NULL, NULL), ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_held(r), len);
	assert_int_equal(alb_frame_reader_feed(r, src + 2, len - 1, NULL, NULL), 0);
	assert_int_equal(alb_frame_reader_take(r, &out), 0);
	assert_ptr_equal(out.data, first);
	assert_memory_equal(out.data, src + 1, len);
	alb_buf_free(&out);
	/* one byte past it, and one byte short of the size that takes it */
	const size_t other[] = {len + 1, ALB_SPARE_ALIGN - 1};
	for (size_t k = 0; k < 2; k++) {
		put_len(b, (uint32_t)other[k]);
		assert_int_equal(alb_frame_reader_feed(r, b, 4, NULL, NULL), ALB_EAGAIN);
		assert_int_equal(alb_frame_reader_feed(r, src, 1, NULL, NULL), ALB_EAGAIN);
		assert_int_equal(alb_frame_reader_held(r), ALB_FRAME_BUF_MIN);
		assert_int_equal(alb_frame_reader_feed(r, src, other[k] - 1, NULL, NULL), 0);
		assert_int_equal(alb_frame_reader_take(r, &out), 0);
		assert_true(out.data != first);
		alb_buf_free(&out);
	}
	alb_frame_reader_free(r);
	drain_spare();
	free(src);
}

/* The zero-copy path: space() gives the header, then the payload's final
 * buffer, which take() hands over unchanged. */
static void test_space_advance(void **state)
{
	(void)state;
	struct alb_frame_reader *r = new_reader(0);
	uint8_t *p;
	size_t room;
	assert_int_equal(alb_frame_reader_space(r, &p, &room, NULL), 0);
	assert_int_equal(room, 4);
	put_len(p, 3000);
	assert_int_equal(alb_frame_reader_advance(r, 2, NULL), ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_space(r, &p, &room, NULL), 0);
	assert_int_equal(room, 2);
	assert_int_equal(alb_frame_reader_advance(r, 3, NULL), ALB_EINVAL);
	assert_int_equal(alb_frame_reader_advance(r, 2, NULL), ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_space(r, &p, &room, NULL), 0);
	assert_int_equal(room, 3000);
	uint8_t *payload = p;
	memset(p, 7, 1000);
	assert_int_equal(alb_frame_reader_advance(r, 1000, NULL), ALB_EAGAIN);
	assert_int_equal(alb_frame_reader_space(r, &p, &room, NULL), 0);
	assert_ptr_equal(p, payload + 1000);
	assert_int_equal(room, 2000);
	memset(p, 7, 2000);
	assert_int_equal(alb_frame_reader_advance(r, 2001, NULL), ALB_EINVAL);
	assert_int_equal(alb_frame_reader_advance(r, 2000, NULL), 0);
	assert_int_equal(alb_frame_reader_advance(r, 1, NULL), ALB_EINVAL);
	struct alb_buf out = { 0 };
	assert_int_equal(alb_frame_reader_take(r, &out), 0);
	assert_ptr_equal(out.data, payload);
	assert_int_equal(out.len, 3000);
	assert_int_equal(out.data[2999], 7);
	alb_buf_free(&out);
	alb_frame_reader_free(r);
}

/* A frame not taken is dropped when the next one starts. */
static void test_untaken_dropped(void **state)
{
	(void)state;
	uint8_t b[4 + 2 + 4 + 3];
	put_len(b, 2);
	b[4] = 1;
	b[5] = 2;
	put_len(b + 6, 3);
	memset(b + 10, 9, 3);
	struct alb_frame_reader *r = new_reader(0);
	size_t used;
	assert_int_equal(alb_frame_reader_feed(r, b, sizeof(b), &used, NULL), 0);
	assert_int_equal(used, 6);
	assert_int_equal(alb_frame_reader_feed(r, b + 6, 7, &used, NULL), 0);
	struct alb_bytes f;
	assert_int_equal(alb_frame_reader_frame(r, &f), 0);
	assert_int_equal(f.len, 3);
	assert_int_equal(f.ptr[2], 9);
	alb_frame_reader_free(r);
}

static void test_fd_round_trip(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	const uint8_t msg[] = "hello frame";
	assert_int_equal(alb_frame_write_fd(sv[0], msg, sizeof(msg), NULL), 0);
	assert_int_equal(alb_frame_write_fd(sv[0], NULL, 0, NULL), 0);
	struct alb_buf out = { 0 };
	assert_int_equal(alb_frame_read_fd(sv[1], 0, &out, NULL), 0);
	assert_int_equal(out.len, sizeof(msg));
	assert_memory_equal(out.data, msg, sizeof(msg));
	alb_buf_free(&out);
	struct alb_error err;
	assert_int_equal(alb_frame_read_fd(sv[1], 0, &out, &err), ALB_EEOF);
	assert_null(out.data);

	/* Oversized: refused on the header alone. */
	assert_int_equal(alb_frame_write_fd(sv[0], msg, 5, NULL), 0);
	assert_int_equal(alb_frame_read_fd(sv[1], 4, &out, &err), ALB_ETOOBIG);
	uint8_t rest[5];
	assert_int_equal(read(sv[1], rest, 5), 5);

	/* Closed in the middle of a frame, then at a frame boundary. */
	uint8_t partial[4 + 2];
	put_len(partial, 10);
	assert_int_equal(write(sv[0], partial, sizeof(partial)), (ssize_t)sizeof(partial));
	close(sv[0]);
	assert_int_equal(alb_frame_read_fd(sv[1], 0, &out, &err), ALB_EPROTO);
	assert_int_equal(alb_frame_read_fd(sv[1], 0, &out, &err), ALB_EEOF);
	assert_string_equal(err.msg, "connection closed");
	close(sv[1]);

	assert_int_equal(alb_frame_read_fd(-1, 0, &out, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, EBADF);
	assert_int_equal(alb_frame_write_fd(-1, msg, 1, &err), ALB_ESYS);
	assert_int_equal(alb_frame_read_fd(0, (size_t)ALB_FRAME_MAX_LIMIT + 1, &out,
					   &err),
			 ALB_EINVAL);
}

struct writer_arg {
	int fd;
	const uint8_t *data;
	size_t len;
	int rc;
};

static void *writer_thread(void *p)
{
	struct writer_arg *a = p;
	a->rc = alb_frame_write_fd(a->fd, a->data, a->len, NULL);
	return NULL;
}

/* A frame much larger than the socket buffer forces partial writes and
 * short reads on both sides. */
static void test_fd_large(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	int small = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	const size_t len = 3u * 1024 * 1024 + 17;
	uint8_t *data = malloc(len);
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 12));
	struct writer_arg a = { sv[0], data, len, -1 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &a), 0);
	struct alb_buf out = { 0 };
	assert_int_equal(alb_frame_read_fd(sv[1], 0, &out, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, 0);
	assert_int_equal(out.len, len);
	assert_memory_equal(out.data, data, len);
	alb_buf_free(&out);
	free(data);
	close(sv[0]);
	close(sv[1]);
}

/* ---- a peer that went away: EPIPE, never a SIGPIPE ------------------------------ */

/* These run with SIGPIPE at its default disposition (main), which a
 * SIGPIPE would end. */

static void expect_epipe(int fd)
{
	static const uint8_t msg[] = "gone";
	struct alb_error err = {0};
	assert_int_equal(alb_frame_write_fd(fd, msg, sizeof(msg), &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, EPIPE);
}

static void test_fd_peer_gone_socket(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	expect_epipe(sv[0]);
	close(sv[0]);
	/* the peer shut its read side only */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(shutdown(sv[1], SHUT_RD), 0);
	expect_epipe(sv[0]);
	close(sv[0]);
	close(sv[1]);
}

static bool sigpipe_pending(void)
{
	sigset_t p;
	assert_int_equal(sigpending(&p), 0);
	return sigismember(&p, SIGPIPE) == 1;
}

static void test_fd_peer_gone_pipe(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	expect_epipe(p[1]);
	/* the SIGPIPE of the write was taken back, none is left pending */
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &pipe_set, &old), 0);
	assert_false(sigpipe_pending());
	/* one pending before the write (the caller's) stays pending */
	assert_int_equal(raise(SIGPIPE), 0);
	assert_true(sigpipe_pending());
	expect_epipe(p[1]);
	assert_true(sigpipe_pending());
	int sig = 0;
	assert_int_equal(sigwait(&pipe_set, &sig), 0);
	assert_int_equal(sig, SIGPIPE);
	assert_false(sigpipe_pending());
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	close(p[1]);
	/* a pipe with its reader is written as before */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(alb_frame_write_fd(p[1], (const uint8_t *)"ab", 2, NULL), 0);
	struct alb_buf out = {0};
	assert_int_equal(alb_frame_read_fd(p[0], 0, &out, NULL), 0);
	assert_int_equal(out.len, 2);
	alb_buf_free(&out);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	/* the library never raises SIGPIPE: a test that made it would end
	 * here */
	signal(SIGPIPE, SIG_DFL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_new_max),
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_many_frames_take),
		cmocka_unit_test(test_end_of_stream),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_spare_buffer),
		cmocka_unit_test(test_space_advance),
		cmocka_unit_test(test_buffer_grows),
		cmocka_unit_test(test_large_buffer),
		cmocka_unit_test(test_untaken_dropped),
		cmocka_unit_test(test_fd_round_trip),
		cmocka_unit_test(test_fd_large),
		cmocka_unit_test(test_fd_peer_gone_socket),
		cmocka_unit_test(test_fd_peer_gone_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
