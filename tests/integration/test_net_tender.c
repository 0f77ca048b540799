/* Integration: the host layer end to end, as root in a private network
 * namespace. A bridge, two taps made by the net module, the fake tender
 * started through the tender module with the command line albatrossd would
 * build, pinned to CPU 0, its console read from a FIFO, its exit status
 * decoded; then the taps are destroyed and nothing may be left.
 * SPDX-License-Identifier: ISC */
#include <net/if.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "albatross/net.h"
#include "albatross/tender.h"
#include "host_helpers.h"

#define BRIDGE "albtest0"
#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

static char dir[] = "/tmp/alb-net-tender-XXXXXX";
static char tmpdir[256], dbdir[256], fifo[300], image[300];

/* The kernel agrees that tap is an up tap device enslaved to BRIDGE. */
static void check_tap(const char *tap)
{
	char flags[32], tun[32], master[IF_NAMESIZE];
	assert_true(sysfs_read(tap, "flags", flags, sizeof(flags)));
	assert_true(strtoul(flags, NULL, 16) & IFF_UP);
	assert_true(sysfs_read(tap, "tun_flags", tun, sizeof(tun)));
	assert_true(strtoul(tun, NULL, 16) & 0x0002 /* IFF_TAP */);
	sysfs_master(tap, master, sizeof(master));
	assert_string_equal(master, BRIDGE);
}

/* Everything albatrossd would do between prepare and exit, with the fake
 * tender in place of solo5-hvt. */
static void test_taps_and_tender(void **state)
{
	(void)state;
	const char *fake = getenv("ALB_FAKE_TENDER");
	struct alb_net *net;
	assert_int_equal(alb_net_new(&net, NULL), 0);
	struct alb_error err = {0};
	assert_int_equal(alb_bridge_create(net, BRIDGE, &err), 0);

	struct alb_net_dev nets[2] = {
		{.netif = S("service"), .bridge = S(BRIDGE)},
		{.netif = S("other"), .bridge = S(BRIDGE), .has_mac = true,
		 .mac = {0x02, 0, 0, 0, 0, 0x07}},
	};
	/* zeroed: their reserved words must be (the release build's stack is
	 * not, where the sanitizers' happened to be) */
	struct alb_tender_net taps[2];
	memset(taps, 0, sizeof(taps));
	char tapname[2][ALB_IFNAME_SIZE];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(alb_tap_create(net, BRIDGE, tapname[i], &err), 0);
		taps[i].tap = tapname[i];
		check_tap(tapname[i]);
	}
	assert_string_equal(tapname[0], "vmmtap0");
	assert_string_equal(tapname[1], "vmmtap1");
	assert_int_equal(alb_mac_derive(nets[0].netif, ":hello", taps[0].mac, NULL), 0);
	memcpy(taps[1].mac, nets[1].mac, ALB_MAC_LEN);

	struct alb_str args[] = {S("--sleep-ms=500"), S("--lines=5"), S("--exit=3")};
	struct alb_unikernel_config c = {
		.typ = ALB_TYP_SOLO5, .memory = 32, .add_name = true,
		.fail = {.restart = true}, .n_bridges = 2, .bridges = nets,
		.has_argv = true, .n_argv = 3, .argv = args, .numcpus = 1,
	};
	struct alb_tender_cmd cmd = {
		.kind = ALB_TENDER_HVT, .tender = fake, .name = ":hello",
		.config = &c, .nets = taps, .tmpdir = tmpdir, .dbdir = dbdir,
	};
	struct alb_argv argv = {0};
	assert_int_equal(alb_tender_argv(&cmd, &argv, &err), 0);

	int rd = -1, wr = -1;
	assert_true(console_fifo(fifo, &rd, &wr));
	int64_t cpu0 = 0;
	struct alb_spawn sp = {.argv = (const char *const *)argv.argv,
			       .console_fd = wr, .n_cpus = 1, .cpus = &cpu0};
	struct alb_spawned child;
	assert_int_equal(alb_tender_spawn(&sp, &child, &err), 0);
	pid_t pid = child.pid;
	close(child.pidfd);
	close(wr);
	char cpus[64];
	proc_cpus_allowed(pid, cpus, sizeof(cpus));
	assert_string_equal(cpus, "0");

	char *out = read_to_eof(rd);
	close(rd);
	assert_non_null(out);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	struct alb_exit_status es;
	assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &es), 0);
	assert_int_equal(es.kind, ALB_EXIT_CODE);
	assert_int_equal(es.value, 3);
	assert_int_equal(alb_tender_restart_decision(&c.fail, c.add_name, &es),
			 ALB_RESTART_SAME);

	char line[128], mac[ALB_MAC_STR_SIZE];
	assert_true(output_has_line(out, "fake-tender: affinity 0"));
	assert_true(output_has_line(out, "fake-tender: line 5"));
	assert_true(output_has_line(out, "fake-tender: fds 0 1 2"));
	assert_true(output_has_line(out, "fake-tender: argv 2 --net:service=vmmtap0"));
	assert_true(output_has_line(out, "fake-tender: argv 3 --net:other=vmmtap1"));
	alb_mac_print(taps[0].mac, mac);
	snprintf(line, sizeof(line), "fake-tender: argv 4 --net-mac:service=%s", mac);
	assert_true(output_has_line(out, line));
	assert_true(output_has_line(
	    out, "fake-tender: cmdline --name=hello --sleep-ms=500 --lines=5 --exit=3"));
	free(out);

	/* destroyed taps: the same command line now fails like solo5-hvt */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(alb_tap_destroy(net, tapname[i], &err), 0);
		char flags[32];
		assert_false(sysfs_read(tapname[i], "flags", flags, sizeof(flags)));
	}
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	sp.console_fd = p[1];
	assert_int_equal(alb_tender_spawn(&sp, &child, &err), 0);
	pid = child.pid;
	close(child.pidfd);
	close(p[1]);
	out = read_to_eof(p[0]);
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &es), 0);
	assert_int_equal(es.value, 1);
	assert_false(alb_tender_should_restart(&c.fail, &es));
	assert_true(output_has_line(out, "solo5-hvt: Could not attach interface: "
					 "vmmtap0: No such file or directory"));
	free(out);
	alb_argv_free(&argv);

	assert_int_equal(alb_bridge_delete(net, BRIDGE, &err), 0);
	alb_net_free(net);
	assert_true(only_loopback());
	unlink(fifo);
}

