/* Integration: alb-statsd as root in a private network namespace. First
 * against a fake albd played here (Stats_initial, then Stats_add for a
 * sleeping process with a real tap on a bridge of the namespace, traffic
 * written into the tap and broadcast from the bridge): the subscriber's
 * Stats_data, the Influx lines (a listener on 127.0.0.1) and the
 * Prometheus page (HTTP GET to 127.0.0.1) carry the exact counters, and
 * `alb-info stats` shows them. Then with the real albd, the fake tender and
 * a tap made by albd: `alb-info stats` shows the tap's counters.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include <linux/if_tun.h>

#include <cmocka.h>

#include "albd_harness.h"
#include "host_helpers.h"
#include "loopback.h"

#define BR "br0"
#define BR_E2E "br1"
#define BR_ADDR "10.77.0.1"
#define BR_BCAST "10.77.0.255"
#define FRAMES 10
#define FRAME_LEN 60
#define BROADCASTS 3

static struct alb_str str(const char *s)
{
	return (struct alb_str){s, strlen(s)};
}

static const char *build_root(void)
{
	const char *b = getenv("ALB_BUILD_ROOT");
	return b != NULL ? b : ".";
}

static int64_t now_ms(void)
{
	return monotonic_us() / 1000;
}

/* ---- the host --------------------------------------------------------------- */

static void if_up(const char *name)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static void if_addr(const char *name, const char *addr, const char *mask)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	assert_int_equal(ioctl(s, SIOCSIFADDR, &ifr), 0);
	inet_pton(AF_INET, mask, &sin->sin_addr);
	assert_int_equal(ioctl(s, SIOCSIFNETMASK, &ifr), 0);
	close(s);
}

/* Attaches to an existing (persistent) tap as its unikernel would. */
static int tap_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	assert_true(fd >= 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	return fd;
}

/* What the unikernel sends: n broadcast frames of FRAME_LEN bytes (a local
 * experimental ethertype, so that the host does not answer them). */
static void tap_send(int fd, int n)
{
	uint8_t f[FRAME_LEN];
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (int i = 0; i < n; i++)
		assert_int_equal(write(fd, f, sizeof(f)), (ssize_t)sizeof(f));
}

/* What the host sends to the unikernel: UDP broadcasts on the bridge,
 * which floods them to its ports. */
static void bridge_broadcast(const char *bridge, int n)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one));
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, bridge,
				    (socklen_t)strlen(bridge)),
			 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
	inet_pton(AF_INET, BR_BCAST, &to.sin_addr);
	for (int i = 0; i < n; i++)
		assert_int_equal(sendto(s, "ping", 4, 0, (struct sockaddr *)&to,
					sizeof(to)),
				 4);
	close(s);
}

static pid_t sleeper(void)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close_range(3, ~0u, 0);
		for (;;)
			pause();
	}
	return p;
}

/* Reads what waits in the tap, as the unikernel would: a tap counts a
 * frame as sent to the unikernel only once it is read. Returns the number
 * of frames and their bytes in *bytes. */
static int tap_drain(int fd, int64_t *bytes)
{
	uint8_t f[2048];
	int n = 0;
	*bytes = 0;
	ssize_t r;
	while ((r = read(fd, f, sizeof(f))) > 0) {
		n++;
		*bytes += r;
	}
	return n;
}

/* ---- programs ---------------------------------------------------------------- */

/* Starts a program of the build (argv NULL-ended, argv[0] its name) with
 * stdout to *out when out is not NULL. */
static pid_t spawn(char *const argv[], int *out)
{
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/%s", build_root(), argv[0]);
	int p[2] = {-1, -1};
	if (out != NULL)
		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (out != NULL)
			dup2(p[1], 1);
		execv(exe, argv);
		test_child_exit(127);
	}
	if (out != NULL) {
		close(p[1]);
		*out = p[0];
	}
	return pid;
}

