/* Integration: alb-deploy and alb-info against a remote host over TLS, as
 * albatross-client --destination. In a private network namespace the test
 * starts alb-consoled, alb-statsd, albd (the fake tender standing in for
 * solo5-hvt) and alb-tlsd on the loopback, and makes the PKI with alb-ca:
 * a CA, its server certificate, and a tenant delegated with a policy (one
 * unikernel, 64 MB, CPU 0, 10 MB of block storage, bridge br0). The tenant
 * then deploys an image too large for a certificate (so it streams), sees
 * it with info, follows its console, reads its stats, creates, fills and
 * dumps a block device (byte-identical), gets the image back, restarts and
 * destroys it; a create above the policy is refused before connecting
 * (exit 124), one that only the host can refuse fails with its message
 * (117); an untrusted client CA gets 119, an untrusted server 120, a
 * closed port 122, `-d -` prints the chain (121); a --csr signed with
 * alb-ca is run with `certificate`; and `update` talks to a small HTTP
 * build server played here: up to date, dry run, and a real update that
 * keeps the MAC. Skips (77) without root or the programs.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include <cmocka.h>

#include "albd_harness.h"
#include "cli_test_util.h"
#include "host_helpers.h"

#define BR "br0"
#define PORT "1025"
#define OTHER_PORT "1026"
#define LIMITED_PORT "1027"
#define STREAMING_PORT "1028"
#define HTTP_PORT 8080
/* The streamed image: more than a certificate holds (16 MiB). */
#define BIG_EXTRA (20u * 1024u * 1024u)
/* An image above what a default alb-tlsd takes in a client's chain (8 MiB)
 * and below what fits a certificate (16 MiB): it streams too. */
#define MID_EXTRA (9u * 1024u * 1024u)
#define BLOCK_DATA (3u * 1024u * 1024u + 12345u)
#define MAC "02:00:00:00:00:2a"

static struct {
	struct harness h;
	char pki[H_PATH + 8];
	pid_t consoled, statsd, tlsd, tlsd_other;
	uint8_t *big;
	size_t big_len;
} T;

static const char *build_root(void)
{
	const char *b = getenv("ALB_BUILD_ROOT");
	return b != NULL ? b : ".";
}

/* ---- processes -------------------------------------------------------------- */

static pid_t spawn(char *const argv[], const char *log)
{
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/%s", build_root(), argv[0]);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(exe, argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
}

static bool port_open(int port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	bool ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(s);
	return ok;
}

static bool wait_port(int port)
{
	for (int i = 0; i < 500; i++, h_sleep_ms(10))
		if (port_open(port))
			return true;
	return false;
}

static bool wait_file(const char *path)
{
	for (int i = 0; i < 500; i++, h_sleep_ms(10))
		if (access(path, F_OK) == 0)
			return true;
	return false;
}

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

/* Runs a CLI program of the build (in the PKI directory, the current one)
 * with the NULL-terminated arguments. */
static struct run cli(const char *prog, ...)
{
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/%s", build_root(), prog);
	char *argv[48] = {exe};
	size_t n = 1;
	va_list ap;
	va_start(ap, prog);
	for (char *a = va_arg(ap, char *); a != NULL && n < 47; a = va_arg(ap, char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	struct run r;
	assert_int_equal(run_argv(argv, &r), 0);
	return r;
}

/* The remote options of the tenant: ca.pem, ca.key and cacert.pem are the
 * defaults, so only the destination is given. */
#define DEST "-d", "127.0.0.1"

static void expect(struct run *r, int status, const char *out, const char *err)
{
	if (r->status != status || (out != NULL && strstr(r->out, out) == NULL) ||
	    (err != NULL && strstr(r->err, err) == NULL))
		fail_msg("exit %d (want %d)\nstdout: %s\nstderr: %s", r->status, status,
			 r->out, r->err);
	run_free(r);
}

#define RUN_EXPECT(status, out, err, ...)                                       \
	do {                                                                    \
		struct run r_ = cli(__VA_ARGS__, NULL);                         \
		expect(&r_, (status), (out), (err));                            \
	} while (0)

/* ---- the build server (spec §10.3) ----------------------------------------- */

static struct {
	int fd;
	pthread_t thread;
	char hash_v1[2 * ALB_SHA256_LEN + 1];
	const char *latest; /* uuid of the latest build */
	uint8_t *v2;
	size_t v2_len;
	int requests;
} H;

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void http_reply(int c, const char *status, const char *extra,
		       const char *body)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, extra, strlen(body));
	if (write(c, head, (size_t)n) < 0 || write(c, body, strlen(body)) < 0)
		return;
}

