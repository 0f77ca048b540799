/* Unit tests: the printer (text and JSON) of messages, certificate
 * extensions and state files.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "albatross/print.h"
#include "print_internal.h"
#include "vectors.h"

/* ---- helpers ----------------------------------------------------------- */

#define S(lit) ((struct alb_str){ .ptr = (lit), .len = sizeof(lit) - 1 })

enum what { MSG, CERTEXT, STATE };

/* Prints v into a new string (free it); asserts success. */
static char *print_any(enum what w, const void *v, unsigned flags)
{
	char *buf = NULL;
	size_t len = 0;
	struct alb_error err = { 0 };
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	int rc = w == MSG       ? alb_msg_print(f, v, flags, &err)
		 : w == CERTEXT ? alb_certext_print(f, v, flags, &err)
				: alb_state_print(f, v, flags, &err);
	if (rc != 0)
		fail_msg("print failed: %d %s", rc, err.msg);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(buf), len);
	return buf;
}

static char *msg_text(const struct alb_msg *m)
{
	return print_any(MSG, m, 0);
}

static char *msg_json(const struct alb_msg *m)
{
	return print_any(MSG, m, ALB_PRINT_JSON);
}

/* Checks that json is one valid JSON document with Python's parser (which
 * also rejects raw control characters inside strings) and returns its
 * canonical ASCII re-serialisation (sorted keys, compact) to free. */
static char *json_canon(const char *json)
{
	char path[] = "/tmp/alb-test-print-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(json);
	assert_int_equal(write(fd, json, len), (ssize_t)len);
	close(fd);

	char cmd[256];
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; "
		 "print(json.dumps(json.load(sys.stdin, strict=True), "
		 "sort_keys=True, separators=(\",\",\":\")))' < %s",
		 path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *out = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&out, &cap, '\0', p);
	int status = pclose(p);
	unlink(path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		fail_msg("python3 is needed to validate JSON output");
	if (status != 0 || n <= 0)
		fail_msg("invalid JSON:\n%s", json);
	if (out[n - 1] == '\n')
		out[n - 1] = '\0';
	return out;
}

static void assert_json_valid(const char *json)
{
	free(json_canon(json));
}

/* True when needle occurs in hay. */
static void assert_has(const char *hay, const char *needle)
{
	assert_non_null(hay);
	if (strstr(hay, needle) == NULL) {
		print_error("\"%s\" not found in:\n%s\n", needle, hay);
		fail();
	}
}

/* No byte of the text form may be a raw control character but '\n'. */
static void assert_no_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
			fail_msg("raw control byte 0x%02x in:\n%s", *p, s);
}

/* Prints m both ways, checks JSON validity and the text's cleanliness,
 * and checks that the text holds needle. */
static void check_both(const struct alb_msg *m, const char *needle)
{
	char *t = msg_text(m);
	assert_no_control(t);
	if (needle != NULL)
		assert_has(t, needle);
	free(t);
	char *j = msg_json(m);
	assert_json_valid(j);
	free(j);
}

/* ---- fixtures ---------------------------------------------------------- */

static uint8_t image300[300];
static int64_t exit_codes[] = { 1, 64, -1, 255 };
static int64_t cpuids[] = { 1, 3, 200 };
static struct alb_block_dev blocks[] = {
	{ .name = { "data", 4 } },
	{ .name = { "storage", 7 }, .device = { "disk1", 5 },
	  .has_sector_size = true, .sector_size = 4096 },
};
static struct alb_net_dev nets[] = {
	{ .netif = { "management", 10 } },
	{ .netif = { "service", 7 }, .bridge = { "br0", 3 }, .has_mac = true,
	  .mac = { 0x02, 0, 0, 0, 0, 0x01 } },
};
static struct alb_str argv3[] = {
	{ "--ipv4=10.0.0.2/24", 18 },
	{ "--hello=h\xc3\xa9llo", 14 },
	{ "", 0 },
};

static struct alb_unikernel_config full_config(void)
{
	for (size_t i = 0; i < sizeof(image300); i++)
		image300[i] = (uint8_t)i;
	return (struct alb_unikernel_config){
		.typ = ALB_TYP_SOLO5,
		.compressed = true,
		.image = { image300, sizeof(image300) },
		.has_startup = true,
		.startup = 10,
		.fail = { .restart = true, .n_exit_codes = 4,
			  .exit_codes = exit_codes },
		.n_cpuids = 3,
		.cpuids = cpuids,
		.memory = 512,
		.n_blocks = 2,
		.blocks = blocks,
		.n_bridges = 2,
		.bridges = nets,
		.has_argv = true,
		.n_argv = 3,
		.argv = argv3,
		.numcpus = 2,
		.linux_boot_partition = { "(hd0,gpt2)", 10 },
	};
}

static const uint8_t fake_image[] = "\x7f" "ELF";

static struct alb_unikernel_config min_config(void)
{
	static int64_t cpu0[] = { 0 };
	return (struct alb_unikernel_config){
		.image = { fake_image, 4 },
		.add_name = true,
		.n_cpuids = 1,
		.cpuids = cpu0,
		.memory = 32,
		.numcpus = 1,
	};
}

static struct alb_msg cmd_msg(enum alb_cmd_kind kind)
{
	struct alb_msg m = {
		.header = { .version = 5, .sequence = 1, .name = "a:b:c" },
		.kind = ALB_PAYLOAD_COMMAND,
	};
	m.u.command.kind = kind;
	return m;
}

static int64_t pol_cpus[] = { 0, 1 };
static struct alb_str pol_bridges[] = { { "br0", 3 }, { "service", 7 } };

static struct alb_policy full_policy(void)
{
	return (struct alb_policy){
		.unikernels = 10,
		.n_cpuids = 2,
		.cpuids = pol_cpus,
		.memory = 1024,
		.has_block = true,
		.block = 2048,
		.n_bridges = 2,
		.bridges = pol_bridges,
	};
}

static struct alb_info_block info_blocks[] = {
	{ .unikernel_device = { "storage", 7 }, .host_device = { "a:b:disk", 8 },
	  .sector_size = 512, .size = 1024 },
};
static struct alb_info_net info_nets[] = {
	{ .unikernel_device = { "service", 7 }, .host_device = { "vmmtap0", 7 },
	  .mac = { 0x00, 0x80, 0x41, 0x1b, 0x11, 0x78 } },
};
static const uint8_t digest32[32] = { 0xa0, 0xa1, 0xa2, 0xa3 };

static struct alb_named_info named_infos[2];

