/* libalbatross — the client side of the local protocol (spec §2, §2.5).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "albatross/client.h"
#include "albatross/frame.h"
#include "albatross/stream.h"
#include "base/internal.h"
#include "base/nosigpipe.h"
#include "io/client_transport.h"
#include "io/frame_length.h"
#include "proto/image_reply.h"

/* Bytes handed to one send(): progress is reported at this granularity. */
#define SEND_SLICE 65536

/* Bytes read from a stream's source per read(). */
#define STREAM_READ 65536

struct alb_client {
	int fd;
	int timeout_ms;
	/* The bytes go through t (TLS, remote.h), or straight to fd. */
	const struct alb_client_transport *t;
	void *tctx;
	/* Frames are read into it; a frame cut by a timeout is resumed by
	 * the next read. Its limit is the client's frame limit. */
	struct alb_frame_reader *rd;
	alb_progress_fn recv_progress;
	void *recv_progress_ctx;
	uint64_t received; /* bytes read on the connection so far */
	/* an image reply was left half read (alb_client_recv_image() failed
	 * in it): the next bytes are not a frame's, nothing more is read */
	bool out_of_step;
};

enum alb_endpoint alb_command_endpoint(enum alb_cmd_kind kind)
{
	switch (kind) {
	case ALB_CMD_CONSOLE_ADD:
	case ALB_CMD_CONSOLE_SUBSCRIBE:
	case ALB_CMD_CONSOLE_LIST_INACTIVE:
		return ALB_ENDPOINT_CONSOLE;
	case ALB_CMD_STATS_ADD:
	case ALB_CMD_STATS_REMOVE:
	case ALB_CMD_STATS_SUBSCRIBE:
		return ALB_ENDPOINT_STATS;
	default:
		/* Stats_initial included: only vmmd answers it (spec §2.5). */
		return ALB_ENDPOINT_VMMD;
	}
}

enum alb_reply_mode alb_command_reply_mode(enum alb_cmd_kind kind)
{
	switch (kind) {
	case ALB_CMD_CONSOLE_ADD:
	case ALB_CMD_CONSOLE_SUBSCRIBE:
	case ALB_CMD_STATS_SUBSCRIBE:
		return ALB_REPLY_MODE_READ;
	case ALB_CMD_BLOCK_DUMP:
		return ALB_REPLY_MODE_DUMP;
	default:
		return ALB_REPLY_MODE_SINGLE;
	}
}

const char *alb_endpoint_socket_name(enum alb_endpoint ep)
{
	switch (ep) {
	case ALB_ENDPOINT_CONSOLE: return "console.sock";
	case ALB_ENDPOINT_STATS: return "stat.sock";
	case ALB_ENDPOINT_VMMD: break;
	}
	return "vmmd.sock";
}

int alb_endpoint_socket_path(const char *tmpdir, enum alb_endpoint ep,
			     char *out, struct alb_error *err)
{
	if (out == NULL)
		return alb_fail(err, ALB_EINVAL, "no output buffer");
	if (tmpdir == NULL)
		tmpdir = ALB_TMPDIR_DEFAULT;
	int n = snprintf(out, ALB_SOCKET_PATH_BUF, "%s/util/%s", tmpdir,
			 alb_endpoint_socket_name(ep));
	if (n < 0 || n > ALB_SOCKET_PATH_MAX) {
		out[0] = '\0';
		return alb_fail(err, ALB_ETOOBIG,
				"socket path under %s is longer than %d bytes",
				tmpdir, ALB_SOCKET_PATH_MAX);
	}
	return 0;
}

int alb_client_encode_command(const char *name, const struct alb_command *cmd,
			      unsigned flags, struct alb_buf *out,
			      struct alb_error *err)
{
	if (name == NULL || cmd == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "missing name, command or output");
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.sequence = 0;
	m.header.name = name;
	m.kind = ALB_PAYLOAD_COMMAND;
	m.u.command = *cmd;
	return alb_msg_encode(&m, flags, out, err);
}

/* Socket timeouts make a blocked send/recv/connect fail with EAGAIN, which
 * is reported as ETIMEDOUT. */
