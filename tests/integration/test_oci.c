/* Integration test of alb-oci: Debian's containerd (started here with its
 * own root, state, socket and runc root, in a private network and mount
 * namespace) runs image archives built by examples/oci-image.py from the
 * fake tender's Solo5 image and the demo unikernel, with
 * `ctr run --runc-binary <build>/cli/alb-oci`; the network path in a
 * namespace with a veth pair made here; and alb-oci's own calls for what
 * containerd does not show (a crashed container, pinning, memory, blocks).
 * Skips (77) with a reason where containerd cannot run.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "albd_harness.h"
#include "oci_harness.h"

#define OUT_MAX OH_OUT_MAX
#define SKIP_STATUS 77

/* Runs a shell command into `out` (a local array) and fails, showing its
 * output, unless it exits with want. */
#define SH_EXPECT(want, ...)                                                  \
	do {                                                                  \
		int rc_ = oh_sh(out, sizeof(out), __VA_ARGS__);               \
		if (rc_ != (want)) {                                          \
			printf("%s\n", out);                                  \
			fail_msg("status %d, not %d", rc_, (want));           \
		}                                                             \
	} while (0)
/* The pod's addresses (inside namespaces made here, nowhere else). */
#define POD_ADDR "10.213.0.2"
#define POD_GW "10.213.0.1"

static struct oci_harness H;
static char ctr_run[OH_PATH * 4]; /* "ctr -a S run --runc-binary B ..." */
static pid_t pod;                 /* holds the pod's network namespace */
static char pod_ns[64];
static char veth_mac[ALB_MAC_STR_SIZE];

/* Writes a Solo5 hvt image with the given devices to <dir>/name. */
static void fake_image(const char *name, const char *const *devs,
		       const unsigned *types, size_t n)
{
	size_t len;
	uint8_t *img = h_image(ALB_SOLO5_HVT, devs, types, n, 0, &len);
	char path[OH_PATH + 64];
	snprintf(path, sizeof(path), "%s/%s", H.dir, name);
	assert_non_null(img);
	assert_int_equal(h_write_file(path, img, len), 0);
	free(img);
}

/* ---- the pod: a network namespace with a veth pair ---------------------- */

static int make_pod(void)
{
	int ready[2];
	if (pipe(ready) != 0)
		return -1;
	pod = fork();
	if (pod == 0) {
		char c = 0;
		if (unshare(CLONE_NEWNET) != 0)
			test_child_exit(1);
		if (write(ready[1], &c, 1) != 1)
			test_child_exit(1);
		pause();
		test_child_exit(0);
	}
	char c;
	close(ready[1]);
	if (pod < 0 || read(ready[0], &c, 1) != 1)
		return -1;
	close(ready[0]);
	snprintf(pod_ns, sizeof(pod_ns), "/proc/%d/ns/net", (int)pod);
	char out[1024];
	int rc = oh_sh(out, sizeof(out),
		       "ip link add vpod type veth peer name eth0 netns %d && "
		       "ip addr add " POD_GW "/24 dev vpod && ip link set vpod up && "
		       "nsenter --net=%s sh -c 'ip link set lo up && "
		       "ip addr add " POD_ADDR "/24 dev eth0 && ip link set eth0 up && "
		       "ip route add default via " POD_GW "' && "
		       "nsenter --net=%s ip -o link show eth0 | "
		       "sed 's/.*link.ether \\([0-9a-f:]*\\).*/\\1/'",
		       (int)pod, pod_ns, pod_ns);
	if (rc != 0) {
		printf("pod: %s\n", out);
		return -1;
	}
	snprintf(veth_mac, sizeof(veth_mac), "%.17s", out);
	return 0;
}

/* ---- setup ------------------------------------------------------------------ */

