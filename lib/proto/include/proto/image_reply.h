/* libalbatross — the reply to a Unikernel_get read in pieces (private to
 * the library): its image is the last element at every level of the
 * message, so the payload is a short head followed by the image's bytes,
 * which a client writes out and a relay passes on as they arrive.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_PROTO_IMAGE_REPLY_H
#define ALB_PROTO_IMAGE_REPLY_H

#include "albatross/wire.h"

/** The head of an image reply lies within this many bytes of its payload
 * (a Header with the longest name, then a few element headers). */
#define ALB_IMAGE_REPLY_HEAD_MAX 4096

/** Where the parts of a Success (Unikernel_image) payload lie. */
struct alb_image_reply_layout {
	size_t header_off; /* the Header element, its tag included */
	size_t header_len;
	size_t payload_off; /* the Payload element ([1]), up to the end */
	size_t image_off;  /* the image's first byte; it ends the payload */
	size_t image_len;
	bool compressed;
};

/** Reads p[0..n), the first n bytes of a payload of total bytes
 * (n == total, or n >= ALB_IMAGE_REPLY_HEAD_MAX). When it is a success
 * reply carrying a unikernel image, fills *lo and, when skeleton is not
 * NULL, decodes the message with an empty image into *skeleton (free with
 * alb_msg_free()). Returns 0; ALB_ENOENT when it is any other message, or
 * not shaped like one (decode it whole: alb_msg_decode() then says what is
 * wrong); alb_msg_decode()'s errors for a head that does not decode. */
int alb_image_reply_layout(const uint8_t *p, size_t n, size_t total,
			   struct alb_image_reply_layout *lo,
			   struct alb_msg **skeleton, struct alb_error *err);

#endif
