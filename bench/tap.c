/* bench-tap: creating, attaching and destroying taps through the library
 * (ioctl + rtnetlink) against the `ip` command sequence Albatross runs
 * (spec §6.5), and reading interface counters. Runs as root inside its own
 * network and mount namespaces; the host's interfaces are never touched.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "albatross/net.h"
#include "bench_stats.h"

#define ITERATIONS 100
#define BRIDGE "benchbr0"
/* taps present while the counters are sampled (the stats daemon's case) */
#define STATS_TAPS 1000
#define STATS_SAMPLES 20

extern char **environ;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double median(double *v, size_t n)
{
	bench_sort_double(v, n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const struct alb_error *err)
{
	fprintf(stderr, "bench-tap: %s: %s\n", what, err != NULL ? err->msg : "");
	exit(1);
}

/* Runs argv (no shell), stdout into out (when not NULL) else /dev/null.
 * Returns the exit status, or -1. */
static int run(char *const argv[], char *out, size_t out_size)
{
	int pfd[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (out != NULL) {
		if (pipe2(pfd, O_CLOEXEC) != 0)
			return -1;
		posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	}
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out != NULL) {
		close(pfd[1]);
		size_t len = 0;
		ssize_t n = 0;
		while (rc == 0 && len + 1 < out_size &&
		       (n = read(pfd[0], out + len, out_size - 1 - len)) > 0)
			len += (size_t)n;
		out[len] = '\0';
		close(pfd[0]);
	}
	if (rc != 0)
		return -1;
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Albatross's choice of N from `ip tuntap show` (spec §6.5): of every line
 * longer than 6 characters, the text after the first 6 up to the first ':'
 * marks that number used; the smallest unused N wins. */
static unsigned albatross_free_n(const char *out)
{
	static unsigned char used[ITERATIONS + 1];
	memset(used, 0, sizeof(used));
	for (const char *line = out; *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		if (len > 6) {
			char *stop;
			long v = strtol(line + 6, &stop, 10);
			if (stop != line + 6 && *stop == ':' && v >= 0 &&
			    v <= ITERATIONS)
				used[v] = 1;
		}
		line += len + (end != NULL);
	}
	unsigned n = 0;
	while (n <= ITERATIONS && used[n])
		n++;
	return n;
}

static int ip_create(const char *bridge, char *tap, size_t tap_size)
{
	static char out[1 << 16];
	char *show[] = {"ip", "tuntap", "show", NULL};
	if (run(show, out, sizeof(out)) != 0)
		return -1;
	snprintf(tap, tap_size, "vmmtap%u", albatross_free_n(out));
	char *add[] = {"ip", "tuntap", "add", tap, "mode", "tap", NULL};
	char *up[] = {"ip", "link", "set", "dev", tap, "up", NULL};
	char *master[] = {"ip", "link", "set", "dev", tap, "master",
			  (char *)bridge, NULL};
	if (run(add, NULL, 0) != 0 || run(up, NULL, 0) != 0 ||
	    run(master, NULL, 0) != 0)
		return -1;
	return 0;
}

static int ip_destroy(char *tap)
{
	char *del[] = {"ip", "tuntap", "del", "dev", tap, "mode", "tap", NULL};
	return run(del, NULL, 0);
}

/* Enter fresh network and mount namespaces with their own sysfs (which
 * `ip tuntap show` reads). */
static void enter_namespace(void)
{
	if (geteuid() != 0) {
		printf("SKIP: bench-tap needs root (a private network namespace)\n");
		exit(77);
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
		printf("SKIP: unshare: %s\n", strerror(errno));
		exit(77);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
		printf("SKIP: cannot mount a private sysfs: %s\n", strerror(errno));
		exit(77);
	}
}

struct figures {
	double create, destroy;
};

static struct figures bench_library(struct alb_net *net)
{
	static char taps[ITERATIONS][ALB_IFNAME_SIZE];
	double c[ITERATIONS], d[ITERATIONS];
	struct alb_error err;
	for (int i = 0; i < ITERATIONS; i++) {
		double t0 = now_us();
		if (alb_tap_create(net, BRIDGE, taps[i], &err) != 0)
			die("alb_tap_create", &err);
		c[i] = now_us() - t0;
	}
	for (int i = 0; i < ITERATIONS; i++) {
		double t0 = now_us();
		if (alb_tap_destroy(net, taps[i], &err) != 0)
			die("alb_tap_destroy", &err);
		d[i] = now_us() - t0;
	}
	return (struct figures){median(c, ITERATIONS), median(d, ITERATIONS)};
}

static struct figures bench_ip(void)
{
	static char taps[ITERATIONS][ALB_IFNAME_SIZE];
	double c[ITERATIONS], d[ITERATIONS];
	for (int i = 0; i < ITERATIONS; i++) {
		double t0 = now_us();
		if (ip_create(BRIDGE, taps[i], sizeof(taps[i])) != 0)
			die("ip tuntap add / ip link set", NULL);
		c[i] = now_us() - t0;
	}
	for (int i = 0; i < ITERATIONS; i++) {
		double t0 = now_us();
		if (ip_destroy(taps[i]) != 0)
			die("ip tuntap del", NULL);
		d[i] = now_us() - t0;
	}
	return (struct figures){median(c, ITERATIONS), median(d, ITERATIONS)};
}

static int count_cb(void *ctx, int ifindex, const char *ifname,
		    const struct alb_ifdata *d)
{
	(void)ifindex;
	(void)ifname;
	(void)d;
	(*(size_t *)ctx)++;
	return 0;
}

static void bench_counters(struct alb_net *net)
{
	struct alb_error err;
	char tap[ALB_IFNAME_SIZE];
	double last[10];
	for (int i = 0; i < STATS_TAPS; i++) {
		double t0 = now_us();
		if (alb_tap_create(net, BRIDGE, tap, &err) != 0)
			die("alb_tap_create", &err);
		if (i >= STATS_TAPS - 10)
			last[i - (STATS_TAPS - 10)] = now_us() - t0;
	}
	double dump[STATS_SAMPLES], one[STATS_SAMPLES];
	size_t links = 0;
	for (int i = 0; i < STATS_SAMPLES; i++) {
		links = 0;
		double t0 = now_us();
		if (alb_ifdata_dump(net, count_cb, &links, &err) != 0)
			die("alb_ifdata_dump", &err);
		dump[i] = now_us() - t0;
		struct alb_ifdata d = {.bridge = {NULL, 0}};
		t0 = now_us();
		if (alb_ifdata_get(net, "vmmtap500", &d, &err) != 0)
			die("alb_ifdata_get", &err);
		one[i] = now_us() - t0;
	}
	double m = median(dump, STATS_SAMPLES);
	printf("create+up+attach with ~%d taps present (library): median %.0f us\n",
	       STATS_TAPS, median(last, 10));
	printf("counters, one dump of %zu interfaces: median %.0f us = %.2f us per "
	       "interface (target <= 20)\n", links, m, m / (double)links);
	printf("counters, one interface by name:      median %.1f us\n",
	       median(one, STATS_SAMPLES));
}

int main(void)
{
	enter_namespace();
	struct alb_error err;
	struct alb_net *net;
	if (alb_net_new(&net, &err) != 0)
		die("alb_net_new", &err);
	if (alb_bridge_create(net, BRIDGE, &err) != 0)
		die("alb_bridge_create", &err);

	printf("bench-tap: %d taps created one by one on bridge %s (they "
	       "accumulate, so vmmtap0..%d), then destroyed; medians\n",
	       ITERATIONS, BRIDGE, ITERATIONS - 1);
	struct figures lib = bench_library(net);
	printf("create+up+attach  library:                  %9.1f us\n",
	       lib.create);
	printf("destroy           library:                  %9.1f us\n",
	       lib.destroy);

	char *probe[] = {"ip", "-V", NULL};
	if (run(probe, NULL, 0) != 0) {
		printf("SKIP: the ip command is not available: no comparison\n");
	} else {
		struct figures ip = bench_ip();
		printf("create+up+attach  ip (show+add+up+master): %9.1f us\n",
		       ip.create);
		printf("destroy           ip tuntap del:            %9.1f us\n",
		       ip.destroy);
		printf("speed-up: create %.1fx (target >= 20x), destroy %.1fx\n",
		       ip.create / lib.create, ip.destroy / lib.destroy);
	}
	bench_counters(net);
	/* the namespace and its taps go away with this process */
	alb_net_free(net);
	return 0;
}
