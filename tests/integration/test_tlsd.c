/* Integration: the TLS endpoint core on 127.0.0.1 (ephemeral port) in
 * front of a fake daemon (a thread answering on vmmd.sock and console.sock
 * of a temporary tmpdir like albd and alb-consoled), with a test PKI made
 * by the cert module and clients written here with OpenSSL: delegated
 * policies installed deepest first with consecutive sequence numbers, the
 * reply header, chains refused (another CA, an expired leaf, a leaf without
 * the extension, delegations that do not nest), a chain's policies all or
 * nothing (what went in is put back when vmmd refuses one), console
 * streams, streamed images, block data relayed, and every limit at and one
 * past; with the real alb-tlsd and the real albd, a chain with a
 * sub-policy above its parent, or one albd refuses, installs nothing.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <netinet/in.h>
#include <pwd.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "albatross/albatross.h"
#include "albatross/cert.h"
#include "albd_harness.h"
#include "cert_forge.h"
#include "test_child.h"

/* The limits of the endpoint under test (small, to test them cheaply). */
#define T_IMAGE_MAX 100000
#define T_CONN_MAX 4
#define T_HANDSHAKE_MS 1000
#define T_HANDSHAKES_MAX 3
#define T_ADDR_MAX 2
#define T_IDLE_MS 400
#define T_CERT_LIST 200000
/* The body of a TLS 1.3 Certificate message with one certificate and no
 * extensions is the certificate's DER and 9 bytes. */
#define CERT_MSG_OVERHEAD 9

/* What the real alb-tlsd must show (with its default limits). */
#define SILENT_CONNS 200
#define SERVED_MS_MAX 2000
#define BIG_CERT (15u * 1000u * 1000u)
#define BIG_CERT_COST_MAX_KIB (4u * 1024u)
/* Streamed images of these sizes through the real alb-tlsd: its peak RSS
 * after the larger one exceeds that after the smaller by less than
 * SPOOL_GROWTH_MAX_KIB (an image held in memory would add at least the
 * difference, 24 MiB). */
#define SPOOL_SMALL (8u * 1024u * 1024u)
#define SPOOL_BIG (32u * 1024u * 1024u)
#define SPOOL_GROWTH_MAX_KIB (2u * 1024u)
/* Replies to a Unikernel_get of these sizes from the fake vmmd through the
 * real alb-tlsd: its peak RSS after the larger one exceeds that after the
 * smaller by less than GET_GROWTH_MAX_KIB (a reply held whole would add
 * 24 MiB); a slow client may in addition have ALB_TLSD_PENDING_MAX bytes
 * waiting for it. The slow client reads SLOW_PIECE bytes at a time and
 * pauses 1 ms after every SLOW_EVERY bytes (about 64 MB/s). */
#define GET_SMALL (8u * 1024u * 1024u)
#define GET_BIG (32u * 1024u * 1024u)
#define GET_GROWTH_MAX_KIB (2u * 1024u)
#define SLOW_PIECE 4096u
#define SLOW_EVERY 65536u
/* ALB_IMAGE_REPLY_HEAD_MAX of proto/image_reply.h (private to the
 * library): the endpoint reads this much of a get's reply before it
 * decides whether it is an image to pass on. */
#define T_HEAD_MAX 4096u
/* alb-tlsd's exit status for a command-line error (Cmdliner's). */
#define DAEMON_EXIT_CLI_T 124

/* ---- what the fake daemon saw ---------------------------------------------- */

#define LOG_MAX 64

struct seen {
	enum alb_endpoint ep;
	enum alb_cmd_kind kind;
	int64_t sequence;
	char name[ALB_NAME_BUF];
	size_t image_len;   /* create */
	uint8_t image_first, image_last;
	size_t stream_len;  /* block set, streamed image: bytes relayed */
	bool streamed;      /* a create with an empty image, then a stream */
	bool stream_ended;  /* ... that ended with its end marker */
	size_t max_chunk;
	int64_t unikernels; /* policy add */
};

static struct {
	char dir[64];
	uint16_t port;
	uint16_t target;  /* the port clients connect to: port or the binary's */
	const char *src;  /* source address of the next connections, or NULL */
	uv_loop_t loop;
	uv_async_t stop;
	struct alb_tlsd *d;
	struct alb_tlsd *ds; /* the same, with stream_images */
	uint16_t port_s;     /* its port */
	pthread_t loop_thread, dm_thread[2];
	int dm_fd[2];
	pthread_mutex_t mu;
	struct seen log[LOG_MAX];
	size_t n_log;
	/* PKI */
	EVP_PKEY *ca_key, *other_key, *key;
	X509 *ca, *other_ca;
	char bad_policy_path[ALB_NAME_BUF]; /* vmmd refuses Policy_add here */
	int go[2]; /* a byte from the test lets the fake vmmd close (hold) */
	/* what the fake vmmd answers to Policy_info (names relative) */
	struct alb_named_policy held[4];
	size_t n_held;
} T;

static void record(const struct seen *s)
{
	pthread_mutex_lock(&T.mu);
	if (T.n_log < LOG_MAX)
		T.log[T.n_log++] = *s;
	pthread_mutex_unlock(&T.mu);
}

static void reply(int fd, const struct alb_msg *req, enum alb_payload_kind kind,
		  const char *text)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header = req->header;
	m.kind = kind;
	if (kind == ALB_PAYLOAD_FAILURE) {
		m.u.failure.ptr = text;
		m.u.failure.len = strlen(text);
	} else {
		m.u.success.kind = ALB_REPLY_STRING;
		m.u.success.u.string.ptr = text;
		m.u.success.u.string.len = strlen(text);
	}
	struct alb_buf out;
	memset(&out, 0, sizeof(out));
	if (alb_msg_encode(&m, 0, &out, NULL) == 0)
		alb_frame_write_fd(fd, out.data, out.len, NULL);
	alb_buf_free(&out);
}

static void reply_policies(int fd, const struct alb_msg *req)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header = req->header;
	m.kind = ALB_PAYLOAD_SUCCESS;
	m.u.success.kind = ALB_REPLY_POLICIES;
	m.u.success.u.policies.n = T.n_held;
	m.u.success.u.policies.v = T.held;
	struct alb_buf out;
	memset(&out, 0, sizeof(out));
	if (alb_msg_encode(&m, 0, &out, NULL) == 0)
		alb_frame_write_fd(fd, out.data, out.len, NULL);
	alb_buf_free(&out);
}

static void console_line(int fd, const struct alb_msg *req, const char *line)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header = req->header;
	m.header.sequence = 0;
	m.kind = ALB_PAYLOAD_DATA;
	m.u.data.kind = ALB_DATA_CONSOLE;
	m.u.data.u.console.time.sec = 1700000000;
	m.u.data.u.console.line.ptr = line;
	m.u.data.u.console.line.len = strlen(line);
	struct alb_buf out;
	memset(&out, 0, sizeof(out));
	if (alb_msg_encode(&m, 0, &out, NULL) == 0)
		alb_frame_write_fd(fd, out.data, out.len, NULL);
	alb_buf_free(&out);
}

/* Fake daemon answers that are not answers, for the names that ask for
 * them: a frame that does not decode (":garbage"), a frame longer than
 * the endpoint reads (":huge"), nothing at all (":silent" and the policy
 * path "silent:"), a Data message to a Policy_add ("data:"). True when the
 * connection is to be closed. */
static bool misbehave(int fd, const struct alb_msg *m)
{
	const char *name = m->header.name;
	if (strcmp(name, ":garbage") == 0) {
		static const uint8_t junk[] = {0, 0, 0, 3, 0xff, 0xff, 0xff};
		if (write(fd, junk, sizeof(junk)) < 0)
			perror("fake daemon: write");
		return true;
	}
	if (strcmp(name, ":huge") == 0) {
		uint8_t hdr[4];
		assert_int_equal(alb_frame_header(hdr, ALB_TLSD_FRAME_MAX + 1, NULL), 0);
		if (write(fd, hdr, sizeof(hdr)) < 0)
			perror("fake daemon: write");
		return true;
	}
	if (strcmp(name, ":silent") == 0 || strcmp(name, "silent:") == 0)
		return true;
	if (strcmp(name, "data:") == 0) {
		console_line(fd, m, "not an answer");
		return true;
	}
	return false;
}

/* What the fake vmmd answers to a Unikernel_get, set by the test before
 * its request: a Success (Unikernel_image) of len bytes of image_byte()
 * (zlib-compressed when compressed), or failure when not NULL. When cut is
 * not 0 only the frame's first cut bytes go out before the connection
 * closes, after a byte on T.go when hold. */
struct answer {
	size_t len;
	bool compressed;
	const char *failure;
	size_t cut;
	bool hold;
};
static struct answer get_answer;

/* The header vmmd puts on its answer: not the one the client is to see. */
#define VMMD_NAME "other:name"
#define VMMD_SEQUENCE 77

static uint8_t image_byte(size_t i)
{
	return (uint8_t)(i ^ (i >> 8) ^ (i >> 16) ^ 0x5a);
}

/* a as a frame with the header (name, sequence) in *out. */
static void answer_frame(const struct answer *a, const char *name,
			 int64_t sequence, struct alb_buf *out)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.sequence = sequence;
	m.header.name = name;
	uint8_t *img = malloc(a->len + 1);
	assert_non_null(img);
	for (size_t i = 0; i < a->len; i++)
		img[i] = image_byte(i);
	struct alb_buf z = {0};
	if (a->failure != NULL) {
		m.kind = ALB_PAYLOAD_FAILURE;
		m.u.failure.ptr = a->failure;
		m.u.failure.len = strlen(a->failure);
	} else {
		m.kind = ALB_PAYLOAD_SUCCESS;
		m.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
		m.u.success.u.image.compressed = a->compressed;
		m.u.success.u.image.data = (struct alb_bytes){img, a->len};
		if (a->compressed) {
			assert_int_equal(alb_zlib_deflate(img, a->len, 6, &z, NULL), 0);
			m.u.success.u.image.data = (struct alb_bytes){z.data, z.len};
		}
	}
	memset(out, 0, sizeof(*out));
	assert_int_equal(alb_msg_encode(&m, ALB_ENCODE_FRAMED, out, NULL), 0);
	alb_buf_free(&z);
	free(img);
}

/* get_answer as a frame (the test's view of what vmmd sends). */
static void get_frame(const char *name, int64_t sequence, struct alb_buf *out)
{
	answer_frame(&get_answer, name, sequence, out);
}

/* Bytes to the endpoint, which may have gone away (no more then). */
static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* The answer to a get: its first bytes in small writes (the endpoint puts
 * the frame header and the head together), then the rest at once. */
