/* libalbatross — the TLS endpoint core (spec §9.1): the TLS
 * configuration, the listener, the connection limit and the lifecycle.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "albatross/log.h"
#include "base/internal.h"
#include "tlsd_internal.h"

void tlsd_maybe_release(struct alb_tlsd *d)
{
	if (!d->stopping || d->handles > 0 || d->conns != NULL)
		return;
	SSL_CTX_free(d->ctx);
	X509_free(d->ca);
	free(d->tmpdir);
	free(d);
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

static void on_core_closed(uv_handle_t *h)
{
	struct alb_tlsd *d = h->data;
	d->handles--;
	tlsd_maybe_release(d);
}

/* Initialises the client handle of k for fd or an accepted connection;
 * counts it as k's. */
static int client_handle(struct tconn *k, int fd)
{
	uv_loop_t *loop = k->d->loop;
	int rc;
	if (fd >= 0 && uv_guess_handle(fd) == UV_NAMED_PIPE) {
		if ((rc = uv_pipe_init(loop, &k->cl.pipe, 0)) != 0)
			return rc;
		k->handles++;
		k->cl_init = true;
		k->cl.pipe.data = k;
		return uv_pipe_open(&k->cl.pipe, fd);
	}
	if ((rc = uv_tcp_init(loop, &k->cl.tcp)) != 0)
		return rc;
	k->handles++;
	k->cl_init = true;
	k->cl.tcp.data = k;
	return fd >= 0 ? uv_tcp_open(&k->cl.tcp, fd) : 0;
}

/* The client's address as 16 bytes (IPv4 v4-mapped), for the per-address
 * limit. */
static void client_addr(struct tconn *k)
{
	struct sockaddr_storage sa;
	int len = sizeof(sa);
	if (uv_tcp_getpeername(&k->cl.tcp, (struct sockaddr *)&sa, &len) != 0)
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

static void on_connection(uv_stream_t *server, int status)
{
	struct alb_tlsd *d = server->data;
	if (status < 0) {
		alb_log_warn("accept: %s", uv_strerror(status));
		return;
	}
	struct tconn *k = tlsd_conn_new(d);
	if (k == NULL) {
		alb_log_error("out of memory for a connection");
		return;
	}
	if (client_handle(k, -1) != 0 ||
	    uv_accept(server, (uv_stream_t *)&k->cl.tcp) != 0) {
		tlsd_conn_close(k);
		return;
	}
	client_addr(k);
	if (k->has_addr && same_addr(d, k) >= d->addr_conn_max) {
		alb_log_warn("refusing a connection: %u are open from its address "
			     "(the limit)", d->addr_conn_max);
		d->st.refused++;
		tlsd_conn_close(k);
		return;
	}
	if (!make_room(d, k)) {
		alb_log_warn("refusing a connection: %u are open (the limit), none "
			     "in its handshake", d->conn_max);
		d->st.refused++;
		tlsd_conn_close(k);
		return;
	}
	d->st.accepted++;
	if (tlsd_tls_start(k) != 0)
		tlsd_conn_close(k);
}

static int listen_tcp(struct alb_tlsd *d, const struct alb_tlsd_config *cfg,
		      struct alb_error *err)
{
	const char *ip = cfg->ip != NULL ? cfg->ip : ALB_TLSD_IP_DEFAULT;
	uint16_t port = cfg->port_set ? cfg->port : ALB_TLSD_PORT_DEFAULT;
	struct sockaddr_storage sa;
	memset(&sa, 0, sizeof(sa));
	int family = AF_INET6;
	if (uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&sa) != 0) {
		family = AF_INET;
		if (uv_ip4_addr(ip, port, (struct sockaddr_in *)&sa) != 0)
			return alb_fail(err, ALB_EINVAL, "invalid IP address %s", ip);
	}
	int rc = uv_tcp_init_ex(d->loop, &d->listener, (unsigned)family);
	if (rc != 0)
		return alb_fail(err, ALB_ESYS, "socket: %s", uv_strerror(rc));
	d->handles++;
	d->listening = true;
	d->listener.data = d;
	if (cfg->use_listen_fd) {
		if ((rc = uv_tcp_open(&d->listener, cfg->listen_fd)) != 0)
			return alb_fail(err, ALB_ESYS, "listening socket %d: %s",
					cfg->listen_fd, uv_strerror(rc));
	} else if ((rc = uv_tcp_bind(&d->listener, (struct sockaddr *)&sa, 0)) != 0) {
		/* libuv sets SO_REUSEADDR, and IPV6_V6ONLY off without
		 * UV_TCP_IPV6ONLY: dual-stack as Albatross. */
		return alb_fail(err, ALB_ESYS, "bind %s port %u: %s", ip,
				(unsigned)port, uv_strerror(rc));
	}
	if ((rc = uv_listen((uv_stream_t *)&d->listener, ALB_TLSD_BACKLOG,
			    on_connection)) != 0)
		return alb_fail(err, ALB_ESYS, "listen: %s", uv_strerror(rc));
	return 0;
}

