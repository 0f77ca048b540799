/* Unit tests of the daemons' metrics (daemon/common): the registry (bad
 * families, the series, label and bucket limits at and one past), its
 * Prometheus text (exact, and through the strict parser) and Influx lines
 * (exact, grouped by measurement, escaped), numbers as text, the process
 * figures of spec §8.6 (the 16 resource_usage and 8 kinfo_mem fields in
 * Albatross's order), the HTTP request parser and addresses, and on a
 * real loop the exporter (a scrape, Influx pushes at its interval) and the
 * HTTP server's connection limit and timeout (ALB_METRICS_HTTP_*, at and
 * one past).
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "albatross/albatross.h"
#include "dcommon/http.h"
#include "dcommon/inet.h"
#include "dcommon/metrics.h"
#include "dcommon/text.h"
#include "influx_parse.h"
#include "loopback.h"
#include "prom_parse.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The text of a buffer, NUL-terminated (the buffer is freed). */
static char *take_text(struct alb_buf *b)
{
	char *s = malloc(b->len + 1);
	assert_non_null(s);
	if (b->len > 0)
		memcpy(s, b->data, b->len);
	s[b->len] = '\0';
	alb_buf_free(b);
	return s;
}

static char *prometheus(struct dc_metrics *m)
{
	struct alb_buf b = {0};
	assert_int_equal(dc_metrics_prometheus(m, &b, NULL), 0);
	return take_text(&b);
}

static char *influx(struct dc_metrics *m, const char *vm)
{
	struct alb_buf b = {0};
	assert_int_equal(dc_metrics_influx(m, vm, &b, NULL), 0);
	return take_text(&b);
}

/* ---- the registry --------------------------------------------------------- */

static const double two_bounds[] = {0.1, 1};

static void test_bad_families(void **state)
{
	(void)state;
	struct dc_metrics *m = dc_metrics_new();
	assert_non_null(m);
	struct alb_error err;
	const struct dc_metric_def ok = {"a_total", "help", DC_METRIC_COUNTER,
					 false, 0, NULL, NULL, NULL, NULL, 0};
	assert_int_equal(dc_metric_add(m, &ok, NULL, &err), 0);
	/* the same name twice */
	assert_int_equal(dc_metric_add(m, &ok, NULL, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "metric a_total: added twice");
	static const char *const bad_names[] = {"1a", "a-b", "a b", "", "é"};
	for (size_t i = 0; i < LEN(bad_names); i++) {
		struct dc_metric_def d = ok;
		d.name = bad_names[i];
		assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	}
	struct dc_metric_def d = ok;
	d.name = "b";
	d.help = "two\nlines";
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	d.help = "h";
	static const char *const bad_labels[] = {"__x", "a:b", "1", ""};
	for (size_t i = 0; i < LEN(bad_labels); i++) {
		d.label = bad_labels[i];
		assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	}
	d.label = NULL;
	/* neither named nor pushed; a measurement without field; a
	 * measurement with a space */
	d.name = NULL;
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	d.name = "b";
	d.measurement = "m";
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	d.measurement = "m m";
	d.field = "f";
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	d.measurement = NULL;
	d.field = NULL;
	/* histograms: bounds needed, increasing, finite, at most
	 * DC_METRIC_BOUNDS_MAX; no label le; never pushed */
	d.type = DC_METRIC_HISTOGRAM;
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	static const double down[] = {1, 0.5}, same[] = {1, 1}, inf[] = {1, INFINITY};
	const double *bad_bounds[] = {down, same, inf};
	for (size_t i = 0; i < 3; i++) {
		d.bounds = bad_bounds[i];
		d.n_bounds = 2;
		assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	}
	double many[DC_METRIC_BOUNDS_MAX + 1];
	for (size_t i = 0; i < LEN(many); i++)
		many[i] = (double)i;
	d.bounds = many;
	d.n_bounds = DC_METRIC_BOUNDS_MAX + 1;
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	d.bounds = two_bounds;
	d.n_bounds = 2;
	d.label = "le";
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	d.label = NULL;
	d.measurement = "m";
	d.field = "f";
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), ALB_EINVAL);
	d.measurement = NULL;
	d.field = NULL;
	/* nothing was added by the failures; at the bounds limit it is */
	assert_null(dc_metrics_find(m, "b"));
	d.bounds = many;
	d.n_bounds = DC_METRIC_BOUNDS_MAX;
	assert_int_equal(dc_metric_add(m, &d, NULL, &err), 0);
	assert_non_null(dc_metrics_find(m, "b"));
	dc_metrics_free(m);
	dc_metrics_free(NULL);
}

