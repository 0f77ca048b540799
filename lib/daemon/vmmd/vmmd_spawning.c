/* libalbatross — vmmd: tender spawns of a previous daemon that had not
 * exec'd yet when it died.
 *
 * alb_tender_spawn()'s child shares the daemon's memory until its exec
 * (CLONE_VM | CLONE_VFORK), so /proc/PID/cmdline and /proc/PID/exe show
 * the daemon, not <tmpdir>/<name>.img: the adoption's /proc scan would
 * miss a child whose daemon was killed just after the clone, and the
 * tender it then execs would run beside the one the restore starts,
 * unsupervised. Such a child is named ALB_SPAWN_COMM (host/spawn.h) from
 * its birth to its exec. At startup, before the locks (until it closes
 * them for its exec, the child holds the dead daemon's lock files and
 * namespace socket), the core waits up to VMMD_SPAWN_SETTLE_MS for every
 * process so named to exec or exit, so that the scan that follows sees
 * the tender it exec'd. An exec renames the process before it sets the new
 * command line, so every process whose exec is under way (an empty command
 * line, an executable) is waited for too. One still there after the wait
 * whose console is the FIFO or log file of a spawn record of this tmpdir
 * is killed by the adoption (vmmd_adopt.c): it runs no unikernel yet, and
 * would run one unsupervised.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/proc.h"
#include "host/spawn.h"
#include "vmmd_internal.h"

/* Pause between two looks at the spawns being waited for. */
#define SPAWN_POLL_MS 2

/* comm, state and start time of pid from /proc/PID/stat; false when it is
 * gone (or unreadable). */
static bool read_stat(pid_t pid, char comm[ALB_SPAWN_COMM_BUF], char *state,
		      unsigned long long *starttime)
{
	char path[64], buf[ALB_STATS_PROC_FILE_MAX];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses */
	char *open_p = strchr(buf, '(');
	char *close_p = strrchr(buf, ')');
	struct alb_proc_stat st;
	if (open_p == NULL || close_p == NULL || close_p < open_p ||
	    close_p[1] != ' ' || close_p[2] == '\0' ||
	    alb_proc_parse_stat(buf, (size_t)n, pid, &st, NULL) != 0)
		return false;
	size_t len = (size_t)(close_p - open_p - 1);
	if (len >= ALB_SPAWN_COMM_BUF)
		len = ALB_SPAWN_COMM_BUF - 1;
	memcpy(comm, open_p + 1, len);
	comm[len] = '\0';
	*state = close_p[2];
	*starttime = (unsigned long long)st.starttime;
	return true;
}

/* True when /proc/PID/cmdline is empty: a kernel thread, a zombie, or an
 * exec under way (the new command line is set at its end). */
static bool cmdline_empty(pid_t pid)
{
	char path[64], c;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, &c, 1);
	close(fd);
	return n <= 0;
}

/* True while pid's exec is under way: the kernel has renamed it and set
 * its new executable but not its arguments yet (a kernel thread has no
 * executable). */
static bool execing(pid_t pid)
{
	char path[64], exe[8];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	return cmdline_empty(pid) && readlink(path, exe, sizeof(exe)) > 0;
}

/* A process that runs (not a zombie) under the name ALB_SPAWN_COMM, or one
 * whose exec is under way: a spawn renamed by its exec is not done until
 * the exec has set its arguments, and the /proc scan that follows would
 * miss it. */
static bool spawn_of_interest(pid_t pid, const char *comm, char state,
			      bool *named)
{
	if (state == 'Z' || state == 'X')
		return false;
	*named = strcmp(comm, ALB_SPAWN_COMM) == 0;
	return *named || execing(pid);
}

struct spawning *spawning_list(size_t *n)
{
	*n = 0;
	DIR *d = opendir("/proc");
	if (d == NULL) {
		alb_log_error("vmmd: cannot look for tender spawns in /proc: %s",
			      strerror(errno));
		return NULL;
	}
	struct spawning *list = NULL;
	size_t cap = 0;
	pid_t self = getpid();
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		char comm[ALB_SPAWN_COMM_BUF], state;
		unsigned long long st;
		bool named;
		if (*end != '\0' || pid <= 1 || pid == self ||
		    !read_stat((pid_t)pid, comm, &state, &st) ||
		    !spawn_of_interest((pid_t)pid, comm, state, &named))
			continue;
		if (*n == cap) {
			size_t c = cap ? 2 * cap : 8;
			struct spawning *l = realloc(list, c * sizeof(*l));
			if (l == NULL) {
				alb_log_error("vmmd: out of memory listing tender "
					      "spawns");
				break;
			}
			list = l;
			cap = c;
		}
		list[(*n)++] = (struct spawning){(pid_t)pid, st, named};
	}
	closedir(d);
	return list;
}

bool spawning_still(const struct spawning *p)
{
	char comm[ALB_SPAWN_COMM_BUF], state;
	unsigned long long st;
	if (!read_stat(p->pid, comm, &state, &st) || st != p->starttime ||
	    state == 'Z' || state == 'X')
		return false;
	if (strcmp(comm, ALB_SPAWN_COMM) == 0)
		return true;
	/* renamed by its exec: done once the exec has set its arguments */
	return cmdline_empty(p->pid);
}

bool spawning_console(const struct spawning *p, struct stat *st)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)p->pid);
	return stat(path, st) == 0 && proc_starttime(p->pid) == p->starttime;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

size_t spawns_settle(unsigned ms)
{
	size_t n = 0;
	struct spawning *list = spawning_list(&n);
	size_t named = 0;
	for (size_t i = 0; i < n; i++)
		named += list[i].named;
	/* an exec under way elsewhere on the host ends in a moment, unlogged */
	if (named > 0)
		alb_log_warn("vmmd: waiting up to %u ms for %zu tender spawns "
			     "(processes named %s) to exec: a daemon may have "
			     "died spawning them", ms, named, ALB_SPAWN_COMM);
	uint64_t end = now_ms() + ms;
	for (;;) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (spawning_still(&list[i]))
				list[k++] = list[i];
		n = k;
		if (n == 0 || now_ms() >= end)
			break;
		struct timespec ts = {0, SPAWN_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (n > 0)
		alb_log_warn("vmmd: %zu tender spawns did not exec within %u ms "
			     "(those of this tmpdir are killed)", n, ms);
	free(list);
	return n;
}