static void answer_get(int fd)
{
	/* the test sets up its next case as soon as this one's reply is in:
	 * what to do comes from this request's time, once */
	const struct answer a = get_answer;
	struct alb_buf out;
	answer_frame(&a, VMMD_NAME, VMMD_SEQUENCE, &out);
	size_t n = a.cut != 0 && a.cut < out.len ? a.cut : out.len;
	size_t at[] = {0, 3 < n ? 3 : n, 100 < n ? 100 : n, n};
	for (size_t i = 0; i + 1 < sizeof(at) / sizeof(*at); i++) {
		write_all(fd, out.data + at[i], at[i + 1] - at[i]);
		usleep(5000);
	}
	alb_buf_free(&out);
	struct pollfd p = {T.go[0], POLLIN, 0};
	char b;
	if (a.hold && poll(&p, 1, 10000) == 1 && read(T.go[0], &b, 1) != 1)
		perror("fake daemon: read");
}

/* One connection to the fake daemon: Policy_add → Success (keep reading),
 * Policy_info → T.held, Unikernel_get → get_answer, anything else → its
 * answer, then close. */
static void serve(int fd, enum alb_endpoint ep)
{
	for (;;) {
		struct alb_buf in;
		memset(&in, 0, sizeof(in));
		if (alb_frame_read_fd(fd, 0, &in, NULL) != 0)
			return;
		struct alb_msg *m;
		int rc = alb_msg_decode(in.data, in.len, 0, &m, NULL);
		alb_buf_free(&in);
		if (rc != 0 || m->kind != ALB_PAYLOAD_COMMAND)
			return;
		struct seen s;
		memset(&s, 0, sizeof(s));
		s.ep = ep;
		s.kind = m->u.command.kind;
		s.sequence = m->header.sequence;
		snprintf(s.name, sizeof(s.name), "%s", m->header.name);
		const struct alb_command *c = &m->u.command;
		if (s.kind == ALB_CMD_UNIKERNEL_CREATE && c->u.create.image.len > 0) {
			s.image_len = c->u.create.image.len;
			s.image_first = c->u.create.image.ptr[0];
			s.image_last = c->u.create.image.ptr[s.image_len - 1];
		}
		bool streamed_image = (s.kind == ALB_CMD_UNIKERNEL_CREATE ||
				       s.kind == ALB_CMD_UNIKERNEL_FORCE_CREATE) &&
				      c->u.create.image.len == 0;
		if (streamed_image) {
			/* relayed as it came (stream_images) */
			s.streamed = true;
			for (;;) {
				struct alb_buf ch;
				memset(&ch, 0, sizeof(ch));
				struct alb_error ferr = {0};
				int frc = alb_frame_read_fd(fd, 0, &ch, &ferr);
				if (frc == ALB_EEOF &&
				    strncmp(ferr.msg, "end of stream", 13) == 0)
					s.stream_ended = true;
				if (frc != 0)
					break;
				if (s.stream_len == 0 && ch.len > 0)
					s.image_first = ch.data[0];
				if (ch.len > 0)
					s.image_last = ch.data[ch.len - 1];
				s.stream_len += ch.len;
				alb_buf_free(&ch);
			}
		}
		if (s.kind == ALB_CMD_BLOCK_SET) {
			for (;;) {
				struct alb_buf ch;
				memset(&ch, 0, sizeof(ch));
				if (alb_frame_read_fd(fd, 0, &ch, NULL) != 0)
					break;
				s.stream_len += ch.len;
				if (ch.len > s.max_chunk)
					s.max_chunk = ch.len;
				alb_buf_free(&ch);
			}
		}
		if (s.kind == ALB_CMD_POLICY_ADD)
			s.unikernels = c->u.policy.unikernels;
		record(&s);
		bool more = false;
		if (misbehave(fd, m)) {
			alb_msg_free(m);
			return;
		}

		if (s.kind == ALB_CMD_POLICY_INFO) {
			reply_policies(fd, m);
		} else if (s.kind == ALB_CMD_POLICY_ADD) {
			if (strcmp(s.name, T.bad_policy_path) == 0)
				reply(fd, m, ALB_PAYLOAD_FAILURE, "policy refused");
			else
				reply(fd, m, ALB_PAYLOAD_SUCCESS, "added policy");
			more = true;
		} else if (s.kind == ALB_CMD_CONSOLE_SUBSCRIBE) {
			reply(fd, m, ALB_PAYLOAD_SUCCESS, "subscribed");
			console_line(fd, m, "hello from the console");
		} else if (s.kind == ALB_CMD_UNIKERNEL_GET) {
			answer_get(fd);
		} else {
			reply(fd, m, ALB_PAYLOAD_SUCCESS, alb_cmd_kind_name(s.kind));
		}
		alb_msg_free(m);
		if (!more)
			return;
	}
}

struct dm_arg {
	int fd;
	enum alb_endpoint ep;
};

static struct dm_arg dm_args[2];

