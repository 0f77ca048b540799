/* libalbatross — private helpers shared by the library's modules.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_INTERNAL_H
#define ALB_INTERNAL_H

#include "albatross/common.h"

#define ALB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/** Fills err (if not NULL) with code and a printf-style message and returns
 * code, so that callers can write `return alb_fail(err, ALB_EPARSE, ...)`. */
int alb_fail(struct alb_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Like alb_fail() for a failed system call: records errno and appends
 * ": <strerror(errno)>" to the message. Returns ALB_ESYS. */
int alb_fail_sys(struct alb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
