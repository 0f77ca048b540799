/* bench-privilege — what tenders without root cost on the deploy path:
 * each step as root (before) beside the same step for a tender uid
 * (after), median with p10 and p90 over RUNS runs:
 *   spawn -> exec  alb_tender_spawn() of the fake tender until its exec,
 *                  without and with credentials (groups, gid, bounding set
 *                  emptied, uid, capset, no_new_privs, the checks);
 *   tap            alb_tap_create() and alb_tap_create_owned() on a bridge;
 *   block file     nothing, and giving the file to the uid plus taking it
 *                  back (blocks_give + blocks_take_back of the vmmd core);
 *   create         albd (the binary) from a create command with one NIC
 *                  and one block device to its reply, without and with
 *                  --tender-uids (CREATES per run, each destroyed after).
 * Runs as root in a private network namespace with a bridge of its own.
 * The fake tender and albd are taken from $ALB_FAKE_TENDER and
 * $ALB_BUILD_ROOT, else from the build tree this program belongs to.
 * SPDX-License-Identifier: ISC */
#include <libgen.h>
#include <limits.h>

#include "albd_harness.h"
#include "host_helpers.h"
#include "vmmd_internal.h"
#include "bench_stats.h"

#define RUNS 200
#define CREATES 100
#define BR "benchpr0"
#define UID 3000000500u

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct fig {
	double med, p10, p90;
};

static struct fig figure(int64_t *v, size_t n)
{
	bench_sort_i64(v, n);
	return (struct fig){(double)v[n / 2] / 1e3, (double)v[n / 10] / 1e3,
			    (double)v[n * 9 / 10] / 1e3};
}

static void row(const char *what, struct fig a, struct fig b)
{
	printf("  %-16s %9.1f (%7.1f..%7.1f)  %9.1f (%7.1f..%7.1f)  %+9.1f\n", what,
	       a.med, a.p10, a.p90, b.med, b.p10, b.p90, b.med - a.med);
	fflush(stdout);
}

/* ---- spawn -> exec ---------------------------------------------------------- */

