/* libalbatross — the journal's records (journal_codec.h, doc/journal.md):
 * framing and checksum around a body (a state entry or a name), and the
 * decoder of one whole record.
 * SPDX-License-Identifier: ISC */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "base/internal.h"
#include "proto/journal_codec.h"
#include "wire_internal.h"

/* Writes a DER header of tag and len at p; returns its length. */
static size_t put_header(uint8_t *p, unsigned tag, size_t len)
{
	p[0] = (uint8_t)tag;
	if (len < 0x80) {
		p[1] = (uint8_t)len;
		return 2;
	}
	size_t n = 0;
	for (size_t l = len; l > 0; l >>= 8)
		n++;
	p[1] = (uint8_t)(0x80u | n);
	for (size_t i = 0; i < n; i++)
		p[2 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	return 2 + n;
}

static size_t header_len(size_t len)
{
	uint8_t scratch[ALB_JOURNAL_HEADER_MAX];
	return put_header(scratch, 0, len);
}

int alb_journal_frame_init(struct alb_journal_frame *f,
			   enum alb_journal_kind kind, size_t body_len,
			   struct alb_error *err)
{
	if ((unsigned)kind > ALB_JOURNAL_UNIKERNEL_FILE)
		return alb_fail(err, ALB_EINVAL, "journal: unknown record kind %d",
				(int)kind);
	if (body_len > ALB_JOURNAL_RECORD_MAX)
		return alb_fail(err, ALB_ETOOBIG,
				"journal record of %zu bytes exceeds %zu bytes",
				body_len, ALB_JOURNAL_RECORD_MAX);
	size_t inner = header_len(body_len) + body_len;
	size_t outer = inner + ALB_JOURNAL_CRC_LEN;
	size_t total = header_len(outer) + outer;
	if (total > ALB_JOURNAL_RECORD_MAX)
		return alb_fail(err, ALB_ETOOBIG,
				"journal record of %zu bytes exceeds %zu bytes",
				total, ALB_JOURNAL_RECORD_MAX);
	f->head_len = put_header(f->head, ALB_DER_SEQUENCE, outer);
	f->head_len += put_header(f->head + f->head_len,
				  ALB_DER_EXPLICIT(kind), body_len);
	f->crc[0] = ALB_DER_OCTET_STRING;
	f->crc[1] = 4;
	memset(f->crc + 2, 0, 4);
	return 0;
}

void alb_journal_seal(struct alb_journal_frame *f, const struct iovec *body,
		      size_t n)
{
	uint32_t crc = alb_crc32c(0, f->head, f->head_len);
	for (size_t i = 0; i < n; i++)
		crc = alb_crc32c(crc, body[i].iov_base, body[i].iov_len);
	for (int i = 0; i < 4; i++)
		f->crc[2 + i] = (uint8_t)(crc >> (24 - 8 * i));
}

int alb_journal_name_body(const char *name, struct alb_buf *out,
			  struct alb_error *err)
{
	struct alb_derw w;
	alb_derw_init(&w, 0);
	alb_enc_name(&w, name);
	return alb_derw_finish(&w, false, out, err);
}

bool alb_journal_file_name_ok(const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == ALB_JOURNAL_FILE_NAME_LEN;
}

int alb_journal_file_body(const char *name,
			  const struct alb_unikernel_config *cfg,
			  const struct alb_journal_image_file *f,
			  struct alb_buf *out, struct alb_error *err)
{
	if (!alb_journal_file_name_ok(f->name))
		return alb_fail(err, ALB_EINVAL, "journal: bad image file name");
	struct alb_unikernel_config bare = *cfg;
	bare.image = (struct alb_bytes){NULL, 0};
	/* the writer works from the end */
	struct alb_derw w;
	alb_derw_init(&w, 0);
	alb_derw_octets(&w, f->sha256, ALB_SHA256_LEN);
	alb_derw_int(&w, (int64_t)f->len);
	alb_enc_str(&w, &(struct alb_str){f->name, strlen(f->name)});
	alb_derw_close(&w, ALB_DER_SEQUENCE, 0);
	alb_enc_config(&w, &bare, false);
	alb_enc_name(&w, name);
	alb_derw_close(&w, ALB_DER_SEQUENCE, 0);
	return alb_derw_finish(&w, false, out, err);
}

/* ImageFile: a name that cannot leave the images directory, a length an
 * image may have, a digest. */
static int dec_image_file(struct alb_dec *d, struct alb_der *c,
			  struct alb_journal_image_file *f)
{
	struct alb_der s;
	struct alb_str name;
	struct alb_bytes sha;
	int64_t len = 0;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, "image", d->err);
	if (rc == 0)
		rc = alb_dec_str(d, &s, &name, "file");
	if (rc == 0 && name.len != ALB_JOURNAL_FILE_NAME_LEN)
		rc = alb_fail(d->err, ALB_EPARSE, "image file name of %zu bytes",
			      name.len);
	if (rc == 0) {
		memcpy(f->name, name.ptr, name.len);
		f->name[name.len] = '\0';
		if (!alb_journal_file_name_ok(f->name))
			rc = alb_fail(d->err, ALB_EPARSE, "bad image file name");
	}
	if (rc == 0)
		rc = alb_der_get_int(&s, &len, "length", d->err);
	if (rc == 0 && (len <= 0 || (uint64_t)len > ALB_IMAGE_MAX))
		rc = alb_fail(d->err, ALB_EPARSE, "image length %lld",
			      (long long)len);
	if (rc == 0)
		rc = alb_der_get_octets(&s, &sha, "sha256", d->err);
	if (rc == 0 && sha.len != ALB_SHA256_LEN)
		rc = alb_fail(d->err, ALB_EPARSE, "image digest of %zu bytes",
			      sha.len);
	if (rc == 0) {
		f->len = (uint64_t)len;
		memcpy(f->sha256, sha.ptr, ALB_SHA256_LEN);
		rc = alb_der_end(&s, d->err);
	}
	return rc;
}

