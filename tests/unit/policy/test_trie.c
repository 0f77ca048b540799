/* Unit tests: the resource trie (spec §3.4), with upstream's trie tests
 * (spec §11) ported.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/trie.h"

/* Values are small integers stored as pointers. */
#define V(i) ((void *)(uintptr_t)(i))
#define I(p) ((int)(uintptr_t)(p))

struct seen {
	size_t n;
	char names[16][ALB_NAME_BUF];
	int values[16];
	size_t stop_after; /* 0: never stop */
};

static int record(const char *name, void *value, void *ctx)
{
	struct seen *s = ctx;
	assert_true(s->n < 16);
	snprintf(s->names[s->n], ALB_NAME_BUF, "%s", name);
	s->values[s->n] = I(value);
	s->n++;
	if (s->stop_after != 0 && s->n == s->stop_after)
		return 42;
	return 0;
}

static void expect(const struct seen *s, size_t n, const char *const *names,
		   const int *values)
{
	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(s->names[i], names[i]);
		assert_int_equal(s->values[i], values[i]);
	}
}

static struct alb_trie *new_trie(void)
{
	struct alb_trie *t = alb_trie_new();
	assert_non_null(t);
	return t;
}

static void put(struct alb_trie *t, const char *name, int v)
{
	void *old = V(1);
	assert_int_equal(alb_trie_insert(t, name, V(v), &old, NULL), 0);
	assert_null(old);
}

static void test_empty(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	struct seen s = { 0 };
	assert_int_equal(alb_trie_count(t), 0);
	assert_null(alb_trie_find(t, ":"));
	assert_null(alb_trie_find(t, ":foo"));
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	assert_int_equal(alb_trie_fold(t, ":", record, &s), 0);
	assert_int_equal(alb_trie_collect(t, "a:b", record, &s), 0);
	assert_int_equal(s.n, 0);
	assert_null(alb_trie_remove(t, ":foo"));
	alb_trie_free(t, NULL);
	alb_trie_free(NULL, NULL);
}

/* upstream "trie with one element works" */
static void test_one_element(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	put(t, ":foo", 1);
	assert_int_equal(I(alb_trie_find(t, ":foo")), 1);
	assert_null(alb_trie_find(t, ":bar"));
	assert_null(alb_trie_find(t, ":foo.bar"));
	assert_null(alb_trie_find(t, "foo:foo"));

	static const char *const names[] = { ":foo" };
	static const int values[] = { 1 };
	struct seen s = { 0 };
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	expect(&s, 1, names, values);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_fold(t, ":", record, &s), 0);
	expect(&s, 1, names, values);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_collect(t, ":foo", record, &s), 0);
	expect(&s, 1, names, values);
	alb_trie_free(t, NULL);
}

/* upstream "flat trie with multiple elements work" */
static void test_flat(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	put(t, ":alpha", 1);
	put(t, ":beta", 2);
	put(t, ":caesar", 3);
	assert_int_equal(I(alb_trie_find(t, ":alpha")), 1);
	assert_int_equal(I(alb_trie_find(t, ":beta")), 2);
	assert_int_equal(I(alb_trie_find(t, ":caesar")), 3);
	assert_int_equal(alb_trie_count(t), 3);

	static const char *const names[] = { ":alpha", ":beta", ":caesar" };
	static const int values[] = { 1, 2, 3 };
	struct seen s = { 0 };
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	expect(&s, 3, names, values);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_fold(t, ":", record, &s), 0);
	expect(&s, 3, names, values);
	alb_trie_free(t, NULL);
}

