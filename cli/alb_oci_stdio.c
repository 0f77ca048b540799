/* alb-oci — the unikernel's console. Without a terminal the tender keeps
 * the stdio that the shim gave `alb-oci create` (pipes the shim copies to
 * the task's FIFOs, so `ctr run`/`ctr task logs` show the console). With
 * process.terminal, create makes a pty and sends its master over the
 * --console-socket as runc does (SCM_RIGHTS), and the tender gets the slave
 * as its controlling terminal and stdio.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "alb_oci.h"

/* Size of a pty slave's path ("/dev/pts/N"). */
#define PTS_NAME_MAX 64

static int send_fd(const char *socket_path, int fd, const char *name,
		   struct alb_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(sa.sun_path))
		return oci_seterr(err, ALB_ETOOBIG, "console socket path too long");
	strcpy(sa.sun_path, socket_path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return oci_seterr(err, ALB_ESYS, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(s);
		return oci_seterr(err, ALB_ESYS, "cannot connect to %s: %s",
				  socket_path, strerror(e));
	}
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(s, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(s);
	if (n < 0)
		return oci_seterr(err, ALB_ESYS, "cannot send the console: %s",
				  strerror(e));
	return 0;
}

int oci_console_setup(const char *socket_path, int *slave,
		      struct alb_error *err)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return oci_seterr(err, ALB_ESYS, "cannot open a pty: %s",
				  strerror(errno));
	char name[PTS_NAME_MAX];
	int rc = 0;
	if (grantpt(master) != 0 || unlockpt(master) != 0 ||
	    ptsname_r(master, name, sizeof(name)) != 0)
		rc = oci_seterr(err, ALB_ESYS, "cannot set the pty up: %s",
				strerror(errno));
	int fd = -1;
	if (rc == 0 && (fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		rc = oci_seterr(err, ALB_ESYS, "cannot open %s: %s", name,
				strerror(errno));
	if (rc == 0)
		rc = send_fd(socket_path, master, "/dev/ptmx", err);
	close(master);
	if (rc != 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*slave = fd;
	return 0;
}

int oci_console_attach(int fd)
{
	if (ioctl(fd, TIOCSCTTY, 0) != 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (dup2(fd, i) < 0)
			return -1;
	if (fd > 2)
		close(fd);
	return 0;
}
