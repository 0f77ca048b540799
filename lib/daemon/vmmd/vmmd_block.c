/* libalbatross — vmmd: block devices (spec §4.6, §6.13): files of whole
 * MiB in <dbdir>/block, registered at startup, added, removed, filled from
 * a stream (Block_set) and dumped as a stream (Block_dump), plus the
 * legacy forms with inline data. A device being filled or dumped is marked
 * active meanwhile, so no unikernel can attach to it half-written and no
 * second transfer runs on it. New contents replace a device only once
 * they are complete and valid (vmmd_blockfile.c): a failed Block_set,
 * Block_add or Old_block_set leaves the device as it was.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmmd_internal.h"

#define MIB ((uint64_t)1 << 20)
/** Bytes read from a device per step of a dump. */
#define DUMP_READ (16 * VMMD_DUMP_CHUNK)

static int bytes_of_mb(int64_t mb, uint64_t *out, struct alb_error *err)
{
	if (mb <= 0 || (uint64_t)mb > (UINT64_MAX >> 20) / 2)
		return alb_fail(err, ALB_EINVAL, "overflow while computing bytes");
	*out = (uint64_t)mb << 20;
	return 0;
}

void blocks_discover(struct alb_vmmd *v)
{
	DIR *d = opendir(v->block_dir);
	if (d == NULL) {
		alb_log_warn("vmmd: couldn't find block devices in %s: %s",
			     v->block_dir, strerror(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_name[0] == '#') {
			/* new contents that a crash interrupted: the device
			 * (if any) kept its old ones */
			if (unlinkat(dirfd(d), e->d_name, 0) == 0)
				alb_log_info("vmmd: removed the unfinished block "
					     "write %s/%s", v->block_dir, e->d_name);
			continue;
		}
		struct stat st;
		char name[ALB_NAME_BUF];
		struct alb_error err = {0};
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_size <= 0 ||
		    (uint64_t)st.st_size % MIB != 0) {
			alb_log_warn("vmmd: %s/%s is not a block device of whole "
				     "MiB; ignored", v->block_dir, e->d_name);
			continue;
		}
		if (alb_name_parse(e->d_name, strlen(e->d_name), name, &err) != 0 ||
		    strcmp(name, e->d_name) != 0 || alb_name_is_path(name)) {
			alb_log_warn("vmmd: %s/%s is not named like a block "
				     "device; ignored", v->block_dir, e->d_name);
			continue;
		}
		v->blocks_gen++;
		if (alb_resources_block_add(v->res, name,
					    (int64_t)((uint64_t)st.st_size / MIB),
					    &err) != 0)
			alb_log_error("vmmd: couldn't insert block device %s: %s",
				      name, err.msg);
	}
	closedir(d);
}

/* ---- Block_set: a stream into the device ---------------------------------- */

struct xfer {
	struct conn *c;
	struct hdr h;
	int fd;                  /* dump: the device */
	struct blockfile bf;     /* set: the new contents (vmmd_blockfile.c) */
	bool set, committing;
	uint64_t size;
	struct alb_stream_reader *rd;
	struct alb_stream_writer *wr;
	uint8_t *buf;
	bool failed;
	char msg[ALB_ERROR_MSG_MAX];
	uv_work_t work;
	int rc;
	struct alb_error err;
};

static void xfer_end(struct xfer *x, const char *failure, const char *ok)
{
	struct alb_vmmd *v = x->c->v;
	if (x->fd >= 0)
		close(x->fd);
	if (x->set)
		blockfile_abort(&x->bf); /* nothing left after a commit */
	alb_resources_block_set_active(v->res, x->h.name, false, NULL);
	if (failure != NULL) {
		if (x->set)
			alb_log_warn("vmmd: block device %s kept as it was: %s",
				     x->h.name, failure);
		conn_reply_failure(x->c, &x->h, failure);
	} else if (ok != NULL) {
		conn_reply_string(x->c, &x->h, ok);
	}
	conn_done(x->c);
	alb_stream_reader_free(x->rd);
	alb_stream_writer_free(x->wr);
	free(x->buf);
	free(x);
}

