/* libalbatross — vmmd: client connections on vmmd.sock. Every connection
 * reads frames with the frame module (the payload lands in its final
 * buffer), has the frame size limit, and stops reading while its command
 * is processed. Garbage, an oversized frame or a read error closes that
 * connection only (spec §2.3: no reply where Albatross sends none).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmmd_internal.h"

struct wreq {
	uv_write_t req;
	struct conn *c;
	struct alb_buf buf;
};

void hdr_copy(struct hdr *dst, const struct alb_header *src)
{
	dst->version = src->version;
	dst->sequence = src->sequence;
	snprintf(dst->name, sizeof(dst->name), "%s", src->name);
}

void hdr_make(struct hdr *dst, int64_t sequence, const char *name)
{
	dst->version = ALB_WIRE_VERSION;
	dst->sequence = sequence;
	snprintf(dst->name, sizeof(dst->name), "%s", name);
}

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct alb_vmmd *v = c->v;
	vlist_del(&c->link);
	v->n_conns--;
	alb_frame_reader_free(c->rd);
	free(c);
	vmmd_maybe_done(v);
}

static void conn_close_handle(struct conn *c)
{
	if (c->handle_closing)
		return;
	c->handle_closing = true;
	if (c->v->stats == c)
		stats_lost(c->v, c);
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

void conn_abort(struct conn *c)
{
	c->mode = CONN_CLOSING;
	c->broken = true;
	conn_close_handle(c);
}

static void stop_reading(struct conn *c)
{
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	}
}

void conn_done(struct conn *c)
{
	stop_reading(c);
	c->mode = CONN_CLOSING;
	c->on_chunk = NULL;
	c->on_drain = NULL;
	c->ctx = NULL;
	if (c->writes == 0 || c->broken)
		conn_close_handle(c);
}

static void on_write(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;
	struct conn *c = w->c;
	c->writes--;
	c->queued -= w->buf.len;
	alb_buf_free(&w->buf);
	free(w);
	if (status < 0 && !c->broken) {
		alb_log_debug("vmmd: write to a client failed: %s",
			      uv_strerror(status));
		c->broken = true;
	}
	if (c->on_drain != NULL && (c->broken || c->queued < VMMD_DUMP_QUEUE_MAX))
		c->on_drain(c, c->broken);
	if (c->mode == CONN_CLOSING && (c->writes == 0 || c->broken))
		conn_close_handle(c);
	else if (c->broken && (c->mode == CONN_COMMAND || c->mode == CONN_STATS))
		conn_abort(c);
}

static void send_msg(struct conn *c, const struct alb_msg *m)
{
	if (c->broken || c->handle_closing)
		return;
	struct wreq *w = calloc(1, sizeof(*w));
	struct alb_error err = {0};
	if (w == NULL) {
		alb_log_error("vmmd: out of memory while replying");
		c->broken = true;
		return;
	}
	int rc = alb_msg_encode(m, ALB_ENCODE_FRAMED, &w->buf, &err);
	if (rc != 0) {
		free(w);
		if (m->kind == ALB_PAYLOAD_FAILURE) {
			alb_log_error("vmmd: cannot encode a failure: %s", err.msg);
			c->broken = true;
			return;
		}
		/* a reply Albatross cannot encode (an old info with several
		 * CPU ids): the client learns why instead of a crash */
		struct alb_msg f = *m;
		f.kind = ALB_PAYLOAD_FAILURE;
		f.u.failure = (struct alb_str){err.msg, strlen(err.msg)};
		send_msg(c, &f);
		return;
	}
	w->c = c;
	uv_buf_t b = uv_buf_init((char *)w->buf.data, (unsigned)w->buf.len);
	rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write);
	if (rc != 0) {
		alb_log_debug("vmmd: write to a client failed: %s", uv_strerror(rc));
		alb_buf_free(&w->buf);
		free(w);
		c->broken = true;
		return;
	}
	c->writes++;
	c->queued += b.len;
}

static void make_msg(struct alb_msg *m, const struct hdr *h)
{
	memset(m, 0, sizeof(*m));
	m->header.version = h->version;
	m->header.sequence = h->sequence;
	m->header.name = h->name;
}

void conn_reply(struct conn *c, const struct hdr *h, const struct alb_reply *r)
{
	struct alb_msg m;
	make_msg(&m, h);
	m.kind = ALB_PAYLOAD_SUCCESS;
	m.u.success = *r;
	send_msg(c, &m);
}

void conn_reply_string(struct conn *c, const struct hdr *h, const char *s)
{
	struct alb_reply r = {.kind = ALB_REPLY_STRING};
	r.u.string = (struct alb_str){s, strlen(s)};
	conn_reply(c, h, &r);
}