static int spawn_once(const char *const *argv, const struct alb_spawn_creds *cr,
		      int64_t *ns)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	struct alb_spawn s = {.argv = argv, .console_fd = p[1], .creds = cr};
	struct alb_error err = {0};
	struct alb_spawned child;
	int64_t t0 = now_ns();
	int rc = alb_tender_spawn(&s, &child, &err);
	*ns = now_ns() - t0;
	close(p[1]);
	if (rc != 0) {
		fprintf(stderr, "spawn: %s\n", err.msg);
		close(p[0]);
		return -1;
	}
	char buf[4096];
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	close(p[0]);
	close(child.pidfd);
	while (waitpid(child.pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static int bench_spawn(const char *fake, const char *image)
{
	static int64_t before[RUNS], after[RUNS];
	const uint32_t kvm = 3000000590u;
	struct alb_spawn_creds cr = {.uid = UID, .gid = UID, .n_groups = 1,
				     .groups = &kvm};
	const char *argv[] = {fake, "--mem=64", "--", image, "--name=bench", NULL};
	/* interleaved, so that both see the same machine */
	for (int i = 0; i < RUNS; i++)
		if (spawn_once(argv, NULL, &before[i]) != 0 ||
		    spawn_once(argv, &cr, &after[i]) != 0)
			return -1;
	row("spawn -> exec", figure(before, RUNS), figure(after, RUNS));
	return 0;
}

/* ---- taps ----------------------------------------------------------------- */

static int bench_taps(void)
{
	static int64_t before[RUNS], after[RUNS];
	struct alb_error err = {0};
	if (alb_bridge_create(NULL, BR, &err) != 0) {
		fprintf(stderr, "bridge: %s\n", err.msg);
		return -1;
	}
	for (int i = 0; i < RUNS; i++) {
		char tap[ALB_IFNAME_SIZE];
		int64_t t0 = now_ns();
		if (alb_tap_create(NULL, BR, tap, &err) != 0)
			return -1;
		before[i] = now_ns() - t0;
		alb_tap_destroy(NULL, tap, NULL);
		t0 = now_ns();
		if (alb_tap_create_owned(NULL, BR, UID, tap, &err) != 0)
			return -1;
		after[i] = now_ns() - t0;
		alb_tap_destroy(NULL, tap, NULL);
	}
	alb_bridge_delete(NULL, BR, NULL);
	row("tap", figure(before, RUNS), figure(after, RUNS));
	return 0;
}

/* ---- block files ------------------------------------------------------------ */

static int bench_blocks(const char *dir)
{
	static int64_t before[RUNS], after[RUNS];
	static struct alb_vmmd v;
	snprintf(v.block_dir, sizeof(v.block_dir), "%s/block", dir);
	char file[PATH_MAX + 8];
	snprintf(file, sizeof(file), "%s/:disk", v.block_dir);
	if (mkdir(v.block_dir, 0711) != 0 || h_write_file(file, "", 0) != 0 ||
	    truncate(file, 1 << 20) != 0 ||
	    (v.block_fd = open(v.block_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	struct alb_block_dev blk = {.name = {"storage", 7}, .device = {"disk", 4}};
	struct alb_unikernel_config cfg = {.n_blocks = 1, .blocks = &blk};
	struct alb_error err = {0};
	for (int i = 0; i < RUNS; i++) {
		struct given g;
		int64_t t0 = now_ns();
		/* as root: nothing is given */
		if (blocks_give(&v, ":u", &cfg, 0, &g, &err) != 0)
			return -1;
		blocks_take_back(&g);
		before[i] = now_ns() - t0;
		t0 = now_ns();
		if (blocks_give(&v, ":u", &cfg, UID, &g, &err) != 0) {
			fprintf(stderr, "give: %s\n", err.msg);
			return -1;
		}
		blocks_take_back(&g);
		after[i] = now_ns() - t0;
	}
	close(v.block_fd);
	unlink(file);
	rmdir(v.block_dir);
	row("block file", figure(before, RUNS), figure(after, RUNS));
	return 0;
}

/* ---- creates through albd ---------------------------------------------------- */

/* CREATES creates (each destroyed after) through albd started with flag;
 * their command-to-reply latencies into t. */
static int creates(const char *flag, int64_t *t)
{
	struct harness h;
	if (h_setup(&h, "bench-priv") != 0 || chmod(h.root, 0711) != 0 ||
	    h_start_albd(&h, flag) != 0) {
		fprintf(stderr, "albd %s did not start\n", flag);
		return -1;
	}
	struct alb_command add = {.kind = ALB_CMD_BLOCK_ADD};
	add.u.block_size = 1;
	struct alb_command d = {.kind = ALB_CMD_UNIKERNEL_DESTROY};
	int rc = h_call_is(&h, ":disk", &add, "added block device") ? 0 : -1;
	struct h_uk u;
	h_uk_init(&u, false);
	h_uk_net(&u, "service", BR);
	h_uk_block(&u, "storage", "disk");
	h_uk_arg(&u, "--sleep-ms=60000");
	if (h_uk_image(&u) != 0)
		rc = -1;
	for (int i = 0; rc == 0 && i < CREATES; i++) {
		int64_t t0 = now_ns();
		if (!h_call_is(&h, ":u", &u.cmd, "created unikernel"))
			rc = -1;
		t[i] = now_ns() - t0;
		if (rc == 0 && !h_call_is(&h, ":u", &d, "destroyed unikernel"))
			rc = -1;
	}
	h_uk_free(&u);
	h_stop(&h, SIGTERM);
	h_teardown(&h);
	return rc;
}

static int bench_creates(void)
{
	static int64_t before[CREATES], after[CREATES];
	struct alb_error err = {0};
	if (alb_bridge_create(NULL, BR, &err) != 0)
		return -1;
	char uids[64];
	snprintf(uids, sizeof(uids), "--tender-uids=%u:16", UID);
	int rc = creates("-q", before) == 0 && creates(uids, after) == 0 ? 0 : -1;
	alb_bridge_delete(NULL, BR, NULL);
	if (rc == 0)
		row("create (albd)", figure(before, CREATES), figure(after, CREATES));
	return rc;
}

static char fake[PATH_MAX];

static int body(void)
{
	char dir[] = "/tmp/alb-bench-priv-XXXXXX";
	if (mkdtemp(dir) == NULL || chmod(dir, 0711) != 0)
		return 1;
	char image[PATH_MAX];
	snprintf(image, sizeof(image), "%s/:bench.img", dir);
	if (h_write_file(image, "", 0) != 0)
		return 1;
	printf("deploy path without root, %d runs (creates: %d), microseconds,\n"
	       "median (p10..p90):\n", RUNS, CREATES);
	printf("  %-16s %-29s  %-29s  %9s\n", "step", "before: as root",
	       "after: tender uid", "median +");
	fflush(stdout);
	int rc = bench_spawn(fake, image) == 0 && bench_taps() == 0 &&
			 bench_blocks(dir) == 0 && bench_creates() == 0
		     ? 0
		     : 1;
	unlink(image);
	rmdir(dir);
	return rc;
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	char *bindir = dirname(self);
	if (getenv("ALB_FAKE_TENDER") != NULL)
		snprintf(fake, sizeof(fake), "%s", getenv("ALB_FAKE_TENDER"));
	else
		snprintf(fake, sizeof(fake), "%s/../tests/tools/fake-tender", bindir);
	if (getenv("ALB_BUILD_ROOT") == NULL) {
		char root[PATH_MAX];
		snprintf(root, sizeof(root), "%s/..", bindir);
		setenv("ALB_BUILD_ROOT", root, 1);
	}
	setenv("ALB_FAKE_TENDER", fake, 1);
	if (access(fake, X_OK) != 0) {
		fprintf(stderr, "%s: no fake tender at %s\n", argv[0], fake);
		return 1;
	}
	int st = run_in_netns(body);
	return st == SKIP_STATUS ? 0 : st;
}
