/* libalbatross — wire messages: header, payload, decode and encode entry
 * points, and the decoding helpers shared by the codec (spec §1.3).
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/name.h"
#include "base/internal.h"
#include "proto/wire_codec.h"
#include "wire_internal.h"

/* First arena block: room for the strings of a small message. */
#define DEC_FIRST_BLOCK_MIN 128
#define DEC_FIRST_BLOCK_MAX 4096

void *alb_dec_whole(const uint8_t *buf, size_t len, unsigned flags,
		    size_t head_size, size_t arena_offset,
		    int (*body)(struct alb_dec *d, struct alb_der *c, void *head),
		    int *rc, struct alb_error *err)
{
	if (len > (SIZE_MAX - ALB_DECODE_MEM_SLACK) / ALB_DECODE_MEM_FACTOR) {
		*rc = alb_fail(err, ALB_ETOOBIG, "input too large");
		return NULL;
	}
	size_t first = 2 * len;
	if (first < DEC_FIRST_BLOCK_MIN)
		first = DEC_FIRST_BLOCK_MIN;
	if (first > DEC_FIRST_BLOCK_MAX)
		first = DEC_FIRST_BLOCK_MAX;
	size_t limit = len * ALB_DECODE_MEM_FACTOR + ALB_DECODE_MEM_SLACK;
	struct alb_dec d = {.flags = flags, .err = err};
	char *head = alb_arena_create(head_size, first, limit, &d.arena);
	if (head == NULL) {
		*rc = alb_fail(err, ALB_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(head + arena_offset, &d.arena, sizeof(d.arena));
	struct alb_der top;
	alb_der_init(&top, buf, len);
	*rc = body(&d, &top, head);
	if (*rc == 0 && top.len > 0)
		*rc = alb_fail(err, ALB_EPARSE, "trailing bytes");
	if (*rc < 0) {
		alb_arena_destroy(d.arena);
		return NULL;
	}
	return head;
}

int alb_dec_nomem(struct alb_dec *d)
{
	/* no valid input needs more than the bound of alb_dec_whole(): past
	 * it, the message claims more elements than its bytes can hold */
	if (alb_arena_refused(d->arena))
		return alb_fail(d->err, ALB_EPARSE,
				"malformed message: more elements than its length allows");
	return alb_fail(d->err, ALB_ENOMEM, "out of memory decoding a message");
}

void *alb_dec_array(struct alb_dec *d, size_t n, size_t size)
{
	return alb_arena_calloc(d->arena, n, size);
}

int alb_dec_list(struct alb_dec *d, struct alb_der *c, unsigned tag,
		 struct alb_der *body, size_t *n, const char *label)
{
	int rc = alb_der_get(c, tag, body, label, d->err);
	if (rc < 0)
		return rc;
	return alb_der_count(body, n, d->err);
}

static int copy_str(struct alb_dec *d, const struct alb_bytes *b,
		    struct alb_str *out)
{
	if (b->len == 0) {
		/* empty strings share one constant instead of an allocation */
		out->ptr = "";
		out->len = 0;
		return 0;
	}
	char *s = alb_arena_strndup(d->arena, b->ptr, b->len);
	if (s == NULL)
		return alb_dec_nomem(d);
	out->ptr = s;
	out->len = b->len;
	return 0;
}

int alb_dec_str(struct alb_dec *d, struct alb_der *c, struct alb_str *out,
		const char *label)
{
	struct alb_bytes b;
	int rc = alb_der_get_utf8(c, &b, label, d->err);
	if (rc < 0)
		return rc;
	return copy_str(d, &b, out);
}

int alb_dec_opt_str(struct alb_dec *d, struct alb_der *c, struct alb_str *out,
		    const char *label)
{
	out->ptr = NULL;
	out->len = 0;
	if (!alb_der_peek_is(c, ALB_DER_UTF8STRING))
		return 0;
	return alb_dec_str(d, c, out, label);
}

int alb_dec_bytes(struct alb_dec *d, struct alb_der *c, struct alb_bytes *out,
		  const char *label)
{
	struct alb_bytes b;
	int rc = alb_der_get_octets(c, &b, label, d->err);
	if (rc < 0)
		return rc;
	if ((d->flags & ALB_DECODE_BORROW) || b.len == 0) {
		*out = b;
		return 0;
	}
	uint8_t *p = alb_arena_alloc(d->arena, b.len);
	if (p == NULL)
		return alb_dec_nomem(d);
	memcpy(p, b.ptr, b.len);
	out->ptr = p;
	out->len = b.len;
	return 0;
}

int alb_dec_name(struct alb_dec *d, struct alb_der *c, const char **out,
		 const char *label)
{
	struct alb_bytes b;
	int rc = alb_der_get_utf8(c, &b, label, d->err);
	if (rc < 0)
		return rc;
	char canon[ALB_NAME_BUF];
	rc = alb_name_parse((const char *)b.ptr, b.len, canon, d->err);
	if (rc < 0) {
		/* a name past our length limit is malformed input here */
		if (d->err != NULL)
			d->err->code = ALB_EPARSE;
		return ALB_EPARSE;
	}
	char *s = alb_arena_strndup(d->arena, canon, strlen(canon));
	if (s == NULL)
		return alb_dec_nomem(d);
	*out = s;
	return 0;
}

int alb_dec_str_list(struct alb_dec *d, struct alb_der *c, size_t *n,
		     struct alb_str **out, const char *label)
{
	struct alb_der body;
	int rc = alb_dec_list(d, c, ALB_DER_SEQUENCE, &body, n, label);
	if (rc < 0)
		return rc;
	struct alb_str *v = alb_dec_array(d, *n, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	for (size_t i = 0; i < *n; i++) {
		rc = alb_dec_str(d, &body, &v[i], label);
		if (rc < 0)
			return rc;
	}
	*out = v;
	return 0;
}

int alb_dec_mac(struct alb_dec *d, struct alb_der *c, uint8_t mac[ALB_MAC_LEN],
		const char *label)
{
	struct alb_bytes b;
	int rc = alb_der_get_octets(c, &b, label, d->err);
	if (rc < 0)
		return rc;
	if (b.len != ALB_MAC_LEN)
		return alb_fail(d->err, ALB_EPARSE,
				"bad mac address: Macaddr: MAC is exactly 6 bytes");
	memcpy(mac, b.ptr, ALB_MAC_LEN);
	return 0;
}

void alb_enc_str(struct alb_derw *w, const struct alb_str *s)
{
	if (s->ptr == NULL && s->len > 0) {
		alb_derw_fail(w, ALB_EINVAL, "string with a NULL pointer");
		return;
	}
	alb_derw_utf8(w, s->ptr, s->len);
}

void alb_enc_str_list(struct alb_derw *w, size_t n, const struct alb_str *v)
{
	size_t m = alb_derw_len(w);
	for (size_t i = n; i-- > 0;)
		alb_enc_str(w, &v[i]);
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}

void alb_enc_name(struct alb_derw *w, const char *name)
{
	char canon[ALB_NAME_BUF];
	if (name == NULL || alb_name_parse(name, strlen(name), canon, NULL) < 0) {
		alb_derw_fail(w, ALB_EINVAL, "invalid name");
		return;
	}
	alb_derw_utf8(w, canon, strlen(canon));
}

size_t alb_enc_hint(size_t bulk)
{
	/* small messages fit the default; bulk ones get room for the fields
	 * and headers around their large string, so it is copied once */
	return bulk == 0 ? 256 : bulk + 8192;
}

/* ---- the message ------------------------------------------------------ */

/* Albatross peels the outer SEQUENCE and the header by hand before
 * decoding, to read the version first (src/vmm_asn.ml decode_seq_len);
 * its checks and texts are reproduced here. */
static int peel(const uint8_t *buf, size_t len, const uint8_t **body,
		size_t *blen, struct alb_error *err)
{
	if (len <= 2)
		return alb_fail(err, ALB_EPARSE, "buffer too short");
	if (buf[0] != ALB_DER_SEQUENCE)
		return alb_fail(err, ALB_EPARSE, "not a sequence");
	size_t off, l;
	if (buf[1] < 0x80) {
		off = 2;
		l = buf[1];
	} else if (buf[1] == 0x80) {
		return alb_fail(err, ALB_EPARSE, "indefinite length");
	} else {
		size_t k = buf[1] & 0x7fu;
		if (len - 2 <= k)
			return alb_fail(err, ALB_EPARSE, "data too short");
		l = 0;
		for (size_t i = 0; i < k; i++) {
			/* saturate: anything this big is "buffer too small" */
			l = l > (SIZE_MAX >> 8) ? SIZE_MAX : (l << 8 | buf[2 + i]);
		}
		off = 2 + k;
	}
	if (len - off < l)
		return alb_fail(err, ALB_EPARSE, "buffer too small");
	*body = buf + off;
	*blen = l;
	return 0;
}

int alb_check_version(int64_t v, struct alb_error *err)
{
	if (v == ALB_WIRE_VERSION)
		return 0;
	/* OCaml prints ints in hex as their 63-bit two's complement */
	return alb_fail(err, ALB_EPARSE, "unknown version number 0x%" PRIX64,
			(uint64_t)v & 0x7fffffffffffffffu);
}

static int peek_version(const uint8_t *buf, size_t len, struct alb_error *err)
{
	const uint8_t *outer, *hdr;
	size_t ol, hl;
	int rc = peel(buf, len, &outer, &ol, err);
	if (rc == 0)
		rc = peel(outer, ol, &hdr, &hl, err);
	if (rc < 0)
		return rc;
	struct alb_der c;
	int64_t v;
	alb_der_init(&c, hdr, hl);
	rc = alb_der_get_int(&c, &v, "version", err);
	if (rc < 0)
		return rc;
	return alb_check_version(v, err);
}

static int dec_header(struct alb_dec *d, struct alb_der *c, struct alb_header *h)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, "header", d->err);
	if (rc == 0)
		rc = alb_der_get_int(&s, &h->version, "version", d->err);
	if (rc == 0)
		rc = alb_check_version(h->version, d->err);
	if (rc == 0)
		rc = alb_der_get_int64(&s, &h->sequence, "sequence", d->err);
	if (rc == 0)
		rc = alb_dec_name(d, &s, &h->name, "name");
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_payload(struct alb_dec *d, struct alb_der *c, struct alb_msg *m)
{
	unsigned n;
	struct alb_der in;
	int rc = alb_der_get_choice(c, ALB_ALT(0) | ALB_ALT(1) | ALB_ALT(2) | ALB_ALT(3),
				    &n, &in, "payload", d->err);
	if (rc < 0)
		return rc;
	switch (n) {
	case 0:
		m->kind = ALB_PAYLOAD_COMMAND;
		return alb_dec_command(d, &in, &m->u.command, "command");
	case 1:
		m->kind = ALB_PAYLOAD_SUCCESS;
		return alb_dec_success(d, &in, &m->u.success, "reply");
	case 2:
		m->kind = ALB_PAYLOAD_FAILURE;
		return alb_dec_str(d, &in, &m->u.failure, "failure");
	default:
		m->kind = ALB_PAYLOAD_DATA;
		return alb_dec_data(d, &in, &m->u.data, "data");
	}
}

/* The whole message: SEQUENCE { header, payload }. */
static int dec_msg(struct alb_dec *d, struct alb_der *top, void *head)
{
	struct alb_msg *m = head;
	struct alb_der wire;
	int rc = alb_der_get(top, ALB_DER_SEQUENCE, &wire, "wire", d->err);
	if (rc == 0)
		rc = dec_header(d, &wire, &m->header);
	if (rc == 0)
		rc = dec_payload(d, &wire, m);
	if (rc == 0)
		rc = alb_der_end(&wire, d->err);
	return rc;
}

int alb_msg_decode(const uint8_t *buf, size_t len, unsigned flags,
		   struct alb_msg **out, struct alb_error *err)
{
	if (out == NULL || (buf == NULL && len > 0))
		return alb_fail(err, ALB_EINVAL, "alb_msg_decode: no buffer or output");
	*out = NULL;
	/* A message of another version is refused before anything is
	 * allocated for it. */
	int rc = peek_version(buf, len, err);
	if (rc == 0)
		*out = alb_dec_whole(buf, len, flags, sizeof(**out),
				     offsetof(struct alb_msg, arena_), dec_msg,
				     &rc, err);
	return rc;
}

void alb_msg_free(struct alb_msg *m)
{
	if (m != NULL)
		alb_arena_destroy(m->arena_);
}

/* Ends a message whose payload was written since mark: its header, the
 * outer SEQUENCE, the bytes to out (*cut as in alb_msg_encode_around()). */
static int encode_end(struct alb_derw *w, size_t mark,
		      const struct alb_header *hd, unsigned flags,
		      struct alb_buf *out, size_t *cut, struct alb_error *err)
{
	if (hd->version != ALB_WIRE_VERSION)
		alb_derw_fail(w, ALB_EINVAL, "only wire version 5 can be encoded");
	size_t h = alb_derw_len(w);
	alb_enc_name(w, hd->name);
	alb_derw_int64(w, hd->sequence);
	alb_derw_int(w, hd->version);
	alb_derw_close(w, ALB_DER_SEQUENCE, h);
	alb_derw_close(w, ALB_DER_SEQUENCE, mark);
	size_t found_end = w->found_end, hole_len = w->hole;
	int rc = alb_derw_finish(w, (flags & ALB_ENCODE_FRAMED) != 0, out, err);
	/* the bytes in front of the hole end where it starts */
	if (rc == 0 && cut != NULL)
		*cut = found_end != 0 ? out->len + hole_len - found_end : out->len;
	return rc;
}

/* The encoder of both: hole (may be NULL) as in alb_msg_encode_around();
 * *cut (if not NULL) where it goes. */
static int encode(const struct alb_msg *m, unsigned flags, const void *hole,
		  struct alb_buf *out, size_t *cut, struct alb_error *err)
{
	if (m == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_msg_encode: no message or output");
	if (out->data != NULL || out->base_ != NULL)
		return alb_fail(err, ALB_EINVAL, "alb_msg_encode: output buffer not empty");
	size_t bulk = 0;
	switch (m->kind) {
	case ALB_PAYLOAD_COMMAND: bulk = alb_command_bulk(&m->u.command); break;
	case ALB_PAYLOAD_SUCCESS: bulk = alb_reply_bulk(&m->u.success); break;
	case ALB_PAYLOAD_DATA: bulk = alb_data_bulk(&m->u.data); break;
	case ALB_PAYLOAD_FAILURE: break;
	}
	struct alb_derw w;
	alb_derw_init(&w, alb_enc_hint(hole != NULL ? 0 : bulk));
	w.find = hole;
	size_t mark = alb_derw_len(&w), p = mark;
	switch (m->kind) {
	case ALB_PAYLOAD_COMMAND:
		alb_enc_command(&w, &m->u.command);
		alb_derw_close(&w, ALB_DER_EXPLICIT(0), p);
		break;
	case ALB_PAYLOAD_SUCCESS:
		alb_enc_success(&w, &m->u.success);
		alb_derw_close(&w, ALB_DER_EXPLICIT(1), p);
		break;
	case ALB_PAYLOAD_FAILURE:
		alb_enc_str(&w, &m->u.failure);
		alb_derw_close(&w, ALB_DER_EXPLICIT(2), p);
		break;
	case ALB_PAYLOAD_DATA:
		alb_enc_data(&w, &m->u.data);
		alb_derw_close(&w, ALB_DER_EXPLICIT(3), p);
		break;
	default:
		alb_derw_fail(&w, ALB_EINVAL, "unknown payload kind");
	}
	return encode_end(&w, mark, &m->header, flags, out, cut, err);
}

int alb_msg_encode(const struct alb_msg *m, unsigned flags,
		   struct alb_buf *out, struct alb_error *err)
{
	return encode(m, flags, NULL, out, NULL, err);
}

int alb_msg_encode_around(const struct alb_msg *m, const void *hole,
			  struct alb_buf *out, size_t *cut,
			  struct alb_error *err)
{
	if (hole == NULL || cut == NULL)
		return alb_fail(err, ALB_EINVAL,
				"alb_msg_encode_around: no hole or cut");
	return encode(m, ALB_ENCODE_FRAMED, hole, out, cut, err);
}

int alb_info_der(const struct alb_unikernel_info *info, struct alb_buf *out,
		 struct alb_error *err)
{
	if (info == NULL || out == NULL || out->data != NULL)
		return alb_fail(err, ALB_EINVAL, "alb_info_der: no info or output");
	struct alb_derw w;
	alb_derw_init(&w, 0);
	alb_enc_info(&w, info, ALB_INFO_CURRENT);
	return alb_derw_finish(&w, false, out, err);
}

int alb_msg_encode_info_der(const struct alb_header *h,
			    const struct alb_info_der *v, size_t n,
			    struct alb_buf *out, struct alb_error *err)
{
	if (h == NULL || (v == NULL && n > 0) || out == NULL || out->data != NULL)
		return alb_fail(err, ALB_EINVAL,
				"alb_msg_encode_info_der: no header, list or output");
	size_t hint = 64;
	for (size_t i = 0; i < n; i++)
		hint += v[i].len + strlen(v[i].name) + 16;
	struct alb_derw w;
	alb_derw_init(&w, hint);
	size_t mark = alb_derw_len(&w);
	/* as enc_infos() of wire_reply.c: the list is written back to front */
	for (size_t i = n; i-- > 0;) {
		size_t e = alb_derw_len(&w);
		alb_derw_bytes(&w, v[i].der, v[i].len);
		alb_enc_name(&w, v[i].name);
		alb_derw_close(&w, ALB_DER_SEQUENCE, e);
	}
	alb_derw_close(&w, ALB_DER_SEQUENCE, mark);
	alb_derw_close(&w, ALB_DER_EXPLICIT(13), mark);
	alb_derw_close(&w, ALB_DER_EXPLICIT(1), mark);
	return encode_end(&w, mark, h, ALB_ENCODE_FRAMED, out, NULL, err);
}

const char *alb_cmd_kind_name(enum alb_cmd_kind k)
{
	switch (k) {
	case ALB_CMD_CONSOLE_ADD: return "console add";
	case ALB_CMD_CONSOLE_SUBSCRIBE: return "console subscribe";
	case ALB_CMD_CONSOLE_LIST_INACTIVE: return "console list inactive";
	case ALB_CMD_STATS_ADD: return "stats add";
	case ALB_CMD_STATS_REMOVE: return "stat remove";
	case ALB_CMD_STATS_SUBSCRIBE: return "stat subscribe";
	case ALB_CMD_STATS_INITIAL: return "stat initial";
	case ALB_CMD_UNIKERNEL_INFO: return "unikernel info";
	case ALB_CMD_UNIKERNEL_CREATE: return "unikernel create";
	case ALB_CMD_UNIKERNEL_FORCE_CREATE: return "unikernel force create";
	case ALB_CMD_UNIKERNEL_DESTROY: return "unikernel destroy";
	case ALB_CMD_UNIKERNEL_GET: return "unikernel get";
	case ALB_CMD_UNIKERNEL_RESTART: return "unikernel restart";
	case ALB_CMD_OLD_UNIKERNEL_INFO4: return "old unikernel info4";
	case ALB_CMD_OLD_UNIKERNEL_INFO5: return "old unikernel info5";
	case ALB_CMD_POLICY_INFO: return "policy info";
	case ALB_CMD_POLICY_ADD: return "policy add";
	case ALB_CMD_POLICY_REMOVE: return "policy remove";
	case ALB_CMD_BLOCK_INFO: return "block info";
	case ALB_CMD_BLOCK_ADD: return "block add";
	case ALB_CMD_BLOCK_REMOVE: return "block remove";
	case ALB_CMD_BLOCK_SET: return "block set";
	case ALB_CMD_BLOCK_DUMP: return "block dump";
	case ALB_CMD_OLD_BLOCK_ADD: return "old block add";
	case ALB_CMD_OLD_BLOCK_SET: return "old block set";
	case ALB_CMD_OLD_BLOCK_DUMP: return "old block dump";
	}
	return "unknown command";
}
