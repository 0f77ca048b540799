/* libalbatross — vmmd's resource table: policies, running unikernels and
 * block devices, and the checks of spec §4.4–4.6 with the fix of §12.1.
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/name.h"
#include "albatross/policy.h"
#include "base/internal.h"
#include "policy_priv.h"
#include "policy/trie.h"

/* The resource parts of a running unikernel's config, one allocation. */
struct res_uk {
	int64_t memory;
	size_t n_cpuids;
	int64_t *cpuids; /* a set */
	size_t n_bridges;
	struct alb_str *bridges; /* host bridges, a set */
	size_t n_blocks;
	char **blocks; /* names of the accounted block devices, strcmp order */
};

struct res_block {
	int64_t size; /* MB */
	bool active;
};

struct alb_resources {
	struct alb_trie *policies;   /* path name -> struct alb_policy */
	struct alb_trie *unikernels; /* name -> struct res_uk */
	struct alb_trie *blocks;     /* name -> struct res_block */
	char *zvol;                  /* path allowed /dev/zvol devices, or NULL */
	/* the unikernels' count and memory under each path that has any (see
	 * "usage"), so that a create's check costs the depth of its name,
	 * not a walk over every unikernel; when an update fails (out of
	 * memory) the walks are used again */
	struct alb_trie *sums;       /* path name -> struct uk_sum */
	bool sums_broken;
};

struct uk_sum {
	int64_t unikernels;
	int64_t memory;
	bool saturated; /* memory reached INT64_MAX: walk instead */
};

/* Message lists are cut at the message size anyway. */
#define LIST_MAX ALB_ERROR_MSG_MAX

static void free_value(void *v)
{
	free(v);
}

struct alb_resources *alb_resources_new(void)
{
	struct alb_resources *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->policies = alb_trie_new();
	r->unikernels = alb_trie_new();
	r->blocks = alb_trie_new();
	r->sums = alb_trie_new();
	if (r->policies == NULL || r->unikernels == NULL || r->blocks == NULL ||
	    r->sums == NULL) {
		alb_resources_free(r);
		return NULL;
	}
	return r;
}

void alb_resources_free(struct alb_resources *r)
{
	if (r == NULL)
		return;
	alb_trie_free(r->policies, free_value);
	alb_trie_free(r->unikernels, free_value);
	alb_trie_free(r->blocks, free_value);
	alb_trie_free(r->sums, free_value);
	free(r->zvol);
	free(r);
}

/* A name the table can take: present and not longer than ALB_NAME_MAX
 * (the trie checks its structure). */
static int need_name(const char *name, struct alb_error *err)
{
	if (name == NULL)
		return alb_fail(err, ALB_EINVAL, "missing name");
	if (strnlen(name, ALB_NAME_BUF) > ALB_NAME_MAX)
		return alb_fail(err, ALB_ETOOBIG, "name longer than %d bytes",
				ALB_NAME_MAX);
	return 0;
}

static int need_path(const char *path, struct alb_error *err)
{
	int rc = need_name(path, err);
	if (rc == 0 && !alb_name_is_path(path))
		rc = alb_fail(err, ALB_EINVAL, "not a path name: %s", path);
	return rc;
}

static int need_label(const char *name, struct alb_error *err)
{
	int rc = need_name(name, err);
	if (rc == 0 && alb_name_is_path(name))
		rc = alb_fail(err, ALB_EINVAL, "not a name with a label: %s",
			      name);
	return rc;
}

