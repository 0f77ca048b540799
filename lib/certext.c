/* libalbatross — the payload of the albatross X.509 extension (spec §1.10):
 * SEQUENCE { version INTEGER, command }.
 * SPDX-License-Identifier: ISC */
#include <string.h>

#include "internal.h"
#include "wire_internal.h"

int alb_certext_decode(const uint8_t *buf, size_t len, unsigned flags,
		       struct alb_certext **out, struct alb_error *err)
{
	if (out == NULL || (buf == NULL && len > 0))
		return alb_fail(err, ALB_EINVAL, "alb_certext_decode: no buffer or output");
	*out = NULL;
	struct alb_dec d;
	struct alb_certext *ce = alb_dec_start(sizeof(*ce), len, &d, flags, err);
	if (ce == NULL)
		return ALB_ENOMEM;
	ce->arena_ = d.arena;
	struct alb_der top, s;
	alb_der_init(&top, buf, len);
	int rc = alb_der_get(&top, ALB_DER_SEQUENCE, &s, "cert-extension", err);
	if (rc == 0)
		rc = alb_der_get_int(&s, &ce->version, "version", err);
	if (rc == 0)
		rc = alb_check_version(ce->version, err);
	if (rc == 0)
		rc = alb_dec_command(&d, &s, &ce->command, "command");
	if (rc == 0)
		rc = alb_der_end(&s, err);
	if (rc == 0 && top.len > 0)
		rc = alb_fail(err, ALB_EPARSE, "trailing bytes");
	if (rc < 0) {
		alb_arena_destroy(d.arena);
		return rc;
	}
	*out = ce;
	return 0;
}

void alb_certext_free(struct alb_certext *c)
{
	if (c != NULL)
		alb_arena_destroy(c->arena_);
}

int alb_certext_encode(const struct alb_certext *c, struct alb_buf *out,
		       struct alb_error *err)
{
	if (c == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_certext_encode: no value or output");
	if (out->data != NULL || out->base_ != NULL)
		return alb_fail(err, ALB_EINVAL, "alb_certext_encode: output buffer not empty");
	if (c->version != ALB_WIRE_VERSION)
		return alb_fail(err, ALB_EINVAL, "only version 5 can be encoded");
	struct alb_derw w;
	alb_derw_init(&w, alb_enc_hint(alb_command_bulk(&c->command)));
	size_t m = alb_derw_len(&w);
	alb_enc_command(&w, &c->command);
	alb_derw_int(&w, c->version);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	return alb_derw_finish(&w, false, out, err);
}