static int setup(void **state)
{
	(void)state;
	if (oh_start(&H, "oci") != 0) {
		printf("containerd did not start\n");
		return -1;
	}
	snprintf(ctr_run, sizeof(ctr_run),
		 "ctr -a %s run --runc-binary %s --runc-root %s", H.sock,
		 H.alb_oci, H.runc_root);
	static const char *const net[] = {"service"}, *const nb[] = {"service",
								     "storage"};
	static const unsigned tnet[] = {H_NET}, tnb[] = {H_NET, H_BLOCK};
	fake_image("net.hvt", net, tnet, 1);
	fake_image("netblock.hvt", nb, tnb, 2);
	char args[OH_PATH * 2];
	/* no hypervisor annotation: alb-oci reads the Solo5 notes */
	snprintf(args, sizeof(args), "--unikernel %s/net.hvt", H.dir);
	if (oh_image(&H, "example.org/fake:1", args) != 0 || make_pod() != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (pod > 0) {
		kill(pod, SIGKILL);
		waitpid(pod, NULL, 0);
	}
	oh_stop(&H);
	return 0;
}

/* The task's pid and status from `ctr task ls`. */
static bool task_ls(const char *id, int *pid, char *status, size_t size)
{
	char out[OUT_MAX];
	if (oh_sh(out, sizeof(out), "ctr -a %s task ls", H.sock) != 0)
		return false;
	for (char *line = strtok(out, "\n"); line != NULL;
	     line = strtok(NULL, "\n")) {
		char name[128], st[32];
		int p;
		if (sscanf(line, "%127s %d %31s", name, &p, st) == 3 &&
		    strcmp(name, id) == 0) {
			*pid = p;
			snprintf(status, size, "%s", st);
			return true;
		}
	}
	return false;
}

static void wait_status(const char *id, const char *want)
{
	int pid;
	char st[32] = "";
	for (int64_t end = oh_now_us() + 5000000; oh_now_us() < end;
	     oh_sleep_ms(20))
		if (task_ls(id, &pid, st, sizeof(st)) && strcmp(st, want) == 0)
			return;
	fail_msg("task %s is %s, not %s", id, st, want);
}

/* ---- containerd ----------------------------------------------------------- */

/* `ctr run --rm`: the console reaches ctr, the exit code is the
 * unikernel's, and nothing is left under alb-oci's root. */
static void test_run_fake(void **state)
{
	(void)state;
	char out[OUT_MAX];
	int rc = oh_sh(out, sizeof(out),
		       "%s --rm example.org/fake:1 f1 --lines=2 --exit=7", ctr_run);
	printf("%s", out);
	assert_int_equal(rc, 7);
	assert_non_null(strstr(out, "fake-tender: line 2"));
	assert_non_null(strstr(out, "fake-tender: cmdline --lines=2 --exit=7"));
	/* the default memory, a tap in the container's own namespace */
	assert_non_null(strstr(out, "fake-tender: argv 1 --mem=64"));
	assert_non_null(strstr(out, "--net:service=vmmtap0"));
	assert_int_equal(oh_containers_left(&H), 0);
}

/* A detached task: RUNNING with the tender's pid, stopped by `ctr task
 * kill` with solo5-hvt's status on SIGTERM (1). */
static void test_kill_fake(void **state)
{
	(void)state;
	char out[OUT_MAX];
	SH_EXPECT(0, "%s -d example.org/fake:1 f2 --sleep-ms=30000",
			       ctr_run);
	wait_status("f2", "RUNNING");
	int pid;
	char st[32];
	assert_true(task_ls("f2", &pid, st, sizeof(st)));
	/* the tender itself: the fake tender installed as solo5-hvt */
	char exe[OH_PATH], link[64], want[OH_PATH];
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_non_null(realpath(getenv("ALB_FAKE_TENDER"), want));
	assert_string_equal(exe, want);
	SH_EXPECT(0, "ctr -a %s task ps f2", H.sock);
	char pidtext[16];
	snprintf(pidtext, sizeof(pidtext), "%d", pid);
	assert_non_null(strstr(out, pidtext));
	SH_EXPECT(0, "ctr -a %s task kill f2", H.sock);
	wait_status("f2", "STOPPED");
	/* solo5-hvt's status on SIGTERM */
	SH_EXPECT(0, "ctr -a %s task delete f2", H.sock);
	assert_non_null(strstr(out, "exit with non-zero exit code 1\""));
	SH_EXPECT(0, "ctr -a %s c rm f2", H.sock);
	assert_int_equal(oh_containers_left(&H), 0);
	assert_true(kill(pid, 0) != 0);
}

/* The demo unikernel under QEMU: the greeting, and isa-debug-exit's
 * status decoded to the guest's code as albd does. */
static void test_qemu_hello(void **state)
{
	(void)state;
	char kernel[OH_PATH], out[OUT_MAX];
	snprintf(kernel, sizeof(kernel), "%s/examples/hello-unikernel/hello.elf",
		 getenv("ALB_BUILD_ROOT"));
	if (access(kernel, R_OK) != 0 ||
	    oh_sh(NULL, 0, "command -v qemu-system-x86_64") != 0) {
		printf("skipped: no hello.elf or no qemu-system-x86_64\n");
		skip();
	}
	char args[OH_PATH * 2];
	snprintf(args, sizeof(args),
		 "--unikernel %s --hypervisor qemu --cmdline '--seconds=0 --exit=5'",
		 kernel);
	assert_int_equal(oh_image(&H, "example.org/hello:1", args), 0);
	int rc = oh_sh(out, sizeof(out), "%s --rm example.org/hello:1 h1", ctr_run);
	printf("%s", out);
	assert_int_equal(rc, 5);
	assert_non_null(strstr(out, "Hello from albatross hello-unikernel"));
	assert_non_null(strstr(out, "exiting with code 5"));
	assert_int_equal(oh_containers_left(&H), 0);
}

/* Opens the persistent tap name (in the current namespace) to read what
 * the redirect sends it. */
static int tap_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0)
		return -1;
	return fd;
}

