/* libalbatross — logger. Its settings are process-wide (log.h): the level
 * is an atomic, read without a lock on every call so that a dropped
 * message costs one load; the destination and the handler are behind a
 * read-write lock, held for reading while a message is delivered, so that
 * alb_log_set_handler() returns only once no thread is inside the old
 * handler.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "albatross/log.h"
#include "base/nosigpipe.h"

static _Atomic int current_level = ALB_LOG_WARN;

static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static bool to_syslog;       /* under sink_lock */
static alb_log_fn handler;   /* under sink_lock */
static void *handler_ctx;    /* under sink_lock */

static bool level_valid(enum alb_log_level level)
{
	return (int)level >= ALB_LOG_ERROR && (int)level <= ALB_LOG_DEBUG;
}

int alb_log_set_level(enum alb_log_level level)
{
	if (!level_valid(level))
		return ALB_EINVAL;
	atomic_store(&current_level, (int)level);
	return 0;
}

enum alb_log_level alb_log_get_level(void)
{
	return (enum alb_log_level)atomic_load(&current_level);
}

void alb_log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	pthread_rwlock_wrlock(&sink_lock);
	to_syslog = true;
	pthread_rwlock_unlock(&sink_lock);
}

int alb_log_set_handler(alb_log_fn fn, enum alb_log_level level, void *ctx)
{
	if (!level_valid(level))
		return ALB_EINVAL;
	pthread_rwlock_wrlock(&sink_lock);
	handler = fn;
	handler_ctx = fn != NULL ? ctx : NULL;
	atomic_store(&current_level, (int)level);
	pthread_rwlock_unlock(&sink_lock);
	return 0;
}

static const char *const names[] = {"error", "warning", "info", "debug"};

/* A line with its time stamp and level. */
#define LOG_LINE_OUT (ALB_LOG_LINE_MAX + 64)

/* The default sink: one line, one write; stderr may be a pipe or a socket
 * (journald) whose reader went away: that fails the write, it raises no
 * SIGPIPE. */
static void write_stderr(enum alb_log_level level, const char *line)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char out[LOG_LINE_OUT];
	int n = snprintf(out, sizeof(out),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ [%s] %s\n",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level],
			 line);
	if (n < 0)
		return;
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

void alb_log(enum alb_log_level level, const char *fmt, ...)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	if (!level_valid(level))
		level = ALB_LOG_DEBUG;
	if ((int)level > atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	char line[ALB_LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_rwlock_rdlock(&sink_lock);
	if (handler != NULL) {
		handler(handler_ctx, level, line);
	} else if (to_syslog) {
		syslog(prio[level], "%s", line);
	} else {
		write_stderr(level, line);
	}
	pthread_rwlock_unlock(&sink_lock);
}
