/* Unit tests: wire messages (spec §1.3–1.8, §1.11): hand-built values of
 * every kind, the worked examples byte for byte, encode errors, hostile
 * input, borrowing and the memory bound.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "albatross/wire.h"
#include "base/arena.h"
#include "proto/wire_codec.h"
#include "vec_check.h"
#include "wire_internal.h"

/* Parses "30 20 0c 04 ..." into buf; returns the length. */
static size_t hex(const char *s, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		unsigned v;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		assert_true(n < cap);
		buf[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})
#define ZEROS8 "00 00 00 00 00 00 00 00"

static struct alb_msg msg(const char *name, enum alb_payload_kind kind)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.name = name;
	m.kind = kind;
	return m;
}

static struct alb_msg cmd(const char *name, enum alb_cmd_kind k)
{
	struct alb_msg m = msg(name, ALB_PAYLOAD_COMMAND);
	m.u.command.kind = k;
	return m;
}

/* Encodes m, checks the bytes when want is given, decodes them again and
 * checks that re-encoding is identical. Returns the decoded message. */
static struct alb_msg *roundtrip(const struct alb_msg *m, unsigned flags,
				 const char *want)
{
	struct alb_buf out = {0};
	struct alb_error err = {0};
	if (alb_msg_encode(m, flags, &out, &err) != 0)
		fail_msg("encode: %s", err.msg);
	const uint8_t *der = out.data;
	size_t len = out.len;
	if (flags & ALB_ENCODE_FRAMED) {
		assert_true(len >= 4);
		uint32_t fl = (uint32_t)der[0] << 24 | (uint32_t)der[1] << 16 |
			      (uint32_t)der[2] << 8 | der[3];
		assert_int_equal(fl, len - 4);
	}
	if (want != NULL) {
		uint8_t w[1024];
		size_t wn = hex(want, w, sizeof(w));
		assert_int_equal(len, wn);
		assert_memory_equal(der, w, wn);
	}
	if (flags & ALB_ENCODE_FRAMED) {
		der += 4;
		len -= 4;
	}
	struct alb_msg *d;
	if (alb_msg_decode(der, len, 0, &d, &err) != 0)
		fail_msg("decode: %s", err.msg);
	struct alb_buf again = {0};
	assert_int_equal(alb_msg_encode(d, 0, &again, NULL), 0);
	assert_int_equal(again.len, len);
	assert_memory_equal(again.data, der, len);
	alb_buf_free(&again);
	alb_buf_free(&out);
	return d;
}

static void test_examples(void **state)
{
	(void)state;
	struct alb_msg m = cmd(":foo", ALB_CMD_CONSOLE_SUBSCRIBE);
	m.u.command.u.subscribe.count = 20;
	struct alb_msg *d = roundtrip(&m, 0,
		"30 20 30 13 02 01 05 04 08 " ZEROS8 " 0c 04 3a 66 6f 6f"
		" a0 09 a0 07 a2 05 a1 03 02 01 14");
	assert_false(d->u.command.u.subscribe.since);
	assert_int_equal(d->u.command.u.subscribe.count, 20);
	alb_msg_free(d);
	/* "foo.bar" is one root-level label */
	m.header.name = "foo.bar";
	alb_msg_free(roundtrip(&m, 0,
		"30 24 30 17 02 01 05 04 08 " ZEROS8 " 0c 08 3a 66 6f 6f 2e 62 61 72"
		" a0 09 a0 07 a2 05 a1 03 02 01 14"));
	m = cmd("foo:bar", ALB_CMD_UNIKERNEL_INFO);
	alb_msg_free(roundtrip(&m, ALB_ENCODE_FRAMED,
		"00 00 00 22 30 20 30 16 02 01 05 04 08 " ZEROS8
		" 0c 07 66 6f 6f 3a 62 61 72 a0 06 a3 04 b3 02 05 00"));
	m = msg("foo:bar", ALB_PAYLOAD_SUCCESS);
	m.u.success.kind = ALB_REPLY_UNIKERNEL_INFO;
	alb_msg_free(roundtrip(&m, ALB_ENCODE_FRAMED,
		"00 00 00 20 30 1e 30 16 02 01 05 04 08 " ZEROS8
		" 0c 07 66 6f 6f 3a 62 61 72 a1 04 ad 02 30 00"));
	m = msg("foo:bar", ALB_PAYLOAD_FAILURE);
	m.u.failure = S("unknown command");
	alb_msg_free(roundtrip(&m, 0,
		"30 2b 30 16 02 01 05 04 08 " ZEROS8 " 0c 07 66 6f 6f 3a 62 61 72"
		" a2 11 0c 0f 75 6e 6b 6e 6f 77 6e 20 63 6f 6d 6d 61 6e 64"));
	/* create :hello, solo5, empty image, quit, cpuids {0}, 32 MB,
	 * network "service", cpus 1 */
	m = cmd(":hello", ALB_CMD_UNIKERNEL_CREATE);
	struct alb_unikernel_config *c = &m.u.command.u.create;
	int64_t cpu0 = 0;
	struct alb_net_dev svc = {.netif = S("service")};
	c->add_name = true;
	c->n_cpuids = 1;
	c->cpuids = &cpu0;
	c->memory = 32;
	c->n_bridges = 1;
	c->bridges = &svc;
	c->numcpus = 1;
	d = roundtrip(&m, ALB_ENCODE_FRAMED,
		"00 00 00 4d 30 4b 30 15 02 01 05 04 08 " ZEROS8
		" 0c 06 3a 68 65 6c 6c 6f a0 32 a3 30 b4 2e 30 2c a0 02 05 00 01 01 00"
		" 04 00 01 01 ff a0 02 05 00 31 03 02 01 00 02 01 20 a1 0d 31 0b 30 09"
		" 0c 07 73 65 72 76 69 63 65 a3 03 02 01 01");
	assert_null(d->u.command.u.create.bridges[0].bridge.ptr);
	assert_false(d->u.command.u.create.has_argv);
	alb_msg_free(d);
	/* console line "Hello" at 2025-08-22T13:04:43.123Z */
	m = msg(":hello", ALB_PAYLOAD_DATA);
	m.u.data.kind = ALB_DATA_CONSOLE;
	m.u.data.u.console.time = (struct alb_time){1755867883, 123000000};
	m.u.data.u.console.line = S("Hello");
	alb_msg_free(roundtrip(&m, 0,
		"30 39 30 15 02 01 05 04 08 " ZEROS8 " 0c 06 3a 68 65 6c 6c 6f"
		" a3 20 a3 1e 30 1c 18 13 32 30 32 35 30 38 32 32 31 33 30 34 34 33 2e"
		" 31 32 33 5a 0c 05 48 65 6c 6c 6f"));
	m = cmd(":", ALB_CMD_STATS_INITIAL);
	alb_msg_free(roundtrip(&m, 0,
		"30 1a 30 10 02 01 05 04 08 " ZEROS8 " 0c 01 3a a0 06 a1 04 a3 02 05 00"));
}

