/* libalbatross — private interface between the printer's walk over values
 * (print.c) and its two output forms (print_text.c, print_json.c).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_PRINT_INTERNAL_H
#define ALB_PRINT_INTERNAL_H

#include <stdio.h>

#include "albatross/image.h"
#include "albatross/print.h"

struct alb_emit;

/* A byte string as both forms show it: its length, its SHA-256 and its
 * first min(len, ALB_PRINT_HEX_MAX) bytes. */
struct alb_print_bytes {
	uint64_t len;
	uint8_t sha256[ALB_SHA256_LEN];
	const uint8_t *head;
};

/* One output form. The walk calls these in document order; key is the field
 * name, or NULL for an element of a list (and for the outermost object).
 * Failures are recorded in e->err rather than returned, so that the walk
 * reads as a plain description of the value. */
struct alb_emit_ops {
	void (*begin_obj)(struct alb_emit *e, const char *key);
	void (*end_obj)(struct alb_emit *e);
	/* n is the number of elements that follow (0: an empty list). */
	void (*begin_list)(struct alb_emit *e, const char *key, size_t n);
	void (*end_list)(struct alb_emit *e, size_t n);
	/* An optional field that is not there. */
	void (*absent)(struct alb_emit *e, const char *key);
	void (*boolean)(struct alb_emit *e, const char *key, bool v);
	void (*integer)(struct alb_emit *e, const char *key, int64_t v);
	/* A list of integers, shown on one line. */
	void (*ints)(struct alb_emit *e, const char *key, size_t n,
		     const int64_t *v);
	/* Arbitrary bytes from the wire (quoted in text). */
	void (*str)(struct alb_emit *e, const char *key, const char *p,
		    size_t len);
	/* A keyword, name, time or MAC (not quoted in text). */
	void (*word)(struct alb_emit *e, const char *key, const char *s);
	void (*bytes)(struct alb_emit *e, const char *key,
		      const struct alb_print_bytes *b);
	void (*fail)(struct alb_emit *e, const char *key,
		     const struct alb_fail *f);
};

/* The state of one print call. */
struct alb_emit {
	const struct alb_emit_ops *ops;
	FILE *out;
	int depth;       /* objects and lists currently open */
	bool need_comma; /* JSON: a value was written at this level */
	bool dash;       /* text: the next line starts a list element */
	int err;         /* first failure (0 while none) */
	/* a Unikernel_image reply's image that was written out, not kept */
	const struct alb_image_received *image;
};

extern const struct alb_emit_ops alb_print_text_ops;
extern const struct alb_emit_ops alb_print_json_ops;

/* Length of the valid UTF-8 sequence at p[0..len) and its code point in
 * *cp, or 0 when p does not start one (overlong forms, surrogates and code
 * points above U+10FFFF are invalid, RFC 3629). len must be > 0. */
size_t alb_print_utf8(const uint8_t *p, size_t len, uint32_t *cp);

/* True for code points a terminal may act on: C0, DEL and C1. */
bool alb_print_is_control(uint32_t cp);

/* Writes n bytes as lowercase hex to out. */
void alb_print_hex(FILE *out, const uint8_t *p, size_t n);

#endif
