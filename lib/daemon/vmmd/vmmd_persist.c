/* libalbatross — vmmd: persistence around the journal (doc/journal.md):
 * the startup (state file and journal read, unikernels restored, spec
 * §6.2 step 13), compaction (the state file rewritten in the threadpool
 * from the durable state, the segments it covers removed) and what
 * triggers it (journal size, age, a request, a clean shutdown), and the
 * offline compaction of a dbdir.
 *
 * Compaction keeps the state file Albatross's: byte for byte what the
 * whole-file writer wrote for the same unikernels and policies. A crash at
 * any step leaves a state file that is old or new and every segment not
 * yet removed; replaying a segment over a state that holds its changes
 * changes nothing (each record sets or removes one key), so the next
 * start reads the same durable state either way.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "io/journal_file.h"
#include "io/state_file.h"
#include "vmmd_persist.h"

bool compact_due(uint64_t journal_bytes, uint64_t state_bytes)
{
	return journal_bytes >= VMMD_COMPACT_BYTES_MIN &&
	       journal_bytes >= state_bytes;
}

/* ---- compaction ---------------------------------------------------------- */

void fg_write_begin(struct alb_vmmd *v)
{
	atomic_fetch_add(&v->fg_writes, 1);
}

void fg_write_end(struct alb_vmmd *v)
{
	atomic_fetch_sub(&v->fg_writes, 1);
}

bool fg_writes_busy(void *v)
{
	return atomic_load(&((struct alb_vmmd *)v)->fg_writes) > 0;
}

struct compaction {
	uv_work_t work;
	struct alb_vmmd *v;
	struct snapshot snap;
	uint64_t covered;      /* segments up to this one are in the snapshot */
	uint64_t journal_bytes; /* appended before the snapshot */
	bool copy_started;     /* then copy the state to state.started */
	bool last;             /* at a shutdown */
	uint64_t state_bytes;
	uint64_t t0;
	int rc;
	bool removed;          /* the covered segments are gone */
	struct alb_error err;
};

static void age_fire(uv_timer_t *t)
{
	persist_compact(t->data);
}

static void arm_age(struct alb_vmmd *v)
{
	if (v->timers_open && v->j_uncompacted &&
	    !uv_is_active((uv_handle_t *)&v->age_timer))
		uv_timer_start(&v->age_timer, age_fire, VMMD_COMPACT_AGE_MS, 0);
}

void compaction_after_append(struct alb_vmmd *v)
{
	arm_age(v);
	if (compact_due(v->j_bytes, v->state_bytes))
		v->compact_wanted = true;
}

static void compact_work(uv_work_t *w)
{
	struct compaction *c = w->data;
	const char *dbdir = c->v->dbdir;
	/* the last one, at a shutdown, has nothing to give way to */
	const struct alb_io_yield fg = {fg_writes_busy, c->v};
	const struct alb_io_yield *y = c->last ? NULL : &fg;
	c->rc = snapshot_write(dbdir, &c->snap, y, &c->state_bytes, &c->err);
	if (c->rc != 0)
		return;
	struct alb_error e = {0};
	if (c->covered == 0 || alb_journal_remove(dbdir, c->covered, y, &e) == 0)
		c->removed = true;
	else
		alb_log_warn("vmmd: compaction: %s (replayed again at the next "
			     "start: no harm)", e.msg);
	if (c->copy_started && alb_state_copy_started(dbdir, &e) != 0)
		alb_log_error("vmmd: backing up state failed: %s", e.msg);
}

static void compact_after(uv_work_t *w, int status)
{
	(void)status;
	struct compaction *c = w->data;
	struct alb_vmmd *v = c->v;
	v->compacting = NULL;
	if (c->rc == 0) {
		v->state_bytes = c->state_bytes;
		alb_log_info("vmmd: state file written: %zu unikernels, %zu "
			     "policies, %" PRIu64 " bytes, %" PRIu64 " journal "
			     "bytes folded in (%" PRIu64 " ms)", c->snap.n,
			     c->snap.np, c->state_bytes, c->journal_bytes,
			     vmmd_now_ms(v) - c->t0);
		if (!c->removed)
			v->j_uncompacted = true;
		else /* the state file holds their images now */
			filerefs_drop(&v->durable.filerefs, c->covered);
	} else {
		alb_log_error("vmmd: compaction failed, the journal is kept: %s",
			      c->err.msg);
		v->j_bytes += c->journal_bytes;
		v->j_uncompacted = true;
	}
	snapshot_free(&c->snap);
	free(c);
	arm_age(v);
	if (v->compact_wanted && v->j_batch == NULL)
		compaction_start(v);
	vmmd_maybe_done(v);
}

