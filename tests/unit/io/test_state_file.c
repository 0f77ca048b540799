/* Unit tests: atomic persistence of the state file (spec §6.10, §12.4).
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "albatross/name.h"
#include "io/state_file.h"
#include "proto/state_codec.h"
#include "vectors.h"
#include "test_child.h"

#define N_STEPS (ALB_STATE_STEP_DIR_SYNCED + 1)

static char dir[256];

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/alb-state-file-XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	alb_state_file_set_hook(NULL, NULL);
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			assert_int_equal(rmdir(p), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
	return 0;
}

static void path_of(char *p, size_t len, const char *name)
{
	snprintf(p, len, "%s/%s", dir, name);
}

/* The content of dir/name as a NUL-terminated string ("" for an empty
 * file), or NULL when it does not exist. Caller frees. */
static char *slurp(const char *name)
{
	struct alb_buf b = { 0 };
	int rc = alb_state_file_read_bytes(dir, name, &b, NULL);
	if (rc == ALB_ENOENT)
		return NULL;
	assert_int_equal(rc, 0);
	char *s = malloc(b.len + 1);
	assert_non_null(s);
	if (b.len > 0)
		memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	alb_buf_free(&b);
	return s;
}

static void expect_content(const char *name, const char *want)
{
	char *got = slurp(name);
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void write_str(const char *s)
{
	assert_int_equal(alb_state_file_write_bytes(dir, (const uint8_t *)s,
						    strlen(s), NULL),
			 0);
}

static bool exists(const char *name)
{
	char p[512];
	path_of(p, sizeof(p), name);
	return access(p, F_OK) == 0;
}

static void expect_no_temporaries(void)
{
	assert_false(exists(ALB_STATE_NAME ".tmp"));
	assert_false(exists(ALB_STATE_BAK_NAME ".tmp"));
	assert_false(exists(ALB_STATE_STARTED_NAME ".tmp"));
}

static void test_write_read_backup(void **state)
{
	(void)state;
	expect_content(ALB_STATE_NAME, NULL);
	mode_t old = umask(077);
	write_str("one");
	umask(old);
	expect_content(ALB_STATE_NAME, "one");
	expect_content(ALB_STATE_BAK_NAME, NULL);
	char p[512];
	struct stat st;
	path_of(p, sizeof(p), ALB_STATE_NAME);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	write_str("two");
	expect_content(ALB_STATE_NAME, "two");
	expect_content(ALB_STATE_BAK_NAME, "one");
	write_str("");
	expect_content(ALB_STATE_NAME, "");
	expect_content(ALB_STATE_BAK_NAME, "two");
	write_str("four");
	expect_content(ALB_STATE_BAK_NAME, "");
	expect_no_temporaries();
}

static void test_read_errors(void **state)
{
	(void)state;
	struct alb_buf b = { 0 };
	struct alb_error err;
	assert_int_equal(alb_state_file_read_bytes(dir, ALB_STATE_NAME, &b, &err),
			 ALB_ENOENT);
	char missing[512];
	path_of(missing, sizeof(missing), "nope");
	assert_int_equal(alb_state_file_read_bytes(missing, ALB_STATE_NAME, &b, &err),
			 ALB_ENOENT);
	assert_int_equal(alb_state_file_write_bytes(missing, (const uint8_t *)"x", 1,
						    &err),
			 ALB_ENOENT);
	char p[512];
	path_of(p, sizeof(p), ALB_STATE_NAME);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(alb_state_file_read_bytes(dir, ALB_STATE_NAME, &b, &err),
			 ALB_EPARSE);
	assert_int_equal(rmdir(p), 0);
	assert_null(b.data);
}

/* The size limit: at ALB_STATE_FILE_MAX accepted, one past refused; a
 * sparse file one past the limit is refused before any allocation. */
static void test_size_limit(void **state)
{
	(void)state;
	struct alb_error err;
	assert_int_equal(alb_state_file_check_size(ALB_STATE_FILE_MAX, NULL), 0);
	assert_int_equal(alb_state_file_check_size(ALB_STATE_FILE_MAX + 1, &err),
			 ALB_ETOOBIG);
	assert_int_equal(err.code, ALB_ETOOBIG);
	/* A write that large is refused before the buffer is touched and
	 * before any file is created. */
	const uint8_t one = 0;
	assert_int_equal(alb_state_file_write_bytes(dir, &one, ALB_STATE_FILE_MAX + 1,
						    &err),
			 ALB_ETOOBIG);
	expect_no_temporaries();
	expect_content(ALB_STATE_NAME, NULL);
	char p[512];
	path_of(p, sizeof(p), ALB_STATE_NAME);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	if (ftruncate(fd, (off_t)(ALB_STATE_FILE_MAX + 1)) != 0) {
		close(fd);
		skip();
	}
	close(fd);
	struct alb_buf b = { 0 };
	assert_int_equal(alb_state_file_read_bytes(dir, ALB_STATE_NAME, &b, &err),
			 ALB_ETOOBIG);
	assert_null(b.data);
}

static void test_copy_started(void **state)
{
	(void)state;
	struct alb_error err;
	assert_int_equal(alb_state_copy_started(dir, &err), ALB_ENOENT);
	expect_content(ALB_STATE_STARTED_NAME, NULL);
	write_str("boot 1");
	assert_int_equal(alb_state_copy_started(dir, NULL), 0);
	expect_content(ALB_STATE_STARTED_NAME, "boot 1");
	/* A real copy, not a link: a later state leaves it unchanged. */
	write_str("boot 2");
	expect_content(ALB_STATE_STARTED_NAME, "boot 1");
	/* Larger than the copy buffer. */
	size_t len = 200000;
	char *big = malloc(len + 1);
	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len] = '\0';
	write_str(big);
	assert_int_equal(alb_state_copy_started(dir, NULL), 0);
	expect_content(ALB_STATE_STARTED_NAME, big);
	free(big);
	char p[512];
	struct stat st;
	path_of(p, sizeof(p), ALB_STATE_STARTED_NAME);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	expect_content(ALB_STATE_BAK_NAME, "boot 2");
	expect_no_temporaries();
}

