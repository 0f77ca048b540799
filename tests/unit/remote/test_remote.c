/* Unit tests of the remote folder: the destination syntax (spec §10.1)
 * with its host limits, where a create's image travels (the certificate
 * limit at and one past), the credentials of a command (CN rules, the
 * pre-checks, the chain check against a server CA, `-d -`), a connect to
 * a closed port, and HTTP GET against a server played here on 127.0.0.1
 * (Content-Length, chunked, up to the close; the body, head and Location
 * limits at and one past).
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "albatross/remote.h"
#include "albatross/stream.h"

/* ---- destinations ---------------------------------------------------------- */

static void dest_ok(const char *s, const char *host, uint16_t port)
{
	char h[ALB_REMOTE_HOST_BUF];
	uint16_t p = 0;
	struct alb_error err = {0};
	if (alb_remote_parse_destination(s, h, &p, &err) != 0)
		fail_msg("%s: %s", s, err.msg);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
}

static void dest_bad(const char *s, const char *msg)
{
	char h[ALB_REMOTE_HOST_BUF];
	uint16_t p = 0;
	struct alb_error err = {0};
	assert_int_equal(alb_remote_parse_destination(s, h, &p, &err), ALB_EPARSE);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("%s: \"%s\", want \"%s\"", s, err.msg, msg);
}

static void test_destination(void **state)
{
	(void)state;
	dest_ok("example.org", "example.org", 1025);
	dest_ok("example.org.", "example.org.", 1025);
	dest_ok("example.org:443", "example.org", 443);
	dest_ok("10.0.0.1", "10.0.0.1", 1025);
	dest_ok("10.0.0.1:0", "10.0.0.1", 0);
	dest_ok("10.0.0.1:65535", "10.0.0.1", 65535);
	dest_ok("::1:1025", "::1", 1025);
	dest_ok("fe80::1:2:7", "fe80::1:2", 7);
	dest_ok("[::1]", "::1", 1025);
	dest_ok("[::1]:9", "::1", 9);
	dest_ok("-", "-", 1025);
	dest_ok("-:5", "-", 5);
	/* as albatross-client: the last piece is the port */
	dest_bad("::1", "invalid host name :");
	dest_bad("host:port", "failed to parse port");
	dest_bad("host:65536", "failed to parse port");
	dest_bad("host:-1", "failed to parse port");
	dest_bad("host:", "failed to parse port");
	dest_bad("", "invalid host name");
	dest_bad("a_b", "invalid host name a_b");
	dest_bad("-a.org", "invalid host name");
	dest_bad("a-.org", "invalid host name");
	dest_bad("a..org", "invalid host name");
	dest_bad("[::1", "invalid host name");
	dest_bad("[::1]x", "invalid host name");
	/* a label of 63 bytes, and one of 64 */
	char label[80];
	memset(label, 'a', 63);
	label[63] = '\0';
	dest_ok(label, label, 1025);
	memset(label, 'a', 64);
	label[64] = '\0';
	dest_bad(label, "invalid host name");
	/* a host of ALB_REMOTE_HOST_MAX bytes, and one more */
	char host[ALB_REMOTE_HOST_MAX + 2];
	for (size_t i = 0; i < ALB_REMOTE_HOST_MAX; i++)
		host[i] = i % 10 == 9 ? '.' : 'b';
	host[ALB_REMOTE_HOST_MAX] = '\0';
	dest_ok(host, host, 1025);
	host[ALB_REMOTE_HOST_MAX] = 'b';
	host[ALB_REMOTE_HOST_MAX + 1] = '\0';
	dest_bad(host, "longer than 253 bytes");
}

/* ---- a create's image -------------------------------------------------------- */

