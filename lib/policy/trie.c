/* libalbatross — the resource trie (spec §3.4), keyed by label lists.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "policy/trie.h"

struct node {
	void *value; /* NULL: no value at this node */
	struct node **kids; /* sorted by label, bytewise */
	size_t n_kids, cap_kids;
	bool is_path;
	size_t label_len;
	char label[];
};

struct alb_trie {
	struct node *root;
	size_t count;
};

/* A validated key: the canonical name and whether it names a path. */
struct key {
	const char *s;
	const char *end;
	bool is_path;
};

/* Room for a name built during a traversal: one byte before it for the ':'
 * of a root-level label, the name, a trailing ':' and the NUL. */
#define NAME_ROOM (ALB_NAME_BUF + 3)

static int key_parse(const char *name, struct key *k, struct alb_error *err)
{
	if (name == NULL)
		return alb_fail(err, ALB_EINVAL, "missing name");
	size_t len = strnlen(name, ALB_NAME_MAX + 1);
	if (len > ALB_NAME_MAX)
		return alb_fail(err, ALB_ETOOBIG,
				"name longer than %d bytes", ALB_NAME_MAX);
	if (len == 0)
		return alb_fail(err, ALB_EINVAL, "empty name");
	if (name[0] == ':') {
		/* root path: at most one label, so no further separator */
		if (memchr(name + 1, ':', len - 1) != NULL)
			return alb_fail(err, ALB_EINVAL, "malformed name %s",
					name);
	} else {
		/* path labels are never empty; only the final label may be */
		const char *p = name, *end = name + len;
		bool seen_sep = false;
		while (p < end) {
			const char *sep = memchr(p, ':', (size_t)(end - p));
			if (sep == NULL)
				break;
			if (sep == p)
				return alb_fail(err, ALB_EINVAL,
						"malformed name %s", name);
			seen_sep = true;
			p = sep + 1;
		}
		if (!seen_sep)
			return alb_fail(err, ALB_EINVAL, "malformed name %s",
					name);
	}
	k->s = name;
	k->end = name + len;
	k->is_path = name[len - 1] == ':';
	return 0;
}

/* Yields the next non-empty label of a key; false at its end. */
static bool key_next(const char **p, const char *end, const char **label,
		     size_t *len)
{
	while (*p < end && **p == ':')
		(*p)++;
	if (*p == end)
		return false;
	const char *sep = memchr(*p, ':', (size_t)(end - *p));
	const char *stop = sep != NULL ? sep : end;
	*label = *p;
	*len = (size_t)(stop - *p);
	*p = stop;
	return true;
}

/* Binary search among the children: the index of the child with that
 * label, or (when absent) the index where it would be inserted. */
static size_t kid_search(const struct node *n, const char *label, size_t len,
			 bool *found)
{
	size_t lo = 0, hi = n->n_kids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct node *k = n->kids[mid];
		int c = alb_bytes_cmp(k->label, k->label_len, label, len);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct node *kid_find(const struct node *n, const char *label,
			     size_t len)
{
	bool found;
	size_t i = kid_search(n, label, len, &found);
	return found ? n->kids[i] : NULL;
}

static struct node *node_new(const char *label, size_t len)
{
	struct node *n = calloc(1, sizeof(*n) + len + 1);
	if (n == NULL)
		return NULL;
	memcpy(n->label, label, len);
	n->label_len = len;
	return n;
}

static bool kids_reserve(struct node *n, size_t want)
{
	if (want <= n->cap_kids)
		return true;
	size_t cap = n->cap_kids < 4 ? 4 : n->cap_kids * 2;
	while (cap < want)
		cap *= 2;
	struct node **k = realloc(n->kids, cap * sizeof(*k));
	if (k == NULL)
		return false;
	n->kids = k;
	n->cap_kids = cap;
	return true;
}

static void node_free(struct node *n, void (*free_value)(void *))
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n_kids; i++)
		node_free(n->kids[i], free_value);
	if (n->value != NULL && free_value != NULL)
		free_value(n->value);
	free(n->kids);
	free(n);
}