static int stop(pid_t pid)
{
	int st = -1;
	if (pid <= 0)
		return st;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/* Runs `alb-info stats` with args and returns its stdout (free it). */
static char *alb_info_stats(char *const *args, int *status)
{
	char *argv[16] = {"alb-info", "stats"};
	size_t n = 2;
	for (; args[n - 2] != NULL && n < 15; n++)
		argv[n] = args[n - 2];
	argv[n] = NULL;
	int out;
	pid_t pid = spawn(argv, &out);
	char *text = read_to_eof(out);
	close(out);
	int st;
	waitpid(pid, &st, 0);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return text;
}

/* The line of out that starts with prefix, into line. */
static bool line_starting(const char *out, const char *prefix, char *line,
			  size_t size)
{
	for (const char *p = out; p != NULL && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			size_t l = strcspn(p, "\n");
			snprintf(line, size, "%.*s", (int)l, p);
			return true;
		}
	}
	return false;
}

/* The whitespace-separated words of a table row, from its end. */
static const char *word_from_end(char *line, int k, char *out, size_t size)
{
	char *w[64];
	int n = 0;
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *save, *t = strtok_r(copy, " ", &save); t != NULL && n < 64;
	     t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	snprintf(out, size, "%s", n > k ? w[n - 1 - k] : "");
	return out;
}

/* ---- sockets ------------------------------------------------------------------ */

