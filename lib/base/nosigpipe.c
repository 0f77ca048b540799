/* libalbatross — writes that never raise SIGPIPE (base/nosigpipe.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "base/nosigpipe.h"

/* A pipe write to a pipe without reader sends SIGPIPE to the writing
 * thread: blocked here, it stays pending on this thread and is taken back
 * with sigtimedwait() (no wait) unless one was pending already. */
static ssize_t writev_pipe(int fd, const struct iovec *iov, int cnt)
{
	sigset_t pipe_set, old, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old) != 0)
		return writev(fd, iov, cnt);
	bool was_pending = sigpending(&pending) == 0 &&
			   sigismember(&pending, SIGPIPE) == 1;
	ssize_t n = writev(fd, iov, cnt);
	int e = errno;
	if (n < 0 && e == EPIPE && !was_pending) {
		static const struct timespec now = {0, 0};
		while (sigtimedwait(&pipe_set, NULL, &now) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return n;
}

ssize_t alb_writev_nosigpipe(int fd, const struct iovec *iov, int cnt)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return writev(fd, iov, cnt); /* its errno (EBADF) */
	if (S_ISSOCK(st.st_mode)) {
		struct msghdr mh = {.msg_iov = (struct iovec *)(uintptr_t)iov,
				    .msg_iovlen = (size_t)cnt};
		return sendmsg(fd, &mh, MSG_NOSIGNAL);
	}
	if (S_ISFIFO(st.st_mode))
		return writev_pipe(fd, iov, cnt);
	return writev(fd, iov, cnt);
}
