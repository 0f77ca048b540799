/* libalbatross — policy values: copies, sets, the usable and sub ≤ super
 * checks, the client's fit check, root policy discovery (spec §4).
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "albatross/policy.h"
#include "base/internal.h"
#include "policy_priv.h"

/* ---- sets ---------------------------------------------------------------- */

int alb_pol_ids_view(struct alb_ids_view *out, const int64_t *v, size_t n)
{
	out->v = v;
	out->n = n;
	out->owned_ = NULL;
	for (size_t i = 1; i < n; i++) {
		if (v[i - 1] < v[i])
			continue;
		int64_t *c = malloc(n * sizeof(*c));
		if (c == NULL)
			return ALB_ENOMEM;
		memcpy(c, v, n * sizeof(*c));
		out->n = alb_sort_ints(c, n);
		out->v = out->owned_ = c;
		break;
	}
	return 0;
}

void alb_pol_ids_view_free(struct alb_ids_view *w)
{
	free(w->owned_);
	w->owned_ = NULL;
}

int alb_pol_strs_view(struct alb_strs_view *out, const struct alb_str *v,
		      size_t n)
{
	out->v = v;
	out->n = n;
	out->owned_ = NULL;
	for (size_t i = 1; i < n; i++) {
		if (alb_str_cmp(&v[i - 1], &v[i]) < 0)
			continue;
		struct alb_str *c = malloc(n * sizeof(*c));
		if (c == NULL)
			return ALB_ENOMEM;
		memcpy(c, v, n * sizeof(*c));
		out->n = alb_sort_strs(c, n);
		out->v = out->owned_ = c;
		break;
	}
	return 0;
}

void alb_pol_strs_view_free(struct alb_strs_view *w)
{
	free(w->owned_);
	w->owned_ = NULL;
}

bool alb_pol_ids_has(const int64_t *set, size_t n, int64_t x)
{
	/* bsearch() wants a valid array even for n == 0 */
	return n > 0 && bsearch(&x, set, n, sizeof(*set), alb_int_qcmp) != NULL;
}

bool alb_pol_strs_has(const struct alb_str *set, size_t n,
		      const struct alb_str *x)
{
	return n > 0 && bsearch(x, set, n, sizeof(*set), alb_str_qcmp) != NULL;
}

bool alb_pol_ids_subset(const struct alb_ids_view *a,
			const struct alb_ids_view *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!alb_pol_ids_has(b->v, b->n, a->v[i]))
			return false;
	return true;
}

bool alb_pol_strs_subset(const struct alb_strs_view *a,
			 const struct alb_strs_view *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!alb_pol_strs_has(b->v, b->n, &a->v[i]))
			return false;
	return true;
}

/* Appends to a NUL-terminated buffer, cutting when full. */
static void append(char *out, size_t cap, size_t *len, const char *s,
		   size_t n)
{
	if (*len + 1 >= cap)
		return;
	size_t room = cap - 1 - *len;
	if (n > room)
		n = room;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
}

void alb_pol_ids_print(char *out, size_t cap, const struct alb_ids_view *a,
		       const struct alb_ids_view *b)
{
	size_t len = 0;
	bool first = true;
	if (cap == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < a->n && len + 1 < cap; i++) {
		if (b != NULL && alb_pol_ids_has(b->v, b->n, a->v[i]))
			continue;
		char num[32];
		int k = snprintf(num, sizeof(num), "%s%" PRId64,
				 first ? "" : ", ", a->v[i]);
		append(out, cap, &len, num, (size_t)k);
		first = false;
	}
}

void alb_pol_strs_print(char *out, size_t cap, const struct alb_str *v,
			size_t n)
{
	size_t len = 0;
	if (cap == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < n && len + 1 < cap; i++) {
		if (i > 0)
			append(out, cap, &len, ", ", 2);
		if (v[i].len > 0)
			append(out, cap, &len, v[i].ptr, v[i].len);
	}
}

int64_t alb_pol_add(int64_t x, int64_t y)
{
	int64_t s;
	if (y <= 0)
		return x;
	if (__builtin_add_overflow(x, y, &s))
		return INT64_MAX;
	return s;
}

bool alb_pol_exceeds(int64_t request, int64_t limit, int64_t used)
{
	int64_t room;
	/* limit - used only overflows downwards (used >= 0): nothing fits */
	if (__builtin_sub_overflow(limit, used, &room))
		return true;
	return request > room;
}

