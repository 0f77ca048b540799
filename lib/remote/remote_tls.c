/* libalbatross — TLS on a blocking socket for the remote client and HTTPS:
 * OpenSSL reads and writes the socket through a small BIO of ours that
 * sends with MSG_NOSIGNAL (a vanished peer is an error, never a SIGPIPE),
 * and remembers the alert the peer sent, which tells a refused client
 * certificate from any other failure.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "base/internal.h"
#include "remote_internal.h"

struct rtls {
	SSL *ssl;
	BIO_METHOD *meth;
	int fd;
	int alert; /* the last alert received from the peer, -1 for none */
};

int remote_ossl_fail(struct alb_error *err, int code, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
	if (r != NULL)
		alb_set_error(err, code, "%s: %s", what, r);
	else
		alb_set_error(err, code, "%s", what);
	ERR_clear_error();
	return code;
}

/* ---- the socket BIO ------------------------------------------------------- */

static int bio_write(BIO *b, const char *p, int len)
{
	struct rtls *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	for (;;) {
		ssize_t n = send(t->fd, p, (size_t)len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_write(b);
		return -1;
	}
}

static int bio_read(BIO *b, char *p, int len)
{
	struct rtls *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	for (;;) {
		ssize_t n = recv(t->fd, p, (size_t)len, 0);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			BIO_set_retry_read(b);
		return -1;
	}
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	/* Writes go out at once: flushing has nothing to do. */
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* Records the alerts the peer sends. */
static void on_message(int write_p, int version, int content_type,
		       const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version;
	(void)ssl;
	struct rtls *t = arg;
	if (!write_p && content_type == SSL3_RT_ALERT && len == 2)
		t->alert = ((const unsigned char *)buf)[1];
}

/* ---- sessions ---------------------------------------------------------------- */

int rtls_new(SSL_CTX *ctx, int fd, const char *sni, struct rtls **out,
	     struct alb_error *err)
{
	struct rtls *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	t->fd = fd;
	t->alert = -1;
	t->ssl = SSL_new(ctx);
	t->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
			       "albatross socket");
	BIO *b = NULL;
	if (t->ssl != NULL && t->meth != NULL &&
	    BIO_meth_set_write(t->meth, bio_write) == 1 &&
	    BIO_meth_set_read(t->meth, bio_read) == 1 &&
	    BIO_meth_set_ctrl(t->meth, bio_ctrl) == 1 &&
	    BIO_meth_set_create(t->meth, bio_create) == 1)
		b = BIO_new(t->meth);
	if (b == NULL) {
		rtls_free(t);
		return remote_ossl_fail(err, ALB_ENOMEM, "cannot make a TLS session");
	}
	BIO_set_data(b, t);
	SSL_set_bio(t->ssl, b, b);
	SSL_set_connect_state(t->ssl);
	SSL_set_msg_callback(t->ssl, on_message);
	SSL_set_msg_callback_arg(t->ssl, t);
	if (sni != NULL) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
		int ok = remote_is_ip(sni) ? X509_VERIFY_PARAM_set1_ip_asc(vp, sni)
					   : SSL_set_tlsext_host_name(t->ssl, sni) == 1 &&
						     SSL_set1_host(t->ssl, sni) == 1;
		if (ok != 1) {
			rtls_free(t);
			return remote_ossl_fail(err, ALB_ENOMEM,
						"cannot set the TLS server name");
		}
	}
	*out = t;
	return 0;
}

/* Alerts that say the peer refused our certificate (albatross-client
 * counts bad_certificate and certificate_expired; OpenSSL peers also send
 * these others for a chain they do not accept). */
static bool certificate_alert(int a)
{
	switch (a) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return true;
	default:
		return false;
	}
}

enum alb_remote_status rtls_failure(const struct rtls *t)
{
	return t != NULL && certificate_alert(t->alert) ? ALB_REMOTE_LOCAL_AUTH
							 : ALB_REMOTE_COMM;
}

