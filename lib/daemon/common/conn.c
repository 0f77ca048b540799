/* libalbatross — daemon/common: connections with a growing frame reader,
 * one write queue sent with MSG_NOSIGNAL, and the pool's limits (see
 * dcommon/conn.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "albatross/frame.h"
#include "albatross/log.h"
#include "base/internal.h"
#include "proto/wire_codec.h"
#include "dcommon/conn.h"

/* Buffers sent by one sendmsg(). */
#define IOV_BATCH 16

/* Smallest inline chunk: small messages queued one after the other share
 * one chunk (one allocation, one iovec). */
#define CHUNK_MIN 4096

struct dc_chunk {
	struct dc_chunk *next;
	struct alb_buf buf; /* owned, or empty for an inline copy */
	void (*release)(void *ctx); /* a borrowed p: its owner's release */
	void *rctx;
	const uint8_t *p;
	size_t len, off;
	size_t cap;         /* of copy[]; 0 for a taken buffer */
	uint8_t copy[];
};

struct uid_use {
	uid_t uid;
	size_t used;
};

struct dc_pool {
	uv_loop_t *loop;
	struct dc_pool_config cfg;
	const struct dc_ops *ops;
	void *data;
	uv_poll_t listener;
	int listen_fd;
	bool listening, listen_paused;
	struct dc_conn *head, *tail; /* oldest first */
	size_t n_conns;    /* accepted ones, counted against conn_max */
	uint64_t n_accepted; /* connections accepted since the start */
	size_t n_all;      /* every connection */
	size_t handles;
	size_t used, reserved_used;
	struct uid_use *uids;
	size_t n_uids, cap_uids;
	size_t starved;
};

size_t dc_budget_allow(size_t held, size_t max, size_t used, size_t uid_max,
		       size_t uid_used)
{
	if (held < DC_FREE_BYTES)
		return DC_FREE_BYTES - held;
	if (max == 0)
		return SIZE_MAX;
	size_t a = used < max ? max - used : 0;
	if (uid_max != 0) {
		size_t u = uid_used < uid_max ? uid_max - uid_used : 0;
		if (u < a)
			a = u;
	}
	return a;
}

/* ---- the budget ----------------------------------------------------------- */

static struct uid_use *uid_find(struct dc_pool *p, uid_t uid, bool make)
{
	for (size_t i = 0; i < p->n_uids; i++)
		if (p->uids[i].uid == uid)
			return &p->uids[i];
	if (!make)
		return NULL;
	if (p->n_uids == p->cap_uids) {
		size_t cap = p->cap_uids ? p->cap_uids * 2 : 8;
		struct uid_use *u = realloc(p->uids, cap * sizeof(*u));
		if (u == NULL)
			return NULL;
		p->uids = u;
		p->cap_uids = cap;
	}
	p->uids[p->n_uids] = (struct uid_use){uid, 0};
	return &p->uids[p->n_uids++];
}

static size_t allow(struct dc_conn *c)
{
	struct dc_pool *p = c->pool;
	if (c->peer)
		return dc_budget_allow(c->held, p->cfg.reserved_bytes,
				       p->reserved_used, 0, 0);
	struct uid_use *u = uid_find(p, c->uid, false);
	return dc_budget_allow(c->held, p->cfg.bytes_max, p->used,
			       p->cfg.uid_bytes_max, u ? u->used : 0);
}

static size_t over(size_t held)
{
	return held > DC_FREE_BYTES ? held - DC_FREE_BYTES : 0;
}

/* Counts n more bytes of c's frame; false when out of memory for the
 * accounting itself. */
static bool account(struct dc_conn *c, size_t n)
{
	struct dc_pool *p = c->pool;
	size_t d = over(c->held + n) - over(c->held);
	if (d > 0 && !c->peer && p->cfg.uid_bytes_max != 0) {
		struct uid_use *u = uid_find(p, c->uid, true);
		if (u == NULL)
			return false;
		u->used += d;
	}
	if (c->peer)
		p->reserved_used += d;
	else
		p->used += d;
	c->held += n;
	return true;
}

static void wake_starved(struct dc_pool *p);

/* The frame is complete or abandoned: its bytes no longer count. */
static void release(struct dc_conn *c)
{
	struct dc_pool *p = c->pool;
	size_t d = over(c->held);
	c->held = 0;
	if (d == 0)
		return;
	if (c->peer) {
		p->reserved_used -= d;
	} else {
		p->used -= d;
		struct uid_use *u = uid_find(p, c->uid, false);
		if (u != NULL && (u->used -= d) == 0)
			*u = p->uids[--p->n_uids];
	}
	if (p->starved > 0)
		wake_starved(p);
}