/* The small fragments of spec §1.11: the payload after the header. */
static void payload_is(const struct alb_msg *m, const char *want)
{
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(m, 0, &out, NULL), 0);
	uint8_t w[256];
	size_t wn = hex(want, w, sizeof(w));
	/* header of ":" is 18 bytes, after the 2-byte wire header */
	assert_true(out.len == 2 + 18 + wn);
	assert_memory_equal(out.data + 20, w, wn);
	alb_buf_free(&out);
}

static void test_fragments(void **state)
{
	(void)state;
	struct alb_msg m = cmd(":", ALB_CMD_UNIKERNEL_DESTROY);
	payload_is(&m, "a0 06 a3 04 a3 02 05 00");
	m = cmd(":", ALB_CMD_UNIKERNEL_RESTART);
	payload_is(&m, "a0 08 a3 06 ae 04 a0 02 05 00");
	m = cmd(":", ALB_CMD_BLOCK_DUMP);
	payload_is(&m, "a0 07 a5 05 a6 03 02 01 00");
	m = cmd(":", ALB_CMD_BLOCK_SET);
	payload_is(&m, "a0 07 a5 05 a7 03 01 01 00");
	m = msg(":", ALB_PAYLOAD_DATA);
	m.u.data.kind = ALB_DATA_BLOCK;
	m.u.data.u.block.has_data = true;
	m.u.data.u.block.data = (struct alb_bytes){(const uint8_t *)"ab", 2};
	payload_is(&m, "a3 08 a4 06 a0 04 04 02 61 62");
	m.u.data.u.block.has_data = false;
	payload_is(&m, "a3 06 a4 04 a1 02 05 00");
}

static void test_stats_skeleton(void **state)
{
	(void)state;
	struct alb_msg m = msg(":", ALB_PAYLOAD_DATA);
	m.u.data.kind = ALB_DATA_STATS;
	struct alb_stats *s = &m.u.data.u.stats;
	s->rusage.utime = (struct alb_timeval){1, 500000};
	s->has_kinfo_mem = true;
	s->kinfo_mem.start.sec = 1700000000;
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &out, NULL), 0);
	uint8_t w[64];
	size_t wn = hex("a3 82 01 09 a1 82 01 05 30 82 01 01 30 81 ac 30 0f 04 08"
			" 00 00 00 00 00 00 00 01 02 03 07 a1 20", w, sizeof(w));
	assert_memory_equal(out.data + 4 + 18, w, wn);
	/* after the 14 int64: empty ifdata, then kinfo-mem IMPLICIT [1] */
	size_t k = 4 + 18 + 12 + 3 + 17 + 15 + 14 * 10;
	wn = hex("30 00 a1 4e", w, sizeof(w));
	assert_memory_equal(out.data + k, w, wn);
	wn = hex("30 0d 04 08 00 00 00 00 65 53 f1 00 02 01 00", w, sizeof(w));
	assert_memory_equal(out.data + out.len - wn, w, wn);
	struct alb_msg *d;
	assert_int_equal(alb_msg_decode(out.data, out.len, 0, &d, NULL), 0);
	assert_int_equal(d->u.data.u.stats.rusage.utime.usec, 500000);
	assert_false(d->u.data.u.stats.has_vmm);
	assert_int_equal(d->u.data.u.stats.kinfo_mem.start.sec, 1700000000);
	alb_msg_free(d);
	alb_buf_free(&out);
}

/* ---- every kind, hand-built ---------------------------------------------- */

