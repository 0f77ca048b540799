/* libFuzzer target: wire messages (alb_msg_decode) and certificate
 * extension payloads (alb_certext_decode) from the same bytes.
 * Properties: decoding never crashes, fails only with ALB_EPARSE, takes at
 * most a small multiple of its input from malloc, and borrowing changes
 * nothing but where byte strings live; whatever decodes encodes, and that
 * encoding is a fixed point (decode + encode gives it back).
 * SPDX-License-Identifier: ISC */
#include <stdint.h>
#include <string.h>

#include "albatross/wire.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FUZZ_MEM_INITIALIZE()

static struct alb_msg *msg_decode(const uint8_t *data, size_t size, unsigned flags,
				  int *rc)
{
	struct alb_msg *m = NULL;
	fuzz_mem_start();
	*rc = alb_msg_decode(data, size, flags, &m, NULL);
	fuzz_mem_check(fuzz_mem_stop(), size);
	FUZZ_ASSERT(*rc == 0 || *rc == ALB_EPARSE);
	FUZZ_ASSERT((*rc == 0) == (m != NULL));
	if (m != NULL)
		fuzz_arena_check(m->arena_, size);
	return m;
}

static void check_msg(const uint8_t *data, size_t size)
{
	int rc, rcb;
	struct alb_msg *m = msg_decode(data, size, 0, &rc);
	struct alb_msg *b = msg_decode(data, size, ALB_DECODE_BORROW, &rcb);
	FUZZ_ASSERT(rc == rcb);
	if (m == NULL)
		return;
	struct alb_buf e1 = {0}, e2 = {0}, e3 = {0};
	FUZZ_ASSERT(alb_msg_encode(m, 0, &e1, NULL) == 0);
	FUZZ_ASSERT(alb_msg_encode(b, 0, &e2, NULL) == 0);
	FUZZ_ASSERT(fuzz_same(&e1, &e2));
	struct alb_msg *again = msg_decode(e1.data, e1.len, 0, &rc);
	FUZZ_ASSERT(again != NULL);
	FUZZ_ASSERT(alb_msg_encode(again, 0, &e3, NULL) == 0);
	FUZZ_ASSERT(fuzz_same(&e1, &e3));
	alb_buf_free(&e1);
	alb_buf_free(&e2);
	alb_buf_free(&e3);
	alb_msg_free(again);
	alb_msg_free(b);
	alb_msg_free(m);
}

static struct alb_certext *ext_decode(const uint8_t *data, size_t size, unsigned flags)
{
	struct alb_certext *c = NULL;
	fuzz_mem_start();
	int rc = alb_certext_decode(data, size, flags, &c, NULL);
	fuzz_mem_check(fuzz_mem_stop(), size);
	FUZZ_ASSERT(rc == 0 || rc == ALB_EPARSE);
	FUZZ_ASSERT((rc == 0) == (c != NULL));
	if (c != NULL)
		fuzz_arena_check(c->arena_, size);
	return c;
}

static void check_certext(const uint8_t *data, size_t size)
{
	struct alb_certext *c = ext_decode(data, size, 0);
	struct alb_certext *b = ext_decode(data, size, ALB_DECODE_BORROW);
	FUZZ_ASSERT((c == NULL) == (b == NULL));
	if (c == NULL)
		return;
	struct alb_buf e1 = {0}, e2 = {0}, e3 = {0};
	FUZZ_ASSERT(alb_certext_encode(c, &e1, NULL) == 0);
	FUZZ_ASSERT(alb_certext_encode(b, &e2, NULL) == 0);
	FUZZ_ASSERT(fuzz_same(&e1, &e2));
	struct alb_certext *again = ext_decode(e1.data, e1.len, 0);
	FUZZ_ASSERT(again != NULL);
	FUZZ_ASSERT(alb_certext_encode(again, &e3, NULL) == 0);
	FUZZ_ASSERT(fuzz_same(&e1, &e3));
	alb_buf_free(&e1);
	alb_buf_free(&e2);
	alb_buf_free(&e3);
	alb_certext_free(again);
	alb_certext_free(b);
	alb_certext_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so that any overread is caught */
	uint8_t *copy = malloc(size > 0 ? size : 1);
	FUZZ_ASSERT(copy != NULL);
	if (size > 0)
		memcpy(copy, data, size);
	check_msg(copy, size);
	check_certext(copy, size);
	free(copy);
	return 0;
}
