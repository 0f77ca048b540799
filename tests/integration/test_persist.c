/* Integration tests: albd's durability (issues 9.1 and 14; doc/journal.md)
 * with the core in a child process, the fake tender, in a private network
 * and mount namespace:
 *   - a change whose journal record cannot be made durable (a fault
 *     injected through the state file's test hook) is refused and undone:
 *     create, destroy, force-create, policy add and remove;
 *   - dbdir on a small tmpfs that fills up: creates and destroys reply
 *     Failure, the state after a restart is what was acknowledged, the old
 *     state file stays intact;
 *   - a torn last record is ignored, a corrupt one stops the start and
 *     keeps both files;
 *   - creates keep their latency while a (slowed) compaction runs;
 *   - a crash at each step of a compaction loses nothing;
 *   - after a clean shutdown the state file is byte for byte what the
 *     whole-file writer (alb_state_encode) writes for the same unikernels,
 *     and it restores;
 *   - albd: SIGHUP compacts, --compact-state compacts a dbdir offline;
 *   - images of at least VMMD_IMAGE_MAP_MIN bytes are mapped from their
 *     record once durable, or from the state file at a start, and read
 *     intact after the compactions that remove those files' names.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>

#include <cmocka.h>

#include "albd_harness.h"
#include "fault_file.h"
#include "host_helpers.h"
#include "io/background.h"
#include "io/state_file.h"
#include "vmmd_internal.h"

#define BR "pbr0"
/* Bytes of the images of the tmpfs test: a record does not fit the rest
 * of a page. */
#define BIG_IMAGE (64 * 1024)

static struct harness H;

/* ---- commands -------------------------------------------------------------- */

struct ucmd {
	struct alb_command cmd;
	uint8_t *img;
	struct alb_str argv[1];
	struct alb_net_dev net;
};

static void uk_make(struct ucmd *u, bool nic, uint32_t salt, size_t pad_to)
{
	memset(u, 0, sizeof(*u));
	const char *names[1] = {"service"};
	unsigned types[1] = {H_NET};
	size_t len = 0;
	u->img = h_image(1, names, types, nic ? 1 : 0, salt, &len);
	assert_non_null(u->img);
	if (pad_to > len) {
		u->img = realloc(u->img, pad_to);
		assert_non_null(u->img);
		memset(u->img + len, 0, pad_to - len);
		len = pad_to;
	}
	u->argv[0] = (struct alb_str){"--sleep-ms=600000", 17};
	u->net = (struct alb_net_dev){.netif = {"service", 7},
				      .bridge = {BR, strlen(BR)}};
	u->cmd.kind = ALB_CMD_UNIKERNEL_CREATE;
	struct alb_unikernel_config *c = &u->cmd.u.create;
	c->typ = ALB_TYP_SOLO5;
	c->image = (struct alb_bytes){u->img, len};
	c->add_name = true;
	c->memory = 16;
	c->numcpus = 1;
	c->has_argv = true;
	c->n_argv = 1;
	c->argv = u->argv;
	if (nic) {
		c->n_bridges = 1;
		c->bridges = &u->net;
	}
}

static void uk_free(struct ucmd *u)
{
	free(u->img);
}

static struct alb_command simple(enum alb_cmd_kind k)
{
	struct alb_command c = {.kind = k};
	return c;
}

/* The reply's text starts with prefix. */
static bool call_starts(const char *name, const struct alb_command *c,
			const char *prefix)
{
	struct alb_msg *m = h_call(&H, name, c);
	bool ok = strncmp(h_text(m), prefix, strlen(prefix)) == 0;
	if (!ok)
		fprintf(stderr, "%s: expected \"%s...\", got \"%s\"\n", name,
			prefix, h_text(m));
	alb_msg_free(m);
	return ok;
}

static void destroy(const char *name, const char *expect)
{
	struct alb_command c = simple(ALB_CMD_UNIKERNEL_DESTROY);
	assert_true(call_starts(name, &c, expect));
}

/* Names of the running unikernels (info of all), sorted, comma-joined. */
static void running(char *out, size_t size)
{
	struct alb_command c = simple(ALB_CMD_UNIKERNEL_INFO);
	struct alb_msg *m = h_call(&H, ":", &c);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	size_t n = m->u.success.u.infos.n;
	const char *names[64];
	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++)
		names[i] = m->u.success.u.infos.v[i].name;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *x = names[j];
			names[j] = names[j - 1];
			names[j - 1] = x;
		}
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s",
			 i ? "," : "", names[i]);
	alb_msg_free(m);
}

static void expect_running(const char *want)
{
	char got[1024];
	for (int i = 0; i < 200; i++) {
		running(got, sizeof(got));
		if (strcmp(got, want) == 0)
			break;
		h_sleep_ms(20);
	}
	assert_string_equal(got, want);
}

/* The pid of the only tender running. */
static pid_t only_tender(void)
{
	pid_t pid = 0;
	assert_int_equal(h_tenders(&H, &pid, 1), 1);
	return pid;
}

/* Names in a state, comma-joined, in the file's order. */
static void state_names(const struct alb_state *st, char *out, size_t size)
{
	out[0] = '\0';
	for (size_t i = 0; i < st->n_unikernels; i++)
		snprintf(out + strlen(out), size - strlen(out), "%s%s",
			 i ? "," : "", st->unikernels[i].name);
}

