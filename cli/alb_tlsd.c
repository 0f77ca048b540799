/* alb-tlsd — the TLS endpoint, albatross-tls-endpoint's twin (spec §9.1):
 * serves remote clients whose certificate chains lead to one CA and relays
 * their commands to the local daemons.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "albatross/albatross.h"
#include "daemon_main.h"

/* Exit status of --inetd without --syslog or -q (Albatross's). */
#define EXIT_INETD_LOGGING 3

/* CA, CERT and KEY. */
#define N_POSITIONAL 3

static const char *prog = "alb-tlsd";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]... CA CERT KEY\n"
		"Serves Albatross clients over TLS 1.3: their certificate chains must\n"
		"lead to the single certificate in CA; CERT and KEY are the server's.\n\n"
		DAEMON_HELP_HEAD
		"  --ip ADDR                    listen address (default %s)\n"
		"  --port N                     TCP port (default %d)\n"
		"  --inetd                      serve one connection on stdin\n"
		"  --cert-list-max BYTES        largest certificate chain a client may\n"
		"                               present (default %u, at most %u; K and M\n"
		"                               suffixes: KiB, MiB)\n"
		"  --stream-images              pass a streamed image on to albd as it\n"
		"                               arrives instead of keeping it until it\n"
		"                               is whole (albd only: albatrossd does not\n"
		"                               read image streams)\n"
		DAEMON_HELP_USER
		DAEMON_HELP_TAIL,
		prog, ALB_TLSD_IP_DEFAULT, ALB_TLSD_PORT_DEFAULT,
		ALB_TLSD_CERT_LIST_DEFAULT, ALB_TLSD_CERT_LIST_MAX);
}

enum { OPT_IP = DAEMON_OPT_OWN, OPT_PORT, OPT_INETD, OPT_CERT_LIST_MAX,
       OPT_STREAM_IMAGES };

static const struct option own_opts[] = {
	{"ip", required_argument, NULL, OPT_IP},
	{"port", required_argument, NULL, OPT_PORT},
	{"inetd", no_argument, NULL, OPT_INETD},
	{"cert-list-max", required_argument, NULL, OPT_CERT_LIST_MAX},
	{"stream-images", no_argument, NULL, OPT_STREAM_IMAGES},
	{NULL, 0, NULL, 0},
};

struct opts {
	struct alb_tlsd_config cfg;
	bool inetd;
};

/* BYTES of --cert-list-max: a positive integer, with K (KiB) or M (MiB)
 * after it, at most ALB_TLSD_CERT_LIST_MAX. */
static int cert_list_max(const char *arg, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	unsigned shift = 0;
	if (end != arg && (*end == 'K' || *end == 'M'))
		shift = *end++ == 'K' ? 10 : 20;
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || v == 0)
		return daemon_usage_error(prog, "option '--cert-list-max': invalid value "
					  "'%s', expected a number of bytes", arg);
	if (v > (ALB_TLSD_CERT_LIST_MAX >> shift) ||
	    (v << shift) > ALB_TLSD_CERT_LIST_MAX)
		return daemon_usage_error(prog, "option '--cert-list-max': %s is above "
					  "%u bytes, the largest TLS handshake message",
					  arg, ALB_TLSD_CERT_LIST_MAX);
	*out = (size_t)(v << shift);
	return 0;
}

static int take_option(void *ctx, int id, const char *arg)
{
	struct opts *o = ctx;
	if (id == OPT_CERT_LIST_MAX)
		return cert_list_max(arg, &o->cfg.cert_list_max);
	if (id == OPT_IP) {
		o->cfg.ip = arg;
		return 0;
	}
	if (id == OPT_INETD) {
		o->inetd = true;
		return 0;
	}
	if (id == OPT_STREAM_IMAGES) {
		o->cfg.flags |= ALB_TLSD_STREAM_IMAGES;
		return 0;
	}
	char *end;
	errno = 0;
	long v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 0 || v > 65535)
		return daemon_usage_error(prog, "option '--port': invalid value "
					  "'%s', expected a port number", arg);
	o->cfg.port = (uint16_t)v;
	o->cfg.port_set = true;
	return 0;
}

/* What must be known before the common setup runs. */
struct scan {
	const char *positional[N_POSITIONAL];
	int n_positional;
	bool systemd, port, syslog, quiet;
};