static void test_series_limits(void **state)
{
	(void)state;
	struct dc_metrics *m = dc_metrics_new();
	const struct dc_metric_def d = {"g", "h", DC_METRIC_GAUGE, false, 0,
					"l", NULL, NULL, NULL, 0};
	const struct dc_metric_def plain = {"p", "h", DC_METRIC_GAUGE, false, 0,
					    NULL, NULL, NULL, NULL, 0};
	struct dc_metric *f, *p;
	assert_int_equal(dc_metric_add(m, &d, &f, NULL), 0);
	assert_int_equal(dc_metric_add(m, &plain, &p, NULL), 0);
	/* a label where there is none, none where one is needed */
	assert_null(dc_metric_series(p, "x"));
	assert_null(dc_metric_series(f, NULL));
	assert_non_null(dc_metric_series(p, NULL));
	assert_ptr_equal(dc_metric_series(p, NULL), dc_metric_series(p, NULL));
	/* a label value of DC_METRIC_LABEL_MAX bytes, and one more */
	char *label = malloc(DC_METRIC_LABEL_MAX + 2);
	memset(label, 'x', DC_METRIC_LABEL_MAX + 1);
	label[DC_METRIC_LABEL_MAX + 1] = '\0';
	assert_null(dc_metric_series(f, label));
	label[DC_METRIC_LABEL_MAX] = '\0';
	assert_non_null(dc_metric_series(f, label));
	free(label);
	/* DC_METRIC_SERIES_MAX series, then none more */
	dc_metric_clear(f);
	assert_int_equal(dc_metric_count(f), 0);
	char l[32];
	for (unsigned i = 0; i < DC_METRIC_SERIES_MAX; i++) {
		snprintf(l, sizeof(l), "%u", i);
		struct dc_series *s = dc_metric_append(f, l);
		if (s == NULL)
			fail_msg("series %u refused", i);
		dc_series_set(s, i);
	}
	assert_int_equal(dc_metric_count(f), DC_METRIC_SERIES_MAX);
	assert_null(dc_metric_append(f, "one more"));
	assert_null(dc_metric_series(f, "one more"));
	/* an existing one is still found */
	struct dc_series *last = dc_metric_series(f, l);
	assert_non_null(last);
	assert_int_equal(dc_series_value(last), DC_METRIC_SERIES_MAX - 1);
	/* cleared, the memory is reused and the values start at 0 */
	dc_metric_clear(f);
	struct dc_series *again = dc_metric_append(f, "a");
	assert_non_null(again);
	assert_int_equal(dc_series_value(again), 0);
	assert_int_equal(dc_metric_count(f), 1);
	/* NULL series are no-ops */
	dc_series_add(NULL, 1);
	dc_series_set(NULL, 1);
	dc_series_set_real(NULL, 1);
	dc_series_observe(NULL, 1);
	assert_int_equal(dc_series_value(NULL), 0);
	dc_metrics_free(m);
}

/* ---- the texts ------------------------------------------------------------- */

static void test_real_text(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *text;
	} cases[] = {
	    {0.25, "0.25"}, {1e-6, "1e-06"}, {0.1, "0.1"}, {12345, "12345"},
	    {0, "0"}, {-2.5, "-2.5"}, {1.0 / 3, "0.33333333333333331"},
	    {1796402392.3899069, "1796402392.3899069"},
	};
	for (size_t i = 0; i < LEN(cases); i++) {
		struct alb_buf b = {0};
		struct alb_text t = {&b, false};
		assert_true(alb_text_real(&t, cases[i].v));
		char *s = take_text(&b);
		assert_string_equal(s, cases[i].text);
		assert_true(strtod(s, NULL) == cases[i].v);
		free(s);
	}
	struct alb_buf b = {0};
	struct alb_text t = {&b, false};
	alb_text_real(&t, NAN);
	alb_text_put(&t, " ", 1);
	alb_text_real(&t, INFINITY);
	alb_text_put(&t, " ", 1);
	alb_text_real(&t, -INFINITY);
	char *s = take_text(&b);
	assert_string_equal(s, "NaN +Inf -Inf");
	free(s);
}