/* ---- events --------------------------------------------------------------- */

static void on_conn(uv_poll_t *h, int status, int events);

static void update_events(struct dc_conn *c)
{
	if (c->closing)
		return;
	int ev = 0;
	if (c->reading && !c->starved && !c->lost)
		ev |= UV_READABLE;
	/* a connection waiting for budget still learns that its peer left */
	if (c->starved && !c->lost)
		ev |= UV_DISCONNECT;
	if (c->pending > 0 || c->wfail)
		ev |= UV_WRITABLE;
	if (ev == c->events)
		return;
	c->events = ev;
	if (ev == 0)
		uv_poll_stop(&c->poll);
	else
		uv_poll_start(&c->poll, ev, on_conn);
}

static void wake_starved(struct dc_pool *p)
{
	for (struct dc_conn *c = p->head; c != NULL && p->starved > 0; c = c->next) {
		if (!c->starved)
			continue;
		c->starved = false;
		p->starved--;
		update_events(c);
	}
}

static void starve(struct dc_conn *c)
{
	if (c->starved)
		return;
	c->starved = true;
	c->pool->starved++;
	update_events(c);
}

static void unstarve(struct dc_conn *c)
{
	if (c->starved) {
		c->starved = false;
		c->pool->starved--;
	}
}

static void stop_deadline(struct dc_conn *c)
{
	if (c->deadline) {
		c->deadline = false;
		uv_timer_stop(&c->timer);
	}
}

static void lose(struct dc_conn *c, int rc, const char *why)
{
	if (c->lost || c->closing)
		return;
	c->lost = true;
	c->reading = false;
	stop_deadline(c);
	unstarve(c);
	update_events(c);
	if (c->ending) {
		dc_conn_close(c);
		return;
	}
	c->pool->ops->lost(c, rc, why);
}

static void on_deadline(uv_timer_t *t)
{
	struct dc_conn *c = t->data;
	char why[96];
	snprintf(why, sizeof(why), "no complete command within %u ms",
		 c->pool->cfg.command_timeout_ms);
	c->deadline = false;
	lose(c, ALB_ETOOBIG, why);
}

/* ---- writing -------------------------------------------------------------- */

static void chunk_free(struct dc_chunk *k)
{
	alb_buf_free(&k->buf);
	if (k->release != NULL)
		k->release(k->rctx);
	free(k);
}

/* Sends what the socket takes. Returns false once a write failed. */
static bool flush(struct dc_conn *c)
{
	while (c->wq_head != NULL && !c->wfail) {
		struct iovec iov[IOV_BATCH];
		int n = 0;
		for (struct dc_chunk *k = c->wq_head; k != NULL && n < IOV_BATCH;
		     k = k->next, n++) {
			iov[n].iov_base = (void *)(uintptr_t)(k->p + k->off);
			iov[n].iov_len = k->len - k->off;
		}
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			alb_log_debug("%s: write failed: %s", c->pool->cfg.who,
				      strerror(errno));
			c->wfail = true;
			return false;
		}
		size_t left = (size_t)w;
		c->pending -= left;
		while (left > 0) {
			struct dc_chunk *k = c->wq_head;
			size_t in = k->len - k->off;
			if (left < in) {
				k->off += left;
				break;
			}
			left -= in;
			c->wq_head = k->next;
			if (c->wq_head == NULL)
				c->wq_tail = NULL;
			chunk_free(k);
		}
	}
	return !c->wfail;
}

static int enqueue_only(struct dc_conn *c, struct dc_chunk *k)
{
	if (c->closing || c->wfail || c->lost) {
		chunk_free(k);
		return ALB_EPROTO;
	}
	if (k->len == 0) {
		chunk_free(k);
		return 0;
	}
	if (c->wq_tail != NULL)
		c->wq_tail->next = k;
	else
		c->wq_head = k;
	c->wq_tail = k;
	c->pending += k->len;
	return 0;
}

static int enqueue(struct dc_conn *c, struct dc_chunk *k)
{
	bool was_empty = c->wq_head == NULL;
	int rc = enqueue_only(c, k);
	if (rc != 0)
		return rc;
	/* Sent at once when nothing waited; a failure surfaces through the
	 * poll callback, never inside the core's call. */
	if (was_empty)
		flush(c);
	update_events(c);
	return 0;
}