int alb_journal_policy_body(const char *path, const struct alb_policy *p,
			    struct alb_buf *out, struct alb_error *err)
{
	struct alb_derw w;
	alb_derw_init(&w, 0);
	alb_enc_policy(&w, p);
	alb_enc_name(&w, path);
	alb_derw_close(&w, ALB_DER_SEQUENCE, 0);
	return alb_derw_finish(&w, false, out, err);
}

int alb_journal_record_len(const uint8_t *p, size_t avail, size_t *len,
			   struct alb_error *err)
{
	if (avail < 2)
		return ALB_EAGAIN;
	if (p[0] != ALB_DER_SEQUENCE)
		return alb_fail(err, ALB_EPARSE,
				"not a record (identifier 0x%02x)", p[0]);
	size_t body, hl;
	if (p[1] < 0x80) {
		body = p[1];
		hl = 2;
	} else {
		size_t n = p[1] & 0x7fu;
		/* DER: the shortest long form, never for what fits the short */
		if (n == 0 || n > 4)
			return alb_fail(err, ALB_EPARSE,
					"record length of %zu octets", n);
		if (avail < 2 + n)
			return ALB_EAGAIN;
		if (p[2] == 0)
			return alb_fail(err, ALB_EPARSE,
					"record length not minimally encoded");
		body = 0;
		for (size_t i = 0; i < n; i++)
			body = (body << 8) | p[2 + i];
		if (body < 0x80)
			return alb_fail(err, ALB_EPARSE,
					"record length not minimally encoded");
		hl = 2 + n;
	}
	if (body > ALB_JOURNAL_RECORD_MAX - hl)
		return alb_fail(err, ALB_EPARSE,
				"record of %zu bytes exceeds %zu bytes", body + hl,
				ALB_JOURNAL_RECORD_MAX);
	*len = hl + body;
	return 0;
}

