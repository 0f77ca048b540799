/* libalbatross — vmmd: the journal writer (doc/journal.md). A change of
 * what runs or of the policies becomes a record on the loop; the records
 * are appended to the current segment and fdatasync'ed in the threadpool,
 * all those queued at once (group commit: one append runs at a time, the
 * changes made meanwhile go into the next). Once an append is on disk its
 * records are applied to the durable state and their waiters told; when
 * it fails, its records are refused (their waiters undo the change), and
 * so is every waited record queued behind it, which may depend on them;
 * records nobody waits for (a unikernel that exited) are kept and retried.
 * A failed segment is never appended to again (its tail may hold part of
 * a record): the next append starts a new one.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "io/journal_file.h"
#include "proto/journal_codec.h"
#include "vmmd_persist.h"

struct jwaiter {
	struct vlist link;
	persist_fn fn;
	void *ctx;
};

/* One change. */
struct jrec {
	struct vlist link;
	enum alb_journal_kind kind;
	char name[ALB_NAME_BUF];
	struct alb_unikernel_config *cfg; /* ..._UNIKERNEL(_FILE): retained */
	struct imgfile *file;             /* ALB_JOURNAL_UNIKERNEL_FILE: held */
	struct alb_policy *pol;           /* ALB_JOURNAL_POLICY: a copy */
	struct alb_buf body;              /* the other kinds' body */
	struct vlist waiters;
	struct alb_journal_frame frame;   /* filled in the threadpool */
	uint64_t image_at; /* ALB_JOURNAL_UNIKERNEL: its image's offset in
			    * the append (threadpool) */
};

/* One append. */
struct jbatch {
	uv_work_t work;
	struct alb_vmmd *v;
	struct vlist recs;
	int fd;          /* the segment, or -1 to create segment seg */
	uint64_t seg;
	uint64_t size;   /* its length before, then after the append */
	uint64_t base;   /* its length before */
	uint64_t bytes;  /* appended */
	int rc;
	struct alb_error err;
};

static bool is_uk(enum alb_journal_kind k)
{
	return k == ALB_JOURNAL_UNIKERNEL || k == ALB_JOURNAL_UNIKERNEL_GONE ||
	       k == ALB_JOURNAL_UNIKERNEL_FILE;
}

static void rec_free(struct jrec *r)
{
	config_free(r->cfg);
	imgfile_release(r->file);
	alb_policy_free(r->pol);
	alb_buf_free(&r->body);
	free(r);
}

static int wait_on(struct jrec *r, persist_fn fn, void *ctx)
{
	if (fn == NULL)
		return 0;
	struct jwaiter *w = malloc(sizeof(*w));
	if (w == NULL)
		return ALB_ENOMEM;
	*w = (struct jwaiter){.fn = fn, .ctx = ctx};
	vlist_push(&r->waiters, &w->link);
	return 0;
}

/* The last record queued (or being appended) for the key of kind k and
 * name, or NULL. */