/* A registry of every kind of family. */
static struct dc_metrics *sample_registry(void)
{
	static const struct dc_metric_def defs[] = {
	    {"t_events_total", "Events.", DC_METRIC_COUNTER, false, 0, NULL, NULL, NULL, NULL, 0},
	    {"t_memory_bytes", "Memory \"quoted\".", DC_METRIC_GAUGE, false, 1024, "path", NULL, NULL, NULL, 0},
	    {"t_ratio", "A ratio.", DC_METRIC_GAUGE, true, 0, NULL, NULL, NULL, NULL, 0},
	    {"t_latency_seconds", "Latency.", DC_METRIC_HISTOGRAM, true, 0, "op", NULL, NULL, two_bounds, 2},
	};
	struct dc_metrics *m = dc_metrics_new();
	struct dc_metric *f[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(dc_metric_add(m, &defs[i], &f[i], NULL), 0);
	dc_series_add(dc_metric_series(f[0], NULL), 3);
	dc_series_set(dc_metric_series(f[1], "a\"b\\c\nd"), 2);
	dc_series_set(dc_metric_series(f[1], ":"), 0);
	dc_series_set_real(dc_metric_series(f[2], NULL), 0.25);
	struct dc_series *h = dc_metric_series(f[3], "create");
	dc_series_observe(h, 0.05);
	dc_series_observe(h, 0.1); /* le is inclusive */
	dc_series_observe(h, 0.5);
	dc_series_observe(h, 5);
	dc_series_observe(h, NAN);
	dc_metric_series(f[3], "restart");
	return m;
}

static void test_prometheus_text(void **state)
{
	(void)state;
	struct dc_metrics *m = sample_registry();
	char *text = prometheus(m);
	assert_string_equal(text,
	    "# HELP t_events_total Events.\n"
	    "# TYPE t_events_total counter\n"
	    "t_events_total 3\n"
	    "# HELP t_memory_bytes Memory \"quoted\".\n"
	    "# TYPE t_memory_bytes gauge\n"
	    "t_memory_bytes{path=\"a\\\"b\\\\c\\nd\"} 2048\n"
	    "t_memory_bytes{path=\":\"} 0\n"
	    "# HELP t_ratio A ratio.\n"
	    "# TYPE t_ratio gauge\n"
	    "t_ratio 0.25\n"
	    "# HELP t_latency_seconds Latency.\n"
	    "# TYPE t_latency_seconds histogram\n"
	    "t_latency_seconds_bucket{op=\"create\",le=\"0.1\"} 2\n"
	    "t_latency_seconds_bucket{op=\"create\",le=\"1\"} 3\n"
	    "t_latency_seconds_bucket{op=\"create\",le=\"+Inf\"} 4\n"
	    "t_latency_seconds_sum{op=\"create\"} 5.65\n"
	    "t_latency_seconds_count{op=\"create\"} 4\n"
	    "t_latency_seconds_bucket{op=\"restart\",le=\"0.1\"} 0\n"
	    "t_latency_seconds_bucket{op=\"restart\",le=\"1\"} 0\n"
	    "t_latency_seconds_bucket{op=\"restart\",le=\"+Inf\"} 0\n"
	    "t_latency_seconds_sum{op=\"restart\"} 0\n"
	    "t_latency_seconds_count{op=\"restart\"} 0\n");
	/* and the strict parser takes it */
	struct prom p;
	const char *e = prom_parse(&p, text, strlen(text));
	if (e != NULL)
		fail_msg("%s", e);
	assert_true(prom_value(&p, "t_memory_bytes", "path=\":\"") == 0);
	prom_free(&p);
	free(text);
	dc_metrics_free(m);
}

/* The parser refuses what the format does not allow. */
static void test_strict_parser(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "x 1\n",                                      /* no TYPE */
	    "# TYPE x gauge\nx 1",                        /* no final newline */
	    "# TYPE x gauge\n\nx 1\n",                    /* empty line */
	    "# TYPE x gauge\n# comment\nx 1\n",           /* other comment */
	    "# TYPE x gauge\nx 1 1700000000\n",           /* timestamp */
	    "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",     /* label twice */
	    "# TYPE x gauge\nx{a=1} 1\n",                 /* unquoted */
	    "# TYPE x gauge\nx{a=\"\\t\"} 1\n",           /* bad escape */
	    "# TYPE x gauge\nx 1\nx 2\n",                 /* series twice */
	    "# TYPE x gauge\nx one\n",                    /* bad value */
	    "# TYPE x counter\nx -1\n",                   /* negative count */
	    "# TYPE x gauge\n# TYPE y gauge\nx 1\n",      /* wrong family */
	    "# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\n# HELP x h\n",
	    "# TYPE x histogram\nx_bucket{le=\"1\"} 2\nx_bucket{le=\"+Inf\"} 1\n"
	    "x_sum 1\nx_count 1\n",                       /* not cumulative */
	    "# TYPE x histogram\nx_bucket{le=\"1\"} 1\nx_sum 1\nx_count 1\n",
	    "# TYPE x histogram\nx_bucket{le=\"+Inf\"} 2\nx_sum 1\nx_count 1\n",
	    "# TYPE x histogram\nx_bucket{le=\"+Inf\"} 1\nx_count 1\n",
	    "# TYPE x histogram\nx 1\n",
	    "# TYPE x gauge\nx{le=\"1\"} 1\n",
	};
	for (size_t i = 0; i < LEN(bad); i++) {
		struct prom p;
		if (prom_parse(&p, bad[i], strlen(bad[i])) == NULL)
			fail_msg("accepted: %s", bad[i]);
		prom_free(&p);
	}
	const char *good = "# HELP x h \\\\ \\n\n# TYPE x histogram\n"
			   "x_bucket{a=\"1\",le=\"0.5\"} 0\n"
			   "x_bucket{a=\"1\",le=\"+Inf\"} 1\nx_sum{a=\"1\"} 3\n"
			   "x_count{a=\"1\"} 1\n# TYPE y untyped\ny{b=\"\\\"\"} NaN\n";
	struct prom p;
	const char *e = prom_parse(&p, good, strlen(good));
	if (e != NULL)
		fail_msg("%s", e);
	assert_int_equal(p.n, 5);
	assert_true(isnan(prom_value(&p, "y", "b=\"\\\"\"")));
	prom_free(&p);
}

