/* libalbatross — one connection of the TLS endpoint (spec §9.2): map the
 * client's chain, read a streamed image, reach the daemon, install the
 * chain's policies, send the command, relay block data and replies, and
 * send the final reply.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "albatross/log.h"
#include "albatross/stream.h"
#include "base/internal.h"
#include "dcommon/socket.h"
#include "tlsd_internal.h"

/* ---- lifecycle ------------------------------------------------------------ */

static void release(struct tconn *k)
{
	struct alb_tlsd *d = k->d;
	SSL_free(k->ssl);
	alb_frame_reader_free(k->crd);
	tlsd_policies_free(k);
	alb_cert_auth_free(k->auth);
	tlsd_spool_free(k);
	tlsd_relay_free(k);
	tlsd_conn_unlink(d, k);
	free(k);
	tlsd_maybe_release(d);
}

void tlsd_conn_handle_gone(struct tconn *k)
{
	if (--k->handles == 0)
		release(k);
}

static void on_timer_closed(uv_handle_t *h)
{
	tlsd_conn_handle_gone(h->data);
}

struct tconn *tlsd_conn_new(struct alb_tlsd *d)
{
	struct tconn *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return NULL;
	k->d = d;
	if (alb_frame_reader_new(ALB_TLSD_CHUNK_MAX, &k->crd, NULL) != 0 ||
	    uv_timer_init(d->loop, &k->timer) != 0) {
		alb_frame_reader_free(k->crd);
		free(k);
		return NULL;
	}
	k->handles = 1;
	k->timer.data = k;
	k->spool_fd = -1;
	k->version = ALB_WIRE_VERSION;
	k->next = d->conns;
	if (d->conns != NULL)
		d->conns->prev = k;
	d->conns = k;
	d->st.connections++;
	return k;
}

void tlsd_dm_close(struct tconn *k)
{
	if (k->dm == NULL)
		return;
	struct dc_conn *dm = k->dm;
	k->dm = NULL;
	k->dm_reading = false;
	/* its closed callback counts the handle down */
	dc_conn_close(dm);
}

void tlsd_conn_close(struct tconn *k)
{
	if (k->state == T_CLOSING)
		return;
	k->state = T_CLOSING;
	tlsd_handshake_over(k);
	tlsd_dm_close(k);
	uv_close((uv_handle_t *)&k->timer, on_timer_closed);
	if (k->cl != NULL) {
		struct dc_conn *cl = k->cl;
		k->cl = NULL;
		dc_conn_close(cl);
	}
}

void tlsd_conn_end(struct tconn *k)
{
	if (k->state == T_CLOSING)
		return;
	k->state = T_FINISH;
	tlsd_client_read_stop(k);
	tlsd_dm_close(k);
	if (k->cl == NULL) {
		tlsd_conn_close(k);
		return;
	}
	/* what is queued goes out, then the client's connection closes and
	 * with it the rest (tlsd_client_closed) */
	dc_conn_end(k->cl);
}

void tlsd_client_closed(struct tconn *k)
{
	k->cl = NULL;
	tlsd_conn_close(k);
	tlsd_conn_handle_gone(k);
}

void tlsd_daemon_closed(struct tconn *k)
{
	tlsd_conn_handle_gone(k);
}

/* ---- the final reply (§9.2 step 9) ----------------------------------------- */

/* Sends the payload of m with the header (client's version, sequence 0,
 * the chain's name) and ends the connection. */
static void finish(struct tconn *k, const struct alb_msg *m)
{
	if (k->state >= T_FINISH)
		return;
	struct alb_msg r = *m;
	r.header.version = k->version;
	r.header.sequence = 0;
	r.header.name = k->auth != NULL ? k->auth->name : ":";
	r.arena_ = NULL;
	struct alb_buf out;
	memset(&out, 0, sizeof(out));
	struct alb_error err;
	tlsd_dm_close(k);
	k->state = T_FINISH;
	if (alb_msg_encode(&r, ALB_ENCODE_FRAMED, &out, &err) != 0)
		alb_log_error("cannot encode the reply: %s", err.msg);
	else if (tlsd_tls_send(k, out.data, out.len) == 0)
		tlsd_tls_close_notify(k);
	alb_buf_free(&out);
	tlsd_conn_end(k);
}

