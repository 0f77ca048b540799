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
#define ALB_VERSION_MINOR 2
#define ALB_VERSION_PATCH 0

/* ABI (doc/architecture.md, "The ABI rule"): 0.2 is the first release of
 * libalbatross.so.0 with guarantees. Within soname 0 no public struct
 * changes size or layout and no exported symbol goes away. Objects with a
 * lifetime are opaque (alb_x_new()/alb_x_free() and accessors). Plain value
 * structs that callers allocate end in ALB_RESERVED(n): n 8-byte words
 * that must be zero (zero the whole struct, e.g. `= {0}` or memset, or use
 * its init function), where later members are added; a zero word always
 * means "as before". Structs the library fills zero them. */

/** Declares the reserved tail of a public value struct: n 8-byte words,
 * always zero in this version. Never read or write reserved_ by name. */
#define ALB_RESERVED(n) uint64_t reserved_[n]

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

/** Size of the message of a struct alb_error with its NUL (longer
 * messages are cut). Part of the ABI: fixed within soname 0. */
#define ALB_ERROR_MSG_MAX 512

/** Optional detail of a failure: the code, the errno of a failed system
 * call (0 otherwise) and a human-readable message — the same text Albatross
 * uses where the spec lists one. Meant for the stack (552 bytes, fixed
 * within soname 0: code at 0, sys_errno at 4, msg at 8, then 4 reserved
 * words); it needs no initialisation and nothing to free. Every function
 * that fills it writes all of it, the reserved words as zero. Callers may
 * pass NULL where a function takes a struct alb_error *. */
struct alb_error {
	int code;
	int sys_errno;
	char msg[ALB_ERROR_MSG_MAX];
	ALB_RESERVED(4);
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

/* alb_bytes and alb_str are complete as they are (a span of memory) and
 * have no reserved tail: their layout is fixed for good. */

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
 * data[0..len). The members ending in '_' are private: the library's
 * bookkeeping, never read or written by callers, but part of the fixed
 * layout like the others. Start from an all-zero struct (`= {0}`); free
 * with alb_buf_free(). */
struct alb_buf {
	uint8_t *data;
	size_t len;
	uint8_t *base_; /* private: start of the allocation */
	size_t cap_;    /* private: size of the allocation */
	ALB_RESERVED(2);
};

/** Frees the memory of a buffer and resets it to empty; NULL is a no-op. */
ALB_EXPORT void alb_buf_free(struct alb_buf *b);

#ifdef __cplusplus
}
#endif
#endif
