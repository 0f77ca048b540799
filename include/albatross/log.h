/* libalbatross — a small logger with levels, to stderr or syslog.
 * SPDX-License-Identifier: ISC */
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

/** Messages above this level are dropped (default ALB_LOG_WARN). */
ALB_EXPORT void alb_log_set_level(enum alb_log_level level);
ALB_EXPORT enum alb_log_level alb_log_get_level(void);

/** Sends messages to syslog (with ident) instead of stderr. */
ALB_EXPORT void alb_log_use_syslog(const char *ident);

/** Logs one line (a newline is added). */
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
