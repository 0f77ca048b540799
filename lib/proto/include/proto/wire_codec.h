/* libalbatross — wire messages encoded from parts their writer keeps
 * (private to the library): around a bulk string that stays where it is
 * (a relay that spooled a create's image to a file sends the frame's head,
 * the file, the tail), and an info reply from infos encoded beforehand.
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

/** One unikernel of a Unikernel_info reply whose info is DER already
 * (alb_info_der()): a server that keeps each encoding answers an info of
 * many unikernels by copying bytes. */
struct alb_info_der {
	const char *name;
	const uint8_t *der;
	size_t len;
};

/** The DER of info as a current-form UnikernelInfo (spec §1.5.7), as it
 * stands in a Unikernel_info reply. out must be empty. */
int alb_info_der(const struct alb_unikernel_info *info, struct alb_buf *out,
		 struct alb_error *err);

/** Encodes framed the message with header h and payload Success
 * (Unikernel_info v[0..n)): the bytes of alb_msg_encode() of that reply
 * with the infos decoded. out must be empty. */
int alb_msg_encode_info_der(const struct alb_header *h,
			    const struct alb_info_der *v, size_t n,
			    struct alb_buf *out, struct alb_error *err);

#endif