/* The binary goes chunked, in pieces of 1000 bytes. */
static void http_binary(int c)
{
	const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			   "Content-Type: application/octet-stream\r\n\r\n";
	if (write(c, head, strlen(head)) < 0)
		return;
	for (size_t off = 0; off < H.v2_len; off += 1000) {
		size_t n = H.v2_len - off < 1000 ? H.v2_len - off : 1000;
		char line[32];
		int l = snprintf(line, sizeof(line), "%zx\r\n", n);
		if (write(c, line, (size_t)l) < 0 || write(c, H.v2 + off, n) < 0 ||
		    write(c, "\r\n", 2) < 0)
			return;
	}
	if (write(c, "0\r\n\r\n", 5) < 0)
		return;
}

static void *http_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept4(H.fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return NULL;
		char req[4096] = "";
		size_t len = 0;
		while (len + 1 < sizeof(req) && strstr(req, "\r\n\r\n") == NULL) {
			ssize_t n = read(c, req + len, sizeof(req) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			req[len] = '\0';
		}
		req[len] = '\0';
		H.requests++;
		char path[1024] = "";
		sscanf(req, "GET %1023s HTTP/1.1", path);
		char want[256];
		snprintf(want, sizeof(want), "/hash?sha256=%s", H.hash_v1);
		char loc[256];
		if (strcmp(path, want) == 0) {
			http_reply(c, "302 Found", "Location: /job/upd/build/uuid-1\r\n", "");
		} else if (strncmp(path, "/hash?", 6) == 0) {
			http_reply(c, "404 Not Found", "", "not found");
		} else if (strcmp(path, "/job/upd/build/latest") == 0) {
			snprintf(loc, sizeof(loc), "Location: /job/upd/build/%s/\r\n", H.latest);
			http_reply(c, "302 Found", loc, "");
		} else if (strcmp(path, "/job/upd/build/uuid-2/main-binary") == 0) {
			http_binary(c);
		} else {
			http_reply(c, "404 Not Found", "", "no such page");
		}
		close(c);
	}
}

