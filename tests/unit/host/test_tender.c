/* Unit tests: tender command lines (spec §6.6), lookup and ABI check
 * (§6.4), spawning, exit statuses and restart decisions (§6.7). Spawn
 * tests run the fake tender named by $ALB_FAKE_TENDER.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "albatross/net.h"
#include "albatross/tender.h"
#include "host/proc.h"
#include "host/spawn.h"
#include "tender_internal.h"
#include "test_child.h"

#define ALB_ARRAY_LEN_(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

static char tmp_root[] = "/tmp/alb-test-tender-XXXXXX";

static void write_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	size_t len = strlen(content);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* A fresh directory under the test's temporary root. */
static void make_dir(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", tmp_root, name);
	assert_int_equal(mkdir(out, 0755), 0);
}

static void expect_argv(const struct alb_argv *a, const char *const *want)
{
	size_t n = 0;
	while (want[n] != NULL)
		n++;
	for (size_t i = 0; i < n && i < a->argc; i++)
		assert_string_equal(a->argv[i], want[i]);
	assert_int_equal(a->argc, n);
	assert_null(a->argv[a->argc]);
}

static struct alb_unikernel_config base_config(void)
{
	struct alb_unikernel_config c;
	memset(&c, 0, sizeof(c));
	c.typ = ALB_TYP_SOLO5;
	c.memory = 32;
	c.add_name = true;
	c.numcpus = 1;
	return c;
}

static struct alb_tender_cmd base_cmd(const struct alb_unikernel_config *c,
				      const char *name)
{
	struct alb_tender_cmd cmd = {
		.kind = ALB_TENDER_HVT,
		.tender = "/var/lib/albatross/solo5-hvt.2",
		.name = name,
		.config = c,
		.tmpdir = "/run/albatross",
		.dbdir = "/var/lib/albatross",
	};
	return cmd;
}

/* Reads fd to EOF into a NUL-terminated malloc'd string. */
static char *read_all(int fd)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* Reads fd until its output holds needle (or EOF). */
static void read_until(int fd, const char *needle)
{
	char buf[65536];
	size_t len = 0;
	while (len + 1 < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, needle) != NULL)
			return;
	}
	fail_msg("no \"%s\" in the output", needle);
}

static bool has_line(const char *out, const char *line)
{
	size_t l = strlen(line);
	for (const char *p = out; (p = strstr(p, line)) != NULL; p++)
		if ((p == out || p[-1] == '\n') && (p[l] == '\n' || p[l] == '\0'))
			return true;
	return false;
}

/* The ignored signals the C library keeps for itself (32 up to SIGRTMIN):
 * sigaction() refuses them, so the spawner cannot reset them and a tender
 * inherits them as this process has them (GNU make, for one, runs its
 * commands with 32 and 33 ignored). Every other signal must reach the
 * tender with its default action. */
static unsigned long long reserved_ignored(void)
{
	unsigned long long ign = 0, mask = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "SigIgn:", 7) == 0)
			ign = strtoull(line + 7, NULL, 16);
	fclose(f);
	for (int sig = 32; sig < SIGRTMIN; sig++)
		mask |= 1ull << (sig - 1);
	return ign & mask;
}

static const char *fake_tender(void)
{
	return getenv("ALB_FAKE_TENDER");
}

/* ---- argv: solo5-hvt / solo5-spt (spec §6.6) ----------------------------- */

static void test_argv_no_devices(void **state)
{
	(void)state;
	struct alb_unikernel_config c = base_config();
	struct alb_tender_cmd cmd = base_cmd(&c, ":hello");
	struct alb_argv a = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	const char *want[] = {"/var/lib/albatross/solo5-hvt.2", "--mem=32", "--",
			      "/run/albatross/:hello.img", "--name=hello", NULL};
	expect_argv(&a, want);
	alb_argv_free(&a);
	assert_null(a.argv);
	alb_argv_free(&a);
	alb_argv_free(NULL);

	/* add_name off, spt, an empty argv that is present, trailing '/' */
	c.add_name = false;
	c.has_argv = true;
	cmd.kind = ALB_TENDER_SPT;
	cmd.tender = "solo5-spt";
	cmd.tmpdir = "/run/albatross/";
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	const char *want2[] = {"solo5-spt", "--mem=32", "--",
			       "/run/albatross/:hello.img", NULL};
	expect_argv(&a, want2);
	alb_argv_free(&a);
}

static void test_argv_nets(void **state)
{
	(void)state;
	struct alb_unikernel_config c = base_config();
	c.memory = 64;
	struct alb_net_dev nets[2] = {
		{.netif = S("default")},
		{.netif = S("service"), .bridge = S("br1"), .has_mac = true,
		 .mac = {0x02, 0, 0, 0, 0, 0x01}},
	};
	c.n_bridges = 2;
	c.bridges = nets;
	/* the first has no MAC: the one derived for (default, foo:bar), spec
	 * §5.5; the second its configured one */
	struct alb_tender_net taps[2] = {{.tap = "vmmtap0"}, {.tap = "vmmtap1"}};
	assert_int_equal(alb_mac_derive(nets[0].netif, "foo:bar", taps[0].mac,
					NULL), 0);
	memcpy(taps[1].mac, nets[1].mac, ALB_MAC_LEN);
	struct alb_tender_cmd cmd = base_cmd(&c, "foo:bar");
	cmd.nets = taps;
	struct alb_argv a = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	const char *want[] = {"/var/lib/albatross/solo5-hvt.2",
			      "--mem=64",
			      "--net:default=vmmtap0",
			      "--net:service=vmmtap1",
			      "--net-mac:default=00:80:41:9a:6f:39",
			      "--net-mac:service=02:00:00:00:00:01",
			      "--",
			      "/run/albatross/foo:bar.img",
			      "--name=bar",
			      NULL};
	expect_argv(&a, want);
	alb_argv_free(&a);

	/* every network device needs its tap */
	taps[1].tap = NULL;
	struct alb_error err = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "network device service has no tap");
	cmd.nets = NULL;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), ALB_EINVAL);
}

