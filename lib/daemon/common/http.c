/* libalbatross — daemon/common: the Prometheus endpoint of the daemons, a
 * minimal HTTP/1.0 server on the pool's connections (raw mode,
 * MSG_NOSIGNAL) that answers GET /metrics, one request per connection,
 * with bounded requests, connections and time.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "albatross/log.h"
#include "albatross/metrics.h"
#include "base/internal.h"
#include "dcommon/conn.h"
#include "dcommon/http.h"
#include "dcommon/inet.h"
#include "dcommon/text.h"

/* Pending connections: room for every client allowed at once. */
#define LISTEN_BACKLOG (2 * ALB_METRICS_HTTP_CONN_MAX)
#define METRICS_PATH "/metrics"

/* ---- request parsing --------------------------------------------------- */

/* RFC 9110 token characters (a method). */
static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* Where the header block ends: after "\r\n\r\n" (or a bare "\n\n", which
 * robust servers accept). 0 when not yet received. */
static size_t headers_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

enum dc_http_verdict dc_http_parse(const char *buf, size_t len, bool *head)
{
	*head = false;
	size_t end = headers_end(buf, len);
	if (end == 0 || end > ALB_METRICS_HTTP_REQUEST_MAX)
		return len >= ALB_METRICS_HTTP_REQUEST_MAX ? DC_HTTP_TOO_LARGE
							 : DC_HTTP_INCOMPLETE;
	const char *line_end = memchr(buf, '\n', end);
	size_t line = (size_t)(line_end - buf);
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	/* METHOD SP request-target SP HTTP/1.x */
	size_t m = 0;
	while (m < line && tchar((unsigned char)buf[m]))
		m++;
	if (m == 0 || m >= line || buf[m] != ' ')
		return DC_HTTP_BAD_REQUEST;
	const char *target = buf + m + 1;
	const char *sp = memchr(target, ' ', line - m - 1);
	if (sp == NULL || sp == target)
		return DC_HTTP_BAD_REQUEST;
	size_t tlen = (size_t)(sp - target);
	const char *version = sp + 1;
	size_t vlen = line - (size_t)(version - buf);
	if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
	    version[7] < '0' || version[7] > '9')
		return DC_HTTP_BAD_REQUEST;
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f)
			return DC_HTTP_BAD_REQUEST;
	bool get = m == 3 && memcmp(buf, "GET", 3) == 0;
	*head = m == 4 && memcmp(buf, "HEAD", 4) == 0;
	if (!get && !*head)
		return DC_HTTP_BAD_METHOD;
	size_t plen = sizeof(METRICS_PATH) - 1;
	if (tlen >= plen && memcmp(target, METRICS_PATH, plen) == 0 &&
	    (tlen == plen || target[plen] == '?'))
		return DC_HTTP_METRICS;
	return DC_HTTP_NOT_FOUND;
}

/* ---- the server --------------------------------------------------------- */

struct dc_http_server {
	struct dc_pool *pool;
	dc_http_render_fn render;
	void *ctx;
	bool closing;
	bool freed;
	void (*done)(void *ctx);
	void *done_ctx;
};

struct http_conn {
	struct dc_http_server *srv;
	bool answered;
	size_t len;
	/* one byte past the limit tells a request that is too large */
	char req[ALB_METRICS_HTTP_REQUEST_MAX + 1];
};

static const char *status_text(enum dc_http_verdict v, int *code)
{
	switch (v) {
	case DC_HTTP_METRICS: *code = 200; return "OK";
	case DC_HTTP_NOT_FOUND: *code = 404; return "Not Found";
	case DC_HTTP_BAD_METHOD: *code = 405; return "Method Not Allowed";
	case DC_HTTP_TOO_LARGE: *code = 431; return "Request Header Fields Too Large";
	case DC_HTTP_BAD_REQUEST:
	case DC_HTTP_INCOMPLETE: break;
	}
	*code = 400;
	return "Bad Request";
}

/* Queues the answer; then the write side is shut and what the client
 * still sends is read and dropped until it closes (or the connection's
 * time is up), so that unread input never turns the close into a reset
 * that loses the answer. */
