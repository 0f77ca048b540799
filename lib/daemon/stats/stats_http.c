/* libalbatross — the Prometheus endpoint of alb-statsd: a minimal HTTP/1.0
 * server on libuv that answers GET /metrics, one request per connection,
 * with bounded requests, connections and time.
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/log.h"
#include "base/internal.h"
#include "stats_internal.h"

/* Pending connections: room for every client allowed at once. */
#define LISTEN_BACKLOG (2 * ALB_STATS_HTTP_CONN_MAX)
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

enum alb_http_verdict alb_http_parse(const char *buf, size_t len, bool *head)
{
	*head = false;
	size_t end = headers_end(buf, len);
	if (end == 0 || end > ALB_STATS_HTTP_REQUEST_MAX)
		return len >= ALB_STATS_HTTP_REQUEST_MAX ? ALB_HTTP_TOO_LARGE
							 : ALB_HTTP_INCOMPLETE;
	const char *line_end = memchr(buf, '\n', end);
	size_t line = (size_t)(line_end - buf);
	if (line > 0 && buf[line - 1] == '\r')
		line--;
	/* METHOD SP request-target SP HTTP/1.x */
	size_t m = 0;
	while (m < line && tchar((unsigned char)buf[m]))
		m++;
	if (m == 0 || m >= line || buf[m] != ' ')
		return ALB_HTTP_BAD_REQUEST;
	const char *target = buf + m + 1;
	const char *sp = memchr(target, ' ', line - m - 1);
	if (sp == NULL || sp == target)
		return ALB_HTTP_BAD_REQUEST;
	size_t tlen = (size_t)(sp - target);
	const char *version = sp + 1;
	size_t vlen = line - (size_t)(version - buf);
	if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 ||
	    version[7] < '0' || version[7] > '9')
		return ALB_HTTP_BAD_REQUEST;
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f)
			return ALB_HTTP_BAD_REQUEST;
	bool get = m == 3 && memcmp(buf, "GET", 3) == 0;
	*head = m == 4 && memcmp(buf, "HEAD", 4) == 0;
	if (!get && !*head)
		return ALB_HTTP_BAD_METHOD;
	size_t plen = sizeof(METRICS_PATH) - 1;
	if (tlen >= plen && memcmp(target, METRICS_PATH, plen) == 0 &&
	    (tlen == plen || target[plen] == '?'))
		return ALB_HTTP_METRICS;
	return ALB_HTTP_NOT_FOUND;
}

/* ---- the server --------------------------------------------------------- */

struct alb_http_server {
	uv_tcp_t listener;
	alb_http_render_fn render;
	void *ctx;
	size_t n_conns;
	struct http_conn *conns;
	bool closing;
	size_t open_handles;
	alb_stats_done_fn done;
	void *done_ctx;
};

struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	struct alb_http_server *srv;
	struct http_conn *prev, *next;
	bool answered;
	bool closing;
	int handles; /* of tcp and timer, still open */
	uv_write_t write;
	uv_shutdown_t shutdown;
	char head[256];
	struct alb_buf body;
	size_t len;
	/* one byte past the limit tells a request that is too large */
	char req[ALB_STATS_HTTP_REQUEST_MAX + 1];
};

static void server_maybe_done(struct alb_http_server *s)
{
	if (!s->closing || s->open_handles > 0 || s->n_conns > 0)
		return;
	alb_stats_done_fn done = s->done;
	void *ctx = s->done_ctx;
	free(s);
	if (done != NULL)
		done(ctx);
}

static void conn_closed(uv_handle_t *h)
{
	struct http_conn *c = h->data;
	if (--c->handles > 0)
		return;
	struct alb_http_server *s = c->srv;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->n_conns--;
	alb_buf_free(&c->body);
	free(c);
	server_maybe_done(s);
}

static void conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void timed_out(uv_timer_t *t)
{
	conn_close(t->data);
}

/* After the answer: the write side is shut and what the client still
 * sends is read and dropped until it closes (or the timer fires), so that
 * unread input never turns the close into a reset that loses the answer. */
static void shut(uv_shutdown_t *req, int status)
{
	(void)status;
	struct http_conn *c = req->data;
	if (status < 0)
		conn_close(c);
}

static void written(uv_write_t *req, int status)
{
	struct http_conn *c = req->data;
	alb_buf_free(&c->body);
	if (status < 0 || c->closing) {
		conn_close(c);
		return;
	}
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shut) != 0)
		conn_close(c);
}

static const char *status_text(enum alb_http_verdict v, int *code)
{
	switch (v) {
	case ALB_HTTP_METRICS: *code = 200; return "OK";
	case ALB_HTTP_NOT_FOUND: *code = 404; return "Not Found";
	case ALB_HTTP_BAD_METHOD: *code = 405; return "Method Not Allowed";
	case ALB_HTTP_TOO_LARGE: *code = 431; return "Request Header Fields Too Large";
	case ALB_HTTP_BAD_REQUEST:
	case ALB_HTTP_INCOMPLETE: break;
	}
	*code = 400;
	return "Bad Request";
}

