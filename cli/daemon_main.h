/* albd, alb-consoled and alb-statsd — what a daemon's main shares: the options
 * every daemon takes (--tmpdir, --systemd-socket-activation, -v, -q,
 * --syslog, --version, -h/--help), the metrics options of the three that
 * have metrics (--influx, --prometheus), the process setup, and running
 * the loop until SIGTERM or SIGINT.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_DAEMON_MAIN_H
#define ALB_DAEMON_MAIN_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "albatross/client.h"

/* Exit status of a command-line error (Cmdliner's, as Albatross's
 * daemons). */
#define DAEMON_EXIT_CLI 124

/* The help lines of the common options: the first two go before a
 * program's own options, the rest after them. */
#define DAEMON_HELP_HEAD                                                       \
	"  --tmpdir DIR                 runtime directory (default "            \
	ALB_TMPDIR_DEFAULT ")\n"                                               \
	"  --systemd-socket-activation  serve the socket systemd passes\n"     \
	"  --socket-group NAME          group of the socket (mode 0660)\n"
/* The help lines of the metrics options (after a program's own). */
#define DAEMON_HELP_METRICS                                                    \
	"  --influx HOST[:PORT]         push the daemon's metrics as Influx line\n" \
	"                               protocol over TCP every 10 s (numeric\n"  \
	"                               address, port 8094)\n"                    \
	"  --prometheus ADDR:PORT       serve the daemon's metrics at GET /metrics\n" \
	"                               (Prometheus) over HTTP\n"
#define DAEMON_HELP_TAIL                                                       \
	"  -v, --verbose                more log messages (repeatable)\n"       \
	"  -q, --quiet                  only errors\n"                          \
	"  --syslog                     log to syslog instead of stderr\n"      \
	"  --version                    show the version\n"                     \
	"  -h, --help                   show this help\n"

/* First getopt value of a program's own options. */
#define DAEMON_OPT_OWN 512

/* One daemon program. */
struct daemon_prog {
	const char *name;
	void (*usage)(FILE *out);
	/* Its own long options, values from DAEMON_OPT_OWN on, ended by a
	 * NULL name. */
	const struct option *opts;
	/* Takes one of them; returns 0, or an exit status once the message
	 * is printed (daemon_usage_error()). */
	int (*take)(void *ctx, int id, const char *arg);
	void *ctx;
	/* Takes --influx and --prometheus (albd, alb-consoled, alb-statsd). */
	bool metrics;
};

/* What the common options said. */
struct daemon_common {
	const char *tmpdir;   /* NULL: the default */
	int listen_fd;        /* the socket systemd passed, or -1 */
	int64_t socket_gid;   /* --socket-group, or -1 */
	const char *influx;   /* --influx, or NULL */
	const char *prometheus; /* --prometheus, or NULL */
};

/* Writes "<prog>: <message>" to stderr; returns DAEMON_EXIT_CLI. */
int daemon_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses `s`, the value of option `opt` (e.g. "--interval"), as a decimal
 * integer into *out; returns 0, or the exit status once "option '<opt>':
 * invalid value '<s>', expected an integer" is printed. */
int daemon_parse_int(const char *prog, const char *opt, const char *s,
		     long long *out);

/* Parses the command line, sets the log level (-v, -q) and syslog, takes
 * the socket systemd passes (albatrossd's rules: fd 3, LISTEN_PID ours),
 * looks up --socket-group and raises the open-file limit to its maximum
 * (SIGPIPE keeps its disposition: the cores never raise it). Returns
 * -1 to go on with *c filled, or the exit status to end with (0 after
 * --help or --version). */
int daemon_setup(const struct daemon_prog *p, int argc, char **argv,
		 struct daemon_common *c);

/* Holds SIGTERM and SIGINT (blocked) until daemon_run() has its handlers:
 * a core whose start takes a while (albd adopts and cleans up first)
 * stops cleanly on a signal sent meanwhile instead of dying half-started.
 * Call before the core's start, before any thread is made. */
void daemon_hold_signals(void);

/* Runs loop until SIGTERM or SIGINT, on which it logs the signal, calls
 * stop(core) and closes its own handles, so that the loop ends once the
 * core's handles are closed; then closes the loop. Returns 0. */
int daemon_run(const char *prog, uv_loop_t *loop, void (*stop)(void *core),
	       void *core);

#endif