/* Leftovers of a crash (stale temporary files) do not stop the next
 * write, which removes them. */
static void test_stale_temporaries(void **state)
{
	(void)state;
	write_str("old");
	const char *stale[] = { ALB_STATE_NAME ".tmp", ALB_STATE_BAK_NAME ".tmp" };
	for (size_t i = 0; i < 2; i++) {
		char p[512];
		path_of(p, sizeof(p), stale[i]);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs("garbage", f);
		fclose(f);
	}
	write_str("new");
	expect_content(ALB_STATE_NAME, "new");
	expect_content(ALB_STATE_BAK_NAME, "old");
	expect_no_temporaries();
}

static int fail_at_hook(enum alb_state_step s, void *ctx)
{
	return (int)s == *(const int *)ctx ? -1 : 0;
}

/* A failure at each step: before the rename the old state and backup are
 * untouched (apart from the backup catching up with the old state) and no
 * temporary file remains; from the rename on the new state is in place. */
static void test_failure_each_step(void **state)
{
	(void)state;
	for (int k = 0; k < N_STEPS; k++) {
		write_str("older");
		write_str("old");
		alb_state_file_set_hook(fail_at_hook, &k);
		struct alb_error err;
		assert_int_equal(alb_state_file_write_bytes(dir, (const uint8_t *)"new",
							    3, &err),
				 ALB_ESYS);
		alb_state_file_set_hook(NULL, NULL);
		char *bak = slurp(ALB_STATE_BAK_NAME);
		assert_non_null(bak);
		if (k < ALB_STATE_STEP_RENAMED) {
			expect_content(ALB_STATE_NAME, "old");
			assert_true(strcmp(bak, "older") == 0 || strcmp(bak, "old") == 0);
		} else {
			expect_content(ALB_STATE_NAME, "new");
			assert_string_equal(bak, "old");
		}
		free(bak);
		expect_no_temporaries();
	}
}

static int crash_hook(enum alb_state_step s, void *ctx)
{
	if ((int)s == *(const int *)ctx)
		test_child_exit(0);
	return 0;
}

/* Runs fn in a child process that dies without any cleanup when it reaches
 * step k; returns true when the child got there. */
static bool crash_at(int k, void (*fn)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alb_state_file_set_hook(crash_hook, &k);
		fn();
		test_child_exit(3);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status) == 0;
}

