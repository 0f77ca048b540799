/* Integration: the real Solo5 tenders (solo5-hvt, solo5-spt) and Solo5's
 * own test unikernels, driven through the library as albatrossd drives
 * them: the image's notes read and its manifest matched by the image
 * module, the tender found in the dbdir and ABI-checked, the command line
 * built and spawned pinned to a CPU with the console on a FIFO, the exit
 * status decoded and the restart decided by the tender module; taps on a
 * bridge made by the net module, in a private network namespace, where
 * test_net is pinged at 10.0.0.2 and then stopped with SIGTERM.
 *
 * Solo5 is not packaged and never built here (doc/solo5.md tells how to
 * build it elsewhere). The test runs when it is given:
 *   ALB_SOLO5_HVT    solo5-hvt (else solo5-hvt in PATH)
 *   ALB_SOLO5_SPT    solo5-spt (else beside solo5-hvt, else in PATH);
 *                    the spt cases skip without it
 *   ALB_SOLO5_TESTS  a directory with the images test_hello.hvt, ...,
 *                    directly or in Solo5's layout <dir>/test_hello/
 * and skips otherwise (status 77). hvt needs /dev/kvm; the network cases
 * need root. Prints the time from exec to exit of test_hello under each
 * tender and the ping round trips.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "albatross/image.h"
#include "albatross/net.h"
#include "albatross/tender.h"
#include "host_helpers.h"

#define BRIDGE "albsolo0"
#define HOST_IP "10.0.0.1" /* the peer test_net expects, on the bridge */
#define GUEST_IP "10.0.0.2" /* fixed in test_net */
#define MEMORY_MB 32
#define TIMED_BOOTS 20        /* boots of test_hello timed per tender */
#define PINGS 3
#define PING_TIMEOUT_MS 2000  /* per echo request */
#define SERVE_TIMEOUT_MS 10000 /* until test_net says it serves */
#define BLOCK_BYTES (1024 * 1024)
#define BLOCK_SECTOR 4096
#define ELF_MACHINE_X86_64 62
#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

static char dir[] = "/tmp/alb-solo5-XXXXXX";
static char tmpdir[256], dbdir[256], fifo[300];
static const char *tests_dir;
/* The tenders to link into the dbdir, indexed by kind - 1 ("" when
 * absent), and why one is absent. */
static char tender_src[2][ALB_TENDER_PATH_MAX];
static char unavailable[2][300];
/* The CPU every tender is pinned to: the last one we may use, so that
 * the pinning is visible. */
static int64_t cpu;
/* Tenders started: none means every case skipped. */
static int started;
/* The tender started and not yet reaped (0: none), for the teardown of a
 * case that failed half-way. */
static pid_t running;

static const char *target(enum alb_tender_kind kind)
{
	return kind == ALB_TENDER_HVT ? "hvt" : "spt";
}

/* The image <base>.<target> in tests_dir, directly or in Solo5's build
 * layout <tests_dir>/<base>/. */
static bool image_path(const char *base, enum alb_tender_kind kind,
		       char *out, size_t size)
{
	snprintf(out, size, "%s/%s.%s", tests_dir, base, target(kind));
	if (access(out, R_OK) == 0)
		return true;
	snprintf(out, size, "%s/%s/%s.%s", tests_dir, base, base, target(kind));
	return access(out, R_OK) == 0;
}

static void require_tender(enum alb_tender_kind kind)
{
	if (tender_src[kind - 1][0] == '\0') {
		printf("SKIP: %s\n", unavailable[kind - 1]);
		skip();
	}
	if (kind == ALB_TENDER_HVT) {
		int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			printf("SKIP: solo5-hvt needs /dev/kvm: %s\n", strerror(errno));
			skip();
		}
		close(fd);
	}
}

/* What albatrossd does before exec (spec §6.3, §6.4): reads the notes of
 * the image <base>.<target>, requires the target of the tender and a
 * manifest matching c, finds and ABI-checks the tender in the dbdir and
 * stores the image as <tmpdir>/<name>.img, where the command line names
 * it. Writes the tender's path to tender. */
