/* alb-statsd — the statistics daemon, albatross-stats's twin (spec §8.1):
 * learns unikernels from albd, samples them every interval, serves
 * subscribers on <tmpdir>/util/stat.sock, and optionally pushes Influx
 * line protocol (albatross-influx's output, and its own metrics as
 * albatross-stats does) and serves Prometheus.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "albatross/albatross.h"
#include "albatross/stats.h"
#include "daemon_main.h"

static const char *prog = "alb-statsd";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Gathers statistics of the unikernels albd runs (CPU, memory, network)\n"
		"and serves them on <tmpdir>/util/stat.sock.\n\n"
		DAEMON_HELP_HEAD
		"  --interval SECONDS           time between samples (default %d)\n"
		"  --influx HOST[:PORT]         push every sample, and the daemon's metrics\n"
		"                               every 10 s, as Influx line protocol over\n"
		"                               TCP (numeric address, port %d)\n"
		"  --no-drop-path               Influx tag vm: the whole name, not its label\n"
		"  --prometheus ADDR:PORT       serve the samples and the daemon's metrics\n"
		"                               at GET /metrics (Prometheus) over HTTP\n"
		DAEMON_HELP_USER
		DAEMON_HELP_TAIL,
		prog, ALB_STATS_INTERVAL_DEFAULT, ALB_STATS_INFLUX_PORT_DEFAULT);
}

/* --interval: whole seconds, 1 to ALB_STATS_INTERVAL_MAX. */
static int parse_interval(const char *s, unsigned *out)
{
	long long v;
	int rc = daemon_parse_int(prog, "--interval", s, &v);
	if (rc != 0)
		return rc;
	if (v < 1 || v > ALB_STATS_INTERVAL_MAX)
		return daemon_usage_error(prog, "option '--interval': must be 1 to "
					  "%d seconds", ALB_STATS_INTERVAL_MAX);
	*out = (unsigned)v;
	return 0;
}

enum { OPT_INTERVAL = DAEMON_OPT_OWN, OPT_NO_DROP_PATH };

static int take_option(void *ctx, int id, const char *arg)
{
	struct alb_statsd_config *cfg = ctx;
	switch (id) {
	case OPT_INTERVAL: return parse_interval(arg, &cfg->interval_s);
	case OPT_NO_DROP_PATH: cfg->influx_full_names = true; break;
	}
	return 0;
}

static void stop(void *stats)
{
	alb_statsd_shutdown(stats, NULL, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"no-drop-path", no_argument, NULL, OPT_NO_DROP_PATH},
		{NULL, 0, NULL, 0},
	};
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	const struct daemon_prog p = {prog, usage, opts, take_option, &cfg,
				      .metrics = true, .takes_user = true};
	struct daemon_common com;
	int status = daemon_setup(&p, argc, argv, &com);
	if (status >= 0)
		return status;
	cfg.tmpdir = com.tmpdir;
	cfg.listen_fd = com.listen_fd;
	cfg.socket_gid = com.socket_gid;
	cfg.influx = com.influx;
	cfg.prometheus = com.prometheus;

	uv_loop_t loop;
	if (uv_loop_init(&loop) != 0) {
		alb_log_error("cannot make an event loop");
		return 1;
	}
	struct alb_statsd *stats;
	struct alb_error err;
	if (alb_statsd_new(&loop, &cfg, &stats, &err) != 0) {
		alb_log_error("%s", err.msg);
		uv_loop_close(&loop);
		return err.code == ALB_EINVAL ? DAEMON_EXIT_CLI : 1;
	}
	if (alb_statsd_start(stats, &err) != 0) {
		alb_log_error("%s", err.msg);
		/* Runs the loop to close what was set up before the failure. */
		alb_statsd_free(stats);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return err.code == ALB_EINVAL ? DAEMON_EXIT_CLI : 1;
	}
	alb_log_info("%s: sampling every %u s", prog,
		     cfg.interval_s != 0 ? cfg.interval_s
					 : ALB_STATS_INTERVAL_DEFAULT);
	status = daemon_run(prog, &loop, stop, stats);
	alb_statsd_free(stats);
	return status;
}
