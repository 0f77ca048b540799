/* libalbatross — vmmd: client connections on vmmd.sock, on daemon/common's
 * connection pool: frames whose buffers grow as bytes arrive, within the
 * frame size limit and the pool's byte budget; a connection stops reading
 * while its command is processed, and must complete a command within the
 * command timeout; a new connection beyond the limit replaces the oldest
 * one that sent no command yet; the stats channel is a peer (never
 * replaced, its own byte share). Garbage, an oversized frame or a read
 * error closes that connection only (spec §2.3: no reply where Albatross
 * sends none).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dcommon/socket.h"
#include "proto/wire_codec.h"
#include "vmmd_internal.h"

/* The core's callbacks of its connection pool (below). */
static const struct dc_ops conn_ops;

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

/* A write failed or the peer went away while c was not reading a command:
 * whoever waits on c learns it; an idle connection closes. */
static void conn_broke(struct conn *c, const char *why)
{
	c->broken = true;
	switch (c->mode) {
	case CONN_STREAM_IN:
		if (c->on_chunk != NULL) {
			struct alb_error err = {0};
			alb_fail(&err, ALB_EPROTO, "%s", why);
			dc_conn_pause(c->dc);
			c->on_chunk(c, NULL, 0, ALB_EPROTO, &err);
			return;
		}
		break;
	case CONN_BUSY:
		if (c->on_drain != NULL)
			c->on_drain(c, true);
		/* the command's end (conn_done/conn_next) closes */
		return;
	case CONN_STATS:
		alb_log_warn("vmmd: the stats channel closed");
		break;
	case CONN_COMMAND:
	case CONN_CLOSING:
		break;
	}
	conn_abort(c);
}

void conn_abort(struct conn *c)
{
	c->mode = CONN_CLOSING;
	c->broken = true;
	if (c->v->stats == c)
		stats_lost(c->v, c);
	dc_conn_close(c->dc);
}

void conn_done(struct conn *c)
{
	c->mode = CONN_CLOSING;
	c->on_chunk = NULL;
	c->on_drain = NULL;
	c->ctx = NULL;
	if (c->broken)
		conn_abort(c);
	else
		dc_conn_end(c->dc);
}

