/* Unit tests of daemon/common: the budget arithmetic, claiming and binding
 * a Unix socket (mode, group, stale and live sockets, other files), mkdir -p,
 * and a pool on a real loop: replacing the oldest idle connection at the
 * limit, the command deadline, the byte budget at its limit and one past,
 * and a write to a vanished peer without SIGPIPE.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "albatross/albatross.h"
#include "dcommon/conn.h"
#include "dcommon/socket.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/alb-dcommon-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_budget(void **state)
{
	(void)state;
	/* the free bytes of each frame */
	assert_int_equal(dc_budget_allow(0, 100, 100, 0, 0), DC_FREE_BYTES);
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES - 1, 100, 100, 0, 0), 1);
	/* the budget: one byte left, none at the limit, none one past */
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES, 100, 99, 0, 0), 1);
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES, 100, 100, 0, 0), 0);
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES, 100, 101, 0, 0), 0);
	/* no budget */
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES, 0, 5, 0, 0), SIZE_MAX);
	/* a user's share is the smaller bound */
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES, 100, 10, 50, 49), 1);
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES, 100, 10, 50, 50), 0);
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES, 100, 10, 50, 51), 0);
	assert_int_equal(dc_budget_allow(DC_FREE_BYTES, 100, 10, 500, 0), 90);
}

static int connect_to(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_listen_mode_group(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/a.sock", dir);
	/* whatever the umask: 0660 */
	mode_t masks[] = {0, 077, 022};
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		mode_t old = umask(masks[i]);
		int fd = -1;
		struct alb_error err = {0};
		int64_t gid = geteuid() == 0 ? 4242 : -1;
		assert_int_equal(dc_unix_listen(path, gid, 4, &fd, &err), 0);
		umask(old);
		struct stat st;
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 07777, DC_SOCKET_MODE);
		if (gid >= 0)
			assert_int_equal(st.st_gid, 4242);
		/* a live daemon keeps its socket */
		int fd2 = -1;
		assert_int_equal(dc_unix_listen(path, -1, 4, &fd2, &err), ALB_EBUSY);
		assert_non_null(strstr(err.msg, "another daemon listens"));
		close(fd);
		/* now stale: claimed */
		assert_int_equal(dc_unix_listen(path, -1, 4, &fd, &err), 0);
		close(fd);
		unlink(path);
	}
}