/* SIGTERM, as albatrossd's destroy sends it, to a tender on a tap. */
static void test_destroy_running(void **state)
{
	(void)state;
	const char *fake = getenv("ALB_FAKE_TENDER");
	struct alb_net *net;
	assert_int_equal(alb_net_new(&net, NULL), 0);
	assert_int_equal(alb_bridge_create(net, BRIDGE, NULL), 0);
	char tap[ALB_IFNAME_SIZE];
	assert_int_equal(alb_tap_create(net, BRIDGE, tap, NULL), 0);
	char net_arg[64];
	snprintf(net_arg, sizeof(net_arg), "--net:service=%s", tap);
	const char *argv[] = {fake, net_arg, "--", image, "--sleep-ms=20000", NULL};
	int rd = -1, wr = -1;
	assert_true(console_fifo(fifo, &rd, &wr));
	int64_t cpu0 = 0;
	struct alb_spawn sp = {.argv = argv, .console_fd = wr, .n_cpus = 1,
			       .cpus = &cpu0};
	struct alb_spawned child;
	assert_int_equal(alb_tender_spawn(&sp, &child, NULL), 0);
	pid_t pid = child.pid;
	close(child.pidfd);
	close(wr);
	/* its report comes before its SIGTERM handler is in place */
	char buf[8192];
	size_t len = 0;
	while (len + 1 < sizeof(buf)) {
		ssize_t n = read(rd, buf + len, sizeof(buf) - 1 - len);
		assert_true(n > 0);
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "fake-tender: cmdline") != NULL)
			break;
	}
	assert_int_equal(kill(pid, SIGTERM), 0);
	char *out = read_to_eof(rd);
	close(rd);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	struct alb_exit_status es;
	assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_HVT, &es), 0);
	assert_int_equal(es.kind, ALB_EXIT_CODE);
	assert_int_equal(es.value, 1);
	assert_true(output_has_line(out, "solo5-hvt: Exiting on signal 15"));
	free(out);
	assert_int_equal(alb_tap_destroy(net, tap, NULL), 0);
	assert_int_equal(alb_bridge_delete(net, BRIDGE, NULL), 0);
	alb_net_free(net);
	assert_true(only_loopback());
	unlink(fifo);
}

static int tests(void)
{
	if (!make_test_dirs(dir, tmpdir, dbdir, sizeof(tmpdir)))
		return 1;
	snprintf(fifo, sizeof(fifo), "%s/fifo-hello", tmpdir);
	snprintf(image, sizeof(image), "%s/:hello.img", tmpdir);
	if (!store_file(image, "image", 5))
		return 1;
	const struct CMUnitTest list[] = {
		cmocka_unit_test(test_taps_and_tender),
		cmocka_unit_test(test_destroy_running),
	};
	int rc = cmocka_run_group_tests(list, NULL, NULL);
	remove_tree(dir);
	return rc;
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	return run_in_netns(tests);
}