void tlsd_reply_sent(struct tconn *k)
{
	tlsd_dm_close(k);
	k->state = T_FINISH;
	tlsd_tls_close_notify(k);
	tlsd_conn_end(k);
}

void tlsd_finish_failure(struct tconn *k, const char *text)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.kind = ALB_PAYLOAD_FAILURE;
	m.u.failure.ptr = text;
	m.u.failure.len = strlen(text);
	finish(k, &m);
}

/* ---- the daemon side ------------------------------------------------------- */

/* The daemon read what was queued: the client's block stream goes on. */
void tlsd_daemon_drained(struct tconn *k)
{
	if (k->state == T_SPOOL) {
		tlsd_spool_pump(k);
		return;
	}
	if (k->cl_paused && k->state == T_BLOCK && k->dm != NULL &&
	    dc_conn_pending(k->dm) <= ALB_TLSD_PENDING_MAX) {
		k->cl_paused = false;
		tlsd_client_read_start(k);
		tlsd_tls_pump(k);
	}
}

/* Queues hdr (if not NULL) and data (taken over) for the daemon. Returns 0,
 * or -1 after finishing with failure. */
static int dm_send(struct tconn *k, const uint8_t *hdr, struct alb_buf *data,
		   const char *failure)
{
	int rc = k->dm == NULL ? ALB_EPROTO : 0;
	if (rc == 0 && hdr != NULL)
		rc = dc_conn_queue(k->dm, hdr, ALB_FRAME_HEADER_LEN);
	if (rc == 0)
		rc = dc_conn_send_buf(k->dm, data);
	else
		alb_buf_free(data);
	if (rc != 0) {
		tlsd_finish_failure(k, failure);
		return -1;
	}
	return 0;
}

int tlsd_dm_command(struct tconn *k, const char *name,
		    const struct alb_command *cmd, const char *failure)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.sequence = k->d->sequence++;
	m.header.name = name;
	m.kind = ALB_PAYLOAD_COMMAND;
	m.u.command = *cmd;
	struct alb_buf out;
	memset(&out, 0, sizeof(out));
	struct alb_error err;
	if (alb_msg_encode(&m, ALB_ENCODE_FRAMED, &out, &err) != 0) {
		alb_log_error("cannot encode a command for %s: %s", name, err.msg);
		tlsd_finish_failure(k, failure);
		return -1;
	}
	return dm_send(k, NULL, &out, failure);
}

void tlsd_send_command(struct tconn *k)
{
	const char *failure = "couldn't write unikernel to VMMD";
	if (k->spool_fd >= 0) {
		if (tlsd_spool_send(k, failure) == 0)
			k->d->st.commands++;
		return;
	}
	if (tlsd_dm_command(k, k->auth->name, &k->auth->ext->command,
			    failure) != 0)
		return;
	k->d->st.commands++;
	if (!k->block_stream) {
		k->state = T_REPLY;
		if (k->auth->ext->command.kind == ALB_CMD_UNIKERNEL_GET)
			tlsd_relay_start(k);
		return;
	}
	/* The client's chunks waited in TLS until now. */
	k->state = T_BLOCK;
	k->cl_paused = false;
	tlsd_client_read_start(k);
	tlsd_tls_pump(k);
}

/* The daemon closed, failed or sent what could not be read. */
static void daemon_lost(struct tconn *k)
{
	switch (k->state) {
	case T_SNAPSHOT:
	case T_POLICY:
	case T_ROLLBACK:
		tlsd_policy_lost(k);
		break;
	case T_SPOOL:
	case T_BLOCK:
	case T_REPLY:
		tlsd_finish_failure(k, k->mode == ALB_REPLY_MODE_SINGLE
					  ? "error reading from fd"
					  : "exception while reading from fd");
		break;
	default:
		break;
	}
}

