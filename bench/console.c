/* bench-console: lines per second through the console daemon core, with
 * real sockets and a real FIFO. The core runs in-process on its own libuv
 * loop (one thread, as in alb-consoled); a writer thread plays the
 * unikernel and writes N lines into the FIFO; 0 and then 5 subscriber
 * threads, connected over the Unix socket with Console_subscribe (Count 0),
 * count the Console_data frames they receive. The figure is N divided by
 * the time from the first write until every subscriber has every line
 * (without subscribers: until the writer is done, the FIFO's 64 KiB
 * excepted). The writer keeps at most WINDOW lines ahead of the slowest
 * subscriber, so that the figure is a rate every subscriber sustains: one
 * that falls ALB_CONSOLE_PENDING_MAX bytes behind is dropped by design.
 *
 * Usage: bench-console [LINES] (default 2000000). Build without
 * sanitizers for meaningful figures.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "albatross/albatross.h"

#define SUBSCRIBERS 5
#define NAME ":bench"
/* Bytes of each line, newline included (a typical console line). */
#define LINE_LEN 48
/* Most lines the writer is ahead of the slowest subscriber: about 430 KiB
 * of Console_data frames, well below ALB_CONSOLE_PENDING_MAX. */
#define WINDOW 4096

static char tmpdir[64];
static char sock_path[ALB_SOCKET_PATH_BUF];

struct core {
	uv_loop_t loop;
	uv_async_t stop;
	struct alb_console *console;
	struct alb_console_stats stats;
};