static void test_prometheus_parsed(void **state)
{
	(void)state;
	struct dc_metrics *m = sample_registry();
	/* a help text with a backslash cannot be written: the registry's
	 * texts never have one (check_def refuses it) */
	struct alb_error err;
	const struct dc_metric_def bs = {"z", "a \\ b", DC_METRIC_GAUGE, false, 0,
					 NULL, NULL, NULL, NULL, 0};
	assert_int_equal(dc_metric_add(m, &bs, NULL, &err), ALB_EINVAL);
	dc_metrics_free(m);
	/* without it, the text parses, with its types and values */
	m = dc_metrics_new();
	static const struct dc_metric_def h = {"t_latency_seconds", "Latency.",
					       DC_METRIC_HISTOGRAM, true, 0, NULL,
					       NULL, NULL, two_bounds, 2};
	struct dc_metric *f;
	assert_int_equal(dc_metric_add(m, &h, &f, NULL), 0);
	struct dc_series *s = dc_metric_series(f, NULL);
	for (int i = 0; i < 10; i++)
		dc_series_observe(s, i * 0.2);
	char *text = prometheus(m);
	struct prom p;
	const char *e = prom_parse(&p, text, strlen(text));
	if (e != NULL)
		fail_msg("%s\n%s", e, text);
	assert_string_equal(prom_type(&p, "t_latency_seconds"), "histogram");
	assert_true(prom_value(&p, "t_latency_seconds_bucket", "le=\"0.1\"") == 1);
	assert_true(prom_value(&p, "t_latency_seconds_bucket", "le=\"1\"") == 6);
	assert_true(prom_value(&p, "t_latency_seconds_bucket", "le=\"+Inf\"") == 10);
	assert_true(prom_value(&p, "t_latency_seconds_count", "") == 10);
	prom_free(&p);
	free(text);
	dc_metrics_free(m);
}

static void test_influx_text(void **state)
{
	(void)state;
	static const struct dc_metric_def defs[] = {
	    {"t_max", "Max.", DC_METRIC_GAUGE, false, 1048576, "domain", "t-policies", "maximum memory", NULL, 0},
	    {NULL, NULL, DC_METRIC_GAUGE, false, 0, "domain", "t-policies", "count", NULL, 0},
	    {"t_up", "Up.", DC_METRIC_GAUGE, true, 0, NULL, "proc", "uptime", NULL, 0},
	    {"t_only_prom", "P.", DC_METRIC_GAUGE, false, 0, NULL, NULL, NULL, NULL, 0},
	    {NULL, NULL, DC_METRIC_COUNTER, false, 0, NULL, "proc", "n", NULL, 0},
	};
	struct dc_metrics *m = dc_metrics_new();
	struct dc_metric *f[5];
	for (int i = 0; i < 5; i++)
		assert_int_equal(dc_metric_add(m, &defs[i], &f[i], NULL), 0);
	dc_series_set(dc_metric_series(f[0], ":"), 512);
	dc_series_set(dc_metric_series(f[0], "a,b c=d"), 0);
	dc_series_set(dc_metric_series(f[1], ":"), 7);
	dc_series_set(dc_metric_series(f[1], "a,b c=d"), 1);
	dc_series_set_real(dc_metric_series(f[2], NULL), 1.5);
	dc_series_set(dc_metric_series(f[3], NULL), 9);
	dc_series_set(dc_metric_series(f[4], NULL), 18446744073709551615u);
	char *text = influx(m, "albatross");
	/* "proc" is not contiguous: two groups, each one line */
	assert_string_equal(text,
	    "t-policies,vm=albatross,domain=: maximum\\ memory=512i,count=7i\n"
	    "t-policies,vm=albatross,domain=a\\,b\\ c\\=d maximum\\ memory=0i,count=1i\n"
	    "proc,vm=albatross uptime=1.500000\n"
	    "proc,vm=albatross n=18446744073709551615i\n");
	for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
		struct influx_line il;
		const char *e = influx_parse_line(l, (size_t)(strchr(l, '\n') - l), &il);
		if (e != NULL)
			fail_msg("%s: %s", e, l);
	}
	free(text);
	/* Prometheus shows the same in base units */
	text = prometheus(m);
	assert_non_null(strstr(text, "\nt_max{domain=\":\"} 536870912\n"));
	assert_non_null(strstr(text, "\nt_up 1.5\n"));
	assert_null(strstr(text, "count"));
	free(text);
	dc_metrics_free(m);
}

/* ---- the process -------------------------------------------------------------- */