static void fill_infos(void)
{
	static int64_t cpu2[] = { 2, 3 };
	static int64_t code1[] = { 1 };
	static struct alb_str argv1[] = { { "--ipv4=192.168.0.2/24", 21 } };
	named_infos[0] = (struct alb_named_info){
		.name = "a:b:c",
		.info = {
			.has_startup = true,
			.startup = 5,
			.fail = { .restart = true, .n_exit_codes = 1,
				  .exit_codes = code1 },
			.n_cpuids = 2,
			.cpuids = cpu2,
			.memory = 128,
			.digest = { digest32, sizeof(digest32) },
			.n_blocks = 1,
			.blocks = info_blocks,
			.n_bridges = 1,
			.bridges = info_nets,
			.has_argv = true,
			.n_argv = 1,
			.argv = argv1,
			.started = { .sec = 1709210096 },
			.numcpus = 2,
			.linux_boot_partition = { "p1", 2 },
		},
	};
	named_infos[1] = (struct alb_named_info){
		.name = "a:b:d",
		.info = { .memory = 32, .numcpus = 1 },
	};
}

/* ---- every message kind ------------------------------------------------ */

static void test_every_command(void **state)
{
	(void)state;
	static struct alb_stats_tap taps[] = { { { "service", 7 }, { "tap0", 4 } } };
	static const uint8_t blk[] = { 1, 2, 3 };

	for (int k = ALB_CMD_CONSOLE_ADD; k <= ALB_CMD_OLD_BLOCK_DUMP; k++) {
		struct alb_msg m = cmd_msg((enum alb_cmd_kind)k);
		struct alb_command *c = &m.u.command;
		/* A line that only this kind's field can produce. */
		const char *field = NULL;
		switch (c->kind) {
		case ALB_CMD_CONSOLE_ADD:
			c->u.console_add = 1000;
			field = "  max_rings: 1000\n";
			break;
		case ALB_CMD_CONSOLE_SUBSCRIBE:
			c->u.subscribe.count = 20;
			field = "  count: 20\n";
			break;
		case ALB_CMD_STATS_ADD:
			c->u.stats_add.pid = 42;
			c->u.stats_add.n_taps = 1;
			c->u.stats_add.taps = taps;
			field = "  vmmdev: \"\"\n  pid: 42\n  taps (1):\n"
				"    - netif: \"service\"\n      tap: \"tap0\"\n";
			break;
		case ALB_CMD_UNIKERNEL_CREATE:
		case ALB_CMD_UNIKERNEL_FORCE_CREATE:
			c->u.create = full_config();
			field = "  config:\n    typ: solo5\n";
			break;
		case ALB_CMD_UNIKERNEL_GET:
			c->u.level = 9;
			field = "  compression_level: 9\n";
			break;
		case ALB_CMD_UNIKERNEL_RESTART:
			c->u.restart.has_args = true;
			c->u.restart.args = full_config();
			field = "  arguments:\n    startup: 10\n";
			break;
		case ALB_CMD_POLICY_ADD:
			c->u.policy = full_policy();
			field = "  policy:\n    unikernels: 10\n";
			break;
		case ALB_CMD_BLOCK_ADD:
			c->u.block_size = 100;
			field = "  size_mb: 100\n";
			break;
		case ALB_CMD_BLOCK_SET:
			c->u.block_compressed = true;
			field = "  compressed: true\n";
			break;
		case ALB_CMD_BLOCK_DUMP:
		case ALB_CMD_OLD_BLOCK_DUMP:
			c->u.level = 4;
			field = "  compression_level: 4\n";
			break;
		case ALB_CMD_OLD_BLOCK_ADD:
			c->u.old_block_add.size = 10;
			c->u.old_block_add.has_data = true;
			c->u.old_block_add.data = (struct alb_bytes){ blk, 3 };
			field = "  size_mb: 10\n  compressed: false\n"
				"  data: 3 bytes, sha256 ";
			break;
		case ALB_CMD_OLD_BLOCK_SET:
			c->u.old_block_set.data = (struct alb_bytes){ blk, 3 };
			field = "  compressed: false\n  data: 3 bytes, sha256 ";
			break;
		default:
			/* The others carry nothing but their kind. */
			break;
		}
		char *t = msg_text(&m);
		assert_no_control(t);
		/* The kind is printed under a stable name of its own. */
		char *j = msg_json(&m);
		char *canon = json_canon(j);
		char *kind = strstr(canon, "\"kind\":\"");
		assert_non_null(kind);
		kind += strlen("\"kind\":\"");
		size_t klen = strcspn(kind, "\"");
		char want[64];
		snprintf(want, sizeof(want), "kind: %.*s\n", (int)klen, kind);
		assert_has(t, want);
		if (field != NULL)
			assert_has(t, field);
		else /* nothing follows the kind */
			assert_string_equal(strstr(t, want), want);
		free(canon);
		free(j);
		free(t);
	}
}

static void test_every_reply(void **state)
{
	(void)state;
	static struct alb_named_policy pols[1];
	static struct alb_block_info binfo[] = { { "a:disk", 100, true } };
	static const char *consoles[] = { "a:b:c", ":hello" };
	pols[0] = (struct alb_named_policy){ "a:b:", full_policy() };
	fill_infos();

	for (int k = ALB_REPLY_EMPTY; k <= ALB_REPLY_UNIKERNEL_INFO; k++) {
		struct alb_msg m = {
			.header = { .version = 5, .name = ":" },
			.kind = ALB_PAYLOAD_SUCCESS,
		};
		struct alb_reply *r = &m.u.success;
		r->kind = (enum alb_reply_kind)k;
		switch (r->kind) {
		case ALB_REPLY_STRING: r->u.string = S("created unikernel"); break;
		case ALB_REPLY_POLICIES: r->u.policies.n = 1; r->u.policies.v = pols; break;
		case ALB_REPLY_BLOCK_DEVICES: r->u.blocks.n = 1; r->u.blocks.v = binfo; break;
		case ALB_REPLY_UNIKERNEL_IMAGE:
		case ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE:
			r->u.image.compressed = true;
			r->u.image.data = (struct alb_bytes){ fake_image, 4 };
			break;
		case ALB_REPLY_BLOCK_DEVICE_IMAGE: r->u.block_compressed = true; break;
		case ALB_REPLY_CONSOLES: r->u.consoles.n = 2; r->u.consoles.v = consoles; break;
		case ALB_REPLY_OLD_UNIKERNEL_INFO4:
		case ALB_REPLY_OLD_UNIKERNEL_INFO5:
		case ALB_REPLY_UNIKERNEL_INFO:
			r->u.infos.n = 2;
			r->u.infos.v = named_infos;
			break;
		case ALB_REPLY_EMPTY: break;
		}
		check_both(&m, "success:\n  kind: ");
	}
}