static void test_argv_blocks(void **state)
{
	(void)state;
	struct alb_unikernel_config c = base_config();
	struct alb_block_dev blocks[2] = {
		{.name = S("data"), .has_sector_size = true, .sector_size = 4096},
		{.name = S("storage"), .device = S("disk0")},
	};
	c.n_blocks = 2;
	c.blocks = blocks;
	struct alb_tender_cmd cmd = base_cmd(&c, "foo:bar");
	cmd.dbdir = "/var/lib/albatross/";
	struct alb_argv a = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	const char *want[] = {"/var/lib/albatross/solo5-hvt.2",
			      "--mem=32",
			      "--block:data=/var/lib/albatross/block/foo:data",
			      "--block:storage=/var/lib/albatross/block/foo:disk0",
			      "--block-sector-size:data=4096",
			      "--",
			      "/run/albatross/foo:bar.img",
			      "--name=bar",
			      NULL};
	expect_argv(&a, want);
	alb_argv_free(&a);

	/* a unikernel at the root: its block devices are ":<device>" */
	cmd.name = ":hello";
	blocks[1].has_sector_size = true;
	blocks[1].sector_size = 512;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	const char *want2[] = {"/var/lib/albatross/solo5-hvt.2",
			       "--mem=32",
			       "--block:data=/var/lib/albatross/block/:data",
			       "--block:storage=/var/lib/albatross/block/:disk0",
			       "--block-sector-size:data=4096",
			       "--block-sector-size:storage=512",
			       "--",
			       "/run/albatross/:hello.img",
			       "--name=hello",
			       NULL};
	expect_argv(&a, want2);
	alb_argv_free(&a);

	/* a host device name that is not a label could leave block/ */
	struct alb_error err = {0};
	blocks[1].device = S("../../etc/shadow");
	assert_int_equal(alb_tender_argv(&cmd, &a, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "invalid block device name ../../etc/shadow");
	assert_null(a.argv);
}

static void test_argv_full_name_and_args(void **state)
{
	(void)state;
	struct alb_unikernel_config c = base_config();
	struct alb_str args[] = {S("--hello=wörld"), S("日本語"), S("a b"),
				 S(""), S("--name=x")};
	c.has_argv = true;
	c.n_argv = 5;
	c.argv = args;
	struct alb_tender_cmd cmd = base_cmd(&c, "a:b:c");
	cmd.full_name = true;
	struct alb_argv a = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	const char *want[] = {"/var/lib/albatross/solo5-hvt.2", "--mem=32", "--",
			      "/run/albatross/a:b:c.img", "--name=a:b:c",
			      "--hello=wörld", "日本語", "a b", "", "--name=x",
			      NULL};
	expect_argv(&a, want);
	alb_argv_free(&a);

	cmd.name = ":hello";
	c.n_argv = 0;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	assert_string_equal(a.argv[4], "--name=:hello");
	alb_argv_free(&a);

	cmd.full_name = false;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	assert_string_equal(a.argv[4], "--name=hello");
	alb_argv_free(&a);
}

static void test_argv_rejects(void **state)
{
	(void)state;
	struct alb_unikernel_config c = base_config();
	struct alb_str args[] = {{"a\0b", 3}};
	c.n_argv = 1;
	c.argv = args;
	struct alb_tender_cmd cmd = base_cmd(&c, ":hello");
	struct alb_argv a = {0};
	struct alb_error err = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "argument contains a NUL byte");
	c.n_argv = 0;

	/* names end up in file names: canonical ones only */
	const char *names[] = {"hello", ":Hello", "../x", ":a/b", ""};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cmd.name = names[i];
		assert_int_equal(alb_tender_argv(&cmd, &a, &err), ALB_EINVAL);
	}
	assert_string_equal(err.msg, "invalid unikernel name ");
	cmd.name = ":hello";

	c.memory = 0;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), ALB_EINVAL);
	c.memory = 32;
	cmd.kind = (enum alb_tender_kind)7;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), ALB_EINVAL);
	cmd.kind = ALB_TENDER_HVT;
	cmd.tmpdir = NULL;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), ALB_EINVAL);
	assert_int_equal(alb_tender_argv(NULL, &a, NULL), ALB_EINVAL);
	cmd.tmpdir = "/run/albatross";
	assert_int_equal(alb_tender_argv(&cmd, NULL, NULL), ALB_EINVAL);
}

/* The guest command line (everything after the image, joined by spaces)
 * at ALB_TENDER_CMDLINE_MAX and one past it. */
static void test_argv_cmdline_limit(void **state)
{
	(void)state;
	size_t max = ALB_TENDER_CMDLINE_MAX;
	char *big = malloc(max + 2);
	assert_non_null(big);
	memset(big, 'y', max + 1);
	struct alb_unikernel_config c = base_config();
	struct alb_str arg = {big, max};
	c.add_name = false;
	c.n_argv = 1;
	c.argv = &arg;
	struct alb_tender_cmd cmd = base_cmd(&c, ":hello");
	struct alb_argv a = {0};
	big[max] = '\0';
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	assert_int_equal(strlen(a.argv[4]), max);
	alb_argv_free(&a);
	arg.len = max + 1;
	big[max] = 'y';
	big[max + 1] = '\0';
	struct alb_error err = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, &err), ALB_ETOOBIG);
	assert_string_equal(err.msg,
			    "guest command line too long (8192 bytes, max 8191)");

	/* "--name=hello" and the separating space count too */
	c.add_name = true;
	arg.len = max - strlen("--name=hello ");
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	alb_argv_free(&a);
	arg.len++;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), ALB_ETOOBIG);
	free(big);
}

/* ---- argv: QEMU ------------------------------------------------------------ */

static void test_argv_qemu(void **state)
{
	(void)state;
	struct alb_unikernel_config c = base_config();
	struct alb_net_dev nets[2] = {{.netif = S("service")},
				      {.netif = S("other")}};
	struct alb_tender_net taps[2] = {
		{.tap = "vmmtap3", .mac = {0x00, 0x80, 0x41, 0xaa, 0xbb, 0xcc}},
		{.tap = "vmmtap4", .mac = {0x02, 0, 0, 0, 0, 0x02}},
	};
	struct alb_block_dev blocks[2] = {
		{.name = S("storage"), .has_sector_size = true,
		 .sector_size = 4096},
		{.name = S("disk"), .device = S("other")},
	};
	struct alb_str args[] = {S("--exit=3"), S("wörld")};
	c.n_bridges = 2;
	c.bridges = nets;
	c.n_blocks = 2;
	c.blocks = blocks;
	c.has_argv = true;
	c.n_argv = 2;
	c.argv = args;
	struct alb_tender_cmd cmd = base_cmd(&c, ":hello");
	cmd.kind = ALB_TENDER_QEMU;
	cmd.tender = "qemu-system-x86_64";
	cmd.nets = taps;
	cmd.dbdir = "/var/lib/alba,tross";
	struct alb_argv a = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	const char *want[] = {
		"qemu-system-x86_64", "-kernel", "/run/albatross/:hello.img",
		"-append", "--name=hello --exit=3 wörld", "-m", "32", "-smp", "1",
		"-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-netdev", "tap,id=n0,ifname=vmmtap3,script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n0,mac=00:80:41:aa:bb:cc",
		"-netdev", "tap,id=n1,ifname=vmmtap4,script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n1,mac=02:00:00:00:00:02",
		"-drive", "file=/var/lib/alba,,tross/block/:storage,if=none,id=b0,format=raw",
		"-device", "virtio-blk-pci,drive=b0,logical_block_size=4096,physical_block_size=4096",
		"-drive", "file=/var/lib/alba,,tross/block/:other,if=none,id=b1,format=raw",
		"-device", "virtio-blk-pci,drive=b1",
		"-accel", "tcg", NULL};
	expect_argv(&a, want);
	alb_argv_free(&a);

	/* no arguments at all: an empty -append; KVM on request */
	c.add_name = false;
	c.n_argv = 0;
	c.n_bridges = 0;
	c.n_blocks = 0;
	cmd.accel = ALB_QEMU_ACCEL_KVM;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	const char *want2[] = {
		"qemu-system-x86_64", "-kernel", "/run/albatross/:hello.img",
		"-append", "", "-m", "32", "-smp", "1", "-nodefaults", "-no-reboot",
		"-display", "none", "-serial", "stdio", "-device",
		"isa-debug-exit,iobase=0xf4,iosize=0x04", "-accel", "kvm", NULL};
	expect_argv(&a, want2);
	alb_argv_free(&a);

	/* a ',' in a tap name would inject QEMU options */
	c.n_bridges = 1;
	taps[0].tap = "t,x=1";
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), ALB_EINVAL);
}

static size_t argv_bytes(const struct alb_argv *a)
{
	size_t n = 0;
	for (size_t i = 0; i < a->argc; i++)
		n += strlen(a->argv[i]) + 1;
	return n;
}

/* The whole argv at ALB_TENDER_ARGV_MAX bytes and one past it (QEMU, which
 * has no guest command line limit of its own). */
static void test_argv_total_limit(void **state)
{
	(void)state;
	char *big = malloc(ALB_TENDER_ARGV_MAX + 1);
	assert_non_null(big);
	memset(big, 'z', ALB_TENDER_ARGV_MAX);
	big[ALB_TENDER_ARGV_MAX] = '\0';
	struct alb_unikernel_config c = base_config();
	struct alb_str arg = {big, 0};
	c.add_name = false;
	c.n_argv = 1;
	c.argv = &arg;
	struct alb_tender_cmd cmd = base_cmd(&c, ":hello");
	cmd.kind = ALB_TENDER_QEMU;
	struct alb_argv a = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	size_t base = argv_bytes(&a);
	alb_argv_free(&a);

	arg.len = ALB_TENDER_ARGV_MAX - base;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	assert_int_equal(argv_bytes(&a), ALB_TENDER_ARGV_MAX);
	alb_argv_free(&a);
	arg.len++;
	struct alb_error err = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, &err), ALB_ETOOBIG);
	assert_string_equal(err.msg, "command line longer than 131072 bytes");
	assert_null(a.argv);

	/* the same through a long path in a Solo5 command line */
	cmd.kind = ALB_TENDER_HVT;
	c.n_argv = 0;
	cmd.tmpdir = "/t";
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	base = argv_bytes(&a);
	alb_argv_free(&a);
	size_t dlen = ALB_TENDER_ARGV_MAX - base + strlen("/t");
	char *dir = malloc(dlen + 2);
	assert_non_null(dir);
	memset(dir, 'd', dlen + 1);
	dir[0] = '/';
	dir[dlen] = '\0';
	cmd.tmpdir = dir;
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	assert_int_equal(argv_bytes(&a), ALB_TENDER_ARGV_MAX);
	alb_argv_free(&a);
	dir[dlen] = 'd';
	dir[dlen + 1] = '\0';
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), ALB_ETOOBIG);
	free(dir);
	free(big);
}

