/* libalbatross — vmmd: tenders ending. A tender is watched through a pidfd
 * polled on the loop and reaped with waitid(P_PIDFD) (no SIGCHLD, no
 * uv_spawn). On exit its files, record, stats entry, resources and taps
 * are released; then whoever stopped it is told, or the restart decision
 * of spec §6.7 is applied, with a back-off for unikernels that keep
 * failing fast (destroy always wins: it cancels a pending restart).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/proc.h"
#include "vmmd_internal.h"

struct watch {
	uv_poll_t poll;
	int pidfd;
	struct uk *u;          /* only while the poll is active */
	struct alb_vmmd *v;
};

static void watch_closed(uv_handle_t *h)
{
	struct watch *w = h->data;
	struct alb_vmmd *v = w->v;
	/* the fd must stay open until libuv has let go of it */
	close(w->pidfd);
	free(w);
	vmmd_job_end(v);
}

static void watch_close(struct uk *u)
{
	if (u->watch == NULL)
		return;
	uv_close((uv_handle_t *)&u->watch->poll, watch_closed);
	u->watch = NULL;
}

int uk_signal(const struct uk *u, int sig)
{
	if (u->watch == NULL)
		return ALB_ENOENT;
	/* through the pidfd: never a recycled pid */
	if (syscall(SYS_pidfd_send_signal, u->watch->pidfd, sig, NULL, 0) != 0)
		return ALB_ESYS;
	return 0;
}

void uk_remove_files(struct uk *u)
{
	struct alb_vmmd *v = u->v;
	char image[ALB_NAME_BUF + 8];
	snprintf(image, sizeof(image), "%s.img", u->name);
	int e = vmmd_unlink(v, v->tmp_fd, image);
	if (e != 0 && e != ENOENT)
		alb_log_warn("vmmd: unlink %s/%s: %s", v->tmpdir, image,
			     strerror(e));
	if (unlinkat(v->fifo_fd, u->name, 0) != 0 && errno != ENOENT)
		alb_log_warn("vmmd: unlink %s/%s: %s", v->fifo_dir, u->name,
			     strerror(errno));
}

/* ---- restart --------------------------------------------------------------- */

static void restart_now(uv_timer_t *t);

unsigned restart_failures(unsigned prev, uint64_t ran_ms)
{
	if (ran_ms >= ALB_VMMD_RESTART_STABLE_MS)
		prev = 0;
	return prev < UINT_MAX ? prev + 1 : prev;
}

uint64_t restart_delay_ms(unsigned failures)
{
	if (failures <= 1)
		return 0;
	uint64_t d = ALB_VMMD_RESTART_DELAY_MIN_MS;
	for (unsigned i = 2; i < failures && d < ALB_VMMD_RESTART_DELAY_MAX_MS; i++)
		d *= 2;
	return d < ALB_VMMD_RESTART_DELAY_MAX_MS ? d : ALB_VMMD_RESTART_DELAY_MAX_MS;
}

void uk_cancel_restart(struct uk *u)
{
	if (u->state != UK_RESTART_WAIT)
		return;
	uv_timer_stop(&u->timer);
	u->state = UK_IDLE;
}

static void restarted(struct alb_vmmd *v, const char *name, int rc, void *ctx)
{
	(void)ctx;
	const struct uk *u = uk_find(v, name);
	/* a failure that is tried again was logged by uk_restart_retry() */
	if (rc != 0 && (u == NULL || u->state != UK_RESTART_WAIT))
		alb_log_error("vmmd: %s: restart failed, not tried again", name);
}

void uk_restart_retry(struct uk *u, const char *msg)
{
	/* the attempt counts as a run of no time: the delays grow */
	u->fast_failures = restart_failures(u->fast_failures, 0);
	uint64_t delay = restart_delay_ms(u->fast_failures);
	if (delay < ALB_VMMD_RESTART_DELAY_MIN_MS)
		delay = ALB_VMMD_RESTART_DELAY_MIN_MS;
	alb_log_error("vmmd: %s: restart failed: %s; trying again in %llu ms",
		      u->name, msg, (unsigned long long)delay);
	u->state = UK_RESTART_WAIT;
	uv_timer_start(&u->timer, restart_now, delay, 0);
}

