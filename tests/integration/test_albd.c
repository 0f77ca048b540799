/* Integration: the vmmd core and albd, as root in a private network
 * namespace with bridges of its own, the fake tender standing in for
 * solo5-hvt (and QEMU running examples/hello-unikernel where present).
 * The daemon runs in a child process (the library core on its own loop,
 * or the albd binary) and is driven through the client library.
 * SPDX-License-Identifier: ISC */
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "albd_harness.h"
#include "host_helpers.h"

#define BR "br0"
#define BR2 "br1"
#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

static struct alb_str str(const char *s)
{
	return (struct alb_str){s, strlen(s)};
}

/* ---- building commands ------------------------------------------------------ */

#define MAXDEV 4
#define MAXARG 8

struct uk {
	struct alb_command cmd;
	struct alb_net_dev nets[MAXDEV];
	struct alb_block_dev blocks[MAXDEV];
	struct alb_str argv[MAXARG];
	int64_t cpuids[2];
	int64_t codes[8];
	uint8_t *image;
	size_t image_len;
	struct alb_buf z;
	uint32_t salt;
};

/* A create (or force-create) of a unikernel with 32 MB on CPU 0 that
 * quits, --name added, no devices yet: add them, then uk_image(). */
static void uk_init(struct uk *u, bool force)
{
	memset(u, 0, sizeof(*u));
	u->cmd.kind = force ? ALB_CMD_UNIKERNEL_FORCE_CREATE : ALB_CMD_UNIKERNEL_CREATE;
	struct alb_unikernel_config *c = &u->cmd.u.create;
	c->typ = ALB_TYP_SOLO5;
	c->memory = 32;
	c->add_name = true;
	c->numcpus = 1;
	c->n_cpuids = 1;
	c->cpuids = u->cpuids;
	c->blocks = u->blocks;
	c->bridges = u->nets;
	c->argv = u->argv;
	c->fail.exit_codes = u->codes;
}

static void uk_net(struct uk *u, const char *netif, const char *bridge)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	u->nets[c->n_bridges].netif = str(netif);
	if (bridge != NULL)
		u->nets[c->n_bridges].bridge = str(bridge);
	c->n_bridges++;
}

static void uk_block(struct uk *u, const char *name, const char *device)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	u->blocks[c->n_blocks].name = str(name);
	if (device != NULL)
		u->blocks[c->n_blocks].device = str(device);
	c->n_blocks++;
}

static void uk_arg(struct uk *u, const char *arg)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	u->argv[c->n_argv++] = str(arg);
	c->has_argv = true;
}

static void uk_restart(struct uk *u, const int64_t *codes, size_t n)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	c->fail.restart = true;
	c->fail.n_exit_codes = n;
	memcpy(u->codes, codes, n * sizeof(*codes));
}

/* The image with a manifest of exactly the configured devices. */
static void uk_image(struct uk *u, bool compressed)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	const char *names[2 * MAXDEV];
	unsigned types[2 * MAXDEV];
	size_t n = 0;
	for (size_t i = 0; i < c->n_bridges; i++) {
		names[n] = c->bridges[i].netif.ptr;
		types[n++] = H_NET;
	}
	for (size_t i = 0; i < c->n_blocks; i++) {
		names[n] = c->blocks[i].name.ptr;
		types[n++] = H_BLOCK;
	}
	free(u->image);
	alb_buf_free(&u->z);
	u->image = h_image(1, names, types, n, u->salt, &u->image_len);
	assert_non_null(u->image);
	c->compressed = compressed;
	if (compressed) {
		assert_int_equal(alb_zlib_deflate(u->image, u->image_len, 9, &u->z,
						  NULL), 0);
		c->image = (struct alb_bytes){u->z.data, u->z.len};
	} else {
		c->image = (struct alb_bytes){u->image, u->image_len};
	}
}

static void uk_free(struct uk *u)
{
	free(u->image);
	alb_buf_free(&u->z);
}

static struct alb_command simple(enum alb_cmd_kind k)
{
	struct alb_command c = {.kind = k};
	return c;
}

/* ---- fixtures ------------------------------------------------------------------- */

static struct harness H;

static int setup(void **state)
{
	(void)state;
	if (h_setup(&H, "albd") != 0)
		return -1;
	struct alb_vmmd_config cfg;
	alb_vmmd_config_init(&cfg);
	cfg.kill_timeout_ms = 1000;
	return h_start_core(&H, &cfg);
}

static int teardown(void **state)
{
	(void)state;
	int st = h_stop(&H, SIGTERM);
	h_teardown(&H);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Waits until the number of tender processes is n. */
static bool wait_tenders(int n, int timeout_ms)
{
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     h_now_us() < end; h_sleep_ms(10))
		if (h_tenders(&H, NULL, 0) == n)
			return true;
	fprintf(stderr, "tenders: %d, expected %d\n", h_tenders(&H, NULL, 0), n);
	return false;
}