/* Forwards a message of a read or dump stream with the client's version. */
static void forward(struct tconn *k, struct alb_msg *m)
{
	m->header.version = k->version;
	struct alb_buf out;
	memset(&out, 0, sizeof(out));
	struct alb_error err;
	if (alb_msg_encode(m, ALB_ENCODE_FRAMED, &out, &err) != 0) {
		alb_log_error("cannot encode a message to forward: %s", err.msg);
		tlsd_finish_failure(k, "exception");
		return;
	}
	int rc = tlsd_tls_send(k, out.data, out.len);
	alb_buf_free(&out);
	if (rc != 0) {
		tlsd_finish_failure(k, "exception");
		return;
	}
	tlsd_dm_throttle(k);
}

void tlsd_dm_throttle(struct tconn *k)
{
	if (tlsd_client_pending(k) > ALB_TLSD_PENDING_MAX && k->dm_reading) {
		/* The client does not keep up: stop reading the daemon. */
		dc_conn_pause(k->dm);
		k->dm_reading = false;
		k->dm_paused = true;
	}
}

static void daemon_message(struct tconn *k, struct alb_bytes frame)
{
	struct alb_msg *m;
	struct alb_error err;
	if (alb_msg_decode(frame.ptr, frame.len, ALB_DECODE_BORROW, &m, &err) != 0) {
		alb_log_warn("undecodable message from the daemon: %s", err.msg);
		daemon_lost(k);
		return;
	}
	switch (k->state) {
	case T_SNAPSHOT:
	case T_POLICY:
	case T_ROLLBACK:
		tlsd_policy_answer(k, m);
		break;
	case T_BLOCK:
		/* vmmd answered before the stream ended (e.g. it refused the
		 * command): that is the reply. */
		finish(k, m);
		break;
	case T_REPLY:
		if (k->mode == ALB_REPLY_MODE_SINGLE ||
		    (m->kind == ALB_PAYLOAD_DATA && m->u.data.kind == ALB_DATA_BLOCK &&
		     !m->u.data.u.block.has_data))
			finish(k, m);
		else
			forward(k, m);
		break;
	default:
		/* Nothing is expected from the daemon before the command. */
		alb_log_warn("unexpected message from the daemon");
		tlsd_finish_failure(k, "error reading from fd");
		break;
	}
	alb_msg_free(m);
}

void tlsd_daemon_frame(struct tconn *k, struct alb_buf *frame)
{
	if (k->state < T_FINISH)
		daemon_message(k, (struct alb_bytes){frame->data, frame->len});
	alb_buf_free(frame);
}

void tlsd_daemon_lost(struct tconn *k, int rc, const char *why)
{
	if (k->state >= T_FINISH)
		return;
	if (rc != ALB_EEOF)
		alb_log_warn("reading from the daemon: %s", why);
	if (tlsd_relay_passing(k)) {
		/* half a reply went out: the client sees it cut */
		alb_log_warn("the daemon went away in the middle of its reply");
		tlsd_conn_close(k);
		return;
	}
	daemon_lost(k);
}

int tlsd_dm_open(struct tconn *k)
{
	struct alb_tlsd *d = k->d;
	char path[ALB_SOCKET_PATH_BUF];
	struct alb_error err = {0};
	int fd = -1;
	tlsd_dm_close(k);
	if (alb_endpoint_socket_path(d->tmpdir, k->endpoint, path, &err) != 0 ||
	    dc_unix_connect(path, &fd, &err) != 0 ||
	    dc_conn_open(d->dm_pool, fd, k, &k->dm, &err) != 0) {
		alb_log_warn("failed to connect to the %s socket: %s",
			     alb_endpoint_socket_name(k->endpoint), err.msg);
		return -1;
	}
	k->handles++;
	dc_conn_read(k->dm, false);
	k->dm_reading = true;
	return 0;
}

