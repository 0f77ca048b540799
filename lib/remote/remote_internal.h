/* libalbatross — private parts of the remote folder: TCP connections
 * (remote_net.c), TLS over a blocking socket (remote_tls.c), the leaf
 * credentials (remote_creds.c), the remote command (remote.c) and HTTP
 * (remote_http.c).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_REMOTE_INTERNAL_H
#define ALB_REMOTE_INTERNAL_H

#include <sys/types.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "albatross/remote.h"
#include "io/client_transport.h"

/* ---- remote_net.c -------------------------------------------------------- */

/* Connects a TCP socket to host:port: the addresses of host (getaddrinfo)
 * are tried in its order, a new attempt every ALB_REMOTE_ATTEMPT_DELAY_MS
 * while earlier ones are pending, the first to connect wins; each attempt
 * gives up after timeout_ms (0: the system's own timeout). *fd is blocking
 * and close-on-exec. ALB_ESYS "connect failed with <host>:<port>: <reason>"
 * (the last attempt's reason, or getaddrinfo's). */
int remote_tcp_connect(const char *host, uint16_t port, int timeout_ms,
		       int *fd, struct alb_error *err);

/* True when s is an IPv4 or IPv6 address literal. */
bool remote_is_ip(const char *s);

/* ---- remote_tls.c --------------------------------------------------------- */

/* TLS on a connected blocking socket (its timeouts are the socket's). The
 * socket is written with MSG_NOSIGNAL: no SIGPIPE. */
struct rtls;

/* The transport of a TLS client (io/client_transport.h); its ctx is a
 * struct rtls, which it frees (close_notify sent first). */
extern const struct alb_client_transport remote_tls_transport;

/* A session of ctx (a reference is taken) on fd (borrowed) in client
 * mode. sni: host name to send and verify (NULL: neither). */
int rtls_new(SSL_CTX *ctx, int fd, const char *sni, struct rtls **out,
	     struct alb_error *err);

/* The handshake. Failures: ALB_EPERM with *why ALB_REMOTE_REMOTE_AUTH
 * ("remote authentication failure <reason>"), ALB_REMOTE_LOCAL_AUTH ("local
 * authentication failure TLS alert: <alert>"), or ALB_EPROTO/ALB_ESYS with
 * ALB_REMOTE_COMM ("failed to establish TLS connection: <reason>"). */
int rtls_handshake(struct rtls *t, enum alb_remote_status *why,
		   struct alb_error *err);

/* Reads or writes (the transport's functions, also used by HTTP). */
ssize_t rtls_recv(void *t, uint8_t *p, size_t len, struct alb_error *err);
ssize_t rtls_send(void *t, const uint8_t *p, size_t len,
		  struct alb_error *err);

/* ALB_REMOTE_LOCAL_AUTH when the peer sent a certificate alert, else
 * ALB_REMOTE_COMM. */
enum alb_remote_status rtls_failure(const struct rtls *t);

/* Sends close_notify (best effort) and frees t; NULL is a no-op. */
void rtls_free(void *t);

/* Fills err with code and "<what>: <OpenSSL's reason>", empties OpenSSL's
 * error queue; returns code. */
int remote_ossl_fail(struct alb_error *err, int code, const char *what);

/* ---- remote_creds.c -------------------------------------------------------- */

struct alb_remote_creds {
	X509 *leaf;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;   /* what follows the leaf */
	struct alb_certext *ext; /* the leaf's extension, NULL when none */
};

/* The certificates of a server CA file, as a new store (free with
 * X509_STORE_free()). ALB_REMOTE_LOCAL failures. */
int remote_server_store(const char *path, X509_STORE **out,
			struct alb_error *err);

#endif
