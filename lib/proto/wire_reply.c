/* libalbatross — success replies (spec §1.6).
 * SPDX-License-Identifier: ISC */
#include <string.h>

#include "base/internal.h"
#include "wire_internal.h"

static int dec_policies(struct alb_dec *d, struct alb_der *c, struct alb_reply *r)
{
	struct alb_der body;
	int rc = alb_dec_list(d, c, ALB_DER_SEQUENCE, &body, &r->u.policies.n, NULL);
	if (rc < 0)
		return rc;
	struct alb_named_policy *v = alb_dec_array(d, r->u.policies.n, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	r->u.policies.v = v;
	for (size_t i = 0; i < r->u.policies.n && rc == 0; i++) {
		struct alb_der s;
		rc = alb_der_get(&body, ALB_DER_SEQUENCE, &s, NULL, d->err);
		if (rc == 0)
			rc = alb_dec_name(d, &s, &v[i].name, "name");
		if (rc == 0)
			rc = alb_dec_policy(d, &s, &v[i].policy, "policy");
		if (rc == 0)
			rc = alb_der_end(&s, d->err);
	}
	return rc;
}

static int dec_block_devices(struct alb_dec *d, struct alb_der *c, struct alb_reply *r)
{
	struct alb_der body;
	int rc = alb_dec_list(d, c, ALB_DER_SEQUENCE, &body, &r->u.blocks.n, NULL);
	if (rc < 0)
		return rc;
	struct alb_block_info *v = alb_dec_array(d, r->u.blocks.n, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	r->u.blocks.v = v;
	for (size_t i = 0; i < r->u.blocks.n && rc == 0; i++) {
		struct alb_der s;
		rc = alb_der_get(&body, ALB_DER_SEQUENCE, &s, NULL, d->err);
		if (rc == 0)
			rc = alb_dec_name(d, &s, &v[i].name, "name");
		if (rc == 0)
			rc = alb_der_get_int(&s, &v[i].size, "size", d->err);
		if (rc == 0)
			rc = alb_der_get_bool(&s, &v[i].active, "active", d->err);
		if (rc == 0)
			rc = alb_der_end(&s, d->err);
	}
	return rc;
}

static int dec_image(struct alb_dec *d, struct alb_der *c, struct alb_reply *r)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_der_get_bool(&s, &r->u.image.compressed, "compressed", d->err);
	if (rc == 0)
		rc = alb_dec_bytes(d, &s, &r->u.image.data, "image");
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_infos(struct alb_dec *d, struct alb_der *c, enum alb_info_form f,
		     struct alb_reply *r)
{
	struct alb_der body;
	int rc = alb_dec_list(d, c, ALB_DER_SEQUENCE, &body, &r->u.infos.n, NULL);
	if (rc < 0)
		return rc;
	struct alb_named_info *v = alb_dec_array(d, r->u.infos.n, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	r->u.infos.v = v;
	for (size_t i = 0; i < r->u.infos.n && rc == 0; i++) {
		struct alb_der s;
		rc = alb_der_get(&body, ALB_DER_SEQUENCE, &s, NULL, d->err);
		if (rc == 0)
			rc = alb_dec_name(d, &s, &v[i].name, "name");
		if (rc == 0)
			rc = alb_dec_info(d, &s, f, &v[i].info, "info");
		if (rc == 0)
			rc = alb_der_end(&s, d->err);
	}
	return rc;
}

static int dec_consoles(struct alb_dec *d, struct alb_der *c, struct alb_reply *r)
{
	struct alb_der body;
	int rc = alb_dec_list(d, c, ALB_DER_SEQUENCE, &body, &r->u.consoles.n, NULL);
	if (rc < 0)
		return rc;
	const char **v = alb_dec_array(d, r->u.consoles.n, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	r->u.consoles.v = v;
	for (size_t i = 0; i < r->u.consoles.n && rc == 0; i++)
		rc = alb_dec_name(d, &body, &v[i], NULL);
	return rc;
}

int alb_dec_success(struct alb_dec *d, struct alb_der *c, struct alb_reply *r,
		    const char *label)
{
	const uint32_t alts = ALB_ALT(0) | ALB_ALT(1) | ALB_ALT(2) | ALB_ALT(4) |
			      ALB_ALT(6) | ALB_ALT(7) | ALB_ALT(9) | ALB_ALT(10) |
			      ALB_ALT(11) | ALB_ALT(12) | ALB_ALT(13);
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, alts, &n, &in, label, d->err);
	if (rc < 0)
		return rc;
	switch (n) {
	case 0:
		r->kind = ALB_REPLY_EMPTY;
		return alb_der_get_null(&in, NULL, d->err);
	case 1:
		r->kind = ALB_REPLY_STRING;
		return alb_dec_str(d, &in, &r->u.string, NULL);
	case 2:
		r->kind = ALB_REPLY_POLICIES;
		return dec_policies(d, &in, r);
	case 4:
		r->kind = ALB_REPLY_BLOCK_DEVICES;
		return dec_block_devices(d, &in, r);
	case 6:
	case 7:
		r->kind = n == 6 ? ALB_REPLY_UNIKERNEL_IMAGE : ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE;
		return dec_image(d, &in, r);
	case 9:
		r->kind = ALB_REPLY_OLD_UNIKERNEL_INFO4;
		return dec_infos(d, &in, ALB_INFO_OLD4, r);
	case 10:
		r->kind = ALB_REPLY_BLOCK_DEVICE_IMAGE;
		return alb_der_get_bool(&in, &r->u.block_compressed, NULL, d->err);
	case 11:
		r->kind = ALB_REPLY_OLD_UNIKERNEL_INFO5;
		return dec_infos(d, &in, ALB_INFO_OLD5, r);
	case 12:
		r->kind = ALB_REPLY_CONSOLES;
		return dec_consoles(d, &in, r);
	default:
		r->kind = ALB_REPLY_UNIKERNEL_INFO;
		return dec_infos(d, &in, ALB_INFO_CURRENT, r);
	}
}

/* ---- encoding --------------------------------------------------------- */

static void enc_infos(struct alb_derw *w, const struct alb_reply *r,
		      enum alb_info_form f)
{
	size_t m = alb_derw_len(w);
	for (size_t i = r->u.infos.n; i-- > 0;) {
		size_t e = alb_derw_len(w);
		alb_enc_info(w, &r->u.infos.v[i].info, f);
		alb_enc_name(w, r->u.infos.v[i].name);
		alb_derw_close(w, ALB_DER_SEQUENCE, e);
	}
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}

static void enc_policies(struct alb_derw *w, const struct alb_reply *r)
{
	size_t m = alb_derw_len(w);
	for (size_t i = r->u.policies.n; i-- > 0;) {
		size_t e = alb_derw_len(w);
		alb_enc_policy(w, &r->u.policies.v[i].policy);
		alb_enc_name(w, r->u.policies.v[i].name);
		alb_derw_close(w, ALB_DER_SEQUENCE, e);
	}
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}

static void enc_block_devices(struct alb_derw *w, const struct alb_reply *r)
{
	size_t m = alb_derw_len(w);
	for (size_t i = r->u.blocks.n; i-- > 0;) {
		size_t e = alb_derw_len(w);
		alb_derw_bool(w, r->u.blocks.v[i].active);
		alb_derw_int(w, r->u.blocks.v[i].size);
		alb_enc_name(w, r->u.blocks.v[i].name);
		alb_derw_close(w, ALB_DER_SEQUENCE, e);
	}
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}

void alb_enc_success(struct alb_derw *w, const struct alb_reply *r)
{
	size_t m = alb_derw_len(w);
	unsigned n;
	switch (r->kind) {
	case ALB_REPLY_EMPTY:
		alb_derw_null(w);
		n = 0;
		break;
	case ALB_REPLY_STRING:
		alb_enc_str(w, &r->u.string);
		n = 1;
		break;
	case ALB_REPLY_POLICIES:
		enc_policies(w, r);
		n = 2;
		break;
	case ALB_REPLY_BLOCK_DEVICES:
		enc_block_devices(w, r);
		n = 4;
		break;
	case ALB_REPLY_UNIKERNEL_IMAGE:
	case ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE:
		alb_derw_octets(w, r->u.image.data.ptr, r->u.image.data.len);
		alb_derw_bool(w, r->u.image.compressed);
		alb_derw_close(w, ALB_DER_SEQUENCE, m);
		n = r->kind == ALB_REPLY_UNIKERNEL_IMAGE ? 6 : 7;
		break;
	case ALB_REPLY_OLD_UNIKERNEL_INFO4:
		enc_infos(w, r, ALB_INFO_OLD4);
		n = 9;
		break;
	case ALB_REPLY_BLOCK_DEVICE_IMAGE:
		alb_derw_bool(w, r->u.block_compressed);
		n = 10;
		break;
	case ALB_REPLY_OLD_UNIKERNEL_INFO5:
		enc_infos(w, r, ALB_INFO_OLD5);
		n = 11;
		break;
	case ALB_REPLY_CONSOLES:
		for (size_t i = r->u.consoles.n; i-- > 0;)
			alb_enc_name(w, r->u.consoles.v[i]);
		alb_derw_close(w, ALB_DER_SEQUENCE, m);
		n = 12;
		break;
	case ALB_REPLY_UNIKERNEL_INFO:
		enc_infos(w, r, ALB_INFO_CURRENT);
		n = 13;
		break;
	default:
		alb_derw_fail(w, ALB_EINVAL, "unknown reply kind");
		return;
	}
	alb_derw_close(w, ALB_DER_EXPLICIT(n), m);
}

size_t alb_reply_bulk(const struct alb_reply *r)
{
	if (r->kind == ALB_REPLY_UNIKERNEL_IMAGE ||
	    r->kind == ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE)
		return r->u.image.data.len;
	return 0;
}