/* ---- exit statuses and restart decisions (spec §6.7) ---------------------- */

/* A real wait status: a child that exits with code, or dies by sig. */
static int real_status(int code, int sig)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (sig > 0) {
			signal(sig, SIG_DFL);
			raise(sig);
		}
		test_child_exit(code);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void test_exit_decode(void **state)
{
	(void)state;
	struct alb_exit_status s;
	const int codes[] = {0, 1, 2, 3, 7, 64, 129, 254, 255};
	/* QEMU: isa-debug-exit gives (v << 1) | 1; 1 stays QEMU's failure */
	const int qemu[] = {0, 1, 2, 1, 3, 64, 64, 254, 127};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		int st = real_status(codes[i], 0);
		assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &s), 0);
		assert_int_equal(s.kind, ALB_EXIT_CODE);
		assert_int_equal(s.value, codes[i]);
		assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_SPT, &s), 0);
		assert_int_equal(s.value, codes[i]);
		assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_QEMU, &s), 0);
		assert_int_equal(s.kind, ALB_EXIT_CODE);
		assert_int_equal(s.value, qemu[i]);
	}
	int st = real_status(0, SIGKILL);
	assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &s), 0);
	assert_int_equal(s.kind, ALB_EXIT_SIGNAL);
	assert_int_equal(s.value, SIGKILL);
	assert_false(s.core);
	assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_QEMU, &s), 0);
	assert_int_equal(s.kind, ALB_EXIT_SIGNAL);

	/* stopped, then continued: the latter is no end at all */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		raise(SIGSTOP);
		test_child_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &s), 0);
	assert_int_equal(s.kind, ALB_EXIT_STOPPED);
	assert_int_equal(s.value, SIGSTOP);
	kill(pid, SIGCONT);
	assert_int_equal(waitpid(pid, &st, WCONTINUED), pid);
	if (WIFCONTINUED(st))
		assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &s),
				 ALB_EINVAL);
	waitpid(pid, &st, 0);

	assert_int_equal(alb_tender_exit_decode(0, (enum alb_tender_kind)0, &s),
			 ALB_EINVAL);
	assert_int_equal(alb_tender_exit_decode(0, ALB_TENDER_HVT, NULL),
			 ALB_EINVAL);
}

static void test_exit_format(void **state)
{
	(void)state;
	char buf[64];
	struct alb_exit_status s = {ALB_EXIT_CODE, 3, false};
	alb_tender_exit_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "exit code 3");
	s = (struct alb_exit_status){ALB_EXIT_SIGNAL, 11, true};
	alb_tender_exit_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "signal 11 (core dumped)");
	s.core = false;
	alb_tender_exit_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "signal 11");
	s = (struct alb_exit_status){ALB_EXIT_STOPPED, 19, false};
	alb_tender_exit_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "stopped by signal 19");
	alb_tender_exit_format(&s, buf, 5);
	assert_string_equal(buf, "stop");
}

/* The decision table, every fail behaviour against every interesting
 * status; Y = should restart. */
static void test_restart_table(void **state)
{
	(void)state;
	const struct alb_exit_status st[] = {
		{ALB_EXIT_SIGNAL, 9, false}, {ALB_EXIT_SIGNAL, 15, false},
		{ALB_EXIT_SIGNAL, 6, true},  {ALB_EXIT_STOPPED, 19, false},
		{ALB_EXIT_CODE, 0, false},   {ALB_EXIT_CODE, 1, false},
		{ALB_EXIT_CODE, 2, false},   {ALB_EXIT_CODE, 59, false},
		{ALB_EXIT_CODE, 60, false},  {ALB_EXIT_CODE, 61, false},
		{ALB_EXIT_CODE, 62, false},  {ALB_EXIT_CODE, 63, false},
		{ALB_EXIT_CODE, 64, false},  {ALB_EXIT_CODE, 65, false},
		{ALB_EXIT_CODE, 255, false},
	};
	int64_t some[] = {0, 1, 2, 63, 64, 65};
	int64_t only255[] = {255};
	const struct {
		struct alb_fail fail;
		const char *yes; /* one letter per status above */
	} rows[] = {
		{{false, 0, NULL}, "NNNNNNNNNNNNNNN"},
		{{true, 0, NULL}, "NNNNYNYYNNNNNYY"},
		{{true, 6, some}, "NNNNYNYNNNNNNYN"},
		{{true, 1, only255}, "NNNNNNNNNNNNNNY"},
	};
	size_t n_st = sizeof(st) / sizeof(st[0]);
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		assert_int_equal(strlen(rows[r].yes), n_st);
		for (size_t i = 0; i < n_st; i++) {
			bool yes = rows[r].yes[i] == 'Y';
			assert_int_equal(alb_tender_should_restart(&rows[r].fail, &st[i]),
					 yes);
			/* without add_name: restart decisions follow should_restart */
			assert_int_equal(
			    alb_tender_restart_decision(&rows[r].fail, false, &st[i]),
			    yes ? ALB_RESTART_SAME : ALB_RESTART_NO);
			/* with add_name, exit 64 retries without --name, even for
			 * Quit; anything else as before */
			enum alb_restart want =
			    (st[i].kind == ALB_EXIT_CODE && st[i].value == 64)
				? ALB_RESTART_WITHOUT_NAME
				: (yes ? ALB_RESTART_SAME : ALB_RESTART_NO);
			assert_int_equal(
			    alb_tender_restart_decision(&rows[r].fail, true, &st[i]),
			    want);
		}
	}
	/* a signal 64 is no exit code 64 */
	struct alb_exit_status sig64 = {ALB_EXIT_SIGNAL, 64, false};
	assert_int_equal(alb_tender_restart_decision(&rows[1].fail, true, &sig64),
			 ALB_RESTART_NO);
}

/* ---- lookup (spec §6.4) ------------------------------------------------------- */

static const char *script_ok =
    "#!/bin/sh\necho 'solo5-hvt tender, version v0.12.1' >&2\n"
    "echo 'ABI version 2' >&2\n";

