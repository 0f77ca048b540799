/* Unit tests: the head of a Unikernel_image reply found from its first
 * bytes (proto/image_reply.h), against what alb_msg_decode() makes of the
 * whole message: every wire vector of $ALB_VECTORS_DIR (by its
 * MANIFEST.tsv, no name or count written here), and replies built here at
 * the DER length boundaries and one past what the layout accepts.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "albatross/name.h"
#include "asn1/der.h"
#include "proto/image_reply.h"
#include "vec_check.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* The layout of the first n bytes of p[0..total), read from a copy of
 * exactly n bytes (a read past them is an ASan error) that is gone before
 * the skeleton is looked at (it must not point into it). */
static int layout(const uint8_t *p, size_t n, size_t total,
		  struct alb_image_reply_layout *lo, struct alb_msg **skeleton,
		  struct alb_error *err)
{
	uint8_t *head = malloc(n > 0 ? n : 1);
	assert_non_null(head);
	memcpy(head, p, n);
	int rc = alb_image_reply_layout(head, n, total, lo, skeleton, err);
	free(head);
	return rc;
}

static bool is_image_reply(const struct alb_msg *m)
{
	return m->kind == ALB_PAYLOAD_SUCCESS &&
	       m->u.success.kind == ALB_REPLY_UNIKERNEL_IMAGE;
}

/* p[0..total), an image reply alb_msg_decode() accepts, read from its
 * first n bytes: the layout places each part where the decoder found it,
 * and the skeleton with the image p[image_off..] put back encodes as
 * want[0..wn). */
static void expect_layout(const uint8_t *p, size_t total, size_t n,
			  const uint8_t *want, size_t wn)
{
	struct alb_msg *m;
	assert_int_equal(alb_msg_decode(p, total, 0, &m, NULL), 0);
	assert_true(is_image_reply(m));
	const struct alb_bytes *img = &m->u.success.u.image.data;
	bool compressed = m->u.success.u.image.compressed;

	struct alb_image_reply_layout lo;
	struct alb_msg *skel = NULL;
	struct alb_error err = {0};
	int rc = layout(p, n, total, &lo, &skel, &err);
	if (rc != 0)
		fail_msg("layout of %zu of %zu bytes: %d %s", n, total, rc, err.msg);
	assert_int_equal(lo.image_len, img->len);
	assert_int_equal(lo.image_off + lo.image_len, total);
	assert_true(lo.image_off <= n);
	if (img->len > 0)
		assert_memory_equal(p + lo.image_off, img->ptr, img->len);
	assert_int_equal(lo.compressed, compressed);
	/* the Header element, then the payload up to the end */
	struct alb_der c, body;
	alb_der_init(&c, p, total);
	assert_int_equal(alb_der_get(&c, ALB_DER_SEQUENCE, &body, "wire", NULL), 0);
	assert_ptr_equal(body.ptr, p + lo.header_off);
	alb_der_init(&c, p + lo.header_off, lo.header_len);
	assert_int_equal(alb_der_get(&c, ALB_DER_SEQUENCE, &body, "header", NULL), 0);
	assert_int_equal(c.len, 0);
	assert_int_equal(lo.payload_off, lo.header_off + lo.header_len);
	assert_int_equal(p[lo.payload_off], ALB_DER_EXPLICIT(1));

	assert_non_null(skel);
	assert_true(is_image_reply(skel));
	assert_int_equal(skel->u.success.u.image.data.len, 0);
	assert_int_equal(skel->u.success.u.image.compressed, compressed);
	assert_int_equal(skel->header.version, m->header.version);
	assert_int_equal(skel->header.sequence, m->header.sequence);
	assert_string_equal(skel->header.name, m->header.name);
	skel->u.success.u.image.data = (struct alb_bytes){p + lo.image_off, lo.image_len};
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(skel, 0, &out, NULL), 0);
	assert_int_equal(out.len, wn);
	assert_memory_equal(out.data, want, wn);
	alb_buf_free(&out);
	alb_msg_free(skel);
	alb_msg_free(m);
}

/* p[0..total) read from its first n bytes is refused: ALB_ENOENT (not an
 * image reply), or an error of the decoder when decode_rc is one. */
static void expect_refused(const uint8_t *p, size_t total, size_t n, int decode_rc)
{
	static struct alb_msg sentinel; /* the layout must reset the pointer */
	struct alb_image_reply_layout lo;
	struct alb_msg *skel = &sentinel;
	struct alb_error err = {0};
	int rc = layout(p, n, total, &lo, &skel, &err);
	if (rc != ALB_ENOENT && (decode_rc == 0 || rc != decode_rc))
		fail_msg("layout of %zu of %zu bytes: %d (%s), want %d or %d", n, total,
			 rc, err.msg, ALB_ENOENT, decode_rc);
	assert_null(skel);
}

