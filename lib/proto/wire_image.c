/* libalbatross — the reply to a Unikernel_get read in pieces (see
 * proto/image_reply.h).
 * SPDX-License-Identifier: ISC */
#include <string.h>

#include "asn1/der.h"
#include "base/internal.h"
#include "proto/image_reply.h"

/* Success [1] (Unikernel_image [6] SEQUENCE { compressed, image }). */
#define TAG_SUCCESS ALB_DER_EXPLICIT(1)
#define TAG_IMAGE ALB_DER_EXPLICIT(6)

/* A cursor over the head: pos in p[0..n), and where the element being
 * walked into ends in the whole payload. */
struct walk {
	const uint8_t *p;
	size_t n;
	size_t pos;
};

/* Steps into (or, with whole, over) the next element, which must have tag
 * and, when end is not 0, end exactly at end; *clen its contents length. */
static bool step(struct walk *w, unsigned tag, size_t end, bool whole,
		 size_t *clen)
{
	struct alb_der c;
	alb_der_init(&c, w->p + w->pos, w->n - w->pos);
	unsigned t;
	size_t hlen;
	if (w->pos >= w->n ||
	    alb_der_peek_header(&c, &t, &hlen, clen, NULL) != 0 || t != tag)
		return false;
	if (end != 0 && (w->pos + hlen > end || *clen != end - w->pos - hlen))
		return false;
	if (whole && *clen > w->n - w->pos - hlen)
		return false;
	w->pos += hlen + (whole ? *clen : 0);
	return true;
}

/* The message of the head with an empty image in place of the image. */
static int decode_skeleton(const uint8_t *p,
			   const struct alb_image_reply_layout *lo,
			   size_t bool_off, size_t bool_len, struct alb_msg **out,
			   struct alb_error *err)
{
	struct alb_derw w;
	alb_derw_init(&w, 0);
	alb_derw_octets(&w, "", 0);
	alb_derw_bytes(&w, p + bool_off, bool_len);
	alb_derw_close(&w, ALB_DER_SEQUENCE, 0);
	alb_derw_close(&w, TAG_IMAGE, 0);
	alb_derw_close(&w, TAG_SUCCESS, 0);
	alb_derw_bytes(&w, p + lo->header_off, lo->header_len);
	alb_derw_close(&w, ALB_DER_SEQUENCE, 0);
	struct alb_buf b = {0};
	int rc = alb_derw_finish(&w, false, &b, err);
	if (rc == 0)
		rc = alb_msg_decode(b.data, b.len, 0, out, err);
	alb_buf_free(&b);
	return rc;
}

int alb_image_reply_layout(const uint8_t *p, size_t n, size_t total,
			   struct alb_image_reply_layout *lo,
			   struct alb_msg **skeleton, struct alb_error *err)
{
	if (p == NULL || lo == NULL || n > total)
		return alb_fail(err, ALB_EINVAL, "invalid image reply head");
	if (skeleton != NULL)
		*skeleton = NULL;
	memset(lo, 0, sizeof(*lo));
	struct walk w = {p, n, 0};
	size_t clen, bool_off, bool_len;
	bool ok = step(&w, ALB_DER_SEQUENCE, total, false, &clen);
	lo->header_off = w.pos;
	ok = ok && step(&w, ALB_DER_SEQUENCE, 0, true, &clen);
	lo->header_len = w.pos - lo->header_off;
	lo->payload_off = w.pos;
	ok = ok && step(&w, TAG_SUCCESS, total, false, &clen) &&
	     step(&w, TAG_IMAGE, total, false, &clen) &&
	     step(&w, ALB_DER_SEQUENCE, total, false, &clen);
	bool_off = w.pos;
	ok = ok && step(&w, ALB_DER_BOOLEAN, 0, true, &clen);
	bool_len = w.pos - bool_off;
	ok = ok && step(&w, ALB_DER_OCTET_STRING, total, false, &clen);
	if (!ok)
		return alb_fail(err, ALB_ENOENT, "not an image reply");
	lo->image_off = w.pos;
	lo->image_len = clen;
	/* Any non-zero octet is true, as the decoder reads it (Albatross);
	 * a BOOLEAN of another length is refused by the decode below. */
	lo->compressed = bool_len == 3 && p[bool_off + 2] != 0;
	if (skeleton == NULL)
		return 0;
	return decode_skeleton(p, lo, bool_off, bool_len, skeleton, err);
}