static void test_lookup_order(void **state)
{
	(void)state;
	char db[512], bin[512], empty[512], p[1024], out[ALB_TENDER_PATH_MAX];
	make_dir(db, sizeof(db), "lookup-db");
	make_dir(bin, sizeof(bin), "lookup-bin");
	make_dir(empty, sizeof(empty), "lookup-empty");
	char *old_path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	char path_env[1100];
	snprintf(path_env, sizeof(path_env), "%s:%s", empty, bin);
	setenv("PATH", path_env, 1);

	struct alb_error err = {0};
	assert_int_equal(alb_tender_lookup(ALB_TENDER_HVT, 2, db, out, &err),
			 ALB_ENOENT);
	char want[2048];
	snprintf(want, sizeof(want),
		 "tender does not exist, looked for %s/solo5-hvt.2, solo5-hvt.2, "
		 "%s/solo5-hvt, solo5-hvt", db, db);
	assert_string_equal(err.msg, want);
	assert_int_equal(alb_tender_lookup(ALB_TENDER_QEMU, 0, db, out, &err),
			 ALB_ENOENT);
	snprintf(want, sizeof(want),
		 "tender does not exist, looked for %s/qemu-system-x86_64, "
		 "qemu-system-x86_64", db);
	assert_string_equal(err.msg, want);

	/* candidates appear from the last to the first; each one wins */
	snprintf(p, sizeof(p), "%s/solo5-hvt", bin);
	write_file(p, script_ok, 0755);
	assert_int_equal(alb_tender_lookup(ALB_TENDER_HVT, 2, db, out, NULL), 0);
	assert_string_equal(out, p);

	/* not executable, or a directory: skipped */
	snprintf(p, sizeof(p), "%s/solo5-hvt", db);
	write_file(p, script_ok, 0644);
	snprintf(p, sizeof(p), "%s/solo5-hvt.2", db);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/solo5-hvt", bin);
	assert_int_equal(alb_tender_lookup(ALB_TENDER_HVT, 2, db, out, NULL), 0);
	assert_string_equal(out, p);

	snprintf(p, sizeof(p), "%s/solo5-hvt", db);
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(alb_tender_lookup(ALB_TENDER_HVT, 2, db, out, NULL), 0);
	assert_string_equal(out, p);

	snprintf(p, sizeof(p), "%s/solo5-hvt.2", bin);
	write_file(p, script_ok, 0755);
	assert_int_equal(alb_tender_lookup(ALB_TENDER_HVT, 2, db, out, NULL), 0);
	assert_string_equal(out, p);
	/* another ABI version does not see it */
	snprintf(p, sizeof(p), "%s/solo5-hvt", db);
	assert_int_equal(alb_tender_lookup(ALB_TENDER_HVT, 3, db, out, NULL), 0);
	assert_string_equal(out, p);

	snprintf(p, sizeof(p), "%s/solo5-hvt.2", db);
	assert_int_equal(rmdir(p), 0);
	write_file(p, script_ok, 0755);
	assert_int_equal(alb_tender_lookup(ALB_TENDER_HVT, 2, db, out, NULL), 0);
	assert_string_equal(out, p);

	/* spt has names of its own */
	assert_int_equal(alb_tender_lookup(ALB_TENDER_SPT, 2, db, out, NULL),
			 ALB_ENOENT);
	snprintf(p, sizeof(p), "%s/solo5-spt", bin);
	write_file(p, script_ok, 0755);
	assert_int_equal(alb_tender_lookup(ALB_TENDER_SPT, 2, db, out, NULL), 0);
	assert_string_equal(out, p);

	/* find = lookup + ABI check */
	alb__tender_abi_cache_clear();
	assert_int_equal(alb_tender_find(ALB_TENDER_SPT, 2, db, out, NULL), 0);
	assert_int_equal(alb_tender_find(ALB_TENDER_SPT, 3, db, out, &err),
			 ALB_EPROTO);

	/* PATH unset: the default path, which has no tender */
	unsetenv("PATH");
	assert_int_equal(alb__tender_which("sh", NULL, out), 0);
	assert_string_equal(out, "/bin/sh");
	assert_int_equal(alb__tender_which("solo5-spt", NULL, out), ALB_ENOENT);
	if (old_path != NULL)
		setenv("PATH", old_path, 1);
	free(old_path);
}

/* ---- ABI check ------------------------------------------------------------------ */

/* A script that counts its runs in <path>.count and then prints body. */
static void counting_script(const char *path, const char *body)
{
	char text[8192];
	snprintf(text, sizeof(text), "#!/bin/sh\necho run >> \"$0.count\"\n%s",
		 body);
	write_file(path, text, 0755);
}

static int runs(const char *path)
{
	char p[PATH_MAX + 16];
	if (snprintf(p, sizeof(p), "%s.count", path) >= (int)sizeof(p))
		return 0;
	FILE *f = fopen(p, "re");
	if (f == NULL)
		return 0;
	int n = 0, ch;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void test_abi_check(void **state)
{
	(void)state;
	char dir[512], p[1024];
	make_dir(dir, sizeof(dir), "abi");
	alb__tender_abi_cache_clear();
	struct alb_error err = {0};

	snprintf(p, sizeof(p), "%s/good", dir);
	counting_script(p, "echo 'solo5-hvt tender, version v0.12.1' >&2\n"
			   "echo 'ABI version 2' >&2\n");
	assert_int_equal(alb_tender_check_abi(p, 2, &err), 0);
	assert_int_equal(alb_tender_check_abi(p, 2, &err), 0);
	assert_int_equal(runs(p), 1);
	assert_int_equal(alb__tender_abi_cache_size(), 1);

	/* another version is another check, which fails (and is not kept) */
	assert_int_equal(alb_tender_check_abi(p, 3, &err), ALB_EPROTO);
	assert_string_equal(err.msg,
			    "unexpected solo5 tender --version output, expected one "
			    "line with 'ABI version 3', got solo5-hvt tender, "
			    "version v0.12.1\nABI version 2");
	assert_int_equal(alb_tender_check_abi(p, 3, NULL), ALB_EPROTO);
	assert_int_equal(runs(p), 3);

	/* a changed file is checked again */
	struct timespec pause = {0, 20000000};
	nanosleep(&pause, NULL);
	counting_script(p, "echo 'ABI version 2'\n");
	assert_int_equal(alb_tender_check_abi(p, 2, NULL), 0);
	assert_int_equal(runs(p), 4);

	/* stdout counts as well as stderr; anything but the exact line fails */
	const char *bad[] = {"echo 'ABI  version 2'\n", "echo 'abi version 2'\n",
			     "echo 'ABI version 2x'\n", "echo 'ABI version'\n",
			     "echo 'xABI version 2'\n", "echo 'ABI version 20'\n",
			     "true\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(p, sizeof(p), "%s/bad%zu", dir, i);
		counting_script(p, bad[i]);
		assert_int_equal(alb_tender_check_abi(p, 2, &err), ALB_EPROTO);
		assert_non_null(strstr(err.msg, "expected one line with 'ABI version 2', got"));
	}

	/* the line, but a failing exit status */
	snprintf(p, sizeof(p), "%s/fails", dir);
	counting_script(p, "echo 'ABI version 2'\nexit 1\n");
	assert_int_equal(alb_tender_check_abi(p, 2, &err), ALB_EPROTO);
	char want[1200];
	snprintf(want, sizeof(want), "%s --version failed with exit code 1", p);
	assert_string_equal(err.msg, want);

	/* a bare name is looked up in PATH */
	char *old_path = strdup(getenv("PATH"));
	setenv("PATH", dir, 1);
	assert_int_equal(alb_tender_check_abi("good", 2, NULL), 0);
	assert_int_equal(alb_tender_check_abi("nonexistent", 2, &err), ALB_ENOENT);
	setenv("PATH", old_path, 1);
	free(old_path);
	snprintf(p, sizeof(p), "%s/missing", dir);
	assert_int_equal(alb_tender_check_abi(p, 2, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, ENOENT);

	/* the fake tender prints what solo5-hvt v0.12.1 prints */
	if (fake_tender() != NULL) {
		assert_int_equal(alb_tender_check_abi(fake_tender(), 2, NULL), 0);
		assert_int_equal(alb_tender_check_abi(fake_tender(), 1, &err),
				 ALB_EPROTO);
	}
}

/* Output of exactly ALB_TENDER_VERSION_OUTPUT_MAX bytes, and one more. */
static void test_abi_output_limit(void **state)
{
	(void)state;
	char dir[512], data[1024], p[1024], body[2200];
	make_dir(dir, sizeof(dir), "abi-limit");
	alb__tender_abi_cache_clear();
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = ALB_TENDER_VERSION_OUTPUT_MAX + (size_t)extra;
		char *text = malloc(n + 1);
		assert_non_null(text);
		memset(text, 'x', n);
		memcpy(text, "ABI version 2\n", 14);
		text[n - 1] = '\n';
		text[n] = '\0';
		snprintf(data, sizeof(data), "%s/out%d", dir, extra);
		write_file(data, text, 0644);
		free(text);
		snprintf(p, sizeof(p), "%s/tender%d", dir, extra);
		snprintf(body, sizeof(body), "#!/bin/sh\nexec cat '%s'\n", data);
		write_file(p, body, 0755);
		struct alb_error err = {0};
		int rc = alb_tender_check_abi(p, 2, &err);
		if (extra == 0) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, ALB_ETOOBIG);
			char want[1200];
			snprintf(want, sizeof(want),
				 "%s --version printed more than 4096 bytes", p);
			assert_string_equal(err.msg, want);
		}
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A tender that hangs, with its output open or closed, is killed at the
 * time limit. */
static void test_abi_timeout(void **state)
{
	(void)state;
	char dir[512], p[1024];
	make_dir(dir, sizeof(dir), "abi-timeout");
	alb__tender_abi_cache_clear();
	const char *bodies[] = {"#!/bin/sh\necho 'ABI version 2'\nexec sleep 10\n",
				"#!/bin/sh\nexec >&- 2>&-\nexec sleep 10\n"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/hang%zu", dir, i);
		write_file(p, bodies[i], 0755);
		struct alb_error err = {0};
		int64_t t0 = mono_ms();
		assert_int_equal(alb__tender_check_abi_timeout(p, 2, 300, &err),
				 ALB_ESYS);
		int64_t took = mono_ms() - t0;
		assert_true(took >= 300 && took < 3000);
		char want[1200];
		snprintf(want, sizeof(want),
			 "%s --version did not finish within 300 ms", p);
		assert_string_equal(err.msg, want);
	}
	/* a prompt tender is well inside the limit */
	snprintf(p, sizeof(p), "%s/prompt", dir);
	write_file(p, script_ok, 0755);
	assert_int_equal(alb__tender_check_abi_timeout(p, 2, 300, NULL), 0);
}

/* ALB_TENDER_ABI_CACHE_MAX tenders stay remembered; one more replaces the
 * oldest. */
static void test_abi_cache_limit(void **state)
{
	(void)state;
	char dir[512], p[ALB_TENDER_ABI_CACHE_MAX + 1][1024];
	make_dir(dir, sizeof(dir), "abi-cache");
	alb__tender_abi_cache_clear();
	for (int i = 0; i <= ALB_TENDER_ABI_CACHE_MAX; i++) {
		snprintf(p[i], sizeof(p[i]), "%s/t%d", dir, i);
		counting_script(p[i], "echo 'ABI version 2'\n");
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < ALB_TENDER_ABI_CACHE_MAX; i++)
			assert_int_equal(alb_tender_check_abi(p[i], 2, NULL), 0);
	for (int i = 0; i < ALB_TENDER_ABI_CACHE_MAX; i++)
		assert_int_equal(runs(p[i]), 1);
	assert_int_equal(alb__tender_abi_cache_size(), ALB_TENDER_ABI_CACHE_MAX);

	assert_int_equal(alb_tender_check_abi(p[ALB_TENDER_ABI_CACHE_MAX], 2, NULL), 0);
	assert_int_equal(alb__tender_abi_cache_size(), ALB_TENDER_ABI_CACHE_MAX);
	assert_int_equal(alb_tender_check_abi(p[ALB_TENDER_ABI_CACHE_MAX], 2, NULL), 0);
	assert_int_equal(runs(p[ALB_TENDER_ABI_CACHE_MAX]), 1);
	/* t0 was the oldest and is checked again; t1 is still known */
	assert_int_equal(alb_tender_check_abi(p[1], 2, NULL), 0);
	assert_int_equal(runs(p[1]), 1);
	assert_int_equal(alb_tender_check_abi(p[0], 2, NULL), 0);
	assert_int_equal(runs(p[0]), 2);
}

/* ---- spawn ---------------------------------------------------------------------- */

struct run {
	pid_t pid;
	char *out;
	struct alb_exit_status st;
};

/* The wait status of the child behind pidfd, reaped through the pidfd
 * once poll() says it has ended (as vmmd watches its tenders). */
static int reap_pidfd(int pidfd, pid_t pid)
{
	struct pollfd pf = {.fd = pidfd, .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 30000), 1);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
	assert_int_equal(si.si_pid, pid);
	close(pidfd);
	int st = alb_proc_wait_status(&si);
	assert_true(st >= 0);
	return st;
}