int dc_conn_send_buf(struct dc_conn *c, struct alb_buf *buf)
{
	struct dc_chunk *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		alb_buf_free(buf);
		return ALB_ENOMEM;
	}
	k->buf = *buf;
	memset(buf, 0, sizeof(*buf));
	k->p = k->buf.data;
	k->len = k->buf.len;
	return enqueue(c, k);
}

int dc_conn_queue(struct dc_conn *c, const void *p, size_t n)
{
	if (c->closing || c->wfail || c->lost)
		return ALB_EPROTO;
	if (n == 0)
		return 0;
	struct dc_chunk *t = c->wq_tail;
	/* only an inline chunk (cap > 0) takes more bytes */
	if (t != NULL && t->cap > 0 && t->cap - t->len >= n) {
		memcpy(t->copy + t->len, p, n);
		t->len += n;
		c->pending += n;
		return 0;
	}
	size_t cap = n < CHUNK_MIN ? CHUNK_MIN : n;
	struct dc_chunk *k = malloc(sizeof(*k) + cap);
	if (k == NULL)
		return ALB_ENOMEM;
	memset(k, 0, sizeof(*k));
	memcpy(k->copy, p, n);
	k->p = k->copy;
	k->len = n;
	k->cap = cap;
	return enqueue_only(c, k);
}

void dc_conn_flush(struct dc_conn *c)
{
	if (c->closing || c->lost)
		return;
	flush(c);
	update_events(c);
}

int dc_conn_send(struct dc_conn *c, const void *p, size_t n)
{
	bool was_empty = c->wq_head == NULL;
	int rc = dc_conn_queue(c, p, n);
	if (rc == 0 && was_empty)
		dc_conn_flush(c);
	else if (rc == 0)
		update_events(c);
	return rc;
}

int dc_conn_send_msg(struct dc_conn *c, const struct alb_msg *m,
		     struct alb_error *err)
{
	if (c->closing || c->wfail || c->lost)
		return alb_fail(err, ALB_EPROTO, "connection closing");
	struct alb_buf b = {0};
	int rc = alb_msg_encode(m, ALB_ENCODE_FRAMED, &b, err);
	if (rc != 0)
		return rc;
	return dc_conn_send_buf(c, &b);
}

int dc_conn_send_ref(struct dc_conn *c, const void *p, size_t n,
		     void (*done)(void *ctx), void *ctx)
{
	struct dc_chunk *k = calloc(1, sizeof(*k));
	if (k == NULL) {
		done(ctx);
		return ALB_ENOMEM;
	}
	k->p = p;
	k->len = n;
	k->release = done;
	k->rctx = ctx;
	return enqueue(c, k);
}

int dc_conn_send_msg_ref(struct dc_conn *c, const struct alb_msg *m,
			 const void *hole, size_t hole_len,
			 void (*done)(void *ctx), void *ctx,
			 struct alb_error *err)
{
	struct alb_buf b = {0};
	size_t cut = 0;
	int rc = c->closing || c->wfail || c->lost
			 ? alb_fail(err, ALB_EPROTO, "connection closing")
			 : alb_msg_encode_around(m, hole, &b, &cut, err);
	if (rc != 0) {
		done(ctx);
		return rc;
	}
	/* the bytes after the hole (none when it ends the message) */
	size_t tail_len = b.len - cut;
	struct alb_buf tail = {.data = malloc(tail_len ? tail_len : 1),
			       .len = tail_len, .cap_ = tail_len};
	tail.base_ = tail.data;
	if (tail.data == NULL) {
		alb_buf_free(&b);
		done(ctx);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	memcpy(tail.data, b.data + cut, tail_len);
	b.len = cut;
	rc = dc_conn_send_buf(c, &b);
	if (rc == 0)
		rc = dc_conn_send_ref(c, hole, hole_len, done, ctx);
	else
		done(ctx);
	if (rc == 0)
		rc = dc_conn_send_buf(c, &tail);
	else
		alb_buf_free(&tail);
	if (rc != 0)
		alb_fail(err, rc, "cannot queue the reply");
	return rc;
}

size_t dc_conn_pending(const struct dc_conn *c)
{
	return c->pending;
}

static void maybe_shut(struct dc_conn *c)
{
	if (c->shut_wr && !c->shut_done && c->pending == 0 && !c->closing) {
		c->shut_done = true;
		shutdown(c->fd, SHUT_WR);
	}
}

void dc_conn_shutdown_write(struct dc_conn *c)
{
	c->shut_wr = true;
	maybe_shut(c);
}

/* ---- reading -------------------------------------------------------------- */

static void read_raw(struct dc_conn *c)
{
	uint8_t buf[DC_RAW_READ];
	for (int i = 0; i < DC_FRAMES_PER_WAKE && c->reading && !c->closing &&
			c->raw && !c->lost;
	     i++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			lose(c, n == 0 ? ALB_EEOF : ALB_ESYS,
			     n == 0 ? "connection closed" : strerror(errno));
			return;
		}
		c->pool->ops->bytes(c, buf, (size_t)n);
	}
}