static void child_write_new(void)
{
	if (alb_state_file_write_bytes(dir, (const uint8_t *)"new", 3, NULL) != 0)
		test_child_exit(2);
}

static void child_copy_started(void)
{
	if (alb_state_copy_started(dir, NULL) != 0)
		test_child_exit(2);
}

/* A crash at every step of a write leaves state and state.bak each holding
 * a complete old or new content, never nothing, and the next write works. */
static void test_crash_each_step(void **state)
{
	(void)state;
	for (int k = 0; k < N_STEPS; k++) {
		write_str("older");
		write_str("old");
		assert_true(crash_at(k, child_write_new));
		char *cur = slurp(ALB_STATE_NAME);
		char *bak = slurp(ALB_STATE_BAK_NAME);
		assert_non_null(cur);
		assert_non_null(bak);
		if (k < ALB_STATE_STEP_RENAMED)
			assert_string_equal(cur, "old");
		else
			assert_string_equal(cur, "new");
		if (k < ALB_STATE_STEP_BAK_REPLACED)
			assert_string_equal(bak, "older");
		else
			assert_string_equal(bak, "old");
		free(cur);
		free(bak);
		write_str("newer");
		expect_content(ALB_STATE_NAME, "newer");
		expect_no_temporaries();
	}
	/* The very first write: before the rename there is no state yet (as
	 * before the write), after it the new one. */
	for (int k = 0; k < N_STEPS; k++) {
		char p[512];
		path_of(p, sizeof(p), ALB_STATE_NAME);
		unlink(p);
		path_of(p, sizeof(p), ALB_STATE_BAK_NAME);
		unlink(p);
		bool reached = crash_at(k, child_write_new);
		/* No current file: the backup steps are skipped. */
		assert_true(reached || k == ALB_STATE_STEP_BAK_LINKED ||
			    k == ALB_STATE_STEP_BAK_REPLACED);
		expect_content(ALB_STATE_NAME,
			       k < ALB_STATE_STEP_RENAMED && reached ? NULL : "new");
		expect_content(ALB_STATE_BAK_NAME, NULL);
		write_str("newer");
		expect_no_temporaries();
	}
	/* state.started: the old copy or the new one, never a partial file. */
	for (int k = 0; k < N_STEPS; k++) {
		write_str("first");
		assert_int_equal(alb_state_copy_started(dir, NULL), 0);
		write_str("second");
		bool reached = crash_at(k, child_copy_started);
		assert_true(reached || k == ALB_STATE_STEP_BAK_LINKED ||
			    k == ALB_STATE_STEP_BAK_REPLACED);
		expect_content(ALB_STATE_STARTED_NAME,
			       k < ALB_STATE_STEP_RENAMED && reached ? "first" : "second");
		expect_content(ALB_STATE_NAME, "second");
		assert_int_equal(alb_state_copy_started(dir, NULL), 0);
		expect_no_temporaries();
	}
}

/* ---- with real state values --------------------------------------------- */

/* Reads a golden vector made by Albatross; false when the vectors are not
 * there (the caller skips). */
static bool load_vector(const char *name, struct alb_buf *out)
{
	size_t len;
	uint8_t *p = vec_read_at(vec_dir(), name, &len);
	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return false;
	/* Handed to the buffer, so that alb_buf_free() frees it. */
	out->base_ = out->data = p;
	out->len = out->cap_ = len;
	return true;
}

static struct alb_state *decode_vector(const char *name, struct alb_buf *bytes)
{
	if (!load_vector(name, bytes)) {
		print_message("skipped: vector %s not found (ALB_VECTORS_DIR)\n", name);
		return NULL;
	}
	struct alb_state *st = NULL;
	assert_int_equal(alb_state_decode(bytes->data, bytes->len, 0, &st, NULL), 0);
	return st;
}

/* The bytes a state encodes to. */
static void encode(const struct alb_state *st, struct alb_buf *out)
{
	memset(out, 0, sizeof(*out));
	assert_int_equal(alb_state_encode(st, out, NULL), 0);
}

static void expect_file_bytes(const char *name, const struct alb_buf *want)
{
	struct alb_buf got;
	assert_int_equal(alb_state_file_read_bytes(dir, name, &got, NULL), 0);
	assert_int_equal(got.len, want->len);
	assert_memory_equal(got.data, want->data, want->len);
	alb_buf_free(&got);
}

