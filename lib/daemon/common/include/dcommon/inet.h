/* libalbatross — daemon/common: the TCP addresses of the exporters
 * (--influx HOST[:PORT], --prometheus ADDR:PORT).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_DCOMMON_INET_H
#define ALB_DCOMMON_INET_H

#include <stddef.h>
#include <sys/socket.h>

#include "albatross/common.h"

/* Longest text address accepted ("[v6]:port" fits easily). */
#define DC_ADDR_TEXT_MAX 64

/* Parses "HOST[:PORT]" (IPv4 "1.2.3.4:8094", IPv6 "[::1]:8094", bare IPv6
 * "::1" without port) with a numeric host only (no name resolution, so
 * that nothing leaves the machine by surprise). default_port 0 makes the
 * port required. ALB_EINVAL with the reason. */
int dc_parse_addr(const char *s, int default_port,
		  struct sockaddr_storage *out, struct alb_error *err);

/* The length of an AF_INET or AF_INET6 address. */
socklen_t dc_addr_len(const struct sockaddr *a);

/* "1.2.3.4:80" or "[::1]:80" into out (size bytes). */
void dc_addr_text(const struct sockaddr *a, char *out, size_t size);

#endif
