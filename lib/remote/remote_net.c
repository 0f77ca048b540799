/* libalbatross — TCP connections to a remote host: the host's addresses
 * tried with staggered attempts (RFC 8305's idea, as albatross-client's
 * happy-eyeballs), and the destination syntax of spec §10.1.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/internal.h"
#include "remote_internal.h"

/* Most addresses of one host tried. */
#define ATTEMPTS_MAX 16

bool remote_is_ip(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

/* Labels of letters, digits and '-', 1..63 bytes, not starting or ending
 * with '-', an optional final '.'; at most ALB_REMOTE_HOST_MAX bytes (as
 * Domain_name.host). */
static bool is_host_name(const char *s)
{
	size_t len = strlen(s);
	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > ALB_REMOTE_HOST_MAX)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || (c == '-' && label > 0);
		if (!ok || ++label > 63)
			return false;
	}
	return s[len - 1] != '-';
}

static int parse_port(const char *s, uint16_t *port, struct alb_error *err)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 65535 ||
	    !(*s >= '0' && *s <= '9'))
		return alb_fail(err, ALB_EPARSE, "failed to parse port");
	*port = (uint16_t)v;
	return 0;
}

int alb_remote_parse_destination(const char *s, char *host, uint16_t *port,
				 struct alb_error *err)
{
	if (s == NULL || host == NULL || port == NULL)
		return alb_fail(err, ALB_EINVAL, "missing destination or output");
	char h[ALB_REMOTE_HOST_BUF + 2];
	uint16_t p = ALB_REMOTE_PORT_DEFAULT;
	const char *colon = strrchr(s, ':');
	size_t hlen;
	if (s[0] == '[') {
		/* "[v6]" or "[v6]:port": the brackets URLs use. */
		const char *close = strchr(s, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return alb_fail(err, ALB_EPARSE, "invalid host name %s", s);
		if (close[1] == ':' && parse_port(close + 2, &p, err) < 0)
			return ALB_EPARSE;
		hlen = (size_t)(close - s - 1);
		s++;
	} else if (colon != NULL) {
		/* Albatross: the last piece is the port when there are two or
		 * more, so "::1" is host ":" and port 1 (and then refused). */
		if (parse_port(colon + 1, &p, err) < 0)
			return ALB_EPARSE;
		hlen = (size_t)(colon - s);
	} else {
		hlen = strlen(s);
	}
	if (hlen > ALB_REMOTE_HOST_MAX)
		return alb_fail(err, ALB_EPARSE, "invalid host name: longer than %d bytes",
				ALB_REMOTE_HOST_MAX);
	memcpy(h, s, hlen);
	h[hlen] = '\0';
	if (strcmp(h, "-") != 0 && !remote_is_ip(h) && !is_host_name(h))
		return alb_fail(err, ALB_EPARSE, "invalid host name %s", h);
	memcpy(host, h, hlen + 1);
	*port = p;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct attempt {
	int fd;
	int64_t deadline; /* 0: none */
};

/* Starts a non-blocking connect to ai; returns the fd (connected or in
 * progress) or -1 with errno. */
static int start(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)
		return fd;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

static void close_all(struct attempt *a, size_t n, int keep)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].fd >= 0 && a[i].fd != keep)
			close(a[i].fd);
}

int remote_tcp_connect(const char *host, uint16_t port, int timeout_ms,
		       int *out, struct alb_error *err)
{
	char service[8];
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	int g = getaddrinfo(host, service, &hints, &res);
	if (g != 0)
		return alb_fail(err, ALB_ESYS, "connect failed with %s:%u: %s", host,
				(unsigned)port,
				g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
	struct attempt a[ATTEMPTS_MAX];
	struct pollfd pfd[ATTEMPTS_MAX];
	size_t n = 0, live = 0;
	const struct addrinfo *next = res;
	int last_errno = ECONNREFUSED, fd = -1;
	int64_t next_start = now_ms();
	while (fd < 0 && (next != NULL || live > 0)) {
		int64_t now = now_ms();
		if (next != NULL && n < ATTEMPTS_MAX && (now >= next_start || live == 0)) {
			int s = start(next);
			next = next->ai_next;
			if (s < 0) {
				last_errno = errno;
				continue;
			}
			a[n].fd = s;
			a[n].deadline = timeout_ms > 0 ? now + timeout_ms : 0;
			n++;
			live++;
			next_start = now + ALB_REMOTE_ATTEMPT_DELAY_MS;
		}
		if (n == ATTEMPTS_MAX)
			next = NULL;
		/* Wait for a result, the next attempt's time or a deadline. */
		int64_t wake = next != NULL ? next_start : -1;
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			if (a[i].fd < 0)
				continue;
			pfd[k].fd = a[i].fd;
			pfd[k].events = POLLOUT;
			pfd[k].revents = 0;
			k++;
			if (a[i].deadline > 0 && (wake < 0 || a[i].deadline < wake))
				wake = a[i].deadline;
		}
		int wait = wake < 0 ? -1 : (int)(wake > now ? wake - now : 0);
		int r = poll(pfd, k, wait);
		if (r < 0 && errno != EINTR) {
			last_errno = errno;
			break;
		}
		now = now_ms();
		k = 0;
		for (size_t i = 0; i < n && fd < 0; i++) {
			if (a[i].fd < 0)
				continue;
			short ev = r > 0 ? pfd[k].revents : 0;
			k++;
			if (ev != 0) {
				int e = 0;
				socklen_t el = sizeof(e);
				if (getsockopt(a[i].fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
					e = errno;
				if (e == 0) {
					fd = a[i].fd;
					break;
				}
				last_errno = e;
			} else if (a[i].deadline == 0 || now < a[i].deadline) {
				continue;
			} else {
				last_errno = ETIMEDOUT;
			}
			close(a[i].fd);
			a[i].fd = -1;
			live--;
		}
	}
	freeaddrinfo(res);
	close_all(a, n, fd);
	if (fd < 0) {
		errno = last_errno;
		return alb_fail_sys(err, "connect failed with %s:%u", host,
				    (unsigned)port);
	}
	/* TLS hands its records over one by one, each below a loopback
	 * segment: Nagle would hold every one for the peer's delayed ACK. */
	int one = 1;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		int rc = alb_fail_sys(err, "connect failed with %s:%u", host,
				      (unsigned)port);
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}
