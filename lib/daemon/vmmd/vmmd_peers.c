/* libalbatross — vmmd: its two peers.
 *
 * The console daemon (spec §6.3 step 4, §7.3): before a tender starts, a
 * Console_add with the next console sequence number goes over one
 * connection to <tmpdir>/util/console.sock, and the reply (same sequence)
 * is awaited. Unlike albatrossd, a missing console daemon is no reason to
 * refuse: the tender's output goes to a log file then; the connection is
 * made again at the next create after it broke. A console daemon that
 * dies costs no unikernel: albd holds a reader of every FIFO
 * (vmmd_keep.c), which drains the FIFOs of the running unikernels while
 * the console daemon is away; albd tries to connect again every
 * VMMD_CONSOLE_RETRY_MS meanwhile and, once it is back, sends Console_add
 * again for each of them, so that their consoles are kept again.
 *
 * The stats channel (spec §6.14, §8.2): the connection that sent
 * Stats_initial receives Stats_add for every running unikernel at once and
 * on every start, Stats_remove on every exit, numbered by the stats
 * counter; a reply that is not a success with the expected sequence number
 * drops the channel. alb-statsd connects again by itself when albd or it
 * restarted (spec §8.2), and its Stats_initial gets every running
 * unikernel again.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmmd_internal.h"

struct creq {
	struct vlist link;
	int64_t seq;
	console_fn fn;
	void *ctx;
};

struct cwrite {
	uv_write_t req;
	struct alb_buf buf;
};

static void console_lost(struct alb_vmmd *v, const char *why);
static void console_retry_later(struct alb_vmmd *v);

static void console_closed(uv_handle_t *h)
{
	struct alb_vmmd *v = h->data;
	v->console.open = false;
	alb_frame_reader_free(v->console.rd);
	v->console.rd = NULL;
	vmmd_maybe_done(v);
}

/* Fails every request in flight with rc and closes the connection. */
static void console_lost(struct alb_vmmd *v, const char *why)
{
	struct console_peer *p = &v->console;
	if (!p->connected)
		return;
	p->connected = false;
	if (why != NULL)
		alb_log_warn("vmmd: console daemon connection lost: %s", why);
	uv_close((uv_handle_t *)&p->pipe, console_closed);
	while (!vlist_empty(&p->pending)) {
		struct creq *r = vlist_entry(p->pending.next, struct creq, link);
		vlist_del(&r->link);
		console_fn fn = r->fn;
		void *ctx = r->ctx;
		free(r);
		fn(ctx, ALB_ENOENT);
	}
	if (v->stopping)
		return;
	/* nobody reads the FIFOs now but us */
	size_t n = 0;
	for (struct vlist *e = v->all.next; e != &v->all; e = e->next) {
		struct uk *u = vlist_entry(e, struct uk, link);
		if (u->keep != NULL && !u->freeing) {
			keeper_drain(u, true);
			n++;
		}
	}
	if (n > 0) {
		alb_log_warn("vmmd: the console output of %zu unikernels goes to "
			     "<tmpdir>/<name>.log until the console daemon is "
			     "back", n);
		console_retry_later(v);
	}
}

static void retry_closed(uv_handle_t *h)
{
	struct alb_vmmd *v = h->data;
	v->console.retry_open = false;
	vmmd_maybe_done(v);
}

void console_close(struct alb_vmmd *v)
{
	console_lost(v, NULL);
	if (v->console.retry_open && !uv_is_closing((uv_handle_t *)&v->console.retry))
		uv_close((uv_handle_t *)&v->console.retry, retry_closed);
}

static void console_reply(struct alb_vmmd *v, const struct alb_msg *m)
{
	struct console_peer *p = &v->console;
	if (vlist_empty(&p->pending)) {
		console_lost(v, "unexpected message");
		return;
	}
	struct creq *r = vlist_entry(p->pending.next, struct creq, link);
	if (m->header.sequence != r->seq) {
		console_lost(v, "wrong sequence number received");
		return;
	}
	vlist_del(&r->link);
	int rc = 0;
	if (m->kind == ALB_PAYLOAD_FAILURE) {
		alb_log_warn("vmmd: %s: console daemon: %.*s", m->header.name,
			     (int)m->u.failure.len, m->u.failure.ptr);
		rc = ALB_EPROTO;
	} else if (m->kind != ALB_PAYLOAD_SUCCESS) {
		alb_log_warn("vmmd: %s: console daemon: unexpected reply",
			     m->header.name);
		rc = ALB_EPROTO;
	}
	console_fn fn = r->fn;
	void *ctx = r->ctx;
	free(r);
	fn(ctx, rc);
}

static void console_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct alb_vmmd *v = h->data;
	uint8_t *ptr;
	size_t len;
	if (alb_frame_reader_space(v->console.rd, &ptr, &len, NULL) != 0)
		*buf = uv_buf_init(NULL, 0);
	else
		*buf = uv_buf_init((char *)ptr, (unsigned)len);
}