static void *dm_main(void *arg)
{
	struct dm_arg *a = arg;
	for (;;) {
		int c = accept(a->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		serve(c, a->ep);
		close(c);
	}
}

static int listen_unix(enum alb_endpoint ep)
{
	char path[ALB_SOCKET_PATH_BUF];
	assert_int_equal(alb_endpoint_socket_path(T.dir, ep, path, NULL), 0);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

/* ---- the PKI ------------------------------------------------------------------ */

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k;
	assert_int_equal(alb_key_generate(ALB_KEY_ED25519, &k, NULL), 0);
	return k;
}

static X509 *new_ca(EVP_PKEY *key, const char *cn)
{
	X509 *c;
	struct alb_error err;
	int rc = alb_cert_make_ca(key, cn, 30, alb_cert_now(), &c, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	return c;
}

static void write_pem(const char *name, X509 *cert, EVP_PKEY *key)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", T.dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	if (cert != NULL)
		assert_int_equal(PEM_write_X509(f, cert), 1);
	if (key != NULL)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/* A certificate for cn signed by (issuer, ikey) from a CSR with cmd (a
 * delegated CA for Policy_add, a server certificate for NULL). */
static X509 *sign(X509 *issuer, EVP_PKEY *ikey, EVP_PKEY *key, const char *cn,
		  const struct alb_command *cmd)
{
	X509_REQ *csr;
	X509 *c;
	struct alb_error err;
	assert_int_equal(alb_csr_make(key, cn, cmd, 0, &csr, &err), 0);
	int rc = alb_cert_sign_csr(issuer, ikey, csr, 0, alb_cert_now(), NULL, &c, &err);
	X509_REQ_free(csr);
	if (rc != 0)
		fail_msg("%s", err.msg);
	return c;
}

static struct alb_command policy_cmd(int64_t unikernels)
{
	static int64_t cpus[] = {0};
	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = ALB_CMD_POLICY_ADD;
	c.u.policy.unikernels = unikernels;
	c.u.policy.n_cpuids = 1;
	c.u.policy.cpuids = cpus;
	c.u.policy.memory = 1024;
	c.u.policy.has_block = true;
	c.u.policy.block = 100;
	return c;
}

static X509 *leaf(X509 *issuer, EVP_PKEY *ikey, const char *cn,
		  const struct alb_command *cmd, int64_t now)
{
	X509 *c;
	struct alb_error err;
	int rc = alb_cert_make_leaf(issuer, ikey, T.key, cn, cmd, 0, now, &c, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	return c;
}

/* ---- the endpoint ----------------------------------------------------------------- */

static void on_stop(uv_async_t *a)
{
	alb_tlsd_free(T.d);
	alb_tlsd_free(T.ds);
	uv_close((uv_handle_t *)a, NULL);
}

static void *loop_main(void *arg)
{
	(void)arg;
	uv_run(&T.loop, UV_RUN_DEFAULT);
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	/* for the test's own TLS clients (socket BIOs write with write()),
	 * which may write to an endpoint that dropped them; the core never
	 * raises SIGPIPE (tlsd.h) */
	signal(SIGPIPE, SIG_IGN);
	memset(&T, 0, sizeof(T));
	pthread_mutex_init(&T.mu, NULL);
	assert_int_equal(pipe2(T.go, O_CLOEXEC), 0);
	snprintf(T.dir, sizeof(T.dir), "/tmp/alb-tlsd-XXXXXX");
	assert_non_null(mkdtemp(T.dir));
	char util[128];
	snprintf(util, sizeof(util), "%s/util", T.dir);
	assert_int_equal(mkdir(util, 0755), 0);

	T.ca_key = new_key();
	T.other_key = new_key();
	T.key = new_key();
	T.ca = new_ca(T.ca_key, "ca");
	T.other_ca = new_ca(T.other_key, "ca");
	EVP_PKEY *skey = new_key();
	X509 *srv = sign(T.ca, T.ca_key, skey, "server", NULL);
	write_pem("ca.pem", T.ca, NULL);
	write_pem("server.pem", srv, NULL);
	write_pem("server.key", NULL, skey);
	X509_free(srv);
	EVP_PKEY_free(skey);

	dm_args[0] = (struct dm_arg){listen_unix(ALB_ENDPOINT_VMMD), ALB_ENDPOINT_VMMD};
	dm_args[1] = (struct dm_arg){listen_unix(ALB_ENDPOINT_CONSOLE), ALB_ENDPOINT_CONSOLE};
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&T.dm_thread[i], NULL, dm_main, &dm_args[i]), 0);

	char ca[256], cert[256], key[256];
	snprintf(ca, sizeof(ca), "%s/ca.pem", T.dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", T.dir);
	snprintf(key, sizeof(key), "%s/server.key", T.dir);
	struct alb_tlsd_config cfg;
	alb_tlsd_config_init(&cfg);
	cfg.ca_file = ca;
	cfg.cert_file = cert;
	cfg.key_file = key;
	cfg.tmpdir = T.dir;
	cfg.ip = "127.0.0.1";
	cfg.port_set = true;
	cfg.port = 0;
	cfg.conn_max = T_CONN_MAX;
	cfg.handshake_timeout_ms = T_HANDSHAKE_MS;
	cfg.image_max = T_IMAGE_MAX;
	cfg.handshakes_max = T_HANDSHAKES_MAX;
	cfg.addr_conn_max = T_ADDR_MAX;
	cfg.idle_timeout_ms = T_IDLE_MS;
	cfg.cert_list_max = T_CERT_LIST;
	assert_int_equal(uv_loop_init(&T.loop), 0);
	struct alb_error err;
	if (alb_tlsd_new(&T.loop, &cfg, &T.d, &err) != 0 ||
	    alb_tlsd_start(T.d, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(alb_tlsd_port(T.d, &T.port, NULL), 0);
	cfg.flags |= ALB_TLSD_STREAM_IMAGES;
	if (alb_tlsd_new(&T.loop, &cfg, &T.ds, &err) != 0 ||
	    alb_tlsd_start(T.ds, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(alb_tlsd_port(T.ds, &T.port_s, NULL), 0);
	assert_int_equal(uv_async_init(&T.loop, &T.stop, on_stop), 0);
	assert_int_equal(pthread_create(&T.loop_thread, NULL, loop_main, NULL), 0);
	return 0;
}

static int rm_entry(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return unlink(p);
}

static int teardown(void **state)
{
	(void)state;
	uv_async_send(&T.stop);
	pthread_join(T.loop_thread, NULL);
	assert_int_equal(uv_loop_close(&T.loop), 0);
	for (int i = 0; i < 2; i++) {
		shutdown(dm_args[i].fd, SHUT_RDWR);
		close(dm_args[i].fd);
		pthread_cancel(T.dm_thread[i]);
		pthread_join(T.dm_thread[i], NULL);
	}
	X509_free(T.ca);
	X509_free(T.other_ca);
	EVP_PKEY_free(T.ca_key);
	EVP_PKEY_free(T.other_key);
	EVP_PKEY_free(T.key);
	close(T.go[0]);
	close(T.go[1]);
	rm_entry(T.dir, "util/vmmd.sock");
	rm_entry(T.dir, "util/console.sock");
	rm_entry(T.dir, "ca.pem");
	rm_entry(T.dir, "server.pem");
	rm_entry(T.dir, "server.key");
	char util[128];
	snprintf(util, sizeof(util), "%s/util", T.dir);
	rmdir(util);
	rmdir(T.dir);
	return 0;
}

/* ---- a client ------------------------------------------------------------------------ */

struct client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static int tcp_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (T.src != NULL) {
		assert_int_equal(inet_pton(AF_INET, T.src, &sa.sin_addr), 1);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	sa.sin_port = htons(T.target != 0 ? T.target : T.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Connects presenting chain[0..n) (leaf first) with T.key; returns whether
 * the handshake succeeded (in TLS 1.3 a refused client certificate shows
 * at the first read, which client_read_all reports). */
static bool client_open_fd(struct client *c, int fd, X509 **chain, size_t n)
{
	c->fd = fd;
	c->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c->ctx);
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION);
	X509_STORE_add_cert(SSL_CTX_get_cert_store(c->ctx), T.ca);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	assert_int_equal(SSL_CTX_use_certificate(c->ctx, chain[0]), 1);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(SSL_CTX_add1_chain_cert(c->ctx, chain[i]), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(c->ctx, T.key), 1);
	/* exactly the chain given: OpenSSL would add the CA from its store */
	SSL_CTX_set_mode(c->ctx, SSL_MODE_NO_AUTO_CHAIN);
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	bool ok = SSL_connect(c->ssl) == 1;
	ERR_clear_error();
	return ok;
}

static bool client_open(struct client *c, X509 **chain, size_t n)
{
	return client_open_fd(c, tcp_connect(), chain, n);
}

static void client_close(struct client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
}

static void client_write(struct client *c, const void *p, size_t n)
{
	assert_int_equal(SSL_write(c->ssl, p, (int)n), (int)n);
}

static void client_chunk(struct client *c, size_t n, uint8_t fill)
{
	uint8_t hdr[4];
	assert_int_equal(alb_frame_header(hdr, n, NULL), 0);
	client_write(c, hdr, 4);
	if (n == 0)
		return;
	uint8_t *p = malloc(n);
	assert_non_null(p);
	memset(p, fill, n);
	client_write(c, p, n);
	free(p);
}

/* Reads frames until the endpoint closes; decodes them into msgs (at most
 * max) and returns how many. */
static size_t client_read_all(struct client *c, struct alb_msg **msgs, size_t max)
{
	size_t n = 0;
	uint8_t hdr[4];
	for (;;) {
		size_t got = 0;
		while (got < 4) {
			int r = SSL_read(c->ssl, hdr + got, (int)(4 - got));
			if (r <= 0) {
				ERR_clear_error();
				return n;
			}
			got += (size_t)r;
		}
		uint32_t len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
			       ((uint32_t)hdr[2] << 8) | hdr[3];
		assert_true(len > 0 && len < (1u << 20));
		uint8_t *p = malloc(len);
		assert_non_null(p);
		for (got = 0; got < len;) {
			int r = SSL_read(c->ssl, p + got, (int)(len - got));
			assert_true(r > 0);
			got += (size_t)r;
		}
		assert_true(n < max);
		assert_int_equal(alb_msg_decode(p, len, 0, &msgs[n], NULL), 0);
		n++;
		free(p);
	}
}

/* One request: the chain, optional chunks already written by pre(), and
 * the single message expected back. */
static struct alb_msg *one_reply(X509 **chain, size_t n,
				 void (*pre)(struct client *))
{
	struct client c;
	assert_true(client_open(&c, chain, n));
	if (pre != NULL)
		pre(&c);
	struct alb_msg *msgs[4];
	size_t got = client_read_all(&c, msgs, 4);
	client_close(&c);
	assert_int_equal(got, 1);
	return msgs[0];
}

static void assert_failure(const struct alb_msg *m, const char *text)
{
	assert_int_equal(m->kind, ALB_PAYLOAD_FAILURE);
	assert_string_equal(m->u.failure.ptr, text);
}

static size_t log_mark(void)
{
	pthread_mutex_lock(&T.mu);
	size_t n = T.n_log;
	pthread_mutex_unlock(&T.mu);
	return n;
}

static struct seen log_at(size_t i)
{
	pthread_mutex_lock(&T.mu);
	assert_true(i < T.n_log);
	struct seen s = T.log[i];
	pthread_mutex_unlock(&T.mu);
	return s;
}

/* ---- tests -------------------------------------------------------------------------- */

static struct alb_command simple(enum alb_cmd_kind kind)
{
	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = kind;
	return c;
}

static void test_info_nested_policies(void **state)
{
	(void)state;
	struct alb_command pa = policy_cmd(5), pb = policy_cmd(3);
	X509 *a = sign(T.ca, T.ca_key, T.key, "a", &pa);
	X509 *b = sign(a, T.key, T.key, "b", &pb);
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	X509 *l = leaf(b, T.key, "hello", &info, alb_cert_now());
	size_t mark = log_mark();
	struct alb_tlsd_stats st;
	alb_tlsd_get_stats(T.d, &st);
	X509 *chain[] = {l, b, a};
	struct alb_msg *m = one_reply(chain, 3, NULL);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_string_equal(m->u.success.u.string.ptr, "unikernel info");
	assert_string_equal(m->header.name, "a:b:hello");
	assert_int_equal(m->header.sequence, 0);
	assert_int_equal(m->header.version, ALB_WIRE_VERSION);
	alb_msg_free(m);
	/* What the chain's paths hold (to put it back if vmmd refuses one),
	 * then deepest first, then the command, numbered in a row. */
	assert_int_equal(log_mark(), mark + 4);
	struct seen si = log_at(mark), s0 = log_at(mark + 1), s1 = log_at(mark + 2),
		    s2 = log_at(mark + 3);
	assert_int_equal(si.kind, ALB_CMD_POLICY_INFO);
	assert_string_equal(si.name, "a:");
	assert_int_equal(s0.kind, ALB_CMD_POLICY_ADD);
	assert_string_equal(s0.name, "a:b:");
	assert_int_equal(s1.kind, ALB_CMD_POLICY_ADD);
	assert_string_equal(s1.name, "a:");
	assert_int_equal(s2.kind, ALB_CMD_UNIKERNEL_INFO);
	assert_string_equal(s2.name, "a:b:hello");
	assert_int_equal(si.sequence, (int64_t)st.next_sequence);
	assert_int_equal(s0.sequence, si.sequence + 1);
	assert_int_equal(s1.sequence, si.sequence + 2);
	assert_int_equal(s2.sequence, si.sequence + 3);
	X509_free(l);
	X509_free(b);
	X509_free(a);
}

static void test_policy_refused(void **state)
{
	(void)state;
	struct alb_command pa = policy_cmd(5);
	X509 *a = sign(T.ca, T.ca_key, T.key, "refused", &pa);
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	X509 *l = leaf(a, T.key, "x", &info, alb_cert_now());
	snprintf(T.bad_policy_path, sizeof(T.bad_policy_path), "refused:");
	size_t mark = log_mark();
	X509 *chain[] = {l, a};
	struct alb_msg *m = one_reply(chain, 2, NULL);
	assert_failure(m, "expected success when adding policy, got: failure policy refused");
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 1); /* the command was not sent */
	T.bad_policy_path[0] = '\0';
	X509_free(l);
	X509_free(a);
}

/* vmmd refuses the topmost delegation after the deeper one went in: that
 * one is put back as it was (a policy it had, or none), then the refusal
 * is the reply; the command is not sent. */
static void test_chain_all_or_nothing(void **state)
{
	(void)state;
	struct alb_command pa = policy_cmd(5), pb = policy_cmd(3);
	X509 *a = sign(T.ca, T.ca_key, T.key, "top", &pa);
	X509 *b = sign(a, T.key, T.key, "sub", &pb);
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	X509 *l = leaf(b, T.key, "x", &info, alb_cert_now());
	X509 *chain[] = {l, b, a};
	snprintf(T.bad_policy_path, sizeof(T.bad_policy_path), "top:");
	const char *refusal = "expected success when adding policy, got: failure "
			      "policy refused";
	/* top:sub: had a policy of 1 unikernel: it gets it back */
	struct alb_command old = policy_cmd(1);
	T.held[0] = (struct alb_named_policy){"sub:", old.u.policy};
	T.n_held = 1;
	size_t mark = log_mark();
	struct alb_msg *m = one_reply(chain, 3, NULL);
	assert_failure(m, refusal);
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 4);
	struct seen s[4];
	for (size_t i = 0; i < 4; i++)
		s[i] = log_at(mark + i);
	assert_int_equal(s[0].kind, ALB_CMD_POLICY_INFO);
	assert_int_equal(s[1].kind, ALB_CMD_POLICY_ADD);
	assert_string_equal(s[1].name, "top:sub:");
	assert_int_equal(s[1].unikernels, 3);
	assert_int_equal(s[2].kind, ALB_CMD_POLICY_ADD);
	assert_string_equal(s[2].name, "top:");
	assert_int_equal(s[3].kind, ALB_CMD_POLICY_ADD);
	assert_string_equal(s[3].name, "top:sub:");
	assert_int_equal(s[3].unikernels, 1);
	/* top:sub: had none: it is removed again */
	T.n_held = 0;
	mark = log_mark();
	m = one_reply(chain, 3, NULL);
	assert_failure(m, refusal);
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 4);
	s[3] = log_at(mark + 3);
	assert_int_equal(s[3].kind, ALB_CMD_POLICY_REMOVE);
	assert_string_equal(s[3].name, "top:sub:");
	/* refused at the first (deepest) one: nothing to put back */
	snprintf(T.bad_policy_path, sizeof(T.bad_policy_path), "top:sub:");
	mark = log_mark();
	m = one_reply(chain, 3, NULL);
	assert_failure(m, refusal);
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 2);
	T.bad_policy_path[0] = '\0';
	X509_free(l);
	X509_free(b);
	X509_free(a);
}

/* A sub-CA whose policy is above its CA's: refused with the reason before
 * anything reaches vmmd. */
static void test_chain_not_nested(void **state)
{
	(void)state;
	struct alb_command pa = policy_cmd(5), pb = policy_cmd(3), big = policy_cmd(6);
	X509 *a = sign(T.ca, T.ca_key, T.key, "a", &pa);
	X509 *b = sign(a, T.key, T.key, "b", &pb);
	X509 *above = forge_policy(b, &big.u.policy, T.key);
	assert_non_null(above);
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	X509 *l = leaf(above, T.key, "x", &info, alb_cert_now());
	size_t mark = log_mark();
	X509 *chain[] = {l, above, a};
	struct alb_msg *m = one_reply(chain, 3, NULL);
	assert_failure(m, "policy of a:b: is not within the policy of a: in the "
			  "chain: policy above allows 5 unikernels, which is fewer "
			  "than 6");
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark);
	X509_free(l);
	X509_free(above);
	X509_free(b);
	X509_free(a);
}

static void test_refused_chains(void **state)
{
	(void)state;
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	size_t mark = log_mark();
	struct alb_msg *msgs[2];
	struct client c;
	/* Another CA. */
	X509 *l = leaf(T.other_ca, T.other_key, "x", &info, alb_cert_now());
	X509 *chain[] = {l};
	client_open(&c, chain, 1);
	assert_int_equal(client_read_all(&c, msgs, 2), 0);
	client_close(&c);
	X509_free(l);
	/* Expired: valid from now - 1010 s to now - 710 s. */
	l = leaf(T.ca, T.ca_key, "x", &info, alb_cert_now() - 1000);
	chain[0] = l;
	client_open(&c, chain, 1);
	assert_int_equal(client_read_all(&c, msgs, 2), 0);
	client_close(&c);
	X509_free(l);
	/* No extension: a server certificate, refused already at the
	 * handshake (not a TLS client certificate). */
	l = sign(T.ca, T.ca_key, T.key, "plain", NULL);
	chain[0] = l;
	client_open(&c, chain, 1);
	assert_int_equal(client_read_all(&c, msgs, 2), 0);
	client_close(&c);
	X509_free(l);
	assert_int_equal(log_mark(), mark);
}

/* A leaf that verifies but does not map: the reason comes back. */
static void test_unmappable_chain(void **state)
{
	(void)state;
	struct alb_command pa = policy_cmd(5);
	X509 *l = leaf(T.ca, T.ca_key, "x", &pa, alb_cert_now());
	X509 *chain[] = {l};
	size_t mark = log_mark();
	struct alb_msg *m = one_reply(chain, 1, NULL);
	assert_failure(m, "unexpected command");
	assert_string_equal(m->header.name, ":");
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark);
	X509_free(l);
}

