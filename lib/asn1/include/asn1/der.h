/* libalbatross — strict DER reading and reverse DER writing (private).
 * SPDX-License-Identifier: ISC
 *
 * The reader follows BoringSSL's CBS: a non-owning cursor {ptr, len} that
 * advances only when a read succeeds. It accepts exactly what
 * asn1-combinators accepts in DER mode (spec §1.1) and reports its errors
 * with the same texts ("Header: at 058100: redundant length",
 * "INTEGER: redundant form", "Type mismatch: expected: ... got: ...",
 * "SEQUENCE: missing required: <label>").
 *
 * The writer is a reverse (prepend) builder: contents are written back to
 * front, so that when a constructed value is complete its length is known
 * and its header is prepended in place. Nothing is ever moved; the buffer
 * grows at the front, at least doubling. Errors are sticky: writer
 * functions return nothing and alb_derw_finish() reports the first one. */
#ifndef ALB_DER_H
#define ALB_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "albatross/common.h"
#include "albatross/wire.h"

/* Identifier octets used by Albatross. */
#define ALB_DER_BOOLEAN 0x01u
#define ALB_DER_INTEGER 0x02u
#define ALB_DER_OCTET_STRING 0x04u
#define ALB_DER_NULL 0x05u
#define ALB_DER_UTF8STRING 0x0cu
#define ALB_DER_GENERALIZED_TIME 0x18u
#define ALB_DER_SEQUENCE 0x30u
#define ALB_DER_SET 0x31u
#define ALB_DER_CONSTRUCTED 0x20u
#define ALB_DER_CONTEXT 0x80u
/** EXPLICIT [n] (context-specific, constructed), n < 31. */
#define ALB_DER_EXPLICIT(n) (0xa0u | (unsigned)(n))

/** Most length octets in a long-form length (asn1-combinators' limit). */
#define ALB_DER_LEN_OCTETS_MAX 8
/** Most content octets of an INTEGER that fits an OCaml int. */
#define ALB_DER_INT_OCTETS_MAX 8
/** OCaml's int range (63 bits): the values an INTEGER may decode to. */
#define ALB_DER_INT_MAX ((int64_t)0x3fffffffffffffff)
#define ALB_DER_INT_MIN (-ALB_DER_INT_MAX - 1)
/** Size of an int64 on the wire (an OCTET STRING, spec §1.2). */
#define ALB_DER_INT64_OCTETS 8
/** Most bytes dumped in hex into an error text (more end in "..."). */
#define ALB_DER_DUMP_MAX 128
/** Years a GeneralizedTime can carry (4 digits, Ptime's range). */
#define ALB_DER_YEAR_MAX 9999

/** A read cursor over DER bytes. `outer` is the whole contents of the
 * enclosing value, kept for error texts. */
struct alb_der {
	const uint8_t *ptr;
	size_t len;
	const uint8_t *outer;
	size_t outer_len;
};

/** Starts a cursor over buf[0..len). */
void alb_der_init(struct alb_der *c, const uint8_t *buf, size_t len);

/** The identifier octet (*tag), the size of identifier and length octets
 * (*hlen) and the contents length (*clen) of the next element, whose
 * contents need not be in the cursor (a message read in pieces). The same
 * checks as every read, but for the contents' presence; the cursor does not
 * move. Returns 0 or ALB_EPARSE (also when the header itself is cut). */
int alb_der_peek_header(const struct alb_der *c, unsigned *tag, size_t *hlen,
			size_t *clen, struct alb_error *err);

/** The identifier octet of the next element, -1 when the cursor is empty. */
int alb_der_peek(const struct alb_der *c);

/** True when the next element has the class and number of tag (either
 * form), i.e. an OPTIONAL field of that tag is present. */
bool alb_der_peek_is(const struct alb_der *c, unsigned tag);

/** Reads the next element of any tag: *tag receives its identifier octet,
 * *body its contents. */
int alb_der_get_any(struct alb_der *c, unsigned *tag, struct alb_der *body,
		    struct alb_error *err);

/** Reads the next element, which must have identifier tag; label names the
 * field in the "SEQUENCE: missing required" text when the cursor is empty. */
int alb_der_get(struct alb_der *c, unsigned tag, struct alb_der *body,
		const char *label, struct alb_error *err);

/** Primitives. Each reads one complete element with its universal tag. */
int alb_der_get_int(struct alb_der *c, int64_t *v, const char *label,
		    struct alb_error *err);
/** An INTEGER truncated to its low 32 bits (OCaml's Int32.of_int). */
int alb_der_get_int32(struct alb_der *c, int32_t *v, const char *label,
		      struct alb_error *err);
int alb_der_get_bool(struct alb_der *c, bool *v, const char *label,
		     struct alb_error *err);
int alb_der_get_null(struct alb_der *c, const char *label,
		     struct alb_error *err);
