/* libalbatross — print any wire message, certificate extension or state
 * file as readable text or as JSON (the engine of `alb-info decode`).
 * SPDX-License-Identifier: ISC
 *
 * Both forms show every field of the value, under the same snake_case keys.
 *
 * Text: indented, one field per line; list elements start with "- ".
 * Strings are quoted; valid printable UTF-8 passes through, while '"', '\',
 * control characters (C0, DEL, C1) and bytes that are not valid UTF-8 are
 * escaped (\n \r \t, otherwise \xNN per byte), so that no raw control byte
 * ever reaches a terminal. An optional field that is absent prints as
 * "(absent)"; an empty list as "[]".
 *
 * JSON: one object followed by a newline, pretty-printed. Integers are
 * JSON numbers, exact (every int64 is written in full; a reader that keeps
 * numbers as doubles loses precision beyond 2^53). An absent optional
 * field is null. Byte strings (images, block data, digests) are objects
 * {"length": N, "sha256": "<hex>"} with "hex" holding all the bytes when
 * N <= ALB_PRINT_HEX_MAX. Strings are escaped per RFC 8259: valid UTF-8
 * passes through, control characters (C0, DEL, C1) and U+2028/U+2029 become
 * \u00XX / \u20XX, and every byte that does not belong to a valid UTF-8
 * sequence is replaced by U+FFFD (the original bytes are therefore not
 * recoverable from the JSON; the text form keeps them as \xNN).
 *
 * Times are RFC 3339 UTC ("2024-02-29T12:34:56Z", with ".mmm" milliseconds,
 * truncated, when the sub-second part is non-zero); a time whose year lies
 * outside 0000..9999 or whose nsec is not below 10^9 prints as
 * "@<sec>s+<nsec>ns". MACs print as "aa:bb:cc:dd:ee:ff". */
#ifndef ALBATROSS_PRINT_H
#define ALBATROSS_PRINT_H

#include <stdio.h>

#include "albatross/client.h"
#include "albatross/common.h"
#include "albatross/state.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Print flag: write JSON instead of text. */
#define ALB_PRINT_JSON 0x1u

/** Byte strings up to this many bytes are shown in full (hex); longer ones
 * as length, SHA-256 and their first ALB_PRINT_HEAD_LEN bytes (text only). */
#define ALB_PRINT_HEX_MAX 64
/** Number of leading bytes shown in hex for a byte string longer than
 * ALB_PRINT_HEX_MAX (text form). */
#define ALB_PRINT_HEAD_LEN 16

/** alb_print_escape() flag: write '"' as \" (a string shown between
 * quotes). */
#define ALB_PRINT_ESCAPE_QUOTE 0x1u
/** alb_print_escape() flag: write newline, carriage return and tab as \n,
 * \r and \t rather than \x0a, \x0d and \x09. */
#define ALB_PRINT_ESCAPE_NAMED 0x2u

/** Writes s[0..len) to out so that no byte a terminal could act on gets
 * through (the escaping of the text form above): valid UTF-8 passes as is,
 * except '\', written as "\\"; control characters (C0, DEL, C1) and
 * bytes that are not part of valid UTF-8 are written as \xNN per byte;
 * flags (an OR of ALB_PRINT_ESCAPE_*, or 0) escape a few more characters.
 * Returns the width of what is written: one column per character passed
 * through, one per character of an escape. out may be NULL to measure
 * only. */
ALB_EXPORT size_t alb_print_escape(FILE *out, const char *s, size_t len,
				   unsigned flags);

/** Size of a buffer for alb_print_format_time() (the "@<sec>s+<nsec>ns"
 * form of the extreme int64 and uint32 values is the longest). */
#define ALB_PRINT_TIME_BUF 48

/** Writes t to buf (ALB_PRINT_TIME_BUF bytes, NUL-terminated) as the
 * printer shows times: RFC 3339 UTC, or "@<sec>s+<nsec>ns" (see above). */
ALB_EXPORT void alb_print_format_time(const struct alb_time *t, char *buf);

/** Writes message m to out as text (flags 0) or JSON (ALB_PRINT_JSON).
 * Returns 0; ALB_EINVAL for NULL arguments, unknown flags or a value that
 * cannot be a message (a kind out of range, a list of n > 0 elements
 * without storage); ALB_ENOMEM when hashing fails; ALB_ESYS when writing to
 * out fails. On error, what was already written stays written. */
ALB_EXPORT int alb_msg_print(FILE *out, const struct alb_msg *m,
			     unsigned flags, struct alb_error *err);

/** Writes m, a Unikernel_image reply that alb_client_recv_image() read
 * with its image written out, as alb_msg_print() writes the reply with
 * its image: the image's length, SHA-256 and bytes shown come from img.
 * ALB_EINVAL when m is not such a reply; otherwise as alb_msg_print(). */
ALB_EXPORT int alb_msg_print_received(FILE *out, const struct alb_msg *m,
				      const struct alb_image_received *img,
				      unsigned flags, struct alb_error *err);

/** Writes certificate extension c (version and command) to out; flags,
 * returns and errors as alb_msg_print(). */
ALB_EXPORT int alb_certext_print(FILE *out, const struct alb_certext *c,
				 unsigned flags, struct alb_error *err);

/** Writes state s (format, then unikernels, then policies) to out; flags,
 * returns and errors as alb_msg_print(). */
ALB_EXPORT int alb_state_print(FILE *out, const struct alb_state *s,
			       unsigned flags, struct alb_error *err);

#ifdef __cplusplus
}
#endif
#endif