static void test_failure_and_data(void **state)
{
	(void)state;
	struct alb_msg m = { .header = { .version = 5, .name = ":x" },
			     .kind = ALB_PAYLOAD_FAILURE };
	m.u.failure = S("policy violation");
	check_both(&m, "failure: \"policy violation\"\n");

	m.kind = ALB_PAYLOAD_DATA;
	m.u.data.kind = ALB_DATA_CONSOLE;
	m.u.data.u.console.time = (struct alb_time){ 1686816550, 123000000 };
	m.u.data.u.console.line = S("\xe2\x9c\x93 ok");
	check_both(&m, "  time: 2023-06-15T08:09:10.123Z\n  line: \"\xe2\x9c\x93 ok\"\n");

	m.u.data.kind = ALB_DATA_BLOCK;
	m.u.data.u.block.has_data = true;
	m.u.data.u.block.data = (struct alb_bytes){ (const uint8_t *)"abc", 3 };
	check_both(&m, "  data: 3 bytes, sha256 ba7816bf8f01cfea414140de5dae2223"
		       "b00361a396177a9cb410ff61f20015ad, hex 616263\n");
	m.u.data.u.block.has_data = false;
	check_both(&m, "  data: (absent)\n");

	struct alb_ifdata ifd[1] = { { .bridge = { "service", 7 }, .mtu = 1500,
				       .flags = INT32_MIN,
				       .output_dropped = -1 } };
	struct alb_vmm_stat vmm[] = { { { "vmexit", 6 }, 1000 }, { { "", 0 }, 0 } };
	m.u.data.kind = ALB_DATA_STATS;
	m.u.data.u.stats = (struct alb_stats){
		.rusage = { .utime = { 1, 250000 }, .maxrss = INT64_MAX,
			    .minflt = INT64_MIN },
		.n_ifdata = 1,
		.ifdata = ifd,
		.has_vmm = true,
		.n_vmm = 2,
		.vmm = vmm,
		.has_kinfo_mem = true,
		.kinfo_mem = { .cow = 7, .start = { 1700000000, 42 } },
	};
	check_both(&m, "    maxrss: 9223372036854775807\n"
		       "    ixrss: 0\n    idrss: 0\n    isrss: 0\n"
		       "    minflt: -9223372036854775808\n");
	char *j = msg_json(&m);
	assert_has(j, "\"maxrss\": 9223372036854775807,");
	assert_has(j, "\"minflt\": -9223372036854775808,");
	assert_has(j, "\"flags\": -2147483648,");
	free(j);
	m.u.data.u.stats.has_vmm = false;
	m.u.data.u.stats.has_kinfo_mem = false;
	check_both(&m, "  vmm: (absent)\n  kinfo_mem: (absent)\n");
}

/* ---- exact outputs ----------------------------------------------------- */

static void test_exact_subscribe(void **state)
{
	(void)state;
	struct alb_msg m = cmd_msg(ALB_CMD_CONSOLE_SUBSCRIBE);
	m.header.sequence = -1;
	m.header.name = ":foo";
	m.u.command.u.subscribe.since = true;
	m.u.command.u.subscribe.time = (struct alb_time){ 1709210096, 500000000 };

	char *t = msg_text(&m);
	assert_string_equal(t, "header:\n"
			       "  version: 5\n"
			       "  sequence: -1\n"
			       "  name: :foo\n"
			       "command:\n"
			       "  kind: console_subscribe\n"
			       "  since: 2024-02-29T12:34:56.500Z\n");
	free(t);
	char *j = msg_json(&m);
	assert_string_equal(j, "{\n"
			       "  \"header\": {\n"
			       "    \"version\": 5,\n"
			       "    \"sequence\": -1,\n"
			       "    \"name\": \":foo\"\n"
			       "  },\n"
			       "  \"command\": {\n"
			       "    \"kind\": \"console_subscribe\",\n"
			       "    \"since\": \"2024-02-29T12:34:56.500Z\"\n"
			       "  }\n"
			       "}\n");
	free(j);
}

static void test_exact_create(void **state)
{
	(void)state;
	struct alb_msg m = cmd_msg(ALB_CMD_UNIKERNEL_CREATE);
	m.u.command.u.create = full_config();

	char *t = msg_text(&m);
	assert_string_equal(t,
		"header:\n"
		"  version: 5\n"
		"  sequence: 1\n"
		"  name: a:b:c\n"
		"command:\n"
		"  kind: unikernel_create\n"
		"  config:\n"
		"    typ: solo5\n"
		"    compressed: true\n"
		"    image: 300 bytes, sha256 7728ae2f2c36e2aaafbe79ca14c87ae2"
		"f89e7c88c4390ecbbf82dce88706958d, first 16 bytes "
		"000102030405060708090a0b0c0d0e0f...\n"
		"    startup: 10\n"
		"    add_name: false\n"
		"    fail: restart on exit codes {1, 64, -1, 255}\n"
		"    cpuids: [1, 3, 200]\n"
		"    memory_mb: 512\n"
		"    block_devices (2):\n"
		"      - name: \"data\"\n"
		"        device: (absent)\n"
		"        sector_size: (absent)\n"
		"      - name: \"storage\"\n"
		"        device: \"disk1\"\n"
		"        sector_size: 4096\n"
		"    bridges (2):\n"
		"      - netif: \"management\"\n"
		"        bridge: (absent)\n"
		"        mac: (absent)\n"
		"      - netif: \"service\"\n"
		"        bridge: \"br0\"\n"
		"        mac: 02:00:00:00:00:01\n"
		"    argv (3):\n"
		"      - \"--ipv4=10.0.0.2/24\"\n"
		"      - \"--hello=h\xc3\xa9llo\"\n"
		"      - \"\"\n"
		"    numcpus: 2\n"
		"    linux_boot_partition: \"(hd0,gpt2)\"\n");
	free(t);

	char *j = msg_json(&m);
	char *canon = json_canon(j);
	assert_string_equal(canon,
		"{\"command\":{\"config\":{\"add_name\":false,"
		"\"argv\":[\"--ipv4=10.0.0.2/24\",\"--hello=h\\u00e9llo\",\"\"],"
		"\"block_devices\":[{\"device\":null,\"name\":\"data\","
		"\"sector_size\":null},{\"device\":\"disk1\",\"name\":\"storage\","
		"\"sector_size\":4096}],"
		"\"bridges\":[{\"bridge\":null,\"mac\":null,\"netif\":\"management\"},"
		"{\"bridge\":\"br0\",\"mac\":\"02:00:00:00:00:01\",\"netif\":\"service\"}],"
		"\"compressed\":true,\"cpuids\":[1,3,200],"
		"\"fail\":{\"any_exit_code\":false,\"exit_codes\":[1,64,-1,255],"
		"\"restart\":true},"
		"\"image\":{\"length\":300,\"sha256\":\"7728ae2f2c36e2aaafbe79ca14c87ae2"
		"f89e7c88c4390ecbbf82dce88706958d\"},"
		"\"linux_boot_partition\":\"(hd0,gpt2)\",\"memory_mb\":512,"
		"\"numcpus\":2,\"startup\":10,\"typ\":\"solo5\"},"
		"\"kind\":\"unikernel_create\"},"
		"\"header\":{\"name\":\"a:b:c\",\"sequence\":1,\"version\":5}}");
	free(canon);
	free(j);
}