/* The failure of an SSL call that returned r: a timeout (ALB_ESYS,
 * EAGAIN), a system error, the peer's alert, or OpenSSL's reason. */
static int tls_fail(struct rtls *t, int r, const char *what,
		    struct alb_error *err)
{
	int e = SSL_get_error(t->ssl, r);
	int saved = errno;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		errno = EAGAIN;
		return alb_fail_sys(err, "%s", what);
	}
	if (t->alert >= 0) {
		ERR_clear_error();
		return alb_fail(err, ALB_EPROTO, "%s: TLS alert: %s", what,
				SSL_alert_desc_string_long(t->alert));
	}
	if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		errno = saved != 0 ? saved : ECONNRESET;
		return alb_fail_sys(err, "%s", what);
	}
	return remote_ossl_fail(err, ALB_EPROTO, what);
}

int rtls_handshake(struct rtls *t, enum alb_remote_status *why,
		   struct alb_error *err)
{
	ERR_clear_error();
	int r = SSL_connect(t->ssl);
	if (r == 1) {
		*why = ALB_REMOTE_OK;
		return 0;
	}
	long v = SSL_get_verify_result(t->ssl);
	if (v != X509_V_OK) {
		ERR_clear_error();
		*why = ALB_REMOTE_REMOTE_AUTH;
		return alb_fail(err, ALB_EPERM, "remote authentication failure %s",
				X509_verify_cert_error_string(v));
	}
	struct alb_error e = {0};
	int rc = tls_fail(t, r, "TLS handshake", &e);
	if (certificate_alert(t->alert)) {
		*why = ALB_REMOTE_LOCAL_AUTH;
		return alb_fail(err, ALB_EPERM,
				"local authentication failure TLS alert: %s",
				SSL_alert_desc_string_long(t->alert));
	}
	*why = ALB_REMOTE_COMM;
	if (rc == ALB_ESYS && (e.sys_errno == EAGAIN || e.sys_errno == EWOULDBLOCK))
		return alb_fail(err, ALB_ESYS,
				"failed to establish TLS connection: timed out");
	return alb_fail(err, rc, "failed to establish TLS connection: %s", e.msg);
}

ssize_t rtls_send(void *ctx, const uint8_t *p, size_t len,
		  struct alb_error *err)
{
	struct rtls *t = ctx;
	size_t done = 0;
	ERR_clear_error();
	if (SSL_write_ex(t->ssl, p, len, &done) == 1)
		return (ssize_t)done;
	return tls_fail(t, 0, "writing to the TLS connection", err);
}

ssize_t rtls_recv(void *ctx, uint8_t *p, size_t len, struct alb_error *err)
{
	struct rtls *t = ctx;
	size_t done = 0;
	ERR_clear_error();
	if (SSL_read_ex(t->ssl, p, len, &done) == 1)
		return (ssize_t)done;
	int e = SSL_get_error(t->ssl, 0);
	/* The peer's close_notify, or a close without it (the reply, if
	 * any, was complete: frames carry their own lengths). */
	if (e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
		ERR_clear_error();
		return 0;
	}
	return tls_fail(t, 0, "reading from the TLS connection", err);
}

void rtls_free(void *ctx)
{
	struct rtls *t = ctx;
	if (t == NULL)
		return;
	if (t->ssl != NULL) {
		if (SSL_is_init_finished(t->ssl))
			SSL_shutdown(t->ssl);
		ERR_clear_error();
		SSL_free(t->ssl);
	}
	BIO_meth_free(t->meth);
	free(t);
}

const struct alb_client_transport remote_tls_transport = {
	.send = rtls_send,
	.recv = rtls_recv,
	.close = rtls_free,
};

enum alb_remote_status alb_remote_failure(const struct alb_client *c)
{
	return rtls_failure(alb_client_transport_ctx(c, &remote_tls_transport));
}
