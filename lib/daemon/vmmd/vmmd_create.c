/* libalbatross — vmmd: the create procedure (spec §6.3), used by create,
 * force-create, restart, restore and restart-on-failure, without
 * Albatross's leaks: a failing step undoes what the earlier ones made.
 *
 *   begin     (loop)  running check, resource check (§4.5, every policy),
 *                     journal record queued (appended beside all that
 *                     follows, so the latency is max(), not sum())
 *   prepare   (pool)  inflate, digest, ABI note, tender lookup, manifest
 *   [replace] (loop)  once the record is durable (a refused one leaves the
 *                     running one), stop the running one, wait for its exit
 *   reserve   (loop)  resources taken, FIFO made,
 *                     Console_add sent                      } concurrently
 *   host      (pool)  image file written, taps created, each }
 *                     named in the runtime record first      }
 *   spawn     (pool)  console fd opened, our FIFO reader opened, record
 *                     at stage spawn (the intent), tender spawned with its
 *                     pidfd, record at stage running (vmmd_record.c)
 *   started   (loop)  watched, recorded, Stats_add; reply once the journal
 *                     record is durable; a record that could not be made
 *                     durable stops the tender again and the client hears
 *                     why.
 * A create that fails makes the durable state say what runs again.
 * The image is prepared before a running unikernel is replaced, so a bad
 * image never costs the running one (spec §12.2 item 8).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/write_all.h"
#include "vmmd_internal.h"

static void finish(struct uop *o);

static void fail(struct uop *o, int rc, const char *msg)
{
	if (o->rc == 0) {
		o->rc = rc;
		if (msg != o->err.msg)
			snprintf(o->err.msg, sizeof(o->err.msg), "%s", msg);
	}
	finish(o);
}

static void undone(void *ctx)
{
	finish(ctx);
}

/* Undoes what the create made (after reserve) and ends it with o->rc once
 * its taps are gone too: a failed create leaves nothing behind. */
static void undo(struct uop *o)
{
	struct uk *u = o->op.uk;
	struct alb_vmmd *v = u->v;
	struct alb_ifname *taps = o->taps;
	size_t n = o->n_taps;
	o->taps = NULL;
	o->n_taps = 0;
	if (o->image_written || o->fifo_made)
		uk_remove_files(u);
	if (o->reserved) {
		struct alb_error err = {0};
		if (alb_resources_unikernel_remove(v->res, u->name, &err) != 0)
			alb_log_warn("vmmd: %s: %s", u->name, err.msg);
		o->reserved = false;
		u->state = UK_IDLE;
	}
	/* no tender of it runs (a spawned one was reaped) */
	blocks_take_back(&o->given);
	uid_put(v, o->uid);
	o->uid = 0;
	/* the record of this start goes once its taps are gone */
	taps_release(v, u->name, o->rec_id, taps, n, undone, o);
}

/* A restart-on-failure (or the restore of a unikernel that restarts on
 * failure) that failed: the fault may be transient (a tender, bridge or
 * block device missing for a while), so it stays in the restart back-off
 * and in the state file, and is tried again until it runs or is
 * destroyed. */
static bool keep_restarting(struct uop *o)
{
	struct uk *u = o->op.uk;
	const struct alb_unikernel_config *c = u->cfg ? u->cfg : o->cfg;
	if (u->v->stopping || c == NULL ||
	    (o->mode != CREATE_AUTO && !(o->mode == CREATE_RESTORE && c->fail.restart)) ||
	    (u->state != UK_IDLE && u->state != UK_RESTART_WAIT))
		return false;
	if (u->cfg == NULL) {
		u->cfg = o->cfg;
		o->cfg = NULL;
	}
	uk_restart_retry(u, o->err.msg);
	return true;
}

/* A streamed image's copy for the tender that no tender took. */
static void stage_drop(struct uop *o)
{
	if (o->stage_fd < 0)
		return;
	close(o->stage_fd);
	o->stage_fd = -1;
	if (o->op.uk != NULL)
		unlinkat(o->op.uk->v->tmp_fd, o->stage, 0);
}

