/* libalbatross — vmmd: the core's lifecycle (new, start, shutdown, free),
 * its file paths, and the dispatch of client commands (spec §6).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dcommon/socket.h"
#include "host/spawn.h"
#include "io/background.h"
#include "vmmd_internal.h"

/* Directory of the runtime records of running tenders (vmmd_adopt.c). It
 * cannot clash with <tmpdir>/<name>.img, util/ or fifo/. */
#define RUN_DIR_NAME "running"
/* Longest file name the core builds below tmpdir, beyond the name. */
#define PATH_EXTRA 32

void alb_vmmd_config_init(struct alb_vmmd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_fd = -1;
	c->socket_gid = -1;
	c->qemu_accel = ALB_QEMU_ACCEL_DEFAULT;
}

static int dir_path(char *out, const char *base, const char *sub,
		    struct alb_error *err)
{
	int n = snprintf(out, VMMD_PATH_MAX, "%s/%s", base, sub);
	if (n < 0 || (size_t)n + 1 + ALB_NAME_MAX + PATH_EXTRA >= VMMD_PATH_MAX)
		return alb_fail(err, ALB_ETOOBIG, "directory %s too long", base);
	return 0;
}

int alb_vmmd_new(struct uv_loop_s *loop, const struct alb_vmmd_config *c,
		 struct alb_vmmd **out, struct alb_error *err)
{
	if (loop == NULL || c == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_vmmd_new: NULL argument");
	if (!ALB_RESERVED_ZERO(c))
		return alb_fail(err, ALB_EINVAL,
				"alb_vmmd_new: reserved fields must be zero");
	const char *tmpdir = c->tmpdir ? c->tmpdir : ALB_TMPDIR_DEFAULT;
	const char *dbdir = c->dbdir ? c->dbdir : ALB_DBDIR_DEFAULT;
	/* before the unikernels it adopts fill the descriptor table */
	alb__spawn_slot_reserve();
	if (c->frame_max > ALB_FRAME_MAX_LIMIT)
		return alb_fail(err, ALB_EINVAL, "frame limit %zu too large",
				c->frame_max);
	struct alb_vmmd *v = calloc(1, sizeof(*v));
	if (v == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	v->loop = loop;
	snprintf(v->tmpdir, sizeof(v->tmpdir), "%s", tmpdir);
	snprintf(v->dbdir, sizeof(v->dbdir), "%s", dbdir);
	int rc = 0;
	if (strlen(tmpdir) >= VMMD_PATH_MAX || strlen(dbdir) >= VMMD_PATH_MAX)
		rc = alb_fail(err, ALB_ETOOBIG, "directory name too long");
	if (rc == 0)
		rc = dir_path(v->block_dir, dbdir, "block", err);
	if (rc == 0)
		rc = dir_path(v->fifo_dir, tmpdir, "fifo", err);
	if (rc == 0)
		rc = dir_path(v->util_dir, tmpdir, "util", err);
	if (rc == 0)
		rc = dir_path(v->run_dir, tmpdir, RUN_DIR_NAME, err);
	if (rc == 0) {
		int n = snprintf(v->sock_path, sizeof(v->sock_path),
				 "%s/vmmd.sock", v->util_dir);
		if (n < 0 || (size_t)n >= sizeof(v->sock_path))
			rc = alb_fail(err, ALB_ETOOBIG, "socket path %s/vmmd.sock "
				      "longer than %d bytes", v->util_dir,
				      ALB_SOCKET_PATH_MAX);
	}
	v->full_name = c->no_drop_path;
	v->accel = c->qemu_accel;
	v->frame_max = c->frame_max ? c->frame_max : ALB_VMMD_FRAME_MAX;
	v->conn_max = c->conn_max ? c->conn_max : ALB_VMMD_CONN_MAX;
	v->kill_timeout_ms = c->kill_timeout_ms ? c->kill_timeout_ms
						: ALB_VMMD_KILL_TIMEOUT_MS;
	v->listen_fd = c->listen_fd;
	v->socket_gid = c->socket_gid;
	v->command_timeout_ms = c->command_timeout_ms ? c->command_timeout_ms
						      : ALB_VMMD_COMMAND_TIMEOUT_MS;
	v->read_bytes_max = c->read_bytes_max ? c->read_bytes_max
					      : ALB_VMMD_READ_BYTES_MAX;
	v->run_fd = v->tmp_fd = v->fifo_fd = v->block_fd = -1;
	v->lock_ns = v->lock_tmp = v->lock_db = -1;
	v->rec_next = 1;
	vlist_init(&v->all);
	vlist_init(&v->j_pending);
	vlist_init(&v->taps.waiters);
	v->j_fd = -1;
	vlist_init(&v->console.pending);
	v->console.seq = 1;
	v->stats_seq = 1;
	if (rc == 0) {
		v->res = alb_resources_new();
		v->uks = alb_trie_new();
		if (v->res == NULL || v->uks == NULL)
			rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	if (rc == 0 && c->zvol_path != NULL)
		rc = alb_resources_set_zvol_path(v->res, c->zvol_path, err);
	if (rc == 0)
		rc = metrics_new(v, c, err);
	if (rc == 0)
		rc = uids_init(v, c->tender_uid_first, c->tender_uid_count, err);
	if (rc != 0) {
		v->listen_fd = -1; /* the caller keeps its socket on failure */
		alb_vmmd_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* The directories below tmpdir and dbdir (which vmmd_lock() made). */
static int make_dirs(struct alb_vmmd *v, struct alb_error *err)
{
	int rc = dc_mkdir_p(v->util_dir, 0755, err);
	if (rc == 0)
		rc = dc_mkdir_p(v->fifo_dir, 0755, err);
	if (rc == 0)
		rc = dc_mkdir_p(v->run_dir, 0700, err);
	if (rc == 0)
		rc = dc_mkdir_p(v->block_dir, 0700, err);
	/* the files below are opened relative to these */
	const char *dirs[4] = {v->run_dir, v->tmpdir, v->fifo_dir, v->block_dir};
	int *fds[4] = {&v->run_fd, &v->tmp_fd, &v->fifo_fd, &v->block_fd};
	for (int i = 0; i < 4 && rc == 0; i++) {
		*fds[i] = open(dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC |
						(i == 1 ? 0 : O_NOFOLLOW));
		if (*fds[i] < 0)
			rc = alb_fail_sys(err, "cannot open %s", dirs[i]);
	}
	return rc;
}

int alb_vmmd_start(struct alb_vmmd *v, struct alb_error *err)
{
	if (v == NULL || v->started || v->stopping)
		return alb_fail(err, ALB_EINVAL, "alb_vmmd_start: not a new core");
	v->started = true;
	uv_timer_init(v->loop, &v->console.retry);
	v->console.retry.data = v;
	v->console.retry_open = true;
	/* a spawn of a previous daemon that has not exec'd yet holds its
	 * locks and is invisible to the adoption's scan: waited for first
	 * (vmmd_spawning.c) */
	spawns_settle(VMMD_SPAWN_SETTLE_MS);
	/* nothing is touched before the locks are ours: a second daemon
	 * leaves the first one's unikernels, taps and files alone */
	int rc = metrics_check(v, err);
	if (rc == 0)
		rc = vmmd_lock(v, err);
	if (rc == 0)
		rc = make_dirs(v, err);
	if (rc == 0)
		rc = dirs_check(v, err);
	if (rc != 0)
		return rc;
	/* the first SHA-256 initialises OpenSSL (its configuration, its
	 * provider): 1.5 ms that the first create would pay otherwise */
	uint8_t digest[ALB_SHA256_LEN];
	alb_image_digest(NULL, 0, digest, NULL);
	uids_start(v);
	blocks_discover(v);
	uploads_sweep(v);
	struct alb_state *st = NULL;
	rc = persist_load(v, &st, err);
	if (rc == ALB_ENOENT) {
		alb_log_warn("vmmd: no state file in %s, starting with no "
			     "unikernels", v->dbdir);
		st = NULL;
	} else if (rc != 0) {
		return rc;
	}
	rc = policies_restore(v, st, err);
	if (rc == 0)
		persist_policies_restored(v);
	/* no client is served before we return: the adoption below sees
	 * what the previous daemon left */
	if (rc == 0)
		rc = vmmd_listen(v, err);
	if (rc == 0)
		rc = metrics_start(v, err);
	if (rc != 0) {
		alb_state_free(st);
		return rc;
	}
	adopt_survivors(v, st);
	alb_log_info("vmmd: listening on %s", v->sock_path);
	persist_restore(v, st);
	return 0;
}

static int stop_one(struct uk *u, void *ctx)
{
	(void)ctx;
	if (u->freeing)
		return 0;
	switch (u->state) {
	case UK_RESTART_WAIT:
		uk_cancel_restart(u);
		uk_forget_config(u);
		uk_maybe_free(u);
		break;
	case UK_RUNNING:
		/* an operation waiting for this exit keeps waiting */
		if (u->on_exit == NULL)
			uk_stop(u, false, NULL, NULL);
		break;
	case UK_IDLE:
	case UK_STARTING:
	case UK_STOPPING:
		/* a create in progress sees `stopping` at its next step */
		break;
	}
	return 0;
}

int alb_vmmd_shutdown(struct alb_vmmd *v, alb_vmmd_done_fn done, void *ctx)
{
	if (v == NULL)
		return ALB_EINVAL;
	v->done = done;
	v->done_ctx = ctx;
	if (v->stopping) {
		vmmd_maybe_done(v);
		return 0;
	}
	v->stopping = true;
	alb_log_info("vmmd: shutting down");
	vmmd_listen_close(v);
	if (v->bound_path) {
		unlink(v->sock_path);
		v->bound_path = false;
	}
	uks_cancel_queued(v);
	uks_each(v, stop_one, NULL);
	/* the state file catches up while the tenders stop */
	persist_shutdown(v);
	conns_close_idle(v);
	console_close(v);
	metrics_close(v);
	vmmd_maybe_done(v);
	return 0;
}

struct closing {
	uv_work_t work;
	struct alb_vmmd *v;
	int fd;
};

static void close_work(uv_work_t *w)
{
	/* a step at a time without waiting between steps: a pool thread is
	 * not held waiting for the journal's appends, which need one too */
	static const struct alb_io_yield steps = {NULL, NULL};
	int fd = ((struct closing *)w->data)->fd;
	alb_io_free_gradually(fd, &steps);
	close(fd);
}

static void close_after(uv_work_t *w, int status)
{
	(void)status;
	struct closing *c = w->data;
	vmmd_job_end(c->v);
	free(c);
}

int vmmd_unlink(struct alb_vmmd *v, int dirfd, const char *name)
{
	/* held open across the unlink (O_NONBLOCK: a FIFO planted there
	 * does not block us), the file's last reference is the close, after
	 * its blocks were freed a step at a time (writable: albd's own) */
	int held = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
					       O_CLOEXEC);
	if (held < 0)
		held = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
					       O_CLOEXEC);
	int e = unlinkat(dirfd, name, 0) == 0 ? 0 : errno;
	struct closing *c = held >= 0 && v != NULL && !v->freeing
				    ? malloc(sizeof(*c)) : NULL;
	if (c == NULL) {
		if (held >= 0)
			close(held);
		return e;
	}
	*c = (struct closing){.v = v, .fd = held};
	c->work.data = c;
	vmmd_job_begin(v);
	uv_queue_work(v->loop, &c->work, close_work, close_after);
	return e;
}

void vmmd_job_begin(struct alb_vmmd *v)
{
	v->jobs++;
}

void vmmd_job_end(struct alb_vmmd *v)
{
	v->jobs--;
	vmmd_maybe_done(v);
}

void vmmd_maybe_done(struct alb_vmmd *v)
{
	if (!v->stopping || v->done_called || v->n_uks > 0 ||
	    (v->pool != NULL && dc_pool_handles(v->pool) > 0) ||
	    (v->console.pool != NULL && dc_pool_handles(v->console.pool) > 0) ||
	    v->jobs > 0 || v->console.retry_open ||
	    v->restoring != NULL)
		return;
	/* the journal's last records and the final compaction, once nothing
	 * else can make a change */
	if (!persist_close(v))
		return;
	v->done_called = true;
	alb_log_info("vmmd: shut down");
	if (v->done != NULL)
		v->done(v, v->done_ctx);
}

static void free_uk(void *p)
{
	struct uk *u = p;
	/* only reached for a core freed while unikernels run: they stay;
	 * its block files stay its tender's */
	for (size_t i = 0; i < u->given.n; i++)
		close(u->given.fds[i]);
	free(u->given.fds);
	uk_release(u);
}

void alb_vmmd_free(struct alb_vmmd *v)
{
	if (v == NULL)
		return;
	v->freeing = true;
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	dc_pool_free(v->pool);
	int *fds[4] = {&v->run_fd, &v->tmp_fd, &v->fifo_fd, &v->block_fd};
	for (int i = 0; i < 4; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	vmmd_unlock(v);
	alb_trie_free(v->uks, free_uk);
	alb_resources_free(v->res);
	uids_free(v);
	dc_pool_free(v->console.pool);
	alb_state_free(v->restoring);
	free(v->restore_order);
	free(v->keep_buf);
	metrics_free(v);
	persist_free(v);
	taps_free(v);
	free(v);
}

/* ---- dispatch ----------------------------------------------------------- */

void vmmd_dispatch(struct conn *c, const struct alb_msg *m)
{
	struct hdr h;
	hdr_copy(&h, &m->header);
	if (m->kind != ALB_PAYLOAD_COMMAND) {
		alb_log_warn("vmmd: %s: ignoring a message that is not a command",
			     h.name);
		conn_reply_failure(c, &h, "unknown command");
		conn_done(c);
		return;
	}
	enum alb_cmd_kind k = m->u.command.kind;
	alb_log_debug("vmmd: %s: %s", h.name, alb_cmd_kind_name(k));
	switch (k) {
	case ALB_CMD_UNIKERNEL_INFO:
	case ALB_CMD_OLD_UNIKERNEL_INFO4:
	case ALB_CMD_OLD_UNIKERNEL_INFO5:
		vmmd_info_cmd(c, m);
		return;
	case ALB_CMD_UNIKERNEL_GET:
		vmmd_get_cmd(c, m);
		return;
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
	case ALB_CMD_UNIKERNEL_DESTROY:
	case ALB_CMD_UNIKERNEL_RESTART:
		vmmd_unikernel_cmd(c, m);
		return;
	case ALB_CMD_POLICY_INFO:
	case ALB_CMD_POLICY_ADD:
	case ALB_CMD_POLICY_REMOVE:
		vmmd_policy_cmd(c, m);
		return;
	case ALB_CMD_BLOCK_INFO:
	case ALB_CMD_BLOCK_ADD:
	case ALB_CMD_BLOCK_REMOVE:
	case ALB_CMD_BLOCK_SET:
	case ALB_CMD_BLOCK_DUMP:
	case ALB_CMD_OLD_BLOCK_ADD:
	case ALB_CMD_OLD_BLOCK_SET:
	case ALB_CMD_OLD_BLOCK_DUMP:
		vmmd_block_cmd(c, m);
		return;
	case ALB_CMD_STATS_INITIAL:
		stats_initial(c, &h);
		return;
	case ALB_CMD_CONSOLE_ADD:
	case ALB_CMD_CONSOLE_SUBSCRIBE:
	case ALB_CMD_CONSOLE_LIST_INACTIVE:
	case ALB_CMD_STATS_ADD:
	case ALB_CMD_STATS_REMOVE:
	case ALB_CMD_STATS_SUBSCRIBE:
		break;
	}
	alb_log_warn("vmmd: %s: ignoring %s", h.name, alb_cmd_kind_name(k));
	conn_reply_failure(c, &h, "unknown command");
	conn_done(c);
}