static void restart_now(uv_timer_t *t)
{
	struct uk *u = t->data;
	struct alb_vmmd *v = u->v;
	/* an operation on the name (destroy, create) decides instead */
	if (u->state != UK_RESTART_WAIT || u->op != NULL || v->stopping)
		return;
	struct alb_unikernel_config *cfg = config_share(u->cfg);
	if (cfg == NULL) {
		alb_log_error("vmmd: %s: out of memory, not restarted", u->name);
		u->state = UK_IDLE;
		uk_forget_config(u);
		persist_unikernel(v, u->name, NULL, NULL, NULL);
		uk_maybe_free(u);
		return;
	}
	bool dump = u->restart_without_name;
	if (dump) {
		/* the unikernel did not understand --name: keep it off for good */
		cfg->add_name = false;
		alb_log_warn("vmmd: %s: exit 64 with --name, restarting without it",
			     u->name);
	}
	u->restart_without_name = false;
	/* it stays in UK_RESTART_WAIT (and in the state file) until the
	 * create has reserved its resources, or failed and waits again */
	alb_log_info("vmmd: %s: restarting", u->name);
	if (create_internal(v, u->name, cfg, CREATE_AUTO, dump, restarted, NULL) != 0) {
		alb_log_error("vmmd: %s: out of memory, not restarted", u->name);
		u->state = UK_IDLE;
		uk_forget_config(u);
		persist_unikernel(v, u->name, NULL, NULL, NULL);
		uk_maybe_free(u);
	}
}

void uk_restart_resume(struct uk *u)
{
	if (u->state == UK_RESTART_WAIT && !uv_is_active((uv_handle_t *)&u->timer))
		uv_timer_start(&u->timer, restart_now, 0, 0);
}

/* ---- exit ------------------------------------------------------------------ */

struct exit_wait {
	struct uk *u;
	uk_exit_fn fn;
	void *ctx;
};

static void exit_taps_done(void *ctx)
{
	struct exit_wait *e = ctx;
	struct uk *u = e->u;
	uk_exit_fn fn = e->fn;
	void *fctx = e->ctx;
	free(e);
	fn(u, fctx);
}

static void decide(struct uk *u, const struct alb_exit_status *st,
		   uint64_t ran_ms)
{
	struct alb_vmmd *v = u->v;
	enum alb_restart r = alb_tender_restart_decision(&u->cfg->fail,
							 u->cfg->add_name, st);
	if (r == ALB_RESTART_NO) {
		u->state = UK_IDLE;
		uk_forget_config(u);
		persist_unikernel(v, u->name, NULL, NULL, NULL);
		uk_maybe_free(u);
		return;
	}
	u->restart_without_name = r == ALB_RESTART_WITHOUT_NAME;
	u->state = UK_RESTART_WAIT;
	u->fast_failures = restart_failures(u->fast_failures, ran_ms);
	uint64_t delay = restart_delay_ms(u->fast_failures);
	if (delay > 0)
		alb_log_warn("vmmd: %s failed %u times in a row within %d ms of "
			     "starting; restarting in %llu ms", u->name,
			     u->fast_failures, ALB_VMMD_RESTART_STABLE_MS,
			     (unsigned long long)delay);
	uv_timer_start(&u->timer, restart_now, delay, 0);
}

static void exited(struct uk *u, const struct alb_exit_status *st, bool known)
{
	struct alb_vmmd *v = u->v;
	char desc[64];
	if (known)
		alb_tender_exit_format(st, desc, sizeof(desc));
	else
		snprintf(desc, sizeof(desc), "an unknown status (adopted)");
	alb_log_info("vmmd: %s (pid %d) exited with %s", u->name, (int)u->pid,
		     desc);
	/* on its own: nobody stopped it */
	if (u->on_exit == NULL && u->state != UK_STOPPING && !v->stopping)
		metrics_exited(v, st, known);
	uv_timer_stop(&u->timer);
	watch_close(u);
	keeper_close(u);
	/* reaped (or, adopted, gone): its uid and files are free again */
	blocks_take_back(&u->given);
	uid_put(v, u->uid);
	u->uid = 0;
	uk_remove_files(u);
	stats_remove(v, u->name);
	struct alb_error err = {0};
	if (alb_resources_unikernel_remove(v->res, u->name, &err) != 0)
		alb_log_warn("vmmd: %s: %s", u->name, err.msg);
	uint64_t ran = vmmd_now_ms(v) - u->started_ms;
	struct alb_ifname *taps = u->taps;
	size_t n = u->n_taps;
	u->taps = NULL;
	u->n_taps = 0;
	free(u->macs);
	u->macs = NULL;
	u->pid = 0;
	u->adopted = false;
	uint64_t rec = u->rec_id;
	u->rec_id = 0;

	if (u->on_exit != NULL) {
		uk_exit_fn fn = u->on_exit;
		void *ctx = u->on_exit_ctx;
		bool wait_taps = u->on_exit_taps;
		struct exit_wait *e = wait_taps ? malloc(sizeof(*e)) : NULL;
		u->on_exit = NULL;
		u->on_exit_ctx = NULL;
		u->state = UK_IDLE;
		if (e == NULL) {
			taps_release(v, u->name, rec, taps, n, NULL, NULL);
			fn(u, ctx);
			return;
		}
		*e = (struct exit_wait){u, fn, ctx};
		/* whoever stopped it answers once the taps are gone */
		taps_release(v, u->name, rec, taps, n, exit_taps_done, e);
		return;
	}
	taps_release(v, u->name, rec, taps, n, NULL, NULL);
	if (v->stopping || u->state == UK_STOPPING || u->cfg == NULL) {
		u->state = UK_IDLE;
		uk_forget_config(u);
		uk_maybe_free(u);
		return;
	}
	decide(u, st, ran);
}

