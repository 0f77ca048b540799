/* alb-consoled and alb-statsd — the shared part of a daemon's main (see
 * daemon_main.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cap-ng.h>

#include "albatross/albatross.h"
#include "albatross/vmmd.h"
#include "daemon_main.h"

enum {
	OPT_TMPDIR = 256,
	OPT_SYSTEMD,
	OPT_SOCKET_GROUP,
	OPT_SYSLOG,
	OPT_VERSION,
	OPT_INFLUX,
	OPT_PROMETHEUS,
	OPT_USER
};

static const struct option common_opts[] = {
	{"tmpdir", required_argument, NULL, OPT_TMPDIR},
	{"systemd-socket-activation", no_argument, NULL, OPT_SYSTEMD},
	{"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"syslog", no_argument, NULL, OPT_SYSLOG},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, 'h'},
};

#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))

static const struct option metrics_opts[] = {
	{"influx", required_argument, NULL, OPT_INFLUX},
	{"prometheus", required_argument, NULL, OPT_PROMETHEUS},
};

#define N_METRICS (sizeof(metrics_opts) / sizeof(metrics_opts[0]))

/* --user, looked up while parsing: daemon_run() applies it. */
static struct {
	bool set;
	char name[256];
	uid_t uid;
	gid_t gid;
} user;

/* Looks up user name; returns 0 or the exit status once the message is
 * printed. */
static int user_lookup(const char *prog, const char *name)
{
	char buf[16384];
	struct passwd pw, *res = NULL;
	int e = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (e != 0 || res == NULL)
		return daemon_usage_error(prog, "option '--user': no user '%s'%s%s",
					  name, e ? ": " : "", e ? strerror(e) : "");
	if (strlen(name) >= sizeof(user.name))
		return daemon_usage_error(prog, "option '--user': name too long");
	if (pw.pw_uid == 0)
		return daemon_usage_error(prog, "option '--user': '%s' is root",
					  name);
	user.set = true;
	snprintf(user.name, sizeof(user.name), "%s", name);
	user.uid = pw.pw_uid;
	user.gid = pw.pw_gid;
	return 0;
}

int daemon_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return DAEMON_EXIT_CLI;
}

int daemon_parse_int(const char *prog, const char *opt, const char *s,
		     long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return daemon_usage_error(prog, "option '%s': invalid value '%s', "
					  "expected an integer", opt, s);
	*out = v;
	return 0;
}

/* Connections, console FIFOs and the /proc files of each unikernel are
 * file descriptors: use all we may. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The gid of group name into *gid; returns 0 or the exit status once the
 * message is printed. */
static int group_id(const char *prog, const char *name, int64_t *gid)
{
	char buf[16384];
	struct group gr, *res = NULL;
	int e = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (e != 0 || res == NULL)
		return daemon_usage_error(prog, "option '--socket-group': no group "
					  "'%s'%s%s", name, e ? ": " : "",
					  e ? strerror(e) : "");
	*gid = (int64_t)res->gr_gid;
	return 0;
}

/* The getopt loop over the common options and p's own (opts, both);
 * returns -1 to go on, or the exit status to end with. */
static int parse(const struct daemon_prog *p, int argc, char **argv,
		 const struct option *opts, struct daemon_common *c,
		 int *verbosity, bool *use_syslog, bool *systemd)
{
	int ch, rc;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_TMPDIR: c->tmpdir = optarg; break;
		case OPT_SYSTEMD: *systemd = true; break;
		case OPT_SOCKET_GROUP:
			if ((rc = group_id(p->name, optarg, &c->socket_gid)) != 0)
				return rc;
			break;
		case 'v': (*verbosity)++; break;
		case 'q': (*verbosity)--; break;
		case OPT_SYSLOG: *use_syslog = true; break;
		case OPT_INFLUX: c->influx = optarg; break;
		case OPT_PROMETHEUS: c->prometheus = optarg; break;
		case OPT_USER:
			if ((rc = user_lookup(p->name, optarg)) != 0)
				return rc;
			break;
		case OPT_VERSION:
			printf("version %s protocol version %d\n", alb_version(),
			       ALB_WIRE_VERSION);
			return 0;
		case 'h':
			p->usage(stdout);
			return 0;
		case ':':
			return daemon_usage_error(p->name, "option '%s' needs an argument",
						  argv[optind - 1]);
		default:
			if (ch < DAEMON_OPT_OWN)
				return daemon_usage_error(p->name, "unknown option '%s'",
							  argv[optind - 1]);
			if ((rc = p->take(p->ctx, ch, optarg)) != 0)
				return rc;
		}
	}
	if (optind < argc)
		return daemon_usage_error(p->name, "unexpected argument '%s'",
					  argv[optind]);
	return -1;
}