static int serve_fd(struct alb_tlsd *d, int fd, struct alb_error *err)
{
	d->single = true;
	struct tconn *k = tlsd_conn_new(d);
	if (k == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	int rc = client_handle(k, fd);
	if (rc == 0 && (rc = tlsd_tls_start(k)) == 0) {
		d->st.accepted++;
		return 0;
	}
	tlsd_conn_close(k);
	return alb_fail(err, ALB_ESYS, "serving file descriptor %d: %s", fd,
			rc < 0 ? uv_strerror(rc) : "TLS setup failed");
}

int alb_tlsd_new(struct uv_loop_s *loop, const struct alb_tlsd_config *cfg,
		 struct alb_tlsd **out, struct alb_error *err)
{
	if (loop == NULL || cfg == NULL || out == NULL || cfg->ca_file == NULL ||
	    cfg->cert_file == NULL || cfg->key_file == NULL)
		return alb_fail(err, ALB_EINVAL, "the CA, certificate and key files are needed");
	if (cfg->use_listen_fd && cfg->use_conn_fd)
		return alb_fail(err, ALB_EINVAL, "a listening socket and a connection "
				"cannot both be served");
	if (cfg->cert_list_max > ALB_TLSD_CERT_LIST_MAX)
		return alb_fail(err, ALB_EINVAL, "certificate chain limit %zu above "
				"%u bytes", cfg->cert_list_max, ALB_TLSD_CERT_LIST_MAX);
	if ((cfg->use_listen_fd || cfg->use_conn_fd) && cfg->port_set)
		return alb_fail(err, ALB_EINVAL, "Options --port and "
				"--systemd-socket-activation are not compatible");
	struct alb_tlsd *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	d->loop = loop;
	d->conn_max = cfg->conn_max != 0 ? cfg->conn_max : ALB_TLSD_CONN_MAX;
	d->handshake_ms = cfg->handshake_timeout_ms != 0 ? cfg->handshake_timeout_ms
							 : ALB_TLSD_HANDSHAKE_TIMEOUT_MS;
	d->image_max = cfg->image_max != 0 ? cfg->image_max : ALB_TLSD_IMAGE_MAX;
	d->handshakes_max = cfg->handshakes_max != 0 ? cfg->handshakes_max
						     : ALB_TLSD_HANDSHAKES_MAX;
	d->addr_conn_max = cfg->addr_conn_max != 0 ? cfg->addr_conn_max
						   : ALB_TLSD_ADDR_CONN_MAX;
	d->idle_ms = cfg->idle_timeout_ms != 0 ? cfg->idle_timeout_ms
					       : ALB_TLSD_IDLE_TIMEOUT_MS;
	d->frame_max = cfg->frame_max != 0 ? cfg->frame_max : ALB_TLSD_FRAME_MAX;
	int rc = 0;
	if (cfg->tmpdir != NULL && (d->tmpdir = strdup(cfg->tmpdir)) == NULL)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	if (rc == 0 && cfg->tmpdir != NULL) {
		/* Fail now rather than at every connection. */
		char path[ALB_SOCKET_PATH_BUF];
		rc = alb_endpoint_socket_path(d->tmpdir, ALB_ENDPOINT_CONSOLE, path, err);
	}
	if (rc == 0)
		rc = tls_context(d, cfg, err);
	if (rc == 0)
		rc = cfg->use_conn_fd ? serve_fd(d, cfg->conn_fd, err)
				      : listen_tcp(d, cfg, err);
	if (rc != 0) {
		alb_tlsd_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int alb_tlsd_port(const struct alb_tlsd *d, uint16_t *port, struct alb_error *err)
{
	if (d == NULL || port == NULL || !d->listening)
		return alb_fail(err, ALB_EINVAL, "the endpoint does not listen");
	struct sockaddr_storage sa;
	int len = sizeof(sa);
	int rc = uv_tcp_getsockname(&d->listener, (struct sockaddr *)&sa, &len);
	if (rc != 0)
		return alb_fail(err, ALB_ESYS, "getsockname: %s", uv_strerror(rc));
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

void alb_tlsd_free(struct alb_tlsd *d)
{
	if (d == NULL || d->stopping)
		return;
	d->stopping = true;
	if (d->listening)
		uv_close((uv_handle_t *)&d->listener, on_core_closed);
	for (struct tconn *k = d->conns; k != NULL; k = k->next)
		tlsd_conn_close(k);
	tlsd_maybe_release(d);
}
