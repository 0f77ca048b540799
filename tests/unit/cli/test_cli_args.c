/* Tests of the command-line surface of alb-deploy and alb-info: the option
 * parsers of cli/cli_common.c directly, and the programs themselves with
 * `--socket -`, whose encoded commands are compared with the bytes that the
 * real albatross-client sent (vectors/transcripts) or that Albatross's
 * encoder produced (vectors, sequence number aside).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The helpers under test live in the CLI directory, outside the library. */
#include "../../../cli/cli_common.c"
#include "../../../cli/cli_values.c"
#include "../../../cli/cli_output.c"
#include "../../../cli/cli_run.c"
#include "../../../cli/cli_remote.c"
#include "../../../cli/cli_files.c"
#include "../../../cli/cli_cmds.c"

#include "cli_test_util.h"

/* ---- a program with every kind of option, for the parser ------------- */

static int run_nothing(struct cli_args *a)
{
	(void)a;
	return 0;
}

static const struct cli_opt t_common[] = {
	{"socket", 0, OPT_SOCKET, "PATH", "socket"},
	{"tmpdir", 0, OPT_TMPDIR, "DIR", "tmpdir"},
	{"timeout", 0, OPT_TIMEOUT, "S", "timeout"},
	{"verbose", 'v', OPT_VERBOSE, NULL, "verbose"},
	{"quiet", 'q', OPT_QUIET, NULL, "quiet"},
	{"help", 'h', OPT_HELP, NULL, "help"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt t_create[] = {
	{"force", 'f', OPT_FORCE, NULL, "force"},
	{"typ", 0, OPT_TYP, "T", "typ"},
	{"compression-level", 0, OPT_LEVEL, "N", "level"},
	{"startup", 0, OPT_STARTUP, "N", "startup"},
	{"no-add-name", 0, OPT_NO_ADD_NAME, NULL, "no add name"},
	{"cpu", 0, OPT_CPU, "N", "cpu"},
	{"mem", 0, OPT_MEM, "MB", "mem"},
	{"arg", 0, OPT_ARG, "A", "arg"},
	{"block", 0, OPT_BLOCK_DEV, "B", "block"},
	{"net", 0, OPT_NET, "N", "net"},
	{"restart-on-fail", 0, OPT_RESTART, NULL, "restart"},
	{"restart", 0, OPT_RESTART, NULL, "restart"},
	{"exit-code", 0, OPT_EXIT_CODE, "N", "exit code"},
	{"cpus", 0, OPT_CPUS, "N", "cpus"},
	{"linux-boot", 0, OPT_LINUX_BOOT, "P", "linux boot"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt t_policy[] = {
	{"mem", 0, OPT_MEM, "MB", "mem"},
	{"cpu", 0, OPT_CPU, "N", "cpu"},
	{"block", 0, OPT_POLICY_BLOCK, "MB", "block"},
	{"size", 0, OPT_POLICY_BLOCK, "MB", "block"},
	{"bridge", 0, OPT_BRIDGE, "B", "bridge"},
	{"network", 0, OPT_BRIDGE, "B", "bridge"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt t_console[] = {
	{"since", 0, OPT_SINCE, "T", "since"},
	{"count", 0, OPT_COUNT, "N", "count"},
	{"follow", 0, OPT_FOLLOW, NULL, "follow"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt t_none[] = {{NULL, 0, 0, NULL, NULL}};

static const struct cli_cmd t_cmds[] = {
	{"create", NULL, "NAME IMAGE", 2, "create", t_create, run_nothing},
	{"add-policy", "replace-policy", "PATH N", 2, "policy", t_policy,
	 run_nothing},
	{"destroy", NULL, "NAME", 1, "destroy", t_none, run_nothing},
	{"console", NULL, "NAME", 1, "console", t_console, run_nothing},
};

static const struct cli_prog t_prog = {"alb-test", "test", t_cmds, 4, t_common};

/* Parses a NULL-terminated list of words after "alb-test". */
static int parse(struct cli_args *a, struct alb_error *err, ...)
{
	char *argv[CLI_LIST_MAX * 2 + 16];
	int argc = 0;
	argv[argc++] = "alb-test";
	va_list ap;
	va_start(ap, err);
	char *w;
	while ((w = va_arg(ap, char *)) != NULL)
		argv[argc++] = w;
	va_end(ap);
	argv[argc] = NULL;
	FILE *devnull = fopen("/dev/null", "w");
	int rc = cli_parse(&t_prog, argc, argv, a, devnull, err);
	fclose(devnull);
	return rc;
}

static void test_parse_int(void **state)
{
	(void)state;
	struct alb_error err = {0};
	int64_t v;
	assert_int_equal(cli_parse_int("0", &v, &err), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_int("-1", &v, &err), 0);
	assert_int_equal(v, -1);
	assert_int_equal(cli_parse_int("+42", &v, &err), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cli_parse_int("0x200", &v, &err), 0);
	assert_int_equal(v, 512);
	/* OCaml's int range, at the limits and one past. */
	assert_int_equal(cli_parse_int("4611686018427387903", &v, &err), 0);
	assert_true(v == CLI_INT_MAX);
	assert_int_equal(cli_parse_int("4611686018427387904", &v, &err), ALB_EPARSE);
	assert_int_equal(cli_parse_int("-4611686018427387904", &v, &err), 0);
	assert_true(v == CLI_INT_MIN);
	assert_int_equal(cli_parse_int("-4611686018427387905", &v, &err), ALB_EPARSE);
	assert_int_equal(cli_parse_int("99999999999999999999999", &v, &err),
			 ALB_EPARSE);
	const char *bad[] = {"", "-", "12a", " 1", "1 ", "+-1", "0x", "0xg", "1.5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cli_parse_int(bad[i], &v, &err), ALB_EPARSE);
	cli_parse_int("12a", &v, &err);
	assert_string_equal(err.msg, "invalid value '12a', expected an integer");
}

static void expect_block(const char *s, const char *name, const char *dev,
			 int64_t sector)
{
	struct cli_args a = {0};
	struct alb_block_dev b;
	struct alb_error err = {0};
	assert_int_equal(cli_parse_block(&a, s, &b, &err), 0);
	assert_string_equal(b.name.ptr, name);
	assert_int_equal(b.name.len, strlen(name));
	if (dev == NULL) {
		assert_null(b.device.ptr);
	} else {
		assert_string_equal(b.device.ptr, dev);
		assert_int_equal(b.device.len, strlen(dev));
	}
	assert_int_equal(b.has_sector_size, sector != 0);
	if (sector != 0)
		assert_int_equal(b.sector_size, sector);
	cli_args_free(&a);
}

static void expect_block_error(const char *s, const char *msg)
{
	struct cli_args a = {0};
	struct alb_block_dev b;
	struct alb_error err = {0};
	assert_int_equal(cli_parse_block(&a, s, &b, &err), ALB_EPARSE);
	assert_string_equal(err.msg, msg);
	cli_args_free(&a);
}

static void test_parse_block(void **state)
{
	(void)state;
	expect_block("data", "data", NULL, 0);
	expect_block("storage:disk1", "storage", "disk1", 0);
	expect_block("storage:disk1@4096", "storage", "disk1", 4096);
	expect_block("x@512", "x", NULL, 512); /* the smallest sector size */
	expect_block("x@0x1000", "x", NULL, 4096);
	expect_block(":dev", "", "dev", 0);
	const char *pow2 = "sector size must be a power of two greater than or equal 512";
	expect_block_error("x@511", pow2); /* one below */
	expect_block_error("x@256", pow2);
	expect_block_error("x@1536", pow2);
	expect_block_error("x@0", pow2);
	expect_block_error("x@-512", pow2);
	expect_block_error("x@abc", "sector size must be an integer");
	expect_block_error("x@", "sector size must be an integer");
	expect_block_error("a@512@1024",
			   "format is 'name[@sector-size]' or 'name:device-name[@sector-size]'");
	expect_block_error("a:b:c", "format is 'name' or 'name:device-name'");
	expect_block_error("a:b:c@512", "format is 'name' or 'name:device-name'");
	/* As upstream, the sector size is checked before the names. */
	expect_block_error("a:b:c@x", "sector size must be an integer");
}

static void test_parse_net(void **state)
{
	(void)state;
	struct cli_args a = {0};
	struct alb_net_dev d;
	struct alb_error err = {0};
	assert_int_equal(cli_parse_net(&a, "service", &d, &err), 0);
	assert_string_equal(d.netif.ptr, "service");
	assert_null(d.bridge.ptr);
	assert_false(d.has_mac);
	assert_int_equal(cli_parse_net(&a, "service:br0", &d, &err), 0);
	assert_string_equal(d.netif.ptr, "service");
	assert_string_equal(d.bridge.ptr, "br0");
	assert_int_equal(cli_parse_net(&a, "admin:br0@0a:0B:0c:0d:0e:ff", &d, &err), 0);
	assert_string_equal(d.netif.ptr, "admin");
	assert_string_equal(d.bridge.ptr, "br0");
	assert_true(d.has_mac);
	const uint8_t mac[6] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0xff};
	assert_memory_equal(d.mac, mac, 6);
	assert_int_equal(cli_parse_net(&a, "br0@02:00:00:00:00:01", &d, &err), 0);
	assert_string_equal(d.netif.ptr, "br0");
	assert_null(d.bridge.ptr);

	assert_int_equal(cli_parse_net(&a, "a@b@c", &d, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "format is [name:]bridge[@mac]");
	assert_int_equal(cli_parse_net(&a, "a:b:c", &d, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "format is 'name' or 'name:device-name'");
	const char *bad_macs[] = {"a@02:00:00:00:00:0", "a@02:00:00:00:00:001",
				  "a@zz:00:00:00:00:01", "a@02-00-00-00-00-01",
				  "a@", "a@02:00:00:00:00"};
	for (size_t i = 0; i < sizeof(bad_macs) / sizeof(bad_macs[0]); i++) {
		assert_int_equal(cli_parse_net(&a, bad_macs[i], &d, &err), ALB_EPARSE);
		assert_non_null(strstr(err.msg, "invalid MAC address"));
	}
	cli_args_free(&a);
}

static void test_vm_config(void **state)
{
	(void)state;
	struct cli_args a;
	struct alb_error err = {0};
	struct alb_unikernel_config cfg;
	assert_int_equal(parse(&a, &err, "create", "x", "img", NULL), 0);
	assert_int_equal(cli_vm_config(&a, false, &cfg, &err), 0);
	/* albatross-client's defaults (spec §5.2). */
	assert_int_equal(cfg.typ, ALB_TYP_SOLO5);
	assert_int_equal(cfg.memory, 32);
	assert_int_equal(cfg.n_cpuids, 1);
	assert_int_equal(cfg.cpuids[0], 0);
	assert_int_equal(cfg.numcpus, 1);
	assert_true(cfg.add_name);
	assert_false(cfg.has_startup);
	assert_false(cfg.fail.restart);
	assert_false(cfg.has_argv);
	assert_int_equal(cfg.n_blocks, 0);
	assert_int_equal(cfg.n_bridges, 0);
	assert_null(cfg.linux_boot_partition.ptr);
	assert_false(a.vm.force);
	cli_args_free(&a);

	assert_int_equal(parse(&a, &err, "create", "-f", "--typ=bhyve", "--startup",
			       "-1", "--no-add-name", "--cpu", "3", "--cpu=1",
			       "--cpu", "3", "--mem", "256", "--arg", "-l",
			       "--arg=*:debug", "--block", "0:ubuntu@4096",
			       "--net", "0:br0@00:80:41:aa:bb:cc", "--restart",
			       "--exit-code", "2", "--exit-code=0", "--exit-code",
			       "2", "--cpus", "4", "--linux-boot", "msdos1", "x",
			       "img", "--compression-level", "9", NULL),
			 0);
	assert_true(a.vm.force);
	assert_true(a.has_level);
	assert_int_equal(a.level, 9);
	assert_int_equal(cli_vm_config(&a, false, &cfg, &err), 0);
	assert_int_equal(cfg.typ, ALB_TYP_BHYVE);
	assert_true(cfg.has_startup);
	assert_int_equal(cfg.startup, -1);
	assert_false(cfg.add_name);
	assert_int_equal(cfg.n_cpuids, 2); /* a set: {1, 3} */
	assert_int_equal(cfg.cpuids[0], 1);
	assert_int_equal(cfg.cpuids[1], 3);
	assert_int_equal(cfg.memory, 256);
	assert_true(cfg.has_argv);
	assert_int_equal(cfg.n_argv, 2);
	assert_string_equal(cfg.argv[0].ptr, "-l");
	assert_string_equal(cfg.argv[1].ptr, "*:debug");
	assert_int_equal(cfg.n_blocks, 1);
	assert_string_equal(cfg.blocks[0].device.ptr, "ubuntu");
	assert_int_equal(cfg.blocks[0].sector_size, 4096);
	assert_int_equal(cfg.n_bridges, 1);
	assert_true(cfg.bridges[0].has_mac);
	assert_true(cfg.fail.restart);
	assert_int_equal(cfg.fail.n_exit_codes, 2); /* a set: {0, 2} */
	assert_int_equal(cfg.fail.exit_codes[0], 0);
	assert_int_equal(cfg.fail.exit_codes[1], 2);
	assert_int_equal(cfg.numcpus, 4);
	assert_string_equal(cfg.linux_boot_partition.ptr, "msdos1");
	cli_args_free(&a);

	/* Exit codes without --restart-on-fail: quit. */
	assert_int_equal(parse(&a, &err, "create", "--exit-code", "3", "x", "i", NULL), 0);
	assert_int_equal(cli_vm_config(&a, false, &cfg, &err), 0);
	assert_false(cfg.fail.restart);
	assert_int_equal(cfg.fail.n_exit_codes, 0);
	cli_args_free(&a);

	/* --restart alone: restart on every code but the never-restart ones. */
	assert_int_equal(parse(&a, &err, "create", "--restart-on-fail", "x", "i", NULL), 0);
	assert_int_equal(cli_vm_config(&a, false, &cfg, &err), 0);
	assert_true(cfg.fail.restart);
	assert_int_equal(cfg.fail.n_exit_codes, 0);
	cli_args_free(&a);
}

static void test_vm_config_errors(void **state)
{
	(void)state;
	struct cli_args a;
	struct alb_error err = {0};
	struct alb_unikernel_config cfg;
	assert_int_equal(parse(&a, &err, "create", "--net", "service:br0", "--net",
			       "service:br1", "x", "i", NULL),
			 0);
	assert_int_equal(cli_vm_config(&a, false, &cfg, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "Bridge names must be a set");
	cli_args_free(&a);
	/* Same bridge, different netifs: fine. */
	assert_int_equal(parse(&a, &err, "create", "--net", "a:br0", "--net",
			       "b:br0", "x", "i", NULL),
			 0);
	assert_int_equal(cli_vm_config(&a, false, &cfg, &err), 0);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--block", "data:d1", "--block",
			       "data:d2", "x", "i", NULL),
			 0);
	assert_int_equal(cli_vm_config(&a, false, &cfg, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "Block devices must be a set");
	cli_args_free(&a);
	/* No CPU at all cannot come from the command line (--cpu defaults to
	 * 0), but the check stands for callers that build the options. */
	memset(&a, 0, sizeof(a));
	a.vm.numcpus = 1;
	assert_int_equal(cli_vm_config(&a, false, &cfg, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "CPUids may not be empty");
	assert_int_equal(cli_vm_config(&a, true, &cfg, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "CPUids cannot be empty");
}

static void test_policy(void **state)
{
	(void)state;
	struct cli_args a;
	struct alb_error err = {0};
	struct alb_policy p;
	assert_int_equal(parse(&a, &err, "add-policy", "a:b", "10", NULL), 0);
	assert_int_equal(cli_policy(&a, 10, &p, &err), 0);
	assert_int_equal(p.unikernels, 10);
	assert_int_equal(p.memory, 512);
	assert_int_equal(p.n_cpuids, 1);
	assert_int_equal(p.cpuids[0], 0);
	assert_false(p.has_block);
	assert_int_equal(p.n_bridges, 0);
	cli_args_free(&a);

	a.verbosity = -1;
	assert_int_equal(parse(&a, &err, "replace-policy", "--cpu", "1", "--cpu", "0",
			       "--cpu", "1", "--mem", "1024", "--size", "2048",
			       "--bridge", "service", "--network", "br0",
			       "--bridge", "service", "-q", "a:b", "10", NULL),
			 0);
	assert_int_equal(cli_policy(&a, 10, &p, &err), 0);
	assert_int_equal(p.n_cpuids, 2);
	assert_int_equal(p.cpuids[0], 0);
	assert_int_equal(p.cpuids[1], 1);
	assert_int_equal(p.memory, 1024);
	assert_true(p.has_block);
	assert_int_equal(p.block, 2048);
	assert_int_equal(p.n_bridges, 2); /* sorted, no duplicates */
	assert_string_equal(p.bridges[0].ptr, "br0");
	assert_string_equal(p.bridges[1].ptr, "service");
	cli_args_free(&a);
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct cli_args a;
	struct alb_error err = {0};
	assert_int_equal(parse(&a, &err, "create", "--mem", "1", "--mem", "2", "x",
			       "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "option '--mem' cannot be repeated");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--restart", "--restart-on-fail",
			       "x", "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "option '--restart-on-fail' cannot be repeated");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--mem", "lots", "x", "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg,
			    "option '--mem': invalid value 'lots', expected an integer");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--block", "x@100", "x", "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg,
			    "option '--block': sector size must be a power of two greater than or equal 512");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--net", "a@b@c", "x", "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "option '--net': format is [name:]bridge[@mac]");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--typ", "xen", "x", "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg,
			    "option '--typ': invalid value 'xen', expected either 'solo5' or 'bhyve'");
	cli_args_free(&a);
	/* Compression levels 0..9, at both ends and one past. */
	assert_int_equal(parse(&a, &err, "create", "--compression-level", "0", "x",
			       "i", NULL),
			 0);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--compression-level", "10",
			       "x", "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "option '--compression-level': 10 is not between 0 and 9");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--compression-level", "-1",
			       "x", "i", NULL),
			 ALB_EPARSE);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--bogus", "x", "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "unknown option '--bogus'");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "-z", "x", "i", NULL), ALB_EPARSE);
	assert_string_equal(err.msg, "unknown option '-z'");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "x", "i", "--mem", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "option '--mem' needs an argument");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "x", NULL), ALB_EPARSE);
	assert_non_null(strstr(err.msg, "missing argument"));
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "destroy", "x", "y", NULL), ALB_EPARSE);
	assert_string_equal(err.msg,
			    "destroy: too many arguments, don't know what to do with 'y'");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "frobnicate", NULL), ALB_EPARSE);
	assert_string_equal(err.msg, "unknown command 'frobnicate'; try 'alb-test --help'");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, NULL), ALB_EPARSE);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "create", "--tmpdir", "/nonexistent-dir", "x",
			       "i", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "option '--tmpdir': no '/nonexistent-dir' directory");
	cli_args_free(&a);
	/* Timeouts up to a day, in seconds. */
	assert_int_equal(parse(&a, &err, "destroy", "--timeout", "86400", "x", NULL), 0);
	assert_int_equal(a.timeout_ms, 86400 * 1000);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "destroy", "--timeout", "86401", "x", NULL),
			 ALB_EPARSE);
	cli_args_free(&a);
}

