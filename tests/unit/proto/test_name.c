/* Unit tests: labels, paths and names (spec §3, §11).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "albatross/name.h"

#define ERR_LABEL "invalid label (only [a-zA-Z0-9-.] allowed, 1 to 63 chars)"

static void name_ok(const char *in, const char *want)
{
	char out[ALB_NAME_BUF];
	struct alb_error err = {0};
	int rc = alb_name_parse(in, strlen(in), out, &err);
	if (rc != 0)
		fail_msg("%s: %s", in, err.msg);
	assert_string_equal(out, want);
	/* the canonical form parses to itself */
	char again[ALB_NAME_BUF];
	assert_int_equal(alb_name_parse(out, strlen(out), again, NULL), 0);
	assert_string_equal(again, out);
}

static void name_bad(const char *in, int code, const char *text)
{
	char out[ALB_NAME_BUF];
	struct alb_error err = {0};
	assert_int_equal(alb_name_parse(in, strlen(in), out, &err), code);
	assert_int_equal(err.code, code);
	assert_string_equal(err.msg, text);
}

static void test_labels(void **state)
{
	(void)state;
	char l63[64], l64[65];
	memset(l63, 'a', 63);
	memset(l64, 'a', 64);
	assert_true(alb_label_valid(l63, 63));
	assert_false(alb_label_valid(l64, 64));
	assert_false(alb_label_valid("", 0));
	assert_true(alb_label_valid("a", 1));
	assert_true(alb_label_valid("Foo-Bar.9", 9));
	assert_true(alb_label_valid(".", 1));
	assert_true(alb_label_valid("..", 2));
	assert_true(alb_label_valid(".-", 2));
	assert_false(alb_label_valid("-a", 2));
	assert_true(alb_label_valid("a-", 2));
	assert_false(alb_label_valid("a_b", 3));
	assert_false(alb_label_valid("a b", 3));
	assert_false(alb_label_valid("a:b", 3));
	assert_false(alb_label_valid("a\0b", 3));
	assert_false(alb_label_valid("\xc3\xa9", 2));
}

static void test_parse(void **state)
{
	(void)state;
	/* the table of spec §3.3 */
	name_ok(":", ":");
	name_ok(":hello", ":hello");
	name_ok("hello", ":hello");
	name_ok("foo:", "foo:");
	name_ok("foo:bar", "foo:bar");
	name_ok("a:b:c", "a:b:c");
	name_ok(":a:b:c", "a:b:c");
	name_ok("foo:bar:", "foo:bar:");
	name_ok(":foo:bar:", "foo:bar:");
	name_ok("foo:bar:my-unikernel.hello", "foo:bar:my-unikernel.hello");
	/* lower case, dots are not separators (since v1.5.0) */
	name_ok("FOO:Bar", "foo:bar");
	name_ok("foo.bar", ":foo.bar");
	name_ok("..", ":..");
	name_bad("", ALB_EPARSE, "empty name");
	name_bad("a::b", ALB_EPARSE, "invalid name");
	name_bad("a b", ALB_EPARSE, "invalid name");
	name_bad("a:b c", ALB_EPARSE, "invalid name");
	name_bad("a_b", ALB_EPARSE, "invalid name");
	name_bad("a:-b", ALB_EPARSE, "invalid name");
	name_bad("::a", ALB_EPARSE, "invalid name");
	name_bad("::", ALB_EPARSE, "invalid path: " ERR_LABEL);
	name_bad("a::", ALB_EPARSE, "invalid path: " ERR_LABEL);
	name_bad("-a:", ALB_EPARSE, "invalid path: " ERR_LABEL);
	char l64[80] = "a:";
	memset(l64 + 2, 'x', 64);
	l64[66] = '\0';
	name_bad(l64, ALB_EPARSE, "invalid name");
	l64[65] = '\0';
	name_ok(l64, l64);
}

