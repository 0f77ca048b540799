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
#include <sys/types.h>

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

/* The help line of --user (programs that take it). */
#define DAEMON_HELP_USER                                                       \
	"  --user NAME                  run as NAME once listening\n"

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
	/* Takes --user NAME: once its socket is bound, daemon_run() makes the
	 * process NAME's (uid, gid, NAME's groups), without any capability. */
	bool takes_user;
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
 * core's handles are closed; then closes the loop. Before that, with
 * --user, it becomes that user (see daemon_drop_user()); when that fails
 * it stops the core at once and returns 1. Returns 0. */
int daemon_run(const char *prog, uv_loop_t *loop, void (*stop)(void *core),
	       void *core);

/* Becomes user name (uid, gid; its groups from the group database): every
 * capability goes, the bounding set too; then proves that root is out of
 * reach (setuid(0) and setgid(0) fail, no capability left). A process
 * that already runs as that user only proves it. Returns 0, or -1 once
 * the reason is logged. */
int daemon_drop_user(const char *prog, const char *name, uid_t uid, gid_t gid);

/* Applies --user, if given (daemon_drop_user()); daemon_run() does it,
 * a program that runs its loop otherwise calls it once it listens.
 * Returns 0 or -1 (logged). */
int daemon_apply_user(const char *prog);

/* Says (logged, -1) which of caps[0..n) the process does not have, that
 * `why` (e.g. "--tender-uids") needs; 0 when it has them all. */
int daemon_need_caps(const char *prog, const int *caps, size_t n,
		     const char *why);

/* Keeps only the capabilities caps[0..n) of those the process has
 * (effective and permitted; the bounding set shrinks to them, the
 * inheritable and ambient sets empty), as albd does at start. Returns 0,
 * or -1 once the reason is logged. */
int daemon_keep_caps(const char *prog, const int *caps, size_t n);

#endif