static void expect_state_file(const char *want)
{
	struct alb_state *st = NULL;
	assert_int_equal(alb_state_read_file(H.dbdir, &st, NULL), 0);
	char got[1024];
	state_names(st, got, sizeof(got));
	alb_state_free(st);
	assert_string_equal(got, want);
}

/* The journal's segments: the files journal.N of dbdir (beside them are
 * the state file, its copies, the lock file and the tender); with filled,
 * only those that hold a record (a running albd makes the next segment
 * ahead, empty until the next change). */
static int segments(bool filled)
{
	DIR *d = opendir(H.dbdir);
	if (d == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat sb;
		if (strncmp(e->d_name, "journal.", 8) == 0 &&
		    (!filled || (fstatat(dirfd(d), e->d_name, &sb, 0) == 0 &&
				 sb.st_size > 0)))
			n++;
	}
	closedir(d);
	return n;
}

static int count_segments(void)
{
	return segments(false);
}

static int filled_segments(void)
{
	return segments(true);
}

static struct alb_vmmd_config core_cfg(void)
{
	struct alb_vmmd_config cfg;
	alb_vmmd_config_init(&cfg);
	cfg.kill_timeout_ms = 1000;
	return cfg;
}

static void start(void)
{
	struct alb_vmmd_config cfg = core_cfg();
	assert_int_equal(h_start_core(&H, &cfg), 0);
}

