/* libalbatross — strict DER reader (spec §1.1).
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <string.h>

#include "asn1/der.h"
#include "der_time.h"
#include "base/internal.h"

/* A parsed element header. */
struct hdr {
	unsigned tag; /* identifier octet */
	size_t hlen;  /* identifier + length octets */
	size_t clen;  /* contents */
};

enum form { FORM_PRIM, FORM_CONS, FORM_ANY };

/* Room for a dump of ALB_DER_DUMP_MAX bytes, its spaces and "...". */
#define HEX_DUMP_MAX (3 * ALB_DER_DUMP_MAX + 8)

/* asn1-combinators prints octets as hex, a space after every 8 bytes;
 * beyond ALB_DER_DUMP_MAX bytes the dump ends with "...". */
static void hex_dump(const uint8_t *p, size_t n, char *out, size_t outsz)
{
	size_t o = 0;
	for (size_t i = 0; i < n && i < ALB_DER_DUMP_MAX && o + 3 < outsz; i++) {
		if (i > 0 && i % 8 == 0)
			out[o++] = ' ';
		snprintf(out + o, outsz - o, "%02x", p[i]);
		o += 2;
	}
	if (n > ALB_DER_DUMP_MAX && o + 4 <= outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int header_error(const struct alb_der *c, const char *what,
			struct alb_error *err)
{
	char hex[HEX_DUMP_MAX];
	hex_dump(c->outer, c->outer_len, hex, sizeof(hex));
	return alb_fail(err, ALB_EPARSE, "Header: at %s: %s", hex, what);
}

void alb_der_init(struct alb_der *c, const uint8_t *buf, size_t len)
{
	c->ptr = buf;
	c->len = len;
	c->outer = buf;
	c->outer_len = len;
}

/* The identifier and length octets at the cursor, whose contents need not
 * be there yet. */
static int parse_head(const struct alb_der *c, struct hdr *h,
		      struct alb_error *err)
{
	const uint8_t *p = c->ptr;
	/* defined even on failure: callers' error paths stay simple */
	*h = (struct hdr){0};
	size_t n = c->len;
	if (n < 2)
		return alb_fail(err, ALB_EPARSE,
				"Unexpected EOF: truncated header (%zu of 2 bytes)", n);
	h->tag = p[0];
	if ((p[0] & 0x1fu) == 0x1fu)
		return header_error(c, "unsupported high tag number", err);
	unsigned l0 = p[1];
	if (l0 < 0x80u) {
		h->hlen = 2;
		h->clen = l0;
	} else if (l0 == 0x80u) {
		if ((p[0] & ALB_DER_CONSTRUCTED) == 0)
			return header_error(c, "primitive and indefinite length", err);
		return alb_fail(err, ALB_EPARSE, "Constructed indefinite form");
	} else {
		size_t k = l0 & 0x7fu;
		if (n - 2 < k)
			return alb_fail(err, ALB_EPARSE,
					"Unexpected EOF: truncated length (%zu of %zu octets)",
					n - 2, k);
		if (p[2] == 0)
			return header_error(c, "redundant length", err);
		if (k > ALB_DER_LEN_OCTETS_MAX)
			return header_error(c, "length overflow", err);
		uint64_t v = 0;
		for (size_t i = 0; i < k; i++)
			v = (v << 8) | p[2 + i];
		/* lengths are OCaml ints: larger ones overflow there */
		if (v > (uint64_t)ALB_DER_INT_MAX)
			return header_error(c, "length overflow", err);
		/* the strict check is `< 0x7f`, so `81 7f` passes (spec §1.1) */
		if (v < 0x7f)
			return header_error(c, "redundant form", err);
		if (v > SIZE_MAX)
			return header_error(c, "length overflow", err);
		h->hlen = 2 + k;
		h->clen = (size_t)v;
	}
	return 0;
}

static int parse_header(const struct alb_der *c, struct hdr *h,
			struct alb_error *err)
{
	int rc = parse_head(c, h, err);
	if (rc < 0)
		return rc;
	size_t n = c->len;
	if (h->clen > n - h->hlen)
		return alb_fail(err, ALB_EPARSE,
				"Unexpected EOF: contents of %zu bytes, %zu left",
				h->clen, n - h->hlen);
	return 0;
}

/* Consumes the element whose header is h and points body at its contents. */
static void take(struct alb_der *c, const struct hdr *h, struct alb_der *body)
{
	if (body != NULL) {
		body->ptr = c->ptr + h->hlen;
		body->len = h->clen;
		body->outer = body->ptr;
		body->outer_len = body->len;
	}
	c->ptr += h->hlen + h->clen;
	c->len -= h->hlen + h->clen;
}

int alb_der_peek_header(const struct alb_der *c, unsigned *tag, size_t *hlen,
			size_t *clen, struct alb_error *err)
{
	struct hdr h;
	int rc = parse_head(c, &h, err);
	*tag = h.tag;
	*hlen = h.hlen;
	*clen = h.clen;
	return rc;
}

int alb_der_peek(const struct alb_der *c)
{
	return c->len == 0 ? -1 : (int)c->ptr[0];
}

bool alb_der_peek_is(const struct alb_der *c, unsigned tag)
{
	return c->len > 0 && (c->ptr[0] & ~ALB_DER_CONSTRUCTED) ==
				  (tag & ~ALB_DER_CONSTRUCTED);
}

static const char *class_name(unsigned tag)
{
	switch (tag & 0xc0u) {
	case 0x00: return "UNIVERSAL";
	case 0x40: return "APPLICATION";
	case 0x80: return "CONTEXT";
	default: return "PRIVATE";
	}
}

static const char *form_name(enum form f)
{
	return f == FORM_PRIM ? "Primitive" : f == FORM_CONS ? "Constructed" : "ANY";
}

static enum form form_of(unsigned tag)
{
	return (tag & ALB_DER_CONSTRUCTED) ? FORM_CONS : FORM_PRIM;
}

static int mismatch(enum form want_form, unsigned want, unsigned got,
		    struct alb_error *err)
{
	return alb_fail(err, ALB_EPARSE,
			"Type mismatch: expected: (%s %s %u) got: (%s %s %u)",
			form_name(want_form), class_name(want), want & 0x1fu,
			form_name(form_of(got)), class_name(got), got & 0x1fu);
}

static int missing(const char *label, struct alb_error *err)
{
	return alb_fail(err, ALB_EPARSE, "SEQUENCE: missing required: %s",
			label != NULL ? label : "");
}

/* Formats the tags of the elements of c as asn1-combinators lists them. */
static int tag_list(const struct alb_der *c, char *out, size_t outsz,
		    struct alb_error *err)
{
	struct alb_der it = *c;
	size_t o = 0;
	out[0] = '\0';
	while (it.len > 0) {
		struct hdr h;
		int rc = parse_header(&it, &h, err);
		if (rc < 0)
			return rc;
		if (o < outsz) {
			int w = snprintf(out + o, outsz - o, "%s(%s %s %u)",
					 o > 0 ? ", " : "",
					 form_name(form_of(h.tag)), class_name(h.tag),
					 h.tag & 0x1fu);
			if (w > 0)
				o += (size_t)w;
		}
		take(&it, &h, NULL);
	}
	return 0;
}

static int get_form(struct alb_der *c, unsigned tag, enum form want_form,
		    struct alb_der *body, const char *label,
		    struct alb_error *err)
{
	*body = (struct alb_der){0}; /* defined on failure too */
	if (c->len == 0)
		return missing(label, err);
	struct hdr h;
	int rc = parse_header(c, &h, err);
	if (rc < 0)
		return rc;
	if (h.tag != tag)
		return mismatch(want_form, tag, h.tag, err);
	take(c, &h, body);
	return 0;
}

int alb_der_get_any(struct alb_der *c, unsigned *tag, struct alb_der *body,
		    struct alb_error *err)
{
	if (c->len == 0)
		return alb_fail(err, ALB_EPARSE, "Unexpected EOF: no element");
	struct hdr h;
	int rc = parse_header(c, &h, err);
	if (rc < 0)
		return rc;
	*tag = h.tag;
	take(c, &h, body);
	return 0;
}

int alb_der_get(struct alb_der *c, unsigned tag, struct alb_der *body,
		const char *label, struct alb_error *err)
{
	return get_form(c, tag, form_of(tag), body, label, err);
}

/* Contents checks of the primitives below run after get_form() consumed
 * the element; on failure they put the cursor back. */
static int undo(struct alb_der *c, const struct alb_der *save, int rc)
{
	*c = *save;
	return rc;
}

/* Fails with "<what>: <hex dump of the contents b>", the cursor back at
 * save. */
static int undo_hex(struct alb_der *c, const struct alb_der *save,
		    const char *what, const struct alb_der *b,
		    struct alb_error *err)
{
	char hex[HEX_DUMP_MAX];
	hex_dump(b->ptr, b->len, hex, sizeof(hex));
	return undo(c, save, alb_fail(err, ALB_EPARSE, "%s: %s", what, hex));
}

int alb_der_get_int(struct alb_der *c, int64_t *v, const char *label,
		    struct alb_error *err)
{
	struct alb_der b, save = *c;
	int rc = get_form(c, ALB_DER_INTEGER, FORM_PRIM, &b, label, err);
	if (rc < 0)
		return rc;
	if (b.len == 0)
		return undo(c, &save, alb_fail(err, ALB_EPARSE, "INTEGER: length 0"));
	if (b.len >= 2) {
		unsigned w0 = ((unsigned)b.ptr[0] << 8 | b.ptr[1]) & 0xff80u;
		if (w0 == 0x0000u || w0 == 0xff80u)
			return undo(c, &save, alb_fail(err, ALB_EPARSE,
						       "INTEGER: redundant form"));
	}
	if (b.len > ALB_DER_INT_OCTETS_MAX)
		return undo_hex(c, &save, "INTEGER: int overflow", &b, err);
	/* sign-extend from the first octet */
	uint64_t u = (b.ptr[0] & 0x80u) ? UINT64_MAX : 0;
	for (size_t i = 0; i < b.len; i++)
		u = (u << 8) | b.ptr[i];
	int64_t x = (int64_t)u;
	if (x > ALB_DER_INT_MAX || x < ALB_DER_INT_MIN)
		return undo_hex(c, &save, "INTEGER: int overflow", &b, err);
	*v = x;
	return 0;
}

int alb_der_get_int32(struct alb_der *c, int32_t *v, const char *label,
		      struct alb_error *err)
{
	int64_t x;
	int rc = alb_der_get_int(c, &x, label, err);
	if (rc < 0)
		return rc;
	/* Int32.of_int keeps the low 32 bits */
	uint32_t low = (uint32_t)((uint64_t)x & 0xffffffffu);
	*v = low > INT32_MAX ? (int32_t)(low - 0x80000000u) + INT32_MIN : (int32_t)low;
	return 0;
}

int alb_der_get_bool(struct alb_der *c, bool *v, const char *label,
		     struct alb_error *err)
{
	struct alb_der b, save = *c;
	int rc = get_form(c, ALB_DER_BOOLEAN, FORM_PRIM, &b, label, err);
	if (rc < 0)
		return rc;
	if (b.len != 1)
		return undo_hex(c, &save, "BOOLEAN", &b, err);
	/* asn1-combinators takes any non-zero octet as true */
	*v = b.ptr[0] != 0;
	return 0;
}

int alb_der_get_null(struct alb_der *c, const char *label,
		     struct alb_error *err)
{
	struct alb_der b, save = *c;
	int rc = get_form(c, ALB_DER_NULL, FORM_PRIM, &b, label, err);
	if (rc < 0)
		return rc;
	if (b.len != 0)
		return undo_hex(c, &save, "NULL", &b, err);
	return 0;
}

/* The contents of a string type (primitive or constructed, FORM_ANY). */
static int get_string(struct alb_der *c, unsigned tag, struct alb_bytes *v,
		      const char *label, struct alb_error *err)
{
	struct alb_der b;
	int rc = get_form(c, tag, FORM_ANY, &b, label, err);
	if (rc < 0)
		return rc;
	v->ptr = b.ptr;
	v->len = b.len;
	return 0;
}

int alb_der_get_octets(struct alb_der *c, struct alb_bytes *v,
		       const char *label, struct alb_error *err)
{
	return get_string(c, ALB_DER_OCTET_STRING, v, label, err);
}

int alb_der_get_utf8(struct alb_der *c, struct alb_bytes *v, const char *label,
		     struct alb_error *err)
{
	return get_string(c, ALB_DER_UTF8STRING, v, label, err);
}

int alb_der_get_int64(struct alb_der *c, int64_t *v, const char *label,
		      struct alb_error *err)
{
	struct alb_der save = *c;
	struct alb_bytes b;
	int rc = alb_der_get_octets(c, &b, label, err);
	if (rc < 0)
		return rc;
	/* Albatross reads the first 8 bytes and ignores the rest; shorter
	 * strings crash it, we refuse them */
	if (b.len < ALB_DER_INT64_OCTETS)
		return undo(c, &save, alb_fail(err, ALB_EPARSE,
					       "int64: OCTET STRING of %zu bytes, expected %d",
					       b.len, ALB_DER_INT64_OCTETS));
	uint64_t u = 0;
	for (size_t i = 0; i < ALB_DER_INT64_OCTETS; i++)
		u = (u << 8) | b.ptr[i];
	*v = (int64_t)u;
	return 0;
}

int alb_der_get_time(struct alb_der *c, struct alb_time *v, const char *label,
		     struct alb_error *err)
{
	struct alb_der save = *c;
	struct alb_der b;
	int rc = get_form(c, ALB_DER_GENERALIZED_TIME, FORM_ANY, &b, label, err);
	if (rc < 0)
		return rc;
	rc = alb_der_time_parse(b.ptr, b.len, v, err);
	return rc < 0 ? undo(c, &save, rc) : 0;
}

static int explicit_body(struct alb_der *c, const struct hdr *h,
			 struct alb_der *inner, struct alb_error *err)
{
	struct alb_der body;
	struct alb_der save = *c;
	take(c, h, &body);
	/* exactly one element inside */
	struct hdr in;
	if (body.len > 0) {
		int rc = parse_header(&body, &in, err);
		if (rc < 0)
			return undo(c, &save, rc);
		if (in.hlen + in.clen == body.len) {
			*inner = body;
			return 0;
		}
	}
	char list[256];
	int rc = tag_list(&body, list, sizeof(list), err);
	if (rc < 0)
		return undo(c, &save, rc);
	return undo(c, &save, alb_fail(err, ALB_EPARSE, "EXPLICIT: sequence: [%s]", list));
}

int alb_der_get_explicit(struct alb_der *c, unsigned n, struct alb_der *inner,
			 const char *label, struct alb_error *err)
{
	if (c->len == 0)
		return missing(label, err);
	struct hdr h;
	int rc = parse_header(c, &h, err);
	if (rc < 0)
		return rc;
	if (h.tag != ALB_DER_EXPLICIT(n))
		return mismatch(FORM_CONS, ALB_DER_EXPLICIT(n), h.tag, err);
	return explicit_body(c, &h, inner, err);
}

int alb_der_get_choice(struct alb_der *c, uint32_t alts, unsigned *n,
		       struct alb_der *inner, const char *label,
		       struct alb_error *err)
{
	if (c->len == 0)
		return missing(label, err);
	struct hdr h;
	int rc = parse_header(c, &h, err);
	if (rc < 0)
		return rc;
	unsigned num = h.tag & 0x1fu;
	if ((h.tag & 0xc0u) == ALB_DER_CONTEXT && (alts >> num & 1u)) {
		/* the tag picks the alternative, its form is checked after */
		if ((h.tag & ALB_DER_CONSTRUCTED) == 0)
			return mismatch(FORM_CONS, ALB_DER_EXPLICIT(num), h.tag, err);
		rc = explicit_body(c, &h, inner, err);
		if (rc == 0)
			*n = num;
		return rc;
	}
	/* asn1-combinators reports the last alternative it tried */
	unsigned last = 31u - (unsigned)__builtin_clz(alts);
	return mismatch(FORM_CONS, ALB_DER_EXPLICIT(last), h.tag, err);
}

int alb_der_count(const struct alb_der *c, size_t *n, struct alb_error *err)
{
	struct alb_der it = *c;
	size_t k = 0;
	while (it.len > 0) {
		struct hdr h;
		int rc = parse_header(&it, &h, err);
		if (rc < 0)
			return rc;
		take(&it, &h, NULL);
		k++;
	}
	*n = k;
	return 0;
}

int alb_der_end(const struct alb_der *c, struct alb_error *err)
{
	if (c->len == 0)
		return 0;
	char list[256];
	int rc = tag_list(c, list, sizeof(list), err);
	if (rc < 0)
		return rc;
	return alb_fail(err, ALB_EPARSE, "SEQUENCE: trailing: [%s]", list);
}
