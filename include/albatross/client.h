/* libalbatross — the client side of the protocol: connect to a daemon's
 * Unix socket, send a command, read its replies, and send or receive data
 * streams (spec §2, §2.5). A connection to a remote host over TLS (remote.h)
 * is the same struct alb_client: every call below works on both.
 * SPDX-License-Identifier: ISC
 *
 * The API is blocking. A connection is an opaque struct alb_client; every
 * call on it may time out (alb_client_connect's timeout_ms, changeable with
 * alb_client_set_timeout), which fails with ALB_ESYS and sys_errno
 * ETIMEDOUT. The library never raises SIGPIPE: writes to a closed peer fail
 * with ALB_ESYS (EPIPE). */
#ifndef ALBATROSS_CLIENT_H
#define ALBATROSS_CLIENT_H

#include "albatross/common.h"
#include "albatross/image.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default temporary directory of the daemons (Linux; spec §0). */
#define ALB_TMPDIR_DEFAULT "/run/albatross"

/** Longest socket path: what fits in sun_path with its NUL. */
#define ALB_SOCKET_PATH_MAX 107

/** Size of a buffer that holds any socket path with its NUL. */
#define ALB_SOCKET_PATH_BUF (ALB_SOCKET_PATH_MAX + 1)

/** The daemons a client talks to (spec §2.5). */
enum alb_endpoint {
	ALB_ENDPOINT_VMMD = 0,    /* <tmpdir>/util/vmmd.sock */
	ALB_ENDPOINT_CONSOLE = 1, /* <tmpdir>/util/console.sock */
	ALB_ENDPOINT_STATS = 2    /* <tmpdir>/util/stat.sock */
};

/** How the replies to a command arrive (spec §2.5). */
enum alb_reply_mode {
	ALB_REPLY_MODE_SINGLE = 0, /* exactly one reply, then the daemon closes */
	ALB_REPLY_MODE_READ = 1,   /* a reply, then data messages until closed */
	ALB_REPLY_MODE_DUMP = 2    /* a reply, then a block data stream (§2.4) */
};

/** The daemon that serves a command. */
ALB_EXPORT enum alb_endpoint alb_command_endpoint(enum alb_cmd_kind kind);

/** How the daemon answers a command. */
ALB_EXPORT enum alb_reply_mode alb_command_reply_mode(enum alb_cmd_kind kind);

/** The file name of an endpoint's socket inside <tmpdir>/util
 * ("vmmd.sock", "console.sock", "stat.sock"). Never NULL. */
ALB_EXPORT const char *alb_endpoint_socket_name(enum alb_endpoint ep);

/** Writes "<tmpdir>/util/<socket name>" to out (ALB_SOCKET_PATH_BUF bytes);
 * tmpdir NULL means ALB_TMPDIR_DEFAULT. ALB_ETOOBIG when the path is
 * longer than ALB_SOCKET_PATH_MAX. */
ALB_EXPORT int alb_endpoint_socket_path(const char *tmpdir,
					enum alb_endpoint ep, char *out,
					struct alb_error *err);

/** Encodes the command message that albatross-client sends: header version
 * 5, sequence 0, the canonical name; with ALB_ENCODE_FRAMED in flags it is
 * prefixed by its frame length. out must be empty; free it with
 * alb_buf_free(). Errors of alb_msg_encode(). */
ALB_EXPORT int alb_client_encode_command(const char *name,
					 const struct alb_command *cmd,
					 unsigned flags, struct alb_buf *out,
					 struct alb_error *err);

/** A connection to a daemon (opaque). */
struct alb_client;

/** Called while bytes are sent: done of total bytes so far (total 0 when
 * unknown, e.g. for a stream read from a pipe). */
