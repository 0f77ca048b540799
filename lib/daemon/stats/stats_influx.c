/* libalbatross — alb-statsd's Influx side: the line protocol batches of
 * each tick written to a TCP server (spec §8.5: connected lazily, with
 * SO_KEEPALIVE, reconnected after a failure), and address parsing.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/log.h"
#include "base/internal.h"
#include "dcommon/conn.h"
#include "stats_internal.h"

/* Longest text address accepted ("[v6]:port" fits easily). */
#define ADDR_TEXT_MAX 64
/* Seconds between keepalive probes (albatross-influx uses the default). */
#define KEEPALIVE_S 60

static int bad_addr(struct alb_error *err, const char *s, const char *why)
{
	return alb_fail(err, ALB_EINVAL, "invalid address '%s': %s", s, why);
}

int alb_stats_parse_addr(const char *s, int default_port,
			 struct sockaddr_storage *out, struct alb_error *err)
{
	if (s == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "missing address");
	size_t len = strnlen(s, ADDR_TEXT_MAX + 1);
	if (len > ADDR_TEXT_MAX)
		return alb_fail(err, ALB_EINVAL, "address longer than %d bytes",
				ADDR_TEXT_MAX);
	char host[ADDR_TEXT_MAX + 1];
	const char *port = NULL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return bad_addr(err, s, "missing ']'");
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return bad_addr(err, s, "expected ':' after ']'");
		snprintf(host, sizeof(host), "%.*s", (int)(close - s - 1), s + 1);
	} else {
		const char *colon = strchr(s, ':');
		/* one colon separates the port; more make a bare IPv6 address */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			port = colon + 1;
			snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		} else {
			snprintf(host, sizeof(host), "%s", s);
		}
	}
	long p = default_port;
	if (port != NULL) {
		char *end;
		if (*port < '0' || *port > '9')
			return bad_addr(err, s, "invalid port");
		p = strtol(port, &end, 10);
		if (*end != '\0' || p < 1 || p > 65535)
			return bad_addr(err, s, "invalid port");
	} else if (default_port == 0) {
		return bad_addr(err, s, "a port is required");
	}
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
	} else {
		return bad_addr(err, s, "the host must be a numeric IPv4 or IPv6 address");
	}
	return 0;
}

/* ---- the client --------------------------------------------------------- */

/* The TCP connect is libuv's (asynchronous); once connected, the socket
 * moves to a daemon/common connection, whose writes use MSG_NOSIGNAL. */
enum influx_state { IDLE, CONNECTING, CONNECTED, CLOSING };

struct alb_influx {
	uv_loop_t *loop;
	struct sockaddr_storage addr;
	char addr_text[ADDR_TEXT_MAX + 8];
	uv_tcp_t tcp;           /* for connecting only */
	bool tcp_open;
	uv_connect_t connect;
	struct dc_pool *pool;
	struct dc_conn *dc;     /* while connected */
	enum influx_state state;
	struct alb_buf pending; /* the newest batch while connecting */
	bool failing;           /* the last attempt failed: log quietly */
	bool freeing;
	bool finished;
	alb_stats_done_fn done;
	void *done_ctx;
};

static void maybe_finish(struct alb_influx *c)
{
	if (!c->freeing || c->finished || c->tcp_open || c->dc != NULL ||
	    dc_pool_handles(c->pool) > 0)
		return;
	c->finished = true;
	alb_buf_free(&c->pending);
	dc_pool_free(c->pool);
	alb_stats_done_fn done = c->done;
	void *ctx = c->done_ctx;
	free(c);
	if (done != NULL)
		done(ctx);
}

static void settle(struct alb_influx *c)
{
	if (!c->tcp_open && c->dc == NULL)
		c->state = IDLE;
	maybe_finish(c);
}

static void tcp_closed(uv_handle_t *h)
{
	struct alb_influx *c = h->data;
	c->tcp_open = false;
	settle(c);
}

static void drop(struct alb_influx *c)
{
	if (c->state == IDLE || c->state == CLOSING)
		return;
	c->state = CLOSING;
	if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, tcp_closed);
	if (c->dc != NULL)
		dc_conn_close(c->dc);
}

/* The server says nothing; reading only notices that it went away. */
static void on_bytes(struct dc_conn *dc, const uint8_t *p, size_t n)
{
	(void)dc;
	(void)p;
	(void)n;
}

static void on_frame(struct dc_conn *dc, struct alb_buf *b)
{
	(void)dc; /* raw mode: never framed */
	alb_buf_free(b);
}

static void on_lost(struct dc_conn *dc, int rc, const char *why)
{
	struct alb_influx *c = dc->data;
	alb_log_warn("influx %s: connection closed: %s", c->addr_text,
		     rc == ALB_EEOF ? "by the server" : why);
	drop(c);
}

