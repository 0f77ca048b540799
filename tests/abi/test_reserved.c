/* The reserved words of the public value structs (doc/architecture.md,
 * "The ABI rule"), through the shared library and the public headers only:
 * every function that takes a configuration or options refuses a non-zero
 * reserved word with ALB_EINVAL and a message, before it touches anything;
 * struct alb_error has its documented layout and the library writes its
 * reserved words as zero.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <uv.h>

#include "albatross/albatross.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* the layout doc/architecture.md and common.h promise for soname 0 */
_Static_assert(offsetof(struct alb_error, code) == 0, "alb_error.code");
_Static_assert(offsetof(struct alb_error, sys_errno) == 4, "alb_error.sys_errno");
_Static_assert(offsetof(struct alb_error, msg) == 8, "alb_error.msg");
_Static_assert(sizeof(((struct alb_error *)0)->msg) == ALB_ERROR_MSG_MAX, "msg");
_Static_assert(sizeof(struct alb_error) == 552, "alb_error size");

static void test_error_layout(void **state)
{
	(void)state;
	struct alb_error err;
	memset(&err, 0xa5, sizeof(err));
	alb_set_error(&err, ALB_EPARSE, "bad %d", 7);
	assert_int_equal(err.code, ALB_EPARSE);
	assert_int_equal(err.sys_errno, 0);
	assert_string_equal(err.msg, "bad 7");
	for (size_t i = 0; i < LEN(err.reserved_); i++)
		assert_true(err.reserved_[i] == 0);
}

static void expect_refused(int rc, const struct alb_error *err, const char *msg)
{
	assert_int_equal(rc, ALB_EINVAL);
	assert_string_equal(err->msg, msg);
}

static void test_daemon_configs(void **state)
{
	(void)state;
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct alb_error err = {0};

	/* the last reserved word and the first: each is checked */
	struct alb_vmmd_config vc;
	alb_vmmd_config_init(&vc);
	vc.tmpdir = "/nonexistent/abi-test";
	vc.dbdir = "/nonexistent/abi-test";
	vc.reserved_[LEN(vc.reserved_) - 1] = 1;
	struct alb_vmmd *v = NULL;
	expect_refused(alb_vmmd_new(&loop, &vc, &v, &err), &err,
		       "alb_vmmd_new: reserved fields must be zero");
	assert_null(v);
	vc.reserved_[LEN(vc.reserved_) - 1] = 0;
	vc.reserved_[0] = 1;
	expect_refused(alb_vmmd_new(&loop, &vc, &v, &err), &err,
		       "alb_vmmd_new: reserved fields must be zero");

	struct alb_console_config cc;
	alb_console_config_init(&cc);
	cc.tmpdir = "/nonexistent/abi-test";
	cc.reserved_[0] = 1;
	struct alb_console *c = NULL;
	expect_refused(alb_console_new(&loop, &cc, &c, &err), &err,
		       "alb_console_new: reserved fields must be zero");
	assert_null(c);

	struct alb_statsd_config sc;
	alb_statsd_config_init(&sc);
	sc.tmpdir = "/nonexistent/abi-test";
	sc.no_vmmd = true;
	sc.reserved_[LEN(sc.reserved_) - 1] = 2;
	struct alb_statsd *s = NULL;
	expect_refused(alb_statsd_new(&loop, &sc, &s, &err), &err,
		       "alb_statsd_new: reserved fields must be zero");
	assert_null(s);

	struct alb_tlsd_config tc;
	alb_tlsd_config_init(&tc);
	tc.ca_file = "/nonexistent/ca.pem";
	tc.cert_file = "/nonexistent/cert.pem";
	tc.key_file = "/nonexistent/key.pem";
	tc.reserved_[3] = 1;
	struct alb_tlsd *t = NULL;
	expect_refused(alb_tlsd_new(&loop, &tc, &t, &err), &err,
		       "alb_tlsd_new: reserved fields must be zero");
	assert_null(t);
	/* a flag this release does not know is refused the same way: the
	 * words a later release gives meaning to */
	tc.reserved_[3] = 0;
	tc.flags = ALB_TLSD_STREAM_IMAGES << 1;
	expect_refused(alb_tlsd_new(&loop, &tc, &t, &err), &err,
		       "alb_tlsd_new: unknown flags 0x2");
	assert_null(t);

	/* nothing was set up: the loop has nothing to run and closes */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_tender_inputs(void **state)
{
	(void)state;
	struct alb_error err = {0};
	struct alb_net_dev dev = {.netif = {"service", 7}};
	struct alb_unikernel_config cfg = {.memory = 32, .numcpus = 1,
					   .n_bridges = 1, .bridges = &dev};
	struct alb_tender_net net = {.tap = "vmmtap0"};
	struct alb_tender_cmd cmd = {.kind = ALB_TENDER_HVT, .tender = "solo5-hvt",
				     .name = ":hello", .config = &cfg, .nets = &net,
				     .tmpdir = "/run/albatross",
				     .dbdir = "/var/lib/albatross"};
	struct alb_argv argv = {0};
	if (alb_tender_argv(&cmd, &argv, &err) != 0)
		fail_msg("%s", err.msg);
	alb_argv_free(&argv);
	cmd.reserved_[LEN(cmd.reserved_) - 1] = 1;
	expect_refused(alb_tender_argv(&cmd, &argv, &err), &err,
		       "tender command: reserved fields must be zero");
	cmd.reserved_[LEN(cmd.reserved_) - 1] = 0;
	/* an element of an array of value structs too */
	net.reserved_[0] = 1;
	expect_refused(alb_tender_argv(&cmd, &argv, &err), &err,
		       "tender command: reserved fields must be zero");
	assert_null(argv.argv);

	const char *args[] = {"/bin/true", NULL};
	struct alb_spawn sp = {.argv = args, .console_fd = STDERR_FILENO};
	sp.reserved_[0] = 1;
	struct alb_spawned child;
	expect_refused(alb_tender_spawn(&sp, &child, &err), &err,
		       "spawn: reserved fields must be zero");
}

static bool all_zero(const uint64_t *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r[i] != 0)
			return false;
	return true;
}
#define ZERO(s) all_zero((s).reserved_, LEN((s).reserved_))

/* What the library fills has its reserved words zero, whatever the memory
 * held before. */
static void test_outputs_zeroed(void **state)
{
	(void)state;
	struct alb_msg req = {.header = {.version = ALB_WIRE_VERSION, .name = "foo:bar"},
			      .kind = ALB_PAYLOAD_COMMAND,
			      .u.command.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(&req, 0, &out, NULL), 0);
	assert_true(ZERO(out));
	struct alb_msg *m = NULL;
	assert_int_equal(alb_msg_decode(out.data, out.len, 0, &m, NULL), 0);
	assert_true(ZERO(*m) && ZERO(m->header) && ZERO(m->u.command));
	alb_msg_free(m);
	alb_buf_free(&out);

	struct alb_exit_status st;
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(alb_tender_exit_decode(3 << 8, ALB_TENDER_HVT, &st), 0);
	assert_true(ZERO(st));

	struct alb_resources *r = alb_resources_new();
	assert_non_null(r);
	struct alb_usage u;
	memset(&u, 0xff, sizeof(u));
	assert_int_equal(alb_resources_usage(r, ":", &u, NULL), 0);
	assert_true(ZERO(u));
	alb_resources_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_layout),
		cmocka_unit_test(test_daemon_configs),
		cmocka_unit_test(test_tender_inputs),
		cmocka_unit_test(test_outputs_zeroed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
