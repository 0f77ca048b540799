/* libalbatross — systemd socket activation (LISTEN_PID/LISTEN_FDS), for
 * every daemon core.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "albatross/vmmd.h"
#include "base/internal.h"

int alb_vmmd_systemd_fd(int *fd, struct alb_error *err)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	if (pid == NULL || fds == NULL)
		return alb_fail(err, ALB_ENOENT,
				"systemd socket activation: LISTEN_PID or "
				"LISTEN_FDS not set");
	char *end;
	errno = 0;
	long p = strtol(pid, &end, 10);
	if (errno != 0 || *end != '\0' || p != (long)getpid())
		return alb_fail(err, ALB_ENOENT,
				"systemd socket activation: LISTEN_PID %s is "
				"not our pid %ld", pid, (long)getpid());
	if (strcmp(fds, "1") != 0)
		return alb_fail(err, ALB_ENOENT,
				"systemd socket activation: expected one "
				"socket, LISTEN_FDS is %s", fds);
	*fd = 3;
	return 0;
}
