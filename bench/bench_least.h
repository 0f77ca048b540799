/* Benchmarks: the least a create of an image costs on this machine, done
 * without albd but the way albd must do it, as the reference its creates
 * are compared with beside the disk's floor. In order:
 *   - the image arrives framed on a Unix socket (sent by a thread), read
 *     by alb_frame_read_fd() into the buffer albd's frame reader would
 *     use: the spare frame buffer the previous one left (memory used
 *     before), or new memory for the first;
 *   - its append + fdatasync to a file in dbdir starts in a thread (the
 *     journal record, beside everything that follows);
 *   - its SHA-256;
 *   - its copy for the tender in tmpdir (write, rename);
 *   - the tender spawned with alb_tender_spawn(), pinned to a CPU: a
 *     create replies once its tender has exec'd, as Albatross does;
 *     either right away, beside the fdatasync, or once it is done;
 *   - done when both the spawn and the fdatasync are.
 * Nothing else of albd's: no decoding, policy, record, loop or threadpool.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_BENCH_LEAST_H
#define ALB_BENCH_LEAST_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "albatross/frame.h"
#include "albatross/image.h"
#include "albatross/tender.h"
#include "bench_floor.h"
#include "bench_stats.h"

struct bench_least_io {
	int fd;
	const uint8_t *p;
	size_t len;
	bool ok;
	int64_t done_us;
};

static inline bool bench_least_write(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static inline void *bench_least_send(void *arg)
{
	struct bench_least_io *s = arg;
	s->ok = alb_frame_write_fd(s->fd, s->p, s->len, NULL) == 0;
	return NULL;
}

static inline void *bench_least_append(void *arg)
{
	struct bench_least_io *a = arg;
	a->ok = bench_least_write(a->fd, a->p, a->len) && fdatasync(a->fd) == 0;
	a->done_us = bench_floor_now_us();
	return NULL;
}

/* One least create, appending to jfd, its tender spawned once the append
 * is durable (after) or beside it; its time in us, or -1. */
static inline int64_t bench_least_once(int jfd, const char *tmpdir,
				       const char *tender, int64_t cpu,
				       const uint8_t *img, size_t len, bool after)
{
	char tmp[4096], copy[4096];
	snprintf(tmp, sizeof(tmp), "%s/#least.img", tmpdir);
	snprintf(copy, sizeof(copy), "%s/least.img", tmpdir);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	int con = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct bench_least_io snd = {sv[0], img, len, false, 0};
	struct bench_least_io app = {jfd, NULL, len, false, 0};
	pthread_t ts, ta;
	int64_t us = -1, t0 = bench_floor_now_us();
	bool sending = con >= 0 &&
		       pthread_create(&ts, NULL, bench_least_send, &snd) == 0;
	/* albd's own reader: the spare frame buffer, as albd's frames */
	struct alb_buf frame = {0};
	uint8_t *buf = sending && alb_frame_read_fd(sv[1], 0, &frame, NULL) == 0 &&
			       frame.len == len
			   ? frame.data
			   : NULL;
	app.p = buf;
	bool appending = buf != NULL &&
			 pthread_create(&ta, NULL, bench_least_append, &app) == 0;
	uint8_t digest[ALB_SHA256_LEN];
	int cfd = -1;
	struct alb_spawned child = {.pid = -1, .pidfd = -1};
	if (appending && alb_image_digest(buf, len, digest, NULL) == 0 &&
	    (cfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0 &&
	    bench_least_write(cfd, buf, len) && close(cfd) == 0 &&
	    rename(tmp, copy) == 0) {
		if (after) {
			pthread_join(ta, NULL);
			appending = false;
		}
		const char *argv[] = {tender, "--mem=16", "--", copy,
				      "--sleep-ms=100000000", NULL};
		struct alb_spawn sp = {.argv = argv, .console_fd = con,
				       .n_cpus = 1, .cpus = &cpu};
		if (alb_tender_spawn(&sp, &child, NULL) == 0)
			us = bench_floor_now_us();
	}
	if (appending)
		pthread_join(ta, NULL);
	if (buf != NULL && !app.ok)
		us = -1;
	else if (us >= 0 && app.done_us > us)
		us = app.done_us;
	if (us >= 0)
		us -= t0;
	if (child.pid > 0) {
		kill(child.pid, SIGKILL);
		while (waitpid(child.pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(child.pidfd);
	}
	if (sending)
		pthread_join(ts, NULL);
	alb_buf_free(&frame);
	close(sv[0]);
	close(sv[1]);
	if (con >= 0)
		close(con);
	unlink(tmp);
	unlink(copy);
	return us;
}

/* Median, in ms, of `runs` (at most 64) least creates, their records
 * appended to one file in dbdir as albd's to its journal segment, their
 * tenders spawned once the append is durable (after) or beside it; -1 on
 * error. */
static inline double bench_least_create(const char *dbdir, const char *tmpdir,
					const char *tender, int64_t cpu,
					const uint8_t *img, size_t len, int runs,
					bool after)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/least-journal", dbdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC,
		      0600);
	if (fd < 0 || runs < 1 || runs > 64)
		return -1;
	int64_t v[64];
	int i = 0;
	while (i < runs &&
	       (v[i] = bench_least_once(fd, tmpdir, tender, cpu, img, len,
					after)) >= 0)
		i++;
	close(fd);
	unlink(path);
	return i < runs ? -1 : (double)bench_median_i64(v, (size_t)runs) / 1000.0;
}

#endif
