/* libalbatross — vmmd: a create whose image streams in (spec §2.4: the
 * empty-image form that the TLS endpoint accepts, here on albd's socket,
 * where alb-tlsd --stream-images sends it). The loop takes each chunk
 * once, while it is still in the CPU's cache: it writes it to a new file
 * in <dbdir>/images, into the image's digest and into the tender's copy in
 * tmpdir (the stage, for an uncompressed image); every
 * VMMD_UPLOAD_STEP_BYTES the threadpool makes the file durable so far
 * (fdatasync, one at a time, beside the stream). When the last byte
 * arrives little is left: the last fdatasync, the file named, the
 * directory synced. Then the file is mapped and the create runs with it as any
 * other (vmmd_create.c), its journal record naming the file
 * (vmmd_imgfile.c) instead of holding the image, its tender's image the
 * stage renamed. An image past ALB_IMAGE_MAX, a client gone, a write that
 * fails: both files go, the client hears why (when it still listens),
 * nothing else changed.
 * SPDX-License-Identifier: ISC */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/write_all.h"
#include "io/state_file.h"
#include "vmmd_internal.h"

/* Work that catches up with the stream in the threadpool. */
struct step {
	uv_work_t work;
	struct upload *u;
	bool running;
	uint64_t upto;      /* what the running one catches up to */
	uint64_t done;      /* what the finished ones caught up to */
	int rc;
	struct alb_error err;
};

struct upload {
	struct alb_vmmd *v;
	struct conn *c;     /* the client's (the create's once committed) */
	struct hdr h;
	enum alb_cmd_kind kind;
	struct alb_unikernel_config *args; /* the command's, image empty */
	int fd;             /* the image file, read and written */
	char part[ALB_JOURNAL_FILE_NAME_LEN + sizeof(".part")]; /* until whole */
	int stage_fd;       /* the tender's copy, or -1 (compressed image) */
	char stage[VMMD_UPLOAD_STAGE_BUF];
	struct alb_journal_image_file id; /* id.len: bytes written */
	EVP_MD_CTX *md;
	struct step sync;   /* fdatasync */
	struct step commit; /* the last one, then the name */
	bool ended;         /* the stream is complete */
	bool failed;        /* a step failed: why */
	struct alb_error fail;
	/* the client must send something every command timeout */
	uv_timer_t idle;
	bool idle_open;
};

static bool busy(const struct upload *u)
{
	return u->sync.running || u->commit.running;
}

static void idle_closed(uv_handle_t *h)
{
	struct upload *u = h->data;
	vmmd_job_end(u->v);
	free(u);
}

static void upload_free(struct upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	int dirfd = imgstore_dirfd(u->v->durable.store);
	if (u->part[0] != '\0')
		unlinkat(dirfd, u->part, 0);
	if (u->stage_fd >= 0) {
		close(u->stage_fd);
		unlinkat(u->v->tmp_fd, u->stage, 0);
	}
	config_free(u->args);
	EVP_MD_CTX_free(u->md);
	if (u->idle_open)
		uv_close((uv_handle_t *)&u->idle, idle_closed);
	else
		free(u);
}

/* Refuses the upload: once no step runs (its files go before the client
 * hears why). */
static void upload_fail(struct upload *u, const char *why)
{
	if (busy(u)) {
		if (u->idle_open)
			uv_timer_stop(&u->idle);
		if (!u->failed) {
			u->failed = true;
			snprintf(u->fail.msg, sizeof(u->fail.msg), "%s", why);
		}
		return; /* step_after comes back here */
	}
	alb_log_warn("vmmd: %s: streamed image refused: %s", u->h.name, why);
	struct conn *c = u->c;
	struct hdr h = u->h;
	char text[ALB_ERROR_MSG_MAX];
	snprintf(text, sizeof(text), "%s", why);
	upload_free(u); /* its files are gone when the client hears it */
	conn_reply_failure(c, &h, text);
	conn_done(c);
}

/* ---- in the threadpool --------------------------------------------------------- */

/* The file's bytes so far made durable: 0 or an ALB_E* code in err. */
static int sync_file(struct upload *u, struct alb_error *err)
{
	if (fdatasync(u->fd) != 0)
		return alb_fail_sys(err, "image file: fdatasync");
	return alb_io_step(ALB_STATE_STEP_IMAGE_SYNCED, err);
}

static void sync_work(uv_work_t *w)
{
	struct step *s = w->data;
	s->rc = sync_file(s->u, &s->err);
}