static void prepare(enum alb_tender_kind kind, const char *base,
		    const char *name, const struct alb_unikernel_config *c,
		    char tender[ALB_TENDER_PATH_MAX])
{
	require_tender(kind);
	char path[1024];
	if (!image_path(base, kind, path, sizeof(path))) {
		printf("SKIP: no %s.%s in %s\n", base, target(kind), tests_dir);
		skip();
	}
	size_t len;
	uint8_t *elf = load_file(path, ALB_IMAGE_MAX, &len);
	assert_non_null(elf);
	struct alb_solo5_info info;
	struct alb_error err = {0};
	assert_int_equal(alb_solo5_parse(elf, len, &info, &err), 0);
	assert_int_equal((int)info.target, (int)kind);
	assert_int_equal(info.machine, ELF_MACHINE_X86_64);
	if (alb_manifest_match(&info, c, &err) != 0)
		fail_msg("%s: %s", path, err.msg);

	if (alb_tender_find(kind, info.abi_version, dbdir, tender, &err) != 0)
		fail_msg("%s", err.msg);
	char expected[ALB_TENDER_PATH_MAX];
	snprintf(expected, sizeof(expected), "%s/solo5-%s", dbdir, target(kind));
	assert_string_equal(tender, expected);
	/* a tender of another ABI version is refused with its own words */
	assert_int_equal(alb_tender_check_abi(tender, info.abi_version + 1, &err),
			 ALB_EPROTO);
	char abi_line[64];
	snprintf(abi_line, sizeof(abi_line), "ABI version %u", info.abi_version);
	assert_non_null(strstr(err.msg, abi_line));

	char img[600];
	snprintf(img, sizeof(img), "%s/%s.img", tmpdir, name);
	assert_true(store_file(img, elf, len));
	free(elf);
}

struct run {
	pid_t pid;
	int rd;           /* the console FIFO's read end */
	int64_t t_spawn;  /* when alb_tender_spawn() was called */
	int64_t t_exec;   /* when it returned: the exec had happened */
	int64_t spawn_us; /* spawn to exit (reaped) */
	int64_t exec_us;  /* exec to exit (reaped) */
	char *out;        /* the console, after the exit */
	struct alb_exit_status st;
};

/* Builds the command line of unikernel name and spawns it pinned to cpu,
 * its console on a fresh FIFO. */
static void start(enum alb_tender_kind kind, const char *tender,
		  const char *name, const struct alb_unikernel_config *c,
		  const struct alb_tender_net *nets, struct run *r)
{
	struct alb_tender_cmd cmd = {
		.kind = kind, .tender = tender, .name = name, .config = c,
		.nets = nets, .tmpdir = tmpdir, .dbdir = dbdir,
	};
	struct alb_argv argv = {0};
	struct alb_error err = {0};
	if (alb_tender_argv(&cmd, &argv, &err) != 0)
		fail_msg("%s", err.msg);
	int wr = -1;
	unlink(fifo);
	assert_true(console_fifo(fifo, &r->rd, &wr));
	struct alb_spawn sp = {.argv = (const char *const *)argv.argv,
			       .console_fd = wr, .n_cpus = 1, .cpus = &cpu};
	r->t_spawn = monotonic_us();
	struct alb_spawned child;
	if (alb_tender_spawn(&sp, &child, &err) != 0)
		fail_msg("%s", err.msg);
	r->pid = child.pid;
	close(child.pidfd);
	r->t_exec = monotonic_us();
	started++;
	running = r->pid;
	close(wr);
	alb_argv_free(&argv);
	r->out = NULL;
}

/* Reads the console to its end (the tender's exit), reaps the tender
 * and decodes its status. */
static void finish(enum alb_tender_kind kind, struct run *r)
{
	r->out = read_to_eof(r->rd);
	close(r->rd);
	assert_non_null(r->out);
	int st;
	assert_int_equal(waitpid(r->pid, &st, 0), r->pid);
	running = 0;
	int64_t now = monotonic_us();
	r->spawn_us = now - r->t_spawn;
	r->exec_us = now - r->t_exec;
	assert_int_equal(alb_tender_exit_decode(st, kind, &r->st), 0);
}