/* The network path: in the pod's namespace (a veth pair made here, as a
 * CNI plugin would) the unikernel gets a tap coupled to eth0, eth0's MAC,
 * address, prefix and gateway; a frame sent to the pod reaches the tap;
 * deleting the task removes the tap and the redirect. */
static void test_network(void **state)
{
	(void)state;
	char out[OUT_MAX], log[OH_PATH + 16];
	snprintf(log, sizeof(log), "%s/net.log", H.dir);
	SH_EXPECT(0, "%s -d --log-uri file://%s --with-ns network:%s "
			       "example.org/fake:1 n1 --sleep-ms=30000",
			       ctr_run, log, pod_ns);
	wait_status("n1", "RUNNING");
	char *rep = NULL;
	for (int i = 0; i < 250 && (rep == NULL || !strstr(rep, "cmdline")); i++) {
		free(rep);
		size_t len;
		rep = h_read_file(log, &len);
		oh_sleep_ms(20);
	}
	assert_non_null(rep);
	printf("%s", rep);
	char want[128];
	snprintf(want, sizeof(want), "--net-mac:service=%s", veth_mac);
	assert_non_null(strstr(rep, "--net:service=vmmtap0"));
	assert_non_null(strstr(rep, want));
	assert_non_null(strstr(rep, "fake-tender: cmdline --ipv4=" POD_ADDR
				    "/24 --ipv4-gateway=" POD_GW " --sleep-ms=30000"));
	free(rep);
	/* the redirect: an ARP request for the pod's address, sent from
	 * outside the pod, arrives on the unikernel's tap */
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int podfd = open(pod_ns, O_RDONLY | O_CLOEXEC);
	assert_int_equal(setns(podfd, CLONE_NEWNET), 0);
	int tap = tap_open("vmmtap0");
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(self);
	close(podfd);
	assert_true(tap >= 0);
	/* any datagram to the pod's address makes the kernel ask by ARP */
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	inet_pton(AF_INET, POD_ADDR, &to.sin_addr);
	assert_true(udp >= 0);
	sendto(udp, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
	bool arp = false;
	for (int64_t end = oh_now_us() + 3000000; !arp && oh_now_us() < end;) {
		struct pollfd p = {.fd = tap, .events = POLLIN};
		uint8_t frame[2048];
		if (poll(&p, 1, 100) == 1) {
			ssize_t n = read(tap, frame, sizeof(frame));
			/* ethertype 0x0806, target protocol address */
			arp = n >= 42 && frame[12] == 0x08 && frame[13] == 0x06 &&
			      memcmp(frame + 38, "\x0a\xd5\x00\x02", 4) == 0;
		}
	}
	close(tap);
	close(udp);
	assert_true(arp);
	SH_EXPECT(0, "nsenter --net=%s tc qdisc show dev eth0",
			       pod_ns);
	assert_non_null(strstr(out, "ingress"));
	assert_int_equal(oh_sh(out, sizeof(out),
			       "ctr -a %s task kill -s SIGKILL n1 && sleep 0.2 && "
			       "ctr -a %s task delete n1; ctr -a %s c rm n1",
			       H.sock, H.sock, H.sock), 0);
	SH_EXPECT(0, "nsenter --net=%s ip -o link",
			       pod_ns);
	assert_null(strstr(out, "vmmtap"));
	assert_non_null(strstr(out, "eth0"));
	SH_EXPECT(0, "nsenter --net=%s tc qdisc show dev eth0",
			       pod_ns);
	assert_null(strstr(out, "ingress"));
	assert_int_equal(oh_containers_left(&H), 0);
}

/* ---- alb-oci's own calls ----------------------------------------------------- */

/* A bundle for alb-oci: rootfs/unikernel (the net+block image), a block
 * file mounted at /disk and named by the annotation, 32 MiB, CPU 0, the
 * pod's network namespace. */
static void make_bundle(const char *bundle)
{
	char out[OUT_MAX];
	SH_EXPECT(0, "mkdir -p %s/rootfs && cp %s/netblock.hvt %s/rootfs/unikernel"
			       " && truncate -s 1M %s/disk.img",
			       bundle, H.dir, bundle, bundle);
	char path[OH_PATH + 32];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f,
		"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		"\"process\":{\"args\":[\"--sleep-ms=30000\"]},"
		"\"mounts\":[{\"destination\":\"/disk\",\"type\":\"bind\","
		"\"source\":\"%s/disk.img\"}],"
		"\"linux\":{\"resources\":{\"memory\":{\"limit\":33554432},"
		"\"cpu\":{\"cpus\":\"0\"}},\"namespaces\":[{\"type\":\"network\","
		"\"path\":\"%s\"}]},"
		"\"annotations\":{\"com.urunc.unikernel.binary\":\"/unikernel\","
		"\"com.albatross.block.storage\":\"/disk\"}}",
		bundle, pod_ns);
	fclose(f);
}