/* The file whole: durable, named. */
static void commit_work(uv_work_t *w)
{
	struct step *s = w->data;
	struct upload *u = s->u;
	int dirfd = imgstore_dirfd(u->v->durable.store);
	s->rc = sync_file(u, &s->err);
	if (s->rc == 0 && renameat(dirfd, u->part, dirfd, u->id.name) != 0)
		s->rc = alb_fail_sys(&s->err, "image file: rename");
	if (s->rc != 0)
		return;
	u->part[0] = '\0'; /* it has its name */
	s->rc = alb_io_step(ALB_STATE_STEP_IMAGE_RENAMED, &s->err);
	if (s->rc == 0 && fsync(dirfd) != 0)
		s->rc = alb_fail_sys(&s->err, "image directory: fsync");
	if (s->rc == 0)
		s->rc = alb_io_step(ALB_STATE_STEP_IMAGE_DIR_SYNCED, &s->err);
	if (s->rc != 0)
		unlinkat(dirfd, u->id.name, 0);
}

/* ---- on the loop ------------------------------------------------------------- */

/* The file is named and durable: the create runs with it. */
static void committed(struct upload *u)
{
	struct alb_vmmd *v = u->v;
	struct imgfile *f = NULL;
	struct alb_error err = {0};
	if (imgfile_new(v->durable.store, &u->id, u->fd, false, &f, &err) != 0) {
		unlinkat(imgstore_dirfd(v->durable.store), u->id.name, 0);
		upload_fail(u, err.msg);
		return;
	}
	struct alb_unikernel_config *cfg = config_with_file(u->args, f);
	imgfile_release(f); /* the configuration holds it now */
	struct uk *k = cfg != NULL ? uk_get(v, u->h.name) : NULL;
	struct uop *o = k != NULL ? uop_new(u->c, &u->h) : NULL;
	if (o == NULL) {
		config_free(cfg);
		if (k != NULL)
			uk_maybe_free(k);
		upload_fail(u, "out of memory");
		return;
	}
	alb_log_debug("vmmd: %s: streamed image of %llu bytes on disk",
		      u->h.name, (unsigned long long)u->id.len);
	o->cmd = u->kind;
	create_of_command(o, cfg);
	/* the tender's image is ready but for its owner and name */
	o->stage_fd = u->stage_fd;
	snprintf(o->stage, sizeof(o->stage), "%s", u->stage);
	u->stage_fd = -1;
	u->c = NULL;
	upload_free(u);
	uk_op_submit(k, &o->op);
}

static void step_after(uv_work_t *w, int status);

static void step_start(struct upload *u, struct step *s, uv_work_cb fn)
{
	s->running = true;
	s->upto = u->id.len;
	s->work.data = s;
	vmmd_job_begin(u->v);
	fg_write_begin(u->v);
	uv_queue_work(u->v->loop, &s->work, fn, step_after);
}

/* Starts what may start: a sync once VMMD_UPLOAD_STEP_BYTES wait for it,
 * the commit once the stream ended and no sync runs. */
static void steps_go(struct upload *u)
{
	if (u->ended) {
		if (!busy(u))
			step_start(u, &u->commit, commit_work);
		return;
	}
	if (!u->sync.running && u->id.len - u->sync.done >= VMMD_UPLOAD_STEP_BYTES)
		step_start(u, &u->sync, sync_work);
}

static void step_after(uv_work_t *w, int status)
{
	(void)status;
	struct step *s = w->data;
	struct upload *u = s->u;
	s->running = false;
	s->done = s->upto;
	vmmd_job_end(u->v);
	fg_write_end(u->v);
	if (s->rc != 0 && !u->failed) {
		u->failed = true;
		u->fail = s->err;
	}
	if (u->failed) {
		/* the client hears it once nothing runs any more */
		if (!busy(u))
			upload_fail(u, u->fail.msg);
		return;
	}
	if (s == &u->commit) {
		committed(u);
		return;
	}
	steps_go(u);
}

/* Nothing came for a command timeout: a client that sent an empty image
 * and no stream (as albatross-client with an empty file) hears why
 * instead of waiting for ever, and a stalled one lets go of its files. */
static void idle_fire(uv_timer_t *t)
{
	struct upload *u = t->data;
	char why[96];
	snprintf(why, sizeof(why), "streamed image: nothing arrived for %u ms",
		 u->v->command_timeout_ms);
	upload_fail(u, why);
}