static void stop_clean(void)
{
	int st = h_stop(&H, SIGTERM);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- fixtures --------------------------------------------------------------- */

static int setup(void **state)
{
	(void)state;
	if (h_setup(&H, "persist") != 0)
		return -1;
	fault_install(H.root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	h_kill_all(&H);
	char images[H_PATH + 16];
	snprintf(images, sizeof(images), "%s/images", H.dbdir);
	umount2(images, MNT_DETACH); /* test_unpinnable's */
	umount2(H.dbdir, MNT_DETACH);
	alb_state_file_set_hook(NULL, NULL);
	h_teardown(&H);
	return 0;
}

/* ---- refused and undone -------------------------------------------------------- */

static struct alb_command policy_cmd(int64_t uks, int64_t mem)
{
	static int64_t cpus[1] = {0};
	static struct alb_str brs[1] = {{BR, sizeof(BR) - 1}};
	struct alb_command c = {.kind = ALB_CMD_POLICY_ADD};
	c.u.policy = (struct alb_policy){.unikernels = uks, .n_cpuids = 1,
					 .cpuids = cpus, .memory = mem,
					 .n_bridges = 1, .bridges = brs};
	return c;
}

/* The memory of the policy at path, or -1 when there is none. */
static int64_t policy_memory(const char *path)
{
	struct alb_command c = simple(ALB_CMD_POLICY_INFO);
	struct alb_msg *m = h_call(&H, path, &c);
	int64_t mem = -1;
	if (m != NULL && m->kind == ALB_PAYLOAD_SUCCESS)
		for (size_t i = 0; i < m->u.success.u.policies.n; i++)
			if (strcmp(m->u.success.u.policies.v[i].name, ":") == 0)
				mem = m->u.success.u.policies.v[i].policy.memory;
	alb_msg_free(m);
	return mem;
}

static void test_refused_undone(void **state)
{
	(void)state;
	start();
	struct ucmd a, b, a2;
	uk_make(&a, true, 1, 0);
	uk_make(&b, true, 2, 0);
	uk_make(&a2, false, 3, 0);
	a2.cmd.kind = ALB_CMD_UNIKERNEL_FORCE_CREATE;
	assert_true(call_starts(":a", &a.cmd, "created unikernel"));
	struct alb_command p = policy_cmd(10, 1024);
	assert_true(call_starts("p:", &p, "added policy"));
	pid_t pa = only_tender();
	assert_int_equal(h_count_taps(), 1);

	/* every append fails once it is written, before it is durable */
	fault_set("fail %d", ALB_STATE_STEP_JOURNAL_SYNCED);
	/* a create: refused with the reason, its tender stopped, its tap
	 * removed, its name free */
	assert_true(call_starts(":b", &b.cmd, "could not create unikernel, its "
					      "state was not written: "));
	struct alb_msg *m = h_call(&H, ":b", &b.cmd);
	assert_non_null(strstr(h_text(m), "injected fault"));
	alb_msg_free(m);
	expect_running(":a");
	assert_int_equal(h_tenders(&H, NULL, 0), 1);
	assert_int_equal(h_count_taps(), 1);
	/* a destroy: refused before anything is stopped */
	destroy(":a", "could not destroy unikernel, its state was not written");
	/* a force-create over it: refused, the running one kept */
	assert_true(call_starts(":a", &a2.cmd, "could not replace unikernel"));
	assert_int_equal(only_tender(), pa);
	/* policies: the old one stays in force */
	struct alb_command p2 = policy_cmd(10, 2048);
	assert_true(call_starts("p:", &p2, "could not add policy, the state "
					   "was not written"));
	assert_int_equal(policy_memory("p:"), 1024);
	struct alb_command rm = simple(ALB_CMD_POLICY_REMOVE);
	assert_true(call_starts("p:", &rm, "could not remove policy"));
	assert_int_equal(policy_memory("p:"), 1024);
	struct alb_command q = policy_cmd(1, 64);
	assert_true(call_starts("q:", &q, "could not add policy"));
	assert_int_equal(policy_memory("q:"), -1);

	/* the disk is back: everything works, on a new segment */
	fault_clear();
	assert_true(call_starts(":b", &b.cmd, "created unikernel"));
	destroy(":a", "destroyed unikernel");
	expect_running(":b");
	assert_true(count_segments() >= 2);
	/* what was acknowledged is what the next start restores */
	stop_clean();
	expect_state_file(":b");
	assert_int_equal(count_segments(), 0);
	start();
	expect_running(":b");
	assert_int_equal(policy_memory("p:"), 1024);
	assert_int_equal(policy_memory("q:"), -1);
	destroy(":b", "destroyed unikernel");
	stop_clean();
	uk_free(&a);
	uk_free(&b);
	uk_free(&a2);
}

/* ---- a full filesystem ----------------------------------------------------------- */

/* Fills the filesystem of dbdir (a file of zeros until ENOSPC). */
static void fill(void)
{
	char path[H_PATH + 16];
	snprintf(path, sizeof(path), "%s/filler", H.dbdir);
	assert_int_equal(h_fill_fs(path), 0);
}

static void unfill(void)
{
	char path[H_PATH + 16];
	snprintf(path, sizeof(path), "%s/filler", H.dbdir);
	assert_int_equal(unlink(path), 0);
}

static void test_full_tmpfs(void **state)
{
	(void)state;
	/* a tmpfs of 2 MiB as dbdir, the fake tender linked in again */
	assert_int_equal(mount("tmpfs", H.dbdir, "tmpfs", 0, "size=2m,mode=0755"), 0);
	assert_int_equal(symlink(getenv("ALB_FAKE_TENDER"), H.tender), 0);
	start();
	struct ucmd a, b, c;
	uk_make(&a, false, 1, BIG_IMAGE);
	uk_make(&b, true, 2, BIG_IMAGE);
	uk_make(&c, false, 3, BIG_IMAGE);
	assert_true(call_starts(":a", &a.cmd, "created unikernel"));
	assert_true(call_starts(":c", &c.cmd, "created unikernel"));
	/* a compaction: the state file that must stay intact */
	kill(H.pid, SIGHUP);
	char sp[H_PATH + 16];
	snprintf(sp, sizeof(sp), "%s/state", H.dbdir);
	for (int i = 0; i < 250 && access(sp, F_OK) != 0; i++)
		h_sleep_ms(20);
	h_sleep_ms(100);
	size_t old_len = 0;
	char *old = h_read_file(sp, &old_len);
	assert_non_null(old);

	fill();
	assert_true(call_starts(":b", &b.cmd, "could not create unikernel, its "
					      "state was not written: "));
	struct alb_msg *m = h_call(&H, ":b", &b.cmd);
	assert_non_null(strstr(h_text(m), "No space left on device"));
	alb_msg_free(m);
	assert_int_equal(h_count_taps(), 0);
	destroy(":a", "could not destroy unikernel");
	expect_running(":a,:c");
	/* a compaction cannot write either: the old file stays intact */
	kill(H.pid, SIGHUP);
	h_sleep_ms(300);
	size_t now_len = 0;
	char *now = h_read_file(sp, &now_len);
	assert_non_null(now);
	assert_int_equal(now_len, old_len);
	assert_memory_equal(now, old, old_len);
	free(now);
	unfill();
	destroy(":c", "destroyed unikernel");
	/* full again: a large record fails first (a small one could still
	 * fit the segment's last page), then a small one in the new segment
	 * that a failed append leads to */
	fill();
	assert_true(call_starts(":b", &b.cmd, "could not create unikernel"));
	destroy(":a", "could not destroy unikernel");

	/* a crash now: the next start restores what was acknowledged, from
	 * the journal on the full filesystem */
	h_stop(&H, SIGKILL);
	pid_t pids[8];
	int n = h_tenders(&H, pids, 8);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < 200 && h_tenders(&H, NULL, 0) > 0; i++)
		h_sleep_ms(10);
	unfill();
	start();
	expect_running(":a");
	/* and after a clean shutdown the state file says the same */
	stop_clean();
	expect_state_file(":a");
	now = h_read_file(sp, &now_len);
	assert_non_null(now);
	assert_true(now_len != old_len || memcmp(now, old, old_len) != 0);
	free(now);
	free(old);
	uk_free(&a);
	uk_free(&b);
	uk_free(&c);
}

/* ---- torn and corrupt records ----------------------------------------------------- */

/* The newest journal segment's path. */
static void last_segment(char *out, size_t size)
{
	unsigned long best = 0;
	DIR *d = opendir(H.dbdir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		unsigned long id;
		if (sscanf(e->d_name, "journal.%lu", &id) == 1 && id > best)
			best = id;
	}
	closedir(d);
	assert_true(best > 0);
	snprintf(out, size, "%s/journal.%lu", H.dbdir, best);
}

static void test_torn_corrupt(void **state)
{
	(void)state;
	start();
	struct ucmd a, b, c, d;
	uk_make(&a, false, 1, 0);
	uk_make(&b, false, 2, 0);
	uk_make(&c, false, 3, 0);
	uk_make(&d, false, 4, 0);
	assert_true(call_starts(":a", &a.cmd, "created unikernel"));
	assert_true(call_starts(":b", &b.cmd, "created unikernel"));
	h_stop(&H, SIGKILL);
	/* an append cut short by the crash: the head of a record */
	char seg[H_PATH + 32];
	last_segment(seg, sizeof(seg));
	int fd = open(seg, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\x30\x82\x01\x00\xa0\x82", 6), 6);
	close(fd);
	start();
	expect_running(":a,:b");
	/* the start folded the journal into the state file */
	for (int i = 0; i < 250 && filled_segments() > 0; i++)
		h_sleep_ms(20);
	assert_int_equal(filled_segments(), 0);

	assert_true(call_starts(":c", &c.cmd, "created unikernel"));
	assert_true(call_starts(":d", &d.cmd, "created unikernel"));
	h_stop(&H, SIGKILL);
	/* damage in the first record, with the second after it */
	last_segment(seg, sizeof(seg));
	size_t len = 0;
	char *bytes = h_read_file(seg, &len);
	assert_non_null(bytes);
	bytes[len / 4] ^= 0x01;
	assert_int_equal(h_write_file(seg, bytes, len), 0);
	char sp[H_PATH + 16];
	snprintf(sp, sizeof(sp), "%s/state", H.dbdir);
	size_t slen;
	char *sbytes = h_read_file(sp, &slen);
	assert_non_null(sbytes);
	struct alb_vmmd_config cfg = core_cfg();
	/* the core refuses to start (it exits 1: no socket) ... */
	assert_int_equal(h_start_core(&H, &cfg), -1);
	assert_true(H.reaped);
	assert_true(WIFEXITED(H.status) && WEXITSTATUS(H.status) == 1);
	H.pid = 0;
	/* ... and touches neither file */
	size_t l2;
	char *b2 = h_read_file(seg, &l2);
	assert_int_equal(l2, len);
	assert_memory_equal(b2, bytes, len);
	free(b2);
	b2 = h_read_file(sp, &l2);
	assert_int_equal(l2, slen);
	assert_memory_equal(b2, sbytes, slen);
	free(b2);
	/* the operator repairs it: the start goes on */
	bytes[len / 4] ^= 0x01;
	assert_int_equal(h_write_file(seg, bytes, len), 0);
	start();
	expect_running(":a,:b,:c,:d");
	free(bytes);
	free(sbytes);
	const char *names[4] = {":a", ":b", ":c", ":d"};
	for (int i = 0; i < 4; i++)
		destroy(names[i], "destroyed unikernel");
	stop_clean();
	uk_free(&a);
	uk_free(&b);
	uk_free(&c);
	uk_free(&d);
}

/* ---- compaction ---------------------------------------------------------------------- */

/* Creates answer while a compaction (held for 3 s in the threadpool after
 * writing its temporary file) runs. */
static void test_compaction_under_load(void **state)
{
	(void)state;
	start();
	struct ucmd u[12];
	char name[16];
	int64_t before = 0;
	for (int i = 0; i < 4; i++) {
		uk_make(&u[i], false, (uint32_t)i, 0);
		snprintf(name, sizeof(name), ":u%d", i);
		int64_t c0 = h_now_us();
		assert_true(call_starts(name, &u[i].cmd, "created unikernel"));
		if (h_now_us() - c0 > before)
			before = h_now_us() - c0;
	}
	fault_set("sleep %d 3000", ALB_STATE_STEP_TMP_WRITTEN);
	kill(H.pid, SIGHUP);
	for (int i = 0; i < 250 && !fault_reached(); i++)
		h_sleep_ms(20);
	assert_true(fault_reached());
	int64_t t0 = h_now_us(), worst = 0;
	for (int i = 4; i < 12; i++) {
		uk_make(&u[i], false, (uint32_t)i, 0);
		snprintf(name, sizeof(name), ":u%d", i);
		int64_t c0 = h_now_us();
		assert_true(call_starts(name, &u[i].cmd, "created unikernel"));
		if (h_now_us() - c0 > worst)
			worst = h_now_us() - c0;
	}
	/* all eight while the compaction still sleeps */
	assert_true(h_now_us() - t0 < 2500000);
	print_message("creates: slowest %.1f ms before, %.1f ms during a "
		      "compaction\n", (double)before / 1000.0,
		      (double)worst / 1000.0);
	fault_clear();
	stop_clean();
	expect_state_file(":u0,:u1,:u10,:u11,:u2,:u3,:u4,:u5,:u6,:u7,:u8,:u9");
	for (int i = 0; i < 12; i++)
		uk_free(&u[i]);
}

/* A crash at every step of a compaction: the next start has every
 * acknowledged unikernel, and so has the state file after its own. */
static void test_compaction_crash(void **state)
{
	(void)state;
	start();
	struct ucmd u[10];
	char name[16], want[256] = "";
	uk_make(&u[0], false, 0, 0);
	assert_true(call_starts(":u0", &u[0].cmd, "created unikernel"));
	snprintf(want, sizeof(want), ":u0");
	/* a state file first, so that its backup steps happen */
	kill(H.pid, SIGHUP);
	struct alb_state *st = NULL;
	for (int i = 0; i < 250 && alb_state_read_file(H.dbdir, &st, NULL) != 0; i++)
		h_sleep_ms(20);
	alb_state_free(st);
	const int steps[] = {
		ALB_STATE_STEP_TMP_CREATED,  ALB_STATE_STEP_TMP_WRITTEN,
		ALB_STATE_STEP_TMP_SYNCED,   ALB_STATE_STEP_BAK_LINKED,
		ALB_STATE_STEP_BAK_REPLACED, ALB_STATE_STEP_RENAMED,
		ALB_STATE_STEP_DIR_SYNCED,   ALB_STATE_STEP_JOURNAL_REMOVED,
	};
	int tried = 0;
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		int i = (int)k + 1;
		uk_make(&u[i], false, (uint32_t)i, 0);
		snprintf(name, sizeof(name), ":u%d", i);
		assert_true(call_starts(name, &u[i].cmd, "created unikernel"));
		snprintf(want + strlen(want), sizeof(want) - strlen(want), ",%s",
			 name);
		fault_set("crash %d", steps[k]);
		kill(H.pid, SIGHUP);
		int ws = h_stop(&H, 0);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 9);
		tried++;
		fault_clear();
		start();
		expect_running(want);
	}
	print_message("crashes at %d compaction steps: nothing lost\n", tried);
	stop_clean();
	expect_state_file(want);
	assert_int_equal(count_segments(), 0);
	for (int i = 0; i < 9; i++)
		uk_free(&u[i]);
}