static void test_process(void **state)
{
	(void)state;
	struct dc_metrics *m = dc_metrics_new();
	struct alb_error err;
	assert_int_equal(dc_metrics_add_process(m, &err), 0);
	struct dc_series *active, *opened, *a2, *o2;
	assert_int_equal(dc_metrics_connections(m, "unix", &active, &opened, &err), 0);
	assert_int_equal(dc_metrics_connections(m, "fifo", &a2, &o2, &err), 0);
	dc_series_set(active, 2);
	dc_series_set(opened, 5);
	char *text = prometheus(m);
	struct prom p;
	const char *e = prom_parse(&p, text, strlen(text));
	if (e != NULL)
		fail_msg("%s", e);
	for (size_t i = 0; i < p.n_f; i++) {
		assert_true(strncmp(p.f[i].name, "alb_", 4) == 0);
		assert_true(p.f[i].help);
		size_t l = strlen(p.f[i].name);
		bool total = l > 6 && strcmp(p.f[i].name + l - 6, "_total") == 0;
		assert_int_equal(total, strcmp(p.f[i].type, "counter") == 0);
	}
	assert_string_equal(prom_type(&p, "alb_process_user_cpu_seconds_total"), "counter");
	assert_string_equal(prom_type(&p, "alb_process_resident_memory_bytes"), "gauge");
	assert_true(prom_value(&p, "alb_process_resident_memory_bytes", "") > 0);
	assert_true(prom_value(&p, "alb_process_max_resident_memory_bytes", "") > 0);
	assert_true(prom_value(&p, "alb_process_open_fds", "") >= 3);
	double up = prom_value(&p, "alb_process_uptime_seconds", "");
	assert_true(up >= 0 && up < 3600);
	assert_true(prom_value(&p, "alb_process_start_time_seconds", "") >
		    (double)time(NULL) - 3600);
	char version[64];
	snprintf(version, sizeof(version), "version=\"%s\"", alb_version());
	assert_true(prom_value(&p, "alb_build_info", version) == 1);
	assert_true(prom_value(&p, "alb_connections_active", "kind=\"unix\"") == 2);
	assert_true(prom_value(&p, "alb_connections_opened_total", "kind=\"unix\"") == 5);
	assert_true(prom_value(&p, "alb_connections_active", "kind=\"fifo\"") == 0);
	prom_free(&p);
	free(text);

	/* Influx: Albatross's measurements and fields, in its order */
	text = influx(m, "albatross_console");
	static const char *const want[][2] = {
	    {"resource_usage", "utime,stime,maxrss,ixrss,idrss,isrss,minflt,maxflt,"
			       "nswap,inblock,outblock,msgsnd,msgrcv,nsignals,"
			       "nvcsw,nivcsw"},
	    {"kinfo_mem", "vsize,rss,tsize,dsize,ssize,cow_faults,runtime,uptime"},
	    {"connections", "active,total"},
	    {"connections", "active,total"},
	};
	size_t n = 0;
	for (const char *l = text; *l; l = strchr(l, '\n') + 1, n++) {
		struct influx_line il;
		e = influx_parse_line(l, (size_t)(strchr(l, '\n') - l), &il);
		if (e != NULL)
			fail_msg("%s: %s", e, l);
		assert_true(n < 4);
		assert_string_equal(il.measurement, want[n][0]);
		assert_string_equal(influx_tag(&il, "vm"), "albatross_console");
		assert_string_equal(il.tags[0].key, "vm");
		char keys[512];
		influx_field_keys(&il, keys, sizeof(keys));
		assert_string_equal(keys, want[n][1]);
		for (size_t k = 0; k < il.n_fields; k++) {
			bool real = strcmp(il.fields[k].key, "utime") == 0 ||
				    strcmp(il.fields[k].key, "stime") == 0 ||
				    strcmp(il.fields[k].key, "uptime") == 0;
			assert_int_equal(il.fields[k].integer, !real);
		}
		if (n >= 2)
			assert_string_equal(influx_tag(&il, "kind"), n == 2 ? "unix" : "fifo");
		if (n == 2) {
			assert_string_equal(influx_field(&il, "active")->value, "2");
			assert_string_equal(influx_field(&il, "total")->value, "5");
		}
	}
	assert_int_equal(n, 4);
	free(text);
	dc_metrics_free(m);
}

/* Entries of /proc/self/fd less the directory's own descriptor. */
static uint64_t fds_listed(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	uint64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

static unsigned long fd_table(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long size = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "FDSize: %lu", &size) == 1)
			break;
	fclose(f);
	return size;
}

/* One poll() over a table of DC_FD_TABLE_POLL_MAX slots, /proc/self/fd
 * past it: the same count. */
static void test_open_fds(void **state)
{
	(void)state;
	uint64_t base = dc_open_fds();
	assert_true(base >= 3);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dc_open_fds(), base + 2);
	close(p[0]);
	close(p[1]);
	assert_int_equal(dc_open_fds(), base);
	assert_int_equal(dc_open_fds(), fds_listed());
	struct rlimit rl, old;
	getrlimit(RLIMIT_NOFILE, &old);
	/* room for descriptor DC_FD_TABLE_POLL_MAX (root may raise the
	 * hard limit) */
	rl = old;
	if (rl.rlim_max <= DC_FD_TABLE_POLL_MAX)
		rl.rlim_max = DC_FD_TABLE_POLL_MAX + 1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		printf("open fds past %d: skipped, RLIMIT_NOFILE is %llu and "
		       "cannot be raised: %s\n", DC_FD_TABLE_POLL_MAX,
		       (unsigned long long)old.rlim_max, strerror(errno));
		return;
	}
	/* a table of exactly the limit, then of twice it */
	int at = DC_FD_TABLE_POLL_MAX - 1, past = DC_FD_TABLE_POLL_MAX;
	assert_int_equal(dup2(0, at), at);
	assert_int_equal(fd_table(), DC_FD_TABLE_POLL_MAX);
	assert_int_equal(dc_open_fds(), base + 1);
	assert_int_equal(dup2(0, past), past);
	assert_true(fd_table() > DC_FD_TABLE_POLL_MAX);
	assert_int_equal(dc_open_fds(), base + 2);
	close(at);
	close(past);
	setrlimit(RLIMIT_NOFILE, &old);
}