void compaction_start(struct alb_vmmd *v)
{
	v->compact_wanted = false;
	if (v->durable_broken) {
		alb_log_error("vmmd: no compaction: the durable state misses a "
			      "change that only the journal holds");
		return;
	}
	struct compaction *c = calloc(1, sizeof(*c));
	struct alb_error err = {0};
	if (c == NULL || durable_snapshot(&v->durable, &c->snap, &err) != 0) {
		alb_log_error("vmmd: compaction: out of memory");
		free(c);
		return;
	}
	c->v = v;
	c->last = v->stopping;
	c->t0 = vmmd_now_ms(v);
	/* the records appended from now on go to a new segment, which this
	 * compaction does not remove */
	if (v->j_fd >= 0) {
		close(v->j_fd);
		v->j_fd = -1;
	}
	c->covered = v->j_seg;
	c->journal_bytes = v->j_bytes;
	c->copy_started = v->copy_started_pending;
	v->copy_started_pending = false;
	v->j_bytes = 0;
	v->j_uncompacted = false;
	if (v->timers_open)
		uv_timer_stop(&v->age_timer);
	c->work.data = c;
	v->compacting = c;
	uv_queue_work(v->loop, &c->work, compact_work, compact_after);
	journal_kick(v); /* the segment after it, made ahead */
}

void persist_compact(struct alb_vmmd *v)
{
	if (v->compacting != NULL || v->j_batch != NULL) {
		v->compact_wanted = true;
		return;
	}
	compaction_start(v);
}

int alb_vmmd_compact(struct alb_vmmd *v)
{
	if (v == NULL || !v->persist_live)
		return ALB_EINVAL;
	alb_log_info("vmmd: compaction requested");
	persist_compact(v);
	return 0;
}

/* ---- startup --------------------------------------------------------------- */

static int encode_entry(const char *name, void *value, void *ctx)
{
	(void)ctx;
	return config_state_entry(value, name, NULL) == NULL ? ALB_ENOMEM : 0;
}

/* Deep copies of the policy values into the arena. */
static int copy_policy(struct alb_arena *a, struct alb_policy *dst,
		       const struct alb_policy *src)
{
	*dst = *src;
	dst->cpuids = alb_arena_calloc(a, src->n_cpuids, sizeof(int64_t));
	dst->bridges = alb_arena_calloc(a, src->n_bridges, sizeof(struct alb_str));
	if (dst->cpuids == NULL || dst->bridges == NULL)
		return ALB_ENOMEM;
	if (src->n_cpuids > 0)
		memcpy(dst->cpuids, src->cpuids, src->n_cpuids * sizeof(int64_t));
	for (size_t i = 0; i < src->n_bridges; i++) {
		char *s = alb_arena_strndup(a, src->bridges[i].ptr,
					    src->bridges[i].len);
		if (s == NULL)
			return ALB_ENOMEM;
		dst->bridges[i] = (struct alb_str){s, src->bridges[i].len};
	}
	return 0;
}

struct build {
	struct alb_state *st;
	struct alb_arena *a;
};

static int add_uk(const char *name, void *value, void *ctx)
{
	struct build *b = ctx;
	struct alb_state_unikernel *u = &b->st->unikernels[b->st->n_unikernels];
	u->name = alb_arena_strndup(b->a, name, strlen(name));
	if (u->name == NULL)
		return ALB_ENOMEM;
	/* borrowed from the durable state: read during the startup only */
	u->config = *(const struct alb_unikernel_config *)value;
	b->st->n_unikernels++;
	return 0;
}

static int add_policy(const char *name, void *value, void *ctx)
{
	struct build *b = ctx;
	struct alb_named_policy *p = &b->st->policies[b->st->n_policies];
	p->name = alb_arena_strndup(b->a, name, strlen(name));
	if (p->name == NULL || copy_policy(b->a, &p->policy, value) != 0)
		return ALB_ENOMEM;
	b->st->n_policies++;
	return 0;
}

