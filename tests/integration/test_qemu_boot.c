/* Integration: a real virtual machine. The demo unikernel
 * (examples/hello-unikernel, a multiboot kernel with Solo5 virtio notes)
 * is booted under QEMU through the library, as root in a private network
 * namespace with a tap on a bridge there: its notes are read by the image
 * module, its command line built and spawned by the tender module, its
 * greeting read from the console FIFO, the exit code it was asked for
 * decoded from QEMU's status. TCG always; KVM too when /dev/kvm opens.
 * Prints the time from spawn to exit under each accelerator. Skips only
 * when QEMU or the kernel is absent (or without root).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "albatross/image.h"
#include "albatross/net.h"
#include "albatross/tender.h"
#include "host_helpers.h"

#define BRIDGE "albqemu0"
#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

static char dir[] = "/tmp/alb-qemu-boot-XXXXXX";
static char tmpdir[256], dbdir[256], fifo[300], image[300], kernel[1024];
static char qemu[ALB_TENDER_PATH_MAX];

/* Has pid exited? It stays a zombie for the caller to reap. */
static bool exited(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
	       si.si_pid != 0;
}

struct boot {
	char *out;
	struct alb_exit_status st;
	int64_t us;      /* spawn to exit */
	bool tap_up;     /* QEMU attached the tap while it ran */
};

/* Boots the image at <tmpdir>/:hello.img with args under accel. */
static void boot(enum alb_qemu_accel accel, const char *tap,
		 struct alb_str *args, size_t n_args, struct boot *b)
{
	struct alb_net_dev nets[1] = {{.netif = S("service"), .bridge = S(BRIDGE)}};
	struct alb_tender_net taps[1] = {{.tap = tap}};
	assert_int_equal(alb_mac_derive(nets[0].netif, ":hello", taps[0].mac, NULL), 0);
	struct alb_unikernel_config c = {
		.typ = ALB_TYP_SOLO5, .memory = 32, .add_name = true,
		.n_bridges = 1, .bridges = nets, .has_argv = true,
		.n_argv = n_args, .argv = args, .numcpus = 1,
	};
	struct alb_tender_cmd cmd = {
		.kind = ALB_TENDER_QEMU, .tender = qemu, .name = ":hello",
		.config = &c, .nets = taps, .tmpdir = tmpdir, .dbdir = dbdir,
		.accel = accel,
	};
	struct alb_error err = {0};
	struct alb_argv argv = {0};
	assert_int_equal(alb_tender_argv(&cmd, &argv, &err), 0);

	int rd = -1, wr = -1;
	assert_true(console_fifo(fifo, &rd, &wr));
	int64_t cpu0 = 0;
	struct alb_spawn sp = {.argv = (const char *const *)argv.argv,
			       .console_fd = wr, .n_cpus = 1, .cpus = &cpu0};
	struct alb_spawned child;
	int64_t t0 = monotonic_us();
	assert_int_equal(alb_tender_spawn(&sp, &child, &err), 0);
	pid_t pid = child.pid;
	close(child.pidfd);
	close(wr);
	char cpus[64];
	proc_cpus_allowed(pid, cpus, sizeof(cpus));
	assert_string_equal(cpus, "0");

	/* the tap's carrier comes up once QEMU has opened it */
	b->tap_up = false;
	for (int i = 0; i < 2000 && !b->tap_up; i++) {
		char state[32];
		if (sysfs_read(tap, "operstate", state, sizeof(state)) &&
		    strcmp(state, "up") == 0)
			b->tap_up = true;
		else if (exited(pid))
			break;
		else
			usleep(1000);
	}
	b->out = read_to_eof(rd);
	close(rd);
	assert_non_null(b->out);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	b->us = monotonic_us() - t0;
	assert_int_equal(alb_tender_exit_decode(st, ALB_TENDER_QEMU, &b->st), 0);
	alb_argv_free(&argv);
	unlink(fifo);
}