static void finish_reply(void *ctx)
{
	struct uop *o = ctx;
	struct uk *u = o->op.uk;
	struct alb_vmmd *v = u->v;
	metrics_start_done(o);
	stage_drop(o); /* gone before the client hears */
	if (o->rc != 0 && !keep_restarting(o)) {
		alb_log_error("vmmd: %s: create failed: %s", u->name, o->err.msg);
		/* the durable state says what runs or waits for its restart:
		 * nothing, or the one this create was to replace (its own
		 * record, written beside the preparation, is undone); a
		 * shutdown leaves it what it held, so that the next start
		 * restores what ran (a restart cut short by it included) */
		if (o->needs_dump || !v->stopping)
			persist_unikernel(v, u->name,
					  u->state == UK_IDLE ? NULL : u->cfg,
					  NULL, NULL);
		if (u->state == UK_RESTART_WAIT && v->stopping)
			uk_cancel_restart(u);
		if (u->state == UK_IDLE)
			uk_forget_config(u);
	}
	if (o->op.conn != NULL) {
		if (o->rc == 0)
			conn_reply_string(o->op.conn, &o->op.hdr, "created unikernel");
		else
			conn_reply_failure(o->op.conn, &o->op.hdr, o->err.msg);
		conn_done(o->op.conn);
	}
	if (o->done != NULL)
		o->done(v, u->name, o->rc, o->done_ctx);
	bool created = o->rc == 0;
	uop_free(o);
	/* nothing reads the frame any more (the reply went first) */
	if (created && persist_map_image(v, u->name, &u->cfg))
		alb_buf_free(&u->info_der); /* made from the one replaced */
	uk_op_done(u);
}

static void unpersisted_stopped(struct uk *u, void *ctx)
{
	(void)u;
	finish_reply(ctx);
}

/* The tender runs but its record could not be made durable: it is
 * stopped (its taps removed, its resources released) before the client
 * hears the reason, so that what runs and what a restart restores agree. */
static void unpersisted(struct uop *o)
{
	struct uk *u = o->op.uk;
	o->rc = o->p_rc;
	snprintf(o->err.msg, sizeof(o->err.msg),
		 "could not create unikernel, its state was not written: %.400s",
		 o->p_msg);
	switch (u->state) {
	case UK_RUNNING:
	case UK_STOPPING:
		alb_log_warn("vmmd: %s: stopping it: %s", u->name, o->p_msg);
		uk_stop(u, true, unpersisted_stopped, o);
		return;
	case UK_RESTART_WAIT:
		/* it exited while the record was written */
		uk_cancel_restart(u);
		break;
	case UK_IDLE:
	case UK_STARTING:
		break;
	}
	finish_reply(o);
}

static void finish(struct uop *o)
{
	/* o lives until its record is settled; a client hears of success
	 * only once the change is durable */
	if (o->p_wait && !o->p_done) {
		o->finishing = true;
		return;
	}
	if (o->rc == 0 && o->p_wait && o->p_rc != 0) {
		unpersisted(o);
		return;
	}
	finish_reply(o);
}

static void prepared(struct uop *o);

static void create_persisted(void *ctx, int rc, const struct alb_error *err)
{
	struct uop *o = ctx;
	o->p_done = true;
	o->p_rc = rc;
	if (rc != 0)
		snprintf(o->p_msg, sizeof(o->p_msg), "%s", err->msg);
	if (o->replace_waits) {
		o->replace_waits = false;
		prepared(o);
	} else if (o->finishing) {
		o->finishing = false;
		finish(o);
	}
}

/* ---- spawn ---------------------------------------------------------------- */

/* The tender's stdin, stdout and stderr: the FIFO when the console daemon
 * has its read side open (O_NONBLOCK makes that a check: ENXIO without a
 * reader), otherwise the log file. A Solo5 tender, which never reads its
 * console, gets the FIFO read-write: then the FIFO has a reader for as
 * long as the tender runs, and no console write of it fails (solo5-hvt
 * asserts that they succeed) whatever becomes of the console daemon and
 * of albd; QEMU reads its serial console from stdin, so it gets the write
 * side only (and SIGPIPE ignored, EPIPE it handles). */
