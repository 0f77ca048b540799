/* Unit tests: policies and the resource table (spec §4, §12.1), with
 * upstream's resource tests (spec §11) ported.
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "albatross/name.h"
#include "albatross/policy.h"

static struct alb_error E;

/* Runs expr (which reports into &E) and checks its code and exact text. */
#define FAILS(code, text, expr)                                             \
	do {                                                                \
		memset(&E, 0, sizeof(E));                                   \
		assert_int_equal((expr), (code));                           \
		assert_string_equal(E.msg, (text));                         \
	} while (0)

#define OK(expr)                                                            \
	do {                                                                \
		memset(&E, 0, sizeof(E));                                   \
		int rc_ = (expr);                                           \
		if (rc_ != 0)                                               \
			fail_msg("%s: %d %s", #expr, rc_, E.msg);           \
	} while (0)

static struct alb_str S(const char *s)
{
	struct alb_str r = { s, strlen(s) };
	return r;
}

/* ---- building policies and configs ---------------------------------------- */

struct pol {
	struct alb_policy p;
	int64_t ids[16];
	struct alb_str br[8];
};

static void pol_init(struct pol *x, int64_t unikernels, int64_t memory)
{
	memset(x, 0, sizeof(*x));
	x->p.unikernels = unikernels;
	x->p.memory = memory;
	x->p.cpuids = x->ids;
	x->p.bridges = x->br;
}

static void pol_cpu(struct pol *x, int64_t id)
{
	x->ids[x->p.n_cpuids++] = id;
}

static void pol_bridge(struct pol *x, const char *b)
{
	x->br[x->p.n_bridges++] = S(b);
}

static void pol_block(struct pol *x, int64_t mb)
{
	x->p.has_block = true;
	x->p.block = mb;
}

/* upstream's p1: 1 unikernel, cpu 0, 10 MB, block 5, bridge service */
static void pol_p1(struct pol *x)
{
	pol_init(x, 1, 10);
	pol_cpu(x, 0);
	pol_block(x, 5);
	pol_bridge(x, "service");
}

struct cfg {
	struct alb_unikernel_config c;
	int64_t ids[8];
	struct alb_net_dev nets[4];
	struct alb_block_dev blks[4];
};

static void cfg_init(struct cfg *f, int64_t memory)
{
	memset(f, 0, sizeof(*f));
	f->c.memory = memory;
	f->c.cpuids = f->ids;
	f->c.bridges = f->nets;
	f->c.blocks = f->blks;
	f->c.numcpus = 1;
}

static void cfg_cpu(struct cfg *f, int64_t id)
{
	f->ids[f->c.n_cpuids++] = id;
}

static void cfg_net(struct cfg *f, const char *netif, const char *bridge)
{
	struct alb_net_dev *d = &f->nets[f->c.n_bridges++];
	d->netif = S(netif);
	if (bridge != NULL)
		d->bridge = S(bridge);
}

static void cfg_block(struct cfg *f, const char *name, const char *device)
{
	struct alb_block_dev *d = &f->blks[f->c.n_blocks++];
	d->name = S(name);
	if (device != NULL)
		d->device = S(device);
}

/* upstream's u: cpu 0, 10 MB, bridge service */
static void cfg_u(struct cfg *f)
{
	cfg_init(f, 10);
	cfg_cpu(f, 0);
	cfg_net(f, "service", NULL);
}

static struct alb_resources *res_new(void)
{
	struct alb_resources *r = alb_resources_new();
	assert_non_null(r);
	return r;
}

/* upstream's r1: p1 at alpha */
static struct alb_resources *res_r1(void)
{
	struct alb_resources *r = res_new();
	struct pol p;
	pol_p1(&p);
	OK(alb_resources_policy_insert(r, "alpha:", &p.p, NULL, &E));
	return r;
}

static void run(struct alb_resources *r, const char *name,
		const struct cfg *f)
{
	OK(alb_resources_unikernel_check(r, name, &f->c, NULL, &E));
	OK(alb_resources_unikernel_insert(r, name, &f->c, &E));
}

/* ---- upstream's resource tests (spec §11) ---------------------------------- */

static void test_up_empty_resources(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct cfg u;
	cfg_u(&u);
	OK(alb_resources_unikernel_check(r, ":foo", &u.c, NULL, &E));
	OK(alb_resources_unikernel_check(r, ":bar", &u.c, NULL, &E));
	OK(alb_resources_unikernel_check(r, "foo:bar", &u.c, NULL, &E));
	OK(alb_resources_block_check(r, "foo:bar", 10, &E));
	alb_resources_free(r);
	alb_resources_free(NULL);
}

static void test_up_policy_respected_unikernel(void **state)
{
	(void)state;
	struct alb_resources *r = res_r1();
	struct cfg u;
	cfg_u(&u);
	OK(alb_resources_unikernel_check(r, "alpha:bar", &u.c, NULL, &E));
	OK(alb_resources_unikernel_check(r, "alpha:bar", &u.c, NULL, &E));

	u.ids[0] = 1;
	FAILS(ALB_EPERM, "CPUids 1 are not allowed by policy",
	      alb_resources_unikernel_check(r, "alpha:bar", &u.c, NULL, &E));
	cfg_u(&u);
	u.c.memory = 11;
	FAILS(ALB_EPERM,
	      "maximum allowed memory (10, used 0) would be exceeded "
	      "(requesting 11)",
	      alb_resources_unikernel_check(r, "alpha:bar", &u.c, NULL, &E));
	cfg_u(&u);
	u.nets[0].netif = S("service2");
	FAILS(ALB_EPERM, "bridges service2 not allowed by policy",
	      alb_resources_unikernel_check(r, "alpha:bar", &u.c, NULL, &E));
	alb_resources_free(r);
}

static void test_up_policy_respected_block(void **state)
{
	(void)state;
	struct alb_resources *r = res_r1();
	OK(alb_resources_block_check(r, "alpha:bar", 5, &E));
	FAILS(ALB_EPERM,
	      "block device policy limit of 5 MB (used 0 MB) would be "
	      "exceeded by the request (10 MB)",
	      alb_resources_block_check(r, "alpha:bar", 10, &E));
	alb_resources_free(r);

	r = res_new();
	struct pol p;
	pol_p1(&p);
	p.p.has_block = false;
	OK(alb_resources_policy_insert(r, "alpha:", &p.p, NULL, &E));
	FAILS(ALB_EPERM, "no block devices are allowed by policy",
	      alb_resources_block_check(r, "alpha:bar", 5, &E));
	alb_resources_free(r);
}

static void test_up_policy_respected_sub(void **state)
{
	(void)state;
	struct alb_resources *r = res_r1();
	struct pol p;

	pol_p1(&p);
	OK(alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	OK(alb_resources_policy_remove(r, "alpha:beta:", &E));

	pol_p1(&p);
	p.p.unikernels = 2;
	FAILS(ALB_EPERM, "policy above allows 1 unikernels, which is fewer than 2",
	      alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	pol_p1(&p);
	p.ids[0] = 1;
	FAILS(ALB_EPERM, "policy above does not allow CPUids 1",
	      alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	pol_p1(&p);
	pol_cpu(&p, 1);
	FAILS(ALB_EPERM, "policy above does not allow CPUids 1",
	      alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.memory = 11;
	FAILS(ALB_EPERM,
	      "policy above allows 10 MB memory, which is fewer than 11 MB",
	      alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.block = 10;
	FAILS(ALB_EPERM,
	      "policy above allows 5 MB block storage, which is fewer than 10 MB",
	      alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.has_block = false;
	OK(alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	OK(alb_resources_policy_remove(r, "alpha:beta:", &E));
	pol_p1(&p);
	p.br[0] = S("service2");
	FAILS(ALB_EPERM,
	      "policy above allows bridge(s) service, which is not a superset "
	      "of service2",
	      alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	pol_p1(&p);
	pol_bridge(&p, "service2");
	FAILS(ALB_EPERM,
	      "policy above allows bridge(s) service, which is not a superset "
	      "of service, service2",
	      alb_resources_policy_insert(r, "alpha:beta:", &p.p, NULL, &E));
	assert_null(alb_resources_policy_find(r, "alpha:beta:"));
	alb_resources_free(r);
}

static void test_up_policy_respected_super(void **state)
{
	(void)state;
	struct alb_resources *r = res_r1();
	struct pol p;

	pol_p1(&p);
	p.p.unikernels = 2;
	OK(alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.unikernels = 0;
	FAILS(ALB_EPERM, "policy above allows 0 unikernels, which is fewer than 1",
	      alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	pol_cpu(&p, 1);
	OK(alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	p.ids[0] = 1;
	FAILS(ALB_EPERM, "policy above does not allow CPUids 0",
	      alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.memory = 11;
	OK(alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.memory = 5;
	FAILS(ALB_EPERM,
	      "policy above allows 5 MB memory, which is fewer than 10 MB",
	      alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.block = 5;
	OK(alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.block = 3;
	FAILS(ALB_EPERM,
	      "policy above allows 3 MB block storage, which is fewer than 5 MB",
	      alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	p.p.has_block = false;
	FAILS(ALB_EPERM,
	      "policy above allows 0 MB block storage, which is fewer than 5 MB",
	      alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	pol_bridge(&p, "foo");
	OK(alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_p1(&p);
	p.br[0] = S("foo");
	FAILS(ALB_EPERM,
	      "policy above allows bridge(s) foo, which is not a superset of "
	      "service",
	      alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	alb_resources_free(r);
}

static void test_up_policy_overwritten(void **state)
{
	(void)state;
	struct alb_resources *r = res_r1();
	struct pol p;
	pol_p1(&p);
	p.p.unikernels = 2;
	bool unchanged = true;
	OK(alb_resources_policy_insert(r, "alpha:", &p.p, &unchanged, &E));
	assert_false(unchanged);
	assert_int_equal(alb_resources_policy_find(r, "alpha:")->unikernels, 2);
	alb_resources_free(r);
}

static void test_up_block_insert_remove(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	OK(alb_resources_block_add(r, ":foo", 10, &E));
	FAILS(ALB_EEXIST,
	      "block device with name [unikernel: :foo] already exists",
	      alb_resources_block_add(r, ":foo", 10, &E));
	OK(alb_resources_block_remove(r, ":foo", &E));
	OK(alb_resources_block_add(r, ":foo", 10, &E));
	alb_resources_free(r);

	r = res_new();
	FAILS(ALB_ENOENT, "unknown block device :foo",
	      alb_resources_block_remove(r, ":foo", &E));
	alb_resources_free(r);
}

static void test_up_policy_removal(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	FAILS(ALB_ENOENT, "unknown policy",
	      alb_resources_policy_remove(r, "foo:", &E));
	alb_resources_free(r);
	r = res_r1();
	OK(alb_resources_policy_remove(r, "alpha:", &E));
	assert_null(alb_resources_policy_find(r, "alpha:"));
	alb_resources_free(r);
}

static void test_up_unikernel_insert_remove(void **state)
{
	(void)state;
	struct alb_resources *r = res_r1();
	struct cfg u;
	cfg_u(&u);
	FAILS(ALB_ENOENT, "unknown unikernel",
	      alb_resources_unikernel_remove(r, "alpha:beta", &E));
	OK(alb_resources_unikernel_insert(r, "alpha:beta", &u.c, &E));
	assert_true(alb_resources_unikernel_exists(r, "alpha:beta"));
	/* with one unikernel running, p1's limit of 1 speaks first */
	FAILS(ALB_EPERM, "maximum amount of unikernels (1) reached",
	      alb_resources_unikernel_check(r, "alpha:beta", &u.c, NULL, &E));
	FAILS(ALB_EEXIST, "unikernel alpha:beta already exists in trie",
	      alb_resources_unikernel_insert(r, "alpha:beta", &u.c, &E));
	OK(alb_resources_unikernel_remove(r, "alpha:beta", &E));
	assert_false(alb_resources_unikernel_exists(r, "alpha:beta"));
	OK(alb_resources_unikernel_insert(r, "alpha:beta", &u.c, &E));
	alb_resources_free(r);

	/* without a policy, the name check is what refuses */
	r = res_new();
	OK(alb_resources_unikernel_insert(r, "alpha:beta", &u.c, &E));
	FAILS(ALB_EEXIST, "unikernel with same name already exists",
	      alb_resources_unikernel_check(r, "alpha:beta", &u.c, NULL, &E));
	alb_resources_free(r);
}

static void test_up_unikernel_with_block(void **state)
{
	(void)state;
	struct alb_resources *r = res_r1();
	struct cfg uc2;
	cfg_u(&uc2);
	cfg_block(&uc2, "block", NULL);
	FAILS(ALB_ENOENT, "block device alpha:block not found",
	      alb_resources_unikernel_check(r, "alpha:bar", &uc2.c, NULL, &E));
	OK(alb_resources_block_add(r, "alpha:block", 5, &E));
	OK(alb_resources_unikernel_check(r, "alpha:bar", &uc2.c, NULL, &E));

	struct cfg uc3;
	cfg_u(&uc3);
	cfg_block(&uc3, "block", "b");
	FAILS(ALB_ENOENT, "block device alpha:b not found",
	      alb_resources_unikernel_check(r, "alpha:bar", &uc3.c, NULL, &E));

	OK(alb_resources_unikernel_insert(r, "alpha:bar", &uc2.c, &E));
	/* a second policy-free path so that the block check is reached */
	OK(alb_resources_policy_remove(r, "alpha:", &E));
	FAILS(ALB_EBUSY, "block device alpha:block already in use",
	      alb_resources_unikernel_check(r, "alpha:bar2", &uc2.c, NULL, &E));
	FAILS(ALB_EBUSY, "block device alpha:block in use",
	      alb_resources_block_remove(r, "alpha:block", &E));
	alb_resources_free(r);
}

/* ---- §4.2 usable -------------------------------------------------------------- */

static void test_usable(void **state)
{
	(void)state;
	struct pol p;
	pol_init(&p, 1, ALB_POLICY_MIN_MEMORY + 1);
	pol_cpu(&p, 0);
	OK(alb_policy_usable(&p.p, &E));

	p.p.unikernels = 0;
	FAILS(ALB_EINVAL, "Unusable policy with no unikernels",
	      alb_policy_usable(&p.p, &E));
	p.p.unikernels = -1;
	FAILS(ALB_EINVAL, "Unusable policy with no unikernels",
	      alb_policy_usable(&p.p, &E));
	p.p.unikernels = 1;
	p.p.n_cpuids = 0;
	FAILS(ALB_EINVAL, "Unusable policy with no CPUids",
	      alb_policy_usable(&p.p, &E));
	p.p.n_cpuids = 1;
	p.p.memory = ALB_POLICY_MIN_MEMORY;
	FAILS(ALB_EINVAL, "Unusable policy with memory 16 MB <= 16 MB",
	      alb_policy_usable(&p.p, &E));
	p.p.memory = ALB_POLICY_MIN_MEMORY + 1;
	pol_block(&p, 0);
	OK(alb_policy_usable(&p.p, &E));
	p.p.block = -1;
	FAILS(ALB_EINVAL, "Unusable policy with block -1 MB < 0 MB",
	      alb_policy_usable(&p.p, &E));
}

/* ---- §4.3 is_smaller at the limits ------------------------------------------ */

static void test_is_smaller_limits(void **state)
{
	(void)state;
	struct pol sup, sub;
	pol_init(&sup, 3, 100);
	pol_cpu(&sup, 2);
	pol_cpu(&sup, 0);
	pol_bridge(&sup, "b");
	pol_bridge(&sup, "a");
	pol_block(&sup, 50);
	pol_init(&sub, 3, 100);
	pol_cpu(&sub, 0);
	pol_cpu(&sub, 2);
	pol_cpu(&sub, 0);
	pol_bridge(&sub, "a");
	pol_block(&sub, 50);
	OK(alb_policy_is_smaller(&sup.p, &sub.p, &E));
	OK(alb_policy_is_smaller(&sup.p, &sup.p, &E));

	sub.p.unikernels = 4;
	FAILS(ALB_EPERM, "policy above allows 3 unikernels, which is fewer than 4",
	      alb_policy_is_smaller(&sup.p, &sub.p, &E));
	sub.p.unikernels = 3;
	sub.p.memory = 101;
	FAILS(ALB_EPERM,
	      "policy above allows 100 MB memory, which is fewer than 101 MB",
	      alb_policy_is_smaller(&sup.p, &sub.p, &E));
	sub.p.memory = 100;
	pol_cpu(&sub, 7);
	pol_cpu(&sub, 5);
	FAILS(ALB_EPERM, "policy above does not allow CPUids 5, 7",
	      alb_policy_is_smaller(&sup.p, &sub.p, &E));
	sub.p.n_cpuids = 3;
	pol_bridge(&sub, "c");
	FAILS(ALB_EPERM,
	      "policy above allows bridge(s) a, b, which is not a superset of a, c",
	      alb_policy_is_smaller(&sup.p, &sub.p, &E));
	sub.p.n_bridges = 1;
	sub.p.block = 51;
	FAILS(ALB_EPERM,
	      "policy above allows 50 MB block storage, which is fewer than 51 MB",
	      alb_policy_is_smaller(&sup.p, &sub.p, &E));
	sub.p.has_block = false;
	OK(alb_policy_is_smaller(&sup.p, &sub.p, &E));
	sup.p.has_block = false;
	OK(alb_policy_is_smaller(&sup.p, &sub.p, &E));

	/* a list longer than a message is cut, never overrun */
	int64_t many[400];
	for (int64_t i = 0; i < 400; i++)
		many[i] = 399 - i;
	sub.p.cpuids = many;
	sub.p.n_cpuids = 400;
	memset(&E, 0, sizeof(E));
	assert_int_equal(alb_policy_is_smaller(&sup.p, &sub.p, &E), ALB_EPERM);
	assert_int_equal(strlen(E.msg), ALB_ERROR_MSG_MAX - 1);
	assert_memory_equal(E.msg, "policy above does not allow CPUids 1, 3, 4, 5",
			    45);
}

/* ---- copies, equality, the client's check ------------------------------------ */

static void test_copy_equal(void **state)
{
	(void)state;
	struct pol a, b;
	pol_init(&a, 2, 64);
	pol_cpu(&a, 3);
	pol_cpu(&a, 1);
	pol_cpu(&a, 3);
	pol_bridge(&a, "service");
	pol_bridge(&a, "br0");
	pol_bridge(&a, "service");
	pol_bridge(&a, "br");
	struct alb_policy *c = NULL;
	OK(alb_policy_copy(&a.p, &c, &E));
	assert_int_equal(c->n_cpuids, 2);
	assert_int_equal(c->cpuids[0], 1);
	assert_int_equal(c->cpuids[1], 3);
	assert_int_equal(c->n_bridges, 3);
	assert_string_equal(c->bridges[0].ptr, "br");
	assert_string_equal(c->bridges[1].ptr, "br0");
	assert_string_equal(c->bridges[2].ptr, "service");
	assert_true(alb_policy_equal(c, &a.p));

	pol_init(&b, 2, 64);
	pol_cpu(&b, 1);
	pol_cpu(&b, 3);
	pol_bridge(&b, "br");
	pol_bridge(&b, "br0");
	pol_bridge(&b, "service");
	assert_true(alb_policy_equal(&a.p, &b.p));
	pol_block(&b, 0);
	assert_false(alb_policy_equal(&a.p, &b.p));
	b.p.has_block = false;
	b.p.n_bridges = 2;
	assert_false(alb_policy_equal(&a.p, &b.p));
	b.p.n_bridges = 3;
	b.ids[1] = 4;
	assert_false(alb_policy_equal(&a.p, &b.p));
	alb_policy_free(c);
	alb_policy_free(NULL);

	/* empty sets copy to empty sets */
	pol_init(&b, 0, 0);
	OK(alb_policy_copy(&b.p, &c, &E));
	assert_int_equal(c->n_cpuids, 0);
	assert_int_equal(c->n_bridges, 0);
	assert_true(alb_policy_equal(c, &b.p));
	alb_policy_free(c);
}

static void test_allows(void **state)
{
	(void)state;
	struct pol p;
	pol_init(&p, 1, 64);
	pol_cpu(&p, 0);
	pol_cpu(&p, 1);
	pol_bridge(&p, "service");
	pol_bridge(&p, "ext");
	struct cfg f;
	cfg_init(&f, 64);
	cfg_cpu(&f, 1);
	cfg_net(&f, "service", NULL);
	cfg_net(&f, "net", "ext");
	OK(alb_policy_allows(&p.p, &f.c, &E));

	cfg_cpu(&f, 4);
	cfg_cpu(&f, 3);
	FAILS(ALB_EPERM,
	      "the CPUids 3, 4 requested by the unikernel are not allowed by "
	      "policy",
	      alb_policy_allows(&p.p, &f.c, &E));
	f.c.n_cpuids = 1;
	f.c.memory = 65;
	FAILS(ALB_EPERM, "65 MB memory assigned to unikernel exceeds policy (64MB)",
	      alb_policy_allows(&p.p, &f.c, &E));
	f.c.memory = 64;
	cfg_net(&f, "zz", NULL);
	cfg_net(&f, "a", "other");
	cfg_net(&f, "zz", NULL);
	FAILS(ALB_EPERM,
	      "Bridge(s) zz, other, zz not allowed by policy (available: ext, "
	      "service)",
	      alb_policy_allows(&p.p, &f.c, &E));
}

/* ---- §4.7 root policy ----------------------------------------------------------- */

static void test_root_policy(void **state)
{
	(void)state;
	struct alb_str br[] = { S("br1"), S("br0"), S("br1") };
	struct alb_policy *p = NULL;
	OK(alb_policy_root(4, (UINT64_C(8) << 30) + 12345,
			   (UINT64_C(100) << 20) + (UINT64_C(1) << 20) - 1, br,
			   3, &p, &E));
	assert_int_equal(p->unikernels, ALB_POLICY_UNLIMITED);
	assert_int_equal(p->unikernels, (INT64_C(1) << 62) - 1);
	assert_int_equal(p->n_cpuids, 4);
	for (int64_t i = 0; i < 4; i++)
		assert_int_equal(p->cpuids[i], i);
	assert_int_equal(p->memory, 8192);
	assert_true(p->has_block);
	assert_int_equal(p->block, 100);
	assert_int_equal(p->n_bridges, 2);
	assert_string_equal(p->bridges[0].ptr, "br0");
	assert_string_equal(p->bridges[1].ptr, "br1");
	alb_policy_free(p);

	/* at the CPU limit and one past it */
	OK(alb_policy_root(ALB_POLICY_ROOT_CPUS_MAX, 0, 0, NULL, 0, &p, &E));
	assert_int_equal(p->n_cpuids, ALB_POLICY_ROOT_CPUS_MAX);
	assert_int_equal(p->cpuids[ALB_POLICY_ROOT_CPUS_MAX - 1],
			 ALB_POLICY_ROOT_CPUS_MAX - 1);
	alb_policy_free(p);
	FAILS(ALB_ETOOBIG, "root policy failed: 8193 CPUs, more than 8192",
	      alb_policy_root(ALB_POLICY_ROOT_CPUS_MAX + 1, 0, 0, NULL, 0, &p,
			      &E));
	assert_null(p);
	FAILS(ALB_EINVAL, "root policy failed: 0 CPUs",
	      alb_policy_root(0, 0, 0, NULL, 0, &p, &E));

	/* the largest byte counts still fit */
	OK(alb_policy_root(1, UINT64_MAX, UINT64_MAX, NULL, 0, &p, &E));
	assert_int_equal(p->memory, (INT64_C(1) << 44) - 1);
	assert_int_equal(p->block, (INT64_C(1) << 44) - 1);
	alb_policy_free(p);
}

static void test_root_discover(void **state)
{
	(void)state;
	struct alb_str br[] = { S("br0") };
	struct alb_policy *p = NULL;
	OK(alb_policy_root_discover("/", br, 1, &p, &E));
	assert_int_equal((long)p->n_cpuids, sysconf(_SC_NPROCESSORS_ONLN));
	assert_true(p->memory > 0);
	assert_true(p->has_block && p->block > 0);
	assert_int_equal(p->n_bridges, 1);
	OK(alb_policy_usable(p, &E));
	alb_policy_free(p);

	memset(&E, 0, sizeof(E));
	assert_int_equal(alb_policy_root_discover("/nonexistent/albatross/block",
						  NULL, 0, &p, &E),
			 ALB_ESYS);
	assert_null(p);
	assert_non_null(strstr(E.msg, "root policy failed: statfs "
				      "/nonexistent/albatross/block"));
}

/* ---- §4.5 dynamic check: at the limit and one past ---------------------------- */

static void test_create_limits(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	pol_init(&p, 2, 100);
	pol_cpu(&p, 0);
	pol_cpu(&p, 1);
	pol_bridge(&p, "service");
	OK(alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));

	struct cfg f;
	cfg_init(&f, 60);
	cfg_cpu(&f, 1);
	run(r, "a:x", &f);

	/* memory: exactly what is left, and one more */
	cfg_init(&f, 41);
	FAILS(ALB_EPERM,
	      "maximum allowed memory (100, used 60) would be exceeded "
	      "(requesting 41)",
	      alb_resources_unikernel_check(r, "a:y", &f.c, NULL, &E));
	f.c.memory = 40;
	run(r, "a:y", &f); /* unikernels: n = 2 reached */

	cfg_init(&f, 0);
	FAILS(ALB_EPERM, "maximum amount of unikernels (2) reached",
	      alb_resources_unikernel_check(r, "a:z", &f.c, NULL, &E));
	OK(alb_resources_unikernel_remove(r, "a:y", &E));
	OK(alb_resources_unikernel_check(r, "a:z", &f.c, NULL, &E));

	/* CPU ids: the ones outside the policy, ascending */
	cfg_init(&f, 1);
	cfg_cpu(&f, 9);
	cfg_cpu(&f, 1);
	cfg_cpu(&f, 4);
	FAILS(ALB_EPERM, "CPUids 4, 9 are not allowed by policy",
	      alb_resources_unikernel_check(r, "a:z", &f.c, NULL, &E));

	/* bridges: the refused host bridges in config order */
	cfg_init(&f, 1);
	cfg_net(&f, "service", NULL);
	cfg_net(&f, "net0", "ext");
	cfg_net(&f, "other", NULL);
	FAILS(ALB_EPERM, "bridges ext, other not allowed by policy",
	      alb_resources_unikernel_check(r, "a:z", &f.c, NULL, &E));
	cfg_init(&f, 1);
	cfg_net(&f, "x", "service");
	OK(alb_resources_unikernel_check(r, "a:z", &f.c, NULL, &E));
	alb_resources_free(r);
}

/* ---- §4.6 block accounting -------------------------------------------------------- */

static void test_block_limits(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	pol_init(&p, 5, 100);
	pol_cpu(&p, 0);
	pol_block(&p, 100);
	OK(alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));
	OK(alb_resources_block_add(r, "a:d1", 30, &E));
	OK(alb_resources_block_add(r, "a:b:d2", 30, &E));

	FAILS(ALB_EPERM,
	      "block device policy limit of 100 MB (used 60 MB) would be "
	      "exceeded by the request (41 MB)",
	      alb_resources_block_add(r, "a:d3", 41, &E));
	OK(alb_resources_block_check(r, "a:d3", 40, &E));
	FAILS(ALB_EEXIST,
	      "block device with name [unikernel: a:b:d2] already exists",
	      alb_resources_block_check(r, "a:b:d2", 1, &E));

	/* attached or not, a device counts */
	struct cfg f;
	cfg_init(&f, 10);
	cfg_cpu(&f, 0);
	cfg_block(&f, "disk", "d1");
	run(r, "a:u", &f);
	bool active = false;
	int64_t size = 0;
	OK(alb_resources_block_find(r, "a:d1", &size, &active));
	assert_int_equal(size, 30);
	assert_true(active);
	struct alb_usage u;
	OK(alb_resources_usage(r, "a:", &u, &E));
	assert_int_equal(u.unikernels, 1);
	assert_int_equal(u.memory, 10);
	assert_int_equal(u.block_active, 30);
	assert_int_equal(u.block_inactive, 30);
	FAILS(ALB_EPERM,
	      "block device policy limit of 100 MB (used 60 MB) would be "
	      "exceeded by the request (41 MB)",
	      alb_resources_block_check(r, "a:d3", 41, &E));

	/* set-active and its messages */
	FAILS(ALB_EBUSY, "block device a:d1 already in state active",
	      alb_resources_block_set_active(r, "a:d1", true, &E));
	FAILS(ALB_EBUSY, "block device a:b:d2 already in state inactive",
	      alb_resources_block_set_active(r, "a:b:d2", false, &E));
	FAILS(ALB_ENOENT, "block device a:nope not in trie",
	      alb_resources_block_set_active(r, "a:nope", true, &E));
	FAILS(ALB_EBUSY, "block device a:d1 in use",
	      alb_resources_block_remove(r, "a:d1", &E));

	/* the device is released when its unikernel goes */
	OK(alb_resources_unikernel_remove(r, "a:u", &E));
	OK(alb_resources_block_find(r, "a:d1", NULL, &active));
	assert_false(active);
	OK(alb_resources_usage(r, "a:", &u, &E));
	assert_int_equal(u.block_active, 0);
	assert_int_equal(u.block_inactive, 60);
	OK(alb_resources_block_remove(r, "a:d1", &E));
	assert_int_equal(alb_resources_block_find(r, "a:d1", NULL, NULL),
			 ALB_ENOENT);
	OK(alb_resources_block_add(r, "a:d3", 70, &E));

	/* the policy insert check counts every device too */
	pol_block(&p, 99);
	FAILS(ALB_EPERM,
	      "unikernel would exceed running block storage limit set by "
	      "policy to 99 MB, used 100 MB",
	      alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));
	p.p.has_block = false;
	FAILS(ALB_EPERM,
	      "unikernel would exceed running block storage limit set by "
	      "policy to 0 MB, used 100 MB",
	      alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));
	pol_block(&p, 100);
	pol_cpu(&p, 1);
	OK(alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));

	/* no negative sizes in the table */
	FAILS(ALB_EINVAL, "block device size -1 MB is negative",
	      alb_resources_block_add(r, ":neg", -1, &E));
	alb_resources_free(r);
}

/* ---- §4.4 policy insert: usage of the subtree at the limits ---------------------- */

static void test_policy_insert_usage(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct cfg f;
	cfg_init(&f, 30);
	cfg_cpu(&f, 2);
	cfg_cpu(&f, 5);
	cfg_net(&f, "service", NULL);
	run(r, "p:x", &f);
	cfg_init(&f, 20);
	cfg_cpu(&f, 0);
	cfg_net(&f, "net", "ext");
	run(r, "p:q:y", &f);

	struct pol p;
	pol_init(&p, 2, 50);
	pol_cpu(&p, 0);
	pol_cpu(&p, 2);
	pol_cpu(&p, 5);
	pol_bridge(&p, "ext");
	pol_bridge(&p, "service");
	OK(alb_resources_policy_insert(r, "p:", &p.p, NULL, &E));

	pol_init(&p, 2, 50);
	pol_cpu(&p, 2);
	pol_bridge(&p, "ext");
	pol_bridge(&p, "service");
	FAILS(ALB_EPERM, "policy does not allow CPUids 0, 5",
	      alb_resources_policy_insert(r, "p:", &p.p, NULL, &E));
	pol_cpu(&p, 0);
	pol_cpu(&p, 5);
	p.p.n_bridges = 1;
	FAILS(ALB_EPERM,
	      "policy allows bridges ext, which is not a superset of ext, service",
	      alb_resources_policy_insert(r, "p:", &p.p, NULL, &E));
	p.p.n_bridges = 2;
	p.p.unikernels = 1;
	FAILS(ALB_EPERM,
	      "unikernel would exceed running unikernel limit set by policy "
	      "to 1, running 2",
	      alb_resources_policy_insert(r, "p:", &p.p, NULL, &E));
	p.p.unikernels = 2;
	p.p.memory = 49;
	FAILS(ALB_EPERM,
	      "unikernel would exceed running memory limit set by policy to "
	      "49 MB, used 50 MB",
	      alb_resources_policy_insert(r, "p:", &p.p, NULL, &E));
	p.p.memory = 50;
	OK(alb_resources_policy_insert(r, "p:", &p.p, NULL, &E));

	/* a sub-policy larger than one below is refused by the one below */
	OK(alb_resources_policy_insert(r, "p:q:", &p.p, NULL, &E));
	p.p.memory = 40;
	FAILS(ALB_EPERM,
	      "policy above allows 40 MB memory, which is fewer than 50 MB",
	      alb_resources_policy_insert(r, "p:", &p.p, NULL, &E));
	alb_resources_free(r);
}

/* An identical policy (as sets) is reported, not stored again. */
static void test_policy_unchanged(void **state)
{
	(void)state;
	struct alb_resources *r = res_r1();
	struct pol p;
	pol_p1(&p);
	pol_cpu(&p, 0);
	pol_bridge(&p, "service");
	bool unchanged = false;
	OK(alb_resources_policy_insert(r, "alpha:", &p.p, &unchanged, &E));
	assert_true(unchanged);
	const struct alb_policy *cur = alb_resources_policy_find(r, "alpha:");
	assert_int_equal(cur->n_cpuids, 1);

	assert_true(unchanged);
	alb_resources_free(r);
}

/* Policies above are consulted up to, but excluding, the root (§4.4) */
static void test_policy_insert_root_not_consulted(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol root, big;
	pol_init(&root, 1, 10);
	pol_cpu(&root, 0);
	OK(alb_resources_policy_insert(r, ":", &root.p, NULL, &E));
	pol_init(&big, 100, 1000);
	pol_cpu(&big, 7);
	OK(alb_resources_policy_insert(r, "a:", &big.p, NULL, &E));
	/* a grandparent that is not the root is consulted */
	big.p.memory = 2000;
	FAILS(ALB_EPERM,
	      "policy above allows 1000 MB memory, which is fewer than 2000 MB",
	      alb_resources_policy_insert(r, "a:b:c:", &big.p, NULL, &E));
	alb_resources_free(r);
}

/* ---- §12.1 fix: every policy on the path, up to and including the root -------------- */

static void test_grandparent_unikernels(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	pol_init(&p, 2, 1000);
	pol_cpu(&p, 0);
	OK(alb_resources_policy_insert(r, "foo:", &p.p, NULL, &E));
	OK(alb_resources_policy_insert(r, "foo:a:", &p.p, NULL, &E));
	OK(alb_resources_policy_insert(r, "foo:b:", &p.p, NULL, &E));
	struct cfg f;
	cfg_init(&f, 10);
	cfg_cpu(&f, 0);
	run(r, "foo:a:x", &f);
	run(r, "foo:b:y", &f);
	/* foo:a has room for one more, foo has none: Albatross would let a
	 * third unikernel run under foo */
	FAILS(ALB_EPERM, "maximum amount of unikernels (2) reached",
	      alb_resources_unikernel_check(r, "foo:a:z", &f.c, NULL, &E));
	FAILS(ALB_EPERM, "maximum amount of unikernels (2) reached",
	      alb_resources_unikernel_check(r, "foo:b:z", &f.c, NULL, &E));
	/* a path without its own policy is bound by foo as well */
	FAILS(ALB_EPERM, "maximum amount of unikernels (2) reached",
	      alb_resources_unikernel_check(r, "foo:c:z", &f.c, NULL, &E));
	OK(alb_resources_unikernel_check(r, "bar:z", &f.c, NULL, &E));
	alb_resources_free(r);
}

static void test_grandparent_message(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol foo, sub, root;
	pol_init(&root, ALB_POLICY_UNLIMITED, 500);
	pol_cpu(&root, 0);
	pol_cpu(&root, 1);
	pol_bridge(&root, "br0");
	pol_block(&root, 1000);
	OK(alb_resources_policy_insert(r, ":", &root.p, NULL, &E));
	pol_init(&foo, 10, 100);
	pol_cpu(&foo, 0);
	pol_cpu(&foo, 1);
	pol_bridge(&foo, "br0");
	pol_block(&foo, 100);
	OK(alb_resources_policy_insert(r, "foo:", &foo.p, NULL, &E));
	pol_init(&sub, 10, 80);
	pol_cpu(&sub, 0);
	pol_cpu(&sub, 1);
	pol_bridge(&sub, "br0");
	pol_block(&sub, 80);
	OK(alb_resources_policy_insert(r, "foo:a:", &sub.p, NULL, &E));
	OK(alb_resources_policy_insert(r, "foo:b:", &sub.p, NULL, &E));

	struct cfg f;
	cfg_init(&f, 50);
	run(r, "foo:a:x", &f);
	cfg_init(&f, 40);
	run(r, "foo:b:y", &f);
	/* foo:a would allow 20 more MB (50 of 80 used); foo refuses with its
	 * own numbers */
	cfg_init(&f, 20);
	FAILS(ALB_EPERM,
	      "maximum allowed memory (100, used 90) would be exceeded "
	      "(requesting 20)",
	      alb_resources_unikernel_check(r, "foo:a:z", &f.c, NULL, &E));
	f.c.memory = 10;
	OK(alb_resources_unikernel_check(r, "foo:a:z", &f.c, NULL, &E));

	/* the root policy is consulted too: 500 MB in all */
	cfg_init(&f, 400);
	run(r, ":big", &f);
	cfg_init(&f, 11);
	FAILS(ALB_EPERM,
	      "maximum allowed memory (500, used 490) would be exceeded "
	      "(requesting 11)",
	      alb_resources_unikernel_check(r, "elsewhere:u", &f.c, NULL, &E));
	/* ...and its CPU ids and bridges */
	cfg_init(&f, 1);
	cfg_cpu(&f, 2);
	FAILS(ALB_EPERM, "CPUids 2 are not allowed by policy",
	      alb_resources_unikernel_check(r, "elsewhere:u", &f.c, NULL, &E));
	cfg_init(&f, 1);
	cfg_net(&f, "br1", NULL);
	FAILS(ALB_EPERM, "bridges br1 not allowed by policy",
	      alb_resources_unikernel_check(r, "elsewhere:u", &f.c, NULL, &E));

	/* the most specific policy speaks first */
	cfg_init(&f, 31);
	FAILS(ALB_EPERM,
	      "maximum allowed memory (80, used 50) would be exceeded "
	      "(requesting 31)",
	      alb_resources_unikernel_check(r, "foo:a:z", &f.c, NULL, &E));

	/* block devices: foo's 100 MB bound both sub-paths together */
	OK(alb_resources_block_add(r, "foo:a:d", 60, &E));
	FAILS(ALB_EPERM,
	      "block device policy limit of 100 MB (used 60 MB) would be "
	      "exceeded by the request (41 MB)",
	      alb_resources_block_check(r, "foo:b:d", 41, &E));
	OK(alb_resources_block_check(r, "foo:b:d", 40, &E));
	/* and the root's limit binds paths without a policy */
	OK(alb_resources_block_add(r, "x:d", 900, &E));
	FAILS(ALB_EPERM,
	      "block device policy limit of 1000 MB (used 960 MB) would be "
	      "exceeded by the request (41 MB)",
	      alb_resources_block_check(r, "y:d", 41, &E));
	alb_resources_free(r);
}

/* ---- §6.9 force-create and restart: as if the old one were gone -------------------- */

static void test_force_create_ignore(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	pol_init(&p, 1, 10);
	pol_cpu(&p, 0);
	pol_block(&p, 10);
	OK(alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));
	OK(alb_resources_block_add(r, "a:d", 10, &E));
	struct cfg f;
	cfg_init(&f, 10);
	cfg_cpu(&f, 0);
	cfg_block(&f, "disk", "d");
	run(r, "a:x", &f);

	FAILS(ALB_EPERM, "maximum amount of unikernels (1) reached",
	      alb_resources_unikernel_check(r, "a:x", &f.c, NULL, &E));
	OK(alb_resources_unikernel_check(r, "a:x", &f.c, "a:x", &E));
	/* the usage of the old one is gone too, not only its count */
	p.p.unikernels = 2;
	OK(alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));
	FAILS(ALB_EPERM,
	      "maximum allowed memory (10, used 10) would be exceeded "
	      "(requesting 10)",
	      alb_resources_unikernel_check(r, "a:y", &f.c, NULL, &E));
	/* ignoring a unikernel frees its devices for it only */
	cfg_init(&f, 0);
	cfg_block(&f, "disk", "d");
	OK(alb_resources_unikernel_check(r, "a:x", &f.c, "a:x", &E));
	FAILS(ALB_EBUSY, "block device a:d already in use",
	      alb_resources_unikernel_check(r, "a:y", &f.c, NULL, &E));
	/* ignoring a name that does not run changes nothing */
	cfg_init(&f, 0);
	FAILS(ALB_EEXIST, "unikernel with same name already exists",
	      alb_resources_unikernel_check(r, "a:x", &f.c, "a:nothing", &E));
	/* the table itself is unchanged by checks */
	assert_true(alb_resources_unikernel_exists(r, "a:x"));
	alb_resources_free(r);
}

/* ---- listings ---------------------------------------------------------------- */

static void test_policy_listing(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	static const char *const paths[] = { ":", "a:", "a:b:", "a:c:", "b:" };
	for (int64_t i = 0; i < 5; i++) {
		pol_init(&p, 10 - i, 100 - i);
		pol_cpu(&p, 0);
		pol_bridge(&p, "service");
		OK(alb_resources_policy_insert(r, paths[i], &p.p, NULL, &E));
	}
	struct alb_named_policy *v = NULL;
	size_t n = 0;
	OK(alb_resources_policy_list(r, ":", &v, &n, &E));
	/* the reverse of the fold (a:b:, a:c:, a:, b:, :) */
	static const char *const all[] = { ":", "b:", "a:", "a:c:", "a:b:" };
	static const int64_t all_uk[] = { 10, 6, 9, 7, 8 };
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].name, all[i]);
		assert_int_equal(v[i].policy.unikernels, all_uk[i]);
		assert_int_equal(v[i].policy.n_cpuids, 1);
		assert_int_equal(v[i].policy.cpuids[0], 0);
		assert_int_equal(v[i].policy.n_bridges, 1);
		assert_string_equal(v[i].policy.bridges[0].ptr, "service");
	}
	alb_named_policies_free(v);

	OK(alb_resources_policy_list(r, "a:", &v, &n, &E));
	static const char *const rel[] = { ":", "c:", "b:" };
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i].name, rel[i]);
	/* the list is a copy: it outlives the table */
	alb_resources_free(r);
	assert_int_equal(v[0].policy.unikernels, 9);
	alb_named_policies_free(v);
	alb_named_policies_free(NULL);

	r = res_new();
	OK(alb_resources_policy_list(r, "nothing:", &v, &n, &E));
	assert_int_equal(n, 0);
	assert_null(v);
	FAILS(ALB_EINVAL, "not a path name: a:x",
	      alb_resources_policy_list(r, "a:x", &v, &n, &E));
	alb_resources_free(r);
}

static void test_block_listing(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	OK(alb_resources_block_add(r, "a:d1", 1, &E));
	OK(alb_resources_block_add(r, "a:b:d2", 2, &E));
	OK(alb_resources_block_add(r, "a:d0", 3, &E));
	OK(alb_resources_block_add(r, ":a", 4, &E));
	OK(alb_resources_block_add(r, ":z", 5, &E));
	OK(alb_resources_block_set_active(r, "a:d1", true, &E));

	struct alb_block_info *v = NULL;
	size_t n = 0;
	OK(alb_resources_block_list(r, "a:", &v, &n, &E));
	/* fold: b:d2, :d0, :d1, then the root-level ":a" as ":" (quirk) */
	static const char *const rel[] = { ":", ":d1", ":d0", "b:d2" };
	static const int64_t sizes[] = { 4, 1, 3, 2 };
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].name, rel[i]);
		assert_int_equal(v[i].size, sizes[i]);
		assert_int_equal(v[i].active, i == 1);
	}
	alb_block_infos_free(v);

	OK(alb_resources_block_list(r, ":", &v, &n, &E));
	assert_int_equal(n, 5);
	assert_string_equal(v[0].name, ":z");
	assert_string_equal(v[4].name, "a:b:d2");
	alb_block_infos_free(v);

	/* a name with a label: that device, named as asked */
	OK(alb_resources_block_list(r, "a:b:d2", &v, &n, &E));
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "a:b:d2");
	assert_int_equal(v[0].size, 2);
	alb_block_infos_free(v);
	OK(alb_resources_block_list(r, "a:b:nope", &v, &n, &E));
	assert_int_equal(n, 0);
	assert_null(v);
	alb_block_infos_free(NULL);
	alb_resources_free(r);
}

/* ---- the foo / foo: quirk (spec §3.4, §12.1 item 7) ----------------------------- */

static void test_shared_node_quirk(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct cfg f;
	cfg_init(&f, 10);
	run(r, ":foo", &f);
	struct alb_usage u;
	OK(alb_resources_usage(r, "foo:", &u, &E));
	assert_int_equal(u.unikernels, 1);
	assert_int_equal(u.memory, 10);

	/* a policy for path foo: must make room for the root-level foo */
	struct pol p;
	pol_init(&p, 0, 100);
	FAILS(ALB_EPERM,
	      "unikernel would exceed running unikernel limit set by policy "
	      "to 0, running 1",
	      alb_resources_policy_insert(r, "foo:", &p.p, NULL, &E));
	p.p.unikernels = 1;
	OK(alb_resources_policy_insert(r, "foo:", &p.p, NULL, &E));
	/* and the root-level foo now uses up foo:'s only unikernel */
	FAILS(ALB_EPERM, "maximum amount of unikernels (1) reached",
	      alb_resources_unikernel_check(r, "foo:bar", &f.c, NULL, &E));
	/* the policy of foo: does not bind the root-level foo itself */
	OK(alb_resources_unikernel_check(r, ":foo2", &f.c, NULL, &E));
	alb_resources_free(r);
}

/* ---- hostile or odd values ------------------------------------------------------ */

/* The usage a create's check sees (the sums kept per path) is what a walk
 * over the subtree counts (alb_resources_usage), after inserts and
 * removals at several depths, a root-level name under the path of the
 * same label (the trie's "foo" = "foo:"), and with a replaced unikernel
 * left out. The check's message says the usage: a policy of exactly the
 * used memory refuses one more MB. */
static void used_is(struct alb_resources *r, const char *path,
		    const char *name, const char *ignore)
{
	char fresh[ALB_NAME_BUF];
	if (name == NULL) {
		/* a new name right under path */
		snprintf(fresh, sizeof(fresh), "%snew", path);
		name = fresh;
	}
	struct alb_usage u;
	OK(alb_resources_usage(r, path, &u, &E));
	/* the policy allows what is used; the check sees it without the
	 * replaced one (10 MB, as every unikernel here) */
	int64_t limit = u.memory, seen = u.memory - (ignore != NULL ? 10 : 0);
	struct pol p;
	pol_init(&p, 1000, limit);
	OK(alb_resources_policy_insert(r, path, &p.p, NULL, &E));
	struct cfg f;
	cfg_init(&f, limit - seen + 1);
	char want[ALB_ERROR_MSG_MAX];
	snprintf(want, sizeof(want), "maximum allowed memory (%" PRId64 ", used "
		 "%" PRId64 ") would be exceeded (requesting %" PRId64 ")", limit,
		 seen, limit - seen + 1);
	FAILS(ALB_EPERM, want,
	      alb_resources_unikernel_check(r, name, &f.c, ignore, &E));
	OK(alb_resources_policy_remove(r, path, &E));
}

static void test_usage_sums(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct cfg f;
	cfg_init(&f, 10);
	const char *names[] = {"a:b:c", "a:b:d", "a:e", ":a", ":z", "a:b:c:f",
			       "q:r"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		run(r, names[i], &f);
	const char *paths[] = {":", "a:", "a:b:", "a:b:c:", "q:"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		used_is(r, paths[i], NULL, NULL);
	used_is(r, "a:b:", "a:b:c", "a:b:c");
	used_is(r, ":", "a:e", "a:e");
	OK(alb_resources_unikernel_remove(r, "a:b:c", &E));
	OK(alb_resources_unikernel_remove(r, ":a", &E));
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		used_is(r, paths[i], NULL, NULL);
	struct alb_usage u;
	OK(alb_resources_usage(r, "a:", &u, &E));
	assert_int_equal(u.unikernels, 3);
	assert_int_equal(u.memory, 30);
	alb_resources_free(r);
}

static void test_negative_and_huge_amounts(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	pol_init(&p, 10, 100);
	OK(alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));

	/* a negative request passes the check as in Albatross, but does not
	 * give memory back to the others */
	struct cfg f;
	cfg_init(&f, -1000);
	run(r, "a:neg", &f);
	struct alb_usage u;
	OK(alb_resources_usage(r, "a:", &u, &E));
	assert_int_equal(u.memory, 0);
	cfg_init(&f, 101);
	FAILS(ALB_EPERM,
	      "maximum allowed memory (100, used 0) would be exceeded "
	      "(requesting 101)",
	      alb_resources_unikernel_check(r, "a:x", &f.c, NULL, &E));

	/* sums saturate instead of overflowing */
	alb_resources_free(r);
	r = res_new();
	cfg_init(&f, INT64_MAX);
	run(r, "b:x", &f);
	run(r, "b:y", &f);
	OK(alb_resources_usage(r, "b:", &u, &E));
	assert_int_equal(u.memory, INT64_MAX);
	pol_init(&p, 10, INT64_MIN);
	FAILS(ALB_EPERM,
	      "unikernel would exceed running memory limit set by policy to "
	      "-9223372036854775808 MB, used 9223372036854775807 MB",
	      alb_resources_policy_insert(r, "b:", &p.p, NULL, &E));
	alb_resources_free(r);

	/* a negative limit cannot be installed: nothing would fit */
	r = res_new();
	pol_init(&p, 10, -1);
	FAILS(ALB_EPERM,
	      "unikernel would exceed running memory limit set by policy to "
	      "-1 MB, used 0 MB",
	      alb_resources_policy_insert(r, "c:", &p.p, NULL, &E));
	alb_resources_free(r);
}

static void test_block_device_names(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	OK(alb_resources_block_add(r, "a:disk", 1, &E));
	OK(alb_resources_block_add(r, "a:b:c", 1, &E));
	struct cfg f;

	/* the host device is not re-validated, so odd ones are not found;
	 * one with ':' must not reach a device of another path */
	cfg_init(&f, 1);
	cfg_block(&f, "x", "b:c");
	FAILS(ALB_ENOENT, "block device a:b:c not found",
	      alb_resources_unikernel_check(r, "a:u", &f.c, NULL, &E));
	cfg_init(&f, 1);
	cfg_block(&f, "DISK", NULL);
	FAILS(ALB_ENOENT, "block device a:DISK not found",
	      alb_resources_unikernel_check(r, "a:u", &f.c, NULL, &E));
	FAILS(ALB_ENOENT, "block device a:DISK not in trie",
	      alb_resources_unikernel_insert(r, "a:u", &f.c, &E));
	cfg_init(&f, 1);
	cfg_block(&f, "x", "");
	FAILS(ALB_ENOENT, "block device a: not found",
	      alb_resources_unikernel_check(r, "a:u", &f.c, NULL, &E));

	/* one device named twice would be attached twice */
	cfg_init(&f, 1);
	cfg_block(&f, "one", "disk");
	cfg_block(&f, "disk", NULL);
	FAILS(ALB_EBUSY, "block device a:disk already in use",
	      alb_resources_unikernel_check(r, "a:u", &f.c, NULL, &E));
	FAILS(ALB_EBUSY, "block device a:disk already in state active",
	      alb_resources_unikernel_insert(r, "a:u", &f.c, &E));
	bool active = true;
	OK(alb_resources_block_find(r, "a:disk", NULL, &active));
	assert_false(active);
	assert_false(alb_resources_unikernel_exists(r, "a:u"));

	/* zvol devices bypass the table at the configured path only */
	OK(alb_resources_set_zvol_path(r, "z:", &E));
	cfg_init(&f, 1);
	cfg_block(&f, "0", "/dev/zvol/pool/vm");
	run(r, "z:vm", &f);
	FAILS(ALB_ENOENT, "block device a:/dev/zvol/pool/vm not found",
	      alb_resources_unikernel_check(r, "a:vm", &f.c, NULL, &E));
	OK(alb_resources_unikernel_remove(r, "z:vm", &E));
	OK(alb_resources_set_zvol_path(r, NULL, &E));
	FAILS(ALB_ENOENT, "block device z:/dev/zvol/pool/vm not found",
	      alb_resources_unikernel_check(r, "z:vm", &f.c, NULL, &E));
	FAILS(ALB_EINVAL, "not a path name: z:x",
	      alb_resources_set_zvol_path(r, "z:x", &E));

	/* a device of a root-level unikernel lives at the root path */
	OK(alb_resources_block_add(r, ":rootdisk", 1, &E));
	cfg_init(&f, 1);
	cfg_block(&f, "rootdisk", NULL);
	run(r, ":u", &f);
	OK(alb_resources_block_find(r, ":rootdisk", NULL, &active));
	assert_true(active);
	alb_resources_free(r);
}

static void test_bad_names(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	pol_p1(&p);
	struct cfg f;
	cfg_u(&f);
	FAILS(ALB_EINVAL, "not a path name: a:x",
	      alb_resources_policy_insert(r, "a:x", &p.p, NULL, &E));
	FAILS(ALB_EINVAL, "not a path name: a:x",
	      alb_resources_policy_remove(r, "a:x", &E));
	assert_null(alb_resources_policy_find(r, "a:x"));
	FAILS(ALB_EINVAL, "not a name with a label: a:",
	      alb_resources_block_add(r, "a:", 1, &E));
	FAILS(ALB_EINVAL, "not a name with a label: a:",
	      alb_resources_unikernel_check(r, "a:", &f.c, NULL, &E));
	FAILS(ALB_EINVAL, "not a name with a label: :",
	      alb_resources_unikernel_insert(r, ":", &f.c, &E));
	FAILS(ALB_EINVAL, "missing name",
	      alb_resources_usage(r, NULL, &(struct alb_usage){ 0 }, &E));
	FAILS(ALB_EINVAL, "malformed name a::x",
	      alb_resources_unikernel_insert(r, "a::x", &f.c, &E));
	assert_false(alb_resources_unikernel_exists(r, "a::x"));

	/* names up to ALB_NAME_MAX bytes, not one more */
	char name[ALB_NAME_MAX + 2];
	memset(name, 'a', sizeof(name));
	name[1] = ':';
	name[ALB_NAME_MAX] = '\0';
	OK(alb_resources_unikernel_insert(r, name, &f.c, &E));
	assert_true(alb_resources_unikernel_exists(r, name));
	name[ALB_NAME_MAX] = 'a';
	name[ALB_NAME_MAX + 1] = '\0';
	FAILS(ALB_ETOOBIG, "name longer than 1023 bytes",
	      alb_resources_unikernel_insert(r, name, &f.c, &E));
	alb_resources_free(r);
}

/* ---- §4.8 console ring count ---------------------------------------------------- */

static void test_unikernel_limit(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	pol_init(&p, 5, 100);
	OK(alb_resources_policy_insert(r, "a:", &p.p, NULL, &E));
	p.p.unikernels = 7;
	OK(alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	assert_int_equal(alb_resources_unikernel_limit(r, ":x"),
			 ALB_POLICY_UNLIMITED);
	assert_int_equal(alb_resources_unikernel_limit(r, "a:x"), 5);
	assert_int_equal(alb_resources_unikernel_limit(r, "a:b:x"), 0);
	assert_int_equal(alb_resources_unikernel_limit(r, "b:x"), 0);
	alb_resources_free(r);
}

/* The daemon checks every create against a full table: 1,000 unikernels
 * under 10 paths, each path with a policy, and the root's. */
static void test_thousand_unikernels(void **state)
{
	(void)state;
	struct alb_resources *r = res_new();
	struct pol p;
	pol_init(&p, ALB_POLICY_UNLIMITED, 100000);
	pol_cpu(&p, 0);
	OK(alb_resources_policy_insert(r, ":", &p.p, NULL, &E));
	pol_init(&p, 101, 10000);
	pol_cpu(&p, 0);
	char name[64];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "org%d:", i);
		OK(alb_resources_policy_insert(r, name, &p.p, NULL, &E));
	}
	struct cfg f;
	cfg_init(&f, 64);
	cfg_cpu(&f, 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "org%d:u%d", i % 10, i);
		run(r, name, &f);
	}
	struct alb_usage u;
	OK(alb_resources_usage(r, ":", &u, &E));
	assert_int_equal(u.unikernels, 1000);
	assert_int_equal(u.memory, 64000);
	OK(alb_resources_usage(r, "org3:", &u, &E));
	assert_int_equal(u.unikernels, 100);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "org%d:new", i % 10);
		OK(alb_resources_unikernel_check(r, name, &f.c, NULL, &E));
	}
	/* org3 has 100 of 101: one more fits, then its limit speaks */
	run(r, "org3:new", &f);
	FAILS(ALB_EPERM, "maximum amount of unikernels (101) reached",
	      alb_resources_unikernel_check(r, "org3:new2", &f.c, NULL, &E));
	alb_resources_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_up_empty_resources),
		cmocka_unit_test(test_up_policy_respected_unikernel),
		cmocka_unit_test(test_up_policy_respected_block),
		cmocka_unit_test(test_up_policy_respected_sub),
		cmocka_unit_test(test_up_policy_respected_super),
		cmocka_unit_test(test_up_policy_overwritten),
		cmocka_unit_test(test_up_block_insert_remove),
		cmocka_unit_test(test_up_policy_removal),
		cmocka_unit_test(test_up_unikernel_insert_remove),
		cmocka_unit_test(test_up_unikernel_with_block),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_is_smaller_limits),
		cmocka_unit_test(test_copy_equal),
		cmocka_unit_test(test_allows),
		cmocka_unit_test(test_root_policy),
		cmocka_unit_test(test_root_discover),
		cmocka_unit_test(test_create_limits),
		cmocka_unit_test(test_block_limits),
		cmocka_unit_test(test_policy_insert_usage),
		cmocka_unit_test(test_policy_unchanged),
		cmocka_unit_test(test_policy_insert_root_not_consulted),
		cmocka_unit_test(test_grandparent_unikernels),
		cmocka_unit_test(test_grandparent_message),
		cmocka_unit_test(test_force_create_ignore),
		cmocka_unit_test(test_policy_listing),
		cmocka_unit_test(test_block_listing),
		cmocka_unit_test(test_shared_node_quirk),
		cmocka_unit_test(test_negative_and_huge_amounts),
		cmocka_unit_test(test_usage_sums),
		cmocka_unit_test(test_block_device_names),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_unikernel_limit),
		cmocka_unit_test(test_thousand_unikernels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