static void test_commands(void **state)
{
	(void)state;
	struct alb_msg m = cmd("a:b:c", ALB_CMD_CONSOLE_ADD);
	m.u.command.u.console_add = 1000;
	struct alb_msg *d = roundtrip(&m, 0, NULL);
	assert_int_equal(d->u.command.kind, ALB_CMD_CONSOLE_ADD);
	assert_int_equal(d->u.command.u.console_add, 1000);
	alb_msg_free(d);

	m = cmd("a:b:c", ALB_CMD_CONSOLE_SUBSCRIBE);
	m.u.command.u.subscribe.since = true;
	m.u.command.u.subscribe.time = (struct alb_time){1709210096, 500000000};
	d = roundtrip(&m, 0, NULL);
	assert_true(d->u.command.u.subscribe.since);
	assert_int_equal(d->u.command.u.subscribe.time.nsec, 500000000);
	alb_msg_free(d);

	static const enum alb_cmd_kind nullary[] = {
		ALB_CMD_CONSOLE_LIST_INACTIVE, ALB_CMD_STATS_REMOVE,
		ALB_CMD_STATS_SUBSCRIBE,       ALB_CMD_STATS_INITIAL,
		ALB_CMD_UNIKERNEL_INFO,        ALB_CMD_UNIKERNEL_DESTROY,
		ALB_CMD_OLD_UNIKERNEL_INFO4,   ALB_CMD_OLD_UNIKERNEL_INFO5,
		ALB_CMD_POLICY_INFO,           ALB_CMD_POLICY_REMOVE,
		ALB_CMD_BLOCK_INFO,            ALB_CMD_BLOCK_REMOVE,
		ALB_CMD_UNIKERNEL_RESTART};
	for (size_t i = 0; i < sizeof(nullary) / sizeof(nullary[0]); i++) {
		m = cmd(":x", nullary[i]);
		d = roundtrip(&m, 0, NULL);
		assert_int_equal(d->u.command.kind, nullary[i]);
		assert_string_equal(d->header.name, ":x");
		alb_msg_free(d);
	}

	struct alb_stats_tap taps[2] = {{S("service"), S("tap0")}, {S("admin"), S("tap1")}};
	m = cmd(":", ALB_CMD_STATS_ADD);
	m.u.command.u.stats_add.vmmdev = S("solo5-42");
	m.u.command.u.stats_add.pid = 42;
	m.u.command.u.stats_add.n_taps = 2;
	m.u.command.u.stats_add.taps = taps;
	d = roundtrip(&m, 0, NULL);
	/* a SEQUENCE OF keeps its order */
	assert_int_equal(d->u.command.u.stats_add.n_taps, 2);
	assert_string_equal(d->u.command.u.stats_add.taps[1].tap.ptr, "tap1");
	assert_int_equal(d->u.command.u.stats_add.pid, 42);
	alb_msg_free(d);

	static const enum alb_cmd_kind levels[] = {
		ALB_CMD_UNIKERNEL_GET, ALB_CMD_BLOCK_DUMP, ALB_CMD_OLD_BLOCK_DUMP};
	for (size_t i = 0; i < 3; i++) {
		m = cmd(":x", levels[i]);
		m.u.command.u.level = 9;
		d = roundtrip(&m, 0, NULL);
		assert_int_equal(d->u.command.kind, levels[i]);
		assert_int_equal(d->u.command.u.level, 9);
		alb_msg_free(d);
	}

	m = cmd(":disk", ALB_CMD_BLOCK_ADD);
	m.u.command.u.block_size = -5;
	d = roundtrip(&m, 0, NULL);
	assert_int_equal(d->u.command.u.block_size, -5);
	alb_msg_free(d);
	m = cmd(":disk", ALB_CMD_BLOCK_SET);
	m.u.command.u.block_compressed = true;
	d = roundtrip(&m, 0, NULL);
	assert_true(d->u.command.u.block_compressed);
	alb_msg_free(d);

	m = cmd(":disk", ALB_CMD_OLD_BLOCK_ADD);
	m.u.command.u.old_block_add.size = 10;
	d = roundtrip(&m, 0, NULL);
	assert_false(d->u.command.u.old_block_add.has_data);
	alb_msg_free(d);
	m.u.command.u.old_block_add.has_data = true;
	m.u.command.u.old_block_add.data = (struct alb_bytes){(const uint8_t *)"xyz", 3};
	d = roundtrip(&m, 0, NULL);
	assert_true(d->u.command.u.old_block_add.has_data);
	assert_memory_equal(d->u.command.u.old_block_add.data.ptr, "xyz", 3);
	alb_msg_free(d);
	m = cmd(":disk", ALB_CMD_OLD_BLOCK_SET);
	m.u.command.u.old_block_set.compressed = true;
	m.u.command.u.old_block_set.data = (struct alb_bytes){(const uint8_t *)"q", 1};
	d = roundtrip(&m, 0, NULL);
	assert_true(d->u.command.u.old_block_set.compressed);
	assert_int_equal(d->u.command.u.old_block_set.data.len, 1);
	alb_msg_free(d);

	/* policy add: cpuids and bridges are sets, written sorted */
	int64_t cpus[] = {3, 1, 3};
	struct alb_str br[] = {S("service"), S("br0"), S("service")};
	m = cmd("tenant:", ALB_CMD_POLICY_ADD);
	m.u.command.u.policy = (struct alb_policy){.unikernels = 10, .n_cpuids = 3,
						   .cpuids = cpus, .memory = 1024,
						   .has_block = true, .block = 2048,
						   .n_bridges = 3, .bridges = br};
	d = roundtrip(&m, 0, NULL);
	const struct alb_policy *p = &d->u.command.u.policy;
	assert_int_equal(p->n_cpuids, 2);
	assert_int_equal(p->cpuids[0], 1);
	assert_int_equal(p->cpuids[1], 3);
	assert_int_equal(p->n_bridges, 2);
	assert_string_equal(p->bridges[0].ptr, "br0");
	assert_int_equal(p->block, 2048);
	alb_msg_free(d);
	/* the caller's arrays are untouched */
	assert_int_equal(cpus[0], 3);
	assert_string_equal(br[0].ptr, "service");
}

/* Policy sets are sorted on the stack up to 64 elements, on the heap
 * beyond: both sides of that line give the same order. */
static void test_policy_sets(void **state)
{
	(void)state;
	static const size_t sizes[] = {64, 65};
	for (size_t k = 0; k < 2; k++) {
		size_t n = sizes[k];
		int64_t cpus[65];
		struct alb_str br[65];
		char names[65][24];
		for (size_t i = 0; i < n; i++) {
			cpus[i] = (int64_t)(n - i);
			snprintf(names[i], sizeof(names[i]), "b%02zu", n - i);
			br[i] = (struct alb_str){names[i], 3};
		}
		struct alb_msg m = cmd("t:", ALB_CMD_POLICY_ADD);
		m.u.command.u.policy = (struct alb_policy){.n_cpuids = n, .cpuids = cpus,
							   .n_bridges = n, .bridges = br};
		struct alb_msg *d = roundtrip(&m, 0, NULL);
		const struct alb_policy *p = &d->u.command.u.policy;
		assert_int_equal(p->n_cpuids, n);
		assert_int_equal(p->n_bridges, n);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(p->cpuids[i], (int64_t)i + 1);
			char want[24];
			snprintf(want, sizeof(want), "b%02zu", i + 1);
			assert_string_equal(p->bridges[i].ptr, want);
		}
		alb_msg_free(d);
	}
}

static void test_create_and_restart(void **state)
{
	(void)state;
	int64_t cpus[] = {200, 3, 1};
	int64_t codes[] = {255, -1, 64, 1};
	struct alb_block_dev blocks[] = {
		{S("storage"), S("disk1"), true, 4096},
		{S("data"), {NULL, 0}, false, 0}};
	struct alb_net_dev nets[] = {
		{S("service"), S("br0"), true, {2, 0, 0, 0, 0, 1}},
		{S("management"), {NULL, 0}, false, {0}}};
	struct alb_str argv[] = {S("--ipv4=10.0.0.2/24"), S("")};
	struct alb_unikernel_config cfg = {
		.typ = ALB_TYP_SOLO5, .compressed = true,
		.image = {(const uint8_t *)"\x7f" "ELF", 4},
		.has_startup = true, .startup = 10, .add_name = false,
		.fail = {true, 4, codes}, .n_cpuids = 3, .cpuids = cpus,
		.memory = 512, .n_blocks = 2, .blocks = blocks, .n_bridges = 2,
		.bridges = nets, .has_argv = true, .n_argv = 2, .argv = argv,
		.numcpus = 2, .linux_boot_partition = S("(hd0,gpt2)")};
	static const enum alb_cmd_kind kinds[] = {ALB_CMD_UNIKERNEL_CREATE,
						  ALB_CMD_UNIKERNEL_FORCE_CREATE};
	for (size_t i = 0; i < 2; i++) {
		struct alb_msg m = cmd("a:b:c", kinds[i]);
		m.u.command.u.create = cfg;
		struct alb_msg *d = roundtrip(&m, 0, NULL);
		assert_int_equal(d->u.command.kind, kinds[i]);
		const struct alb_unikernel_config *c = &d->u.command.u.create;
		/* SET OF comes back in DER order, int sets ascending */
		assert_string_equal(c->blocks[0].name.ptr, "data");
		assert_string_equal(c->bridges[0].netif.ptr, "management");
		assert_int_equal(c->cpuids[0], 1);
		assert_int_equal(c->fail.exit_codes[0], -1);
		assert_int_equal(c->startup, 10);
		assert_int_equal(c->numcpus, 2);
		alb_msg_free(d);
	}
	/* restart arguments reuse the config; typ, image, compressed ignored */
	struct alb_msg m = cmd("a:b:c", ALB_CMD_UNIKERNEL_RESTART);
	m.u.command.u.restart.has_args = true;
	m.u.command.u.restart.args = cfg;
	struct alb_msg *d = roundtrip(&m, 0, NULL);
	const struct alb_unikernel_config *a = &d->u.command.u.restart.args;
	assert_true(d->u.command.u.restart.has_args);
	assert_int_equal(a->image.len, 0);
	assert_false(a->compressed);
	assert_int_equal(a->n_blocks, 2);
	assert_string_equal(a->linux_boot_partition.ptr, "(hd0,gpt2)");
	alb_msg_free(d);
	/* argv Some [] is written [2]{30 00}; empty device lists vanish */
	cfg.n_argv = 0;
	cfg.n_blocks = 0;
	cfg.n_bridges = 0;
	cfg.linux_boot_partition = (struct alb_str){NULL, 0};
	cfg.has_startup = false;
	cfg.fail.n_exit_codes = 0;
	m = cmd(":x", ALB_CMD_UNIKERNEL_CREATE);
	m.u.command.u.create = cfg;
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &out, NULL), 0);
	uint8_t tail[16];
	size_t tn = hex("02 02 02 00 a2 02 30 00 a3 03 02 01 02", tail, sizeof(tail));
	assert_memory_equal(out.data + out.len - tn, tail, tn);
	alb_buf_free(&out);
	d = roundtrip(&m, 0, NULL);
	assert_true(d->u.command.u.create.has_argv);
	assert_int_equal(d->u.command.u.create.n_argv, 0);
	assert_true(d->u.command.u.create.fail.restart);
	assert_int_equal(d->u.command.u.create.fail.n_exit_codes, 0);
	alb_msg_free(d);
}