int daemon_setup(const struct daemon_prog *p, int argc, char **argv,
		 struct daemon_common *c)
{
	size_t n_own = 0;
	while (p->opts[n_own].name != NULL)
		n_own++;
	size_t n_metrics = p->metrics ? N_METRICS : 0;
	struct option *opts = calloc(N_COMMON + n_metrics + n_own + 2,
				     sizeof(*opts));
	if (opts == NULL) {
		fprintf(stderr, "%s: out of memory\n", p->name);
		return 1;
	}
	memcpy(opts, common_opts, sizeof(common_opts));
	memcpy(opts + N_COMMON, metrics_opts, n_metrics * sizeof(*opts));
	memcpy(opts + N_COMMON + n_metrics, p->opts, n_own * sizeof(*opts));
	if (p->takes_user)
		opts[N_COMMON + n_metrics + n_own] = (struct option){
			"user", required_argument, NULL, OPT_USER};
	memset(c, 0, sizeof(*c));
	c->listen_fd = -1;
	c->socket_gid = -1;
	int verbosity = 0;
	bool use_syslog = false, systemd = false;
	int status = parse(p, argc, argv, opts, c, &verbosity, &use_syslog,
			   &systemd);
	free(opts);
	if (status >= 0)
		return status;

	alb_log_set_level(verbosity > 1   ? ALB_LOG_DEBUG
			  : verbosity > 0 ? ALB_LOG_INFO
			  : verbosity < 0 ? ALB_LOG_ERROR
					  : ALB_LOG_WARN);
	if (use_syslog)
		alb_log_use_syslog(p->name);
	if (systemd) {
		struct alb_error err;
		if (alb_vmmd_systemd_fd(&c->listen_fd, &err) != 0) {
			alb_log_error("%s", err.msg);
			return 1;
		}
	}
	/* SIGPIPE keeps its default: the cores never raise it (every socket
	 * is written with MSG_NOSIGNAL, the log lines to stderr without it
	 * too), which the daemons show by running with it. */
	raise_fd_limit();
	return -1;
}

struct running {
	const char *prog;
	void (*stop)(void *core);
	void *core;
	uv_signal_t sigterm, sigint;
};

static void on_signal(uv_signal_t *h, int signum)
{
	struct running *r = h->data;
	alb_log_info("%s: stopping on signal %d", r->prog, signum);
	r->stop(r->core);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
	uv_close((uv_handle_t *)&r->sigint, NULL);
}

void daemon_hold_signals(void)
{
	sigset_t held;
	sigemptyset(&held);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	pthread_sigmask(SIG_BLOCK, &held, NULL);
}