static void connect_daemon(struct tconn *k)
{
	k->state = T_CONNECT;
	if (tlsd_dm_open(k) != 0) {
		tlsd_finish_failure(k, "couldn't reach service");
		return;
	}
	if (k->endpoint == ALB_ENDPOINT_VMMD && k->auth->n_delegations > 0)
		tlsd_policies_install(k);
	else
		tlsd_send_command(k);
}

void tlsd_conn_client_drained(struct tconn *k)
{
	if (k->dm_paused && k->dm != NULL &&
	    tlsd_client_pending(k) <= ALB_TLSD_PENDING_MAX && k->state == T_REPLY) {
		dc_conn_read(k->dm, false);
		k->dm_paused = false;
		k->dm_reading = true;
	}
}

/* ---- the client side ---------------------------------------------------------- */

/* Commands followed by a chunk stream from the client (§2.4). */
static bool takes_stream(const struct alb_command *c)
{
	switch (c->kind) {
	case ALB_CMD_BLOCK_SET:
		return true;
	case ALB_CMD_OLD_BLOCK_ADD:
		return c->u.old_block_add.has_data && c->u.old_block_add.data.len == 0;
	case ALB_CMD_OLD_BLOCK_SET:
		return c->u.old_block_set.data.len == 0;
	default:
		return false;
	}
}

static bool streams_image(const struct alb_command *c)
{
	return (c->kind == ALB_CMD_UNIKERNEL_CREATE ||
		c->kind == ALB_CMD_UNIKERNEL_FORCE_CREATE) &&
	       c->u.create.image.len == 0;
}

void tlsd_conn_established(struct tconn *k)
{
	X509 *leaf = SSL_get0_peer_certificate(k->ssl);
	STACK_OF(X509) *rest = SSL_get_peer_cert_chain(k->ssl);
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct alb_error err;
	int rc = ALB_ENOMEM;
	if (chain != NULL && leaf != NULL && sk_X509_push(chain, leaf) > 0) {
		rc = 0;
		/* The server's view of the chain leaves the leaf out; be sure. */
		for (int i = 0; rest != NULL && i < sk_X509_num(rest) && rc == 0; i++) {
			X509 *c = sk_X509_value(rest, i);
			if (i == 0 && X509_cmp(c, leaf) == 0)
				continue;
			if (sk_X509_push(chain, c) <= 0)
				rc = ALB_ENOMEM;
		}
	}
	if (rc == 0)
		rc = alb_cert_map(chain, &k->auth, &err);
	else
		alb_set_error(&err, rc, "out of memory");
	sk_X509_free(chain);
	if (rc != 0) {
		/* Albatross closes without a reply; albatross-client then
		 * reports success (§12.2 item 10). The reason is more useful. */
		alb_log_error("failed to handle TLS connection %s", err.msg);
		k->d->st.chains_refused++;
		tlsd_finish_failure(k, err.msg);
		return;
	}
	const struct alb_command *cmd = &k->auth->ext->command;
	k->version = k->auth->ext->version;
	k->endpoint = alb_command_endpoint(cmd->kind);
	k->mode = alb_command_reply_mode(cmd->kind);
	alb_log_info("%s for %s", alb_cmd_kind_name(cmd->kind), k->auth->name);
	k->image_stream = streams_image(cmd) && k->d->stream_images;
	if (streams_image(cmd) && !k->image_stream) {
		k->state = T_IMAGE;
		tlsd_idle_update(k);
		return;
	}
	k->block_stream = takes_stream(cmd) || k->image_stream;
	if (k->block_stream) {
		/* The chunks stay in TLS until the command has gone out. */
		k->cl_paused = true;
		tlsd_client_read_stop(k);
	}
	connect_daemon(k);
}

