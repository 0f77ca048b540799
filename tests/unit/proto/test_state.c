/* Unit tests: the state file codec (spec §1.9).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "albatross/state.h"
#include "base/arena.h"
#include "asn1/der.h"
#include "wire_internal.h"

#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

static int64_t cpu0;

static struct alb_unikernel_config small_config(int64_t memory)
{
	return (struct alb_unikernel_config){
		.image = {(const uint8_t *)"img", 3}, .add_name = true,
		.n_cpuids = 1, .cpuids = &cpu0, .memory = memory, .numcpus = 1};
}

static struct alb_buf encode(const struct alb_state *s)
{
	struct alb_buf out = {0};
	struct alb_error err;
	if (alb_state_encode(s, &out, &err) != 0)
		fail_msg("encode: %s", err.msg);
	return out;
}

static void test_empty(void **state)
{
	(void)state;
	struct alb_state s = {0};
	struct alb_buf out = encode(&s);
	assert_int_equal(out.len, 8);
	assert_memory_equal(out.data, "\xa6\x06\x30\x04\x30\x00\x30\x00", 8);
	struct alb_state *d;
	assert_int_equal(alb_state_decode(out.data, out.len, 0, &d, NULL), 0);
	assert_int_equal(d->format, ALB_STATE_FORMAT_CURRENT);
	assert_int_equal(d->n_unikernels, 0);
	assert_int_equal(d->n_policies, 0);
	alb_state_free(d);
	alb_buf_free(&out);
	alb_state_free(NULL);
}

static void test_trie_order(void **state)
{
	(void)state;
	struct alb_state_unikernel uks[] = {
		{":hello", small_config(1)}, {"a:b:c", small_config(2)},
		{"a:a", small_config(3)},    {":a.b", small_config(4)},
		{"b:a:z", small_config(5)}};
	struct alb_named_policy pols[] = {
		{"a:b:", {.unikernels = 1}}, {":", {.unikernels = 2}}, {"a:", {.unikernels = 3}}};
	struct alb_state s = {.n_unikernels = 5, .unikernels = uks, .n_policies = 3,
			      .policies = pols};
	struct alb_buf out = encode(&s);
	/* the caller's order is untouched */
	assert_string_equal(uks[0].name, ":hello");
	struct alb_state *d;
	assert_int_equal(alb_state_decode(out.data, out.len, 0, &d, NULL), 0);
	static const char *want[] = {"a:a", "a:b:c", ":a.b", "b:a:z", ":hello"};
	static const int64_t mem[] = {3, 2, 4, 5, 1};
	assert_int_equal(d->n_unikernels, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_string_equal(d->unikernels[i].name, want[i]);
		assert_int_equal(d->unikernels[i].config.memory, mem[i]);
	}
	assert_string_equal(d->policies[0].name, ":");
	assert_string_equal(d->policies[1].name, "a:");
	assert_string_equal(d->policies[2].name, "a:b:");
	assert_int_equal(d->policies[2].policy.unikernels, 1);
	/* re-encoding a decoded state is a fixed point */
	struct alb_buf again = encode(d);
	assert_int_equal(again.len, out.len);
	assert_memory_equal(again.data, out.data, out.len);
	alb_buf_free(&again);
	alb_state_free(d);
	alb_buf_free(&out);
}

static void state_fails(const uint8_t *b, size_t n, const char *text)
{
	struct alb_state *d = (struct alb_state *)1;
	struct alb_error err;
	assert_int_equal(alb_state_decode(b, n, 0, &d, &err), ALB_EPARSE);
	assert_null(d);
	if (text != NULL)
		assert_string_equal(err.msg, text);
}