/* The durable state as a struct alb_state for the startup's steps. */
static int durable_as_state(const struct durable *d, struct alb_state **out)
{
	struct build b = {0};
	b.st = alb_arena_create(sizeof(*b.st), 4096, SIZE_MAX, &b.a);
	if (b.st == NULL)
		return ALB_ENOMEM;
	b.st->arena_ = b.a;
	b.st->format = ALB_STATE_FORMAT_CURRENT;
	b.st->unikernels = alb_arena_calloc(b.a, alb_trie_count(d->uks),
					    sizeof(*b.st->unikernels));
	b.st->policies = alb_arena_calloc(b.a, alb_trie_count(d->pols),
					  sizeof(*b.st->policies));
	int rc = ALB_ENOMEM;
	if (b.st->unikernels != NULL && b.st->policies != NULL)
		rc = alb_trie_all(d->uks, add_uk, &b);
	if (rc == 0)
		rc = alb_trie_all(d->pols, add_policy, &b);
	if (rc != 0) {
		alb_arena_destroy(b.a);
		return rc;
	}
	*out = b.st;
	return 0;
}

static uint64_t state_size(const char *dbdir)
{
	char path[VMMD_PATH_MAX + 16];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/" ALB_STATE_NAME, dbdir);
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

int persist_load(struct alb_vmmd *v, struct alb_state **out,
		 struct alb_error *err)
{
	*out = NULL;
	uv_timer_init(v->loop, &v->age_timer);
	uv_timer_init(v->loop, &v->retry_timer);
	v->age_timer.data = v->retry_timer.data = v;
	v->timers_open = true;
	struct durable_load_info info;
	int rc = durable_init(&v->durable);
	if (rc != 0)
		return alb_fail(err, rc, "out of memory");
	rc = durable_load(&v->durable, v->dbdir, &info, err);
	if (rc == 0 && alb_trie_all(v->durable.uks, encode_entry, NULL) != 0)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	if (rc != 0) {
		/* Albatross bails out too: starting empty would drop every
		 * unikernel from the file at the next write */
		struct alb_error e = *err;
		return alb_fail(err, rc, "bailing out: while reading state: %s",
				e.msg);
	}
	imgstore_run_on(v->durable.store, v);
	size_t swept = imgstore_sweep(v->durable.store);
	if (swept > 0)
		alb_log_info("vmmd: %zu image files no record names removed",
			     swept);
	v->j_seg = info.last_seg;
	v->state_bytes = state_size(v->dbdir);
	if (info.segments > 0) {
		/* compacted once the daemon serves (persist_restore), then
		 * copied to state.started: the state at this start */
		v->j_uncompacted = true;
		v->copy_started_pending = true;
		alb_log_info("vmmd: journal: %" PRIu64 " records replayed from "
			     "%zu segments%s", info.records, info.segments,
			     info.torn ? " (a torn last record ignored)" : "");
	} else if (info.have_state) {
		struct alb_error e = {0};
		if (alb_state_copy_started(v->dbdir, &e) != 0)
			alb_log_error("vmmd: backing up state failed: %s", e.msg);
	}
	if (!info.have_state && info.segments == 0)
		return ALB_ENOENT;
	rc = durable_as_state(&v->durable, out);
	if (rc != 0)
		return alb_fail(err, rc, "out of memory");
	alb_log_info("vmmd: state has %zu unikernels and %zu policies",
		     (*out)->n_unikernels, (*out)->n_policies);
	return 0;
}

void persist_policies_restored(struct alb_vmmd *v)
{
	struct alb_named_policy *list = NULL;
	size_t n = 0;
	struct alb_trie *fresh = alb_trie_new();
	struct alb_error err = {0};
	if (fresh == NULL ||
	    alb_resources_policy_list(v->res, ":", &list, &n, &err) != 0) {
		alb_log_error("vmmd: out of memory listing the policies");
		alb_trie_free(fresh, NULL);
		return;
	}
	/* the policies in force, as the next compaction writes them */
	struct durable d = {.uks = NULL, .pols = fresh};
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = durable_set_policy(&d, list[i].name, &list[i].policy, &err);
	if (rc == 0) {
		struct durable old = {.uks = NULL, .pols = v->durable.pols};
		v->durable.pols = fresh;
		durable_free(&old);
	} else {
		alb_log_error("vmmd: %s", err.msg);
		durable_free(&d);
	}
	alb_named_policies_free(list);
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
 * from within) loops here instead of recursing. Its configuration is the
 * durable state's own (shared, not copied: it holds the image). */
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
		const char *name = v->restoring->unikernels[i].name;
		struct alb_unikernel_config *cfg = persist_config(v, name);
		const struct uk *u = uk_find(v, name);
		/* destroyed or created anew by a client meanwhile */
		if (cfg == NULL || (u != NULL && uk_visible(u))) {
			v->restore_advance = true;
			continue;
		}
		if (create_internal(v, name, config_retain(cfg), CREATE_RESTORE,
				    false, restore_done, NULL) != 0) {
			alb_log_error("vmmd: out of memory restoring %s", name);
			v->restore_advance = true;
		}
	} while (v->restore_advance);
	v->restore_in_step = false;
}

