/* Unit tests: the vector checks follow whatever vector set they are given.
 * Second vector directories are built from the real one
 * ($ALB_VECTORS_DIR): files linked, some vectors and a transcript session
 * left out, one MANIFEST row's expectation changed. The checker
 * (tests/support/vec_check.h) counts what the new MANIFEST and listing
 * hold and reports the changed row, and so does test_vectors itself when
 * run with ALB_VECTORS_DIR pointing there.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vec_check.h"

/* Every how many MANIFEST rows one is left out of the second set. */
#define DROP_EVERY 7

static const char *dir;
static struct vec_report real;   /* the real set, checked once */
static struct vec_entry *rows;
static size_t n_rows;
static char first_session[256];  /* the transcript session left out */
static size_t session_frames;    /* its frames */

static void path_join(char *out, size_t n, const char *a, const char *b)
{
	int k = snprintf(out, n, "%s/%s", a, b);
	assert_true(k > 0 && (size_t)k < n);
}

/* mkdir -p of the folder part of rel under root. */
static void make_parents(const char *root, const char *rel)
{
	char path[4096];
	path_join(path, sizeof(path), root, rel);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
}

/* root/rel -> <real set>/rel */
static void link_file(const char *root, const char *rel)
{
	char from[4096], to[4096];
	path_join(from, sizeof(from), dir, rel);
	path_join(to, sizeof(to), root, rel);
	make_parents(root, rel);
	if (symlink(from, to) != 0)
		fail_msg("symlink %s: %s", to, strerror(errno));
}

static bool dropped(size_t i)
{
	return i % DROP_EVERY == DROP_EVERY / 2;
}

/* The row whose expectation the changed set turns into an error: the
 * first kept row Albatross accepted. */
static size_t changed_row(void)
{
	for (size_t i = 0; i < n_rows; i++)
		if (!dropped(i) && vec_expect_of(rows[i].expect) != VEC_ERROR)
			return i;
	fail_msg("no accepted vector to change");
	return 0;
}

/* A second set in a new temporary folder: the rows that are not dropped
 * (their .der and .txt linked), the transcripts but the first session;
 * with change, changed_row() expects "error". Returns the folder (to
 * free). */
static char *make_set(bool change)
{
	char tmpl[] = "/tmp/alb-vector-set-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char *root = strdup(tmpl);
	assert_non_null(root);
	char manifest[4096];
	path_join(manifest, sizeof(manifest), root, "MANIFEST.tsv");
	FILE *m = fopen(manifest, "w");
	assert_non_null(m);
	fprintf(m, "# name\tkind\texpect\tfile\tmessage-or-description\n");
	size_t target = changed_row();
	for (size_t i = 0; i < n_rows; i++) {
		const struct vec_entry *e = &rows[i];
		if (dropped(i))
			continue;
		char txt[512];
		snprintf(txt, sizeof(txt), "%.*s.txt", (int)strlen(e->file) - 4, e->file);
		link_file(root, e->file);
		link_file(root, txt);
		if (change && i == target)
			fprintf(m, "%s\t%s\terror\t%s\tchanged to an error on purpose\n", e->name,
				e->kind, e->file);
		else
			fprintf(m, "%s\t%s\t%s\t%s\t%s\n", e->name, e->kind, e->expect, e->file,
				e->text);
	}
	assert_int_equal(fclose(m), 0);
	int n;
	struct dirent **list = vec_list(dir, "transcripts", &n);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (name[0] == '.' || strcmp(name, first_session) == 0)
			continue;
		char rel[600];
		snprintf(rel, sizeof(rel), "transcripts/%s", name);
		link_file(root, rel);
	}
	vec_list_free(list, n);
	return root;
}

static void remove_set(char *root)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	free(root);
}

/* The counts of the real set less what make_set() leaves out. */
static void expect_counts(const struct vec_report *r, bool change)
{
	size_t want[VEC_EXPECTS];
	memcpy(want, real.per_expect, sizeof(want));
	size_t kept = n_rows;
	for (size_t i = 0; i < n_rows; i++)
		if (dropped(i)) {
			want[vec_expect_of(rows[i].expect)]--;
			kept--;
		}
	if (change) {
		want[vec_expect_of(rows[changed_row()].expect)]--;
		want[VEC_ERROR]++;
	}
	assert_true(kept < n_rows);
	assert_int_equal(r->rows, kept);
	for (int k = 0; k < VEC_EXPECTS; k++)
		if (r->per_expect[k] != want[k])
			fail_msg("%s: %zu rows, expected %zu", vec_expect_names[k],
				 r->per_expect[k], want[k]);
	assert_int_equal(r->sessions, real.sessions - (first_session[0] != '\0'));
	assert_int_equal(r->frames, real.frames - session_frames);
}