/** OCTET STRING; *v points into the input. */
int alb_der_get_octets(struct alb_der *c, struct alb_bytes *v,
		       const char *label, struct alb_error *err);
/** UTF8String (not validated); *v points into the input. */
int alb_der_get_utf8(struct alb_der *c, struct alb_bytes *v, const char *label,
		     struct alb_error *err);
/** int64 as an OCTET STRING: at least 8 bytes, the first 8 big-endian. */
int alb_der_get_int64(struct alb_der *c, int64_t *v, const char *label,
		      struct alb_error *err);
/** GeneralizedTime, read as Albatross reads it (lib/asn1/der_time.c):
 * YYYYMMDDHH, optional minutes, seconds and ".mmm" (a number of
 * milliseconds), an optional zone ('Z' or +-HHMM, converted to UTC). */
int alb_der_get_time(struct alb_der *c, struct alb_time *v, const char *label,
		     struct alb_error *err);

/** EXPLICIT [n]: *inner is a cursor over its single element. */
int alb_der_get_explicit(struct alb_der *c, unsigned n, struct alb_der *inner,
			 const char *label, struct alb_error *err);

/** A CHOICE whose alternatives are EXPLICIT [n] for the bits n set in alts:
 * *n receives the chosen number, *inner a cursor over its single element.
 * Anything else is asn1-combinators' "Type mismatch" against the last
 * (highest) alternative. */
int alb_der_get_choice(struct alb_der *c, uint32_t alts, unsigned *n,
		       struct alb_der *inner, const char *label,
		       struct alb_error *err);

/** Counts the elements left in c (their headers are checked). */
int alb_der_count(const struct alb_der *c, size_t *n, struct alb_error *err);

/** Succeeds when c is empty, else "SEQUENCE: trailing: [...]". */
int alb_der_end(const struct alb_der *c, struct alb_error *err);

/* ---- writer ------------------------------------------------------------ */

/** Strings of at least this many bytes are bulk (images, block data): they
 * are placed with ALB_DERW_HEADROOM bytes free in front, so that the
 * headers written around them never make them move again. */
#define ALB_DERW_BULK_MIN 4096
#define ALB_DERW_HEADROOM 4096
/** Longest payload of a frame (a signed 32-bit length, spec §2.1). */
#define ALB_DERW_FRAME_MAX 0x7fffffffu

/** A reverse DER builder: the bytes written so far are base[off..cap). */
struct alb_derw {
	uint8_t *base;
	size_t cap;
	size_t off;
	int err;
	const char *errmsg;
	/* optional, set after alb_derw_init(): bytes given by this pointer to
	 * alb_derw_bytes() are left out (a hole): alb_derw_len() counts them,
	 * so the headers around them are right, but the result lacks them
	 * (a caller writes them from where they are); found_end is
	 * alb_derw_len() right after the hole (0 until then), hole its size */
	const void *find;
	size_t found_end;
	size_t hole;
};

/** Starts an empty builder; hint is the expected total size (0: small). */
void alb_derw_init(struct alb_derw *w, size_t hint);

/** Bytes written so far (a hole included); used as a mark before the
 * contents of a constructed value. */
static inline size_t alb_derw_len(const struct alb_derw *w)
{
	return w->cap - w->off + w->hole;
}

/** Records the first error; later writes are ignored. */
void alb_derw_fail(struct alb_derw *w, int code, const char *msg);

/** Prepends raw bytes. */
void alb_derw_bytes(struct alb_derw *w, const void *p, size_t n);

/** Prepends the header of a value whose contents are the bytes written
 * since mark. */
void alb_derw_close(struct alb_derw *w, unsigned tag, size_t mark);

/** Prepends the header of a value of len content bytes that are not in
 * the builder (the caller writes them after its result). */
void alb_derw_header(struct alb_derw *w, unsigned tag, size_t len);

/** Closes a SET OF: the elements written since mark are sorted by their
 * encodings (bytewise, a prefix first), identical encodings dropped when
 * dedup, and the SET header prepended. */
void alb_derw_close_set(struct alb_derw *w, size_t mark, bool dedup);

/** Complete elements. */
void alb_derw_int(struct alb_derw *w, int64_t v);
void alb_derw_bool(struct alb_derw *w, bool v);
void alb_derw_null(struct alb_derw *w);
void alb_derw_octets(struct alb_derw *w, const void *p, size_t n);
void alb_derw_utf8(struct alb_derw *w, const void *p, size_t n);
void alb_derw_int64(struct alb_derw *w, int64_t v);
void alb_derw_time(struct alb_derw *w, const struct alb_time *t);

/** Hands the bytes to out (which must be empty; without a hole's bytes),
 * prefixed with the 4-byte big-endian length when framed. On a recorded error frees the bytes and
 * returns the error (message in err). */
int alb_derw_finish(struct alb_derw *w, bool framed, struct alb_buf *out,
		    struct alb_error *err);

#endif