static int open_console(struct uop *o, struct alb_error *err)
{
	struct alb_vmmd *v = o->op.uk->v;
	const char *name = o->op.uk->name;
	struct stat st;
	if (!o->use_log) {
		/* a link planted in its place is not followed */
		int fd = openat(v->fifo_fd, name, O_WRONLY | O_APPEND | O_NONBLOCK |
							  O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))) {
			close(fd);
			return alb_fail(err, ALB_EEXIST,
					"file %s/%s exists and is not a fifo",
					v->fifo_dir, name);
		}
		if (fd >= 0 && o->kind != ALB_TENDER_QEMU) {
			int rw = openat(v->fifo_fd, name, O_RDWR | O_APPEND |
							  O_NOFOLLOW | O_CLOEXEC);
			close(fd);
			struct stat st2;
			if (rw < 0)
				return alb_fail_sys(err, "file %s/%s error in open",
						    v->fifo_dir, name);
			/* the same FIFO (nothing took its place in between) */
			if (fstat(rw, &st2) != 0 || st2.st_dev != st.st_dev ||
			    st2.st_ino != st.st_ino) {
				close(rw);
				return alb_fail(err, ALB_EEXIST,
						"file %s/%s exists and is not a fifo",
						v->fifo_dir, name);
			}
			return rw;
		}
		if (fd >= 0) {
			/* the tender writes blocking, as with albatrossd */
			int fl = fcntl(fd, F_GETFL);
			if (fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
				return fd;
			close(fd);
			return alb_fail_sys(err, "file %s/%s error in fcntl",
					    v->fifo_dir, name);
		}
		if (errno != ENXIO)
			return alb_fail_sys(err, "file %s/%s error in open",
					    v->fifo_dir, name);
		o->use_log = true;
	}
	return console_log_open(v, name, err);
}

static void spawn_work(uv_work_t *w)
{
	struct uop *o = w->data;
	const struct alb_unikernel_config *cfg = o->op.uk->cfg;
	int fd = open_console(o, &o->err);
	if (fd < 0) {
		o->rc = fd;
		return;
	}
	struct alb_vmmd *v = o->op.uk->v;
	const char *name = o->op.uk->name;
	/* our reader keeps the FIFO open for the tender whatever becomes of
	 * the console daemon's */
	if (!o->use_log)
		o->keep_fd = keeper_open(v, name);
	/* the intent: after a crash, the tender spawned now is found in
	 * /proc and recognised by this record */
	o->rec->stage = RECORD_SPAWN;
	o->rec->log_output = o->use_log;
	o->rc = record_store(v, name, o->rec_id, o->rec, &o->err);
	if (o->rc != 0) {
		close(fd);
		return;
	}
	struct alb_spawn_creds creds;
	uid_creds(o->op.uk->v, o->uid, &creds);
	struct alb_spawn sp = {
		.argv = (const char *const *)o->argv.argv,
		.console_fd = fd,
		.n_cpus = cfg->n_cpuids,
		.cpus = cfg->cpuids,
		.creds = o->uid != 0 ? &creds : NULL,
	};
	struct alb_spawned child;
	o->rc = alb_tender_spawn(&sp, &child, &o->err);
	close(fd);
	if (o->rc != 0)
		return;
	o->pid = child.pid;
	o->pidfd = child.pidfd;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	o->rec->stage = RECORD_RUNNING;
	o->rec->pid = child.pid;
	o->rec->starttime = proc_starttime(child.pid);
	o->rec->started = (struct alb_time){ts.tv_sec, (uint32_t)ts.tv_nsec};
	struct alb_error err = {0};
	/* without it the stage spawn record still finds the tender */
	if (o->rec->starttime == 0 ||
	    record_store(v, name, o->rec_id, o->rec, &err) != 0)
		alb_log_warn("vmmd: %s: its runtime record keeps stage spawn: %s",
			     name, err.msg[0] ? err.msg : "no start time");
}

static void spawn_after(uv_work_t *w, int status)
{
	(void)status;
	struct uop *o = w->data;
	struct uk *u = o->op.uk;
	struct alb_vmmd *v = u->v;
	vmmd_job_end(v);
	alb_log_debug("vmmd: %s: spawned", u->name);
	if (o->rc != 0) {
		undo(o);
		return;
	}
	u->started = o->rec->started;
	u->started_ms = vmmd_now_ms(v);
	u->pid = o->pid;
	u->log_output = o->use_log;
	u->adopted = false;
	struct alb_error err = {0};
	if (uk_watch(u, o->pidfd, &err) != 0) {
		/* unwatchable: better not running than unsupervised (uk_watch
		 * closed the pidfd; the pid is our child's, not reaped yet, so
		 * it cannot name another process here) */
		kill(o->pid, SIGKILL);
		while (waitpid(o->pid, NULL, 0) < 0 && errno == EINTR)
			;
		o->rc = err.code;
		snprintf(o->err.msg, sizeof(o->err.msg), "%s", err.msg);
		undo(o);
		return;
	}
	u->rec_id = o->rec_id;
	o->rec_id = 0;
	u->console_gen = o->console_gen;
	keeper_attach(u, o->keep_fd);
	o->keep_fd = -1;
	u->taps = o->taps;
	u->n_taps = o->n_taps;
	u->macs = o->macs;
	o->taps = NULL;
	o->n_taps = 0;
	o->macs = NULL;
	u->uid = o->uid;
	u->given = o->given;
	o->uid = 0;
	memset(&o->given, 0, sizeof(o->given));
	o->reserved = false;
	o->ok = true;
	if (u->uid != 0)
		alb_log_info("vmmd: %s: created (pid %d, uid %lu%s)", u->name,
			     (int)u->pid, (unsigned long)u->uid,
			     u->log_output ? ", console output in a log file" : "");
	else
		alb_log_info("vmmd: %s: created (pid %d%s)", u->name, (int)u->pid,
			     u->log_output ? ", console output in a log file" : "");
	uk_started(u);
	finish(o);
}