int alb_resources_set_zvol_path(struct alb_resources *r, const char *path,
				struct alb_error *err)
{
	char *copy = NULL;
	if (path != NULL) {
		int rc = need_path(path, err);
		if (rc != 0)
			return rc;
		copy = strdup(path);
		if (copy == NULL)
			return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	free(r->zvol);
	r->zvol = copy;
	return 0;
}

/* ---- usage ------------------------------------------------------------- */

struct usage_ctx {
	struct alb_usage u;
	const struct res_uk *ignore; /* counted as gone */
};

static int sum_uk(const char *name, void *value, void *ctx)
{
	(void)name;
	struct usage_ctx *c = ctx;
	const struct res_uk *uk = value;
	if (uk == c->ignore)
		return 0;
	c->u.unikernels++;
	c->u.memory = alb_pol_add(c->u.memory, uk->memory);
	return 0;
}

static int sum_block(const char *name, void *value, void *ctx)
{
	(void)name;
	struct usage_ctx *c = ctx;
	const struct res_block *b = value;
	if (b->active)
		c->u.block_active = alb_pol_add(c->u.block_active, b->size);
	else
		c->u.block_inactive = alb_pol_add(c->u.block_inactive, b->size);
	return 0;
}

static int64_t block_total(const struct alb_usage *u)
{
	return alb_pol_add(u->block_active, u->block_inactive);
}

/* The usage sums of every subtree that holds the unikernel name: the
 * trie node of each prefix of its labels (the root ":", "a:", ..., and
 * its own labels as a path, as a policy of that path folds over it: the
 * trie's quirk that "foo" and "foo:" are one node). fn(key, ctx) for each;
 * stops at a non-zero return. */
static int each_sum_key(const char *name, int (*fn)(const char *key, void *ctx),
			void *ctx)
{
	char key[ALB_NAME_BUF + 2] = ":";
	int rc = fn(key, ctx);
	const char *s = name[0] == ':' ? name + 1 : name;
	size_t k = 0;
	while (rc == 0 && *s != '\0') {
		const char *end = strchr(s, ':');
		size_t len = end != NULL ? (size_t)(end - s) : strlen(s);
		if (len == 0 || k + len + 2 > sizeof(key))
			break;
		memcpy(key + k, s, len);
		k += len;
		key[k++] = ':';
		key[k] = '\0';
		rc = fn(key, ctx);
		s += len + (end != NULL);
	}
	return rc;
}

struct sum_update {
	struct alb_resources *r;
	int64_t sign;
	int64_t memory;
};

static int update_sum(const char *key, void *ctx)
{
	struct sum_update *u = ctx;
	struct uk_sum *sum = alb_trie_find(u->r->sums, key);
	if (sum == NULL) {
		if (u->sign < 0)
			return ALB_ENOENT; /* cannot happen: added on insert */
		sum = calloc(1, sizeof(*sum));
		if (sum == NULL ||
		    alb_trie_insert(u->r->sums, key, sum, NULL, NULL) != 0) {
			free(sum);
			return ALB_ENOMEM;
		}
	}
	sum->unikernels += u->sign;
	if (u->sign > 0)
		sum->saturated |= __builtin_add_overflow(sum->memory, u->memory,
							 &sum->memory);
	else
		sum->memory -= u->memory;
	if (sum->unikernels == 0)
		free(alb_trie_remove(u->r->sums, key));
	return 0;
}

/* Adds (sign 1) or removes (-1) unikernel name to the sums. */
static void sums_update(struct alb_resources *r, const char *name,
			const struct res_uk *uk, int64_t sign)
{
	/* a negative amount gives nothing back (alb_pol_add) */
	struct sum_update u = {r, sign, uk->memory > 0 ? uk->memory : 0};
	if (!r->sums_broken && each_sum_key(name, update_sum, &u) != 0)
		r->sums_broken = true;
}

int alb_resources_usage(const struct alb_resources *r, const char *path,
			struct alb_usage *out, struct alb_error *err)
{
	int rc = need_path(path, err);
	if (rc != 0)
		return rc;
	struct usage_ctx c = { { 0, 0, 0, 0 }, NULL };
	alb_trie_fold(r->unikernels, path, sum_uk, &c);
	alb_trie_fold(r->blocks, path, sum_block, &c);
	*out = c.u;
	return 0;
}

/* ---- policies ----------------------------------------------------------- */

const struct alb_policy *alb_resources_policy_find(const struct alb_resources *r,
						   const char *path)
{
	if (need_path(path, NULL) != 0)
		return NULL;
	return alb_trie_find(r->policies, path);
}

struct above_ctx {
	const char *path;
	const struct alb_policy *sub;
	struct alb_error *err;
};

/* Every policy strictly above the path, up to but excluding the root. */
static int check_above(const char *name, void *value, void *ctx)
{
	struct above_ctx *c = ctx;
	if (strcmp(name, c->path) == 0 || alb_name_is_root(name))
		return 0;
	return alb_policy_is_smaller(value, c->sub, c->err);
}

struct below_ctx {
	const struct alb_policy *super;
	struct alb_error *err;
};

static int check_below(const char *name, void *value, void *ctx)
{
	struct below_ctx *c = ctx;
	if (alb_name_is_root(name)) /* the path itself */
		return 0;
	return alb_policy_is_smaller(c->super, value, c->err);
}

/* Running unikernels of a subtree against a policy: the ids and bridges
 * outside the policy, gathered only when there are some (to print them). */
struct fit_ctx {
	const struct alb_policy *p;
	bool cpus_ok, bridges_ok;
	int64_t *ids; /* gathered ids outside p */
	size_t n_ids, cap_ids;
	struct alb_str *strs; /* gathered bridges (all of them) */
	size_t n_strs, cap_strs;
	bool gather;
	bool nomem;
};

static int fit_uk(const char *name, void *value, void *ctx)
{
	(void)name;
	struct fit_ctx *c = ctx;
	const struct res_uk *uk = value;
	for (size_t i = 0; i < uk->n_cpuids; i++) {
		if (alb_pol_ids_has(c->p->cpuids, c->p->n_cpuids, uk->cpuids[i]))
			continue;
		c->cpus_ok = false;
		if (!c->gather)
			continue;
		if (!alb_grow((void **)&c->ids, &c->cap_ids, c->n_ids + 1,
			      sizeof(*c->ids))) {
			c->nomem = true;
			return ALB_ENOMEM;
		}
		c->ids[c->n_ids++] = uk->cpuids[i];
	}
	for (size_t i = 0; i < uk->n_bridges; i++) {
		if (!alb_pol_strs_has(c->p->bridges, c->p->n_bridges,
				      &uk->bridges[i]))
			c->bridges_ok = false;
		if (!c->gather)
			continue;
		if (!alb_grow((void **)&c->strs, &c->cap_strs, c->n_strs + 1,
			      sizeof(*c->strs))) {
			c->nomem = true;
			return ALB_ENOMEM;
		}
		c->strs[c->n_strs++] = uk->bridges[i];
	}
	return 0;
}

/* Step 4 of §4.4: the current usage of the subtree fits policy p. */
static int check_usage_fits(const struct alb_resources *r, const char *path,
			    const struct alb_policy *p, struct alb_error *err)
{
	struct fit_ctx f = { .p = p, .cpus_ok = true, .bridges_ok = true };
	alb_trie_fold(r->unikernels, path, fit_uk, &f);
	if (!f.cpus_ok || !f.bridges_ok) {
		/* a second walk, gathering what the message prints */
		f.gather = true;
		f.cpus_ok = f.bridges_ok = true;
		alb_trie_fold(r->unikernels, path, fit_uk, &f);
	}
	int rc = 0;
	char l1[LIST_MAX], l2[LIST_MAX];
	if (f.nomem) {
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	} else if (!f.cpus_ok) {
		struct alb_ids_view d = { f.ids,
					  alb_sort_ints(f.ids, f.n_ids),
					  NULL };
		alb_pol_ids_print(l1, sizeof(l1), &d, NULL);
		rc = alb_fail(err, ALB_EPERM, "policy does not allow CPUids %s",
			      l1);
	} else if (!f.bridges_ok) {
		size_t n = alb_sort_strs(f.strs, f.n_strs);
		alb_pol_strs_print(l1, sizeof(l1), p->bridges, p->n_bridges);
		alb_pol_strs_print(l2, sizeof(l2), f.strs, n);
		rc = alb_fail(err, ALB_EPERM,
			      "policy allows bridges %s, which is not a "
			      "superset of %s",
			      l1, l2);
	}
	free(f.ids);
	free(f.strs);
	if (rc != 0)
		return rc;

	struct alb_usage u;
	alb_resources_usage(r, path, &u, NULL);
	int64_t block = p->has_block ? p->block : 0;
	if (u.unikernels > p->unikernels)
		return alb_fail(err, ALB_EPERM,
				"unikernel would exceed running unikernel limit "
				"set by policy to %" PRId64 ", running %" PRId64,
				p->unikernels, u.unikernels);
	if (u.memory > p->memory)
		return alb_fail(err, ALB_EPERM,
				"unikernel would exceed running memory limit set "
				"by policy to %" PRId64 " MB, used %" PRId64
				" MB",
				p->memory, u.memory);
	if (block_total(&u) > block)
		return alb_fail(err, ALB_EPERM,
				"unikernel would exceed running block storage "
				"limit set by policy to %" PRId64
				" MB, used %" PRId64 " MB",
				block, block_total(&u));
	return 0;
}

int alb_resources_policy_insert(struct alb_resources *r, const char *path,
				const struct alb_policy *p, bool *unchanged,
				struct alb_error *err)
{
	if (unchanged != NULL)
		*unchanged = false;
	int rc = need_path(path, err);
	if (rc != 0)
		return rc;
	struct alb_policy *np;
	rc = alb_policy_copy(p, &np, err);
	if (rc != 0)
		return rc;