static struct alb_unikernel_info sample_info(int64_t *cpus, size_t n_cpus)
{
	static struct alb_info_block blk[] = {{S("storage"), S("a:b:disk"), 512, 1024}};
	static struct alb_info_net net[] = {
		{S("service"), S("vmmtap0"), {0x00, 0x80, 0x41, 0x1b, 0x11, 0x78}},
		{S("admin"), S("vmmtap1"), {2, 0, 0, 0, 0, 2}}};
	static struct alb_str argv[] = {S("--ipv4=192.168.0.2/24")};
	return (struct alb_unikernel_info){
		.typ = ALB_TYP_BHYVE, .has_startup = true, .startup = 5,
		.fail = {false, 0, NULL}, .n_cpuids = n_cpus, .cpuids = cpus,
		.memory = 128, .digest = {(const uint8_t *)"0123456789abcdef", 16},
		.n_blocks = 1, .blocks = blk, .n_bridges = 2, .bridges = net,
		.has_argv = true, .n_argv = 1, .argv = argv,
		.started = {1709210096, 250000000}, .numcpus = 2,
		.linux_boot_partition = S("p1")};
}

static void test_replies(void **state)
{
	(void)state;
	struct alb_msg m = msg("a:b:c", ALB_PAYLOAD_SUCCESS);
	struct alb_msg *d = roundtrip(&m, 0, NULL);
	assert_int_equal(d->u.success.kind, ALB_REPLY_EMPTY);
	alb_msg_free(d);
	m.u.success.kind = ALB_REPLY_STRING;
	m.u.success.u.string = S("created unikernel");
	d = roundtrip(&m, 0, NULL);
	assert_string_equal(d->u.success.u.string.ptr, "created unikernel");
	alb_msg_free(d);

	int64_t cpu = 0;
	struct alb_named_policy pols[] = {
		{"a:b:", {.unikernels = 1, .n_cpuids = 1, .cpuids = &cpu, .memory = 10}},
		{":", {.unikernels = 0x3fffffffffffffff, .memory = 0}}};
	m.u.success.kind = ALB_REPLY_POLICIES;
	m.u.success.u.policies.n = 2;
	m.u.success.u.policies.v = pols;
	d = roundtrip(&m, 0, NULL);
	assert_string_equal(d->u.success.u.policies.v[1].name, ":");
	assert_int_equal(d->u.success.u.policies.v[1].policy.unikernels,
			 0x3fffffffffffffff);
	alb_msg_free(d);

	struct alb_block_info blocks[] = {{":disk", 100, true}, {"a:b:data", 5, false}};
	m.u.success.kind = ALB_REPLY_BLOCK_DEVICES;
	m.u.success.u.blocks.n = 2;
	m.u.success.u.blocks.v = blocks;
	d = roundtrip(&m, 0, NULL);
	assert_string_equal(d->u.success.u.blocks.v[1].name, "a:b:data");
	assert_true(d->u.success.u.blocks.v[0].active);
	alb_msg_free(d);

	static const enum alb_reply_kind images[] = {ALB_REPLY_UNIKERNEL_IMAGE,
						     ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE};
	for (size_t i = 0; i < 2; i++) {
		m.u.success.kind = images[i];
		m.u.success.u.image.compressed = true;
		m.u.success.u.image.data = (struct alb_bytes){(const uint8_t *)"img", 3};
		d = roundtrip(&m, 0, NULL);
		assert_int_equal(d->u.success.kind, images[i]);
		assert_memory_equal(d->u.success.u.image.data.ptr, "img", 3);
		alb_msg_free(d);
	}
	m.u.success.kind = ALB_REPLY_BLOCK_DEVICE_IMAGE;
	m.u.success.u.block_compressed = true;
	d = roundtrip(&m, 0, NULL);
	assert_true(d->u.success.u.block_compressed);
	alb_msg_free(d);

	const char *names[] = {":a", "b:c"};
	m.u.success.kind = ALB_REPLY_CONSOLES;
	m.u.success.u.consoles.n = 2;
	m.u.success.u.consoles.v = names;
	d = roundtrip(&m, 0, NULL);
	assert_string_equal(d->u.success.u.consoles.v[1], "b:c");
	alb_msg_free(d);

	int64_t cpus[] = {3, 2};
	struct alb_named_info infos[] = {{"a:b:c", sample_info(cpus, 2)}};
	m.u.success.kind = ALB_REPLY_UNIKERNEL_INFO;
	m.u.success.u.infos.n = 1;
	m.u.success.u.infos.v = infos;
	d = roundtrip(&m, 0, NULL);
	const struct alb_unikernel_info *i = &d->u.success.u.infos.v[0].info;
	assert_int_equal(i->typ, ALB_TYP_BHYVE);
	assert_int_equal(i->cpuids[0], 2);
	assert_int_equal(i->started.sec, 1709210096);
	assert_int_equal(i->started.nsec, 250000000);
	assert_string_equal(i->bridges[0].unikernel_device.ptr, "admin");
	assert_string_equal(i->linux_boot_partition.ptr, "p1");
	alb_msg_free(d);

	/* old info: one cpuid (duplicates collapse), startup only in info5 */
	int64_t one[] = {7, 7};
	infos[0].info = sample_info(one, 2);
	m.u.success.kind = ALB_REPLY_OLD_UNIKERNEL_INFO5;
	d = roundtrip(&m, 0, NULL);
	i = &d->u.success.u.infos.v[0].info;
	assert_int_equal(i->n_cpuids, 1);
	assert_int_equal(i->cpuids[0], 7);
	assert_true(i->has_startup);
	assert_int_equal(i->numcpus, 1);
	assert_null(i->linux_boot_partition.ptr);
	alb_msg_free(d);
	m.u.success.kind = ALB_REPLY_OLD_UNIKERNEL_INFO4;
	d = roundtrip(&m, 0, NULL);
	assert_false(d->u.success.u.infos.v[0].info.has_startup);
	alb_msg_free(d);
}

