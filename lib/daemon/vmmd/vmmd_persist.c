/* libalbatross — vmmd: the state file (spec §6.10) and the restore of
 * unikernels at startup (§6.2 step 13).
 *
 * A change of what runs or of the policies bumps a generation counter; a
 * write takes a snapshot on the loop and encodes and writes it in the
 * threadpool (atomic replacement with fsync, state_file.c). One write runs
 * at a time;
 * changes made meanwhile go into the next one, so a burst of creates costs
 * a few writes, not one each. Whoever must answer only once the change is
 * durable waits for its generation. During a shutdown nothing is written
 * (the next start restores what ran).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "io/state_file.h"
#include "proto/state_codec.h"
#include "vmmd_internal.h"

/* What a write encodes: taken on the loop (names copied, configurations
 * retained, policies copied), encoded and written in the threadpool, so
 * that neither the encoding of many images nor the fsync holds the loop. */
struct write_job {
	uv_work_t work;
	struct alb_vmmd *v;
	size_t n, cap;
	const char **names;
	struct alb_unikernel_config **cfgs; /* retained */
	char *name_buf;
	struct alb_named_policy *pols;
	size_t np;
	uint64_t gen;
	int rc;
	struct alb_error err;
};

static void job_free(struct write_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		config_free(j->cfgs[i]);
	free(j->names);
	free(j->cfgs);
	free(j->name_buf);
	alb_named_policies_free(j->pols);
	free(j);
}

/* The configs of what runs (or waits for its restart) and every policy,
 * the root one included. One walk over the records (it runs on the loop
 * for every create): the names are copied once the room is known. */
static struct write_job *snapshot(struct alb_vmmd *v)
{
	struct write_job *j = calloc(1, sizeof(*j));
	if (j == NULL)
		return NULL;
	j->v = v;
	j->cap = v->n_all;
	j->names = calloc(j->cap ? j->cap : 1, sizeof(*j->names));
	j->cfgs = calloc(j->cap ? j->cap : 1, sizeof(*j->cfgs));
	if (j->names == NULL || j->cfgs == NULL) {
		job_free(j);
		return NULL;
	}
	size_t room = 0;
	for (struct vlist *e = v->all.next; e != &v->all && j->n < j->cap;
	     e = e->next) {
		struct uk *u = vlist_entry(e, struct uk, link);
		if (u->freeing || !uk_persisted(u))
			continue;
		/* the record's own name for now: copied below */
		j->names[j->n] = u->name;
		j->cfgs[j->n] = config_retain(u->cfg);
		j->n++;
		room += strlen(u->name) + 1;
	}
	j->name_buf = malloc(room ? room : 1);
	if (j->name_buf == NULL ||
	    alb_resources_policy_list(v->res, ":", &j->pols, &j->np, NULL) != 0) {
		job_free(j);
		return NULL;
	}
	char *p = j->name_buf;
	for (size_t i = 0; i < j->n; i++) {
		size_t l = strlen(j->names[i]) + 1;
		memcpy(p, j->names[i], l);
		j->names[i] = p;
		p += l;
	}
	return j;
}

static void start_write(struct alb_vmmd *v);

static void notify(struct alb_vmmd *v, bool all)
{
	struct vlist *e = v->st_waiters.next;
	while (e != &v->st_waiters) {
		struct persist_waiter *w = vlist_entry(e, struct persist_waiter, link);
		e = e->next;
		if (all || w->gen <= v->st_done) {
			vlist_del(&w->link);
			void (*fn)(void *) = w->fn;
			void *ctx = w->ctx;
			free(w);
			fn(ctx);
			/* fn may have added waiters; restart from the head */
			e = v->st_waiters.next;
		}
	}
}

static int by_name(const void *a, const void *b, void *ctx)
{
	const char *const *names = ctx;
	return alb_name_cmp(names[*(const size_t *)a], names[*(const size_t *)b]);
}

