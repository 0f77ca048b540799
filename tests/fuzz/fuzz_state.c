/* libFuzzer target: state files (alb_state_decode), every format [0]..[7].
 * Properties as for wire messages: decoding fails only with ALB_EPARSE,
 * takes at most a small multiple of its input from malloc, borrowing
 * changes nothing else, and what decodes encodes to a fixed point in the
 * current format [6].
 * SPDX-License-Identifier: ISC */
#include <stdint.h>
#include <string.h>

#include "albatross/state.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

FUZZ_MEM_INITIALIZE()

static struct alb_state *decode(const uint8_t *data, size_t size, unsigned flags)
{
	struct alb_state *s = NULL;
	fuzz_mem_start();
	int rc = alb_state_decode(data, size, flags, &s, NULL);
	fuzz_mem_check(fuzz_mem_stop(), size);
	FUZZ_ASSERT(rc == 0 || rc == ALB_EPARSE);
	FUZZ_ASSERT((rc == 0) == (s != NULL));
	if (s != NULL) {
		fuzz_arena_check(s->arena_, size);
		FUZZ_ASSERT(s->format >= 0 && s->format <= ALB_STATE_FORMAT_CURRENT);
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size > 0 ? size : 1);
	FUZZ_ASSERT(copy != NULL);
	if (size > 0)
		memcpy(copy, data, size);
	struct alb_state *s = decode(copy, size, 0);
	struct alb_state *b = decode(copy, size, ALB_DECODE_BORROW);
	FUZZ_ASSERT((s == NULL) == (b == NULL));
	if (s != NULL) {
		struct alb_buf e1 = {0}, e2 = {0}, e3 = {0};
		FUZZ_ASSERT(alb_state_encode(s, &e1, NULL) == 0);
		FUZZ_ASSERT(alb_state_encode(b, &e2, NULL) == 0);
		FUZZ_ASSERT(fuzz_same(&e1, &e2));
		struct alb_state *again = decode(e1.data, e1.len, 0);
		FUZZ_ASSERT(again != NULL);
		FUZZ_ASSERT(again->format == ALB_STATE_FORMAT_CURRENT);
		FUZZ_ASSERT(again->n_unikernels == s->n_unikernels);
		FUZZ_ASSERT(again->n_policies == s->n_policies);
		FUZZ_ASSERT(alb_state_encode(again, &e3, NULL) == 0);
		FUZZ_ASSERT(fuzz_same(&e1, &e3));
		alb_buf_free(&e1);
		alb_buf_free(&e2);
		alb_buf_free(&e3);
		alb_state_free(again);
	}
	alb_state_free(b);
	alb_state_free(s);
	free(copy);
	return 0;
}