static void answer(struct http_conn *c, enum alb_http_verdict v, bool head)
{
	c->answered = true;
	int code;
	const char *text = status_text(v, &code);
	const char *type = "text/plain; charset=utf-8";
	if (v == ALB_HTTP_METRICS) {
		if (c->srv->render(c->srv->ctx, &c->body) == 0) {
			type = ALB_STATS_PROMETHEUS_CONTENT_TYPE;
		} else {
			alb_buf_free(&c->body);
			code = 500;
			text = "Internal Server Error";
		}
	}
	if (code != 200) {
		/* a one-line body naming the status */
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "%d %s\n", code, text);
		struct alb_text t = {&c->body, false};
		alb_text_put(&t, msg, (size_t)n);
		if (t.failed)
			alb_buf_free(&c->body);
	}
	int hl = snprintf(c->head, sizeof(c->head),
			  "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
			  "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
			  code, text, type, c->body.len,
			  code == 405 ? "Allow: GET, HEAD\r\n" : "");
	uv_buf_t bufs[2] = {uv_buf_init(c->head, (unsigned)hl),
			    uv_buf_init((char *)c->body.data,
					head ? 0 : (unsigned)c->body.len)};
	c->write.data = c;
	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, bufs, 2, written) != 0)
		conn_close(c);
}

static void alloc_req(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct http_conn *c = h->data;
	static char sink[1024];
	/* once answered, input is only drained */
	if (c->answered)
		*buf = uv_buf_init(sink, sizeof(sink));
	else
		*buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	struct http_conn *c = st->data;
	if (n < 0) {
		/* EOF before a complete request, or after the answer */
		conn_close(c);
		return;
	}
	if (c->answered || n == 0)
		return;
	c->len += (size_t)n;
	bool head;
	enum alb_http_verdict v = alb_http_parse(c->req, c->len, &head);
	if (v != ALB_HTTP_INCOMPLETE)
		answer(c, v, head);
}

static void free_handle(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *l, int status)
{
	struct alb_http_server *s = l->data;
	if (status < 0) {
		alb_log_warn("prometheus endpoint: accept failed: %s",
			     uv_strerror(status));
		return;
	}
	struct http_conn *c = s->n_conns < ALB_STATS_HTTP_CONN_MAX
				  ? calloc(1, sizeof(*c))
				  : NULL;
	if (c == NULL) {
		/* accept and drop, so the backlog does not fill up */
		uv_tcp_t *t = malloc(sizeof(*t));
		if (t == NULL || uv_tcp_init(l->loop, t) != 0) {
			free(t);
			return;
		}
		if (uv_accept(l, (uv_stream_t *)t) == 0)
			alb_log_warn("prometheus endpoint: more than %d "
				     "connections, closing one",
				     ALB_STATS_HTTP_CONN_MAX);
		uv_close((uv_handle_t *)t, free_handle);
		return;
	}
	c->srv = s;
	uv_tcp_init(l->loop, &c->tcp);
	uv_timer_init(l->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_req, on_read) != 0 ||
	    uv_timer_start(&c->timer, timed_out, ALB_STATS_HTTP_TIMEOUT_MS, 0) != 0)
		conn_close(c);
}

int alb_http_server_new(uv_loop_t *loop, const struct sockaddr *addr,
			alb_http_render_fn render, void *ctx,
			struct alb_http_server **out, struct alb_error *err)
{
	struct alb_http_server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	s->render = render;
	s->ctx = ctx;
	int rc = uv_tcp_init(loop, &s->listener);
	if (rc != 0) {
		free(s);
		return alb_fail(err, ALB_ESYS, "prometheus endpoint: %s",
				uv_strerror(rc));
	}
	s->listener.data = s;
	s->open_handles = 1;
	rc = uv_tcp_bind(&s->listener, addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, LISTEN_BACKLOG,
			       on_connection);
	if (rc != 0) {
		/* the handle must still be closed through the loop */
		alb_http_server_close(s, NULL, NULL);
		return alb_fail(err, ALB_ESYS,
				"prometheus endpoint: cannot listen: %s",
				uv_strerror(rc));
	}
	*out = s;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct alb_http_server *s = h->data;
	s->open_handles--;
	server_maybe_done(s);
}

void alb_http_server_close(struct alb_http_server *s, alb_stats_done_fn done,
			   void *ctx)
{
	if (s == NULL || s->closing)
		return;
	s->closing = true;
	s->done = done;
	s->done_ctx = ctx;
	uv_close((uv_handle_t *)&s->listener, listener_closed);
	for (struct http_conn *c = s->conns; c != NULL; c = c->next)
		conn_close(c);
}