	const struct alb_policy *cur = alb_trie_find(r->policies, path);
	if (cur != NULL && alb_policy_equal(cur, np)) {
		if (unchanged != NULL)
			*unchanged = true;
		alb_policy_free(np);
		return 0;
	}

	struct above_ctx a = { path, np, err };
	struct below_ctx b = { np, err };
	rc = alb_trie_collect(r->policies, path, check_above, &a);
	if (rc == 0)
		rc = alb_trie_fold(r->policies, path, check_below, &b);
	if (rc == 0)
		rc = check_usage_fits(r, path, np, err);
	void *old = NULL;
	if (rc == 0)
		rc = alb_trie_insert(r->policies, path, np, &old, err);
	if (rc != 0) {
		alb_policy_free(np);
		return rc;
	}
	alb_policy_free(old);
	return 0;
}

int alb_resources_policy_remove(struct alb_resources *r, const char *path,
				struct alb_error *err)
{
	int rc = need_path(path, err);
	if (rc != 0)
		return rc;
	struct alb_policy *old = alb_trie_remove(r->policies, path);
	if (old == NULL)
		return alb_fail(err, ALB_ENOENT, "unknown policy");
	alb_policy_free(old);
	return 0;
}

/* ---- listings ------------------------------------------------------------ */

/* A listing is built in two folds over the same subtree: one to size the
 * single allocation, one to fill it from the end, because Albatross's
 * replies prepend during the fold (§3.4). */
struct list_ctx {
	size_t n, n_ids, n_strs, n_chars; /* sizing pass */
	char *mem;
	size_t i;               /* entries left to fill, from the end */
	int64_t *ids;           /* next free id slot */
	struct alb_str *strs;   /* next free string slot */
	char *chars;            /* next free byte */
	struct alb_named_policy *policies;
	struct alb_block_info *blocks;
};

static char *put_chars(struct list_ctx *c, const char *s, size_t len)
{
	char *d = c->chars;
	if (len > 0)
		memcpy(d, s, len);
	d[len] = '\0';
	c->chars += len + 1;
	return d;
}

static int size_policy(const char *name, void *value, void *ctx)
{
	struct list_ctx *c = ctx;
	const struct alb_policy *p = value;
	c->n++;
	c->n_ids += p->n_cpuids;
	c->n_strs += p->n_bridges;
	c->n_chars += strlen(name) + 1;
	for (size_t i = 0; i < p->n_bridges; i++)
		c->n_chars += p->bridges[i].len + 1;
	return 0;
}

static int fill_policy(const char *name, void *value, void *ctx)
{
	struct list_ctx *c = ctx;
	const struct alb_policy *p = value;
	struct alb_named_policy *e = &c->policies[--c->i];
	e->name = put_chars(c, name, strlen(name));
	e->policy = *p;
	e->policy.cpuids = p->n_cpuids > 0 ? c->ids : NULL;
	if (p->n_cpuids > 0)
		memcpy(c->ids, p->cpuids, p->n_cpuids * sizeof(int64_t));
	c->ids += p->n_cpuids;
	e->policy.bridges = p->n_bridges > 0 ? c->strs : NULL;
	for (size_t k = 0; k < p->n_bridges; k++) {
		c->strs[k].ptr = put_chars(c, p->bridges[k].ptr,
					   p->bridges[k].len);
		c->strs[k].len = p->bridges[k].len;
	}
	c->strs += p->n_bridges;
	return 0;
}

/* Lays out one allocation: entries, ids, strings, then bytes (every part
 * keeps pointer alignment). Returns NULL when out of memory or too big. */
static char *list_alloc(struct list_ctx *c, size_t entry)
{
	size_t size = 0, part;
	if (__builtin_mul_overflow(c->n, entry, &size) ||
	    __builtin_mul_overflow(c->n_ids, sizeof(int64_t), &part) ||
	    __builtin_add_overflow(size, part, &size) ||
	    __builtin_mul_overflow(c->n_strs, sizeof(struct alb_str), &part) ||
	    __builtin_add_overflow(size, part, &size) ||
	    __builtin_add_overflow(size, c->n_chars, &size))
		return NULL;
	char *mem = malloc(size);
	if (mem == NULL)
		return NULL;
	c->mem = mem;
	c->i = c->n;
	c->ids = (int64_t *)(mem + c->n * entry);
	c->strs = (struct alb_str *)((char *)c->ids + c->n_ids * sizeof(int64_t));
	c->chars = (char *)(c->strs + c->n_strs);
	return mem;
}

int alb_resources_policy_list(const struct alb_resources *r, const char *path,
			      struct alb_named_policy **out, size_t *n,
			      struct alb_error *err)
{
	*out = NULL;
	*n = 0;
	int rc = need_path(path, err);
	if (rc != 0)
		return rc;
	struct list_ctx c = { 0 };
	alb_trie_fold(r->policies, path, size_policy, &c);
	if (c.n == 0)
		return 0;
	if (list_alloc(&c, sizeof(struct alb_named_policy)) == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	c.policies = (struct alb_named_policy *)c.mem;
	alb_trie_fold(r->policies, path, fill_policy, &c);
	*out = c.policies;
	*n = c.n;
	return 0;
}

void alb_named_policies_free(struct alb_named_policy *v)
{
	free(v);
}

static int size_block(const char *name, void *value, void *ctx)
{
	(void)value;
	struct list_ctx *c = ctx;
	c->n++;
	c->n_chars += strlen(name) + 1;
	return 0;
}

static int fill_block(const char *name, void *value, void *ctx)
{
	struct list_ctx *c = ctx;
	const struct res_block *b = value;
	struct alb_block_info *e = &c->blocks[--c->i];
	e->name = put_chars(c, name, strlen(name));
	e->size = b->size;
	e->active = b->active;
	return 0;
}

int alb_resources_block_list(const struct alb_resources *r, const char *name,
			     struct alb_block_info **out, size_t *n,
			     struct alb_error *err)
{
	*out = NULL;
	*n = 0;
	int rc = need_name(name, err);
	if (rc != 0)
		return rc;
	struct list_ctx c = { 0 };
	bool single = !alb_name_is_path(name);
	void *one = NULL;
	if (single) {
		one = alb_trie_find(r->blocks, name);
		if (one != NULL)
			size_block(name, one, &c);
	} else {
		alb_trie_fold(r->blocks, name, size_block, &c);
	}
	if (c.n == 0)
		return 0;
	if (list_alloc(&c, sizeof(struct alb_block_info)) == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	c.blocks = (struct alb_block_info *)c.mem;
	if (single)
		fill_block(name, one, &c);
	else
		alb_trie_fold(r->blocks, name, fill_block, &c);
	*out = c.blocks;
	*n = c.n;
	return 0;
}

void alb_block_infos_free(struct alb_block_info *v)
{
	free(v);
}

/* ---- block devices ------------------------------------------------------ */

int alb_resources_block_find(const struct alb_resources *r, const char *name,
			     int64_t *size_mb, bool *active)
{
	if (need_label(name, NULL) != 0)
		return ALB_ENOENT;
	const struct res_block *b = alb_trie_find(r->blocks, name);
	if (b == NULL)
		return ALB_ENOENT;
	if (size_mb != NULL)
		*size_mb = b->size;
	if (active != NULL)
		*active = b->active;
	return 0;
}

struct block_policy_ctx {
	const struct alb_resources *r;
	int64_t size;
	struct alb_error *err;
};

static int check_block_policy(const char *path, void *value, void *ctx)
{
	struct block_policy_ctx *c = ctx;
	const struct alb_policy *p = value;
	if (!p->has_block)
		return alb_fail(c->err, ALB_EPERM,
				"no block devices are allowed by policy");
	struct alb_usage u;
	alb_resources_usage(c->r, path, &u, NULL);
	int64_t used = block_total(&u);
	if (alb_pol_exceeds(c->size, p->block, used))
		return alb_fail(c->err, ALB_EPERM,
				"block device policy limit of %" PRId64
				" MB (used %" PRId64
				" MB) would be exceeded by the request (%" PRId64
				" MB)",
				p->block, used, c->size);
	return 0;
}

int alb_resources_block_check(const struct alb_resources *r, const char *name,
			      int64_t size_mb, struct alb_error *err)
{
	int rc = need_label(name, err);
	if (rc != 0)
		return rc;
	if (alb_trie_find(r->blocks, name) != NULL)
		return alb_fail(err, ALB_EEXIST,
				"block device with name [unikernel: %s] already "
				"exists",
				name);
	/* every policy from the device's path up to the root (§12.1 fix) */
	char path[ALB_NAME_BUF];
	alb_name_path(name, path);
	struct block_policy_ctx c = { r, size_mb, err };
	return alb_trie_collect(r->policies, path, check_block_policy, &c);
}

int alb_resources_block_add(struct alb_resources *r, const char *name,
			    int64_t size_mb, struct alb_error *err)
{
	int rc = alb_resources_block_check(r, name, size_mb, err);
	if (rc != 0)
		return rc;
	if (size_mb < 0)
		return alb_fail(err, ALB_EINVAL,
				"block device size %" PRId64 " MB is negative",
				size_mb);
	struct res_block *b = malloc(sizeof(*b));
	if (b == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	b->size = size_mb;
	b->active = false;
	rc = alb_trie_insert(r->blocks, name, b, NULL, err);
	if (rc != 0)
		free(b);
	return rc;
}

int alb_resources_block_remove(struct alb_resources *r, const char *name,
			       struct alb_error *err)
{
	int rc = need_label(name, err);
	if (rc != 0)
		return rc;
	struct res_block *b = alb_trie_find(r->blocks, name);
	if (b == NULL)
		return alb_fail(err, ALB_ENOENT, "unknown block device %s", name);
	if (b->active)
		return alb_fail(err, ALB_EBUSY, "block device %s in use", name);
	free(alb_trie_remove(r->blocks, name));
	return 0;
}

int alb_resources_block_set_active(struct alb_resources *r, const char *name,
				   bool active, struct alb_error *err)
{
	int rc = need_label(name, err);
	if (rc != 0)
		return rc;
	struct res_block *b = alb_trie_find(r->blocks, name);
	if (b == NULL)
		return alb_fail(err, ALB_ENOENT, "block device %s not in trie",
				name);
	if (b->active == active)
		return alb_fail(err, ALB_EBUSY,
				"block device %s already in state %s", name,
				active ? "active" : "inactive");
	b->active = active;
	return 0;
}

/* ---- unikernels ---------------------------------------------------------- */

enum blk_kind { BLK_NAME, BLK_ZVOL, BLK_BAD };

/* The block device a unikernel's device refers to: Name (path of the
 * unikernel, host device) where the host device is `device`, else `name`.
 * BLK_ZVOL: outside the table (--allow-zvol-for). BLK_BAD: the host device
 * is not a lowercase label, so no device of that name can exist (Albatross
 * does not re-validate it and simply finds nothing). */
static enum blk_kind block_of(const struct alb_resources *r, const char *path,
			      const struct alb_block_dev *d,
			      const struct alb_str **host, char *out)
{
	const struct alb_str *h = d->device.ptr != NULL ? &d->device : &d->name;
	*host = h;
	static const char zvol[] = "/dev/zvol";
	if (r->zvol != NULL && strcmp(r->zvol, path) == 0 &&
	    h->len >= sizeof(zvol) - 1 &&
	    memcmp(h->ptr, zvol, sizeof(zvol) - 1) == 0)
		return BLK_ZVOL;
	if (h->ptr == NULL || !alb_label_valid(h->ptr, h->len))
		return BLK_BAD;
	for (size_t i = 0; i < h->len; i++)
		if (h->ptr[i] >= 'A' && h->ptr[i] <= 'Z')
			return BLK_BAD;
	size_t pl = strlen(path);
	if (pl + h->len > ALB_NAME_MAX)
		return BLK_BAD;
	/* the root path ":" contributes just the separator: ":" + "d" */
	memcpy(out, path, pl);
	memcpy(out + pl, h->ptr, h->len);
	out[pl + h->len] = '\0';
	return BLK_NAME;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool uk_owns_block(const struct res_uk *uk, const char *name)
{
	/* bsearch() wants a valid array even for n == 0 */
	return uk != NULL && uk->n_blocks > 0 &&
	       bsearch(&name, uk->blocks, uk->n_blocks, sizeof(*uk->blocks),
		       strp_cmp) != NULL;
}

struct create_ctx {
	const struct alb_resources *r;
	const struct alb_unikernel_config *c;
	const struct alb_ids_view *ids;
	const struct res_uk *ignore;
	const char *ignore_name;
	struct alb_error *err;
};

struct under {
	const char *path;
	bool found;
};

static int is_path(const char *key, void *ctx)
{
	struct under *u = ctx;
	u->found = u->found || strcmp(key, u->path) == 0;
	return 0;
}

/* The count and memory of the unikernels under path, without ignore (the
 * unikernel named ignore_name): from the sums, or by a walk. */
static void usage_under(const struct create_ctx *x, const char *path,
			struct usage_ctx *u)
{
	const struct uk_sum *sum = alb_trie_find(x->r->sums, path);
	if (x->r->sums_broken || (sum != NULL && sum->saturated)) {
		alb_trie_fold(x->r->unikernels, path, sum_uk, u);
		return;
	}
	if (sum != NULL) {
		u->u.unikernels = sum->unikernels;
		u->u.memory = sum->memory;
	}
	if (x->ignore != NULL) {
		struct under in = {path, false};
		each_sum_key(x->ignore_name, is_path, &in);
		if (in.found) {
			u->u.unikernels--;
			if (x->ignore->memory > 0)
				u->u.memory -= x->ignore->memory;
		}
	}
}

/* One policy on the path against the usage of its own subtree. */
static int check_create_policy(const char *path, void *value, void *ctx)
{
	struct create_ctx *x = ctx;
	const struct alb_policy *p = value;
	struct usage_ctx u = { { 0, 0, 0, 0 }, x->ignore };
	usage_under(x, path, &u);
	char l[LIST_MAX];
	if (u.u.unikernels >= p->unikernels)
		return alb_fail(x->err, ALB_EPERM,
				"maximum amount of unikernels (%" PRId64
				") reached",
				p->unikernels);
	if (alb_pol_exceeds(x->c->memory, p->memory, u.u.memory))
		return alb_fail(x->err, ALB_EPERM,
				"maximum allowed memory (%" PRId64
				", used %" PRId64
				") would be exceeded (requesting %" PRId64 ")",
				p->memory, u.u.memory, x->c->memory);
	struct alb_ids_view pol = { p->cpuids, p->n_cpuids, NULL };
	if (!alb_pol_ids_subset(x->ids, &pol)) {
		alb_pol_ids_print(l, sizeof(l), x->ids, &pol);
		return alb_fail(x->err, ALB_EPERM,
				"CPUids %s are not allowed by policy", l);
	}
	if (alb_pol_bridges_denied(l, sizeof(l), x->c, p->bridges,
				   p->n_bridges))
		return alb_fail(x->err, ALB_EPERM,
				"bridges %s not allowed by policy", l);
	return 0;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Step 2 of §4.5: each block device exists and is free. A device named
 * twice in one config would be attached twice: refused as in use. */
static int check_create_blocks(const struct alb_resources *r, const char *path,
			       const struct alb_unikernel_config *c,
			       const struct res_uk *ignore,
			       struct alb_error *err)
{
	char name[ALB_NAME_BUF];
	const struct alb_str *h;
	const struct res_block **seen = NULL;
	size_t n_seen = 0;
	if (c->n_blocks > 1) {
		seen = malloc(c->n_blocks * sizeof(*seen));
		if (seen == NULL)
			return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	int rc = 0;
	for (size_t i = 0; i < c->n_blocks && rc == 0; i++) {
		enum blk_kind k = block_of(r, path, &c->blocks[i], &h, name);
		if (k == BLK_ZVOL)
			continue;
		const struct res_block *b =
		    k == BLK_NAME ? alb_trie_find(r->blocks, name) : NULL;
		if (b == NULL)
			rc = alb_fail(err, ALB_ENOENT,
				      "block device %s%.*s not found", path,
				      (int)(h->len < LIST_MAX ? h->len : LIST_MAX),
				      h->ptr != NULL ? h->ptr : "");
		else if (b->active && !uk_owns_block(ignore, name))
			rc = alb_fail(err, ALB_EBUSY,
				      "block device %s already in use", name);
		else if (seen != NULL)
			seen[n_seen++] = b;
	}
	if (rc == 0 && n_seen > 1) {
		qsort(seen, n_seen, sizeof(*seen), ptr_cmp);
		for (size_t i = 1; i < n_seen && rc == 0; i++) {
			if (seen[i] != seen[i - 1])
				continue;
			/* find the name of the device named twice */
			for (size_t j = 0; j < c->n_blocks; j++) {
				if (block_of(r, path, &c->blocks[j], &h,
					     name) == BLK_NAME &&
				    alb_trie_find(r->blocks, name) == seen[i])
					break;
			}
			rc = alb_fail(err, ALB_EBUSY,
				      "block device %s already in use", name);
		}
	}
	free(seen);
	return rc;
}

int alb_resources_unikernel_check(const struct alb_resources *r,
				  const char *name,
				  const struct alb_unikernel_config *c,
				  const char *ignore, struct alb_error *err)
{
	int rc = need_label(name, err);
	if (rc != 0)
		return rc;
	const struct res_uk *gone =
	    ignore != NULL ? alb_trie_find(r->unikernels, ignore) : NULL;
	char path[ALB_NAME_BUF];
	alb_name_path(name, path);

	struct alb_ids_view ids;
	if (alb_pol_ids_view(&ids, c->cpuids, c->n_cpuids) != 0)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	/* every policy from the path up to and including the root, most
	 * specific first (§12.1 fix; Albatross stops after the first) */
	struct create_ctx x = { r, c, &ids, gone, ignore, err };
	rc = alb_trie_collect(r->policies, path, check_create_policy, &x);
	alb_pol_ids_view_free(&ids);
	if (rc != 0)
		return rc;
	rc = check_create_blocks(r, path, c, gone, err);
	if (rc != 0)
		return rc;
	const struct res_uk *same = alb_trie_find(r->unikernels, name);
	if (same != NULL && same != gone)
		return alb_fail(err, ALB_EEXIST,
				"unikernel with same name already exists");
	return 0;
}

/* Copies the resource parts of c into one allocation: cpuids and host
 * bridges as sets, the accounted block device names sorted. */
static int uk_new(const struct alb_resources *r, const char *path,
		  const struct alb_unikernel_config *c, struct res_uk **out,
		  struct alb_error *err)
{
	char name[ALB_NAME_BUF];
	const struct alb_str *h;
	size_t nb = 0, chars = 0, size = sizeof(struct res_uk), part;
	bool over = false;
	for (size_t i = 0; i < c->n_blocks; i++) {
		enum blk_kind k = block_of(r, path, &c->blocks[i], &h, name);
		if (k == BLK_ZVOL)
			continue;
		if (k == BLK_BAD)
			return alb_fail(err, ALB_ENOENT,
					"block device %s%.*s not in trie", path,
					(int)(h->len < LIST_MAX ? h->len
								: LIST_MAX),
					h->ptr != NULL ? h->ptr : "");
		nb++;
		over = over || __builtin_add_overflow(chars, strlen(name) + 1,
						      &chars);
	}
	for (size_t i = 0; i < c->n_bridges && !over; i++)
		over = __builtin_add_overflow(
		    chars, alb_pol_host_bridge(&c->bridges[i])->len + 1, &chars);
	over = over ||
	       __builtin_mul_overflow(c->n_cpuids, sizeof(int64_t), &part) ||
	       __builtin_add_overflow(size, part, &size) ||
	       __builtin_mul_overflow(c->n_bridges, sizeof(struct alb_str),
				      &part) ||
	       __builtin_add_overflow(size, part, &size) ||
	       __builtin_mul_overflow(nb, sizeof(char *), &part) ||
	       __builtin_add_overflow(size, part, &size) ||
	       __builtin_add_overflow(size, chars, &size);
	if (over)
		return alb_fail(err, ALB_ETOOBIG, "unikernel config too large");
	char *mem = malloc(size);
	if (mem == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");

	struct res_uk *uk = (struct res_uk *)mem;
	size_t off = sizeof(*uk);
	uk->memory = c->memory;
	uk->cpuids = (int64_t *)(mem + off);
	if (c->n_cpuids > 0)
		memcpy(uk->cpuids, c->cpuids, c->n_cpuids * sizeof(int64_t));
	uk->n_cpuids = alb_sort_ints(uk->cpuids, c->n_cpuids);
	off += c->n_cpuids * sizeof(int64_t);
	uk->bridges = (struct alb_str *)(mem + off);
	off += c->n_bridges * sizeof(struct alb_str);
	uk->blocks = (char **)(mem + off);
	off += nb * sizeof(char *);
	char *chp = mem + off;
	for (size_t i = 0; i < c->n_bridges; i++) {
		h = alb_pol_host_bridge(&c->bridges[i]);
		if (h->len > 0)
			memcpy(chp, h->ptr, h->len);
		chp[h->len] = '\0';
		uk->bridges[i].ptr = chp;
		uk->bridges[i].len = h->len;
		chp += h->len + 1;
	}
	uk->n_bridges = alb_sort_strs(uk->bridges, c->n_bridges);
	uk->n_blocks = 0;
	for (size_t i = 0; i < c->n_blocks; i++) {
		if (block_of(r, path, &c->blocks[i], &h, name) != BLK_NAME)
			continue;
		size_t len = strlen(name);
		memcpy(chp, name, len + 1);
		uk->blocks[uk->n_blocks++] = chp;
		chp += len + 1;
	}
	qsort(uk->blocks, uk->n_blocks, sizeof(char *), strp_cmp);
	*out = uk;
	return 0;
}

int alb_resources_unikernel_insert(struct alb_resources *r, const char *name,
				   const struct alb_unikernel_config *c,
				   struct alb_error *err)
{
	int rc = need_label(name, err);
	if (rc != 0)
		return rc;
	if (alb_trie_find(r->unikernels, name) != NULL)
		return alb_fail(err, ALB_EEXIST,
				"unikernel %s already exists in trie", name);
	char path[ALB_NAME_BUF];
	alb_name_path(name, path);
	struct res_uk *uk;
	rc = uk_new(r, path, c, &uk, err);
	if (rc != 0)
		return rc;
	/* every device must be free before any is marked, so that a failure
	 * changes nothing; names are sorted, so a repeated one is adjacent */
	for (size_t i = 0; i < uk->n_blocks && rc == 0; i++) {
		const struct res_block *b = alb_trie_find(r->blocks,
							  uk->blocks[i]);
		if (b == NULL)
			rc = alb_fail(err, ALB_ENOENT,
				      "block device %s not in trie",
				      uk->blocks[i]);
		else if (b->active ||
			 (i > 0 && strcmp(uk->blocks[i - 1], uk->blocks[i]) == 0))
			rc = alb_fail(err, ALB_EBUSY,
				      "block device %s already in state active",
				      uk->blocks[i]);
	}
	if (rc == 0)
		rc = alb_trie_insert(r->unikernels, name, uk, NULL, err);
	if (rc != 0) {
		free(uk);
		return rc;
	}
	for (size_t i = 0; i < uk->n_blocks; i++) {
		struct res_block *b = alb_trie_find(r->blocks, uk->blocks[i]);
		b->active = true;
	}
	sums_update(r, name, uk, 1);
	return 0;
}

int alb_resources_unikernel_remove(struct alb_resources *r, const char *name,
				   struct alb_error *err)
{
	int rc = need_label(name, err);
	if (rc != 0)
		return rc;
	struct res_uk *uk = alb_trie_remove(r->unikernels, name);
	if (uk == NULL)
		return alb_fail(err, ALB_ENOENT, "unknown unikernel");
	sums_update(r, name, uk, -1);
	/* a device removed meanwhile has nothing left to release */
	for (size_t i = 0; i < uk->n_blocks; i++) {
		struct res_block *b = alb_trie_find(r->blocks, uk->blocks[i]);
		if (b != NULL)
			b->active = false;
	}
	free(uk);
	return 0;
}

bool alb_resources_unikernel_exists(const struct alb_resources *r,
				    const char *name)
{
	return need_label(name, NULL) == 0 &&
	       alb_trie_find(r->unikernels, name) != NULL;
}

int64_t alb_resources_unikernel_limit(const struct alb_resources *r,
				      const char *name)
{
	if (need_name(name, NULL) != 0)
		return 0;
	char path[ALB_NAME_BUF];
	alb_name_path(name, path);
	if (alb_name_is_root(path))
		return ALB_POLICY_UNLIMITED;
	const struct alb_policy *p = alb_trie_find(r->policies, path);
	return p != NULL ? p->unikernels : 0;
}