static void test_failure_and_data(void **state)
{
	(void)state;
	struct alb_msg m = msg(":x", ALB_PAYLOAD_FAILURE);
	m.u.failure = (struct alb_str){"\xff\xfe\0z", 4};
	struct alb_msg *d = roundtrip(&m, 0, NULL);
	assert_int_equal(d->u.failure.len, 4);
	assert_memory_equal(d->u.failure.ptr, "\xff\xfe\0z", 5);
	alb_msg_free(d);

	m = msg(":x", ALB_PAYLOAD_DATA);
	m.u.data.kind = ALB_DATA_STATS;
	struct alb_stats *s = &m.u.data.u.stats;
	struct alb_ifdata ifd[1] = {{.bridge = S("service"), .flags = INT32_MIN,
				     .mtu = 1500, .input_bytes = INT64_MAX,
				     .output_dropped = -1}};
	struct alb_vmm_stat vmm[2] = {{S("vmexit"), 1000}, {S(""), INT64_MIN}};
	s->rusage.maxrss = INT64_MIN;
	s->rusage.nivcsw = 17;
	s->n_ifdata = 1;
	s->ifdata = ifd;
	s->has_vmm = true;
	s->n_vmm = 2;
	s->vmm = vmm;
	d = roundtrip(&m, 0, NULL);
	const struct alb_stats *ds = &d->u.data.u.stats;
	assert_true(ds->rusage.maxrss == INT64_MIN);
	assert_int_equal(ds->rusage.nivcsw, 17);
	assert_int_equal(ds->ifdata[0].flags, INT32_MIN);
	assert_true(ds->ifdata[0].input_bytes == INT64_MAX);
	assert_true(ds->vmm[1].value == INT64_MIN);
	assert_false(ds->has_kinfo_mem);
	alb_msg_free(d);
	/* vmm Some [] is kept apart from None */
	s->n_vmm = 0;
	d = roundtrip(&m, 0, NULL);
	assert_true(d->u.data.u.stats.has_vmm);
	alb_msg_free(d);
}

static void test_time_quirk(void **state)
{
	(void)state;
	/* 1 µs is written ".000" (cmd_console_subscribe_since_tiny); it reads
	 * back as a whole second, which is written without a fraction */
	struct alb_msg m = cmd("a:b:c", ALB_CMD_CONSOLE_SUBSCRIBE);
	m.u.command.u.subscribe.since = true;
	m.u.command.u.subscribe.time = (struct alb_time){1686816550, 1000};
	struct alb_buf out = {0}, again = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &out, NULL), 0);
	assert_memory_equal(out.data + out.len - 19, "20230615080910.000Z", 19);
	struct alb_msg *d;
	assert_int_equal(alb_msg_decode(out.data, out.len, 0, &d, NULL), 0);
	assert_int_equal(d->u.command.u.subscribe.time.sec, 1686816550);
	assert_int_equal(d->u.command.u.subscribe.time.nsec, 0);
	assert_int_equal(alb_msg_encode(d, 0, &again, NULL), 0);
	assert_int_equal(again.len, out.len - 4);
	assert_memory_equal(again.data + again.len - 15, "20230615080910Z", 15);
	alb_msg_free(d);
	alb_buf_free(&out);
	alb_buf_free(&again);
}

/* ---- errors --------------------------------------------------------------- */

static void encode_fails(const struct alb_msg *m, int code, const char *text)
{
	struct alb_buf out = {0};
	struct alb_error err;
	assert_int_equal(alb_msg_encode(m, 0, &out, &err), code);
	assert_string_equal(err.msg, text);
	assert_null(out.data);
	assert_null(out.base_);
}

static void test_encode_errors(void **state)
{
	(void)state;
	int64_t cpus[] = {1, 2};
	struct alb_named_info infos[] = {{"a:b:c", sample_info(cpus, 2)}};
	struct alb_msg m = msg(":x", ALB_PAYLOAD_SUCCESS);
	m.u.success.kind = ALB_REPLY_OLD_UNIKERNEL_INFO4;
	m.u.success.u.infos.n = 1;
	m.u.success.u.infos.v = infos;
	encode_fails(&m, ALB_EINVAL, "old unikernel info needs exactly one CPU id");
	m.u.success.kind = ALB_REPLY_OLD_UNIKERNEL_INFO5;
	encode_fails(&m, ALB_EINVAL, "old unikernel info needs exactly one CPU id");
	infos[0].info.n_cpuids = 0;
	encode_fails(&m, ALB_EINVAL, "old unikernel info needs exactly one CPU id");
	/* the current form takes any number */
	m.u.success.kind = ALB_REPLY_UNIKERNEL_INFO;
	alb_msg_free(roundtrip(&m, 0, NULL));

	m = cmd("a b", ALB_CMD_UNIKERNEL_INFO);
	encode_fails(&m, ALB_EINVAL, "invalid name");
	m.header.name = NULL;
	encode_fails(&m, ALB_EINVAL, "invalid name");
	m = cmd(":x", ALB_CMD_UNIKERNEL_INFO);
	m.header.version = 4;
	encode_fails(&m, ALB_EINVAL, "only wire version 5 can be encoded");
	m = cmd(":x", ALB_CMD_BLOCK_ADD);
	m.u.command.u.block_size = (int64_t)1 << 62;
	encode_fails(&m, ALB_EINVAL, "integer out of range (63 bits)");
	m = cmd(":x", ALB_CMD_CONSOLE_SUBSCRIBE);
	m.u.command.u.subscribe.since = true;
	m.u.command.u.subscribe.time.sec = 253402300800;
	encode_fails(&m, ALB_EINVAL, "time: year out of range 0..9999");
	m = cmd(":x", ALB_CMD_UNIKERNEL_CREATE);
	m.u.command.u.create.typ = 7;
	encode_fails(&m, ALB_EINVAL, "unknown unikernel type");
	m = cmd(":x", (enum alb_cmd_kind)99);
	encode_fails(&m, ALB_EINVAL, "unknown command kind");
	m = msg(":x", (enum alb_payload_kind)9);
	encode_fails(&m, ALB_EINVAL, "unknown payload kind");
	m = msg(":x", ALB_PAYLOAD_FAILURE);
	m.u.failure = (struct alb_str){NULL, 3};
	encode_fails(&m, ALB_EINVAL, "string with a NULL pointer");
	/* the output must start empty */
	m.u.failure = S("x");
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &out, NULL), 0);
	assert_int_equal(alb_msg_encode(&m, 0, &out, NULL), ALB_EINVAL);
	alb_buf_free(&out);
	assert_int_equal(alb_msg_encode(NULL, 0, &out, NULL), ALB_EINVAL);
}