static int unix_listen(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int accept_within(int lfd, int ms)
{
	struct pollfd p = {lfd, POLLIN, 0};
	if (poll(&p, 1, ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void send_msg(int fd, const struct alb_msg *m)
{
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(m, ALB_ENCODE_FRAMED, &out, NULL), 0);
	assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
	alb_buf_free(&out);
}

static struct alb_msg *recv_msg(int fd)
{
	struct alb_buf in = {0};
	struct alb_msg *m = NULL;
	assert_int_equal(alb_frame_read_fd(fd, 1 << 20, &in, NULL), 0);
	assert_int_equal(alb_msg_decode(in.data, in.len, 0, &m, NULL), 0);
	alb_buf_free(&in);
	return m;
}

/* The value of field key on the Influx line that starts with prefix. */
static bool influx_field(const char *text, const char *prefix, const char *key,
			 char *out, size_t size)
{
	char line[2048], pat[64];
	if (!line_starting(text, prefix, line, sizeof(line)))
		return false;
	snprintf(pat, sizeof(pat), "%s=", key);
	for (char *save, *f = strtok_r(strchr(line, ' ') + 1, ",", &save);
	     f != NULL; f = strtok_r(NULL, ",", &save))
		if (strncmp(f, pat, strlen(pat)) == 0) {
			snprintf(out, size, "%s", f + strlen(pat));
			return true;
		}
	return false;
}

/* ---- against a fake albd ------------------------------------------------------ */

/* Frames and bytes the unikernel read from its tap. */
static int got_frames;
static int64_t got_bytes;

static void check_stats(const struct alb_stats *s)
{
	/* the rusage of a process that only sleeps */
	int64_t cpu_us = s->rusage.utime.sec * 1000000 + s->rusage.utime.usec +
			 s->rusage.stime.sec * 1000000 + s->rusage.stime.usec;
	assert_true(cpu_us >= 0 && cpu_us < 5000000);
	assert_true(s->rusage.maxrss > 0);
	assert_true(s->rusage.nvcsw >= 0 && s->rusage.nivcsw >= 0);
	assert_true(s->has_kinfo_mem);
	assert_true(s->kinfo_mem.vsize > 0);
	assert_int_equal(s->kinfo_mem.rss, s->rusage.maxrss);
	assert_true(s->kinfo_mem.start.sec > time(NULL) - 600);
	assert_true(s->kinfo_mem.start.sec <= time(NULL));
	/* the tap, named by the unikernel's device: exactly what was
	 * written into it, and something from the bridge */
	assert_int_equal(s->n_ifdata, 1);
	assert_string_equal(s->ifdata[0].bridge.ptr, "service");
	assert_int_equal(s->ifdata[0].input_packets, FRAMES);
	assert_int_equal(s->ifdata[0].input_bytes, FRAMES * FRAME_LEN);
	assert_int_equal(s->ifdata[0].output_packets, got_frames);
	assert_int_equal(s->ifdata[0].output_bytes, got_bytes);
	assert_int_equal(s->ifdata[0].mtu, 1500);
	assert_true(s->ifdata[0].flags & IFF_UP);
}

static void test_fake_albd(void **state)
{
	(void)state;
	if_up("lo");
	struct alb_net *net;
	char tap[ALB_IFNAME_SIZE];
	assert_int_equal(alb_net_new(&net, NULL), 0);
	assert_int_equal(alb_bridge_create(net, BR, NULL), 0);
	if_addr(BR, BR_ADDR, "255.255.255.0");
	assert_int_equal(alb_tap_create(net, BR, tap, NULL), 0);
	int tfd = tap_open(tap);
	tap_send(tfd, FRAMES);
	/* the port needs a moment to forward after its carrier came up */
	usleep(200000);
	bridge_broadcast(BR, BROADCASTS);
	usleep(100000);
	got_frames = tap_drain(tfd, &got_bytes);
	assert_true(got_frames >= BROADCASTS);
	pid_t vm = sleeper();

	char root[64], util[96], vsock[128], ssock[128];
	snprintf(root, sizeof(root), "/tmp/alb-statsd-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(util, sizeof(util), "%s/util", root);
	assert_int_equal(mkdir(util, 0755), 0);
	snprintf(vsock, sizeof(vsock), "%s/vmmd.sock", util);
	snprintf(ssock, sizeof(ssock), "%s/stat.sock", util);
	int albd = unix_listen(vsock);
	int iport = 0, pport = 0;
	int ilfd = lo_listen(&iport, 4);
	close(lo_listen(&pport, 1));
	char influx[32], prom[32];
	snprintf(influx, sizeof(influx), "127.0.0.1:%d", iport);
	snprintf(prom, sizeof(prom), "127.0.0.1:%d", pport);
	char *argv[] = {"alb-statsd", "--tmpdir", root,     "--interval", "1",
			"--influx",   influx,     "--prometheus", prom, NULL};
	pid_t statsd = spawn(argv, NULL);

	/* albd's side: Stats_initial, then the running unikernel */
	int a = accept_within(albd, 10000);
	assert_true(a >= 0);
	struct alb_msg *m = recv_msg(a);
	assert_int_equal(m->kind, ALB_PAYLOAD_COMMAND);
	assert_int_equal(m->u.command.kind, ALB_CMD_STATS_INITIAL);
	assert_string_equal(m->header.name, ":");
	assert_int_equal(m->header.sequence, 0);
	alb_msg_free(m);
	struct alb_msg ok = {.header = {5, 0, ":"}, .kind = ALB_PAYLOAD_SUCCESS};
	ok.u.success.kind = ALB_REPLY_EMPTY;
	send_msg(a, &ok);
	struct alb_stats_tap taps[] = {{str("service"), str(tap)}};
	struct alb_msg add = {.header = {5, 1, "foo:bar"},
			      .kind = ALB_PAYLOAD_COMMAND};
	add.u.command.kind = ALB_CMD_STATS_ADD;
	add.u.command.u.stats_add.vmmdev = str("");
	add.u.command.u.stats_add.pid = vm;
	add.u.command.u.stats_add.n_taps = 1;
	add.u.command.u.stats_add.taps = taps;
	send_msg(a, &add);
	m = recv_msg(a);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_string_equal(m->u.success.u.string.ptr, "added");
	assert_int_equal(m->header.sequence, 1);
	alb_msg_free(m);

	/* a subscriber on the path foo: */
	struct alb_client *c;
	struct alb_error err;
	assert_int_equal(alb_client_connect(ssock, 10000, &c, &err), 0);
	struct alb_command sub = {.kind = ALB_CMD_STATS_SUBSCRIBE};
	assert_int_equal(alb_client_send(c, "foo:", &sub, NULL, NULL, &err), 0);
	assert_int_equal(alb_client_recv(c, &m, &err), 0);
	assert_string_equal(m->u.success.u.string.ptr, "subscribed");
	alb_msg_free(m);
	assert_int_equal(alb_client_recv(c, &m, &err), 0);
	assert_int_equal(m->kind, ALB_PAYLOAD_DATA);
	assert_string_equal(m->header.name, ":bar");
	check_stats(&m->u.data.u.stats);
	alb_msg_free(m);

	/* the Influx batch of a tick, tag vm = the label */
	int ifd = accept_within(ilfd, 10000);
	assert_true(ifd >= 0);
	char lines[8192] = "";
	size_t len = 0;
	for (int64_t end = now_ms() + 5000;
	     now_ms() < end && strstr(lines, "interface,vm=bar") == NULL;) {
		struct pollfd p = {ifd, POLLIN, 0};
		if (poll(&p, 1, 100) == 1) {
			ssize_t n = read(ifd, lines + len, sizeof(lines) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			lines[len] = '\0';
		}
	}
	/* complete lines only */
	*(strrchr(lines, '\n') + 1) = '\0';
	char v[64];
	assert_true(influx_field(lines, "interface,vm=bar,bridge=service ",
				 "vm_to_host_packets", v, sizeof(v)));
	assert_string_equal(v, "10i");
	assert_true(influx_field(lines, "interface,vm=bar,bridge=service ",
				 "vm_to_host_bytes", v, sizeof(v)));
	assert_string_equal(v, "600i");
	assert_true(influx_field(lines, "interface,vm=bar,bridge=service ",
				 "host_to_vm_packets", v, sizeof(v)));
	assert_int_equal(atoll(v), got_frames);
	assert_true(influx_field(lines, "resource_usage,vm=bar ", "maxrss", v,
				 sizeof(v)));
	assert_true(atoll(v) > 0);
	assert_true(influx_field(lines, "kinfo_mem,vm=bar ", "uptime", v, sizeof(v)));
	assert_true(atof(v) >= 0 && atof(v) < 600);
	close(ifd);

	/* Prometheus */
	int h = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)pport),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(h, (struct sockaddr *)&sa, sizeof(sa)), 0);
	const char *get = "GET /metrics HTTP/1.0\r\n\r\n";
	assert_int_equal(write(h, get, strlen(get)), (ssize_t)strlen(get));
	char *page = read_to_eof(h);
	close(h);
	assert_non_null(strstr(page, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(page, "\nalbatross_interface_vm_to_host_packets_total"
				     "{vm=\"foo:bar\",bridge=\"service\"} 10\n"));
	assert_non_null(strstr(page, "\nalbatross_interface_vm_to_host_bytes_total"
				     "{vm=\"foo:bar\",bridge=\"service\"} 600\n"));
	char *rss = strstr(page, "\nalbatross_rss_pages{vm=\"foo:bar\"} ");
	assert_non_null(rss);
	assert_true(atoll(rss + strlen("\nalbatross_rss_pages{vm=\"foo:bar\"} ")) > 0);
	free(page);

	/* alb-info stats: a table row, TX (the unikernel's) = what it wrote */
	int st;
	char *args[] = {"--tmpdir", root, NULL};
	char *out = alb_info_stats(args, &st);
	printf("alb-info stats:\n%s", out);
	assert_int_equal(st, 0);
	char line[1024], w[64];
	assert_true(line_starting(out, "NAME ", line, sizeof(line)));
	assert_true(line_starting(out, "foo:bar ", line, sizeof(line)));
	assert_non_null(strstr(line, " service "));
	assert_string_equal(word_from_end(line, 0, w, sizeof(w)), "600");
	assert_string_equal(word_from_end(line, 1, w, sizeof(w)), "10");
	assert_int_equal(atoll(word_from_end(line, 3, w, sizeof(w))), got_frames);
	assert_int_equal(atoll(word_from_end(line, 2, w, sizeof(w))), got_bytes);
	free(out);
	char *jargs[] = {"--tmpdir", root, "-n", "foo:bar", "--json", NULL};
	out = alb_info_stats(jargs, &st);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "\"input_bytes\": 600"));
	free(out);

	/* albd removes it: nothing more is sent */
	struct alb_msg rm = {.header = {5, 2, "foo:bar"}, .kind = ALB_PAYLOAD_COMMAND};
	rm.u.command.kind = ALB_CMD_STATS_REMOVE;
	send_msg(a, &rm);
	m = recv_msg(a);
	assert_string_equal(m->u.success.u.string.ptr, "removed");
	alb_msg_free(m);
	/* drain what was sent before, then silence */
	alb_client_set_timeout(c, 2500, NULL);
	int rc;
	while ((rc = alb_client_recv(c, &m, &err)) == 0)
		alb_msg_free(m);
	assert_int_equal(rc, ALB_ESYS);
	alb_client_close(c);

	int sst = stop(statsd);
	assert_true(WIFEXITED(sst) && WEXITSTATUS(sst) == 0);
	close(a);
	close(albd);
	close(ilfd);
	close(tfd);
	kill(vm, SIGKILL);
	waitpid(vm, NULL, 0);
	assert_int_equal(alb_tap_destroy(net, tap, NULL), 0);
	alb_net_free(net);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* ---- albd, the fake tender, a tap made by albd ------------------------------- */

/* The tap albd attached to bridge. */
static bool find_tap(const char *bridge, char *out)
{
	for (unsigned i = 0; i < 64; i++) {
		char name[ALB_IFNAME_SIZE], master[64];
		snprintf(name, sizeof(name), "vmmtap%u", i);
		sysfs_master(name, master, sizeof(master));
		if (strcmp(master, bridge) == 0) {
			snprintf(out, ALB_IFNAME_SIZE, "%s", name);
			return true;
		}
	}
	return false;
}

static void test_albd(void **state)
{
	(void)state;
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/albd", build_root());
	if (access(exe, X_OK) != 0 || getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: albd is not built or ALB_FAKE_TENDER is not set\n");
		skip();
	}
	struct alb_net *net;
	assert_int_equal(alb_net_new(&net, NULL), 0);
	assert_int_equal(alb_bridge_create(net, BR_E2E, NULL), 0);
	alb_net_free(net);
	struct harness h;
	assert_int_equal(h_setup(&h, "statsd"), 0);
	char *argv[] = {"alb-statsd", "--tmpdir", h.tmpdir, "--interval", "1", NULL};
	pid_t statsd = spawn(argv, NULL);
	assert_int_equal(h_start_albd(&h, NULL), 0);

	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = ALB_CMD_UNIKERNEL_CREATE;
	int64_t cpu = 0;
	struct alb_net_dev nd = {str("service"), str(BR_E2E), false, {0}};
	struct alb_str args[] = {str("--sleep-ms=120000")};
	const char *names[] = {"service"};
	const unsigned types[] = {H_NET};
	size_t ilen;
	uint8_t *image = h_image(1, names, types, 1, 0, &ilen);
	assert_non_null(image);
	c.u.create.typ = ALB_TYP_SOLO5;
	c.u.create.image = (struct alb_bytes){image, ilen};
	c.u.create.add_name = true;
	c.u.create.n_cpuids = 1;
	c.u.create.cpuids = &cpu;
	c.u.create.memory = 32;
	c.u.create.numcpus = 1;
	c.u.create.n_bridges = 1;
	c.u.create.bridges = &nd;
	c.u.create.has_argv = true;
	c.u.create.n_argv = 1;
	c.u.create.argv = args;
	struct alb_msg *m = h_call(&h, ":hello", &c);
	if (m == NULL || m->kind != ALB_PAYLOAD_SUCCESS)
		fail_msg("create: %s", h_text(m));
	alb_msg_free(m);
	free(image);

	/* the unikernel's side of its tap: it sends 5 frames */
	char tap[ALB_IFNAME_SIZE];
	assert_true(find_tap(BR_E2E, tap));
	int tfd = tap_open(tap);
	tap_send(tfd, 5);

	/* alb-statsd learnt it from albd; alb-info shows one round */
	int st;
	char line[1024], w[64];
	char *iargs[] = {"--tmpdir", h.tmpdir, "-n", ":hello", NULL};
	char *out = NULL;
	bool seen = false;
	/* albd's Stats_add may follow the create by a moment */
	for (int i = 0; i < 10 && !seen; i++) {
		free(out);
		out = alb_info_stats(iargs, &st);
		seen = st == 0 && line_starting(out, ":hello ", line, sizeof(line));
	}
	printf("alb-info stats:\n%s", out);
	assert_true(seen);
	assert_non_null(strstr(line, " service "));
	assert_string_equal(word_from_end(line, 0, w, sizeof(w)), "300");
	assert_string_equal(word_from_end(line, 1, w, sizeof(w)), "5");
	free(out);

	struct alb_command d = {.kind = ALB_CMD_UNIKERNEL_DESTROY};
	m = h_call(&h, ":hello", &d);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(m);
	close(tfd);
	h_stop(&h, SIGTERM);
	int sst = stop(statsd);
	assert_true(WIFEXITED(sst) && WEXITSTATUS(sst) == 0);
	h_teardown(&h);
}

static int tests(void)
{
	const struct CMUnitTest list[] = {
		cmocka_unit_test(test_fake_albd),
		cmocka_unit_test(test_albd),
	};
	return cmocka_run_group_tests(list, NULL, NULL);
}

int main(void)
{
	return run_in_netns(tests);
}