/* ---- interoperability ------------------------------------------------------------------- */

static void test_interop_bytes(void **state)
{
	(void)state;
	start();
	struct ucmd u[3];
	const char *names[3] = {":web", "tenant:db", ":zeta"};
	static int64_t cpus[1] = {0};
	for (int i = 0; i < 3; i++) {
		uk_make(&u[i], i == 1, (uint32_t)(40 + i), 0);
		u[i].cmd.u.create.has_startup = i == 2;
		u[i].cmd.u.create.startup = 7;
		u[i].cmd.u.create.n_cpuids = 1;
		u[i].cmd.u.create.cpuids = cpus;
	}
	struct alb_command p = policy_cmd(10, 1024);
	assert_true(call_starts("tenant:", &p, "added policy"));
	for (int i = 0; i < 3; i++)
		assert_true(call_starts(names[i], &u[i].cmd, "created unikernel"));
	/* the whole-file writer's bytes for the same unikernels and the
	 * policies in force (the host's root policy included) */
	struct alb_command pi = simple(ALB_CMD_POLICY_INFO);
	struct alb_msg *pm = h_call(&H, ":", &pi);
	assert_non_null(pm);
	assert_int_equal(pm->kind, ALB_PAYLOAD_SUCCESS);
	struct alb_state_unikernel su[3];
	for (int i = 0; i < 3; i++)
		su[i] = (struct alb_state_unikernel){names[i], u[i].cmd.u.create};
	struct alb_state want = {
		.format = ALB_STATE_FORMAT_CURRENT, .n_unikernels = 3,
		.unikernels = su, .n_policies = pm->u.success.u.policies.n,
		.policies = pm->u.success.u.policies.v,
	};
	struct alb_buf wb = {0};
	assert_int_equal(alb_state_encode(&want, &wb, NULL), 0);
	alb_msg_free(pm);
	stop_clean();
	char sp[H_PATH + 16];
	snprintf(sp, sizeof(sp), "%s/state", H.dbdir);
	size_t len = 0;
	uint8_t *got = (uint8_t *)h_read_file(sp, &len);
	assert_non_null(got);
	assert_int_equal(len, wb.len);
	assert_memory_equal(got, wb.data, len);
	/* it restores under the vectors' reader and under albd */
	struct alb_state *st = NULL;
	assert_int_equal(alb_state_decode(got, len, 0, &st, NULL), 0);
	assert_int_equal(st->n_unikernels, 3);
	alb_state_free(st);
	free(got);
	alb_buf_free(&wb);
	start();
	expect_running(":web,:zeta,tenant:db");
	for (int i = 0; i < 3; i++)
		destroy(names[i], "destroyed unikernel");
	stop_clean();
	for (int i = 0; i < 3; i++)
		uk_free(&u[i]);
}

