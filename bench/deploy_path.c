/* bench-deploy_path — how long the tender module takes from a spawn
 * request to the tender running, median over RUNS runs:
 *   argv:  alb_tender_argv() for a config with two nets and a block device;
 *   exec:  alb_tender_spawn() call to its return, which is when the child's
 *          execve() succeeded (the close-on-exec error pipe reached EOF);
 *   main:  spawn call to the fake tender's first instruction in main()
 *          (its CLOCK_MONOTONIC stamp), i.e. exec plus dynamic loading;
 *   exec, 256 MiB: as exec while the parent holds 256 MiB of touched
 *          memory, as albatrossd does with images in its state (fork
 *          copies page tables).
 * Usage: bench-deploy_path [FAKE_TENDER] (default $ALB_FAKE_TENDER, else
 * ../tests/tools/fake-tender next to this program).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "albatross/tender.h"
#include "bench_stats.h"

#define RUNS 100
#define BIG_MEMORY (256u << 20)
#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void report(const char *what, int64_t *v, size_t n)
{
	bench_sort_i64(v, n);
	printf("  %-28s median %8.1f us   p10 %8.1f us   p90 %8.1f us\n", what,
	       (double)v[n / 2] / 1e3, (double)v[n / 10] / 1e3,
	       (double)v[n * 9 / 10] / 1e3);
}

/* Reads the tender's console to EOF and returns its start stamp (-1 if
 * none was printed). */
static int64_t read_start(int fd)
{
	char buf[16384];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			len = 0; /* only the first lines matter; keep draining */
	}
	buf[len] = '\0';
	const char *p = strstr(buf, "fake-tender: start ");
	return p ? strtoll(p + strlen("fake-tender: start "), NULL, 10) : -1;
}

/* One spawn of argv; fills the exec and main latencies. */
static int spawn_once(const char *const *argv, int64_t *exec_ns,
		      int64_t *main_ns)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	int64_t cpu0 = 0;
	struct alb_spawn s = {.argv = argv, .console_fd = p[1], .n_cpus = 1,
			      .cpus = &cpu0};
	struct alb_error err = {0};
	struct alb_spawned child;
	int64_t t0 = now_ns();
	int rc = alb_tender_spawn(&s, &child, &err);
	int64_t t1 = now_ns();
	close(p[1]);
	if (rc != 0) {
		fprintf(stderr, "spawn: %s\n", err.msg);
		close(p[0]);
		return -1;
	}
	int64_t start = read_start(p[0]);
	close(p[0]);
	close(child.pidfd);
	int st;
	while (waitpid(child.pid, &st, 0) < 0 && errno == EINTR)
		;
	*exec_ns = t1 - t0;
	*main_ns = start >= 0 ? start - t0 : -1;
	return start >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	char fake[PATH_MAX];
	if (argc > 1) {
		snprintf(fake, sizeof(fake), "%s", argv[1]);
	} else if (getenv("ALB_FAKE_TENDER") != NULL) {
		snprintf(fake, sizeof(fake), "%s", getenv("ALB_FAKE_TENDER"));
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return 1;
		self[n] = '\0';
		snprintf(fake, sizeof(fake), "%s/../tests/tools/fake-tender",
			 dirname(self));
	}
	if (access(fake, X_OK) != 0) {
		fprintf(stderr, "no fake tender at %s (give its path)\n", fake);
		return 1;
	}

	char dir[] = "/tmp/alb-bench-deploy-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 1;
	char image[PATH_MAX];
	snprintf(image, sizeof(image), "%s/:bench.img", dir);
	int fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return 1;
	close(fd);

	/* the command line albatrossd would build, minus the taps, which the
	 * fake tender would check: so the argv is timed with taps and run
	 * without them */
	struct alb_net_dev nets[2] = {{.netif = S("service")}, {.netif = S("other")}};
	struct alb_tender_net taps[2] = {
		{.tap = "vmmtap0", .mac = {0x00, 0x80, 0x41, 1, 2, 3}},
		{.tap = "vmmtap1", .mac = {0x00, 0x80, 0x41, 4, 5, 6}}};
	struct alb_block_dev blocks[1] = {{.name = S("storage")}};
	struct alb_str args[] = {S("--ipv4=10.0.0.2/24"), S("--ipv4-gateway=10.0.0.1")};
	struct alb_unikernel_config c = {
		.typ = ALB_TYP_SOLO5, .memory = 64, .add_name = true,
		.n_bridges = 2, .bridges = nets, .n_blocks = 1, .blocks = blocks,
		.has_argv = true, .n_argv = 2, .argv = args, .numcpus = 1};
	struct alb_tender_cmd cmd = {
		.kind = ALB_TENDER_HVT, .tender = fake, .name = "bench:unikernel",
		.config = &c, .nets = taps, .tmpdir = dir,
		.dbdir = "/var/lib/albatross"};
	static int64_t t_argv[RUNS], t_exec[RUNS], t_main[RUNS], t_big[RUNS];
	for (int i = 0; i < RUNS; i++) {
		struct alb_argv a = {0};
		int64_t t0 = now_ns();
		if (alb_tender_argv(&cmd, &a, NULL) != 0)
			return 1;
		t_argv[i] = now_ns() - t0;
		alb_argv_free(&a);
	}

	const char *run_argv[] = {fake, "--mem=64", "--", image,
				  "--name=unikernel", NULL};
	for (int i = 0; i < RUNS; i++)
		if (spawn_once(run_argv, &t_exec[i], &t_main[i]) != 0)
			return 1;

	char *big = malloc(BIG_MEMORY);
	if (big == NULL)
		return 1;
	memset(big, 1, BIG_MEMORY);
	for (int i = 0; i < RUNS; i++) {
		int64_t unused;
		if (spawn_once(run_argv, &t_big[i], &unused) != 0)
			return 1;
	}
	free(big);

	printf("deploy path, %d runs each, tender pinned to CPU 0:\n", RUNS);
	report("argv (2 nets, 1 block)", t_argv, RUNS);
	report("spawn -> exec", t_exec, RUNS);
	report("spawn -> tender main()", t_main, RUNS);
	report("spawn -> exec, 256 MiB", t_big, RUNS);
	unlink(image);
	rmdir(dir);
	return 0;
}
