/* libalbatross — framing: a 4-byte big-endian signed length, then that many
 * bytes (spec §2.1). A length <= 0 marks the end of a stream.
 * SPDX-License-Identifier: ISC
 *
 * The reader works on bytes, so that a blocking caller and an event loop
 * use the same code: either feed it bytes from any buffer
 * (alb_frame_reader_feed), or ask it where the next bytes belong
 * (alb_frame_reader_space), read into that place and report how many
 * arrived (alb_frame_reader_advance) — the payload then lands directly in
 * the frame's final buffer, without a copy. */
#ifndef ALBATROSS_FRAME_H
#define ALBATROSS_FRAME_H

#include "albatross/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the length prefix of a frame. */
#define ALB_FRAME_HEADER_LEN 4

/** Default largest payload a reader accepts: 64 MiB. Albatross has no limit
 * and allocates whatever a peer announces (spec §12.2). */
#define ALB_FRAME_MAX_DEFAULT (64u * 1024u * 1024u)

/** Largest payload a frame can carry at all: the length is a signed 32-bit
 * integer. A reader's maximum may not exceed it. */
#define ALB_FRAME_MAX_LIMIT 0x7fffffffu

/** A payload buffer starts at this many bytes (or the announced length if
 * smaller) and doubles as bytes arrive, up to the announced length: a
 * reader never allocates what a peer announces before it has sent it.
 * One exception costs no new memory: a payload of 2 MiB or more arrives in
 * the process's spare buffer when that holds it. The spare is the largest
 * frame buffer of 2 to 16 MiB that alb_buf_free() or a reader let go of,
 * kept (one per process) so that the next large frame arrives in memory
 * used before. */
#define ALB_FRAME_BUF_MIN 65536u

/** Writes the 4-byte big-endian length prefix of a payload of len bytes to
 * hdr. A len of 0 makes the end-of-stream marker. Returns 0, or ALB_ETOOBIG
 * when len > ALB_FRAME_MAX_LIMIT. */
ALB_EXPORT int alb_frame_header(uint8_t hdr[ALB_FRAME_HEADER_LEN], size_t len,
				struct alb_error *err);

/** An incremental frame reader (opaque). */
struct alb_frame_reader;

/** Makes a reader that accepts payloads of at most max bytes (0 selects
 * ALB_FRAME_MAX_DEFAULT). Returns 0 and *out, ALB_EINVAL when
 * max > ALB_FRAME_MAX_LIMIT, or ALB_ENOMEM. Free with
 * alb_frame_reader_free(). */
ALB_EXPORT int alb_frame_reader_new(size_t max, struct alb_frame_reader **out,
				    struct alb_error *err);

/** Frees a reader and any frame it still holds; NULL is a no-op. */
ALB_EXPORT void alb_frame_reader_free(struct alb_frame_reader *r);

/** Changes the largest accepted payload (0 selects ALB_FRAME_MAX_DEFAULT);
 * it applies to lengths read from now on. ALB_EINVAL when
 * max > ALB_FRAME_MAX_LIMIT. */
ALB_EXPORT int alb_frame_reader_set_max(struct alb_frame_reader *r, size_t max,
					struct alb_error *err);

/** The largest payload the reader accepts. */
ALB_EXPORT size_t alb_frame_reader_max(const struct alb_frame_reader *r);

/** Consumes bytes from data[0..len), stopping right after the end of one
 * frame (a complete frame not yet taken is dropped first), and sets *used (may be NULL only when the caller does not care) to
 * the number of bytes consumed. Returns:
 *   0            a frame is complete: take it with alb_frame_reader_frame()
 *                or alb_frame_reader_take(); the next call starts a new one;
 *   ALB_EAGAIN   every byte was consumed and the frame is not complete yet;
 *   ALB_EEOF     a length <= 0 was read: the end of a stream (not an error;
 *                the reader is ready for a new frame);
 *   ALB_ETOOBIG  the announced length is larger than the maximum; nothing
 *                was allocated and the reader is left unusable (the peer
 *                must be dropped: the stream cannot be resynchronised);
 *   ALB_ENOMEM.
 * Bytes may be split anywhere, one at a time included. */
ALB_EXPORT int alb_frame_reader_feed(struct alb_frame_reader *r,
				     const uint8_t *data, size_t len,
				     size_t *used, struct alb_error *err);

/** Where the next incoming bytes belong: *ptr and *len describe the rest of
 * the length prefix or, once the length is known, the rest of the payload in
 * its final buffer (grown here as bytes arrive, see ALB_FRAME_BUF_MIN, so
 * *len may be less than what the frame still needs). Read at most *len
 * bytes there and report them with alb_frame_reader_advance().
 * A complete frame not yet taken is dropped first. Returns 0, ALB_ENOMEM,
 * or ALB_ETOOBIG when the reader is unusable after an oversized length. */
ALB_EXPORT int alb_frame_reader_space(struct alb_frame_reader *r, uint8_t **ptr,
				      size_t *len, struct alb_error *err);

/** Bytes of payload buffer the reader holds now (at most twice what the
 * current frame has received, or ALB_FRAME_BUF_MIN, or the spare buffer
 * taken for it: see ALB_FRAME_BUF_MIN). */
ALB_EXPORT size_t alb_frame_reader_held(const struct alb_frame_reader *r);

/** Records that n bytes were written at the place alb_frame_reader_space()
 * gave (n must not exceed its length: ALB_EINVAL). Returns the same codes
 * as alb_frame_reader_feed(). */
ALB_EXPORT int alb_frame_reader_advance(struct alb_frame_reader *r, size_t n,
					struct alb_error *err);

/** The payload of the complete frame, borrowed: valid until the next
 * feed/space/advance/take call or the reader's free. ALB_EAGAIN when no
 * frame is complete. */
ALB_EXPORT int alb_frame_reader_frame(const struct alb_frame_reader *r,
				      struct alb_bytes *out);

/** Moves the payload of the complete frame into out (which must be empty;
 * free it with alb_buf_free()), without copying. ALB_EAGAIN when no frame
 * is complete. */
ALB_EXPORT int alb_frame_reader_take(struct alb_frame_reader *r,
				     struct alb_buf *out);

/** True when the reader is between frames (no byte of a frame consumed). */
ALB_EXPORT bool alb_frame_reader_idle(const struct alb_frame_reader *r);

/** Reads one frame from a blocking file descriptor, retrying on EINTR and
 * short reads, never reading past the frame. out must be empty and
 * receives the payload (free with alb_buf_free()). max as for
 * alb_frame_reader_new(). Returns 0, ALB_EEOF for an end-of-stream length
 * (<= 0) or when the peer closed the connection before a frame began
 * (err's message says which), ALB_EPROTO when it closed in the middle of a
 * frame, ALB_ETOOBIG, ALB_ESYS or ALB_ENOMEM. */
ALB_EXPORT int alb_frame_read_fd(int fd, size_t max, struct alb_buf *out,
				 struct alb_error *err);

/** Writes one frame (length prefix and payload, with writev) to a blocking
 * file descriptor, retrying on EINTR and partial writes. len 0 writes the
 * end-of-stream marker. Returns 0, ALB_ETOOBIG when len >
 * ALB_FRAME_MAX_LIMIT, or ALB_ESYS. A peer that went away (a closed
 * socket, a pipe without reader) is ALB_ESYS with errno EPIPE, never a
 * SIGPIPE. */
ALB_EXPORT int alb_frame_write_fd(int fd, const uint8_t *data, size_t len,
				  struct alb_error *err);

#ifdef __cplusplus
}
#endif
#endif