static void test_console_stream(void **state)
{
	(void)state;
	struct alb_command sub = simple(ALB_CMD_CONSOLE_SUBSCRIBE);
	sub.u.subscribe.count = 10;
	X509 *l = leaf(T.ca, T.ca_key, "hello", &sub, alb_cert_now());
	X509 *chain[] = {l};
	size_t mark = log_mark();
	struct client c;
	assert_true(client_open(&c, chain, 1));
	struct alb_msg *msgs[4];
	size_t n = client_read_all(&c, msgs, 4);
	client_close(&c);
	assert_int_equal(n, 3);
	assert_int_equal(msgs[0]->kind, ALB_PAYLOAD_SUCCESS);
	assert_string_equal(msgs[0]->u.success.u.string.ptr, "subscribed");
	assert_int_equal(msgs[1]->kind, ALB_PAYLOAD_DATA);
	assert_string_equal(msgs[1]->u.data.u.console.line.ptr, "hello from the console");
	/* The daemon closed: the endpoint's last word (§9.2 step 8). */
	assert_failure(msgs[2], "exception while reading from fd");
	assert_string_equal(msgs[2]->header.name, ":hello");
	for (size_t i = 0; i < n; i++)
		alb_msg_free(msgs[i]);
	assert_int_equal(log_mark(), mark + 1);
	struct seen s = log_at(mark);
	assert_int_equal(s.ep, ALB_ENDPOINT_CONSOLE);
	assert_int_equal(s.kind, ALB_CMD_CONSOLE_SUBSCRIBE);
	assert_string_equal(s.name, ":hello");
	X509_free(l);
}

static void test_no_service(void **state)
{
	(void)state;
	struct alb_command stats = simple(ALB_CMD_STATS_SUBSCRIBE);
	X509 *l = leaf(T.ca, T.ca_key, "hello", &stats, alb_cert_now());
	X509 *chain[] = {l};
	struct alb_msg *m = one_reply(chain, 1, NULL);
	assert_failure(m, "couldn't reach service");
	alb_msg_free(m);
	X509_free(l);
}

static size_t image_size;

static void send_image(struct client *c)
{
	/* In three chunks, the middle one of the largest size. */
	size_t mid = ALB_TLSD_CHUNK_MAX < image_size ? ALB_TLSD_CHUNK_MAX : image_size;
	size_t first = (image_size - mid) / 2;
	client_chunk(c, first, 0xaa);
	client_chunk(c, mid, 0xbb);
	client_chunk(c, image_size - mid - first, 0xcc);
	client_chunk(c, 0, 0);
}

/* The image as Albatross's producers send it: chunks of at most
 * ALB_TLSD_CHUNK_MAX, the first of 0xaa, the last of 0xcc. */
static void send_image_chunked(struct client *c)
{
	for (size_t off = 0; off < image_size; off += ALB_TLSD_CHUNK_MAX) {
		size_t n = image_size - off < ALB_TLSD_CHUNK_MAX
				   ? image_size - off : ALB_TLSD_CHUNK_MAX;
		client_chunk(c, n, off == 0 ? 0xaa
				   : off + n == image_size ? 0xcc : 0xbb);
	}
	client_chunk(c, 0, 0);
}

static struct alb_msg *create_streamed_with(size_t size,
					    void (*send)(struct client *))
{
	struct alb_command cr = simple(ALB_CMD_UNIKERNEL_CREATE);
	static int64_t cpus[] = {0};
	cr.u.create.memory = 32;
	cr.u.create.n_cpuids = 1;
	cr.u.create.cpuids = cpus;
	cr.u.create.numcpus = 1;
	X509 *l = leaf(T.ca, T.ca_key, "hello", &cr, alb_cert_now());
	X509 *chain[] = {l};
	image_size = size;
	struct alb_msg *m = one_reply(chain, 1, send);
	X509_free(l);
	return m;
}

static struct alb_msg *create_streamed(size_t size)
{
	return create_streamed_with(size, send_image);
}

static void test_streamed_image(void **state)
{
	(void)state;
	size_t mark = log_mark();
	/* At the limit. */
	struct alb_msg *m = create_streamed(T_IMAGE_MAX);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 1);
	struct seen s = log_at(mark);
	assert_int_equal(s.kind, ALB_CMD_UNIKERNEL_CREATE);
	assert_int_equal(s.image_len, T_IMAGE_MAX);
	assert_int_equal(s.image_first, 0xaa);
	assert_int_equal(s.image_last, 0xcc);
	/* One past. */
	m = create_streamed(T_IMAGE_MAX + 1);
	char text[64];
	snprintf(text, sizeof(text), "image larger than %d bytes", T_IMAGE_MAX);
	assert_failure(m, text);
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 1);
	assert_int_equal(log_mark(), mark + 1);
}

/* stream_images: the image goes to vmmd as a stream, as it comes (the
 * create keeps its empty image), bounded by image_max all the same. */
static void test_streamed_image_relayed(void **state)
{
	(void)state;
	size_t mark = log_mark();
	T.target = T.port_s;
	struct alb_msg *m = create_streamed(T_IMAGE_MAX);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 1);
	struct seen s = log_at(mark);
	assert_int_equal(s.kind, ALB_CMD_UNIKERNEL_CREATE);
	assert_true(s.streamed);
	assert_true(s.stream_ended);
	assert_int_equal(s.image_len, 0);
	assert_int_equal(s.stream_len, T_IMAGE_MAX);
	assert_int_equal(s.image_first, 0xaa);
	assert_int_equal(s.image_last, 0xcc);
	/* One past: the client hears why, vmmd never sees the stream end */
	m = create_streamed(T_IMAGE_MAX + 1);
	char text[64];
	snprintf(text, sizeof(text), "image larger than %d bytes", T_IMAGE_MAX);
	assert_failure(m, text);
	alb_msg_free(m);
	for (int i = 0; i < 100 && log_mark() < mark + 2; i++)
		usleep(10000);
	assert_int_equal(log_mark(), mark + 2);
	s = log_at(mark + 1);
	assert_true(s.streamed);
	assert_false(s.stream_ended);
	assert_true(s.stream_len <= T_IMAGE_MAX);
	T.target = 0;
}

static size_t block_chunk;

static void send_block(struct client *c)
{
	client_chunk(c, 4096, 1);
	if (block_chunk > ALB_TLSD_CHUNK_MAX) {
		/* refused at its header: the endpoint answers and closes, and
		 * bytes it would never read could reset the connection before
		 * its answer arrives */
		uint8_t hdr[4];
		assert_int_equal(alb_frame_header(hdr, block_chunk, NULL), 0);
		client_write(c, hdr, sizeof(hdr));
		return;
	}
	client_chunk(c, block_chunk, 2);
	client_chunk(c, 0, 0);
}

static void test_block_set(void **state)
{
	(void)state;
	struct alb_command bs = simple(ALB_CMD_BLOCK_SET);
	X509 *l = leaf(T.ca, T.ca_key, "disk", &bs, alb_cert_now());
	X509 *chain[] = {l};
	size_t mark = log_mark();
	block_chunk = ALB_TLSD_CHUNK_MAX;
	struct alb_msg *m = one_reply(chain, 1, send_block);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_string_equal(m->header.name, ":disk");
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 1);
	struct seen s = log_at(mark);
	assert_int_equal(s.kind, ALB_CMD_BLOCK_SET);
	assert_int_equal(s.stream_len, 4096 + ALB_TLSD_CHUNK_MAX);
	assert_int_equal(s.max_chunk, ALB_TLSD_CHUNK_MAX);
	/* One past the chunk limit: refused, and vmmd never sees the end. */
	block_chunk = ALB_TLSD_CHUNK_MAX + 1;
	m = one_reply(chain, 1, send_block);
	assert_failure(m, "reading tls chunk");
	alb_msg_free(m);
	X509_free(l);
}

/* ---- images fetched (Unikernel_get) ----------------------------------------- */

/* What a client received until the endpoint ended the connection. */
struct received {
	uint8_t *p;
	size_t len;
	int end; /* SSL_get_error() of the read that ended it:
		    SSL_ERROR_ZERO_RETURN after close_notify,
		    SSL_ERROR_WANT_READ when nothing came for 10 s */
};

/* Reads until the end, piece bytes at a time, pausing 1 ms after every
 * SLOW_EVERY bytes when slow. */
static void client_read_to_end(struct client *c, size_t piece, bool slow,
			       struct received *r)
{
	size_t cap = 0, since_pause = 0;
	memset(r, 0, sizeof(*r));
	for (;;) {
		if (cap - r->len < piece) {
			cap = 2 * cap + piece;
			r->p = realloc(r->p, cap);
			assert_non_null(r->p);
		}
		int n = SSL_read(c->ssl, r->p + r->len, (int)piece);
		if (n <= 0) {
			r->end = SSL_get_error(c->ssl, n);
			ERR_clear_error();
			return;
		}
		r->len += (size_t)n;
		since_pause += (size_t)n;
		if (slow && since_pause >= SLOW_EVERY) {
			usleep(1000);
			since_pause = 0;
		}
	}
}