/* The empty list, the absent list and the restart arguments' absence of an
 * image and type. */
static void test_restart_and_empty(void **state)
{
	(void)state;
	struct alb_msg m = cmd_msg(ALB_CMD_UNIKERNEL_RESTART);
	char *t = msg_text(&m);
	assert_has(t, "  kind: unikernel_restart\n  arguments: (absent)\n");
	free(t);

	m.u.command.u.restart.has_args = true;
	m.u.command.u.restart.args = min_config();
	m.u.command.u.restart.args.has_argv = true;
	t = msg_text(&m);
	assert_string_equal(strstr(t, "  arguments:\n"),
			    "  arguments:\n"
			    "    startup: (absent)\n"
			    "    add_name: true\n"
			    "    fail: quit\n"
			    "    cpuids: [0]\n"
			    "    memory_mb: 32\n"
			    "    block_devices: []\n"
			    "    bridges: []\n"
			    "    argv: []\n"
			    "    numcpus: 1\n"
			    "    linux_boot_partition: (absent)\n");
	free(t);
	char *j = msg_json(&m);
	assert_has(j, "\"argv\": [],");
	assert_has(j, "\"startup\": null,");
	assert_has(j, "\"block_devices\": [],");
	assert_json_valid(j);
	free(j);
}

static void test_fail_behaviours(void **state)
{
	(void)state;
	struct alb_msg m = cmd_msg(ALB_CMD_UNIKERNEL_CREATE);
	m.u.command.u.create = min_config();
	struct alb_fail *f = &m.u.command.u.create.fail;

	char *t = msg_text(&m), *j = msg_json(&m);
	assert_has(t, "    fail: quit\n");
	assert_has(j, "\"fail\": {\"restart\": false, \"any_exit_code\": false, "
		      "\"exit_codes\": []},");
	free(t), free(j);

	f->restart = true;
	t = msg_text(&m), j = msg_json(&m);
	assert_has(t, "    fail: restart on any exit code except 1, 60-64\n");
	assert_has(j, "\"fail\": {\"restart\": true, \"any_exit_code\": true, "
		      "\"exit_codes\": []},");
	free(t), free(j);

	static int64_t codes[] = { 0, 2 };
	f->n_exit_codes = 2;
	f->exit_codes = codes;
	t = msg_text(&m), j = msg_json(&m);
	assert_has(t, "    fail: restart on exit codes {0, 2}\n");
	assert_has(j, "\"fail\": {\"restart\": true, \"any_exit_code\": false, "
		      "\"exit_codes\": [0, 2]},");
	free(t), free(j);
}

/* ---- certificate extension and state ----------------------------------- */

static void test_certext(void **state)
{
	(void)state;
	struct alb_certext c = { .version = 5 };
	c.command.kind = ALB_CMD_POLICY_ADD;
	c.command.u.policy = full_policy();

	char *t = print_any(CERTEXT, &c, 0);
	assert_string_equal(t, "version: 5\n"
			       "command:\n"
			       "  kind: policy_add\n"
			       "  policy:\n"
			       "    unikernels: 10\n"
			       "    cpuids: [0, 1]\n"
			       "    memory_mb: 1024\n"
			       "    block_mb: 2048\n"
			       "    bridges (2):\n"
			       "      - \"br0\"\n"
			       "      - \"service\"\n");
	free(t);
	char *j = print_any(CERTEXT, &c, ALB_PRINT_JSON);
	char *canon = json_canon(j);
	assert_string_equal(canon,
		"{\"command\":{\"kind\":\"policy_add\",\"policy\":{\"block_mb\":2048,"
		"\"bridges\":[\"br0\",\"service\"],\"cpuids\":[0,1],"
		"\"memory_mb\":1024,\"unikernels\":10}},\"version\":5}");
	free(canon);
	free(j);
}

static void test_state(void **state)
{
	(void)state;
	struct alb_state_unikernel uks[] = {
		{ "a:b:c", full_config() },
		{ ":hello", min_config() },
	};
	struct alb_named_policy pols[] = {
		{ "a:", { .unikernels = 1 } },
		{ "a:b:", full_policy() },
	};
	struct alb_state s = { .format = 6, .n_unikernels = 2, .unikernels = uks,
			       .n_policies = 2, .policies = pols };

	char *t = print_any(STATE, &s, 0);
	assert_no_control(t);
	/* Unikernels first, then policies, in the order given. */
	const char *u1 = strstr(t, "  - name: a:b:c\n    typ: solo5\n");
	const char *u2 = strstr(t, "  - name: :hello\n    typ: solo5\n");
	const char *p0 = strstr(t, "policies (2):\n");
	const char *p1 = strstr(t, "  - name: a:\n    unikernels: 1\n");
	const char *p2 = strstr(t, "  - name: a:b:\n    unikernels: 10\n");
	assert_true(strncmp(t, "format: 6\nunikernels (2):\n", 26) == 0);
	assert_true(u1 != NULL && u2 > u1 && p0 > u2 && p1 > p0 && p2 > p1);
	assert_has(t, "    image: 4 bytes, sha256 ");
	assert_has(t, ", hex 7f454c46\n");
	free(t);

	char *j = print_any(STATE, &s, ALB_PRINT_JSON);
	assert_json_valid(j);
	assert_has(j, "\"format\": 6,");
	free(j);

	struct alb_state empty = { .format = 6 };
	t = print_any(STATE, &empty, 0);
	assert_string_equal(t, "format: 6\nunikernels: []\npolicies: []\n");
	free(t);
	j = print_any(STATE, &empty, ALB_PRINT_JSON);
	assert_string_equal(j, "{\n  \"format\": 6,\n  \"unikernels\": [],\n"
			       "  \"policies\": []\n}\n");
	free(j);
}

/* ---- strings ----------------------------------------------------------- */