static void read_frames(struct dc_conn *c)
{
	struct alb_error err = {0};
	int frames = 0;
	while (frames < DC_FRAMES_PER_WAKE && c->reading && !c->closing &&
	       !c->lost && !c->raw) {
		size_t a = allow(c);
		if (a == 0) {
			starve(c);
			return;
		}
		uint8_t *p;
		size_t len;
		int rc = alb_frame_reader_space(c->rd, &p, &len, &err);
		if (rc != 0) {
			lose(c, rc, err.msg);
			return;
		}
		if (len > a)
			len = a;
		ssize_t n = recv(c->fd, p, len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			bool mid = !alb_frame_reader_idle(c->rd);
			lose(c, n == 0 ? (mid ? ALB_EPROTO : ALB_EEOF) : ALB_ESYS,
			     n < 0 ? strerror(errno)
			     : mid ? "connection closed in the middle of a frame"
				   : "connection closed");
			return;
		}
		if (!account(c, (size_t)n)) {
			lose(c, ALB_ENOMEM, "out of memory");
			return;
		}
		rc = alb_frame_reader_advance(c->rd, (size_t)n, &err);
		if (rc == ALB_EAGAIN)
			continue;
		if (rc == ALB_EEOF) {
			release(c);
			frames++;
			if (c->pool->ops->eos != NULL)
				c->pool->ops->eos(c);
			else
				lose(c, ALB_EEOF, "end of stream");
			continue;
		}
		if (rc != 0) {
			lose(c, rc, err.msg);
			return;
		}
		struct alb_buf frame = {0};
		alb_frame_reader_take(c->rd, &frame);
		release(c);
		stop_deadline(c);
		c->identified = true;
		frames++;
		c->pool->ops->frame(c, &frame);
	}
}

static void on_conn(uv_poll_t *h, int status, int events)
{
	struct dc_conn *c = h->data;
	if (c->closing)
		return;
	if (status < 0 && !c->wfail) {
		c->wfail = true;
		alb_log_debug("%s: connection error: %s", c->pool->cfg.who,
			      uv_strerror(status));
	}
	if ((events & UV_WRITABLE) || c->wfail) {
		size_t before = c->pending;
		if (!c->wfail)
			flush(c);
		if (c->wfail) {
			if (c->ending) {
				dc_conn_close(c);
				return;
			}
			lose(c, ALB_ESYS, "write failed");
			return;
		}
		if (c->ending && c->pending == 0) {
			dc_conn_close(c);
			return;
		}
		maybe_shut(c);
		update_events(c);
		if (c->pending < before && c->pool->ops->drained != NULL)
			c->pool->ops->drained(c);
		if (c->closing)
			return;
	}
	if ((events & UV_DISCONNECT) && c->starved) {
		lose(c, ALB_EPROTO, "connection closed in the middle of a frame");
		return;
	}
	if (events & UV_READABLE) {
		if (c->raw)
			read_raw(c);
		else
			read_frames(c);
	}
}

void dc_conn_read(struct dc_conn *c, bool command)
{
	if (c->closing || c->lost || c->ending)
		return;
	c->reading = true;
	if (command && !c->peer && c->pool->cfg.command_timeout_ms > 0 &&
	    !c->deadline) {
		c->deadline = true;
		uv_timer_start(&c->timer, on_deadline, c->pool->cfg.command_timeout_ms, 0);
	}
	update_events(c);
}

void dc_conn_pause(struct dc_conn *c)
{
	c->reading = false;
	update_events(c);
}

void dc_conn_set_raw(struct dc_conn *c)
{
	c->raw = true;
}

void dc_conn_set_peer(struct dc_conn *c)
{
	if (c->peer)
		return;
	release(c);
	c->peer = true;
	stop_deadline(c);
}