static void chunk(struct tconn *k)
{
	if (k->state == T_IMAGE) {
		struct alb_bytes c;
		alb_frame_reader_frame(k->crd, &c);
		tlsd_spool_append(k, c.ptr, c.len);
		return;
	}
	struct alb_buf c;
	memset(&c, 0, sizeof(c));
	uint8_t hdr[ALB_FRAME_HEADER_LEN];
	alb_frame_reader_take(k->crd, &c);
	if (k->image_stream && c.len > k->d->image_max - k->streamed) {
		/* as the spool's limit: the create never completes at vmmd,
		 * whose connection closes mid-stream */
		char text[128];
		snprintf(text, sizeof(text), "image larger than %zu bytes",
			 k->d->image_max);
		alb_log_warn("refusing a streamed image: %s", text);
		alb_buf_free(&c);
		tlsd_finish_failure(k, text);
		return;
	}
	k->streamed += c.len;
	alb_frame_header(hdr, c.len, NULL);
	if (dm_send(k, hdr, &c, "writing block data") != 0)
		return;
	if (k->dm != NULL && dc_conn_pending(k->dm) > ALB_TLSD_PENDING_MAX) {
		/* vmmd does not keep up: leave the rest in TLS for now. */
		k->cl_paused = true;
		tlsd_client_read_stop(k);
	}
}

static void stream_end(struct tconn *k)
{
	if (k->state == T_IMAGE) {
		tlsd_spool_done(k);
		k->block_stream = false;
		connect_daemon(k);
		return;
	}
	struct alb_buf none;
	memset(&none, 0, sizeof(none));
	uint8_t hdr[ALB_FRAME_HEADER_LEN];
	alb_frame_header(hdr, 0, NULL);
	if (dm_send(k, hdr, &none, "writing block data") == 0)
		k->state = T_REPLY;
}

/* What the frame reader said of the bytes it was given. */
static void frame_progress(struct tconn *k, int rc, const struct alb_error *err)
{
	if (rc == 0) {
		chunk(k);
	} else if (rc == ALB_EEOF) {
		stream_end(k);
	} else if (rc != ALB_EAGAIN) {
		alb_log_warn("reading a chunk from the client: %s", err->msg);
		tlsd_finish_failure(k, "reading tls chunk");
	}
}

static bool streaming_in(const struct tconn *k)
{
	return k->state == T_IMAGE || k->state == T_BLOCK;
}

bool tlsd_conn_app_space(struct tconn *k, uint8_t **p, size_t *len)
{
	struct alb_error err;
	if (!streaming_in(k))
		return false;
	int rc = alb_frame_reader_space(k->crd, p, len, &err);
	if (rc != 0)
		frame_progress(k, rc, &err);
	return rc == 0;
}

void tlsd_conn_app_advance(struct tconn *k, size_t n)
{
	struct alb_error err;
	frame_progress(k, alb_frame_reader_advance(k->crd, n, &err), &err);
}

void tlsd_conn_app_data(struct tconn *k, const uint8_t *p, size_t n)
{
	/* Outside a stream the client has nothing to say (Albatross does not
	 * read it): what it sends is dropped. */
	while (n > 0 && streaming_in(k)) {
		size_t used = 0;
		struct alb_error err;
		int rc = alb_frame_reader_feed(k->crd, p, n, &used, &err);
		p += used;
		n -= used;
		frame_progress(k, rc, &err);
	}
}

void tlsd_conn_idle_timeout(struct tconn *k, const char *text)
{
	tlsd_finish_failure(k, text);
}

void tlsd_conn_client_gone(struct tconn *k, bool error)
{
	switch (k->state) {
	case T_IMAGE:
		/* As Albatross: a TLS failure during the image ends it all. */
		tlsd_conn_close(k);
		break;
	case T_BLOCK:
		tlsd_finish_failure(k, "reading tls chunk");
		break;
	case T_CONNECT:
	case T_SNAPSHOT:
	case T_POLICY:
	case T_ROLLBACK:
	case T_SPOOL:
	case T_REPLY:
		/* A client that only stopped writing still gets its single
		 * reply; a stream ends when its reader goes. */
		if (error || k->mode != ALB_REPLY_MODE_SINGLE)
			tlsd_conn_close(k);
		else
			tlsd_client_read_stop(k);
		break;
	default:
		tlsd_conn_close(k);
		break;
	}
}
