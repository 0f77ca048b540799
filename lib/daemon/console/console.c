/* libalbatross — the console daemon core (albatross-console, spec §7):
 * its lifecycle, the listening socket and the commands. The state lives in
 * console_state.c, the connections in console_conn.c.
 * SPDX-License-Identifier: ISC */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "albatross/client.h"
#include "albatross/log.h"
#include "console_internal.h"
#include "base/internal.h"
#include "dcommon/socket.h"
#include "policy/trie.h"

/* ---- commands ------------------------------------------------------------- */

static void reply_failure(struct conn *k, const struct alb_msg *req,
			  const char *text, bool then_close)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header = req->header;
	m.kind = ALB_PAYLOAD_FAILURE;
	m.u.failure.ptr = text;
	m.u.failure.len = strlen(text);
	if (then_close)
		k->state = CONN_DONE;
	if (console_conn_send(k, &m) == 0)
		console_conn_flush(k);
}

static void reply_string(struct conn *k, const struct alb_msg *req,
			 const char *text)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header = req->header;
	m.kind = ALB_PAYLOAD_SUCCESS;
	m.u.success.kind = ALB_REPLY_STRING;
	m.u.success.u.string.ptr = text;
	m.u.success.u.string.len = strlen(text);
	console_conn_send(k, &m);
}

static void cmd_add(struct conn *k, const struct alb_msg *m)
{
	const char *name = m->header.name;
	if (alb_name_is_path(name)) {
		reply_failure(k, m, "path used instead of name", true);
		return;
	}
	if (console_add_fifo(k->c, name, m->u.command.u.console_add) != 0) {
		reply_failure(k, m, "opening", false);
		console_conn_next(k);
		return;
	}
	struct alb_msg r;
	memset(&r, 0, sizeof(r));
	r.header = m->header;
	r.kind = ALB_PAYLOAD_SUCCESS;
	r.u.success.kind = ALB_REPLY_EMPTY;
	if (console_conn_send(k, &r) == 0) {
		console_conn_flush(k);
		console_conn_next(k);
	}
}

/* Where a new subscriber's history starts (spec §7.6), as a line number. */
static uint64_t history_start(const struct alb_console_ring *ring,
			      const struct alb_command *cmd)
{
	size_t i = cmd->u.subscribe.since
			   ? alb_console_ring_from_since(ring, &cmd->u.subscribe.time)
			   : alb_console_ring_from_count(ring, cmd->u.subscribe.count);
	return alb_console_ring_total(ring) - alb_console_ring_len(ring) + i;
}

static void cmd_subscribe(struct conn *k, const struct alb_msg *m)
{
	struct alb_console *c = k->c;
	const char *name = m->header.name;
	if (alb_name_is_path(name)) {
		reply_failure(k, m, "path used instead of name", true);
		return;
	}
	char pname[ALB_NAME_BUF];
	alb_name_path(name, pname);
	const char *label;
	alb_name_label(name, &label);
	struct cpath *p = alb_trie_find(c->paths, pname);
	bool new_path = p == NULL;
	if (new_path) {
		/* Until its first Console_add a path may hold one ring. */
		p = console_path_new(c, pname, 1);
		if (p == NULL) {
			console_conn_close(k);
			return;
		}
	}
	struct entry *e = console_entry_find(p, label);
	bool new_label = e == NULL;
	if (new_label) {
		e = console_entry_new(c, p, name);
		if (e == NULL) {
			if (p->count == 0)
				console_path_free(c, p);
			console_conn_close(k);
			return;
		}
	}
	k->version = m->header.version;
	k->state = CONN_SUB;
	k->live = true;
	console_conn_subscribed(k);
	console_sub_add(c, e, k);
	/* Exactly max_subscribers (upstream keeps one more, spec §12.5 5a):
	 * the oldest goes. The new one is counted first, so that the console
	 * never looks abandoned meanwhile. */
	while (e->n_subs > c->max_subs) {
		alb_log_info("dropping the oldest subscriber of %s", e->name);
		console_conn_close(e->subs_tail);
	}
	if (new_label && !new_path) {
		/* The new console itself may be the one dropped. */
		console_maybe_drop(c, p);
		if (k->closing)
			return;
	}
	if (e->ring == NULL) {
		reply_string(k, m, "waiting for VM");
		console_conn_flush(k);
		return;
	}
	reply_string(k, m, "subscribed");
	if (k->closing)
		return;
	k->live = false;
	k->next_line = history_start(e->ring, &m->u.command);
	console_pump(k);
}

struct list_ctx {
	struct alb_console *c;
	size_t n, cap;
	char **v;
	int rc;
};

