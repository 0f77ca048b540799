/* libalbatross — daemon/common: listening and connecting Unix sockets,
 * runtime directories (see dcommon/socket.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/internal.h"
#include "dcommon/socket.h"

static int make_addr(const char *path, struct sockaddr_un *sa,
		     struct alb_error *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	size_t len = strlen(path);
	if (len >= sizeof(sa->sun_path))
		return alb_fail(err, ALB_ETOOBIG, "socket path %s too long (at "
				"most %zu bytes)", path, sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

/* A file at path: a stale socket is removed; a live one or anything else
 * stays and makes the bind fail with the reason. */
static int claim(const char *path, const struct sockaddr_un *sa,
		 struct alb_error *err)
{
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return alb_fail_sys(err, "lstat %s", path);
	}
	if (!S_ISSOCK(st.st_mode))
		return alb_fail(err, ALB_EEXIST, "%s exists and is not a socket",
				path);
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return alb_fail_sys(err, "socket");
	int rc = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
	int e = errno;
	close(probe);
	if (rc == 0)
		return alb_fail(err, ALB_EBUSY, "another daemon listens on %s",
				path);
	if (e != ECONNREFUSED) {
		errno = e;
		return alb_fail_sys(err, "cannot tell whether a daemon listens "
				    "on %s", path);
	}
	if (unlink(path) != 0 && errno != ENOENT)
		return alb_fail_sys(err, "cannot remove the stale socket %s", path);
	return 0;
}

int dc_unix_listen(const char *path, int64_t gid, int backlog, int *out,
		   struct alb_error *err)
{
	struct sockaddr_un sa;
	int rc = make_addr(path, &sa, err);
	if (rc == 0)
		rc = claim(path, &sa, err);
	if (rc != 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return alb_fail_sys(err, "socket");
	/* The file bind() makes takes the socket inode's mode less the umask:
	 * 0600 at most until the group and the final mode are set. */
	if (fchmod(fd, 0600) != 0) {
		rc = alb_fail_sys(err, "fchmod of a new socket");
		close(fd);
		return rc;
	}
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = alb_fail_sys(err, "cannot bind %s", path);
		close(fd);
		return rc;
	}
	struct stat st;
	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISSOCK(st.st_mode))
		rc = alb_fail(err, ALB_ESYS, "%s is not the socket just bound", path);
	else if (gid >= 0 &&
		 fchownat(AT_FDCWD, path, (uid_t)-1, (gid_t)gid,
			  AT_SYMLINK_NOFOLLOW) != 0)
		rc = alb_fail_sys(err, "cannot give %s to group %lld", path,
				  (long long)gid);
	else if (chmod(path, DC_SOCKET_MODE) != 0)
		rc = alb_fail_sys(err, "cannot chmod %s", path);
	else if (listen(fd, backlog) != 0)
		rc = alb_fail_sys(err, "cannot listen on %s", path);
	if (rc != 0) {
		close(fd);
		unlink(path);
		return rc;
	}
	*out = fd;
	return 0;
}

int dc_listen_fd_adopt(int fd, struct alb_error *err)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
	    !listening)
		return alb_fail(err, ALB_EINVAL, "file descriptor %d is not a "
				"listening socket", fd);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
		return alb_fail_sys(err, "the listening socket %d", fd);
	return 0;
}

int dc_unix_connect(const char *path, int *out, struct alb_error *err)
{
	struct sockaddr_un sa;
	int rc = make_addr(path, &sa, err);
	if (rc != 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return alb_fail_sys(err, "socket");
	/* A Unix connect completes at once or fails (EAGAIN: the backlog is
	 * full, tried again later like a refusal). */
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		if (e == ENOENT || e == ECONNREFUSED || e == EAGAIN)
			return alb_fail(err, ALB_ENOENT, "cannot connect to %s: %s",
					path, strerror(e));
		return alb_fail_sys(err, "cannot connect to %s", path);
	}
	*out = fd;
	return 0;
}

int dc_mkdir_p(const char *path, mode_t mode, struct alb_error *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return alb_fail(err, ALB_ETOOBIG, "directory name %s too long", path);
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, mode) == 0) {
			/* exactly mode, whatever the umask */
			if (chmod(buf, mode) != 0)
				return alb_fail_sys(err, "chmod %s", buf);
		} else if (errno != EEXIST) {
			return alb_fail_sys(err, "cannot create %s", buf);
		}
		struct stat st;
		if (stat(buf, &st) != 0)
			return alb_fail_sys(err, "stat %s", buf);
		if (!S_ISDIR(st.st_mode))
			return alb_fail(err, ALB_EEXIST, "%s is not a directory", buf);
		buf[i] = c;
	}
	return 0;
}
