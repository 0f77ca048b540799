/* libalbatross — the reply to a Unikernel_get on its way through the TLS
 * endpoint. The image is the last element of the reply at every level
 * (proto/image_reply.h), so only the head of vmmd's frame is read and
 * decoded: the head goes to the client with the header the client expects
 * (its version, sequence 0, the chain's name), the image follows as vmmd
 * sends it, while the client keeps up (ALB_TLSD_PENDING_MAX). Memory
 * stays the same whatever the image's size. Any other reply (a failure)
 * is read whole and answered as every reply is.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "albatross/log.h"
#include "io/frame_length.h"
#include "proto/image_reply.h"
#include "proto/wire_codec.h"
#include "tlsd_internal.h"

struct tlsd_relay {
	uint8_t head[ALB_FRAME_HEADER_LEN + ALB_IMAGE_REPLY_HEAD_MAX];
	size_t got;   /* bytes of head received */
	size_t need;  /* bytes of head to read: the frame header, then up
			 to ALB_IMAGE_REPLY_HEAD_MAX of the payload */
	size_t total; /* the frame's payload bytes */
	bool passing; /* the head went out: the image's bytes pass on */
	size_t left;  /* image bytes still to pass on */
	struct alb_frame_reader *rd; /* another reply, read whole */
};

int tlsd_relay_start(struct tconn *k)
{
	k->relay = calloc(1, sizeof(*k->relay));
	if (k->relay == NULL) {
		tlsd_finish_failure(k, "out of memory");
		return -1;
	}
	k->relay->need = ALB_FRAME_HEADER_LEN;
	dc_conn_set_raw(k->dm);
	return 0;
}

bool tlsd_relay_passing(const struct tconn *k)
{
	return k->relay != NULL && k->relay->passing;
}

void tlsd_relay_free(struct tconn *k)
{
	if (k->relay == NULL)
		return;
	alb_frame_reader_free(k->relay->rd);
	free(k->relay);
	k->relay = NULL;
}

/* Image bytes to the client: the reply is done when none is left. */
static void pass_image(struct tconn *k, const uint8_t *p, size_t n)
{
	struct tlsd_relay *r = k->relay;
	if (n > r->left)
		n = r->left;
	if (n > 0 && tlsd_tls_send(k, p, n) != 0) {
		/* half a frame went out: only closing is left */
		tlsd_conn_close(k);
		return;
	}
	r->left -= n;
	if (r->left == 0)
		tlsd_reply_sent(k);
	else
		tlsd_dm_throttle(k);
}

/* The head is complete and is an image reply: the head goes to the client
 * with its header rewritten, then the image bytes already read. */
static int pass_head(struct tconn *k, struct alb_msg *m,
		     const struct alb_image_reply_layout *lo)
{
	struct tlsd_relay *r = k->relay;
	m->header.version = k->version;
	m->header.sequence = 0;
	m->header.name = k->auth->name;
	m->u.success.u.image.data.ptr = &k->hole;
	m->u.success.u.image.data.len = lo->image_len;
	struct alb_buf out = {0};
	size_t cut;
	struct alb_error err;
	int rc = alb_msg_encode_around(m, &k->hole, &out, &cut, &err);
	if (rc != 0 || cut != out.len) {
		/* the image ends the message: nothing may follow it */
		alb_log_error("cannot encode the reply: %s",
			      rc != 0 ? err.msg : "bytes after the image");
		alb_buf_free(&out);
		return -1;
	}
	rc = tlsd_tls_send(k, out.data, out.len);
	alb_buf_free(&out);
	if (rc != 0) {
		tlsd_conn_close(k);
		return 0;
	}
	r->passing = true;
	r->left = lo->image_len;
	size_t have = r->got - ALB_FRAME_HEADER_LEN - lo->image_off;
	pass_image(k, r->head + r->got - have, have);
	return 0;
}

/* A reply read whole is complete when rc is 0: it is answered as every
 * reply is. */
static int whole_fed(struct tconn *k, int rc)
{
	struct alb_buf frame = {0};
	if (rc == ALB_EAGAIN)
		return 0;
	if (rc != 0 || alb_frame_reader_take(k->relay->rd, &frame) != 0)
		return -1;
	tlsd_daemon_frame(k, &frame);
	return 0;
}

/* The head is complete: pass an image reply on, read anything else whole. */
static int head_done(struct tconn *k)
{
	struct tlsd_relay *r = k->relay;
	struct alb_image_reply_layout lo;
	struct alb_msg *m = NULL;
	struct alb_error err;
	int rc = alb_image_reply_layout(r->head + ALB_FRAME_HEADER_LEN,
					r->got - ALB_FRAME_HEADER_LEN, r->total,
					&lo, &m, &err);
	if (rc == 0) {
		rc = pass_head(k, m, &lo);
		alb_msg_free(m);
		return rc;
	}
	if (rc != ALB_ENOENT) {
		alb_log_warn("undecodable message from the daemon: %s", err.msg);
		return -1;
	}
	rc = alb_frame_reader_new(k->d->frame_max, &r->rd, &err);
	if (rc == 0)
		rc = alb_frame_reader_feed(r->rd, r->head, r->got, NULL, &err);
	if (rc != 0 && rc != ALB_EAGAIN)
		alb_log_warn("reading from the daemon: %s", err.msg);
	return whole_fed(k, rc);
}

/* Bytes of the head: the frame header, then the payload's first bytes. */
static int take_head(struct tconn *k, const uint8_t **p, size_t *n)
{
	struct tlsd_relay *r = k->relay;
	size_t take = r->need - r->got < *n ? r->need - r->got : *n;
	memcpy(r->head + r->got, *p, take);
	r->got += take;
	*p += take;
	*n -= take;
	if (r->got < r->need)
		return 0;
	if (r->need > ALB_FRAME_HEADER_LEN)
		return head_done(k);
	r->total = alb_frame_length(r->head);
	if (r->total == 0) {
		alb_log_warn("the daemon ended its reply before sending it");
		return -1;
	}
	r->need += r->total < ALB_IMAGE_REPLY_HEAD_MAX ? r->total
						       : ALB_IMAGE_REPLY_HEAD_MAX;
	return 0;
}

void tlsd_relay_bytes(struct tconn *k, const uint8_t *p, size_t n)
{
	struct tlsd_relay *r = k->relay;
	while (k->state == T_REPLY && n > 0) {
		if (r->passing) {
			pass_image(k, p, n);
			return;
		}
		int rc;
		if (r->rd != NULL) {
			size_t used = 0;
			struct alb_error err;
			rc = alb_frame_reader_feed(r->rd, p, n, &used, &err);
			p += used;
			n -= used;
			rc = whole_fed(k, rc);
		} else {
			rc = take_head(k, &p, &n);
		}
		if (rc != 0) {
			tlsd_finish_failure(k, "error reading from fd");
			return;
		}
	}
}
