/* alb-statsd — the statistics daemon, albatross-stats's twin (spec §8.1):
 * learns unikernels from albd, samples them every interval, serves
 * subscribers on <tmpdir>/util/stat.sock, and optionally pushes Influx
 * line protocol (albatross-influx's output) and serves Prometheus.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "albatross/albatross.h"
#include "albatross/stats.h"
#include "albatross/vmmd.h"

/* Exit status of a command-line error (Cmdliner's, as albatross-stats). */
#define EXIT_CLI 124

static const char *prog = "alb-statsd";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Gathers statistics of the unikernels albd runs (CPU, memory, network)\n"
		"and serves them on <tmpdir>/util/stat.sock.\n\n"
		"  --tmpdir DIR                 runtime directory (default %s)\n"
		"  --systemd-socket-activation  serve the socket systemd passes\n"
		"  --interval SECONDS           time between samples (default %d)\n"
		"  --influx HOST[:PORT]         push every sample as Influx line protocol\n"
		"                               over TCP (numeric address, port %d)\n"
		"  --no-drop-path               Influx tag vm: the whole name, not its label\n"
		"  --prometheus ADDR:PORT       serve GET /metrics (Prometheus) over HTTP\n"
		"  -v, --verbose                more log messages (repeatable)\n"
		"  -q, --quiet                  only errors\n"
		"  --syslog                     log to syslog instead of stderr\n"
		"  --version                    show the version\n"
		"  -h, --help                   show this help\n",
		prog, ALB_TMPDIR_DEFAULT, ALB_STATS_INTERVAL_DEFAULT,
		ALB_STATS_INFLUX_PORT_DEFAULT);
}

static int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_CLI;
}

/* --interval: whole seconds, 1 to ALB_STATS_INTERVAL_MAX. */
static int parse_interval(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return cli_error("option '--interval': invalid value '%s', "
				 "expected an integer", s);
	if (v < 1 || v > ALB_STATS_INTERVAL_MAX)
		return cli_error("option '--interval': must be 1 to %d seconds",
				 ALB_STATS_INTERVAL_MAX);
	*out = (unsigned)v;
	return 0;
}

/* Each unikernel keeps three /proc files open: use all we may. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct daemon {
	struct alb_statsd *stats;
	uv_signal_t sigterm, sigint;
};

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	alb_log_info("%s: stopping on signal %d", prog, signum);
	alb_statsd_free(d->stats);
	d->stats = NULL;
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
}

enum {
	OPT_TMPDIR = 256,
	OPT_SYSTEMD,
	OPT_INTERVAL,
	OPT_INFLUX,
	OPT_NO_DROP_PATH,
	OPT_PROMETHEUS,
	OPT_SYSLOG,
	OPT_VERSION
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tmpdir", required_argument, NULL, OPT_TMPDIR},
		{"systemd-socket-activation", no_argument, NULL, OPT_SYSTEMD},
		{"interval", required_argument, NULL, OPT_INTERVAL},
		{"influx", required_argument, NULL, OPT_INFLUX},
		{"no-drop-path", no_argument, NULL, OPT_NO_DROP_PATH},
		{"prometheus", required_argument, NULL, OPT_PROMETHEUS},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"syslog", no_argument, NULL, OPT_SYSLOG},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct alb_statsd_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	bool systemd = false, use_syslog = false;
	int verbosity = 0;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TMPDIR: cfg.tmpdir = optarg; break;
		case OPT_SYSTEMD: systemd = true; break;
		case OPT_INTERVAL:
			if (parse_interval(optarg, &cfg.interval_s) != 0)
				return EXIT_CLI;
			break;
		case OPT_INFLUX: cfg.influx = optarg; break;
		case OPT_NO_DROP_PATH: cfg.influx_full_names = true; break;
		case OPT_PROMETHEUS: cfg.prometheus = optarg; break;
		case 'v': verbosity++; break;
		case 'q': verbosity--; break;
		case OPT_SYSLOG: use_syslog = true; break;
		case OPT_VERSION:
			printf("version %s protocol version %d\n", alb_version(),
			       ALB_WIRE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			return cli_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return cli_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_error("unexpected argument '%s'", argv[optind]);
	alb_log_set_level(verbosity > 1   ? ALB_LOG_DEBUG
			  : verbosity > 0 ? ALB_LOG_INFO
			  : verbosity < 0 ? ALB_LOG_ERROR
					  : ALB_LOG_WARN);
	if (use_syslog)
		alb_log_use_syslog(prog);
	struct alb_error err;
	if (systemd) {
		/* the same rules as albatrossd's: fd 3, LISTEN_PID ours */
		if (alb_vmmd_systemd_fd(&cfg.listen_fd, &err) != 0) {
			alb_log_error("%s", err.msg);
			return 1;
		}
		cfg.use_listen_fd = true;
	}
	/* a subscriber that went away must not kill the daemon */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	uv_loop_t loop;
	if (uv_loop_init(&loop) != 0) {
		alb_log_error("cannot make an event loop");
		return 1;
	}
	struct daemon d;
	memset(&d, 0, sizeof(d));
	if (alb_statsd_new(&loop, &cfg, &d.stats, &err) != 0) {
		alb_log_error("%s", err.msg);
		/* closing what was set up before the failure */
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return err.code == ALB_EINVAL ? EXIT_CLI : 1;
	}
	uv_signal_init(&loop, &d.sigterm);
	uv_signal_init(&loop, &d.sigint);
	d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	alb_log_info("%s: sampling every %u s", prog,
		     cfg.interval_s != 0 ? cfg.interval_s
					 : ALB_STATS_INTERVAL_DEFAULT);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return 0;
}
