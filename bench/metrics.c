/* bench-metrics — what a Prometheus scrape of each daemon costs at 1,000
 * unikernels (issue 12): albd, alb-consoled and alb-statsd run with
 * --prometheus, albd starts N unikernels (the fake tender standing in for
 * solo5-hvt, tiny images, no devices) spread over 10 paths with a policy
 * each, alb-statsd samples them every second; then each daemon is scraped
 * SCRAPES times. Printed per daemon: the scrape's wall time from connect
 * to the end of the answer (median, max), the time the page took to render
 * on the daemon's loop (its alb_metrics_render_duration_seconds, median),
 * which is how long the scrape keeps the loop from anything else, the
 * page's size and samples (parsed by the tests' strict parser), next to
 * the bound this program checks: RENDER_BOUND_MS on the loop.
 * Runs as root in a private network namespace; tmpdir on /dev/shm.
 * Measured on the 2-core development VM, release build (-Db_sanitize=none),
 * N=1000, on the loop: albd 1.2 ms (13 KiB, 168 samples: 11 paths; half of
 * it counts its 3,000 descriptors, one poll() over the table, which
 * reading /proc/self/fd made 2.2 ms), alb-consoled 0.12 ms (4 KiB),
 * alb-statsd 4.2 ms (1 MiB, 25,024 samples: the unikernels' figures); a
 * scrape's wall time 1.5, 0.26 and 5.9 ms (median). The bound is for such a
 * build: with ASan and UBSan, 2.1, 0.5 and 26 ms.
 *   usage: bench-metrics [N]        (default: 1000)
 * The fake tender and the daemons are taken from $ALB_FAKE_TENDER and
 * $ALB_BUILD_ROOT, else from the build tree this program belongs to.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>

#include "albd_harness.h"
#include "host_helpers.h"
#include "prom_parse.h"
#include "bench_paths.h"
#include "bench_stats.h"

#define PATHS 10
#define SCRAPES 21
/* What one scrape may keep a daemon's loop busy at 1,000 unikernels, in
 * a build without sanitizers. */
#define RENDER_BOUND_MS 20.0

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("bench-metrics: bind");
		exit(1);
	}
	close(fd);
	return ntohs(sa.sin_port);
}

/* GET /metrics; the body (free it), its wall time in *us. */
static char *scrape(int port, double *us)
{
	int64_t t0 = h_now_us();
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	const char *get = "GET /metrics HTTP/1.0\r\n\r\n";
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, get, strlen(get)) != (ssize_t)strlen(get)) {
		perror("bench-metrics: scrape");
		exit(1);
	}
	char *page = read_to_eof(fd);
	close(fd);
	*us = (double)(h_now_us() - t0);
	char *body = page != NULL ? strstr(page, "\r\n\r\n") : NULL;
	if (body == NULL || strncmp(page, "HTTP/1.0 200 OK", 15) != 0) {
		fprintf(stderr, "bench-metrics: no page from port %d\n", port);
		exit(1);
	}
	char *text = strdup(body + 4);
	free(page);
	return text;
}

static pid_t spawn(const char *prog, const char *const *args)
{
	char exe[PATH_MAX];
	snprintf(exe, sizeof(exe), "%s/cli/%s", getenv("ALB_BUILD_ROOT"), prog);
	const char *argv[16] = {exe};
	for (size_t i = 0; args[i] != NULL; i++)
		argv[i + 1] = args[i];
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* Samples of family in a page. */
static size_t count_samples(const char *text, const char *prefix)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, prefix)) != NULL; p++)
		n += p == text || p[-1] == '\n';
	return n;
}

static void measure(const char *who, int port, size_t n)
{
	double wall[SCRAPES], render[SCRAPES];
	size_t bytes = 0, samples = 0;
	for (int i = 0; i <= SCRAPES; i++) {
		double us;
		char *text = scrape(port, &us);
		struct prom p;
		const char *e = prom_parse(&p, text, strlen(text));
		if (e != NULL) {
			fprintf(stderr, "bench-metrics: %s: %s\n", who, e);
			exit(1);
		}
		/* the render time shown is the previous scrape's */
		if (i > 0) {
			wall[i - 1] = us;
			render[i - 1] = prom_value(&p, "alb_metrics_render_duration_seconds", "") * 1e6;
		}
		bytes = strlen(text);
		samples = p.n;
		prom_free(&p);
		free(text);
	}
	double max = 0;
	for (int i = 0; i < SCRAPES; i++)
		max = wall[i] > max ? wall[i] : max;
	double r = bench_median_double(render, SCRAPES);
	printf("%-13s N=%zu: scrape median %.2f ms (max %.2f ms), rendered on its "
	       "loop in %.2f ms [bound %.0f ms: %s], %zu KiB, %zu samples\n",
	       who, n, bench_median_double(wall, SCRAPES) / 1000, max / 1000, r / 1000,
	       RENDER_BOUND_MS, r / 1000 <= RENDER_BOUND_MS ? "ok" : "EXCEEDED",
	       bytes / 1024, samples);
	fflush(stdout);
}