static void console_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	struct alb_vmmd *v = s->data;
	if (n == 0)
		return;
	if (n < 0) {
		console_lost(v, n == UV_EOF ? "closed" : uv_strerror((int)n));
		return;
	}
	struct alb_error err = {0};
	int rc = alb_frame_reader_advance(v->console.rd, (size_t)n, &err);
	if (rc == ALB_EAGAIN)
		return;
	struct alb_bytes frame;
	struct alb_msg *m = NULL;
	if (rc != 0 || alb_frame_reader_frame(v->console.rd, &frame) != 0 ||
	    alb_msg_decode(frame.ptr, frame.len, 0, &m, &err) != 0) {
		console_lost(v, err.msg[0] ? err.msg : "end of stream");
		return;
	}
	console_reply(v, m);
	alb_msg_free(m);
}

static int console_connect(struct alb_vmmd *v)
{
	struct console_peer *p = &v->console;
	if (p->connected)
		return 0;
	if (p->open)
		return ALB_ENOENT; /* the old connection is still closing */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/console.sock",
			 v->util_dir);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return ALB_ENOENT;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ALB_ENOENT;
	/* a Unix connect succeeds or fails at once (EAGAIN: backlog full) */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (!p->warned)
			alb_log_warn("vmmd: couldn't connect to %s (%s), is the "
				     "console daemon started? Console output "
				     "goes to <tmpdir>/<name>.log meanwhile",
				     sa.sun_path, strerror(errno));
		p->warned = true;
		close(fd);
		return ALB_ENOENT;
	}
	if (alb_frame_reader_new(VMMD_CONSOLE_FRAME_MAX, &p->rd, NULL) != 0) {
		close(fd);
		return ALB_ENOENT;
	}
	uv_pipe_init(v->loop, &p->pipe, 0);
	p->pipe.data = v;
	p->open = true;
	if (uv_pipe_open(&p->pipe, fd) != 0) {
		close(fd);
		uv_close((uv_handle_t *)&p->pipe, console_closed);
		return ALB_ENOENT;
	}
	p->connected = true;
	p->gen++;
	if (uv_read_start((uv_stream_t *)&p->pipe, console_alloc, console_read) != 0) {
		console_lost(v, "cannot read");
		return ALB_ENOENT;
	}
	if (p->warned)
		alb_log_warn("vmmd: connected to the console daemon again");
	p->warned = false;
	return 0;
}

static void console_written(uv_write_t *req, int status)
{
	struct cwrite *w = (struct cwrite *)req;
	struct alb_vmmd *v = req->handle->data;
	alb_buf_free(&w->buf);
	free(w);
	if (status < 0 && status != UV_ECANCELED)
		console_lost(v, uv_strerror(status));
}

int console_add(struct alb_vmmd *v, const char *name, console_fn fn,
		void *ctx)
{
	if (console_connect(v) != 0)
		return ALB_ENOENT;
	struct console_peer *p = &v->console;
	struct creq *r = calloc(1, sizeof(*r));
	struct cwrite *w = calloc(1, sizeof(*w));
	struct alb_msg m = {.kind = ALB_PAYLOAD_COMMAND};
	m.header = (struct alb_header){ALB_WIRE_VERSION, p->seq, name};
	m.u.command.kind = ALB_CMD_CONSOLE_ADD;
	m.u.command.u.console_add = alb_resources_unikernel_limit(v->res, name);
	if (r == NULL || w == NULL ||
	    alb_msg_encode(&m, ALB_ENCODE_FRAMED, &w->buf, NULL) != 0) {
		free(r);
		free(w);
		return ALB_ENOENT;
	}
	uv_buf_t b = uv_buf_init((char *)w->buf.data, (unsigned)w->buf.len);
	if (uv_write(&w->req, (uv_stream_t *)&p->pipe, &b, 1, console_written) != 0) {
		alb_buf_free(&w->buf);
		free(w);
		free(r);
		console_lost(v, "write failed");
		return ALB_ENOENT;
	}
	*r = (struct creq){.seq = p->seq++, .fn = fn, .ctx = ctx};
	vlist_push(&p->pending, &r->link);
	return 0;
}

/* ---- the console daemon comes back ------------------------------------------ */

/* Which Console_add of console_readd_all() this answers. */
struct readd {
	struct alb_vmmd *v;
	uint64_t gen;
	char name[ALB_NAME_BUF];
};

static void readd_done(void *ctx, int rc)
{
	struct readd *r = ctx;
	struct alb_vmmd *v = r->v;
	struct uk *u = uk_find(v, r->name);
	/* the same connection still, and the same tender with a reader */
	if (rc == 0 && u != NULL && u->keep != NULL && v->console.connected &&
	    v->console.gen == r->gen) {
		u->console_gen = r->gen;
		keeper_drain(u, false);
		alb_log_info("vmmd: %s: the console daemon reads its console again",
			     r->name);
	} else if (rc != 0 && rc != ALB_ENOENT && u != NULL) {
		alb_log_warn("vmmd: %s: the console daemon refused its console "
			     "again; the output stays in <tmpdir>/<name>.log",
			     r->name);
	}
	free(r);
}