static void test_escaping(void **state)
{
	(void)state;
	struct alb_msg m = { .header = { .version = 5, .name = ":x" },
			     .kind = ALB_PAYLOAD_FAILURE };
	/* quote, backslash, newline, tab, CR, ESC, NUL, DEL, an invalid byte,
	 * a truncated sequence, C1 CSI (U+009B), U+2028, an overlong '/',
	 * a surrogate, and valid UTF-8 (é, 🐫). */
	static const char hostile[] =
		"a\"b\\c\nd\te\rf\x1b[31mg\0h\x7fi\xffj\xe2\x98k\xc2\x9bl"
		"\xe2\x80\xa8m\xc0\xafn\xed\xa0\x80o\xc3\xa9p\xf0\x9f\x90\xab";
	m.u.failure = (struct alb_str){ hostile, sizeof(hostile) - 1 };

	char *t = msg_text(&m);
	assert_no_control(t);
	assert_has(t, "failure: \"a\\\"b\\\\c\\nd\\te\\rf\\x1b[31mg\\x00h\\x7fi"
		      "\\xffj\\xe2\\x98k\\xc2\\x9bl\xe2\x80\xa8m\\xc0\\xafn"
		      "\\xed\\xa0\\x80o\xc3\xa9p\xf0\x9f\x90\xab\"\n");
	free(t);

	char *j = msg_json(&m);
	assert_has(j, "\"failure\": \"a\\\"b\\\\c\\u000ad\\u0009e\\u000df"
		      "\\u001b[31mg\\u0000h\\u007fi\xef\xbf\xbdj"
		      "\xef\xbf\xbd\xef\xbf\xbdk\\u009bl\\u2028m"
		      "\xef\xbf\xbd\xef\xbf\xbdn\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdo"
		      "\xc3\xa9p\xf0\x9f\x90\xab\"\n");
	char *canon = json_canon(j);
	/* Python decodes the escapes back to the original characters. */
	assert_has(canon, "\"failure\":\"a\\\"b\\\\c\\nd\\te\\rf\\u001b[31mg"
			  "\\u0000h\\u007fi\\ufffdj\\ufffd\\ufffdk\\u009bl"
			  "\\u2028m\\ufffd\\ufffdn\\ufffd\\ufffd\\ufffdo\\u00e9p"
			  "\\ud83d\\udc2b\"");
	free(canon);
	free(j);

	/* A name is printed unquoted but escaped just the same. */
	m.header.name = "a\x1b:b";
	t = msg_text(&m);
	assert_has(t, "  name: a\\x1b:b\n");
	free(t);
}

/* alb_print_escape() into a new string (free it); *width gets its result. */
static char *escaped(const char *s, unsigned flags, size_t *width)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	*width = alb_print_escape(f, s, strlen(s), flags);
	assert_int_equal(fclose(f), 0);
	/* Measuring alone gives the same width. */
	assert_int_equal(alb_print_escape(NULL, s, strlen(s), flags), *width);
	return buf;
}

static void test_escape(void **state)
{
	(void)state;
	size_t w;
	/* Flags 0 (the programs' terminal output): every control byte as
	 * \xNN, only '\' escaped among printable characters. */
	char *s = escaped("\x1b[31mred\x07\r\n\t\"", 0, &w);
	assert_string_equal(s, "\\x1b[31mred\\x07\\x0d\\x0a\\x09\"");
	assert_int_equal(w, strlen(s));
	free(s);
	s = escaped("h\xc3\xa9llo \xe2\x98\x83 back\\slash", 0, &w);
	assert_string_equal(s, "h\xc3\xa9llo \xe2\x98\x83 back\\\\slash");
	/* One column per character passed through, not per byte. */
	assert_int_equal(w, strlen("hello * back\\\\slash"));
	free(s);
	/* Invalid UTF-8, an overlong form, a C1 control (U+009B, CSI). */
	s = escaped("\xff\xc0\xaf\xc2\x9b" "ok", 0, &w);
	assert_string_equal(s, "\\xff\\xc0\\xaf\\xc2\\x9bok");
	assert_int_equal(w, 4 * 4 + 4 + 2);
	free(s);

	/* The flags of the text form. */
	s = escaped("a\"b\r\n\t\x0b", ALB_PRINT_ESCAPE_QUOTE, &w);
	assert_string_equal(s, "a\\\"b\\x0d\\x0a\\x09\\x0b");
	assert_int_equal(w, strlen(s));
	free(s);
	s = escaped("a\"b\r\n\t\x0b", ALB_PRINT_ESCAPE_NAMED, &w);
	assert_string_equal(s, "a\"b\\r\\n\\t\\x0b");
	assert_int_equal(w, strlen(s));
	free(s);
	assert_int_equal(alb_print_escape(NULL, "", 0, 0), 0);
}

static void test_utf8_decoder(void **state)
{
	(void)state;
	uint32_t cp = 0;
	assert_int_equal(alb_print_utf8((const uint8_t *)"\x7f", 1, &cp), 1);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xc2\x80", 2, &cp), 2);
	assert_int_equal(cp, 0x80);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xc1\xbf", 2, &cp), 0);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xe0\x9f\xbf", 3, &cp), 0);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xe0\xa0\x80", 3, &cp), 3);
	assert_int_equal(cp, 0x800);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xed\x9f\xbf", 3, &cp), 3);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xed\xa0\x80", 3, &cp), 0);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xf0\x8f\xbf\xbf", 4, &cp), 0);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xf4\x90\x80\x80", 4, &cp), 0);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\xf0\x9f\x90", 3, &cp), 0);
	assert_int_equal(alb_print_utf8((const uint8_t *)"\x80", 1, &cp), 0);
}

/* ---- byte strings: ALB_PRINT_HEX_MAX at and one past the limit ----------- */

static void test_bytes_limit(void **state)
{
	(void)state;
	static uint8_t blob[ALB_PRINT_HEX_MAX + 1];
	memset(blob, 0xab, sizeof(blob));
	struct alb_msg m = { .header = { .version = 5, .name = ":x" },
			     .kind = ALB_PAYLOAD_DATA };
	m.u.data.kind = ALB_DATA_BLOCK;
	m.u.data.u.block.has_data = true;

	char hex[2 * ALB_PRINT_HEX_MAX + 1];
	for (size_t i = 0; i < ALB_PRINT_HEX_MAX; i++)
		memcpy(hex + 2 * i, "ab", 2);
	hex[2 * ALB_PRINT_HEX_MAX] = '\0';

	m.u.data.u.block.data = (struct alb_bytes){ blob, ALB_PRINT_HEX_MAX };
	char *t = msg_text(&m), *j = msg_json(&m);
	assert_has(t, ", hex ");
	assert_has(t, hex);
	assert_has(j, "\"hex\": \"");
	assert_has(j, hex);
	assert_json_valid(j);
	free(t), free(j);

	m.u.data.u.block.data.len = ALB_PRINT_HEX_MAX + 1;
	t = msg_text(&m), j = msg_json(&m);
	assert_null(strstr(t, hex));
	assert_has(t, "65 bytes, sha256 ");
	assert_has(t, ", first 16 bytes abababababababababababababababab...\n");
	assert_null(strstr(j, "\"hex\""));
	assert_has(j, "{\"length\": 65, \"sha256\": \"");
	assert_json_valid(j);
	free(t), free(j);

	/* The empty string: no digest in text, its digest in JSON. */
	m.u.data.u.block.data = (struct alb_bytes){ NULL, 0 };
	t = msg_text(&m), j = msg_json(&m);
	assert_has(t, "  data: 0 bytes\n");
	assert_has(j, "\"data\": {\"length\": 0, \"sha256\": \"e3b0c44298fc1c149afbf4c8996fb924"
		      "27ae41e4649b934ca495991b7852b855\", \"hex\": \"\"}\n");
	free(t), free(j);
}

/* ---- an image written out as it arrived ----------------------------------- */

