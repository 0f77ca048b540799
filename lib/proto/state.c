/* libalbatross — the state file codec (spec §1.9): every format [0]..[6]
 * decodes, [6] is written, entries in Albatross's trie order.
 * SPDX-License-Identifier: ISC */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/name.h"
#include "base/internal.h"
#include "proto/state_codec.h"
#include "wire_internal.h"

/* The reserved choice Albatross raises on. */
#define STATE_FORMAT_NYI 7

/* Unikernel config grammar of each state format [0]..[6]. */
static const enum alb_cfg_form format_config[] = {
	ALB_CFG_V1, ALB_CFG_V0, ALB_CFG_V2, ALB_CFG_V3,
	ALB_CFG_V3, ALB_CFG_V4, ALB_CFG_CURRENT,
};

static int cmp_unikernel(const void *a, const void *b)
{
	return alb_name_cmp(((const struct alb_state_unikernel *)a)->name,
			    ((const struct alb_state_unikernel *)b)->name);
}

static int cmp_policy(const void *a, const void *b)
{
	return alb_name_cmp(((const struct alb_named_policy *)a)->name,
			    ((const struct alb_named_policy *)b)->name);
}

/* Puts entries in trie order; two names on the same trie node (the same
 * labels) are a duplicate, which Albatross asserts against. */
static int trie_order(struct alb_dec *d, void *v, size_t n, size_t size,
		      int (*cmp)(const void *, const void *))
{
	if (n < 2)
		return 0;
	qsort(v, n, size, cmp);
	for (size_t i = 1; i < n; i++) {
		const char *prev = (const char *)v + (i - 1) * size;
		const char *cur = (const char *)v + i * size;
		/* both entry structs start with their name */
		if (cmp(prev, cur) == 0)
			return alb_fail(d->err, ALB_EPARSE,
					"state file: duplicate name %s",
					*(const char *const *)cur);
	}
	return 0;
}