typedef void (*alb_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/** Connects to the Unix stream socket at path. timeout_ms bounds the
 * connect and every later read or write on the connection (0 = wait
 * forever). Returns 0 and *out (close with alb_client_close()), ALB_ETOOBIG
 * for a path longer than ALB_SOCKET_PATH_MAX, ALB_EINVAL for a negative
 * timeout, or ALB_ESYS ("couldn't connect to unix domain socket <path>: ..."). */
ALB_EXPORT int alb_client_connect(const char *path, int timeout_ms,
				  struct alb_client **out,
				  struct alb_error *err);

/** Closes the connection and frees the handle; NULL is a no-op. */
ALB_EXPORT void alb_client_close(struct alb_client *c);

/** Changes the timeout of later reads and writes (0 = wait forever). */
ALB_EXPORT int alb_client_set_timeout(struct alb_client *c, int timeout_ms,
				      struct alb_error *err);

/** Changes the largest frame accepted from the daemon (0 selects
 * ALB_FRAME_MAX_DEFAULT of frame.h); ALB_EINVAL above ALB_FRAME_MAX_LIMIT. */
ALB_EXPORT int alb_client_set_frame_max(struct alb_client *c, size_t max,
					struct alb_error *err);

/** Calls fn(ctx, bytes, 0) each time bytes arrive on the connection, with
 * the count read since it was made (a download's progress: an image, a
 * block dump). fn NULL stops it. */
ALB_EXPORT void alb_client_set_recv_progress(struct alb_client *c,
					     alb_progress_fn fn, void *ctx);

/** Sends a command for name (see alb_client_encode_command()). progress,
 * if not NULL, is called as the message is written (useful for a create
 * that carries an image). */
ALB_EXPORT int alb_client_send(struct alb_client *c, const char *name,
			       const struct alb_command *cmd,
			       alb_progress_fn progress, void *progress_ctx,
			       struct alb_error *err);

/** Reads and decodes the next message from the daemon. Returns 0 and *out
 * (free with alb_msg_free()), ALB_EEOF when the daemon closed the
 * connection (or sent an end-of-stream frame), ALB_EPARSE for a message
 * that does not decode, ALB_ETOOBIG for a frame above the limit, ALB_EPROTO
 * for a connection closed inside a frame, or ALB_ESYS. */
ALB_EXPORT int alb_client_recv(struct alb_client *c, struct alb_msg **out,
			       struct alb_error *err);

/** Called for each message of a reply stream. Return 0 to go on, or any
 * other value to stop reading (alb_client_read_stream() returns it). */
typedef int (*alb_msg_fn)(void *ctx, const struct alb_msg *m);

/** Reads messages until the daemon closes the connection (returns 0) or fn
 * returns non-zero (returns that value); the message passed to fn is freed
 * when fn returns. Errors of alb_client_recv() other than ALB_EEOF. */
ALB_EXPORT int alb_client_read_stream(struct alb_client *c, alb_msg_fn fn,
				      void *ctx, struct alb_error *err);

/** Sends a data stream after a Block_set command (spec §2.4): reads fd to
 * its end, compresses it as one zlib stream when level is 1..9 (0 sends
 * it as is), writes it as frames of at most ALB_STREAM_CHUNK_MAX bytes,
 * then the zero-length frame. total, if known (0 otherwise), is passed to
 * progress. ALB_EINVAL for a level outside 0..9. */
ALB_EXPORT int alb_client_send_stream(struct alb_client *c, int fd, int level,
				      uint64_t total, alb_progress_fn progress,
				      void *progress_ctx, struct alb_error *err);

/** Receives the data of a block dump after its Block_device_image reply
 * (spec §2.4): Block_data messages up to the end marker, decompressed when
 * compressed is true, written to out_fd; then waits for the daemon to close.
 * A Failure in place of the data or after it (the daemon's reading failed)
 * is returned as ALB_EPERM with its text in err.
 * *written (may be NULL) receives the bytes written. ALB_EPROTO for any
 * other message or a stream that ends before its end marker. */
ALB_EXPORT int alb_client_recv_dump(struct alb_client *c, bool compressed,
				    int out_fd, uint64_t *written,
				    struct alb_error *err);

/** How many leading bytes of an image struct alb_image_received keeps (what
 * the printer shows of a byte string, ALB_PRINT_HEX_MAX of print.h). */
#define ALB_IMAGE_RECEIVED_HEAD 64

/** What alb_client_recv_image() received of an image, as it was sent
 * (compressed or not). Filled by the library; callers allocate it. */
struct alb_image_received {
	bool compressed;   /* sent compressed, written out decompressed */
	uint64_t length;   /* bytes sent */
	uint64_t written;  /* bytes written out */
	uint8_t sha256[ALB_SHA256_LEN]; /* of the bytes sent */
	uint8_t head[ALB_IMAGE_RECEIVED_HEAD]; /* their first bytes, up to
						  length */
	ALB_RESERVED(4);
};

/** Reads the next message like alb_client_recv(), except that the image of
 * a Unikernel_image reply (the answer to ALB_CMD_UNIKERNEL_GET) is not kept
 * in memory: it is written to out_fd as it arrives, decompressed when it
 * was sent compressed (at most ALB_IMAGE_MAX bytes), and described in
 * *img; *out is then the reply with an empty image. Memory use does not
 * depend on the image's size, and the client's frame limit does not apply
 * to such a reply. Any other message is returned as alb_client_recv()
 * returns it, with nothing written and *img zeroed. Errors of
 * alb_client_recv(); ALB_EPARSE or ALB_ETOOBIG for a compressed image that
 * does not decompress or grows past ALB_IMAGE_MAX; ALB_ESYS writing to
 * out_fd. After an error out_fd may hold part of the image. */
ALB_EXPORT int alb_client_recv_image(struct alb_client *c, int out_fd,
				     struct alb_msg **out,
				     struct alb_image_received *img,
				     struct alb_error *err);

#ifdef __cplusplus
}
#endif
#endif
