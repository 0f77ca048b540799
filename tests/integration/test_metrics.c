/* Integration: the daemons' own metrics (spec §8.6, issue 12) as root in a
 * private network namespace. alb-consoled, alb-statsd and albd (with the
 * fake tender) run with --prometheus and --influx; the test adds a policy
 * and a block device, creates, force-creates, restarts, destroys, and
 * makes unikernels fail (one restarts on failure), then scrapes each
 * daemon: every page passes a strict parser of the exposition format (and
 * `promtool check metrics` when promtool is on PATH or in $ALB_PROMTOOL),
 * and the counts are what the test did. The Influx pushes reach a TCP
 * listener here and carry the measurements and fields of §8.6, albd's
 * second push (10 s after its start) the usage of the policy's path.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "albd_harness.h"
#include "host_helpers.h"
#include "influx_parse.h"
#include "loopback.h"
#include "prom_parse.h"

/* Unikernels, path and block device of the test. */
#define PATH "team:"
#define MEMORY_MB 32
/* Most connections from the daemons to the Influx listener. */
#define INFLUX_CONNS 3

static struct alb_str str(const char *s)
{
	return (struct alb_str){s, strlen(s)};
}

static int64_t now_ms(void)
{
	return monotonic_us() / 1000;
}

static const char *build_root(void)
{
	const char *b = getenv("ALB_BUILD_ROOT");
	return b != NULL ? b : ".";
}

static void if_up_lo(void)
{
	assert_int_equal(system("ip link set lo up"), 0);
}

static pid_t kids[4];
static size_t n_kids;

/* A daemon program of the build tree, started with args (NULL-ended). */
static pid_t spawn(const char *prog, const char *const *args)
{
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/%s", build_root(), prog);
	const char *argv[16] = {exe};
	for (size_t i = 0; args[i] != NULL; i++)
		argv[i + 1] = args[i];
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execv(exe, (char *const *)argv);
		test_child_exit(127);
	}
	if (n_kids < 4)
		kids[n_kids++] = pid;
	return pid;
}

static void forget(pid_t pid)
{
	for (size_t i = 0; i < n_kids; i++)
		if (kids[i] == pid)
			kids[i] = kids[--n_kids];
}

/* SIGTERM, and SIGKILL when it is not gone within 10 s. */
static int stop(pid_t pid)
{
	int st = -1;
	kill(pid, SIGTERM);
	for (int i = 0; i < 1000; i++, h_sleep_ms(10))
		if (waitpid(pid, &st, WNOHANG) == pid) {
			forget(pid);
			return st;
		}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	forget(pid);
	return st;
}

static int teardown(void **state)
{
	(void)state;
	while (n_kids > 0)
		stop(kids[n_kids - 1]);
	return 0;
}

/* ---- Influx: what the daemons push ----------------------------------------- */

struct influx_rx {
	int lfd;
	int fds[INFLUX_CONNS];
	size_t n_fds;
	char *text[INFLUX_CONNS];
	size_t len[INFLUX_CONNS];
};