int dc_conn_set_frame_max(struct dc_conn *c, size_t max)
{
	return alb_frame_reader_set_max(c->rd, max, NULL);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void unlink_conn(struct dc_conn *c)
{
	struct dc_pool *p = c->pool;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		p->tail = c->prev;
	c->prev = c->next = NULL;
}

static void listen_resume(struct dc_pool *p);

static void handle_closed(uv_handle_t *h)
{
	struct dc_conn *c = h->data;
	if (--c->handles > 0)
		return;
	struct dc_pool *p = c->pool;
	close(c->fd);
	while (c->wq_head != NULL) {
		struct dc_chunk *k = c->wq_head;
		c->wq_head = k->next;
		chunk_free(k);
	}
	alb_frame_reader_free(c->rd);
	if (p->ops->closed != NULL)
		p->ops->closed(c);
	free(c);
	p->handles--;
	if (p->ops->gone != NULL)
		p->ops->gone(p);
}

void dc_conn_close(struct dc_conn *c)
{
	if (c == NULL || c->closing)
		return;
	struct dc_pool *p = c->pool;
	stop_deadline(c);
	unstarve(c);
	release(c);
	c->closing = true;
	c->reading = false;
	unlink_conn(c);
	p->n_all--;
	if (c->accepted)
		p->n_conns--;
	uv_close((uv_handle_t *)&c->poll, handle_closed);
	uv_close((uv_handle_t *)&c->timer, handle_closed);
	listen_resume(p);
}

void dc_conn_end(struct dc_conn *c)
{
	if (c->closing)
		return;
	c->ending = true;
	c->reading = false;
	stop_deadline(c);
	unstarve(c);
	if (c->pending == 0 || c->wfail || c->lost)
		dc_conn_close(c);
	else
		update_events(c);
}

static struct dc_conn *conn_make(struct dc_pool *p, int fd, struct alb_error *err)
{
	struct dc_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		alb_fail(err, ALB_ENOMEM, "out of memory");
		return NULL;
	}
	c->pool = p;
	c->fd = fd;
	c->uid = (uid_t)-1;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		c->uid = cr.uid;
	if (alb_frame_reader_new(p->cfg.frame_max, &c->rd, err) != 0 ||
	    uv_poll_init(p->loop, &c->poll, fd) != 0) {
		alb_frame_reader_free(c->rd);
		free(c);
		close(fd);
		alb_fail(err, ALB_ESYS, "cannot watch a connection");
		return NULL;
	}
	uv_timer_init(p->loop, &c->timer);
	c->poll.data = c;
	c->timer.data = c;
	c->handles = 2;
	p->handles++;
	c->prev = p->tail;
	if (p->tail != NULL)
		p->tail->next = c;
	else
		p->head = c;
	p->tail = c;
	p->n_all++;
	return c;
}

int dc_conn_open(struct dc_pool *p, int fd, void *data, struct dc_conn **out,
		 struct alb_error *err)
{
	struct dc_conn *c = conn_make(p, fd, err);
	if (c == NULL)
		return ALB_ESYS;
	c->data = data;
	*out = c;
	return 0;
}

/* ---- the pool ------------------------------------------------------------- */

int dc_pool_new(uv_loop_t *loop, const struct dc_pool_config *cfg,
		const struct dc_ops *ops, void *data, struct dc_pool **out,
		struct alb_error *err)
{
	if (loop == NULL || cfg == NULL || ops == NULL || ops->frame == NULL ||
	    ops->lost == NULL)
		return alb_fail(err, ALB_EINVAL, "dc_pool_new: missing argument");
	struct dc_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	p->loop = loop;
	p->cfg = *cfg;
	if (p->cfg.who == NULL)
		p->cfg.who = "daemon";
	if (p->cfg.backlog <= 0)
		p->cfg.backlog = 64;
	p->ops = ops;
	p->data = data;
	p->listen_fd = -1;
	*out = p;
	return 0;
}

void *dc_pool_data(const struct dc_pool *p)
{
	return p->data;
}

size_t dc_pool_count(const struct dc_pool *p)
{
	return p->n_all;
}

size_t dc_pool_accepted(const struct dc_pool *p)
{
	return p != NULL ? p->n_conns : 0;
}

uint64_t dc_pool_accepted_total(const struct dc_pool *p)
{
	return p != NULL ? p->n_accepted : 0;
}

size_t dc_pool_handles(const struct dc_pool *p)
{
	return p->handles;
}

