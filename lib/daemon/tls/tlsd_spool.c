/* libalbatross — a streamed image on its way through the TLS endpoint
 * (spec §2.4: a create with an empty image, then the image in chunks).
 * The chunks go to an unnamed file (O_TMPFILE, 0600) in $TMPDIR or
 * ALB_TLSD_SPOOL_DIR instead of memory; once the command may go, its frame
 * is encoded around the image (proto/wire_codec.h) and sent to vmmd as
 * head, the file in ALB_TLSD_SPOOL_READ pieces while vmmd keeps up
 * (ALB_TLSD_PENDING_MAX), tail. The bytes vmmd reads are those of
 * alb_msg_encode() with the image in place; memory stays the same whatever
 * the image's size.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "albatross/log.h"
#include "base/internal.h"
#include "proto/wire_codec.h"
#include "tlsd_internal.h"

/* Bytes of the spooled image read and queued for vmmd at once. */
#define ALB_TLSD_SPOOL_READ (256u * 1024u)

static int spool_fail(struct tconn *k, const char *what)
{
	char text[160];
	snprintf(text, sizeof(text), "cannot keep the streamed image: %s: %s",
		 what, strerror(errno));
	alb_log_error("%s", text);
	tlsd_finish_failure(k, text);
	return -1;
}

static int spool_open(struct tconn *k)
{
	const char *dir = secure_getenv("TMPDIR");
	if (dir == NULL || dir[0] != '/')
		dir = ALB_TLSD_SPOOL_DIR;
	k->spool_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (k->spool_fd < 0)
		return spool_fail(k, dir);
	return 0;
}

int tlsd_spool_append(struct tconn *k, const uint8_t *p, size_t n)
{
	if (n > k->d->image_max - k->spool_len) {
		char text[128];
		snprintf(text, sizeof(text), "image larger than %zu bytes",
			 k->d->image_max);
		alb_log_warn("refusing a streamed image: %s", text);
		tlsd_finish_failure(k, text);
		return -1;
	}
	if (n == 0)
		return 0;
	if (k->spool_fd < 0 && spool_open(k) != 0)
		return -1;
	while (n > 0) {
		ssize_t w = pwrite(k->spool_fd, p, n, (off_t)k->spool_len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return spool_fail(k, "write");
		}
		p += w;
		n -= (size_t)w;
		k->spool_len += (uint64_t)w;
	}
	return 0;
}

void tlsd_spool_done(struct tconn *k)
{
	struct alb_bytes *img = &k->auth->ext->command.u.create.image;
	img->ptr = k->spool_fd >= 0 ? &k->hole : NULL;
	img->len = (size_t)k->spool_len;
}

int tlsd_spool_send(struct tconn *k, const char *failure)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.sequence = k->d->sequence++;
	m.header.name = k->auth->name;
	m.kind = ALB_PAYLOAD_COMMAND;
	m.u.command = k->auth->ext->command;
	struct alb_buf out;
	memset(&out, 0, sizeof(out));
	size_t cut;
	struct alb_error err;
	if (alb_msg_encode_around(&m, &k->hole, &out, &cut, &err) != 0) {
		alb_log_error("cannot encode a command for %s: %s",
			      k->auth->name, err.msg);
		tlsd_finish_failure(k, failure);
		return -1;
	}
	size_t tail = out.len - cut;
	k->spool_tail.data = k->spool_tail.base_ = malloc(tail > 0 ? tail : 1);
	if (k->spool_tail.data == NULL || k->dm == NULL ||
	    dc_conn_send(k->dm, out.data, cut) != 0) {
		alb_buf_free(&out);
		tlsd_finish_failure(k, failure);
		return -1;
	}
	memcpy(k->spool_tail.data, out.data + cut, tail);
	k->spool_tail.len = k->spool_tail.cap_ = tail;
	alb_buf_free(&out);
	k->spool_sent = 0;
	k->state = T_SPOOL;
	tlsd_spool_pump(k);
	return 0;
}

void tlsd_spool_pump(struct tconn *k)
{
	while (k->state == T_SPOOL && k->dm != NULL &&
	       dc_conn_pending(k->dm) <= ALB_TLSD_PENDING_MAX) {
		if (k->spool_sent == k->spool_len) {
			int rc = dc_conn_send_buf(k->dm, &k->spool_tail);
			memset(&k->spool_tail, 0, sizeof(k->spool_tail));
			tlsd_spool_free(k);
			if (rc != 0) {
				tlsd_finish_failure(k, "couldn't write unikernel to VMMD");
				return;
			}
			k->state = T_REPLY;
			return;
		}
		uint64_t left = k->spool_len - k->spool_sent;
		size_t n = left < ALB_TLSD_SPOOL_READ ? (size_t)left
						      : ALB_TLSD_SPOOL_READ;
		struct alb_buf b = {.data = malloc(n), .len = n, .cap_ = n};
		b.base_ = b.data;
		ssize_t r = -1;
		if (b.data != NULL) {
			do
				r = pread(k->spool_fd, b.data, n,
					  (off_t)k->spool_sent);
			while (r < 0 && errno == EINTR);
		}
		if (r != (ssize_t)n) {
			if (r >= 0)
				errno = EIO;
			alb_buf_free(&b);
			spool_fail(k, "read");
			return;
		}
		if (dc_conn_send_buf(k->dm, &b) != 0) {
			tlsd_finish_failure(k, "couldn't write unikernel to VMMD");
			return;
		}
		k->spool_sent += n;
	}
}

void tlsd_spool_free(struct tconn *k)
{
	if (k->spool_fd >= 0)
		close(k->spool_fd);
	k->spool_fd = -1;
	alb_buf_free(&k->spool_tail);
}