/* ---- the vectors -------------------------------------------------------- */

/* Every wire vector: an image reply is found, its skeleton with the image
 * put back encodes as the vector (or as the decoder re-encodes it, for one
 * Albatross re-encodes differently); any other message is ALB_ENOENT; one
 * the decoder refuses is refused too. */
static void test_vectors(void **state)
{
	(void)state;
	const char *dir = vec_dir();
	if (!vec_present(dir))
		skip();
	struct vec_entry *e;
	size_t rows = vec_manifest(dir, &e);
	assert_true(rows > 0);
	size_t images = 0, others = 0, refused = 0;
	for (size_t i = 0; i < rows; i++) {
		if (strcmp(e[i].kind, "wire") != 0)
			continue;
		size_t len;
		uint8_t *b = vec_read_at(dir, e[i].file, &len);
		if (b == NULL)
			fail_msg("%s: cannot read %s", e[i].name, e[i].file);
		size_t n = MIN(len, ALB_IMAGE_REPLY_HEAD_MAX);
		struct alb_msg *m;
		int drc = alb_msg_decode(b, len, 0, &m, NULL);
		printf("%s: %s\n", e[i].name,
		       drc != 0 ? "refused" : is_image_reply(m) ? "image reply" : "other");
		if (drc == 0 && is_image_reply(m)) {
			struct alb_buf re = {0};
			assert_int_equal(alb_msg_encode(m, 0, &re, NULL), 0);
			if (vec_expect_of(e[i].expect) == VEC_OK_ROUNDTRIP)
				expect_layout(b, len, n, b, len);
			else
				expect_layout(b, len, n, re.data, re.len);
			expect_layout(b, len, len, re.data, re.len);
			alb_buf_free(&re);
			images++;
		} else if (drc == 0) {
			expect_refused(b, len, n, 0);
			others++;
		} else {
			expect_refused(b, len, n, drc);
			refused++;
		}
		alb_msg_free(m);
		free(b);
	}
	free(e);
	printf("%s: %zu image replies, %zu other messages, %zu refused\n", dir, images,
	       others, refused);
}

/* ---- replies built with alb_msg_encode() ---------------------------------- */

/* The longest name: 16 labels of ALB_LABEL_MAX bytes, ALB_NAME_MAX in all. */
static const char *longest_name(void)
{
	static char name[ALB_NAME_BUF];
	size_t n = 0;
	for (int i = 0; n < ALB_NAME_MAX; i++) {
		if (i > 0)
			name[n++] = ':';
		memset(name + n, 'a' + i, ALB_LABEL_MAX);
		n += ALB_LABEL_MAX;
	}
	assert_int_equal(n, ALB_NAME_MAX);
	name[n] = '\0';
	return name;
}

static struct alb_msg reply(const char *name, enum alb_reply_kind kind, bool compressed,
			    const uint8_t *p, size_t len)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.sequence = -2;
	m.header.name = name;
	m.kind = ALB_PAYLOAD_SUCCESS;
	m.u.success.kind = kind;
	m.u.success.u.image.compressed = compressed;
	m.u.success.u.image.data = (struct alb_bytes){p, len};
	return m;
}

static void encode(const struct alb_msg *m, struct alb_buf *out)
{
	memset(out, 0, sizeof(*out));
	assert_int_equal(alb_msg_encode(m, 0, out, NULL), 0);
}

/* Images whose OCTET STRING (and so every enclosing element) needs 0, 1, 2
 * and 3 length octets, at and one past each boundary; the shortest and the
 * longest name. Read from min(total, ALB_IMAGE_REPLY_HEAD_MAX) bytes and
 * whole; one byte more or less than the message is not one. */