static void test_parse_misc(void **state)
{
	(void)state;
	struct cli_args a;
	struct alb_error err = {0};
	assert_int_equal(parse(&a, &err, "destroy", "x", "--help", NULL), 1);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "--help", NULL), 1);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "help", "create", NULL), 1);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "--version", NULL), 1);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "destroy", "-vv", "--socket", "-",
			       "--tmpdir=/tmp", "x", NULL),
			 0);
	assert_int_equal(a.verbosity, 2);
	assert_string_equal(a.socket, "-");
	assert_string_equal(a.tmpdir, "/tmp");
	assert_int_equal(a.n_pos, 1);
	assert_string_equal(a.pos[0], "x");
	cli_args_free(&a);
	/* Options after the positional arguments, and "--". */
	assert_int_equal(parse(&a, &err, "create", "x", "--", "-image-", NULL), 0);
	assert_string_equal(a.pos[1], "-image-");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "destroy", "x", NULL), 0);
	assert_string_equal(a.tmpdir, ALB_TMPDIR_DEFAULT);
	assert_null(a.socket);
	cli_args_free(&a);
}

static void expect_since(const char *s, int64_t sec, uint32_t nsec)
{
	struct alb_time t = {0, 0};
	struct alb_error err = {0};
	if (cli_parse_since(s, &t, &err) != 0)
		fail_msg("'%s': %s", s, err.msg);
	assert_int_equal(t.sec, sec);
	assert_int_equal(t.nsec, nsec);
}