/* What alb_client_recv_image() says of the image p[0..len) it received. */
static struct alb_image_received received(const uint8_t *p, size_t len, bool compressed)
{
	struct alb_image_received img;
	memset(&img, 0, sizeof(img));
	img.compressed = compressed;
	img.length = len;
	img.written = len;
	assert_int_equal(alb_image_digest(p, len, img.sha256, NULL), 0);
	memcpy(img.head, p, len < sizeof(img.head) ? len : sizeof(img.head));
	return img;
}

/* alb_msg_print_received() into a string (free it); *rc its result. */
static char *print_received(const struct alb_msg *m, const struct alb_image_received *img,
			    unsigned flags, int *rc, struct alb_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	*rc = alb_msg_print_received(f, m, img, flags, err);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The image reply with image[0..len) left out, printed with what was
 * received of it, reads as the whole reply. */
static void expect_as_whole(const uint8_t *image, size_t len, bool compressed,
			    unsigned flags)
{
	struct alb_msg m = { .header = { .version = 5, .name = "a:b" },
			     .kind = ALB_PAYLOAD_SUCCESS };
	m.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	m.u.success.u.image.compressed = compressed;
	m.u.success.u.image.data = (struct alb_bytes){ image, len };
	char *want = print_any(MSG, &m, flags);
	m.u.success.u.image.data = (struct alb_bytes){ NULL, 0 };
	struct alb_image_received img = received(image, len, compressed);
	int rc;
	char *got = print_received(&m, &img, flags, &rc, NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	free(got), free(want);
}

/* Images shown in full hex (up to ALB_PRINT_HEX_MAX), one byte past, and
 * far past (of which only a head was kept), in both forms. */
static void test_received_image(void **state)
{
	(void)state;
	static const size_t sizes[] = { 0, ALB_PRINT_HEX_MAX, ALB_PRINT_HEX_MAX + 1, 100000 };
	static uint8_t image[100000];
	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = (uint8_t)(i * 31 + 7);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++)
		for (int z = 0; z <= 1; z++) {
			expect_as_whole(image, sizes[s], z, 0);
			expect_as_whole(image, sizes[s], z, ALB_PRINT_JSON);
		}
}

/* Anything but an image reply, or no description of the image: ALB_EINVAL,
 * nothing written. */
static void test_received_not_image(void **state)
{
	(void)state;
	struct alb_image_received img = received(fake_image, 4, false);
	struct alb_msg m[4];
	for (size_t i = 0; i < 4; i++)
		m[i] = (struct alb_msg){ .header = { .version = 5, .name = ":x" },
					 .kind = ALB_PAYLOAD_SUCCESS };
	m[0].u.success.kind = ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE;
	m[0].u.success.u.image.data = (struct alb_bytes){ fake_image, 4 };
	m[1].u.success.kind = ALB_REPLY_BLOCK_DEVICE_IMAGE;
	m[2].kind = ALB_PAYLOAD_FAILURE;
	m[2].u.failure = S("no image");
	m[3] = cmd_msg(ALB_CMD_UNIKERNEL_GET);
	for (size_t i = 0; i < 4; i++)
		for (unsigned flags = 0; flags <= ALB_PRINT_JSON; flags += ALB_PRINT_JSON) {
			struct alb_error err = { 0 };
			int rc;
			char *got = print_received(&m[i], &img, flags, &rc, &err);
			assert_int_equal(rc, ALB_EINVAL);
			assert_int_equal(err.code, ALB_EINVAL);
			assert_string_equal(got, "");
			free(got);
		}
	struct alb_msg ok = { .header = { .version = 5, .name = ":x" },
			      .kind = ALB_PAYLOAD_SUCCESS };
	ok.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	int rc;
	char *got = print_received(&ok, NULL, 0, &rc, NULL);
	assert_int_equal(rc, ALB_EINVAL);
	assert_string_equal(got, "");
	free(got);
	got = print_received(NULL, &img, 0, &rc, NULL);
	assert_int_equal(rc, ALB_EINVAL);
	free(got);
	assert_int_equal(alb_msg_print_received(NULL, &ok, &img, 0, NULL), ALB_EINVAL);
}

/* ---- times ------------------------------------------------------------- */

static void check_time(int64_t sec, uint32_t nsec, const char *want)
{
	char buf[ALB_PRINT_TIME_BUF];
	struct alb_time t = { sec, nsec };
	alb_print_format_time(&t, buf);
	assert_string_equal(buf, want);
}

static void test_times(void **state)
{
	(void)state;
	check_time(0, 0, "1970-01-01T00:00:00Z");
	check_time(-1, 0, "1969-12-31T23:59:59Z");
	check_time(951782400, 0, "2000-02-29T00:00:00Z");
	check_time(1709210096, 1000, "2024-02-29T12:34:56.000Z");
	check_time(1709210096, 999999999, "2024-02-29T12:34:56.999Z");
	/* nsec at 10^9 is not a sub-second part any more. */
	check_time(1709210096, 1000000000, "@1709210096s+1000000000ns");
	/* The years RFC 3339 can write: 0000 and 9999 are the bounds. */
	check_time(-62167219200, 0, "0000-01-01T00:00:00Z");
	check_time(-62167219201, 0, "@-62167219201s+0ns");
	check_time(253402300799, 0, "9999-12-31T23:59:59Z");
	check_time(253402300800, 0, "@253402300800s+0ns");
	check_time(INT64_MIN, UINT32_MAX, "@-9223372036854775808s+4294967295ns");
	check_time(INT64_MAX, 0, "@9223372036854775807s+0ns");
}

/* ---- hostile values ---------------------------------------------------- */

static void test_huge_lists(void **state)
{
	(void)state;
	enum { N = 200000 };
	int64_t *ids = calloc(N, sizeof(*ids));
	struct alb_str *argv = calloc(N, sizeof(*argv));
	struct alb_block_dev *blk = calloc(N, sizeof(*blk));
	assert_non_null(ids);
	assert_non_null(argv);
	assert_non_null(blk);
	for (size_t i = 0; i < N; i++) {
		ids[i] = -(int64_t)i;
		argv[i] = S("\x1b\xff");
		blk[i].name = S("b");
	}
	struct alb_msg m = cmd_msg(ALB_CMD_UNIKERNEL_CREATE);
	struct alb_unikernel_config *c = &m.u.command.u.create;
	*c = min_config();
	c->n_cpuids = N, c->cpuids = ids;
	c->has_argv = true, c->n_argv = N, c->argv = argv;
	c->n_blocks = N, c->blocks = blk;
	c->fail = (struct alb_fail){ true, N, ids };

	FILE *devnull = fopen("/dev/null", "w");
	assert_non_null(devnull);
	assert_int_equal(alb_msg_print(devnull, &m, 0, NULL), 0);
	assert_int_equal(alb_msg_print(devnull, &m, ALB_PRINT_JSON, NULL), 0);
	fclose(devnull);
	free(ids), free(argv), free(blk);
}

static void expect_einval(const struct alb_msg *m)
{
	struct alb_error err = { 0 };
	FILE *devnull = fopen("/dev/null", "w");
	assert_non_null(devnull);
	assert_int_equal(alb_msg_print(devnull, m, 0, &err), ALB_EINVAL);
	assert_int_equal(err.code, ALB_EINVAL);
	assert_int_equal(alb_msg_print(devnull, m, ALB_PRINT_JSON, NULL),
			 ALB_EINVAL);
	fclose(devnull);
}

static void test_invalid_values(void **state)
{
	(void)state;
	struct alb_msg m = cmd_msg(ALB_CMD_UNIKERNEL_CREATE);
	m.u.command.u.create = min_config();
	m.u.command.u.create.n_cpuids = 1u << 30;
	m.u.command.u.create.cpuids = NULL;
	expect_einval(&m);

	m.u.command.u.create = min_config();
	m.u.command.u.create.image = (struct alb_bytes){ NULL, 10 };
	expect_einval(&m);

	m.u.command.u.create = min_config();
	m.u.command.u.create.typ = (enum alb_typ)7;
	expect_einval(&m);

	m.u.command.u.create = min_config();
	m.u.command.u.create.has_argv = true;
	m.u.command.u.create.n_argv = 1;
	m.u.command.u.create.argv = NULL;
	expect_einval(&m);

	m.u.command.kind = (enum alb_cmd_kind)(ALB_CMD_OLD_BLOCK_DUMP + 1);
	expect_einval(&m);

	m = cmd_msg(ALB_CMD_UNIKERNEL_INFO);
	m.kind = (enum alb_payload_kind)(ALB_PAYLOAD_DATA + 1);
	expect_einval(&m);
	m.kind = ALB_PAYLOAD_SUCCESS;
	m.u.success.kind = (enum alb_reply_kind)(ALB_REPLY_UNIKERNEL_INFO + 1);
	expect_einval(&m);
	m.kind = ALB_PAYLOAD_DATA;
	m.u.data.kind = (enum alb_data_kind)(ALB_DATA_BLOCK + 1);
	expect_einval(&m);
	m.kind = ALB_PAYLOAD_FAILURE;
	m.u.failure = (struct alb_str){ NULL, 3 };
	expect_einval(&m);

	/* NULL strings of length 0 and NULL names are shown, not refused. */
	m.u.failure = (struct alb_str){ NULL, 0 };
	m.header.name = NULL;
	char *t = msg_text(&m);
	assert_string_equal(t, "header:\n  version: 5\n  sequence: 1\n"
			       "  name: (absent)\nfailure: \"\"\n");
	free(t);
}

static void test_arguments(void **state)
{
	(void)state;
	struct alb_msg m = cmd_msg(ALB_CMD_UNIKERNEL_INFO);
	struct alb_certext c = { .version = 5 };
	struct alb_state s = { .format = 6 };
	struct alb_error err = { 0 };
	FILE *devnull = fopen("/dev/null", "w");
	assert_non_null(devnull);

	assert_int_equal(alb_msg_print(NULL, &m, 0, &err), ALB_EINVAL);
	assert_int_equal(alb_msg_print(devnull, NULL, 0, &err), ALB_EINVAL);
	assert_int_equal(alb_certext_print(devnull, NULL, 0, NULL), ALB_EINVAL);
	assert_int_equal(alb_state_print(devnull, NULL, 0, NULL), ALB_EINVAL);
	assert_int_equal(alb_msg_print(devnull, &m, 0x2u, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "print: unknown flags 0x2");
	assert_int_equal(alb_certext_print(devnull, &c, ALB_PRINT_JSON, NULL), 0);
	assert_int_equal(alb_state_print(devnull, &s, 0, NULL), 0);
	fclose(devnull);

	/* A write error is reported once the output is flushed. */
	FILE *full = fopen("/dev/full", "w");
	if (full == NULL) {
		print_message("skipped the write error check: no /dev/full\n");
		return;
	}
	assert_int_equal(alb_msg_print(full, &m, 0, &err), ALB_ESYS);
	assert_int_equal(err.code, ALB_ESYS);
	fclose(full);
}

/* ---- the golden vectors ---------------------------------------------- */

enum vec_kind { VEC_WIRE, VEC_STATE, VEC_CERT };

/* Decodes the vector at path as kind, prints it both ways, appends the
 * JSON to json (validated all at once later) and returns the text (to
 * free). */
static char *print_vector(const char *path, enum vec_kind kind, FILE *json)
{
	size_t len = 0;
	uint8_t *buf = vec_read(path, &len);
	if (buf == NULL)
		fail_msg("cannot read %s", path);
	struct alb_error err = { 0 };
	void *v = NULL;
	enum what w;
	int rc;
	switch (kind) {
	case VEC_WIRE:
		rc = alb_msg_decode(buf, len, 0, (struct alb_msg **)&v, &err);
		w = MSG;
		break;
	case VEC_STATE:
		rc = alb_state_decode(buf, len, 0, (struct alb_state **)&v, &err);
		w = STATE;
		break;
	default:
		rc = alb_certext_decode(buf, len, 0, (struct alb_certext **)&v,
					&err);
		w = CERTEXT;
		break;
	}
	if (rc != 0)
		fail_msg("%s does not decode: %s", path, err.msg);
	char *t = print_any(w, v, 0);
	assert_no_control(t);
	char *j = print_any(w, v, ALB_PRINT_JSON);
	fputs(j, json);
	free(j);
	if (kind == VEC_WIRE)
		alb_msg_free(v);
	else if (kind == VEC_STATE)
		alb_state_free(v);
	else
		alb_certext_free(v);
	free(buf);
	return t;
}

/* Checks that text holds all the JSON documents written, one after the
 * other, and that there are n of them. */
static void assert_json_stream(const char *text, size_t n)
{
	char path[] = "/tmp/alb-test-print-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\n"
		 "s = sys.stdin.read(); d = json.JSONDecoder(strict=True)\n"
		 "i = n = 0\n"
		 "while i < len(s):\n"
		 "  o, i = d.raw_decode(s, i); n += 1\n"
		 "  while i < len(s) and s[i] == \"\\n\": i += 1\n"
		 "print(n)' < %s",
		 path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	unsigned long got = 0;
	int scanned = fscanf(p, "%lu", &got);
	int status = pclose(p);
	unlink(path);
	if (status != 0 || scanned != 1)
		fail_msg("the JSON of the vectors is not valid");
	assert_int_equal(got, n);
}

/* Prints the vector named name (relative to dir) into a new string. */
static char *vector_text(const char *dir, const char *name, enum vec_kind k)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *sink = fopen("/dev/null", "w");
	assert_non_null(sink);
	char *t = print_vector(path, k, sink);
	fclose(sink);
	return t;
}

/* The vectors directory, or NULL when it is absent (vectors.h). */
static const char *vectors_dir(void)
{
	const char *dir = vec_dir();
	return vec_present(dir) ? dir : NULL;
}

/* Every vector that Albatross accepts (MANIFEST.tsv, and the DER frames of
 * the recorded transcripts) decodes and prints in both forms. */
static void test_vectors_all(void **state)
{
	(void)state;
	const char *dir = vectors_dir();
	if (dir == NULL) {
		skip();
	}
	struct vec_entry *entries;
	size_t n_entries = vec_manifest(dir, &entries);
	assert_non_null(entries);

	char *json = NULL;
	size_t json_len = 0, n = 0;
	FILE *all = open_memstream(&json, &json_len);
	assert_non_null(all);

	char path[4096];
	for (size_t i = 0; i < n_entries; i++) {
		const struct vec_entry *e = &entries[i];
		if (strcmp(e->expect, "error") == 0)
			continue;
		enum vec_kind k = strcmp(e->kind, "state") == 0  ? VEC_STATE
				  : strcmp(e->kind, "cert") == 0 ? VEC_CERT
								 : VEC_WIRE;
		snprintf(path, sizeof(path), "%s/%s", dir, e->file);
		free(print_vector(path, k, all));
		n++;
	}
	free(entries);

	/* The transcripts: every frame whose reference decoding is not an
	 * ERROR (the raw chunks of a block upload are not messages). */
	char cmd[4200];
	snprintf(cmd, sizeof(cmd),
		 "cd '%s/transcripts' 2>/dev/null && ls */*.der", dir);
	FILE *ls = popen(cmd, "r");
	assert_non_null(ls);
	size_t n_frames = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, ls) > 0) {
		line[strcspn(line, "\n")] = '\0';
		char txt[4096];
		snprintf(txt, sizeof(txt), "%s/transcripts/%.*s.txt", dir,
			 (int)(strlen(line) - 4), line);
		FILE *f = fopen(txt, "r");
		char head[8] = "";
		if (f != NULL) {
			if (fgets(head, sizeof(head), f) == NULL)
				head[0] = '\0';
			fclose(f);
		}
		if (strncmp(head, "ERROR", 5) == 0)
			continue;
		snprintf(path, sizeof(path), "%s/transcripts/%s", dir, line);
		free(print_vector(path, VEC_WIRE, all));
		n_frames++;
	}
	free(line);
	pclose(ls);
	snprintf(path, sizeof(path), "%s/transcripts/final-state.der", dir);
	if (access(path, R_OK) == 0) {
		free(print_vector(path, VEC_STATE, all));
		n_frames++;
	}
	fclose(all);
	print_message("printed %zu manifest vectors and %zu transcript "
		      "frames\n", n, n_frames);
	/* every vector the MANIFEST says Albatross accepts */
	assert_true(n > 0);
	assert_json_stream(json, n + n_frames);
	free(json);
}

