/* bench-albd — what a deployment costs with albd: for N = 100 and 1,000
 * unikernels (the fake tender standing in for solo5-hvt, tiny images),
 * once without network interfaces and once with one NIC and one block
 * device each: create latency from command sent to reply (median, p99),
 * the latency of info over all N, and albd's resident memory (VmRSS from
 * /proc). Runs as root in a private network namespace with a bridge of its
 * own; dbdir (the state file, fsync'ed) under /tmp, tmpdir on the tmpfs
 * /dev/shm as /run is on a real host ($ALB_BENCH_TMPDIR_BASE to change).
 *   usage: bench-albd [N...]        (default: 100 1000)
 * The fake tender and albd are taken from $ALB_FAKE_TENDER and
 * $ALB_BUILD_ROOT, else from the build tree this program belongs to.
 * $ALB_BENCH_CPU pins the unikernels to another CPU than 0;
 * $ALB_BENCH_ALBD_FLAG replaces albd's -q (e.g. -vv for its step log).
 * SPDX-License-Identifier: ISC */
#include <limits.h>

#include "albd_harness.h"
#include "host_helpers.h"

#define BR "bench0"
/* Runs of info over all unikernels, for its median. */
#define INFO_RUNS 21

static int ns_count[8];
static size_t n_counts;

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(int64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	long kib = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kib;
}

/* One command on a connection made beforehand, timed from send to reply. */
static int64_t timed_call(struct harness *h, const char *name,
			  const struct alb_command *cmd, const char *expect,
			  struct alb_msg **out)
{
	struct alb_client *c = NULL;
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	if (alb_client_connect(h->sock, 60000, &c, &err) != 0) {
		fprintf(stderr, "bench-albd: %s\n", err.msg);
		exit(1);
	}
	int64_t t0 = h_now_us();
	if (alb_client_send(c, name, cmd, NULL, NULL, &err) != 0 ||
	    alb_client_recv(c, &m, &err) != 0) {
		fprintf(stderr, "bench-albd: %s: %s\n", name, err.msg);
		exit(1);
	}
	int64_t ns = (h_now_us() - t0) * 1000;
	alb_client_close(c);
	if (expect != NULL && strcmp(h_text(m), expect) != 0) {
		fprintf(stderr, "bench-albd: %s: %s\n", name, h_text(m));
		exit(1);
	}
	if (out != NULL)
		*out = m;
	else
		alb_msg_free(m);
	return ns;
}

/* albd's runtime directory: a tmpfs as /run is on a host */
static const char *tmp_base = "/dev/shm";