static void on_pidfd(uv_poll_t *p, int status, int events)
{
	(void)events;
	struct watch *w = p->data;
	struct uk *u = w->u;
	struct alb_exit_status st = {.kind = ALB_EXIT_CODE, .value = -1};
	bool known = false;
	if (status < 0) {
		alb_log_error("vmmd: %s: polling its pidfd failed: %s", u->name,
			      uv_strerror(status));
	} else {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		int r = waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOHANG);
		if (r == 0 && si.si_pid == 0)
			return; /* not yet */
		if (r == 0) {
			int wstatus = alb_proc_wait_status(&si);
			if (wstatus < 0)
				return; /* stopped or continued: not an exit */
			known = alb_tender_exit_decode(wstatus, u->kind, &st) == 0;
		} else if (errno == EINTR) {
			return;
		}
		/* ECHILD: an adopted tender, another's child: the pidfd says
		 * it ended, nobody can say how (see uk_watch) */
	}
	exited(u, &st, known);
}

int uk_watch(struct uk *u, int pidfd, struct alb_error *err)
{
	struct alb_vmmd *v = u->v;
	struct watch *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		close(pidfd);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	w->pidfd = pidfd;
	w->u = u;
	w->v = v;
	int rc = uv_poll_init(v->loop, &w->poll, pidfd);
	if (rc != 0) {
		close(pidfd);
		free(w);
		return alb_fail(err, ALB_ESYS, "poll on pidfd: %s", uv_strerror(rc));
	}
	w->poll.data = w;
	vmmd_job_begin(v);
	u->watch = w;
	rc = uv_poll_start(&w->poll, UV_READABLE, on_pidfd);
	if (rc != 0) {
		watch_close(u);
		return alb_fail(err, ALB_ESYS, "poll on pidfd: %s", uv_strerror(rc));
	}
	return 0;
}

/* ---- stopping ---------------------------------------------------------------- */

static void kill_now(uv_timer_t *t)
{
	struct uk *u = t->data;
	if (u->state != UK_STOPPING)
		return;
	alb_log_warn("vmmd: %s (pid %d) did not exit %u ms after SIGTERM, "
		     "sending SIGKILL", u->name, (int)u->pid,
		     u->v->kill_timeout_ms);
	if (uk_signal(u, SIGKILL) != 0)
		alb_log_warn("vmmd: %s: SIGKILL failed: %s", u->name,
			     strerror(errno));
}

void uk_stop(struct uk *u, bool wait_taps, uk_exit_fn fn, void *ctx)
{
	u->on_exit = fn;
	u->on_exit_ctx = ctx;
	u->on_exit_taps = wait_taps;
	if (u->state == UK_STOPPING)
		return;
	u->state = UK_STOPPING;
	if (uk_signal(u, SIGTERM) != 0)
		alb_log_warn("vmmd: %s: SIGTERM failed: %s", u->name,
			     strerror(errno));
	uv_timer_start(&u->timer, kill_now, u->v->kill_timeout_ms, 0);
}

void uk_started(struct uk *u)
{
	u->state = UK_RUNNING;
	stats_add(u->v, u);
	/* a shutdown that began while this one was starting stops it too */
	if (u->v->stopping)
		uk_stop(u, false, NULL, NULL);
}