static int to_file(void *ctx, const uint8_t *data, size_t len,
		   struct alb_error *err)
{
	struct xfer *x = ctx;
	return blockfile_write(&x->bf, data, len, err);
}

/* The fsync of a whole device must not hold the loop. */
static void commit_work(uv_work_t *w)
{
	struct xfer *x = w->data;
	x->rc = blockfile_commit(&x->bf, x->size, true, &x->err);
}

static void commit_after(uv_work_t *w, int status)
{
	(void)status;
	struct xfer *x = w->data;
	vmmd_job_end(x->c->v);
	if (x->rc != 0) {
		xfer_end(x, x->err.msg, NULL);
		return;
	}
	alb_log_info("vmmd: block device %s set", x->h.name);
	xfer_end(x, NULL, "set block device");
}

static void set_chunk(struct conn *c, const uint8_t *data, size_t len, int rc,
		      const struct alb_error *cerr)
{
	struct xfer *x = c->ctx;
	struct alb_error err = {0};
	if (x->committing)
		return; /* the stream is complete; the reply follows the commit */
	if (rc != 0) {
		xfer_end(x, cerr->msg, NULL);
		return;
	}
	if (data == NULL) {
		if (alb_stream_reader_finish(x->rd, &err) != 0) {
			xfer_end(x, err.msg, NULL);
			return;
		}
		/* the whole stream was valid and fits: it replaces the device */
		x->committing = true;
		x->work.data = x;
		vmmd_job_begin(c->v);
		uv_queue_work(c->v->loop, &x->work, commit_work, commit_after);
		return;
	}
	rc = alb_stream_reader_write(x->rd, data, len, &err);
	if (rc == ALB_ETOOBIG)
		xfer_end(x, "stream exceeds size", NULL);
	else if (rc != 0)
		xfer_end(x, err.msg, NULL);
}

/* Finds name's device for cmd ("set", "dump", "remove"): its size in MB, or
 * a failure with Albatross's text. */
static int find_idle(struct alb_vmmd *v, const char *name, const char *cmd,
		     int64_t *size, char *msg)
{
	bool active = false;
	if (alb_resources_block_find(v->res, name, size, &active) != 0) {
		snprintf(msg, ALB_ERROR_MSG_MAX, "%s block: not found", cmd);
		return ALB_ENOENT;
	}
	if (active) {
		snprintf(msg, ALB_ERROR_MSG_MAX, "%s block: is in use", cmd);
		return ALB_EBUSY;
	}
	return 0;
}

static void block_set(struct conn *c, const struct hdr *h, bool compressed)
{
	struct alb_vmmd *v = c->v;
	char msg[ALB_ERROR_MSG_MAX];
	int64_t size;
	uint64_t bytes = 0;
	struct alb_error err = {0};
	if (find_idle(v, h->name, "set", &size, msg) != 0 ||
	    bytes_of_mb(size, &bytes, &err) != 0) {
		conn_reply_failure(c, h, err.msg[0] ? err.msg : msg);
		conn_done(c);
		return;
	}
	struct xfer *x = calloc(1, sizeof(*x));
	bool begun = false;
	if (x == NULL ||
	    !(begun = blockfile_begin(&x->bf, v->block_fd, h->name, &err) == 0) ||
	    alb_stream_reader_new(compressed, bytes, to_file, x, &x->rd, &err) != 0) {
		if (x != NULL) {
			if (begun)
				blockfile_abort(&x->bf);
			alb_stream_reader_free(x->rd);
		}
		free(x);
		conn_reply_failure(c, h, "error opening block device");
		conn_done(c);
		return;
	}
	x->c = c;
	x->h = *h;
	x->fd = -1;
	x->set = true;
	x->size = bytes;
	alb_resources_block_set_active(v->res, h->name, true, NULL);
	c->ctx = x;
	conn_stream_in(c, set_chunk);
}

/* ---- Block_dump: the device as a stream ------------------------------------ */

static void dump_pump(struct xfer *x);

