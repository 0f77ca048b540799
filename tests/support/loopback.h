/* Tests' TCP on 127.0.0.1: a listener, a free port, a client, one request
 * answered until the peer closes. Include after <cmocka.h>.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_LOOPBACK_H
#define ALB_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "host_helpers.h"

/* Seconds a client's read waits before it gives up. */
#define LO_READ_TIMEOUT_S 15

/* A listener on 127.0.0.1:*port (0: any free port; an earlier one may be
 * taken again at once), the port in *port. */
static inline int lo_listen(int *port, int backlog)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)*port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail_msg("bind 127.0.0.1:%d: %s", *port, strerror(errno));
	assert_int_equal(listen(fd, backlog), 0);
	socklen_t len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A port of 127.0.0.1 that was free when this returned. */
static inline int lo_free_port(void)
{
	int port = 0;
	close(lo_listen(&port, 1));
	return port;
}

/* A client of 127.0.0.1:port. */
static inline int lo_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {LO_READ_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* What fd gives until EOF (or the read timeout), NUL-terminated. */
static inline char *lo_read_all(int fd)
{
	char *r = read_to_eof(fd);
	assert_non_null(r);
	return r;
}

/* Sends req[0..len) on a connection of its own and returns the answer. */
static inline char *lo_request(int port, const char *req, size_t len)
{
	int fd = lo_connect(port);
	assert_int_equal(write(fd, req, len), (ssize_t)len);
	char *r = lo_read_all(fd);
	close(fd);
	return r;
}

#endif
