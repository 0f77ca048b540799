/* libalbatross — the stats daemon's subscribers, by name (spec §8.2), on
 * the resource trie so that a unikernel finds its subscribers along its
 * labels. Unlike Albatross, a name may have several subscribers.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "stats_internal.h"
#include "policy/trie.h"

struct sub {
	void *owner;
	int64_t version;
	struct sub *next;
	char name[]; /* the canonical name subscribed to */
};

/* The value of a trie node: its subscribers, newest first. */
struct sub_list {
	struct sub *head;
};

struct alb_stats_subs {
	struct alb_trie *trie;
	size_t count;
};

struct alb_stats_subs *alb_stats_subs_new(void)
{
	struct alb_stats_subs *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->trie = alb_trie_new();
	if (r->trie == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void list_free(void *v)
{
	struct sub_list *l = v;
	for (struct sub *s = l->head, *next; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	free(l);
}

void alb_stats_subs_free(struct alb_stats_subs *r)
{
	if (r == NULL)
		return;
	alb_trie_free(r->trie, list_free);
	free(r);
}

size_t alb_stats_subs_count(const struct alb_stats_subs *r)
{
	return r->count;
}

int alb_stats_subs_add(struct alb_stats_subs *r, const char *name,
		       int64_t version, void *owner, bool *added,
		       struct alb_error *err)
{
	if (added != NULL)
		*added = false;
	if (name == NULL || owner == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_stats_subs_add: NULL");
	size_t len = strnlen(name, ALB_NAME_BUF);
	if (len > ALB_NAME_MAX)
		return alb_fail(err, ALB_ETOOBIG, "name longer than %d bytes",
				ALB_NAME_MAX);
	struct sub_list *l = alb_trie_find(r->trie, name);
	for (struct sub *o = l != NULL ? l->head : NULL; o != NULL; o = o->next)
		if (o->owner == owner && strcmp(o->name, name) == 0) {
			/* renewed: the newest version wins */
			o->version = version;
			return 0;
		}
	struct sub *s = malloc(sizeof(*s) + len + 1);
	if (s == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	*s = (struct sub){.owner = owner, .version = version};
	memcpy(s->name, name, len + 1);
	if (l == NULL) {
		l = calloc(1, sizeof(*l));
		int rc = l == NULL ? alb_fail(err, ALB_ENOMEM, "out of memory")
				   : alb_trie_insert(r->trie, name, l, NULL, err);
		if (rc != 0) {
			free(l);
			free(s);
			return rc;
		}
	}
	s->next = l->head;
	l->head = s;
	r->count++;
	if (added != NULL)
		*added = true;
	return 0;
}

bool alb_stats_subs_has(const struct alb_stats_subs *r, const char *name,
			const void *owner)
{
	const struct sub_list *l = alb_trie_find(r->trie, name);
	for (const struct sub *o = l != NULL ? l->head : NULL; o != NULL;
	     o = o->next)
		if (o->owner == owner && strcmp(o->name, name) == 0)
			return true;
	return false;
}

/* Names of the nodes that an owner's departure left empty. */
struct purge {
	void *owner;
	size_t removed;
	size_t n, cap;
	char **empty;
	bool failed;
};

static int purge_node(const char *name, void *value, void *ctx)
{
	struct purge *p = ctx;
	struct sub_list *l = value;
	for (struct sub **sp = &l->head; *sp != NULL;) {
		if ((*sp)->owner != p->owner) {
			sp = &(*sp)->next;
			continue;
		}
		struct sub *gone = *sp;
		*sp = gone->next;
		free(gone);
		p->removed++;
	}
	if (l->head != NULL)
		return 0;
	/* the trie must not change under its own traversal: the node is
	 * removed afterwards (or kept, empty, if memory is short) */
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		char **ne = realloc(p->empty, cap * sizeof(*ne));
		if (ne == NULL) {
			p->failed = true;
			return 0;
		}
		p->empty = ne;
		p->cap = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL) {
		p->failed = true;
		return 0;
	}
	p->empty[p->n++] = copy;
	return 0;
}

size_t alb_stats_subs_remove_owner(struct alb_stats_subs *r, void *owner)
{
	struct purge p = {.owner = owner};
	alb_trie_all(r->trie, purge_node, &p);
	for (size_t i = 0; i < p.n; i++) {
		struct sub_list *l = alb_trie_find(r->trie, p.empty[i]);
		if (l != NULL && l->head == NULL)
			list_free(alb_trie_remove(r->trie, p.empty[i]));
		free(p.empty[i]);
	}
	free(p.empty);
	r->count -= p.removed;
	return p.removed;
}

struct collect {
	const char *name;
	alb_stats_subs_fn fn;
	void *ctx;
};

static int collect_node(const char *node_name, void *value, void *ctx)
{
	(void)node_name;
	struct collect *c = ctx;
	const struct sub_list *l = value;
	char path[ALB_NAME_BUF], rel[ALB_NAME_BUF];
	for (const struct sub *s = l->head; s != NULL; s = s->next) {
		/* the header names the unikernel relative to the path of the
		 * subscription: "foo:" sees ":bar" for foo:bar */
		alb_name_path(s->name, path);
		alb_name_relative(c->name, path, rel);
		int rc = c->fn(c->ctx, s->owner, s->version, rel);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int alb_stats_subs_collect(const struct alb_stats_subs *r, const char *name,
			   alb_stats_subs_fn fn, void *ctx)
{
	struct collect c = {name, fn, ctx};
	return alb_trie_collect(r->trie, name, collect_node, &c);
}

static int found(const char *name, void *value, void *ctx)
{
	(void)name;
	(void)ctx;
	return ((const struct sub_list *)value)->head != NULL;
}

bool alb_stats_subs_any(const struct alb_stats_subs *r, const char *name)
{
	return alb_trie_collect(r->trie, name, found, NULL) != 0;
}