static void on_closed(struct dc_conn *dc)
{
	struct alb_influx *c = dc->data;
	c->dc = NULL;
}

static void on_gone(struct dc_pool *p)
{
	settle(dc_pool_data(p));
}

static int on_accepted(struct dc_pool *p, struct dc_conn *dc)
{
	(void)p;
	(void)dc;
	return -1; /* never listens */
}

static const struct dc_ops influx_ops = {
	.accepted = on_accepted,
	.frame = on_frame,
	.bytes = on_bytes,
	.lost = on_lost,
	.closed = on_closed,
	.gone = on_gone,
};

int alb_influx_new(uv_loop_t *loop, const struct sockaddr *addr,
		   struct alb_influx **out, struct alb_error *err)
{
	struct alb_influx *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	c->loop = loop;
	struct dc_pool_config pc = {.who = "influx"};
	int rc = dc_pool_new(loop, &pc, &influx_ops, c, &c->pool, err);
	if (rc != 0) {
		free(c);
		return rc;
	}
	size_t alen = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						  : sizeof(struct sockaddr_in);
	memcpy(&c->addr, addr, alen);
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		port = ntohs(a->sin6_port);
		snprintf(c->addr_text, sizeof(c->addr_text), "[%s]:%d", ip, port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
		inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
		port = ntohs(a->sin_port);
		snprintf(c->addr_text, sizeof(c->addr_text), "%s:%d", ip, port);
	}
	*out = c;
	return 0;
}

static void send_batch(struct alb_influx *c, struct alb_buf *batch)
{
	if (!alb_statsd_queue_ok(dc_conn_pending(c->dc), batch->len)) {
		alb_log_warn("influx %s: more than %u bytes unsent, "
			     "reconnecting", c->addr_text, ALB_STATSD_QUEUE_MAX);
		alb_buf_free(batch);
		drop(c);
		return;
	}
	if (dc_conn_send_buf(c->dc, batch) != 0)
		drop(c);
}

static void connected(uv_connect_t *req, int status)
{
	struct alb_influx *c = req->data;
	if (c->state != CONNECTING)
		return;
	if (status < 0) {
		if (!c->failing)
			alb_log_warn("influx %s: cannot connect: %s (retrying "
				     "at each sample)",
				     c->addr_text, uv_strerror(status));
		c->failing = true;
		alb_buf_free(&c->pending);
		drop(c);
		return;
	}
	uv_tcp_keepalive(&c->tcp, 1, KEEPALIVE_S);
	/* the socket goes to a connection of our own; the handle closes */
	uv_os_fd_t fd;
	int nfd = -1;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	uv_close((uv_handle_t *)&c->tcp, tcp_closed);
	if (nfd < 0 || dc_conn_open(c->pool, nfd, c, &c->dc, NULL) != 0) {
		c->dc = NULL;
		alb_buf_free(&c->pending);
		c->state = CLOSING;
		return;
	}
	if (c->failing)
		alb_log_info("influx %s: connected", c->addr_text);
	c->failing = false;
	c->state = CONNECTED;
	dc_conn_set_raw(c->dc);
	dc_conn_read(c->dc, false);
	if (c->pending.len > 0)
		send_batch(c, &c->pending);
}

void alb_influx_push(struct alb_influx *c, struct alb_buf *batch)
{
	switch (c->state) {
	case CONNECTED:
		send_batch(c, batch);
		return;
	case CONNECTING:
		alb_buf_free(&c->pending);
		c->pending = *batch;
		memset(batch, 0, sizeof(*batch));
		return;
	case CLOSING:
		alb_buf_free(batch);
		return;
	case IDLE:
		break;
	}
	if (uv_tcp_init(c->loop, &c->tcp) != 0) {
		alb_buf_free(batch);
		return;
	}
	c->tcp_open = true;
	c->tcp.data = c;
	c->connect.data = c;
	c->state = CONNECTING;
	c->pending = *batch;
	memset(batch, 0, sizeof(*batch));
	int rc = uv_tcp_connect(&c->connect, &c->tcp,
				(const struct sockaddr *)&c->addr, connected);
	if (rc != 0) {
		alb_log_warn("influx %s: cannot connect: %s", c->addr_text,
			     uv_strerror(rc));
		alb_buf_free(&c->pending);
		drop(c);
	}
}

void alb_influx_close(struct alb_influx *c, alb_stats_done_fn done, void *ctx)
{
	if (c == NULL || c->freeing)
		return;
	c->freeing = true;
	c->done = done;
	c->done_ctx = ctx;
	drop(c);
	maybe_finish(c);
}