static void send_msg(struct conn *c, const struct alb_msg *m)
{
	if (c->broken || c->mode == CONN_CLOSING)
		return;
	struct alb_error err = {0};
	int rc = dc_conn_send_msg(c->dc, m, &err);
	if (rc == 0)
		return;
	if (rc == ALB_EPROTO || rc == ALB_ENOMEM || m->kind == ALB_PAYLOAD_FAILURE) {
		if (rc == ALB_ENOMEM || m->kind == ALB_PAYLOAD_FAILURE)
			alb_log_error("vmmd: cannot reply: %s", err.msg);
		c->broken = true;
		return;
	}
	/* a reply Albatross cannot encode (an old info with several CPU
	 * ids): the client learns why instead of a crash */
	struct alb_msg f = *m;
	f.kind = ALB_PAYLOAD_FAILURE;
	f.u.failure = (struct alb_str){err.msg, strlen(err.msg)};
	send_msg(c, &f);
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

void conn_reply_info_der(struct conn *c, const struct hdr *h,
			 const struct alb_info_der *v, size_t n)
{
	if (c->broken || c->mode == CONN_CLOSING)
		return;
	struct alb_msg m;
	make_msg(&m, h);
	struct alb_buf b = {0};
	struct alb_error err = {0};
	int rc = alb_msg_encode_info_der(&m.header, v, n, &b, &err);
	if (rc == 0)
		rc = dc_conn_send_buf(c->dc, &b);
	if (rc != 0) {
		if (rc != ALB_EPROTO)
			alb_log_error("vmmd: cannot reply: %s", err.msg);
		c->broken = true;
	}
}

static void config_release(void *ctx)
{
	config_free(ctx);
}

void conn_reply_image(struct conn *c, const struct hdr *h,
		      struct alb_unikernel_config *cfg)
{
	struct alb_msg m;
	make_msg(&m, h);
	m.kind = ALB_PAYLOAD_SUCCESS;
	m.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	m.u.success.u.image.compressed = cfg->compressed;
	m.u.success.u.image.data = cfg->image;
	if (cfg->image.len == 0) {
		send_msg(c, &m);
		return;
	}
	if (c->broken || c->mode == CONN_CLOSING)
		return;
	struct alb_error err = {0};
	if (dc_conn_send_msg_ref(c->dc, &m, cfg->image.ptr, cfg->image.len,
				 config_release, config_retain(cfg), &err) != 0) {
		if (err.code != ALB_EPROTO)
			alb_log_error("vmmd: cannot reply: %s", err.msg);
		c->broken = true;
	}
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

void conn_next(struct conn *c)
{
	c->mode = CONN_COMMAND;
	c->on_chunk = NULL;
	c->ctx = NULL;
	if (c->broken)
		conn_abort(c);
	else
		dc_conn_read(c->dc, true);
}

void conn_stream_in(struct conn *c, conn_chunk_fn fn)
{
	c->mode = CONN_STREAM_IN;
	c->on_chunk = fn;
	dc_conn_read(c->dc, false);
}

void conn_become_stats(struct conn *c)
{
	c->mode = CONN_STATS;
	c->on_chunk = NULL;
	/* a peer daemon: never replaced, no deadline, its own byte share */
	dc_conn_set_peer(c->dc);
	dc_conn_read(c->dc, false);
}

static void handle_command_frame(struct conn *c, struct alb_buf *frame)
{
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	dc_conn_pause(c->dc);
	c->mode = CONN_BUSY;
	int rc = alb_msg_decode(frame->data, frame->len, ALB_DECODE_BORROW, &m, &err);
	if (rc != 0) {
		alb_log_warn("vmmd: closing a client that sent a bad message: %s",
			     err.msg);
		conn_abort(c);
		return;
	}
	/* Commands that keep data beyond this call copy it, or take the
	 * frame (a create's image). */
	c->frame = frame;
	vmmd_dispatch(c, m);
	c->frame = NULL;
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

static void on_frame(struct dc_conn *dc, struct alb_buf *frame)
{
	struct conn *c = dc->data;
	switch (c->mode) {
	case CONN_COMMAND:
		handle_command_frame(c, frame);
		break;
	case CONN_STREAM_IN:
		c->on_chunk(c, frame->data, frame->len, 0, NULL);
		break;
	case CONN_STATS:
		handle_stats_frame(c, frame);
		break;
	case CONN_BUSY:
	case CONN_CLOSING:
		break;
	}
	alb_buf_free(frame);
}

static void on_eos(struct dc_conn *dc)
{
	struct conn *c = dc->data;
	if (c->mode == CONN_STREAM_IN && c->on_chunk != NULL) {
		dc_conn_pause(dc);
		c->on_chunk(c, NULL, 0, 0, NULL);
		return;
	}
	conn_abort(c);
}

static void on_lost(struct dc_conn *dc, int rc, const char *why)
{
	struct conn *c = dc->data;
	if (rc != ALB_EEOF)
		alb_log_warn("vmmd: closing a client: %s", why);
	conn_broke(c, rc == ALB_EEOF ? "end of file" : "error while reading stream");
}

static void on_drained(struct dc_conn *dc)
{
	struct conn *c = dc->data;
	if (c->on_drain != NULL && dc_conn_pending(dc) < VMMD_DUMP_QUEUE_MAX)
		c->on_drain(c, false);
}

static void on_closed(struct dc_conn *dc)
{
	struct conn *c = dc->data;
	if (c == NULL)
		return;
	if (c->v->stats == c)
		stats_lost(c->v, c);
	free(c);
}

static void on_gone(struct dc_pool *p)
{
	vmmd_maybe_done(dc_pool_data(p));
}

/* ---- accepting ---------------------------------------------------------- */

static int on_accepted(struct dc_pool *p, struct dc_conn *dc)
{
	struct alb_vmmd *v = dc_pool_data(p);
	if (v->stopping)
		return -1;
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		alb_log_error("vmmd: out of memory accepting a client");
		return -1;
	}
	c->v = v;
	c->dc = dc;
	dc->data = c;
	c->mode = CONN_COMMAND;
	dc_conn_read(dc, true);
	return 0;
}

static const struct dc_ops conn_ops = {
	.accepted = on_accepted,
	.frame = on_frame,
	.eos = on_eos,
	.lost = on_lost,
	.drained = on_drained,
	.closed = on_closed,
	.gone = on_gone,
};

int vmmd_listen(struct alb_vmmd *v, struct alb_error *err)
{
	struct dc_pool_config pc = {
		.who = "vmmd",
		.conn_max = v->conn_max,
		.frame_max = v->frame_max,
		.command_timeout_ms = v->command_timeout_ms,
		.bytes_max = v->read_bytes_max,
		.uid_bytes_max = ALB_VMMD_READ_UID_MAX,
		.reserved_bytes = ALB_VMMD_READ_PEER_MAX,
		.backlog = VMMD_LISTEN_BACKLOG,
	};
	int fd = v->listen_fd;
	v->listen_fd = -1;
	int rc = dc_pool_new(v->loop, &pc, &conn_ops, v, &v->pool, err);
	if (rc != 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if (fd >= 0) {
		rc = dc_listen_fd_adopt(fd, err);
		if (rc != 0) {
			close(fd);
			return rc;
		}
	} else {
		rc = dc_unix_listen(v->sock_path, v->socket_gid, VMMD_LISTEN_BACKLOG,
				    &fd, err);
		if (rc != 0)
			return rc;
		v->bound_path = true;
	}
	return dc_pool_listen(v->pool, fd, err);
}

void vmmd_listen_close(struct alb_vmmd *v)
{
	if (v->pool != NULL)
		dc_pool_stop_listening(v->pool);
}

static void close_idle(struct dc_conn *dc, void *ctx)
{
	(void)ctx;
	struct conn *c = dc->data;
	if (c == NULL)
		return;
	if (c->mode == CONN_COMMAND || c->mode == CONN_STATS)
		conn_abort(c);
	else if (c->mode == CONN_STREAM_IN || c->on_drain != NULL)
		conn_broke(c, "cancelled");
}

void conns_close_idle(struct alb_vmmd *v)
{
	if (v->pool != NULL)
		dc_pool_each(v->pool, close_idle, NULL);
}
