/* Integration: a create whose image streams in (spec §2.4's empty-image
 * form on albd's socket, vmmd_upload.c, doc/journal.md), with the core in
 * a child process and the fake tender, in a private network namespace:
 *   - the image arrives whole: info's digest, get's bytes, the tender's
 *     copy in tmpdir; the journal record names the file in <dbdir>/images
 *     and stays small;
 *   - a crash and a restart restore it from its file; after a clean
 *     shutdown the state file holds it (as albatrossd reads it) and the
 *     next start removes the file;
 *   - a compressed image: stored as it came, run inflated;
 *   - at ALB_IMAGE_MAX and one byte past it ("stream exceeds size");
 *   - an empty stream, no stream at all (refused after the command
 *     timeout), a bad image, a client gone mid-stream, a full disk or
 *     tmpdir: nothing made, no file left in images/ or tmpdir;
 *   - the file's fdatasync, rename or directory fsync failing (injected,
 *     io's test hook), and albd ending at each of them: nothing made, no
 *     file left;
 *   - the file damaged or missing under a stopped albd: the start stops
 *     and names it, the files are kept;
 *   - albd killed (SIGKILL) at random instants of uploads: after the
 *     restart the unikernel is there with its whole image, or not at all,
 *     and no file is left over.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <sys/mount.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "albd_harness.h"
#include "fault_file.h"
#include "host_helpers.h"
#include "io/state_file.h"
#include "vmmd_internal.h"

/* Bytes of the images of most cases (five upload steps and a little). */
#define IMAGE_BYTES (10u * 1024u * 1024u + 12345u)
/* Runs of the kill -9 case. */
#define KILL_RUNS 12

static struct harness H;
static char images_dir[H_PATH + 16];

/* ---- images and uploads ----------------------------------------------------- */

/* A valid image padded with bytes of seed to len. */
static uint8_t *image(size_t len, uint32_t seed)
{
	size_t n = 0;
	uint8_t *p = h_image(1, NULL, NULL, 0, seed, &n);
	assert_non_null(p);
	assert_true(len >= n);
	p = realloc(p, len);
	assert_non_null(p);
	for (size_t i = n; i < len; i++)
		p[i] = (uint8_t)(i * 2654435761u >> 24) ^ (uint8_t)seed;
	return p;
}

static void digest(const uint8_t *p, size_t len, uint8_t out[ALB_SHA256_LEN])
{
	unsigned n = 0;
	assert_int_equal(EVP_Digest(p, len, out, &n, EVP_sha256(), NULL), 1);
}

static void create_cmd(struct h_uk *u, bool force)
{
	h_uk_init(u, force);
	h_uk_arg(u, "--sleep-ms=600000");
	u->cmd.u.create.image = (struct alb_bytes){NULL, 0};
}

/* A create of name whose image img[0..len) streams after the command
 * (compressed: zlib's bytes of the image); the reply's text into out. */
static const char *upload_as(const char *name, bool compressed,
			     const uint8_t *img, size_t len, char *out,
			     size_t size)
{
	struct h_uk u;
	create_cmd(&u, true);
	u.cmd.u.create.compressed = compressed;
	return h_call_stream(&H, name, &u.cmd, img, len, out, size);
}

static const char *upload(const char *name, const uint8_t *img, size_t len,
			  char *out, size_t size)
{
	return upload_as(name, false, img, len, out, size);
}

/* Connects, sends the create of name and len bytes of its image in chunks,
 * without the end marker; the socket, still open. */
