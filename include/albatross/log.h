/* libalbatross — a small logger with levels: to stderr (the default), to
 * syslog, or to a handler the embedding program sets.
 * SPDX-License-Identifier: ISC
 *
 * The logger's settings (level, destination, handler) are the library's
 * only process-wide settings. Every function here is thread-safe: the
 * daemon cores log from their loop's thread and from the libuv
 * threadpool at once. */
#ifndef ALBATROSS_LOG_H
#define ALBATROSS_LOG_H

#include "albatross/common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum alb_log_level {
	ALB_LOG_ERROR = 0,
	ALB_LOG_WARN = 1,
	ALB_LOG_INFO = 2,
	ALB_LOG_DEBUG = 3
};

/** Size of the buffer a message is formatted into, with its NUL; a longer
 * message is cut. */
#define ALB_LOG_LINE_MAX 2048

/** Messages above this level are dropped (default ALB_LOG_WARN). Returns
 * 0, or ALB_EINVAL (level unchanged) for a value that is not an
 * enum alb_log_level. */
ALB_EXPORT int alb_log_set_level(enum alb_log_level level);
ALB_EXPORT enum alb_log_level alb_log_get_level(void);

/** Sends messages to syslog (with ident, which must stay valid: openlog()
 * keeps the pointer) instead of stderr, when no handler is set. */
ALB_EXPORT void alb_log_use_syslog(const char *ident);

/** Receives one message: its level and its text (NUL-terminated, without
 * a newline, cut to ALB_LOG_LINE_MAX - 1 bytes; valid during the call
 * only). It is called on the thread that logs, possibly on several
 * threads at once, and must not call alb_log_set_handler(). */
typedef void (*alb_log_fn)(void *ctx, enum alb_log_level level,
			   const char *line);

/** Sends the library's messages at or below level to fn(ctx, ...) instead
 * of stderr or syslog, so that an embedding program captures them; fn
 * NULL goes back to stderr (or syslog after alb_log_use_syslog()). Sets
 * the level as alb_log_set_level(). Once it returns, the previous handler
 * is not running and will not be called again (its ctx may be freed).
 * Returns 0, or ALB_EINVAL (nothing changed) for a level that is not an
 * enum alb_log_level. */
ALB_EXPORT int alb_log_set_handler(alb_log_fn fn, enum alb_log_level level,
				   void *ctx);

/** Logs one line (a newline is added on stderr). A level that is not an
 * enum alb_log_level counts as ALB_LOG_DEBUG. */
ALB_EXPORT void alb_log(enum alb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define alb_log_error(...) alb_log(ALB_LOG_ERROR, __VA_ARGS__)
#define alb_log_warn(...) alb_log(ALB_LOG_WARN, __VA_ARGS__)
#define alb_log_info(...) alb_log(ALB_LOG_INFO, __VA_ARGS__)
#define alb_log_debug(...) alb_log(ALB_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
