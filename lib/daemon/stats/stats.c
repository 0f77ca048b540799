/* libalbatross — the alb-statsd core (spec §8.2): the channel from albd
 * (Stats_initial, then Stats_add/Stats_remove), the stats socket
 * (subscriptions and debug adds), and the sampling tick that sends
 * Stats_data to subscribers and feeds the Influx and Prometheus outputs.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "albatross/client.h"
#include "albatross/frame.h"
#include "albatross/log.h"
#include "albatross/name.h"
#include "albatross/net.h"
#include "base/internal.h"
#include "dcommon/conn.h"
#include "dcommon/influx.h"
#include "dcommon/metrics.h"
#include "dcommon/socket.h"
#include "stats_internal.h"
#include "policy/trie.h"

/* Pending connections on the stats socket. */
#define LISTEN_BACKLOG 16

/* ---- messages ----------------------------------------------------------- */

int alb_statsd_encode_data(const struct alb_header *h, const struct alb_stats *s,
			   struct alb_buf *out, struct alb_error *err)
{
	struct alb_msg m = {.header = *h, .kind = ALB_PAYLOAD_DATA};
	m.u.data.kind = ALB_DATA_STATS;
	m.u.data.u.stats = *s;
	return alb_msg_encode(&m, ALB_ENCODE_FRAMED, out, err);
}

int alb_statsd_encode_cmd(const struct alb_header *h,
			  const struct alb_command *cmd, struct alb_buf *out,
			  struct alb_error *err)
{
	struct alb_msg m = {.header = *h, .kind = ALB_PAYLOAD_COMMAND};
	m.u.command = *cmd;
	return alb_msg_encode(&m, ALB_ENCODE_FRAMED, out, err);
}

bool alb_statsd_queue_ok(size_t queued, size_t len)
{
	return dc_queue_ok(queued, len, ALB_STATSD_QUEUE_MAX);
}

/* ---- state -------------------------------------------------------------- */

struct vm_tap {
	struct alb_str netif; /* owned copy, the unikernel-side name */
	int ifindex;
	bool found;           /* seen in this tick's interface dump */
	struct alb_ifdata data;
};

/* A monitored unikernel. */
struct vm {
	char *name;
	int64_t pid;
	struct alb_stats_proc *proc; /* NULL until /proc/PID could be opened */
	size_t n_taps;
	struct vm_tap *taps;
	struct alb_ifdata *ifdata; /* n_taps slots behind stats.ifdata */
	bool sampled;              /* stats hold the last sample */
	struct alb_stats stats;
};

enum conn_kind { CONN_CLIENT, CONN_VMMD };

struct conn {
	struct dc_conn *dc;
	struct alb_statsd *d;
	enum conn_kind kind;
	bool ready;   /* albd: Stats_initial was answered */
	bool closing;
	bool failed;  /* a Failure was sent: nothing more is read */
	size_t n_subs;
};

/* A subscriber found for a unikernel, kept until the trie walk is over. */
struct target {
	struct conn *c;
	int64_t version;
	char name[ALB_NAME_BUF];
};

struct alb_statsd {
	uv_loop_t *loop;
	unsigned interval_s;
	bool no_vmmd;
	bool influx_full_names;
	char vmmd_path[ALB_SOCKET_PATH_BUF];
	char stat_path[ALB_SOCKET_PATH_BUF];
	int listen_fd;        /* given by the caller until started */
	int64_t socket_gid;
	bool bound_path;      /* we bound stat_path (removed at shutdown) */
	char *influx_addr, *prometheus_addr;
	unsigned command_timeout_ms;
	struct dc_pool *pool; /* every connection, albd's included */
	bool pool_open;       /* counted in open until its handles close */
	uv_timer_t tick_timer;
	uv_timer_t reconnect_timer;
	struct conn *vmmd;    /* the connection to albd, if any */
	bool vmmd_failing;    /* the last attempt failed: log quietly */
	struct alb_trie *vms; /* name -> struct vm */
	size_t n_vms;
	struct alb_stats_subs *subs;
	struct alb_net *net;
	struct dc_metrics *metrics;
	struct dc_exporter *exp; /* with --influx or --prometheus */
	struct dc_series *m_conn_active, *m_conn_opened, *m_vms, *m_subs;
	size_t open;          /* handles and components not yet closed */
	bool started;
	bool freeing;         /* shut down */
	bool free_when_done;  /* alb_statsd_free() before the handles closed */
	bool done_called;
	alb_statsd_done_fn done;
	void *done_ctx;
	/* scratch space of a tick */
	bool in_tick;
	bool clear_after_tick; /* albd went away during the tick */
	struct vm **todo;
	size_t n_todo, cap_todo;
	struct target *targets;
	size_t n_targets, cap_targets;
};

