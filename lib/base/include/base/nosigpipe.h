/* libalbatross — writing to a descriptor that a peer may close without
 * raising SIGPIPE (private to the library).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_BASE_NOSIGPIPE_H
#define ALB_BASE_NOSIGPIPE_H

#include <sys/types.h>
#include <sys/uio.h>

/** writev() that never raises SIGPIPE, whatever the process's disposition:
 * a socket is written with sendmsg(MSG_NOSIGNAL); a pipe or FIFO with
 * SIGPIPE blocked in the calling thread, a SIGPIPE that this write raised
 * being taken back before the mask is restored (one that was pending
 * before stays); anything else with writev(). A reader that went away is
 * -1 with errno EPIPE. Same return and errno as writev() otherwise. */
ssize_t alb_writev_nosigpipe(int fd, const struct iovec *iov, int cnt);

#endif