static void test_sizes(void **state)
{
	(void)state;
	static const size_t sizes[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 70000};
	static uint8_t image[70000];
	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = (uint8_t)(i * 7 + (i >> 8));
	const char *names[] = {":", longest_name()};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
		for (size_t k = 0; k < 2; k++)
			for (int z = 0; z <= 1; z++) {
				struct alb_msg m = reply(names[k], ALB_REPLY_UNIKERNEL_IMAGE,
							 z, image, sizes[s]);
				struct alb_buf b;
				encode(&m, &b);
				size_t n = MIN(b.len, ALB_IMAGE_REPLY_HEAD_MAX);
				expect_layout(b.data, b.len, n, b.data, b.len);
				expect_layout(b.data, b.len, b.len, b.data, b.len);
				/* the head ends where the image starts: all of
				 * it is needed, and nothing more */
				struct alb_image_reply_layout lo;
				assert_int_equal(layout(b.data, n, b.len, &lo, NULL, NULL), 0);
				assert_true(lo.image_off <= ALB_IMAGE_REPLY_HEAD_MAX);
				expect_layout(b.data, b.len, lo.image_off, b.data, b.len);
				expect_refused(b.data, b.len, lo.image_off - 1, 0);
				/* a trailing byte; the last byte missing */
				uint8_t *more = malloc(b.len + 1);
				memcpy(more, b.data, b.len);
				more[b.len] = 0;
				expect_refused(more, b.len + 1, MIN(b.len + 1, n), 0);
				expect_refused(more, b.len - 1, MIN(b.len - 1, n), 0);
				free(more);
				alb_buf_free(&b);
			}
}

/* Other replies, a failure and a command carrying an image: ALB_ENOENT. */
static void test_other_messages(void **state)
{
	(void)state;
	static const uint8_t data[300] = {1, 2, 3};
	struct alb_msg msgs[4];
	msgs[0] = reply(":x", ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE, true, data, sizeof(data));
	msgs[1] = reply(":x", ALB_REPLY_BLOCK_DEVICE_IMAGE, false, NULL, 0);
	msgs[1].u.success.u.block_compressed = true;
	msgs[2] = reply(":x", ALB_REPLY_EMPTY, false, NULL, 0);
	msgs[2].kind = ALB_PAYLOAD_FAILURE;
	msgs[2].u.failure = (struct alb_str){"no such unikernel", 17};
	msgs[3] = reply(":x", ALB_REPLY_EMPTY, false, NULL, 0);
	msgs[3].kind = ALB_PAYLOAD_COMMAND;
	msgs[3].u.command.kind = ALB_CMD_UNIKERNEL_CREATE;
	msgs[3].u.command.u.create.image = (struct alb_bytes){data, sizeof(data)};
	msgs[3].u.command.u.create.numcpus = 1;
	for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++) {
		struct alb_buf b;
		encode(&msgs[i], &b);
		expect_refused(b.data, b.len, b.len, 0);
		alb_buf_free(&b);
	}
	struct alb_image_reply_layout lo;
	struct alb_error err = {0};
	uint8_t one = 0x30;
	assert_int_equal(alb_image_reply_layout(&one, 1, 0, &lo, NULL, &err), ALB_EINVAL);
	assert_int_equal(alb_image_reply_layout(NULL, 0, 0, &lo, NULL, &err), ALB_EINVAL);
	expect_refused(&one, 0, 0, 0);
}

/* ---- replies built element by element ------------------------------------ */

/* Where build() puts a NULL element that does not belong. */
enum extra { NONE, IN_SEQUENCE, IN_IMAGE, IN_SUCCESS, IN_WIRE, AFTER_WIRE };

/* SEQUENCE { header (version, sequence 7, ":x"), [1] { [tag] { SEQUENCE {
 * boolean, OCTET STRING of len bytes } } } }, with a NULL at x. */
static void build(struct alb_buf *out, int64_t version, unsigned tag,
		  const uint8_t *boolean, size_t bl, size_t len, enum extra x)
{
	static uint8_t bytes[300];
	assert_true(len <= sizeof(bytes));
	memset(bytes, 0x5a, len);
	struct alb_derw w;
	alb_derw_init(&w, 0);
	if (x == AFTER_WIRE)
		alb_derw_null(&w);
	size_t wire = alb_derw_len(&w);
	if (x == IN_WIRE)
		alb_derw_null(&w);
	size_t success = alb_derw_len(&w);
	if (x == IN_SUCCESS)
		alb_derw_null(&w);
	size_t image = alb_derw_len(&w);
	if (x == IN_IMAGE)
		alb_derw_null(&w);
	size_t seq = alb_derw_len(&w);
	if (x == IN_SEQUENCE)
		alb_derw_null(&w);
	alb_derw_octets(&w, bytes, len);
	alb_derw_bytes(&w, boolean, bl);
	alb_derw_close(&w, ALB_DER_SEQUENCE, seq);
	alb_derw_close(&w, ALB_DER_EXPLICIT(tag), image);
	alb_derw_close(&w, ALB_DER_EXPLICIT(1), success);
	size_t h = alb_derw_len(&w);
	alb_derw_utf8(&w, ":x", 2);
	alb_derw_int64(&w, 7);
	alb_derw_int(&w, version);
	alb_derw_close(&w, ALB_DER_SEQUENCE, h);
	alb_derw_close(&w, ALB_DER_SEQUENCE, wire);
	memset(out, 0, sizeof(*out));
	assert_int_equal(alb_derw_finish(&w, false, out, NULL), 0);
}

