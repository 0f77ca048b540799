/* libalbatross — daemon/common: the exporters' Influx side, batches of
 * line protocol written to a TCP server (spec §8.5: connected lazily, with
 * SO_KEEPALIVE, reconnected after a failure).
 * SPDX-License-Identifier: ISC */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/log.h"
#include "albatross/metrics.h"
#include "base/internal.h"
#include "dcommon/conn.h"
#include "dcommon/inet.h"
#include "dcommon/influx.h"
#include "dcommon/text.h"

/* Seconds between keepalive probes (albatross-influx uses the default). */
#define KEEPALIVE_S 60

bool dc_queue_ok(size_t queued, size_t len, size_t max)
{
	/* a peer that keeps up takes one batch of any size (alb-statsd's
	 * grows with the number of unikernels) */
	return queued == 0 || (queued <= max && len <= max - queued);
}

/* ---- the client --------------------------------------------------------- */

/* The TCP connect is libuv's (asynchronous); once connected, the socket
 * moves to a daemon/common connection, whose writes use MSG_NOSIGNAL. */
enum influx_state { IDLE, CONNECTING, CONNECTED, CLOSING };

struct dc_influx {
	uv_loop_t *loop;
	struct sockaddr_storage addr;
	char addr_text[DC_ADDR_TEXT_MAX + 8];
	uv_tcp_t tcp;           /* for connecting only */
	bool tcp_open;
	uv_connect_t connect;
	struct dc_pool *pool;
	struct dc_conn *dc;     /* while connected */
	enum influx_state state;
	struct alb_buf pending; /* the batches pushed while connecting */
	bool failing;           /* the last attempt failed: log quietly */
	bool freeing;
	bool finished;
	void (*done)(void *ctx);
	void *done_ctx;
};

static void maybe_finish(struct dc_influx *c)
{
	if (!c->freeing || c->finished || c->tcp_open || c->dc != NULL ||
	    dc_pool_handles(c->pool) > 0)
		return;
	c->finished = true;
	alb_buf_free(&c->pending);
	dc_pool_free(c->pool);
	void (*done)(void *ctx) = c->done;
	void *ctx = c->done_ctx;
	free(c);
	if (done != NULL)
		done(ctx);
}

static void settle(struct dc_influx *c)
{
	if (!c->tcp_open && c->dc == NULL)
		c->state = IDLE;
	maybe_finish(c);
}

static void tcp_closed(uv_handle_t *h)
{
	struct dc_influx *c = h->data;
	c->tcp_open = false;
	settle(c);
}

static void drop(struct dc_influx *c)
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
	struct dc_influx *c = dc->data;
	alb_log_warn("influx %s: connection closed: %s", c->addr_text,
		     rc == ALB_EEOF ? "by the server" : why);
	drop(c);
}

static void on_closed(struct dc_conn *dc)
{
	struct dc_influx *c = dc->data;
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

int dc_influx_new(uv_loop_t *loop, const struct sockaddr *addr,
		   struct dc_influx **out, struct alb_error *err)
{
	struct dc_influx *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	c->loop = loop;
	struct dc_pool_config pc = {.who = "influx"};
	int rc = dc_pool_new(loop, &pc, &influx_ops, c, &c->pool, err);
	if (rc != 0) {
		free(c);
		return rc;
	}
	memcpy(&c->addr, addr, dc_addr_len(addr));
	dc_addr_text(addr, c->addr_text, sizeof(c->addr_text));
	*out = c;
	return 0;
}

static void send_batch(struct dc_influx *c, struct alb_buf *batch)
{
	if (!dc_queue_ok(dc_conn_pending(c->dc), batch->len,
			 ALB_METRICS_INFLUX_QUEUE_MAX)) {
		alb_log_warn("influx %s: more than %u bytes unsent, "
			     "reconnecting", c->addr_text,
			     ALB_METRICS_INFLUX_QUEUE_MAX);
		alb_buf_free(batch);
		drop(c);
		return;
	}
	if (dc_conn_send_buf(c->dc, batch) != 0)
		drop(c);
}

static void connected(uv_connect_t *req, int status)
{
	struct dc_influx *c = req->data;
	if (c->state != CONNECTING)
		return;
	if (status < 0) {
		if (!c->failing)
			alb_log_warn("influx %s: cannot connect: %s (retrying "
				     "at each push)",
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

/* Keeps a batch pushed while connecting after those before it, within
 * ALB_METRICS_INFLUX_QUEUE_MAX. */
static void pending_add(struct dc_influx *c, struct alb_buf *batch)
{
	if (c->pending.len == 0) {
		alb_buf_free(&c->pending);
		c->pending = *batch;
		memset(batch, 0, sizeof(*batch));
		return;
	}
	if (dc_queue_ok(c->pending.len, batch->len,
			ALB_METRICS_INFLUX_QUEUE_MAX)) {
		struct alb_text t = {&c->pending, false};
		alb_text_put(&t, (const char *)batch->data, batch->len);
	}
	alb_buf_free(batch);
}

void dc_influx_push(struct dc_influx *c, struct alb_buf *batch)
{
	switch (c->state) {
	case CONNECTED:
		send_batch(c, batch);
		return;
	case CONNECTING:
		pending_add(c, batch);
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

void dc_influx_close(struct dc_influx *c, void (*done)(void *ctx), void *ctx)
{
	if (c == NULL || c->freeing)
		return;
	c->freeing = true;
	c->done = done;
	c->done_ctx = ctx;
	drop(c);
	maybe_finish(c);
}
