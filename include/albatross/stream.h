/* libalbatross — data streams (spec §2.4) and zlib (RFC 1950, spec §5.6).
 * SPDX-License-Identifier: ISC
 *
 * A data stream is a sequence of chunks ended by an end marker (a
 * zero-length frame on a socket, a Block_data None message in a block
 * dump). When compressed, the concatenated chunks form one zlib stream, cut
 * anywhere. These objects only transform bytes: a writer turns the data to
 * send into chunks, a reader turns received chunks back into data; both hand
 * their output to a callback, and sending the end marker is the caller's
 * business.
 *
 * Albatross's receiver reads at most 65536 bytes of each compressed chunk
 * and silently drops the rest, so a writer never emits a chunk larger than
 * ALB_STREAM_CHUNK_MAX; a reader accepts chunks of any size. */
#ifndef ALBATROSS_STREAM_H
#define ALBATROSS_STREAM_H

#include "albatross/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest chunk a stream writer emits, in bytes (Albatross's receive
 * buffer); also the largest piece of output a stream reader hands on when
 * it decompresses. */
#define ALB_STREAM_CHUNK_MAX 65536

/** Writer level: send the data as is, without zlib. */
#define ALB_STREAM_RAW (-1)

/** Receives output: data[0..len) is valid only during the call (len > 0).
 * Return 0 to go on, or a negative ALB_E* code (after filling err, which
 * may be NULL) to stop; the writer or reader then fails with that code. */
typedef int (*alb_stream_emit_fn)(void *ctx, const uint8_t *data, size_t len,
				  struct alb_error *err);

/** Turns data to send into chunks (opaque). */
struct alb_stream_writer;

/** Makes a writer that emits chunks of at most ALB_STREAM_CHUNK_MAX bytes
 * to emit(ctx, ...): the data as is for level ALB_STREAM_RAW, or one zlib
 * stream compressed at level 0..9. Returns 0 and *out (free with
 * alb_stream_writer_free()), ALB_EINVAL for another level, or ALB_ENOMEM. */
ALB_EXPORT int alb_stream_writer_new(int level, alb_stream_emit_fn emit,
				     void *ctx, struct alb_stream_writer **out,
				     struct alb_error *err);

/** Frees a writer; NULL is a no-op. */
ALB_EXPORT void alb_stream_writer_free(struct alb_stream_writer *w);

/** Adds data[0..len) (any length) to the stream, emitting every chunk that
 * is complete; raw data is emitted at once, without a copy, in pieces of at
 * most ALB_STREAM_CHUNK_MAX. Returns 0, the emitter's code, ALB_ENOMEM, or
 * ALB_EINVAL after finish or after a failure. */
ALB_EXPORT int alb_stream_writer_write(struct alb_stream_writer *w,
				       const uint8_t *data, size_t len,
				       struct alb_error *err);

/** Ends the data: emits what compression still holds (the zlib trailer
 * included). Does not emit an end marker. Returns as
 * alb_stream_writer_write(). */
ALB_EXPORT int alb_stream_writer_finish(struct alb_stream_writer *w,
					struct alb_error *err);

/** Turns received chunks back into data (opaque). */
struct alb_stream_reader;

/** Makes a reader of a stream, zlib-compressed or not, that hands the data
 * to emit(ctx, ...) and refuses to produce more than max_out bytes in all
 * (ALB_ETOOBIG, so a zip bomb fails cleanly after at most max_out +
 * ALB_STREAM_CHUNK_MAX bytes of work space). Returns 0 and *out (free with
 * alb_stream_reader_free()) or ALB_ENOMEM. */
ALB_EXPORT int alb_stream_reader_new(bool compressed, uint64_t max_out,
				     alb_stream_emit_fn emit, void *ctx,
				     struct alb_stream_reader **out,
				     struct alb_error *err);

/** Frees a reader; NULL is a no-op. */
ALB_EXPORT void alb_stream_reader_free(struct alb_stream_reader *r);

/** Consumes one received chunk of any size. Returns 0; ALB_EPARSE for
 * corrupt zlib data or bytes after the end of the zlib stream (err holds
 * the reason, e.g. "incorrect header check"); ALB_ETOOBIG past max_out;
 * the emitter's code; ALB_ENOMEM; ALB_EINVAL after finish or a failure. */
ALB_EXPORT int alb_stream_reader_write(struct alb_stream_reader *r,
				       const uint8_t *chunk, size_t len,
				       struct alb_error *err);

/** Called at the end marker: ALB_EPARSE ("truncated zlib stream") when a
 * compressed stream did not reach its end, else 0. */
ALB_EXPORT int alb_stream_reader_finish(struct alb_stream_reader *r,
					struct alb_error *err);

/** Bytes of data emitted so far. */
ALB_EXPORT uint64_t alb_stream_reader_total(const struct alb_stream_reader *r);

/** Decompresses one whole zlib stream in[0..len) into out (which must be
 * empty; free it with alb_buf_free()). Trailing bytes and a truncated
 * stream are ALB_EPARSE, more than max_out bytes of output ALB_ETOOBIG; on
 * failure out is left empty. */
ALB_EXPORT int alb_zlib_inflate(const uint8_t *in, size_t len, size_t max_out,
				struct alb_buf *out, struct alb_error *err);

/** Compresses in[0..len) as one zlib stream at level 0..9 into out (which
 * must be empty; free it with alb_buf_free()). ALB_EINVAL for another
 * level; on failure out is left empty. */
ALB_EXPORT int alb_zlib_deflate(const uint8_t *in, size_t len, int level,
				struct alb_buf *out, struct alb_error *err);

#ifdef __cplusplus
}
#endif
#endif
