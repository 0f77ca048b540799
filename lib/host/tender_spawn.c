/* libalbatross — starting a tender: a child that shares our memory until
 * it execs (clone with CLONE_VM | CLONE_VFORK, as posix_spawn does), with
 * CPU pinning, the console as stdio, nothing else inherited, optionally
 * a uid of its own without any capability, failures reported back.
 * Unlike fork(), this costs the same whatever the daemon's size: no page
 * table is copied and no page of ours becomes copy-on-write (after a fork
 * every first write to a page of the daemon faults); and whatever the
 * number of descriptors it holds (two per unikernel in albd): the child
 * shares our descriptor table (CLONE_FILES) and leaves it with a copy of
 * its first few entries only (close_range's CLOSE_RANGE_UNSHARE), the
 * console waiting in a low slot of ours, instead of copying the table
 * whole and closing every copy.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/internal.h"
#include "host/spawn.h"
#include "tender_internal.h"

extern char **environ;

/* What the child reports through the error pipe when a step before or at
 * exec fails. */
enum stage {
	STAGE_SETPGID,
	STAGE_AFFINITY,
	STAGE_FDS,
	STAGE_CREDS,
	STAGE_EXEC
};

/* The child's stack (its own mapping, a guard page below): the child
 * runs on it until exec while the calling thread is suspended. Room for
 * the few calls the child makes, instrumented ones included. Mapped at
 * the first spawn and kept: one spawn at a time uses it (clone_child()
 * runs with slot_lock held), and its child has left it (exec'd or exited)
 * when the clone returns. A mapping per spawn cost its map, its first
 * page faults and its unmap (0.07-0.2 ms on a virtual machine, where the
 * unmap's TLB flush reaches every CPU running one of our threads). */
#define CHILD_STACK_LEN (256 * 1024)
#define CHILD_GUARD_LEN 4096
static uint8_t *child_stack;

static const char *stage_name(int stage)
{
	switch (stage) {
	case STAGE_SETPGID: return "setpgid";
	case STAGE_AFFINITY: return "sched_setaffinity";
	case STAGE_FDS: return "setting up file descriptors";
	case STAGE_CREDS: return "dropping privileges";
	}
	return "exec";
}

/* Everything the child needs, prepared by the parent: the child of a
 * threaded process may only make async-signal-safe calls, and as it shares
 * our memory it writes nowhere but its own stack and `failed` below. */
struct child {
	const char *path;
	char *const *argv;
	char *const *envp;
	int console_fd;
	/* the child shares our descriptor table until it unshares it,
	 * keeping the descriptors below shared_below (console_fd among
	 * them); 0: it has a copy of its own from the clone */
	int shared_below;
	bool pin;
	cpu_set_t cpus;
	/* credentials to take, when creds */
	bool creds;
	uid_t uid;
	gid_t gid;
	size_t n_groups;
	gid_t groups[ALB_SPAWN_GROUPS_MAX];
	/* set by the child when a step before or at exec fails; read by the
	 * parent once the child has exec'd or exited (CLONE_VFORK) */
	volatile bool failed;
	volatile int stage;
	volatile int err;
};

static void report_and_exit(struct child *c, int stage)
    __attribute__((noreturn));

static void report_and_exit(struct child *c, int stage)
{
	c->err = errno;
	c->stage = stage;
	c->failed = true;
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

/* Makes the child an unprivileged process: groups, gid, an empty
 * bounding set (while CAP_SETPCAP is still ours), no ambient capability,
 * then the uid, which clears the permitted and effective sets, cleared
 * once more explicitly (whatever securebits say), and no_new_privs; at
 * last proof that root is out of reach. Raw system calls: glibc's
 * set*id() would broadcast the change to the threads of the process
 * whose memory we share. Returns 0, or -1 with errno. */
static int drop_privileges(const struct child *c)
{
	if (syscall(SYS_setgroups, c->n_groups, c->groups) != 0 ||
	    syscall(SYS_setresgid, c->gid, c->gid, c->gid) != 0)
		return -1;
	/* every capability the kernel knows: EINVAL past the last one */
	for (unsigned long cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			if (errno == EINVAL)
				break;
			return -1;
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		return -1;
	if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) != 0)
		return -1;
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	if (syscall(SYS_setresuid, 0, 0, 0) == 0 ||
	    syscall(SYS_setresgid, 0, 0, 0) == 0) {
		errno = EPERM;
		return -1;
	}
	if (syscall(SYS_capget, &hdr, data) != 0)
		return -1;
	for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		if (data[i].effective != 0 || data[i].permitted != 0 ||
		    data[i].inheritable != 0) {
			errno = EPERM;
			return -1;
		}
	return 0;
}