/* Accepts and reads whatever comes for ms. */
static void influx_pump(struct influx_rx *rx, int ms)
{
	for (int64_t end = now_ms() + ms; now_ms() < end;) {
		struct pollfd p[INFLUX_CONNS + 1];
		p[0] = (struct pollfd){rx->lfd, POLLIN, 0};
		for (size_t i = 0; i < rx->n_fds; i++)
			p[i + 1] = (struct pollfd){rx->fds[i], POLLIN, 0};
		if (poll(p, rx->n_fds + 1, 20) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && rx->n_fds < INFLUX_CONNS) {
			int fd = accept4(rx->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				rx->fds[rx->n_fds++] = fd;
		}
		for (size_t i = 0; i < rx->n_fds; i++) {
			if (!(p[i + 1].revents & (POLLIN | POLLHUP)))
				continue;
			char buf[65536];
			ssize_t n = read(rx->fds[i], buf, sizeof(buf));
			if (n <= 0)
				continue;
			rx->text[i] = realloc(rx->text[i], rx->len[i] + (size_t)n + 1);
			memcpy(rx->text[i] + rx->len[i], buf, (size_t)n);
			rx->len[i] += (size_t)n;
			rx->text[i][rx->len[i]] = '\0';
		}
	}
}

/* Every complete line pushed so far parses; calls fn on each. Returns
 * how many lines fn accepted. */
static int influx_lines(const struct influx_rx *rx,
			bool (*fn)(const struct influx_line *l, void *ctx),
			void *ctx)
{
	int n = 0;
	for (size_t i = 0; i < rx->n_fds; i++) {
		for (const char *l = rx->text[i]; l != NULL && *l;) {
			const char *nl = strchr(l, '\n');
			if (nl == NULL)
				break;
			struct influx_line il;
			const char *e = influx_parse_line(l, (size_t)(nl - l), &il);
			if (e != NULL)
				fail_msg("influx: %s: %.*s", e, (int)(nl - l), l);
			n += fn(&il, ctx);
			l = nl + 1;
		}
	}
	return n;
}

/* A line to look for: measurement, vm, one more tag (or NULL), and the
 * exact field keys in order; values to check (key=value as pushed). */
struct want {
	const char *measurement, *vm, *tag, *tag_value, *keys;
	const char *check[4];
};

static bool matches(const struct influx_line *l, void *ctx)
{
	const struct want *w = ctx;
	if (strcmp(l->measurement, w->measurement) != 0 ||
	    strcmp(l->tags[0].key, "vm") != 0 ||
	    strcmp(l->tags[0].value, w->vm) != 0)
		return false;
	if (w->tag != NULL && (influx_tag(l, w->tag) == NULL ||
			       strcmp(influx_tag(l, w->tag), w->tag_value) != 0))
		return false;
	char keys[1024];
	influx_field_keys(l, keys, sizeof(keys));
	if (strcmp(keys, w->keys) != 0)
		fail_msg("%s,vm=%s: fields %s, expected %s", w->measurement, w->vm,
			 keys, w->keys);
	for (size_t i = 0; i < 4 && w->check[i] != NULL; i++) {
		const char *eq = strchr(w->check[i], '=');
		char key[128];
		snprintf(key, sizeof(key), "%.*s", (int)(eq - w->check[i]), w->check[i]);
		const struct influx_pair *f = influx_field(l, key);
		if (f == NULL || strcmp(f->value, eq + 1) != 0 || !f->integer)
			return false;
	}
	return true;
}

static const char *const RUSAGE_KEYS =
    "utime,stime,maxrss,ixrss,idrss,isrss,minflt,maxflt,nswap,inblock,"
    "outblock,msgsnd,msgrcv,nsignals,nvcsw,nivcsw";
static const char *const KINFO_KEYS =
    "vsize,rss,tsize,dsize,ssize,cow_faults,runtime,uptime";
static const char *const POLICY_KEYS =
    "maximum unikernels,maximum memory,maximum block";
static const char *const USAGE_KEYS =
    "attached used block,unattached used block,total used block,"
    "running unikernels,used memory";

static void expect_line(const struct influx_rx *rx, const struct want *w)
{
	if (influx_lines(rx, matches, (void *)w) == 0)
		fail_msg("no Influx line %s,vm=%s%s%s%s with %s %s", w->measurement,
			 w->vm, w->tag ? "," : "", w->tag ? w->tag : "",
			 w->tag ? "=" : "", w->check[0] ? w->check[0] : "",
			 w->check[1] ? w->check[1] : "");
}

/* ---- Prometheus: a scrape ---------------------------------------------------- */

static char *scrape(int port)
{
	const char *get = "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n";
	char *page = lo_request(port, get, strlen(get));
	assert_non_null(strstr(page, "HTTP/1.0 200 OK\r\nContent-Type: "
				     ALB_METRICS_CONTENT_TYPE "\r\n"));
	char *body = strstr(page, "\r\n\r\n");
	assert_non_null(body);
	char *text = strdup(body + 4);
	free(page);
	return text;
}

/* promtool from $ALB_PROMTOOL or PATH, or NULL. */
static const char *promtool(void)
{
	static char path[512];
	const char *env = getenv("ALB_PROMTOOL");
	if (env != NULL && access(env, X_OK) == 0)
		return env;
	const char *p = getenv("PATH");
	while (p != NULL && *p) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		snprintf(path, sizeof(path), "%.*s/promtool", (int)n, p);
		if (access(path, X_OK) == 0)
			return path;
		p = c ? c + 1 : NULL;
	}
	return NULL;
}