static void http_start(void)
{
	H.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(H.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(HTTP_PORT)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(bind(H.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(H.fd, 8), 0);
	assert_int_equal(pthread_create(&H.thread, NULL, http_main, NULL), 0);
}

static void http_stop(void)
{
	shutdown(H.fd, SHUT_RDWR);
	close(H.fd);
	pthread_join(H.thread, NULL);
}

/* ---- setting up --------------------------------------------------------------- */

static void make_image(const char *path, const char *net, size_t extra, uint32_t salt,
		       uint8_t **keep, size_t *keep_len)
{
	const char *names[] = {net};
	const unsigned types[] = {H_NET};
	size_t len = 0;
	uint8_t *img = h_image(1, names, types, net != NULL ? 1 : 0, salt, &len);
	assert_non_null(img);
	uint8_t *all = malloc(len + extra);
	assert_non_null(all);
	memcpy(all, img, len);
	free(img);
	/* Random bytes: nothing a compressor could squeeze into a certificate. */
	int r = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	for (size_t off = 0; off < extra;) {
		ssize_t n = read(r, all + len + off, extra - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	close(r);
	assert_true(store_file(path, all, len + extra));
	if (keep != NULL) {
		*keep = all;
		*keep_len = len + extra;
	} else {
		free(all);
	}
}

static int setup(void **state)
{
	(void)state;
	if_up("lo");
	if (h_setup(&T.h, "remote") != 0)
		return -1;
	snprintf(T.pki, sizeof(T.pki), "%s/pki", T.h.root);
	if (mkdir(T.pki, 0700) != 0 || chdir(T.pki) != 0)
		return -1;
	struct alb_net *net;
	if (alb_net_new(&net, NULL) != 0 || alb_bridge_create(net, BR, NULL) != 0)
		return -1;
	alb_net_free(net);

	/* The PKI: a CA, its server, a tenant delegated with a policy. */
	RUN_EXPECT(0, NULL, NULL, "alb-ca", "generate", "myca", "ca.db");
	RUN_EXPECT(0, NULL, NULL, "alb-ca", "add-policy-csr", "tenant", "1", "--mem", "64",
		   "--cpu", "0", "--block", "10", "--bridge", BR);
	RUN_EXPECT(0, "signed tenant.pem", NULL, "alb-ca", "sign", "cacert.pem", "ca.db",
		   "myca.key", "tenant.req");
	if (rename("tenant.pem", "ca.pem") != 0 || rename("tenant.key", "ca.key") != 0)
		return -1;
	/* Another CA: its server certificate is what an untrusted host shows. */
	if (mkdir("other", 0700) != 0 || chdir("other") != 0)
		return -1;
	RUN_EXPECT(0, NULL, NULL, "alb-ca", "generate", "otherca", "ca.db");
	if (chdir(T.pki) != 0)
		return -1;

	char *consoled[] = {"alb-consoled", "--tmpdir", T.h.tmpdir, NULL};
	char *statsd[] = {"alb-statsd", "--tmpdir", T.h.tmpdir, "--interval", "1", NULL};
	T.consoled = spawn(consoled, "consoled.log");
	T.statsd = spawn(statsd, "statsd.log");
	char sock[H_PATH + 32];
	snprintf(sock, sizeof(sock), "%s/util/console.sock", T.h.tmpdir);
	if (!wait_file(sock))
		return -1;
	snprintf(sock, sizeof(sock), "%s/util/stat.sock", T.h.tmpdir);
	if (!wait_file(sock) || h_start_albd(&T.h, NULL) != 0)
		return -1;
	/* The endpoint on every address (dual-stack), the default port. */
	char *tlsd[] = {"alb-tlsd", "--tmpdir", T.h.tmpdir, "cacert.pem", "server.pem",
			"server.key", NULL};
	T.tlsd = spawn(tlsd, "tlsd.log");
	/* One whose certificate the tenant's --server-ca does not lead to. */
	char *other[] = {"alb-tlsd", "--tmpdir", T.h.tmpdir, "--port", OTHER_PORT,
			 "cacert.pem", "other/server.pem", "other/server.key", NULL};
	T.tlsd_other = spawn(other, "tlsd-other.log");
	if (!wait_port(atoi(PORT)) || !wait_port(atoi(OTHER_PORT)))
		return -1;
	make_image("big.img", NULL, BIG_EXTRA, 0, &T.big, &T.big_len);
	make_image("small.img", NULL, 100, 1, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stop(&T.tlsd);
	stop(&T.tlsd_other);
	h_stop(&T.h, SIGTERM);
	stop(&T.statsd);
	stop(&T.consoled);
	struct alb_net *net;
	if (alb_net_new(&net, NULL) == 0) {
		alb_bridge_delete(net, BR, NULL);
		alb_net_free(net);
	}
	free(T.big);
	if (chdir("/") != 0)
		return -1;
	h_teardown(&T.h);
	return 0;
}

/* ---- the tenant's session ------------------------------------------------------ */

static void test_deploy_streams(void **state)
{
	(void)state;
	/* the tenant may run one unikernel: this one goes first */
	make_image("mid.img", NULL, MID_EXTRA, 1, NULL, NULL);
	RUN_EXPECT(0, "tenant:mid: success: created unikernel",
		   "streams after the handshake", "alb-deploy", "create", "mid",
		   "mid.img", "--compression-level", "0", "--arg=--sleep-ms=60000",
		   "-v", DEST);
	RUN_EXPECT(0, "success: destroyed unikernel", NULL, "alb-deploy", "destroy",
		   "mid", DEST);
	/* through alb-tlsd --stream-images, which passes the stream on to
	 * albd as it comes: the same image arrives whole */
	char *streaming[] = {"alb-tlsd", "--tmpdir", T.h.tmpdir, "--port",
			     STREAMING_PORT, "--stream-images", "cacert.pem",
			     "server.pem", "server.key", NULL};
	pid_t p = spawn(streaming, "tlsd-streaming.log");
	assert_true(wait_port(atoi(STREAMING_PORT)));
	uint8_t *mid = NULL;
	size_t mid_len = 0;
	make_image("mid.img", NULL, MID_EXTRA, 2, &mid, &mid_len);
	RUN_EXPECT(0, "tenant:mid: success: created unikernel",
		   "streams after the handshake", "alb-deploy", "create", "mid",
		   "mid.img", "--compression-level", "0", "--arg=--sleep-ms=60000",
		   "-v", "-d", "127.0.0.1:" STREAMING_PORT);
	uint8_t md[ALB_SHA256_LEN];
	char mh[2 * ALB_SHA256_LEN + 1];
	assert_int_equal(alb_image_digest(mid, mid_len, md, NULL), 0);
	hex(md, sizeof(md), mh);
	RUN_EXPECT(0, mh, NULL, "alb-info", "info", "--json", "-n", "mid", DEST);
	RUN_EXPECT(0, "success: destroyed unikernel", NULL, "alb-deploy", "destroy",
		   "mid", DEST);
	stop(&p);
	free(mid);
	/* Level 0: 20 MiB of random bytes cannot travel in a certificate. */
	RUN_EXPECT(0, "tenant:hello: success: created unikernel",
		   "streams after the handshake", "alb-deploy", "create", "hello",
		   "big.img", "--compression-level", "0", "--arg=--sleep-ms=60000", "-v",
		   DEST);
	RUN_EXPECT(0, ":hello", NULL, "alb-info", "info", DEST);
	/* the host has the whole image: its digest is the file's */
	uint8_t d[ALB_SHA256_LEN];
	char dh[2 * ALB_SHA256_LEN + 1];
	assert_int_equal(alb_image_digest(T.big, T.big_len, d, NULL), 0);
	hex(d, sizeof(d), dh);
	RUN_EXPECT(0, dh, NULL, "alb-info", "info", "--json", "-n", "hello", DEST);
	/* an IPv6 literal destination needs its port, or brackets */
	RUN_EXPECT(0, ":hello", NULL, "alb-info", "info", "-d", "::1:" PORT);
	RUN_EXPECT(0, ":hello", NULL, "alb-info", "info", "-d", "[::1]");
}

static void test_console(void **state)
{
	(void)state;
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/alb-info", build_root());
	/* every line the ring holds: the fake tender reports more lines than
	 * the default count before its guest command line */
	char *argv[] = {exe, "console", "hello", "--since", "2000-01-01", "-d",
			"127.0.0.1", NULL};
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("console.out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		dup2(fd, 1);
		execv(exe, argv);
		_exit(127);
	}
	/* It follows for ever: wait for the unikernel's lines (the fake
	 * tender's report, up to its guest command line), then stop it. */
	char *out = NULL;
	for (int i = 0; i < 500; i++, h_sleep_ms(20)) {
		free(out);
		out = (char *)slurp("console.out", NULL);
		if (out != NULL && strstr(out, "fake-tender: cmdline") != NULL)
			break;
	}
	int st;
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* still following */
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	if (out == NULL || strstr(out, "fake-tender: start") == NULL ||
	    strstr(out, "fake-tender: cmdline --name=hello --sleep-ms=60000\n") == NULL)
		fail_msg("console: %s", out != NULL ? out : "(nothing)");
	free(out);
}

static void test_stats(void **state)
{
	(void)state;
	/* alb-statsd learnt the tender from albd; one round over TLS. */
	RUN_EXPECT(0, "hello", NULL, "alb-info", "stats", "-n", "hello", DEST);
}

static void test_block(void **state)
{
	(void)state;
	uint8_t *data = malloc(BLOCK_DATA);
	assert_non_null(data);
	for (size_t i = 0; i < BLOCK_DATA; i++)
		data[i] = (uint8_t)(i * 7 + i / 4096);
	assert_true(store_file("data.bin", data, BLOCK_DATA));
	RUN_EXPECT(0, "success: added block device", NULL, "alb-deploy", "create-block",
		   "disk", "4", DEST);
	/* level 9 by default remotely, a compressed stream */
	RUN_EXPECT(0, "success: set block device", NULL, "alb-deploy", "set-block", "disk",
		   "data.bin", DEST);
	RUN_EXPECT(0, "disk  4 MB  no", NULL, "alb-info", "block", DEST);
	const char *levels[] = {"0", "9"};
	for (size_t l = 0; l < 2; l++) {
		RUN_EXPECT(0, "dumped to dump.bin", NULL, "alb-info", "dump-block", "disk",
			   "-o", "dump.bin", "--compression-level", levels[l], DEST);
		size_t len;
		uint8_t *got = slurp("dump.bin", &len);
		assert_non_null(got);
		assert_int_equal(len, 4u << 20);
		assert_memory_equal(got, data, BLOCK_DATA);
		for (size_t i = BLOCK_DATA; i < len; i++)
			assert_int_equal(got[i], 0);
		free(got);
	}
	free(data);
	RUN_EXPECT(0, "success: removed block", NULL, "alb-deploy", "destroy-block", "disk",
		   DEST);
}

static void test_get(void **state)
{
	(void)state;
	RUN_EXPECT(0, "dumped image to image.out", NULL, "alb-info", "get", "hello", "-o",
		   "image.out", "--compression-level", "1", DEST);
	size_t len;
	uint8_t *got = slurp("image.out", &len);
	assert_non_null(got);
	assert_int_equal(len, T.big_len);
	assert_memory_equal(got, T.big, len);
	free(got);
}

static void test_refused(void **state)
{
	(void)state;
	/* Above the policy: refused by the client before it connects (the
	 * port is closed: connecting would be 122). */
	RUN_EXPECT(124, NULL,
		   "alb-deploy: couldn't generate certificate chain: 128 MB memory "
		   "assigned to unikernel exceeds policy (64MB)\n",
		   "alb-deploy", "create", "huge", "small.img", "--mem", "128", "-d",
		   "127.0.0.1:9");
	/* Within the policy, but its one unikernel runs: the host says no. */
	RUN_EXPECT(117, NULL,
		   "alb-deploy: tenant:two: command failed: maximum amount of "
		   "unikernels (1) reached\n",
		   "alb-deploy", "create", "two", "small.img", DEST);
}

static void test_authentication(void **state)
{
	(void)state;
	/* A client CA the server does not trust (trusted locally by the
	 * --server-ca that holds both, so that the chain check passes). */
	char both[] = "both.pem";
	size_t l1, l2;
	uint8_t *a = slurp("cacert.pem", &l1), *b = slurp("other/cacert.pem", &l2);
	assert_non_null(a);
	assert_non_null(b);
	a = realloc(a, l1 + l2);
	memcpy(a + l1, b, l2);
	assert_true(store_file(both, a, l1 + l2));
	free(a);
	free(b);
	RUN_EXPECT(119, NULL, "alb-info: local authentication failure", "alb-info", "info",
		   "--ca", "other/cacert.pem", "--ca-key", "other/otherca.key", "--server-ca",
		   both, DEST);
	/* ... and without that, the chain fails locally before connecting. */
	RUN_EXPECT(116, NULL,
		   "alb-info: TLS validation error of provided certificate chain: ",
		   "alb-info", "info", "--ca", "other/cacert.pem", "--ca-key",
		   "other/otherca.key", DEST);
	/* A server whose certificate does not lead to --server-ca. */
	RUN_EXPECT(120, NULL, "alb-info: remote authentication failure ", "alb-info", "info",
		   "-d", "127.0.0.1:" OTHER_PORT);
	/* Nobody listening. */
	RUN_EXPECT(122, NULL, "alb-info: connect failed with 127.0.0.1:9: Connection refused",
		   "alb-info", "info", "-d", "127.0.0.1:9");
	/* "-" prints the chain instead of connecting. */
	RUN_EXPECT(121, "intermediate:\n-----BEGIN CERTIFICATE-----", NULL, "alb-deploy",
		   "destroy", "hello", "-d", "-");
	/* a key that is not the CA's */
	RUN_EXPECT(124, NULL,
		   "couldn't generate certificate chain: Public key of certificate "
		   "doesn't match private key",
		   "alb-info", "info", "--ca-key", "other/otherca.key", DEST);
	RUN_EXPECT(124, NULL, "The options --csr, --destination, and --socket are mutually exclusive",
		   "alb-info", "info", "--csr", DEST);
	/* as albatross-client: "::1" is host ":" and port 1 */
	RUN_EXPECT(124, NULL, "option '--destination': invalid host name :\n", "alb-info",
		   "info", "-d", "::1");
	RUN_EXPECT(124, NULL, "option '--destination': failed to parse port\n", "alb-info",
		   "info", "-d", "host:port");
}

/* alb-tlsd --cert-list-max: a chain above it is refused by the server in
 * the handshake (the client reads the alert: 121) with the reason in its
 * log; at its largest value
 * (ALB_TLSD_CERT_LIST_MAX) alb-tlsd starts and serves; one past it, or not
 * a number of bytes, is refused at start. */
static void test_cert_list_option(void **state)
{
	(void)state;
	char max[16], past[16];
	snprintf(max, sizeof(max), "%u", ALB_TLSD_CERT_LIST_MAX);
	snprintf(past, sizeof(past), "%u", ALB_TLSD_CERT_LIST_MAX + 1);
	RUN_EXPECT(124, NULL, "alb-tlsd: option '--cert-list-max': 16777216 is above "
		   "16777215 bytes", "alb-tlsd", "--cert-list-max", past, "cacert.pem",
		   "server.pem", "server.key");
	RUN_EXPECT(124, NULL, "alb-tlsd: option '--cert-list-max': 16M is above",
		   "alb-tlsd", "--cert-list-max", "16M", "cacert.pem", "server.pem",
		   "server.key");
	RUN_EXPECT(124, NULL, "alb-tlsd: option '--cert-list-max': invalid value '0', "
		   "expected a number of bytes", "alb-tlsd", "--cert-list-max", "0",
		   "cacert.pem", "server.pem", "server.key");
	RUN_EXPECT(124, NULL, "invalid value '1G'", "alb-tlsd", "--cert-list-max", "1G",
		   "cacert.pem", "server.pem", "server.key");

	char *limited[] = {"alb-tlsd", "--tmpdir", T.h.tmpdir, "--port", LIMITED_PORT,
			   "--cert-list-max", "300", "cacert.pem", "server.pem",
			   "server.key", NULL};
	pid_t p = spawn(limited, "tlsd-limited.log");
	assert_true(wait_port(atoi(LIMITED_PORT)));
	RUN_EXPECT(121, NULL, "alb-info: reading from the TLS connection: TLS alert: "
		   "illegal parameter", "alb-info", "info", "-d", "127.0.0.1:" LIMITED_PORT);
	stop(&p);
	char *log = (char *)slurp("tlsd-limited.log", NULL);
	assert_non_null(log);
	assert_non_null(strstr(log, "TLS handshake failed: the client's certificate "
				    "chain is larger than this endpoint takes"));
	free(log);
	char *largest[] = {"alb-tlsd", "--tmpdir", T.h.tmpdir, "--port", LIMITED_PORT,
			   "--cert-list-max", max, "cacert.pem", "server.pem",
			   "server.key", NULL};
	p = spawn(largest, "tlsd-largest.log");
	assert_true(wait_port(atoi(LIMITED_PORT)));
	RUN_EXPECT(0, ":hello", NULL, "alb-info", "info", "-d", "127.0.0.1:" LIMITED_PORT);
	stop(&p);
}

static void test_restart_destroy(void **state)
{
	(void)state;
	RUN_EXPECT(0, "tenant:hello: success", NULL, "alb-deploy", "restart", "hello", DEST);
	RUN_EXPECT(0, "tenant:hello: success: destroyed unikernel", NULL, "alb-deploy",
		   "destroy", "hello", DEST);
	RUN_EXPECT(0, NULL, NULL, "alb-info", "info", DEST);
}

static void test_csr(void **state)
{
	(void)state;
	RUN_EXPECT(0, "wrote hello2.req", NULL, "alb-deploy", "create", "hello2", "small.img",
		   "--arg=--sleep-ms=60000", "--csr");
	RUN_EXPECT(0, "signed hello2.pem", NULL, "alb-ca", "sign", "ca.pem", "ca.db",
		   "ca.key", "hello2.req");
	RUN_EXPECT(0, "tenant:hello2: success: created unikernel", NULL, "alb-deploy",
		   "certificate", "hello2.pem", "hello2.key", DEST);
	RUN_EXPECT(0, ":hello2", NULL, "alb-info", "info", DEST);
	RUN_EXPECT(0, "success: destroyed unikernel", NULL, "alb-deploy", "destroy",
		   "hello2", DEST);
}

static void test_update(void **state)
{
	(void)state;
	uint8_t *v1;
	size_t v1_len;
	make_image("v1.img", "service", 1000, 10, &v1, &v1_len);
	make_image("v2.img", "service", 2000, 20, &H.v2, &H.v2_len);
	uint8_t d[ALB_SHA256_LEN];
	assert_int_equal(alb_image_digest(v1, v1_len, d, NULL), 0);
	hex(d, sizeof(d), H.hash_v1);
	free(v1);
	H.latest = "uuid-1";
	http_start();
	RUN_EXPECT(0, "success: created unikernel", NULL, "alb-deploy", "create", "upd",
		   "v1.img", "--net", "service:" BR "@" MAC, "--arg=--sleep-ms=60000", DEST);
	const char *host = "http://127.0.0.1:8080/";
	RUN_EXPECT(0, "already up to date", NULL, "alb-deploy", "update", "upd",
		   "--http-host", host, DEST);
	H.latest = "uuid-2";
	RUN_EXPECT(0, "compare at http://127.0.0.1:8080/compare/uuid-1/uuid-2", NULL,
		   "alb-deploy", "update", "upd", "--http-host", host, "--dryrun", DEST);
	RUN_EXPECT(0, H.hash_v1, NULL, "alb-info", "info", "--json", DEST);
	RUN_EXPECT(0, "success: created unikernel", NULL, "alb-deploy", "update", "upd",
		   "--http-host", host, DEST);
	assert_int_equal(alb_image_digest(H.v2, H.v2_len, d, NULL), 0);
	char h2[2 * ALB_SHA256_LEN + 1];
	hex(d, sizeof(d), h2);
	RUN_EXPECT(0, h2, NULL, "alb-info", "info", "--json", DEST);
	/* the MAC it had, not the one albd would derive */
	RUN_EXPECT(0, "net service->" BR " (" MAC ")", NULL, "alb-info", "info", DEST);
	/* now the build server does not know the running image */
	RUN_EXPECT(118, NULL,
		   "error in HTTP interaction: couldn't find the unikernel in the repository",
		   "alb-deploy", "update", "upd", "--http-host", host, DEST);
	RUN_EXPECT(124, NULL, "expected http[s]://hostname", "alb-deploy", "update", "upd",
		   "--http-host", "ftp://x", DEST);
	RUN_EXPECT(0, "destroyed unikernel", NULL, "alb-deploy", "destroy", "upd", DEST);
	http_stop();
	free(H.v2);
}

static int tests(void)
{
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/alb-tlsd", build_root());
	if (access(exe, X_OK) != 0 || getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: the programs are not built or ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	const struct CMUnitTest list[] = {
		cmocka_unit_test(test_deploy_streams),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_authentication),
		cmocka_unit_test(test_cert_list_option),
		cmocka_unit_test(test_restart_destroy),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_update),
	};
	return cmocka_run_group_tests(list, setup, teardown);
}

int main(void)
{
	return run_in_netns(tests);
}