/* upstream "nested trie work": fold names are relative to the fold path */
static void test_nested(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	put(t, "alpha:a", 1);
	put(t, "alpha:b", 2);
	put(t, "alpha:c", 3);
	put(t, "beta:d", 4);
	assert_int_equal(I(alb_trie_find(t, "alpha:a")), 1);
	assert_int_equal(I(alb_trie_find(t, "alpha:b")), 2);
	assert_int_equal(I(alb_trie_find(t, "alpha:c")), 3);
	assert_int_equal(I(alb_trie_find(t, "beta:d")), 4);
	assert_null(alb_trie_find(t, "alpha:"));
	assert_null(alb_trie_find(t, ":alpha"));

	static const char *const all[] = { "alpha:a", "alpha:b", "alpha:c",
					   "beta:d" };
	static const int all_v[] = { 1, 2, 3, 4 };
	struct seen s = { 0 };
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	expect(&s, 4, all, all_v);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_fold(t, ":", record, &s), 0);
	expect(&s, 4, all, all_v);

	static const char *const rel[] = { ":a", ":b", ":c" };
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_fold(t, "alpha:", record, &s), 0);
	expect(&s, 3, rel, all_v);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_fold(t, "gamma:", record, &s), 0);
	assert_int_equal(s.n, 0);
	alb_trie_free(t, NULL);
}

/* upstream "nested trie work 2": dots are part of labels */
static void test_nested_dots(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	put(t, "alpha:a.b.c", 1);
	put(t, "alpha:b.c", 2);
	put(t, "alpha:c", 3);
	put(t, "beta:d", 4);
	assert_int_equal(I(alb_trie_find(t, "alpha:a.b.c")), 1);
	assert_int_equal(I(alb_trie_find(t, "alpha:b.c")), 2);
	assert_null(alb_trie_find(t, "alpha:a"));

	static const char *const all[] = { "alpha:a.b.c", "alpha:b.c",
					   "alpha:c", "beta:d" };
	static const int all_v[] = { 1, 2, 3, 4 };
	struct seen s = { 0 };
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	expect(&s, 4, all, all_v);

	static const char *const rel[] = { ":a.b.c", ":b.c", ":c" };
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_fold(t, "alpha:", record, &s), 0);
	expect(&s, 3, rel, all_v);
	alb_trie_free(t, NULL);
}

/* upstream "collect nested": all is pre-order, collect goes from the node
 * up to the root */
static void test_collect_nested(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	put(t, "alpha:beta:a", 1);
	put(t, "alpha:beta:", 2);
	put(t, "alpha:", 3);
	put(t, ":", 4);
	put(t, "beta:", 5);

	static const char *const all[] = { ":", "alpha:", "alpha:beta:",
					   "alpha:beta:a", "beta:" };
	static const int all_v[] = { 4, 3, 2, 1, 5 };
	struct seen s = { 0 };
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	expect(&s, 5, all, all_v);

	static const char *const col[] = { "alpha:beta:a", "alpha:beta:",
					   "alpha:", ":" };
	static const int col_v[] = { 1, 2, 3, 4 };
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_collect(t, "alpha:beta:a", record, &s), 0);
	expect(&s, 4, col, col_v);

	/* a path of which only a prefix exists still collects that prefix */
	static const char *const col2[] = { "alpha:", ":" };
	static const int col2_v[] = { 3, 4 };
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_collect(t, "alpha:x:y:", record, &s), 0);
	expect(&s, 2, col2, col2_v);
	alb_trie_free(t, NULL);
}

/* post-order: children (ascending bytewise) before the node; relative
 * names for paths end in ':' and the fold's own node is ":" */
static void test_fold_order(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	put(t, "a:", 1);
	put(t, "a:b:", 2);
	put(t, "a:b:c", 3);
	put(t, "a:B", 4);
	put(t, "a:ab", 5);
	put(t, "a:a", 6);
	put(t, ":", 7);

	static const char *const rel[] = { ":B", ":a", ":ab", "b:c", "b:", ":" };
	static const int rel_v[] = { 4, 6, 5, 3, 2, 1 };
	struct seen s = { 0 };
	assert_int_equal(alb_trie_fold(t, "a:", record, &s), 0);
	expect(&s, 6, rel, rel_v);

	static const char *const full[] = { "a:B", "a:a", "a:ab", "a:b:c",
					    "a:b:", "a:", ":" };
	static const int full_v[] = { 4, 6, 5, 3, 2, 1, 7 };
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_fold(t, ":", record, &s), 0);
	expect(&s, 7, full, full_v);

	/* a non-zero return stops the traversal and is passed on */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(alb_trie_fold(t, ":", record, &s), 42);
	assert_int_equal(s.n, 2);
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(alb_trie_all(t, record, &s), 42);
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(alb_trie_collect(t, "a:b:c", record, &s), 42);
	assert_string_equal(s.names[0], "a:b:c");
	alb_trie_free(t, NULL);
}

