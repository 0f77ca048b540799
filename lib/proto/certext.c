/* libalbatross — the payload of the albatross X.509 extension (spec §1.10):
 * SEQUENCE { version INTEGER, command }.
 * SPDX-License-Identifier: ISC */
#include <stddef.h>

#include "base/internal.h"
#include "wire_internal.h"

static int dec_certext(struct alb_dec *d, struct alb_der *top, void *head)
{
	struct alb_certext *ce = head;
	struct alb_der s;
	int rc = alb_der_get(top, ALB_DER_SEQUENCE, &s, "cert-extension", d->err);
	if (rc == 0)
		rc = alb_der_get_int(&s, &ce->version, "version", d->err);
	if (rc == 0)
		rc = alb_check_version(ce->version, d->err);
	if (rc == 0)
		rc = alb_dec_command(d, &s, &ce->command, "command");
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

int alb_certext_decode(const uint8_t *buf, size_t len, unsigned flags,
		       struct alb_certext **out, struct alb_error *err)
{
	if (out == NULL || (buf == NULL && len > 0))
		return alb_fail(err, ALB_EINVAL, "alb_certext_decode: no buffer or output");
	int rc;
	*out = alb_dec_whole(buf, len, flags, sizeof(**out),
			     offsetof(struct alb_certext, arena_), dec_certext,
			     &rc, err);
	return rc;
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