/* ---- the albd binary ------------------------------------------------------------------- */

static int run_albd(const char *arg1, const char *arg2)
{
	const char *build = getenv("ALB_BUILD_ROOT");
	char exe[H_PATH];
	snprintf(exe, sizeof(exe), "%s/cli/albd", build ? build : ".");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(exe, exe, arg1, arg2, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The next segment is made ahead; when that fails, albd serves on: the
 * next append makes the segment itself, and a change that cannot be made
 * durable is refused. */
static void test_segment_ahead_fails(void **state)
{
	(void)state;
	fault_set("fail %d", ALB_STATE_STEP_JOURNAL_CREATED);
	start();
	struct ucmd a, b;
	uk_make(&a, false, 1, 0);
	uk_make(&b, false, 2, 0);
	assert_true(call_starts(":a", &a.cmd, "could not create unikernel, its "
					      "state was not written: "));
	assert_int_equal(count_segments(), 0);
	/* the disk is back: no restart needed */
	fault_clear();
	assert_true(call_starts(":a", &a.cmd, "created unikernel"));
	assert_int_equal(filled_segments(), 1);
	/* each failed try used a number (the one ahead, the refused
	 * create's), and a failure made albd stop trying ahead */
	char seg[H_PATH + 32], want[H_PATH + 32];
	last_segment(seg, sizeof(seg));
	snprintf(want, sizeof(want), "%s/journal.3", H.dbdir);
	assert_string_equal(seg, want);
	/* after a compaction, segments are made ahead again */
	kill(H.pid, SIGHUP);
	for (int i = 0; i < 250 && (filled_segments() > 0 ||
				    count_segments() == 0); i++)
		h_sleep_ms(20);
	assert_int_equal(filled_segments(), 0);
	assert_int_equal(count_segments(), 1);
	assert_true(call_starts(":b", &b.cmd, "created unikernel"));
	stop_clean();
	expect_state_file(":a,:b");
	assert_int_equal(count_segments(), 0);
	uk_free(&a);
	uk_free(&b);
}

static int held_links(void);

static void test_albd_compact(void **state)
{
	(void)state;
	char db[H_PATH + 16];
	snprintf(db, sizeof(db), "--dbdir=%s", H.dbdir);
	/* nothing to compact */
	assert_int_equal(run_albd("--compact-state", db), 1);
	assert_int_equal(h_start_albd(&H, "-q"), 0);
	struct ucmd a, b;
	uk_make(&a, false, 1, 0);
	/* large enough to be mapped where the compaction replays it */
	uk_make(&b, false, 2, VMMD_IMAGE_MAP_MIN);
	assert_true(call_starts(":a", &a.cmd, "created unikernel"));
	assert_true(count_segments() == 1);
	/* never beside a running albd (it holds the dbdir's lock) */
	assert_int_equal(run_albd("--compact-state", db), 1);
	assert_true(count_segments() == 1);
	/* SIGHUP: the state file catches up, the segment goes */
	kill(H.pid, SIGHUP);
	for (int i = 0; i < 250 && filled_segments() > 0; i++)
		h_sleep_ms(20);
	assert_int_equal(filled_segments(), 0);
	/* the next segment is made ahead, and used by the next change */
	for (int i = 0; i < 250 && count_segments() == 0; i++)
		h_sleep_ms(20);
	assert_int_equal(count_segments(), 1);
	expect_state_file(":a");
	assert_true(call_starts(":b", &b.cmd, "created unikernel"));
	/* a crash: albatrossd would see :a only; compacted by hand, :a and :b */
	h_stop(&H, SIGKILL);
	pid_t pids[8];
	int n = h_tenders(&H, pids, 8);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	expect_state_file(":a");
	assert_int_equal(run_albd("--compact-state", db), 0);
	expect_state_file(":a,:b");
	assert_int_equal(count_segments(), 0);
	/* :b's image was read from its segment's mapping, pinned until the
	 * end: intact, and no pin left */
	struct alb_state *st = NULL;
	assert_int_equal(alb_state_read_file(H.dbdir, &st, NULL), 0);
	assert_memory_equal(st->unikernels[1].config.image.ptr, b.img,
			    VMMD_IMAGE_MAP_MIN);
	alb_state_free(st);
	assert_int_equal(held_links(), 0);
	uk_free(&a);
	uk_free(&b);
}

/* ---- images mapped from the journal ------------------------------------------ */

/* The core's mappings (with deleted: only those of a file unlinked) and
 * descriptors of journal segments. */
static int journal_maps(bool deleted)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)H.pid);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, "/journal.") != NULL &&
		     (!deleted || strstr(line, "(deleted)") != NULL);
	fclose(f);
	return n;
}