static void expect_exit(const struct run *r, enum alb_exit_kind kind, int value)
{
	if (r->st.kind != kind || r->st.value != value) {
		char got[64];
		alb_tender_exit_format(&r->st, got, sizeof(got));
		fail_msg("tender ended with %s; console:\n%s", got, r->out);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Prints min, median and max of TIMED_BOOTS durations (sorts them). */
static void print_times(enum alb_tender_kind kind, const char *from,
			int64_t us[TIMED_BOOTS])
{
	qsort(us, TIMED_BOOTS, sizeof(us[0]), cmp_i64);
	printf("solo5-%s: %s to exit of test_hello over %d boots: "
	       "min %.2f ms, median %.2f ms, max %.2f ms\n",
	       target(kind), from, TIMED_BOOTS, (double)us[0] / 1000.0,
	       (double)us[TIMED_BOOTS / 2] / 1000.0,
	       (double)us[TIMED_BOOTS - 1] / 1000.0);
}

static void hello(enum alb_tender_kind kind)
{
	struct alb_str args[] = {S("Hello_Solo5")};
	struct alb_unikernel_config c = {
		.typ = ALB_TYP_SOLO5, .memory = MEMORY_MB, .add_name = true,
		.fail = {.restart = true}, .has_argv = true, .n_argv = 1,
		.argv = args, .numcpus = 1,
	};
	char tender[ALB_TENDER_PATH_MAX];
	prepare(kind, "test_hello", ":hello", &c, tender);

	struct run r;
	start(kind, tender, ":hello", &c, NULL, &r);
	finish(kind, &r);
	expect_exit(&r, ALB_EXIT_CODE, 0);
	assert_true(output_has_line(r.out, "Hello, World"));
	assert_true(output_has_line(r.out,
				    "Command line is: '--name=hello Hello_Solo5'"));
	assert_true(output_has_line(r.out, "Solo5: solo5_exit(0) called"));
	/* "restart on every code but 1 and 60..64": 0 restarts */
	assert_int_equal(alb_tender_restart_decision(&c.fail, c.add_name, &r.st),
			 ALB_RESTART_SAME);
	free(r.out);

	/* without --name= the guest sees exactly its argument */
	c.add_name = false;
	int64_t spawn_us[TIMED_BOOTS], exec_us[TIMED_BOOTS];
	for (int i = 0; i < TIMED_BOOTS; i++) {
		start(kind, tender, ":hello", &c, NULL, &r);
		finish(kind, &r);
		expect_exit(&r, ALB_EXIT_CODE, 0);
		assert_true(output_has_line(r.out, "SUCCESS"));
		free(r.out);
		spawn_us[i] = r.spawn_us;
		exec_us[i] = r.exec_us;
	}
	print_times(kind, "spawn", spawn_us);
	print_times(kind, "exec", exec_us);
}

static void test_hvt_hello(void **state)
{
	(void)state;
	hello(ALB_TENDER_HVT);
}

static void test_spt_hello(void **state)
{
	(void)state;
	hello(ALB_TENDER_SPT);
}

/* An spt image given to solo5-hvt: our notes parser and the tender agree
 * on the target, and the tender's refusal is an exit that is not
 * restarted. */
static void test_hvt_wrong_target(void **state)
{
	(void)state;
	require_tender(ALB_TENDER_HVT);
	char path[1024];
	if (!image_path("test_hello", ALB_TENDER_SPT, path, sizeof(path))) {
		printf("SKIP: no test_hello.spt in %s\n", tests_dir);
		skip();
	}
	size_t len;
	uint8_t *elf = load_file(path, ALB_IMAGE_MAX, &len);
	assert_non_null(elf);
	struct alb_solo5_info info;
	assert_int_equal(alb_solo5_parse(elf, len, &info, NULL), 0);
	assert_int_equal(info.target, ALB_SOLO5_SPT);
	char img[600];
	snprintf(img, sizeof(img), "%s/:wrong.img", tmpdir);
	assert_true(store_file(img, elf, len));
	free(elf);

	char tender[ALB_TENDER_PATH_MAX];
	assert_int_equal(alb_tender_find(ALB_TENDER_HVT, info.abi_version, dbdir,
					 tender, NULL), 0);
	struct alb_unikernel_config c = {.typ = ALB_TYP_SOLO5,
					 .memory = MEMORY_MB,
					 .fail = {.restart = true}, .numcpus = 1};
	struct run r;
	start(ALB_TENDER_HVT, tender, ":wrong", &c, NULL, &r);
	finish(ALB_TENDER_HVT, &r);
	expect_exit(&r, ALB_EXIT_CODE, 1);
	char line[700];
	snprintf(line, sizeof(line),
		 "solo5-hvt: %s: Executable is not for the solo5-hvt target", img);
	assert_true(output_has_line(r.out, line));
	assert_int_equal(alb_tender_restart_decision(&c.fail, c.add_name, &r.st),
			 ALB_RESTART_NO);
	free(r.out);
}

/* test_blk on <dbdir>/block/:storage, the file albatrossd gives the
 * device "storage" of unikernel ":blk", with 4 KiB sectors. */
static void blk(enum alb_tender_kind kind)
{
	struct alb_block_dev blocks[] = {{.name = S("storage"),
					  .has_sector_size = true,
					  .sector_size = BLOCK_SECTOR}};
	struct alb_unikernel_config c = {
		.typ = ALB_TYP_SOLO5, .memory = MEMORY_MB, .n_blocks = 1,
		.blocks = blocks, .numcpus = 1,
	};
	char tender[ALB_TENDER_PATH_MAX];
	prepare(kind, "test_blk", ":blk", &c, tender);

	char path[600];
	snprintf(path, sizeof(path), "%s/block", dbdir);
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/block/:storage", dbdir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, BLOCK_BYTES), 0);

	struct run r;
	start(kind, tender, ":blk", &c, NULL, &r);
	finish(kind, &r);
	expect_exit(&r, ALB_EXIT_CODE, 0);
	assert_true(output_has_line(r.out, "SUCCESS"));
	free(r.out);

	/* the guest wrote to the file its command line named */
	uint8_t sector[BLOCK_SECTOR];
	assert_int_equal(pread(fd, sector, sizeof(sector), 0), (ssize_t)sizeof(sector));
	bool written = false;
	for (size_t i = 0; i < sizeof(sector) && !written; i++)
		written = sector[i] != 0;
	assert_true(written);
	close(fd);
	unlink(path);
}

static void test_hvt_blk(void **state)
{
	(void)state;
	blk(ALB_TENDER_HVT);
}

static void test_spt_blk(void **state)
{
	(void)state;
	blk(ALB_TENDER_SPT);
}

/* Gives ifname the IPv4 address ip/prefix with one rtnetlink request. The
 * net module makes interfaces but, like Albatross, never addresses them. */
static void add_address(const char *ifname, const char *ip, int prefix)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		char attrs[2 * RTA_SPACE(4)];
	} req;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.nh.nlmsg_type = RTM_NEWADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.ifa.ifa_family = AF_INET;
	req.ifa.ifa_prefixlen = (unsigned char)prefix;
	req.ifa.ifa_index = if_nametoindex(ifname);
	assert_true(req.ifa.ifa_index > 0);
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, ip, &a), 1);
	const unsigned short types[] = {IFA_LOCAL, IFA_ADDRESS};
	for (size_t i = 0; i < 2; i++) {
		struct rtattr *rta =
		    (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
		rta->rta_type = types[i];
		rta->rta_len = RTA_LENGTH(sizeof(a));
		memcpy(RTA_DATA(rta), &a, sizeof(a));
		req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_SPACE(sizeof(a));
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	assert_true(fd >= 0);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	assert_int_equal(sendto(fd, &req, req.nh.nlmsg_len, 0,
				(struct sockaddr *)&kernel, sizeof(kernel)),
			 (ssize_t)req.nh.nlmsg_len);
	union {
		struct nlmsghdr nh;
		char bytes[1024];
	} ack;
	ssize_t n = recv(fd, &ack, sizeof(ack), 0);
	close(fd);
	assert_true(n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)));
	assert_int_equal(ack.nh.nlmsg_type, NLMSG_ERROR);
	const struct nlmsgerr *e = NLMSG_DATA(&ack.nh);
	assert_int_equal(e->error, 0);
}

