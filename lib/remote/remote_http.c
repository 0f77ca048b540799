/* libalbatross — HTTP/1.1 GET over TCP or TLS for `update` (spec §10.3):
 * one request per connection (Connection: close), no redirect followed,
 * bodies by Content-Length, chunked or up to the close, written to a file
 * descriptor as they arrive.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "base/internal.h"
#include "remote_internal.h"

/* Bytes read from the connection at once. */
#define HTTP_READ 16384
/* Longest chunk-size line of a chunked body. */
#define CHUNK_LINE_MAX 256

struct url {
	bool tls;
	char host[ALB_REMOTE_HOST_BUF];
	uint16_t port;
	const char *path; /* into the URL; "/" when empty */
	char authority[ALB_REMOTE_HOST_BUF + 8]; /* the Host header */
};

static int parse_url(const char *s, struct url *u, struct alb_error *err)
{
	memset(u, 0, sizeof(*u));
	const char *p;
	if (strncmp(s, "https://", 8) == 0) {
		u->tls = true;
		u->port = ALB_HTTPS_PORT;
		p = s + 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		u->port = ALB_HTTP_PORT;
		p = s + 7;
	} else {
		return alb_fail(err, ALB_EPARSE, "expected http[s]://host in %s", s);
	}
	if (strlen(s) > ALB_HTTP_URL_MAX)
		return alb_fail(err, ALB_EPARSE, "URL longer than %d bytes",
				ALB_HTTP_URL_MAX);
	size_t alen = strcspn(p, "/");
	u->path = p[alen] == '/' ? p + alen : "/";
	if (alen == 0 || alen >= sizeof(u->authority))
		return alb_fail(err, ALB_EPARSE, "expected http[s]://host in %s", s);
	memcpy(u->authority, p, alen);
	u->authority[alen] = '\0';
	/* host[:port] and [v6][:port], as a destination is written. */
	char dest[sizeof(u->authority)];
	memcpy(dest, u->authority, alen + 1);
	bool has_port = dest[0] == '[' ? strstr(dest, "]:") != NULL
				       : strchr(dest, ':') != NULL;
	struct alb_error e = {0};
	uint16_t port = 0;
	/* An IPv6 address needs its brackets in a URL. */
	bool bad = dest[0] != '[' && strchr(dest, ':') != strrchr(dest, ':');
	if (bad || alb_remote_parse_destination(dest, u->host, &port, &e) != 0 ||
	    strcmp(u->host, "-") == 0)
		return alb_fail(err, ALB_EPARSE, "invalid host in %s%s%s", s,
				e.msg[0] ? ": " : "", e.msg);
	if (has_port)
		u->port = port;
	return 0;
}

/* ---- the connection -------------------------------------------------------- */

struct conn {
	int fd;
	struct rtls *t; /* NULL: plain TCP */
	uint8_t buf[HTTP_READ];
	size_t pos, len; /* unread bytes: buf[pos..len) */
};

static ssize_t conn_recv(struct conn *c, uint8_t *p, size_t n,
			 struct alb_error *err)
{
	if (c->t != NULL)
		return rtls_recv(c->t, p, n, err);
	for (;;) {
		ssize_t r = read(c->fd, p, n);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return alb_fail_sys(err, "reading the HTTP response");
	}
}