static int upload_partial(const char *name, const uint8_t *img, size_t len)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(H.sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, H.sock, strlen(H.sock) + 1);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct h_uk u;
	create_cmd(&u, false);
	struct alb_msg m = {.kind = ALB_PAYLOAD_COMMAND};
	m.header = (struct alb_header){ALB_WIRE_VERSION, 1, name};
	m.u.command = u.cmd;
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&m, ALB_ENCODE_FRAMED, &b, NULL), 0);
	assert_int_equal(write(s, b.data, b.len), (ssize_t)b.len);
	alb_buf_free(&b);
	for (size_t o = 0; o < len; o += 65536) {
		size_t n = len - o < 65536 ? len - o : 65536;
		uint8_t hdr[ALB_FRAME_HEADER_LEN];
		alb_frame_header(hdr, n, NULL);
		assert_int_equal(write(s, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
		assert_int_equal(write(s, img + o, n), (ssize_t)n);
	}
	return s;
}

/* ---- what albd shows and keeps ----------------------------------------------- */

/* Whether name runs, and its image's digest. */
static bool info_of(const char *name, uint8_t out[ALB_SHA256_LEN])
{
	struct alb_command c = {.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_msg *m = h_call(&H, name, &c);
	assert_non_null(m);
	bool found = m->kind == ALB_PAYLOAD_SUCCESS &&
		     m->u.success.u.infos.n == 1;
	if (found) {
		const struct alb_bytes *d = &m->u.success.u.infos.v[0].info.digest;
		assert_int_equal(d->len, ALB_SHA256_LEN);
		memcpy(out, d->ptr, ALB_SHA256_LEN);
	}
	alb_msg_free(m);
	return found;
}

/* get of name brings back exactly img[0..len). */
static void expect_get(const char *name, const uint8_t *img, size_t len)
{
	struct alb_command c = {.kind = ALB_CMD_UNIKERNEL_GET};
	struct alb_msg *m = h_call(&H, name, &c);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_UNIKERNEL_IMAGE);
	assert_false(m->u.success.u.image.compressed);
	assert_int_equal(m->u.success.u.image.data.len, len);
	assert_memory_equal(m->u.success.u.image.data.ptr, img, len);
	alb_msg_free(m);
}

static void expect_running(const char *name, const uint8_t *img, size_t len)
{
	uint8_t want[ALB_SHA256_LEN], got[ALB_SHA256_LEN];
	digest(img, len, want);
	bool found = false;
	for (int i = 0; i < 250 && !(found = info_of(name, got)); i++)
		h_sleep_ms(20);
	assert_true(found);
	assert_memory_equal(got, want, ALB_SHA256_LEN);
	expect_get(name, img, len);
}

/* Entries of dir whose name starts with prefix. */
static int prefixed(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* The streamed images' files in images/ (not the links that pin files
 * images are mapped from: a restored image of the state file's is). */
static int image_files(void)
{
	return h_count_files(images_dir, "") -
	       prefixed(images_dir, VMMD_PIN_PREFIX);
}

/* Files an upload may leave: parts in images/, stages in tmpdir. */
static int leftovers(void)
{
	return h_count_files(images_dir, ".part") + prefixed(H.tmpdir, "#upload-");
}

/* Bytes of the journal's segments. */
static long long journal_bytes(void)
{
	long long total = 0;
	for (int i = 1; i < 64; i++) {
		char p[H_PATH + 32];
		struct stat sb;
		snprintf(p, sizeof(p), "%s/journal.%d", H.dbdir, i);
		if (stat(p, &sb) == 0)
			total += sb.st_size;
	}
	return total;
}

static void start(void)
{
	struct alb_vmmd_config cfg;
	alb_vmmd_config_init(&cfg);
	cfg.kill_timeout_ms = 1000;
	cfg.command_timeout_ms = 1000;
	assert_int_equal(h_start_core(&H, &cfg), 0);
}

/* Kills the core and its tenders as a crash would. */
static void crash(void)
{
	h_stop(&H, SIGKILL);
	pid_t pids[16];
	int n = h_tenders(&H, pids, 16);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < 250 && h_tenders(&H, pids, 16) > 0; i++)
		h_sleep_ms(20);
}

/* ---- fixtures --------------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	if (h_setup(&H, "upload") != 0)
		return -1;
	fault_install(H.root);
	snprintf(images_dir, sizeof(images_dir), "%s/images", H.dbdir);
	start();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_kill_all(&H);
	fault_clear();
	alb_state_file_set_hook(NULL, NULL);
	h_teardown(&H);
	return 0;
}

/* ---- the cases ------------------------------------------------------------------------ */

static void test_whole_and_restored(void **state)
{
	(void)state;
	char out[512];
	uint8_t *img = image(IMAGE_BYTES, 1);
	long long before = journal_bytes();
	assert_string_equal(upload(":s", img, IMAGE_BYTES, out, sizeof(out)),
			    "created unikernel");
	expect_running(":s", img, IMAGE_BYTES);
	/* the record names the file: it holds no image */
	assert_true(journal_bytes() - before < 4096);
	assert_int_equal(image_files(), 1);
	assert_int_equal(leftovers(), 0);
	/* the tender's copy is the image */
	char copy[H_PATH + 16];
	snprintf(copy, sizeof(copy), "%s/:s.img", H.tmpdir);
	size_t n = 0;
	char *t = h_read_file(copy, &n);
	assert_non_null(t);
	assert_int_equal(n, IMAGE_BYTES);
	assert_memory_equal(t, img, IMAGE_BYTES);
	free(t);

	/* a crash: the journal's record and the file bring it back */
	crash();
	start();
	expect_running(":s", img, IMAGE_BYTES);
	assert_int_equal(image_files(), 1);

	/* a force-create of another streamed image replaces it; the first
	 * file goes once nothing names it (the start's compaction folded the
	 * old record into the state file) */
	uint8_t *img2 = image(IMAGE_BYTES / 2, 2);
	assert_string_equal(upload(":s", img2, IMAGE_BYTES / 2, out, sizeof(out)),
			    "created unikernel");
	expect_running(":s", img2, IMAGE_BYTES / 2);

	/* a clean shutdown: the state file holds the image, as albatrossd
	 * reads it; the next start removes the file */
	int st = h_stop(&H, SIGTERM);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct alb_state *s = NULL;
	assert_int_equal(alb_state_read_file(H.dbdir, &s, NULL), 0);
	assert_int_equal(s->n_unikernels, 1);
	assert_int_equal(s->unikernels[0].config.image.len, IMAGE_BYTES / 2);
	assert_memory_equal(s->unikernels[0].config.image.ptr, img2,
			    IMAGE_BYTES / 2);
	alb_state_free(s);
	start();
	expect_running(":s", img2, IMAGE_BYTES / 2);
	assert_int_equal(image_files(), 0);
	assert_int_equal(leftovers(), 0);
	free(img);
	free(img2);
}

/* A compressed image streams as it is stored: the file holds the zlib
 * bytes (its record their digest), the unikernel runs the inflated image
 * (info's digest, get at level 0), and a restart restores it. */
static void test_compressed(void **state)
{
	(void)state;
	char out[512];
	uint8_t *img = image(IMAGE_BYTES, 9);
	struct alb_buf z = {0};
	assert_int_equal(alb_zlib_deflate(img, IMAGE_BYTES, 6, &z, NULL), 0);
	assert_string_equal(upload_as(":z", true, z.data, z.len, out, sizeof(out)),
			    "created unikernel");
	uint8_t want[ALB_SHA256_LEN], got[ALB_SHA256_LEN];
	digest(img, IMAGE_BYTES, want);
	for (int i = 0; i < 2; i++) {
		bool found = false;
		for (int k = 0; k < 250 && !(found = info_of(":z", got)); k++)
			h_sleep_ms(20);
		assert_true(found);
		assert_memory_equal(got, want, ALB_SHA256_LEN);
		/* get at level 0: the image, inflated */
		expect_get(":z", img, IMAGE_BYTES);
		if (i == 0) {
			crash();
			start();
		}
	}
	assert_int_equal(leftovers(), 0);
	alb_buf_free(&z);
	free(img);
}

static void test_limit(void **state)
{
	(void)state;
	char out[512];
	uint8_t *img = image(ALB_IMAGE_MAX + 1u, 3);
	assert_string_equal(upload(":big", img, ALB_IMAGE_MAX + 1u, out, sizeof(out)),
			    "stream exceeds size");
	assert_int_equal(image_files(), 0);
	assert_int_equal(leftovers(), 0);
	assert_string_equal(upload(":big", img, ALB_IMAGE_MAX, out, sizeof(out)),
			    "created unikernel");
	uint8_t want[ALB_SHA256_LEN], got[ALB_SHA256_LEN];
	digest(img, ALB_IMAGE_MAX, want);
	assert_true(info_of(":big", got));
	assert_memory_equal(got, want, ALB_SHA256_LEN);
	assert_int_equal(image_files(), 1);
	free(img);
}

static void test_refused_leave_nothing(void **state)
{
	(void)state;
	char out[512];
	uint8_t d[ALB_SHA256_LEN];
	/* an empty stream */
	assert_string_equal(upload(":e", NULL, 0, out, sizeof(out)), "empty image");
	/* a client gone in the middle: once albd noticed, nothing left */
	uint8_t *img = image(IMAGE_BYTES, 4);
	int s = upload_partial(":p", img, IMAGE_BYTES / 2);
	close(s);
	for (int i = 0; i < 250 && (image_files() > 0 || leftovers() > 0); i++)
		h_sleep_ms(20);
	assert_int_equal(image_files(), 0);
	assert_int_equal(leftovers(), 0);
	/* an image that is no Solo5 image: refused by the create, whose
	 * record (appended beside the checks) named the file, which goes
	 * with the compaction that folds the record in */
	uint8_t junk[70000];
	memset(junk, 0x5a, sizeof(junk));
	upload(":j", junk, sizeof(junk), out, sizeof(out));
	assert_true(strncmp(out, "created", 7) != 0);
	assert_int_equal(leftovers(), 0);
	kill(H.pid, SIGHUP);
	for (int i = 0; i < 250 && image_files() > 0; i++)
		h_sleep_ms(20);
	assert_int_equal(image_files(), 0);
	assert_false(info_of(":e", d));
	assert_false(info_of(":j", d));
	assert_false(info_of(":p", d));
	/* a create with an empty image and no stream after it (as
	 * albatross-client sends an empty file): refused once nothing came
	 * for the command timeout, not waited for for ever */
	s = upload_partial(":n", img, 0);
	struct alb_buf in = {0};
	int64_t t0 = h_now_us();
	assert_int_equal(alb_frame_read_fd(s, 0, &in, NULL), 0);
	struct alb_msg *m = NULL;
	assert_int_equal(alb_msg_decode(in.data, in.len, 0, &m, NULL), 0);
	assert_string_equal(h_text(m), "streamed image: nothing arrived for "
				       "1000 ms");
	assert_true(h_now_us() - t0 >= 900 * 1000);
	alb_msg_free(m);
	alb_buf_free(&in);
	close(s);
	/* albd serves on */
	assert_string_equal(upload(":ok", img, IMAGE_BYTES, out, sizeof(out)),
			    "created unikernel");
	expect_running(":ok", img, IMAGE_BYTES);
	free(img);
}

/* images/ on a tmpfs smaller than the image: the write fails, the client
 * hears why, both files go, and albd serves on. */
static void test_disk_full(void **state)
{
	(void)state;
	char out[512];
	/* albd holds the directory it found at its start */
	h_stop(&H, SIGTERM);
	assert_int_equal(mount("tmpfs", images_dir, "tmpfs", 0,
			       "size=4m,mode=0700"), 0);
	start();
	uint8_t *img = image(IMAGE_BYTES, 8);
	upload(":full", img, IMAGE_BYTES, out, sizeof(out));
	if (strstr(out, "No space left on device") == NULL)
		fail_msg("a full disk answered \"%s\"", out);
	assert_int_equal(image_files(), 0);
	assert_int_equal(leftovers(), 0);
	uint8_t d[ALB_SHA256_LEN];
	assert_false(info_of(":full", d));
	/* what fits goes through */
	assert_string_equal(upload(":fits", img, 1024 * 1024, out, sizeof(out)),
			    "created unikernel");
	expect_running(":fits", img, 1024 * 1024);
	/* a clean stop puts :fits into the state file: its file may go */
	int st = h_stop(&H, SIGTERM);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	umount2(images_dir, MNT_DETACH);

	/* the tmpdir full: the tender's copy, made beside the stream, fails */
	assert_int_equal(mount("tmpfs", H.tmpdir, "tmpfs", 0,
			       "size=4m,mode=0755"), 0);
	start();
	upload(":full", img, IMAGE_BYTES, out, sizeof(out));
	if (strstr(out, "image copy in tmpdir: write: No space left") == NULL)
		fail_msg("a full tmpdir answered \"%s\"", out);
	assert_int_equal(image_files(), 0);
	assert_int_equal(leftovers(), 0);
	assert_false(info_of(":full", d));
	h_kill_all(&H);
	umount2(H.tmpdir, MNT_DETACH);
	free(img);
}

/* The path of an image file that is not other (NULL: any). */
static void a_file(char *out, size_t size, const char *other)
{
	DIR *d = opendir(images_dir);
	assert_non_null(d);
	struct dirent *e;
	out[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		char p[H_PATH * 2];
		snprintf(p, sizeof(p), "%s/%s", images_dir, e->d_name);
		if (e->d_name[0] != '.' && (other == NULL || strcmp(p, other) != 0))
			snprintf(out, size, "%s", p);
	}
	closedir(d);
	assert_true(out[0] != '\0');
}

static void start_fails(void)
{
	struct alb_vmmd_config cfg;
	alb_vmmd_config_init(&cfg);
	assert_int_not_equal(h_start_core(&H, &cfg), 0);
	h_stop(&H, SIGKILL);
}

static void test_damaged_file(void **state)
{
	(void)state;
	char out[512], path[H_PATH * 2], aside[H_PATH * 2 + 8], path2[H_PATH * 2];
	uint8_t *img = image(IMAGE_BYTES, 5);
	assert_string_equal(upload(":d", img, IMAGE_BYTES, out, sizeof(out)),
			    "created unikernel");
	crash();
	/* the file a record names is gone: the start stops */
	a_file(path, sizeof(path), NULL);
	snprintf(aside, sizeof(aside), "%s.aside", H.root);
	assert_int_equal(rename(path, aside), 0);
	start_fails();
	assert_true(journal_bytes() > 0);
	assert_int_equal(rename(aside, path), 0);
	start();
	expect_running(":d", img, IMAGE_BYTES);

	/* one byte of it changed: the start stops, the files stay */
	uint8_t *img2 = image(IMAGE_BYTES, 7);
	assert_string_equal(upload(":d2", img2, IMAGE_BYTES, out, sizeof(out)),
			    "created unikernel");
	crash();
	a_file(path2, sizeof(path2), path);
	int fd = open(path2, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 100000), 1);
	close(fd);
	start_fails();
	assert_int_equal(image_files(), 2);
	assert_true(journal_bytes() > 0);
	/* mended, both come back */
	fd = open(path2, O_WRONLY | O_CLOEXEC);
	assert_int_equal(pwrite(fd, img2 + 100000, 1, 100000), 1);
	close(fd);
	start();
	expect_running(":d", img, IMAGE_BYTES);
	expect_running(":d2", img2, IMAGE_BYTES);
	free(img);
	free(img2);
}