static int list_path(const char *rel, void *value, void *ctx)
{
	struct list_ctx *l = ctx;
	struct cpath *p = value;
	for (struct entry *e = p->entries; e != NULL; e = e->next) {
		if (e->reader != NULL || e->ring == NULL)
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap == 0 ? 16 : l->cap * 2;
			char **v = realloc(l->v, cap * sizeof(*v));
			if (v == NULL)
				return l->rc = ALB_ENOMEM;
			l->v = v;
			l->cap = cap;
		}
		char name[ALB_NAME_BUF];
		if (alb_name_make(rel, e->label, name, NULL) != 0)
			continue;
		l->v[l->n] = strdup(name);
		if (l->v[l->n] == NULL)
			return l->rc = ALB_ENOMEM;
		l->n++;
	}
	return 0;
}

static void cmd_list(struct conn *k, const struct alb_msg *m)
{
	const char *name = m->header.name;
	if (!alb_name_is_path(name)) {
		reply_failure(k, m, "name used", true);
		return;
	}
	struct list_ctx l = {.c = k->c};
	alb_trie_fold(k->c->paths, name, list_path, &l);
	if (l.rc == 0) {
		/* Upstream prepends while folding: the reverse order. */
		for (size_t i = 0; i < l.n / 2; i++) {
			char *t = l.v[i];
			l.v[i] = l.v[l.n - 1 - i];
			l.v[l.n - 1 - i] = t;
		}
		struct alb_msg r;
		memset(&r, 0, sizeof(r));
		r.header = m->header;
		r.kind = ALB_PAYLOAD_SUCCESS;
		r.u.success.kind = ALB_REPLY_CONSOLES;
		r.u.success.u.consoles.n = l.n;
		r.u.success.u.consoles.v = (const char **)l.v;
		k->state = CONN_DONE;
		if (console_conn_send(k, &r) == 0)
			console_conn_flush(k);
	} else {
		alb_log_error("listing inactive consoles: out of memory");
		console_conn_close(k);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
}

void console_handle_frame(struct conn *k, const uint8_t *p, size_t len)
{
	struct alb_msg *m = NULL;
	struct alb_error err;
	if (alb_msg_decode(p, len, 0, &m, &err) != 0) {
		alb_log_warn("closing a connection: cannot decode its message: %s",
			     err.msg);
		console_conn_close(k);
		return;
	}
	if (m->kind != ALB_PAYLOAD_COMMAND) {
		alb_log_error("unexpected message (not a command) for %s",
			      m->header.name);
		console_conn_close(k);
	} else if (m->u.command.kind == ALB_CMD_CONSOLE_ADD) {
		cmd_add(k, m);
	} else if (m->u.command.kind == ALB_CMD_CONSOLE_SUBSCRIBE) {
		cmd_subscribe(k, m);
	} else if (m->u.command.kind == ALB_CMD_CONSOLE_LIST_INACTIVE) {
		cmd_list(k, m);
	} else {
		alb_log_error("unexpected command %s for %s",
			      alb_cmd_kind_name(m->u.command.kind), m->header.name);
		console_conn_close(k);
	}
	alb_msg_free(m);
}

/* ---- lifecycle ------------------------------------------------------------ */

void alb_console_config_init(struct alb_console_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_fd = -1;
	cfg->socket_gid = -1;
}

int alb_console_new(struct uv_loop_s *loop, const struct alb_console_config *cfg,
		    struct alb_console **out, struct alb_error *err)
{
	if (loop == NULL || cfg == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_console_new: missing argument");
	if (!ALB_RESERVED_ZERO(cfg))
		return alb_fail(err, ALB_EINVAL,
				"alb_console_new: reserved fields must be zero");
	if (cfg->max_subscribers > ALB_CONSOLE_SUBSCRIBERS_LIMIT)
		return alb_fail(err, ALB_EINVAL, "max subscribers must be at most %d",
				ALB_CONSOLE_SUBSCRIBERS_LIMIT);
	const char *tmpdir = cfg->tmpdir != NULL ? cfg->tmpdir : ALB_TMPDIR_DEFAULT;
	/* <tmpdir>/fifo/<name> must fit a path. */
	if (strlen(tmpdir) + sizeof("/fifo/") + ALB_NAME_MAX >= PATH_MAX)
		return alb_fail(err, ALB_ETOOBIG, "temporary directory name too long");
	struct alb_console *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->tmpdir = strdup(tmpdir)) == NULL ||
	    (c->paths = alb_trie_new()) == NULL) {
		if (c != NULL) {
			free(c->tmpdir);
			alb_trie_free(c->paths, NULL);
		}
		free(c);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	c->loop = loop;
	c->max_subs = cfg->max_subscribers != 0 ? cfg->max_subscribers
						: ALB_CONSOLE_SUBSCRIBERS_DEFAULT;
	c->pending_max = cfg->pending_max != 0 ? cfg->pending_max : ALB_CONSOLE_PENDING_MAX;
	c->inactive_max = cfg->inactive_max != 0 ? cfg->inactive_max
						 : ALB_CONSOLE_INACTIVE_MAX;
	c->conn_max = cfg->conn_max != 0 ? cfg->conn_max : ALB_CONSOLE_CONN_MAX;
	c->command_timeout_ms = cfg->command_timeout_ms != 0
					? cfg->command_timeout_ms
					: ALB_CONSOLE_COMMAND_TIMEOUT_MS;
	c->listen_fd = cfg->listen_fd;
	c->socket_gid = cfg->socket_gid;
	int rc = cfg->listen_fd >= 0
			 ? 0
			 : alb_endpoint_socket_path(c->tmpdir, ALB_ENDPOINT_CONSOLE,
						    c->sock_path, err);
	struct dc_pool_config pc = {
		.who = "console",
		.conn_max = c->conn_max,
		.frame_max = ALB_CONSOLE_FRAME_MAX,
		.command_timeout_ms = c->command_timeout_ms,
		.backlog = LISTEN_BACKLOG,
	};
	if (rc == 0)
		rc = dc_pool_new(loop, &pc, &console_conn_ops, c, &c->pool, err);
	if (rc == 0)
		rc = console_metrics_new(c, cfg, err);
	if (rc != 0) {
		c->listen_fd = -1; /* the caller keeps its socket on failure */
		console_final_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int alb_console_start(struct alb_console *c, struct alb_error *err)
{
	if (c == NULL || c->started || c->freeing)
		return alb_fail(err, ALB_EINVAL, "alb_console_start: not a new core");
	c->started = true;
	/* a bad address is found before anything is made */
	int rc = console_metrics_check(c, err);
	if (rc != 0)
		return rc;
	int fd = c->listen_fd;
	c->listen_fd = -1;
	if (fd >= 0) {
		rc = dc_listen_fd_adopt(fd, err);
		if (rc != 0) {
			close(fd);
			return rc;
		}
	} else {
		char util[PATH_MAX];
		snprintf(util, sizeof(util), "%s/util", c->tmpdir);
		rc = dc_mkdir_p(util, 0755, err);
		if (rc == 0)
			rc = dc_unix_listen(c->sock_path, c->socket_gid, LISTEN_BACKLOG,
					    &fd, err);
		if (rc != 0)
			return rc;
		c->bound_path = true;
	}
	rc = dc_pool_listen(c->pool, fd, err);
	if (rc == 0)
		rc = console_metrics_start(c, err);
	return rc;
}

void alb_console_get_stats(const struct alb_console *c,
			   struct alb_console_stats *out)
{
	*out = c->st;
	out->connections = dc_pool_count(c->pool);
	out->pending_bytes = dc_pool_pending(c->pool);
}

static void maybe_done(struct alb_console *c)
{
	if (!c->freeing || c->done_called || c->handles > 0 ||
	    dc_pool_handles(c->pool) > 0)
		return;
	c->done_called = true;
	if (c->done != NULL)
		c->done(c, c->done_ctx);
	if (c->free_when_done)
		console_final_free(c);
}

void console_handle_gone(struct alb_console *c)
{
	maybe_done(c);
}

int alb_console_shutdown(struct alb_console *c, alb_console_done_fn done,
			 void *ctx)
{
	if (c == NULL)
		return ALB_EINVAL;
	c->done = done;
	c->done_ctx = ctx;
	if (c->freeing) {
		maybe_done(c);
		return 0;
	}
	c->freeing = true;
	dc_pool_close_all(c->pool);
	console_metrics_close(c);
	if (c->bound_path) {
		unlink(c->sock_path);
		c->bound_path = false;
	}
	while (c->path_list != NULL) {
		struct cpath *p = c->path_list;
		while (p->count > 1)
			console_entry_remove(c, p->entries);
		console_entry_remove(c, p->entries); /* frees p */
	}
	maybe_done(c);
	return 0;
}

void alb_console_free(struct alb_console *c)
{
	if (c == NULL)
		return;
	if (!c->done_called) {
		/* still running: shut down, and go once the handles are closed
		 * (at once when none is open) */
		c->free_when_done = true;
		alb_console_shutdown(c, NULL, NULL);
		return;
	}
	console_final_free(c);
}