/* A few vectors whose printed form is checked exactly. */
static void test_vectors_exact(void **state)
{
	(void)state;
	const char *dir = vectors_dir();
	if (dir == NULL) {
		skip();
	}
	/* the vectors these exact texts were written for */
	static const char *const named[] = {
		"cmd_console_subscribe_since_frac", "cmd_unikernel_create_full",
		"cmd_unikernel_create_argv_empty", "lenient_invalid_utf8",
		"reply_unikernel_info", "data_stats_full", "state_2u_2p", "certext_block_add"};
	struct vec_entry *entries;
	size_t n_entries = vec_manifest(dir, &entries);
	for (size_t i = 0; i < sizeof(named) / sizeof(*named); i++)
		if (vec_find(entries, n_entries, named[i]) == NULL) {
			print_message("skipped: vector %s is not in this set\n", named[i]);
			free(entries);
			skip();
		}
	free(entries);
	char *t = vector_text(dir, "cmd_console_subscribe_since_frac.der",
			      VEC_WIRE);
	assert_string_equal(strstr(t, "command:\n"),
			    "command:\n"
			    "  kind: console_subscribe\n"
			    "  since: 2025-01-01T00:00:00.500Z\n");
	free(t);

	t = vector_text(dir, "cmd_unikernel_create_full.der", VEC_WIRE);
	assert_has(t, "    image: 300 bytes, sha256 7728ae2f2c36e2aaafbe79ca14c8"
		      "7ae2f89e7c88c4390ecbbf82dce88706958d, first 16 bytes "
		      "000102030405060708090a0b0c0d0e0f...\n");
	assert_has(t, "    fail: restart on exit codes {-1, 1, 64, 255}\n");
	assert_has(t, "      - netif: \"service\"\n        bridge: \"br0\"\n"
		      "        mac: 02:00:00:00:00:01\n");
	free(t);

	t = vector_text(dir, "cmd_unikernel_create_argv_empty.der", VEC_WIRE);
	assert_has(t, "    fail: restart on any exit code except 1, 60-64\n");
	assert_has(t, "    argv: []\n");
	free(t);

	t = vector_text(dir, "lenient/lenient_invalid_utf8.der", VEC_WIRE);
	assert_has(t, "failure: \"bad \\xff\\xfe\"\n");
	free(t);

	t = vector_text(dir, "reply_unikernel_info.der", VEC_WIRE);
	assert_has(t, "      started: 2024-02-29T12:34:56Z\n");
	assert_has(t, "      started: 1970-01-01T00:00:00Z\n");
	free(t);

	t = vector_text(dir, "data_stats_full.der", VEC_WIRE);
	assert_has(t, "    minflt: -9223372036854775808\n");
	assert_has(t, "      mtu: 2147483647\n");
	free(t);

	t = vector_text(dir, "state_2u_2p.der", VEC_STATE);
	const char *u = strstr(t, "unikernels (2):\n  - name: a:b:c\n");
	const char *h = strstr(t, "  - name: :hello\n");
	const char *p = strstr(t, "policies (2):\n  - name: a:\n");
	assert_true(strncmp(t, "format: 6\n", 10) == 0);
	assert_true(u != NULL && h > u && p > h);
	free(t);

	t = vector_text(dir, "certext_block_add.der", VEC_CERT);
	assert_string_equal(t, "version: 5\ncommand:\n  kind: block_add\n"
			       "  size_mb: 50\n");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_command),
		cmocka_unit_test(test_every_reply),
		cmocka_unit_test(test_failure_and_data),
		cmocka_unit_test(test_exact_subscribe),
		cmocka_unit_test(test_exact_create),
		cmocka_unit_test(test_restart_and_empty),
		cmocka_unit_test(test_fail_behaviours),
		cmocka_unit_test(test_certext),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_utf8_decoder),
		cmocka_unit_test(test_bytes_limit),
		cmocka_unit_test(test_received_image),
		cmocka_unit_test(test_received_not_image),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_huge_lists),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_vectors_all),
		cmocka_unit_test(test_vectors_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
