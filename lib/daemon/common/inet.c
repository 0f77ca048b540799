/* libalbatross — daemon/common: parsing and printing the numeric TCP
 * addresses of the exporters.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "dcommon/inet.h"

static int bad_addr(struct alb_error *err, const char *s, const char *why)
{
	return alb_fail(err, ALB_EINVAL, "invalid address '%s': %s", s, why);
}

int dc_parse_addr(const char *s, int default_port,
		  struct sockaddr_storage *out, struct alb_error *err)
{
	if (s == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "missing address");
	size_t len = strnlen(s, DC_ADDR_TEXT_MAX + 1);
	if (len > DC_ADDR_TEXT_MAX)
		return alb_fail(err, ALB_EINVAL, "address longer than %d bytes",
				DC_ADDR_TEXT_MAX);
	char host[DC_ADDR_TEXT_MAX + 1];
	const char *port = NULL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return bad_addr(err, s, "missing ']'");
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return bad_addr(err, s, "expected ':' after ']'");
		snprintf(host, sizeof(host), "%.*s", (int)(close - s - 1), s + 1);
	} else {
		const char *colon = strchr(s, ':');
		/* one colon separates the port; more make a bare IPv6 address */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			port = colon + 1;
			snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
		} else {
			snprintf(host, sizeof(host), "%s", s);
		}
	}
	long p = default_port;
	if (port != NULL) {
		char *end;
		if (*port < '0' || *port > '9')
			return bad_addr(err, s, "invalid port");
		p = strtol(port, &end, 10);
		if (*end != '\0' || p < 1 || p > 65535)
			return bad_addr(err, s, "invalid port");
	} else if (default_port == 0) {
		return bad_addr(err, s, "a port is required");
	}
	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
	} else {
		return bad_addr(err, s, "the host must be a numeric IPv4 or IPv6 address");
	}
	return 0;
}

socklen_t dc_addr_len(const struct sockaddr *a)
{
	return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					: sizeof(struct sockaddr_in);
}

void dc_addr_text(const struct sockaddr *a, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
		snprintf(out, size, "[%s]:%d", ip, ntohs(v6->sin6_port));
	} else {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
		snprintf(out, size, "%s:%d", ip, ntohs(v4->sin_port));
	}
}