/* ---- HTTP requests and addresses -------------------------------------------- */

static enum dc_http_verdict http(const char *req, bool *head)
{
	return dc_http_parse(req, strlen(req), head);
}

static void test_http_parse(void **state)
{
	(void)state;
	bool head;
	assert_int_equal(http("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &head),
			 DC_HTTP_METRICS);
	assert_false(head);
	assert_int_equal(http("GET /metrics?x=1 HTTP/1.0\r\n\r\n", &head),
			 DC_HTTP_METRICS);
	assert_int_equal(http("HEAD /metrics HTTP/1.0\n\n", &head),
			 DC_HTTP_METRICS);
	assert_true(head);
	assert_int_equal(http("GET / HTTP/1.0\r\n\r\n", &head), DC_HTTP_NOT_FOUND);
	assert_int_equal(http("GET /metricsx HTTP/1.0\r\n\r\n", &head),
			 DC_HTTP_NOT_FOUND);
	assert_int_equal(http("GET /metrics/ HTTP/1.0\r\n\r\n", &head),
			 DC_HTTP_NOT_FOUND);
	assert_int_equal(http("POST /metrics HTTP/1.0\r\n\r\n", &head),
			 DC_HTTP_BAD_METHOD);
	assert_int_equal(http("get /metrics HTTP/1.0\r\n\r\n", &head),
			 DC_HTTP_BAD_METHOD);
	/* incomplete until the blank line */
	assert_int_equal(http("", &head), DC_HTTP_INCOMPLETE);
	assert_int_equal(http("GET /metrics HTTP/1.0\r\n", &head),
			 DC_HTTP_INCOMPLETE);
	assert_int_equal(http("GET /metrics HTTP/1.0\r\nA: b\r\n\r", &head),
			 DC_HTTP_INCOMPLETE);
	static const char *const bad[] = {
	    "GET /metrics\r\n\r\n",           /* HTTP/0.9 */
	    "GET  /metrics HTTP/1.0\r\n\r\n", /* empty target */
	    "GET /metrics HTTP/2.0\r\n\r\n",
	    "GET /metrics HTTP/1.10\r\n\r\n",
	    "GET /met rics HTTP/1.0\r\n\r\n",
	    " GET /metrics HTTP/1.0\r\n\r\n",
	    "G(T /metrics HTTP/1.0\r\n\r\n",
	    "\r\n\r\n",
	};
	for (size_t i = 0; i < LEN(bad); i++)
		assert_int_equal(http(bad[i], &head), DC_HTTP_BAD_REQUEST);

	/* the request ends exactly at the limit, or one byte past it */
	char *big = malloc(ALB_METRICS_HTTP_REQUEST_MAX + 2);
	assert_non_null(big);
	const char *line = "GET /metrics HTTP/1.0\r\nX: ";
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t len = ALB_METRICS_HTTP_REQUEST_MAX + extra;
		memset(big, 'a', len);
		memcpy(big, line, strlen(line));
		memcpy(big + len - 4, "\r\n\r\n", 4);
		assert_int_equal(dc_http_parse(big, len, &head),
				 extra == 0 ? DC_HTTP_METRICS : DC_HTTP_TOO_LARGE);
		/* nothing to end it within the limit: too large as soon as
		 * the limit is reached, incomplete just before */
		memset(big + len - 4, 'a', 4);
		assert_int_equal(dc_http_parse(big, len, &head), DC_HTTP_TOO_LARGE);
		assert_int_equal(dc_http_parse(big, ALB_METRICS_HTTP_REQUEST_MAX - 1,
					       &head),
				 DC_HTTP_INCOMPLETE);
	}
	free(big);
}