static void run(size_t n, bool nic)
{
	struct harness h;
	if (h_setup_in(&h, "bench", tmp_base) != 0 || h_start_albd(&h, getenv("ALB_BENCH_ALBD_FLAG") ? getenv("ALB_BENCH_ALBD_FLAG") : "-q") != 0) {
		fprintf(stderr, "bench-albd: cannot start albd\n");
		exit(1);
	}
	const char *names[2] = {"service", "storage"};
	unsigned types[2] = {H_NET, H_BLOCK};
	size_t len;
	uint8_t *img = h_image(1, names, types, nic ? 2 : 0, 0, &len);
	struct alb_str argv[1] = {{"--sleep-ms=100000000", 20}};
	struct alb_net_dev net = {.netif = {"service", 7}, .bridge = {BR, strlen(BR)}};
	struct alb_block_dev blk = {.name = {"storage", 7}};
	int64_t cpu0 = getenv("ALB_BENCH_CPU") ? atoi(getenv("ALB_BENCH_CPU")) : 0;
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	struct alb_unikernel_config *c = &cmd.u.create;
	c->typ = ALB_TYP_SOLO5;
	c->image = (struct alb_bytes){img, len};
	c->add_name = true;
	c->n_cpuids = 1;
	c->cpuids = &cpu0;
	c->memory = 16; /* 1,000 of them fit the memory of a small host */
	c->has_argv = true;
	c->n_argv = 1;
	c->argv = argv;
	c->numcpus = 1;
	if (nic) {
		c->n_bridges = 1;
		c->bridges = &net;
		c->n_blocks = 1;
		c->blocks = &blk;
	}
	int64_t *lat = calloc(n, sizeof(*lat));
	long rss0 = rss_kib(h.pid);
	for (size_t i = 0; i < n; i++) {
		char name[32], bname[32];
		snprintf(name, sizeof(name), ":u%zu", i);
		if (nic) {
			struct alb_command add = {.kind = ALB_CMD_BLOCK_ADD};
			snprintf(bname, sizeof(bname), ":storage%zu", i);
			add.u.block_size = 1;
			timed_call(&h, bname, &add, "added block device", NULL);
			blk.device = (struct alb_str){bname + 1, strlen(bname + 1)};
		}
		lat[i] = timed_call(&h, name, &cmd, "created unikernel", NULL);
	}
	int64_t info[INFO_RUNS];
	struct alb_command inf = {.kind = ALB_CMD_UNIKERNEL_INFO};
	for (int i = 0; i < INFO_RUNS; i++) {
		struct alb_msg *m = NULL;
		info[i] = timed_call(&h, ":", &inf, NULL, &m);
		if (m->kind != ALB_PAYLOAD_SUCCESS || m->u.success.u.infos.n != n) {
			fprintf(stderr, "bench-albd: info lists %zu of %zu\n",
				m->u.success.u.infos.n, n);
			exit(1);
		}
		alb_msg_free(m);
	}
	long rss = rss_kib(h.pid);
	int tenders = h_tenders(&h, NULL, 0);
	printf("N=%-5zu %-16s create: median %.3f ms, p99 %.3f ms | info of all: "
	       "median %.3f ms | albd RSS %.1f MiB (%.1f MiB at start) | %d tenders\n",
	       n, nic ? "1 NIC + 1 block" : "no NIC", pct(lat, n, 0.5) / 1000.0,
	       pct(lat, n, 0.99) / 1000.0, pct(info, INFO_RUNS, 0.5) / 1000.0,
	       (double)rss / 1024.0, (double)rss0 / 1024.0, tenders);
	fflush(stdout);
	int64_t t0 = h_now_us();
	int st = h_stop(&h, SIGTERM);
	printf("        shutdown of %zu: %.1f ms (status %d)\n", n,
	       (double)(h_now_us() - t0) / 1000.0, st);
	fflush(stdout);
	h_teardown(&h);
	free(lat);
	free(img);
}

static int body(void)
{
	struct alb_net *net;
	if (alb_net_new(&net, NULL) != 0 || alb_bridge_create(net, BR, NULL) != 0) {
		fprintf(stderr, "bench-albd: cannot make a bridge\n");
		return 1;
	}
	alb_net_free(net);
	for (size_t i = 0; i < n_counts; i++) {
		run((size_t)ns_count[i], false);
		run((size_t)ns_count[i], true);
	}
	return 0;
}

/* Where this program's build tree keeps the fake tender and albd. */
static void default_paths(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	slash = strrchr(exe, '/'); /* <build>/bench */
	if (slash == NULL)
		return;
	*slash = '\0';
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/tests/tools/fake-tender", exe);
	setenv("ALB_FAKE_TENDER", path, 0);
	setenv("ALB_BUILD_ROOT", exe, 0);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc && n_counts < 8; i++)
		ns_count[n_counts++] = atoi(argv[i]);
	if (n_counts == 0) {
		ns_count[n_counts++] = 100;
		ns_count[n_counts++] = 1000;
	}
	default_paths();
	if (getenv("ALB_BENCH_TMPDIR_BASE") != NULL)
		tmp_base = getenv("ALB_BENCH_TMPDIR_BASE");
	return run_in_netns(body);
}
