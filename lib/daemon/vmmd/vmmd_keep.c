/* libalbatross — vmmd: our own reader of each console FIFO.
 *
 * A tender writes its console to <tmpdir>/fifo/<name>, which the console
 * daemon reads. If the console daemon dies, a FIFO without a reader fails
 * every write: with SIGPIPE at its default the tender is killed, and
 * solo5-hvt, which asserts that its console write succeeded, aborts even
 * with SIGPIPE ignored. So albd holds a reader of every FIFO it gave a
 * tender (opened before the spawn, or at adoption): with it the FIFO
 * always has a reader and no write fails. While the console daemon takes
 * the output, our reader only sits there; when it is away (its connection
 * lost, or it has not taken this FIFO since it came back), our reader
 * drains the FIFO into <tmpdir>/<name>.log, so that no tender blocks on a
 * full FIFO and no output is lost; vmmd_peers.c sends Console_add again
 * once the console daemon is back, and draining stops when it answers.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmmd_internal.h"

/* Bytes read from a FIFO per read (a FIFO holds 64 KiB by default). */
#define KEEP_READ 65536
/* Reads per wake-up, so that one busy tender does not hold the loop. */
#define KEEP_READS_PER_WAKE 4

struct keeper {
	uv_poll_t poll;
	struct alb_vmmd *v;
	struct uk *u;
	int fd;
	int log_fd;     /* <tmpdir>/<name>.log, opened when first needed */
	bool draining;
	bool eof;       /* no writer any more: nothing to drain */
};

int keeper_open(const struct alb_vmmd *v, const char *name)
{
	int fd = openat(v->fifo_fd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
						 O_CLOEXEC);
	if (fd < 0)
		alb_log_warn("vmmd: %s: cannot open its console FIFO for reading "
			     "(the tender depends on the console daemon alone): "
			     "%s", name, strerror(errno));
	return fd;
}

static void keeper_closed(uv_handle_t *h)
{
	struct keeper *k = h->data;
	struct alb_vmmd *v = k->v;
	close(k->fd);
	if (k->log_fd >= 0)
		close(k->log_fd);
	free(k);
	vmmd_job_end(v);
}

int console_log_open(const struct alb_vmmd *v, const char *name,
		     struct alb_error *err)
{
	char file[ALB_NAME_BUF + 8];
	snprintf(file, sizeof(file), "%s.log", name);
	/* appended to (a restart goes on in the same log), so not made anew:
	 * neither a link nor a second name of another file */
	int fd = openat(v->tmp_fd, file, O_WRONLY | O_APPEND | O_CREAT |
						 O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return alb_fail_sys(err, "file %s/%s error in open", v->tmpdir,
				    file);
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		close(fd);
		return alb_fail(err, ALB_EEXIST, "file %s/%s exists and is not a "
				"log file of ours", v->tmpdir, file);
	}
	return fd;
}

/* Appends what was drained to the log file (a short write or a failure
 * loses that output, logged once per keeper). */
static void keep_write(struct keeper *k, const uint8_t *p, size_t n)
{
	if (k->log_fd == -1) {
		struct alb_error err = {0};
		k->log_fd = console_log_open(k->v, k->u->name, &err);
		if (k->log_fd < 0) {
			alb_log_warn("vmmd: %s: console output is dropped while "
				     "the console daemon is away: %s",
				     k->u->name, err.msg);
			k->log_fd = -2;
		}
	}
	while (k->log_fd >= 0 && n > 0) {
		ssize_t w = write(k->log_fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		n -= (size_t)w;
	}
}

static void on_readable(uv_poll_t *p, int status, int events)
{
	(void)events;
	struct keeper *k = p->data;
	struct alb_vmmd *v = k->v;
	/* one buffer per core, made when a FIFO is first drained */
	if (v->keep_buf == NULL && (v->keep_buf = malloc(KEEP_READ)) == NULL) {
		alb_log_error("vmmd: %s: out of memory, its FIFO is not drained",
			      k->u->name);
		uv_poll_stop(&k->poll);
		return;
	}
	for (int i = 0; i < KEEP_READS_PER_WAKE && status == 0; i++) {
		ssize_t n = read(k->fd, v->keep_buf, KEEP_READ);
		if (n > 0) {
			keep_write(k, v->keep_buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* end of file: the tender closed its side (it is exiting) */
		k->eof = true;
		break;
	}
	if (status < 0 || k->eof)
		uv_poll_stop(&k->poll);
}

void keeper_drain(struct uk *u, bool on)
{
	struct keeper *k = u->keep;
	if (k == NULL || k->draining == on)
		return;
	struct alb_vmmd *v = u->v;
	k->draining = on;
	if (on) {
		alb_log_debug("vmmd: %s: the console daemon does not read its "
			      "console: the output goes to %s/%s.log meanwhile",
			      u->name, v->tmpdir, u->name);
		if (!k->eof)
			uv_poll_start(&k->poll, UV_READABLE, on_readable);
	} else {
		uv_poll_stop(&k->poll);
		if (k->log_fd >= 0)
			close(k->log_fd);
		k->log_fd = -1;
	}
}

void keeper_attach(struct uk *u, int fd)
{
	if (fd < 0)
		return;
	struct alb_vmmd *v = u->v;
	struct keeper *k = calloc(1, sizeof(*k));
	if (k == NULL || uv_poll_init(v->loop, &k->poll, fd) != 0) {
		alb_log_warn("vmmd: %s: cannot watch our reader of its console "
			     "FIFO", u->name);
		free(k);
		close(fd);
		return;
	}
	k->v = v;
	k->u = u;
	k->fd = fd;
	k->log_fd = -1;
	k->poll.data = k;
	vmmd_job_begin(v);
	u->keep = k;
	/* nobody else reads it: a console daemon connected since its
	 * Console_add (or none at all) */
	if (!v->console.connected || u->console_gen != v->console.gen)
		keeper_drain(u, true);
}

void keeper_close(struct uk *u)
{
	struct keeper *k = u->keep;
	if (k == NULL)
		return;
	keeper_drain(u, false);
	u->keep = NULL;
	uv_close((uv_handle_t *)&k->poll, keeper_closed);
}