/* The image file failing to become durable (injected: an fdatasync
 * mid-stream or at the end, the rename, the directory's fsync) refuses the
 * create and leaves nothing; albd ending at each of those instants (as
 * under kill -9) leaves, after the restart, no unikernel and no file; and
 * then the same upload goes through. */
static void test_sync_faults(void **state)
{
	(void)state;
	const int steps[] = {ALB_STATE_STEP_IMAGE_SYNCED, ALB_STATE_STEP_IMAGE_RENAMED,
			     ALB_STATE_STEP_IMAGE_DIR_SYNCED};
	uint8_t *img = image(IMAGE_BYTES, 9);
	char out[512];
	uint8_t d[ALB_SHA256_LEN];
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		fault_set("fail %d", steps[k]);
		upload(":f", img, IMAGE_BYTES, out, sizeof(out));
		if (strstr(out, "injected fault") == NULL)
			fail_msg("a failure at step %d answered \"%s\"", steps[k], out);
		assert_int_equal(image_files(), 0);
		assert_int_equal(leftovers(), 0);
		assert_false(info_of(":f", d));

		fault_set("crash %d", steps[k]);
		pid_t p = fork();
		assert_true(p >= 0);
		if (p == 0) {
			upload(":f", img, IMAGE_BYTES, out, sizeof(out));
			_exit(0);
		}
		int ws = h_stop(&H, 0);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 9);
		waitpid(p, NULL, 0);
		fault_clear();
		start();
		assert_false(info_of(":f", d));
		assert_int_equal(image_files(), 0);
		assert_int_equal(leftovers(), 0);
	}
	assert_string_equal(upload(":f", img, IMAGE_BYTES, out, sizeof(out)),
			    "created unikernel");
	expect_running(":f", img, IMAGE_BYTES);
	free(img);
}