/* Albatross's state file is written byte for byte and read back to a
 * value that encodes to the same bytes; the previous one becomes
 * state.bak. */
static void test_state_round_trip(void **state)
{
	(void)state;
	struct alb_buf v1, v2;
	struct alb_state *s1 = decode_vector("state_empty.der", &v1);
	if (s1 == NULL)
		skip();
	struct alb_state *s2 = decode_vector("state_2u_2p.der", &v2);
	assert_non_null(s2);
	struct alb_state *back = NULL;
	struct alb_error err;
	assert_int_equal(alb_state_read_file(dir, &back, &err), ALB_ENOENT);
	assert_null(back);

	assert_int_equal(alb_state_write_file(dir, s1, NULL), 0);
	expect_file_bytes(ALB_STATE_NAME, &v1);
	assert_int_equal(alb_state_write_file(dir, s2, NULL), 0);
	expect_file_bytes(ALB_STATE_NAME, &v2);
	expect_file_bytes(ALB_STATE_BAK_NAME, &v1);

	assert_int_equal(alb_state_read_file(dir, &back, NULL), 0);
	assert_int_equal(back->format, ALB_STATE_FORMAT_CURRENT);
	assert_int_equal(back->n_unikernels, 2);
	assert_int_equal(back->n_policies, 2);
	struct alb_buf again;
	encode(back, &again);
	assert_int_equal(again.len, v2.len);
	assert_memory_equal(again.data, v2.data, v2.len);
	alb_buf_free(&again);
	alb_state_free(back);

	assert_int_equal(alb_state_copy_started(dir, NULL), 0);
	expect_file_bytes(ALB_STATE_STARTED_NAME, &v2);

	alb_state_free(s1);
	alb_state_free(s2);
	alb_buf_free(&v1);
	alb_buf_free(&v2);
}

/* An old format reads; the next write is the current format. */
static void test_state_legacy_upgrade(void **state)
{
	(void)state;
	struct alb_buf v;
	if (!load_vector("legacy/legacy_state_v3.der", &v))
		skip();
	assert_int_equal(alb_state_file_write_bytes(dir, v.data, v.len, NULL), 0);
	struct alb_state *st = NULL;
	assert_int_equal(alb_state_read_file(dir, &st, NULL), 0);
	assert_int_equal(st->format, 3);
	assert_int_equal(alb_state_write_file(dir, st, NULL), 0);
	alb_state_free(st);
	assert_int_equal(alb_state_read_file(dir, &st, NULL), 0);
	assert_int_equal(st->format, ALB_STATE_FORMAT_CURRENT);
	alb_state_free(st);
	expect_file_bytes(ALB_STATE_BAK_NAME, &v);
	alb_buf_free(&v);
}

/* A file that does not decode is a clean error, and a state that does not
 * encode leaves the files alone. */
static void test_state_bad(void **state)
{
	(void)state;
	write_str("not DER");
	struct alb_state *st = NULL;
	struct alb_error err;
	assert_int_equal(alb_state_read_file(dir, &st, &err), ALB_EPARSE);
	assert_null(st);
	struct alb_buf v;
	if (load_vector("invalid/invalid_state_nyi.der", &v)) {
		assert_int_equal(alb_state_file_write_bytes(dir, v.data, v.len, NULL), 0);
		assert_int_equal(alb_state_read_file(dir, &st, &err), ALB_EPARSE);
		alb_buf_free(&v);
	}
	struct alb_state_unikernel dup[2];
	memset(dup, 0, sizeof(dup));
	dup[0].name = dup[1].name = ":same";
	struct alb_state bad = { .format = ALB_STATE_FORMAT_CURRENT,
				 .n_unikernels = 2, .unikernels = dup };
	write_str("kept");
	assert_int_equal(alb_state_write_file(dir, &bad, &err), ALB_EINVAL);
	expect_content(ALB_STATE_NAME, "kept");
	expect_no_temporaries();
}

/* Images live inside the state file: a state with a 24 MiB image goes
 * through whole. */
