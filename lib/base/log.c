/* libalbatross — logger.
 * SPDX-License-Identifier: ISC */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "albatross/log.h"

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
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		tm.tm_sec, ts.tv_nsec / 1000000, names[level], line);
}