static void test_parse_since(void **state)
{
	(void)state;
	expect_since("2024-02-29", 1709164800, 0);
	expect_since("2024-02-29T12:34:56Z", 1709210096, 0);
	expect_since("2024-02-29t12:34:56z", 1709210096, 0);
	expect_since("2024-02-29 12:34:56.5+01:00", 1709210096 - 3600, 500000000);
	expect_since("2024-02-29T12:34:56-00:30", 1709210096 + 1800, 0);
	/* Digits past nanoseconds are dropped. */
	expect_since("1970-01-01T00:00:00.1234567899Z", 0, 123456789);
	struct alb_time t;
	struct alb_error err = {0};
	static const char *const bad[] = {
	    "", "2024", "2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10",
	    "2024-02-29T24:00:00Z", "2024-02-29T12:60:00Z", "2024-02-29T12:00:60Z",
	    "2024-02-29T12:00:00", "2024-02-29T12:00:00.Z", "2024-02-29T12:00:00+24:00",
	    "2024-02-29T12:00:00+01:60", "2024-02-29T12:00:00Zx", "2024-02-29x",
	    "24-02-29"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cli_parse_since(bad[i], &t, &err) != ALB_EPARSE)
			fail_msg("'%s' was taken", bad[i]);
	assert_string_equal(err.msg, "invalid value '24-02-29', expected an RFC "
				     "3339 timestamp or YYYY-MM-DD");

	/* As options. */
	struct cli_args a;
	assert_int_equal(parse(&a, &err, "console", "x", "--since", "2024-02-29",
			       "--count", "5", "--follow", NULL),
			 0);
	assert_true(a.has_since && a.has_count && a.follow);
	assert_int_equal(a.since.sec, 1709164800);
	assert_int_equal(a.count, 5);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "console", "x", NULL), 0);
	assert_false(a.has_since || a.has_count || a.follow);
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "console", "x", "--since", "never", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "option '--since': invalid value 'never', "
				     "expected an RFC 3339 timestamp or YYYY-MM-DD");
	cli_args_free(&a);
	assert_int_equal(parse(&a, &err, "console", "x", "--count", "z", NULL),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "option '--count': invalid value 'z', "
				     "expected an integer");
	cli_args_free(&a);
}