static void client_read_n(struct client *c, uint8_t *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		int r = SSL_read(c->ssl, p + got, (int)(n - got));
		assert_true(r > 0);
		got += (size_t)r;
	}
}

static void client_get(struct client *c, const char *cn)
{
	struct alb_command get = simple(ALB_CMD_UNIKERNEL_GET);
	X509 *l = leaf(T.ca, T.ca_key, cn, &get, alb_cert_now());
	X509 *chain[] = {l};
	assert_true(client_open(c, chain, 1));
	X509_free(l);
}

/* The reply to a get by a leaf named cn (read as client_read_to_end()
 * does): one frame, then close_notify; decoded, with the header the
 * endpoint puts on every reply (as test_info_nested_policies). */
static struct alb_msg *get_reply(const char *cn, size_t piece, bool slow)
{
	struct client c;
	client_get(&c, cn);
	struct received r;
	client_read_to_end(&c, piece, slow, &r);
	client_close(&c);
	assert_int_equal(r.end, SSL_ERROR_ZERO_RETURN);
	assert_true(r.len >= 4);
	size_t len = ((size_t)r.p[0] << 24) | ((size_t)r.p[1] << 16) |
		     ((size_t)r.p[2] << 8) | r.p[3];
	assert_int_equal(r.len, 4 + len);
	struct alb_msg *m;
	assert_int_equal(alb_msg_decode(r.p + 4, len, 0, &m, NULL), 0);
	free(r.p);
	char name[ALB_NAME_BUF];
	snprintf(name, sizeof(name), ":%s", cn);
	assert_int_equal(m->header.version, ALB_WIRE_VERSION);
	assert_int_equal(m->header.sequence, 0);
	assert_string_equal(m->header.name, name);
	return m;
}

/* m carries get_answer's image: len bytes of image_byte(), compressed or
 * not as vmmd said. */
static void assert_image(const struct alb_msg *m)
{
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_UNIKERNEL_IMAGE);
	assert_int_equal(m->u.success.u.image.compressed, get_answer.compressed);
	struct alb_bytes img = m->u.success.u.image.data;
	struct alb_buf plain = {0};
	if (get_answer.compressed) {
		assert_int_equal(alb_zlib_inflate(img.ptr, img.len, get_answer.len,
						  &plain, NULL), 0);
		img = (struct alb_bytes){plain.data, plain.len};
	}
	assert_int_equal(img.len, get_answer.len);
	for (size_t i = 0; i < img.len; i++)
		if (img.ptr[i] != image_byte(i))
			fail_msg("image byte %zu of %zu: 0x%02x, expected 0x%02x", i,
				 img.len, img.ptr[i], image_byte(i));
	alb_buf_free(&plain);
}

/* The image length that makes vmmd's payload (its frame without the
 * length) exactly payload bytes long. */
static size_t image_len_for(size_t payload)
{
	get_answer.len = payload;
	for (int i = 0; i < 8; i++) {
		struct alb_buf f;
		get_frame(VMMD_NAME, VMMD_SEQUENCE, &f);
		size_t have = f.len - 4;
		alb_buf_free(&f);
		if (have == payload)
			return get_answer.len;
		get_answer.len = get_answer.len + payload - have;
	}
	fail_msg("no image makes a payload of %zu bytes", payload);
	return 0;
}

/* vmmd's answer to a get reaches the client whole, with the client's
 * header: images large, compressed, empty, within the head the endpoint
 * reads first, ending just before, at and just after it; a failure, short
 * or longer than that head, as vmmd said it. */
static void test_image_get(void **state)
{
	(void)state;
	static const struct {
		size_t len;
		bool compressed;
	} images[] = {{300000, false}, {300000, true}, {0, false}, {1000, false}};
	for (size_t i = 0; i < sizeof(images) / sizeof(*images); i++) {
		memset(&get_answer, 0, sizeof(get_answer));
		get_answer.len = images[i].len;
		get_answer.compressed = images[i].compressed;
		struct alb_msg *m = get_reply("img", 65536, false);
		assert_image(m);
		alb_msg_free(m);
		/* vmmd saw the command last (the previous test's block set may
		 * be recorded after this test began) */
		struct seen s = log_at(log_mark() - 1);
		assert_int_equal(s.kind, ALB_CMD_UNIKERNEL_GET);
		assert_string_equal(s.name, ":img");
	}
	for (size_t payload = T_HEAD_MAX - 1; payload <= T_HEAD_MAX + 1; payload++) {
		memset(&get_answer, 0, sizeof(get_answer));
		get_answer.len = image_len_for(payload);
		struct alb_msg *m = get_reply("img", 65536, false);
		assert_image(m);
		alb_msg_free(m);
	}
	char long_text[3 * T_HEAD_MAX];
	for (size_t i = 0; i < sizeof(long_text) - 1; i++)
		long_text[i] = (char)('a' + i % 26);
	long_text[sizeof(long_text) - 1] = '\0';
	const char *const failures[] = {"no such unikernel", long_text};
	for (size_t i = 0; i < 2; i++) {
		memset(&get_answer, 0, sizeof(get_answer));
		get_answer.failure = failures[i];
		struct alb_msg *m = get_reply("img", 65536, false);
		assert_failure(m, failures[i]);
		alb_msg_free(m);
	}
	memset(&get_answer, 0, sizeof(get_answer));
}

/* vmmd goes away in the middle of its answer to a get. Once the endpoint
 * read the head (T_HEAD_MAX bytes of the payload), the client gets every
 * byte vmmd sent, rewritten as a whole reply would be, then the connection
 * ends: nothing more (no failure), no close_notify. Before that, the
 * client gets a failure; so it does for a frame that is not a message, one
 * longer than the endpoint reads, or none. */
static void test_image_get_daemon_cut(void **state)
{
	(void)state;
	static const size_t sent[] = {4 + T_HEAD_MAX, 4 + T_HEAD_MAX + 50000};
	for (size_t i = 0; i < sizeof(sent) / sizeof(*sent); i++) {
		memset(&get_answer, 0, sizeof(get_answer));
		get_answer.len = 100000;
		get_answer.cut = sent[i];
		get_answer.hold = true;
		struct alb_buf vmmd, whole;
		get_frame(VMMD_NAME, VMMD_SEQUENCE, &vmmd);
		get_frame(":cut", 0, &whole);
		size_t image_sent = sent[i] - (vmmd.len - get_answer.len);
		size_t want = whole.len - get_answer.len + image_sent;
		struct client c;
		client_get(&c, "cut");
		uint8_t *p = malloc(want);
		assert_non_null(p);
		client_read_n(&c, p, want);
		assert_memory_equal(p, whole.data, want);
		/* all of it arrived before vmmd went away: now it may */
		assert_int_equal(write(T.go[1], "x", 1), 1);
		struct received r;
		client_read_to_end(&c, 65536, false, &r);
		client_close(&c);
		assert_int_equal(r.len, 0);
		assert_int_not_equal(r.end, SSL_ERROR_WANT_READ);
		assert_int_not_equal(r.end, SSL_ERROR_ZERO_RETURN);
		free(r.p);
		free(p);
		alb_buf_free(&vmmd);
		alb_buf_free(&whole);
	}
	static const struct {
		size_t len, cut;
	} early[] = {{100000, 2}, {100000, 4 + T_HEAD_MAX - 1}, {1000, 500}};
	for (size_t i = 0; i < sizeof(early) / sizeof(*early); i++) {
		memset(&get_answer, 0, sizeof(get_answer));
		get_answer.len = early[i].len;
		get_answer.cut = early[i].cut;
		struct alb_msg *m = get_reply("cut", 65536, false);
		assert_failure(m, "error reading from fd");
		alb_msg_free(m);
	}
	memset(&get_answer, 0, sizeof(get_answer));
	/* misbehave()'s answers */
	static const char *const cns[] = {"garbage", "huge", "silent"};
	for (size_t i = 0; i < sizeof(cns) / sizeof(*cns); i++) {
		struct alb_msg *m = get_reply(cns[i], 65536, false);
		assert_failure(m, "error reading from fd");
		alb_msg_free(m);
	}
}