/* The page parses strictly; its names follow the conventions; promtool
 * agrees when it is here. */
static void check_page(const char *who, const char *text, struct prom *p)
{
	const char *e = prom_parse(p, text, strlen(text));
	if (e != NULL)
		fail_msg("%s: %s", who, e);
	for (size_t i = 0; i < p->n_f; i++) {
		const struct prom_family *f = &p->f[i];
		if (strncmp(f->name, "alb_", 4) != 0 &&
		    strncmp(f->name, "albatross_", 10) != 0)
			fail_msg("%s: %s has no alb_ prefix", who, f->name);
		size_t l = strlen(f->name);
		bool total = l > 6 && strcmp(f->name + l - 6, "_total") == 0;
		if (total != (strcmp(f->type, "counter") == 0))
			fail_msg("%s: %s is a %s", who, f->name, f->type);
		if (!f->help)
			fail_msg("%s: %s has no HELP", who, f->name);
	}
	const char *tool = promtool();
	if (tool == NULL) {
		printf("%s: promtool check metrics skipped: no promtool on PATH "
		       "or in $ALB_PROMTOOL (Debian's prometheus package, 96 MB, "
		       "is not in .ci/packages.txt)\n", who);
		return;
	}
	char file[] = "/tmp/alb-metrics-XXXXXX";
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' check metrics < %s 2>&1", tool, file);
	FILE *out = popen(cmd, "r");
	char said[4096] = "";
	size_t n = out != NULL ? fread(said, 1, sizeof(said) - 1, out) : 0;
	said[n] = '\0';
	int st = out != NULL ? pclose(out) : -1;
	unlink(file);
	if (st != 0 || n > 0)
		fail_msg("%s: promtool check metrics: status %d: %s", who, st, said);
	printf("%s: promtool check metrics: no problem\n", who);
}

static double value(struct prom *p, const char *name, const char *labels)
{
	double v = prom_value(p, name, labels);
	if (isnan(v))
		fail_msg("no sample %s{%s}", name, labels);
	return v;
}

#define ASSERT_VALUE(p, name, labels, want)                                    \
	do {                                                                   \
		double v_ = value((p), (name), (labels));                      \
		if (v_ != (double)(want))                                      \
			fail_msg("%s{%s} = %g, expected %g", (name), (labels), \
				 v_, (double)(want));                          \
	} while (0)

/* ---- the test ------------------------------------------------------------------ */

static struct alb_command create_cmd(const uint8_t *img, size_t len,
				     struct alb_str *args, size_t n_args,
				     bool restart)
{
	static int64_t cpu = 0;
	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = ALB_CMD_UNIKERNEL_CREATE;
	c.u.create.typ = ALB_TYP_SOLO5;
	c.u.create.image = (struct alb_bytes){img, len};
	c.u.create.add_name = true;
	c.u.create.n_cpuids = 1;
	c.u.create.cpuids = &cpu;
	c.u.create.memory = MEMORY_MB;
	c.u.create.numcpus = 1;
	c.u.create.has_argv = true;
	c.u.create.n_argv = n_args;
	c.u.create.argv = args;
	c.u.create.fail.restart = restart;
	return c;
}

/* Polls albd's page until name{labels} reaches want (or 10 s pass). */
static void wait_value(int port, const char *name, const char *labels,
		       double want)
{
	double v = NAN;
	for (int64_t end = now_ms() + 10000; now_ms() < end; h_sleep_ms(50)) {
		char *text = scrape(port);
		struct prom p;
		if (prom_parse(&p, text, strlen(text)) == NULL)
			v = prom_value(&p, name, labels);
		prom_free(&p);
		free(text);
		if (v == want)
			return;
	}
	fail_msg("%s{%s} = %g, expected %g", name, labels, v, want);
}