static int run_child(void *arg) __attribute__((noreturn));

static int run_child(void *arg)
{
	struct child *c = arg;

	/* Handlers are reset by exec anyway, but ignored signals would be
	 * inherited; reset all before the mask is lifted below. SIGPIPE
	 * alone stays ignored, as for Albatross's tenders: a console FIFO
	 * whose reader went away fails the write (EPIPE) instead of killing
	 * the unikernel. */
	struct sigaction dfl, ign;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, sig == SIGPIPE ? &ign : &dfl, NULL);

	/* A table of our own before any descriptor is touched: the first
	 * entries copied, or (a kernel before 5.9) all of them. */
	if (c->shared_below > 0 &&
	    syscall(SYS_close_range, (unsigned)c->shared_below, ~0U,
		    CLOSE_RANGE_UNSHARE) != 0 &&
	    unshare(CLONE_FILES) != 0)
		report_and_exit(c, STAGE_FDS);

	if (setpgid(0, 0) != 0)
		report_and_exit(c, STAGE_SETPGID);
	if (c->pin && sched_setaffinity(0, sizeof(c->cpus), &c->cpus) != 0)
		report_and_exit(c, STAGE_AFFINITY);

	/* The console goes above 2 first, so that it is not overwritten
	 * while it becomes stdio (it may be 0, 1 or 2 itself); everything
	 * above stdio is closed then. */
	int con = fcntl(c->console_fd, F_DUPFD_CLOEXEC, 3);
	if (con < 0)
		report_and_exit(c, STAGE_FDS);
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(con, fd) < 0)
			report_and_exit(c, STAGE_FDS);
	if (close_from(3) != 0)
		report_and_exit(c, STAGE_FDS);
	if (c->creds && drop_privileges(c) != 0)
		report_and_exit(c, STAGE_CREDS);

	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(c->path, c->argv, c->envp);
	report_and_exit(c, STAGE_EXEC);
}

/* Runs the child on the child stack and returns once it has exec'd or
 * exited: its pid and, through *pidfd, a pidfd for it made by the same
 * clone (CLONE_PIDFD: no window in which the pid could name another
 * process), or -1 with errno. With slot_lock held. */
static pid_t clone_child(struct child *c, int *pidfd)
{
	size_t len = CHILD_STACK_LEN + CHILD_GUARD_LEN;
	if (child_stack == NULL) {
		uint8_t *stack = mmap(NULL, len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
				      -1, 0);
		if (stack == MAP_FAILED)
			return -1;
		/* the stack grows down: an overflow hits the guard page,
		 * not our memory */
		if (mprotect(stack, CHILD_GUARD_LEN, PROT_NONE) != 0) {
			int saved = errno;
			munmap(stack, len);
			errno = saved;
			return -1;
		}
		child_stack = stack;
	}
	return clone(run_child, child_stack + len,
		     CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD |
			     (c->shared_below > 0 ? CLONE_FILES : 0),
		     c, pidfd);
}

/* ---- the console slot ---------------------------------------------------
 * A low descriptor of ours that holds each console while its child
 * unshares the table, and otherwise `marker` (a memfd of ours: the slot
 * is still ours while it holds that inode). Taken once, as low as the
 * table is then (alb__spawn_slot_reserve() at a daemon's start, else the
 * first spawn); one spawn at a time uses it. A spawn whose slot is gone
 * (the program closed it) copies the table as before. */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static int slot = -1, marker = -1;
static dev_t marker_dev;
static ino_t marker_ino;

/* With slot_lock held: whether the slot is there (taking it if not yet). */
static bool slot_ready(void)
{
	if (marker < 0) {
		marker = memfd_create("alb-spawn-slot", MFD_CLOEXEC);
		struct stat st;
		if (marker < 0 || fstat(marker, &st) != 0)
			return false;
		marker_dev = st.st_dev;
		marker_ino = st.st_ino;
		slot = fcntl(marker, F_DUPFD_CLOEXEC, 0);
	}
	struct stat st;
	return slot >= 0 && fstat(slot, &st) == 0 && st.st_dev == marker_dev &&
	       st.st_ino == marker_ino;
}

void alb__spawn_slot_reserve(void)
{
	pthread_mutex_lock(&slot_lock);
	slot_ready();
	pthread_mutex_unlock(&slot_lock);
}