static int send_chunk(void *ctx, const uint8_t *data, size_t len,
		      struct alb_error *err)
{
	(void)err;
	struct xfer *x = ctx;
	struct alb_data d = {.kind = ALB_DATA_BLOCK};
	d.u.block.has_data = true;
	d.u.block.data = (struct alb_bytes){data, len};
	conn_send_data(x->c, &x->h, &d);
	return 0;
}

static void dump_finish(struct xfer *x)
{
	struct alb_error err = {0};
	if (!x->failed && x->wr != NULL &&
	    alb_stream_writer_finish(x->wr, &err) != 0) {
		x->failed = true;
		snprintf(x->msg, sizeof(x->msg), "%s", err.msg);
	}
	/* the end marker comes even after a failure (Albatross's order) */
	struct alb_data d = {.kind = ALB_DATA_BLOCK};
	conn_send_data(x->c, &x->h, &d);
	xfer_end(x, x->failed ? x->msg : NULL, NULL);
}

static void dump_drain(struct conn *c, bool failed)
{
	struct xfer *x = c->ctx;
	if (failed) {
		xfer_end(x, NULL, NULL);
		return;
	}
	dump_pump(x);
}

static void dump_pump(struct xfer *x)
{
	struct conn *c = x->c;
	while (conn_queued(c) < VMMD_DUMP_QUEUE_MAX) {
		if (c->broken) {
			xfer_end(x, NULL, NULL);
			return;
		}
		ssize_t n = read(x->fd, x->buf, DUMP_READ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			x->failed = true;
			snprintf(x->msg, sizeof(x->msg), "error reading block "
				 "device: %s", strerror(errno));
		}
		if (n <= 0) {
			dump_finish(x);
			return;
		}
		struct alb_error err = {0};
		int rc = 0;
		if (x->wr != NULL) {
			rc = alb_stream_writer_write(x->wr, x->buf, (size_t)n, &err);
		} else {
			for (ssize_t o = 0; o < n; o += VMMD_DUMP_CHUNK) {
				size_t l = (size_t)(n - o) < VMMD_DUMP_CHUNK
						   ? (size_t)(n - o)
						   : VMMD_DUMP_CHUNK;
				send_chunk(x, x->buf + o, l, NULL);
			}
		}
		if (rc != 0) {
			x->failed = true;
			snprintf(x->msg, sizeof(x->msg), "%s", err.msg);
			dump_finish(x);
			return;
		}
	}
	/* more when the socket has drained (dump_drain) */
}