/* ---- policy values --------------------------------------------------------- */

static bool str_ok(const struct alb_str *s)
{
	return s->ptr != NULL || s->len == 0;
}

int alb_policy_copy(const struct alb_policy *src, struct alb_policy **out,
		    struct alb_error *err)
{
	*out = NULL;
	if (src->n_cpuids > 0 && src->cpuids == NULL)
		return alb_fail(err, ALB_EINVAL, "policy without its CPUids");
	if (src->n_bridges > 0 && src->bridges == NULL)
		return alb_fail(err, ALB_EINVAL, "policy without its bridges");

	/* normalise a copy of the bridge structs first: only the bytes of
	 * the distinct names are then copied */
	struct alb_str *names = NULL;
	size_t nb = 0;
	if (src->n_bridges > 0) {
		names = malloc(src->n_bridges * sizeof(*names));
		if (names == NULL)
			return alb_fail(err, ALB_ENOMEM, "out of memory");
		for (size_t i = 0; i < src->n_bridges; i++) {
			if (!str_ok(&src->bridges[i])) {
				free(names);
				return alb_fail(err, ALB_EINVAL,
						"policy with an absent bridge");
			}
			names[i] = src->bridges[i];
		}
		nb = alb_sort_strs(names, src->n_bridges);
	}

	size_t size = sizeof(struct alb_policy), part;
	bool over = __builtin_mul_overflow(src->n_cpuids, sizeof(int64_t),
					   &part) ||
		    __builtin_add_overflow(size, part, &size);
	over = over || __builtin_mul_overflow(nb, sizeof(struct alb_str), &part) ||
	       __builtin_add_overflow(size, part, &size);
	for (size_t i = 0; i < nb && !over; i++)
		over = __builtin_add_overflow(size, names[i].len + 1, &size);
	if (over) {
		free(names);
		return alb_fail(err, ALB_ETOOBIG, "policy too large");
	}