static void answer(struct dc_conn *dc, struct http_conn *c,
		   enum dc_http_verdict v, bool head)
{
	c->answered = true;
	int code;
	const char *text = status_text(v, &code);
	const char *type = "text/plain; charset=utf-8";
	struct alb_buf body = {0};
	if (v == DC_HTTP_METRICS) {
		if (c->srv->render(c->srv->ctx, &body) == 0) {
			type = ALB_METRICS_CONTENT_TYPE;
		} else {
			alb_buf_free(&body);
			code = 500;
			text = "Internal Server Error";
		}
	}
	if (code != 200) {
		/* a one-line body naming the status */
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "%d %s\n", code, text);
		struct alb_text t = {&body, false};
		alb_text_put(&t, msg, (size_t)n);
		if (t.failed)
			alb_buf_free(&body);
	}
	char hdr[256];
	int hl = snprintf(hdr, sizeof(hdr),
			  "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
			  "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
			  code, text, type, body.len,
			  code == 405 ? "Allow: GET, HEAD\r\n" : "");
	int rc = dc_conn_queue(dc, hdr, (size_t)hl);
	if (rc == 0 && !head)
		rc = dc_conn_send_buf(dc, &body);
	else
		alb_buf_free(&body);
	if (rc == 0)
		dc_conn_flush(dc);
	if (rc != 0)
		dc_conn_close(dc);
	else
		dc_conn_shutdown_write(dc);
}

static void on_bytes(struct dc_conn *dc, const uint8_t *p, size_t n)
{
	struct http_conn *c = dc->data;
	/* once answered, input is only drained */
	if (c->answered)
		return;
	size_t room = sizeof(c->req) - c->len;
	if (n > room)
		n = room;
	memcpy(c->req + c->len, p, n);
	c->len += n;
	bool head;
	enum dc_http_verdict v = dc_http_parse(c->req, c->len, &head);
	if (v != DC_HTTP_INCOMPLETE)
		answer(dc, c, v, head);
}

static void on_frame(struct dc_conn *dc, struct alb_buf *b)
{
	(void)dc; /* raw mode: never framed */
	alb_buf_free(b);
}

/* EOF before a complete request or after the answer, an error, or the
 * connection's time is up (ALB_METRICS_HTTP_TIMEOUT_MS). */
static void on_lost(struct dc_conn *dc, int rc, const char *why)
{
	(void)rc;
	(void)why;
	dc_conn_close(dc);
}

static void on_closed(struct dc_conn *dc)
{
	free(dc->data);
}

static void server_maybe_done(struct dc_http_server *s)
{
	if (!s->closing || s->freed || dc_pool_handles(s->pool) > 0)
		return;
	s->freed = true;
	void (*done)(void *ctx) = s->done;
	void *ctx = s->done_ctx;
	dc_pool_free(s->pool);
	free(s);
	if (done != NULL)
		done(ctx);
}

static void on_gone(struct dc_pool *p)
{
	server_maybe_done(dc_pool_data(p));
}

static int on_accepted(struct dc_pool *p, struct dc_conn *dc)
{
	struct dc_http_server *s = dc_pool_data(p);
	if (s->closing)
		return -1;
	if (dc_pool_count(p) > ALB_METRICS_HTTP_CONN_MAX) {
		/* accepted and dropped, so the backlog does not fill up */
		alb_log_warn("prometheus endpoint: more than %d connections, "
			     "closing one", ALB_METRICS_HTTP_CONN_MAX);
		return -1;
	}
	struct http_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->srv = s;
	dc->data = c;
	dc_conn_set_raw(dc);
	/* the deadline of a raw connection runs until it closes */
	dc_conn_read(dc, true);
	return 0;
}

static const struct dc_ops http_ops = {
	.accepted = on_accepted,
	.frame = on_frame,
	.bytes = on_bytes,
	.lost = on_lost,
	.closed = on_closed,
	.gone = on_gone,
};

int dc_http_server_new(uv_loop_t *loop, const struct sockaddr *addr,
			dc_http_render_fn render, void *ctx,
			struct dc_http_server **out, struct alb_error *err)
{
	struct dc_http_server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	s->render = render;
	s->ctx = ctx;
	struct dc_pool_config pc = {
		.who = "prometheus endpoint",
		.command_timeout_ms = ALB_METRICS_HTTP_TIMEOUT_MS,
		.backlog = LISTEN_BACKLOG,
	};
	int rc = dc_pool_new(loop, &pc, &http_ops, s, &s->pool, err);
	if (rc != 0) {
		free(s);
		return rc;
	}
	socklen_t len = dc_addr_len(addr);
	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, addr, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		int e = errno;
		char at[DC_ADDR_TEXT_MAX + 8];
		dc_addr_text(addr, at, sizeof(at));
		errno = e;
		rc = alb_fail_sys(err, "prometheus endpoint: cannot listen on %s",
				  at);
		if (fd >= 0)
			close(fd);
		dc_pool_free(s->pool);
		free(s);
		return rc;
	}
	rc = dc_pool_listen(s->pool, fd, err);
	if (rc != 0) {
		dc_pool_free(s->pool);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void dc_http_server_close(struct dc_http_server *s, void (*done)(void *ctx),
			  void *ctx)
{
	if (s == NULL || s->closing)
		return;
	s->closing = true;
	s->done = done;
	s->done_ctx = ctx;
	dc_pool_close_all(s->pool);
	server_maybe_done(s);
}
