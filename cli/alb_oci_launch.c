/* alb-oci — the process the shim waits on. `create` forks it and leaves it
 * parked on the FIFO <root>/<id>/start.fifo (its open for writing blocks
 * until `start` opens the other end), then it becomes the tender:
 *  - solo5-hvt / solo5-spt: it executes the tender itself, so the pid in
 *    the pid file is the tender's, and its exit status, which a Solo5 tender
 *    takes from the unikernel, is what alb_tender_exit_decode() makes of it
 *    (the identity for hvt and spt);
 *  - QEMU: it starts QEMU as its child (killed with it: PR_SET_PDEATHSIG),
 *    forwards signals to it and exits with what alb_tender_exit_decode()
 *    makes of QEMU's status (isa-debug-exit's (code << 1) | 1 becomes code),
 *    or dies of the same signal — as albd reports a unikernel's end.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alb_oci.h"

/* Exit status of the parked process when it cannot become the tender
 * (a shell's "command not found" status). */
#define LAUNCH_EXIT_EXEC 127
/* How often `start` looks whether the parked process is still there. */
#define RELEASE_POLL_MS 50

/* Signals the QEMU waiter passes on to QEMU. */
static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1,
				SIGUSR2, SIGCONT, SIGWINCH};

int oci_exec_tender(const struct alb_argv *argv, size_t n_cpus,
		    const int64_t *cpus)
{
	if (n_cpus > 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		for (size_t i = 0; i < n_cpus; i++)
			CPU_SET((int)cpus[i], &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			return -1;
	}
	/* what the shim ignored or blocked is not the tender's business */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv->argv[0], argv->argv);
	return -1;
}

static void exec_or_die(const struct oci_launch *l)
{
	oci_exec_tender(l->argv, l->n_cpus, l->cpus);
	fprintf(stderr, "alb-oci: exec %s failed: %s\n", l->argv->argv[0],
		strerror(errno));
	_exit(LAUNCH_EXIT_EXEC);
}

static volatile sig_atomic_t qemu_pid;

static void forward(int sig)
{
	if (qemu_pid > 0)
		kill((pid_t)qemu_pid, sig);
}

__attribute__((noreturn)) static void qemu_waiter(const struct oci_launch *l)
{
	sigset_t fw, old;
	sigemptyset(&fw);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&fw, forwarded[i]);
	/* a signal that comes before QEMU's pid is known waits */
	sigprocmask(SIG_BLOCK, &fw, &old);
	pid_t me = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "alb-oci: fork: %s\n", strerror(errno));
		_exit(LAUNCH_EXIT_EXEC);
	}
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != me)
			_exit(LAUNCH_EXIT_EXEC);
		exec_or_die(l);
	}
	qemu_pid = pid;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaction(forwarded[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(LAUNCH_EXIT_EXEC);
	struct alb_exit_status es;
	if (alb_tender_exit_decode(st, ALB_TENDER_QEMU, &es) != 0)
		_exit(LAUNCH_EXIT_EXEC);
	if (es.kind == ALB_EXIT_SIGNAL) {
		/* die the same way, without a core of our own */
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		signal(es.value, SIG_DFL);
		sigset_t one;
		sigemptyset(&one);
		sigaddset(&one, es.value);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(es.value);
		_exit(128 + es.value);
	}
	_exit(es.value & 0xff);
}

void oci_launch_run(const struct oci_launch *l)
{
	setsid();
	if (l->console >= 0 && oci_console_attach(l->console) != 0)
		_exit(LAUNCH_EXIT_EXEC);
	int fd;
	do
		fd = openat(l->dirfd, OCI_START_FIFO, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(LAUNCH_EXIT_EXEC);
	close(fd);
	close(l->dirfd);
	/* nothing but stdio goes to the tender */
	close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
	if (l->kind == ALB_TENDER_QEMU)
		qemu_waiter(l);
	exec_or_die(l);
	_exit(LAUNCH_EXIT_EXEC);
}

int oci_launch_release(int dirfd, pid_t pid, struct alb_error *err)
{
	int fd = openat(dirfd, OCI_START_FIFO,
			O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return oci_seterr(err, ALB_ESYS, "cannot open %s: %s",
				  OCI_START_FIFO, strerror(errno));
	int rc = ALB_EAGAIN;
	for (int waited = 0; rc == ALB_EAGAIN;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, RELEASE_POLL_MS);
		char b;
		if (n > 0 && (p.revents & POLLIN) && read(fd, &b, 1) == 1)
			rc = 0;
		else if (n < 0 && errno != EINTR)
			rc = oci_seterr(err, ALB_ESYS, "poll: %s", strerror(errno));
		else if (oci_pid_start(pid) < 0)
			rc = oci_seterr(err, ALB_ENOENT,
					"the container's process %d is gone",
					(int)pid);
		else if ((waited += RELEASE_POLL_MS) >= OCI_START_TIMEOUT_MS)
			rc = oci_seterr(err, ALB_ESYS,
					"the container's process did not start "
					"within %d ms", OCI_START_TIMEOUT_MS);
	}
	close(fd);
	if (rc == 0)
		unlinkat(dirfd, OCI_START_FIFO, 0);
	return rc;
}