static void retry_now(uv_timer_t *t)
{
	console_readd_all(t->data);
}

static void console_retry_later(struct alb_vmmd *v)
{
	struct console_peer *p = &v->console;
	if (v->stopping || !p->retry_open || uv_is_active((uv_handle_t *)&p->retry))
		return;
	uv_timer_start(&p->retry, retry_now, VMMD_CONSOLE_RETRY_MS, 0);
}

void console_readd_all(struct alb_vmmd *v)
{
	struct console_peer *p = &v->console;
	if (v->stopping)
		return;
	size_t want = 0;
	for (struct vlist *e = v->all.next; e != &v->all; e = e->next) {
		struct uk *u = vlist_entry(e, struct uk, link);
		want += u->keep != NULL && !u->freeing &&
			(!p->connected || u->console_gen != p->gen);
	}
	if (want == 0)
		return;
	if (console_connect(v) != 0) {
		console_retry_later(v);
		return;
	}
	/* those that the daemon of this connection has not taken yet */
	size_t sent = 0;
	for (struct vlist *e = v->all.next; e != &v->all; e = e->next) {
		struct uk *u = vlist_entry(e, struct uk, link);
		if (u->keep == NULL || u->freeing || u->console_gen == p->gen)
			continue;
		struct readd *r = calloc(1, sizeof(*r));
		if (r == NULL)
			break;
		*r = (struct readd){.v = v, .gen = p->gen};
		snprintf(r->name, sizeof(r->name), "%s", u->name);
		if (console_add(v, u->name, readd_done, r) != 0) {
			free(r);
			break;
		}
		sent++;
	}
	alb_log_info("vmmd: console daemon: Console_add sent again for %zu "
		     "running unikernels", sent);
}

/* ---- stats ------------------------------------------------------------------ */

void stats_add(struct alb_vmmd *v, const struct uk *u)
{
	if (v->stats == NULL || u->cfg == NULL)
		return;
	struct alb_stats_tap *taps = calloc(u->n_taps ? u->n_taps : 1,
					    sizeof(*taps));
	if (taps == NULL) {
		alb_log_error("vmmd: out of memory, stats channel dropped");
		conn_abort(v->stats);
		return;
	}
	/* the configured netif names pair with the taps made for them */
	for (size_t i = 0; i < u->n_taps && i < u->cfg->n_bridges; i++) {
		taps[i].netif = u->cfg->bridges[i].netif;
		taps[i].tap = (struct alb_str){u->taps[i].name,
					       strlen(u->taps[i].name)};
	}
	struct alb_command cmd = {.kind = ALB_CMD_STATS_ADD};
	cmd.u.stats_add.vmmdev = (struct alb_str){"", 0}; /* Linux */
	cmd.u.stats_add.pid = u->pid;
	cmd.u.stats_add.n_taps = u->n_taps;
	cmd.u.stats_add.taps = taps;
	struct hdr h;
	hdr_make(&h, v->stats_seq++, u->name);
	conn_send_command(v->stats, &h, &cmd);
	free(taps);
}

void stats_remove(struct alb_vmmd *v, const char *name)
{
	if (v->stats == NULL)
		return;
	struct alb_command cmd = {.kind = ALB_CMD_STATS_REMOVE};
	struct hdr h;
	hdr_make(&h, v->stats_seq++, name);
	conn_send_command(v->stats, &h, &cmd);
}

static int add_running(struct uk *u, void *ctx)
{
	(void)ctx;
	if (!u->freeing && uk_visible(u))
		stats_add(u->v, u);
	return 0;
}

void stats_initial(struct conn *c, const struct hdr *h)
{
	struct alb_vmmd *v = c->v;
	if (v->stats != NULL && v->stats != c) {
		alb_log_info("vmmd: a new stats channel replaces the old one");
		conn_abort(v->stats);
	}
	v->stats = c;
	v->stats_seq = h->sequence + 1;
	c->stats_expect = v->stats_seq;
	struct alb_reply r = {.kind = ALB_REPLY_EMPTY};
	conn_reply(c, h, &r);
	uks_each(v, add_running, NULL);
	conn_become_stats(c);
}

void stats_lost(struct alb_vmmd *v, struct conn *c)
{
	if (v->stats == c)
		v->stats = NULL;
}

void stats_reply(struct conn *c, const struct alb_msg *m)
{
	if (m->header.sequence != c->stats_expect) {
		alb_log_warn("vmmd: stats channel: wrong sequence number received");
		conn_abort(c);
		return;
	}
	if (m->kind != ALB_PAYLOAD_SUCCESS) {
		alb_log_warn("vmmd: stats channel: %s",
			     m->kind == ALB_PAYLOAD_FAILURE ? m->u.failure.ptr
							    : "unexpected data");
		conn_abort(c);
		return;
	}
	c->stats_expect++;
}
