/* alb-consoled — the console daemon, albatross-console's twin (spec §7.1):
 * reads the console FIFOs of unikernels into rings and serves subscribers
 * on <tmpdir>/util/console.sock.
 * SPDX-License-Identifier: ISC */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/albatross.h"
#include "daemon_main.h"

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
		DAEMON_HELP_HEAD
		"  --max-subscribers N          subscribers per unikernel (default %d)\n"
		DAEMON_HELP_METRICS
		DAEMON_HELP_USER
		DAEMON_HELP_TAIL,
		prog, ALB_CONSOLE_RING_LINES, ALB_CONSOLE_SUBSCRIBERS_DEFAULT);
}

/* --max-subscribers: an integer from 1 to ALB_CONSOLE_SUBSCRIBERS_LIMIT. */
static int parse_subscribers(const char *s, unsigned *out)
{
	long long v;
	int rc = daemon_parse_int(prog, "--max-subscribers", s, &v);
	if (rc != 0)
		return rc;
	if (v < 1)
		return daemon_usage_error(prog, "option '--max-subscribers': max "
					  "subscribers must be greater than or "
					  "equal to 1");
	if (v > ALB_CONSOLE_SUBSCRIBERS_LIMIT)
		return daemon_usage_error(prog, "option '--max-subscribers': max "
					  "subscribers must be at most %d",
					  ALB_CONSOLE_SUBSCRIBERS_LIMIT);
	*out = (unsigned)v;
	return 0;
}

enum { OPT_MAX_SUBS = DAEMON_OPT_OWN };

static int take_option(void *ctx, int id, const char *arg)
{
	struct alb_console_config *cfg = ctx;
	(void)id; /* --max-subscribers is the only one */
	return parse_subscribers(arg, &cfg->max_subscribers);
}

static void stop(void *console)
{
	alb_console_shutdown(console, NULL, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"max-subscribers", required_argument, NULL, OPT_MAX_SUBS},
		{NULL, 0, NULL, 0},
	};
	struct alb_console_config cfg;
	alb_console_config_init(&cfg);
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
	mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);

	uv_loop_t loop;
	if (uv_loop_init(&loop) != 0) {
		alb_log_error("cannot make an event loop");
		return 1;
	}
	struct alb_console *console;
	struct alb_error err;
	if (alb_console_new(&loop, &cfg, &console, &err) != 0) {
		alb_log_error("%s", err.msg);
		uv_loop_close(&loop);
		return 1;
	}
	if (alb_console_start(console, &err) != 0) {
		alb_log_error("%s", err.msg);
		alb_console_free(console);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		/* a bad --influx or --prometheus address */
		return err.code == ALB_EINVAL ? DAEMON_EXIT_CLI : 1;
	}
	alb_log_info("%s: serving consoles (at most %u subscribers each)", prog,
		     cfg.max_subscribers != 0 ? cfg.max_subscribers
					      : ALB_CONSOLE_SUBSCRIBERS_DEFAULT);
	status = daemon_run(prog, &loop, stop, console);
	alb_console_free(console);
	return status;
}
