/* libalbatross — common definitions: export marker, error codes, versions.
 * SPDX-License-Identifier: ISC */
#ifndef ALBATROSS_COMMON_H
#define ALBATROSS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ALB_BUILDING_LIBRARY)
#define ALB_EXPORT __attribute__((visibility("default")))
#else
#define ALB_EXPORT
#endif

#define ALB_VERSION_MAJOR 0
#define ALB_VERSION_MINOR 1
#define ALB_VERSION_PATCH 0

/** The Albatross wire protocol version spoken and accepted ("AV5"). */
#define ALB_WIRE_VERSION 5

/* Error codes. Every function that can fail returns 0 or one of these
 * (negative) values. */
enum alb_errno {
	ALB_OK = 0,
	ALB_EINVAL = -1,       /* invalid argument from the caller */
	ALB_ENOMEM = -2,       /* out of memory */
	ALB_EPARSE = -3,       /* malformed input (bytes, text, file) */
	ALB_ETOOBIG = -4,      /* a named limit was exceeded */
	ALB_ESYS = -5,         /* a system call failed (see sys_errno) */
	ALB_ENOENT = -6,       /* no such object */
	ALB_EEXIST = -7,       /* object already exists */
	ALB_EPERM = -8,        /* refused by a policy */
	ALB_EAGAIN = -9,       /* more input needed */
	ALB_EEOF = -10,        /* end of stream */
	ALB_EBUSY = -11,       /* object in use */
	ALB_EPROTO = -12,      /* the peer violated the protocol */
	ALB_EUNSUPPORTED = -13 /* valid but not supported here */
};

/** Longest message kept in a struct alb_error (longer ones are cut). */
#define ALB_ERROR_MSG_MAX 512

/** Optional detail of a failure: the code, the errno of a failed system
 * call (0 otherwise) and a human-readable message — the same text Albatross
 * uses where the spec lists one. Callers may pass NULL where a function
 * takes a struct alb_error *. */
struct alb_error {
	int code;
	int sys_errno;
	char msg[ALB_ERROR_MSG_MAX];
};

/** Fills err (if not NULL) with code, a sys_errno of 0 and a printf-style
 * message (cut to fit ALB_ERROR_MSG_MAX), the way the library reports its
 * own failures; for programs that report theirs the same way. */
ALB_EXPORT void alb_set_error(struct alb_error *err, int code,
			      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** A static English description of an ALB_E* code. Never NULL. */
ALB_EXPORT const char *alb_strerror(int code);

/** The library version as "MAJOR.MINOR.PATCH". */
ALB_EXPORT const char *alb_version(void);

/** A byte string that is not NUL-terminated; ptr may be NULL when len is 0. */
struct alb_bytes {
	const uint8_t *ptr;
	size_t len;
};

/** A string as found on the wire (UTF8String contents are not validated and
 * may contain NUL bytes). ptr is NUL-terminated for convenience; ptr == NULL
 * means "absent" where a field is optional. */
struct alb_str {
	const char *ptr;
	size_t len;
};

/** A growable output buffer filled by encoders. The encoded bytes are
 * data[0..len); the rest is private. Free with alb_buf_free(). */
struct alb_buf {
	uint8_t *data;
	size_t len;
	uint8_t *base_; /* private: start of the allocation */
	size_t cap_;    /* private: size of the allocation */
};

/** Frees the memory of a buffer and resets it to empty; NULL is a no-op. */
ALB_EXPORT void alb_buf_free(struct alb_buf *b);

#ifdef __cplusplus
}
#endif
#endif