static void block_dump(struct conn *c, const struct hdr *h, int64_t level)
{
	struct alb_vmmd *v = c->v;
	char msg[ALB_ERROR_MSG_MAX];
	int64_t size;
	if (find_idle(v, h->name, "dump", &size, msg) != 0) {
		conn_reply_failure(c, h, msg);
		conn_done(c);
		return;
	}
	if (level < 0 || level > 9) {
		snprintf(msg, sizeof(msg), "invalid compression level %lld",
			 (long long)level);
		conn_reply_failure(c, h, msg);
		conn_done(c);
		return;
	}
	struct xfer *x = calloc(1, sizeof(*x));
	/* a link in the block directory is never followed */
	int fd = openat(v->block_fd, h->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (x == NULL || fd < 0 || (x->buf = malloc(DUMP_READ)) == NULL ||
	    (level > 0 &&
	     alb_stream_writer_new((int)level, send_chunk, x, &x->wr, NULL) != 0)) {
		conn_reply_failure(c, h, fd < 0 && errno == ENOENT
					     ? "file does not exist"
					     : "error opening block device");
		if (fd >= 0)
			close(fd);
		if (x != NULL)
			free(x->buf);
		free(x);
		conn_done(c);
		return;
	}
	x->c = c;
	x->h = *h;
	x->fd = fd;
	alb_resources_block_set_active(v->res, h->name, true, NULL);
	struct alb_reply r = {.kind = ALB_REPLY_BLOCK_DEVICE_IMAGE};
	r.u.block_compressed = level != 0;
	conn_reply(c, h, &r);
	c->ctx = x;
	c->on_drain = dump_drain;
	dump_pump(x);
}

/* ---- add, remove, legacy forms ------------------------------------------------ */

/* Makes the device file of bytes with data (may be empty) at its start,
 * in place of the old one (replace) or where there is none, all or
 * nothing (vmmd_blockfile.c). */
static int create_file(struct alb_vmmd *v, const char *name, uint64_t bytes,
		       const uint8_t *data, size_t len, bool replace,
		       struct alb_error *err)
{
	struct blockfile bf;
	int rc = blockfile_begin(&bf, v->block_fd, name, err);
	if (rc != 0)
		return rc;
	rc = blockfile_write(&bf, data, len, err);
	if (rc == 0)
		return blockfile_commit(&bf, bytes, replace, err);
	blockfile_abort(&bf);
	return rc;
}

/* The inline data of a legacy command, inflated if needed, if it fits. */
static int inline_data(const struct alb_bytes *in, bool compressed,
		       uint64_t bytes, struct alb_buf *out, struct alb_error *err)
{
	if (!compressed) {
		if (in->len > bytes)
			return alb_fail(err, ALB_ETOOBIG, "data exceeds block size");
		return 0;
	}
	size_t max = bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
	int rc = alb_zlib_inflate(in->ptr, in->len, max, out, err);
	if (rc == ALB_ETOOBIG)
		return alb_fail(err, rc, "data exceeds block size");
	return rc;
}

static int block_add(struct alb_vmmd *v, const char *name, int64_t size,
		     const struct alb_bytes *data, bool compressed,
		     struct alb_error *err)
{
	if (alb_resources_block_find(v->res, name, NULL, NULL) == 0)
		return alb_fail(err, ALB_EEXIST,
				"block device with same name already exists");
	int rc = alb_resources_block_check(v->res, name, size, err);
	uint64_t bytes = 0;
	if (rc == 0)
		rc = bytes_of_mb(size, &bytes, err);
	struct alb_buf inflated = {0};
	if (rc == 0 && data != NULL)
		rc = inline_data(data, compressed, bytes, &inflated, err);
	if (rc == 0) {
		const uint8_t *p = compressed ? inflated.data
					      : (data ? data->ptr : NULL);
		size_t len = compressed ? inflated.len : (data ? data->len : 0);
		rc = create_file(v, name, bytes, p, len, false, err);
	}
	alb_buf_free(&inflated);
	v->blocks_gen++;
	if (rc == 0 && (rc = alb_resources_block_add(v->res, name, size, err)) != 0)
		blockfile_remove(v->block_fd, name, NULL);
	return rc;
}

static int block_remove(struct alb_vmmd *v, const char *name,
			struct alb_error *err)
{
	int64_t size;
	int rc = find_idle(v, name, "remove", &size, err->msg);
	if (rc != 0)
		return err->code = rc;
	/* gone from the disk for good before the reply says so */
	rc = blockfile_remove(v->block_fd, name, err);
	if (rc != 0)
		return rc;
	v->blocks_gen++;
	return alb_resources_block_remove(v->res, name, err);
}

static int old_block_set(struct alb_vmmd *v, const char *name,
			 const struct alb_bytes *data, bool compressed,
			 struct alb_error *err)
{
	int64_t size;
	int rc = find_idle(v, name, "set", &size, err->msg);
	if (rc != 0)
		return err->code = rc;
	uint64_t bytes = 0;
	struct alb_buf inflated = {0};
	rc = bytes_of_mb(size, &bytes, err);
	if (rc == 0)
		rc = inline_data(data, compressed, bytes, &inflated, err);
	if (rc == 0)
		rc = create_file(v, name, bytes,
				 compressed ? inflated.data : data->ptr,
				 compressed ? inflated.len : data->len, true, err);
	alb_buf_free(&inflated);
	return rc;
}

static void old_block_dump(struct conn *c, const struct hdr *h, int64_t level)
{
	struct alb_vmmd *v = c->v;
	char msg[ALB_ERROR_MSG_MAX];
	int64_t size;
	uint64_t bytes = 0;
	struct alb_error err = {0};
	uint8_t *data = NULL;
	if (find_idle(v, h->name, "dump", &size, msg) != 0) {
		conn_reply_failure(c, h, msg);
	} else if (level < 0 || level > 9) {
		snprintf(msg, sizeof(msg), "invalid compression level %lld",
			 (long long)level);
		conn_reply_failure(c, h, msg);
	} else if (bytes_of_mb(size, &bytes, &err) != 0 ||
		   bytes > VMMD_OLD_DUMP_MAX) {
		conn_reply_failure(c, h, "block device too large for an inline "
				   "dump; use the streamed dump");
	} else {
		int fd = openat(v->block_fd, h->name,
				O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t n = -1;
		if (fd >= 0 && (data = malloc((size_t)bytes)) != NULL) {
			size_t got = 0;
			while (got < bytes && (n = read(fd, data + got,
							 (size_t)bytes - got)) != 0) {
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
					break;
				got += (size_t)n;
			}
			bytes = got;
		}
		if (fd >= 0)
			close(fd);
		if (fd < 0 || data == NULL || n < 0) {
			conn_reply_failure(c, h, fd < 0 ? "file does not exist"
							: "error reading block device");
		} else if (level > 0) {
			zlib_reply(c, h, data, (size_t)bytes, false, (int)level,
				   ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE);
			return;
		} else {
			struct alb_reply r = {.kind = ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE};
			r.u.image.data = (struct alb_bytes){data, (size_t)bytes};
			conn_reply(c, h, &r);
		}
	}
	free(data);
	conn_done(c);
}

static void block_info(struct conn *c, const struct hdr *h)
{
	struct alb_block_info *list = NULL;
	size_t n = 0;
	struct alb_error err = {0};
	if (alb_resources_block_list(c->v->res, h->name, &list, &n, &err) != 0) {
		conn_reply_failure(c, h, err.msg);
	} else {
		struct alb_reply r = {.kind = ALB_REPLY_BLOCK_DEVICES};
		r.u.blocks.n = n;
		r.u.blocks.v = list;
		conn_reply(c, h, &r);
	}
	alb_block_infos_free(list);
	conn_done(c);
}

void vmmd_block_cmd(struct conn *c, const struct alb_msg *m)
{
	struct alb_vmmd *v = c->v;
	const struct alb_command *cmd = &m->u.command;
	struct hdr h;
	hdr_copy(&h, &m->header);
	if (cmd->kind == ALB_CMD_BLOCK_INFO) {
		block_info(c, &h);
		return;
	}
	if (alb_name_is_path(h.name)) {
		conn_reply_failure(c, &h, "a block device name needs a label");
		conn_done(c);
		return;
	}
	struct alb_error err = {0};
	int rc = 0;
	const char *ok = NULL;
	switch (cmd->kind) {
	case ALB_CMD_BLOCK_SET:
		block_set(c, &h, cmd->u.block_compressed);
		return;
	case ALB_CMD_BLOCK_DUMP:
		block_dump(c, &h, cmd->u.level);
		return;
	case ALB_CMD_OLD_BLOCK_DUMP:
		old_block_dump(c, &h, cmd->u.level);
		return;
	case ALB_CMD_BLOCK_ADD:
		rc = block_add(v, h.name, cmd->u.block_size, NULL, false, &err);
		ok = "added block device";
		break;
	case ALB_CMD_OLD_BLOCK_ADD:
		rc = block_add(v, h.name, cmd->u.old_block_add.size,
			       cmd->u.old_block_add.has_data
				       ? &cmd->u.old_block_add.data : NULL,
			       cmd->u.old_block_add.compressed, &err);
		ok = "added block device";
		break;
	case ALB_CMD_BLOCK_REMOVE:
		rc = block_remove(v, h.name, &err);
		ok = "removed block";
		break;
	default:
		rc = old_block_set(v, h.name, &cmd->u.old_block_set.data,
				   cmd->u.old_block_set.compressed, &err);
		ok = "set block device";
		break;
	}
	if (rc != 0) {
		conn_reply_failure(c, &h, err.msg);
	} else {
		alb_log_info("vmmd: block device %s: %s", h.name, ok);
		conn_reply_string(c, &h, ok);
	}
	conn_done(c);
}