/* The quirk of spec §3.4: root-level "foo" and path "foo:" are one node.
 * A fold over "foo:" sees the root-level unikernel, named ":". */
static void test_shared_node_quirk(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	put(t, ":foo", 1);
	put(t, "foo:bar", 2);
	assert_int_equal(I(alb_trie_find(t, "foo:")), 1);

	static const char *const rel[] = { ":bar", ":" };
	static const int rel_v[] = { 2, 1 };
	struct seen s = { 0 };
	assert_int_equal(alb_trie_fold(t, "foo:", record, &s), 0);
	expect(&s, 2, rel, rel_v);

	/* storing the path replaces the value and the printed form */
	void *old = NULL;
	assert_int_equal(alb_trie_insert(t, "foo:", V(3), &old, NULL), 0);
	assert_int_equal(I(old), 1);
	assert_int_equal(I(alb_trie_find(t, ":foo")), 3);
	assert_int_equal(alb_trie_count(t), 2);
	static const char *const all[] = { "foo:", "foo:bar" };
	static const int all_v[] = { 3, 2 };
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	expect(&s, 2, all, all_v);
	alb_trie_free(t, NULL);
}

static void test_replace_and_remove(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	put(t, "a:b:c", 1);
	void *old = NULL;
	assert_int_equal(alb_trie_insert(t, "a:b:c", V(9), &old, NULL), 0);
	assert_int_equal(I(old), 1);
	assert_int_equal(alb_trie_count(t), 1);
	put(t, "a:", 2);

	/* removing an absent name or a bare intermediate node does nothing */
	assert_null(alb_trie_remove(t, "a:b:"));
	assert_null(alb_trie_remove(t, "a:x"));
	assert_int_equal(alb_trie_count(t), 2);

	assert_int_equal(I(alb_trie_remove(t, "a:b:c")), 9);
	assert_null(alb_trie_find(t, "a:b:c"));
	assert_int_equal(I(alb_trie_find(t, "a:")), 2);
	assert_int_equal(alb_trie_count(t), 1);
	assert_null(alb_trie_remove(t, "a:b:c"));

	/* the pruned branch can be built again */
	put(t, "a:b:c", 3);
	assert_int_equal(I(alb_trie_remove(t, "a:")), 2);
	assert_int_equal(I(alb_trie_find(t, "a:b:c")), 3);
	assert_int_equal(I(alb_trie_remove(t, "a:b:c")), 3);
	assert_int_equal(alb_trie_count(t), 0);
	struct seen s = { 0 };
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	assert_int_equal(s.n, 0);

	put(t, ":", 4);
	assert_int_equal(I(alb_trie_remove(t, ":")), 4);
	alb_trie_free(t, NULL);
}

static void test_many_children(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	char name[32];
	/* insert in descending order so that every insert shifts the array */
	for (int i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "p:u%04d", i);
		put(t, name, i + 1);
	}
	assert_int_equal(alb_trie_count(t), 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "p:u%04d", i);
		assert_int_equal(I(alb_trie_find(t, name)), i + 1);
	}
	for (int i = 0; i < 1000; i += 2) {
		snprintf(name, sizeof(name), "p:u%04d", i);
		assert_int_equal(I(alb_trie_remove(t, name)), i + 1);
	}
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "p:u%04d", i);
		if (i % 2 == 0)
			assert_null(alb_trie_find(t, name));
		else
			assert_int_equal(I(alb_trie_find(t, name)), i + 1);
	}
	alb_trie_free(t, NULL);
}

