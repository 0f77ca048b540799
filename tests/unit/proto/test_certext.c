/* Unit tests: the certificate extension payload (spec §1.10, §1.11).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "albatross/wire.h"

static const uint8_t leaf[] = {0x30, 0x0c, 0x02, 0x01, 0x05, 0xa0, 0x07,
			       0xa2, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x14};
static const uint8_t intermediate[] = {
	0x30, 0x17, 0x02, 0x01, 0x05, 0xa4, 0x12, 0xa1, 0x10, 0x30, 0x0e, 0x30, 0x03,
	0x02, 0x01, 0x00, 0x02, 0x01, 0x01, 0x02, 0x02, 0x02, 0x00, 0x30, 0x00};

static void encodes_to(const struct alb_certext *c, const uint8_t *want, size_t n)
{
	struct alb_buf out = {0};
	struct alb_error err;
	if (alb_certext_encode(c, &out, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(out.len, n);
	assert_memory_equal(out.data, want, n);
	alb_buf_free(&out);
}

static void test_examples(void **state)
{
	(void)state;
	/* a leaf for "console subscribe count 20" */
	struct alb_certext c = {.version = 5};
	c.command.kind = ALB_CMD_CONSOLE_SUBSCRIBE;
	c.command.u.subscribe.count = 20;
	encodes_to(&c, leaf, sizeof(leaf));
	struct alb_certext *d;
	assert_int_equal(alb_certext_decode(leaf, sizeof(leaf), 0, &d, NULL), 0);
	assert_int_equal(d->version, 5);
	assert_int_equal(d->command.kind, ALB_CMD_CONSOLE_SUBSCRIBE);
	assert_int_equal(d->command.u.subscribe.count, 20);
	alb_certext_free(d);
	/* an intermediate CA: 1 unikernel, cpuid 0, 512 MB, no block, no bridges */
	int64_t cpu0 = 0;
	c.command.kind = ALB_CMD_POLICY_ADD;
	c.command.u.policy = (struct alb_policy){.unikernels = 1, .n_cpuids = 1,
						 .cpuids = &cpu0, .memory = 512};
	encodes_to(&c, intermediate, sizeof(intermediate));
	assert_int_equal(alb_certext_decode(intermediate, sizeof(intermediate), 0, &d, NULL), 0);
	assert_int_equal(d->command.kind, ALB_CMD_POLICY_ADD);
	assert_int_equal(d->command.u.policy.memory, 512);
	assert_false(d->command.u.policy.has_block);
	alb_certext_free(d);
	alb_certext_free(NULL);
}

static void fails(const uint8_t *b, size_t n, const char *text)
{
	struct alb_certext *d = (struct alb_certext *)1;
	struct alb_error err;
	assert_int_equal(alb_certext_decode(b, n, 0, &d, &err), ALB_EPARSE);
	assert_null(d);
	if (text != NULL)
		assert_string_equal(err.msg, text);
}

static void test_errors(void **state)
{
	(void)state;
	fails((const uint8_t *)"\x30\x09\x02\x01\x04\xa3\x04\xb3\x02\x05\x00", 11,
	      "unknown version number 0x4");
	fails((const uint8_t *)"\x30\x09\x02\x01\x05\xa3\x04\xb3\x02\x05\x00\x00", 12,
	      "trailing bytes");
	fails((const uint8_t *)"\x30\x03\x02\x01\x05", 5,
	      "SEQUENCE: missing required: command");
	fails((const uint8_t *)"\x30\x07\x02\x01\x05\xa2\x02\x05\x00", 9,
	      "support for log dropped");
	fails((const uint8_t *)"", 0, "SEQUENCE: missing required: cert-extension");
	for (size_t n = 0; n < sizeof(intermediate); n++) {
		uint8_t *p = malloc(n > 0 ? n : 1);
		memcpy(p, intermediate, n);
		fails(p, n, NULL);
		free(p);
	}
	struct alb_certext c = {.version = 4};
	struct alb_buf out = {0};
	struct alb_error err;
	assert_int_equal(alb_certext_encode(&c, &out, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "only version 5 can be encoded");
	assert_int_equal(alb_certext_encode(NULL, &out, &err), ALB_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