static void die(const char *what)
{
	fprintf(stderr, "bench-console: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void on_stop(uv_async_t *a)
{
	struct core *c = a->data;
	alb_console_get_stats(c->console, &c->stats);
	alb_console_free(c->console);
	uv_close((uv_handle_t *)a, NULL);
}

static void *loop_thread(void *arg)
{
	struct core *c = arg;
	uv_run(&c->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int connect_core(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect");
	return fd;
}

/* Sends one command and checks that a success reply comes back. */
static int command(const struct alb_command *cmd)
{
	int fd = connect_core();
	struct alb_buf b = {0};
	struct alb_error err;
	if (alb_client_encode_command(NAME, cmd, 0, &b, &err) != 0 ||
	    alb_frame_write_fd(fd, b.data, b.len, &err) != 0) {
		fprintf(stderr, "bench-console: sending: %s\n", err.msg);
		exit(1);
	}
	alb_buf_free(&b);
	struct alb_msg *m = NULL;
	if (alb_frame_read_fd(fd, 0, &b, &err) != 0 ||
	    alb_msg_decode(b.data, b.len, 0, &m, &err) != 0 ||
	    m->kind != ALB_PAYLOAD_SUCCESS) {
		fprintf(stderr, "bench-console: no success reply\n");
		exit(1);
	}
	alb_msg_free(m);
	alb_buf_free(&b);
	return fd;
}

struct sub {
	pthread_t th;
	int fd;
	uint64_t want;
	uint64_t frames;
};

/* Counts frames (their lengths only) until it has them all. */
static void *sub_thread(void *arg)
{
	struct sub *s = arg;
	static __thread uint8_t buf[1 << 18];
	size_t have = 0;
	while (s->frames < s->want) {
		ssize_t r = read(s->fd, buf + have, sizeof(buf) - have);
		if (r <= 0) {
			fprintf(stderr, "bench-console: a subscriber was cut off after "
				"%llu lines\n", (unsigned long long)s->frames);
			return NULL;
		}
		have += (size_t)r;
		size_t off = 0;
		while (have - off >= 4) {
			size_t len = ((size_t)buf[off] << 24) | ((size_t)buf[off + 1] << 16) |
				     ((size_t)buf[off + 2] << 8) | buf[off + 3];
			if (have - off - 4 < len)
				break;
			__atomic_add_fetch(&s->frames, 1, __ATOMIC_RELAXED);
			off += 4 + len;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	return NULL;
}

struct writer {
	int fd;
	uint64_t lines;
	struct sub *subs;
	int n_subs;
};

/* Waits until every subscriber has all but WINDOW of done lines. */
static void keep_window(const struct writer *w, uint64_t done)
{
	for (int i = 0; i < w->n_subs; i++)
		while (__atomic_load_n(&w->subs[i].frames, __ATOMIC_RELAXED) + WINDOW < done)
			sched_yield();
}

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	static char chunk[LINE_LEN * 1024];
	for (size_t i = 0; i < 1024; i++) {
		memset(chunk + i * LINE_LEN, 'a' + (char)(i % 26), LINE_LEN - 1);
		chunk[i * LINE_LEN + LINE_LEN - 1] = '\n';
	}
	for (uint64_t done = 0; done < w->lines;) {
		uint64_t n = w->lines - done < 1024 ? w->lines - done : 1024;
		size_t len = (size_t)n * LINE_LEN, off = 0;
		while (off < len) {
			ssize_t r = write(w->fd, chunk + off, len - off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				die("write");
			off += (size_t)r;
		}
		done += n;
		keep_window(w, done);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One run: n lines with k subscribers; returns lines per second. */
static double run(uint64_t n, int k)
{
	/* As albd does for each (re)start: the core opens the FIFO. */
	struct alb_command add;
	memset(&add, 0, sizeof(add));
	add.kind = ALB_CMD_CONSOLE_ADD;
	add.u.console_add = 1;
	close(command(&add));
	struct sub subs[SUBSCRIBERS];
	for (int i = 0; i < k; i++) {
		struct alb_command c;
		memset(&c, 0, sizeof(c));
		c.kind = ALB_CMD_CONSOLE_SUBSCRIBE;
		c.u.subscribe.count = 0;
		subs[i].fd = command(&c);
		subs[i].want = n;
		subs[i].frames = 0;
	}
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/fifo/%s", tmpdir, NAME);
	struct writer w = {open(fifo, O_WRONLY | O_CLOEXEC), n, subs, k};
	if (w.fd < 0)
		die("open the FIFO");
	double t0 = now_s();
	for (int i = 0; i < k; i++)
		pthread_create(&subs[i].th, NULL, sub_thread, &subs[i]);
	pthread_t wt;
	pthread_create(&wt, NULL, writer_thread, &w);
	pthread_join(wt, NULL);
	for (int i = 0; i < k; i++)
		pthread_join(subs[i].th, NULL);
	double t1 = now_s();
	close(w.fd);
	bool ok = true;
	for (int i = 0; i < k; i++) {
		ok = ok && subs[i].frames == n;
		close(subs[i].fd);
	}
	if (!ok) {
		fprintf(stderr, "bench-console: lines were lost\n");
		exit(1);
	}
	return (double)n / (t1 - t0);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bench-console-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp");
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	if (mkdir(fifo, 0755) != 0)
		die("mkdir");
	snprintf(fifo, sizeof(fifo), "%s/fifo/%s", tmpdir, NAME);
	if (mkfifo(fifo, 0600) != 0)
		die("mkfifo");
	struct alb_error err;
	if (alb_endpoint_socket_path(tmpdir, ALB_ENDPOINT_CONSOLE, sock_path, &err) != 0) {
		fprintf(stderr, "bench-console: %s\n", err.msg);
		return 1;
	}

	static struct core core;
	uv_loop_init(&core.loop);
	struct alb_console_config cfg;
	alb_console_config_init(&cfg);
	cfg.tmpdir = tmpdir;
	if (alb_console_new(&core.loop, &cfg, &core.console, &err) != 0 ||
	    alb_console_start(core.console, &err) != 0) {
		fprintf(stderr, "bench-console: %s\n", err.msg);
		return 1;
	}
	uv_async_init(&core.loop, &core.stop, on_stop);
	core.stop.data = &core;
	pthread_t lt;
	pthread_create(&lt, NULL, loop_thread, &core);

	double r0 = run(n, 0);
	double r5 = run(n, SUBSCRIBERS);
	uv_async_send(&core.stop);
	pthread_join(lt, NULL);
	uv_loop_close(&core.loop);

	printf("console core, real FIFO and Unix sockets, %llu lines of %d bytes:\n",
	       (unsigned long long)n, LINE_LEN);
	printf("  no subscriber:  %.2f M lines/s (%.0f MB/s)\n", r0 / 1e6,
	       r0 * LINE_LEN / 1e6);
	printf("  %d subscribers:  %.2f M lines/s into the ring, %.2f M messages/s out\n",
	       SUBSCRIBERS, r5 / 1e6, r5 * SUBSCRIBERS / 1e6);
	printf("  lines read %llu, subscribers dropped %llu, ring %zu bytes\n",
	       (unsigned long long)core.stats.lines,
	       (unsigned long long)core.stats.dropped, core.stats.ring_bytes);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : 1;
}