static uint16_t inet_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len % 2)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Sends PINGS ICMP echo requests to GUEST_IP one after the other from a
 * raw socket (no ping(8) needed); writes each round trip in µs, -1 for
 * one not answered within PING_TIMEOUT_MS. Returns the number answered. */
static int ping_guest(int64_t rtt_us[PINGS])
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	assert_true(fd >= 0);
	struct sockaddr_in to = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, GUEST_IP, &to.sin_addr), 1);
	uint16_t id = (uint16_t)getpid();
	int answered = 0;
	for (int seq = 0; seq < PINGS; seq++) {
		struct {
			struct icmphdr h;
			char payload[56];
		} req;
		memset(&req, 0, sizeof(req));
		req.h.type = ICMP_ECHO;
		req.h.un.echo.id = htons(id);
		req.h.un.echo.sequence = htons((uint16_t)seq);
		memcpy(req.payload, "libalbatross", 12);
		req.h.checksum = inet_checksum(&req, sizeof(req));
		int64_t t0 = monotonic_us();
		assert_int_equal(sendto(fd, &req, sizeof(req), 0,
					(struct sockaddr *)&to, sizeof(to)),
				 (ssize_t)sizeof(req));
		rtt_us[seq] = -1;
		while (rtt_us[seq] < 0) {
			int64_t left = PING_TIMEOUT_MS - (monotonic_us() - t0) / 1000;
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (left <= 0 || poll(&p, 1, (int)left) <= 0)
				break;
			uint8_t buf[1500];
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n < (ssize_t)sizeof(struct iphdr))
				continue;
			size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
			if ((size_t)n < ihl + sizeof(struct icmphdr))
				continue;
			struct icmphdr h;
			memcpy(&h, buf + ihl, sizeof(h));
			if (h.type == ICMP_ECHOREPLY && ntohs(h.un.echo.id) == id &&
			    ntohs(h.un.echo.sequence) == seq) {
				rtt_us[seq] = monotonic_us() - t0;
				answered++;
			}
		}
	}
	close(fd);
	return answered;
}