static void test_listen_refuses_other_files(void **state)
{
	(void)state;
	char path[128], target[128];
	snprintf(path, sizeof(path), "%s/b.sock", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	struct alb_error err = {0};
	int fd = -1;
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("keep", f);
	fclose(f);
	assert_int_equal(dc_unix_listen(path, -1, 4, &fd, &err), ALB_EEXIST);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4);
	unlink(path);
	/* a symlink to a stale socket is not a socket */
	assert_int_equal(dc_unix_listen(target, -1, 4, &fd, &err), 0);
	close(fd);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(dc_unix_listen(path, -1, 4, &fd, &err), ALB_EEXIST);
	assert_int_equal(lstat(target, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	unlink(path);
	unlink(target);
	/* a path one byte too long */
	char longp[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(dc_unix_listen(longp, -1, 4, &fd, &err), ALB_ETOOBIG);
	/* connect: nothing there */
	assert_int_equal(dc_unix_connect(path, &fd, &err), ALB_ENOENT);
}

static void test_mkdir_p(void **state)
{
	(void)state;
	char path[128], file[128];
	snprintf(path, sizeof(path), "%s/x/y/z", dir);
	mode_t old = umask(077);
	struct alb_error err = {0};
	assert_int_equal(dc_mkdir_p(path, 0755, &err), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(path, sizeof(path), "%s/x", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* again: nothing to do */
	assert_int_equal(dc_mkdir_p(path, 0700, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	snprintf(file, sizeof(file), "%s/x/f", dir);
	FILE *f = fopen(file, "w");
	fclose(f);
	snprintf(path, sizeof(path), "%s/x/f/g", dir);
	assert_int_equal(dc_mkdir_p(path, 0755, &err), ALB_EEXIST);
}

/* ---- a pool on a loop ------------------------------------------------------- */

struct rec {
	int accepted, frames, lost, closed;
	int last_lost;
	size_t last_len;
	bool close_on_lost;
};

static int t_accepted(struct dc_pool *p, struct dc_conn *c)
{
	struct rec *r = dc_pool_data(p);
	c->data = r;
	r->accepted++;
	dc_conn_read(c, true);
	return 0;
}

static void t_frame(struct dc_conn *c, struct alb_buf *b)
{
	struct rec *r = c->data;
	r->frames++;
	r->last_len = b->len;
	alb_buf_free(b);
}

static void t_lost(struct dc_conn *c, int rc, const char *why)
{
	(void)why;
	struct rec *r = c->data;
	r->lost++;
	r->last_lost = rc;
	dc_conn_close(c);
}

static void t_closed(struct dc_conn *c)
{
	struct rec *r = c->data;
	r->closed++;
}

static const struct dc_ops t_ops = {
	.accepted = t_accepted, .frame = t_frame, .lost = t_lost, .closed = t_closed,
};

static void spin(uv_loop_t *loop, int ms)
{
	uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
	while (uv_hrtime() < end) {
		uv_run(loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
}

static bool peer_closed(int fd)
{
	char b[16];
	ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static struct dc_pool *make_pool(uv_loop_t *loop, struct dc_pool_config *pc,
				 struct rec *r, char *path, size_t plen)
{
	snprintf(path, plen, "%s/p.sock", dir);
	struct dc_pool *p = NULL;
	assert_int_equal(dc_pool_new(loop, pc, &t_ops, r, &p, NULL), 0);
	int fd = -1;
	assert_int_equal(dc_unix_listen(path, -1, 64, &fd, NULL), 0);
	assert_int_equal(dc_pool_listen(p, fd, NULL), 0);
	return p;
}

static void finish_pool(uv_loop_t *loop, struct dc_pool *p, const char *path)
{
	dc_pool_close_all(p);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(dc_pool_handles(p), 0);
	dc_pool_free(p);
	unlink(path);
}

/* At conn_max nobody is replaced; one past, the oldest that sent nothing
 * goes, and a connection past its first command never does. */
static void test_pool_conn_max(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct rec r = {0};
	struct dc_pool_config pc = {.who = "t", .conn_max = 3};
	char path[128];
	struct dc_pool *p = make_pool(&loop, &pc, &r, path, sizeof(path));
	int busy = connect_to(path);
	uint8_t frame[5] = {0, 0, 0, 1, 'x'};
	assert_int_equal(write(busy, frame, 5), 5);
	spin(&loop, 30);
	assert_int_equal(r.frames, 1);
	int a = connect_to(path), b = connect_to(path);
	spin(&loop, 30);
	assert_int_equal(dc_pool_count(p), 3);
	assert_int_equal(r.lost, 0);
	int c = connect_to(path);
	spin(&loop, 30);
	assert_int_equal(dc_pool_count(p), 3);
	assert_int_equal(r.lost, 1);
	assert_int_equal(r.last_lost, ALB_ETOOBIG);
	assert_true(peer_closed(a));
	assert_false(peer_closed(b));
	assert_false(peer_closed(busy));
	int d = connect_to(path);
	spin(&loop, 30);
	assert_true(peer_closed(b));
	assert_false(peer_closed(busy));
	/* every connection past its first command: a newcomer is refused */
	assert_int_equal(write(c, frame, 5), 5);
	assert_int_equal(write(d, frame, 5), 5);
	spin(&loop, 30);
	int e = connect_to(path);
	spin(&loop, 30);
	assert_true(peer_closed(e));
	assert_false(peer_closed(c));
	assert_false(peer_closed(d));
	close(e);
	close(a);
	close(b);
	close(c);
	close(d);
	close(busy);
	finish_pool(&loop, p, path);
	uv_loop_close(&loop);
}

/* A connection that completes its command in time is served; one that
 * sends half a frame is closed once the deadline passes. */
static void test_pool_deadline(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct rec r = {0};
	struct dc_pool_config pc = {.who = "t", .command_timeout_ms = 100};
	char path[128];
	struct dc_pool *p = make_pool(&loop, &pc, &r, path, sizeof(path));
	int slow = connect_to(path);
	uint8_t frame[5] = {0, 0, 0, 1, 'x'};
	assert_int_equal(write(slow, frame, 4), 4);
	spin(&loop, 60);
	int quick = connect_to(path);
	assert_int_equal(write(quick, frame, 5), 5);
	spin(&loop, 20);
	assert_int_equal(r.frames, 1);
	assert_int_equal(r.lost, 0);
	spin(&loop, 100);
	assert_int_equal(r.lost, 1);
	assert_int_equal(r.last_lost, ALB_ETOOBIG);
	assert_true(peer_closed(slow));
	close(slow);
	close(quick);
	finish_pool(&loop, p, path);
	uv_loop_close(&loop);
}

/* Bytes beyond DC_FREE_BYTES count against bytes_max: a frame stops at the
 * limit, another connection gets its free bytes but not one byte past the
 * limit, and goes on once the first one's bytes are released. */
static void test_pool_bytes(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct rec r = {0};
	const size_t max = 100000;
	struct dc_pool_config pc = {.who = "t", .bytes_max = max};
	char path[128];
	struct dc_pool *p = make_pool(&loop, &pc, &r, path, sizeof(path));
	const size_t big = 1u << 20;
	uint8_t *data = calloc(1, big + 4);
	data[1] = 0x10; /* length 1 MiB */
	int a = connect_to(path);
	int sz = 4 << 20;
	setsockopt(a, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	ssize_t n = send(a, data, 4 + DC_FREE_BYTES + max + 5000, MSG_DONTWAIT);
	assert_true(n > 0);
	spin(&loop, 50);
	assert_int_equal(dc_pool_bytes(p), max);
	int b = connect_to(path);
	setsockopt(b, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	uint8_t hdr[4] = {0, 2, 0, 0}; /* 128 KiB */
	assert_int_equal(send(b, hdr, 4, 0), 4);
	assert_int_equal(send(b, data + 4, 128 * 1024, 0), 128 * 1024);
	spin(&loop, 50);
	/* b holds its free bytes, not one byte more */
	assert_int_equal(dc_pool_bytes(p), max);
	assert_int_equal(r.frames, 0);
	close(a);
	spin(&loop, 50);
	assert_int_equal(r.frames, 1);
	assert_int_equal(r.last_len, 128 * 1024);
	assert_int_equal(dc_pool_bytes(p), 0);
	close(b);
	free(data);
	finish_pool(&loop, p, path);
	uv_loop_close(&loop);
}

/* A loop and a pool on it with one connection over a socketpair: *c is
 * sv[0], the test reads and closes sv[1]. */
static void open_pair(uv_loop_t *loop, struct rec *r, struct dc_pool **p,
		      struct dc_conn **c, int sv[2])
{
	uv_loop_init(loop);
	struct dc_pool_config pc = {.who = "t"};
	*p = NULL;
	assert_int_equal(dc_pool_new(loop, &pc, &t_ops, r, p, NULL), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	*c = NULL;
	assert_int_equal(dc_conn_open(*p, sv[0], r, c, NULL), 0);
}

/* Buffers taken over and small copies queued after them go out in order;
 * small copies share one buffer. */
static void test_queue_order(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct rec r = {0};
	struct dc_pool *p;
	struct dc_conn *c;
	int sv[2];
	open_pair(&loop, &r, &p, &c, sv);
	struct alb_buf b = {0};
	uint8_t *m = malloc(3);
	memcpy(m, "abc", 3);
	b.data = b.base_ = m;
	b.len = b.cap_ = 3;
	assert_int_equal(dc_conn_queue(c, "0", 1), 0);
	assert_int_equal(dc_conn_send_buf(c, &b), 0);
	assert_int_equal(dc_conn_queue(c, "de", 2), 0);
	assert_int_equal(dc_conn_queue(c, "f", 1), 0);
	assert_int_equal(dc_conn_send(c, "", 0), 0);
	dc_conn_flush(c);
	spin(&loop, 10);
	char got[16] = {0};
	assert_int_equal(read(sv[1], got, sizeof(got)), 7);
	assert_string_equal(got, "0abcdef");
	assert_int_equal(dc_conn_pending(c), 0);
	close(sv[1]);
	finish_pool(&loop, p, "/nonexistent");
	uv_loop_close(&loop);
}

static void count_done(void *ctx)
{
	(*(int *)ctx)++;
}

/* A message whose image stays with its owner: the bytes read are those of
 * alb_msg_encode(), and the owner hears once that they are no longer
 * needed (sent, or dropped by a connection that closed first). */
static void test_send_msg_ref(void **state)
{
	(void)state;
	uv_loop_t loop;
	struct rec r = {0};
	struct dc_pool *p;
	struct dc_conn *c;
	int sv[2];
	open_pair(&loop, &r, &p, &c, sv);
	size_t len = 3000;
	uint8_t *img = malloc(len);
	for (size_t i = 0; i < len; i++)
		img[i] = (uint8_t)(i * 7);
	struct alb_msg m = {.header = {.version = 5, .name = ":a"},
			    .kind = ALB_PAYLOAD_SUCCESS};
	m.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	m.u.success.u.image.data = (struct alb_bytes){img, len};
	struct alb_buf want = {0};
	assert_int_equal(alb_msg_encode(&m, ALB_ENCODE_FRAMED, &want, NULL), 0);
	int done = 0;
	assert_int_equal(dc_conn_send_msg_ref(c, &m, img, len, count_done, &done,
					      NULL), 0);
	spin(&loop, 10);
	assert_int_equal(done, 1);
	uint8_t *got = malloc(want.len + 1);
	assert_int_equal(read(sv[1], got, want.len + 1), (ssize_t)want.len);
	assert_memory_equal(got, want.data, want.len);
	free(got);
	/* on a connection that closed before sending: dropped, done once */
	dc_conn_close(c);
	done = 0;
	struct alb_error err = {0};
	assert_int_equal(dc_conn_send_msg_ref(c, &m, img, len, count_done, &done,
					      &err), ALB_EPROTO);
	assert_int_equal(done, 1);
	spin(&loop, 10);
	alb_buf_free(&want);
	free(img);
	close(sv[1]);
	finish_pool(&loop, p, "/nonexistent");
	uv_loop_close(&loop);
}

/* A reply to a peer that went away is a failed write reported to the core,
 * not a SIGPIPE (the test does not ignore SIGPIPE). */
static void test_no_sigpipe(void **state)
{
	(void)state;
	assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	uv_loop_t loop;
	struct rec r = {0};
	struct dc_pool *p;
	struct dc_conn *c;
	int sv[2];
	open_pair(&loop, &r, &p, &c, sv);
	close(sv[1]);
	assert_int_equal(dc_conn_send(c, "hello", 5), 0);
	spin(&loop, 20);
	assert_int_equal(r.lost, 1);
	assert_int_equal(r.last_lost, ALB_ESYS);
	assert_int_equal(r.closed, 1);
	finish_pool(&loop, p, "/nonexistent");
	uv_loop_close(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_listen_mode_group),
		cmocka_unit_test(test_listen_refuses_other_files),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_pool_conn_max),
		cmocka_unit_test(test_pool_deadline),
		cmocka_unit_test(test_pool_bytes),
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_no_sigpipe),
		cmocka_unit_test(test_send_msg_ref),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