static void test_kill9_uploads(void **state)
{
	(void)state;
	uint8_t *img = image(IMAGE_BYTES, 6);
	uint32_t seed = 12345;
	int made = 0;
	for (int run = 0; run < KILL_RUNS; run++) {
		pid_t p = fork();
		assert_true(p >= 0);
		if (p == 0) {
			char out[512];
			upload(":k", img, IMAGE_BYTES, out, sizeof(out));
			_exit(0);
		}
		seed = seed * 1103515245u + 12345u;
		h_sleep_ms((int)(seed >> 16) % 150);
		crash();
		waitpid(p, NULL, 0);
		start();
		uint8_t want[ALB_SHA256_LEN], got[ALB_SHA256_LEN];
		digest(img, IMAGE_BYTES, want);
		/* the restore runs once albd serves */
		bool there = info_of(":k", got);
		for (int i = 0; i < 250 && !there && image_files() > 0; i++) {
			h_sleep_ms(20);
			there = info_of(":k", got);
		}
		if (there) {
			assert_memory_equal(got, want, ALB_SHA256_LEN);
			expect_get(":k", img, IMAGE_BYTES);
			made++;
		}
		assert_int_equal(image_files(), there ? 1 : 0);
		assert_int_equal(leftovers(), 0);
		struct alb_command c = {.kind = ALB_CMD_UNIKERNEL_DESTROY};
		alb_msg_free(h_call(&H, ":k", &c));
	}
	printf("kill -9 during uploads: %d of %d runs restored the unikernel, "
	       "the others had nothing left\n", made, KILL_RUNS);
	free(img);
}

static int tests(void)
{
	const struct CMUnitTest list[] = {
		cmocka_unit_test_setup_teardown(test_whole_and_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_leave_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_uploads, setup, teardown),
	};
	return cmocka_run_group_tests(list, NULL, NULL);
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	return run_in_netns(tests);
}