static int temp_with(const uint8_t *p, size_t len)
{
	char path[] = "/tmp/alb-remote-img-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, p + off, len - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Where an image of len bytes (random, or zeros) travels at level. */
static bool streams(const uint8_t *data, size_t len, int level,
		    struct alb_unikernel_config *cfg, struct alb_buf *buf)
{
	int fd = temp_with(data, len);
	bool stream = false;
	struct alb_error err = {0};
	memset(cfg, 0, sizeof(*cfg));
	memset(buf, 0, sizeof(*buf));
	if (alb_remote_image_prepare(fd, len, level, cfg, buf, &stream, &err) != 0)
		fail_msg("prepare: %s", err.msg);
	/* a streamed image is read again from the start */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), stream ? 0 : (off_t)len);
	close(fd);
	return stream;
}

static void test_image(void **state)
{
	(void)state;
	size_t max = ALB_REMOTE_CERT_IMAGE_MAX;
	uint8_t *data = malloc(max + 1);
	assert_non_null(data);
	int r = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	for (size_t off = 0; off < max + 1;) {
		ssize_t n = read(r, data + off, max + 1 - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	close(r);
	struct alb_unikernel_config cfg;
	struct alb_buf buf;
	/* level 0: at the limit in the certificate, as it is; one past streams */
	assert_false(streams(data, max, 0, &cfg, &buf));
	assert_false(cfg.compressed);
	assert_int_equal(cfg.image.len, max);
	assert_memory_equal(cfg.image.ptr, data, max);
	alb_buf_free(&buf);
	assert_true(streams(data, max + 1, 0, &cfg, &buf));
	assert_false(cfg.compressed);
	assert_int_equal(cfg.image.len, 0);
	assert_null(buf.data);
	/* compressed: what counts is the output; random bytes do not shrink */
	assert_true(streams(data, max, 1, &cfg, &buf));
	assert_true(cfg.compressed);
	assert_int_equal(cfg.image.len, 0);
	/* zeros do, far below the limit: in the certificate, compressed */
	memset(data, 0, max + 1);
	assert_false(streams(data, max + 1, 9, &cfg, &buf));
	assert_true(cfg.compressed);
	struct alb_buf plain = {0};
	assert_int_equal(alb_zlib_inflate(cfg.image.ptr, cfg.image.len, max + 1, &plain, NULL), 0);
	assert_int_equal(plain.len, max + 1);
	alb_buf_free(&plain);
	alb_buf_free(&buf);
	free(data);
	bool stream;
	struct alb_error err = {0};
	assert_int_equal(alb_remote_image_prepare(0, 1, 10, &cfg, &buf, &stream, &err),
			 ALB_EINVAL);
}

/* ---- credentials ----------------------------------------------------------------- */

static char dir[] = "/tmp/alb-remote-test-XXXXXX";

/* A CA named cn with key <cn>.key written as <cn>.pem; with a policy when
 * p is not NULL (a delegated CA signed by the root "root"). */
static void make_ca(const char *cn, const struct alb_policy *p)
{
	char path[128];
	EVP_PKEY *key = NULL;
	X509 *ca = NULL;
	snprintf(path, sizeof(path), "%s.key", cn);
	assert_int_equal(alb_key_load_or_create(path, ALB_KEY_ED25519, &key, NULL), 0);
	if (p == NULL) {
		assert_int_equal(alb_cert_make_ca(key, cn, 10, alb_cert_now(), &ca, NULL), 0);
	} else {
		struct alb_command cmd = {.kind = ALB_CMD_POLICY_ADD};
		cmd.u.policy = *p;
		X509_REQ *csr = NULL;
		X509 *root = NULL;
		EVP_PKEY *rkey = NULL;
		assert_int_equal(alb_csr_make(key, cn, &cmd, 0, &csr, NULL), 0);
		assert_int_equal(alb_cert_read_single("root.pem", &root, NULL), 0);
		assert_int_equal(alb_key_read_file("root.key", &rkey, NULL), 0);
		assert_int_equal(alb_cert_sign_csr(root, rkey, csr, 0, alb_cert_now(), NULL, &ca,
						   NULL),
				 0);
		X509_REQ_free(csr);
		X509_free(root);
		EVP_PKEY_free(rkey);
	}
	snprintf(path, sizeof(path), "%s.pem", cn);
	assert_int_equal(alb_cert_write_file(path, ca, NULL, NULL), 0);
	X509_free(ca);
	EVP_PKEY_free(key);
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (chdir("/") != 0)
		return -1;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_creds(void **state)
{
	(void)state;
	static const int64_t cpus[] = {0};
	const struct alb_policy pol = {.unikernels = 1, .n_cpuids = 1,
				       .cpuids = (int64_t *)cpus, .memory = 64};
	make_ca("root", NULL);
	make_ca("tenant", &pol);
	make_ca("other", NULL);
	struct alb_remote_config cfg;
	alb_remote_config_init(&cfg);
	assert_string_equal(cfg.ca_file, "ca.pem");
	assert_string_equal(cfg.ca_key_file, "ca.key");
	assert_string_equal(cfg.server_ca_file, "cacert.pem");
	assert_int_equal(cfg.level, 9);
	cfg.ca_file = "tenant.pem";
	cfg.ca_key_file = "tenant.key";
	struct alb_remote_creds *c = NULL;
	enum alb_remote_status why = ALB_REMOTE_OK;
	struct alb_error err = {0};
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	if (alb_remote_creds_make(&cfg, ":hello", &info, &c, &why, &err) != 0)
		fail_msg("make: %s", err.msg);
	assert_int_equal(why, ALB_REMOTE_OK);
	char cn[ALB_CERT_CN_MAX + 1];
	assert_int_equal(alb_cert_cn(alb_remote_creds_leaf(c), cn, NULL), 0);
	assert_string_equal(cn, "hello");
	assert_int_equal(alb_remote_creds_command(c)->command.kind, ALB_CMD_UNIKERNEL_INFO);
	/* the chain leads to the root, not to another CA */
	assert_int_equal(alb_remote_creds_check(c, "root.pem", &why, &err), 0);
	assert_int_equal(alb_remote_creds_check(c, "other.pem", &why, &err), ALB_EPERM);
	assert_int_equal(why, ALB_REMOTE_CHAIN);
	assert_non_null(strstr(err.msg, "TLS validation error of provided certificate chain: "));
	assert_int_equal(alb_remote_creds_check(c, "absent.pem", &why, &err), ALB_ESYS);
	assert_int_equal(why, ALB_REMOTE_LOCAL);
	/* -d - */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_int_equal(alb_remote_creds_print(c, f, NULL), 0);
	fclose(f);
	assert_true(strncmp(text, "intermediate:\n-----BEGIN CERTIFICATE-----", 41) == 0);
	assert_non_null(strstr(text, "\nleaf:\n-----BEGIN CERTIFICATE-----"));
	free(text);
	/* a closed port: no connection */
	assert_int_equal(alb_remote_connect(&(struct alb_remote_config){
						    .ca_file = "tenant.pem",
						    .ca_key_file = "tenant.key",
						    .server_ca_file = "root.pem"},
					    "127.0.0.1", 9, c, &(struct alb_client *){NULL}, &why,
					    &err),
			 ALB_ESYS);
	assert_int_equal(why, ALB_REMOTE_CONNECT);
	assert_string_equal(err.msg, "connect failed with 127.0.0.1:9: Connection refused");
	alb_remote_creds_free(c);

	/* the pre-check: above the tenant's policy, before any certificate */
	struct alb_command cr = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	cr.u.create.n_cpuids = 1;
	cr.u.create.cpuids = (int64_t *)cpus;
	cr.u.create.memory = 65;
	cr.u.create.image.ptr = (const uint8_t *)"x";
	cr.u.create.image.len = 1;
	assert_int_not_equal(alb_remote_creds_make(&cfg, ":big", &cr, &c, &why, &err), 0);
	assert_int_equal(why, ALB_REMOTE_LOCAL);
	assert_string_equal(err.msg, "couldn't generate certificate chain: 65 MB memory "
				     "assigned to unikernel exceeds policy (64MB)");
	cr.u.create.memory = 64;
	assert_int_equal(alb_remote_creds_make(&cfg, ":big", &cr, &c, &why, &err), 0);
	alb_remote_creds_free(c);
	/* a name below the root has no CN */
	assert_int_equal(alb_remote_creds_make(&cfg, "a:hello", &info, &c, &why, &err),
			 ALB_EINVAL);
	assert_string_equal(err.msg, "non-empty path");
	/* a key of another certificate */
	cfg.ca_key_file = "other.key";
	assert_int_equal(alb_remote_creds_make(&cfg, ":hello", &info, &c, &why, &err),
			 ALB_EINVAL);
	assert_string_equal(err.msg, "couldn't generate certificate chain: Public key of "
				     "certificate doesn't match private key");
	/* the reserved bytes must be zero */
	cfg.ca_key_file = "tenant.key";
	cfg.reserved_[0] = 1;
	assert_int_equal(alb_remote_creds_make(&cfg, ":hello", &info, &c, &why, &err),
			 ALB_EINVAL);
	/* existing credentials: certificate CERT KEY */
	assert_int_equal(alb_remote_creds_load("tenant.pem", "tenant.key", &c, &why, &err), 0);
	assert_int_equal(alb_remote_creds_command(c)->command.kind, ALB_CMD_POLICY_ADD);
	alb_remote_creds_free(c);
	assert_int_equal(alb_remote_creds_load("tenant.pem", "other.key", &c, &why, &err),
			 ALB_EINVAL);
	assert_int_equal(why, ALB_REMOTE_LOCAL);
}

/* ---- HTTP ---------------------------------------------------------------------------- */

static struct {
	int fd;
	uint16_t port;
	pthread_t thread;
	const char *reply; /* the head and body sent for every request */
	size_t reply_len;
	char request[4096];
} S;

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept4(S.fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return NULL;
		size_t len = 0;
		S.request[0] = '\0';
		while (len + 1 < sizeof(S.request) && strstr(S.request, "\r\n\r\n") == NULL) {
			ssize_t n = read(c, S.request + len, sizeof(S.request) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			S.request[len] = '\0';
		}
		for (size_t off = 0; off < S.reply_len;) {
			ssize_t n = write(c, S.reply + off, S.reply_len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		close(c);
	}
}

static int get(const char *reply, size_t len, int fd, uint64_t max,
	       struct alb_http_response *resp, struct alb_error *err)
{
	S.reply = reply;
	S.reply_len = len;
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/a/b?c=d", (unsigned)S.port);
	return alb_http_get(url, 5000, fd, max, resp, err);
}

static char *body_of(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	char *b = calloc(1, (size_t)end + 1);
	assert_int_equal(pread(fd, b, (size_t)end, 0), end);
	*len = (size_t)end;
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return b;
}

static void test_http(void **state)
{
	(void)state;
	S.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(S.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(S.fd, 4), 0);
	assert_int_equal(getsockname(S.fd, (struct sockaddr *)&sa, &sl), 0);
	S.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&S.thread, NULL, serve, NULL), 0);
	int fd = temp_with((const uint8_t *)"", 0);
	struct alb_http_response r;
	struct alb_error err = {0};
	size_t len;
	char *b;

	/* a redirect with Content-Length; the request line and Host */
	const char *redirect = "HTTP/1.1 302 Found\r\nLocation: /job/x/build/u\r\n"
			       "Content-Length: 5\r\n\r\nhello";
	assert_int_equal(get(redirect, strlen(redirect), fd, 5, &r, &err), 0);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.location, "/job/x/build/u");
	assert_int_equal(r.body_len, 5);
	assert_true(strncmp(S.request, "GET /a/b?c=d HTTP/1.1\r\nHost: 127.0.0.1:", 38) == 0);
	b = body_of(fd, &len);
	assert_string_equal(b, "hello");
	free(b);
	/* one byte of body past max_body */
	assert_int_equal(get(redirect, strlen(redirect), fd, 4, &r, &err), ALB_ETOOBIG);
	assert_int_equal(ftruncate(fd, 0), 0);
	/* chunked, with an extension and a trailer */
	const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			      "3;x=y\r\nabc\r\n4\r\ndefg\r\n0\r\nX-T: 1\r\n\r\n";
	assert_int_equal(get(chunked, strlen(chunked), fd, 100, &r, &err), 0);
	assert_int_equal(r.status, 200);
	b = body_of(fd, &len);
	assert_string_equal(b, "abcdefg");
	free(b);
	/* up to the close; a body dropped (fd -1) still counts */
	const char *closed = "HTTP/1.0 404 Not Found\r\n\r\nnot here";
	assert_int_equal(get(closed, strlen(closed), -1, 100, &r, &err), 0);
	assert_int_equal(r.status, 404);
	assert_int_equal(r.body_len, 8);
	/* a cut chunked body, a response that is not HTTP */
	const char *cut = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc";
	assert_int_equal(get(cut, strlen(cut), -1, 100, &r, &err), ALB_EPARSE);
	assert_int_equal(get("SSH-2.0\r\n\r\n", 11, -1, 100, &r, &err), ALB_EPARSE);

	/* a Location of ALB_HTTP_LOCATION_MAX bytes, and one more */
	static char big[ALB_HTTP_HEAD_MAX + 256];
	int n = sprintf(big, "HTTP/1.1 301 Moved\r\nLocation: /");
	memset(big + n, 'l', ALB_HTTP_LOCATION_MAX - 1);
	strcpy(big + n + ALB_HTTP_LOCATION_MAX - 1, "\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(get(big, strlen(big), -1, 0, &r, &err), 0);
	assert_int_equal(strlen(r.location), ALB_HTTP_LOCATION_MAX);
	memset(big + n, 'l', ALB_HTTP_LOCATION_MAX);
	strcpy(big + n + ALB_HTTP_LOCATION_MAX, "\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(get(big, strlen(big), -1, 0, &r, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "HTTP Location too long");
	/* headers of ALB_HTTP_HEAD_MAX bytes after the status line (the final
	 * empty line included), and one more: filler lines of up to 1000 */
	const char *tail = "Content-Length: 0\r\n\r\n";
	for (int extra = 0; extra <= 1; extra++) {
		size_t fill = ALB_HTTP_HEAD_MAX + (size_t)extra - strlen(tail);
		char *p = big + sprintf(big, "HTTP/1.1 200 OK\r\n");
		while (fill > 0) {
			size_t l = fill > 1000 + 6 ? 1000 : fill;
			memcpy(p, "X: ", 3);
			memset(p + 3, 'h', l - 5);
			memcpy(p + l - 2, "\r\n", 2);
			p += l;
			fill -= l;
		}
		strcpy(p, tail);
		int rc = get(big, strlen(big), -1, 0, &r, &err);
		assert_int_equal(rc, extra ? ALB_EPARSE : 0);
	}
	/* URLs */
	assert_int_equal(alb_http_get("ftp://x/", 0, -1, 0, &r, &err), ALB_EPARSE);
	assert_int_equal(alb_http_get("http:///x", 0, -1, 0, &r, &err), ALB_EPARSE);
	assert_int_equal(alb_http_get("http://::1/x", 0, -1, 0, &r, &err), ALB_EPARSE);
	char url[ALB_HTTP_URL_MAX + 2];
	n = sprintf(url, "http://127.0.0.1:%u/", (unsigned)S.port);
	memset(url + n, 'u', ALB_HTTP_URL_MAX - (size_t)n);
	url[ALB_HTTP_URL_MAX] = '\0';
	S.reply = closed;
	S.reply_len = strlen(closed);
	assert_int_equal(alb_http_get(url, 5000, -1, 100, &r, &err), 0);
	url[ALB_HTTP_URL_MAX] = 'u';
	url[ALB_HTTP_URL_MAX + 1] = '\0';
	assert_int_equal(alb_http_get(url, 5000, -1, 100, &r, &err), ALB_EPARSE);
	close(fd);
	shutdown(S.fd, SHUT_RDWR);
	close(S.fd);
	pthread_join(S.thread, NULL);
}

/* ---- HTTPS -------------------------------------------------------------------- */

static struct {
	int fd;
	SSL_CTX *ctx;
	pthread_t thread;
} TS;

static void *serve_tls(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept4(TS.fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return NULL;
		SSL *ssl = SSL_new(TS.ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1) {
			char req[4096] = "";
			size_t len = 0;
			while (len + 1 < sizeof(req) && strstr(req, "\r\n\r\n") == NULL) {
				int n = SSL_read(ssl, req + len, (int)(sizeof(req) - 1 - len));
				if (n <= 0)
					break;
				len += (size_t)n;
				req[len] = '\0';
			}
			const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
			SSL_write(ssl, r, (int)strlen(r));
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(c);
		ERR_clear_error();
	}
}

/* https://localhost: the server's certificate (CN localhost, no SAN) from
 * a CA that $SSL_CERT_FILE names; localhost may resolve to ::1 first,
 * where nobody listens: the next address is tried. */
static void test_https(void **state)
{
	(void)state;
	make_ca("webca", NULL);
	EVP_PKEY *key = NULL, *cakey = NULL;
	X509_REQ *csr = NULL;
	X509 *ca = NULL, *cert = NULL;
	assert_int_equal(alb_key_load_or_create("web.key", ALB_KEY_P256, &key, NULL), 0);
	assert_int_equal(alb_csr_make(key, "localhost", NULL, 0, &csr, NULL), 0);
	assert_int_equal(alb_cert_read_single("webca.pem", &ca, NULL), 0);
	assert_int_equal(alb_key_read_file("webca.key", &cakey, NULL), 0);
	assert_int_equal(alb_cert_sign_csr(ca, cakey, csr, 1, alb_cert_now(), NULL, &cert, NULL), 0);
	TS.ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(TS.ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(TS.ctx, key), 1);
	TS.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(TS.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(TS.fd, 4), 0);
	assert_int_equal(getsockname(TS.fd, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(pthread_create(&TS.thread, NULL, serve_tls, NULL), 0);
	char url[64];
	snprintf(url, sizeof(url), "https://localhost:%u/x", (unsigned)ntohs(sa.sin_port));
	struct alb_http_response r;
	struct alb_error err = {0};
	/* not trusted: the system's store does not know this CA */
	setenv("SSL_CERT_FILE", "other.pem", 1);
	assert_int_equal(alb_http_get(url, 5000, -1, 100, &r, &err), ALB_EPERM);
	assert_non_null(strstr(err.msg, "remote authentication failure"));
	setenv("SSL_CERT_FILE", "webca.pem", 1);
	if (alb_http_get(url, 5000, -1, 100, &r, &err) != 0)
		fail_msg("https: %s", err.msg);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 6);
	/* the name is checked: 127.0.0.1 is not "localhost" */
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", (unsigned)ntohs(sa.sin_port));
	assert_int_equal(alb_http_get(url, 5000, -1, 100, &r, &err), ALB_EPERM);
	unsetenv("SSL_CERT_FILE");
	shutdown(TS.fd, SHUT_RDWR);
	close(TS.fd);
	pthread_join(TS.thread, NULL);
	SSL_CTX_free(TS.ctx);
	X509_free(cert);
	X509_free(ca);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destination),
		cmocka_unit_test(test_image),
		cmocka_unit_test(test_creds),
		cmocka_unit_test(test_http),
		cmocka_unit_test(test_https),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