/* Spawns argv (with creds, if any) with a pipe as console, reads the
 * console to EOF, reaps the child through the pidfd that came with it. */
static int run_tender_as(const char *const *argv, const int64_t *cpus,
			 size_t n_cpus, const struct alb_spawn_creds *creds,
			 struct run *r, struct alb_error *err)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	struct alb_spawn s = {.argv = argv, .console_fd = p[1],
			      .cpus = cpus, .n_cpus = n_cpus, .creds = creds};
	struct alb_spawned child;
	int rc = alb_tender_spawn(&s, &child, err);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return rc;
	}
	r->pid = child.pid;
	/* a pidfd of this very child, not inherited by what it runs */
	assert_true(child.pidfd > 2);
	assert_true((fcntl(child.pidfd, F_GETFD) & FD_CLOEXEC) != 0);
	for (size_t i = 0; i < ALB_ARRAY_LEN_(child.reserved_); i++)
		assert_true(child.reserved_[i] == 0);
	r->out = read_all(p[0]);
	close(p[0]);
	int st = reap_pidfd(child.pidfd, child.pid);
	assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &r->st), 0);
	return 0;
}

static int run_tender(const char *const *argv, const int64_t *cpus,
		      size_t n_cpus, struct run *r, struct alb_error *err)
{
	return run_tender_as(argv, cpus, n_cpus, NULL, r, err);
}

static char image[1024];

static void make_image(void)
{
	snprintf(image, sizeof(image), "%s/image.img", tmp_root);
	write_file(image, "not really an ELF file\n", 0644);
}

static void test_spawn_fake(void **state)
{
	(void)state;
	if (fake_tender() == NULL)
		skip();
	make_image();

	/* the test process ignores and blocks signals and holds stray fds
	 * without CLOEXEC: none of that may reach the tender */
	int stray = open("/dev/null", O_RDONLY);
	assert_true(stray >= 0);
	assert_int_equal(dup2(stray, 77), 77);
	signal(SIGHUP, SIG_IGN);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);

	const char *argv[] = {fake_tender(), "--mem=32", "--", image,
			      "--name=hello", "--lines=3", "--exit=7", NULL};
	int64_t cpu0 = 0;
	struct run r;
	assert_int_equal(run_tender(argv, &cpu0, 1, &r, NULL), 0);

	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGHUP, SIG_DFL);
	close(77);
	close(stray);

	assert_int_equal(r.st.kind, ALB_EXIT_CODE);
	assert_int_equal(r.st.value, 7);
	assert_true(has_line(r.out, "fake-tender: affinity 0"));
	assert_true(has_line(r.out, "fake-tender: fds 0 1 2"));
	assert_true(has_line(r.out, "fake-tender: sigblk 0000000000000000"));
	/* SIGPIPE (13) alone is ignored, as for Albatross's tenders, besides
	 * what the C library keeps for itself (reserved_ignored()) */
	char ign[64];
	snprintf(ign, sizeof(ign), "fake-tender: sigign %016llx",
		 (1ull << (SIGPIPE - 1)) | reserved_ignored());
	assert_true(has_line(r.out, ign));
	assert_true(has_line(r.out, "fake-tender: cmdline --name=hello --lines=3 --exit=7"));
	assert_true(has_line(r.out, "fake-tender: line 3"));
	char want[128];
	snprintf(want, sizeof(want), "fake-tender: pid %d pgid %d", (int)r.pid,
		 (int)r.pid);
	assert_true(has_line(r.out, want));
	free(r.out);
}

/* Descriptors open in this process (listing /proc/self/fd). */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the listing's own */
}