/* Every repeatable option takes CLI_LIST_MAX values and refuses one more. */
static void test_list_limit(void **state)
{
	(void)state;
	static const char *const opts[] = {"--cpu", "--arg", "--exit-code",
					   "--block", "--net"};
	for (size_t o = 0; o < sizeof(opts) / sizeof(opts[0]); o++) {
		for (int extra = 0; extra <= 1; extra++) {
			char *argv[2 * (CLI_LIST_MAX + 1) + 8];
			static char vals[CLI_LIST_MAX + 1][16];
			int argc = 0;
			argv[argc++] = "alb-test";
			argv[argc++] = "create";
			for (int i = 0; i < CLI_LIST_MAX + extra; i++) {
				snprintf(vals[i], sizeof(vals[i]), "%s%d",
					 o >= 3 ? "d" : "", i);
				argv[argc++] = (char *)opts[o];
				argv[argc++] = vals[i];
			}
			argv[argc++] = "x";
			argv[argc++] = "i";
			argv[argc] = NULL;
			struct cli_args a;
			struct alb_error err = {0};
			int rc = cli_parse(&t_prog, argc, argv, &a, stdout, &err);
			assert_int_equal(rc, extra ? ALB_ETOOBIG : 0);
			if (extra) {
				char want[64];
				snprintf(want, sizeof(want), "option '%s': more than %d values",
					 opts[o], CLI_LIST_MAX);
				assert_string_equal(err.msg, want);
			}
			cli_args_free(&a);
		}
	}
}

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void table_cb(FILE *f, const void *arg)
{
	cli_table_print(arg, f);
}

static void test_table(void **state)
{
	(void)state;
	const char *hdr[] = {"NAME", "SIZE", "ACTIVE"};
	struct cli_table *t = cli_table_new(3, hdr);
	assert_non_null(t);
	const char *r1[] = {":disk", "10 MB", "no"};
	const char *r2[] = {"tenant:a-longer-name", NULL, "yes"};
	const char *r3[] = {"e\x1b", "1 MB", "no"};
	assert_int_equal(cli_table_add(t, r1), 0);
	assert_int_equal(cli_table_add(t, r2), 0);
	assert_int_equal(cli_table_add(t, r3), 0);
	char *s = capture(table_cb, t);
	assert_string_equal(s, "NAME                  SIZE   ACTIVE\n"
			       ":disk                 10 MB  no\n"
			       "tenant:a-longer-name  -      yes\n"
			       "e\\x1b                 1 MB   no\n");
	free(s);
	cli_table_free(t);
	cli_table_free(NULL);
}

static void hexdump_cb(FILE *f, const void *arg)
{
	const uint8_t *p = arg;
	cli_hexdump(f, p + 1, p[0]);
}

static void test_hexdump(void **state)
{
	(void)state;
	uint8_t in[1 + 40];
	in[0] = 40;
	for (int i = 0; i < 40; i++)
		in[1 + i] = (uint8_t)(i * 7 + 0x20);
	char *s = capture(hexdump_cb, in);
	assert_true(strncmp(s, "out:\n00000000  20 27 2e 35 3c 43 4a 51  58 5f 66 6d 74 7b 82 89  | '.5<CJQX_fmt{..|\n", 84) == 0);
	uint8_t back[64];
	assert_int_equal(parse_hexdump(s, back, sizeof(back)), 40);
	assert_memory_equal(back, in + 1, 40);
	free(s);
	char size[32];
	cli_format_size(512, size, sizeof(size));
	assert_string_equal(size, "512 B");
	cli_format_size(1536, size, sizeof(size));
	assert_string_equal(size, "1.5 KiB");
	cli_format_size(40u * 1024 * 1024, size, sizeof(size));
	assert_string_equal(size, "40.0 MiB");
}

/* ---- the programs, with --socket - --------------------------------------- */

/* Runs a program with "--socket -" appended and decodes the hexdump. */
static long hex_of(const char *prog, const char *const *args, uint8_t *out,
		   size_t cap)
{
	char *argv[64];
	int n = 0;
	argv[n++] = (char *)prog;
	for (; *args != NULL; args++)
		argv[n++] = (char *)*args;
	argv[n++] = "--socket";
	argv[n++] = "-";
	argv[n] = NULL;
	struct run r;
	assert_int_equal(run_argv(argv, &r), 0);
	if (r.status != CLI_EXIT_COMM)
		print_message("%s exited %d: %s\n", prog, r.status, r.err);
	assert_int_equal(r.status, CLI_EXIT_COMM);
	long len = parse_hexdump(r.out, out, cap);
	run_free(&r);
	return len;
}