/* create, start, a crash (the tender killed behind the runtime's back),
 * then delete --force removes the tap, the redirect and the files. */
static void test_crash_cleanup(void **state)
{
	(void)state;
	char bundle[OH_PATH + 16], root[OH_PATH + 16], out[OUT_MAX];
	snprintf(bundle, sizeof(bundle), "%s/bundle", H.dir);
	snprintf(root, sizeof(root), "%s/alb", H.dir);
	make_bundle(bundle);
	const char *oci = H.alb_oci;
	/* create's stdio is the tender's: a file here */
	SH_EXPECT(0, "%s --root %s create --bundle %s --pid-file %s/pid c1 "
			       ">%s/c1.out 2>&1 </dev/null || { cat %s/c1.out; false; }",
			       oci, root, bundle, bundle, bundle, bundle);
	SH_EXPECT(0, "%s --root %s state c1", oci, root);
	assert_non_null(strstr(out, "\"status\":\"created\""));
	SH_EXPECT(1, "%s --root %s create --bundle %s c1",
			       oci, root, bundle);
	assert_non_null(strstr(out, "exists"));
	SH_EXPECT(0, "%s --root %s start c1", oci, root);
	SH_EXPECT(0, "%s --root %s state c1", oci, root);
	assert_non_null(strstr(out, "\"status\":\"running\""));
	char path[OH_PATH + 32], *rep = NULL;
	snprintf(path, sizeof(path), "%s/c1.out", bundle);
	for (int i = 0; i < 250 && (rep == NULL || !strstr(rep, "cmdline")); i++) {
		free(rep);
		size_t len;
		rep = h_read_file(path, &len);
		oh_sleep_ms(20);
	}
	assert_non_null(rep);
	printf("%s", rep);
	assert_non_null(strstr(rep, "argv 1 --mem=32"));
	assert_non_null(strstr(rep, "fake-tender: affinity 0\n"));
	assert_non_null(strstr(rep, "--block:storage="));
	free(rep);
	snprintf(path, sizeof(path), "%s/pid", bundle);
	size_t len;
	char *pidtext = h_read_file(path, &len);
	assert_non_null(pidtext);
	pid_t pid = atoi(pidtext);
	free(pidtext);
	assert_int_equal(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		oh_sleep_ms(10);
	SH_EXPECT(0, "%s --root %s state c1", oci, root);
	assert_non_null(strstr(out, "\"status\":\"stopped\""));
	SH_EXPECT(1, "%s --root %s kill c1 KILL", oci, root);
	assert_non_null(strstr(out, "not running"));
	SH_EXPECT(0, "nsenter --net=%s ip -o link", pod_ns);
	assert_non_null(strstr(out, "vmmtap0"));
	SH_EXPECT(0, "%s --root %s delete --force c1",
			       oci, root);
	SH_EXPECT(0, "nsenter --net=%s ip -o link", pod_ns);
	assert_null(strstr(out, "vmmtap"));
	SH_EXPECT(0, "nsenter --net=%s tc qdisc show dev eth0",
			       pod_ns);
	assert_null(strstr(out, "ingress"));
	SH_EXPECT(0, "ls -A %s | wc -l", root);
	assert_int_equal(atoi(out), 0);
	/* like runc: a missing container is an error, except with --force */
	SH_EXPECT(1, "%s --root %s delete c1", oci, root);
	SH_EXPECT(0, "%s --root %s delete --force c1",
			       oci, root);
}

/* A created container that is never started: delete kills the parked
 * process; a bundle that is not a unikernel leaves nothing behind. */
static void test_delete_created(void **state)
{
	(void)state;
	char bundle[OH_PATH + 16], root[OH_PATH + 16], out[OUT_MAX];
	snprintf(bundle, sizeof(bundle), "%s/bundle2", H.dir);
	snprintf(root, sizeof(root), "%s/alb2", H.dir);
	make_bundle(bundle);
	const char *oci = H.alb_oci;
	SH_EXPECT(0, "%s --root %s create --bundle %s --pid-file %s/pid c2 "
			       ">/dev/null 2>&1 </dev/null",
			       oci, root, bundle, bundle);
	SH_EXPECT(0, "%s --root %s delete c2", oci, root);
	SH_EXPECT(0, "nsenter --net=%s ip -o link", pod_ns);
	assert_null(strstr(out, "vmmtap"));
	SH_EXPECT(1, "sed -i 's/com.urunc.unikernel.binary/x/' %s/config.json && "
			       "%s --root %s create --bundle %s c3",
			       bundle, oci, root, bundle);
	assert_non_null(strstr(out, "not a unikernel"));
	SH_EXPECT(0, "ls -A %s | wc -l", root);
	assert_int_equal(atoi(out), 0);
}

/* Receives the descriptor that alb-oci sent over the console socket (one
 * message with SCM_RIGHTS, as runc sends the pty master). */
static int recv_console(int listener)
{
	int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	char name[64];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {name, sizeof(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	assert_true(recvmsg(c, &msg, MSG_CMSG_CLOEXEC) > 0);
	close(c);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
	int fd;
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/* process.terminal: create sends a pty master over --console-socket
 * before it returns, the unikernel's console comes out of it once
 * started, and the tender has the pty as its controlling terminal; a
 * terminal without --console-socket is refused and leaves nothing. */
static void test_console_socket(void **state)
{
	(void)state;
	char bundle[OH_PATH + 16], root[OH_PATH + 16], out[OUT_MAX];
	snprintf(bundle, sizeof(bundle), "%s/bundle3", H.dir);
	snprintf(root, sizeof(root), "%s/alb3", H.dir);
	make_bundle(bundle);
	const char *oci = H.alb_oci;
	SH_EXPECT(0, "sed -i 's/\"process\":{/\"process\":{\"terminal\":true,/' "
		     "%s/config.json", bundle);
	SH_EXPECT(1, "%s --root %s create --bundle %s c4", oci, root, bundle);
	assert_non_null(strstr(out, "needs --console-socket"));
	SH_EXPECT(0, "ls -A %s 2>/dev/null | wc -l", root);
	assert_int_equal(atoi(out), 0);

	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int sn = snprintf(sa.sun_path, sizeof(sa.sun_path), "%.*s/console.sock",
			  (int)(sizeof(sa.sun_path) - 14), H.dir);
	assert_true(sn > 0 && (size_t)sn < sizeof(sa.sun_path));
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	SH_EXPECT(0, "%s --root %s create --bundle %s --console-socket %s "
		     "--pid-file %s/pid c4 </dev/null >/dev/null 2>&1",
		     oci, root, bundle, sa.sun_path, bundle);
	int master = recv_console(l);
	close(l);
	unlink(sa.sun_path);
	assert_true(isatty(master));
	SH_EXPECT(0, "%s --root %s start c4", oci, root);
	char got[8192];
	size_t len = 0;
	got[0] = '\0';
	for (int i = 0; i < 250 && !strstr(got, "fake-tender: affinity 0"); i++) {
		struct pollfd p = {master, POLLIN, 0};
		if (poll(&p, 1, 20) == 1 && len < sizeof(got) - 1) {
			ssize_t n = read(master, got + len, sizeof(got) - 1 - len);
			if (n > 0)
				len += (size_t)n;
			got[len] = '\0';
		}
	}
	assert_non_null(strstr(got, "fake-tender: affinity 0"));
	assert_non_null(strstr(got, "argv 1 --mem=32"));
	/* its controlling terminal is the pty: the session of the tender */
	SH_EXPECT(0, "ps -o tty= -p $(cat %s/pid)", bundle);
	assert_non_null(strstr(out, "pts/"));
	close(master);
	SH_EXPECT(0, "%s --root %s delete --force c4", oci, root);
	SH_EXPECT(0, "ls -A %s | wc -l", root);
	assert_int_equal(atoi(out), 0);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skipped: containerd and taps need root\n");
		return SKIP_STATUS;
	}
	if (!oh_have_containerd()) {
		printf("skipped: Debian's containerd (with ctr) or python3 is not "
		       "installed\n");
		return SKIP_STATUS;
	}
	if (getenv("ALB_FAKE_TENDER") == NULL || getenv("ALB_BUILD_ROOT") == NULL) {
		printf("skipped: ALB_FAKE_TENDER or ALB_BUILD_ROOT is not set\n");
		return SKIP_STATUS;
	}
	/* containerd, its shims and every namespace made here live in a
	 * network and mount namespace of their own */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
		printf("skipped: no private network/mount namespace: %s\n",
		       strerror(errno));
		return SKIP_STATUS;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_fake),
	    cmocka_unit_test(test_kill_fake),
	    cmocka_unit_test(test_qemu_hello),
	    cmocka_unit_test(test_network),
	    cmocka_unit_test(test_crash_cleanup),
	    cmocka_unit_test(test_delete_created),
	    cmocka_unit_test(test_console_socket),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