static bool closed_within(int fd, int seconds)
{
	struct timeval tv = {seconds, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char b;
	return read(fd, &b, 1) == 0;
}

static void wait_connections(size_t n)
{
	struct alb_tlsd_stats st;
	for (int i = 0; i < 500; i++) {
		alb_tlsd_get_stats(T.d, &st);
		if (st.connections == n)
			return;
		usleep(10000);
	}
	fail_msg("%zu connections open, expected %zu", st.connections, n);
}

static int connect_from(const char *src)
{
	T.src = src;
	int fd = tcp_connect();
	T.src = NULL;
	return fd;
}

/* At the per-address limit every connection is kept; one past it from the
 * same address is refused at once, while other addresses still get in. */
static void test_addr_limit(void **state)
{
	(void)state;
	wait_connections(0);
	struct alb_tlsd_stats st0, st;
	alb_tlsd_get_stats(T.d, &st0);
	int fds[T_ADDR_MAX + 2];
	for (int i = 0; i < T_ADDR_MAX; i++)
		fds[i] = connect_from("127.0.0.2");
	wait_connections(T_ADDR_MAX);
	fds[T_ADDR_MAX] = connect_from("127.0.0.2");
	assert_true(closed_within(fds[T_ADDR_MAX], 5));
	alb_tlsd_get_stats(T.d, &st);
	assert_int_equal(st.refused, st0.refused + 1);
	fds[T_ADDR_MAX + 1] = connect_from("127.0.0.3");
	wait_connections(T_ADDR_MAX + 1);
	for (int i = 0; i < T_ADDR_MAX + 2; i++)
		close(fds[i]);
	wait_connections(0);
}

/* At the handshake limit every silent connection is kept; one past it
 * replaces the oldest; the silent ones go at the handshake timeout. */
static void test_handshake_limit_and_timeout(void **state)
{
	(void)state;
	wait_connections(0);
	struct alb_tlsd_stats st0, st;
	alb_tlsd_get_stats(T.d, &st0);
	int fds[T_HANDSHAKES_MAX + 1];
	char src[32];
	for (int i = 0; i < T_HANDSHAKES_MAX; i++) {
		snprintf(src, sizeof(src), "127.0.0.%d", 10 + i);
		fds[i] = connect_from(src);
		wait_connections((size_t)i + 1);
	}
	alb_tlsd_get_stats(T.d, &st);
	assert_int_equal(st.handshakes_failed, st0.handshakes_failed);
	fds[T_HANDSHAKES_MAX] = connect_from("127.0.0.30");
	assert_true(closed_within(fds[0], 5));
	wait_connections(T_HANDSHAKES_MAX);
	alb_tlsd_get_stats(T.d, &st);
	assert_int_equal(st.refused, st0.refused);
	assert_int_equal(st.handshakes_failed, st0.handshakes_failed + 1);
	/* Silent clients are dropped after the handshake timeout. */
	for (int i = 1; i <= T_HANDSHAKES_MAX; i++)
		assert_true(closed_within(fds[i], 5));
	wait_connections(0);
	alb_tlsd_get_stats(T.d, &st);
	assert_int_equal(st.handshakes_failed,
			 st0.handshakes_failed + 1 + T_HANDSHAKES_MAX);
	for (int i = 0; i <= T_HANDSHAKES_MAX; i++)
		close(fds[i]);
}

static int pause_ms;

static void send_image_slowly(struct client *c)
{
	client_chunk(c, 1000, 0xaa);
	usleep((useconds_t)pause_ms * 1000);
	/* past the idle timeout the endpoint has answered and closed: what is
	 * written now may fail */
	uint8_t b[4 + 1000 + 4];
	memset(b, 0xcc, sizeof(b));
	alb_frame_header(b, 1000, NULL);
	memset(b + 1004, 0, 4);
	if (SSL_write(c->ssl, b, (int)sizeof(b)) <= 0)
		ERR_clear_error();
}

/* An authenticated client streaming an image may pause for less than the
 * idle timeout; one that stalls past it is dropped with a reason. */
static void test_idle_after_handshake(void **state)
{
	(void)state;
	struct alb_command cr = simple(ALB_CMD_UNIKERNEL_CREATE);
	static int64_t cpus[] = {0};
	cr.u.create.memory = 32;
	cr.u.create.n_cpuids = 1;
	cr.u.create.cpuids = cpus;
	cr.u.create.numcpus = 1;
	X509 *l = leaf(T.ca, T.ca_key, "hello", &cr, alb_cert_now());
	X509 *chain[] = {l};
	pause_ms = T_IDLE_MS / 4;
	struct alb_msg *m = one_reply(chain, 1, send_image_slowly);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(m);
	pause_ms = T_IDLE_MS + T_IDLE_MS / 2;
	m = one_reply(chain, 1, send_image_slowly);
	char text[64];
	snprintf(text, sizeof(text), "no data from the client for %d ms", T_IDLE_MS);
	assert_failure(m, text);
	alb_msg_free(m);
	X509_free(l);
}

/* A leaf carrying a create whose image makes its DER exactly len bytes. */
static X509 *leaf_of_size(size_t len)
{
	struct alb_command cr = simple(ALB_CMD_UNIKERNEL_CREATE);
	static int64_t cpus[] = {0};
	cr.u.create.memory = 32;
	cr.u.create.n_cpuids = 1;
	cr.u.create.cpuids = cpus;
	cr.u.create.numcpus = 1;
	size_t img = len > 4096 ? len - 4096 : 1;
	uint8_t *p = calloc(1, len);
	assert_non_null(p);
	for (int tries = 0; tries < 20; tries++) {
		cr.u.create.image.ptr = p;
		cr.u.create.image.len = img;
		X509 *l = leaf(T.ca, T.ca_key, "big", &cr, alb_cert_now());
		int der = i2d_X509(l, NULL);
		assert_true(der > 0);
		if ((size_t)der == len) {
			free(p);
			return l;
		}
		X509_free(l);
		img = img + len - (size_t)der;
	}
	free(p);
	fail_msg("cannot make a certificate of %zu bytes", len);
	return NULL;
}

/* A Certificate message of exactly cert_list_max bytes is taken; one byte
 * more is refused (when its length arrives). */
static void test_cert_list_limit(void **state)
{
	(void)state;
	size_t mark = log_mark();
	X509 *l = leaf_of_size(T_CERT_LIST - CERT_MSG_OVERHEAD);
	X509 *chain[] = {l};
	struct alb_msg *m = one_reply(chain, 1, NULL);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 1);
	X509_free(l);
	l = leaf_of_size(T_CERT_LIST - CERT_MSG_OVERHEAD + 1);
	chain[0] = l;
	struct client c;
	if (client_open(&c, chain, 1)) {
		struct alb_msg *msgs[2];
		assert_int_equal(client_read_all(&c, msgs, 2), 0);
	}
	client_close(&c);
	assert_int_equal(log_mark(), mark + 1);
	X509_free(l);
}

/* ---- the real alb-tlsd ---------------------------------------------------------- */

static pid_t tlsd_pid;

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Starts cli/alb-tlsd on 127.0.0.1 with the test's PKI and tmpdir and its
 * default limits; returns once it accepts. */
static void start_binary_at(const char *tmpdir, const char *user);

static void start_binary(void)
{
	start_binary_at(T.dir, NULL);
}

/* ... on tmpdir, as user (--user) unless NULL */
static void start_binary_at(const char *tmpdir, const char *user)
{
	const char *build = getenv("ALB_BUILD_ROOT");
	char exe[256], ca[256], cert[256], key[256], port[16];
	snprintf(exe, sizeof(exe), "%s/cli/alb-tlsd", build != NULL ? build : ".");
	snprintf(ca, sizeof(ca), "%s/ca.pem", T.dir);
	snprintf(cert, sizeof(cert), "%s/server.pem", T.dir);
	snprintf(key, sizeof(key), "%s/server.key", T.dir);
	T.target = free_port();
	snprintf(port, sizeof(port), "%u", (unsigned)T.target);
	fflush(stdout);
	tlsd_pid = fork();
	if (tlsd_pid == 0) {
		/* under ASan, freed memory is held in quarantine: its peak RSS
		 * would then count every byte that ever passed through */
		const char *asan = getenv("ASAN_OPTIONS");
		char opts[1024];
		snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0",
			 asan != NULL ? asan : "", asan != NULL ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
		if (user != NULL)
			execl(exe, exe, "-q", "--tmpdir", tmpdir, "--ip", "127.0.0.1",
			      "--port", port, "--user", user, ca, cert, key,
			      (char *)NULL);
		else
			execl(exe, exe, "-q", "--tmpdir", tmpdir, "--ip", "127.0.0.1",
			      "--port", port, ca, cert, key, (char *)NULL);
		test_child_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons(T.target)};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (ok == 0)
			return;
		usleep(10000);
	}
	fail_msg("alb-tlsd did not start");
}

static void stop_binary(void)
{
	kill(tlsd_pid, SIGTERM);
	int st;
	waitpid(tlsd_pid, &st, 0);
	T.target = 0;
}

/* 200 TCP connections that send nothing, each from an address of its own,
 * and an authenticated client is still served within 2 s. */
static void test_binary_silent_connections(void **state)
{
	(void)state;
	start_binary();
	static int fds[SILENT_CONNS];
	char src[32];
	for (int i = 0; i < SILENT_CONNS; i++) {
		snprintf(src, sizeof(src), "127.0.%d.%d", 1 + i / 200, 1 + i % 200);
		fds[i] = connect_from(src);
	}
	usleep(100000);
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	X509 *l = leaf(T.ca, T.ca_key, "hello", &info, alb_cert_now());
	X509 *chain[] = {l};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct alb_msg *m = one_reply(chain, 1, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("alb-tlsd with %d silent TCP connections (handshake limit %d): an "
	       "authenticated info served in %ld ms (bound %d ms)\n", SILENT_CONNS,
	       ALB_TLSD_HANDSHAKES_MAX, ms, SERVED_MS_MAX);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_true(ms < SERVED_MS_MAX);
	alb_msg_free(m);
	X509_free(l);
	for (int i = 0; i < SILENT_CONNS; i++)
		close(fds[i]);
	stop_binary();
}

/* A 15 MB client certificate is refused when the length of its message
 * arrives: alb-tlsd's peak memory grows by less than the printed bound. */
static void test_binary_big_certificate(void **state)
{
	(void)state;
	start_binary();
	X509 *l = leaf_of_size(BIG_CERT);
	long before = (long)h_proc_value(tlsd_pid, "status", "VmHWM:");
	X509 *chain[] = {l};
	struct client c;
	if (client_open(&c, chain, 1)) {
		struct alb_msg *msgs[2];
		assert_int_equal(client_read_all(&c, msgs, 2), 0);
	}
	client_close(&c);
	usleep(100000);
	long after = (long)h_proc_value(tlsd_pid, "status", "VmHWM:");
	printf("alb-tlsd and a %u-byte client certificate (limit %u): peak RSS "
	       "%ld KiB before, %ld KiB after (bound: before + %u KiB)\n", BIG_CERT,
	       ALB_TLSD_CERT_LIST_DEFAULT, before, after, BIG_CERT_COST_MAX_KIB);
	assert_true(before > 0 && after > 0);
	assert_true(after - before < (long)BIG_CERT_COST_MAX_KIB);
	X509_free(l);
	stop_binary();
}

/* A streamed image waits in a file, not in alb-tlsd's memory, and reaches
 * vmmd whole (length, first and last byte); the larger image leaves the
 * peak RSS where the smaller one did. Without a place for the file the
 * create is refused. */
static void test_binary_streamed_image_memory(void **state)
{
	(void)state;
	start_binary();
	long peak[2];
	const size_t sizes[2] = {SPOOL_SMALL, SPOOL_BIG};
	for (int i = 0; i < 2; i++) {
		size_t mark = log_mark();
		struct alb_msg *m = create_streamed_with(sizes[i],
							  send_image_chunked);
		assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
		alb_msg_free(m);
		struct seen s = log_at(mark);
		assert_int_equal(s.image_len, sizes[i]);
		assert_int_equal(s.image_first, 0xaa);
		assert_int_equal(s.image_last, 0xcc);
		peak[i] = (long)h_proc_value(tlsd_pid, "status", "VmHWM:");
		assert_true(peak[i] > 0);
	}
	printf("alb-tlsd's peak RSS after a streamed image of %u MiB: %ld KiB, "
	       "of %u MiB: %ld KiB (bound: + %u KiB)\n", SPOOL_SMALL >> 20,
	       peak[0], SPOOL_BIG >> 20, peak[1], SPOOL_GROWTH_MAX_KIB);
	assert_true(peak[1] - peak[0] < (long)SPOOL_GROWTH_MAX_KIB);
	stop_binary();
	/* Nowhere to keep an image: refused with the reason, vmmd sees
	 * nothing. */
	const char *tmp = getenv("TMPDIR");
	char *saved = tmp != NULL ? strdup(tmp) : NULL;
	setenv("TMPDIR", "/nonexistent-alb-spool", 1);
	start_binary();
	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	size_t mark = log_mark();
	struct alb_msg *m = create_streamed_with(1000, send_image_chunked);
	assert_int_equal(m->kind, ALB_PAYLOAD_FAILURE);
	assert_non_null(strstr(m->u.failure.ptr, "cannot keep the streamed image: "
						 "/nonexistent-alb-spool: "));
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark);
	stop_binary();
}

/* The reply to a get passes through the real alb-tlsd as vmmd sends it:
 * after a 32 MiB image its peak RSS is where an 8 MiB one left it; a
 * client reading slowly makes it stop reading vmmd, and its peak grows by
 * no more than what may wait for that client. Each client gets every
 * byte. */