static void test_state_large_image(void **state)
{
	(void)state;
	struct alb_buf v;
	struct alb_state *st = decode_vector("state_2u_2p.der", &v);
	if (st == NULL)
		skip();
	size_t len = 24u << 20;
	uint8_t *img = malloc(len);
	assert_non_null(img);
	for (size_t i = 0; i < len; i++)
		img[i] = (uint8_t)(i * 2654435761u >> 24);
	st->unikernels[0].config.image = (struct alb_bytes){ img, len };
	assert_int_equal(alb_state_write_file(dir, st, NULL), 0);
	struct alb_state *back = NULL;
	assert_int_equal(alb_state_read_file(dir, &back, NULL), 0);
	bool found = false;
	for (size_t i = 0; i < back->n_unikernels; i++) {
		if (strcmp(back->unikernels[i].name, st->unikernels[0].name) != 0)
			continue;
		found = true;
		assert_int_equal(back->unikernels[i].config.image.len, len);
		assert_memory_equal(back->unikernels[i].config.image.ptr, img, len);
	}
	assert_true(found);
	alb_state_free(back);
	alb_state_free(st);
	free(img);
	alb_buf_free(&v);
}

/* Writes st the way albd does: the head, each unikernel's entry in name
 * order with its image between the two halves, the tail; and checks that the
 * file is exactly alb_state_encode(st). */
static void expect_pieces_equal_whole(const struct alb_state *st)
{
	struct alb_buf whole;
	encode(st, &whole);
	size_t n = st->n_unikernels;
	struct alb_state_entry *e = calloc(n + 1, sizeof(*e));
	struct iovec *iov = calloc(2 + 3 * n, sizeof(*iov));
	size_t *order = calloc(n + 1, sizeof(*order));
	assert_true(e != NULL && iov != NULL && order != NULL);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* a handful of entries: insertion sort by name */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 &&
				   alb_name_cmp(st->unikernels[order[k - 1]].name,
						st->unikernels[order[k]].name) > 0;
		     k--) {
			size_t t = order[k];
			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	size_t total = 0, k = 1;
	for (size_t i = 0; i < n; i++) {
		const struct alb_state_unikernel *u = &st->unikernels[order[i]];
		assert_int_equal(alb_state_entry_encode(u->name, &u->config, &e[i],
							NULL), 0);
		/* the image is cut out, not copied */
		assert_int_equal(e[i].image, u->config.image.len);
		iov[k++] = (struct iovec){e[i].bytes, e[i].cut};
		iov[k++] = (struct iovec){(void *)u->config.image.ptr, e[i].image};
		iov[k++] = (struct iovec){e[i].bytes + e[i].cut, e[i].len - e[i].cut};
		total += e[i].len + e[i].image;
	}
	struct alb_buf head = {0}, tail = {0};
	assert_int_equal(alb_state_encode_frame(st->policies, st->n_policies,
						total, &head, &tail, NULL), 0);
	assert_int_equal(head.len + total + tail.len, whole.len);
	iov[0] = (struct iovec){head.data, head.len};
	iov[k++] = (struct iovec){tail.data, tail.len};
	assert_int_equal(alb_state_file_write_iov(dir, iov, k, NULL, NULL), 0);
	expect_file_bytes(ALB_STATE_NAME, &whole);
	for (size_t i = 0; i < n; i++)
		alb_state_entry_free(&e[i]);
	alb_state_entry_free(&e[0]); /* twice: a no-op */
	alb_buf_free(&head);
	alb_buf_free(&tail);
	alb_buf_free(&whole);
	free(order);
	free(iov);
	free(e);
}

/* Writes a state of len bytes of fill as a compaction does, giving way
 * (out->data: free() it). */
static void write_big(size_t len, uint8_t fill, struct alb_buf *out)
{
	memset(out, 0, sizeof(*out));
	out->data = malloc(len);
	assert_non_null(out->data);
	out->len = len;
	memset(out->data, fill, len);
	const struct alb_io_yield y = {NULL, NULL}; /* steps, no waits */
	struct iovec one = {out->data, len};
	assert_int_equal(alb_state_file_write_iov(dir, &one, 1, &y, NULL), 0);
}

/* Large states (the old backup is freed a step at a time, io/background.h):
 * the backup is the previous state whole, also after a crash that left
 * the backup's temporary link naming the state itself. */