void persist_restore(struct alb_vmmd *v, struct alb_state *st)
{
	v->persist_live = true;
	/* a journal was replayed: the state file catches up now */
	if (v->j_uncompacted)
		persist_compact(v);
	journal_kick(v); /* the first segment, made ahead */
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

/* ---- shutdown ------------------------------------------------------------------ */

void persist_shutdown(struct alb_vmmd *v)
{
	if (v->persist_live && v->j_uncompacted)
		persist_compact(v);
}

static void timer_closed(uv_handle_t *h)
{
	struct alb_vmmd *v = h->data;
	if (--v->timers_closing == 0)
		vmmd_maybe_done(v);
}

bool persist_close(struct alb_vmmd *v)
{
	if (v->j_batch != NULL || v->compacting != NULL)
		return false;
	if (!vlist_empty(&v->j_pending)) {
		if (!v->j_final_tried) {
			/* one more try for what a failure left behind */
			v->j_final_tried = true;
			v->j_backoff = false;
			journal_kick(v);
			return false;
		}
		alb_log_error("vmmd: journal: changes not written at shutdown: "
			      "the next start may restore unikernels that ended");
		journal_free(v);
	}
	if (!v->compact_final_done) {
		v->compact_final_done = true;
		/* a clean shutdown leaves everything in the state file, which
		 * albatrossd reads (a change since persist_shutdown's
		 * compaction, e.g. a create undone, needs another) */
		if (v->persist_live && v->j_uncompacted) {
			compaction_start(v);
			if (v->compacting != NULL)
				return false;
		}
	}
	if (v->j_fd >= 0) {
		close(v->j_fd);
		v->j_fd = -1;
		/* one made ahead and never used: a clean shutdown leaves no
		 * segment behind */
		struct alb_error err = {0};
		if (v->j_size == 0 &&
		    alb_journal_discard(v->dbdir, v->j_seg, &err) != 0)
			alb_log_warn("vmmd: journal: %s", err.msg);
	}
	if (v->timers_open) {
		v->timers_open = false;
		v->timers_closing = 2;
		uv_close((uv_handle_t *)&v->age_timer, timer_closed);
		uv_close((uv_handle_t *)&v->retry_timer, timer_closed);
	}
	return v->timers_closing == 0;
}

void persist_free(struct alb_vmmd *v)
{
	/* a segment not compacted may name them: the next start decides */
	imgstore_keep(v->durable.store);
	journal_free(v);
	durable_free(&v->durable);
}

/* ---- offline ------------------------------------------------------------------- */

int alb_vmmd_compact_state(const char *dbdir, struct alb_error *err)
{
	if (dbdir == NULL)
		dbdir = ALB_DBDIR_DEFAULT;
	/* the daemon's lock of the dbdir (vmmd_lock.c): never beside a
	 * running albd, whose journal would change under us */
	int dfd = open(dbdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT
			       ? alb_fail(err, ALB_ENOENT, "%s: no state file and "
					  "no journal", dbdir)
			       : alb_fail_sys(err, "cannot open %s", dbdir);
	int lock = lock_file_take(dfd, dbdir, VMMD_LOCK_FILE, err);
	close(dfd);
	if (lock < 0)
		return lock;
	struct durable d;
	if (durable_init(&d) != 0) {
		close(lock);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	struct durable_load_info info;
	struct snapshot s = {0};
	uint64_t bytes = 0;
	int rc = durable_load(&d, dbdir, &info, err);
	if (rc == 0)
		imgstore_sweep(d.store);
	if (rc == 0 && !info.have_state && info.segments == 0)
		rc = alb_fail(err, ALB_ENOENT, "%s: no state file and no journal",
			      dbdir);
	if (rc == 0)
		rc = durable_snapshot(&d, &s, err);
	if (rc == 0)
		rc = snapshot_write(dbdir, &s, NULL, &bytes, err);
	if (rc == 0 && info.segments > 0)
		rc = alb_journal_remove(dbdir, info.last_seg, NULL, err);
	if (rc == 0)
		alb_log_info("%s/state: %zu unikernels, %zu policies, %" PRIu64
			     " bytes (%" PRIu64 " journal records from %zu "
			     "segments folded in)", dbdir, s.n, s.np, bytes,
			     info.records, info.segments);
	snapshot_free(&s);
	/* compacted: the state file holds the images of the files, which go
	 * with the last references; else they stay for the journal */
	if (rc != 0)
		imgstore_keep(d.store);
	durable_free(&d);
	close(lock);
	return rc;
}