static void test_parse_addr(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	struct alb_error err;
	assert_int_equal(dc_parse_addr("127.0.0.1:9100", 8094, &ss, &err), 0);
	assert_int_equal(v4->sin_family, AF_INET);
	assert_int_equal(ntohs(v4->sin_port), 9100);
	assert_int_equal(ntohl(v4->sin_addr.s_addr), 0x7f000001);
	char text[DC_ADDR_TEXT_MAX + 8];
	dc_addr_text((struct sockaddr *)&ss, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1:9100");
	assert_int_equal(dc_parse_addr("10.0.0.2", 8094, &ss, &err), 0);
	assert_int_equal(ntohs(v4->sin_port), 8094);
	assert_int_equal(dc_parse_addr("[::1]:65535", 8094, &ss, &err), 0);
	assert_int_equal(v6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(v6->sin6_port), 65535);
	dc_addr_text((struct sockaddr *)&ss, text, sizeof(text));
	assert_string_equal(text, "[::1]:65535");
	assert_int_equal(dc_parse_addr("::1", 8094, &ss, &err), 0);
	assert_int_equal(ntohs(v6->sin6_port), 8094);
	assert_int_equal(dc_parse_addr("[::1]", 1, &ss, &err), 0);
	assert_int_equal(ntohs(v6->sin6_port), 1);
	static const char *const bad[] = {
	    "localhost:8094", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:",
	    "127.0.0.1:x",    "127.0.0.1:-1", "[::1", "[::1]x", "", ":80",
	    "127.0.0.1:+80", "300.0.0.1:80"};
	for (size_t i = 0; i < LEN(bad); i++)
		assert_int_equal(dc_parse_addr(bad[i], 8094, &ss, &err), ALB_EINVAL);
	assert_int_equal(dc_parse_addr("127.0.0.1", 0, &ss, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "invalid address '127.0.0.1': a port is required");
	/* DC_ADDR_TEXT_MAX bytes are read, one more is refused */
	char lng[DC_ADDR_TEXT_MAX + 2];
	memset(lng, '1', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	assert_int_equal(dc_parse_addr(lng, 8094, &ss, &err), ALB_EINVAL);
	assert_non_null(strstr(err.msg, "longer than"));
	lng[DC_ADDR_TEXT_MAX] = '\0';
	assert_int_equal(dc_parse_addr(lng, 8094, &ss, &err), ALB_EINVAL);
	assert_null(strstr(err.msg, "longer than"));
	struct dc_exporter_config ec = {.influx = "127.0.0.1", .prometheus = "::1"};
	assert_int_equal(dc_exporter_check(&ec, &err), ALB_EINVAL);
	ec.prometheus = "[::1]:9100";
	assert_int_equal(dc_exporter_check(&ec, &err), 0);
}

/* ---- on a loop ---------------------------------------------------------------- */

static char *http_get(int port, const char *req)
{
	return lo_request(port, req, strlen(req));
}

static bool closed_silently(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* A loop on a thread of its own, serving what was set up on it before the
 * thread started; stop() closes it from the test's thread. */
struct looper {
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t thread;
	struct dc_exporter *exp;
	struct dc_http_server *http;
};

static void on_stop(uv_async_t *a)
{
	struct looper *l = a->data;
	dc_exporter_close(l->exp, NULL, NULL);
	dc_http_server_close(l->http, NULL, NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void *loop_main(void *arg)
{
	struct looper *l = arg;
	uv_run(&l->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void looper_init(struct looper *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(uv_loop_init(&l->loop), 0);
	uv_async_init(&l->loop, &l->stop, on_stop);
	l->stop.data = l;
}

static void looper_run(struct looper *l)
{
	assert_int_equal(pthread_create(&l->thread, NULL, loop_main, l), 0);
}

static void looper_stop(struct looper *l)
{
	uv_async_send(&l->stop);
	pthread_join(l->thread, NULL);
	assert_int_equal(uv_loop_close(&l->loop), 0);
}

/* Reads from fd for ms and returns what came. */
static char *read_for(int fd, int ms)
{
	size_t cap = 1 << 16, len = 0;
	char *b = malloc(cap);
	assert_non_null(b);
	for (int64_t end = now_ms() + ms; now_ms() < end && len + 1 < cap;) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 20) != 1)
			continue;
		ssize_t n = read(fd, b + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	b[len] = '\0';
	return b;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;
	for (const char *l = text; *l;) {
		n += strncmp(l, prefix, strlen(prefix)) == 0;
		const char *nl = strchr(l, '\n');
		if (nl == NULL)
			break;
		l = nl + 1;
	}
	return n;
}

static int before_text(void *ctx, struct alb_buf *out)
{
	struct alb_text t = {out, false};
	alb_text_str(&t, ctx);
	return t.failed ? ALB_ENOMEM : 0;
}

static void test_exporter(void **state)
{
	(void)state;
	struct looper l;
	looper_init(&l);
	struct dc_metrics *m = dc_metrics_new();
	assert_int_equal(dc_metrics_add_process(m, NULL), 0);
	int iport = 0, ilfd = lo_listen(&iport, 4), pport = lo_free_port();
	char influx_addr[32], prom_addr[32];
	snprintf(influx_addr, sizeof(influx_addr), "127.0.0.1:%d", iport);
	snprintf(prom_addr, sizeof(prom_addr), "127.0.0.1:%d", pport);
	struct dc_exporter_config ec = {
	    .influx = influx_addr,
	    .prometheus = prom_addr,
	    .vm = "albatross",
	    .push_interval_ms = 200,
	    .before = before_text,
	    .before_ctx = "# TYPE first gauge\nfirst 1\n",
	};
	struct alb_error err;
	assert_int_equal(dc_exporter_new(&l.loop, m, &ec, &l.exp, &err), 0);
	assert_true(dc_exporter_has_influx(l.exp));
	/* the port is taken now: a second exporter on it fails cleanly */
	struct dc_exporter *second = NULL;
	ec.influx = NULL;
	assert_int_equal(dc_exporter_new(&l.loop, m, &ec, &second, &err), ALB_ESYS);
	assert_non_null(strstr(err.msg, "prometheus endpoint: cannot listen on 127.0.0.1:"));
	assert_null(second);
	looper_run(&l);

	/* pushed at once, then every 200 ms: resource_usage lines */
	int ifd = -1;
	struct pollfd pf = {ilfd, POLLIN, 0};
	assert_int_equal(poll(&pf, 1, 5000), 1);
	ifd = accept(ilfd, NULL, NULL);
	assert_true(ifd >= 0);
	char *lines = read_for(ifd, 700);
	int pushes = count_lines(lines, "resource_usage,vm=albatross ");
	/* at 0, 200, 400 and 600 ms, give or take a busy machine */
	assert_true(pushes >= 2 && pushes <= 5);
	assert_int_equal(count_lines(lines, "kinfo_mem,vm=albatross "), pushes);
	free(lines);

	/* a scrape: the text before, then the registry's, which parses */
	char *r = http_get(pport, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 200 OK\r\nContent-Type: " ALB_METRICS_CONTENT_TYPE "\r\n"));
	char *body = strstr(r, "\r\n\r\n") + 4;
	assert_true(strncmp(body, "# TYPE first gauge\nfirst 1\n", 27) == 0);
	struct prom p;
	const char *e = prom_parse(&p, body, strlen(body));
	if (e != NULL)
		fail_msg("%s", e);
	assert_true(prom_value(&p, "alb_metrics_render_duration_seconds", "") >= 0);
	prom_free(&p);
	free(r);
	/* the render time of that scrape shows in the next */
	r = http_get(pport, "GET /metrics HTTP/1.0\r\n\r\n");
	body = strstr(r, "\r\n\r\n") + 4;
	assert_null(prom_parse(&p, body, strlen(body)));
	double t = prom_value(&p, "alb_metrics_render_duration_seconds", "");
	assert_true(t > 0 && t < 1);
	prom_free(&p);
	free(r);

	/* the Influx server goes away and comes back: the next push
	 * reconnects */
	close(ifd);
	assert_int_equal(poll(&pf, 1, 5000), 1);
	ifd = accept(ilfd, NULL, NULL);
	assert_true(ifd >= 0);
	lines = read_for(ifd, 300);
	assert_true(count_lines(lines, "resource_usage,vm=albatross ") >= 1);
	free(lines);
	close(ifd);
	close(ilfd);
	looper_stop(&l);
	dc_metrics_free(m);
}

static int render_fixed(void *ctx, struct alb_buf *out)
{
	(void)ctx;
	return before_text("# TYPE x gauge\nx 1\n", out);
}

static void test_http_limits(void **state)
{
	(void)state;
	struct looper l;
	looper_init(&l);
	int pport = lo_free_port();
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)pport),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(dc_http_server_new(&l.loop, (struct sockaddr *)&sa,
					    render_fixed, NULL, &l.http, NULL),
			 0);
	looper_run(&l);
	int fds[ALB_METRICS_HTTP_CONN_MAX + 1];
	int64_t t0 = now_ms();
	for (int i = 0; i < ALB_METRICS_HTTP_CONN_MAX; i++)
		fds[i] = lo_connect(pport);
	/* one past the limit: closed at once */
	int64_t t1 = now_ms();
	fds[ALB_METRICS_HTTP_CONN_MAX] = lo_connect(pport);
	assert_true(closed_silently(fds[ALB_METRICS_HTTP_CONN_MAX]));
	close(fds[ALB_METRICS_HTTP_CONN_MAX]);
	assert_true(now_ms() - t1 < 2000);
	/* at the limit, every one is served: a request finished just
	 * before the timeout is answered */
	const char *part1 = "GET /metrics HT", *part2 = "TP/1.0\r\n\r\n";
	assert_int_equal(write(fds[0], part1, strlen(part1)), (ssize_t)strlen(part1));
	usleep((ALB_METRICS_HTTP_TIMEOUT_MS - 700) * 1000);
	assert_int_equal(write(fds[0], part2, strlen(part2)), (ssize_t)strlen(part2));
	char *r = lo_read_all(fds[0]);
	if (strstr(r, "HTTP/1.0 200 OK\r\n") == NULL)
		fail_msg("answer after %lld ms: '%.80s'", (long long)(now_ms() - t0), r);
	assert_non_null(strstr(r, "\r\n\r\n# TYPE x gauge\nx 1\n"));
	free(r);
	/* one that sends nothing is closed at the timeout */
	char c;
	assert_int_equal(read(fds[1], &c, 1), 0);
	int64_t waited = now_ms() - t0;
	assert_true(waited >= ALB_METRICS_HTTP_TIMEOUT_MS - 100);
	assert_true(waited < ALB_METRICS_HTTP_TIMEOUT_MS + 2000);
	for (int i = 0; i < ALB_METRICS_HTTP_CONN_MAX; i++)
		close(fds[i]);
	/* once they are gone, a new one is served */
	usleep(100000);
	r = http_get(pport, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 200 OK\r\n"));
	free(r);
	looper_stop(&l);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_families),
	    cmocka_unit_test(test_series_limits),
	    cmocka_unit_test(test_real_text),
	    cmocka_unit_test(test_prometheus_text),
	    cmocka_unit_test(test_strict_parser),
	    cmocka_unit_test(test_prometheus_parsed),
	    cmocka_unit_test(test_influx_text),
	    cmocka_unit_test(test_process),
	    cmocka_unit_test(test_open_fds),
	    cmocka_unit_test(test_http_parse),
	    cmocka_unit_test(test_parse_addr),
	    cmocka_unit_test(test_exporter),
	    cmocka_unit_test(test_http_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