int daemon_drop_user(const char *prog, const char *name, uid_t uid, gid_t gid)
{
	if (geteuid() != 0 && (geteuid() != uid || getuid() != uid)) {
		alb_log_error("%s: cannot become user %s: not running as root",
			      prog, name);
		return -1;
	}
	if (geteuid() == 0) {
		/* nothing kept: every set and the bounding set empty once the
		 * uid is no longer 0 */
		capng_clear(CAPNG_SELECT_ALL);
		int rc = capng_change_id((int)uid, (int)gid,
					 CAPNG_INIT_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
		if (rc != 0) {
			alb_log_error("%s: cannot become user %s (uid %lu, gid %lu): "
				      "libcap-ng error %d: %s", prog, name,
				      (unsigned long)uid, (unsigned long)gid, rc,
				      strerror(errno));
			return -1;
		}
	}
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	bool ok = getresuid(&ru, &eu, &su) == 0 && getresgid(&rg, &eg, &sg) == 0 &&
		  ru == uid && eu == uid && su == uid && rg == gid && eg == gid &&
		  sg == gid;
	/* the proof: root is out of reach */
	if (ok && (setuid(0) == 0 || setgid(0) == 0 || seteuid(0) == 0))
		ok = false;
	capng_get_caps_process();
	if (ok && capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
		ok = false;
	if (!ok) {
		alb_log_error("%s: still privileged after becoming user %s", prog,
			      name);
		return -1;
	}
	alb_log_info("%s: running as user %s (uid %lu, gid %lu), without "
		     "capabilities", prog, name, (unsigned long)uid,
		     (unsigned long)gid);
	return 0;
}

int daemon_need_caps(const char *prog, const int *caps, size_t n,
		     const char *why)
{
	if (capng_get_caps_process() != 0) {
		alb_log_error("%s: cannot read the capabilities of the process",
			      prog);
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++)
		if (!capng_have_capability(CAPNG_PERMITTED, (unsigned)caps[i])) {
			alb_log_error("%s: %s needs %s, which this process does not "
				      "have", prog, why,
				      capng_capability_to_name((unsigned)caps[i]));
			rc = -1;
		}
	return rc;
}

int daemon_keep_caps(const char *prog, const int *caps, size_t n)
{
	if (capng_get_caps_process() != 0) {
		alb_log_error("%s: cannot read the capabilities of the process",
			      prog);
		return -1;
	}
	bool have[64] = {false};
	for (size_t i = 0; i < n && i < 64; i++)
		have[i] = capng_have_capability(CAPNG_PERMITTED,
						(unsigned)caps[i]) != 0;
	capng_clear(CAPNG_SELECT_ALL);
	for (size_t i = 0; i < n && i < 64; i++)
		if (have[i] && capng_update(CAPNG_ADD,
					    CAPNG_EFFECTIVE | CAPNG_PERMITTED |
						CAPNG_BOUNDING_SET,
					    (unsigned)caps[i]) != 0) {
			alb_log_error("%s: cannot keep %s", prog,
				      capng_capability_to_name((unsigned)caps[i]));
			return -1;
		}
	int rc = capng_apply(CAPNG_SELECT_ALL);
	if (rc != 0) {
		alb_log_error("%s: cannot drop capabilities: libcap-ng error %d: %s",
			      prog, rc, strerror(errno));
		return -1;
	}
	char *kept = capng_print_caps_text(CAPNG_PRINT_BUFFER, CAPNG_EFFECTIVE);
	alb_log_info("%s: capabilities kept: %s", prog, kept ? kept : "?");
	free(kept);
	return 0;
}

int daemon_apply_user(const char *prog)
{
	return user.set ? daemon_drop_user(prog, user.name, user.uid, user.gid) : 0;
}

int daemon_run(const char *prog, uv_loop_t *loop, void (*stop)(void *core),
	       void *core)
{
	if (daemon_apply_user(prog) != 0) {
		stop(core);
		uv_run(loop, UV_RUN_DEFAULT);
		uv_loop_close(loop);
		return 1;
	}
	struct running r = {.prog = prog, .stop = stop, .core = core};
	uv_signal_init(loop, &r.sigterm);
	uv_signal_init(loop, &r.sigint);
	r.sigterm.data = r.sigint.data = &r;
	uv_signal_start(&r.sigterm, on_signal, SIGTERM);
	uv_signal_start(&r.sigint, on_signal, SIGINT);
	/* one that came while daemon_hold_signals() held it is delivered
	 * now, to the handlers above */
	sigset_t held;
	sigemptyset(&held);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &held, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	return 0;
}