/* The links in dbdir/images that pin files images are mapped from. */
static int held_links(void)
{
	char path[H_PATH + 16];
	snprintf(path, sizeof(path), "%s/images", H.dbdir);
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, VMMD_PIN_PREFIX,
			     strlen(VMMD_PIN_PREFIX)) == 0;
	closedir(d);
	return n;
}

static void wait_no_held_links(void)
{
	for (int i = 0; i < 250 && held_links() > 0; i++)
		h_sleep_ms(20);
	assert_int_equal(held_links(), 0);
}

static void get_is(const char *name, const struct ucmd *u)
{
	struct alb_command g = simple(ALB_CMD_UNIKERNEL_GET);
	struct alb_msg *m = h_call(&H, name, &g);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	const struct alb_bytes *img = &m->u.success.u.image.data;
	assert_int_equal(img->len, u->cmd.u.create.image.len);
	assert_memory_equal(img->ptr, u->img, img->len);
	alb_msg_free(m);
}

static void compact_now(void)
{
	kill(H.pid, SIGHUP);
	for (int i = 0; i < 250 && filled_segments() > 0; i++)
		h_sleep_ms(20);
	assert_int_equal(filled_segments(), 0);
}

/* :at's create: an image of exactly VMMD_IMAGE_MAP_MIN bytes whose second
 * half is a pattern that a wrong offset or a page of zeros would not
 * match. */
static void make_at(struct ucmd *at)
{
	uk_make(at, false, 1, VMMD_IMAGE_MAP_MIN);
	for (size_t i = VMMD_IMAGE_MAP_MIN / 2; i < VMMD_IMAGE_MAP_MIN; i++)
		at->img[i] = (uint8_t)(i * 7 + 3);
}