static void vm_free(void *v)
{
	struct vm *vm = v;
	if (vm == NULL)
		return;
	for (size_t i = 0; i < vm->n_taps; i++)
		free((char *)vm->taps[i].netif.ptr);
	free(vm->taps);
	free(vm->ifdata);
	alb_stats_proc_free(vm->proc);
	free(vm->name);
	free(vm);
}

/* Forgets every monitored unikernel: albd went away, and will add the
 * running ones again when it is back (spec §8.2). */
static void vms_clear(struct alb_statsd *d)
{
	alb_trie_free(d->vms, vm_free);
	d->vms = alb_trie_new();
	d->n_vms = 0;
	if (d->vms == NULL)
		alb_log_error("stats: out of memory");
}

static void handle_closed(uv_handle_t *h);

static void destroy(struct alb_statsd *d)
{
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	dc_pool_free(d->pool);
	free(d->influx_addr);
	free(d->prometheus_addr);
	alb_trie_free(d->vms, vm_free);
	alb_stats_subs_free(d->subs);
	alb_net_free(d->net);
	dc_metrics_free(d->metrics);
	free(d->todo);
	free(d->targets);
	free(d);
}

static void release(struct alb_statsd *d)
{
	if (--d->open > 0 || !d->freeing || d->done_called)
		return;
	d->done_called = true;
	if (d->done != NULL)
		d->done(d, d->done_ctx);
	if (d->free_when_done)
		destroy(d);
}

static void handle_closed(uv_handle_t *h)
{
	release(h->data);
}

static void component_closed(void *ctx)
{
	release(ctx);
}

/* ---- connections ---------------------------------------------------------- */

static void vmmd_schedule(struct alb_statsd *d);

/* Forgets c (once): its subscriptions, and for albd's channel what albd
 * told us. */
static void conn_forget(struct conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	struct alb_statsd *d = c->d;
	alb_stats_subs_remove_owner(d->subs, c);
	if (c->kind == CONN_CLIENT) {
		alb_log_debug("stats: connection closed (%s)", why);
		return;
	}
	if (c->ready) {
		if (!d->freeing)
			alb_log_warn("stats: connection to albd lost (%s); "
				     "forgetting %zu unikernels", why, d->n_vms);
		/* a tick holds pointers to them until it ends */
		if (d->in_tick)
			d->clear_after_tick = true;
		else
			vms_clear(d);
	}
	d->vmmd = NULL;
	if (!d->freeing)
		vmmd_schedule(d);
}

static void conn_close(struct conn *c, const char *why)
{
	if (c->closing)
		return;
	conn_forget(c, why);
	dc_conn_close(c->dc);
}

static struct conn *conn_new(struct alb_statsd *d, enum conn_kind kind)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->d = d;
	c->kind = kind;
	return c;
}

/* Queues a framed message (moved from buf); close_after: the connection
 * closes once it is sent. A peer that does not read is dropped once
 * ALB_STATSD_QUEUE_MAX bytes wait for it. */
static int conn_send(struct conn *c, struct alb_buf *buf, bool close_after)
{
	if (c->closing) {
		alb_buf_free(buf);
		return ALB_EEOF;
	}
	if (!alb_statsd_queue_ok(dc_conn_pending(c->dc), buf->len)) {
		alb_log_warn("stats: a peer left more than %u bytes unread, "
			     "closing it", ALB_STATSD_QUEUE_MAX);
		alb_buf_free(buf);
		conn_close(c, "too slow");
		return ALB_ETOOBIG;
	}
	int rc = dc_conn_send_buf(c->dc, buf);
	if (rc != 0) {
		conn_close(c, "write failed");
		return rc;
	}
	if (close_after) {
		conn_forget(c, "after a failure");
		dc_conn_end(c->dc);
	}
	return 0;
}

/* Answers a command with the request's header (spec §2.2): a Success
 * String, or a Failure after which the connection is closed. */
static void reply(struct conn *c, const struct alb_header *h, bool ok,
		  const char *text)
{
	struct alb_msg m = {.header = *h};
	struct alb_str s = {text, strlen(text)};
	if (ok) {
		m.kind = ALB_PAYLOAD_SUCCESS;
		m.u.success.kind = ALB_REPLY_STRING;
		m.u.success.u.string = s;
	} else {
		m.kind = ALB_PAYLOAD_FAILURE;
		m.u.failure = s;
		c->failed = true;
	}
	struct alb_buf out = {0};
	struct alb_error err;
	if (alb_msg_encode(&m, ALB_ENCODE_FRAMED, &out, &err) != 0) {
		alb_log_error("stats: cannot encode a reply: %s", err.msg);
		conn_close(c, "encoding failed");
		return;
	}
	conn_send(c, &out, !ok);
}