int alb_client_socket_timeouts(int fd, int timeout_ms, struct alb_error *err)
{
	struct timeval tv;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return alb_fail_sys(err, "setting the socket timeout");
	return 0;
}

static bool is_timeout(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == EINPROGRESS;
}

static int fail_timeout(struct alb_error *err, int timeout_ms, const char *what)
{
	errno = ETIMEDOUT;
	return alb_fail_sys(err, "%s: no progress within %d ms", what,
			    timeout_ms);
}

/* A client over fd (taken over), with its frame reader. */
static int client_new(int fd, int timeout_ms, const struct alb_client_transport *t,
		      void *tctx, struct alb_client **out, struct alb_error *err)
{
	struct alb_client *c = calloc(1, sizeof(*c));
	int rc = c == NULL ? alb_fail(err, ALB_ENOMEM, "out of memory") : 0;
	if (rc == 0)
		rc = alb_frame_reader_new(ALB_FRAME_MAX_DEFAULT, &c->rd, err);
	if (rc < 0) {
		if (t != NULL && t->close != NULL)
			t->close(tctx);
		close(fd);
		free(c);
		return rc;
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	c->t = t;
	c->tctx = tctx;
	*out = c;
	return 0;
}

int alb_client_wrap(int fd, int timeout_ms, const struct alb_client_transport *t,
		    void *ctx, struct alb_client **out, struct alb_error *err)
{
	if (fd < 0 || t == NULL || out == NULL || timeout_ms < 0) {
		if (t != NULL && t->close != NULL)
			t->close(ctx);
		if (fd >= 0)
			close(fd);
		return alb_fail(err, ALB_EINVAL, "invalid transport");
	}
	*out = NULL;
	return client_new(fd, timeout_ms, t, ctx, out, err);
}

void *alb_client_transport_ctx(const struct alb_client *c,
			       const struct alb_client_transport *t)
{
	return c != NULL && c->t == t ? c->tctx : NULL;
}

int alb_client_connect(const char *path, int timeout_ms,
		       struct alb_client **out, struct alb_error *err)
{
	if (path == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "missing socket path or output");
	*out = NULL;
	if (timeout_ms < 0)
		return alb_fail(err, ALB_EINVAL, "negative timeout %d", timeout_ms);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t len = strlen(path);
	if (len > ALB_SOCKET_PATH_MAX || len >= sizeof(sa.sun_path))
		return alb_fail(err, ALB_ETOOBIG,
				"socket path %s is longer than %d bytes", path,
				ALB_SOCKET_PATH_MAX);
	memcpy(sa.sun_path, path, len);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return alb_fail_sys(err, "socket");
	int rc = alb_client_socket_timeouts(fd, timeout_ms, err);
	while (rc == 0 &&
	       connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		if (timeout_ms > 0 && is_timeout(errno))
			errno = ETIMEDOUT;
		rc = alb_fail_sys(err, "couldn't connect to unix domain socket %s",
				  path);
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return client_new(fd, timeout_ms, NULL, NULL, out, err);
}

void alb_client_close(struct alb_client *c)
{
	if (c == NULL)
		return;
	if (c->t != NULL && c->t->close != NULL)
		c->t->close(c->tctx);
	close(c->fd);
	alb_frame_reader_free(c->rd);
	free(c);
}

int alb_client_set_timeout(struct alb_client *c, int timeout_ms,
			   struct alb_error *err)
{
	if (c == NULL || timeout_ms < 0)
		return alb_fail(err, ALB_EINVAL, "invalid client or timeout");
	int rc = alb_client_socket_timeouts(c->fd, timeout_ms, err);
	if (rc == 0)
		c->timeout_ms = timeout_ms;
	return rc;
}

int alb_client_set_frame_max(struct alb_client *c, size_t max,
			     struct alb_error *err)
{
	if (c == NULL)
		return alb_fail(err, ALB_EINVAL, "no client");
	if (max > ALB_FRAME_MAX_LIMIT)
		return alb_fail(err, ALB_EINVAL,
				"frame limit %zu is above the protocol's %u", max,
				ALB_FRAME_MAX_LIMIT);
	return alb_frame_reader_set_max(c->rd, max == 0 ? ALB_FRAME_MAX_DEFAULT
						       : max, err);
}

void alb_client_set_recv_progress(struct alb_client *c, alb_progress_fn fn,
				  void *ctx)
{
	if (c == NULL)
		return;
	c->recv_progress = fn;
	c->recv_progress_ctx = ctx;
}

/* One send or recv on the connection: n > 0 bytes, 0 at the end (recv),
 * or an ALB_E* code. A timeout is reported as ETIMEDOUT. */
static ssize_t io_once(struct alb_client *c, bool sending, uint8_t *p,
		       size_t len, struct alb_error *err)
{
	const char *what = sending ? "writing to the daemon"
				   : "reading from the daemon";
	for (;;) {
		struct alb_error e = {0};
		ssize_t n;
		if (c->t != NULL) {
			n = sending ? c->t->send(c->tctx, p, len, &e)
				    : c->t->recv(c->tctx, p, len, &e);
			if (n >= 0)
				return n;
			if (n == ALB_ESYS && is_timeout(e.sys_errno) &&
			    c->timeout_ms > 0)
				return fail_timeout(err, c->timeout_ms, what);
			if (err != NULL)
				*err = e;
			return n;
		}
		/* MSG_NOSIGNAL: a vanished daemon is an error, not a SIGPIPE. */
		n = sending ? send(c->fd, p, len, MSG_NOSIGNAL)
			    : recv(c->fd, p, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (c->timeout_ms > 0 && is_timeout(errno))
			return fail_timeout(err, c->timeout_ms, what);
		return alb_fail_sys(err, "%s", what);
	}
}

/* Writes all of data. progress sees offsets base+done of total. */
static int send_all(struct alb_client *c, const uint8_t *data, size_t len,
		    alb_progress_fn progress, void *pctx, uint64_t base,
		    uint64_t total, struct alb_error *err)
{
	size_t done = 0;
	while (done < len) {
		size_t n = len - done;
		if (n > SEND_SLICE)
			n = SEND_SLICE;
		ssize_t w = io_once(c, true, (uint8_t *)(uintptr_t)(data + done),
				    n, err);
		if (w < 0)
			return (int)w;
		done += (size_t)w;
		if (progress != NULL)
			progress(pctx, base + done, total);
	}
	return 0;
}

int alb_client_send(struct alb_client *c, const char *name,
		    const struct alb_command *cmd, alb_progress_fn progress,
		    void *progress_ctx, struct alb_error *err)
{
	if (c == NULL)
		return alb_fail(err, ALB_EINVAL, "no client");
	struct alb_buf b = {0};
	int rc = alb_client_encode_command(name, cmd, ALB_ENCODE_FRAMED, &b, err);
	if (rc == 0)
		rc = send_all(c, b.data, b.len, progress, progress_ctx, 0, b.len,
			      err);
	alb_buf_free(&b);
	return rc;
}

/* Reads the next frame into *out (alb_frame_read_fd()'s results). */
static int recv_frame(struct alb_client *c, struct alb_buf *out,
		      struct alb_error *err)
{
	if (c->out_of_step)
		return alb_fail(err, ALB_EPROTO,
				"the connection is in the middle of a message "
				"that could not be read");
	for (;;) {
		uint8_t *p;
		size_t room;
		int rc = alb_frame_reader_space(c->rd, &p, &room, err);
		if (rc < 0)
			return rc;
		ssize_t n = io_once(c, false, p, room, err);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return alb_frame_reader_idle(c->rd)
				       ? alb_fail(err, ALB_EEOF, "connection closed")
				       : alb_fail(err, ALB_EPROTO,
						  "connection closed in the middle of a frame");
		c->received += (uint64_t)n;
		if (c->recv_progress != NULL)
			c->recv_progress(c->recv_progress_ctx, c->received, 0);
		rc = alb_frame_reader_advance(c->rd, (size_t)n, err);
		if (rc == 0)
			return alb_frame_reader_take(c->rd, out);
		if (rc != ALB_EAGAIN)
			return rc;
	}
}

int alb_client_recv(struct alb_client *c, struct alb_msg **out,
		    struct alb_error *err)
{
	if (c == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "no client or output");
	*out = NULL;
	struct alb_buf b = {0};
	int rc = recv_frame(c, &b, err);
	if (rc < 0)
		return rc;
	rc = alb_msg_decode(b.data, b.len, 0, out, err);
	alb_buf_free(&b);
	return rc;
}

int alb_client_read_stream(struct alb_client *c, alb_msg_fn fn, void *ctx,
			   struct alb_error *err)
{
	if (fn == NULL)
		return alb_fail(err, ALB_EINVAL, "no callback");
	for (;;) {
		struct alb_msg *m;
		int rc = alb_client_recv(c, &m, err);
		if (rc == ALB_EEOF)
			return 0;
		if (rc < 0)
			return rc;
		rc = fn(ctx, m);
		alb_msg_free(m);
		if (rc != 0)
			return rc;
	}
}

/* ---- streams ------------------------------------------------------------ */

struct upload {
	struct alb_client *c;
	uint8_t frame[ALB_FRAME_HEADER_LEN + ALB_STREAM_CHUNK_MAX];
};

/* Emits one chunk as one frame: header and payload in a single send. */
static int upload_chunk(void *ctx, const uint8_t *data, size_t len,
			struct alb_error *err)
{
	struct upload *u = ctx;
	if (len > ALB_STREAM_CHUNK_MAX)
		return alb_fail(err, ALB_EINVAL, "stream chunk of %zu bytes", len);
	int rc = alb_frame_header(u->frame, len, err);
	if (rc < 0)
		return rc;
	memcpy(u->frame + ALB_FRAME_HEADER_LEN, data, len);
	return send_all(u->c, u->frame, ALB_FRAME_HEADER_LEN + len, NULL, NULL,
			0, 0, err);
}

int alb_client_send_stream(struct alb_client *c, int fd, int level,
			   uint64_t total, alb_progress_fn progress,
			   void *progress_ctx, struct alb_error *err)
{
	if (c == NULL || fd < 0)
		return alb_fail(err, ALB_EINVAL, "no client or file descriptor");
	if (level < 0 || level > 9)
		return alb_fail(err, ALB_EINVAL,
				"compression level %d is not between 0 and 9",
				level);
	struct upload *u = malloc(sizeof(*u));
	uint8_t *in = malloc(STREAM_READ);
	struct alb_stream_writer *w = NULL;
	int rc;
	if (u == NULL || in == NULL) {
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
		goto out;
	}
	u->c = c;
	/* Level 0 means "not compressed" to albatross-client, not zlib's
	 * stored blocks. */
	rc = alb_stream_writer_new(level == 0 ? ALB_STREAM_RAW : level,
				   upload_chunk, u, &w, err);
	if (rc < 0)
		goto out;
	uint64_t done = 0;
	for (;;) {
		ssize_t n = read(fd, in, STREAM_READ);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = alb_fail_sys(err, "reading the data to send");
			goto out;
		}
		if (n == 0)
			break;
		rc = alb_stream_writer_write(w, in, (size_t)n, err);
		if (rc < 0)
			goto out;
		done += (uint64_t)n;
		if (progress != NULL)
			progress(progress_ctx, done, total);
	}
	rc = alb_stream_writer_finish(w, err);
	if (rc == 0) {
		uint8_t end[ALB_FRAME_HEADER_LEN];
		rc = alb_frame_header(end, 0, err);
		if (rc == 0)
			rc = send_all(c, end, sizeof(end), NULL, NULL, 0, 0, err);
	}
out:
	alb_stream_writer_free(w);
	free(in);
	free(u);
	return rc;
}

static int write_fd(void *ctx, const uint8_t *data, size_t len,
		    struct alb_error *err)
{
	int fd = *(const int *)ctx;
	while (len > 0) {
		struct iovec iov = {(void *)(uintptr_t)data, len};
		/* a pipe whose reader went away is an error, not a SIGPIPE */
		ssize_t w = alb_writev_nosigpipe(fd, &iov, 1);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return alb_fail_sys(err, "writing the dumped data");
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* After the end marker only the connection's close, or a Failure telling
 * that the daemon's reading went wrong, may follow (spec §2.4). */
static int dump_trailer(struct alb_client *c, struct alb_error *err)
{
	struct alb_msg *m;
	int rc = alb_client_recv(c, &m, err);
	if (rc == ALB_EEOF)
		return 0;
	if (rc < 0)
		return rc;
	if (m->kind == ALB_PAYLOAD_FAILURE)
		rc = alb_fail(err, ALB_EPERM, "%s",
			      m->u.failure.ptr ? m->u.failure.ptr : "");
	else
		rc = alb_fail(err, ALB_EPROTO,
			      "unexpected message after the end of a block dump");
	alb_msg_free(m);
	return rc;
}

int alb_client_recv_dump(struct alb_client *c, bool compressed, int out_fd,
			 uint64_t *written, struct alb_error *err)
{
	if (written != NULL)
		*written = 0;
	if (c == NULL || out_fd < 0)
		return alb_fail(err, ALB_EINVAL, "no client or file descriptor");
	struct alb_stream_reader *r = NULL;
	/* The data goes to a file, not to memory: no output bound. */
	int rc = alb_stream_reader_new(compressed, UINT64_MAX, write_fd, &out_fd,
				       &r, err);
	if (rc < 0)
		return rc;
	for (;;) {
		struct alb_msg *m;
		rc = alb_client_recv(c, &m, err);
		if (rc == ALB_EEOF) {
			rc = alb_fail(err, ALB_EPROTO,
				      "block dump ended before its end marker");
			break;
		}
		if (rc < 0)
			break;
		if (m->kind == ALB_PAYLOAD_FAILURE) {
			rc = alb_fail(err, ALB_EPERM, "%s",
			      m->u.failure.ptr ? m->u.failure.ptr : "");
		} else if (m->kind != ALB_PAYLOAD_DATA ||
			   m->u.data.kind != ALB_DATA_BLOCK) {
			rc = alb_fail(err, ALB_EPROTO,
				      "unexpected message in a block dump");
		} else if (m->u.data.u.block.has_data) {
			const struct alb_bytes *d = &m->u.data.u.block.data;
			rc = d->len == 0 ? 0
					 : alb_stream_reader_write(r, d->ptr, d->len,
								   err);
			if (rc == 0) {
				alb_msg_free(m);
				continue;
			}
		} else {
			rc = alb_stream_reader_finish(r, err);
			if (rc == 0)
				rc = dump_trailer(c, err);
		}
		alb_msg_free(m);
		break;
	}
	if (written != NULL)
		*written = alb_stream_reader_total(r);
	alb_stream_reader_free(r);
	return rc;
}

/* ---- an image reply written out as it arrives ------------------------- */

/* Reads exactly len bytes of the frame that started at_start bytes ago
 * (0: the frame's first byte). */
static int recv_exact(struct alb_client *c, uint8_t *p, size_t len,
		      bool at_start, struct alb_error *err)
{
	while (len > 0) {
		ssize_t n = io_once(c, false, p, len, err);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return at_start ? alb_fail(err, ALB_EEOF, "connection closed")
					: alb_fail(err, ALB_EPROTO,
						   "connection closed in the middle of a frame");
		at_start = false;
		c->received += (uint64_t)n;
		if (c->recv_progress != NULL)
			c->recv_progress(c->recv_progress_ctx, c->received, 0);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rest of a frame whose first bytes were read (hdr and head[0..n))
 * through the frame reader, decoded as alb_client_recv() does. */
static int recv_rest(struct alb_client *c, const uint8_t *hdr,
		     const uint8_t *head, size_t n, struct alb_msg **out,
		     struct alb_error *err)
{
	int rc = alb_frame_reader_feed(c->rd, hdr, ALB_FRAME_HEADER_LEN, NULL,
				       err);
	if (rc == ALB_EAGAIN && n > 0)
		rc = alb_frame_reader_feed(c->rd, head, n, NULL, err);
	struct alb_buf b = {0};
	if (rc == 0)
		rc = alb_frame_reader_take(c->rd, &b);
	else if (rc == ALB_EAGAIN)
		rc = recv_frame(c, &b, err);
	if (rc < 0)
		return rc;
	rc = alb_msg_decode(b.data, b.len, 0, out, err);
	alb_buf_free(&b);
	return rc;
}

/* The image's bytes as they come: hashed, their head kept, written out. */
struct image_sink {
	struct alb_image_received *img;
	EVP_MD_CTX *md;
	struct alb_stream_reader *rd;
};

static int sink_write(struct image_sink *s, const uint8_t *p, size_t n,
		      struct alb_error *err)
{
	struct alb_image_received *img = s->img;
	if (img->length < ALB_IMAGE_RECEIVED_HEAD) {
		size_t k = ALB_IMAGE_RECEIVED_HEAD - (size_t)img->length;
		memcpy(img->head + img->length, p, k < n ? k : n);
	}
	img->length += n;
	if (EVP_DigestUpdate(s->md, p, n) != 1)
		return alb_fail(err, ALB_ENOMEM, "SHA-256 failed");
	return alb_stream_reader_write(s->rd, p, n, err);
}

/* Writes the image, whose first n bytes are at p, to the sink. */
static int stream_image(struct alb_client *c, struct image_sink *s,
			const uint8_t *p, size_t n, size_t image_len,
			struct alb_error *err)
{
	int rc = n > 0 ? sink_write(s, p, n, err) : 0;
	uint8_t *buf = rc == 0 && n < image_len ? malloc(STREAM_READ) : NULL;
	if (rc == 0 && n < image_len && buf == NULL)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	for (size_t left = image_len - n; rc == 0 && left > 0;) {
		size_t k = left < STREAM_READ ? left : STREAM_READ;
		rc = recv_exact(c, buf, k, false, err);
		if (rc == 0)
			rc = sink_write(s, buf, k, err);
		left -= k;
	}
	free(buf);
	unsigned mdlen = 0;
	if (rc == 0)
		rc = alb_stream_reader_finish(s->rd, err);
	if (rc == 0 && EVP_DigestFinal_ex(s->md, s->img->sha256, &mdlen) != 1)
		rc = alb_fail(err, ALB_ENOMEM, "SHA-256 failed");
	return rc;
}

int alb_client_recv_image(struct alb_client *c, int out_fd,
			  struct alb_msg **out, struct alb_image_received *img,
			  struct alb_error *err)
{
	if (c == NULL || out == NULL || img == NULL || out_fd < 0)
		return alb_fail(err, ALB_EINVAL,
				"no client, output, description or file descriptor");
	*out = NULL;
	memset(img, 0, sizeof(*img));
	if (!alb_frame_reader_idle(c->rd) || c->out_of_step)
		return alb_fail(err, ALB_EINVAL,
				"a frame is half read on this connection");
	uint8_t hdr[ALB_FRAME_HEADER_LEN];
	int rc = recv_exact(c, hdr, sizeof(hdr), true, err);
	if (rc < 0)
		return rc;
	size_t total = alb_frame_length(hdr);
	if (total == 0)
		return alb_fail(err, ALB_EEOF, "end of stream");
	uint8_t head[ALB_IMAGE_REPLY_HEAD_MAX];
	size_t n = total < sizeof(head) ? total : sizeof(head);
	/* until the frame is read to its end, a failure leaves it half read */
	c->out_of_step = true;
	rc = recv_exact(c, head, n, false, err);
	if (rc < 0)
		return rc;
	struct alb_image_reply_layout lo;
	rc = alb_image_reply_layout(head, n, total, &lo, out, err);
	if (rc == ALB_ENOENT) {
		c->out_of_step = false;
		return recv_rest(c, hdr, head, n, out, err);
	}
	c->out_of_step = n < total;
	if (rc < 0)
		return rc;
	struct image_sink s = {img, EVP_MD_CTX_new(), NULL};
	img->compressed = lo.compressed;
	rc = s.md == NULL || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1
		     ? alb_fail(err, ALB_ENOMEM, "SHA-256 failed")
		     : alb_stream_reader_new(lo.compressed, ALB_IMAGE_MAX,
					     write_fd, &out_fd, &s.rd, err);
	if (rc == 0)
		rc = stream_image(c, &s, head + lo.image_off, n - lo.image_off,
				  lo.image_len, err);
	img->written = s.rd != NULL ? alb_stream_reader_total(s.rd) : 0;
	alb_stream_reader_free(s.rd);
	EVP_MD_CTX_free(s.md);
	if (rc < 0) {
		alb_msg_free(*out);
		*out = NULL;
		return rc;
	}
	c->out_of_step = false;
	return 0;
}
