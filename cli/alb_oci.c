/* alb-oci — the command line: runc's global options and the commands that
 * containerd's io.containerd.runc.v2 shim calls (create, start, state,
 * kill, delete, ps; features and --version), and the error log the shim
 * reads back (--log, --log-format json).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alb_oci.h"
#include "alb_oci_json.h"

#define ROOT_DEFAULT "/run/alb-oci"
#define VERSION "0.1.0"
/* Most positional arguments of a command (kill: ID SIGNAL). */
#define POS_MAX 2

static const char usage[] =
    "usage: alb-oci [--root DIR] [--log FILE] [--log-format text|json] "
    "[--systemd-cgroup] [--debug] COMMAND\n"
    "       alb-oci create --bundle DIR [--pid-file FILE] [--console-socket SOCK] ID\n"
    "       alb-oci start ID\n"
    "       alb-oci state ID\n"
    "       alb-oci kill [--all] ID [SIGNAL]\n"
    "       alb-oci delete [--force] ID\n"
    "       alb-oci ps [--format table|json] ID\n"
    "       alb-oci features\n"
    "  -v, --version   show the version\n"
    "  -h, --help      show this help\n";

static const struct oci_global *log_global;

static void log_line(const struct oci_global *g, const char *msg)
{
	fprintf(stderr, "alb-oci: %s\n", msg);
	if (g == NULL || g->log == NULL)
		return;
	int fd = open(g->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	FILE *f = fdopen(fd, "a");
	if (f == NULL) {
		close(fd);
		return;
	}
	char t[40];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (g->log_json) {
		fputs("{\"level\":\"error\",\"msg\":", f);
		oj_write_cstr(f, msg);
		fprintf(f, ",\"time\":\"%s\"}\n", t);
	} else {
		fprintf(f, "time=\"%s\" level=error msg=\"%s\"\n", t, msg);
	}
	fclose(f);
}

int oci_fail(const struct oci_global *g, const char *fmt, ...)
{
	char msg[ALB_ERROR_MSG_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_line(g != NULL ? g : log_global, msg);
	return OCI_EXIT_FAIL;
}

int oci_fail_err(const struct oci_global *g, const char *what,
		 const struct alb_error *err)
{
	return oci_fail(g, "%s: %s", what, err->msg);
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT},
    {"ILL", SIGILL},   {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},
    {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

/* "SIGTERM", "TERM" or "15", as runc reads a signal. */
static int parse_signal(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (end != s && *end == '\0')
		return (n > 0 && n < NSIG) ? (int)n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcasecmp(s, signals[i].name) == 0)
			return signals[i].sig;
	return -1;
}

/* One option of runc's command line: "--name value", "--name=value",
 * "-name value" (Go's flag syntax). Returns true when argv[*i] is the
 * option name (or one of its aliases, "|"-separated); *value gets its
 * value (NULL for a flag). */
static bool option(char **argv, int argc, int *i, const char *names,
		   bool has_value, const char **value, bool *missing)
{
	const char *a = argv[*i];
	if (a[0] != '-')
		return false;
	a += a[1] == '-' ? 2 : 1;
	size_t alen = strcspn(a, "=");
	for (const char *n = names; *n != '\0';) {
		size_t nlen = strcspn(n, "|");
		if (nlen == alen && strncmp(n, a, nlen) == 0) {
			if (!has_value) {
				/* a boolean may be written --force=true */
				*value = a[alen] == '=' ? a + alen + 1 : NULL;
				return true;
			}
			if (a[alen] == '=')
				*value = a + alen + 1;
			else if (*i + 1 < argc)
				*value = argv[++*i];
			else
				*missing = true;
			return true;
		}
		n += nlen + (n[nlen] == '|');
	}
	return false;
}

static int features(void)
{
	printf("{\"ociVersionMin\":\"1.0.0\",\"ociVersionMax\":\"1.0.2\","
	       "\"hooks\":[],\"mountOptions\":[],"
	       "\"linux\":{\"namespaces\":[\"network\"],\"capabilities\":[],"
	       "\"cgroup\":{\"v1\":false,\"v2\":false,\"systemd\":false,"
	       "\"systemdUser\":false},\"seccomp\":{\"enabled\":false},"
	       "\"apparmor\":{\"enabled\":false},\"selinux\":{\"enabled\":false}},"
	       "\"annotations\":{\"org.albatross.oci.version\":\"" VERSION "\","
	       "\"org.albatross.oci.hypervisors\":\"hvt,spt,qemu\"}}\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct oci_global g = {.root = ROOT_DEFAULT};
	log_global = &g;
	int i = 1;
	bool missing = false;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *v = NULL;
		if (option(argv, argc, &i, "root", true, &g.root, &missing) ||
		    option(argv, argc, &i, "log", true, &g.log, &missing) ||
		    option(argv, argc, &i, "criu", true, &v, &missing) ||
		    option(argv, argc, &i, "rootless", true, &v, &missing) ||
		    option(argv, argc, &i, "systemd-cgroup|debug", false, &v,
			   &missing))
			continue;
		if (option(argv, argc, &i, "log-format", true, &v, &missing)) {
			if (v != NULL && strcmp(v, "json") != 0 &&
			    strcmp(v, "text") != 0)
				return oci_fail(&g, "invalid log format %s", v);
			g.log_json = v != NULL && strcmp(v, "json") == 0;
			continue;
		}
		if (option(argv, argc, &i, "version|v", false, &v, &missing)) {
			printf("alb-oci version " VERSION "\nspec: 1.0.2\n"
			       "libalbatross: %s\n", alb_version());
			return 0;
		}
		if (option(argv, argc, &i, "help|h", false, &v, &missing)) {
			fputs(usage, stdout);
			return 0;
		}
		return oci_fail(&g, "unknown global option %s", argv[i]);
	}
	if (missing)
		return oci_fail(&g, "option %s needs a value", argv[i - 1]);
	if (i >= argc) {
		fputs(usage, stderr);
		return OCI_EXIT_FAIL;
	}
	const char *cmd = argv[i++];
	struct oci_create_opts co = {0};
	bool force = false, json = false;
	const char *pos[POS_MAX];
	size_t n_pos = 0;
	for (; i < argc; i++) {
		const char *v = NULL;
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (n_pos >= POS_MAX)
				return oci_fail(&g, "%s: too many arguments", cmd);
			pos[n_pos++] = argv[i];
			continue;
		}
		if (option(argv, argc, &i, "bundle|b", true, &co.bundle, &missing) ||
		    option(argv, argc, &i, "pid-file", true, &co.pid_file, &missing) ||
		    option(argv, argc, &i, "console-socket", true,
			   &co.console_socket, &missing) ||
		    option(argv, argc, &i, "no-pivot|no-new-keyring|all|a|detach|d",
			   false, &v, &missing))
			continue;
		if (option(argv, argc, &i, "force|f", false, &v, &missing)) {
			force = v == NULL || strcmp(v, "true") == 0;
			continue;
		}
		if (option(argv, argc, &i, "format", true, &v, &missing)) {
			json = v != NULL && strcmp(v, "json") == 0;
			continue;
		}
		if (option(argv, argc, &i, "preserve-fds", true, &v, &missing)) {
			if (v != NULL && strcmp(v, "0") != 0)
				return oci_fail(&g, "--preserve-fds is not supported");
			continue;
		}
		return oci_fail(&g, "%s: unknown option %s", cmd, argv[i]);
	}
	if (missing)
		return oci_fail(&g, "%s: option %s needs a value", cmd, argv[argc - 1]);
	if (strcmp(cmd, "features") == 0)
		return features();
	if (n_pos == 0)
		return oci_fail(&g, "%s: the container id is missing", cmd);
	const char *id = pos[0];
	if (strcmp(cmd, "kill") == 0) {
		int sig = n_pos > 1 ? parse_signal(pos[1]) : SIGTERM;
		if (sig < 0)
			return oci_fail(&g, "kill: invalid signal %s", pos[1]);
		return oci_cmd_kill(&g, id, sig);
	}
	if (n_pos > 1)
		return oci_fail(&g, "%s: too many arguments", cmd);
	if (strcmp(cmd, "create") == 0)
		return oci_cmd_create(&g, id, &co);
	if (strcmp(cmd, "start") == 0)
		return oci_cmd_start(&g, id);
	if (strcmp(cmd, "state") == 0)
		return oci_cmd_state(&g, id);
	if (strcmp(cmd, "delete") == 0)
		return oci_cmd_delete(&g, id, force);
	if (strcmp(cmd, "ps") == 0)
		return oci_cmd_ps(&g, id, json);
	return oci_fail(&g, "%s: not supported by alb-oci (a unikernel has no "
			    "processes to exec, pause or checkpoint)", cmd);
}