/* The state file holds :at alone, with at's image. */
static void state_is_at(const struct ucmd *at)
{
	expect_state_file(":at");
	struct alb_state *st = NULL;
	assert_int_equal(alb_state_read_file(H.dbdir, &st, NULL), 0);
	const struct alb_bytes *img = &st->unikernels[0].config.image;
	assert_int_equal(img->len, VMMD_IMAGE_MAP_MIN);
	assert_memory_equal(img->ptr, at->img, img->len);
	alb_state_free(st);
}

/* A create's image of VMMD_IMAGE_MAP_MIN bytes is mapped from its record
 * once durable, one byte less stays in its frame. The segment is pinned
 * (a link in images/): the compaction that removes it leaves it whole (a
 * segment without a name is shortened ALB_IO_FREE_STEP at a time, and
 * :at's record lies past the first step, behind :filler's), so get, the
 * next compaction and the state file read the image intact. The pin goes
 * with the last unikernel mapped from the segment. */
static void test_image_mapped(void **state)
{
	(void)state;
	start();
	struct ucmd filler, at, below;
	uk_make(&filler, false, 3, ALB_IO_FREE_STEP);
	make_at(&at);
	uk_make(&below, false, 2, VMMD_IMAGE_MAP_MIN - 1);
	/* mapped once the reply has gone: a command after it (here get)
	 * is served once that is done */
	assert_true(call_starts(":filler", &filler.cmd, "created unikernel"));
	get_is(":filler", &filler);
	assert_int_equal(journal_maps(false), 1);
	assert_true(call_starts(":below", &below.cmd, "created unikernel"));
	get_is(":below", &below);
	assert_int_equal(journal_maps(false), 1);
	assert_true(call_starts(":at", &at.cmd, "created unikernel"));
	get_is(":at", &at);
	assert_int_equal(journal_maps(false), 2);
	assert_int_equal(held_links(), 1);

	compact_now();
	assert_int_equal(journal_maps(true), 2);
	get_is(":at", &at);
	get_is(":below", &below);
	/* the next state file is written from the mapping */
	destroy(":below", "destroyed unikernel");
	destroy(":filler", "destroyed unikernel");
	compact_now();
	state_is_at(&at);

	/* gone with its unikernel: the mapping and the pin */
	destroy(":at", "destroyed unikernel");
	for (int i = 0; i < 250 && journal_maps(false) > 0; i++)
		h_sleep_ms(20);
	assert_int_equal(journal_maps(false), 0);
	wait_no_held_links();
	stop_clean();
	uk_free(&filler);
	uk_free(&at);
	uk_free(&below);
}

static ino_t inode_of(const char *name)
{
	char path[H_PATH + 16];
	snprintf(path, sizeof(path), "%s/%s", H.dbdir, name);
	struct stat sb;
	return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

/* Compacts and waits until state.bak is the file state was. */
static void compact_rotated(void)
{
	ino_t was = inode_of("state");
	kill(H.pid, SIGHUP);
	for (int i = 0; i < 250 && inode_of("state.bak") != was; i++)
		h_sleep_ms(20);
	assert_int_equal(inode_of("state.bak"), was);
}

/* The core's mappings of dbdir/state, under that name or no name. */
static int state_maps(void)
{
	char path[64], want[H_PATH + 16];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)H.pid);
	snprintf(want, sizeof(want), "%s/state", H.dbdir);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = strstr(line, want);
		n += p != NULL && (p[strlen(want)] == '\n' ||
				   p[strlen(want)] == ' ');
	}
	fclose(f);
	return n;
}

/* A start maps the state file's images of VMMD_IMAGE_MAP_MIN bytes and
 * more instead of copying them, and pins the file; a start after a crash
 * pins it again and sweeps the pins no mapping holds. Two compactions later
 * the file has no name left (state, then state.bak, were replaced) and
 * would be shortened (:at's entry lies behind :a-filler's, past the first
 * ALB_IO_FREE_STEP): the pin keeps it whole, and get reads :at intact. */
static void test_state_mapped(void **state)
{
	(void)state;
	start();
	struct ucmd filler, at;
	uk_make(&filler, false, 3, ALB_IO_FREE_STEP);
	make_at(&at);
	assert_true(call_starts(":a-filler", &filler.cmd, "created unikernel"));
	assert_true(call_starts(":at", &at.cmd, "created unikernel"));
	stop_clean();
	expect_state_file(":a-filler,:at");

	start();
	expect_running(":a-filler,:at");
	get_is(":at", &at);
	assert_int_equal(state_maps(), 1);
	assert_int_equal(held_links(), 1);
	/* a crash leaves the pin behind; beside it, a file under a pin's
	 * name that no mapping holds: the next start pins the state file
	 * again (the old link replaced) and sweeps the other */
	char planted[H_PATH + 48];
	snprintf(planted, sizeof(planted), "%s/images/" VMMD_PIN_PREFIX "fffff",
		 H.dbdir);
	FILE *f = fopen(planted, "we");
	assert_non_null(f);
	fputs("left by a crash", f);
	assert_int_equal(fclose(f), 0);
	h_stop(&H, SIGKILL);
	assert_int_equal(held_links(), 2);
	start();
	expect_running(":a-filler,:at");
	assert_int_equal(held_links(), 1);
	assert_int_equal(access(planted, F_OK), -1);
	get_is(":at", &at);
	compact_rotated();
	compact_rotated();
	get_is(":at", &at);
	get_is(":a-filler", &filler);
	destroy(":at", "destroyed unikernel");
	destroy(":a-filler", "destroyed unikernel");
	wait_no_held_links();
	stop_clean();
	uk_free(&filler);
	uk_free(&at);
}