static void decode_fails(const char *hexs, const char *text)
{
	uint8_t b[256];
	size_t n = hex(hexs, b, sizeof(b));
	struct alb_msg *m = (struct alb_msg *)1;
	struct alb_error err;
	assert_int_equal(alb_msg_decode(b, n, 0, &m, &err), ALB_EPARSE);
	assert_null(m);
	assert_string_equal(err.msg, text);
}

#define HDR "30 14 02 01 05 04 08 " ZEROS8 " 0c 05 61 3a 62 3a 63"

static void test_decode_errors(void **state)
{
	(void)state;
	decode_fails("", "buffer too short");
	decode_fails("30 00", "buffer too short");
	decode_fails("31 00 00", "not a sequence");
	decode_fails("30 80 00 00", "indefinite length");
	decode_fails("30 84 00 00 00", "data too short");
	decode_fails("30 05 30 03 02 01", "buffer too small");
	decode_fails("30 05 30 03 02 01 04", "unknown version number 0x4");
	decode_fails("30 05 30 03 02 01 ff", "unknown version number 0x7FFFFFFFFFFFFFFF");
	decode_fails("30 05 30 03 04 01 05",
		     "Type mismatch: expected: (Primitive UNIVERSAL 2) got: "
		     "(Primitive UNIVERSAL 4)");
	decode_fails("30 1c " HDR " a0 04 a2 02 05 00", "support for log dropped");
	decode_fails("30 1c " HDR " a3 04 a2 02 05 00", "support for log was dropped");
	decode_fails("30 1e " HDR " a0 06 a3 04 b6 02 05 00",
		     "Type mismatch: expected: (Constructed CONTEXT 21) got: "
		     "(Constructed CONTEXT 22)");
	/* success [3] is retired */
	decode_fails("30 1a " HDR " a1 02 a3 00",
		     "Type mismatch: expected: (Constructed CONTEXT 13) got: "
		     "(Constructed CONTEXT 3)");
	/* a console [1] (old subscribe) is no longer decodable */
	decode_fails("30 1d " HDR " a0 05 a0 03 a1 01 00",
		     "Type mismatch: expected: (Constructed CONTEXT 3) got: "
		     "(Constructed CONTEXT 1)");
	decode_fails("30 1c " HDR " a0 04 a0 02 a3 01",
		     "Unexpected EOF: contents of 1 bytes, 0 left");
	decode_fails("30 1e " HDR " a0 06 a3 04 b3 02 05 01",
		     "Unexpected EOF: contents of 1 bytes, 0 left");
	decode_fails("30 20 " HDR " a0 08 a3 06 b3 04 05 00 05 00",
		     "EXPLICIT: sequence: [(Primitive UNIVERSAL 5), (Primitive UNIVERSAL 5)]");
	decode_fails("30 21 " HDR " a0 06 a3 04 b3 02 05 00 02 01 00",
		     "SEQUENCE: trailing: [(Primitive UNIVERSAL 2)]");
	decode_fails("30 14 30 12 02 01 05 04 08 " ZEROS8 " 0c 03 61 3a 3a",
		     "invalid path: invalid label (only [a-zA-Z0-9-.] allowed, 1 to 63 chars)");
	decode_fails("30 13 30 11 02 01 05 04 08 " ZEROS8 " 0c 02 61 62",
		     "SEQUENCE: missing required: payload");
	decode_fails("30 0f 30 0d 02 01 05 04 08 " ZEROS8,
		     "SEQUENCE: missing required: name");
	/* a name past ALB_NAME_MAX is malformed input */
	{
		uint8_t b[1200];
		size_t n = hex("30 82 04 1f 30 82 04 13 02 01 05 04 08 " ZEROS8
			       " 0c 82 04 02", b, sizeof(b));
		memset(b + n, 'a', 1026);
		for (size_t i = 63; i < 1026; i += 64)
			b[n + i] = ':';
		n += 1026;
		n += hex("a0 06 a3 04 b3 02 05 00", b + n, sizeof(b) - n);
		struct alb_msg *m;
		struct alb_error err;
		assert_int_equal(alb_msg_decode(b, n, 0, &m, &err), ALB_EPARSE);
		assert_int_equal(err.code, ALB_EPARSE);
		assert_string_equal(err.msg, "name too long (1026 bytes, at most 1023)");
	}
	/* block data must be OCTET STRING or NULL */
	decode_fails("30 1d " HDR " a3 05 a4 03 a0 01 00",
		     "Unexpected EOF: truncated header (1 of 2 bytes)");
}

/* Every prefix and many corruptions of valid messages fail cleanly. */
static void hostile(const struct alb_msg *m)
{
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(m, 0, &out, NULL), 0);
	for (size_t n = 0; n < out.len; n++) {
		/* a copy of exactly n bytes, so ASan sees any overread */
		uint8_t *p = malloc(n > 0 ? n : 1);
		memcpy(p, out.data, n);
		struct alb_msg *d = NULL;
		assert_int_equal(alb_msg_decode(p, n, 0, &d, NULL), ALB_EPARSE);
		assert_null(d);
		free(p);
	}
	uint8_t *p = malloc(out.len);
	static const uint8_t subst[] = {0x00, 0x7f, 0x80, 0xff};
	for (size_t i = 0; i < out.len; i++) {
		for (size_t k = 0; k < sizeof(subst) + 1; k++) {
			memcpy(p, out.data, out.len);
			p[i] = k < sizeof(subst) ? subst[k] : (uint8_t)(p[i] ^ 0x20);
			struct alb_msg *d = NULL;
			int rc = alb_msg_decode(p, out.len, 0, &d, NULL);
			assert_true(rc == 0 || rc == ALB_EPARSE);
			if (rc == 0) {
				/* whatever decodes also encodes */
				struct alb_buf again = {0};
				int erc = alb_msg_encode(d, 0, &again, NULL);
				assert_true(erc == 0 || erc == ALB_EINVAL);
				alb_buf_free(&again);
				alb_msg_free(d);
			}
		}
	}
	free(p);
	alb_buf_free(&out);
}

