/* Unit tests: the strict DER reader and the reverse writer (spec §1.1).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asn1/der.h"

#define CUR(name, ...)                                                      \
	static const uint8_t name##_bytes[] = {__VA_ARGS__};                \
	struct alb_der name;                                                \
	alb_der_init(&name, name##_bytes, sizeof(name##_bytes))

/* A read fails with exactly `text` and leaves the cursor where it was. */
#define ASSERT_FAILS(call, cur, text)                                       \
	do {                                                                \
		struct alb_der before_ = (cur);                             \
		struct alb_error e_;                                        \
		memset(&e_, 0, sizeof(e_));                                 \
		struct alb_error *err = &e_;                                \
		assert_int_equal((call), ALB_EPARSE);                       \
		assert_string_equal(e_.msg, (text));                        \
		assert_ptr_equal((cur).ptr, before_.ptr);                   \
		assert_int_equal((cur).len, before_.len);                   \
	} while (0)

static int64_t get_int_ok(const uint8_t *b, size_t n)
{
	struct alb_der c;
	int64_t v = 0;
	alb_der_init(&c, b, n);
	assert_int_equal(alb_der_get_int(&c, &v, "x", NULL), 0);
	assert_int_equal(c.len, 0);
	return v;
}

static void test_length_forms(void **state)
{
	(void)state;
	uint8_t buf[2 + 2 + 256];
	struct alb_der c, body;
	unsigned tag;
	/* 127: the longest short form */
	memset(buf, 0xaa, sizeof(buf));
	buf[0] = 0x04;
	buf[1] = 0x7f;
	alb_der_init(&c, buf, 2 + 127);
	assert_int_equal(alb_der_get_any(&c, &tag, &body, NULL), 0);
	assert_int_equal(tag, 0x04);
	assert_int_equal(body.len, 127);
	/* 127 in long form is accepted (asn1-combinators checks < 0x7f) */
	buf[1] = 0x81;
	buf[2] = 0x7f;
	alb_der_init(&c, buf, 3 + 127);
	assert_int_equal(alb_der_get_any(&c, &tag, &body, NULL), 0);
	assert_int_equal(body.len, 127);
	/* 126 in long form is redundant */
	buf[2] = 0x7e;
	alb_der_init(&c, buf, 3 + 126);
	{
		struct alb_error err;
		assert_int_equal(alb_der_get_any(&c, &tag, &body, &err), ALB_EPARSE);
		/* the enclosing contents are dumped, 8 bytes a group, the
		 * first ALB_DER_DUMP_MAX of them */
		assert_memory_equal(err.msg, "Header: at 04817eaaaaaaaaaa aaaa", 32);
		const char *tail = "aaaa...: redundant form";
		assert_string_equal(err.msg + strlen(err.msg) - strlen(tail), tail);
	}
	/* 128: the shortest long form */
	buf[2] = 0x80;
	alb_der_init(&c, buf, 3 + 128);
	assert_int_equal(alb_der_get_any(&c, &tag, &body, NULL), 0);
	assert_int_equal(body.len, 128);
	/* 256 needs two octets; a leading zero octet is redundant */
	buf[1] = 0x82;
	buf[2] = 0x01;
	buf[3] = 0x00;
	alb_der_init(&c, buf, 4 + 256);
	assert_int_equal(alb_der_get_any(&c, &tag, &body, NULL), 0);
	assert_int_equal(body.len, 256);
	{
		CUR(r, 0x04, 0x82, 0x00, 0x80);
		ASSERT_FAILS(alb_der_get_any(&r, &tag, &body, err), r,
			     "Header: at 04820080: redundant length");
	}
	{
		CUR(r, 0x05, 0x81, 0x00);
		ASSERT_FAILS(alb_der_get_any(&r, &tag, &body, err), r,
			     "Header: at 058100: redundant length");
	}
}

static void test_length_limits(void **state)
{
	(void)state;
	unsigned tag;
	struct alb_der body;
	/* ALB_DER_LEN_OCTETS_MAX octets parse (then the contents are missing) */
	{
		CUR(c, 0x04, 0x88, 0x01, 0, 0, 0, 0, 0, 0, 0);
		ASSERT_FAILS(alb_der_get_any(&c, &tag, &body, err), c,
			     "Unexpected EOF: contents of 72057594037927936 "
			     "bytes, 0 left");
	}
	/* one more octet overflows */
	{
		CUR(c, 0x04, 0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0);
		ASSERT_FAILS(alb_der_get_any(&c, &tag, &body, err), c,
			     "Header: at 0489010000000000 000000: length overflow");
	}
	/* 8 octets above OCaml's max_int overflow too */
	{
		CUR(c, 0x04, 0x88, 0x40, 0, 0, 0, 0, 0, 0, 0);
		ASSERT_FAILS(alb_der_get_any(&c, &tag, &body, err), c,
			     "Header: at 0488400000000000 0000: length overflow");
	}
	/* indefinite lengths */
	{
		CUR(c, 0x30, 0x80, 0x00, 0x00);
		ASSERT_FAILS(alb_der_get_any(&c, &tag, &body, err), c,
			     "Constructed indefinite form");
	}
	{
		CUR(c, 0x04, 0x80, 0x00, 0x00);
		ASSERT_FAILS(alb_der_get_any(&c, &tag, &body, err), c,
			     "Header: at 04800000: primitive and indefinite length");
	}
	/* high tag numbers are not used by Albatross */
	{
		CUR(c, 0x1f, 0x20, 0x00);
		ASSERT_FAILS(alb_der_get_any(&c, &tag, &body, err), c,
			     "Header: at 1f2000: unsupported high tag number");
	}
}

/* The header of an element whose contents are not there (yet): read with
 * the checks of every read but the contents' presence, cursor unmoved. */
