/* libalbatross — vmmd: the table of unikernels by name, and the queue that
 * runs the operations on one name one at a time (commands on different
 * names, and on different connections, are independent).
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmmd_internal.h"

static void handle_closed(uv_handle_t *h)
{
	struct uk *u = h->data;
	if (--u->handles == 0 && u->freeing) {
		/* the core counts the record until its handles are closed, so
		 * that shutdown completes only when nothing refers to it */
		struct alb_vmmd *v = u->v;
		uk_release(u);
		v->n_uks--;
		vmmd_maybe_done(v);
	}
}

void uk_release(struct uk *u)
{
	config_free(u->cfg);
	free(u->taps);
	free(u->macs);
	alb_buf_free(&u->info_der);
	free(u);
}

struct uk *uk_find(const struct alb_vmmd *v, const char *name)
{
	return alb_trie_find(v->uks, name);
}

struct uk *uk_get(struct alb_vmmd *v, const char *name)
{
	struct uk *u = uk_find(v, name);
	if (u != NULL)
		return u;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return NULL;
	u->v = v;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->state = UK_IDLE;
	vlist_init(&u->waitq);
	if (alb_trie_insert(v->uks, u->name, u, NULL, NULL) != 0) {
		free(u);
		return NULL;
	}
	uv_timer_init(v->loop, &u->timer);
	u->timer.data = u;
	u->handles = 1;
	v->n_uks++;
	vlist_push(&v->all, &u->link);
	v->n_all++;
	return u;
}

bool uk_visible(const struct uk *u)
{
	return u->state == UK_RUNNING || u->state == UK_STOPPING;
}

void uk_forget_config(struct uk *u)
{
	config_free(u->cfg);
	u->cfg = NULL;
	/* made from it: a configuration at the same address is another */
	alb_buf_free(&u->info_der);
	u->fast_failures = 0;
	u->restart_without_name = false;
}

void uk_maybe_free(struct uk *u)
{
	if (u->freeing || u->state != UK_IDLE || u->op != NULL ||
	    !vlist_empty(&u->waitq))
		return;
	struct alb_vmmd *v = u->v;
	alb_trie_remove(v->uks, u->name);
	vlist_del(&u->link);
	v->n_all--;
	u->freeing = true;
	uv_close((uv_handle_t *)&u->timer, handle_closed);
}

void uk_op_submit(struct uk *u, struct op *o)
{
	o->uk = u;
	if (u->op != NULL) {
		vlist_push(&u->waitq, &o->link);
		return;
	}
	u->op = o;
	o->start(o);
}

void uk_op_done(struct uk *u)
{
	u->op = NULL;
	uk_restart_resume(u);
	if (u->op == NULL && !vlist_empty(&u->waitq)) {
		struct vlist *e = u->waitq.next;
		vlist_del(e);
		struct op *o = vlist_entry(e, struct op, link);
		u->op = o;
		o->start(o);
		return;
	}
	if (u->op == NULL)
		uk_maybe_free(u);
}

static int cancel_one(struct uk *u, void *ctx)
{
	(void)ctx;
	while (!vlist_empty(&u->waitq)) {
		struct vlist *e = u->waitq.next;
		vlist_del(e);
		struct op *o = vlist_entry(e, struct op, link);
		o->cancel(o);
	}
	return 0;
}

void uks_cancel_queued(struct alb_vmmd *v)
{
	uks_each(v, cancel_one, NULL);
}

int uks_each(struct alb_vmmd *v, int (*fn)(struct uk *u, void *ctx), void *ctx)
{
	/* fn may remove records, so the iteration works on a snapshot (freed
	 * records stay allocated until their handles are closed, later) */
	size_t n = v->n_all;
	if (n == 0)
		return 0;
	struct uk **list = malloc(n * sizeof(*list));
	if (list == NULL)
		return ALB_ENOMEM;
	size_t k = 0;
	for (struct vlist *e = v->all.next; e != &v->all && k < n; e = e->next)
		list[k++] = vlist_entry(e, struct uk, link);
	int rc = 0;
	for (size_t i = 0; i < k && rc == 0; i++)
		rc = fn(list[i], ctx);
	free(list);
	return rc;
}