static ino_t fd_ino(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

#define CHECK(c) \
	do { \
		if (!(c)) \
			return __LINE__ % 256 == 0 ? 1 : __LINE__ % 256; \
	} while (0)

/* The second half of test_spawn_many_fds, in a process of its own: 0 or
 * (the failed line's number) modulo 256. */
static int spawn_after_close_all(const char *const *argv)
{
	CHECK(syscall(SYS_close_range, 3u, ~0u, 0u) == 0);
	int mine[8];
	ino_t mine_ino[8];
	struct stat st;
	for (int i = 0; i < 8; i++) {
		mine[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		CHECK(mine[i] >= 0 && fstat(mine[i], &st) == 0);
		mine_ino[i] = st.st_ino;
	}
	int before = open_fds();
	int p[2];
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	struct alb_spawn s = {.argv = argv, .console_fd = p[1]};
	struct alb_spawned child;
	CHECK(alb_tender_spawn(&s, &child, NULL) == 0);
	close(p[1]);
	char *out = read_all(p[0]);
	close(p[0]);
	int ws;
	CHECK(waitpid(child.pid, &ws, 0) == child.pid);
	close(child.pidfd);
	CHECK(out != NULL && has_line(out, "fake-tender: fds 0 1 2") &&
	      has_line(out, "fake-tender: cmdline --name=many"));
	free(out);
	CHECK(open_fds() == before);
	for (int i = 0; i < 8; i++) {
		CHECK(fstat(mine[i], &st) == 0 && st.st_ino == mine_ino[i]);
		CHECK((fcntl(mine[i], F_GETFL) & O_ACCMODE) == O_RDONLY);
	}
	return 0;
}

/* A spawn from a process holding thousands of descriptors: the child has
 * stdio alone, the parent's table is as it was (nothing leaked, stdio
 * untouched). Then the program closes every descriptor above stdio (the
 * spawn's console slot with them) and opens others, one of them where the
 * slot was: spawns still work and leave them alone. */
#define MANY_FDS 3000
static void test_spawn_many_fds(void **state)
{
	(void)state;
	if (fake_tender() == NULL)
		skip();
	make_image();
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < MANY_FDS + 64) {
		rl.rlim_cur = rl.rlim_max < MANY_FDS + 64 ? rl.rlim_max : MANY_FDS + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	static int fds[MANY_FDS];
	int n = 0;
	for (; n < MANY_FDS; n++) {
		fds[n] = open("/dev/null", n % 2 ? O_RDONLY | O_CLOEXEC : O_RDONLY);
		if (fds[n] < 0)
			break;
	}
	assert_true(n > 1000);
	const char *argv[] = {fake_tender(), "--mem=32", "--", image,
			      "--name=many", NULL};
	ino_t in0 = fd_ino(0), in1 = fd_ino(1), in2 = fd_ino(2);
	int before = open_fds();
	struct run r;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(run_tender(argv, NULL, 0, &r, NULL), 0);
		assert_true(has_line(r.out, "fake-tender: fds 0 1 2"));
		free(r.out);
		assert_int_equal(open_fds(), before);
	}
	assert_true(fd_ino(0) == in0 && fd_ino(1) == in1 && fd_ino(2) == in2);
	for (int i = 0; i < n; i++)
		close(fds[i]);

	/* every descriptor above stdio closed behind the library's back,
	 * then the lowest numbers taken again; in a child process of the
	 * test, which reports through its exit status (the line that failed) */
	pid_t t = fork();
	assert_true(t >= 0);
	if (t == 0)
		_exit(spawn_after_close_all(argv));
	int st;
	assert_int_equal(waitpid(t, &st, 0), t);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_spawn_affinity(void **state)
{
	(void)state;
	if (fake_tender() == NULL)
		skip();
	make_image();
	/* the last CPU we may use alone, then it with the first one */
	cpu_set_t mine;
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	int first = -1, last = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &mine)) {
			if (first < 0)
				first = i;
			last = i;
		}
	int64_t cpus[2] = {last, first};
	char want_list[32], want_both[32];
	snprintf(want_list, sizeof(want_list), "%d", last);
	if (first == last)
		snprintf(want_both, sizeof(want_both), "%d", first);
	else
		snprintf(want_both, sizeof(want_both), "%d%c%d", first,
			 last == first + 1 ? '-' : ',', last);
	const char *argv[] = {fake_tender(), "--", image, "--sleep-ms=10000", NULL};
	for (int round = 0; round < 2; round++) {
		int p[2];
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		struct alb_spawn s = {.argv = argv, .console_fd = p[1],
				      .cpus = cpus, .n_cpus = round == 0 ? 1 : 2};
		struct alb_spawned child;
		assert_int_equal(alb_tender_spawn(&s, &child, NULL), 0);
		pid_t pid = child.pid;
		close(p[1]);
		/* once it has reported, it has its SIGTERM handler */
		read_until(p[0], "fake-tender: cmdline");
		/* the kernel's view, read while it sleeps */
		char path[64], line[256], list[64] = "";
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		FILE *f = fopen(path, "re");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "Cpus_allowed_list: %63s", list) == 1)
				break;
		fclose(f);
		if (round == 0)
			assert_string_equal(list, want_list);
		else
			assert_string_equal(list, want_both);
		/* SIGTERM as albatrossd sends it (through the pidfd):
		 * solo5-hvt's message, exit 1 */
		assert_int_equal(syscall(SYS_pidfd_send_signal, child.pidfd,
					 SIGTERM, NULL, 0), 0);
		char *out = read_all(p[0]);
		close(p[0]);
		int st = reap_pidfd(child.pidfd, pid);
		struct alb_exit_status es;
		assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &es), 0);
		assert_int_equal(es.kind, ALB_EXIT_CODE);
		assert_int_equal(es.value, 1);
		assert_true(has_line(out, "solo5-hvt: Exiting on signal 15"));
		free(out);
	}
}

static void test_spawn_exit_and_signal(void **state)
{
	(void)state;
	if (fake_tender() == NULL)
		skip();
	make_image();
	struct {
		const char *arg;
		enum alb_exit_kind kind;
		int value;
	} cases[] = {
		{"--exit=0", ALB_EXIT_CODE, 0},     {"--exit=64", ALB_EXIT_CODE, 64},
		{"--exit=255", ALB_EXIT_CODE, 255}, {"--signal=9", ALB_EXIT_SIGNAL, 9},
		{"--signal=15", ALB_EXIT_SIGNAL, 15},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = {fake_tender(), "--", image, cases[i].arg, NULL};
		struct run r;
		assert_int_equal(run_tender(argv, NULL, 0, &r, NULL), 0);
		assert_int_equal(r.st.kind, cases[i].kind);
		assert_int_equal(r.st.value, cases[i].value);
		free(r.out);
	}
	/* the --name fallback: a unikernel that does not know --name */
	const char *argv[] = {fake_tender(), "--", image, "--name=x",
			      "--reject-name", NULL};
	struct run r;
	assert_int_equal(run_tender(argv, NULL, 0, &r, NULL), 0);
	assert_int_equal(r.st.value, 64);
	free(r.out);
	/* tender errors: missing image, tap, block file */
	const char *missing[][6] = {
		{fake_tender(), "--", "/nonexistent.img", NULL},
		{fake_tender(), "--net:service=nosuchtap0", "--", image, NULL},
		{fake_tender(), "--block:storage=/nonexistent", "--", image, NULL},
		{fake_tender(), "--bogus", "--", image, NULL},
	};
	const char *msgs[] = {
		"solo5-hvt: /nonexistent.img: Could not open: No such file or directory",
		"solo5-hvt: Could not attach interface: nosuchtap0: No such file or directory",
		"solo5-hvt: Could not open block device: /nonexistent: No such file or directory",
		"solo5-hvt: Invalid option: `--bogus'",
	};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(run_tender(missing[i], NULL, 0, &r, NULL), 0);
		assert_int_equal(r.st.kind, ALB_EXIT_CODE);
		assert_int_equal(r.st.value, 1);
		assert_true(has_line(r.out, msgs[i]));
		free(r.out);
	}
}