/* Runs test_vectors with ALB_VECTORS_DIR=root; its exit status, its
 * output in out. */
static int run_test_vectors(const char *root, char *out, size_t outsz)
{
	const char *build = getenv("ALB_BUILD_ROOT");
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "ALB_VECTORS_DIR='%s' '%s/tests/unit/test_vectors' 2>&1", root,
		 build != NULL ? build : ".");
	fflush(stdout);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Fewer vectors: counted as the new MANIFEST and listing say, and all
 * hold. */
static void test_fewer_vectors(void **state)
{
	(void)state;
	char *root = make_set(false);
	struct vec_report r;
	vec_check_dir(root, &r);
	expect_counts(&r, false);
	assert_int_equal(r.failures, 0);
	static char out[1 << 16];
	int rc = run_test_vectors(root, out, sizeof(out));
	if (rc != 0)
		fail_msg("test_vectors fails on the smaller set:\n%s", out);
	char line[512];
	snprintf(line, sizeof(line), "%s: %zu MANIFEST rows:", root, r.rows);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof(line), "%zu transcript frames in %zu sessions", r.frames,
		 r.sessions);
	assert_non_null(strstr(out, line));
	remove_set(root);
}

/* A changed expectation is a failure that names the row. */
static void test_changed_expectation(void **state)
{
	(void)state;
	char *root = make_set(true);
	struct vec_report r;
	vec_check_dir(root, &r);
	expect_counts(&r, true);
	const struct vec_entry *e = &rows[changed_row()];
	assert_int_equal(r.failures, 1);
	char want[512];
	snprintf(want, sizeof(want), "%s (%s, error): accepted, expected \"changed to an error "
		 "on purpose\"", e->name, e->kind);
	assert_string_equal(r.first_failure, want);
	static char out[1 << 16];
	assert_int_not_equal(run_test_vectors(root, out, sizeof(out)), 0);
	assert_non_null(strstr(out, want));
	remove_set(root);
}

/* A vector file that no MANIFEST row names is reported, and so is a row
 * whose file is missing. */
static void test_listing(void **state)
{
	(void)state;
	char *root = make_set(false);
	size_t kept = changed_row();
	char stray[4096];
	path_join(stray, sizeof(stray), root, "stray.der");
	FILE *f = fopen(stray, "w");
	assert_non_null(f);
	fclose(f);
	char gone[4096];
	path_join(gone, sizeof(gone), root, rows[kept].file);
	assert_int_equal(unlink(gone), 0);
	struct vec_report r;
	memset(&r, 0, sizeof(r));
	vec_check_manifest(root, &r);
	vec_check_listing(root, &r);
	assert_int_equal(r.failures, 2);
	assert_non_null(strstr(r.first_failure, rows[kept].name));
	remove_set(root);
}

static int setup(void **state)
{
	(void)state;
	vec_check_dir(dir, &real);
	n_rows = vec_manifest(dir, &rows);
	if (real.failures != 0 || n_rows < DROP_EVERY)
		return -1;
	/* the first transcript session and its frames */
	int n;
	struct dirent **list = vec_list(dir, "transcripts", &n);
	for (int i = 0; i < n && first_session[0] == '\0'; i++)
		if (list[i]->d_name[0] != '.')
			snprintf(first_session, sizeof(first_session), "%s", list[i]->d_name);
	vec_list_free(list, n > 0 ? n : 0);
	if (first_session[0] != '\0') {
		char rel[600];
		snprintf(rel, sizeof(rel), "transcripts/%s", first_session);
		struct dirent **files = vec_list(dir, rel, &n);
		for (int i = 0; i < n; i++) {
			char file[1400];
			size_t tl;
			snprintf(file, sizeof(file), "%s/%s", rel, files[i]->d_name);
			char *txt = vec_has_suffix(file, ".der") ? vec_read_txt(dir, file, &tl) : NULL;
			session_frames += txt != NULL && strncmp(txt, "ERROR:", 6) != 0;
			free(txt);
		}
		vec_list_free(files, n);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(rows);
	return 0;
}

int main(void)
{
	dir = vec_dir();
	if (!vec_present(dir))
		return VEC_SKIP;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fewer_vectors),
		cmocka_unit_test(test_changed_expectation),
		cmocka_unit_test(test_listing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
