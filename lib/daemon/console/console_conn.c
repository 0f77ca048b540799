/* libalbatross — the console daemon's connections: reading commands,
 * one output buffer each, subscribers' history and live lines.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "albatross/log.h"
#include "console_internal.h"
#include "base/internal.h"

/* ---- output ------------------------------------------------------------ */

size_t console_pending(const struct conn *k)
{
	return k->len - k->off;
}

static void on_conn(uv_poll_t *h, int status, int events);

static void conn_events(struct conn *k)
{
	int ev = 0;
	if (k->state != CONN_DONE)
		ev |= UV_READABLE;
	if (console_pending(k) > 0)
		ev |= UV_WRITABLE;
	if (ev == k->events)
		return;
	k->events = ev;
	if (ev == 0)
		uv_poll_stop(&k->poll);
	else
		uv_poll_start(&k->poll, ev, on_conn);
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
	if (k->cap - k->len < n && k->off > 0) {
		memmove(k->out, k->out + k->off, console_pending(k));
		k->len -= k->off;
		k->off = 0;
	}
	if (k->cap - k->len < n) {
		size_t cap = k->cap < 4096 ? 4096 : k->cap * 2;
		if (cap < k->len + n)
			cap = k->len + n;
		uint8_t *out = realloc(k->out, cap);
		if (out == NULL) {
			alb_log_error("out of memory for a connection's output");
			console_conn_close(k);
			return -1;
		}
		k->out = out;
		k->cap = cap;
	}
	memcpy(k->out + k->len, p, n);
	k->len += n;
	return 0;
}

/* Writes what waits, as far as the socket takes it. May close k. */
void console_conn_flush(struct conn *k)
{
	while (!k->closing && console_pending(k) > 0) {
		ssize_t w = send(k->fd, k->out + k->off, console_pending(k),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			k->off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		alb_log_debug("write failed: %s", strerror(errno));
		console_conn_close(k);
		return;
	}
	if (k->closing)
		return;
	if (console_pending(k) == 0) {
		k->off = k->len = 0;
		if (k->cap > OUT_KEEP) {
			free(k->out);
			k->out = NULL;
			k->cap = 0;
		}
		if (k->state == CONN_DONE) {
			console_conn_close(k);
			return;
		}
	}
	conn_events(k);
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

static void conn_closed(uv_handle_t *h)
{
	struct conn *k = h->data;
	struct alb_console *c = k->c;
	close(k->fd);
	free(k->out);
	free(k);
	console_handle_gone(c);
}

void console_conn_close(struct conn *k)
{
	if (k->closing)
		return;
	struct alb_console *c = k->c;
	k->closing = true;
	if (k->e != NULL)
		console_unsubscribe(k);
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		c->conns = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	c->n_conns--;
	alb_frame_reader_free(k->fr);
	k->fr = NULL;
	uv_close((uv_handle_t *)&k->poll, conn_closed);
	console_listen_resume(c);
}

static void conn_read_commands(struct conn *k)
{
	struct alb_error err;
	for (int i = 0; i < FRAMES_PER_WAKE && k->state == CONN_CMD && !k->closing;
	     i++) {
		uint8_t *p;
		size_t len;
		if (alb_frame_reader_space(k->fr, &p, &len, &err) != 0) {
			alb_log_warn("closing a connection: %s", err.msg);
			console_conn_close(k);
			return;
		}
		ssize_t n = recv(k->fd, p, len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			alb_log_info("connection closed%s%s", n < 0 ? ": " : "",
				     n < 0 ? strerror(errno) : "");
			console_conn_close(k);
			return;
		}
		int rc = alb_frame_reader_advance(k->fr, (size_t)n, &err);
		if (rc == ALB_EAGAIN)
			continue;
		if (rc != 0) {
			/* An end-of-stream length, or one past the limit. */
			alb_log_warn("closing a connection: %s",
				     rc == ALB_EEOF ? "end of stream" : err.msg);
			console_conn_close(k);
			return;
		}
		struct alb_bytes f;
		alb_frame_reader_frame(k->fr, &f);
		console_handle_frame(k, f.ptr, f.len);
	}
}

static void on_conn(uv_poll_t *h, int status, int events)
{
	struct conn *k = h->data;
	if (status < 0) {
		console_conn_close(k);
		return;
	}
	if (events & UV_WRITABLE) {
		console_conn_flush(k);
		if (!k->closing && !k->live && k->e != NULL)
			console_pump(k);
	}
	if (k->closing || !(events & UV_READABLE))
		return;
	if (k->state == CONN_CMD) {
		conn_read_commands(k);
	} else if (k->state == CONN_SUB) {
		/* Any message, EOF or error from a subscriber ends it. */
		uint8_t b[64];
		ssize_t n = recv(k->fd, b, sizeof(b), MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			console_conn_close(k);
	}
}

void console_conn_new(struct alb_console *c, int fd)
{
	struct conn *k = calloc(1, sizeof(*k));
	if (k == NULL || alb_frame_reader_new(ALB_CONSOLE_FRAME_MAX, &k->fr, NULL) != 0 ||
	    uv_poll_init(c->loop, &k->poll, fd) != 0) {
		alb_log_error("cannot serve a connection: out of memory");
		if (k != NULL)
			alb_frame_reader_free(k->fr);
		free(k);
		close(fd);
		return;
	}
	c->handles++;
	k->fd = fd;
	k->c = c;
	k->poll.data = k;
	k->state = CONN_CMD;
	k->next = c->conns;
	if (c->conns != NULL)
		c->conns->prev = k;
	c->conns = k;
	c->n_conns++;
	k->events = UV_READABLE;
	uv_poll_start(&k->poll, UV_READABLE, on_conn);
}