static void test_spawn_errors(void **state)
{
	(void)state;
	struct alb_error err = {0};
	struct run r;
	const char *argv1[] = {"/nonexistent/tender", "--version", NULL};
	assert_int_equal(run_tender(argv1, NULL, 0, &r, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_string_equal(err.msg,
			    "exec /nonexistent/tender failed: No such file or directory");

	const char *argv2[] = {"no-such-tender-here", NULL};
	assert_int_equal(run_tender(argv2, NULL, 0, &r, &err), ALB_ESYS);
	assert_string_equal(err.msg,
			    "exec no-such-tender-here failed: No such file or directory");

	/* a file without x permission fails in the child's execve */
	char p[1024];
	snprintf(p, sizeof(p), "%s/noexec", tmp_root);
	write_file(p, script_ok, 0644);
	const char *argv3[] = {p, NULL};
	assert_int_equal(run_tender(argv3, NULL, 0, &r, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, EACCES);
	char want[1200];
	snprintf(want, sizeof(want), "exec %s failed: Permission denied", p);
	assert_string_equal(err.msg, want);

	/* CPU ids: the last one a cpu_set_t holds passes the check (the
	 * kernel refuses it, no such CPU), one past it does not */
	const char *argv4[] = {"/bin/true", NULL};
	int64_t cpu = ALB_TENDER_CPU_MAX - 1;
	assert_int_equal(run_tender(argv4, &cpu, 1, &r, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, EINVAL);
	assert_string_equal(err.msg, "spawning /bin/true: sched_setaffinity "
				     "failed: Invalid argument");
	cpu = ALB_TENDER_CPU_MAX;
	assert_int_equal(run_tender(argv4, &cpu, 1, &r, &err), ALB_ETOOBIG);
	assert_string_equal(err.msg, "CPU id 1024 out of range 0..1023");
	cpu = -1;
	assert_int_equal(run_tender(argv4, &cpu, 1, &r, &err), ALB_ETOOBIG);

	struct alb_spawn s = {.argv = argv4, .console_fd = -1};
	struct alb_spawned child;
	assert_int_equal(alb_tender_spawn(&s, &child, NULL), ALB_EINVAL);
	assert_int_equal(alb_tender_spawn(NULL, &child, NULL), ALB_EINVAL);
	s.console_fd = 1;
	assert_int_equal(alb_tender_spawn(&s, NULL, NULL), ALB_EINVAL);
	/* a reserved word that is not zero is refused, nothing started */
	s.reserved_[ALB_ARRAY_LEN_(s.reserved_) - 1] = 1;
	assert_int_equal(alb_tender_spawn(&s, &child, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "spawn: reserved fields must be zero");

	/* no pidfd is left open by a failed spawn: the next fd is the same */
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(probe >= 0);
	close(probe);
	cpu = ALB_TENDER_CPU_MAX - 1;
	assert_int_equal(run_tender(argv4, &cpu, 1, &r, &err), ALB_ESYS);
	int probe2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(probe2, probe);
	close(probe2);

	/* no zombie is left behind by a failed spawn */
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* Ids no user or group of the machine has (each test process ends
 * before any other could use them). */
#define CRED_UID 3000000000u
#define CRED_GID 3000000100u

/* A tender under a uid of its own: its ids, no capability in any set,
 * no_new_privs; the limits of the credentials at and one past them. */
static void test_spawn_creds(void **state)
{
	(void)state;
	if (fake_tender() == NULL)
		skip();
	if (geteuid() != 0) {
		printf("skipped: changing credentials needs root\n");
		skip();
	}
	make_image();
	/* the tender's uid must reach its image */
	assert_int_equal(chmod(tmp_root, 0711), 0);
	uint32_t groups[ALB_SPAWN_GROUPS_MAX + 1];
	for (size_t i = 0; i <= ALB_SPAWN_GROUPS_MAX; i++)
		groups[i] = CRED_GID + 1 + (uint32_t)i;
	struct alb_spawn_creds cr = {.uid = CRED_UID, .gid = CRED_GID,
				     .n_groups = 1, .groups = groups};
	const char *argv[] = {fake_tender(), "--", image, "--exit=3", NULL};
	struct run r;
	struct alb_error err = {0};
	assert_int_equal(run_tender_as(argv, NULL, 0, &cr, &r, &err), 0);
	assert_int_equal(r.st.value, 3);
	char want[256];
	snprintf(want, sizeof(want), "fake-tender: uid %u\t%u\t%u\t%u", CRED_UID,
		 CRED_UID, CRED_UID, CRED_UID);
	assert_true(has_line(r.out, want));
	snprintf(want, sizeof(want), "fake-tender: gid %u\t%u\t%u\t%u", CRED_GID,
		 CRED_GID, CRED_GID, CRED_GID);
	assert_true(has_line(r.out, want));
	snprintf(want, sizeof(want), "fake-tender: groups %u", CRED_GID + 1);
	assert_true(has_line(r.out, want));
	static const char *const zero[] = {"capinh", "capprm", "capeff",
					   "capbnd", "capamb"};
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		snprintf(want, sizeof(want), "fake-tender: %s 0000000000000000",
			 zero[i]);
		assert_true(has_line(r.out, want));
	}
	assert_true(has_line(r.out, "fake-tender: nnp 1"));
	free(r.out);

	/* ALB_SPAWN_GROUPS_MAX groups, all of them taken */
	cr.n_groups = ALB_SPAWN_GROUPS_MAX;
	assert_int_equal(run_tender_as(argv, NULL, 0, &cr, &r, &err), 0);
	char all[512] = "fake-tender: groups";
	for (size_t i = 0; i < ALB_SPAWN_GROUPS_MAX; i++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all), " %u",
			 groups[i]);
	assert_true(has_line(r.out, all));
	free(r.out);
	/* one past */
	cr.n_groups = ALB_SPAWN_GROUPS_MAX + 1;
	assert_int_equal(run_tender_as(argv, NULL, 0, &cr, &r, &err), ALB_ETOOBIG);
	assert_string_equal(err.msg, "spawn: 33 supplementary groups, at most 32");

	/* root in any id is refused before any child exists */
	cr.n_groups = 1;
	cr.uid = 0;
	assert_int_equal(run_tender_as(argv, NULL, 0, &cr, &r, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "spawn: uid 0 gid 3000000100: a tender may "
				     "not run as root");
	cr.uid = CRED_UID;
	cr.gid = 0;
	assert_int_equal(run_tender_as(argv, NULL, 0, &cr, &r, &err), ALB_EINVAL);
	cr.gid = CRED_GID;
	groups[0] = 0;
	assert_int_equal(run_tender_as(argv, NULL, 0, &cr, &r, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "spawn: group 0: a tender may not have the "
				     "root group");
	groups[0] = CRED_GID + 1;
	cr.reserved_[1] = 1;
	assert_int_equal(run_tender_as(argv, NULL, 0, &cr, &r, &err), ALB_EINVAL);
	cr.reserved_[1] = 0;

	/* a tender its uid may not execute fails at exec, reported */
	char dir[1024], exe[1100];
	snprintf(dir, sizeof(dir), "%s/private", tmp_root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(exe, sizeof(exe), "%s/tender", dir);
	write_file(exe, script_ok, 0755);
	const char *argv2[] = {exe, NULL};
	assert_int_equal(run_tender_as(argv2, NULL, 0, &cr, &r, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, EACCES);
	/* as before without credentials */
	assert_int_equal(run_tender(argv2, NULL, 0, &r, &err), 0);
	free(r.out);
	unlink(exe);
	rmdir(dir);
	assert_int_equal(chmod(tmp_root, 0700), 0);
}

/* The console as a FIFO, opened the way albatrossd opens it. */
static void test_spawn_fifo_console(void **state)
{
	(void)state;
	if (fake_tender() == NULL)
		skip();
	make_image();
	char fifo[1024];
	snprintf(fifo, sizeof(fifo), "%s/console", tmp_root);
	assert_int_equal(mkfifo(fifo, 0640), 0);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	int wr = open(fifo, O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(wr >= 0);
	assert_int_equal(fcntl(rd, F_SETFL, 0), 0);
	const char *argv[] = {fake_tender(), "--", image, "--lines=100",
			      "--spam-bytes=100000", NULL};
	struct alb_spawn s = {.argv = argv, .console_fd = wr};
	struct alb_spawned child;
	assert_int_equal(alb_tender_spawn(&s, &child, NULL), 0);
	close(wr);
	char *out = read_all(rd);
	close(rd);
	int st = reap_pidfd(child.pidfd, child.pid);
	assert_true(WIFEXITED(st));
	assert_true(has_line(out, "fake-tender: line 1"));
	assert_true(has_line(out, "fake-tender: line 100"));
	char *x = strstr(out, "xxxx");
	assert_non_null(x);
	assert_int_equal(strspn(x, "x"), 100000);
	free(out);
	unlink(fifo);
}

/* The child of a spawn is named ALB_SPAWN_COMM from its birth to its
 * exec, while /proc shows the spawner's command line (they share memory
 * until the exec): what lets a daemon that starts after one killed during
 * a spawn recognise the child (vmmd_spawning.c). A tracer stops the child
 * right after the clone (PTRACE_O_TRACEVFORK: before it runs a single
 * instruction) and looks; the spawner has its own name back afterwards. */
static void test_spawn_name_before_exec(void **state)
{
	(void)state;
	fflush(stdout);
	fflush(stderr);
	pid_t s = fork();
	assert_true(s >= 0);
	if (s == 0) {
		prctl(PR_SET_NAME, "spawner");
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
			_exit(77);
		raise(SIGSTOP);
		int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		const char *argv[] = {"/bin/true", NULL};
		struct alb_spawn sp = {.argv = argv, .console_fd = fd};
		struct alb_spawned child;
		if (alb_tender_spawn(&sp, &child, NULL) != 0)
			_exit(1);
		char name[ALB_SPAWN_COMM_BUF] = {0};
		prctl(PR_GET_NAME, name);
		_exit(strcmp(name, "spawner") == 0 ? 0 : 2);
	}
	int st;
	assert_int_equal(waitpid(s, &st, 0), s);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		skip(); /* ptrace is not allowed here */
	assert_true(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP);
	long opts = PTRACE_O_TRACEVFORK | PTRACE_O_TRACEFORK |
		    PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;
	assert_int_equal(ptrace(PTRACE_SETOPTIONS, s, NULL, (void *)opts), 0);
	assert_int_equal(ptrace(PTRACE_CONT, s, NULL, NULL), 0);
	/* the spawner stops at the clone (other stops are passed on) */
	for (;;) {
		assert_int_equal(waitpid(s, &st, __WALL), s);
		assert_true(WIFSTOPPED(st));
		int ev = st >> 16;
		if (ev == PTRACE_EVENT_VFORK || ev == PTRACE_EVENT_FORK ||
		    ev == PTRACE_EVENT_CLONE)
			break;
		int sig = ev == 0 && WSTOPSIG(st) != SIGTRAP ? WSTOPSIG(st) : 0;
		assert_int_equal(ptrace(PTRACE_CONT, s, NULL, (void *)(long)sig), 0);
	}
	unsigned long child = 0;
	assert_int_equal(ptrace(PTRACE_GETEVENTMSG, s, NULL, &child), 0);
	pid_t c = (pid_t)child;
	assert_int_equal(waitpid(c, &st, __WALL), c);
	assert_true(WIFSTOPPED(st));
	char path[64], comm[64] = {0};
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)c);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, comm, sizeof(comm) - 1) > 0);
	close(fd);
	assert_string_equal(comm, ALB_SPAWN_COMM "\n");
	/* its command line is the spawner's, not the tender's */
	char cs[4096] = {0}, cc[4096] = {0};
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)s);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t ns = fd >= 0 ? read(fd, cs, sizeof(cs)) : -1;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)c);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t nc = fd >= 0 ? read(fd, cc, sizeof(cc)) : -1;
	if (fd >= 0)
		close(fd);
	assert_true(ns > 0);
	assert_int_equal(nc, ns);
	assert_memory_equal(cc, cs, (size_t)ns);
	assert_int_equal(ptrace(PTRACE_DETACH, c, NULL, NULL), 0);
	assert_int_equal(ptrace(PTRACE_DETACH, s, NULL, NULL), 0);
	assert_int_equal(waitpid(s, &st, 0), s);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* What alb_tender_argv() builds is what the tender receives. */
static void test_spawn_built_argv(void **state)
{
	(void)state;
	if (fake_tender() == NULL)
		skip();
	char tmpdir[512], dbdir[512], blockdir[600], p[1200];
	make_dir(tmpdir, sizeof(tmpdir), "run");
	make_dir(dbdir, sizeof(dbdir), "db");
	snprintf(blockdir, sizeof(blockdir), "%s/block", dbdir);
	assert_int_equal(mkdir(blockdir, 0700), 0);
	snprintf(p, sizeof(p), "%s/:data", blockdir);
	write_file(p, "", 0600);
	snprintf(p, sizeof(p), "%s/:hello.img", tmpdir);
	write_file(p, "image", 0644);

	struct alb_unikernel_config c = base_config();
	struct alb_net_dev nets[1] = {{.netif = S("service")}};
	struct alb_tender_net taps[1] = {{.tap = "lo", .mac = {0, 0x80, 0x41, 1, 2, 3}}};
	struct alb_block_dev blocks[1] = {
		{.name = S("storage"), .device = S("data"),
		 .has_sector_size = true, .sector_size = 512}};
	struct alb_str args[] = {S("--lines=2"), S("--exit=3")};
	c.n_bridges = 1;
	c.bridges = nets;
	c.n_blocks = 1;
	c.blocks = blocks;
	c.has_argv = true;
	c.n_argv = 2;
	c.argv = args;
	struct alb_tender_cmd cmd = base_cmd(&c, ":hello");
	cmd.tender = fake_tender();
	cmd.nets = taps;
	cmd.tmpdir = tmpdir;
	cmd.dbdir = dbdir;
	struct alb_argv a = {0};
	assert_int_equal(alb_tender_argv(&cmd, &a, NULL), 0);
	struct run r;
	assert_int_equal(run_tender((const char *const *)a.argv, NULL, 0, &r, NULL),
			 0);
	assert_int_equal(r.st.kind, ALB_EXIT_CODE);
	assert_int_equal(r.st.value, 3);
	for (size_t i = 0; i < a.argc; i++) {
		char want[1400];
		snprintf(want, sizeof(want), "fake-tender: argv %zu %s", i, a.argv[i]);
		assert_true(has_line(r.out, want));
	}
	assert_true(has_line(r.out, "fake-tender: line 2"));
	free(r.out);
	alb_argv_free(&a);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmp_root) == NULL ? -1 : 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_no_devices),
		cmocka_unit_test(test_argv_nets),
		cmocka_unit_test(test_argv_blocks),
		cmocka_unit_test(test_argv_full_name_and_args),
		cmocka_unit_test(test_argv_rejects),
		cmocka_unit_test(test_argv_cmdline_limit),
		cmocka_unit_test(test_argv_qemu),
		cmocka_unit_test(test_argv_total_limit),
		cmocka_unit_test(test_exit_decode),
		cmocka_unit_test(test_exit_format),
		cmocka_unit_test(test_restart_table),
		cmocka_unit_test(test_lookup_order),
		cmocka_unit_test(test_abi_check),
		cmocka_unit_test(test_abi_output_limit),
		cmocka_unit_test(test_abi_timeout),
		cmocka_unit_test(test_abi_cache_limit),
		cmocka_unit_test(test_spawn_fake),
		cmocka_unit_test(test_spawn_many_fds),
		cmocka_unit_test(test_spawn_affinity),
		cmocka_unit_test(test_spawn_exit_and_signal),
		cmocka_unit_test(test_spawn_errors),
		cmocka_unit_test(test_spawn_fifo_console),
		cmocka_unit_test(test_spawn_creds),
		cmocka_unit_test(test_spawn_built_argv),
		cmocka_unit_test(test_spawn_name_before_exec),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
