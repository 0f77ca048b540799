/* libalbatross — the seam under struct alb_client: how its bytes travel.
 * A client made by alb_client_connect() talks to a Unix socket directly;
 * a client made by the remote folder (TLS, remote.h) supplies these
 * functions instead, so that every call of client.h — commands, replies,
 * streams, dumps, timeouts — runs the same code over both.
 * Library-internal: for the folders above io, not part of the public API.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_IO_CLIENT_TRANSPORT_H
#define ALB_IO_CLIENT_TRANSPORT_H

#include <sys/types.h>

#include "albatross/client.h"

/* The byte transport of a client. Both functions move at most len bytes
 * and return how many (> 0); recv returns 0 at the peer's orderly end.
 * Failures are a negative ALB_E* code with err filled; a socket timeout
 * (SO_RCVTIMEO/SO_SNDTIMEO on the client's fd) must be ALB_ESYS with
 * sys_errno EAGAIN, which the client reports as ETIMEDOUT. */
struct alb_client_transport {
	ssize_t (*send)(void *ctx, const uint8_t *p, size_t len,
			struct alb_error *err);
	ssize_t (*recv)(void *ctx, uint8_t *p, size_t len,
			struct alb_error *err);
	/* Releases ctx; the client closes the fd itself afterwards. */
	void (*close)(void *ctx);
};

/* Makes a client over fd (a connected stream socket, taken over: closed by
 * alb_client_close(), or here on failure together with ctx) whose bytes go
 * through t and ctx. timeout_ms as alb_client_connect()'s. */
int alb_client_wrap(int fd, int timeout_ms, const struct alb_client_transport *t,
		    void *ctx, struct alb_client **out, struct alb_error *err);

/* The ctx of c when c's transport is t, else NULL. */
void *alb_client_transport_ctx(const struct alb_client *c,
			       const struct alb_client_transport *t);

/* Sets the socket timeouts of fd (0 = none), as the client does. */
int alb_client_socket_timeouts(int fd, int timeout_ms, struct alb_error *err);

#endif