static void test_binary_image_get_memory(void **state)
{
	(void)state;
	start_binary();
	static const size_t sizes[] = {GET_SMALL, GET_BIG, GET_BIG};
	long peak[3], ms[3];
	for (int i = 0; i < 3; i++) {
		bool slow = i == 2;
		memset(&get_answer, 0, sizeof(get_answer));
		get_answer.len = sizes[i];
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		struct alb_msg *m = get_reply("img", slow ? SLOW_PIECE : 65536, slow);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms[i] = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
		assert_image(m);
		alb_msg_free(m);
		peak[i] = (long)h_proc_value(tlsd_pid, "status", "VmHWM:");
		assert_true(peak[i] > 0);
	}
	long pending_kib = ALB_TLSD_PENDING_MAX / 1024;
	printf("alb-tlsd's peak RSS after a get of %u MiB: %ld KiB (%ld ms), of %u "
	       "MiB: %ld KiB (%ld ms; bound: + %u KiB), of %u MiB read slowly: "
	       "%ld KiB (%ld ms; bound: + %ld KiB)\n", GET_SMALL >> 20, peak[0], ms[0],
	       GET_BIG >> 20, peak[1], ms[1], GET_GROWTH_MAX_KIB, GET_BIG >> 20,
	       peak[2], ms[2], GET_GROWTH_MAX_KIB + pending_kib);
	assert_true(peak[1] - peak[0] < (long)GET_GROWTH_MAX_KIB);
	assert_true(peak[2] - peak[0] < (long)GET_GROWTH_MAX_KIB + pending_kib);
	memset(&get_answer, 0, sizeof(get_answer));
	stop_binary();
}

/* ---- daemons and clients that misbehave --------------------------------------- */

/* What the endpoint answers when the daemon sends junk, too much or
 * nothing, to the command or to a policy of the chain. */
static void test_daemon_misbehaves(void **state)
{
	(void)state;
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	static const struct {
		const char *cn, *failure;
	} cases[] = {
		{"garbage", "error reading from fd"},
		{"huge", "error reading from fd"},
		{"silent", "error reading from fd"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		X509 *l = leaf(T.ca, T.ca_key, cases[i].cn, &info, alb_cert_now());
		X509 *chain[] = {l};
		struct alb_msg *m = one_reply(chain, 1, NULL);
		assert_failure(m, cases[i].failure);
		alb_msg_free(m);
		X509_free(l);
	}
	static const struct {
		const char *cn, *failure;
	} policies[] = {
		{"silent", "read error after writing policy"},
		{"data", "expected success when adding policy, got: data"},
	};
	for (size_t i = 0; i < sizeof(policies) / sizeof(*policies); i++) {
		struct alb_command pa = policy_cmd(5);
		X509 *a = sign(T.ca, T.ca_key, T.key, policies[i].cn, &pa);
		X509 *l = leaf(a, T.key, "x", &info, alb_cert_now());
		X509 *chain[] = {l, a};
		struct alb_msg *m = one_reply(chain, 2, NULL);
		assert_failure(m, policies[i].failure);
		alb_msg_free(m);
		X509_free(l);
		X509_free(a);
	}
}

/* Whether the endpoint closes fd within 10 s (whatever it sends first). */
static bool closed_by_peer(int fd)
{
	char buf[4096];
	for (int i = 0; i < 1000; i++) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 10) == 1 && read(fd, buf, sizeof(buf)) <= 0)
			return true;
	}
	return false;
}

/* Clients that go away during the handshake, or end the TLS session
 * (close_notify), or send bytes that are not TLS in the middle of a block
 * stream: each counted or closed, and the endpoint serves on. */
static void test_clients_misbehave(void **state)
{
	(void)state;
	struct alb_tlsd_stats before, after;
	alb_tlsd_get_stats(T.d, &before);
	/* gone before a byte, then gone in the middle of a ClientHello */
	close(tcp_connect());
	int fd = tcp_connect();
	static const uint8_t hello_start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
	assert_int_equal(write(fd, hello_start, sizeof(hello_start)), sizeof(hello_start));
	close(fd);
	for (int i = 0; i < 1000; i++) {
		alb_tlsd_get_stats(T.d, &after);
		if (after.handshakes_failed >= before.handshakes_failed + 2)
			break;
		usleep(10000);
	}
	assert_int_equal(after.handshakes_failed, before.handshakes_failed + 2);
	struct alb_command bs = simple(ALB_CMD_BLOCK_SET);
	X509 *l = leaf(T.ca, T.ca_key, "disk", &bs, alb_cert_now());
	X509 *chain[] = {l};
	/* close_notify in the middle of the stream */
	struct client c;
	assert_true(client_open(&c, chain, 1));
	client_chunk(&c, 100, 1);
	assert_int_equal(SSL_shutdown(c.ssl) >= 0, 1);
	struct alb_msg *msgs[2];
	assert_int_equal(client_read_all(&c, msgs, 2), 1);
	assert_failure(msgs[0], "reading tls chunk");
	alb_msg_free(msgs[0]);
	client_close(&c);
	/* bytes that are not a TLS record */
	assert_true(client_open(&c, chain, 1));
	client_chunk(&c, 100, 1);
	static const char junk[] = "this is not TLS";
	assert_int_equal(write(c.fd, junk, sizeof(junk)), sizeof(junk));
	assert_true(closed_by_peer(c.fd));
	client_close(&c);
	X509_free(l);
	/* still serving */
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	l = leaf(T.ca, T.ca_key, "hello", &info, alb_cert_now());
	chain[0] = l;
	struct alb_msg *m = one_reply(chain, 1, NULL);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(m);
	X509_free(l);
}

/* ---- the alb-tlsd program ------------------------------------------------------ */

/* How long alb-tlsd gets to say it listens, to end after SIGTERM. */
#define CLI_WAIT_MS 20000

struct cli {
	pid_t pid;
	int err; /* its stderr (and stdout) */
	char out[8192];
	size_t len;
};

/* Starts alb-tlsd with args (NULL-terminated) and stdin in_fd (-1:
 * /dev/null); with listen_fd >= 0 that socket becomes fd 3 as systemd
 * passes it. */
static void cli_start(struct cli *c, const char *const *args, int in_fd, int listen_fd)
{
	const char *build = getenv("ALB_BUILD_ROOT");
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/alb-tlsd", build != NULL ? build : ".");
	const char *argv[24] = {exe};
	size_t n = 1;
	while (args[n - 1] != NULL && n < 23) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	memset(c, 0, sizeof(*c));
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
		dup2(in, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		if (listen_fd >= 0) {
			char pid[32];
			snprintf(pid, sizeof(pid), "%d", (int)getpid());
			dup2(listen_fd, 3);
			setenv("LISTEN_FDS", "1", 1);
			setenv("LISTEN_PID", pid, 1);
		}
		execv(exe, (char *const *)argv);
		test_child_exit(127);
	}
	close(p[1]);
	c->err = p[0];
}

/* Reads its output until text shows (true) or it ends or CLI_WAIT_MS
 * pass (false). */
static bool cli_wait_for(struct cli *c, const char *text)
{
	for (int64_t waited = 0; waited < CLI_WAIT_MS; waited += 10) {
		c->out[c->len] = '\0';
		if (strstr(c->out, text) != NULL)
			return true;
		struct pollfd pf = {c->err, POLLIN, 0};
		if (poll(&pf, 1, 10) == 1) {
			ssize_t r = read(c->err, c->out + c->len, sizeof(c->out) - 1 - c->len);
			if (r <= 0)
				return strstr(c->out, text) != NULL;
			c->len += (size_t)r;
		}
	}
	return false;
}

/* Waits for its end; its exit status (its whole output read). */
static int cli_end(struct cli *c)
{
	cli_wait_for(c, "\001never printed\001");
	close(c->err);
	int st;
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", T.dir, name);
}

/* Command lines alb-tlsd refuses, each with its exit status and message. */
static void test_cli_usage(void **state)
{
	(void)state;
	char ca[256], cert[256], key[256], tmp[300], missing[256];
	path_in(ca, sizeof(ca), "ca.pem");
	path_in(cert, sizeof(cert), "server.pem");
	path_in(key, sizeof(key), "server.key");
	path_in(missing, sizeof(missing), "no-such-ca.pem");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", T.dir);
	static const char *const none[] = {NULL};
	const char *const one[] = {ca, NULL};
	const char *const two[] = {ca, cert, NULL};
	const char *const four[] = {ca, cert, key, key, NULL};
	const char *const port[] = {"--port", "65536", ca, cert, key, NULL};
	const char *const both[] = {"--port=1", "--systemd-socket-activation", ca, cert, key, NULL};
	const char *const inetd[] = {"--inetd", ca, cert, key, NULL};
	const char *const no_ca[] = {tmp, "--ip=127.0.0.1", "--port=0", missing, cert, key, NULL};
	const char *const help[] = {"--help", NULL};
	static const struct {
		int status;
		const char *text;
	} want[] = {
		{DAEMON_EXIT_CLI_T, "required argument CA is missing"},
		{DAEMON_EXIT_CLI_T, "required argument CERT is missing"},
		{DAEMON_EXIT_CLI_T, "required argument KEY is missing"},
		{DAEMON_EXIT_CLI_T, "unexpected argument"},
		{DAEMON_EXIT_CLI_T, "option '--port': invalid value '65536', expected a port number"},
		{DAEMON_EXIT_CLI_T, "Options --port and --systemd-socket-activation are not compatible"},
		{3, "--inetd requires --syslog or -q"},
		{1, "no-such-ca.pem"},
		{0, "Usage: alb-tlsd [OPTION]... CA CERT KEY"},
	};
	const char *const *cmds[] = {none, one, two, four, port, both, inetd, no_ca, help};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
		struct cli c;
		cli_start(&c, cmds[i], -1, -1);
		int st = cli_end(&c);
		if (st != want[i].status || strstr(c.out, want[i].text) == NULL)
			fail_msg("case %zu: exit %d, expected %d with \"%s\"; it said:\n%s", i, st,
				 want[i].status, want[i].text, c.out);
	}
}

/* An info request through the program: relayed to the fake vmmd. */
static void cli_request(void)
{
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	X509 *l = leaf(T.ca, T.ca_key, "hello", &info, alb_cert_now());
	X509 *chain[] = {l};
	size_t mark = log_mark();
	struct alb_msg *m = one_reply(chain, 1, NULL);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_string_equal(m->header.name, ":hello");
	alb_msg_free(m);
	assert_int_equal(log_mark(), mark + 1);
	assert_int_equal(log_at(mark).kind, ALB_CMD_UNIKERNEL_INFO);
	X509_free(l);
}

/* alb-tlsd on an ephemeral port of 127.0.0.1 serves a client, then ends
 * cleanly on SIGTERM. */
static void test_cli_serves(void **state)
{
	(void)state;
	char ca[256], cert[256], key[256], tmp[300];
	path_in(ca, sizeof(ca), "ca.pem");
	path_in(cert, sizeof(cert), "server.pem");
	path_in(key, sizeof(key), "server.key");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", T.dir);
	const char *const args[] = {"-v", tmp, "--ip", "127.0.0.1", "--port", "0",
				    ca, cert, key, NULL};
	struct cli c;
	cli_start(&c, args, -1, -1);
	if (!cli_wait_for(&c, "listening on port "))
		fail_msg("alb-tlsd did not listen:\n%s", c.out);
	uint16_t saved = T.port;
	T.port = (uint16_t)atoi(strstr(c.out, "listening on port ") + 18);
	assert_true(T.port > 0);
	cli_request();
	T.port = saved;
	assert_int_equal(kill(c.pid, SIGTERM), 0);
	assert_int_equal(cli_end(&c), 0);
	assert_non_null(strstr(c.out, "stopping on signal"));
}

