/* libalbatross — the TLS endpoint core (spec §9.1): the TLS
 * configuration, the listener, the connection limit and the lifecycle.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "albatross/log.h"
#include "base/internal.h"
#include "dcommon/socket.h"
#include "tlsd_internal.h"

static void final_free(struct alb_tlsd *d)
{
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	if (d->conn_fd >= 0)
		close(d->conn_fd);
	dc_pool_free(d->pool);
	dc_pool_free(d->dm_pool);
	SSL_CTX_free(d->ctx);
	X509_free(d->ca);
	free(d->tmpdir);
	free(d->ip);
	free(d);
}

void tlsd_maybe_release(struct alb_tlsd *d)
{
	if (!d->stopping || d->done_called || d->conns != NULL ||
	    (d->pool != NULL && dc_pool_handles(d->pool) > 0) ||
	    (d->dm_pool != NULL && dc_pool_handles(d->dm_pool) > 0))
		return;
	d->done_called = true;
	if (d->done != NULL)
		d->done(d, d->done_ctx);
	if (d->free_when_done)
		final_free(d);
}

void tlsd_handshake_over(struct tconn *k)
{
	if (k->in_handshake) {
		k->in_handshake = false;
		k->d->n_handshakes--;
	}
}

void tlsd_conn_unlink(struct alb_tlsd *d, struct tconn *k)
{
	tlsd_handshake_over(k);
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		d->conns = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	d->st.connections--;
}

/* The handshake's verification: the presented chain (leaf first, as the
 * client sent it) against the single CA, by the cert module, in place of
 * OpenSSL's own path building. */