struct alb_trie *alb_trie_new(void)
{
	struct alb_trie *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->root = node_new("", 0);
	if (t->root == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void alb_trie_free(struct alb_trie *t, void (*free_value)(void *))
{
	if (t == NULL)
		return;
	node_free(t->root, free_value);
	free(t);
}

size_t alb_trie_count(const struct alb_trie *t)
{
	return t->count;
}

/* The node at exactly the key's labels, or NULL. */
static struct node *walk(const struct alb_trie *t, const struct key *k)
{
	struct node *n = t->root;
	const char *p = k->s, *label;
	size_t len;
	while (n != NULL && key_next(&p, k->end, &label, &len))
		n = kid_find(n, label, len);
	return n;
}

int alb_trie_insert(struct alb_trie *t, const char *name, void *value,
		    void **old, struct alb_error *err)
{
	struct key k;
	int rc = key_parse(name, &k, err);
	if (rc != 0)
		return rc;
	if (value == NULL)
		return alb_fail(err, ALB_EINVAL, "missing value");

	struct node *n = t->root;
	const char *p = k.s, *label;
	size_t len;
	bool missing = false;
	for (;;) {
		const char *at = p;
		if (!key_next(&p, k.end, &label, &len))
			break;
		struct node *kid = kid_find(n, label, len);
		if (kid == NULL) {
			/* the chain below starts again at this label */
			p = at;
			missing = true;
			break;
		}
		n = kid;
	}

	if (missing) {
		/* Build the missing chain aside and link it last, so that a
		 * failed allocation leaves the trie as it was. */
		struct node *chain = NULL, *tail = NULL;
		const char *q = p;
		while (key_next(&q, k.end, &label, &len)) {
			struct node *m = node_new(label, len);
			if (m == NULL || (tail != NULL && !kids_reserve(tail, 1))) {
				free(m);
				node_free(chain, NULL);
				return alb_fail(err, ALB_ENOMEM, "out of memory");
			}
			if (tail == NULL)
				chain = m;
			else
				tail->kids[tail->n_kids++] = m;
			tail = m;
		}
		if (!kids_reserve(n, n->n_kids + 1)) {
			node_free(chain, NULL);
			return alb_fail(err, ALB_ENOMEM, "out of memory");
		}
		bool found;
		size_t i = kid_search(n, chain->label, chain->label_len,
				      &found);
		memmove(&n->kids[i + 1], &n->kids[i],
			(n->n_kids - i) * sizeof(n->kids[0]));
		n->kids[i] = chain;
		n->n_kids++;
		n = tail;
	}

	if (old != NULL)
		*old = n->value;
	if (n->value == NULL)
		t->count++;
	n->value = value;
	n->is_path = k.is_path;
	return 0;
}

void *alb_trie_find(const struct alb_trie *t, const char *name)
{
	struct key k;
	if (key_parse(name, &k, NULL) != 0)
		return NULL;
	struct node *n = walk(t, &k);
	return n != NULL ? n->value : NULL;
}

void *alb_trie_remove(struct alb_trie *t, const char *name)
{
	struct key k;
	if (key_parse(name, &k, NULL) != 0)
		return NULL;
	/* remember the way down to prune empty nodes on the way back */
	struct node *stack[ALB_TRIE_DEPTH_MAX + 1];
	size_t depth = 0;
	struct node *n = t->root;
	const char *p = k.s, *label;
	size_t len;
	stack[depth++] = n;
	while (key_next(&p, k.end, &label, &len)) {
		n = kid_find(n, label, len);
		if (n == NULL)
			return NULL;
		stack[depth++] = n;
	}
	void *v = n->value;
	if (v == NULL)
		return NULL;
	n->value = NULL;
	t->count--;
	while (depth > 1) {
		struct node *m = stack[depth - 1];
		if (m->value != NULL || m->n_kids > 0)
			break;
		struct node *parent = stack[depth - 2];
		bool found;
		size_t i = kid_search(parent, m->label, m->label_len, &found);
		memmove(&parent->kids[i], &parent->kids[i + 1],
			(parent->n_kids - i - 1) * sizeof(parent->kids[0]));
		parent->n_kids--;
		node_free(m, NULL);
		depth--;
	}
	return v;
}

/* The printed name of a node at `depth` labels whose labels joined by ':'
 * are at room[1..1+jl). Writes into room (it has NAME_ROOM bytes) and
 * returns the name: ":" for depth 0; a path is "a:b:"; a labelled name
 * is ":a" at depth 1 and "a:b" deeper. */
static const char *node_name(char *room, size_t jl, size_t depth,
			     bool is_path)
{
	if (depth == 0)
		return ":";
	if (is_path) {
		room[1 + jl] = ':';
		room[2 + jl] = '\0';
		return room + 1;
	}
	room[1 + jl] = '\0';
	if (depth == 1) {
		room[0] = ':';
		return room;
	}
	return room + 1;
}

struct traversal {
	alb_trie_fn fn;
	void *ctx;
	bool pre; /* pre-order (node first) instead of post-order */
	char room[NAME_ROOM];
};

static int visit(struct traversal *tr, const struct node *n, size_t jl,
		 size_t depth)
{
	int rc;
	if (tr->pre && n->value != NULL) {
		rc = tr->fn(node_name(tr->room, jl, depth, n->is_path),
			    n->value, tr->ctx);
		if (rc != 0)
			return rc;
	}
	for (size_t i = 0; i < n->n_kids; i++) {
		const struct node *kid = n->kids[i];
		size_t sep = depth > 0 ? 1 : 0;
		size_t kl = jl + sep + kid->label_len;
		/* cannot happen for keys admitted by key_parse; kept so that
		 * a broken invariant can never write past the buffer */
		if (1 + kl + 2 > sizeof(tr->room))
			return ALB_ETOOBIG;
		if (sep)
			tr->room[1 + jl] = ':';
		memcpy(tr->room + 1 + jl + sep, kid->label, kid->label_len);
		rc = visit(tr, kid, kl, depth + 1);
		if (rc != 0)
			return rc;
	}
	if (!tr->pre && n->value != NULL) {
		rc = tr->fn(node_name(tr->room, jl, depth, n->is_path),
			    n->value, tr->ctx);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int alb_trie_fold(const struct alb_trie *t, const char *path, alb_trie_fn fn,
		  void *ctx)
{
	struct key k;
	if (key_parse(path, &k, NULL) != 0)
		return 0;
	const struct node *n = walk(t, &k);
	if (n == NULL)
		return 0;
	struct traversal tr = { .fn = fn, .ctx = ctx, .pre = false };
	return visit(&tr, n, 0, 0);
}

int alb_trie_all(const struct alb_trie *t, alb_trie_fn fn, void *ctx)
{
	struct traversal tr = { .fn = fn, .ctx = ctx, .pre = true };
	return visit(&tr, t->root, 0, 0);
}

int alb_trie_collect(const struct alb_trie *t, const char *name,
		     alb_trie_fn fn, void *ctx)
{
	struct key k;
	if (key_parse(name, &k, NULL) != 0)
		return 0;
	const struct node *nodes[ALB_TRIE_DEPTH_MAX + 1];
	size_t jls[ALB_TRIE_DEPTH_MAX + 1];
	char room[NAME_ROOM];
	size_t depth = 0, jl = 0;
	const struct node *n = t->root;
	const char *p = k.s, *label;
	size_t len;
	nodes[depth] = n;
	jls[depth++] = 0;
	while (key_next(&p, k.end, &label, &len)) {
		n = kid_find(n, label, len);
		if (n == NULL)
			break;
		if (jl > 0)
			room[1 + jl++] = ':';
		memcpy(room + 1 + jl, label, len);
		jl += len;
		nodes[depth] = n;
		jls[depth++] = jl;
	}
	/* deepest first; node_name only writes past the current prefix, which
	 * the shallower names no longer need */
	while (depth > 0) {
		depth--;
		n = nodes[depth];
		if (n->value == NULL)
			continue;
		int rc = fn(node_name(room, jls[depth], depth, n->is_path),
			    n->value, ctx);
		if (rc != 0)
			return rc;
	}
	return 0;
}