/* ---- commands (spec §8.2) ------------------------------------------------ */

static char *strndup_str(struct alb_str s)
{
	char *p = malloc(s.len + 1);
	if (p != NULL) {
		if (s.len > 0)
			memcpy(p, s.ptr, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static const char *cmd_add(struct alb_statsd *d, const char *name,
			   const struct alb_command *cmd)
{
	size_t n_taps = cmd->u.stats_add.n_taps;
	if (n_taps > ALB_STATSD_TAPS_MAX)
		return "too many taps";
	if (d->n_vms >= ALB_STATSD_UNIKERNELS_MAX &&
	    alb_trie_find(d->vms, name) == NULL)
		return "too many unikernels";
	struct vm *vm = calloc(1, sizeof(*vm));
	if (vm == NULL)
		return "out of memory";
	vm->name = strdup(name);
	vm->pid = cmd->u.stats_add.pid;
	vm->taps = calloc(n_taps > 0 ? n_taps : 1, sizeof(*vm->taps));
	vm->ifdata = calloc(n_taps > 0 ? n_taps : 1, sizeof(*vm->ifdata));
	if (vm->name == NULL || vm->taps == NULL || vm->ifdata == NULL) {
		vm_free(vm);
		return "out of memory";
	}
	for (size_t i = 0; i < n_taps; i++) {
		const struct alb_stats_tap *t = &cmd->u.stats_add.taps[i];
		/* a tap that cannot be resolved is dropped silently, as
		 * albatross-stats does */
		unsigned idx = 0;
		if (alb_ifname_valid(t->tap.ptr, t->tap.len))
			idx = if_nametoindex(t->tap.ptr);
		if (idx == 0 || idx > INT32_MAX) {
			alb_log_debug("stats: %s: no interface %.*s", name,
				      (int)t->tap.len, t->tap.ptr);
			continue;
		}
		struct vm_tap *vt = &vm->taps[vm->n_taps];
		char *netif = strndup_str(t->netif);
		if (netif == NULL) {
			vm_free(vm);
			return "out of memory";
		}
		vt->netif = (struct alb_str){netif, t->netif.len};
		vt->ifindex = (int)idx;
		vm->n_taps++;
	}
	/* pinning the process now keeps a reused pid from being mistaken for
	 * it; when it cannot be opened yet, the first tick tries again */
	struct alb_error err;
	if (alb_stats_proc_open(vm->pid, &vm->proc, &err) != 0)
		alb_log_debug("stats: %s: %s", name, err.msg);
	void *old = NULL;
	if (alb_trie_insert(d->vms, name, vm, &old, &err) != 0) {
		vm_free(vm);
		return "out of memory";
	}
	if (old != NULL)
		vm_free(old);
	else
		d->n_vms++;
	alb_log_info("stats: monitoring %s (pid %lld, %zu of %zu taps)", name,
		     (long long)vm->pid, vm->n_taps, n_taps);
	return NULL;
}

static void vm_remove(struct alb_statsd *d, const char *name)
{
	struct vm *vm = alb_trie_remove(d->vms, name);
	if (vm == NULL)
		return;
	d->n_vms--;
	alb_log_info("stats: no longer monitoring %s", name);
	vm_free(vm);
}

static void handle_command(struct conn *c, const struct alb_msg *m)
{
	struct alb_statsd *d = c->d;
	const struct alb_header *h = &m->header;
	if (m->kind != ALB_PAYLOAD_COMMAND) {
		alb_log_warn("stats: unexpected message from a peer");
		reply(c, h, false, "unexpected command");
		return;
	}
	const struct alb_command *cmd = &m->u.command;
	const char *fail = NULL;
	switch (cmd->kind) {
	case ALB_CMD_STATS_ADD:
		fail = cmd_add(d, h->name, cmd);
		if (fail == NULL)
			reply(c, h, true, "added");
		break;
	case ALB_CMD_STATS_REMOVE:
		vm_remove(d, h->name);
		reply(c, h, true, "removed");
		break;
	case ALB_CMD_STATS_SUBSCRIBE: {
		if (c->n_subs >= ALB_STATSD_SUBS_PER_CONN_MAX &&
		    !alb_stats_subs_has(d->subs, h->name, c)) {
			fail = "too many subscriptions";
			break;
		}
		bool added;
		struct alb_error err;
		if (alb_stats_subs_add(d->subs, h->name, h->version, c, &added,
				       &err) != 0) {
			fail = "out of memory";
			break;
		}
		c->n_subs += added;
		alb_log_debug("stats: subscription to %s", h->name);
		reply(c, h, true, "subscribed");
		break;
	}
	case ALB_CMD_STATS_INITIAL:
		fail = "unexpected message initial";
		break;
	default:
		fail = "unexpected command";
		break;
	}
	if (fail != NULL) {
		alb_log_warn("stats: %s: %s", h->name, fail);
		reply(c, h, false, fail);
	}
}

static void handle_frame(struct conn *c, struct alb_bytes f)
{
	struct alb_msg *m;
	struct alb_error err;
	if (alb_msg_decode(f.ptr, f.len, 0, &m, &err) != 0) {
		/* like Albatross: a message that does not decode ends the
		 * connection without an answer */
		alb_log_warn("stats: undecodable message: %s", err.msg);
		conn_close(c, "undecodable message");
		return;
	}
	if (c->kind == CONN_VMMD && !c->ready) {
		if (m->kind == ALB_PAYLOAD_SUCCESS &&
		    m->u.success.kind == ALB_REPLY_EMPTY &&
		    m->header.sequence == 0) {
			c->ready = true;
			c->d->vmmd_failing = false;
			alb_log_info("stats: connected to albd at %s",
				     c->d->vmmd_path);
		} else {
			alb_log_error("stats: albd did not accept Stats_initial%s%.*s",
				      m->kind == ALB_PAYLOAD_FAILURE ? ": " : "",
				      m->kind == ALB_PAYLOAD_FAILURE
					  ? (int)m->u.failure.len
					  : 0,
				      m->kind == ALB_PAYLOAD_FAILURE
					  ? m->u.failure.ptr
					  : "");
			conn_close(c, "handshake refused");
		}
		alb_msg_free(m);
		return;
	}
	handle_command(c, m);
	alb_msg_free(m);
}

static void on_frame(struct dc_conn *dc, struct alb_buf *frame)
{
	struct conn *c = dc->data;
	/* after a Failure the rest is not looked at (Albatross closes) */
	if (!c->closing && !c->failed)
		handle_frame(c, (struct alb_bytes){frame->data, frame->len});
	alb_buf_free(frame);
}

static void on_lost(struct dc_conn *dc, int rc, const char *why)
{
	conn_close(dc->data, rc == ALB_EEOF ? "closed by the peer" : why);
}

static void on_closed(struct dc_conn *dc)
{
	struct conn *c = dc->data;
	if (c == NULL)
		return;
	conn_forget(c, "closed");
	free(c);
}

static void on_gone(struct dc_pool *p)
{
	struct alb_statsd *d = dc_pool_data(p);
	if (d->freeing && d->pool_open && dc_pool_handles(p) == 0) {
		d->pool_open = false;
		release(d);
	}
}

static int on_accepted(struct dc_pool *p, struct dc_conn *dc)
{
	struct alb_statsd *d = dc_pool_data(p);
	if (d->freeing)
		return -1;
	struct conn *c = conn_new(d, CONN_CLIENT);
	if (c == NULL) {
		alb_log_error("stats: out of memory");
		return -1;
	}
	c->dc = dc;
	dc->data = c;
	dc_conn_read(dc, true);
	return 0;
}

static const struct dc_ops conn_ops = {
	.accepted = on_accepted,
	.frame = on_frame,
	.lost = on_lost,
	.closed = on_closed,
	.gone = on_gone,
};

/* ---- the channel from albd ----------------------------------------------- */

static void vmmd_connect(uv_timer_t *t)
{
	struct alb_statsd *d = t->data;
	if (d->freeing || d->vmmd != NULL)
		return;
	int fd = -1;
	struct alb_error err = {0};
	if (dc_unix_connect(d->vmmd_path, &fd, &err) != 0) {
		if (!d->vmmd_failing)
			alb_log_warn("stats: %s (retrying every %d s)", err.msg,
				     ALB_STATS_RECONNECT_S);
		d->vmmd_failing = true;
		vmmd_schedule(d);
		return;
	}
	struct conn *c = conn_new(d, CONN_VMMD);
	if (c == NULL || dc_conn_open(d->pool, fd, c, &c->dc, &err) != 0) {
		if (c == NULL)
			close(fd);
		free(c);
		vmmd_schedule(d);
		return;
	}
	d->vmmd = c;
	struct alb_header h = {ALB_WIRE_VERSION, 0, ":"};
	struct alb_command cmd = {.kind = ALB_CMD_STATS_INITIAL};
	struct alb_buf out = {0};
	if (alb_statsd_encode_cmd(&h, &cmd, &out, &err) != 0) {
		alb_log_error("stats: cannot encode Stats_initial: %s", err.msg);
		conn_close(c, "encoding failed");
		return;
	}
	if (conn_send(c, &out, false) == 0)
		dc_conn_read(c->dc, false);
}

static void vmmd_schedule(struct alb_statsd *d)
{
	uv_timer_start(&d->reconnect_timer, vmmd_connect,
		       ALB_STATS_RECONNECT_S * 1000, 0);
}

/* ---- sampling --------------------------------------------------------- */

static struct alb_timeval now_tv(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (struct alb_timeval){tv.tv_sec, tv.tv_usec};
}

static int collect_todo(const char *name, void *value, void *ctx)
{
	(void)name;
	struct alb_statsd *d = ctx;
	struct vm *vm = value;
	/* with no exporter, a unikernel nobody listens to is not sampled */
	if (d->exp == NULL && !alb_stats_subs_any(d->subs, vm->name))
		return 0;
	d->todo[d->n_todo++] = vm;
	return 0;
}

/* A tap of the tick, by interface index. */
struct tap_ref {
	int ifindex;
	struct vm_tap *tap;
};

struct dump_ctx {
	struct tap_ref *refs;
	size_t n;
};

static int cmp_ref(const void *a, const void *b)
{
	int x = ((const struct tap_ref *)a)->ifindex;
	int y = ((const struct tap_ref *)b)->ifindex;
	return (x > y) - (x < y);
}

static int on_link(void *ctx, int ifindex, const char *ifname,
		   const struct alb_ifdata *data)
{
	(void)ifname;
	struct dump_ctx *dc = ctx;
	struct tap_ref key = {ifindex, NULL};
	struct tap_ref *r = bsearch(&key, dc->refs, dc->n, sizeof(*r), cmp_ref);
	if (r == NULL)
		return 0;
	/* two unikernels may name the same tap: fill every claim */
	while (r > dc->refs && r[-1].ifindex == ifindex)
		r--;
	for (; r < dc->refs + dc->n && r->ifindex == ifindex; r++) {
		r->tap->data = *data;
		r->tap->found = true;
	}
	return 0;
}

/* Reads every tap of the tick with one netlink dump (spec §8.3 asks for
 * one request per interface; one dump costs the same for all). */
static void read_taps(struct alb_statsd *d, struct vm **todo, size_t n)
{
	size_t n_refs = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < todo[i]->n_taps; j++) {
			todo[i]->taps[j].found = false;
			n_refs++;
		}
	if (n_refs == 0)
		return;
	struct tap_ref *refs = malloc(n_refs * sizeof(*refs));
	if (refs == NULL) {
		alb_log_error("stats: out of memory");
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < todo[i]->n_taps; j++)
			refs[k++] = (struct tap_ref){todo[i]->taps[j].ifindex,
						     &todo[i]->taps[j]};
	qsort(refs, n_refs, sizeof(*refs), cmp_ref);
	struct alb_error err;
	struct dump_ctx dc = {refs, n_refs};
	int rc = d->net != NULL ? 0 : alb_net_new(&d->net, &err);
	if (rc == 0)
		rc = alb_ifdata_dump(d->net, on_link, &dc, &err);
	if (rc != 0) {
		alb_log_warn("stats: cannot read interface counters: %s",
			     err.msg);
		/* a fresh socket next time */
		alb_net_free(d->net);
		d->net = NULL;
	}
	free(refs);
}

/* The stats of a sampled unikernel: its interfaces in the order
 * albatross-stats sends them (the reverse of Stats_add's), each named by
 * its unikernel-side device; a tap the kernel no longer has is left out. */
static void build_ifdata(struct vm *vm)
{
	size_t k = 0;
	for (size_t i = vm->n_taps; i-- > 0;) {
		if (!vm->taps[i].found) {
			alb_log_warn("stats: %s: failed to get ifdata for "
				     "interface #%d", vm->name,
				     vm->taps[i].ifindex);
			continue;
		}
		vm->ifdata[k] = vm->taps[i].data;
		vm->ifdata[k].bridge = vm->taps[i].netif;
		k++;
	}
	vm->stats.n_ifdata = k;
	vm->stats.ifdata = vm->ifdata;
}

static int add_target(void *ctx, void *owner, int64_t version,
		      const char *rel)
{
	struct alb_statsd *d = ctx;
	if (d->n_targets == d->cap_targets) {
		size_t cap = d->cap_targets ? d->cap_targets * 2 : 8;
		struct target *t = realloc(d->targets, cap * sizeof(*t));
		if (t == NULL)
			return ALB_ENOMEM;
		d->targets = t;
		d->cap_targets = cap;
	}
	struct target *t = &d->targets[d->n_targets++];
	t->c = owner;
	t->version = version;
	snprintf(t->name, sizeof(t->name), "%s", rel);
	return 0;
}

/* Sends the sample of vm to each subscriber that covers it, named
 * relative to the subscription (spec §8.2). */
static void publish(struct alb_statsd *d, const struct vm *vm)
{
	d->n_targets = 0;
	if (alb_stats_subs_collect(d->subs, vm->name, add_target, d) != 0)
		alb_log_error("stats: out of memory");
	/* sending may close a connection, which edits the subscriptions:
	 * not during the walk above */
	for (size_t i = 0; i < d->n_targets; i++) {
		struct target *t = &d->targets[i];
		struct alb_header h = {t->version, 0, t->name};
		struct alb_buf out = {0};
		struct alb_error err;
		if (alb_statsd_encode_data(&h, &vm->stats, &out, &err) != 0) {
			alb_log_error("stats: cannot encode %s: %s", vm->name,
				      err.msg);
			continue;
		}
		/* a connection closed by an earlier send is not used again:
		 * it is still allocated until the loop runs its close */
		conn_send(t->c, &out, false);
	}
}

static void influx_append(struct alb_statsd *d, const struct vm *vm,
			  struct alb_timeval now, struct alb_buf *batch)
{
	const char *tag = vm->name;
	const char *label;
	if (!d->influx_full_names && alb_name_label(vm->name, &label) > 0)
		tag = label;
	struct alb_error err;
	if (alb_stats_influx(tag, &vm->stats, now, batch, &err) != 0)
		alb_log_error("stats: influx: %s", err.msg);
}

static void tick(struct alb_statsd *d)
{
	if (d->n_vms == 0)
		return;
	if (d->cap_todo < d->n_vms) {
		struct vm **t = realloc(d->todo, d->n_vms * sizeof(*t));
		if (t == NULL) {
			alb_log_error("stats: out of memory");
			return;
		}
		d->todo = t;
		d->cap_todo = d->n_vms;
	}
	d->n_todo = 0;
	alb_trie_all(d->vms, collect_todo, d);
	size_t n = d->n_todo;
	struct vm **todo = d->todo;
	struct alb_error err;
	size_t live = 0;
	for (size_t i = 0; i < n; i++) {
		struct vm *vm = todo[i];
		int rc = vm->proc != NULL
			     ? 0
			     : alb_stats_proc_open(vm->pid, &vm->proc, &err);
		if (rc == 0)
			rc = alb_stats_proc_sample(vm->proc, &vm->stats.rusage,
						   &vm->stats.kinfo_mem, &err);
		if (rc != 0) {
			/* spec §8.2: without resource usage, monitoring ends */
			alb_log_error("stats: failed to get rusage for %s "
				      "(pid %lld): %s",
				      vm->name, (long long)vm->pid, err.msg);
			vm_remove(d, vm->name);
			continue;
		}
		vm->stats.has_kinfo_mem = true;
		todo[live++] = vm;
	}
	read_taps(d, todo, live);
	struct alb_timeval now = now_tv();
	struct alb_buf batch = {0};
	bool influx = dc_exporter_has_influx(d->exp);
	d->in_tick = true;
	for (size_t i = 0; i < live; i++) {
		struct vm *vm = todo[i];
		build_ifdata(vm);
		vm->sampled = true;
		publish(d, vm);
		if (influx)
			influx_append(d, vm, now, &batch);
	}
	d->in_tick = false;
	if (d->clear_after_tick) {
		d->clear_after_tick = false;
		vms_clear(d);
	}
	if (batch.len > 0)
		dc_exporter_push(d->exp, &batch);
	alb_buf_free(&batch);
}

static void on_tick(uv_timer_t *t)
{
	tick(t->data);
}

void alb_statsd_tick(struct alb_statsd *d)
{
	if (d != NULL && !d->freeing)
		tick(d);
}

size_t alb_statsd_count(const struct alb_statsd *d)
{
	return d != NULL ? d->n_vms : 0;
}

/* ---- metrics ------------------------------------------------------------ */

struct render_ctx {
	struct alb_stats_entry *v;
	size_t n;
};

static int add_entry(const char *name, void *value, void *ctx)
{
	(void)name;
	struct render_ctx *r = ctx;
	const struct vm *vm = value;
	if (vm->sampled)
		r->v[r->n++] = (struct alb_stats_entry){vm->name, &vm->stats};
	return 0;
}

/* A scrape begins with the figures of the unikernels, as before the
 * daemon's own were added. */
static int render_vms(void *ctx, struct alb_buf *out)
{
	struct alb_statsd *d = ctx;
	struct render_ctx r = {calloc(d->n_vms > 0 ? d->n_vms : 1,
				      sizeof(*r.v)),
			       0};
	if (r.v == NULL)
		return ALB_ENOMEM;
	alb_trie_all(d->vms, add_entry, &r);
	int rc = alb_stats_prometheus(r.v, r.n, now_tv(), out, NULL);
	free(r.v);
	return rc;
}

static const struct dc_metric_def own_defs[2] = {
	{"alb_stats_unikernels", "Unikernels monitored.", DC_METRIC_GAUGE,
	 false, 0, NULL, NULL, NULL, NULL, 0},
	{"alb_stats_subscriptions", "Subscriptions of the stats socket's clients.",
	 DC_METRIC_GAUGE, false, 0, NULL, NULL, NULL, NULL, 0},
};

static void collect(void *ctx)
{
	struct alb_statsd *d = ctx;
	dc_series_set(d->m_conn_active, dc_pool_accepted(d->pool));
	dc_series_set(d->m_conn_opened, dc_pool_accepted_total(d->pool));
	dc_series_set(d->m_vms, d->n_vms);
	dc_series_set(d->m_subs, alb_stats_subs_count(d->subs));
}

/* The daemon's own metrics (spec §8.6): process, connections, its own. */
static int metrics_new(struct alb_statsd *d, struct alb_error *err)
{
	d->metrics = dc_metrics_new();
	if (d->metrics == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	int rc = dc_metrics_add_process(d->metrics, err);
	if (rc == 0)
		rc = dc_metrics_connections(d->metrics, "unix", &d->m_conn_active,
					    &d->m_conn_opened, err);
	struct dc_series **own[2] = {&d->m_vms, &d->m_subs};
	for (int i = 0; i < 2 && rc == 0; i++) {
		struct dc_metric *f;
		rc = dc_metric_add(d->metrics, &own_defs[i], &f, err);
		if (rc == 0 && (*own[i] = dc_metric_series(f, NULL)) == NULL)
			rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	if (rc == 0 && dc_metrics_on_collect(d->metrics, collect, d, NULL) != 0)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	return rc;
}

/* ---- setup and teardown ------------------------------------------------ */

static int start_listener(struct alb_statsd *d, struct alb_error *err)
{
	int fd = d->listen_fd;
	d->listen_fd = -1;
	int rc;
	if (fd >= 0) {
		rc = dc_listen_fd_adopt(fd, err);
		if (rc != 0) {
			close(fd);
			return rc;
		}
	} else {
		char dir[ALB_SOCKET_PATH_BUF];
		snprintf(dir, sizeof(dir), "%s", d->stat_path);
		*strrchr(dir, '/') = '\0';
		rc = dc_mkdir_p(dir, 0755, err);
		if (rc == 0)
			rc = dc_unix_listen(d->stat_path, d->socket_gid, LISTEN_BACKLOG,
					    &fd, err);
		if (rc != 0)
			return rc;
		d->bound_path = true;
	}
	return dc_pool_listen(d->pool, fd, err);
}

static int start_exporters(struct alb_statsd *d, struct alb_error *err)
{
	if (d->influx_addr == NULL && d->prometheus_addr == NULL)
		return 0;
	struct dc_exporter_config ec = {
		.influx = d->influx_addr,
		.prometheus = d->prometheus_addr,
		.vm = "albatross_stats",
		.before = render_vms,
		.before_ctx = d,
	};
	int rc = dc_exporter_new(d->loop, d->metrics, &ec, &d->exp, err);
	if (rc == 0)
		d->open++;
	return rc;
}

void alb_statsd_config_init(struct alb_statsd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_fd = -1;
	cfg->socket_gid = -1;
}

static char *dup_opt(const char *s, bool *fail)
{
	if (s == NULL)
		return NULL;
	char *r = strdup(s);
	if (r == NULL)
		*fail = true;
	return r;
}

int alb_statsd_new(struct uv_loop_s *loop, const struct alb_statsd_config *cfg,
		   struct alb_statsd **out, struct alb_error *err)
{
	if (loop == NULL || cfg == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_statsd_new: NULL argument");
	if (!ALB_RESERVED_ZERO(cfg))
		return alb_fail(err, ALB_EINVAL,
				"alb_statsd_new: reserved fields must be zero");
	if (cfg->interval_s > ALB_STATS_INTERVAL_MAX)
		return alb_fail(err, ALB_EINVAL,
				"the interval must be 1 to %d seconds",
				ALB_STATS_INTERVAL_MAX);
	struct alb_statsd *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	d->loop = loop;
	d->listen_fd = -1;
	d->interval_s = cfg->interval_s ? cfg->interval_s
					: ALB_STATS_INTERVAL_DEFAULT;
	d->no_vmmd = cfg->no_vmmd;
	d->influx_full_names = cfg->influx_full_names;
	d->socket_gid = cfg->socket_gid;
	d->command_timeout_ms = cfg->command_timeout_ms != 0
					? cfg->command_timeout_ms
					: ALB_STATSD_COMMAND_TIMEOUT_MS;
	bool nomem = false;
	d->influx_addr = dup_opt(cfg->influx, &nomem);
	d->prometheus_addr = dup_opt(cfg->prometheus, &nomem);
	d->vms = alb_trie_new();
	d->subs = alb_stats_subs_new();
	struct dc_pool_config pc = {
		.who = "stats",
		.conn_max = ALB_STATSD_CONN_MAX,
		.frame_max = ALB_STATSD_FRAME_MAX,
		.command_timeout_ms = d->command_timeout_ms,
		.bytes_max = ALB_STATSD_READ_BYTES_MAX,
		.backlog = LISTEN_BACKLOG,
	};
	int rc = 0;
	if (nomem || d->vms == NULL || d->subs == NULL)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	if (rc == 0)
		rc = alb_endpoint_socket_path(cfg->tmpdir, ALB_ENDPOINT_VMMD,
					      d->vmmd_path, err);
	if (rc == 0)
		rc = alb_endpoint_socket_path(cfg->tmpdir, ALB_ENDPOINT_STATS,
					      d->stat_path, err);
	if (rc == 0)
		rc = dc_pool_new(loop, &pc, &conn_ops, d, &d->pool, err);
	if (rc == 0)
		rc = metrics_new(d, err);
	if (rc != 0) {
		destroy(d);
		return rc;
	}
	d->listen_fd = cfg->listen_fd;
	uv_timer_init(loop, &d->tick_timer);
	uv_timer_init(loop, &d->reconnect_timer);
	d->tick_timer.data = d->reconnect_timer.data = d;
	d->open += 3; /* the timers and the pool */
	d->pool_open = true;
	*out = d;
	return 0;
}

int alb_statsd_start(struct alb_statsd *d, struct alb_error *err)
{
	if (d == NULL || d->started || d->freeing)
		return alb_fail(err, ALB_EINVAL, "alb_statsd_start: not a new core");
	d->started = true;
	int rc = start_listener(d, err);
	if (rc == 0)
		rc = start_exporters(d, err);
	if (rc != 0)
		return rc;
	uint64_t ms = (uint64_t)d->interval_s * 1000;
	uv_timer_start(&d->tick_timer, on_tick, ms, ms);
	if (!d->no_vmmd)
		uv_timer_start(&d->reconnect_timer, vmmd_connect, 0, 0);
	return 0;
}

int alb_statsd_shutdown(struct alb_statsd *d, alb_statsd_done_fn done, void *ctx)
{
	if (d == NULL)
		return ALB_EINVAL;
	d->done = done;
	d->done_ctx = ctx;
	if (d->freeing)
		return 0;
	d->freeing = true;
	/* one reference held here, so that nothing is released while the
	 * handles are being closed */
	d->open++;
	uv_close((uv_handle_t *)&d->tick_timer, handle_closed);
	uv_close((uv_handle_t *)&d->reconnect_timer, handle_closed);
	dc_pool_close_all(d->pool);
	if (d->bound_path) {
		unlink(d->stat_path);
		d->bound_path = false;
	}
	on_gone(d->pool);
	if (d->exp != NULL)
		dc_exporter_close(d->exp, component_closed, d);
	d->exp = NULL;
	release(d);
	return 0;
}

void alb_statsd_free(struct alb_statsd *d)
{
	if (d == NULL)
		return;
	if (!d->done_called) {
		/* still running: shut down, and go once the handles closed */
		d->free_when_done = true;
		alb_statsd_shutdown(d, NULL, NULL);
		return;
	}
	destroy(d);
}
