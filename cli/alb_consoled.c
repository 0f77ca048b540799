/* alb-consoled — the console daemon, albatross-console's twin (spec §7.1):
 * reads the console FIFOs of unikernels into rings and serves subscribers
 * on <tmpdir>/util/console.sock.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "albatross/albatross.h"
#include "albatross/vmmd.h"

/* Exit status of a command-line error (Cmdliner's, as albatross-console). */
#define EXIT_CLI 124

/* Allocations from this size on get their own mapping, which free()
 * returns to the system at once: rings grow to about 550 KiB and output
 * buffers to ALB_CONSOLE_PENDING_MAX, and glibc's adaptive threshold
 * would otherwise keep their memory in the heap after a burst. */
#define MMAP_THRESHOLD (128 * 1024)

static const char *prog = "alb-consoled";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Reads the console output of unikernels and keeps the last %d lines\n"
		"of each; serves them on <tmpdir>/util/console.sock.\n\n"
		"  --tmpdir DIR                 runtime directory (default %s)\n"
		"  --systemd-socket-activation  serve the socket systemd passes\n"
		"  --max-subscribers N          subscribers per unikernel (default %d)\n"
		"  -v, --verbose                more log messages (repeatable)\n"
		"  -q, --quiet                  only errors\n"
		"  --syslog                     log to syslog instead of stderr\n"
		"  --version                    show the version\n"
		"  -h, --help                   show this help\n",
		prog, ALB_CONSOLE_RING_LINES, ALB_TMPDIR_DEFAULT,
		ALB_CONSOLE_SUBSCRIBERS_DEFAULT);
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

/* --max-subscribers: an integer from 1 to ALB_CONSOLE_SUBSCRIBERS_LIMIT. */
static int parse_subscribers(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return cli_error("option '--max-subscribers': invalid value '%s', "
				 "expected an integer", s);
	if (v < 1)
		return cli_error("option '--max-subscribers': max subscribers must be "
				 "greater than or equal to 1");
	if (v > ALB_CONSOLE_SUBSCRIBERS_LIMIT)
		return cli_error("option '--max-subscribers': max subscribers must be "
				 "at most %d", ALB_CONSOLE_SUBSCRIBERS_LIMIT);
	*out = (unsigned)v;
	return 0;
}

/* Connections and FIFOs are file descriptors: use all we may. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

struct daemon {
	struct alb_console *console;
	uv_signal_t sigterm, sigint;
};

static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;
	alb_log_info("%s: stopping on signal %d", prog, signum);
	alb_console_free(d->console);
	d->console = NULL;
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
}

enum { OPT_TMPDIR = 256, OPT_SYSTEMD, OPT_MAX_SUBS, OPT_SYSLOG, OPT_VERSION };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"tmpdir", required_argument, NULL, OPT_TMPDIR},
		{"systemd-socket-activation", no_argument, NULL, OPT_SYSTEMD},
		{"max-subscribers", required_argument, NULL, OPT_MAX_SUBS},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"syslog", no_argument, NULL, OPT_SYSLOG},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct alb_console_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	bool systemd = false, use_syslog = false;
	int verbosity = 0;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TMPDIR: cfg.tmpdir = optarg; break;
		case OPT_SYSTEMD: systemd = true; break;
		case OPT_MAX_SUBS:
			if (parse_subscribers(optarg, &cfg.max_subscribers) != 0)
				return EXIT_CLI;
			break;
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
		/* The same rules as albatrossd's: fd 3, LISTEN_PID ours. */
		if (alb_vmmd_systemd_fd(&cfg.listen_fd, &err) != 0) {
			alb_log_error("%s", err.msg);
			return 1;
		}
		cfg.use_listen_fd = true;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);

	uv_loop_t loop;
	if (uv_loop_init(&loop) != 0) {
		alb_log_error("cannot make an event loop");
		return 1;
	}
	struct daemon d;
	memset(&d, 0, sizeof(d));
	if (alb_console_new(&loop, &cfg, &d.console, &err) != 0) {
		alb_log_error("%s", err.msg);
		uv_loop_close(&loop);
		return 1;
	}
	uv_signal_init(&loop, &d.sigterm);
	uv_signal_init(&loop, &d.sigint);
	d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	alb_log_info("%s: serving consoles (at most %u subscribers each)", prog,
		     cfg.max_subscribers != 0 ? cfg.max_subscribers
					      : ALB_CONSOLE_SUBSCRIBERS_DEFAULT);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return 0;
}
