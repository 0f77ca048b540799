/* libalbatross — the console daemon core (albatross-console, spec §7):
 * its lifecycle, the listening socket and the commands. The state lives in
 * console_state.c, the connections in console_conn.c.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "albatross/client.h"
#include "albatross/log.h"
#include "console_internal.h"
#include "base/internal.h"
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
		return;
	}
	struct alb_msg r;
	memset(&r, 0, sizeof(r));
	r.header = m->header;
	r.kind = ALB_PAYLOAD_SUCCESS;
	r.u.success.kind = ALB_REPLY_EMPTY;
	if (console_conn_send(k, &r) == 0)
		console_conn_flush(k);
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

/* ---- listening ----------------------------------------------------------- */

static void on_listen(uv_poll_t *h, int status, int events);

void console_listen_resume(struct alb_console *c)
{
	if (!c->listen_paused || c->freeing)
		return;
	c->listen_paused = false;
	uv_poll_start(&c->listener, UV_READABLE, on_listen);
}

static void on_listen(uv_poll_t *h, int status, int events)
{
	(void)events;
	struct alb_console *c = h->data;
	if (status < 0) {
		alb_log_error("listening socket: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/* Wait for a connection to close rather than spin. */
				alb_log_error("cannot accept: %s", strerror(errno));
				c->listen_paused = true;
				uv_poll_stop(&c->listener);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				alb_log_error("cannot accept: %s", strerror(errno));
			}
			return;
		}
		if (c->n_conns >= c->conn_max) {
			alb_log_warn("refusing a connection: %zu connections already",
				     c->n_conns);
			close(fd);
			continue;
		}
		console_conn_new(c, fd);
	}
}

/* Creates dir if it is missing. */
static int make_dir(const char *dir, struct alb_error *err)
{
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return alb_fail_sys(err, "cannot create %s", dir);
	return 0;
}

/* Binds path, replacing a stale socket file but not a live daemon. */
static int listen_path(const char *path, int *out, struct alb_error *err)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return alb_fail(err, ALB_ETOOBIG, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return alb_fail_sys(err, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno != EADDRINUSE) {
			int rc = alb_fail_sys(err, "cannot bind %s", path);
			close(fd);
			return rc;
		}
		struct stat sb;
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 &&
			    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			close(fd);
			return alb_fail(err, ALB_EBUSY,
					"another console daemon listens on %s", path);
		}
		if (lstat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
			close(fd);
			return alb_fail(err, ALB_EEXIST, "%s exists and is not a socket",
					path);
		}
		/* A stale socket of a daemon that is gone. */
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			int rc = alb_fail_sys(err, "cannot bind %s", path);
			close(fd);
			return rc;
		}
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		int rc = alb_fail_sys(err, "cannot listen on %s", path);
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}

static int open_listener(struct alb_console *c,
			 const struct alb_console_config *cfg, int *fd,
			 struct alb_error *err)
{
	if (cfg->use_listen_fd) {
		int fl = fcntl(cfg->listen_fd, F_GETFL);
		if (fl < 0 || fcntl(cfg->listen_fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
		    fcntl(cfg->listen_fd, F_SETFD, FD_CLOEXEC) != 0)
			return alb_fail_sys(err, "the listening socket %d", cfg->listen_fd);
		*fd = cfg->listen_fd;
		return 0;
	}
	char util[PATH_MAX];
	snprintf(util, sizeof(util), "%s/util", c->tmpdir);
	int rc = make_dir(c->tmpdir, err);
	if (rc == 0)
		rc = make_dir(util, err);
	char path[ALB_SOCKET_PATH_BUF];
	if (rc == 0)
		rc = alb_endpoint_socket_path(c->tmpdir, ALB_ENDPOINT_CONSOLE, path, err);
	if (rc == 0)
		rc = listen_path(path, fd, err);
	return rc;
}

int alb_console_new(struct uv_loop_s *loop, const struct alb_console_config *cfg,
		    struct alb_console **out, struct alb_error *err)
{
	int rc;
	if (loop == NULL || cfg == NULL || out == NULL) {
		rc = alb_fail(err, ALB_EINVAL, "alb_console_new: missing argument");
		goto fail_fd;
	}
	if (cfg->max_subscribers > ALB_CONSOLE_SUBSCRIBERS_LIMIT) {
		rc = alb_fail(err, ALB_EINVAL, "max subscribers must be at most %d",
			      ALB_CONSOLE_SUBSCRIBERS_LIMIT);
		goto fail_fd;
	}
	const char *tmpdir = cfg->tmpdir != NULL ? cfg->tmpdir : ALB_TMPDIR_DEFAULT;
	/* <tmpdir>/fifo/<name> must fit a path. */
	if (strlen(tmpdir) + sizeof("/fifo/") + ALB_NAME_MAX >= PATH_MAX) {
		rc = alb_fail(err, ALB_ETOOBIG, "temporary directory name too long");
		goto fail_fd;
	}
	struct alb_console *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->tmpdir = strdup(tmpdir)) == NULL ||
	    (c->paths = alb_trie_new()) == NULL) {
		if (c != NULL)
			free(c->tmpdir);
		free(c);
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
		goto fail_fd;
	}
	c->loop = loop;
	c->max_subs = cfg->max_subscribers != 0 ? cfg->max_subscribers
						: ALB_CONSOLE_SUBSCRIBERS_DEFAULT;
	c->pending_max = cfg->pending_max != 0 ? cfg->pending_max : ALB_CONSOLE_PENDING_MAX;
	c->inactive_max = cfg->inactive_max != 0 ? cfg->inactive_max
						 : ALB_CONSOLE_INACTIVE_MAX;
	c->conn_max = cfg->conn_max != 0 ? cfg->conn_max : ALB_CONSOLE_CONN_MAX;
	int fd = -1;
	rc = open_listener(c, cfg, &fd, err);
	if (rc == 0 && uv_poll_init(loop, &c->listener, fd) != 0)
		rc = alb_fail(err, ALB_ESYS, "cannot watch the listening socket");
	if (rc != 0) {
		/* The core owns a given socket even when it fails. */
		if (fd >= 0)
			close(fd);
		else if (cfg->use_listen_fd)
			close(cfg->listen_fd);
		console_final_free(c);
		return rc;
	}
	c->listen_fd = fd;
	c->listening = true;
	c->handles++;
	c->listener.data = c;
	uv_poll_start(&c->listener, UV_READABLE, on_listen);
	*out = c;
	return 0;
fail_fd:
	if (cfg != NULL && cfg->use_listen_fd)
		close(cfg->listen_fd);
	return rc;
}

void alb_console_get_stats(const struct alb_console *c,
			   struct alb_console_stats *out)
{
	*out = c->st;
	out->connections = c->n_conns;
	out->pending_bytes = 0;
	for (const struct conn *k = c->conns; k != NULL; k = k->next)
		out->pending_bytes += console_pending(k);
}

static void listener_closed(uv_handle_t *h)
{
	struct alb_console *c = h->data;
	close(c->listen_fd);
	console_handle_gone(c);
}

void alb_console_free(struct alb_console *c)
{
	if (c == NULL || c->freeing)
		return;
	c->freeing = true;
	while (c->conns != NULL)
		console_conn_close(c->conns);
	while (c->path_list != NULL) {
		struct cpath *p = c->path_list;
		while (p->count > 1)
			console_entry_remove(c, p->entries);
		console_entry_remove(c, p->entries); /* frees p */
	}
	if (c->listening)
		uv_close((uv_handle_t *)&c->listener, listener_closed);
	if (c->handles == 0)
		console_final_free(c);
}