size_t dc_pool_pending(const struct dc_pool *p)
{
	size_t n = 0;
	for (const struct dc_conn *c = p->head; c != NULL; c = c->next)
		n += c->pending;
	return n;
}

size_t dc_pool_bytes(const struct dc_pool *p)
{
	return p->used;
}

size_t dc_pool_reserved_bytes(const struct dc_pool *p)
{
	return p->reserved_used;
}

void dc_pool_each(struct dc_pool *p, void (*fn)(struct dc_conn *c, void *ctx),
		  void *ctx)
{
	struct dc_conn *c = p->head;
	while (c != NULL) {
		struct dc_conn *next = c->next;
		if (!c->closing)
			fn(c, ctx);
		c = next;
	}
}

/* The oldest connection that has not completed a command and is not a
 * peer: the one a new connection replaces when the pool is full. */
static struct dc_conn *evictable(struct dc_pool *p)
{
	for (struct dc_conn *c = p->head; c != NULL; c = c->next)
		if (c->accepted && !c->identified && !c->peer && !c->closing)
			return c;
	return NULL;
}

static void on_listen(uv_poll_t *h, int status, int events);

static void listen_resume(struct dc_pool *p)
{
	if (!p->listen_paused || !p->listening)
		return;
	p->listen_paused = false;
	uv_poll_start(&p->listener, UV_READABLE, on_listen);
}

static void accept_one(struct dc_pool *p, int fd)
{
	if (p->cfg.conn_max != 0 && p->n_conns >= p->cfg.conn_max) {
		struct dc_conn *old = evictable(p);
		if (old == NULL) {
			alb_log_warn("%s: refusing a connection: %zu connections "
				     "already, all past their first command",
				     p->cfg.who, p->n_conns);
			close(fd);
			return;
		}
		alb_log_info("%s: %zu connections: closing the oldest that sent "
			     "no command yet for a new one", p->cfg.who, p->n_conns);
		old->pool->ops->lost(old, ALB_ETOOBIG,
				     "replaced by a new connection");
		dc_conn_close(old);
	}
	struct alb_error err = {0};
	struct dc_conn *c = conn_make(p, fd, &err);
	if (c == NULL) {
		alb_log_error("%s: cannot serve a connection: %s", p->cfg.who, err.msg);
		return;
	}
	c->accepted = true;
	p->n_conns++;
	p->n_accepted++;
	if (p->ops->accepted(p, c) != 0)
		dc_conn_close(c);
}

static void on_listen(uv_poll_t *h, int status, int events)
{
	(void)events;
	struct dc_pool *p = h->data;
	if (status < 0) {
		alb_log_error("%s: listening socket: %s", p->cfg.who, uv_strerror(status));
		return;
	}
	for (int i = 0; i < DC_ACCEPTS_PER_WAKE && p->listening; i++) {
		int fd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/* wait for a connection to close rather than spin */
				alb_log_error("%s: cannot accept: %s", p->cfg.who,
					      strerror(errno));
				p->listen_paused = true;
				uv_poll_stop(&p->listener);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				alb_log_error("%s: cannot accept: %s", p->cfg.who,
					      strerror(errno));
			}
			return;
		}
		accept_one(p, fd);
	}
}

int dc_pool_listen(struct dc_pool *p, int fd, struct alb_error *err)
{
	if (p->listening || p->listen_fd >= 0) {
		close(fd);
		return alb_fail(err, ALB_EINVAL, "%s: already listening", p->cfg.who);
	}
	if (uv_poll_init(p->loop, &p->listener, fd) != 0) {
		close(fd);
		return alb_fail(err, ALB_ESYS, "%s: cannot watch the listening socket",
				p->cfg.who);
	}
	p->listen_fd = fd;
	p->listening = true;
	p->handles++;
	p->listener.data = p;
	uv_poll_start(&p->listener, UV_READABLE, on_listen);
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct dc_pool *p = h->data;
	close(p->listen_fd);
	p->listen_fd = -1;
	p->handles--;
	if (p->ops->gone != NULL)
		p->ops->gone(p);
}

void dc_pool_stop_listening(struct dc_pool *p)
{
	if (!p->listening)
		return;
	p->listening = false;
	uv_close((uv_handle_t *)&p->listener, listener_closed);
}

void dc_pool_close_all(struct dc_pool *p)
{
	dc_pool_stop_listening(p);
	while (p->head != NULL)
		dc_conn_close(p->head);
}

void dc_pool_free(struct dc_pool *p)
{
	if (p == NULL)
		return;
	free(p->uids);
	free(p);
}