static int conn_send_all(struct conn *c, const char *p, size_t n,
			 struct alb_error *err)
{
	while (n > 0) {
		ssize_t w;
		if (c->t != NULL) {
			w = rtls_send(c->t, (const uint8_t *)p, n, err);
		} else {
			w = send(c->fd, p, n, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return alb_fail_sys(err, "sending the HTTP request");
		}
		if (w < 0)
			return (int)w;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Refills the buffer when it is empty: > 0 bytes, 0 at the end. */
static ssize_t fill(struct conn *c, struct alb_error *err)
{
	if (c->pos < c->len)
		return (ssize_t)(c->len - c->pos);
	c->pos = c->len = 0;
	ssize_t n = conn_recv(c, c->buf, sizeof(c->buf), err);
	if (n > 0)
		c->len = (size_t)n;
	return n;
}

/* One line (up to CRLF or LF, not included) into out (max bytes with the
 * NUL). ALB_EPARSE when longer or cut by the end. */
static int get_line(struct conn *c, char *out, size_t max, struct alb_error *err)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = fill(c, err);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return alb_fail(err, ALB_EPARSE, "HTTP response cut short");
		char ch = (char)c->buf[c->pos++];
		if (ch == '\n')
			break;
		if (n + 1 >= max)
			return alb_fail(err, ALB_EPARSE, "HTTP response line too long");
		out[n++] = ch;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	return 0;
}

/* ---- the response -------------------------------------------------------------- */

struct body {
	int fd;
	uint64_t max;
	uint64_t len;
};

static int body_put(struct body *b, const uint8_t *p, size_t n,
		    struct alb_error *err)
{
	if (n > b->max - b->len)
		return alb_fail(err, ALB_ETOOBIG, "HTTP body larger than %llu bytes",
				(unsigned long long)b->max);
	b->len += n;
	while (b->fd >= 0 && n > 0) {
		ssize_t w = write(b->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return alb_fail_sys(err, "writing the HTTP body");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies `want` bytes of body (UINT64_MAX: up to the end). */
static int copy_body(struct conn *c, struct body *b, uint64_t want,
		     struct alb_error *err)
{
	while (want > 0) {
		ssize_t r = fill(c, err);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return want == UINT64_MAX
				       ? 0
				       : alb_fail(err, ALB_EPARSE, "HTTP body cut short");
		size_t n = (size_t)r;
		if ((uint64_t)n > want)
			n = (size_t)want;
		int rc = body_put(b, c->buf + c->pos, n, err);
		if (rc != 0)
			return rc;
		c->pos += n;
		if (want != UINT64_MAX)
			want -= n;
	}
	return 0;
}

static int chunked_body(struct conn *c, struct body *b, struct alb_error *err)
{
	char line[CHUNK_LINE_MAX];
	for (;;) {
		int rc = get_line(c, line, sizeof(line), err);
		if (rc != 0)
			return rc;
		char *end;
		errno = 0;
		unsigned long long n = strtoull(line, &end, 16);
		if (end == line || errno != 0 || (*end != '\0' && *end != ';' &&
						   *end != ' ' && *end != '\t'))
			return alb_fail(err, ALB_EPARSE, "bad HTTP chunk size");
		if (n == 0)
			break;
		rc = copy_body(c, b, n, err);
		if (rc == 0)
			rc = get_line(c, line, sizeof(line), err);
		if (rc == 0 && line[0] != '\0')
			rc = alb_fail(err, ALB_EPARSE, "bad HTTP chunk end");
		if (rc != 0)
			return rc;
	}
	/* trailers, up to the empty line */
	do {
		int rc = get_line(c, line, sizeof(line), err);
		if (rc != 0)
			return rc;
	} while (line[0] != '\0');
	return 0;
}

/* Reads the status line, the headers and the body. */
static int response(struct conn *c, struct body *b, struct alb_http_response *out,
		    struct alb_error *err)
{
	char line[ALB_HTTP_LOCATION_MAX + 64];
	size_t head = 0;
	int rc = get_line(c, line, sizeof(line), err);
	if (rc != 0)
		return rc;
	int status;
	if (sscanf(line, "HTTP/1.%*[01] %3d", &status) != 1 || status < 100 ||
	    status > 999)
		return alb_fail(err, ALB_EPARSE, "not an HTTP response");
	out->status = status;
	bool chunked = false, has_len = false;
	uint64_t clen = 0;
	for (;;) {
		rc = get_line(c, line, sizeof(line), err);
		if (rc != 0)
			return rc;
		head += strlen(line) + 2;
		if (head > ALB_HTTP_HEAD_MAX)
			return alb_fail(err, ALB_EPARSE, "HTTP headers longer than %d bytes",
					ALB_HTTP_HEAD_MAX);
		if (line[0] == '\0')
			break;
		char *colon = strchr(line, ':');
		if (colon == NULL)
			return alb_fail(err, ALB_EPARSE, "bad HTTP header");
		*colon = '\0';
		char *v = colon + 1;
		v += strspn(v, " \t");
		size_t vl = strlen(v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = '\0';
		if (strcasecmp(line, "location") == 0) {
			if (vl > ALB_HTTP_LOCATION_MAX)
				return alb_fail(err, ALB_EPARSE, "HTTP Location too long");
			memcpy(out->location, v, vl + 1);
		} else if (strcasecmp(line, "transfer-encoding") == 0) {
			chunked = strcasecmp(v, "chunked") == 0;
		} else if (strcasecmp(line, "content-length") == 0) {
			char *end;
			errno = 0;
			clen = strtoull(v, &end, 10);
			if (*v < '0' || *v > '9' || *end != '\0' || errno != 0)
				return alb_fail(err, ALB_EPARSE, "bad HTTP Content-Length");
			has_len = true;
		}
	}
	if ((status >= 100 && status < 200) || status == 204 || status == 304)
		return 0;
	if (chunked)
		return chunked_body(c, b, err);
	return copy_body(c, b, has_len ? clen : UINT64_MAX, err);
}

static int https_ctx(SSL_CTX **out, struct alb_error *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || SSL_CTX_set_default_verify_paths(ctx) != 1 ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return remote_ossl_fail(err, ALB_ENOMEM, "cannot make a TLS context");
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	*out = ctx;
	return 0;
}

int alb_http_get(const char *url, int timeout_ms, int body_fd, uint64_t max_body,
		 struct alb_http_response *out, struct alb_error *err)
{
	if (url == NULL || out == NULL || timeout_ms < 0)
		return alb_fail(err, ALB_EINVAL, "missing argument");
	memset(out, 0, sizeof(*out));
	struct url u;
	int rc = parse_url(url, &u, err);
	if (rc != 0)
		return rc;
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	c->fd = -1;
	rc = remote_tcp_connect(u.host, u.port, timeout_ms, &c->fd, err);
	if (rc == 0)
		rc = alb_client_socket_timeouts(c->fd, timeout_ms, err);
	if (rc == 0 && u.tls) {
		SSL_CTX *ctx = NULL;
		enum alb_remote_status why;
		rc = https_ctx(&ctx, err);
		if (rc == 0)
			rc = rtls_new(ctx, c->fd, u.host, &c->t, err);
		SSL_CTX_free(ctx);
		if (rc == 0)
			rc = rtls_handshake(c->t, &why, err);
	}
	char req[ALB_HTTP_URL_MAX + ALB_REMOTE_HOST_BUF + 256];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: libalbatross/%s\r\n"
			 "Accept: */*\r\nConnection: close\r\n\r\n",
			 u.path, u.authority, alb_version());
	if (rc == 0 && (n < 0 || (size_t)n >= sizeof(req)))
		rc = alb_fail(err, ALB_EPARSE, "URL too long");
	if (rc == 0)
		rc = conn_send_all(c, req, (size_t)n, err);
	struct body b = {body_fd, max_body, 0};
	if (rc == 0)
		rc = response(c, &b, out, err);
	out->body_len = b.len;
	rtls_free(c->t);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return rc;
}