void conn_reply_failure(struct conn *c, const struct hdr *h, const char *msg)
{
	struct alb_msg m;
	make_msg(&m, h);
	m.kind = ALB_PAYLOAD_FAILURE;
	m.u.failure = (struct alb_str){msg, strlen(msg)};
	send_msg(c, &m);
}

void conn_send_data(struct conn *c, const struct hdr *h,
		    const struct alb_data *d)
{
	struct alb_msg m;
	make_msg(&m, h);
	m.kind = ALB_PAYLOAD_DATA;
	m.u.data = *d;
	send_msg(c, &m);
}

void conn_send_command(struct conn *c, const struct hdr *h,
		       const struct alb_command *cmd)
{
	struct alb_msg m;
	make_msg(&m, h);
	m.kind = ALB_PAYLOAD_COMMAND;
	m.u.command = *cmd;
	send_msg(c, &m);
}

/* ---- reading ------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	struct conn *c = h->data;
	uint8_t *p;
	size_t len;
	if (alb_frame_reader_space(c->rd, &p, &len, NULL) != 0) {
		/* libuv reports UV_ENOBUFS to on_read, which closes */
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init((char *)p, (unsigned)(len > UINT_MAX ? UINT_MAX : len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void start_reading(struct conn *c)
{
	if (c->reading || c->handle_closing)
		return;
	int rc = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	if (rc != 0) {
		alb_log_warn("vmmd: cannot read from a client: %s", uv_strerror(rc));
		conn_abort(c);
		return;
	}
	c->reading = true;
}

void conn_next(struct conn *c)
{
	c->mode = CONN_COMMAND;
	c->on_chunk = NULL;
	c->ctx = NULL;
	if (c->broken)
		conn_abort(c);
	else
		start_reading(c);
}

void conn_stream_in(struct conn *c, conn_chunk_fn fn)
{
	c->mode = CONN_STREAM_IN;
	c->on_chunk = fn;
	start_reading(c);
}

void conn_become_stats(struct conn *c)
{
	c->mode = CONN_STATS;
	c->on_chunk = NULL;
	start_reading(c);
}

static void handle_command_frame(struct conn *c, struct alb_buf *frame)
{
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	stop_reading(c);
	c->mode = CONN_BUSY;
	int rc = alb_msg_decode(frame->data, frame->len, ALB_DECODE_BORROW, &m, &err);
	if (rc != 0) {
		alb_log_warn("vmmd: closing a client that sent a bad message: %s",
			     err.msg);
		conn_abort(c);
		return;
	}
	/* Commands that keep data beyond this call copy it. */
	vmmd_dispatch(c, m);
	alb_msg_free(m);
}

static void handle_stats_frame(struct conn *c, struct alb_buf *frame)
{
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	if (alb_msg_decode(frame->data, frame->len, 0, &m, &err) != 0) {
		alb_log_warn("vmmd: bad message on the stats channel: %s", err.msg);
		conn_abort(c);
		return;
	}
	stats_reply(c, m);
	alb_msg_free(m);
}

static void lost(struct conn *c, const char *why)
{
	if (c->mode == CONN_STREAM_IN && c->on_chunk != NULL) {
		struct alb_error err = {0};
		alb_fail(&err, ALB_EPROTO, "%s", why);
		stop_reading(c);
		c->broken = true;
		c->on_chunk(c, NULL, 0, ALB_EPROTO, &err);
		return;
	}
	if (c->mode == CONN_STATS)
		alb_log_warn("vmmd: the stats channel closed");
	conn_abort(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	(void)buf;
	struct conn *c = s->data;
	if (n == 0)
		return;
	if (n < 0) {
		lost(c, "error while reading stream");
		return;
	}
	struct alb_error err = {0};
	int rc = alb_frame_reader_advance(c->rd, (size_t)n, &err);
	if (rc == ALB_EAGAIN)
		return;
	if (rc == ALB_EEOF) {
		if (c->mode == CONN_STREAM_IN) {
			stop_reading(c);
			c->on_chunk(c, NULL, 0, 0, NULL);
		} else {
			conn_abort(c);
		}
		return;
	}
	if (rc != 0) {
		alb_log_warn("vmmd: closing a client: %s", err.msg);
		lost(c, "error while reading stream");
		return;
	}
	struct alb_buf frame = {0};
	alb_frame_reader_take(c->rd, &frame);
	switch (c->mode) {
	case CONN_COMMAND:
		handle_command_frame(c, &frame);
		break;
	case CONN_STREAM_IN:
		c->on_chunk(c, frame.data, frame.len, 0, NULL);
		break;
	case CONN_STATS:
		handle_stats_frame(c, &frame);
		break;
	case CONN_BUSY:
	case CONN_CLOSING:
		break;
	}
	alb_buf_free(&frame);
}

/* ---- accepting ---------------------------------------------------------- */

static void on_connection(uv_stream_t *server, int status)
{
	struct alb_vmmd *v = server->data;
	if (status < 0) {
		alb_log_warn("vmmd: accept failed: %s", uv_strerror(status));
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		alb_log_error("vmmd: out of memory accepting a client");
		return;
	}
	c->v = v;
	uv_pipe_init(v->loop, &c->pipe, 0);
	c->pipe.data = c;
	vlist_push(&v->conns, &c->link);
	v->n_conns++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		conn_abort(c);
		return;
	}
	if (v->stopping) {
		conn_abort(c);
		return;
	}
	/* the new one counts: n_conns includes the stats channel */
	if (v->n_conns > v->conn_max) {
		alb_log_warn("vmmd: %u connections already, closing a new one",
			     v->conn_max);
		conn_abort(c);
		return;
	}
	if (alb_frame_reader_new(v->frame_max, &c->rd, NULL) != 0) {
		conn_abort(c);
		return;
	}
	c->mode = CONN_COMMAND;
	start_reading(c);
}

static int bind_socket(struct alb_vmmd *v, struct alb_error *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(v->sock_path);
	if (len >= sizeof(sa.sun_path))
		return alb_fail(err, ALB_ETOOBIG, "socket path %s too long",
				v->sock_path);
	memcpy(sa.sun_path, v->sock_path, len + 1);

	struct stat st;
	if (lstat(v->sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return alb_fail(err, ALB_EEXIST,
					"%s exists and is not a socket",
					v->sock_path);
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool alive = probe >= 0 &&
			     connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (alive)
			return alb_fail(err, ALB_EEXIST, "another daemon listens "
					"on %s", v->sock_path);
		/* a stale socket of a previous daemon */
		if (unlink(v->sock_path) != 0)
			return alb_fail_sys(err, "unlink %s", v->sock_path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return alb_fail_sys(err, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		if (e == EACCES)
			return alb_fail_sys(err,
					    "cannot bind %s (albd needs write "
					    "access to %s, usually as root)",
					    v->sock_path, v->util_dir);
		return alb_fail_sys(err, "bind %s", v->sock_path);
	}
	/* As albatrossd: the umask's group bits do not apply, so that the
	 * socket's group (albatross) may connect. */
	mode_t mask = umask(0);
	umask(mask);
	if (chmod(v->sock_path, 0777 & ~(mask & ~(mode_t)070)) != 0 ||
	    listen(fd, VMMD_LISTEN_BACKLOG) != 0) {
		int rc = alb_fail_sys(err, "listen on %s", v->sock_path);
		close(fd);
		unlink(v->sock_path);
		return rc;
	}
	return fd;
}

int vmmd_listen(struct alb_vmmd *v, struct alb_error *err)
{
	int fd = v->listen_fd;
	if (fd < 0) {
		fd = bind_socket(v, err);
		if (fd < 0)
			return fd;
	}
	v->listen_fd = -1;
	uv_pipe_init(v->loop, &v->listener, 0);
	v->listener.data = v;
	v->listener_open = true;
	int rc = uv_pipe_open(&v->listener, fd);
	if (rc != 0)
		close(fd); /* not the handle's yet */
	else
		rc = uv_listen((uv_stream_t *)&v->listener, VMMD_LISTEN_BACKLOG,
			       on_connection);
	if (rc != 0) {
		vmmd_listen_close(v);
		return alb_fail(err, ALB_ESYS, "listen on %s: %s", v->sock_path,
				uv_strerror(rc));
	}
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	struct alb_vmmd *v = h->data;
	v->listener_open = false;
	vmmd_maybe_done(v);
}

void vmmd_listen_close(struct alb_vmmd *v)
{
	if (v->listener_open && !uv_is_closing((uv_handle_t *)&v->listener))
		uv_close((uv_handle_t *)&v->listener, listener_closed);
}

void conns_close_idle(struct alb_vmmd *v)
{
	struct vlist *e = v->conns.next;
	while (e != &v->conns) {
		struct conn *c = vlist_entry(e, struct conn, link);
		e = e->next;
		if (c->handle_closing)
			continue;
		if (c->mode == CONN_COMMAND || c->mode == CONN_STATS) {
			conn_abort(c);
		} else if (c->mode == CONN_STREAM_IN && c->on_chunk != NULL) {
			struct alb_error err = {0};
			alb_fail(&err, ALB_EPROTO, "cancelled");
			stop_reading(c);
			c->on_chunk(c, NULL, 0, ALB_EPROTO, &err);
		} else if (c->on_drain != NULL) {
			c->broken = true;
			c->on_drain(c, true);
		}
	}
}