static void test_hostile(void **state)
{
	(void)state;
	int64_t cpus[] = {3, 2};
	struct alb_named_info infos[] = {{"a:b:c", sample_info(cpus, 2)},
					 {":d", sample_info(cpus, 1)}};
	struct alb_msg m = msg("a:b:", ALB_PAYLOAD_SUCCESS);
	m.u.success.kind = ALB_REPLY_UNIKERNEL_INFO;
	m.u.success.u.infos.n = 2;
	m.u.success.u.infos.v = infos;
	hostile(&m);
	int64_t codes[] = {1, 2};
	struct alb_block_dev blocks[] = {{S("data"), S("d"), true, 512}};
	struct alb_net_dev nets[] = {{S("service"), S("br0"), true, {1, 2, 3, 4, 5, 6}}};
	struct alb_str argv[] = {S("-x")};
	m = cmd("a:b:c", ALB_CMD_UNIKERNEL_CREATE);
	m.u.command.u.create = (struct alb_unikernel_config){
		.image = {(const uint8_t *)"img", 3}, .has_startup = true,
		.fail = {true, 2, codes}, .n_cpuids = 2, .cpuids = cpus,
		.memory = 64, .n_blocks = 1, .blocks = blocks, .n_bridges = 1,
		.bridges = nets, .has_argv = true, .n_argv = 1, .argv = argv,
		.numcpus = 1, .linux_boot_partition = S("p")};
	hostile(&m);
	m = msg(":x", ALB_PAYLOAD_DATA);
	m.u.data.kind = ALB_DATA_STATS;
	struct alb_ifdata ifd[1] = {{.bridge = S("s")}};
	struct alb_vmm_stat vmm[1] = {{S("k"), 1}};
	m.u.data.u.stats = (struct alb_stats){.n_ifdata = 1, .ifdata = ifd, .has_vmm = true,
					      .n_vmm = 1, .vmm = vmm,
					      .has_kinfo_mem = true};
	hostile(&m);
}

static void test_borrow(void **state)
{
	(void)state;
	static uint8_t image[5000];
	memset(image, 0xab, sizeof(image));
	struct alb_msg m = cmd(":x", ALB_CMD_UNIKERNEL_CREATE);
	m.u.command.u.create.image = (struct alb_bytes){image, sizeof(image)};
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &out, NULL), 0);
	struct alb_msg *d;
	assert_int_equal(alb_msg_decode(out.data, out.len, ALB_DECODE_BORROW, &d, NULL), 0);
	const struct alb_bytes *img = &d->u.command.u.create.image;
	assert_true(img->ptr > out.data && img->ptr + img->len <= out.data + out.len);
	assert_memory_equal(img->ptr, image, sizeof(image));
	alb_msg_free(d);
	assert_int_equal(alb_msg_decode(out.data, out.len, 0, &d, NULL), 0);
	img = &d->u.command.u.create.image;
	assert_true(img->ptr < out.data || img->ptr >= out.data + out.len);
	assert_memory_equal(img->ptr, image, sizeof(image));
	alb_msg_free(d);
	alb_buf_free(&out);
}

static void test_large_image(void **state)
{
	(void)state;
	/* a 16 MiB image goes into the output once: the builder never grows */
	size_t big = 16u << 20;
	uint8_t *image = malloc(big);
	assert_non_null(image);
	memset(image, 0x5a, big);
	struct alb_msg m = cmd(":x", ALB_CMD_UNIKERNEL_CREATE);
	m.u.command.u.create.image = (struct alb_bytes){image, big};
	size_t hint = alb_enc_hint(alb_command_bulk(&m.u.command));
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(&m, ALB_ENCODE_FRAMED, &out, NULL), 0);
	assert_int_equal(out.cap_, hint);
	assert_true(out.len > big && out.len < big + 128);
	struct alb_msg *d;
	assert_int_equal(alb_msg_decode(out.data + 4, out.len - 4, ALB_DECODE_BORROW, &d,
					NULL), 0);
	assert_int_equal(d->u.command.u.create.image.len, big);
	alb_msg_free(d);
	alb_buf_free(&out);
	free(image);
}

/* ---- memory bounds ---------------------------------------------------------- */

static void test_arena_limit(void **state)
{
	(void)state;
	struct alb_arena *a;
	void *head = alb_arena_create(16, 64, 1024, &a);
	assert_non_null(head);
	/* exactly the limit, in pieces across blocks... */
	for (int i = 0; i < 8; i++)
		assert_non_null(alb_arena_alloc(a, 120));
	assert_non_null(alb_arena_alloc(a, 64));
	assert_int_equal(alb_arena_used(a), 1024);
	/* ...and one byte past it */
	assert_null(alb_arena_alloc(a, 1));
	assert_null(alb_arena_calloc(a, SIZE_MAX / 2, 4));
	assert_non_null(alb_arena_calloc(a, 0, 8));
	alb_arena_destroy(a);
	/* a large piece gets its own block */
	head = alb_arena_create(0, 0, 1 << 22, &a);
	unsigned char *p = alb_arena_alloc(a, 1 << 21);
	assert_non_null(p);
	memset(p, 1, 1 << 21);
	char *s = alb_arena_strndup(a, "abc", 3);
	assert_string_equal(s, "abc");
	alb_arena_destroy(a);
	alb_arena_destroy(NULL);
}

static void test_decode_memory(void **state)
{
	(void)state;
	/* the worst ratio: a long argv of empty strings (2 input bytes, a
	 * 16-byte struct alb_str each) stays within the decode bound */
	enum { N = 20000 };
	struct alb_str *argv = calloc(N, sizeof(*argv));
	assert_non_null(argv);
	for (size_t i = 0; i < N; i++)
		argv[i] = S("");
	struct alb_msg m = cmd(":x", ALB_CMD_UNIKERNEL_RESTART);
	m.u.command.u.restart.has_args = true;
	m.u.command.u.restart.args.has_argv = true;
	m.u.command.u.restart.args.n_argv = N;
	m.u.command.u.restart.args.argv = argv;
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &out, NULL), 0);
	struct alb_msg *d;
	assert_int_equal(alb_msg_decode(out.data, out.len, 0, &d, NULL), 0);
	assert_int_equal(d->u.command.u.restart.args.n_argv, N);
	size_t used = alb_arena_used(d->arena_);
	assert_true(used <= out.len * ALB_DECODE_MEM_FACTOR + ALB_DECODE_MEM_SLACK);
	assert_true(used <= out.len * 10);
	alb_msg_free(d);
	alb_buf_free(&out);
	free(argv);
}