static void test_large_backup(void **state)
{
	(void)state;
	const size_t len = 2 * ALB_IO_FREE_STEP + 3;
	struct alb_buf one, two, three;
	write_big(len, 1, &one);
	write_big(len, 2, &two);
	write_big(len, 3, &three);
	expect_file_bytes(ALB_STATE_NAME, &three);
	expect_file_bytes(ALB_STATE_BAK_NAME, &two);
	expect_no_temporaries();
	/* a crash right after the backup's link */
	char from[512], to[512];
	path_of(from, sizeof(from), ALB_STATE_NAME);
	path_of(to, sizeof(to), ALB_STATE_BAK_NAME ".tmp");
	assert_int_equal(link(from, to), 0);
	struct alb_buf four;
	write_big(7, 4, &four);
	expect_file_bytes(ALB_STATE_NAME, &four);
	expect_file_bytes(ALB_STATE_BAK_NAME, &three);
	expect_no_temporaries();
	free(one.data);
	free(two.data);
	free(three.data);
	free(four.data);
}

/* ---- giving way to foreground writes ----------------------------------------- */

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Foreground writes in flight for hold_us from the first question. */
struct fg {
	int64_t hold_us, first_us;
	unsigned calls;
	bool last; /* the last answer */
};

static bool fg_busy(void *ctx)
{
	struct fg *f = ctx;
	int64_t now = mono_us();
	if (f->calls++ == 0)
		f->first_us = now;
	f->last = now - f->first_us < f->hold_us;
	return f->last;
}

/* Writes len bytes through y; the microseconds it took. */
static int64_t write_yielding(size_t len, struct fg *f)
{
	uint8_t *p = malloc(len);
	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 13);
	struct iovec one = {p, len};
	const struct alb_io_yield y = {fg_busy, f};
	int64_t t0 = mono_us();
	assert_int_equal(alb_state_file_write_iov(dir, &one, 1, &y, NULL), 0);
	int64_t took = mono_us() - t0;
	struct alb_buf want = {.data = p, .len = len};
	expect_file_bytes(ALB_STATE_NAME, &want);
	free(p);
	return took;
}

/* A compaction's writer asks once per ALB_STATE_WRITE_BEHIND chunk and
 * waits while foreground writes are in flight: for one that ends before
 * ALB_IO_YIELD_MAX_MS, until it ends; for one that does not, that long
 * and no longer, then it goes on. */
static void test_write_yields(void **state)
{
	(void)state;
	struct fg idle = {0};
	write_yielding(3 * ALB_STATE_WRITE_BEHIND + 1, &idle);
	assert_int_equal(idle.calls, 4);
	assert_false(idle.last);

	const int64_t max_us = ALB_IO_YIELD_MAX_MS * 1000;
	struct fg shorter = {.hold_us = max_us - 10000};
	int64_t took = write_yielding(ALB_STATE_WRITE_BEHIND, &shorter);
	assert_false(shorter.last); /* it saw the writes end */
	assert_true(took >= shorter.hold_us);

	struct fg longer = {.hold_us = max_us + 30000};
	took = write_yielding(ALB_STATE_WRITE_BEHIND, &longer);
	assert_true(longer.last); /* still busy when it went on */
	assert_true(took >= max_us);
}

/* The state file in pieces (head, entries with the images cut out, tail) is
 * alb_state_encode() byte for byte: Albatross's vector, a bulk image
 * (past the writer's headroom threshold) and an empty one. */
static void test_state_pieces(void **state)
{
	(void)state;
	struct alb_buf v;
	struct alb_state *st = decode_vector("state_2u_2p.der", &v);
	if (st == NULL)
		skip();
	expect_pieces_equal_whole(st);
	size_t len = 6000;
	uint8_t *img = malloc(len);
	assert_non_null(img);
	for (size_t i = 0; i < len; i++)
		img[i] = (uint8_t)(i * 7);
	st->unikernels[0].config.image = (struct alb_bytes){img, len};
	st->unikernels[1].config.image = (struct alb_bytes){NULL, 0};
	expect_pieces_equal_whole(st);
	/* no unikernel at all */
	st->n_unikernels = 0;
	expect_pieces_equal_whole(st);
	st->n_unikernels = 2;
	alb_state_free(st);
	free(img);
	alb_buf_free(&v);
}

/* Pieces: more than IOV_MAX of them, empty ones among them; the size
 * limit at and one past it, checked before anything is written; a frame
 * for entries of ALB_STATE_FILE_MAX bytes and one past. */
