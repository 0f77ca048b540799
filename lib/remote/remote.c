/* libalbatross — a command for a remote albatross host (spec §9.3): the
 * settings, the TLS 1.3 connection whose client is an ordinary struct
 * alb_client, and where a create's image travels (the certificate, or a
 * stream after the handshake).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <unistd.h>

#include <openssl/err.h>

#include "albatross/log.h"
#include "albatross/stream.h"
#include "base/internal.h"
#include "remote_internal.h"

/* Bytes read from an image file at once. */
#define IMAGE_READ 65536

void alb_remote_config_init(struct alb_remote_config *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->ca_file = ALB_REMOTE_CA_DEFAULT;
	cfg->ca_key_file = ALB_REMOTE_CA_KEY_DEFAULT;
	cfg->server_ca_file = ALB_REMOTE_SERVER_CA_DEFAULT;
	cfg->key_type = ALB_KEY_ED25519;
	cfg->level = ALB_CERT_COMPRESSION_DEFAULT;
}

/* The client context: TLS 1.3 only, the server CA's certificates as the
 * trust anchors, no host name, our chain presented. */
static int client_ctx(const struct alb_remote_config *cfg,
		      const struct alb_remote_creds *creds, SSL_CTX **out,
		      struct alb_error *err)
{
	X509_STORE *store = NULL;
	int rc = remote_server_store(cfg->server_ca_file, &store, err);
	if (rc != 0)
		return rc;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		X509_STORE_free(store);
		return remote_ossl_fail(err, ALB_ENOMEM, "cannot make a TLS context");
	}
	SSL_CTX_set_cert_store(ctx, store);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ctx, creds->leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, creds->key) != 1 ||
	    SSL_CTX_set1_chain(ctx, creds->chain) != 1) {
		SSL_CTX_free(ctx);
		return remote_ossl_fail(err, ALB_EINVAL, "cannot use the certificate");
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	*out = ctx;
	return 0;
}

int alb_remote_connect(const struct alb_remote_config *cfg, const char *host,
		       uint16_t port, const struct alb_remote_creds *creds,
		       struct alb_client **out, enum alb_remote_status *why,
		       struct alb_error *err)
{
	enum alb_remote_status w = ALB_REMOTE_LOCAL;
	if (why == NULL)
		why = &w;
	*why = ALB_REMOTE_LOCAL;
	if (cfg == NULL || host == NULL || creds == NULL || out == NULL ||
	    cfg->timeout_ms < 0)
		return alb_fail(err, ALB_EINVAL, "missing argument");
	*out = NULL;
	int rc = alb_remote_creds_check(creds, cfg->server_ca_file, why, err);
	if (rc != 0)
		return rc;
	SSL_CTX *ctx = NULL;
	rc = client_ctx(cfg, creds, &ctx, err);
	if (rc != 0) {
		*why = ALB_REMOTE_LOCAL;
		return rc;
	}
	int fd = -1;
	rc = remote_tcp_connect(host, port, cfg->timeout_ms, &fd, err);
	if (rc != 0) {
		SSL_CTX_free(ctx);
		*why = ALB_REMOTE_CONNECT;
		return rc;
	}
	alb_log_debug("connected to %s:%u", host, (unsigned)port);
	struct rtls *t = NULL;
	rc = alb_client_socket_timeouts(fd, cfg->timeout_ms, err);
	if (rc == 0)
		rc = rtls_new(ctx, fd, NULL, &t, err);
	SSL_CTX_free(ctx);
	*why = ALB_REMOTE_COMM;
	if (rc == 0)
		rc = rtls_handshake(t, why, err);
	if (rc != 0) {
		rtls_free(t);
		close(fd);
		return rc;
	}
	alb_log_debug("finished tls handshake");
	*why = ALB_REMOTE_OK;
	rc = alb_client_wrap(fd, cfg->timeout_ms, &remote_tls_transport, t, out, err);
	if (rc != 0)
		*why = ALB_REMOTE_LOCAL;
	return rc;
}

/* ---- a create's image ---------------------------------------------------- */

struct bounded {
	struct alb_buf *buf;
	size_t max;
};

/* Collects compressor output while it fits; ALB_ETOOBIG once it does not. */
static int collect(void *ctx, const uint8_t *p, size_t len,
		   struct alb_error *err)
{
	struct bounded *b = ctx;
	struct alb_buf *o = b->buf;
	if (len > b->max - o->len)
		return alb_fail(err, ALB_ETOOBIG, "image does not fit a certificate");
	if (o->cap_ - o->len < len) {
		size_t cap = o->cap_ == 0 ? IMAGE_READ : o->cap_;
		while (cap - o->len < len)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		uint8_t *q = realloc(o->base_, cap);
		if (q == NULL)
			return alb_fail(err, ALB_ENOMEM, "out of memory");
		o->base_ = o->data = q;
		o->cap_ = cap;
	}
	memcpy(o->data + o->len, p, len);
	o->len += len;
	return 0;
}

int alb_remote_image_prepare(int fd, uint64_t size, int level,
			     struct alb_unikernel_config *cfg, struct alb_buf *buf,
			     bool *stream, struct alb_error *err)
{
	if (fd < 0 || cfg == NULL || buf == NULL || stream == NULL)
		return alb_fail(err, ALB_EINVAL, "missing argument");
	if (level < 0 || level > 9)
		return alb_fail(err, ALB_EINVAL,
				"compression level %d is not between 0 and 9", level);
	*stream = true;
	cfg->image.ptr = NULL;
	cfg->image.len = 0;
	cfg->compressed = level > 0;
	/* Uncompressed, only the size decides; compressed, the output does,
	 * as it is produced (never more than the bound is kept). */
	if (level == 0 && size > ALB_REMOTE_CERT_IMAGE_MAX)
		return 0;
	struct bounded b = {buf, ALB_REMOTE_CERT_IMAGE_MAX};
	struct alb_stream_writer *w = NULL;
	uint8_t *in = malloc(IMAGE_READ);
	int rc = in == NULL ? alb_fail(err, ALB_ENOMEM, "out of memory")
			    : alb_stream_writer_new(level == 0 ? ALB_STREAM_RAW : level,
						    collect, &b, &w, err);
	while (rc == 0) {
		ssize_t n = read(fd, in, IMAGE_READ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = alb_fail_sys(err, "reading the image");
		else if (n == 0)
			break;
		else
			rc = alb_stream_writer_write(w, in, (size_t)n, err);
	}
	if (rc == 0)
		rc = alb_stream_writer_finish(w, err);
	alb_stream_writer_free(w);
	free(in);
	if (rc == ALB_ETOOBIG)
		rc = 0; /* it streams */
	else if (rc == 0)
		*stream = false;
	if (*stream)
		alb_buf_free(buf);
	else {
		cfg->image.ptr = buf->data;
		cfg->image.len = buf->len;
	}
	if (rc == 0 && *stream && lseek(fd, 0, SEEK_SET) < 0)
		rc = alb_fail_sys(err, "rewinding the image");
	return rc;
}
