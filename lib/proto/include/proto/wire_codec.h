/* libalbatross — a wire message encoded around a bulk string that stays
 * where its writer keeps it (private to the library): a relay that spooled
 * a create's image to a file sends the frame's head, the file, the tail.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_PROTO_WIRE_CODEC_H
#define ALB_PROTO_WIRE_CODEC_H

#include "albatross/wire.h"

/** Encodes m framed (as alb_msg_encode() with ALB_ENCODE_FRAMED) with the
 * string whose pointer is hole (e.g. a create's image.ptr: never read, any
 * unique address) left out: the frame is out[0..*cut), the hole's bytes,
 * out[*cut..out->len). Without such a string out is the whole frame and
 * *cut its length. Returns 0 or alb_msg_encode()'s errors. */
int alb_msg_encode_around(const struct alb_msg *m, const void *hole,
			  struct alb_buf *out, size_t *cut,
			  struct alb_error *err);

#endif