/* The info of one unikernel (NULL when it does not run). */
static struct alb_msg *info(const char *name)
{
	struct alb_command c = simple(ALB_CMD_UNIKERNEL_INFO);
	struct alb_msg *m = h_call(&H, name, &c);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_UNIKERNEL_INFO);
	return m;
}

static size_t info_count(const char *name)
{
	struct alb_msg *m = info(name);
	size_t n = m->u.success.u.infos.n;
	alb_msg_free(m);
	return n;
}

static void destroy(const char *name, const char *expect)
{
	struct alb_command c = simple(ALB_CMD_UNIKERNEL_DESTROY);
	assert_true(h_call_is(&H, name, &c, expect));
}

/* Lines of the log file of name that start with prefix. */
static int log_lines(const char *name, const char *prefix)
{
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/%s.log", H.tmpdir, name);
	char *text = h_read_file(path, NULL);
	int n = 0;
	for (char *p = text; p != NULL && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	}
	free(text);
	return n;
}

static bool wait_log(const char *name, const char *prefix, int n, int timeout_ms)
{
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     h_now_us() < end; h_sleep_ms(10))
		if (log_lines(name, prefix) >= n)
			return true;
	fprintf(stderr, "%s: %d lines \"%s\", expected %d\n", name,
		log_lines(name, prefix), prefix, n);
	return false;
}

static void no_leftovers(void)
{
	char fifo[H_PATH * 2];
	snprintf(fifo, sizeof(fifo), "%s/fifo", H.tmpdir);
	assert_int_equal(h_count_files(fifo, ""), 0);
	assert_int_equal(h_count_files(H.tmpdir, ".img"), 0);
	assert_int_equal(h_count_taps(), 0);
	assert_int_equal(h_tenders(&H, NULL, 0), 0);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_create_info_destroy(void **state)
{
	(void)state;
	struct uk u;
	uk_init(&u, false);
	uk_net(&u, "service", BR);
	uk_arg(&u, "--sleep-ms=60000");
	uk_image(&u, false);
	assert_true(h_call_is(&H, ":hello", &u.cmd, "created unikernel"));
	assert_int_equal(h_tenders(&H, NULL, 0), 1);
	assert_int_equal(h_count_taps(), 1);

	struct alb_msg *m = info(":hello");
	assert_int_equal(m->u.success.u.infos.n, 1);
	const struct alb_named_info *ni = &m->u.success.u.infos.v[0];
	assert_string_equal(ni->name, ":hello");
	assert_int_equal(ni->info.memory, 32);
	assert_int_equal(ni->info.n_bridges, 1);
	uint8_t mac[6], digest[32];
	assert_int_equal(alb_mac_derive(S("service"), ":hello", mac, NULL), 0);
	assert_memory_equal(ni->info.bridges[0].mac, mac, 6);
	assert_string_equal(ni->info.bridges[0].host_device.ptr, BR);
	assert_int_equal(alb_image_digest(u.image, u.image_len, digest, NULL), 0);
	assert_int_equal(ni->info.digest.len, 32);
	assert_memory_equal(ni->info.digest.ptr, digest, 32);
	assert_true(ni->info.started.sec > 0);
	alb_msg_free(m);
	/* the path query answers with relative names */
	m = info(":");
	assert_int_equal(m->u.success.u.infos.n, 1);
	assert_string_equal(m->u.success.u.infos.v[0].name, ":hello");
	alb_msg_free(m);

	assert_true(wait_log(":hello", "fake-tender: cmdline", 1, 5000));
	assert_int_equal(log_lines(":hello", "fake-tender: argv 1 --mem=32"), 1);

	destroy(":hello", "destroyed unikernel");
	/* destroy answers once the tender, its taps and files are gone */
	no_leftovers();
	assert_int_equal(info_count(":hello"), 0);
	destroy(":hello", "destroy: not found");
	uk_free(&u);
}

static void unused(void)
{
	(void)uk_block;
	(void)uk_restart;
	(void)wait_tenders;
}

static int tests(void)
{
	struct alb_net *net;
	if (alb_net_new(&net, NULL) != 0 || alb_bridge_create(net, BR, NULL) != 0 ||
	    alb_bridge_create(net, BR2, NULL) != 0) {
		printf("cannot make bridges\n");
		return 1;
	}
	alb_net_free(net);
	unused();
	const struct CMUnitTest list[] = {
		cmocka_unit_test(test_create_info_destroy),
	};
	return cmocka_run_group_tests(list, setup, teardown);
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	return run_in_netns(tests);
}
