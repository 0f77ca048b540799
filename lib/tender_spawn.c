/* libalbatross — starting a tender: fork and exec with CPU pinning, the
 * console as stdio, nothing else inherited, failures reported back.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "tender_internal.h"

extern char **environ;

/* What the child reports through the error pipe when a step before or at
 * exec fails. */
enum stage {
	STAGE_SETPGID,
	STAGE_AFFINITY,
	STAGE_FDS,
	STAGE_EXEC
};

struct report {
	int stage;
	int err;
};

static const char *stage_name(int stage)
{
	switch (stage) {
	case STAGE_SETPGID: return "setpgid";
	case STAGE_AFFINITY: return "sched_setaffinity";
	case STAGE_FDS: return "setting up file descriptors";
	}
	return "exec";
}

/* Everything the child needs, prepared by the parent: after fork the
 * child of a threaded process may only make async-signal-safe calls. */
struct child {
	const char *path;
	char *const *argv;
	char *const *envp;
	int console_fd;
	int err_fd;
	bool pin;
	cpu_set_t cpus;
};

static void report_and_exit(int fd, int stage)
    __attribute__((noreturn));

static void report_and_exit(int fd, int stage)
{
	struct report r = {.stage = stage, .err = errno};
	ssize_t n;
	do
		n = write(fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Closes every fd from `from` up. close_range() when the kernel has it,
 * else every possible descriptor below the limit. */
static int close_from(int from)
{
	if (syscall(SYS_close_range, (unsigned)from, ~0U, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	struct rlimit rl;
	long max = (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < INT_MAX)
		       ? (long)rl.rlim_cur
		       : 65536;
	for (long fd = from; fd < max; fd++)
		close((int)fd);
	return 0;
}

static void run_child(const struct child *c) __attribute__((noreturn));

static void run_child(const struct child *c)
{
	int errfd = c->err_fd;

	/* Handlers are reset by exec anyway, but ignored signals would be
	 * inherited; reset all before the mask is lifted below. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);

	if (setpgid(0, 0) != 0)
		report_and_exit(errfd, STAGE_SETPGID);
	if (c->pin && sched_setaffinity(0, sizeof(c->cpus), &c->cpus) != 0)
		report_and_exit(errfd, STAGE_AFFINITY);

	/* Both descriptors go above 2 first, so that neither is overwritten
	 * while the other becomes stdio; the error pipe then moves to 3 and
	 * everything above it is closed. */
	int con = fcntl(c->console_fd, F_DUPFD_CLOEXEC, 3);
	if (con < 0)
		report_and_exit(errfd, STAGE_FDS);
	int e = fcntl(errfd, F_DUPFD_CLOEXEC, 3);
	if (e < 0)
		report_and_exit(errfd, STAGE_FDS);
	errfd = e;
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(con, fd) < 0)
			report_and_exit(errfd, STAGE_FDS);
	if (errfd != 3) {
		if (dup3(errfd, 3, O_CLOEXEC) < 0)
			report_and_exit(errfd, STAGE_FDS);
		errfd = 3;
	}
	if (close_from(4) != 0)
		report_and_exit(errfd, STAGE_FDS);

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(c->path, c->argv, c->envp);
	report_and_exit(errfd, STAGE_EXEC);
}

static int read_report(int fd, struct report *r)
{
	size_t got = 0;
	while (got < sizeof(*r)) {
		ssize_t n = read(fd, (char *)r + got, sizeof(*r) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got == sizeof(*r) ? 1 : 0;
}

int alb_tender_spawn(const struct alb_spawn *s, pid_t *pid_out,
		     struct alb_error *err)
{
	if (s == NULL || pid_out == NULL || s->argv == NULL ||
	    s->argv[0] == NULL || s->console_fd < 0 ||
	    (s->n_cpus > 0 && s->cpus == NULL))
		return alb_fail(err, ALB_EINVAL, "spawn: invalid argument");

	struct child c = {
		.path = s->argv[0],
		.argv = (char *const *)s->argv,
		.envp = s->envp ? (char *const *)s->envp : environ,
		.console_fd = s->console_fd,
		.pin = s->n_cpus > 0,
	};
	CPU_ZERO(&c.cpus);
	for (size_t i = 0; i < s->n_cpus; i++) {
		if (s->cpus[i] < 0 || s->cpus[i] >= ALB_TENDER_CPU_MAX)
			return alb_fail(err, ALB_ETOOBIG,
					"CPU id %lld out of range 0..%d",
					(long long)s->cpus[i],
					ALB_TENDER_CPU_MAX - 1);
		CPU_SET((size_t)s->cpus[i], &c.cpus);
	}

	/* The PATH search happens here rather than in the child (execvp may
	 * allocate), and a tender that is not there needs no fork. */
	char found[ALB_TENDER_PATH_MAX];
	if (strchr(c.path, '/') == NULL) {
		if (alb__tender_which(c.path, getenv("PATH"), found) != 0) {
			errno = ENOENT;
			return alb_fail_sys(err, "exec %s failed", c.path);
		}
		c.path = found;
	}

	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return alb_fail_sys(err, "pipe");
	c.err_fd = p[1];

	/* With every signal blocked, no handler of ours can run in the child
	 * before it has reset them (a libuv handler would write into the
	 * parent's loop). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0)
		run_child(&c);
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		errno = fork_errno;
		return alb_fail_sys(err, "fork");
	}

	/* EOF means the exec happened (the pipe is close-on-exec). */
	struct report r;
	int failed = read_report(p[0], &r);
	close(p[0]);
	if (failed) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		errno = r.err;
		if (r.stage == STAGE_EXEC)
			return alb_fail_sys(err, "exec %s failed", c.path);
		return alb_fail_sys(err, "spawning %s: %s failed", c.path,
				    stage_name(r.stage));
	}
	*pid_out = pid;
	return 0;
}