static int dec_unikernels(struct alb_dec *d, struct alb_der *c, enum alb_cfg_form f,
			  struct alb_state *st)
{
	struct alb_der body;
	int rc = alb_dec_list(d, c, ALB_DER_SEQUENCE, &body, &st->n_unikernels,
			      "unikernels");
	if (rc < 0)
		return rc;
	struct alb_state_unikernel *v = alb_dec_array(d, st->n_unikernels, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	st->unikernels = v;
	for (size_t i = 0; i < st->n_unikernels && rc == 0; i++) {
		struct alb_der s;
		rc = alb_der_get(&body, ALB_DER_SEQUENCE, &s, NULL, d->err);
		if (rc == 0)
			rc = alb_dec_name(d, &s, &v[i].name, "name");
		if (rc == 0)
			rc = alb_dec_config(d, &s, f, &v[i].config, "value");
		if (rc == 0)
			rc = alb_der_end(&s, d->err);
	}
	if (rc == 0)
		rc = trie_order(d, v, st->n_unikernels, sizeof(*v), cmp_unikernel);
	return rc;
}

static int dec_policies(struct alb_dec *d, struct alb_der *c, struct alb_state *st)
{
	struct alb_der body;
	int rc = alb_dec_list(d, c, ALB_DER_SEQUENCE, &body, &st->n_policies,
			      "policies");
	if (rc < 0)
		return rc;
	struct alb_named_policy *v = alb_dec_array(d, st->n_policies, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	st->policies = v;
	for (size_t i = 0; i < st->n_policies && rc == 0; i++) {
		struct alb_der s;
		rc = alb_der_get(&body, ALB_DER_SEQUENCE, &s, NULL, d->err);
		if (rc == 0)
			rc = alb_dec_name(d, &s, &v[i].name, "name");
		if (rc == 0)
			rc = alb_dec_policy(d, &s, &v[i].policy, "value");
		if (rc == 0)
			rc = alb_der_end(&s, d->err);
	}
	if (rc == 0)
		rc = trie_order(d, v, st->n_policies, sizeof(*v), cmp_policy);
	return rc;
}

static int dec_state(struct alb_dec *d, struct alb_der *top, void *head)
{
	struct alb_state *st = head;
	unsigned n = 0;
	struct alb_der in, s;
	int rc = alb_der_get_choice(top, 0xffu, &n, &in, "state", d->err);
	if (rc < 0)
		return rc;
	st->format = (int)n;
	if (n == STATE_FORMAT_NYI) {
		rc = alb_der_get_null(&in, NULL, d->err);
		return rc < 0 ? rc
			      : alb_fail(d->err, ALB_EPARSE,
					 "state file format [7] is not implemented");
	}
	if (n <= 3)
		return dec_unikernels(d, &in, format_config[n], st);
	rc = alb_der_get(&in, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = dec_unikernels(d, &s, format_config[n], st);
	if (rc == 0)
		rc = dec_policies(d, &s, st);
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

int alb_state_decode(const uint8_t *buf, size_t len, unsigned flags,
		     struct alb_state **out, struct alb_error *err)
{
	if (out == NULL || (buf == NULL && len > 0))
		return alb_fail(err, ALB_EINVAL, "alb_state_decode: no buffer or output");
	int rc;
	*out = alb_dec_whole(buf, len, flags, sizeof(**out),
			     offsetof(struct alb_state, arena_), dec_state, &rc,
			     err);
	return rc;
}

void alb_state_free(struct alb_state *s)
{
	if (s != NULL)
		alb_arena_destroy(s->arena_);
}

/* ---- encoding --------------------------------------------------------- */

static int cmp_unikernel_ptr(const void *a, const void *b)
{
	return cmp_unikernel(*(const void *const *)a, *(const void *const *)b);
}

static int cmp_policy_ptr(const void *a, const void *b)
{
	return cmp_policy(*(const void *const *)a, *(const void *const *)b);
}

/* Pointers to the n entries of v (size bytes each) in trie order, for
 * writing without touching the caller's arrays; NULL when out of memory
 * or when two entries share a name. */
static const void **sorted_entries(struct alb_derw *w, const void *v, size_t n,
				   size_t size, int (*cmp)(const void *, const void *))
{
	const void **p = malloc((n > 0 ? n : 1) * sizeof(*p));
	if (p == NULL) {
		alb_derw_fail(w, ALB_ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (const char *)v + i * size;
	if (n > 1)
		qsort(p, n, sizeof(*p), cmp);
	for (size_t i = 1; i < n; i++) {
		if (cmp(&p[i - 1], &p[i]) == 0) {
			alb_derw_fail(w, ALB_EINVAL, "state: duplicate name");
			free(p);
			return NULL;
		}
	}
	return p;
}

/* One unikernel: its name and its configuration. */
static void enc_entry(struct alb_derw *w, const char *name,
		      const struct alb_unikernel_config *c)
{
	size_t e = alb_derw_len(w);
	alb_enc_config(w, c, false);
	alb_enc_name(w, name);
	alb_derw_close(w, ALB_DER_SEQUENCE, e);
}

static void enc_unikernels(struct alb_derw *w, const struct alb_state *s)
{
	const void **p = sorted_entries(w, s->unikernels, s->n_unikernels,
					sizeof(*s->unikernels), cmp_unikernel_ptr);
	if (p == NULL)
		return;
	size_t m = alb_derw_len(w);
	for (size_t i = s->n_unikernels; i-- > 0;) {
		const struct alb_state_unikernel *u = p[i];
		enc_entry(w, u->name, &u->config);
	}
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
	free(p);
}

static void enc_policies(struct alb_derw *w, const struct alb_state *s)
{
	const void **p = sorted_entries(w, s->policies, s->n_policies,
					sizeof(*s->policies), cmp_policy_ptr);
	if (p == NULL)
		return;
	size_t m = alb_derw_len(w);
	for (size_t i = s->n_policies; i-- > 0;) {
		const struct alb_named_policy *np = p[i];
		size_t e = alb_derw_len(w);
		alb_enc_policy(w, &np->policy);
		alb_enc_name(w, np->name);
		alb_derw_close(w, ALB_DER_SEQUENCE, e);
	}
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
	free(p);
}

int alb_state_file_check_size(uint64_t size, struct alb_error *err)
{
	if (size > ALB_STATE_FILE_MAX || size > SIZE_MAX)
		return alb_fail(err, ALB_ETOOBIG,
				"state file of %llu bytes exceeds %llu bytes",
				(unsigned long long)size,
				(unsigned long long)ALB_STATE_FILE_MAX);
	return 0;
}

int alb_state_entry_encode(const char *name,
			   const struct alb_unikernel_config *c,
			   struct alb_state_entry *out, struct alb_error *err)
{
	memset(out, 0, sizeof(*out));
	struct alb_derw w;
	/* the image is a hole: never copied, it stays where the caller
	 * keeps it */
	alb_derw_init(&w, alb_enc_hint(0));
	w.find = c->image.len > 0 ? c->image.ptr : NULL;
	enc_entry(&w, name, c);
	size_t found_end = w.found_end, hole = w.hole;
	struct alb_buf b = {0};
	int rc = alb_derw_finish(&w, false, &b, err);
	if (rc != 0)
		return rc;
	/* the bytes in front of the image end where it starts */
	size_t cut = found_end != 0 ? b.len + hole - found_end : b.len;
	out->bytes = malloc(b.len > 0 ? b.len : 1);
	if (out->bytes == NULL) {
		alb_buf_free(&b);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	memcpy(out->bytes, b.data, b.len);
	out->len = b.len;
	out->cut = cut;
	out->image = hole;
	alb_buf_free(&b);
	return 0;
}

void alb_state_entry_free(struct alb_state_entry *e)
{
	if (e == NULL)
		return;
	free(e->bytes);
	memset(e, 0, sizeof(*e));
}

int alb_state_encode_frame(const struct alb_named_policy *p, size_t np,
			   size_t entries_len, struct alb_buf *head,
			   struct alb_buf *tail, struct alb_error *err)
{
	if (head == NULL || tail == NULL || head->data != NULL ||
	    head->base_ != NULL || tail->data != NULL || tail->base_ != NULL)
		return alb_fail(err, ALB_EINVAL,
				"alb_state_encode_frame: output buffer not empty");
	int rc = alb_state_file_check_size(entries_len, err);
	if (rc != 0)
		return rc;
	struct alb_state s = {.n_policies = np,
			      .policies = (struct alb_named_policy *)p};
	struct alb_derw w;
	alb_derw_init(&w, 0);
	enc_policies(&w, &s);
	rc = alb_derw_finish(&w, false, tail, err);
	if (rc != 0)
		return rc;
	/* every length around the entries counts them and the tail, though
	 * neither is here: they follow the head in the file */
	size_t after = entries_len + tail->len;
	alb_derw_init(&w, 0);
	alb_derw_header(&w, ALB_DER_SEQUENCE, entries_len);
	alb_derw_header(&w, ALB_DER_SEQUENCE, alb_derw_len(&w) + after);
	alb_derw_header(&w, ALB_DER_EXPLICIT(ALB_STATE_FORMAT_CURRENT),
			alb_derw_len(&w) + after);
	rc = alb_derw_finish(&w, false, head, err);
	if (rc != 0)
		alb_buf_free(tail);
	return rc;
}

int alb_state_encode(const struct alb_state *s, struct alb_buf *out,
		     struct alb_error *err)
{
	if (s == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_state_encode: no state or output");
	if (out->data != NULL || out->base_ != NULL)
		return alb_fail(err, ALB_EINVAL, "alb_state_encode: output buffer not empty");
	size_t bulk = 0;
	for (size_t i = 0; i < s->n_unikernels; i++)
		bulk += s->unikernels[i].config.image.len;
	struct alb_derw w;
	alb_derw_init(&w, alb_enc_hint(bulk));
	size_t m = alb_derw_len(&w);
	enc_policies(&w, s);
	enc_unikernels(&w, s);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	alb_derw_close(&w, ALB_DER_EXPLICIT(ALB_STATE_FORMAT_CURRENT), m);
	return alb_derw_finish(&w, false, out, err);
}
