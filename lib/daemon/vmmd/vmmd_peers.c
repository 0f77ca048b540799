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
 *
 * Both are daemon/common connections: written with MSG_NOSIGNAL, so a peer
 * that went away is a failed write handled here, never a SIGPIPE.
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcommon/socket.h"
#include "vmmd_internal.h"

struct creq {
	struct vlist link;
	int64_t seq;
	console_fn fn;
	void *ctx;
};

static void console_retry_later(struct alb_vmmd *v);

/* Fails every request in flight with ALB_ENOENT and closes the
 * connection; our readers drain the FIFOs until the console daemon is
 * back. */
static void console_lost(struct alb_vmmd *v, const char *why)
{
	struct console_peer *p = &v->console;
	if (!p->connected)
		return;
	p->connected = false;
	if (why != NULL)
		alb_log_warn("vmmd: console daemon connection lost: %s", why);
	struct dc_conn *c = p->dc;
	p->dc = NULL;
	dc_conn_close(c);
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

/* ---- the connection: daemon/common's, written with MSG_NOSIGNAL --------- */

static void on_frame(struct dc_conn *c, struct alb_buf *frame)
{
	struct alb_vmmd *v = dc_pool_data(c->pool);
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	if (c != v->console.dc) {
		alb_buf_free(frame);
		return;
	}
	if (alb_msg_decode(frame->data, frame->len, 0, &m, &err) != 0) {
		alb_buf_free(frame);
		console_lost(v, err.msg);
		return;
	}
	alb_buf_free(frame);
	console_reply(v, m);
	alb_msg_free(m);
}

static void on_eos(struct dc_conn *c)
{
	struct alb_vmmd *v = dc_pool_data(c->pool);
	if (c == v->console.dc)
		console_lost(v, "end of stream");
}

/* A read or a write failed (EPIPE included: never a SIGPIPE), the daemon
 * closed, or a frame was too large. */
static void on_lost(struct dc_conn *c, int rc, const char *why)
{
	struct alb_vmmd *v = dc_pool_data(c->pool);
	if (c == v->console.dc)
		console_lost(v, rc == ALB_EEOF ? "closed" : why);
	else
		dc_conn_close(c);
}

static void on_gone(struct dc_pool *pool)
{
	vmmd_maybe_done(dc_pool_data(pool));
}

static const struct dc_ops console_ops = {
	.frame = on_frame,
	.eos = on_eos,
	.lost = on_lost,
	.gone = on_gone,
};

static int console_connect(struct alb_vmmd *v)
{
	struct console_peer *p = &v->console;
	if (p->connected)
		return 0;
	struct alb_error err = {0};
	if (p->pool == NULL) {
		struct dc_pool_config pc = {
			.who = "vmmd: console daemon",
			.frame_max = VMMD_CONSOLE_FRAME_MAX,
		};
		if (dc_pool_new(v->loop, &pc, &console_ops, v, &p->pool, &err) != 0) {
			alb_log_error("vmmd: %s", err.msg);
			return ALB_ENOENT;
		}
	}
	char path[VMMD_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/console.sock", v->util_dir);
	int fd = -1;
	if (dc_unix_connect(path, &fd, &err) != 0) {
		if (!p->warned)
			alb_log_warn("vmmd: %s, is the console daemon started? "
				     "Console output goes to <tmpdir>/<name>.log "
				     "meanwhile", err.msg);
		p->warned = true;
		return ALB_ENOENT;
	}
	if (dc_conn_open(p->pool, fd, NULL, &p->dc, &err) != 0) {
		alb_log_error("vmmd: console daemon: %s", err.msg);
		return ALB_ENOENT;
	}
	p->connected = true;
	p->gen++;
	dc_conn_read(p->dc, false);
	if (p->warned)
		alb_log_warn("vmmd: connected to the console daemon again");
	p->warned = false;
	return 0;
}

int console_add(struct alb_vmmd *v, const char *name, console_fn fn,
		void *ctx)
{
	if (console_connect(v) != 0)
		return ALB_ENOENT;
	struct console_peer *p = &v->console;
	struct creq *r = calloc(1, sizeof(*r));
	struct alb_msg m = {.kind = ALB_PAYLOAD_COMMAND};
	m.header = (struct alb_header){ALB_WIRE_VERSION, p->seq, name};
	m.u.command.kind = ALB_CMD_CONSOLE_ADD;
	m.u.command.u.console_add = alb_resources_unikernel_limit(v->res, name);
	struct alb_error err = {0};
	if (r == NULL) {
		alb_log_error("vmmd: %s: out of memory for its Console_add", name);
		return ALB_ENOENT;
	}
	/* queued and sent at once; a failed write reaches on_lost() later,
	 * which answers this request with ALB_ENOENT */
	if (dc_conn_send_msg(p->dc, &m, &err) != 0) {
		free(r);
		console_lost(v, err.msg);
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