static void test_parse_limits(void **state)
{
	(void)state;
	/* 16 labels of 63 bytes and 15 separators: exactly ALB_NAME_MAX */
	char in[ALB_NAME_MAX + 8], out[ALB_NAME_BUF];
	size_t n = 0;
	for (int i = 0; i < 16; i++) {
		if (i > 0)
			in[n++] = ':';
		memset(in + n, 'a' + i, 63);
		n += 63;
	}
	assert_int_equal(n, ALB_NAME_MAX);
	in[n] = '\0';
	name_ok(in, in);
	struct alb_error err;
	/* one past: a 1024-byte name, 15 labels of 63, one of 62, a 1-byte label */
	n = 0;
	for (int i = 0; i < 15; i++) {
		memset(in + n, 'a' + i, 63);
		n += 63;
		in[n++] = ':';
	}
	memset(in + n, 'q', 62);
	n += 62;
	in[n++] = ':';
	in[n++] = 'r';
	in[n] = '\0';
	assert_int_equal(n, ALB_NAME_MAX + 1);
	assert_int_equal(alb_name_parse(in, n, out, &err), ALB_ETOOBIG);
	assert_string_equal(err.msg, "name too long (1024 bytes, at most 1023)");
	/* the root-level form adds a ':' */
	char one[80];
	memset(one, 'x', 63);
	one[63] = '\0';
	name_ok(one, ":xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	/* path form at the limit and past it */
	n = 0;
	for (int i = 0; i < 16; i++) {
		memset(in + n, 'a' + i, i == 15 ? 62 : 63);
		n += i == 15 ? 62 : 63;
		in[n++] = ':';
	}
	in[n] = '\0';
	assert_int_equal(n, ALB_NAME_MAX);
	name_ok(in, in);
	/* the last label grows to 63 bytes: 1024 */
	in[n - 1] = 'p';
	in[n] = ':';
	in[n + 1] = '\0';
	assert_int_equal(alb_name_parse(in, n + 1, out, &err), ALB_ETOOBIG);
}

static void path_ok(const char *in, const char *want)
{
	char out[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (alb_path_parse(in, strlen(in), out, &err) != 0)
		fail_msg("%s: %s", in, err.msg);
	assert_string_equal(out, want);
}

static void test_paths(void **state)
{
	(void)state;
	path_ok("", ":");
	path_ok("a", "a:");
	path_ok(":a", "a:");
	path_ok("a:b", "a:b:");
	path_ok(":A:B", "a:b:");
	char out[ALB_NAME_BUF];
	struct alb_error err;
	assert_int_equal(alb_path_parse(":", 1, out, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "invalid path: " ERR_LABEL);
	assert_int_equal(alb_path_parse("a:", 2, out, &err), ALB_EPARSE);
	assert_int_equal(alb_path_parse("a::b", 4, out, &err), ALB_EPARSE);
	assert_int_equal(alb_path_parse("a b", 3, out, &err), ALB_EPARSE);
}

static void test_parts(void **state)
{
	(void)state;
	const char *l;
	assert_true(alb_name_is_root(":"));
	assert_false(alb_name_is_root(":a"));
	assert_true(alb_name_is_path(":"));
	assert_true(alb_name_is_path("foo:bar:"));
	assert_false(alb_name_is_path("foo:bar"));
	assert_int_equal(alb_name_label("foo:bar:my-unikernel.hello", &l), 18);
	assert_string_equal(l, "my-unikernel.hello");
	assert_int_equal(alb_name_label("foo:", &l), 0);
	assert_string_equal(l, "");
	assert_int_equal(alb_name_path_len("a:b:c"), 3);
	assert_int_equal(alb_name_path_len(":x"), 0);
	assert_int_equal(alb_name_path_len("a:b:"), 3);
	assert_int_equal(alb_name_path_len(":"), 0);
	char out[ALB_NAME_BUF];
	alb_name_path("a:b:c", out);
	assert_string_equal(out, "a:b:");
	alb_name_path(":x", out);
	assert_string_equal(out, ":");
	alb_name_path("a:b:", out);
	assert_string_equal(out, "a:b:");
	/* foo:bar:my-unikernel.hello has path foo:bar, whose parent is foo */
	alb_name_path("foo:bar:my-unikernel.hello", out);
	assert_string_equal(out, "foo:bar:");
	alb_name_parent(out, out);
	assert_string_equal(out, "foo:");
	alb_name_parent("foo:", out);
	assert_string_equal(out, ":");
	alb_name_parent(":", out);
	assert_string_equal(out, ":");
	alb_name_parent("a:b:c", out);
	assert_string_equal(out, "a:b:");
	assert_int_equal(alb_name_depth(":"), 0);
	assert_int_equal(alb_name_depth(":a"), 1);
	assert_int_equal(alb_name_depth("a:"), 1);
	assert_int_equal(alb_name_depth("a:b:c"), 3);
}

static void test_make(void **state)
{
	(void)state;
	char out[ALB_NAME_BUF];
	struct alb_error err;
	assert_int_equal(alb_name_make(":", "hello", out, NULL), 0);
	assert_string_equal(out, ":hello");
	assert_int_equal(alb_name_make("a:b:", "C", out, NULL), 0);
	assert_string_equal(out, "a:b:c");
	assert_int_equal(alb_name_make("a:b:", NULL, out, NULL), 0);
	assert_string_equal(out, "a:b:");
	assert_int_equal(alb_name_make("a:b:", "", out, NULL), 0);
	assert_string_equal(out, "a:b:");
	assert_int_equal(alb_name_make("a:b:", "x y", out, &err), ALB_EPARSE);
	assert_string_equal(err.msg, ERR_LABEL);
	assert_int_equal(alb_name_make("a:b", "x", out, &err), ALB_EINVAL);
	/* at the limit and one past */
	char path[ALB_NAME_BUF];
	size_t n = 0;
	for (int i = 0; i < 15; i++) {
		memset(path + n, 'a', 63);
		n += 63;
		path[n++] = ':';
	}
	memset(path + n, 'b', 62);
	n += 62;
	path[n++] = ':';
	path[n] = '\0';
	assert_int_equal(n, ALB_NAME_MAX);
	assert_int_equal(alb_name_make(path, NULL, out, NULL), 0);
	assert_int_equal(alb_name_make(path, "x", out, &err), ALB_ETOOBIG);
	path[n - 2] = ':';
	path[n - 1] = '\0';
	assert_int_equal(alb_name_make(path, "x", out, NULL), 0);
	assert_int_equal(strlen(out), ALB_NAME_MAX);
}

static void test_under_relative(void **state)
{
	(void)state;
	char out[ALB_NAME_BUF];
	assert_true(alb_name_under("foo:bar", "foo:"));
	assert_true(alb_name_under("foo:", "foo:"));
	assert_true(alb_name_under("a:b:c", ":"));
	assert_true(alb_name_under(":hello", ":"));
	/* quirk: root-level foo is in path foo: (same trie node) */
	assert_true(alb_name_under(":foo", "foo:"));
	assert_false(alb_name_under("foobar:x", "foo:"));
	assert_false(alb_name_under("a:c", "a:b:"));
	assert_false(alb_name_under("a:", "a:b:"));
	alb_name_relative("foo:bar", "foo:", out);
	assert_string_equal(out, ":bar");
	alb_name_relative("a:b:c", "a:", out);
	assert_string_equal(out, "b:c");
	alb_name_relative("a:b:c", ":", out);
	assert_string_equal(out, "a:b:c");
	alb_name_relative(":hello", ":", out);
	assert_string_equal(out, ":hello");
	alb_name_relative("a:b:", "a:", out);
	assert_string_equal(out, "b:");
	alb_name_relative("a:", "a:", out);
	assert_string_equal(out, ":");
	alb_name_relative(":foo", "foo:", out);
	assert_string_equal(out, ":");
	/* spec §11: a:b:c:d:e:foo minus a:b:c is d:e:foo */
	alb_name_relative("a:b:c:d:e:foo", "a:b:c:", out);
	assert_string_equal(out, "d:e:foo");
	/* in place */
	strcpy(out, "x:y:z");
	alb_name_relative(out, "x:", out);
	assert_string_equal(out, "y:z");
	strcpy(out, "x:y");
	alb_name_relative(out, "x:", out);
	assert_string_equal(out, ":y");
}

static int cmp_qsort(const void *a, const void *b)
{
	return alb_name_cmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_trie_order(void **state)
{
	(void)state;
	/* pre-order, children by label bytewise (spec §1.9, vectors README) */
	assert_true(alb_name_cmp("a:b:c", ":hello") < 0);
	assert_true(alb_name_cmp("a:", "a:b:") < 0);
	assert_true(alb_name_cmp(":", "a:") < 0);
	assert_true(alb_name_cmp(":a", "a:") == 0);
	assert_true(alb_name_cmp("a:b", "a:b") == 0);
	/* label by label: "a" then "b" sorts before the single label "a.b",
	 * though ':' > '.' bytewise */
	assert_true(alb_name_cmp("a:b", ":a.b") < 0);
	assert_true(alb_name_cmp(":a-", ":a.") < 0);
	assert_true(alb_name_cmp(":ab", ":b") < 0);
	const char *names[] = {":hello", "a:b:", "b:", "a:b:c", ":", "a:", "a:a",
			       ":a.b", "a:b:c:d"};
	const char *want[] = {":", "a:", "a:a", "a:b:", "a:b:c", "a:b:c:d", ":a.b",
			      "b:", ":hello"};
	qsort(names, 9, sizeof(names[0]), cmp_qsort);
	for (int i = 0; i < 9; i++)
		assert_string_equal(names[i], want[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_make),
		cmocka_unit_test(test_under_relative),
		cmocka_unit_test(test_trie_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