struct transcript_case {
	const char *prog;
	const char *dir;
	const char *args[12];
};

/* Commands whose bytes the real albatross-client sent (sequence 0). */
static void test_transcripts(void **state)
{
	(void)state;
	SKIP_WITHOUT(deploy, "alb-deploy");
	SKIP_WITHOUT(info, "alb-info");
	NEED_VECTORS();
	char data[] = "/tmp/alb-cli-data-XXXXXX";
	int fd = mkstemp(data);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	const struct transcript_case cases[] = {
		{info, "01-policy-info", {"policy", NULL}},
		{deploy, "02-add-policy", {"add-policy", "tenant", "4", "--mem=1024", "--cpu=0", "--cpu=1", "--block=100", "-q", NULL}},
		{info, "03-policy-info-tenant", {"policy", "--path=tenant", NULL}},
		{deploy, "04-create-block", {"create-block", "tenant:disk", "10", NULL}},
		{deploy, "05-create-block-data", {"create-block", "tenant:disk2", "1", "--data", data, NULL}},
		{info, "06-block-info", {"block", "--name=tenant:", NULL}},
		{deploy, "07-set-block", {"set-block", "tenant:disk", data, NULL}},
		{info, "08-dump-block", {"dump-block", "tenant:disk2", NULL}},
		{deploy, "09-destroy-block", {"destroy-block", "tenant:disk", NULL}},
		{info, "14-info", {"info", "--name=tenant:hello", NULL}},
		{info, "15-info-all", {"info", NULL}},
		{deploy, "21-restart", {"restart", "tenant:hello", NULL}},
		{deploy, "22-restart-not-running", {"restart", "tenant:spt", NULL}},
		{deploy, "23-remove-policy-busy", {"remove-policy", "--path=tenant", NULL}},
		{deploy, "24-destroy", {"destroy", "tenant:hello", NULL}},
		{deploy, "26-destroy-block2", {"destroy-block", "tenant:disk2", NULL}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char rel[256];
		snprintf(rel, sizeof(rel), "transcripts/%s/01-001-c2s.der", cases[i].dir);
		size_t want_len;
		uint8_t *want = read_vector(rel, &want_len);
		assert_non_null(want);
		uint8_t got[4096];
		long n = hex_of(cases[i].prog, cases[i].args, got, sizeof(got));
		if (n != (long)want_len || memcmp(got, want, want_len) != 0)
			print_message("mismatch for %s\n", cases[i].dir);
		assert_int_equal(n, (long)want_len);
		assert_memory_equal(got, want, want_len);
		free(want);
	}
	unlink(data);
}

/* Albatross's own encodings (sequence number 1 there, 0 from a client). */
struct vector_case {
	const char *prog;
	const char *vector;
	const char *args[40];
};

static void set_sequence_zero(uint8_t *p, size_t len)
{
	static const uint8_t version_then_seq[] = {0x02, 0x01, 0x05, 0x04, 0x08};
	for (size_t i = 0; i + sizeof(version_then_seq) + 8 <= len; i++)
		if (memcmp(p + i, version_then_seq, sizeof(version_then_seq)) == 0) {
			memset(p + i + sizeof(version_then_seq), 0, 8);
			return;
		}
	fail_msg("no header in the vector");
}

static void test_vectors(void **state)
{
	(void)state;
	SKIP_WITHOUT(deploy, "alb-deploy");
	SKIP_WITHOUT(info, "alb-info");
	NEED_VECTORS();
	char img[] = "/tmp/alb-cli-img-XXXXXX";
	int fd = mkstemp(img);
	assert_true(fd >= 0);
	close(fd);
	const struct vector_case cases[] = {
		{info, "cmd_unikernel_info", {"info", "-n", "a:b:", NULL}},
		{info, "cmd_unikernel_info_root", {"info", NULL}},
		{info, "cmd_policy_info", {"policy", "-p", "a:b", NULL}},
		{info, "cmd_block_info", {"block", "--name", "a:b:", NULL}},
		{info, "cmd_unikernel_get", {"get", "a:b:c", NULL}},
		{info, "cmd_unikernel_get_9", {"get", "a:b:c", "--compression-level=9", NULL}},
		{info, "cmd_block_dump", {"dump-block", "a:b:c", "--compression-level", "4", NULL}},
		{deploy, "cmd_policy_add", {"add-policy", "a:b", "10", "--cpu", "1", "--cpu", "0", "--mem", "1024", "--size", "2048", "--network", "service", "--bridge", "br0", NULL}},
		{deploy, "cmd_policy_remove", {"remove-policy", "-p", "a:b", NULL}},
		{deploy, "cmd_block_add", {"create-block", "a:b:c", "100", NULL}},
		{deploy, "cmd_block_remove", {"destroy-block", "a:b:c", NULL}},
		{deploy, "cmd_block_set", {"set-block", "a:b:c", img, "--compression-level", "6", NULL}},
		{deploy, "cmd_block_set_false", {"set-block", "a:b:c", img, NULL}},
		{deploy, "cmd_unikernel_destroy", {"destroy", "a:b:c", NULL}},
		{deploy, "cmd_unikernel_restart_none", {"restart", "a:b:c", NULL}},
		{deploy, "cmd_unikernel_restart_args_min", {"restart", "a:b:c", "--replace-arguments", "--mem=64", NULL}},
		{deploy, "cmd_unikernel_restart_args_full", {"restart", "a:b:c", "--replace-arguments", "--restart-on-fail", "--exit-code", "2", "--exit-code", "0", "--startup", "0", "--no-add-name", "--cpu", "5", "--cpu", "4", "--mem", "256", "--block", "storage:disk1@512", "--net", "service:br1", "--net", "admin:br0@0a:0b:0c:0d:0e:0f", "--arg", "-l", "--arg", "*:debug", "--cpus", "2", NULL}},
		{deploy, "cmd_unikernel_create_bhyve", {"create", "a:b:c", img, "--typ", "bhyve", "--restart", "--startup", "-1", "--cpu", "0", "--cpu", "1", "--cpu", "2", "--cpu", "3", "--mem", "4096", "--block", "0:ubuntu", "--net", "0:br0@00:80:41:aa:bb:cc", "--cpus", "4", "--linux-boot", "msdos1", NULL}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char rel[256];
		snprintf(rel, sizeof(rel), "%s.der", cases[i].vector);
		size_t want_len;
		uint8_t *want = read_vector(rel, &want_len);
		assert_non_null(want);
		set_sequence_zero(want, want_len);
		uint8_t got[4096];
		long n = hex_of(cases[i].prog, cases[i].args, got, sizeof(got));
		if (n != (long)want_len || memcmp(got, want, want_len) != 0)
			print_message("mismatch for %s\n", cases[i].vector);
		assert_int_equal(n, (long)want_len);
		assert_memory_equal(got, want, want_len);
		free(want);
	}
	unlink(img);
}

/* ---- create with a Solo5 image ------------------------------------------ */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A minimal ELF64 x86_64 executable with the two Solo5 notes (spec §5.3),
 * each in its own PT_NOTE segment: target hvt, ABI 2, and a manifest of
 * the given devices (type 1 block, 2 net). Returns its length. */
static size_t make_solo5_image(uint8_t *buf, size_t cap, size_t n,
			       const char *const *names, const int *types)
{
	const size_t ehdr = 64, phdr = 56, abi_off = ehdr + 2 * phdr;
	const size_t abi_len = 20 + 16, mft_off = abi_off + abi_len + 4;
	const size_t mft_desc = 12 + (n + 1) * 104, mft_len = 20 + mft_desc;
	size_t len = mft_off + mft_len;
	assert_true(len <= cap);
	memset(buf, 0, len);
	memcpy(buf, "\x7f" "ELF", 4);
	buf[4] = 2; /* 64 bits */
	buf[5] = 1; /* little-endian */
	buf[6] = 1;
	buf[16] = 2;  /* ET_EXEC */
	buf[18] = 62; /* x86_64 */
	put32(buf + 20, 1);
	put64(buf + 32, ehdr); /* e_phoff */
	buf[52] = (uint8_t)ehdr;
	buf[54] = (uint8_t)phdr;
	buf[56] = 2; /* e_phnum */
	const size_t off[2] = {abi_off, mft_off}, sz[2] = {abi_len, mft_len};
	for (int i = 0; i < 2; i++) {
		uint8_t *ph = buf + ehdr + (size_t)i * phdr;
		put32(ph, 4); /* PT_NOTE */
		put64(ph + 8, off[i]);
		put64(ph + 32, sz[i]);
		put64(ph + 40, sz[i]);
	}
	uint8_t *abi = buf + abi_off;
	put32(abi, 6);
	put32(abi + 4, 16);
	put32(abi + 8, 0x31494241); /* ABI1 */
	memcpy(abi + 12, "Solo5", 6);
	put32(abi + 20, 1); /* hvt */
	put32(abi + 24, 2); /* ABI version */
	uint8_t *mft = buf + mft_off;
	put32(mft, 6);
	put32(mft + 4, (uint32_t)mft_desc);
	put32(mft + 8, 0x3154464d); /* MFT1 */
	memcpy(mft + 12, "Solo5", 6);
	uint8_t *m = mft + 20 + 4; /* 4 bytes of alignment padding */
	put32(m, 1);               /* version */
	put32(m + 4, (uint32_t)(n + 1));
	put32(m + 8 + 68, 0x40000000); /* RESERVED_FIRST */
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = m + 8 + (i + 1) * 104;
		memcpy(e, names[i], strlen(names[i]));
		put32(e + 68, (uint32_t)types[i]);
	}
	return len;
}

static void write_image(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void test_create_solo5(void **state)
{
	(void)state;
	SKIP_WITHOUT(deploy, "alb-deploy");
	uint8_t elf[4096];
	const char *names[] = {"storage", "service"};
	const int types[] = {1, 2};
	size_t len = make_solo5_image(elf, sizeof(elf), 2, names, types);
	char img[] = "/tmp/alb-cli-solo5-XXXXXX";
	int fd = mkstemp(img);
	assert_true(fd >= 0);
	close(fd);
	write_image(img, elf, len);

	for (int level = 0; level <= 9; level += 9) {
		char lvl[8];
		snprintf(lvl, sizeof(lvl), "%d", level);
		const char *args[] = {"create", "-f", "hello", img, "--block",
				      "storage:disk0@4096", "--net", "service:br0",
				      "--arg=--hello=Hi", "--compression-level", lvl,
				      NULL};
		uint8_t got[8192];
		long n = hex_of(deploy, args, got, sizeof(got));
		assert_true(n > 0);
		struct alb_msg *m;
		struct alb_error err = {0};
		assert_int_equal(alb_msg_decode(got, (size_t)n, 0, &m, &err), 0);
		assert_int_equal(m->header.version, 5);
		assert_int_equal(m->header.sequence, 0);
		assert_string_equal(m->header.name, ":hello");
		assert_int_equal(m->kind, ALB_PAYLOAD_COMMAND);
		assert_int_equal(m->u.command.kind, ALB_CMD_UNIKERNEL_FORCE_CREATE);
		const struct alb_unikernel_config *c = &m->u.command.u.create;
		assert_int_equal(c->compressed, level > 0);
		if (level == 0) {
			assert_int_equal(c->image.len, len);
			assert_memory_equal(c->image.ptr, elf, len);
		} else {
			struct alb_buf plain = {0};
			assert_int_equal(alb_zlib_inflate(c->image.ptr, c->image.len,
							  1 << 20, &plain, &err),
					 0);
			assert_int_equal(plain.len, len);
			assert_memory_equal(plain.data, elf, len);
			alb_buf_free(&plain);
		}
		assert_int_equal(c->n_blocks, 1);
		assert_string_equal(c->blocks[0].name.ptr, "storage");
		assert_string_equal(c->blocks[0].device.ptr, "disk0");
		assert_int_equal(c->blocks[0].sector_size, 4096);
		assert_int_equal(c->n_bridges, 1);
		assert_string_equal(c->bridges[0].bridge.ptr, "br0");
		assert_true(c->has_argv);
		assert_string_equal(c->argv[0].ptr, "--hello=Hi");
		assert_int_equal(c->memory, 32);
		alb_msg_free(m);
	}

	/* The manifest is checked before anything is sent. */
	char *argv[] = {(char *)deploy, "create", "hello", img, "--net", "service",
			"--socket", "-", NULL};
	struct run r;
	assert_int_equal(run_argv(argv, &r), 0);
	assert_int_equal(r.status, CLI_EXIT_CLI);
	assert_string_equal(r.err,
			    "alb-deploy: specified block device(s) does not match with manifest. "
			    "Devices present in manifest: block \"storage\", net \"service\"\n");
	run_free(&r);
	unlink(img);
}

static void expect_run(const char *const *args, int status, const char *err_sub)
{
	char *argv[32];
	int n = 0;
	for (; *args != NULL; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	struct run r;
	assert_int_equal(run_argv(argv, &r), 0);
	if (r.status != status || strstr(r.err, err_sub) == NULL)
		print_message("%s: status %d, stderr: %s\n", argv[1], r.status, r.err);
	assert_int_equal(r.status, status);
	assert_non_null(strstr(r.err, err_sub));
	run_free(&r);
}

static void test_program_errors(void **state)
{
	(void)state;
	SKIP_WITHOUT(deploy, "alb-deploy");
	SKIP_WITHOUT(info, "alb-info");
	char img[] = "/tmp/alb-cli-e-XXXXXX";
	int fd = mkstemp(img);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not an elf", 10), 10);
	close(fd);
	char big[] = "/tmp/alb-cli-big-XXXXXX";
	fd = mkstemp(big);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1024 * 1024 + 1), 0);
	close(fd);
	const char *s = "--socket=-";
	{
		const char *a[] = {deploy, "create", "x", img, "--net", "a:b", "--net", "a:c", s, NULL};
		expect_run(a, CLI_EXIT_CLI, "alb-deploy: Bridge names must be a set\n");
	}
	{
		const char *a[] = {deploy, "create", "x", img, "--block", "a", "--block", "a", s, NULL};
		expect_run(a, CLI_EXIT_CLI, "alb-deploy: Block devices must be a set\n");
	}
	{
		const char *a[] = {deploy, "create", "x", img, s, NULL};
		expect_run(a, CLI_EXIT_CLI, "not an ELF file");
	}
	{
		const char *a[] = {deploy, "create", "x", "/nonexistent/image", s, NULL};
		expect_run(a, CLI_EXIT_CLI, "cannot read '/nonexistent/image'");
	}
	{
		const char *a[] = {deploy, "create", "x", "/nonexistent", "--typ", "bhyve", s, NULL};
		expect_run(a, CLI_EXIT_CLI, "alb-deploy: IMAGE argument: no '/nonexistent' file\n");
	}
	{
		const char *a[] = {deploy, "create", "Bad_Name!", img, s, NULL};
		expect_run(a, CLI_EXIT_CLI, "NAME argument: ");
	}
	{
		const char *a[] = {deploy, "add-policy", "p", "0", s, NULL};
		expect_run(a, CLI_EXIT_CLI, "Unusable policy with no unikernels");
	}
	{
		const char *a[] = {deploy, "add-policy", "p", "1", "--mem=16", s, NULL};
		expect_run(a, CLI_EXIT_CLI, "Unusable policy with memory 16 MB <= 16 MB");
	}
	{
		/* At the usable limit: 17 MB, and a warning without bridges. */
		const char *a[] = {deploy, "add-policy", "p", "1", "--mem=17", s, NULL};
		expect_run(a, CLI_EXIT_COMM, "alb-deploy: warning: policy without any network access\n");
	}
	{
		const char *a[] = {deploy, "create-block", "d", "1", "--data", big, s, NULL};
		expect_run(a, CLI_EXIT_CLI, "alb-deploy: data exceeds size\n");
	}
	{
		/* Exactly 1 MiB of data fits a 1 MB device. */
		assert_int_equal(truncate(big, 1024 * 1024), 0);
		const char *a[] = {deploy, "create-block", "d", "1", "--data", big, s, NULL};
		expect_run(a, CLI_EXIT_COMM, "");
	}
	{
		const char *a[] = {deploy, "create-block", "d", "ten", s, NULL};
		expect_run(a, CLI_EXIT_CLI, "SIZE argument: invalid value 'ten'");
	}
	{
		const char *a[] = {info, "info", "--mem", "1", NULL};
		expect_run(a, CLI_EXIT_CLI, "alb-info: unknown option '--mem'\n");
	}
	{
		const char *a[] = {info, "nothing", NULL};
		expect_run(a, CLI_EXIT_CLI, "unknown command 'nothing'");
	}
	{
		const char *a[] = {deploy, "destroy", "x", "--socket", "/nonexistent/vmmd.sock", NULL};
		expect_run(a, CLI_EXIT_CONNECT,
			   "couldn't connect to unix domain socket /nonexistent/vmmd.sock");
	}
	{
		const char *a[] = {deploy, "create", "--help", NULL};
		expect_run(a, CLI_EXIT_OK, "");
	}
	{
		const char *a[] = {deploy, "restart", "x", "--mem", "64", s, NULL};
		expect_run(a, CLI_EXIT_COMM,
			   "alb-deploy: warning: without --replace-arguments the unikernel "
			   "restarts with its configuration; the options given are ignored\n");
	}
	unlink(img);
	unlink(big);
}

/* ---- decode and inspect-dump (no daemon) ------------------------------ */

static void expect_decode(const char *info, const uint8_t *p, size_t len,
			  const char *first_line, const char *contains)
{
	char *path = temp_file(p, len);
	assert_non_null(path);
	char *argv[] = {(char *)info, "decode", path, NULL};
	struct run r;
	assert_int_equal(run_argv(argv, &r), 0);
	assert_int_equal(r.status, 0);
	assert_true(strncmp(r.out, first_line, strlen(first_line)) == 0);
	assert_non_null(strstr(r.out, contains));
	run_free(&r);
	char *jargv[] = {(char *)info, "decode", "--json", path, NULL};
	assert_int_equal(run_argv(jargv, &r), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out[0], '{');
	run_free(&r);
	unlink(path);
	free(path);
}

/* cli_read_file takes a file of exactly max bytes and refuses one more. */
static void test_read_file_limit(void **state)
{
	(void)state;
	uint8_t buf[101];
	memset(buf, 'x', sizeof(buf));
	char *at = temp_file(buf, 100), *past = temp_file(buf, 101);
	assert_true(at != NULL && past != NULL);
	uint8_t *data;
	size_t len;
	struct alb_error err = {0};
	assert_int_equal(cli_read_file(at, 100, &data, &len, &err), 0);
	assert_int_equal(len, 100);
	assert_memory_equal(data, buf, 100);
	free(data);
	assert_int_equal(cli_read_file(past, 100, &data, &len, &err), ALB_ETOOBIG);
	assert_null(data);
	char want[300];
	snprintf(want, sizeof(want), "'%s' is larger than 100 bytes", past);
	assert_string_equal(err.msg, want);
	assert_int_equal(cli_read_file("/", 100, &data, &len, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "cannot read '/': not a regular file");
	assert_int_equal(cli_read_file("/nonexistent", 100, &data, &len, &err), ALB_ESYS);
	unlink(at);
	unlink(past);
	free(at);
	free(past);
}

static void test_decode(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	NEED_VECTORS();
	size_t len;
	uint8_t *wire = read_vector("transcripts/14-info/01-002-s2c.der", &len);
	assert_non_null(wire);
	expect_decode(info, wire, len, "# wire message\n", "name: tenant:hello");
	/* The same with its frame length in front. */
	uint8_t *framed = malloc(len + 4);
	framed[0] = 0;
	framed[1] = 0;
	framed[2] = (uint8_t)(len >> 8);
	framed[3] = (uint8_t)len;
	memcpy(framed + 4, wire, len);
	expect_decode(info, framed, len + 4,
		      "# wire message (with its 4-byte frame length)\n",
		      "name: tenant:hello");
	/* A wrong frame length: not framed, and not a message either. */
	framed[3]++;
	char *bad = temp_file(framed, len + 4);
	assert_non_null(bad);
	char *argv[] = {(char *)info, "decode", bad, NULL};
	struct run r;
	assert_int_equal(run_argv(argv, &r), 0);
	assert_int_equal(r.status, CLI_EXIT_CLI);
	assert_non_null(strstr(r.err, "is neither a wire message"));
	run_free(&r);
	unlink(bad);
	free(bad);
	free(framed);
	free(wire);
	uint8_t *st = read_vector("state_2u_2p.der", &len);
	expect_decode(info, st, len, "# state file\n", "name: a:b:c");
	free(st);
	uint8_t *ce = read_vector("certext_policy.der", &len);
	expect_decode(info, ce, len, "# certificate extension\n", "policy_add");
	free(ce);
	char *missing[] = {(char *)info, "decode", "/nonexistent/file", NULL};
	assert_int_equal(run_argv(missing, &r), 0);
	assert_int_equal(r.status, CLI_EXIT_CLI);
	assert_non_null(strstr(r.err, "cannot read '/nonexistent/file'"));
	run_free(&r);
}

static void test_inspect_dump(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	NEED_VECTORS();
	char dir[] = "/tmp/alb-cli-db-XXXXXX";
	assert_non_null(mkdtemp(dir));
	size_t len;
	uint8_t *st = read_vector("state_2u_2p.der", &len);
	assert_non_null(st);
	char path[256], other[256];
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(other, sizeof(other), "%s/old", dir);
	FILE *f = fopen(path, "wb");
	assert_int_equal(fwrite(st, 1, len, f), len);
	fclose(f);
	f = fopen(other, "wb");
	assert_int_equal(fwrite(st, 1, 10, f), 10); /* truncated */
	fclose(f);
	free(st);
	struct run r;
	char *argv[] = {(char *)info, "inspect-dump", "--dbdir", dir, NULL};
	assert_int_equal(run_argv(argv, &r), 0);
	assert_int_equal(r.status, 0);
	assert_true(strncmp(r.out, "format: 6\nunikernels (2):\n", 26) == 0);
	run_free(&r);
	char *abs[] = {(char *)info, "inspect-dump", "--json", "--file", path, NULL};
	assert_int_equal(run_argv(abs, &r), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out[0], '{');
	run_free(&r);
	char *rel[] = {(char *)info, "inspect-dump", "--dbdir", dir, "--file", "old", NULL};
	assert_int_equal(run_argv(rel, &r), 0);
	assert_int_equal(r.status, CLI_EXIT_CLI);
	assert_non_null(strstr(r.err, "couldn't parse dump file"));
	run_free(&r);
	char *none[] = {(char *)info, "inspect-dump", "--dbdir", dir, "--file", "nothing", NULL};
	assert_int_equal(run_argv(none, &r), 0);
	assert_int_equal(r.status, CLI_EXIT_CLI);
	run_free(&r);
	unlink(path);
	unlink(other);
	rmdir(dir);
}

/* Every subcommand answers --help with its usage and exit status 0. */
static void test_help(void **state)
{
	(void)state;
	SKIP_WITHOUT(deploy, "alb-deploy");
	SKIP_WITHOUT(info, "alb-info");
	static const char *const d[] = {"create", "destroy", "restart", "create-block",
					"set-block", "destroy-block", "add-policy",
					"replace-policy", "remove-policy", "update",
					"stats-add", "stats-remove", "certificate"};
	static const char *const i[] = {"info", "policy", "block", "get", "dump-block",
					"inspect-dump", "extract-dump", "console",
					"inactive-consoles", "stats", "decode", "certificate"};
	/* Commands on files only: no socket, no destination. */
	static const char *const offline[] = {"inspect-dump", "extract-dump", "decode",
					      "certificate"};
	for (size_t k = 0; k < sizeof(d) / sizeof(d[0]) + sizeof(i) / sizeof(i[0]); k++) {
		bool dep = k < sizeof(d) / sizeof(d[0]);
		const char *sub = dep ? d[k] : i[k - sizeof(d) / sizeof(d[0])];
		char *argv[] = {(char *)(dep ? deploy : info), (char *)sub, "--help", NULL};
		struct run r;
		assert_int_equal(run_argv(argv, &r), 0);
		assert_int_equal(r.status, 0);
		assert_true(strncmp(r.out, "Usage: ", 7) == 0);
		bool off = false;
		for (size_t o = 0; o < sizeof(offline) / sizeof(offline[0]); o++)
			off = off || strcmp(sub, offline[o]) == 0;
		if (off) {
			assert_null(strstr(r.out, "--socket PATH"));
		} else {
			assert_non_null(strstr(r.out, "--socket PATH"));
			assert_non_null(strstr(r.out, "-d, --destination HOST[:PORT]"));
			assert_non_null(strstr(r.out, "--ca FILE"));
			assert_non_null(strstr(r.out, "--ca-key FILE"));
			assert_non_null(strstr(r.out, "--server-ca FILE"));
			assert_non_null(strstr(r.out, "--csr"));
			assert_non_null(strstr(r.out, "116"));
		}
		run_free(&r);
		/* alb-info's help lists it (alb-deploy's has an alias too). */
		if (dep)
			continue;
		char *pargv[] = {(char *)info, "--help", NULL};
		assert_int_equal(run_argv(pargv, &r), 0);
		assert_int_equal(r.status, 0);
		char line[64];
		snprintf(line, sizeof(line), "\n  %s ", sub);
		if (strstr(r.out, line) == NULL)
			fail_msg("'%s --help' does not list %s", pargv[0], sub);
		run_free(&r);
	}
}

/* The progress line appears on a terminal only, for large uploads. */
static void test_progress(void **state)
{
	(void)state;
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) {
		print_message("SKIP: no pseudo-terminal\n");
		skip();
	}
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	int saved = dup(STDERR_FILENO);
	fflush(stderr);
	dup2(slave, STDERR_FILENO);
	struct cli_args a = {0};
	cli_progress(&a, 10, CLI_PROGRESS_MIN - 1); /* too small to show */
	cli_progress(&a, CLI_PROGRESS_MIN / 2, CLI_PROGRESS_MIN);
	cli_progress(&a, CLI_PROGRESS_MIN, CLI_PROGRESS_MIN);
	a.verbosity = -1;
	cli_progress(&a, 1, CLI_PROGRESS_MIN); /* -q */
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(slave);
	/* The terminal may hand the lines over in pieces; with the slave
	 * closed, read() fails (EIO) once all is read. */
	char buf[512] = {0};
	size_t len = 0;
	ssize_t n;
	while (len + 1 < sizeof(buf) &&
	       (n = read(master, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(master);
	assert_true(len > 0);
	/* the rate after each line depends on the time taken */
	assert_true(strncmp(buf, "\ruploading: 512.0 KiB of 1.0 MiB (50%), ", 40) == 0);
	const char *last = strstr(buf + 1, "\ruploading: 1.0 MiB of 1.0 MiB (100%), ");
	assert_non_null(last);
	assert_non_null(strstr(last, "/s  \r\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_parse_block),
		cmocka_unit_test(test_parse_net),
		cmocka_unit_test(test_vm_config),
		cmocka_unit_test(test_vm_config_errors),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_misc),
		cmocka_unit_test(test_parse_since),
		cmocka_unit_test(test_list_limit),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_hexdump),
		cmocka_unit_test(test_transcripts),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_create_solo5),
		cmocka_unit_test(test_program_errors),
		cmocka_unit_test(test_read_file_limit),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_inspect_dump),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
