/* libalbatross — daemon/common: the sockets and directories of the daemon
 * cores: claiming and binding a listening Unix socket with its mode and
 * group, taking over a socket systemd passed, connecting to a peer daemon,
 * and making runtime directories.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_DCOMMON_SOCKET_H
#define ALB_DCOMMON_SOCKET_H

#include <stdint.h>
#include <sys/types.h>

#include "albatross/common.h"

/** Mode of every listening Unix socket a daemon binds: its owner and its
 * group (the daemons' socket_gid, e.g. albatross) may connect, others not;
 * set with chmod after bind, so the caller's umask does not matter. */
#define DC_SOCKET_MODE 0660

/** Binds a listening Unix stream socket (non-blocking, close-on-exec) at
 * path with backlog and DC_SOCKET_MODE, owned by group gid unless gid is
 * -1. A file already at path is replaced only when lstat() says it is a
 * socket and connecting to it is refused (a stale socket of a daemon that
 * is gone): ALB_EEXIST when it is not a socket, ALB_EBUSY when a daemon
 * answers there. Until the mode and group are set the socket is 0600 at
 * most. Returns 0 and *out, ALB_ETOOBIG for a path too long, ALB_ESYS. */
int dc_unix_listen(const char *path, int64_t gid, int backlog, int *out,
		   struct alb_error *err);

/** Makes fd, a listening socket given by the caller (systemd), non-blocking
 * and close-on-exec. Returns 0, ALB_EINVAL when it is not a listening
 * socket, ALB_ESYS. */
int dc_listen_fd_adopt(int fd, struct alb_error *err);

/** Connects a non-blocking, close-on-exec Unix stream socket to path.
 * Returns 0 and *out, ALB_ENOENT when nothing listens there (no socket file,
 * or connection refused), ALB_ETOOBIG for a path too long, ALB_ESYS. */
int dc_unix_connect(const char *path, int *out, struct alb_error *err);

/** mkdir -p: makes path and its missing parents with mode (exactly: the
 * umask does not apply to what is created; existing directories are left
 * as they are). ALB_EEXIST when a component is not a directory, ALB_ESYS. */
int dc_mkdir_p(const char *path, mode_t mode, struct alb_error *err);

#endif