static void test_metrics(void **state)
{
	(void)state;
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/albd", build_root());
	if (access(exe, X_OK) != 0 || getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: albd is not built or ALB_FAKE_TENDER is not set\n");
		skip();
	}
	if_up_lo();
	struct harness h;
	assert_int_equal(h_setup(&h, "metrics"), 0);
	struct influx_rx rx = {0};
	int iport = 0;
	rx.lfd = lo_listen(&iport, INFLUX_CONNS);
	int pport[3] = {lo_free_port(), lo_free_port(), lo_free_port()};
	char influx[32], prom[3][32];
	snprintf(influx, sizeof(influx), "127.0.0.1:%d", iport);
	for (int i = 0; i < 3; i++)
		snprintf(prom[i], sizeof(prom[i]), "127.0.0.1:%d", pport[i]);

	const char *cargs[] = {"-q", "--tmpdir", h.tmpdir, "--influx", influx,
			       "--prometheus", prom[1], NULL};
	pid_t consoled = spawn("alb-consoled", cargs);
	const char *sargs[] = {"-q", "--tmpdir", h.tmpdir, "--interval", "1",
			       "--influx", influx, "--prometheus", prom[2], NULL};
	pid_t statsd = spawn("alb-statsd", sargs);
	char csock[H_PATH * 2];
	snprintf(csock, sizeof(csock), "%s/util/console.sock", h.tmpdir);
	for (int i = 0; i < 200 && access(csock, F_OK) != 0; i++)
		h_sleep_ms(10);
	const char *aargs[] = {"-q", "--influx", influx, "--prometheus", prom[0], NULL};
	int64_t albd_start = now_ms();
	int started = h_start_albd_args(&h, aargs);
	kids[n_kids++] = h.pid;
	assert_int_equal(started, 0);
	influx_pump(&rx, 300);

	/* a policy for team:, and a block device under it */
	struct alb_command pol = {.kind = ALB_CMD_POLICY_ADD};
	int64_t cpu0 = 0;
	pol.u.policy = (struct alb_policy){.unikernels = 10, .n_cpuids = 1,
					   .cpuids = &cpu0, .memory = 512,
					   .has_block = true, .block = 10};
	struct alb_msg *m = h_call(&h, PATH, &pol);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	alb_msg_free(m);
	struct alb_command blk = {.kind = ALB_CMD_BLOCK_ADD, .u.block_size = 1};
	assert_true(h_call_is(&h, PATH "data", &blk, "added block device"));

	size_t len;
	uint8_t *img = h_image(1, NULL, NULL, 0, 0, &len);
	struct alb_str sleep_arg[] = {str("--sleep-ms=120000")};
	struct alb_str usr1_args[] = {str("--sleep-ms=120000"), str("--usr1-exit=2")};
	struct alb_str fail_arg[] = {str("--exit=3")};
	struct alb_command c = create_cmd(img, len, sleep_arg, 1, false);
	/* 3 creates, one more that fails (the name runs), 1 force-create */
	assert_true(h_call_is(&h, PATH "a", &c, "created unikernel"));
	assert_true(h_call_is(&h, PATH "b", &c, "created unikernel"));
	struct alb_command cr = create_cmd(img, len, usr1_args, 2, true);
	assert_true(h_call_is(&h, ":c", &cr, "created unikernel"));
	assert_true(h_call_is(&h, PATH "b", &c,
			      "Unikernel with same name is already running"));
	c.kind = ALB_CMD_UNIKERNEL_FORCE_CREATE;
	assert_true(h_call_is(&h, PATH "a", &c, "created unikernel"));
	/* a restart, a destroy */
	struct alb_command rs = {.kind = ALB_CMD_UNIKERNEL_RESTART};
	assert_true(h_call_is(&h, PATH "a", &rs, "created unikernel"));
	struct alb_command ds = {.kind = ALB_CMD_UNIKERNEL_DESTROY};
	assert_true(h_call_is(&h, PATH "b", &ds, "destroyed unikernel"));
	/* a unikernel that fails at once (no restart), and :c failing with
	 * exit 2 (restarted on failure) */
	struct alb_command cf = create_cmd(img, len, fail_arg, 1, false);
	assert_true(h_call_is(&h, PATH "f", &cf, "created unikernel"));
	pid_t cpid = h_tender_of(&h, ":c");
	assert_true(cpid > 0);
	h_usr1_when_caught(cpid);
	wait_value(pport[0], "alb_unikernel_restarts_total", "cause=\"failure\"", 1);
	wait_value(pport[0], "alb_unikernel_failures_total", "", 2);
	wait_value(pport[0], "alb_usage_unikernels", "domain=\":\"", 2);
	free(img);

	/* alb-statsd: the two running unikernels, their figures first */
	char *text;
	struct prom p;
	for (int64_t end = now_ms() + 10000;; h_sleep_ms(100)) {
		text = scrape(pport[2]);
		const char *e = prom_parse(&p, text, strlen(text));
		if (e != NULL)
			fail_msg("alb-statsd: %s", e);
		if (prom_value(&p, "alb_stats_unikernels", "") == 2 &&
		    prom_find(&p, "albatross_rss_pages", "vm=\":c\"") != NULL)
			break;
		assert_true(now_ms() < end);
		prom_free(&p);
		free(text);
	}
	prom_free(&p);
	check_page("alb-statsd", text, &p);
	assert_true(strncmp(text, "# HELP albatross_", 17) == 0);
	ASSERT_VALUE(&p, "alb_connections_active", "kind=\"unix\"", 0);
	prom_free(&p);
	free(text);

	/* albd: the strict parse and what the test did */
	text = scrape(pport[0]);
	check_page("albd", text, &p);
	ASSERT_VALUE(&p, "alb_unikernel_creates_total", "", 5);
	ASSERT_VALUE(&p, "alb_unikernel_create_failures_total", "", 1);
	ASSERT_VALUE(&p, "alb_unikernel_destroys_total", "", 1);
	ASSERT_VALUE(&p, "alb_unikernel_restarts_total", "cause=\"command\"", 1);
	ASSERT_VALUE(&p, "alb_unikernel_restarts_total", "cause=\"failure\"", 1);
	ASSERT_VALUE(&p, "alb_unikernel_restart_failures_total", "cause=\"command\"", 0);
	ASSERT_VALUE(&p, "alb_unikernel_failures_total", "", 2);
	ASSERT_VALUE(&p, "alb_unikernel_restores_total", "", 0);
	ASSERT_VALUE(&p, "alb_unikernel_create_duration_seconds_count", "command=\"create\"", 4);
	ASSERT_VALUE(&p, "alb_unikernel_create_duration_seconds_count", "command=\"force_create\"", 1);
	ASSERT_VALUE(&p, "alb_unikernel_create_duration_seconds_count", "command=\"restart\"", 1);
	ASSERT_VALUE(&p, "alb_unikernel_create_duration_seconds_bucket",
		     "command=\"create\",le=\"+Inf\"", 4);
	double sum = value(&p, "alb_unikernel_create_duration_seconds_sum", "command=\"create\"");
	assert_true(sum > 0 && sum < 60);
	ASSERT_VALUE(&p, "alb_usage_unikernels", "domain=\":\"", 2);
	ASSERT_VALUE(&p, "alb_usage_unikernels", "domain=\"team\"", 1);
	ASSERT_VALUE(&p, "alb_usage_memory_bytes", "domain=\"team\"", MEMORY_MB * 1048576.0);
	ASSERT_VALUE(&p, "alb_usage_memory_bytes", "domain=\":\"", 2 * MEMORY_MB * 1048576.0);
	ASSERT_VALUE(&p, "alb_usage_block_unattached_bytes", "domain=\"team\"", 1048576);
	ASSERT_VALUE(&p, "alb_usage_block_attached_bytes", "domain=\"team\"", 0);
	ASSERT_VALUE(&p, "alb_usage_block_bytes", "domain=\":\"", 1048576);
	ASSERT_VALUE(&p, "alb_policy_unikernels_max", "domain=\"team\"", 10);
	ASSERT_VALUE(&p, "alb_policy_memory_max_bytes", "domain=\"team\"", 512 * 1048576.0);
	ASSERT_VALUE(&p, "alb_policy_block_max_bytes", "domain=\"team\"", 10 * 1048576.0);
	assert_true(value(&p, "alb_policy_unikernels_max", "domain=\":\"") > 0);
	/* every call here was a connection; alb-statsd holds one (it
	 * learnt the running unikernels through it, above) */
	assert_true(value(&p, "alb_connections_opened_total", "kind=\"unix\"") >= 11);
	assert_true(value(&p, "alb_connections_active", "kind=\"unix\"") >= 1);
	assert_true(value(&p, "alb_process_resident_memory_bytes", "") > 0);
	assert_true(value(&p, "alb_process_open_fds", "") > 0);
	prom_free(&p);
	free(text);

	/* alb-consoled: the FIFOs of the starts (a, b, c, a, a, f, c) */
	text = scrape(pport[1]);
	check_page("alb-consoled", text, &p);

	assert_true(value(&p, "alb_connections_opened_total", "kind=\"fifo\"") >= 7);
	assert_true(value(&p, "alb_connections_active", "kind=\"fifo\"") >= 2);
	assert_true(value(&p, "alb_connections_active", "kind=\"unix\"") >= 1);
	assert_true(value(&p, "alb_console_consoles", "") >= 2);
	prom_free(&p);
	free(text);

	/* Influx: each daemon's first push (at its start), then albd's
	 * second (ALB_METRICS_PUSH_INTERVAL_S later) with the path of the
	 * policy */
	const struct want team = {"albatross-unikernels", "albatross", "domain",
				  "team", USAGE_KEYS,
				  {"running unikernels=1", "used memory=32",
				   "unattached used block=1", "total used block=1"}};
	int64_t end = albd_start + ALB_METRICS_PUSH_INTERVAL_S * 1000 + 10000;
	while (influx_lines(&rx, matches, (void *)&team) == 0 && now_ms() < end)
		influx_pump(&rx, 200);
	printf("albd's second Influx push came %.1f s after its start\n",
	       (double)(now_ms() - albd_start) / 1000);
	assert_int_equal(rx.n_fds, INFLUX_CONNS);
	static const char *const vms[] = {"albatross", "albatross_console",
					  "albatross_stats"};
	for (int i = 0; i < 3; i++) {
		expect_line(&rx, &(struct want){"resource_usage", vms[i], NULL, NULL,
						RUSAGE_KEYS, {NULL}});
		expect_line(&rx, &(struct want){"kinfo_mem", vms[i], NULL, NULL,
						KINFO_KEYS, {NULL}});
		expect_line(&rx, &(struct want){"connections", vms[i], "kind", "unix",
						"active,total", {NULL}});
	}
	expect_line(&rx, &(struct want){"connections", "albatross_console", "kind",
					"fifo", "active,total", {NULL}});
	expect_line(&rx, &(struct want){"albatross-policies", "albatross", "domain",
					":", POLICY_KEYS, {NULL}});
	expect_line(&rx, &(struct want){"albatross-unikernels", "albatross", "domain",
					":", USAGE_KEYS, {NULL}});
	expect_line(&rx, &(struct want){"albatross-policies", "albatross", "domain",
					"team", POLICY_KEYS,
					{"maximum unikernels=10", "maximum memory=512",
					 "maximum block=10", NULL}});
	expect_line(&rx, &team);
	expect_line(&rx, &(struct want){"albatross-unikernels", "albatross", "domain",
					":", USAGE_KEYS, {"running unikernels=2", NULL}});
	/* alb-statsd's unikernel lines share its connection */
	expect_line(&rx, &(struct want){"resource_usage", "c", NULL, NULL,
					RUSAGE_KEYS, {NULL}});

	for (size_t i = 0; i < rx.n_fds; i++) {
		close(rx.fds[i]);
		free(rx.text[i]);
	}
	close(rx.lfd);
	int st = stop(h.pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = stop(statsd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = stop(consoled);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	h_teardown(&h);
}

/* A bad address is a command-line error of each daemon (exit 124). */
static void test_bad_addresses(void **state)
{
	(void)state;
	char dir[] = "/tmp/alb-metrics-bad-XXXXXX";
	assert_non_null(mkdtemp(dir));
	static const char *const progs[] = {"albd", "alb-consoled", "alb-statsd"};
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 2; k++) {
			const char *args[] = {"-q", "--tmpdir", dir, "--dbdir", dir,
					      k ? "--influx" : "--prometheus",
					      k ? "influx.example" : "127.0.0.1", NULL};
			if (i > 0) /* no --dbdir */
				args[3] = args[5], args[4] = args[6], args[5] = NULL;
			pid_t pid = spawn(progs[i], args);
			int st;
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			forget(pid);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 124)
				fail_msg("%s %s: status %d", progs[i], args[3], st);
		}
	}
	remove_tree(dir);
}

static int tests(void)
{
	const struct CMUnitTest list[] = {
	    cmocka_unit_test(test_bad_addresses),
	    cmocka_unit_test_teardown(test_metrics, teardown),
	};
	return cmocka_run_group_tests(list, NULL, NULL);
}

int main(void)
{
	return run_in_netns(tests);
}
