/* libalbatross — the console daemon's connections on daemon/common's pool
 * (command deadline, growing frames, connection limit, one write queue
 * with MSG_NOSIGNAL): reading commands, subscribers' history and live
 * lines.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "albatross/log.h"
#include "console_internal.h"
#include "base/internal.h"

/* ---- output ------------------------------------------------------------ */

size_t console_pending(const struct conn *k)
{
	return k->dc != NULL ? dc_conn_pending(k->dc) : 0;
}

/* Queues p[0..n) for k. A capped write that would make more than
 * pending_max bytes wait drops the subscriber instead. Returns 0, or -1
 * when k is closed. */
int console_conn_queue(struct conn *k, const uint8_t *p, size_t n, bool capped)
{
	struct alb_console *c = k->c;
	if (k->closing)
		return -1;
	if (capped && console_pending(k) + n > c->pending_max) {
		alb_log_warn("dropping a subscriber of %s: it does not read "
			     "(%zu bytes waiting, limit %zu)",
			     k->e != NULL ? k->e->name : "?", console_pending(k), c->pending_max);
		c->st.dropped++;
		console_conn_close(k);
		return -1;
	}
	if (dc_conn_queue(k->dc, p, n) != 0) {
		alb_log_error("cannot queue output for a connection");
		console_conn_close(k);
		return -1;
	}
	return 0;
}

/* Writes what waits, as far as the socket takes it; a connection that has
 * replied for good closes once its output is out. */
void console_conn_flush(struct conn *k)
{
	if (k->closing)
		return;
	if (k->state == CONN_DONE)
		dc_conn_end(k->dc);
	else
		dc_conn_flush(k->dc);
}

/* Encodes m (framed) and queues it. Returns 0 or -1 when k is closed. */
int console_conn_send(struct conn *k, const struct alb_msg *m)
{
	struct alb_buf b = {0};
	struct alb_error err;
	if (alb_msg_encode(m, ALB_ENCODE_FRAMED, &b, &err) != 0) {
		alb_log_error("cannot encode a reply: %s", err.msg);
		console_conn_close(k);
		return -1;
	}
	int rc = console_conn_queue(k, b.data, b.len, false);
	alb_buf_free(&b);
	return rc;
}

int console_encode_line(const char *name, int64_t version,
		       const struct alb_time *t, const struct alb_str *line,
		       struct alb_buf *out)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = version;
	m.header.sequence = 0;
	m.header.name = name;
	m.kind = ALB_PAYLOAD_DATA;
	m.u.data.kind = ALB_DATA_CONSOLE;
	m.u.data.u.console.time = *t;
	m.u.data.u.console.line = *line;
	struct alb_error err;
	int rc = alb_msg_encode(&m, ALB_ENCODE_FRAMED, out, &err);
	if (rc != 0)
		alb_log_error("cannot encode a console line of %s: %s", name, err.msg);
	return rc;
}

/* A catching-up subscriber gets lines from the ring while little waits;
 * once it has every line it is live. May close k. */
void console_pump(struct conn *k)
{
	while (!k->closing && !k->live) {
		struct entry *e = k->e;
		if (e == NULL || e->ring == NULL) {
			k->live = true;
			break;
		}
		uint64_t total = alb_console_ring_total(e->ring);
		size_t len = alb_console_ring_len(e->ring);
		uint64_t first = total - len;
		if (k->next_line < first) {
			/* Its next line was overwritten: as slow as a live
			 * subscriber past pending_max, and dropped the same way. */
			alb_log_warn("dropping a subscriber of %s: it does not read "
				     "(%llu lines behind the ring)", e->name,
				     (unsigned long long)(first - k->next_line));
			k->c->st.dropped++;
			console_conn_close(k);
			return;
		}
		while (k->next_line < total && console_pending(k) < PUMP_WATERMARK) {
			struct alb_time t;
			struct alb_str line;
			alb_console_ring_get(e->ring, (size_t)(k->next_line - first), &t,
					     &line);
			struct alb_buf b = {0};
			if (console_encode_line(e->name, k->version, &t, &line, &b) == 0 &&
			    console_conn_queue(k, b.data, b.len, false) != 0) {
				alb_buf_free(&b);
				return;
			}
			alb_buf_free(&b);
			k->next_line++;
		}
		if (k->next_line == total)
			k->live = true;
		console_conn_flush(k);
		if (k->closing || console_pending(k) > 0)
			break;
	}
	if (!k->closing)
		console_conn_flush(k);
}

/* ---- connections ----------------------------------------------------------- */

void console_conn_close(struct conn *k)
{
	if (k->closing)
		return;
	k->closing = true;
	if (k->e != NULL)
		console_unsubscribe(k);
	dc_conn_close(k->dc);
}

static void on_frame(struct dc_conn *dc, struct alb_buf *frame)
{
	struct conn *k = dc->data;
	if (k->state == CONN_CMD && !k->closing)
		console_handle_frame(k, frame->data, frame->len);
	alb_buf_free(frame);
}

/* Any message, EOF or error from a subscriber ends it. */
static void on_bytes(struct dc_conn *dc, const uint8_t *p, size_t n)
{
	(void)p;
	(void)n;
	console_conn_close(dc->data);
}

static void on_lost(struct dc_conn *dc, int rc, const char *why)
{
	struct conn *k = dc->data;
	if (rc == ALB_EEOF)
		alb_log_info("connection closed");
	else
		alb_log_warn("closing a connection: %s", why);
	console_conn_close(k);
}

static void on_drained(struct dc_conn *dc)
{
	struct conn *k = dc->data;
	if (!k->closing && !k->live && k->e != NULL)
		console_pump(k);
}

static void on_closed(struct dc_conn *dc)
{
	struct conn *k = dc->data;
	if (k == NULL)
		return;
	if (!k->closing && k->e != NULL)
		console_unsubscribe(k);
	free(k);
}

static void on_gone(struct dc_pool *p)
{
	console_handle_gone(dc_pool_data(p));
}

static int on_accepted(struct dc_pool *p, struct dc_conn *dc)
{
	struct alb_console *c = dc_pool_data(p);
	if (c->freeing)
		return -1;
	struct conn *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		alb_log_error("cannot serve a connection: out of memory");
		return -1;
	}
	k->c = c;
	k->dc = dc;
	dc->data = k;
	k->state = CONN_CMD;
	dc_conn_read(dc, true);
	return 0;
}

const struct dc_ops console_conn_ops = {
	.accepted = on_accepted,
	.frame = on_frame,
	.bytes = on_bytes,
	.lost = on_lost,
	.drained = on_drained,
	.closed = on_closed,
	.gone = on_gone,
};

void console_conn_subscribed(struct conn *k)
{
	/* from now on any input ends the subscription */
	dc_conn_set_raw(k->dc);
	dc_conn_read(k->dc, false);
}

void console_conn_next(struct conn *k)
{
	/* vmmd identifies itself with its first Console_add: a peer daemon
	 * that keeps its connection between unikernels (no command
	 * deadline, never replaced by a newcomer) */
	if (!k->dc->peer)
		dc_conn_set_peer(k->dc);
	dc_conn_read(k->dc, true);
}
