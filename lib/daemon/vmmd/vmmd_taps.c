/* libalbatross — vmmd: taps removed in batches. Removing a tap costs the
 * kernel a few milliseconds to tens of milliseconds, mostly waiting; taps
 * released while a removal runs are queued and all removed by the next
 * one, as one group (alb_taps_destroy: one RTM_DELLINK of a device
 * group), so that stopping 1,000 unikernels costs about two batches, not
 * 1,000 removals one after the other. The runtime records that name the
 * taps (vmmd_record.c) are removed after them: until the taps are gone a
 * record names them for the next start.
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmmd_internal.h"

struct taps_waiter {
	struct vlist link;
	void (*done)(void *ctx);
	void *ctx;
};

struct taps_job {
	uv_work_t work;
	struct alb_vmmd *v;
	struct alb_ifname *taps;
	size_t n;
	struct taps_rec *recs;
	size_t n_recs;
	struct vlist waiters;
	int rc;
	struct alb_error err;
};

static void taps_start(struct alb_vmmd *v);

static void taps_work(uv_work_t *w)
{
	struct taps_job *j = w->data;
	/* a private netlink socket: this runs on a worker thread */
	j->rc = alb_taps_destroy(NULL, j->taps, j->n, &j->err);
	/* the records go last: until the taps are gone they name them */
	for (size_t i = 0; i < j->n_recs; i++)
		record_delete(j->v, j->recs[i].name, j->recs[i].id);
}

static void taps_after(uv_work_t *w, int status)
{
	(void)status;
	struct taps_job *j = w->data;
	struct alb_vmmd *v = j->v;
	if (j->rc != 0)
		alb_log_warn("vmmd: removing %zu taps: %s", j->n, j->err.msg);
	else
		alb_log_debug("vmmd: %zu taps removed", j->n);
	v->taps.running = false;
	/* the taps released meanwhile: the next batch, before this job ends
	 * (a shutdown waits for both) */
	taps_start(v);
	while (!vlist_empty(&j->waiters)) {
		struct taps_waiter *t = vlist_entry(j->waiters.next,
						    struct taps_waiter, link);
		vlist_del(&t->link);
		void (*done)(void *) = t->done;
		void *ctx = t->ctx;
		free(t);
		done(ctx);
	}
	free(j->taps);
	free(j->recs);
	free(j);
	vmmd_job_end(v);
}

static void taps_start(struct alb_vmmd *v)
{
	if (v->taps.running || v->taps.n == 0)
		return;
	struct taps_job *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		/* tried again with the next release */
		alb_log_error("vmmd: out of memory, %zu taps not removed yet",
			      v->taps.n);
		return;
	}
	j->v = v;
	j->taps = v->taps.v;
	j->n = v->taps.n;
	j->recs = v->taps.recs;
	j->n_recs = v->taps.n_recs;
	v->taps.v = NULL;
	v->taps.n = v->taps.cap = 0;
	v->taps.recs = NULL;
	v->taps.n_recs = v->taps.cap_recs = 0;
	vlist_init(&j->waiters);
	while (!vlist_empty(&v->taps.waiters)) {
		struct vlist *e = v->taps.waiters.next;
		vlist_del(e);
		vlist_push(&j->waiters, e);
	}
	j->work.data = j;
	v->taps.running = true;
	vmmd_job_begin(v);
	uv_queue_work(v->loop, &j->work, taps_work, taps_after);
}

void taps_release(struct alb_vmmd *v, const char *name, uint64_t rec_id,
		  struct alb_ifname *taps, size_t n, void (*done)(void *ctx),
		  void *ctx)
{
	bool rec = name != NULL && rec_id != 0;
	if (n == 0) {
		/* nothing of it is left: its record goes now */
		if (rec)
			record_delete(v, name, rec_id);
		free(taps);
		if (done != NULL)
			done(ctx);
		return;
	}
	struct taps_waiter *t = done != NULL ? malloc(sizeof(*t)) : NULL;
	if ((done != NULL && t == NULL) ||
	    !alb_grow((void **)&v->taps.v, &v->taps.cap, v->taps.n + n,
		      sizeof(*v->taps.v)) ||
	    (rec && !alb_grow((void **)&v->taps.recs, &v->taps.cap_recs,
			      v->taps.n_recs + 1, sizeof(*v->taps.recs)))) {
		/* the record stays: the next start removes the taps */
		alb_log_error("vmmd: out of memory, taps not removed");
		free(t);
		free(taps);
		if (done != NULL)
			done(ctx);
		return;
	}
	memcpy(v->taps.v + v->taps.n, taps, n * sizeof(*taps));
	v->taps.n += n;
	free(taps);
	if (rec) {
		struct taps_rec *r = &v->taps.recs[v->taps.n_recs++];
		r->id = rec_id;
		snprintf(r->name, sizeof(r->name), "%s", name);
	}
	if (t != NULL) {
		*t = (struct taps_waiter){.done = done, .ctx = ctx};
		vlist_push(&v->taps.waiters, &t->link);
	}
	taps_start(v);
}

void taps_free(struct alb_vmmd *v)
{
	free(v->taps.v);
	v->taps.v = NULL;
	v->taps.n = v->taps.cap = 0;
	free(v->taps.recs);
	v->taps.recs = NULL;
	v->taps.n_recs = v->taps.cap_recs = 0;
	while (!vlist_empty(&v->taps.waiters)) {
		struct vlist *e = v->taps.waiters.next;
		vlist_del(e);
		free(vlist_entry(e, struct taps_waiter, link));
	}
}