static void spawn_step(struct uop *o)
{
	struct uk *u = o->op.uk;
	struct alb_vmmd *v = u->v;
	if (o->rc != 0) {
		undo(o);
		return;
	}
	if (o->console_rc == ALB_ENOENT) {
		/* the console daemon went away: its output goes to the log */
		o->use_log = true;
	} else if (o->console_rc != 0) {
		o->rc = ALB_EPROTO;
		snprintf(o->err.msg, sizeof(o->err.msg),
			 "could not create unikernel: console failed");
		undo(o);
		return;
	}
	if (v->stopping) {
		o->rc = ALB_EINVAL;
		snprintf(o->err.msg, sizeof(o->err.msg), "cancelled");
		undo(o);
		return;
	}
	struct alb_tender_net *nets = calloc(o->n_taps ? o->n_taps : 1,
					     sizeof(*nets));
	if (nets == NULL) {
		o->rc = alb_fail(&o->err, ALB_ENOMEM, "out of memory");
		undo(o);
		return;
	}
	for (size_t i = 0; i < o->n_taps; i++) {
		nets[i].tap = o->taps[i].name;
		memcpy(nets[i].mac, o->macs[i], ALB_MAC_LEN);
	}
	struct alb_tender_cmd cmd = {
		.kind = o->kind,
		.tender = o->tender,
		.name = u->name,
		.config = u->cfg,
		.nets = nets,
		.tmpdir = v->tmpdir,
		.dbdir = v->dbdir,
		.full_name = v->full_name,
		.accel = v->accel,
	};
	o->rc = alb_tender_argv(&cmd, &o->argv, &o->err);
	free(nets);
	if (o->rc != 0) {
		undo(o);
		return;
	}
	o->work.data = o;
	vmmd_job_begin(v);
	alb_log_debug("vmmd: %s: spawning", u->name);
	uv_queue_work(v->loop, &o->work, spawn_work, spawn_after);
}

/* ---- host: image file and taps ------------------------------------------- */

/* Writes the image as <tmpdir>/<name>.img: a new file #<name>.img made
 * in the tmpdir's descriptor with O_EXCL|O_NOFOLLOW (a leftover of a
 * crash is removed first; a link planted there is never followed), mode
 * 0600, given to the tender uid if there is one, renamed into place (the
 * rename replaces a planted link, never its target). */