	char *mem = malloc(size);
	if (mem == NULL) {
		free(names);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	struct alb_policy *p = (struct alb_policy *)mem;
	*p = *src;
	/* int64_t and struct alb_str both need no more than pointer
	 * alignment, which every offset below keeps */
	size_t off = sizeof(*p);
	p->cpuids = (int64_t *)(mem + off);
	if (src->n_cpuids > 0)
		memcpy(p->cpuids, src->cpuids, src->n_cpuids * sizeof(int64_t));
	p->n_cpuids = alb_sort_ints(p->cpuids, src->n_cpuids);
	off += src->n_cpuids * sizeof(int64_t);
	p->bridges = (struct alb_str *)(mem + off);
	p->n_bridges = nb;
	off += nb * sizeof(struct alb_str);
	for (size_t i = 0; i < nb; i++) {
		char *s = mem + off;
		if (names[i].len > 0)
			memcpy(s, names[i].ptr, names[i].len);
		s[names[i].len] = '\0';
		p->bridges[i].ptr = s;
		p->bridges[i].len = names[i].len;
		off += names[i].len + 1;
	}
	if (src->n_cpuids == 0)
		p->cpuids = NULL;
	if (nb == 0)
		p->bridges = NULL;
	free(names);
	*out = p;
	return 0;
}

void alb_policy_free(struct alb_policy *p)
{
	free(p);
}

/* Views of both sets of a policy; ALB_ENOMEM. */
static int policy_views(const struct alb_policy *p, struct alb_ids_view *ids,
			struct alb_strs_view *strs)
{
	if (alb_pol_ids_view(ids, p->cpuids, p->n_cpuids) != 0)
		return ALB_ENOMEM;
	if (alb_pol_strs_view(strs, p->bridges, p->n_bridges) != 0) {
		alb_pol_ids_view_free(ids);
		return ALB_ENOMEM;
	}
	return 0;
}

static void policy_views_free(struct alb_ids_view *ids,
			      struct alb_strs_view *strs)
{
	alb_pol_ids_view_free(ids);
	alb_pol_strs_view_free(strs);
}

bool alb_policy_equal(const struct alb_policy *a, const struct alb_policy *b)
{
	if (a->unikernels != b->unikernels || a->memory != b->memory ||
	    a->has_block != b->has_block ||
	    (a->has_block && a->block != b->block))
		return false;
	struct alb_ids_view ai, bi;
	struct alb_strs_view as, bs;
	if (policy_views(a, &ai, &as) != 0)
		return false;
	if (policy_views(b, &bi, &bs) != 0) {
		policy_views_free(&ai, &as);
		return false;
	}
	bool eq = ai.n == bi.n && as.n == bs.n;
	for (size_t i = 0; eq && i < ai.n; i++)
		eq = ai.v[i] == bi.v[i];
	for (size_t i = 0; eq && i < as.n; i++)
		eq = alb_str_cmp(&as.v[i], &bs.v[i]) == 0;
	policy_views_free(&ai, &as);
	policy_views_free(&bi, &bs);
	return eq;
}

int alb_policy_usable(const struct alb_policy *p, struct alb_error *err)
{
	if (p->unikernels <= 0)
		return alb_fail(err, ALB_EINVAL,
				"Unusable policy with no unikernels");
	if (p->n_cpuids == 0)
		return alb_fail(err, ALB_EINVAL,
				"Unusable policy with no CPUids");
	if (p->memory <= ALB_POLICY_MIN_MEMORY)
		return alb_fail(err, ALB_EINVAL,
				"Unusable policy with memory %" PRId64
				" MB <= %d MB",
				p->memory, ALB_POLICY_MIN_MEMORY);
	if (p->has_block && p->block < 0)
		return alb_fail(err, ALB_EINVAL,
				"Unusable policy with block %" PRId64
				" MB < 0 MB",
				p->block);
	return 0;
}

int alb_policy_is_smaller(const struct alb_policy *super,
			  const struct alb_policy *sub, struct alb_error *err)
{
	if (super->unikernels < sub->unikernels)
		return alb_fail(err, ALB_EPERM,
				"policy above allows %" PRId64
				" unikernels, which is fewer than %" PRId64,
				super->unikernels, sub->unikernels);
	if (super->memory < sub->memory)
		return alb_fail(err, ALB_EPERM,
				"policy above allows %" PRId64
				" MB memory, which is fewer than %" PRId64
				" MB",
				super->memory, sub->memory);

	struct alb_ids_view supi, subi;
	struct alb_strs_view sups, subs;
	if (policy_views(super, &supi, &sups) != 0)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	if (policy_views(sub, &subi, &subs) != 0) {
		policy_views_free(&supi, &sups);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	char l1[ALB_ERROR_MSG_MAX], l2[ALB_ERROR_MSG_MAX];
	int rc = 0;
	if (!alb_pol_ids_subset(&subi, &supi)) {
		alb_pol_ids_print(l1, sizeof(l1), &subi, &supi);
		rc = alb_fail(err, ALB_EPERM,
			      "policy above does not allow CPUids %s", l1);
	} else if (!alb_pol_strs_subset(&subs, &sups)) {
		alb_pol_strs_print(l1, sizeof(l1), sups.v, sups.n);
		alb_pol_strs_print(l2, sizeof(l2), subs.v, subs.n);
		rc = alb_fail(err, ALB_EPERM,
			      "policy above allows bridge(s) %s, which is not "
			      "a superset of %s",
			      l1, l2);
	} else if (sub->has_block &&
		   (!super->has_block || super->block < sub->block)) {
		rc = alb_fail(err, ALB_EPERM,
			      "policy above allows %" PRId64
			      " MB block storage, which is fewer than %" PRId64
			      " MB",
			      super->has_block ? super->block : 0, sub->block);
	}
	policy_views_free(&supi, &sups);
	policy_views_free(&subi, &subs);
	return rc;
}

const struct alb_str *alb_pol_host_bridge(const struct alb_net_dev *d)
{
	return d->bridge.ptr != NULL ? &d->bridge : &d->netif;
}

bool alb_pol_bridges_denied(char *out, size_t cap,
			    const struct alb_unikernel_config *c,
			    const struct alb_str *allowed, size_t n_allowed)
{
	size_t len = 0;
	bool any = false;
	if (cap > 0)
		out[0] = '\0';
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct alb_str *b = alb_pol_host_bridge(&c->bridges[i]);
		if (alb_pol_strs_has(allowed, n_allowed, b))
			continue;
		if (any)
			append(out, cap, &len, ", ", 2);
		if (b->len > 0)
			append(out, cap, &len, b->ptr, b->len);
		any = true;
	}
	return any;
}

int alb_policy_allows(const struct alb_policy *p,
		      const struct alb_unikernel_config *c,
		      struct alb_error *err)
{
	struct alb_ids_view pi, ci;
	struct alb_strs_view ps;
	char l1[ALB_ERROR_MSG_MAX], l2[ALB_ERROR_MSG_MAX];
	int rc = 0;