static int dec_record(struct alb_dec *d, struct alb_der *top, void *head)
{
	struct alb_journal_change *ch = head;
	struct alb_der rec, in, s;
	unsigned n = 0;
	int rc = alb_der_get(top, ALB_DER_SEQUENCE, &rec, "record", d->err);
	if (rc == 0)
		rc = alb_der_get_choice(&rec, ALB_ALT(0) | ALB_ALT(1) | ALB_ALT(2) |
						      ALB_ALT(3) | ALB_ALT(4),
					&n, &in, "change", d->err);
	if (rc < 0)
		return rc;
	ch->kind = (enum alb_journal_kind)n;
	switch (ch->kind) {
	case ALB_JOURNAL_UNIKERNEL:
	case ALB_JOURNAL_UNIKERNEL_FILE:
	case ALB_JOURNAL_POLICY:
		rc = alb_der_get(&in, ALB_DER_SEQUENCE, &s, "entry", d->err);
		if (rc == 0)
			rc = alb_dec_name(d, &s, &ch->name, "name");
		if (rc == 0 && ch->kind != ALB_JOURNAL_POLICY)
			rc = alb_dec_config(d, &s, ALB_CFG_CURRENT, &ch->config,
					    "value");
		else if (rc == 0)
			rc = alb_dec_policy(d, &s, &ch->policy, "value");
		if (rc == 0 && ch->kind == ALB_JOURNAL_UNIKERNEL_FILE &&
		    ch->config.image.len != 0)
			rc = alb_fail(d->err, ALB_EPARSE,
				      "an image beside its image file");
		if (rc == 0 && ch->kind == ALB_JOURNAL_UNIKERNEL_FILE)
			rc = dec_image_file(d, &s, &ch->file);
		if (rc == 0)
			rc = alb_der_end(&s, d->err);
		break;
	case ALB_JOURNAL_UNIKERNEL_GONE:
	case ALB_JOURNAL_POLICY_GONE:
		rc = alb_dec_name(d, &in, &ch->name, "name");
		break;
	}
	if (rc == 0)
		rc = alb_der_end(&in, d->err);
	struct alb_bytes crc;
	if (rc == 0)
		rc = alb_der_get_octets(&rec, &crc, "crc", d->err);
	if (rc == 0 && crc.len != 4)
		rc = alb_fail(d->err, ALB_EPARSE, "checksum of %zu bytes", crc.len);
	if (rc == 0)
		rc = alb_der_end(&rec, d->err);
	return rc;
}

int alb_journal_check(const uint8_t *buf, size_t len, struct alb_error *err)
{
	size_t rl;
	int rc = alb_journal_record_len(buf, len, &rl, err);
	if (rc == ALB_EAGAIN || (rc == 0 && rl != len))
		return alb_fail(err, ALB_EPARSE,
				"record of %zu bytes is not whole", len);
	if (rc != 0)
		return rc;
	/* the smallest record: its header, a change of 4 bytes, the crc */
	if (len < 2 + 4 + ALB_JOURNAL_CRC_LEN)
		return alb_fail(err, ALB_EPARSE, "record of %zu bytes too short",
				len);
	const uint8_t *c = buf + len - ALB_JOURNAL_CRC_LEN;
	if (c[0] != ALB_DER_OCTET_STRING || c[1] != 4)
		return alb_fail(err, ALB_EPARSE, "record without a checksum");
	uint32_t want = (uint32_t)c[2] << 24 | (uint32_t)c[3] << 16 |
			(uint32_t)c[4] << 8 | c[5];
	uint32_t got = alb_crc32c(0, buf, len - ALB_JOURNAL_CRC_LEN);
	if (got != want)
		return alb_fail(err, ALB_EPARSE,
				"checksum mismatch (0x%08x recorded, 0x%08x computed)",
				want, got);
	return 0;
}

int alb_journal_decode(const uint8_t *buf, size_t len, unsigned flags,
		       struct alb_journal_change **out, struct alb_error *err)
{
	int rc;
	*out = alb_dec_whole(buf, len, flags, sizeof(**out),
			     offsetof(struct alb_journal_change, arena_),
			     dec_record, &rc, err);
	return rc;
}

void alb_journal_change_free(struct alb_journal_change *c)
{
	if (c != NULL)
		alb_arena_destroy(c->arena_);
}