/* The file is a head (lengths), each unikernel's entry in name order and
 * a tail (the policies): an entry is encoded once per
 * configuration and kept with it, and the images are written from the
 * configurations themselves, so a write costs the I/O, not an encoding of
 * every unikernel. */
static void write_work(uv_work_t *w)
{
	struct write_job *j = w->data;
	size_t *order = calloc(j->n ? j->n : 1, sizeof(*order));
	struct iovec *iov = calloc(2 + 3 * j->n, sizeof(*iov));
	struct alb_buf head = {0}, tail = {0};
	if (order == NULL || iov == NULL) {
		j->rc = alb_fail(&j->err, ALB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < j->n; i++)
		order[i] = i;
	qsort_r(order, j->n, sizeof(*order), by_name, j->names);
	size_t k = 1, total = 0;
	for (size_t i = 0; i < j->n; i++) {
		struct alb_unikernel_config *c = j->cfgs[order[i]];
		const struct alb_state_entry *e =
		    config_state_entry(c, j->names[order[i]], &j->err);
		if (e == NULL) {
			j->rc = j->err.code != 0 ? j->err.code : ALB_ENOMEM;
			goto out;
		}
		iov[k++] = (struct iovec){e->bytes, e->cut};
		iov[k++] = (struct iovec){(void *)c->image.ptr, e->image};
		iov[k++] = (struct iovec){e->bytes + e->cut, e->len - e->cut};
		/* each entry is smaller than the memory holding it: no wrap */
		total += e->len + e->image;
	}
	j->rc = alb_state_encode_frame(j->pols, j->np, total, &head, &tail,
				       &j->err);
	if (j->rc != 0)
		goto out;
	iov[0] = (struct iovec){head.data, head.len};
	iov[k++] = (struct iovec){tail.data, tail.len};
	j->rc = alb_state_file_write_iov(j->v->dbdir, iov, k, &j->err);
out:
	alb_buf_free(&head);
	alb_buf_free(&tail);
	free(iov);
	free(order);
}

static void write_after(uv_work_t *w, int status)
{
	(void)status;
	struct write_job *j = w->data;
	struct alb_vmmd *v = j->v;
	if (j->rc != 0)
		alb_log_error("vmmd: failed to write the state file: %s", j->err.msg);
	else
		alb_log_debug("vmmd: state file written (generation %llu)",
			      (unsigned long long)j->gen);
	v->st_writing = false;
	v->st_done = j->gen;
	job_free(j);
	if (v->st_gen > v->st_done && !v->stopping)
		start_write(v);
	/* in a shutdown what is left is not written: nobody waits for it */
	notify(v, v->stopping);
	vmmd_maybe_done(v);
}

static void start_write(struct alb_vmmd *v)
{
	struct write_job *j = snapshot(v);
	if (j == NULL) {
		/* logged as by Albatross, and the waiters answered: the change
		 * happened, only its record failed */
		alb_log_error("vmmd: failed to write the state file: out of memory");
		v->st_done = v->st_gen;
		notify(v, false);
		return;
	}
	j->gen = v->st_gen;
	j->work.data = j;
	v->st_writing = true;
	uv_queue_work(v->loop, &j->work, write_work, write_after);
}

uint64_t persist_mark(struct alb_vmmd *v)
{
	if (v->stopping)
		return 0;
	v->st_gen++;
	if (!v->st_writing)
		start_write(v);
	return v->st_gen;
}

int persist_wait(struct alb_vmmd *v, uint64_t gen, void (*fn)(void *ctx),
		 void *ctx)
{
	if (gen == 0 || v->st_done >= gen) {
		fn(ctx);
		return 0;
	}
	struct persist_waiter *w = malloc(sizeof(*w));
	if (w == NULL)
		return ALB_ENOMEM;
	*w = (struct persist_waiter){.gen = gen, .fn = fn, .ctx = ctx};
	vlist_push(&v->st_waiters, &w->link);
	return 0;
}

int persist_load(struct alb_vmmd *v, struct alb_state **out,
		 struct alb_error *err)
{
	int rc = alb_state_read_file(v->dbdir, out, err);
	if (rc == ALB_ENOENT)
		return rc;
	if (rc != 0) {
		/* Albatross bails out too: starting empty would drop every
		 * unikernel from the file at the next write */
		struct alb_error e = *err;
		return alb_fail(err, rc, "bailing out: while reading state: %s",
				e.msg);
	}
	struct alb_error e = {0};
	if (alb_state_copy_started(v->dbdir, &e) != 0)
		alb_log_error("vmmd: backing up state failed: %s", e.msg);
	alb_log_info("vmmd: state has %zu unikernels and %zu policies",
		     (*out)->n_unikernels, (*out)->n_policies);
	return 0;
}

/* ---- restore --------------------------------------------------------------- */

static int64_t startup_of(const struct alb_unikernel_config *c)
{
	return c->has_startup ? c->startup : 50;
}

static int by_startup(const void *a, const void *b, void *ctx)
{
	const struct alb_state *st = ctx;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int64_t sa = startup_of(&st->unikernels[ia].config);
	int64_t sb = startup_of(&st->unikernels[ib].config);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	/* equal priorities keep the file's order: a stable sort */
	return ia < ib ? -1 : ia > ib;
}

static void restore_step(struct alb_vmmd *v);

static void restore_done(struct alb_vmmd *v, const char *name, int rc,
			 void *ctx)
{
	(void)ctx;
	const struct uk *u = uk_find(v, name);
	/* one that restarts on failure waits in the back-off instead */
	if (rc != 0 && (u == NULL || u->state != UK_RESTART_WAIT))
		alb_log_error("vmmd: %s could not be restored; it does not run "
			      "and leaves the state file (state.started keeps "
			      "the state as it was at startup)", name);
	if (v->restore_in_step)
		v->restore_advance = true;
	else
		restore_step(v);
}

static void restore_end(struct alb_vmmd *v)
{
	alb_log_info("vmmd: restore done");
	alb_state_free(v->restoring);
	v->restoring = NULL;
	free(v->restore_order);
	v->restore_order = NULL;
	vmmd_maybe_done(v);
}

/* Starts the next unikernel; a create that ends at once (done called
 * from within) loops here instead of recursing. */
static void restore_step(struct alb_vmmd *v)
{
	v->restore_in_step = true;
	do {
		v->restore_advance = false;
		if (v->stopping || v->restore_next >= v->restore_n) {
			v->restore_in_step = false;
			restore_end(v);
			return;
		}
		size_t i = v->restore_order[v->restore_next++];
		const struct alb_state_unikernel *s = &v->restoring->unikernels[i];
		struct alb_unikernel_config *cfg = config_copy(&s->config, NULL);
		if (cfg == NULL ||
		    create_internal(v, s->name, cfg, CREATE_RESTORE, true,
				    restore_done, NULL) != 0) {
			alb_log_error("vmmd: out of memory restoring %s", s->name);
			v->restore_advance = true;
		}
	} while (v->restore_advance);
	v->restore_in_step = false;
}

void persist_restore(struct alb_vmmd *v, struct alb_state *st)
{
	if (st == NULL)
		return;
	size_t *order = calloc(st->n_unikernels ? st->n_unikernels : 1,
			       sizeof(*order));
	if (order == NULL) {
		alb_log_error("vmmd: out of memory, no unikernel restored");
		alb_state_free(st);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < st->n_unikernels; i++) {
		const struct uk *u = uk_find(v, st->unikernels[i].name);
		if (u == NULL || !uk_visible(u)) /* adopted ones run already */
			order[n++] = i;
	}
	qsort_r(order, n, sizeof(*order), by_startup, st);
	v->restoring = st;
	v->restore_order = order;
	v->restore_n = n;
	v->restore_next = 0;
	restore_step(v);
}