static size_t n_uk = 1000;

static int body(void)
{
	if (system("ip link set lo up") != 0)
		return 1;
	struct harness h;
	if (h_setup_in(&h, "bench-metrics", "/dev/shm") != 0) {
		fprintf(stderr, "bench-metrics: cannot make the directories\n");
		return 1;
	}
	int pa = free_port(), pc = free_port(), ps = free_port();
	char aa[32], ac[32], as[32];
	snprintf(aa, sizeof(aa), "127.0.0.1:%d", pa);
	snprintf(ac, sizeof(ac), "127.0.0.1:%d", pc);
	snprintf(as, sizeof(as), "127.0.0.1:%d", ps);
	const char *cargs[] = {"-q", "--tmpdir", h.tmpdir, "--prometheus", ac, NULL};
	pid_t consoled = spawn("alb-consoled", cargs);
	const char *sargs[] = {"-q", "--tmpdir", h.tmpdir, "--interval", "1",
			       "--prometheus", as, NULL};
	pid_t statsd = spawn("alb-statsd", sargs);
	h_sleep_ms(300);
	const char *aargs[] = {"-q", "--prometheus", aa, NULL};
	if (h_start_albd_args(&h, aargs) != 0) {
		fprintf(stderr, "bench-metrics: cannot start albd\n");
		return 1;
	}
	int64_t cpu0 = 0;
	for (int k = 0; k < PATHS; k++) {
		char path[16];
		snprintf(path, sizeof(path), "p%d:", k);
		struct alb_command pol = {.kind = ALB_CMD_POLICY_ADD};
		pol.u.policy = (struct alb_policy){
		    .unikernels = (int64_t)n_uk, .n_cpuids = 1, .cpuids = &cpu0,
		    .memory = (int64_t)n_uk * 16};
		struct alb_msg *m = h_call(&h, path, &pol);
		if (m == NULL || m->kind != ALB_PAYLOAD_SUCCESS) {
			fprintf(stderr, "bench-metrics: policy: %s\n", h_text(m));
			return 1;
		}
		alb_msg_free(m);
	}
	size_t len;
	uint8_t *img = h_image(1, NULL, NULL, 0, 0, &len);
	struct alb_str argv[1] = {{"--sleep-ms=100000000", 20}};
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	struct alb_unikernel_config *c = &cmd.u.create;
	c->typ = ALB_TYP_SOLO5;
	c->image = (struct alb_bytes){img, len};
	c->add_name = true;
	c->n_cpuids = 1;
	c->cpuids = &cpu0;
	c->memory = 16;
	c->has_argv = true;
	c->n_argv = 1;
	c->argv = argv;
	c->numcpus = 1;
	int64_t t0 = h_now_us();
	for (size_t i = 0; i < n_uk; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p%zu:u%zu", i % PATHS, i);
		if (!h_call_is(&h, name, &cmd, "created unikernel"))
			return 1;
	}
	printf("bench-metrics: %zu unikernels created in %.1f s\n", n_uk,
	       (double)(h_now_us() - t0) / 1e6);
	free(img);
	/* alb-statsd has sampled them all */
	for (int64_t end = h_now_us() + 60000000;; h_sleep_ms(500)) {
		double us;
		char *text = scrape(ps, &us);
		size_t k = count_samples(text, "albatross_rss_pages{");
		free(text);
		if (k == n_uk)
			break;
		if (h_now_us() > end) {
			fprintf(stderr, "bench-metrics: alb-statsd samples %zu of %zu\n",
				k, n_uk);
			return 1;
		}
	}
	measure("albd", pa, n_uk);
	measure("alb-consoled", pc, n_uk);
	measure("alb-statsd", ps, n_uk);
	t0 = h_now_us();
	h_stop(&h, SIGTERM);
	stop(statsd);
	stop(consoled);
	printf("bench-metrics: stopped in %.1f s\n", (double)(h_now_us() - t0) / 1e6);
	h_teardown(&h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		n_uk = (size_t)atol(argv[1]);
	if (n_uk == 0)
		n_uk = 1000;
	bench_default_paths();
	return run_in_netns(body);
}
