/* libFuzzer target: journal records (proto/journal_codec.h). The input is
 * taken as a segment: records are cut with alb_journal_record_len(),
 * checked (length, checksum) and decoded, as albd's replay does.
 * Properties: nothing fails but with ALB_EPARSE (or ALB_EAGAIN for an
 * incomplete header), a decode takes at most a small multiple of its
 * input from malloc, and what decodes encodes (frame, body, checksum) to
 * a record that decodes (borrowing its image, as albd's replay of a
 * mapped segment does) and encodes to the same bytes again.
 * SPDX-License-Identifier: ISC */
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/journal_codec.h"
#include "proto/state_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FUZZ_MEM_INITIALIZE()

/* The record of c, encoded as albd writes it, in one buffer. */
static void encode(const struct alb_journal_change *c, struct alb_buf *out)
{
	struct alb_state_entry e = {0};
	struct alb_buf body = {0};
	struct iovec piece[3];
	size_t n = 0, blen = 0;
	switch (c->kind) {
	case ALB_JOURNAL_UNIKERNEL:
		FUZZ_ASSERT(alb_state_entry_encode(c->name, &c->config, &e, NULL) == 0);
		piece[n++] = (struct iovec){e.bytes, e.cut};
		piece[n++] = (struct iovec){(void *)c->config.image.ptr, e.image};
		piece[n++] = (struct iovec){e.bytes + e.cut, e.len - e.cut};
		blen = e.len + e.image;
		break;
	case ALB_JOURNAL_UNIKERNEL_FILE:
		FUZZ_ASSERT(alb_journal_file_body(c->name, &c->config, &c->file,
						  &body, NULL) == 0);
		piece[n++] = (struct iovec){body.data, body.len};
		blen = body.len;
		break;
	case ALB_JOURNAL_POLICY:
		FUZZ_ASSERT(alb_journal_policy_body(c->name, &c->policy, &body,
						    NULL) == 0);
		piece[n++] = (struct iovec){body.data, body.len};
		blen = body.len;
		break;
	default:
		FUZZ_ASSERT(alb_journal_name_body(c->name, &body, NULL) == 0);
		piece[n++] = (struct iovec){body.data, body.len};
		blen = body.len;
		break;
	}
	struct alb_journal_frame f;
	FUZZ_ASSERT(alb_journal_frame_init(&f, c->kind, blen, NULL) == 0);
	alb_journal_seal(&f, piece, n);
	size_t total = f.head_len + blen + ALB_JOURNAL_CRC_LEN;
	uint8_t *p = malloc(total);
	FUZZ_ASSERT(p != NULL);
	memcpy(p, f.head, f.head_len);
	size_t at = f.head_len;
	for (size_t i = 0; i < n; i++) {
		if (piece[i].iov_len > 0)
			memcpy(p + at, piece[i].iov_base, piece[i].iov_len);
		at += piece[i].iov_len;
	}
	memcpy(p + at, f.crc, ALB_JOURNAL_CRC_LEN);
	*out = (struct alb_buf){.data = p, .len = total, .base_ = p, .cap_ = total};
	alb_state_entry_free(&e);
	alb_buf_free(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		size_t len;
		int rc = alb_journal_record_len(data + off, size - off, &len, NULL);
		FUZZ_ASSERT(rc == 0 || rc == ALB_EAGAIN || rc == ALB_EPARSE);
		if (rc != 0 || len > size - off)
			break;
		/* a copy of exactly the record: reads past it are caught */
		uint8_t *rec = malloc(len);
		FUZZ_ASSERT(rec != NULL);
		memcpy(rec, data + off, len);
		rc = alb_journal_check(rec, len, NULL);
		FUZZ_ASSERT(rc == 0 || rc == ALB_EPARSE);
		struct alb_journal_change *c = NULL;
		if (rc == 0) {
			fuzz_mem_start();
			rc = alb_journal_decode(rec, len, 0, &c, NULL);
			fuzz_mem_check(fuzz_mem_stop(), len);
			FUZZ_ASSERT(rc == 0 || rc == ALB_EPARSE);
			FUZZ_ASSERT((rc == 0) == (c != NULL));
		}
		if (c != NULL) {
			fuzz_arena_check(c->arena_, len);
			struct alb_buf e1, e2;
			encode(c, &e1);
			struct alb_journal_change *c2 = NULL;
			FUZZ_ASSERT(alb_journal_check(e1.data, e1.len, NULL) == 0);
			/* borrowed, as albd replays a mapped segment: the same */
			FUZZ_ASSERT(alb_journal_decode(e1.data, e1.len,
						       ALB_DECODE_BORROW, &c2,
						       NULL) == 0);
			FUZZ_ASSERT(c2->kind == c->kind);
			FUZZ_ASSERT(strcmp(c2->name, c->name) == 0);
			encode(c2, &e2);
			FUZZ_ASSERT(fuzz_same(&e1, &e2));
			alb_buf_free(&e1);
			alb_buf_free(&e2);
			alb_journal_change_free(c2);
			alb_journal_change_free(c);
		}
		free(rec);
		off += len;
	}
	return 0;
}