/* Clones the child, in the console slot when there is one. */
static pid_t clone_in_slot(struct child *c, int *pidfd)
{
	pthread_mutex_lock(&slot_lock);
	int console = c->console_fd;
	if (slot_ready() && dup3(console, slot, O_CLOEXEC) == slot) {
		c->console_fd = slot;
		c->shared_below = slot + 1;
	}
	pid_t pid = clone_child(c, pidfd);
	int saved = errno;
	if (c->shared_below > 0)
		dup3(marker, slot, O_CLOEXEC);
	c->console_fd = console;
	pthread_mutex_unlock(&slot_lock);
	errno = saved;
	return pid;
}

/* Checks the credentials to take and copies them into the child's
 * block. */
static int take_creds(struct child *c, const struct alb_spawn_creds *cr,
		      struct alb_error *err)
{
	if (cr->reserved_[0] != 0 || cr->reserved_[1] != 0)
		return alb_fail(err, ALB_EINVAL,
				"spawn: reserved fields must be zero");
	if (cr->n_groups > ALB_SPAWN_GROUPS_MAX)
		return alb_fail(err, ALB_ETOOBIG,
				"spawn: %zu supplementary groups, at most %d",
				cr->n_groups, ALB_SPAWN_GROUPS_MAX);
	if (cr->n_groups > 0 && cr->groups == NULL)
		return alb_fail(err, ALB_EINVAL, "spawn: invalid argument");
	/* root in any of them would give back what the tender must not have;
	 * (uid_t)-1 means "unchanged" to setresuid */
	if (cr->uid == 0 || cr->gid == 0 || cr->uid == (uint32_t)-1 ||
	    cr->gid == (uint32_t)-1)
		return alb_fail(err, ALB_EINVAL,
				"spawn: uid %lu gid %lu: a tender may not run as "
				"root", (unsigned long)cr->uid,
				(unsigned long)cr->gid);
	for (size_t i = 0; i < cr->n_groups; i++) {
		if (cr->groups[i] == 0 || cr->groups[i] == (uint32_t)-1)
			return alb_fail(err, ALB_EINVAL,
					"spawn: group %lu: a tender may not "
					"have the root group",
					(unsigned long)cr->groups[i]);
		c->groups[i] = (gid_t)cr->groups[i];
	}
	c->creds = true;
	c->uid = (uid_t)cr->uid;
	c->gid = (gid_t)cr->gid;
	c->n_groups = cr->n_groups;
	return 0;
}

int alb_tender_spawn(const struct alb_spawn *s, struct alb_spawned *out,
		     struct alb_error *err)
{
	if (s == NULL || out == NULL || s->argv == NULL ||
	    s->argv[0] == NULL || s->console_fd < 0 ||
	    (s->n_cpus > 0 && s->cpus == NULL))
		return alb_fail(err, ALB_EINVAL, "spawn: invalid argument");
	if (!ALB_RESERVED_ZERO(s))
		return alb_fail(err, ALB_EINVAL,
				"spawn: reserved fields must be zero");

	struct child c = {
		.path = s->argv[0],
		.argv = (char *const *)s->argv,
		.envp = s->envp ? (char *const *)s->envp : environ,
		.console_fd = s->console_fd,
		.pin = s->n_cpus > 0,
	};
	if (s->creds != NULL) {
		int rc = take_creds(&c, s->creds, err);
		if (rc != 0)
			return rc;
	}
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
	 * allocate), and a tender that is not there needs no child. */
	char found[ALB_TENDER_PATH_MAX];
	if (strchr(c.path, '/') == NULL) {
		if (alb__tender_which(c.path, getenv("PATH"), found) != 0) {
			errno = ENOENT;
			return alb_fail_sys(err, "exec %s failed", c.path);
		}
		c.path = found;
	}

	/* With every signal blocked, no handler of ours can run in the child
	 * before it has reset them (a libuv handler would write into the
	 * parent's loop, and the child shares our memory). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* the child is born with the name ALB_SPAWN_COMM (host/spawn.h),
	 * which it keeps until its exec */
	char name[16] = {0};
	bool named = prctl(PR_GET_NAME, name) == 0 &&
		     prctl(PR_SET_NAME, ALB_SPAWN_COMM) == 0;
	int pidfd = -1;
	pid_t pid = clone_in_slot(&c, &pidfd);
	int clone_errno = errno;
	if (named)
		prctl(PR_SET_NAME, name);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		errno = clone_errno;
		return alb_fail_sys(err, "clone");
	}
	if (c.failed) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		close(pidfd);
		errno = c.err;
		if (c.stage == STAGE_EXEC)
			return alb_fail_sys(err, "exec %s failed", c.path);
		return alb_fail_sys(err, "spawning %s: %s failed", c.path,
				    stage_name(c.stage));
	}
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->pidfd = pidfd;
	return 0;
}