/* test_replay_mapped's first image: larger than any allocation of the
 * core's own, with or without a sanitizer. */
#define REPLAY_FILLER (4u * ALB_IO_FREE_STEP)

/* How many mappings of the core hold at least kib KiB of anonymous
 * memory. */
static int anon_mappings(long kib)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)H.pid);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	int n = 0;
	long k;
	while (fgets(line, sizeof(line), f) != NULL)
		n += sscanf(line, "Anonymous: %ld kB", &k) == 1 && k >= kib;
	fclose(f);
	return n;
}

/* A start after a crash replays the journal mapped: the images of
 * VMMD_IMAGE_MAP_MIN bytes and more stay in their segment, which is
 * pinned (the crash's own pin of it replaced), the smaller ones are
 * copied, and the tenders adopted share those configurations; once the compaction that follows such a start has removed the
 * segment, get and the next state file read every image intact (:at's
 * record lies behind :filler's, past the first ALB_IO_FREE_STEP). */
static void test_replay_mapped(void **state)
{
	(void)state;
	struct ucmd filler, at, below;
	uk_make(&filler, false, 3, REPLAY_FILLER);
	make_at(&at);
	uk_make(&below, false, 2, VMMD_IMAGE_MAP_MIN - 1);
	/* the core is forked from this process: it has the filler's
	 * allocation from it (one mapping of that size), and no other */
	start();
	int inherited = anon_mappings(REPLAY_FILLER / 1024);
	assert_true(call_starts(":filler", &filler.cmd, "created unikernel"));
	assert_true(call_starts(":below", &below.cmd, "created unikernel"));
	assert_true(call_starts(":at", &at.cmd, "created unikernel"));
	get_is(":at", &at);
	h_stop(&H, SIGKILL);
	assert_true(filled_segments() > 0); /* no compaction ran */

	start();
	expect_running(":at,:below,:filler");
	/* the tenders were adopted: neither their configurations nor the
	 * durable state hold a copy of the images (the filler's would be
	 * one allocation of its size, so a mapping of its own) */
	assert_int_equal(anon_mappings(REPLAY_FILLER / 1024), inherited);
	/* one mapping of the segment, shared by the two large images */
	assert_int_equal(journal_maps(false), 1);
	assert_int_equal(held_links(), 1);
	for (int i = 0; i < 250 && journal_maps(true) == 0; i++)
		h_sleep_ms(20);
	assert_int_equal(journal_maps(true), 1); /* removed, still whole */
	get_is(":filler", &filler);
	get_is(":at", &at);
	get_is(":below", &below);
	destroy(":filler", "destroyed unikernel");
	destroy(":below", "destroyed unikernel");
	compact_now();
	state_is_at(&at);
	destroy(":at", "destroyed unikernel");
	wait_no_held_links();
	stop_clean();
	uk_free(&filler);
	uk_free(&at);
	uk_free(&below);
}

/* images/ on another filesystem than dbdir (here a tmpfs): no link can
 * pin a file of dbdir, so nothing is mapped. A create's image stays in its
 * frame, a start reads the state file and replays the journal as before,
 * and every image is served intact from albd's own memory. */
static void test_unpinnable(void **state)
{
	(void)state;
	char images[H_PATH + 16];
	snprintf(images, sizeof(images), "%s/" VMMD_IMAGES_DIR, H.dbdir);
	assert_int_equal(mkdir(images, 0700), 0);
	assert_int_equal(mount("tmpfs", images, "tmpfs", 0, "size=1m,mode=0700"), 0);
	struct ucmd filler, at;
	uk_make(&filler, false, 3, ALB_IO_FREE_STEP);
	make_at(&at);
	start();
	assert_true(call_starts(":at", &at.cmd, "created unikernel"));
	get_is(":at", &at);
	assert_int_equal(journal_maps(false), 0);
	assert_int_equal(held_links(), 0);
	stop_clean();
	/* the state file read; then a record replayed after a crash */
	start();
	expect_running(":at");
	assert_int_equal(state_maps(), 0);
	assert_true(call_starts(":filler", &filler.cmd, "created unikernel"));
	h_stop(&H, SIGKILL);
	start();
	expect_running(":at,:filler");
	assert_int_equal(state_maps() + journal_maps(false), 0);
	assert_int_equal(held_links(), 0);
	get_is(":at", &at);
	get_is(":filler", &filler);
	stop_clean();
	assert_int_equal(umount2(images, 0), 0);
	uk_free(&filler);
	uk_free(&at);
}

static int tests(void)
{
	struct alb_net *net;
	if (alb_net_new(&net, NULL) != 0 || alb_bridge_create(net, BR, NULL) != 0) {
		printf("cannot make a bridge\n");
		return 1;
	}
	alb_net_free(net);
	const struct CMUnitTest list[] = {
		cmocka_unit_test_setup_teardown(test_refused_undone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_tmpfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_under_load, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_compaction_crash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_interop_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segment_ahead_fails, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_albd_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_mapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpinnable, setup, teardown),
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