/* The listening socket given the systemd way (fd 3, LISTEN_FDS). */
static void test_cli_systemd(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	socklen_t sl = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	char ca[256], cert[256], key[256], tmp[300];
	path_in(ca, sizeof(ca), "ca.pem");
	path_in(cert, sizeof(cert), "server.pem");
	path_in(key, sizeof(key), "server.key");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", T.dir);
	const char *const args[] = {"-v", tmp, "--systemd-socket-activation", ca, cert, key,
				    NULL};
	struct cli c;
	cli_start(&c, args, -1, fd);
	close(fd);
	if (!cli_wait_for(&c, "listening on port "))
		fail_msg("alb-tlsd did not take the socket:\n%s", c.out);
	uint16_t saved = T.port;
	T.port = ntohs(sa.sin_port);
	cli_request();
	T.port = saved;
	assert_int_equal(kill(c.pid, SIGINT), 0);
	assert_int_equal(cli_end(&c), 0);
}

/* --inetd: one connection on stdin, served, then the program ends. */
static void test_cli_inetd(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	char ca[256], cert[256], key[256], tmp[300];
	path_in(ca, sizeof(ca), "ca.pem");
	path_in(cert, sizeof(cert), "server.pem");
	path_in(key, sizeof(key), "server.key");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", T.dir);
	const char *const args[] = {"--inetd", "-q", tmp, ca, cert, key, NULL};
	struct cli c;
	cli_start(&c, args, sv[1], -1);
	close(sv[1]);
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	X509 *l = leaf(T.ca, T.ca_key, "hello", &info, alb_cert_now());
	X509 *chain[] = {l};
	struct client cl;
	assert_true(client_open_fd(&cl, sv[0], chain, 1));
	struct alb_msg *msgs[2];
	assert_int_equal(client_read_all(&cl, msgs, 2), 1);
	assert_int_equal(msgs[0]->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(msgs[0]);
	client_close(&cl);
	X509_free(l);
	assert_int_equal(cli_end(&c), 0);
}

/* The policy albd holds at path itself: its unikernels, or -1 for none. */
static int64_t albd_policy(const struct harness *h, const char *path)
{
	struct alb_command c = simple(ALB_CMD_POLICY_INFO);
	struct alb_msg *m = h_call(h, path, &c);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	int64_t u = -1;
	for (size_t i = 0; i < m->u.success.u.policies.n; i++)
		if (strcmp(m->u.success.u.policies.v[i].name, ":") == 0)
			u = m->u.success.u.policies.v[i].policy.unikernels;
	alb_msg_free(m);
	return u;
}

static void albd_policy_add(const struct harness *h, const char *path,
			    int64_t unikernels)
{
	struct alb_command c = policy_cmd(unikernels);
	assert_true(h_call_is(h, path, &c, "added policy"));
}

/* With the real alb-tlsd in front of the real albd: a chain with a
 * sub-policy above its parent installs nothing; a chain that nests but
 * whose topmost policy albd refuses installs nothing either (Albatross's
 * endpoint would leave the deeper one in); one albd accepts installs all. */
static void test_binary_albd_chains(void **state)
{
	(void)state;
	struct harness h;
	assert_int_equal(h_setup(&h, "tlsd-albd"), 0);
	assert_int_equal(h_start_albd(&h, "-q"), 0);
	start_binary_at(h.tmpdir, NULL);
	/* what albd holds: a: 5 unikernels, a:c: 4, a:b: 1 */
	albd_policy_add(&h, "a:", 5);
	albd_policy_add(&h, "a:c:", 4);
	albd_policy_add(&h, "a:b:", 1);
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);

	/* a:b: at 6 under a: at 5 */
	struct alb_command p5 = policy_cmd(5), p3 = policy_cmd(3), p6 = policy_cmd(6);
	X509 *a5 = sign(T.ca, T.ca_key, T.key, "a", &p5);
	X509 *b3 = sign(a5, T.key, T.key, "b", &p3);
	X509 *b6 = forge_policy(b3, &p6.u.policy, T.key);
	assert_non_null(b6);
	X509 *l = leaf(b6, T.key, "x", &info, alb_cert_now());
	X509 *chain[] = {l, b6, a5};
	struct alb_msg *m = one_reply(chain, 3, NULL);
	printf("sub-policy above its parent: %s\n", m->u.failure.ptr);
	assert_failure(m, "policy of a:b: is not within the policy of a: in the "
			  "chain: policy above allows 5 unikernels, which is fewer "
			  "than 6");
	alb_msg_free(m);
	X509_free(l);
	assert_int_equal(albd_policy(&h, "a:"), 5);
	assert_int_equal(albd_policy(&h, "a:b:"), 1);
	assert_int_equal(albd_policy(&h, "a:c:"), 4);

	/* a: at 3, a:b: at 2: nests, but albd's a:c: (4) does not fit a: at
	 * 3, after a:b: at 2 went in: a:b: is 1 again */
	struct alb_command p2 = policy_cmd(2);
	X509 *a3 = sign(T.ca, T.ca_key, T.key, "a", &p3);
	X509 *b2 = sign(a3, T.key, T.key, "b", &p2);
	l = leaf(b2, T.key, "x", &info, alb_cert_now());
	X509 *chain2[] = {l, b2, a3};
	m = one_reply(chain2, 3, NULL);
	assert_int_equal(m->kind, ALB_PAYLOAD_FAILURE);
	printf("albd refuses the topmost: %s\n", m->u.failure.ptr);
	assert_true(strncmp(m->u.failure.ptr, "expected success when adding policy, "
			    "got: failure ", 50) == 0);
	alb_msg_free(m);
	assert_int_equal(albd_policy(&h, "a:"), 5);
	assert_int_equal(albd_policy(&h, "a:b:"), 1);
	assert_int_equal(albd_policy(&h, "a:c:"), 4);
	/* the same where a:b: had no policy: none again */
	struct alb_command rm = simple(ALB_CMD_POLICY_REMOVE);
	assert_true(h_call_is(&h, "a:b:", &rm, "removed policy"));
	m = one_reply(chain2, 3, NULL);
	assert_int_equal(m->kind, ALB_PAYLOAD_FAILURE);
	alb_msg_free(m);
	assert_int_equal(albd_policy(&h, "a:b:"), -1);
	assert_int_equal(albd_policy(&h, "a:"), 5);
	X509_free(l);

	/* a chain albd accepts installs both, then runs the command */
	struct alb_command p4 = policy_cmd(4);
	X509 *a4 = sign(T.ca, T.ca_key, T.key, "a", &p4);
	X509 *b4 = sign(a4, T.key, T.key, "b", &p2);
	l = leaf(b4, T.key, "x", &info, alb_cert_now());
	X509 *chain3[] = {l, b4, a4};
	m = one_reply(chain3, 3, NULL);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(m);
	assert_int_equal(albd_policy(&h, "a:"), 4);
	assert_int_equal(albd_policy(&h, "a:b:"), 2);
	X509_free(l);
	X509_free(a4);
	X509_free(b4);
	X509_free(a3);
	X509_free(b2);
	X509_free(a5);
	X509_free(b3);
	X509_free(b6);
	stop_binary();
	h_stop(&h, SIGTERM);
	h_teardown(&h);
}

/* alb-tlsd --user nobody runs as nobody without capability (after binding
 * and reading its key) and still serves, through albd's socket in
 * nobody's group. */
static void test_binary_user(void **state)
{
	(void)state;
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = pw != NULL ? getgrgid(pw->pw_gid) : NULL;
	if (pw == NULL || gr == NULL || geteuid() != 0) {
		printf("skipped: no user nobody, or not root\n");
		return;
	}
	struct harness h;
	char sg[96];
	snprintf(sg, sizeof(sg), "--socket-group=%s", gr->gr_name);
	assert_int_equal(h_setup(&h, "tlsd-user"), 0);
	/* nobody reaches the socket by its path */
	assert_int_equal(chmod(h.root, 0711), 0);
	assert_int_equal(h_start_albd(&h, sg), 0);
	/* the key stays root's: read before the switch */
	start_binary_at(h.tmpdir, "nobody");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tlsd_pid);
	char want[128];
	snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n", (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
	/* it accepts before it drops root: wait for the switch */
	char *status = NULL;
	for (int i = 0; i < 500; i++, usleep(10000)) {
		free(status);
		status = h_read_file(path, NULL);
		assert_non_null(status);
		if (strstr(status, want) != NULL)
			break;
	}
	assert_non_null(strstr(status, want));
	assert_non_null(strstr(status, "\nCapEff:\t0000000000000000\n"));
	assert_non_null(strstr(status, "\nCapBnd:\t0000000000000000\n"));
	free(status);
	struct alb_command info = simple(ALB_CMD_UNIKERNEL_INFO);
	X509 *l = leaf(T.ca, T.ca_key, "hello", &info, alb_cert_now());
	X509 *chain[] = {l};
	struct alb_msg *m = one_reply(chain, 1, NULL);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_UNIKERNEL_INFO);
	printf("alb-tlsd as nobody (uid %u, no capability): info answered by albd\n",
	       (unsigned)pw->pw_uid);
	alb_msg_free(m);
	X509_free(l);
	stop_binary();
	h_stop(&h, SIGTERM);
	h_teardown(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_nested_policies),
		cmocka_unit_test(test_policy_refused),
		cmocka_unit_test(test_chain_all_or_nothing),
		cmocka_unit_test(test_chain_not_nested),
		cmocka_unit_test(test_refused_chains),
		cmocka_unit_test(test_unmappable_chain),
		cmocka_unit_test(test_console_stream),
		cmocka_unit_test(test_no_service),
		cmocka_unit_test(test_streamed_image),
		cmocka_unit_test(test_streamed_image_relayed),
		cmocka_unit_test(test_block_set),
		cmocka_unit_test(test_image_get),
		cmocka_unit_test(test_image_get_daemon_cut),
		cmocka_unit_test(test_addr_limit),
		cmocka_unit_test(test_handshake_limit_and_timeout),
		cmocka_unit_test(test_idle_after_handshake),
		cmocka_unit_test(test_cert_list_limit),
		cmocka_unit_test(test_binary_silent_connections),
		cmocka_unit_test(test_binary_big_certificate),
		cmocka_unit_test(test_binary_streamed_image_memory),
		cmocka_unit_test(test_binary_image_get_memory),
		cmocka_unit_test(test_daemon_misbehaves),
		cmocka_unit_test(test_clients_misbehave),
		cmocka_unit_test(test_cli_usage),
		cmocka_unit_test(test_cli_serves),
		cmocka_unit_test(test_cli_systemd),
		cmocka_unit_test(test_cli_inetd),
		cmocka_unit_test(test_binary_albd_chains),
		cmocka_unit_test(test_binary_user),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