	if (policy_views(p, &pi, &ps) != 0)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	if (alb_pol_ids_view(&ci, c->cpuids, c->n_cpuids) != 0) {
		policy_views_free(&pi, &ps);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	if (!alb_pol_ids_subset(&ci, &pi)) {
		alb_pol_ids_print(l1, sizeof(l1), &ci, &pi);
		rc = alb_fail(err, ALB_EPERM,
			      "the CPUids %s requested by the unikernel are "
			      "not allowed by policy",
			      l1);
	} else if (c->memory > p->memory) {
		/* OCaml's %u prints the bits of a negative int unsigned */
		rc = alb_fail(err, ALB_EPERM,
			      "%" PRIu64 " MB memory assigned to unikernel "
			      "exceeds policy (%" PRIu64 "MB)",
			      (uint64_t)c->memory, (uint64_t)p->memory);
	} else if (alb_pol_bridges_denied(l1, sizeof(l1), c, ps.v, ps.n)) {
		alb_pol_strs_print(l2, sizeof(l2), ps.v, ps.n);
		rc = alb_fail(err, ALB_EPERM,
			      "Bridge(s) %s not allowed by policy "
			      "(available: %s)",
			      l1, l2);
	}
	alb_pol_ids_view_free(&ci);
	policy_views_free(&pi, &ps);
	return rc;
}

/* ---- root policy --------------------------------------------------------- */

int alb_policy_root(int64_t ncpus, uint64_t memory_bytes, uint64_t block_bytes,
		    const struct alb_str *bridges, size_t n_bridges,
		    struct alb_policy **out, struct alb_error *err)
{
	*out = NULL;
	if (ncpus < 1)
		return alb_fail(err, ALB_EINVAL,
				"root policy failed: %" PRId64 " CPUs", ncpus);
	if (ncpus > ALB_POLICY_ROOT_CPUS_MAX)
		return alb_fail(err, ALB_ETOOBIG,
				"root policy failed: %" PRId64
				" CPUs, more than %d",
				ncpus, ALB_POLICY_ROOT_CPUS_MAX);
	int64_t *ids = malloc((size_t)ncpus * sizeof(*ids));
	if (ids == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	for (int64_t i = 0; i < ncpus; i++)
		ids[i] = i;
	struct alb_policy p = {
		.unikernels = ALB_POLICY_UNLIMITED,
		.n_cpuids = (size_t)ncpus,
		.cpuids = ids,
		/* bytes >> 20 is below 2^44, so it fits an int64_t */
		.memory = (int64_t)(memory_bytes >> 20),
		.has_block = true,
		.block = (int64_t)(block_bytes >> 20),
		.n_bridges = n_bridges,
		.bridges = (struct alb_str *)bridges,
	};
	int rc = alb_policy_copy(&p, out, err);
	free(ids);
	return rc;
}

int alb_policy_root_discover(const char *block_dir,
			     const struct alb_str *bridges, size_t n_bridges,
			     struct alb_policy **out, struct alb_error *err)
{
	*out = NULL;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 0)
		return alb_fail_sys(err, "root policy failed: sysconf CPUs");
	long pages = sysconf(_SC_PHYS_PAGES);
	long page_size = sysconf(_SC_PAGE_SIZE);
	if (pages < 0 || page_size < 0)
		return alb_fail_sys(err, "root policy failed: sysconf memory");
	struct statfs fs;
	if (statfs(block_dir, &fs) != 0)
		return alb_fail_sys(err, "root policy failed: statfs %s",
				    block_dir);
	uint64_t memory, block;
	if (__builtin_mul_overflow((uint64_t)pages, (uint64_t)page_size,
				   &memory) ||
	    __builtin_mul_overflow((uint64_t)fs.f_blocks, (uint64_t)fs.f_bsize,
				   &block))
		return alb_fail(err, ALB_ETOOBIG,
				"root policy failed: size overflow");
	return alb_policy_root(cpus, memory, block, bridges, n_bridges, out,
			       err);
}