static void run_accel(enum alb_qemu_accel accel, const char *name)
{
	struct alb_net *net;
	assert_int_equal(alb_net_new(&net, NULL), 0);
	assert_int_equal(alb_bridge_create(net, BRIDGE, NULL), 0);
	char tap[ALB_IFNAME_SIZE];
	assert_int_equal(alb_tap_create(net, BRIDGE, tap, NULL), 0);

	struct alb_str args[] = {S("--seconds=1"), S("--exit=5")};
	struct boot b;
	boot(accel, tap, args, 2, &b);
	if (!(b.st.kind == ALB_EXIT_CODE && b.st.value == 5))
		printf("%s", b.out);
	assert_int_equal(b.st.kind, ALB_EXIT_CODE);
	assert_int_equal(b.st.value, 5);
	assert_true(b.tap_up);
	assert_true(output_has_line(b.out, "Hello from albatross hello-unikernel"));
	char line[600];
	snprintf(line, sizeof(line), "cmdline: %s --name=hello --seconds=1 --exit=5",
		 image);
	assert_true(output_has_line(b.out, line));
	assert_true(output_has_line(b.out, "tick 1"));
	assert_true(output_has_line(b.out, "exiting with code 5"));
	struct alb_fail restart_all = {.restart = true};
	assert_int_equal(alb_tender_restart_decision(&restart_all, true, &b.st),
			 ALB_RESTART_SAME);
	free(b.out);

	/* how long a boot takes when the unikernel exits at once (with 2:
	 * an exit 0 through isa-debug-exit looks like QEMU's own failure) */
	struct alb_str quick[] = {S("--seconds=0"), S("--exit=2")};
	boot(accel, tap, quick, 2, &b);
	assert_int_equal(b.st.kind, ALB_EXIT_CODE);
	assert_int_equal(b.st.value, 2);
	printf("qemu %s: spawn to exit of hello-unikernel %.1f ms\n", name,
	       (double)b.us / 1000.0);
	free(b.out);

	assert_int_equal(alb_tap_destroy(net, tap, NULL), 0);
	assert_int_equal(alb_bridge_delete(net, BRIDGE, NULL), 0);
	alb_net_free(net);
	assert_true(only_loopback());
}

static void test_notes(void **state)
{
	(void)state;
	size_t len = 0;
	uint8_t *elf = load_file(kernel, 1 << 24, &len);
	assert_non_null(elf);
	struct alb_solo5_info info;
	struct alb_error err = {0};
	assert_int_equal(alb_solo5_parse(elf, len, &info, &err), 0);
	/* a virtio image is what QEMU runs */
	assert_int_equal(info.target, ALB_SOLO5_VIRTIO);
	assert_int_equal((int)info.target, (int)ALB_TENDER_QEMU);
	struct alb_net_dev nets[1] = {{.netif = S("service")}};
	struct alb_unikernel_config c = {.memory = 32, .n_bridges = 1,
					 .bridges = nets};
	assert_int_equal(alb_manifest_match(&info, &c, &err), 0);

	assert_true(store_file(image, elf, len));
	free(elf);
}

static void test_boot_tcg(void **state)
{
	(void)state;
	run_accel(ALB_QEMU_ACCEL_DEFAULT, "tcg (default)");
}

static void test_boot_kvm(void **state)
{
	(void)state;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("kvm: /dev/kvm: %s, not tried\n", strerror(errno));
		skip();
	}
	close(fd);
	run_accel(ALB_QEMU_ACCEL_KVM, "kvm");
}

static int tests(void)
{
	if (!make_test_dirs(dir, tmpdir, dbdir, sizeof(tmpdir)))
		return 1;
	snprintf(fifo, sizeof(fifo), "%s/fifo-hello", tmpdir);
	snprintf(image, sizeof(image), "%s/:hello.img", tmpdir);
	const struct CMUnitTest list[] = {
		cmocka_unit_test(test_notes),
		cmocka_unit_test(test_boot_tcg),
		cmocka_unit_test(test_boot_kvm),
	};
	int rc = cmocka_run_group_tests(list, NULL, NULL);
	remove_tree(dir);
	return rc;
}

int main(void)
{
	const char *root = getenv("ALB_BUILD_ROOT");
	snprintf(kernel, sizeof(kernel), "%s/examples/hello-unikernel/hello.elf",
		 root ? root : ".");
	if (access(kernel, R_OK) != 0) {
		printf("skipped: no demo kernel at %s\n", kernel);
		return SKIP_STATUS;
	}
	if (alb_tender_lookup(ALB_TENDER_QEMU, 0, "/nonexistent", qemu, NULL) != 0) {
		printf("skipped: qemu-system-x86_64 is not installed\n");
		return SKIP_STATUS;
	}
	return run_in_netns(tests);
}
