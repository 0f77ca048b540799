/* Tests of alb-oci's readers: the strict JSON reader, config.json and its
 * annotations, urunc.json, the state file and container ids, each limit at
 * and one past it.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The readers live in the CLI directory, outside the library. */
#include "../../../cli/alb_oci_json.c"
#include "../../../cli/alb_oci_config.c"
#include "../../../cli/alb_oci_state.c"

/* ---- helpers -------------------------------------------------------------- */

static int parse(const char *s)
{
	struct oj_doc d;
	struct alb_error err;
	int rc = oj_parse(s, strlen(s), "t", &d, &err);
	oj_free(&d);
	return rc;
}

/* A growing string for building documents. */
struct sb {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_rep(struct sb *b, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_add(b, &c, 1);
}

static int config(const char *s, struct oci_config *c)
{
	struct alb_error err;
	int rc = oci_config_parse(s, strlen(s), "/b", c, &err);
	if (rc != 0)
		printf("config: %s\n", err.msg);
	return rc;
}

/* ---- JSON ----------------------------------------------------------------- */

static void test_json_valid(void **state)
{
	(void)state;
	const char *s = " {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\ud83d\\ude00\\n\"],"
			"\"b\": {}, \"c\": []} ";
	struct oj_doc d;
	struct alb_error err;
	assert_int_equal(oj_parse(s, strlen(s), "t", &d, &err), 0);
	const struct oj_node *a = oj_get(&d, oj_root(&d), "a");
	assert_non_null(a);
	assert_int_equal(a->count, 6);
	const struct oj_node *n = oj_first(&d, a);
	int64_t v;
	assert_true(oj_int(n, 0, 10, &v));
	assert_int_equal(v, 1);
	n = oj_next(&d, n);
	assert_false(oj_int(n, INT64_MIN, INT64_MAX, &v)); /* not an integer */
	for (int i = 0; i < 4; i++)
		n = oj_next(&d, n);
	assert_int_equal(n->type, OJ_STRING);
	assert_string_equal(n->str, "x\xc3\xa9\xf0\x9f\x98\x80\n");
	assert_null(oj_get(&d, oj_root(&d), "zz"));
	oj_free(&d);
	oj_free(NULL);
}

static void test_json_strict(void **state)
{
	(void)state;
	const char *bad[] = {
	    "", "[1,]", "{\"a\":1,}", "01", "[1 2]", "\"\\x\"", "\"a\nb\"",
	    "\"\xff\"", "\"\xc0\xaf\"", "\"\\ud800\"", "\"\\udc00\"",
	    "\"\\u0000\"", "{\"a\":1,\"a\":2}", "[] []", "tru", "nul",
	    "{1:2}", "[-]", "1.", "1e", "[\"abc", "{\"a\" 1}", "NaN", "// c\n1",
	    "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i]) != ALB_EPARSE)
			fail_msg("accepted %s", bad[i]);
	}
	assert_int_equal(parse("0"), 0);
	assert_int_equal(parse("-0.5E-3"), 0);
	struct oj_doc d;
	struct alb_error err;
	assert_int_equal(oj_parse("[1,", 3, "config.json", &d, &err), ALB_EPARSE);
	assert_non_null(strstr(err.msg, "config.json: "));
	assert_non_null(strstr(err.msg, "at byte 3"));
}

static void test_json_depth(void **state)
{
	(void)state;
	struct sb b = {0};
	sb_rep(&b, '[', OJ_DEPTH_MAX);
	sb_rep(&b, ']', OJ_DEPTH_MAX);
	assert_int_equal(parse(b.p), 0);
	b.len = 0;
	sb_rep(&b, '[', OJ_DEPTH_MAX + 1);
	sb_rep(&b, ']', OJ_DEPTH_MAX + 1);
	assert_int_equal(parse(b.p), ALB_ETOOBIG);
	free(b.p);
}

static void test_json_write(void **state)
{
	(void)state;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	oj_write_str(f, "a\"b\\c\n\x01\t", 8);
	fclose(f);
	assert_string_equal(out, "\"a\\\"b\\\\c\\n\\u0001\\t\"");
	assert_int_equal(parse(out), 0);
	free(out);
}

/* ---- config.json ---------------------------------------------------------- */

static const char *const full_config =
    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
    "\"process\":{\"terminal\":true,\"args\":[\"--a\",\"b c\"]},"
    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\"},"
    "{\"destination\":\"/disk\",\"source\":\"/var/d.img\",\"type\":\"bind\"}],"
    "\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864},"
    "\"cpu\":{\"cpus\":\"0-2,5\"}},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\","
    "\"path\":\"/proc/1/ns/net\"}]},"
    "\"annotations\":{\"com.urunc.unikernel.hypervisor\":\"aHZ0\","
    "\"com.urunc.unikernel.cmdline\":\"qemu\"}}";

static void test_config_full(void **state)
{
	(void)state;
	struct oci_config c;
	assert_int_equal(config(full_config, &c), 0);
	assert_string_equal(c.rootfs, "/b/rootfs");
	assert_true(c.terminal);
	assert_int_equal(c.n_args, 2);
	assert_string_equal(c.args[1], "b c");
	assert_true(c.has_mem_limit);
	assert_int_equal(c.mem_limit, 64 * 1024 * 1024);
	assert_int_equal(c.n_cpus, 4);
	assert_int_equal(c.cpus[3], 5);
	assert_int_equal(c.netns, OCI_NETNS_PATH);
	assert_string_equal(c.netns_path, "/proc/1/ns/net");
	assert_int_equal(c.n_mounts, 1); /* /proc has no source */
	assert_string_equal(c.mount_src[0], "/var/d.img");
	/* urunc's values: base64 of text is decoded, anything else kept */
	char v[64];
	assert_int_equal(oci_urunc_value(&c, "hypervisor", v, sizeof(v), NULL), 0);
	assert_string_equal(v, "hvt");
	assert_int_equal(oci_urunc_value(&c, "cmdline", v, sizeof(v), NULL), 0);
	assert_string_equal(v, "qemu");
	assert_int_equal(oci_urunc_value(&c, "binary", v, sizeof(v), NULL),
			 ALB_ENOENT);
	oci_config_free(&c);
	oci_config_free(NULL);
}

static void test_config_minimal(void **state)
{
	(void)state;
	struct oci_config c;
	assert_int_equal(config("{\"root\":{\"path\":\"/r\"},\"linux\":{"
				"\"namespaces\":[{\"type\":\"network\"}],"
				"\"resources\":{\"memory\":{\"limit\":-1}}}}",
				&c),
			 0);
	assert_string_equal(c.rootfs, "/r");
	assert_int_equal(c.netns, OCI_NETNS_NEW);
	assert_false(c.has_mem_limit);
	assert_false(c.terminal);
	oci_config_free(&c);
	const char *bad[] = {"[]", "{}", "{\"root\":{\"path\":1}}",
			     "{\"root\":{\"path\":\"r\"},\"process\":{\"args\":[1]}}",
			     "{\"root\":{\"path\":\"r\"},\"annotations\":{\"a\":1}}",
			     "{\"root\":{\"path\":\"r\"},\"linux\":{\"resources\":"
			     "{\"cpu\":{\"cpus\":\"3-1\"}}}}",
			     "{\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":"
			     "[{\"type\":\"network\",\"path\":\"rel\"}]}}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (oci_config_parse(bad[i], strlen(bad[i]), "/b", &c, NULL) == 0)
			fail_msg("accepted %s", bad[i]);
}

/* A config.json of exactly size bytes (white space pads it). */
static void sized_config(struct sb *b, size_t size)
{
	const char *base = "{\"root\":{\"path\":\"r\"}}";
	b->len = 0;
	sb_str(b, base);
	sb_rep(b, ' ', size - strlen(base));
}

static void test_config_size_limit(void **state)
{
	(void)state;
	struct sb b = {0};
	struct oci_config c;
	sized_config(&b, OCI_CONFIG_MAX);
	assert_int_equal(oci_config_parse(b.p, b.len, "/b", &c, NULL), 0);
	oci_config_free(&c);
	sized_config(&b, OCI_CONFIG_MAX + 1);
	assert_int_equal(oci_config_parse(b.p, b.len, "/b", &c, NULL), ALB_ETOOBIG);
	free(b.p);
}

/* config.json with n annotations, the first with a key of klen bytes and
 * a value of vlen bytes. */
static int annotations(size_t n, size_t klen, size_t vlen)
{
	struct sb b = {0};
	sb_str(&b, "{\"root\":{\"path\":\"r\"},\"annotations\":{\"");
	sb_rep(&b, 'k', klen);
	sb_str(&b, "\":\"");
	sb_rep(&b, 'v', vlen);
	sb_str(&b, "\"");
	for (size_t i = 1; i < n; i++) {
		char kv[32];
		snprintf(kv, sizeof(kv), ",\"a%zu\":\"x\"", i);
		sb_str(&b, kv);
	}
	sb_str(&b, "}}");
	struct oci_config c;
	int rc = oci_config_parse(b.p, b.len, "/b", &c, NULL);
	if (rc == 0)
		oci_config_free(&c);
	free(b.p);
	return rc;
}

static void test_annotation_limits(void **state)
{
	(void)state;
	assert_int_equal(annotations(OCI_ANNOTATIONS_MAX, 1, 1), 0);
	assert_int_equal(annotations(OCI_ANNOTATIONS_MAX + 1, 1, 1), ALB_ETOOBIG);
	assert_int_equal(annotations(1, OCI_ANNOTATION_KEY_MAX, 1), 0);
	assert_int_equal(annotations(1, OCI_ANNOTATION_KEY_MAX + 1, 1), ALB_ETOOBIG);
	assert_int_equal(annotations(1, 1, OCI_ANNOTATION_VALUE_MAX), 0);
	assert_int_equal(annotations(1, 1, OCI_ANNOTATION_VALUE_MAX + 1),
			 ALB_ETOOBIG);
}

static int args(size_t n)
{
	struct sb b = {0};
	sb_str(&b, "{\"root\":{\"path\":\"r\"},\"process\":{\"args\":[");
	for (size_t i = 0; i < n; i++)
		sb_str(&b, i ? ",\"a\"" : "\"a\"");
	sb_str(&b, "]}}");
	struct oci_config c;
	int rc = oci_config_parse(b.p, b.len, "/b", &c, NULL);
	if (rc == 0)
		oci_config_free(&c);
	free(b.p);
	return rc;
}

static void test_args_limit(void **state)
{
	(void)state;
	assert_int_equal(args(OCI_ARGS_MAX), 0);
	assert_int_equal(args(OCI_ARGS_MAX + 1), ALB_ETOOBIG);
}

static void test_cpuset(void **state)
{
	(void)state;
	int64_t cpus[ALB_TENDER_CPU_MAX];
	size_t n;
	assert_int_equal(oci_cpuset_parse("0-2,5,1", cpus, &n, NULL), 0);
	assert_int_equal(n, 4);
	assert_int_equal(oci_cpuset_parse("", cpus, &n, NULL), 0);
	assert_int_equal(n, 0);
	char s[32];
	snprintf(s, sizeof(s), "%d", ALB_TENDER_CPU_MAX - 1);
	assert_int_equal(oci_cpuset_parse(s, cpus, &n, NULL), 0);
	snprintf(s, sizeof(s), "0-%d", ALB_TENDER_CPU_MAX - 1);
	assert_int_equal(oci_cpuset_parse(s, cpus, &n, NULL), 0);
	assert_int_equal(n, ALB_TENDER_CPU_MAX);
	snprintf(s, sizeof(s), "%d", ALB_TENDER_CPU_MAX);
	assert_int_equal(oci_cpuset_parse(s, cpus, &n, NULL), ALB_ETOOBIG);
	const char *bad[] = {"a", "1,", "3-1", "-1", "1-", ",1", "1 2", "+1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (oci_cpuset_parse(bad[i], cpus, &n, NULL) != ALB_EPARSE)
			fail_msg("accepted cpuset %s", bad[i]);
}

static void test_urunc_json(void **state)
{
	(void)state;
	struct oci_config c;
	assert_int_equal(config("{\"root\":{\"path\":\"r\"},\"annotations\":{"
				"\"com.urunc.unikernel.binary\":\"/k\"}}", &c), 0);
	const char *u = "{\"com.urunc.unikernel.binary\":\"L290aGVy\","
			"\"com.urunc.unikernel.hypervisor\":\"cWVtdQ==\","
			"\"other\":\"x\"}";
	assert_int_equal(oci_config_urunc_json(u, strlen(u), &c, NULL), 0);
	char v[64];
	/* config.json's annotation wins */
	assert_int_equal(oci_urunc_value(&c, "binary", v, sizeof(v), NULL), 0);
	assert_string_equal(v, "/k");
	assert_int_equal(oci_urunc_value(&c, "hypervisor", v, sizeof(v), NULL), 0);
	assert_string_equal(v, "qemu");
	assert_null(oci_annotation(&c, "other"));
	assert_int_equal(oci_config_urunc_json("[]", 2, &c, NULL), ALB_EPARSE);
	struct sb b = {0};
	sb_str(&b, "{}");
	sb_rep(&b, ' ', OCI_URUNC_JSON_MAX - 2);
	assert_int_equal(oci_config_urunc_json(b.p, b.len, &c, NULL), 0);
	sb_str(&b, " ");
	assert_int_equal(oci_config_urunc_json(b.p, b.len, &c, NULL), ALB_ETOOBIG);
	free(b.p);
	oci_config_free(&c);
}

static void test_id(void **state)
{
	(void)state;
	char id[OCI_ID_MAX + 2];
	memset(id, 'a', sizeof(id));
	id[OCI_ID_MAX] = '\0';
	assert_true(oci_id_valid(id));
	id[OCI_ID_MAX] = 'a';
	id[OCI_ID_MAX + 1] = '\0';
	assert_false(oci_id_valid(id));
	assert_true(oci_id_valid("a-b_c.d+1"));
	const char *bad[] = {"", ".", "..", "a/b", "a b", "a:b", "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(oci_id_valid(bad[i]));
}

/* ---- the state file ------------------------------------------------------- */

static void test_state_roundtrip(void **state)
{
	(void)state;
	char dir[] = "/tmp/alb-oci-state-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int rootfd, dirfd;
	char root[64];
	snprintf(root, sizeof(root), "%s/r/x", dir);
	assert_int_equal(oci_root_open(root, &rootfd, NULL), 0);
	assert_int_equal(oci_dir_make(rootfd, "c1", &dirfd, NULL), 0);
	struct alb_error err;
	assert_int_equal(oci_dir_make(rootfd, "c1", &dirfd, &err), ALB_EEXIST);
	char *k = "k\"1", *v = "v\n1";
	struct oci_state s = {.pid = getpid(), .started = true,
			      .kind = ALB_TENDER_QEMU, .n_ann = 1};
	strcpy(s.id, "c1");
	strcpy(s.bundle, "/b");
	strcpy(s.created, "2024-01-01T00:00:00.000000000Z");
	strcpy(s.tap, "vmmtap3");
	strcpy(s.netns, "/proc/1/ns/net");
	s.pid_start = oci_pid_start(getpid());
	s.ann_key[0] = k;
	s.ann_value[0] = v;
	assert_true(s.pid_start > 0);
	assert_int_equal(oci_state_write(dirfd, &s, NULL), 0);
	struct oci_state r;
	assert_int_equal(oci_state_read(dirfd, &r, NULL), 0);
	assert_string_equal(r.id, "c1");
	assert_string_equal(r.tap, "vmmtap3");
	assert_string_equal(r.veth, "");
	assert_int_equal(r.kind, ALB_TENDER_QEMU);
	assert_int_equal(r.n_ann, 1);
	assert_string_equal(r.ann_value[0], "v\n1");
	assert_int_equal(oci_state_status(&r), OCI_RUNNING);
	r.started = false;
	assert_int_equal(oci_state_status(&r), OCI_CREATED);
	r.pid_start++; /* another process with the same pid */
	assert_int_equal(oci_state_status(&r), OCI_STOPPED);
	oci_state_free(&r);
	/* no temporary file is left beside it */
	assert_int_equal(faccessat(dirfd, "state.json", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(oci_dir_remove(rootfd, "c1", NULL), 0);
	assert_int_equal(oci_dir_open(rootfd, "c1", &dirfd, &err), ALB_ENOENT);
	assert_int_equal(oci_dir_remove(rootfd, "c1", NULL), 0);
	close(rootfd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_state_limits(void **state)
{
	(void)state;
	const char *ok = "{\"id\":\"a\",\"bundle\":\"/b\",\"created\":\"t\","
			 "\"pid\":1,\"pid_start\":1,\"started\":false,\"kind\":1,"
			 "\"tap\":\"\",\"veth\":\"\",\"netns\":\"\",\"annotations\":{}}";
	struct sb b = {0};
	sb_str(&b, ok);
	sb_rep(&b, ' ', OCI_STATE_MAX - strlen(ok));
	struct oci_state s;
	assert_int_equal(oci_state_parse(b.p, b.len, &s, NULL), 0);
	oci_state_free(&s);
	sb_str(&b, " ");
	assert_int_equal(oci_state_parse(b.p, b.len, &s, NULL), ALB_ETOOBIG);
	free(b.p);
	const char *bad = "{\"id\":\"a\",\"bundle\":\"/b\",\"created\":\"t\","
			  "\"pid\":1,\"pid_start\":1,\"started\":false,\"kind\":9,"
			  "\"tap\":\"\",\"veth\":\"\",\"netns\":\"\",\"annotations\":{}}";
	assert_int_equal(oci_state_parse(bad, strlen(bad), &s, NULL), ALB_EPARSE);
	const char *longtap = "{\"id\":\"a\",\"bundle\":\"/b\",\"created\":\"t\","
			      "\"pid\":1,\"pid_start\":1,\"started\":false,\"kind\":1,"
			      "\"tap\":\"0123456789abcdef\",\"veth\":\"\",\"netns\":\"\","
			      "\"annotations\":{}}";
	assert_int_equal(oci_state_parse(longtap, strlen(longtap), &s, NULL),
			 ALB_EPARSE);
	assert_int_equal(oci_pid_start(0), -1);
}

static void test_read_file_limit(void **state)
{
	(void)state;
	char dir[] = "/tmp/alb-oci-read-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	char data[100];
	memset(data, 'x', sizeof(data));
	assert_int_equal(oci_write_file(fd, "f", data, sizeof(data), NULL), 0);
	char *out;
	size_t len;
	assert_int_equal(oci_read_file(fd, "f", sizeof(data), &out, &len, NULL), 0);
	assert_int_equal(len, sizeof(data));
	free(out);
	assert_int_equal(oci_read_file(fd, "f", sizeof(data) - 1, &out, &len, NULL),
			 ALB_ETOOBIG);
	/* a symlink is not followed */
	assert_int_equal(symlinkat("f", fd, "l"), 0);
	assert_int_not_equal(oci_read_file(fd, "l", sizeof(data), &out, &len, NULL), 0);
	unlinkat(fd, "l", 0);
	unlinkat(fd, "f", 0);
	close(fd);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_valid),
	    cmocka_unit_test(test_json_strict),
	    cmocka_unit_test(test_json_depth),
	    cmocka_unit_test(test_json_write),
	    cmocka_unit_test(test_config_full),
	    cmocka_unit_test(test_config_minimal),
	    cmocka_unit_test(test_config_size_limit),
	    cmocka_unit_test(test_annotation_limits),
	    cmocka_unit_test(test_args_limit),
	    cmocka_unit_test(test_cpuset),
	    cmocka_unit_test(test_urunc_json),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_state_roundtrip),
	    cmocka_unit_test(test_state_limits),
	    cmocka_unit_test(test_read_file_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