static int verify_chain(X509_STORE_CTX *sctx, void *arg)
{
	struct alb_tlsd *d = arg;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(sctx);
	struct alb_error err;
	if (chain == NULL || sk_X509_num(chain) == 0) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	if (alb_cert_verify(d->ca, chain, alb_cert_now(), &err) != 0) {
		alb_log_error("client certificate refused: %s", err.msg);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	return 1;
}

static int tls_context(struct alb_tlsd *d, const struct alb_tlsd_config *cfg,
		       struct alb_error *err)
{
	int rc = alb_cert_read_single(cfg->ca_file, &d->ca, err);
	if (rc != 0)
		return rc;
	d->ctx = SSL_CTX_new(TLS_server_method());
	if (d->ctx == NULL)
		return alb_fail(err, ALB_ENOMEM, "cannot make a TLS context");
	SSL_CTX_set_min_proto_version(d->ctx, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(d->ctx, TLS1_3_VERSION);
	if (SSL_CTX_use_certificate_chain_file(d->ctx, cfg->cert_file) != 1) {
		rc = alb_fail(err, ALB_EPARSE, "cannot use the certificate %s: %s",
			      cfg->cert_file, ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		return rc;
	}
	if (SSL_CTX_use_PrivateKey_file(d->ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(d->ctx) != 1) {
		rc = alb_fail(err, ALB_EPARSE, "cannot use the private key %s: %s",
			      cfg->key_file, ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		return rc;
	}
	SSL_CTX_set_verify(d->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   NULL);
	SSL_CTX_set_cert_verify_callback(d->ctx, verify_chain, d);
	/* albatross-client carries whole images in its leaf certificates; a
	 * larger Certificate message is refused at its length, before OpenSSL
	 * buffers, parses or verifies any of it. */
	SSL_CTX_set_max_cert_list(d->ctx, cfg->cert_list_max != 0
						  ? (long)cfg->cert_list_max
						  : (long)ALB_TLSD_CERT_LIST_DEFAULT);
	/* Every connection presents and proves its chain: no resumption. */
	SSL_CTX_set_session_cache_mode(d->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(d->ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(d->ctx, 0);
	return 0;
}

/* The client's address as 16 bytes (IPv4 v4-mapped), for the per-address
 * limit. */
static void client_addr(struct tconn *k)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	if (getpeername(k->cl->fd, (struct sockaddr *)&sa, &len) != 0)
		return;
	memset(k->addr, 0, sizeof(k->addr));
	if (sa.ss_family == AF_INET6) {
		memcpy(k->addr, &((struct sockaddr_in6 *)&sa)->sin6_addr, 16);
	} else if (sa.ss_family == AF_INET) {
		k->addr[10] = k->addr[11] = 0xff;
		memcpy(k->addr + 12, &((struct sockaddr_in *)&sa)->sin_addr, 4);
	} else {
		return;
	}
	k->has_addr = true;
}

static unsigned same_addr(const struct alb_tlsd *d, const struct tconn *k)
{
	unsigned n = 0;
	for (const struct tconn *o = d->conns; o != NULL; o = o->next)
		if (o != k && o->state != T_CLOSING && o->has_addr &&
		    memcmp(o->addr, k->addr, sizeof(k->addr)) == 0)
			n++;
	return n;
}

/* The oldest connection in its handshake other than k (the list is newest
 * first), or NULL. */
static struct tconn *oldest_handshake(struct alb_tlsd *d, struct tconn *k)
{
	struct tconn *found = NULL;
	for (struct tconn *o = d->conns; o != NULL; o = o->next)
		if (o != k && o->in_handshake && o->state == T_HANDSHAKE)
			found = o;
	return found;
}

/* Connections open and not closing (k included). */
static unsigned live_conns(const struct alb_tlsd *d)
{
	unsigned n = 0;
	for (const struct tconn *o = d->conns; o != NULL; o = o->next)
		if (o->state != T_CLOSING)
			n++;
	return n;
}

/* Makes room for k beyond conn_max or handshakes_max by closing the oldest
 * handshake in progress; false when there is none to close. */
static bool make_room(struct alb_tlsd *d, struct tconn *k)
{
	while (live_conns(d) > d->conn_max ||
	       d->n_handshakes >= d->handshakes_max) {
		struct tconn *old = oldest_handshake(d, k);
		if (old == NULL)
			return false;
		alb_log_info("%u connections, %u handshakes: closing the oldest "
			     "handshake for a new connection",
			     live_conns(d), d->n_handshakes);
		d->st.handshakes_failed++;
		tlsd_handshake_over(old);
		tlsd_conn_close(old);
	}
	return true;
}

/* A tconn for the client connection dc (raw bytes). */
static struct tconn *client_conn(struct alb_tlsd *d, struct dc_conn *dc)
{
	struct tconn *k = tlsd_conn_new(d);
	if (k == NULL) {
		alb_log_error("out of memory for a connection");
		return NULL;
	}
	k->cl = dc;
	k->handles++;
	dc->data = k;
	dc_conn_set_raw(dc);
	return k;
}

static int on_accepted(struct dc_pool *p, struct dc_conn *dc)
{
	struct alb_tlsd *d = dc_pool_data(p);
	if (d->stopping)
		return -1;
	struct tconn *k = client_conn(d, dc);
	if (k == NULL)
		return -1;
	client_addr(k);
	if (k->has_addr && same_addr(d, k) >= d->addr_conn_max) {
		alb_log_warn("refusing a connection: %u are open from its address "
			     "(the limit)", d->addr_conn_max);
		d->st.refused++;
		return -1;
	}
	if (!make_room(d, k)) {
		alb_log_warn("refusing a connection: %u are open (the limit), none "
			     "in its handshake", d->conn_max);
		d->st.refused++;
		return -1;
	}
	d->st.accepted++;
	return tlsd_tls_start(k) == 0 ? 0 : -1;
}

static void cl_frame(struct dc_conn *dc, struct alb_buf *b)
{
	(void)dc; /* raw mode: never framed */
	alb_buf_free(b);
}

static void cl_bytes(struct dc_conn *dc, const uint8_t *p, size_t n)
{
	tlsd_client_bytes(dc->data, p, n);
}

static void cl_lost(struct dc_conn *dc, int rc, const char *why)
{
	(void)why;
	tlsd_client_lost(dc->data, rc);
}

static void cl_drained(struct dc_conn *dc)
{
	tlsd_conn_client_drained(dc->data);
}

static void cl_closed(struct dc_conn *dc)
{
	if (dc->data != NULL)
		tlsd_client_closed(dc->data);
}

static void pool_gone(struct dc_pool *p)
{
	tlsd_maybe_release(dc_pool_data(p));
}

static const struct dc_ops client_ops = {
	.accepted = on_accepted,
	.frame = cl_frame,
	.bytes = cl_bytes,
	.lost = cl_lost,
	.drained = cl_drained,
	.closed = cl_closed,
	.gone = pool_gone,
};

static void dm_frame(struct dc_conn *dc, struct alb_buf *b)
{
	tlsd_daemon_frame(dc->data, b);
}

static void dm_bytes(struct dc_conn *dc, const uint8_t *p, size_t n)
{
	tlsd_relay_bytes(dc->data, p, n);
}

static void dm_lost(struct dc_conn *dc, int rc, const char *why)
{
	tlsd_daemon_lost(dc->data, rc, why);
}

static void dm_drained(struct dc_conn *dc)
{
	tlsd_daemon_drained(dc->data);
}

static void dm_closed(struct dc_conn *dc)
{
	tlsd_daemon_closed(dc->data);
}

static const struct dc_ops daemon_ops = {
	.frame = dm_frame,
	.bytes = dm_bytes,
	.lost = dm_lost,
	.drained = dm_drained,
	.closed = dm_closed,
	.gone = pool_gone,
};

/* Binds and listens on ip and port: dual-stack for an IPv6 address, as
 * Albatross. */
static int listen_tcp(struct alb_tlsd *d, struct alb_error *err)
{
	const char *ip = d->ip != NULL ? d->ip : ALB_TLSD_IP_DEFAULT;
	struct sockaddr_storage sa;
	memset(&sa, 0, sizeof(sa));
	socklen_t len;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(d->port);
		len = sizeof(*s6);
	} else if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(d->port);
		len = sizeof(*s4);
	} else {
		return alb_fail(err, ALB_EINVAL, "invalid IP address %s", ip);
	}
	int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return alb_fail_sys(err, "socket");
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&sa, len) != 0 ||
	    listen(fd, ALB_TLSD_BACKLOG) != 0) {
		int rc = alb_fail_sys(err, "bind %s port %u", ip, (unsigned)d->port);
		close(fd);
		return rc;
	}
	d->tcp_fd = fd;
	return dc_pool_listen(d->pool, fd, err);
}

static int serve_fd(struct alb_tlsd *d, int fd, struct alb_error *err)
{
	d->single = true;
	struct dc_conn *dc = NULL;
	int rc = dc_conn_open(d->pool, fd, NULL, &dc, err);
	if (rc != 0)
		return rc;
	struct tconn *k = client_conn(d, dc);
	if (k == NULL) {
		dc_conn_close(dc);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	if (tlsd_tls_start(k) != 0) {
		tlsd_conn_close(k);
		return alb_fail(err, ALB_ESYS, "serving file descriptor %d: TLS "
				"setup failed", fd);
	}
	d->st.accepted++;
	return 0;
}

void alb_tlsd_config_init(struct alb_tlsd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_fd = -1;
	cfg->conn_fd = -1;
}

int alb_tlsd_new(struct uv_loop_s *loop, const struct alb_tlsd_config *cfg,
		 struct alb_tlsd **out, struct alb_error *err)
{
	if (loop == NULL || cfg == NULL || out == NULL || cfg->ca_file == NULL ||
	    cfg->cert_file == NULL || cfg->key_file == NULL)
		return alb_fail(err, ALB_EINVAL, "the CA, certificate and key files are needed");
	if (!ALB_RESERVED_ZERO(cfg))
		return alb_fail(err, ALB_EINVAL,
				"alb_tlsd_new: reserved fields must be zero");
	if ((cfg->flags & ~ALB_TLSD_STREAM_IMAGES) != 0)
		return alb_fail(err, ALB_EINVAL, "alb_tlsd_new: unknown flags "
				"0x%llx", (unsigned long long)cfg->flags);
	if (cfg->listen_fd >= 0 && cfg->conn_fd >= 0)
		return alb_fail(err, ALB_EINVAL, "a listening socket and a connection "
				"cannot both be served");
	if (cfg->cert_list_max > ALB_TLSD_CERT_LIST_MAX)
		return alb_fail(err, ALB_EINVAL, "certificate chain limit %zu above "
				"%u bytes", cfg->cert_list_max, ALB_TLSD_CERT_LIST_MAX);
	if ((cfg->listen_fd >= 0 || cfg->conn_fd >= 0) && cfg->port_set)
		return alb_fail(err, ALB_EINVAL, "Options --port and "
				"--systemd-socket-activation are not compatible");
	struct alb_tlsd *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	d->loop = loop;
	d->listen_fd = d->conn_fd = d->tcp_fd = -1;
	d->conn_max = cfg->conn_max != 0 ? cfg->conn_max : ALB_TLSD_CONN_MAX;
	d->handshake_ms = cfg->handshake_timeout_ms != 0 ? cfg->handshake_timeout_ms
							 : ALB_TLSD_HANDSHAKE_TIMEOUT_MS;
	d->image_max = cfg->image_max != 0 ? cfg->image_max : ALB_TLSD_IMAGE_MAX;
	d->stream_images = (cfg->flags & ALB_TLSD_STREAM_IMAGES) != 0;
	d->handshakes_max = cfg->handshakes_max != 0 ? cfg->handshakes_max
						     : ALB_TLSD_HANDSHAKES_MAX;
	d->addr_conn_max = cfg->addr_conn_max != 0 ? cfg->addr_conn_max
						   : ALB_TLSD_ADDR_CONN_MAX;
	d->idle_ms = cfg->idle_timeout_ms != 0 ? cfg->idle_timeout_ms
					       : ALB_TLSD_IDLE_TIMEOUT_MS;
	d->frame_max = cfg->frame_max != 0 ? cfg->frame_max : ALB_TLSD_FRAME_MAX;
	d->port = cfg->port_set ? cfg->port : ALB_TLSD_PORT_DEFAULT;
	int rc = 0;
	if ((cfg->tmpdir != NULL && (d->tmpdir = strdup(cfg->tmpdir)) == NULL) ||
	    (cfg->ip != NULL && (d->ip = strdup(cfg->ip)) == NULL))
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	if (rc == 0 && cfg->tmpdir != NULL) {
		/* Fail now rather than at every connection. */
		char path[ALB_SOCKET_PATH_BUF];
		rc = alb_endpoint_socket_path(d->tmpdir, ALB_ENDPOINT_CONSOLE, path, err);
	}
	if (rc == 0)
		rc = tls_context(d, cfg, err);
	struct dc_pool_config pc = {.who = "tlsd", .backlog = ALB_TLSD_BACKLOG};
	if (rc == 0)
		rc = dc_pool_new(loop, &pc, &client_ops, d, &d->pool, err);
	pc.who = "tlsd daemon";
	pc.frame_max = d->frame_max;
	if (rc == 0)
		rc = dc_pool_new(loop, &pc, &daemon_ops, d, &d->dm_pool, err);
	if (rc != 0) {
		final_free(d); /* the caller keeps its sockets */
		return rc;
	}
	d->listen_fd = cfg->listen_fd;
	d->conn_fd = cfg->conn_fd;
	*out = d;
	return 0;
}

int alb_tlsd_start(struct alb_tlsd *d, struct alb_error *err)
{
	if (d == NULL || d->started || d->stopping)
		return alb_fail(err, ALB_EINVAL, "alb_tlsd_start: not a new core");
	d->started = true;
	int fd = d->conn_fd;
	d->conn_fd = -1;
	if (fd >= 0)
		return serve_fd(d, fd, err);
	fd = d->listen_fd;
	d->listen_fd = -1;
	if (fd < 0)
		return listen_tcp(d, err);
	int rc = dc_listen_fd_adopt(fd, err);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	d->tcp_fd = fd;
	return dc_pool_listen(d->pool, fd, err);
}

int alb_tlsd_port(const struct alb_tlsd *d, uint16_t *port, struct alb_error *err)
{
	if (d == NULL || port == NULL || d->tcp_fd < 0 || d->stopping)
		return alb_fail(err, ALB_EINVAL, "the endpoint does not listen");
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	if (getsockname(d->tcp_fd, (struct sockaddr *)&sa, &len) != 0)
		return alb_fail_sys(err, "getsockname");
	*port = sa.ss_family == AF_INET6
			? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
			: ntohs(((struct sockaddr_in *)&sa)->sin_port);
	return 0;
}

void alb_tlsd_get_stats(const struct alb_tlsd *d, struct alb_tlsd_stats *out)
{
	*out = d->st;
	out->next_sequence = (uint64_t)d->sequence;
}

int alb_tlsd_shutdown(struct alb_tlsd *d, alb_tlsd_done_fn done, void *ctx)
{
	if (d == NULL)
		return ALB_EINVAL;
	d->done = done;
	d->done_ctx = ctx;
	if (d->stopping) {
		tlsd_maybe_release(d);
		return 0;
	}
	d->stopping = true;
	dc_pool_stop_listening(d->pool);
	d->tcp_fd = -1;
	struct tconn *k = d->conns;
	while (k != NULL) {
		struct tconn *next = k->next;
		tlsd_conn_close(k);
		k = next;
	}
	tlsd_maybe_release(d);
	return 0;
}

void alb_tlsd_free(struct alb_tlsd *d)
{
	if (d == NULL)
		return;
	if (!d->done_called) {
		/* still running: shut down, and go once the handles closed */
		d->free_when_done = true;
		alb_tlsd_shutdown(d, NULL, NULL);
		return;
	}
	final_free(d);
}