static void test_decode_bound_parse_error(void **state)
{
	(void)state;
	/* a list of 2-byte elements, each of which would become a struct
	 * alb_named_info: more than the bound allows, which no valid message
	 * needs, so it is malformed input rather than out of memory */
	enum { N = 200 };
	uint8_t b[64 + 2 * N];
	size_t n = hex("30 82 01 b2 " HDR " a1 82 01 98 ad 82 01 94 30 82 01 90", b,
		       sizeof(b));
	for (size_t i = 0; i < N; i++) {
		b[n++] = 0x05;
		b[n++] = 0x00;
	}
	assert_int_equal(n, 4 + 0x1b2);
	struct alb_msg *m;
	struct alb_error err;
	assert_int_equal(alb_msg_decode(b, n, 0, &m, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "malformed message: more elements than its length allows");
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(alb_cmd_kind_name(ALB_CMD_UNIKERNEL_CREATE), "unikernel create");
	assert_string_equal(alb_cmd_kind_name(ALB_CMD_CONSOLE_SUBSCRIBE),
			    "console subscribe");
	assert_string_equal(alb_cmd_kind_name(ALB_CMD_OLD_BLOCK_DUMP), "old block dump");
	assert_string_equal(alb_cmd_kind_name((enum alb_cmd_kind)99), "unknown command");
	alb_msg_free(NULL);
}

/* Encoded around its image, a create is the frame alb_msg_encode() makes
 * with the image cut out at *cut; for a small (short-form length) and a
 * bulk image, and without the hole's string the whole frame. */
static void test_encode_around(void **state)
{
	(void)state;
	static const size_t sizes[] = {3, 100000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *img = malloc(sizes[i]);
		assert_non_null(img);
		for (size_t k = 0; k < sizes[i]; k++)
			img[k] = (uint8_t)(k * 7 + 1);
		struct alb_msg m = cmd(":around", ALB_CMD_UNIKERNEL_CREATE);
		m.u.command.u.create.memory = 32;
		m.u.command.u.create.image = (struct alb_bytes){img, sizes[i]};
		struct alb_buf whole = {0}, part = {0};
		assert_int_equal(alb_msg_encode(&m, ALB_ENCODE_FRAMED, &whole, NULL), 0);
		size_t cut = 0;
		assert_int_equal(alb_msg_encode_around(&m, img, &part, &cut, NULL), 0);
		assert_int_equal(part.len + sizes[i], whole.len);
		assert_memory_equal(part.data, whole.data, cut);
		assert_memory_equal(whole.data + cut, img, sizes[i]);
		assert_memory_equal(whole.data + cut + sizes[i], part.data + cut,
				    part.len - cut);
		alb_buf_free(&part);
		/* a hole that the message does not hold: the whole frame */
		static const uint8_t elsewhere = 0;
		assert_int_equal(alb_msg_encode_around(&m, &elsewhere, &part, &cut,
						       NULL), 0);
		assert_int_equal(cut, whole.len);
		assert_int_equal(part.len, whole.len);
		assert_memory_equal(part.data, whole.data, whole.len);
		alb_buf_free(&part);
		alb_buf_free(&whole);
		free(img);
	}
	struct alb_msg m = cmd(":around", ALB_CMD_UNIKERNEL_INFO);
	struct alb_buf out = {0};
	size_t cut;
	assert_int_equal(alb_msg_encode_around(&m, NULL, &out, &cut, NULL), ALB_EINVAL);
	assert_int_equal(alb_msg_encode_around(&m, &m, &out, NULL, NULL), ALB_EINVAL);
}

/* An info reply made from infos encoded one by one is the frame that
 * alb_msg_encode() makes of it: for every current-form info reply of the
 * vectors (with and without its list), with the header's version checked. */
static void expect_info_der(const struct alb_msg *m)
{
	const struct alb_reply *r = &m->u.success;
	size_t n = r->u.infos.n;
	struct alb_buf *ders = calloc(n + 1, sizeof(*ders));
	struct alb_info_der *v = calloc(n + 1, sizeof(*v));
	assert_non_null(ders);
	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(alb_info_der(&r->u.infos.v[i].info, &ders[i], NULL), 0);
		v[i] = (struct alb_info_der){r->u.infos.v[i].name, ders[i].data,
					     ders[i].len};
	}
	struct alb_buf want = {0}, got = {0};
	assert_int_equal(alb_msg_encode(m, ALB_ENCODE_FRAMED, &want, NULL), 0);
	assert_int_equal(alb_msg_encode_info_der(&m->header, v, n, &got, NULL), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	alb_buf_free(&got);
	alb_buf_free(&want);
	for (size_t i = 0; i < n; i++)
		alb_buf_free(&ders[i]);
	free(ders);
	free(v);
}

static void test_encode_info_der(void **state)
{
	(void)state;
	const char *dir = vec_dir();
	size_t found = 0;
	struct vec_entry *e = NULL;
	size_t rows = vec_present(dir) ? vec_manifest(dir, &e) : 0;
	for (size_t i = 0; i < rows; i++) {
		size_t len;
		uint8_t *b = strcmp(e[i].kind, "wire") == 0
				     ? vec_read_at(dir, e[i].file, &len) : NULL;
		struct alb_msg *m = NULL;
		if (b != NULL && alb_msg_decode(b, len, 0, &m, NULL) == 0 &&
		    m->kind == ALB_PAYLOAD_SUCCESS &&
		    m->u.success.kind == ALB_REPLY_UNIKERNEL_INFO) {
			expect_info_der(m);
			found++;
		}
		alb_msg_free(m);
		free(b);
	}
	free(e);
	printf("%zu info replies of %s\n", found, dir);
	/* an empty list, and a header that cannot be encoded */
	struct alb_msg m = {.header = {.version = ALB_WIRE_VERSION, .name = ":"},
			    .kind = ALB_PAYLOAD_SUCCESS};
	m.u.success.kind = ALB_REPLY_UNIKERNEL_INFO;
	expect_info_der(&m);
	struct alb_buf out = {0};
	m.header.version = 4;
	assert_int_equal(alb_msg_encode_info_der(&m.header, NULL, 0, &out, NULL),
			 ALB_EINVAL);
	assert_null(out.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_encode_info_der),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_stats_skeleton),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_policy_sets),
		cmocka_unit_test(test_create_and_restart),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_failure_and_data),
		cmocka_unit_test(test_time_quirk),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_borrow),
		cmocka_unit_test(test_large_image),
		cmocka_unit_test(test_encode_around),
		cmocka_unit_test(test_arena_limit),
		cmocka_unit_test(test_decode_memory),
		cmocka_unit_test(test_decode_bound_parse_error),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