/* Reads the console into buf (NUL-terminated) until it holds needle, the
 * console ends or timeout_ms pass; true when needle was seen. */
static bool wait_output(int fd, char *buf, size_t size, const char *needle,
			int timeout_ms)
{
	size_t len = strlen(buf);
	int64_t t0 = monotonic_us();
	while (strstr(buf, needle) == NULL && len + 1 < size) {
		int64_t left = timeout_ms - (monotonic_us() - t0) / 1000;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return strstr(buf, needle) != NULL;
}

/* The MAC the host learnt for ip from ARP (/proc/net/arp of this
 * namespace) into mac; false when there is no complete entry. */
static bool arp_entry(const char *ip, char mac[ALB_MAC_STR_SIZE])
{
	FILE *f = fopen("/proc/net/arp", "re");
	if (f == NULL)
		return false;
	char line[256], addr[64], hw[64];
	bool found = false;
	unsigned type, flags;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%63s 0x%x 0x%x %63s", addr, &type, &flags, hw) == 4 &&
		    strcmp(addr, ip) == 0 && (flags & 0x2 /* ATF_COM */) &&
		    strlen(hw) + 1 == ALB_MAC_STR_SIZE) {
			memcpy(mac, hw, ALB_MAC_STR_SIZE);
			found = true;
		}
	fclose(f);
	return found;
}

/* test_net on a tap of BRIDGE (10.0.0.1/24), device service0 with the
 * MAC albatrossd derives for ":net", pinged at 10.0.0.2, then stopped
 * with SIGTERM as albatrossd's destroy does. */