static void test_peek_header(void **state)
{
	(void)state;
	static const struct {
		uint8_t b[11];
		size_t n;
		unsigned tag;
		size_t hlen, clen;
		const char *fails; /* NULL: read */
	} cases[] = {
		{{0x05, 0x00}, 2, 0x05, 2, 0, NULL},
		{{0x30, 0x7f}, 2, 0x30, 2, 127, NULL},
		{{0x04, 0x81, 0x7f}, 3, 0x04, 3, 127, NULL}, /* the `< 0x7f` quirk */
		{{0x04, 0x81, 0x80}, 3, 0x04, 3, 128, NULL},
		{{0xa6, 0x82, 0x01, 0x00}, 4, 0xa6, 4, 256, NULL},
		{{0x04, 0x83, 0x01, 0x11, 0x70}, 5, 0x04, 5, 70000, NULL},
		/* ALB_DER_LEN_OCTETS_MAX octets, up to OCaml's max_int */
		{{0x04, 0x88, 0x3f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 10, 0x04, 10,
		 (size_t)ALB_DER_INT_MAX, NULL},
		/* cut headers */
		{{0}, 0, 0, 0, 0, "Unexpected EOF: truncated header (0 of 2 bytes)"},
		{{0x30}, 1, 0, 0, 0, "Unexpected EOF: truncated header (1 of 2 bytes)"},
		{{0x04, 0x81}, 2, 0, 0, 0, "Unexpected EOF: truncated length (0 of 1 octets)"},
		{{0x04, 0x82, 0x01}, 3, 0, 0, 0,
		 "Unexpected EOF: truncated length (1 of 2 octets)"},
		/* redundant long forms */
		{{0x04, 0x81, 0x7e}, 3, 0, 0, 0, "Header: at 04817e: redundant form"},
		{{0x04, 0x81, 0x00}, 3, 0, 0, 0, "Header: at 048100: redundant length"},
		{{0x04, 0x82, 0x00, 0x80}, 4, 0, 0, 0, "Header: at 04820080: redundant length"},
		/* one past max_int, one octet too many, indefinite, high tag */
		{{0x04, 0x88, 0x40, 0, 0, 0, 0, 0, 0, 0}, 10, 0, 0, 0,
		 "Header: at 0488400000000000 0000: length overflow"},
		{{0x04, 0x89, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, 11, 0, 0, 0,
		 "Header: at 0489010000000000 000000: length overflow"},
		{{0x30, 0x80}, 2, 0, 0, 0, "Constructed indefinite form"},
		{{0x1f, 0x20}, 2, 0, 0, 0, "Header: at 1f20: unsupported high tag number"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct alb_der c, body;
		alb_der_init(&c, cases[i].b, cases[i].n);
		unsigned tag = 1, any;
		size_t hlen = 1, clen = 1;
		struct alb_error err = {0}, any_err = {0};
		int rc = alb_der_peek_header(&c, &tag, &hlen, &clen, &err);
		assert_ptr_equal(c.ptr, cases[i].b);
		assert_int_equal(c.len, cases[i].n);
		/* a read needs the contents too */
		int any_rc = alb_der_get_any(&c, &any, &body, &any_err);
		assert_int_equal(any_rc, cases[i].clen > 0 || cases[i].fails ? ALB_EPARSE : 0);
		if (cases[i].fails != NULL) {
			assert_int_equal(rc, ALB_EPARSE);
			assert_string_equal(err.msg, cases[i].fails);
			/* a read's refusal (of an empty cursor: "no element") */
			if (cases[i].n > 0)
				assert_string_equal(any_err.msg, cases[i].fails);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu: %s", i, err.msg);
		assert_int_equal(tag, cases[i].tag);
		assert_int_equal(hlen, cases[i].hlen);
		assert_int_equal(clen, cases[i].clen);
	}
	/* With its contents there, what a read finds. */
	uint8_t buf[4 + 256] = {0xa6, 0x82, 0x01, 0x00};
	struct alb_der c, body;
	unsigned tag, any;
	size_t hlen, clen;
	alb_der_init(&c, buf, sizeof(buf));
	assert_int_equal(alb_der_peek_header(&c, &tag, &hlen, &clen, NULL), 0);
	assert_int_equal(alb_der_get_any(&c, &any, &body, NULL), 0);
	assert_int_equal(tag, any);
	assert_ptr_equal(body.ptr, buf + hlen);
	assert_int_equal(body.len, clen);
}

static void test_truncation_everywhere(void **state)
{
	(void)state;
	/* SEQUENCE { INTEGER 300, [1] { OCTET STRING "abc" }, NULL } */
	static const uint8_t msg[] = {0x30, 0x10, 0x02, 0x02, 0x01, 0x2c, 0xa1,
				      0x05, 0x04, 0x03, 'a',  'b',  'c',  0x05,
				      0x00, 0x01, 0x01, 0xff};
	for (size_t n = 0; n < sizeof(msg); n++) {
		struct alb_der c, body;
		unsigned tag;
		alb_der_init(&c, msg, n);
		int rc = alb_der_get_any(&c, &tag, &body, NULL);
		assert_int_equal(rc, ALB_EPARSE);
		assert_ptr_equal(c.ptr, msg);
		assert_int_equal(c.len, n);
	}
	struct alb_der c, seq, inner;
	alb_der_init(&c, msg, sizeof(msg));
	assert_int_equal(alb_der_get(&c, ALB_DER_SEQUENCE, &seq, "s", NULL), 0);
	int64_t v;
	struct alb_bytes s;
	bool b;
	assert_int_equal(alb_der_get_int(&seq, &v, "i", NULL), 0);
	assert_int_equal(v, 300);
	assert_int_equal(alb_der_get_explicit(&seq, 1, &inner, "e", NULL), 0);
	assert_int_equal(alb_der_get_octets(&inner, &s, "o", NULL), 0);
	assert_memory_equal(s.ptr, "abc", 3);
	assert_int_equal(alb_der_get_null(&seq, "n", NULL), 0);
	assert_int_equal(alb_der_get_bool(&seq, &b, "b", NULL), 0);
	assert_true(b);
	assert_int_equal(alb_der_end(&seq, NULL), 0);
	assert_int_equal(c.len, 0);
}

static void test_integers(void **state)
{
	(void)state;
	assert_int_equal(get_int_ok((const uint8_t *)"\x02\x01\x00", 3), 0);
	assert_int_equal(get_int_ok((const uint8_t *)"\x02\x01\x7f", 3), 127);
	assert_int_equal(get_int_ok((const uint8_t *)"\x02\x02\x00\x80", 4), 128);
	assert_int_equal(get_int_ok((const uint8_t *)"\x02\x01\x80", 3), -128);
	assert_int_equal(get_int_ok((const uint8_t *)"\x02\x02\xff\x7f", 4), -129);
	assert_int_equal(get_int_ok((const uint8_t *)"\x02\x01\xff", 3), -1);
	/* OCaml's max_int and min_int: the limits */
	assert_int_equal(get_int_ok((const uint8_t *)"\x02\x08\x3f\xff\xff\xff\xff\xff\xff\xff", 10),
			 ALB_DER_INT_MAX);
	assert_int_equal(get_int_ok((const uint8_t *)"\x02\x08\xc0\x00\x00\x00\x00\x00\x00\x00", 10),
			 ALB_DER_INT_MIN);
	int64_t v;
	{
		CUR(c, 0x02, 0x08, 0x40, 0, 0, 0, 0, 0, 0, 0);
		ASSERT_FAILS(alb_der_get_int(&c, &v, "x", err), c,
			     "INTEGER: int overflow: 4000000000000000");
	}
	{
		CUR(c, 0x02, 0x08, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
		ASSERT_FAILS(alb_der_get_int(&c, &v, "x", err), c,
			     "INTEGER: int overflow: bfffffffffffffff");
	}
	{
		CUR(c, 0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0);
		ASSERT_FAILS(alb_der_get_int(&c, &v, "x", err), c,
			     "INTEGER: int overflow: 0100000000000000 00");
	}
	{
		CUR(c, 0x02, 0x02, 0x00, 0x05);
		ASSERT_FAILS(alb_der_get_int(&c, &v, "x", err), c,
			     "INTEGER: redundant form");
	}
	{
		CUR(c, 0x02, 0x02, 0xff, 0x80);
		ASSERT_FAILS(alb_der_get_int(&c, &v, "x", err), c,
			     "INTEGER: redundant form");
	}
	{
		CUR(c, 0x02, 0x00);
		ASSERT_FAILS(alb_der_get_int(&c, &v, "x", err), c, "INTEGER: length 0");
	}
	{
		CUR(c, 0x04, 0x01, 0x00);
		ASSERT_FAILS(alb_der_get_int(&c, &v, "x", err), c,
			     "Type mismatch: expected: (Primitive UNIVERSAL 2) got: "
			     "(Primitive UNIVERSAL 4)");
	}
	{
		CUR(c, 0x22, 0x03, 0x02, 0x01, 0x00);
		ASSERT_FAILS(alb_der_get_int(&c, &v, "x", err), c,
			     "Type mismatch: expected: (Primitive UNIVERSAL 2) got: "
			     "(Constructed UNIVERSAL 2)");
	}
	/* int32 keeps the low 32 bits as OCaml's Int32.of_int does */
	int32_t i32;
	{
		CUR(c, 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x07);
		assert_int_equal(alb_der_get_int32(&c, &i32, "x", NULL), 0);
		assert_int_equal(i32, 7);
	}
	{
		CUR(c, 0x02, 0x05, 0x00, 0x80, 0x00, 0x00, 0x00);
		assert_int_equal(alb_der_get_int32(&c, &i32, "x", NULL), 0);
		assert_int_equal(i32, INT32_MIN);
	}
	{
		CUR(c, 0x02, 0x04, 0x7f, 0xff, 0xff, 0xff);
		assert_int_equal(alb_der_get_int32(&c, &i32, "x", NULL), 0);
		assert_int_equal(i32, INT32_MAX);
	}
}

static void test_dump_limit(void **state)
{
	(void)state;
	/* an over-long INTEGER is dumped whole at ALB_DER_DUMP_MAX bytes... */
	uint8_t b[4 + ALB_DER_DUMP_MAX + 1];
	memset(b, 0x11, sizeof(b));
	b[0] = 0x02;
	b[1] = 0x81;
	b[2] = ALB_DER_DUMP_MAX;
	struct alb_der c;
	struct alb_error err;
	int64_t v;
	alb_der_init(&c, b, 3 + ALB_DER_DUMP_MAX);
	assert_int_equal(alb_der_get_int(&c, &v, "x", &err), ALB_EPARSE);
	size_t want = strlen("INTEGER: int overflow: ") + 2 * ALB_DER_DUMP_MAX +
		      ALB_DER_DUMP_MAX / 8 - 1;
	assert_int_equal(strlen(err.msg), want);
	assert_int_equal(err.msg[want - 1], '1');
	/* ...and cut with "..." one byte past it */
	b[2] = ALB_DER_DUMP_MAX + 1;
	alb_der_init(&c, b, 3 + ALB_DER_DUMP_MAX + 1);
	assert_int_equal(alb_der_get_int(&c, &v, "x", &err), ALB_EPARSE);
	assert_int_equal(strlen(err.msg), want + 3);
	assert_string_equal(err.msg + want, "...");
}

static void test_int64(void **state)
{
	(void)state;
	int64_t v;
	{
		CUR(c, 0x04, 0x08, 0x80, 0, 0, 0, 0, 0, 0, 0);
		assert_int_equal(alb_der_get_int64(&c, &v, "x", NULL), 0);
		assert_true(v == INT64_MIN);
	}
	{
		CUR(c, 0x04, 0x08, 0x01, 2, 3, 4, 5, 6, 7, 8);
		assert_int_equal(alb_der_get_int64(&c, &v, "x", NULL), 0);
		assert_int_equal(v, 0x0102030405060708);
	}
	/* 9 bytes: Albatross uses the first 8 (lenient_sequence_9_bytes) */
	{
		CUR(c, 0x04, 0x09, 0, 0, 0, 0, 0, 0, 0, 1, 2);
		assert_int_equal(alb_der_get_int64(&c, &v, "x", NULL), 0);
		assert_int_equal(v, 1);
		assert_int_equal(c.len, 0);
	}
	/* 7 bytes: Albatross crashes, we refuse */
	{
		CUR(c, 0x04, 0x07, 0, 0, 0, 0, 0, 0, 1);
		ASSERT_FAILS(alb_der_get_int64(&c, &v, "x", err), c,
			     "int64: OCTET STRING of 7 bytes, expected 8");
	}
	{
		CUR(c, 0x24, 0x0a, 0x04, 0x08, 0, 0, 0, 0, 0, 0, 0, 1);
		ASSERT_FAILS(alb_der_get_int64(&c, &v, "x", err), c,
			     "Type mismatch: expected: (ANY UNIVERSAL 4) got: "
			     "(Constructed UNIVERSAL 4)");
	}
}

static void test_bool_null(void **state)
{
	(void)state;
	bool b = true;
	{
		CUR(c, 0x01, 0x01, 0x00);
		assert_int_equal(alb_der_get_bool(&c, &b, "x", NULL), 0);
		assert_false(b);
	}
	{
		CUR(c, 0x01, 0x01, 0x01);
		assert_int_equal(alb_der_get_bool(&c, &b, "x", NULL), 0);
		assert_true(b);
	}
	{
		CUR(c, 0x01, 0x01, 0xff);
		b = false;
		assert_int_equal(alb_der_get_bool(&c, &b, "x", NULL), 0);
		assert_true(b);
	}
	{
		CUR(c, 0x01, 0x02, 0xff, 0xff);
		ASSERT_FAILS(alb_der_get_bool(&c, &b, "x", err), c, "BOOLEAN: ffff");
	}
	{
		CUR(c, 0x01, 0x00);
		ASSERT_FAILS(alb_der_get_bool(&c, &b, "x", err), c, "BOOLEAN: ");
	}
	{
		CUR(c, 0x05, 0x00);
		assert_int_equal(alb_der_get_null(&c, "x", NULL), 0);
	}
	{
		CUR(c, 0x05, 0x01, 0x00);
		ASSERT_FAILS(alb_der_get_null(&c, "x", err), c, "NULL: 00");
	}
	{
		struct alb_der c;
		alb_der_init(&c, NULL, 0);
		ASSERT_FAILS(alb_der_get_null(&c, "payload", err), c,
			     "SEQUENCE: missing required: payload");
	}
}

static int time_of(const char *s, struct alb_time *t, struct alb_error *err)
{
	uint8_t buf[64];
	size_t n = strlen(s);
	buf[0] = 0x18;
	buf[1] = (uint8_t)n;
	memcpy(buf + 2, s, n);
	struct alb_der c;
	alb_der_init(&c, buf, 2 + n);
	return alb_der_get_time(&c, t, "t", err);
}

/* GeneralizedTime strings as Albatross reads them (asn1-combinators'
 * Scanf reader, lib/asn1/der_time.c): the UTC value or the error text. */
struct time_case {
	const char *in;
	int64_t sec;
	uint32_t nsec;
	const char *error; /* NULL when accepted */
};

static const struct time_case time_cases[] = {
	{"19700101000000Z", 0, 0, NULL},
	{"20240229123456Z", 1709210096, 0, NULL},
	{"20240229123456.123Z", 1709210096, 123000000, NULL},
	/* the fraction is a number of milliseconds: ".5" is 5 ms */
	{"20240229123456.5Z", 1709210096, 5000000, NULL},
	{"20240229123456.50Z", 1709210096, 50000000, NULL},
	{"20240229123456.500Z", 1709210096, 500000000, NULL},
	{"20240229123456.05Z", 1709210096, 5000000, NULL},
	/* the lenient vectors: a 4th digit (read as an unfinished zone), no zone */
	{"20240229123456.1234Z", 1709210096, 123000000, NULL},
	{"20240229123456", 1709210096, 0, NULL},
	/* zone offsets, converted to UTC */
	{"20240229123456+0100", 1709206496, 0, NULL},
	{"20240229123456-0530", 1709229896, 0, NULL},
	{"20240229123456.123+0100", 1709206496, 123000000, NULL},
	{"20240229123456+0000", 1709210096, 0, NULL},
	/* the offset is not range checked */
	{"20240229123456+9999", 1708847756, 0, NULL},
	/* no seconds, no minutes */
	{"202402291234Z", 1709210040, 0, NULL},
	{"202402291234", 1709210040, 0, NULL},
	{"202402291234+0100", 1709206440, 0, NULL},
	{"2024022912Z", 1709208000, 0, NULL},
	{"2024022912", 1709208000, 0, NULL},
	{"2024022912-0100", 1709211600, 0, NULL},
	/* short last fields: "5" seconds, "3" minutes */
	{"2024022912345Z", 1709210045, 0, NULL},
	{"20240229123Z", 1709208180, 0, NULL},
	/* a '.' without digits, an offset that does not end the string or
	 * is incomplete: UTC */
	{"20240229123456.Z", 1709210096, 0, NULL},
	{"20240229123456.", 1709210096, 0, NULL},
	{"20240229123456+01", 1709210096, 0, NULL},
	{"20240229123456+0100Z", 1709210096, 0, NULL},
	{"20240229123456-", 1709210096, 0, NULL},
	/* fraction digits past the 3rd are read as a zone */
	{"20240229123456.1234567Z", 1709210096, 123000000, NULL},
	{"20240229123456.123456", 1709047736, 123000000, NULL},
	/* Scanf's digits may hold '_' (it counts in the field width) */
	{"202_0228123456Z", -55787657104, 0, NULL},
	/* a leap second is the next second */
	{"20241231235960Z", 1735689600, 0, NULL},
	/* the range: 0000-01-01 .. 9999-12-31 UTC */
	{"00000101000000Z", -62167219200, 0, NULL},
	{"99991231235959Z", 253402300799, 0, NULL},
	{"99991231235959.999Z", 253402300799, 999000000, NULL},
	{"19691231235959Z", -1, 0, NULL},
	{"00000101000000+0001", 0, 0, "out of range"},
	{"99991231235959-0001", 0, 0, "out of range"},
	{"20230229123456Z", 0, 0, "out of range"},
	{"20241301000000Z", 0, 0, "out of range"},
	{"20240001000000Z", 0, 0, "out of range"},
	{"20240100000000Z", 0, 0, "out of range"},
	{"20240101240000Z", 0, 0, "out of range"},
	{"20240101006000Z", 0, 0, "out of range"},
	{"20240101000061Z", 0, 0, "out of range"},
	{"202_0229123456Z", 0, 0, "out of range"},
	/* the date and hour are required */
	{"", 0, 0, "unexpected end"},
	{"2024", 0, 0, "unexpected end"},
	{"20240229", 0, 0, "unexpected end"},
	{"2024022", 0, 0, "unexpected end"},
	{"x0240229123456Z", 0, 0, "invalid format"},
	{"_0240229123456Z", 0, 0, "invalid format"},
	{"2024-02-29T12:34:56Z", 0, 0, "invalid format"},
	{"20240229123456ZZ", 0, 0, "invalid format"},
	{"20240229123456 ", 0, 0, "invalid format"},
	{"2024010100000aZ", 0, 0, "invalid format"},
	{"202402291234.5Z", 0, 0, "invalid format"},
	{"20240229123456.12345678Z", 0, 0, "invalid format"},
	{"20240229123456+0100+0100", 0, 0, "invalid format"},
};

static void test_time_read(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(time_cases) / sizeof(*time_cases); i++) {
		const struct time_case *tc = &time_cases[i];
		struct alb_time t = {-7, 7};
		struct alb_error err = {0};
		int rc = time_of(tc->in, &t, &err);
		if (tc->error == NULL) {
			if (rc != 0 || t.sec != tc->sec || t.nsec != tc->nsec)
				fail_msg("\"%s\": rc %d (%s), %lld s %u ns, expected %lld s %u ns",
					 tc->in, rc, err.msg, (long long)t.sec, t.nsec,
					 (long long)tc->sec, tc->nsec);
			continue;
		}
		char want[ALB_ERROR_MSG_MAX];
		snprintf(want, sizeof(want), "GeneralizedTime: %s: %s", tc->error, tc->in);
		if (rc != ALB_EPARSE || strcmp(err.msg, want) != 0)
			fail_msg("\"%s\": rc %d \"%s\", expected \"%s\"", tc->in, rc, err.msg,
				 want);
		/* a refused value leaves the output alone */
		assert_int_equal(t.sec, -7);
	}
	/* bytes that cannot be printed are shown as '?' in the error */
	struct alb_time t;
	struct alb_error err;
	assert_int_equal(time_of("2024\x01", &t, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "GeneralizedTime: invalid format: 2024?");
}

/* Every accepted form re-encodes as the canonical YYYYMMDDHHMMSS[.mmm]Z of
 * its UTC value. */
static void test_time_canonical(void **state)
{
	(void)state;
	static const char *const forms[][2] = {
		{"20240229123456+0100", "20240229113456Z"},
		{"20240229123456-0530", "20240229180456Z"},
		{"202402291234Z", "20240229123400Z"},
		{"2024022912", "20240229120000Z"},
		{"20240229123456.5Z", "20240229123456.005Z"},
		{"20240229123456.50Z", "20240229123456.050Z"},
		{"20240229123456.1234Z", "20240229123456.123Z"},
		{"20241231235960Z", "20250101000000Z"},
		{"20240229123456.000Z", "20240229123456Z"},
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(*forms); i++) {
		struct alb_time t;
		assert_int_equal(time_of(forms[i][0], &t, NULL), 0);
		struct alb_derw w;
		alb_derw_init(&w, 0);
		alb_derw_time(&w, &t);
		struct alb_buf out = {0};
		assert_int_equal(alb_derw_finish(&w, false, &out, NULL), 0);
		size_t n = strlen(forms[i][1]);
		assert_int_equal(out.len, 2 + n);
		assert_int_equal(out.data[0], 0x18);
		if (memcmp(out.data + 2, forms[i][1], n) != 0)
			fail_msg("%s re-encodes as %.*s, expected %s", forms[i][0], (int)n,
				 (const char *)out.data + 2, forms[i][1]);
		alb_buf_free(&out);
	}
}

static void test_explicit_choice(void **state)
{
	(void)state;
	struct alb_der inner;
	unsigned n;
	{
		CUR(c, 0xa3, 0x02, 0x05, 0x00);
		assert_int_equal(alb_der_get_explicit(&c, 3, &inner, "x", NULL), 0);
		assert_int_equal(alb_der_get_null(&inner, "x", NULL), 0);
	}
	{
		CUR(c, 0xa3, 0x00);
		ASSERT_FAILS(alb_der_get_explicit(&c, 3, &inner, "x", err), c,
			     "EXPLICIT: sequence: []");
	}
	{
		CUR(c, 0xa3, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02);
		ASSERT_FAILS(alb_der_get_explicit(&c, 3, &inner, "x", err), c,
			     "EXPLICIT: sequence: [(Primitive UNIVERSAL 2), "
			     "(Primitive UNIVERSAL 2)]");
	}
	{
		CUR(c, 0xa4, 0x02, 0x05, 0x00);
		ASSERT_FAILS(alb_der_get_explicit(&c, 3, &inner, "x", err), c,
			     "Type mismatch: expected: (Constructed CONTEXT 3) got: "
			     "(Constructed CONTEXT 4)");
	}
	/* a choice among [0], [2], [3] */
	uint32_t alts = 1u << 0 | 1u << 2 | 1u << 3;
	{
		CUR(c, 0xa2, 0x03, 0x02, 0x01, 0x14);
		assert_int_equal(alb_der_get_choice(&c, alts, &n, &inner, "x", NULL), 0);
		assert_int_equal(n, 2);
		assert_int_equal(c.len, 0);
	}
	{
		CUR(c, 0xa1, 0x02, 0x05, 0x00);
		ASSERT_FAILS(alb_der_get_choice(&c, alts, &n, &inner, "x", err), c,
			     "Type mismatch: expected: (Constructed CONTEXT 3) got: "
			     "(Constructed CONTEXT 1)");
	}
	{
		CUR(c, 0x82, 0x00);
		ASSERT_FAILS(alb_der_get_choice(&c, alts, &n, &inner, "x", err), c,
			     "Type mismatch: expected: (Constructed CONTEXT 2) got: "
			     "(Primitive CONTEXT 2)");
	}
	{
		CUR(c, 0x30, 0x00);
		ASSERT_FAILS(alb_der_get_choice(&c, alts, &n, &inner, "x", err), c,
			     "Type mismatch: expected: (Constructed CONTEXT 3) got: "
			     "(Constructed UNIVERSAL 16)");
	}
}

static void test_sequence_helpers(void **state)
{
	(void)state;
	size_t n;
	CUR(c, 0x02, 0x01, 0x01, 0x0c, 0x00, 0x30, 0x00);
	assert_int_equal(alb_der_count(&c, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(alb_der_peek(&c), 0x02);
	assert_true(alb_der_peek_is(&c, ALB_DER_INTEGER));
	assert_false(alb_der_peek_is(&c, ALB_DER_BOOLEAN));
	struct alb_error err;
	assert_int_equal(alb_der_end(&c, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "SEQUENCE: trailing: [(Primitive UNIVERSAL 2), "
				     "(Primitive UNIVERSAL 12), (Constructed UNIVERSAL 16)]");
	CUR(bad, 0x02, 0x01, 0x01, 0x0c, 0x05);
	assert_int_equal(alb_der_count(&bad, &n, NULL), ALB_EPARSE);
	struct alb_der e;
	alb_der_init(&e, NULL, 0);
	assert_int_equal(alb_der_peek(&e), -1);
	assert_false(alb_der_peek_is(&e, ALB_DER_INTEGER));
	assert_int_equal(alb_der_end(&e, NULL), 0);
}

/* ---- writer ------------------------------------------------------------ */

static void expect_bytes(struct alb_derw *w, const void *want, size_t n)
{
	struct alb_buf out = {0};
	assert_int_equal(alb_derw_finish(w, false, &out, NULL), 0);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, want, n);
	alb_buf_free(&out);
}

static void test_write_primitives(void **state)
{
	(void)state;
	static const struct {
		int64_t v;
		const char *der;
		size_t n;
	} ints[] = {
		{0, "\x02\x01\x00", 3},
		{20, "\x02\x01\x14", 3},
		{127, "\x02\x01\x7f", 3},
		{128, "\x02\x02\x00\x80", 4},
		{512, "\x02\x02\x02\x00", 4},
		{-1, "\x02\x01\xff", 3},
		{-128, "\x02\x01\x80", 3},
		{-129, "\x02\x02\xff\x7f", 4},
		{ALB_DER_INT_MAX, "\x02\x08\x3f\xff\xff\xff\xff\xff\xff\xff", 10},
		{ALB_DER_INT_MIN, "\x02\x08\xc0\x00\x00\x00\x00\x00\x00\x00", 10},
	};
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		struct alb_derw w;
		alb_derw_init(&w, 0);
		alb_derw_int(&w, ints[i].v);
		expect_bytes(&w, ints[i].der, ints[i].n);
	}
	struct alb_derw w;
	struct alb_error err;
	struct alb_buf out = {0};
	alb_derw_init(&w, 0);
	alb_derw_int(&w, ALB_DER_INT_MAX + 1);
	assert_int_equal(alb_derw_finish(&w, false, &out, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "integer out of range (63 bits)");
	assert_null(out.data);

	alb_derw_init(&w, 0);
	size_t m = alb_derw_len(&w);
	alb_derw_null(&w);
	alb_derw_bool(&w, false);
	alb_derw_bool(&w, true);
	alb_derw_int64(&w, -2);
	alb_derw_utf8(&w, "hi", 2);
	alb_derw_octets(&w, "", 0);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	expect_bytes(&w,
		     "\x30\x18\x04\x00\x0c\x02hi\x04\x08\xff\xff\xff\xff\xff\xff\xff\xfe"
		     "\x01\x01\xff\x01\x01\x00\x05\x00",
		     26);
}

static void test_write_lengths(void **state)
{
	(void)state;
	static const size_t lens[] = {127, 128, 255, 256, 65535, 65536};
	static const uint8_t hdr[][5] = {{0x04, 0x7f}, {0x04, 0x81, 0x80},
					 {0x04, 0x81, 0xff}, {0x04, 0x82, 0x01, 0x00},
					 {0x04, 0x82, 0xff, 0xff},
					 {0x04, 0x83, 0x01, 0x00, 0x00}};
	static const size_t hlen[] = {2, 3, 3, 4, 4, 5};
	uint8_t *data = calloc(1, 65536);
	assert_non_null(data);
	for (size_t i = 0; i < 6; i++) {
		struct alb_derw w;
		struct alb_buf out = {0};
		alb_derw_init(&w, 0);
		alb_derw_octets(&w, data, lens[i]);
		assert_int_equal(alb_derw_finish(&w, false, &out, NULL), 0);
		assert_int_equal(out.len, hlen[i] + lens[i]);
		assert_memory_equal(out.data, hdr[i], hlen[i]);
		/* and the reader takes it back */
		struct alb_der c;
		struct alb_bytes b;
		alb_der_init(&c, out.data, out.len);
		assert_int_equal(alb_der_get_octets(&c, &b, "x", NULL), 0);
		assert_int_equal(b.len, lens[i]);
		alb_buf_free(&out);
	}
	free(data);
}

static void write_time(const struct alb_time *t, const char *want)
{
	struct alb_derw w;
	struct alb_buf out = {0};
	alb_derw_init(&w, 0);
	alb_derw_time(&w, t);
	assert_int_equal(alb_derw_finish(&w, false, &out, NULL), 0);
	assert_int_equal(out.len, 2 + strlen(want));
	assert_int_equal(out.data[0], 0x18);
	assert_memory_equal(out.data + 2, want, strlen(want));
	alb_buf_free(&out);
}

static void test_write_time(void **state)
{
	(void)state;
	write_time(&(struct alb_time){1709210096, 0}, "20240229123456Z");
	write_time(&(struct alb_time){1709210096, 500000000}, "20240229123456.500Z");
	write_time(&(struct alb_time){1709210096, 123456000}, "20240229123456.123Z");
	/* the ".000" quirk: a fraction below 1 ms */
	write_time(&(struct alb_time){1709210096, 1000}, "20240229123456.000Z");
	write_time(&(struct alb_time){0, 0}, "19700101000000Z");
	write_time(&(struct alb_time){-1, 0}, "19691231235959Z");
	write_time(&(struct alb_time){253402300799, 999999999}, "99991231235959.999Z");
	write_time(&(struct alb_time){-62167219200, 0}, "00000101000000Z");
	struct alb_derw w;
	struct alb_buf out = {0};
	alb_derw_init(&w, 0);
	alb_derw_time(&w, &(struct alb_time){253402300800, 0});
	assert_int_equal(alb_derw_finish(&w, false, &out, NULL), ALB_EINVAL);
	alb_derw_init(&w, 0);
	alb_derw_time(&w, &(struct alb_time){-62167219201, 0});
	assert_int_equal(alb_derw_finish(&w, false, &out, NULL), ALB_EINVAL);
	alb_derw_init(&w, 0);
	alb_derw_time(&w, &(struct alb_time){0, 1000000000});
	assert_int_equal(alb_derw_finish(&w, false, &out, NULL), ALB_EINVAL);
}

static void write_int_set(const int64_t *v, size_t n, bool dedup, const char *want,
			  size_t wn)
{
	struct alb_derw w;
	alb_derw_init(&w, 0);
	size_t m = alb_derw_len(&w);
	for (size_t i = n; i-- > 0;)
		alb_derw_int(&w, v[i]);
	alb_derw_close_set(&w, m, dedup);
	expect_bytes(&w, want, wn);
}

static void test_write_set_of(void **state)
{
	(void)state;
	/* from the vectors README: {-1,1,64,255} -> 1, 64, -1, 255 */
	write_int_set((const int64_t[]){-1, 1, 64, 255}, 4, true,
		      "\x31\x0d\x02\x01\x01\x02\x01\x40\x02\x01\xff\x02\x02\x00\xff", 15);
	write_int_set((const int64_t[]){200, 3, 1}, 3, true,
		      "\x31\x0a\x02\x01\x01\x02\x01\x03\x02\x02\x00\xc8", 12);
	/* duplicates: dropped in a set of ints, kept otherwise */
	write_int_set((const int64_t[]){3, 1, 3}, 3, true,
		      "\x31\x06\x02\x01\x01\x02\x01\x03", 8);
	write_int_set((const int64_t[]){3, 1, 3}, 3, false,
		      "\x31\x09\x02\x01\x01\x02\x01\x03\x02\x01\x03", 11);
	write_int_set(NULL, 0, true, "\x31\x00", 2);
	/* blocks [storage; data]: the shorter SEQUENCE sorts first */
	struct alb_derw w;
	alb_derw_init(&w, 0);
	size_t m = alb_derw_len(&w);
	size_t e = alb_derw_len(&w);
	alb_derw_utf8(&w, "data", 4);
	alb_derw_close(&w, ALB_DER_SEQUENCE, e);
	e = alb_derw_len(&w);
	alb_derw_utf8(&w, "storage", 7);
	alb_derw_close(&w, ALB_DER_SEQUENCE, e);
	alb_derw_close_set(&w, m, false);
	expect_bytes(&w, "\x31\x13\x30\x06\x0c\x04" "data" "\x30\x09\x0c\x07" "storage",
		     21);
	/* a prefix sorts first */
	alb_derw_init(&w, 0);
	m = alb_derw_len(&w);
	alb_derw_bytes(&w, "\x04\x01\x61", 3);
	alb_derw_bytes(&w, "\x04\x02\x61\x61", 4);
	alb_derw_bytes(&w, "\x04\x01\x61", 3);
	alb_derw_close_set(&w, m, false);
	expect_bytes(&w, "\x31\x0a\x04\x01\x61\x04\x01\x61\x04\x02\x61\x61", 12);
}

static void test_write_growth(void **state)
{
	(void)state;
	/* many small prepends grow the buffer; the result stays right */
	struct alb_derw w;
	alb_derw_init(&w, 0);
	size_t m = alb_derw_len(&w);
	for (int i = 999; i >= 0; i--)
		alb_derw_int(&w, i);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	struct alb_buf out = {0};
	assert_int_equal(alb_derw_finish(&w, true, &out, NULL), 0);
	uint32_t fl = (uint32_t)out.data[0] << 24 | out.data[1] << 16 |
		      out.data[2] << 8 | out.data[3];
	assert_int_equal(fl, out.len - 4);
	struct alb_der c, seq;
	alb_der_init(&c, out.data + 4, out.len - 4);
	assert_int_equal(alb_der_get(&c, ALB_DER_SEQUENCE, &seq, "s", NULL), 0);
	for (int i = 0; i < 1000; i++) {
		int64_t v;
		assert_int_equal(alb_der_get_int(&seq, &v, "i", NULL), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(seq.len, 0);
	alb_buf_free(&out);

	/* with a size hint, a large string is written in place: no growth */
	size_t big = 1 << 20;
	uint8_t *data = malloc(big);
	assert_non_null(data);
	memset(data, 0x5a, big);
	alb_derw_init(&w, big + 8192);
	uint8_t *base = w.base;
	m = alb_derw_len(&w);
	alb_derw_int(&w, 1);
	alb_derw_octets(&w, data, big);
	alb_derw_bool(&w, true);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	assert_ptr_equal(w.base, base);
	assert_int_equal(alb_derw_finish(&w, false, &out, NULL), 0);
	assert_ptr_equal(out.base_, base);
	alb_buf_free(&out);
	/* without one, the first growth leaves room for the headers */
	alb_derw_init(&w, 0);
	alb_derw_int(&w, 1);
	alb_derw_octets(&w, data, big);
	base = w.base;
	alb_derw_bool(&w, true);
	alb_derw_close(&w, ALB_DER_SEQUENCE, 0);
	assert_ptr_equal(w.base, base);
	assert_int_equal(alb_derw_finish(&w, false, &out, NULL), 0);
	assert_int_equal(out.len, 5 + 3 + 5 + big + 3);
	alb_buf_free(&out);
	free(data);
}

static void test_write_bulk_room(void **state)
{
	(void)state;
	static uint8_t data[ALB_DERW_BULK_MIN];
	/* at the bulk size a string lands with the full headroom in front */
	struct alb_derw w;
	alb_derw_init(&w, 0);
	alb_derw_bytes(&w, data, ALB_DERW_BULK_MIN);
	assert_true(w.off >= ALB_DERW_HEADROOM);
	struct alb_buf out = {0};
	assert_int_equal(alb_derw_finish(&w, false, &out, NULL), 0);
	alb_buf_free(&out);
	/* one byte less is an ordinary write: only the small headroom */
	alb_derw_init(&w, 0);
	alb_derw_bytes(&w, data, ALB_DERW_BULK_MIN - 1);
	assert_true(w.off < ALB_DERW_HEADROOM);
	assert_int_equal(alb_derw_finish(&w, false, &out, NULL), 0);
	alb_buf_free(&out);
}

/* A builder that claims len bytes without holding them: only the 4 bytes
 * in front of its data are real, which is all framing touches. */
static void fake_builder(struct alb_derw *w, size_t len)
{
	memset(w, 0, sizeof(*w));
	w->base = malloc(8);
	assert_non_null(w->base);
	w->off = 4;
	w->cap = 4 + len;
}

static void test_write_frame_limit(void **state)
{
	(void)state;
	struct alb_derw w;
	struct alb_buf out = {0};
	struct alb_error err;
	fake_builder(&w, ALB_DERW_FRAME_MAX);
	assert_int_equal(alb_derw_finish(&w, true, &out, NULL), 0);
	assert_int_equal(out.len, (size_t)ALB_DERW_FRAME_MAX + 4);
	assert_memory_equal(out.data, "\x7f\xff\xff\xff", 4);
	alb_buf_free(&out);
	fake_builder(&w, (size_t)ALB_DERW_FRAME_MAX + 1);
	assert_int_equal(alb_derw_finish(&w, true, &out, &err), ALB_ETOOBIG);
	assert_string_equal(err.msg, "message too large for a frame");
	assert_null(out.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length_forms),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_peek_header),
		cmocka_unit_test(test_truncation_everywhere),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_dump_limit),
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_bool_null),
		cmocka_unit_test(test_time_read),
		cmocka_unit_test(test_time_canonical),
		cmocka_unit_test(test_explicit_choice),
		cmocka_unit_test(test_sequence_helpers),
		cmocka_unit_test(test_write_primitives),
		cmocka_unit_test(test_write_lengths),
		cmocka_unit_test(test_write_time),
		cmocka_unit_test(test_write_set_of),
		cmocka_unit_test(test_write_growth),
		cmocka_unit_test(test_write_bulk_room),
		cmocka_unit_test(test_write_frame_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
