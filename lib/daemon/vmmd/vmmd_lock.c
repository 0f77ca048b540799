/* libalbatross — vmmd: one daemon per host. Two daemons on one tmpdir
 * would adopt, stop and clean up each other's tenders, two on one dbdir
 * would overwrite each other's state file, and two in one network
 * namespace would hand out taps side by side. So before the core touches
 * anything it takes three exclusive locks, without waiting:
 *   <tmpdir>/vmmd.lock and <dbdir>/vmmd.lock — flock() on a file opened
 *     relative to its directory with O_NOFOLLOW (created 0600 when
 *     missing), our pid written in it for the message of the next one;
 *   the network namespace — an abstract Unix socket bound to
 *     VMMD_NETNS_LOCK (abstract names are per network namespace and go
 *     away with their last holder, so a crash never leaves it taken).
 * All three are released by the kernel when the daemon dies, however it
 * dies; the descriptors are close-on-exec, so no tender keeps them.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dcommon/socket.h"
#include "vmmd_internal.h"

/* The pid written by the holder of a lock file, or 0. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	return pid > 0 && (*end == '\n' || *end == '\0') ? pid : 0;
}

int lock_file_take(int dirfd, const char *dir, const char *name,
		   struct alb_error *err)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			0600);
	if (fd < 0)
		return alb_fail_sys(err, "cannot open the lock file %s/%s", dir,
				    name);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		long pid = holder_pid(fd);
		close(fd);
		if (e != EWOULDBLOCK) {
			errno = e;
			return alb_fail_sys(err, "cannot lock %s/%s", dir, name);
		}
		if (pid > 0)
			return alb_fail(err, ALB_EBUSY,
					"another albd (pid %ld) holds %s/%s: "
					"refusing to start", pid, dir, name);
		return alb_fail(err, ALB_EBUSY, "another albd holds %s/%s: "
				"refusing to start", dir, name);
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		/* only the message of a second daemon needs it */
		alb_log_warn("vmmd: cannot write our pid into %s/%s: %s", dir,
			     name, strerror(errno));
	}
	return fd;
}

int lock_netns_take(const char *name, struct alb_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	if (len + 1 > sizeof(sa.sun_path))
		return alb_fail(err, ALB_ETOOBIG, "lock name %s too long", name);
	/* sun_path[0] = 0: an abstract name, no file */
	memcpy(sa.sun_path + 1, name, len);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return alb_fail_sys(err, "socket");
	socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
	if (bind(fd, (struct sockaddr *)&sa, sl) != 0) {
		int e = errno;
		close(fd);
		if (e == EADDRINUSE)
			return alb_fail(err, ALB_EBUSY, "another albd runs in this "
					"network namespace (it holds the abstract "
					"socket @%s): refusing to start", name);
		errno = e;
		return alb_fail_sys(err, "cannot bind the abstract socket @%s",
				    name);
	}
	return fd;
}

static int lock_dir(const char *dir, struct alb_error *err)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return alb_fail_sys(err, "cannot open %s", dir);
	int fd = lock_file_take(dfd, dir, VMMD_LOCK_FILE, err);
	close(dfd);
	return fd;
}

int vmmd_lock(struct alb_vmmd *v, struct alb_error *err)
{
	/* the namespace first: it needs no directory, and a second daemon
	 * stops there without making any */
	int fd = lock_netns_take(VMMD_NETNS_LOCK, err);
	if (fd < 0)
		return fd;
	v->lock_ns = fd;
	int rc = dc_mkdir_p(v->tmpdir, 0755, err);
	if (rc != 0 || (fd = lock_dir(v->tmpdir, err)) < 0)
		return rc != 0 ? rc : fd;
	v->lock_tmp = fd;
	rc = dc_mkdir_p(v->dbdir, 0755, err);
	if (rc != 0 || (fd = lock_dir(v->dbdir, err)) < 0)
		return rc != 0 ? rc : fd;
	v->lock_db = fd;
	return 0;
}

void vmmd_unlock(struct alb_vmmd *v)
{
	int *fds[3] = {&v->lock_db, &v->lock_tmp, &v->lock_ns};
	for (int i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}