static void net(enum alb_tender_kind kind)
{
	if (geteuid() != 0) {
		printf("SKIP: the network cases need root (a private network "
		       "namespace, a bridge and a tap)\n");
		skip();
	}
	struct alb_net_dev nets[] = {{.netif = S("service0"), .bridge = S(BRIDGE)}};
	/* no --name=: test_net refuses a command line it does not know */
	struct alb_unikernel_config c = {
		.typ = ALB_TYP_SOLO5, .memory = MEMORY_MB, .n_bridges = 1,
		.bridges = nets, .fail = {.restart = true}, .numcpus = 1,
	};
	char tender[ALB_TENDER_PATH_MAX];
	prepare(kind, "test_net", ":net", &c, tender);

	struct alb_net *nl;
	struct alb_error err = {0};
	assert_int_equal(alb_net_new(&nl, &err), 0);
	if (alb_bridge_create(nl, BRIDGE, &err) != 0)
		fail_msg("%s", err.msg);
	add_address(BRIDGE, HOST_IP, 24);
	char tap[ALB_IFNAME_SIZE];
	if (alb_tap_create(nl, BRIDGE, tap, &err) != 0)
		fail_msg("%s", err.msg);
	char master[IF_NAMESIZE];
	sysfs_master(tap, master, sizeof(master));
	assert_string_equal(master, BRIDGE);
	struct alb_tender_net taps[] = {{.tap = tap}};
	assert_int_equal(alb_mac_derive(nets[0].netif, ":net", taps[0].mac, NULL), 0);

	struct run r;
	start(kind, tender, ":net", &c, taps, &r);
	char mac[ALB_MAC_STR_SIZE], serving[96];
	alb_mac_print(taps[0].mac, mac);
	/* test_net prints the MAC as bare hex digits */
	char hex[13];
	for (size_t i = 0, o = 0; i < sizeof(mac); i++)
		if (mac[i] != ':')
			hex[o++] = mac[i];
	snprintf(serving, sizeof(serving),
		 "Serving ping on " GUEST_IP ", with MAC: %s", hex);
	char out[16384] = "";
	if (!wait_output(r.rd, out, sizeof(out), serving, SERVE_TIMEOUT_MS))
		fail_msg("no \"%s\" from %s; console:\n%s", serving, tender, out);
	char cpus[64], want[32];
	proc_cpus_allowed(r.pid, cpus, sizeof(cpus));
	snprintf(want, sizeof(want), "%lld", (long long)cpu);
	assert_string_equal(cpus, want);

	int64_t rtt[PINGS];
	int answered = ping_guest(rtt);
	printf("solo5-%s: test_net on %s answered %d/%d pings:", target(kind),
	       tap, answered, PINGS);
	for (int i = 0; i < PINGS; i++)
		printf(" %.3f ms", (double)rtt[i] / 1000.0);
	printf("\n");
	assert_int_equal(answered, PINGS);
	char learnt[ALB_MAC_STR_SIZE];
	assert_true(arp_entry(GUEST_IP, learnt));
	assert_string_equal(learnt, mac);
	/* what the unikernel sent is the tap's input: the replies at least */
	struct alb_ifdata d = {0};
	assert_int_equal(alb_ifdata_get(nl, tap, &d, &err), 0);
	assert_true(d.input_packets >= PINGS);
	assert_true(d.output_packets >= PINGS);

	assert_int_equal(kill(r.pid, SIGTERM), 0);
	finish(kind, &r);
	if (kind == ALB_TENDER_HVT) {
		expect_exit(&r, ALB_EXIT_CODE, 1);
		assert_true(output_has_line(r.out, "solo5-hvt: Exiting on signal 15"));
	} else {
		expect_exit(&r, ALB_EXIT_SIGNAL, SIGTERM);
	}
	assert_false(alb_tender_should_restart(&c.fail, &r.st));
	free(r.out);

	assert_int_equal(alb_tap_destroy(nl, tap, &err), 0);
	assert_int_equal(alb_bridge_delete(nl, BRIDGE, &err), 0);
	alb_net_free(nl);
	assert_true(only_loopback());
}

static void test_hvt_net(void **state)
{
	(void)state;
	net(ALB_TENDER_HVT);
}

static void test_spt_net(void **state)
{
	(void)state;
	net(ALB_TENDER_SPT);
}

/* After each case: a tender left by a failed case is killed (a test_net
 * would run forever), and so are its tap and the bridge, so that the next
 * case starts from a namespace with only lo. */