static struct jrec *latest_in(struct vlist *list, bool uk, const char *name)
{
	for (struct vlist *e = list->prev; e != list; e = e->prev) {
		struct jrec *r = vlist_entry(e, struct jrec, link);
		if (is_uk(r->kind) == uk && strcmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

static struct jrec *latest(struct alb_vmmd *v, bool uk, const char *name)
{
	struct jrec *r = latest_in(&v->j_pending, uk, name);
	if (r == NULL && v->j_batch != NULL)
		r = latest_in(&v->j_batch->recs, uk, name);
	return r;
}

static void refuse_now(persist_fn fn, void *ctx, int rc, const char *msg)
{
	struct alb_error err = {.code = rc};
	snprintf(err.msg, sizeof(err.msg), "%s", msg);
	alb_log_error("vmmd: journal: %s", msg);
	if (fn != NULL)
		fn(ctx, rc, &err);
}

/* Queues r (or, when the durable state holds its value already, or the
 * last queued record for its key carries it, only the waiter). */
static void submit(struct alb_vmmd *v, struct jrec *r, bool same_as_last,
		   struct jrec *last, persist_fn fn, void *ctx)
{
	if (same_as_last) {
		rec_free(r);
		if (last == NULL) {
			if (fn != NULL)
				fn(ctx, 0, NULL);
		} else if (wait_on(last, fn, ctx) != 0) {
			refuse_now(fn, ctx, ALB_ENOMEM, "out of memory");
		}
		return;
	}
	if (wait_on(r, fn, ctx) != 0) {
		rec_free(r);
		refuse_now(fn, ctx, ALB_ENOMEM, "out of memory");
		return;
	}
	vlist_push(&v->j_pending, &r->link);
	/* a new change is worth a new try at once */
	v->j_backoff = false;
	journal_kick(v);
}

static struct jrec *rec_new(enum alb_journal_kind kind, const char *name)
{
	struct jrec *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->kind = kind;
	snprintf(r->name, sizeof(r->name), "%s", name);
	vlist_init(&r->waiters);
	return r;
}

void persist_unikernel(struct alb_vmmd *v, const char *name,
		       struct alb_unikernel_config *cfg, persist_fn fn,
		       void *ctx)
{
	struct jrec *last = latest(v, true, name);
	bool same = last != NULL ? last->cfg == cfg
				 : persist_config(v, name) == cfg;
	/* a streamed image is in its file already: the record names it */
	struct imgfile *file = cfg != NULL ? config_image_file(cfg) : NULL;
	struct jrec *r = rec_new(cfg == NULL   ? ALB_JOURNAL_UNIKERNEL_GONE
				 : file != NULL ? ALB_JOURNAL_UNIKERNEL_FILE
						: ALB_JOURNAL_UNIKERNEL, name);
	struct alb_error err = {0};
	if (r == NULL ||
	    (cfg == NULL && !same &&
	     alb_journal_name_body(name, &r->body, &err) != 0) ||
	    (file != NULL && !same &&
	     (alb_journal_file_body(name, cfg, &file->id, &r->body, &err) != 0 ||
	      /* no append encodes its state entry: the compaction finds
	       * it encoded, as every other (it is small: no image) */
	      config_state_entry(cfg, name, &err) == NULL))) {
		if (r != NULL)
			rec_free(r);
		refuse_now(fn, ctx, ALB_ENOMEM, "out of memory");
		return;
	}
	if (cfg != NULL)
		r->cfg = config_retain(cfg);
	if (file != NULL)
		r->file = imgfile_retain(file);
	submit(v, r, same, last, fn, ctx);
}

void persist_policy(struct alb_vmmd *v, const char *path,
		    const struct alb_policy *p, persist_fn fn, void *ctx)
{
	struct jrec *last = latest(v, false, path);
	const struct alb_policy *now = last != NULL ? last->pol
						    : persist_policy_of(v, path);
	bool same = (now == NULL && p == NULL) ||
		    (now != NULL && p != NULL && alb_policy_equal(now, p));
	struct jrec *r = rec_new(p ? ALB_JOURNAL_POLICY : ALB_JOURNAL_POLICY_GONE,
				 path);
	struct alb_error err = {0};
	int rc = r == NULL ? ALB_ENOMEM : 0;
	if (rc == 0 && !same && p != NULL)
		rc = alb_policy_copy(p, &r->pol, &err);
	if (rc == 0 && !same)
		rc = p != NULL ? alb_journal_policy_body(path, p, &r->body, &err)
			       : alb_journal_name_body(path, &r->body, &err);
	if (rc != 0) {
		if (r != NULL)
			rec_free(r);
		refuse_now(fn, ctx, rc, err.msg[0] ? err.msg : "out of memory");
		return;
	}
	submit(v, r, same, last, fn, ctx);
}

struct alb_unikernel_config *persist_config(const struct alb_vmmd *v,
					    const char *name)
{
	return alb_trie_find(v->durable.uks, name);
}

const struct alb_policy *persist_policy_of(const struct alb_vmmd *v,
					   const char *path)
{
	return alb_trie_find(v->durable.pols, path);
}

bool persist_map_image(struct alb_vmmd *v, const char *name,
		       struct alb_unikernel_config **cfg)
{
	struct alb_unikernel_config *c = *cfg;
	uint64_t seg, off;
	/* mapped through the descriptor of the segment appended to */
	if (c == NULL || c->image.len < VMMD_IMAGE_MAP_MIN ||
	    !config_located(c, &seg, &off) || seg != v->j_seg || v->j_fd < 0 ||
	    persist_config(v, name) != c || latest(v, true, name) != NULL)
		return false;
	struct alb_error err = {0};
	struct imgmap *map = imgmap_new(v->durable.store, v->j_fd, off,
					c->image.len, &err);
	struct alb_unikernel_config *m = map != NULL
		? config_mapped(c, map, imgmap_data(map)) : NULL;
	imgmap_release(map);
	if (m == NULL || config_state_entry(m, name, &err) == NULL ||
	    durable_set_uk(&v->durable, name, m, &err) != 0) {
		/* it stays in its frame (a start said why, if images/
		 * cannot hold a link to dbdir's files) */
		alb_log_debug("vmmd: %s: image not mapped from the journal: %s",
			      name, err.msg[0] ? err.msg : "out of memory");
		config_free(m);
		return false;
	}
	config_free(c);
	*cfg = m;
	return true;
}

/* ---- the append, in the threadpool --------------------------------------- */

/* The pieces of r's body (at most 3) into body; returns their number, or
 * 0 with b->rc set. */
static size_t body_of(struct jbatch *b, struct jrec *r, struct iovec *body,
		      size_t *len)
{
	if (r->kind != ALB_JOURNAL_UNIKERNEL) {
		body[0] = (struct iovec){r->body.data, r->body.len};
		*len = r->body.len;
		return 1;
	}
	/* encoded here (once per configuration, kept with it): only this
	 * append touches a configuration that is not durable yet */
	b->rc = config_entry_pieces(r->cfg, r->name, body, len, &b->err);
	return b->rc == 0 ? 3 : 0;
}

static void batch_work(uv_work_t *w)
{
	struct jbatch *b = w->data;
	size_t n = 0;
	for (struct vlist *e = b->recs.next; e != &b->recs; e = e->next)
		n++;
	struct iovec *iov = calloc(5 * n + 1, sizeof(*iov));
	if (iov == NULL) {
		b->rc = alb_fail(&b->err, ALB_ENOMEM, "out of memory");
		return;
	}
	size_t k = 0;
	for (struct vlist *e = b->recs.next; e != &b->recs; e = e->next) {
		struct jrec *r = vlist_entry(e, struct jrec, link);
		struct iovec body[3];
		size_t blen = 0, nb = body_of(b, r, body, &blen);
		if (nb == 0)
			goto out;
		b->rc = alb_journal_frame_init(&r->frame, r->kind, blen, &b->err);
		if (b->rc != 0)
			goto out;
		alb_journal_seal(&r->frame, body, nb);
		iov[k++] = (struct iovec){r->frame.head, r->frame.head_len};
		r->image_at = b->bytes + r->frame.head_len + body[0].iov_len;
		for (size_t i = 0; i < nb; i++)
			iov[k++] = body[i];
		iov[k++] = (struct iovec){r->frame.crc, ALB_JOURNAL_CRC_LEN};
		b->bytes += r->frame.head_len + blen + ALB_JOURNAL_CRC_LEN;
	}
	if (b->fd < 0) {
		b->fd = alb_journal_create(b->v->dbdir, b->seg, &b->err);
		if (b->fd < 0) {
			b->rc = b->fd;
			goto out;
		}
		b->size = 0;
	}
	b->base = b->size;
	if (k > 0)
		b->rc = alb_journal_append(b->fd, iov, k, &b->size, &b->err);
	if (b->rc != 0) {
		/* the message names the file */
		struct alb_error e = b->err;
		alb_set_error(&b->err, b->rc, "%s/" ALB_JOURNAL_PREFIX "%llu: %s",
			      b->v->dbdir, (unsigned long long)b->seg, e.msg);
		b->err.sys_errno = e.sys_errno;
	}
out:
	free(iov);
}

/* ---- results, on the loop ------------------------------------------------- */

/* r's change, on disk from offset base of segment v->j_seg, to the
 * durable state. */
static void apply(struct alb_vmmd *v, struct jrec *r, uint64_t base)
{
	struct alb_error err = {0};
	int rc = 0;
	switch (r->kind) {
	case ALB_JOURNAL_UNIKERNEL:
		rc = durable_set_uk(&v->durable, r->name, r->cfg, &err);
		config_locate(r->cfg, v->j_seg, base + r->image_at);
		break;
	case ALB_JOURNAL_UNIKERNEL_GONE:
		rc = durable_set_uk(&v->durable, r->name, r->cfg, &err);
		break;
	case ALB_JOURNAL_UNIKERNEL_FILE:
		/* the file stays until a compaction removes the segment */
		rc = durable_set_uk(&v->durable, r->name, r->cfg, &err);
		if (rc == 0 && filerefs_add(&v->durable.filerefs, v->j_seg,
					     r->file) != 0)
			rc = alb_fail(&err, ALB_ENOMEM, "out of memory");
		/* the state file will hold the image: it counts */
		v->j_bytes += r->file->id.len;
		break;
	case ALB_JOURNAL_POLICY:
	case ALB_JOURNAL_POLICY_GONE:
		rc = durable_set_policy(&v->durable, r->name, r->pol, &err);
		break;
	}
	/* on disk but not in the durable state (out of memory): a compaction
	 * would drop it with the segment, so none runs until a restart, which
	 * replays the journal */
	if (rc != 0) {
		alb_log_error("vmmd: %s: %s; the journal holds the change, no "
			      "compaction until the next start", r->name, err.msg);
		v->durable_broken = true;
	}
}

/* Calls the waiters of r with the result and frees r. */
static void settle(struct jrec *r, int rc, const struct alb_error *err)
{
	while (!vlist_empty(&r->waiters)) {
		struct jwaiter *w = vlist_entry(r->waiters.next, struct jwaiter,
						link);
		vlist_del(&w->link);
		persist_fn fn = w->fn;
		void *ctx = w->ctx;
		free(w);
		fn(ctx, rc, rc != 0 ? err : NULL);
	}
	rec_free(r);
}

static void retry_fire(uv_timer_t *t)
{
	struct alb_vmmd *v = t->data;
	v->j_backoff = false;
	journal_kick(v);
}

static void batch_after(uv_work_t *w, int status)
{
	(void)status;
	struct jbatch *b = w->data;
	struct alb_vmmd *v = b->v;
	v->j_batch = NULL;
	struct vlist done;
	vlist_init(&done);
	bool ahead = vlist_empty(&b->recs); /* only the segment made */
	if (b->fd >= 0 && b->fd != v->j_fd) {
		/* a new segment: appended to from now on, or abandoned */
		if (v->j_fd >= 0)
			close(v->j_fd);
		v->j_fd = b->fd;
		v->j_seg = b->seg;
	} else if (b->fd < 0) {
		v->j_seg = b->seg; /* its number is used (maybe half-made) */
	}
	if (b->rc == 0 && ahead) {
		alb_log_debug("vmmd: journal: segment %llu made ahead",
			      (unsigned long long)v->j_seg);
		v->j_size = 0;
	} else if (ahead) {
		/* the next append makes it, and says why it cannot */
		alb_log_warn("vmmd: journal: the next segment could not be made "
			     "ahead: %s", b->err.msg);
		v->j_no_ahead = true;
	} else if (b->rc == 0) {
		v->j_no_ahead = false;
		alb_log_debug("vmmd: journal: %llu bytes appended to segment %llu",
			      (unsigned long long)b->bytes,
			      (unsigned long long)v->j_seg);
		v->j_size = b->size;
		v->j_bytes += b->bytes;
		v->j_uncompacted = true;
		while (!vlist_empty(&b->recs)) {
			struct vlist *e = b->recs.next;
			vlist_del(e);
			apply(v, vlist_entry(e, struct jrec, link), b->base);
			vlist_push(&done, e);
		}
		compaction_after_append(v);
	} else {
		alb_log_error("vmmd: journal: %s", b->err.msg);
		if (v->j_fd >= 0) {
			close(v->j_fd);
			v->j_fd = -1;
		}
		/* refused: the waited records of the append and those queued
		 * behind it; kept: the others, in their order, in front */
		struct vlist keep;
		vlist_init(&keep);
		while (!vlist_empty(&b->recs)) {
			struct vlist *e = b->recs.next;
			vlist_del(e);
			struct jrec *r = vlist_entry(e, struct jrec, link);
			vlist_push(vlist_empty(&r->waiters) ? &keep : &done, e);
		}
		struct vlist *e = v->j_pending.next;
		while (e != &v->j_pending) {
			struct vlist *next = e->next;
			struct jrec *r = vlist_entry(e, struct jrec, link);
			vlist_del(e);
			vlist_push(vlist_empty(&r->waiters) ? &keep : &done, e);
			e = next;
		}
		while (!vlist_empty(&keep)) {
			struct vlist *k = keep.next;
			vlist_del(k);
			vlist_push(&v->j_pending, k);
		}
		if (!vlist_empty(&v->j_pending)) {
			v->j_backoff = true;
			if (v->timers_open)
				uv_timer_start(&v->retry_timer, retry_fire,
					       VMMD_JOURNAL_RETRY_MS, 0);
		}
	}
	/* a compaction waits for the end of an append: records appended
	 * after its snapshot go to a new segment */
	if (v->compact_wanted && v->compacting == NULL)
		compaction_start(v);
	int rc = b->rc;
	struct alb_error err = b->err;
	free(b);
	while (!vlist_empty(&done)) {
		struct vlist *e = done.next;
		vlist_del(e);
		settle(vlist_entry(e, struct jrec, link), rc, &err);
	}
	/* after the next append (if any) began: the compaction's writer
	 * sees no gap between two appends */
	journal_kick(v);
	fg_write_end(v);
	vmmd_maybe_done(v);
}

void journal_kick(struct alb_vmmd *v)
{
	if (v->j_batch != NULL || v->j_backoff)
		return;
	/* nothing queued: the next segment is made ahead (after a start, a
	 * compaction, a failure), so that the next change does not wait for
	 * the creation and its directory fsync */
	if (vlist_empty(&v->j_pending) &&
	    (v->j_fd >= 0 || v->j_no_ahead || v->stopping || !v->persist_live ||
	     v->compact_wanted))
		return;
	struct jbatch *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		/* tried again with the next change */
		alb_log_error("vmmd: journal: out of memory");
		return;
	}
	b->v = v;
	vlist_init(&b->recs);
	/* all that is queued goes into this append */
	if (!vlist_empty(&v->j_pending)) {
		b->recs = v->j_pending;
		b->recs.next->prev = &b->recs;
		b->recs.prev->next = &b->recs;
		vlist_init(&v->j_pending);
	}
	b->fd = v->j_fd;
	b->seg = v->j_fd >= 0 ? v->j_seg : v->j_seg + 1;
	b->size = v->j_size;
	b->work.data = b;
	v->j_batch = b;
	fg_write_begin(v);
	uv_queue_work(v->loop, &b->work, batch_work, batch_after);
}

void journal_free(struct alb_vmmd *v)
{
	while (!vlist_empty(&v->j_pending)) {
		struct vlist *e = v->j_pending.next;
		vlist_del(e);
		struct jrec *r = vlist_entry(e, struct jrec, link);
		while (!vlist_empty(&r->waiters)) {
			struct vlist *w = r->waiters.next;
			vlist_del(w);
			free(vlist_entry(w, struct jwaiter, link));
		}
		rec_free(r);
	}
	if (v->j_fd >= 0)
		close(v->j_fd);
	v->j_fd = -1;
}