static const uint8_t true_der[] = {0x01, 0x01, 0xff};

/* An element after the image at any level, or after the message: not an
 * image reply, and the decoder says why. */
static void test_trailing(void **state)
{
	(void)state;
	struct alb_buf b;
	build(&b, ALB_WIRE_VERSION, 6, true_der, 3, 200, NONE);
	struct alb_msg *m;
	assert_int_equal(alb_msg_decode(b.data, b.len, 0, &m, NULL), 0);
	struct alb_buf re;
	encode(m, &re);
	assert_int_equal(re.len, b.len);
	assert_memory_equal(re.data, b.data, b.len);
	expect_layout(b.data, b.len, b.len, b.data, b.len);
	alb_msg_free(m);
	alb_buf_free(&re);
	alb_buf_free(&b);
	for (int x = IN_SEQUENCE; x <= AFTER_WIRE; x++) {
		build(&b, ALB_WIRE_VERSION, 6, true_der, 3, 200, (enum extra)x);
		assert_int_equal(alb_msg_decode(b.data, b.len, 0, &m, NULL), ALB_EPARSE);
		expect_refused(b.data, b.len, b.len, 0);
		alb_buf_free(&b);
	}
}

/* A version other than 5 in a reply shaped right: the decoder's error. */
static void test_version(void **state)
{
	(void)state;
	static const int64_t versions[] = {4, 6, 0, -5};
	for (size_t i = 0; i < sizeof(versions) / sizeof(*versions); i++) {
		struct alb_buf b;
		build(&b, versions[i], 6, true_der, 3, 10, NONE);
		struct alb_msg *m, *skel = NULL;
		struct alb_error derr = {0}, err = {0};
		int drc = alb_msg_decode(b.data, b.len, 0, &m, &derr);
		assert_int_equal(drc, ALB_EPARSE);
		struct alb_image_reply_layout lo;
		assert_int_equal(layout(b.data, b.len, b.len, &lo, &skel, &err), drc);
		assert_string_equal(err.msg, derr.msg);
		assert_null(skel);
		alb_buf_free(&b);
	}
}

/* The BOOLEAN as the decoder reads it (Albatross: any non-zero octet is
 * true). One of another length is the decoder's error; one that is not a
 * primitive BOOLEAN with a DER length is not shaped like an image reply. */
static void test_boolean(void **state)
{
	(void)state;
	static const struct {
		uint8_t der[4];
		size_t len;
		int rc;
	} cases[] = {
		{{0x01, 0x01, 0x00}, 3, 0},
		{{0x01, 0x01, 0xff}, 3, 0},
		{{0x01, 0x01, 0x01}, 3, 0},
		{{0x01, 0x01, 0x80}, 3, 0},
		{{0x01, 0x00}, 2, ALB_EPARSE},             /* no octet */
		{{0x01, 0x02, 0x00, 0xff}, 4, ALB_EPARSE}, /* two */
		{{0x01, 0x81, 0x01, 0xff}, 4, ALB_ENOENT}, /* a redundant long form */
		{{0x21, 0x01, 0xff}, 3, ALB_ENOENT},       /* constructed */
		{{0x02, 0x01, 0xff}, 3, ALB_ENOENT},       /* an INTEGER */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct alb_buf b;
		build(&b, ALB_WIRE_VERSION, 6, cases[i].der, cases[i].len, 100, NONE);
		struct alb_msg *m;
		struct alb_error derr = {0}, err = {0};
		int drc = alb_msg_decode(b.data, b.len, 0, &m, &derr);
		if (cases[i].rc == 0) {
			assert_int_equal(drc, 0);
			struct alb_buf re;
			encode(m, &re);
			expect_layout(b.data, b.len, b.len, re.data, re.len);
			alb_buf_free(&re);
			alb_msg_free(m);
		} else {
			assert_int_equal(drc, ALB_EPARSE);
			struct alb_image_reply_layout lo;
			struct alb_msg *skel = NULL;
			assert_int_equal(layout(b.data, b.len, b.len, &lo, &skel, &err),
					 cases[i].rc);
			if (cases[i].rc == ALB_EPARSE)
				assert_string_equal(err.msg, derr.msg);
			assert_null(skel);
		}
		alb_buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_other_messages),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_boolean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