static int teardown(void **state)
{
	(void)state;
	if (running > 0) {
		kill(running, SIGKILL);
		waitpid(running, NULL, 0);
		running = 0;
	}
	/* as root every case runs in the private namespace (see main) */
	if (geteuid() == 0) {
		alb_tap_destroy(NULL, "vmmtap0", NULL);
		alb_bridge_delete(NULL, BRIDGE, NULL);
	}
	return 0;
}

/* Links each tender into the dbdir under its unversioned name, the third
 * place albatrossd looks (spec §6.4). */
static int link_tenders(void)
{
	for (int k = 0; k < 2; k++) {
		if (tender_src[k][0] == '\0')
			continue;
		char link[300];
		snprintf(link, sizeof(link), "%s/solo5-%s", dbdir,
			 target((enum alb_tender_kind)(k + 1)));
		if (symlink(tender_src[k], link) != 0)
			return -1;
	}
	return 0;
}

static int tests(void)
{
	if (!make_test_dirs(dir, tmpdir, dbdir, sizeof(tmpdir)) ||
	    link_tenders() != 0) {
		perror(dir);
		return 1;
	}
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	const struct CMUnitTest list[] = {
		cmocka_unit_test_teardown(test_hvt_hello, teardown),
		cmocka_unit_test_teardown(test_spt_hello, teardown),
		cmocka_unit_test_teardown(test_hvt_wrong_target, teardown),
		cmocka_unit_test_teardown(test_hvt_blk, teardown),
		cmocka_unit_test_teardown(test_spt_blk, teardown),
		cmocka_unit_test_teardown(test_hvt_net, teardown),
		cmocka_unit_test_teardown(test_spt_net, teardown),
	};
	int rc = cmocka_run_group_tests(list, NULL, NULL);
	remove_tree(dir);
	if (rc == 0 && started == 0) {
		printf("SKIP: every case skipped\n");
		return SKIP_STATUS;
	}
	return rc;
}

/* The absolute path of the tender kind into tender_src, or the reason why
 * there is none into unavailable. */
static void find_tender(enum alb_tender_kind kind)
{
	int k = kind - 1;
	const char *env = getenv(kind == ALB_TENDER_HVT ? "ALB_SOLO5_HVT"
						       : "ALB_SOLO5_SPT");
	char found[ALB_TENDER_PATH_MAX] = "";
	if (env != NULL && *env != '\0') {
		snprintf(found, sizeof(found), "%s", env);
	} else if (kind == ALB_TENDER_SPT && tender_src[0][0] != '\0') {
		snprintf(found, sizeof(found), "%s", tender_src[0]);
		char *slash = strrchr(found, '/');
		snprintf(slash + 1, sizeof(found) - (size_t)(slash + 1 - found),
			 "solo5-spt");
	}
	if (found[0] == '\0' || access(found, X_OK) != 0)
		/* in PATH: the library's own lookup, with no dbdir to match */
		if (alb_tender_lookup(kind, 0, "/nonexistent", found, NULL) != 0)
			found[0] = '\0';
	if (found[0] == '\0' || realpath(found, tender_src[k]) == NULL) {
		tender_src[k][0] = '\0';
		snprintf(unavailable[k], sizeof(unavailable[k]),
			 "solo5-%s not found: set ALB_SOLO5_%s or put it in PATH",
			 target(kind), kind == ALB_TENDER_HVT ? "HVT" : "SPT");
		return;
	}
}

int main(void)
{
	tests_dir = getenv("ALB_SOLO5_TESTS");
	if (tests_dir == NULL || *tests_dir == '\0') {
		printf("SKIP: ALB_SOLO5_TESTS is not set (a directory holding "
		       "Solo5's test images; see doc/solo5.md)\n");
		return SKIP_STATUS;
	}
	find_tender(ALB_TENDER_HVT);
	if (tender_src[0][0] == '\0') {
		printf("SKIP: %s\n", unavailable[0]);
		return SKIP_STATUS;
	}
	find_tender(ALB_TENDER_SPT);
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			cpu = i;
	if (geteuid() == 0)
		return run_in_netns(tests);
	return tests();
}