static int write_image(struct uop *o, const char *name, struct alb_error *err)
{
	struct alb_vmmd *v = o->op.uk->v;
	char file[ALB_NAME_BUF + 8], tmp[ALB_NAME_BUF + VMMD_UPLOAD_STAGE_BUF];
	snprintf(file, sizeof(file), "%s.img", name);
	snprintf(tmp, sizeof(tmp), "#%s.img", name);
	int dirfd = v->tmp_fd;
	int fd = -1;
	const uint8_t *p = o->img.data.ptr;
	size_t left = o->img.data.len;
	if (o->stage_fd >= 0) {
		/* a streamed image's copy, written during its upload */
		fd = o->stage_fd;
		o->stage_fd = -1;
		snprintf(tmp, sizeof(tmp), "%s", o->stage);
		left = 0;
	} else {
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
						O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
			fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
							O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return alb_fail_sys(err, "file %s/%s error in open", v->tmpdir, tmp);
	int rc = 0;
	if (alb_write_all(fd, p, left) != 0)
		rc = alb_fail_sys(err, "file %s/%s error in write", v->tmpdir, tmp);
	/* whatever the umask: for albd, or the tender uid, alone */
	if (rc == 0 && fchmod(fd, 0600) != 0)
		rc = alb_fail_sys(err, "file %s/%s error in chmod", v->tmpdir, tmp);
	if (rc == 0 && o->uid != 0 && fchown(fd, o->uid, o->uid) != 0)
		rc = alb_fail_sys(err, "file %s/%s: cannot give it to uid %lu",
				  v->tmpdir, tmp, (unsigned long)o->uid);
	if (close(fd) != 0 && rc == 0)
		rc = alb_fail_sys(err, "file %s/%s error in close", v->tmpdir, tmp);
	if (rc == 0 && renameat(dirfd, tmp, dirfd, file) != 0)
		rc = alb_fail_sys(err, "file %s/%s error in rename", v->tmpdir, file);
	if (rc != 0)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

static void host_work(uv_work_t *w)
{
	struct uop *o = w->data;
	struct uk *u = o->op.uk;
	const struct alb_unikernel_config *cfg = u->cfg;
	o->rc = record_fingerprint(u->name, cfg, o->img.digest,
				   o->rec->fingerprint);
	if (o->rc != 0) {
		alb_fail(&o->err, o->rc, "out of memory");
		return;
	}
	o->rc = write_image(o, u->name, &o->err);
	if (o->rc != 0)
		return;
	o->image_written = true;
	o->rc = blocks_give(u->v, u->name, cfg, o->uid, &o->given, &o->err);
	if (o->rc != 0)
		return;
	struct record_claim claim = {u->v, u->name, o->rec_id, o->rec, {0},
				     o->uid != 0 ? (int64_t)o->uid : -1};
	for (size_t i = 0; i < cfg->n_bridges; i++) {
		const struct alb_net_dev *d = &cfg->bridges[i];
		const struct alb_str *b = d->bridge.ptr ? &d->bridge : &d->netif;
		if (!alb_ifname_valid(b->ptr, b->len)) {
			o->rc = alb_fail(&o->err, ALB_ENOENT,
					 "interface %s does not exist", b->ptr);
			return;
		}
		if (d->has_mac)
			memcpy(o->macs[i], d->mac, ALB_MAC_LEN);
		else if ((o->rc = alb_mac_derive(d->netif, u->name, o->macs[i],
						 &o->err)) != 0)
			return;
		/* named in the record before it can outlive us */
		memcpy(claim.mac, o->macs[i], ALB_MAC_LEN);
		o->rc = record_tap_create(&claim, b->ptr, o->taps[i].name, &o->err);
		if (o->rc != 0)
			return;
		o->n_taps = i + 1;
	}
}

static void step_done(struct uop *o)
{
	if (--o->pending == 0)
		spawn_step(o);
}

static void host_after(uv_work_t *w, int status)
{
	(void)status;
	struct uop *o = w->data;
	vmmd_job_end(o->op.uk->v);
	alb_log_debug("vmmd: %s: image written, taps made", o->op.uk->name);
	step_done(o);
}

static void console_done(void *ctx, int rc)
{
	struct uop *o = ctx;
	o->console_rc = rc;
	if (rc == 0)
		o->console_gen = o->op.uk->v->console.gen;
	step_done(o);
}

/* The console FIFO: reused when it is one, refused when something else is
 * in its place (Albatross's texts). */
static int make_fifo(struct alb_vmmd *v, const char *name,
		     struct alb_error *err)
{
	struct stat st;
	if (fstatat(v->fifo_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISFIFO(st.st_mode))
			return 0;
		return alb_fail(err, ALB_EEXIST,
				"file %s/%s exists and is not a fifo", v->fifo_dir,
				name);
	}
	/* the console daemon reads it through the directory's group */
	if (mkfifoat(v->fifo_fd, name, 0640) != 0)
		return alb_fail_sys(err, "file %s/%s error in mkfifo", v->fifo_dir,
				    name);
	return 0;
}

static void reserve(struct uop *o)
{
	struct uk *u = o->op.uk;
	struct alb_vmmd *v = u->v;
	if (v->stopping) {
		fail(o, ALB_EINVAL, "cancelled");
		return;
	}
	/* the resources may have been taken while the image was prepared */
	int rc = alb_resources_unikernel_check(v->res, u->name, o->cfg, NULL,
					       &o->err);
	if (rc == 0)
		rc = alb_resources_unikernel_insert(v->res, u->name, o->cfg,
						    &o->err);
	if (rc != 0) {
		fail(o, rc, o->err.msg);
		return;
	}
	size_t n = o->cfg->n_bridges;
	o->taps = calloc(n ? n : 1, sizeof(*o->taps));
	o->macs = calloc(n ? n : 1, sizeof(*o->macs));
	o->rec = calloc(1, sizeof(*o->rec));
	if (o->taps == NULL || o->macs == NULL || o->rec == NULL) {
		alb_resources_unikernel_remove(v->res, u->name, NULL);
		fail(o, ALB_ENOMEM, "out of memory");
		return;
	}
	rc = uid_take(v, &o->uid, &o->err);
	if (rc != 0) {
		alb_resources_unikernel_remove(v->res, u->name, NULL);
		fail(o, rc, o->err.msg);
		return;
	}
	uk_cancel_restart(u);
	o->reserved = true;
	config_free(u->cfg);
	u->cfg = o->cfg;
	o->cfg = NULL;
	u->state = UK_STARTING;
	u->kind = o->kind;
	memcpy(u->digest, o->img.digest, ALB_SHA256_LEN);
	o->rec_id = v->rec_next++;
	o->rec->stage = RECORD_TAPS;
	o->rec->kind = (int)o->kind;

	rc = make_fifo(v, u->name, &o->err);
	if (rc != 0) {
		o->rc = rc;
		undo(o);
		return;
	}
	o->fifo_made = true;
	o->pending = 2;
	if (console_add(v, u->name, console_done, o) != 0) {
		o->use_log = true;
		o->pending--;
	}
	o->work.data = o;
	vmmd_job_begin(v);
	uv_queue_work(v->loop, &o->work, host_work, host_after);
}

/* ---- prepare ----------------------------------------------------------------- */

static void replaced(struct uk *u, void *ctx)
{
	(void)u;
	reserve(ctx);
}

static void prepare_work(uv_work_t *w)
{
	struct uop *o = w->data;
	struct alb_vmmd *v = o->op.uk->v;
	struct alb_unikernel_config *cfg = o->cfg;
	struct imgfile *f = config_image_file(cfg);
	if (f != NULL && !cfg->compressed) {
		/* streamed: its digest was taken on the way in
		 * (vmmd_upload.c); the rest as alb_image_load() */
		o->img.data = cfg->image;
		memcpy(o->img.digest, f->id.sha256, ALB_SHA256_LEN);
		o->rc = alb_solo5_parse(cfg->image.ptr, cfg->image.len,
					&o->img.solo5, &o->err);
	} else {
		o->rc = alb_image_load(cfg->image, cfg->compressed, &o->img,
				       &o->err);
	}
	if (o->rc != 0)
		return;
	switch (o->img.solo5.target) {
	case ALB_SOLO5_HVT:
		o->kind = ALB_TENDER_HVT;
		break;
	case ALB_SOLO5_SPT:
		o->kind = ALB_TENDER_SPT;
		break;
	case ALB_SOLO5_VIRTIO:
		o->kind = ALB_TENDER_QEMU;
		break;
	default:
		o->rc = alb_fail(&o->err, ALB_EUNSUPPORTED,
				 "unsupported solo5 target %u",
				 (unsigned)o->img.solo5.target);
		return;
	}
	o->rc = alb_tender_find(o->kind, o->img.solo5.abi_version, v->dbdir,
				o->tender, &o->err);
	if (o->rc == 0)
		o->rc = alb_manifest_match(&o->img.solo5, cfg, &o->err);
}

/* The image is good: replace the running one (if any) and reserve. */
static void prepared(struct uop *o)
{
	struct uk *u = o->op.uk;
	struct alb_vmmd *v = u->v;
	if (v->stopping) {
		fail(o, ALB_EINVAL, "cancelled");
		return;
	}
	if (u->state == UK_RUNNING && o->mode == CREATE_REPLACE) {
		/* the new configuration is durable before the running one
		 * stops: a refused one leaves it running */
		if (o->p_wait && !o->p_done) {
			o->replace_waits = true;
			return;
		}
		if (o->p_wait && o->p_rc != 0) {
			char msg[ALB_ERROR_MSG_MAX];
			snprintf(msg, sizeof(msg), "could not replace unikernel, "
				 "its state was not written: %.400s", o->p_msg);
			fail(o, o->p_rc, msg);
			return;
		}
		alb_log_info("vmmd: %s: stopping the running one to replace it",
			     u->name);
		uk_stop(u, false, replaced, o);
		return;
	}
	reserve(o);
}

static void prepare_after(uv_work_t *w, int status)
{
	(void)status;
	struct uop *o = w->data;
	struct uk *u = o->op.uk;
	vmmd_job_end(u->v);
	alb_log_debug("vmmd: %s: image prepared", u->name);
	if (o->rc != 0) {
		finish(o);
		return;
	}
	prepared(o);
}

void create_begin(struct uop *o)
{
	struct uk *u = o->op.uk;
	struct alb_vmmd *v = u->v;
	if (v->stopping) {
		fail(o, ALB_EINVAL, "cancelled");
		return;
	}
	bool running = u->state == UK_RUNNING || u->state == UK_STOPPING;
	if (running && o->mode != CREATE_REPLACE) {
		fail(o, ALB_EEXIST, "Unikernel with same name is already running");
		return;
	}
	int rc = alb_resources_unikernel_check(v->res, u->name, o->cfg,
					       running ? u->name : NULL, &o->err);
	if (rc != 0) {
		fail(o, rc, o->err.msg);
		return;
	}
	if (o->cfg->typ != ALB_TYP_SOLO5) {
		fail(o, ALB_EUNSUPPORTED, "BHyve is not supported on this host");
		return;
	}
	/* the journal's append runs beside the preparation (the image's
	 * digest and checks) and the host work; a client's create waits
	 * for it, and a create that fails undoes it */
	if (o->needs_dump) {
		o->p_wait = o->op.conn != NULL;
		persist_unikernel(v, u->name, o->cfg,
				  o->p_wait ? create_persisted : NULL, o);
	}
	o->work.data = o;
	vmmd_job_begin(v);
	uv_queue_work(v->loop, &o->work, prepare_work, prepare_after);
}

/* ---- operations -------------------------------------------------------------- */

static void uop_start_create(struct op *op)
{
	create_begin((struct uop *)op);
}

static void uop_cancel(struct op *op)
{
	struct uop *o = (struct uop *)op;
	if (o->op.conn != NULL) {
		conn_reply_failure(o->op.conn, &o->op.hdr, "cancelled");
		conn_done(o->op.conn);
	}
	if (o->done != NULL)
		o->done(op->uk->v, op->uk->name, ALB_EINVAL, o->done_ctx);
	uop_free(o);
}

struct uop *uop_new(struct conn *conn, const struct hdr *h)
{
	struct uop *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	o->op.conn = conn;
	if (h != NULL)
		o->op.hdr = *h;
	o->op.start = uop_start_create;
	o->op.cancel = uop_cancel;
	o->t0 = uv_hrtime();
	o->pidfd = -1;
	o->keep_fd = -1;
	o->stage_fd = -1;
	return o;
}

void uop_free(struct uop *o)
{
	if (o == NULL)
		return;
	config_free(o->cfg);
	config_free(o->args);
	blocks_take_back(&o->given);
	free(o->taps);
	free(o->macs);
	alb_image_free(&o->img);
	alb_argv_free(&o->argv);
	free(o->rec);
	if (o->keep_fd >= 0)
		close(o->keep_fd);
	stage_drop(o);
	free(o);
}

void create_of_command(struct uop *o, struct alb_unikernel_config *cfg)
{
	o->cfg = cfg;
	o->mode = o->cmd == ALB_CMD_UNIKERNEL_CREATE ? CREATE_NEW
						     : CREATE_REPLACE;
	o->needs_dump = true;
}

int create_internal(struct alb_vmmd *v, const char *name,
		    struct alb_unikernel_config *cfg, enum create_mode mode,
		    bool needs_dump, create_done_fn done, void *ctx)
{
	struct uk *u = uk_get(v, name);
	struct uop *o = u != NULL ? uop_new(NULL, NULL) : NULL;
	if (o == NULL) {
		config_free(cfg);
		return ALB_ENOMEM;
	}
	hdr_make(&o->op.hdr, 0, name);
	o->cmd = ALB_CMD_UNIKERNEL_CREATE;
	o->mode = mode;
	o->cfg = cfg;
	o->needs_dump = needs_dump;
	o->done = done;
	o->done_ctx = ctx;
	uk_op_submit(u, &o->op);
	return 0;
}
