/* libalbatross — error codes and messages.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/internal.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *alb_version(void)
{
	return STR(ALB_VERSION_MAJOR) "." STR(ALB_VERSION_MINOR) "." STR(ALB_VERSION_PATCH);
}

const char *alb_strerror(int code)
{
	switch (code) {
	case ALB_OK: return "success";
	case ALB_EINVAL: return "invalid argument";
	case ALB_ENOMEM: return "out of memory";
	case ALB_EPARSE: return "malformed input";
	case ALB_ETOOBIG: return "limit exceeded";
	case ALB_ESYS: return "system call failed";
	case ALB_ENOENT: return "not found";
	case ALB_EEXIST: return "already exists";
	case ALB_EPERM: return "refused by policy";
	case ALB_EAGAIN: return "more input needed";
	case ALB_EEOF: return "end of stream";
	case ALB_EBUSY: return "in use";
	case ALB_EPROTO: return "protocol violation";
	case ALB_EUNSUPPORTED: return "not supported";
	}
	return "unknown error";
}

void alb_set_error(struct alb_error *err, int code, const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		err->sys_errno = 0;
		memset(err->reserved_, 0, sizeof(err->reserved_));
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
}

void alb_set_error_sys(struct alb_error *err, const char *fmt, ...)
{
	int saved = errno;
	if (err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		err->code = ALB_ESYS;
		err->sys_errno = saved;
		memset(err->reserved_, 0, sizeof(err->reserved_));
		int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof(err->msg))
			snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s",
				 strerror(saved));
	}
	errno = saved;
}