static void test_write_iov(void **state)
{
	(void)state;
	enum { N = 3000 };
	static char text[N];
	static struct iovec iov[2 * N];
	for (size_t i = 0; i < N; i++) {
		text[i] = (char)('a' + i % 26);
		iov[2 * i] = (struct iovec){&text[i], 1};
		iov[2 * i + 1] = (struct iovec){&text[i], 0};
	}
	assert_int_equal(alb_state_file_write_iov(dir, iov, 2 * N, NULL, NULL), 0);
	struct alb_buf want = {.data = (uint8_t *)text, .len = N};
	expect_file_bytes(ALB_STATE_NAME, &want);

	struct alb_error err;
	uint8_t one = 0;
	struct iovec big[2] = {{&one, ALB_STATE_FILE_MAX}, {&one, 1}};
	assert_int_equal(alb_state_file_write_iov(dir, big, 2, NULL, &err), ALB_ETOOBIG);
	assert_int_equal(err.code, ALB_ETOOBIG);
	expect_no_temporaries();
	expect_file_bytes(ALB_STATE_NAME, &want);

	struct alb_buf head = {0}, tail = {0};
	assert_int_equal(alb_state_encode_frame(NULL, 0, ALB_STATE_FILE_MAX, &head,
						&tail, NULL), 0);
	assert_true(head.len > 0 && tail.len > 0);
	alb_buf_free(&head);
	alb_buf_free(&tail);
	assert_int_equal(alb_state_encode_frame(NULL, 0, ALB_STATE_FILE_MAX + 1,
						&head, &tail, &err), ALB_ETOOBIG);
	assert_null(head.data);
	assert_null(tail.data);
}

static const struct alb_state *crash_state;

static void child_write_state(void)
{
	if (alb_state_write_file(dir, crash_state, NULL) != 0)
		test_child_exit(2);
}

/* Whether the file decodes and re-encodes to one of the given contents. */
static bool decodes_to(const char *name, const struct alb_buf *a,
		       const struct alb_buf *b)
{
	struct alb_buf raw;
	if (alb_state_file_read_bytes(dir, name, &raw, NULL) != 0)
		return false;
	struct alb_state *st = NULL;
	int rc = alb_state_decode(raw.data, raw.len, 0, &st, NULL);
	alb_buf_free(&raw);
	if (rc != 0)
		return false;
	struct alb_buf enc;
	encode(st, &enc);
	alb_state_free(st);
	bool same = (enc.len == a->len && memcmp(enc.data, a->data, a->len) == 0) ||
		    (enc.len == b->len && memcmp(enc.data, b->data, b->len) == 0);
	alb_buf_free(&enc);
	return same;
}

/* A daemon killed at any step of a state dump restarts from a state file
 * that decodes to the old or the new state, and its backup decodes too. */
static void test_state_crash_decodes(void **state)
{
	(void)state;
	struct alb_buf v_old, v_new;
	struct alb_state *s_old = decode_vector("state_root_policy.der", &v_old);
	if (s_old == NULL)
		skip();
	struct alb_state *s_new = decode_vector("state_2u_2p.der", &v_new);
	assert_non_null(s_new);
	crash_state = s_new;
	for (int k = 0; k < N_STEPS; k++) {
		assert_int_equal(alb_state_write_file(dir, s_old, NULL), 0);
		assert_int_equal(alb_state_write_file(dir, s_old, NULL), 0);
		assert_true(crash_at(k, child_write_state));
		assert_true(decodes_to(ALB_STATE_NAME, &v_old, &v_new));
		assert_true(decodes_to(ALB_STATE_BAK_NAME, &v_old, &v_new));
		struct alb_state *st = NULL;
		assert_int_equal(alb_state_read_file(dir, &st, NULL), 0);
		assert_int_equal(st->n_unikernels,
				 k < ALB_STATE_STEP_RENAMED ? 1 : 2);
		alb_state_free(st);
	}
	alb_state_free(s_old);
	alb_state_free(s_new);
	alb_buf_free(&v_old);
	alb_buf_free(&v_new);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read_backup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_started, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_temporaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_each_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_each_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_legacy_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_large_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_crash_decodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_iov, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_yields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_backup, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