static void on_chunk(struct conn *c, const uint8_t *data, size_t len, int rc,
		     const struct alb_error *cerr)
{
	struct upload *u = c->ctx;
	if (u->ended || u->failed)
		return; /* the reply follows the steps that run */
	uv_timer_again(&u->idle);
	if (rc != 0) {
		upload_fail(u, cerr->msg);
		return;
	}
	if (data == NULL) {
		unsigned n = 0;
		if (u->id.len == 0) {
			upload_fail(u, "empty image");
			return;
		}
		if (EVP_DigestFinal_ex(u->md, u->id.sha256, &n) != 1) {
			upload_fail(u, "image digest failed");
			return;
		}
		/* the command runs: a client gone now is told nothing more */
		uv_timer_stop(&u->idle);
		u->ended = true;
		c->mode = CONN_BUSY;
		c->on_chunk = NULL;
		steps_go(u);
		return;
	}
	if (len > ALB_IMAGE_MAX - u->id.len) {
		upload_fail(u, "stream exceeds size");
		return;
	}
	const char *why = NULL;
	if (alb_write_all(u->fd, data, len) != 0)
		why = "image file: write";
	else if (u->stage_fd >= 0 && alb_write_all(u->stage_fd, data, len) != 0)
		why = "image copy in tmpdir: write";
	if (why != NULL) {
		struct alb_error err = {0};
		alb_fail_sys(&err, "%s", why);
		upload_fail(u, err.msg);
		return;
	}
	if (EVP_DigestUpdate(u->md, data, len) != 1) {
		upload_fail(u, "image digest failed");
		return;
	}
	u->id.len += len;
	steps_go(u);
}

/* A fresh name: 128 random bits in hex. */
static int fresh_name(char out[ALB_JOURNAL_FILE_NAME_LEN + 1])
{
	uint8_t r[ALB_JOURNAL_FILE_NAME_LEN / 2];
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static int open_new(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
					   O_CLOEXEC, 0600);
}

void vmmd_upload_create(struct conn *c, const struct hdr *h,
			const struct alb_command *cmd)
{
	struct alb_vmmd *v = c->v;
	struct upload *u = calloc(1, sizeof(*u));
	if (u == NULL) {
		conn_reply_failure(c, h, "out of memory");
		conn_done(c);
		return;
	}
	u->v = v;
	u->c = c;
	u->sync.u = u->commit.u = u;
	u->h = *h;
	u->kind = cmd->kind;
	u->fd = u->stage_fd = -1;
	u->args = config_copy(&cmd->u.create, NULL);
	u->md = EVP_MD_CTX_new();
	if (u->args == NULL || u->md == NULL ||
	    EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1) {
		upload_fail(u, "out of memory");
		return;
	}
	if (fresh_name(u->id.name) != 0) {
		upload_fail(u, "no random name for the image file");
		return;
	}
	struct alb_error err = {0};
	snprintf(u->part, sizeof(u->part), "%s.part", u->id.name);
	u->fd = open_new(imgstore_dirfd(v->durable.store), u->part);
	if (u->fd < 0) {
		u->part[0] = '\0';
		alb_fail_sys(&err, "image file: open");
		upload_fail(u, err.msg);
		return;
	}
	if (!u->args->compressed) {
		snprintf(u->stage, sizeof(u->stage), VMMD_UPLOAD_STAGE_PREFIX "%s",
			 u->id.name);
		u->stage_fd = open_new(v->tmp_fd, u->stage);
		if (u->stage_fd < 0) {
			alb_fail_sys(&err, "image copy in tmpdir: open");
			upload_fail(u, err.msg);
			return;
		}
	}
	uv_timer_init(v->loop, &u->idle);
	u->idle.data = u;
	u->idle_open = true;
	vmmd_job_begin(v);
	uv_timer_start(&u->idle, idle_fire, v->command_timeout_ms,
		       v->command_timeout_ms);
	c->ctx = u;
	conn_stream_in(c, on_chunk);
}

static bool staged(const char *name, void *ctx)
{
	(void)ctx;
	return strncmp(name, VMMD_UPLOAD_STAGE_PREFIX,
		       strlen(VMMD_UPLOAD_STAGE_PREFIX)) == 0;
}

void uploads_sweep(struct alb_vmmd *v)
{
	dir_remove_if(v->tmp_fd, staged, NULL);
}