/* Takes the positional arguments out of argv (which the common parser
 * refuses) and notes the options whose combinations are checked first. */
static int prescan(int *argc, char **argv, struct scan *s)
{
	static const char *const with_arg[] = {"--tmpdir", "--ip", "--port", "--user",
					       "--socket-group", "--cert-list-max"};
	int out = 1;
	bool rest = false;
	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		bool positional = rest || a[0] != '-' || a[1] == '\0';
		if (!rest && strcmp(a, "--") == 0) {
			rest = true;
			continue;
		}
		if (positional) {
			if (s->n_positional == N_POSITIONAL)
				return daemon_usage_error(prog, "unexpected argument '%s'", a);
			s->positional[s->n_positional++] = a;
			continue;
		}
		argv[out++] = argv[i];
		if (strcmp(a, "--systemd-socket-activation") == 0)
			s->systemd = true;
		else if (strncmp(a, "--port", 6) == 0 && (a[6] == '\0' || a[6] == '='))
			s->port = true;
		else if (strcmp(a, "--syslog") == 0)
			s->syslog = true;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			s->quiet = true;
		for (size_t j = 0; j < sizeof(with_arg) / sizeof(with_arg[0]); j++)
			if (strcmp(a, with_arg[j]) == 0 && i + 1 < *argc)
				argv[out++] = argv[++i];
	}
	argv[out] = NULL;
	*argc = out;
	return -1;
}

static void stop(void *tlsd)
{
	alb_tlsd_shutdown(tlsd, NULL, NULL);
}

int main(int argc, char **argv)
{
	struct opts o;
	memset(&o, 0, sizeof(o));
	alb_tlsd_config_init(&o.cfg);
	struct scan s;
	memset(&s, 0, sizeof(s));
	int status = prescan(&argc, argv, &s);
	if (status >= 0)
		return status;
	if (s.systemd && s.port)
		return daemon_usage_error(prog, "Options --port and "
					  "--systemd-socket-activation are not compatible");
	const struct daemon_prog p = {prog, usage, own_opts, take_option, &o,
				      .takes_user = true};
	struct daemon_common com;
	if ((status = daemon_setup(&p, argc, argv, &com)) >= 0)
		return status;
	if (s.n_positional != N_POSITIONAL)
		return daemon_usage_error(prog, "required argument %s is missing",
					  s.n_positional == 0	 ? "CA"
					  : s.n_positional == 1 ? "CERT"
								: "KEY");
	if (o.inetd) {
		/* stdin is the connection; stdout and stderr may be too. */
		if (!s.syslog && !s.quiet) {
			alb_log_error("--inetd requires --syslog or -q");
			return EXIT_INETD_LOGGING;
		}
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			if (!s.syslog)
				dup2(null, STDERR_FILENO);
			close(null);
		}
		o.cfg.conn_fd = STDIN_FILENO;
	}
	o.cfg.ca_file = s.positional[0];
	o.cfg.cert_file = s.positional[1];
	o.cfg.key_file = s.positional[2];
	o.cfg.tmpdir = com.tmpdir;
	o.cfg.listen_fd = com.listen_fd;

	uv_loop_t loop;
	if (uv_loop_init(&loop) != 0) {
		alb_log_error("cannot make an event loop");
		return 1;
	}
	struct alb_tlsd *d;
	struct alb_error err;
	if (alb_tlsd_new(&loop, &o.cfg, &d, &err) != 0) {
		alb_log_error("%s", err.msg);
		uv_loop_close(&loop);
		return 1;
	}
	if (alb_tlsd_start(d, &err) != 0) {
		alb_log_error("%s", err.msg);
		alb_tlsd_free(d);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return 1;
	}
	if (o.inetd) {
		int drop = daemon_apply_user(prog);
		if (drop == 0)
			uv_run(&loop, UV_RUN_DEFAULT);
		alb_tlsd_free(d);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return drop == 0 ? 0 : 1;
	}
	uint16_t port = 0;
	if (alb_tlsd_port(d, &port, NULL) == 0)
		alb_log_info("%s: listening on port %u", prog, (unsigned)port);
	status = daemon_run(prog, &loop, stop, d);
	alb_tlsd_free(d);
	return status;
}