static void test_errors(void **state)
{
	(void)state;
	state_fails((const uint8_t *)"\xa7\x02\x05\x00", 4,
		    "state file format [7] is not implemented");
	state_fails((const uint8_t *)"\xa8\x02\x05\x00", 4,
		    "Type mismatch: expected: (Constructed CONTEXT 7) got: "
		    "(Constructed CONTEXT 8)");
	state_fails((const uint8_t *)"\xa6\x06\x30\x04\x30\x00\x30\x00\x00", 9,
		    "trailing bytes");
	state_fails((const uint8_t *)"", 0, "SEQUENCE: missing required: state");
	/* the same trie node twice: ":foo" and "foo" */
	struct alb_state_unikernel uks[] = {{":foo", small_config(1)},
					    {"bar", small_config(2)}};
	struct alb_state s = {.n_unikernels = 2, .unikernels = uks};
	struct alb_buf out = encode(&s);
	/* rewrite "bar" as "foo" in place: same length */
	uint8_t *p = memmem(out.data, out.len, ":bar", 4);
	assert_non_null(p);
	memcpy(p, "\x3a" "foo", 4);
	state_fails(out.data, out.len, "state file: duplicate name :foo");
	memcpy(p, ":f_o", 4);
	state_fails(out.data, out.len, "invalid name");
	alb_buf_free(&out);
	/* encoding refuses what cannot be a trie */
	uks[1].name = "foo";
	struct alb_error err;
	assert_int_equal(alb_state_encode(&s, &out, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "state: duplicate name");
	uks[1].name = "b c";
	assert_int_equal(alb_state_encode(&s, &out, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "invalid name");
	assert_null(out.data);
}

static void test_truncations(void **state)
{
	(void)state;
	struct alb_state_unikernel uks[] = {{"a:b:c", small_config(64)}};
	struct alb_named_policy pols[] = {{"a:", {.unikernels = 1, .memory = 64}}};
	struct alb_state s = {.n_unikernels = 1, .unikernels = uks, .n_policies = 1,
			      .policies = pols};
	struct alb_buf out = encode(&s);
	for (size_t n = 0; n < out.len; n++) {
		uint8_t *p = malloc(n > 0 ? n : 1);
		memcpy(p, out.data, n);
		state_fails(p, n, NULL);
		free(p);
	}
	/* borrowed images point into the input */
	struct alb_state *d;
	assert_int_equal(alb_state_decode(out.data, out.len, ALB_DECODE_BORROW, &d, NULL), 0);
	const struct alb_bytes *img = &d->unikernels[0].config.image;
	assert_true(img->ptr > out.data && img->ptr < out.data + out.len);
	alb_state_free(d);
	alb_buf_free(&out);
}

/* A v2 state file ([2]) built by hand: blocks by name, bridges as a
 * SEQUENCE OF (netif, bridge). */
static void test_legacy_v2(void **state)
{
	(void)state;
	struct alb_derw w;
	alb_derw_init(&w, 0);
	size_t m = alb_derw_len(&w), e, f, g;
	e = alb_derw_len(&w);
	f = alb_derw_len(&w);
	/* argv */
	g = alb_derw_len(&w);
	alb_derw_utf8(&w, "-a", 2);
	alb_derw_close(&w, ALB_DER_SEQUENCE, g);
	alb_derw_close(&w, ALB_DER_EXPLICIT(2), g);
	/* bridges */
	g = alb_derw_len(&w);
	size_t h = alb_derw_len(&w);
	alb_derw_utf8(&w, "net1", 4);
	alb_derw_close(&w, ALB_DER_SEQUENCE, h);
	h = alb_derw_len(&w);
	alb_derw_utf8(&w, "br0", 3);
	alb_derw_utf8(&w, "net0", 4);
	alb_derw_close(&w, ALB_DER_SEQUENCE, h);
	alb_derw_close(&w, ALB_DER_SEQUENCE, g);
	alb_derw_close(&w, ALB_DER_EXPLICIT(1), g);
	/* blocks */
	g = alb_derw_len(&w);
	alb_derw_utf8(&w, "disk", 4);
	alb_derw_close_set(&w, g, false);
	alb_derw_close(&w, ALB_DER_EXPLICIT(0), g);
	alb_derw_int(&w, 128);
	alb_derw_int(&w, 2);
	g = alb_derw_len(&w);
	alb_derw_null(&w);
	alb_derw_close(&w, ALB_DER_EXPLICIT(0), g);
	alb_derw_octets(&w, "img", 3);
	alb_derw_bool(&w, false);
	g = alb_derw_len(&w);
	alb_derw_null(&w);
	alb_derw_close(&w, ALB_DER_EXPLICIT(1), g);
	alb_derw_close(&w, ALB_DER_SEQUENCE, f);
	alb_derw_utf8(&w, "foo.hello", 9);
	alb_derw_close(&w, ALB_DER_SEQUENCE, e);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	alb_derw_close(&w, ALB_DER_EXPLICIT(2), m);
	struct alb_buf in = {0};
	assert_int_equal(alb_derw_finish(&w, false, &in, NULL), 0);
	struct alb_state *d;
	struct alb_error err;
	if (alb_state_decode(in.data, in.len, 0, &d, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(d->format, 2);
	assert_int_equal(d->n_unikernels, 1);
	/* older files name unikernels "foo.hello": one root-level label */
	assert_string_equal(d->unikernels[0].name, ":foo.hello");
	const struct alb_unikernel_config *c = &d->unikernels[0].config;
	assert_int_equal(c->typ, ALB_TYP_BHYVE);
	assert_true(c->add_name);
	assert_false(c->has_startup);
	assert_int_equal(c->cpuids[0], 2);
	assert_int_equal(c->memory, 128);
	assert_int_equal(c->n_blocks, 1);
	assert_string_equal(c->blocks[0].name.ptr, "disk");
	assert_int_equal(c->n_bridges, 2);
	/* a SEQUENCE OF: wire order */
	assert_string_equal(c->bridges[0].netif.ptr, "net0");
	assert_string_equal(c->bridges[0].bridge.ptr, "br0");
	assert_string_equal(c->bridges[1].netif.ptr, "net1");
	assert_null(c->bridges[1].bridge.ptr);
	assert_string_equal(c->argv[0].ptr, "-a");
	assert_int_equal(c->numcpus, 1);
	/* written back as format [6] */
	struct alb_buf out = encode(d);
	assert_int_equal(out.data[0], 0xa6);
	alb_buf_free(&out);
	alb_state_free(d);
	alb_buf_free(&in);
}

/* The worst ratio of decoded memory to input: a v1 state ([0]) whose
 * block list is a SET OF empty names, 2 bytes each on the wire. */
static void test_memory_bound(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct alb_derw w;
	alb_derw_init(&w, 0);
	size_t m = alb_derw_len(&w), g;
	g = alb_derw_len(&w);
	for (int i = 0; i < N; i++)
		alb_derw_utf8(&w, "", 0);
	alb_derw_close_set(&w, g, false);
	alb_derw_close(&w, ALB_DER_EXPLICIT(0), g);
	alb_derw_int(&w, 64);
	alb_derw_int(&w, 0);
	g = alb_derw_len(&w);
	alb_derw_null(&w);
	alb_derw_close(&w, ALB_DER_EXPLICIT(0), g);
	alb_derw_octets(&w, "", 0);
	alb_derw_bool(&w, false);
	g = alb_derw_len(&w);
	alb_derw_null(&w);
	alb_derw_close(&w, ALB_DER_EXPLICIT(0), g);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	alb_derw_utf8(&w, ":x", 2);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	alb_derw_close(&w, ALB_DER_EXPLICIT(0), m);
	struct alb_buf in = {0};
	assert_int_equal(alb_derw_finish(&w, false, &in, NULL), 0);
	struct alb_state *d;
	struct alb_error err;
	if (alb_state_decode(in.data, in.len, 0, &d, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(d->format, 0);
	assert_int_equal(d->unikernels[0].config.n_blocks, N);
	assert_int_equal(d->unikernels[0].config.blocks[N - 1].name.len, 0);
	size_t used = alb_arena_used(d->arena_);
	assert_true(used > (size_t)N * sizeof(struct alb_block_dev));
	assert_true(used <= in.len * ALB_DECODE_MEM_FACTOR + ALB_DECODE_MEM_SLACK);
	alb_state_free(d);
	alb_buf_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_trie_order),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_legacy_v2),
		cmocka_unit_test(test_memory_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
