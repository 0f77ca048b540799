/* libalbatross — logger.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "albatross/log.h"
#include "base/nosigpipe.h"

static enum alb_log_level current_level = ALB_LOG_WARN;
static bool to_syslog;

void alb_log_set_level(enum alb_log_level level) { current_level = level; }

enum alb_log_level alb_log_get_level(void) { return current_level; }

void alb_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	to_syslog = true;
}

void alb_log(enum alb_log_level level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	if (level > current_level)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (to_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char out[sizeof(line) + 64];
	int n = snprintf(out, sizeof(out),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level],
			 line);
	if (n < 0)
		return;
	/* one write per line; stderr may be a pipe or a socket (journald)
	 * whose reader went away: that fails the write, it raises no
	 * SIGPIPE */
	size_t len = (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1;
	struct iovec iov = {out, len};
	while (iov.iov_len > 0) {
		ssize_t w = alb_writev_nosigpipe(STDERR_FILENO, &iov, 1);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		iov.iov_base = (char *)iov.iov_base + w;
		iov.iov_len -= (size_t)w;
	}
}