static void test_malformed(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	struct alb_error err;
	static const char *const bad[] = { "", "foo", "::", ":a:b", "a::b",
					   "a::", ":a:" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(alb_trie_insert(t, bad[i], V(1), NULL, &err),
				 ALB_EINVAL);
		assert_null(alb_trie_find(t, bad[i]));
		assert_null(alb_trie_remove(t, bad[i]));
	}
	assert_int_equal(alb_trie_insert(t, NULL, V(1), NULL, &err),
			 ALB_EINVAL);
	assert_int_equal(alb_trie_insert(t, ":a", NULL, NULL, &err),
			 ALB_EINVAL);
	assert_int_equal(alb_trie_count(t), 0);
	alb_trie_free(t, NULL);
}

/* Keys up to ALB_NAME_MAX bytes, and the deepest key of that length. */
static void test_name_limit(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	char name[ALB_NAME_MAX + 2];
	struct alb_error err;

	/* "a:a:...:a" of exactly ALB_NAME_MAX bytes: ALB_TRIE_DEPTH_MAX labels */
	for (size_t i = 0; i < ALB_NAME_MAX; i++)
		name[i] = i % 2 == 0 ? 'a' : ':';
	name[ALB_NAME_MAX] = '\0';
	assert_int_equal(ALB_NAME_MAX % 2, 1);
	assert_int_equal(alb_trie_insert(t, name, V(1), NULL, &err), 0);
	assert_int_equal(I(alb_trie_find(t, name)), 1);
	struct seen s = { 0 };
	s.stop_after = 0;
	assert_int_equal(alb_trie_fold(t, "a:", record, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(strlen(s.names[0]), ALB_NAME_MAX - 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_collect(t, name, record, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], name);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_all(t, record, &s), 0);
	assert_string_equal(s.names[0], name);

	/* a path of ALB_NAME_MAX bytes: "a:...:a:aa:" */
	name[ALB_NAME_MAX - 2] = 'a';
	name[ALB_NAME_MAX - 1] = ':';
	assert_int_equal(alb_trie_insert(t, name, V(2), NULL, &err), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(alb_trie_collect(t, name, record, &s), 0);
	assert_string_equal(s.names[0], name);

	/* one byte more is refused */
	name[ALB_NAME_MAX - 2] = ':';
	name[ALB_NAME_MAX - 1] = 'a';
	name[ALB_NAME_MAX] = 'a';
	name[ALB_NAME_MAX + 1] = '\0';
	assert_int_equal(alb_trie_insert(t, name, V(3), NULL, &err),
			 ALB_ETOOBIG);
	assert_null(alb_trie_find(t, name));
	assert_null(alb_trie_remove(t, "a:"));
	assert_int_equal(alb_trie_count(t), 2);
	alb_trie_free(t, NULL);
}

static int free_count;
static void count_free(void *v)
{
	free(v);
	free_count++;
}

static void test_free_values(void **state)
{
	(void)state;
	struct alb_trie *t = new_trie();
	assert_int_equal(alb_trie_insert(t, "a:b", malloc(1), NULL, NULL), 0);
	assert_int_equal(alb_trie_insert(t, "a:", malloc(1), NULL, NULL), 0);
	assert_int_equal(alb_trie_insert(t, ":c", malloc(1), NULL, NULL), 0);
	free_count = 0;
	alb_trie_free(t, count_free);
	assert_int_equal(free_count, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_one_element),
		cmocka_unit_test(test_flat),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_nested_dots),
		cmocka_unit_test(test_collect_nested),
		cmocka_unit_test(test_fold_order),
		cmocka_unit_test(test_shared_node_quirk),
		cmocka_unit_test(test_replace_and_remove),
		cmocka_unit_test(test_many_children),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_name_limit),
		cmocka_unit_test(test_free_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
