/* Integration: alb-consoled on a private tmpdir, driven as albd drives it
 * (Console_add for FIFOs made here and written to) and as clients do
 * (subscriptions by count and since, list of inactive consoles): history
 * and live lines with their timestamps, every bound of the queries, the
 * subscriber limit, the path limit, bad input, the golden vectors and
 * transcripts byte for byte, and memory that stays bounded under 100 MB of
 * output, a subscriber that does not read, and 1,000 short-lived chatty
 * unikernels.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "albatross/albatross.h"
#include "host_helpers.h"
#include "vectors.h"

/* OCaml's int range, which bounds every INTEGER on the wire; max_int is
 * what albd sends as the ring allowance of root. */
#define OCAML_MAX_INT ((int64_t)0x3fffffffffffffff)
#define OCAML_MIN_INT (-OCAML_MAX_INT - 1)
#define ROOT_RINGS OCAML_MAX_INT

/* Upper bounds asserted for the daemon's peak resident memory, in KiB: the
 * daemon is built with the sanitizers here, whose shadow memory and
 * bookkeeping come on top of the daemon's own (1024-line rings of at most
 * ~550 KiB, ALB_CONSOLE_PENDING_MAX per subscriber, ALB_CONSOLE_INACTIVE_MAX
 * for all stopped unikernels). */
#define RSS_BOUND_100MB_KB (48 * 1024)
#define RSS_BOUND_WRITERS_KB (128 * 1024)

static struct {
	pid_t pid;
	char dir[64];
	char sock[ALB_SOCKET_PATH_BUF];
	int64_t seq; /* of the next Console_add */
} D;

/* ---- the daemon ---------------------------------------------------------- */

static const char *build_root(void)
{
	const char *b = getenv("ALB_BUILD_ROOT");
	return b != NULL ? b : ".";
}

static void exe_path(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/cli/%s", build_root(), name);
}

static int try_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, D.sock, strlen(D.sock));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	struct timeval tv = {20, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Starts alb-consoled on a new tmpdir with extra arguments (NULL-ended). */
static void daemon_start(const char *arg1, const char *arg2)
{
	memset(&D, 0, sizeof(D));
	D.seq = 1;
	snprintf(D.dir, sizeof(D.dir), "/tmp/alb-consoled-XXXXXX");
	assert_non_null(mkdtemp(D.dir));
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/fifo", D.dir);
	assert_int_equal(mkdir(fifo, 0755), 0);
	snprintf(D.sock, sizeof(D.sock), "%s/util/console.sock", D.dir);
	char exe[512];
	exe_path("alb-consoled", exe, sizeof(exe));
	const char *argv[] = {exe, "--tmpdir", D.dir, arg1, arg2, NULL};
	fflush(stdout);
	D.pid = fork();
	assert_true(D.pid >= 0);
	if (D.pid == 0) {
		/* Under ASan, freed memory waits in a quarantine (256 MiB by
		 * default) that would hide what the daemon really keeps. */
		char asan[512];
		const char *old = getenv("ASAN_OPTIONS");
		snprintf(asan, sizeof(asan), "%s%squarantine_size_mb=1",
			 old != NULL ? old : "", old != NULL && *old ? ":" : "");
		setenv("ASAN_OPTIONS", asan, 1);
		execv(exe, (char *const *)argv);
		test_child_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		int fd = try_connect();
		if (fd >= 0) {
			close(fd);
			return;
		}
		int st;
		assert_int_equal(waitpid(D.pid, &st, WNOHANG), 0);
		usleep(10000);
	}
	fail_msg("alb-consoled did not start listening on %s", D.sock);
}

/* Stops the daemon: it must exit 0 (and, under LeakSanitizer, leak
 * nothing). */
static void daemon_stop(void)
{
	assert_int_equal(kill(D.pid, SIGTERM), 0);
	int st;
	assert_int_equal(waitpid(D.pid, &st, 0), D.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	D.pid = 0;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", D.dir);
	assert_int_equal(system(cmd), 0);
}

/* After a failed test: no daemon or tmpdir is left behind. */
static int cleanup(void **state)
{
	(void)state;
	if (D.pid > 0) {
		kill(D.pid, SIGKILL);
		waitpid(D.pid, NULL, 0);
		D.pid = 0;
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", D.dir);
		if (system(cmd) != 0)
			printf("cannot remove %s\n", D.dir);
	}
	return 0;
}

/* A field of /proc/PID/status, in KiB. */
static long proc_kb(const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)D.pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	long kb = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':')
			kb = strtol(line + fl + 1, NULL, 10);
	fclose(f);
	assert_true(kb >= 0);
	return kb;
}

/* ---- messages ------------------------------------------------------------ */

static int conn(void)
{
	int fd = try_connect();
	assert_true(fd >= 0);
	return fd;
}

static void send_cmd(int fd, const char *name, int64_t seq,
		     const struct alb_command *cmd)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.sequence = seq;
	m.header.name = name;
	m.kind = ALB_PAYLOAD_COMMAND;
	m.u.command = *cmd;
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &b, NULL), 0);
	assert_int_equal(alb_frame_write_fd(fd, b.data, b.len, NULL), 0);
	alb_buf_free(&b);
}

/* The next frame, undecoded. */
static void recv_raw(int fd, struct alb_buf *b)
{
	struct alb_error err;
	memset(b, 0, sizeof(*b));
	int rc = alb_frame_read_fd(fd, 0, b, &err);
	if (rc != 0)
		fail_msg("reading a frame: %s", err.msg);
}

static struct alb_msg *decode(const struct alb_buf *b)
{
	struct alb_msg *m = NULL;
	struct alb_error err;
	if (alb_msg_decode(b->data, b->len, 0, &m, &err) != 0)
		fail_msg("decoding: %s", err.msg);
	return m;
}

static struct alb_msg *recv_msg(int fd)
{
	struct alb_buf b;
	recv_raw(fd, &b);
	struct alb_msg *m = decode(&b);
	alb_buf_free(&b);
	return m;
}

/* The daemon closed the connection, with nothing more to read. */
static void expect_eof(int fd)
{
	struct alb_buf b = {0};
	int rc = alb_frame_read_fd(fd, 0, &b, NULL);
	alb_buf_free(&b);
	assert_int_equal(rc, ALB_EEOF);
}

static void assert_reply_string(struct alb_msg *m, const char *name, const char *text)
{
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_STRING);
	assert_string_equal(m->u.success.u.string.ptr, text);
	assert_string_equal(m->header.name, name);
	alb_msg_free(m);
}

static void assert_reply_failure(int fd, const char *text)
{
	struct alb_msg *m = recv_msg(fd);
	assert_int_equal(m->kind, ALB_PAYLOAD_FAILURE);
	assert_string_equal(m->u.failure.ptr, text);
	alb_msg_free(m);
}

static struct alb_command cmd_add(int64_t n)
{
	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = ALB_CMD_CONSOLE_ADD;
	c.u.console_add = n;
	return c;
}

static struct alb_command cmd_count(int64_t k)
{
	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = ALB_CMD_CONSOLE_SUBSCRIBE;
	c.u.subscribe.count = k;
	return c;
}

static struct alb_command cmd_since(struct alb_time t)
{
	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = ALB_CMD_CONSOLE_SUBSCRIBE;
	c.u.subscribe.since = true;
	c.u.subscribe.time = t;
	return c;
}

static struct alb_command cmd_list(void)
{
	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = ALB_CMD_CONSOLE_LIST_INACTIVE;
	return c;
}

static void fifo_path(const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/fifo/%s", D.dir, name);
}

/* As albd: makes the FIFO of name and sends Console_add n on vfd. */
static void add_console(int vfd, const char *name, int64_t n)
{
	char fifo[1200];
	fifo_path(name, fifo, sizeof(fifo));
	if (mkfifo(fifo, 0600) != 0)
		assert_int_equal(errno, EEXIST);
	struct alb_command c = cmd_add(n);
	send_cmd(vfd, name, D.seq, &c);
	struct alb_msg *m = recv_msg(vfd);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_EMPTY);
	assert_int_equal(m->header.sequence, D.seq);
	assert_string_equal(m->header.name, name);
	alb_msg_free(m);
	D.seq++;
}

/* The unikernel's side of the FIFO (the daemon holds the read side). */
static int writer_open(const char *name)
{
	char fifo[1200];
	fifo_path(name, fifo, sizeof(fifo));
	int fd = open(fifo, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		assert_true(w > 0);
		c += w;
		n -= (size_t)w;
	}
}

static void writef(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void writef(int fd, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	write_all(fd, buf, (size_t)n);
}

/* Subscribes; the reply must be `reply`. Returns the connection. */
static int subscribe(const char *name, struct alb_command c, const char *reply)
{
	int fd = conn();
	send_cmd(fd, name, 0, &c);
	assert_reply_string(recv_msg(fd), name, reply);
	return fd;
}

/* Count 2^62 cannot be encoded (it is past OCaml's int range): a client
 * that crafts it has its connection closed without a reply. */
static void send_count_2_62(const char *name)
{
	struct alb_command c = cmd_count(OCAML_MAX_INT);
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.name = name;
	m.kind = ALB_PAYLOAD_COMMAND;
	m.u.command = c;
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &b, NULL), 0);
	static const uint8_t max[] = {0x02, 0x08, 0x3f, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff};
	uint8_t *at = memmem(b.data, b.len, max, sizeof(max));
	assert_non_null(at);
	at[2] = 0x40;
	memset(at + 3, 0, 7);
	int fd = conn();
	assert_int_equal(alb_frame_write_fd(fd, b.data, b.len, NULL), 0);
	alb_buf_free(&b);
	expect_eof(fd);
	close(fd);
}

/* The next message on fd is the console line `text` of name; its time goes
 * to *t (may be NULL). */
static void expect_line(int fd, const char *name, const char *text,
			struct alb_time *t)
{
	struct alb_msg *m = recv_msg(fd);
	assert_int_equal(m->kind, ALB_PAYLOAD_DATA);
	assert_int_equal(m->u.data.kind, ALB_DATA_CONSOLE);
	assert_int_equal(m->header.sequence, 0);
	assert_string_equal(m->header.name, name);
	if (strcmp(m->u.data.u.console.line.ptr, text) != 0)
		fail_msg("expected line '%s', got '%s'", text,
			 m->u.data.u.console.line.ptr);
	if (t != NULL)
		*t = m->u.data.u.console.time;
	alb_msg_free(m);
}

static struct alb_time now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct alb_time t = {ts.tv_sec, (uint32_t)(ts.tv_nsec / 1000000) * 1000000};
	return t;
}

static int time_cmp(struct alb_time a, struct alb_time b)
{
	if (a.sec != b.sec)
		return a.sec < b.sec ? -1 : 1;
	return a.nsec < b.nsec ? -1 : a.nsec > b.nsec;
}

/* Lines "<prefix> <i>" for i in [from, to) arrive on fd. */
static void expect_lines(int fd, const char *name, const char *prefix,
			 int from, int to)
{
	for (int i = from; i < to; i++) {
		char text[64];
		snprintf(text, sizeof(text), "%s %d", prefix, i);
		expect_line(fd, name, text, NULL);
	}
}

/* Lists the inactive consoles under path; returns how many, their names
 * (relative, in the reply's order) joined by ' ' in out. */
static size_t list_inactive(const char *path, char *out, size_t size)
{
	int fd = conn();
	struct alb_command c = cmd_list();
	send_cmd(fd, path, 0, &c);
	struct alb_msg *m = recv_msg(fd);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_CONSOLES);
	size_t n = m->u.success.u.consoles.n;
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && out != NULL; i++) {
		int w = snprintf(out + off, size - off, "%s%s", i > 0 ? " " : "",
				 m->u.success.u.consoles.v[i]);
		if (w > 0 && (size_t)w < size - off)
			off += (size_t)w;
	}
	alb_msg_free(m);
	expect_eof(fd);
	close(fd);
	return n;
}

/* Waits until the inactive consoles under path are exactly `want`. */
static void wait_inactive(const char *path, const char *want)
{
	char got[4096];
	for (int i = 0; i < 500; i++) {
		list_inactive(path, got, sizeof(got));
		if (strcmp(got, want) == 0)
			return;
		usleep(10000);
	}
	fail_msg("inactive consoles under %s: '%s', expected '%s'", path, got, want);
}

/* ---- history and live lines ---------------------------------------------- */

static void test_history_and_live(void **state)
{
	(void)state;
	daemon_start("--max-subscribers", "16");
	const char *n = ":hello";
	int vfd = conn();
	add_console(vfd, n, ROOT_RINGS);
	int probe = subscribe(n, cmd_count(0), "subscribed");
	int w = writer_open(n);
	/* Three batches, a few milliseconds apart: one timestamp per batch. */
	struct alb_time t[30];
	for (int b = 0; b < 3; b++) {
		struct alb_time before = now_ms();
		char buf[512];
		size_t off = 0;
		for (int i = b * 10; i < b * 10 + 10; i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "line %d\n", i);
		write_all(w, buf, off);
		for (int i = b * 10; i < b * 10 + 10; i++) {
			char text[32];
			snprintf(text, sizeof(text), "line %d", i);
			expect_line(probe, n, text, &t[i]);
		}
		struct alb_time after = now_ms();
		for (int i = b * 10; i < b * 10 + 10; i++) {
			assert_true(time_cmp(t[i], before) >= 0);
			assert_true(time_cmp(t[i], after) <= 0);
			assert_true(i == 0 || time_cmp(t[i - 1], t[i]) <= 0);
		}
		usleep(20000);
	}
	assert_true(time_cmp(t[9], t[10]) < 0);
	assert_true(time_cmp(t[19], t[20]) < 0);

	/* Count 20: the last 20 lines, oldest first, with their times. */
	int s20 = subscribe(n, cmd_count(20), "subscribed");
	for (int i = 10; i < 30; i++) {
		char text[32];
		struct alb_time ti;
		snprintf(text, sizeof(text), "line %d", i);
		expect_line(s20, n, text, &ti);
		assert_int_equal(time_cmp(ti, t[i]), 0);
	}
	int s0 = subscribe(n, cmd_count(0), "subscribed");
	int sneg = subscribe(n, cmd_count(-1), "subscribed");
	int sbig = subscribe(n, cmd_count(OCAML_MAX_INT), "subscribed");
	expect_lines(sbig, n, "line", 0, 30);
	send_count_2_62(n);
	/* Since: from a line's own (millisecond) time on; before the first
	 * line everything; after the last nothing. */
	int ssince = subscribe(n, cmd_since(t[10]), "subscribed");
	expect_lines(ssince, n, "line", 10, 30);
	struct alb_time epoch = {0, 0};
	int sfirst = subscribe(n, cmd_since(epoch), "subscribed");
	expect_lines(sfirst, n, "line", 0, 30);
	struct alb_time later = t[29];
	later.sec += 1;
	int safter = subscribe(n, cmd_since(later), "subscribed");

	/* Then live lines, to everyone, and nothing before them. */
	writef(w, "live\n");
	int all[] = {probe, s20, s0, sneg, sbig, ssince, sfirst, safter};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		expect_line(all[i], n, "live", NULL);
		close(all[i]);
	}
	close(w);
	close(vfd);
	daemon_stop();
}

/* A full ring: every query is bounded, none repeats or loops. */
static void test_full_ring(void **state)
{
	(void)state;
	daemon_start("--max-subscribers", "16");
	const char *n = "tenant:full";
	int vfd = conn();
	add_console(vfd, n, 3);
	int probe = subscribe(n, cmd_count(0), "subscribed");
	int w = writer_open(n);
	for (int i = 0; i < 3000; i++)
		writef(w, "n %d\n", i);
	expect_lines(probe, n, "n", 0, 3000);
	int fds[10];
	size_t k = 0;
	fds[k] = subscribe(n, cmd_count(1023), "subscribed");
	expect_lines(fds[k++], n, "n", 1977, 3000);
	fds[k] = subscribe(n, cmd_count(1024), "subscribed");
	expect_lines(fds[k++], n, "n", 1976, 3000);
	fds[k] = subscribe(n, cmd_count(1025), "subscribed");
	expect_lines(fds[k++], n, "n", 1976, 3000);
	fds[k] = subscribe(n, cmd_count(OCAML_MAX_INT), "subscribed");
	expect_lines(fds[k++], n, "n", 1976, 3000);
	send_count_2_62(n);
	/* Upstream loops forever here (spec §12.2). */
	fds[k++] = subscribe(n, cmd_count(-1), "subscribed");
	fds[k++] = subscribe(n, cmd_count(OCAML_MIN_INT), "subscribed");
	fds[k++] = subscribe(n, cmd_count(0), "subscribed");
	struct alb_time epoch = {0, 0};
	fds[k] = subscribe(n, cmd_since(epoch), "subscribed");
	expect_lines(fds[k++], n, "n", 1976, 3000);
	struct alb_time far = {253402300799, 0}; /* 9999-12-31T23:59:59Z */
	fds[k++] = subscribe(n, cmd_since(far), "subscribed");
	writef(w, "marker\n");
	expect_line(probe, n, "marker", NULL);
	for (size_t i = 0; i < k; i++) {
		expect_line(fds[i], n, "marker", NULL);
		close(fds[i]);
	}
	close(probe);
	close(w);
	close(vfd);
	daemon_stop();
}

/* ---- limits ---------------------------------------------------------------- */

/* Exactly max-subscribers: the sixth drops the first (Albatross keeps
 * six, spec §12.5 5a). */
static void test_subscriber_limit(void **state)
{
	(void)state;
	daemon_start(NULL, NULL);
	const char *n = ":lim";
	int vfd = conn();
	add_console(vfd, n, ROOT_RINGS);
	int s[6];
	for (int i = 0; i < 5; i++)
		s[i] = subscribe(n, cmd_count(0), "subscribed");
	int w = writer_open(n);
	writef(w, "five\n");
	for (int i = 0; i < 5; i++)
		expect_line(s[i], n, "five", NULL);
	s[5] = subscribe(n, cmd_count(0), "subscribed");
	expect_eof(s[0]);
	writef(w, "six\n");
	for (int i = 1; i < 6; i++)
		expect_line(s[i], n, "six", NULL);
	for (int i = 0; i < 6; i++)
		close(s[i]);
	close(w);
	close(vfd);
	daemon_stop();

	daemon_start("--max-subscribers", "1");
	vfd = conn();
	add_console(vfd, n, ROOT_RINGS);
	int a = subscribe(n, cmd_count(0), "subscribed");
	int b = subscribe(n, cmd_count(0), "subscribed");
	expect_eof(a);
	w = writer_open(n);
	writef(w, "one\n");
	expect_line(b, n, "one", NULL);
	close(a);
	close(b);
	close(w);
	close(vfd);
	daemon_stop();
}

/* Runs alb-consoled with args; returns its exit status and its stderr. */
static int run_cli(const char *a1, const char *a2, const char *a3, char *err,
		   size_t size)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	char exe[512];
	exe_path("alb-consoled", exe, sizeof(exe));
	const char *argv[] = {exe, a1, a2, a3, NULL};
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		dup2(p[1], 1);
		execv(exe, (char *const *)argv);
		test_child_exit(127);
	}
	close(p[1]);
	size_t off = 0;
	ssize_t r;
	while (off + 1 < size && (r = read(p[0], err + off, size - 1 - off)) > 0)
		off += (size_t)r;
	err[off] = '\0';
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_cli_options(void **state)
{
	(void)state;
	char out[1024];
	assert_int_equal(run_cli("--max-subscribers", "0", NULL, out, sizeof(out)), 124);
	assert_non_null(strstr(out, "max subscribers must be greater than or equal to 1"));
	assert_int_equal(run_cli("--max-subscribers", "1", "--version", out, sizeof(out)), 0);
	assert_int_equal(run_cli("--max-subscribers", "1024", "--version", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "protocol version 5"));
	assert_int_equal(run_cli("--max-subscribers", "1025", "--version", out, sizeof(out)),
			 124);
	assert_int_equal(run_cli("--max-subscribers", "-1", NULL, out, sizeof(out)), 124);
	assert_int_equal(run_cli("--max-subscribers", "five", NULL, out, sizeof(out)), 124);
	assert_non_null(strstr(out, "expected an integer"));
	assert_int_equal(run_cli("--no-such-option", NULL, NULL, out, sizeof(out)), 124);
	assert_int_equal(run_cli("--help", NULL, NULL, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "--max-subscribers"));
}

/* --systemd-socket-activation: the daemon serves the socket it is given
 * as fd 3 (and nothing else when the variables do not match). */
static void test_systemd_socket(void **state)
{
	(void)state;
	memset(&D, 0, sizeof(D));
	D.seq = 1;
	snprintf(D.dir, sizeof(D.dir), "/tmp/alb-consoled-XXXXXX");
	assert_non_null(mkdtemp(D.dir));
	snprintf(D.sock, sizeof(D.sock), "%s/activated.sock", D.dir);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, D.sock, strlen(D.sock));
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	char exe[512];
	exe_path("alb-consoled", exe, sizeof(exe));
	for (int good = 0; good < 2; good++) {
		fflush(stdout);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char me[32];
			snprintf(me, sizeof(me), "%d", good ? (int)getpid() : 1);
			setenv("LISTEN_PID", me, 1);
			setenv("LISTEN_FDS", "1", 1);
			dup2(lfd, 3);
			execl(exe, exe, "--systemd-socket-activation", "--tmpdir", D.dir,
			      (char *)NULL);
			test_child_exit(127);
		}
		if (!good) {
			/* LISTEN_PID is not the daemon's: it refuses to start. */
			int st;
			assert_int_equal(waitpid(pid, &st, 0), pid);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
			continue;
		}
		D.pid = pid;
	}
	close(lfd);
	char names[64];
	assert_int_equal(list_inactive(":", names, sizeof(names)), 0);
	/* It did not bind <tmpdir>/util/console.sock. */
	char own[ALB_SOCKET_PATH_BUF];
	snprintf(own, sizeof(own), "%s/util/console.sock", D.dir);
	assert_int_equal(access(own, F_OK), -1);
	daemon_stop();
}

/* Waiting for a VM, a restart that keeps history and subscribers. */
static void test_waiting_and_restart(void **state)
{
	(void)state;
	daemon_start(NULL, NULL);
	const char *n = "t:later";
	int early = subscribe(n, cmd_count(5), "waiting for VM");
	int vfd = conn();
	add_console(vfd, n, 1);
	int w = writer_open(n);
	writef(w, "first\n");
	expect_line(early, n, "first", NULL);
	close(w);
	wait_inactive("t:", ":later");
	/* The unikernel restarts: same ring, same subscriber. */
	add_console(vfd, n, 1);
	wait_inactive("t:", "");
	w = writer_open(n);
	writef(w, "second\n");
	expect_line(early, n, "second", NULL);
	int again = subscribe(n, cmd_count(10), "subscribed");
	expect_line(again, n, "first", NULL);
	expect_line(again, n, "second", NULL);
	/* An unfinished line is lost when the writer goes. */
	writef(w, "unfinished");
	close(w);
	wait_inactive("t:", ":later");
	close(again);
	close(early);
	close(vfd);
	daemon_stop();
}

/* Listing, the path limit (spec §7.5), and the error replies. */
static void test_inactive_and_path_limit(void **state)
{
	(void)state;
	daemon_start(NULL, NULL);
	int vfd = conn();
	add_console(vfd, "p:a", 2);
	add_console(vfd, "p:b", 2);
	add_console(vfd, ":root", ROOT_RINGS);
	close(writer_open("p:a"));
	close(writer_open("p:b"));
	close(writer_open(":root"));
	/* Upstream's order: the reverse of the trie fold. */
	wait_inactive("p:", ":b :a");
	wait_inactive(":", ":root p:b p:a");
	/* A third console on p: drops the inactive one with the smallest
	 * label, with its subscribers. */
	int sub_a = subscribe("p:a", cmd_count(1), "subscribed");
	add_console(vfd, "p:c", 2);
	expect_eof(sub_a);
	close(sub_a);
	wait_inactive("p:", ":b");
	/* Subscribing to a new label of a full path may drop the new entry
	 * itself (it is inactive and smallest): upstream closes it. */
	int sub_0 = conn();
	struct alb_command c = cmd_count(1);
	send_cmd(sub_0, "p:0", 0, &c);
	expect_eof(sub_0);
	close(sub_0);
	/* Errors. */
	int fd = conn();
	c = cmd_list();
	send_cmd(fd, "p:b", 0, &c);
	assert_reply_failure(fd, "name used");
	expect_eof(fd);
	close(fd);
	fd = conn();
	c = cmd_add(1);
	send_cmd(fd, "p:", 0, &c);
	assert_reply_failure(fd, "path used instead of name");
	expect_eof(fd);
	close(fd);
	fd = conn();
	c = cmd_count(1);
	send_cmd(fd, "p:", 0, &c);
	assert_reply_failure(fd, "path used instead of name");
	expect_eof(fd);
	close(fd);
	/* A FIFO that does not exist, or a file that is no FIFO: "opening",
	 * and the connection goes on. */
	c = cmd_add(1);
	send_cmd(vfd, "p:nofifo", 77, &c);
	assert_reply_failure(vfd, "opening");
	char path[256];
	fifo_path("p:plain", path, sizeof(path));
	int pf = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(pf >= 0);
	close(pf);
	send_cmd(vfd, "p:plain", 78, &c);
	assert_reply_failure(vfd, "opening");
	add_console(vfd, "q:ok", 1);
	/* Anything else closes without a reply. */
	fd = conn();
	struct alb_command info;
	memset(&info, 0, sizeof(info));
	info.kind = ALB_CMD_UNIKERNEL_INFO;
	send_cmd(fd, ":", 0, &info);
	expect_eof(fd);
	close(fd);
	fd = conn();
	assert_int_equal(alb_frame_write_fd(fd, (const uint8_t *)"\x30\x03\x02\x01\x05", 5,
					    NULL), 0);
	expect_eof(fd);
	close(fd);
	/* A frame one past the limit is refused before its bytes arrive. */
	fd = conn();
	uint8_t hdr[4];
	assert_int_equal(alb_frame_header(hdr, ALB_CONSOLE_FRAME_MAX + 1, NULL), 0);
	write_all(fd, hdr, 4);
	expect_eof(fd);
	close(fd);
	/* One at the limit is read whole, then fails to decode. */
	fd = conn();
	uint8_t *big = calloc(1, ALB_CONSOLE_FRAME_MAX);
	assert_non_null(big);
	assert_int_equal(alb_frame_write_fd(fd, big, ALB_CONSOLE_FRAME_MAX, NULL), 0);
	free(big);
	expect_eof(fd);
	close(fd);
	/* An end-of-stream frame. */
	fd = conn();
	assert_int_equal(alb_frame_write_fd(fd, NULL, 0, NULL), 0);
	expect_eof(fd);
	close(fd);
	/* A subscriber that sends anything is done. */
	fd = subscribe("q:ok", cmd_count(0), "subscribed");
	write_all(fd, "x", 1);
	expect_eof(fd);
	close(fd);
	/* The daemon still serves. */
	wait_inactive("p:", ":b");
	close(vfd);
	daemon_stop();
}

/* ---- golden vectors and transcripts ------------------------------------------- */

/* A vector file of the set into out (an alb_buf of its own). */
static bool read_vector(const char *rel, struct alb_buf *out)
{
	size_t n;
	uint8_t *b = vec_read_at(vec_dir(), rel, &n);
	if (b == NULL)
		return false;
	memset(out, 0, sizeof(*out));
	out->data = b;
	out->len = n;
	out->base_ = b;
	out->cap_ = n;
	return true;
}

/* The vector the MANIFEST names name; false (and said) when the set has
 * none. */
static bool read_named(const char *name, struct alb_buf *out)
{
	struct vec_entry e;
	size_t n;
	uint8_t *b = vec_read_named(vec_dir(), name, &n, &e);
	free(b);
	return b != NULL && read_vector(e.file, out);
}

static void send_raw(int fd, const struct alb_buf *b)
{
	assert_int_equal(alb_frame_write_fd(fd, b->data, b->len, NULL), 0);
}

static void assert_same_bytes(const struct alb_buf *a, const struct alb_buf *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->data, b->data, a->len);
}

/* Our Console_data equals Albatross's message `vec` once the timestamp
 * (and the vector's sequence number, where it has one) are ours. Both are
 * compared as the encoder writes them decoded: a time within the first
 * millisecond of its second is written ".000" (as asn1-combinators
 * writes it) and read back as no fraction at all, so our bytes would be
 * 4 longer than the vector's re-encoded with our decoded time (a CI run
 * met it, 1 message in 1,000). */
static void assert_data_like(const struct alb_buf *ours, const struct alb_buf *vec)
{
	struct alb_msg *o = decode(ours);
	struct alb_msg *v = decode(vec);
	assert_int_equal(o->kind, ALB_PAYLOAD_DATA);
	assert_int_equal(v->kind, ALB_PAYLOAD_DATA);
	v->u.data.u.console.time = o->u.data.u.console.time;
	v->header.sequence = 0;
	struct alb_buf re = {0}, ours_re = {0};
	assert_int_equal(alb_msg_encode(v, 0, &re, NULL), 0);
	assert_int_equal(alb_msg_encode(o, 0, &ours_re, NULL), 0);
	assert_same_bytes(&ours_re, &re);
	alb_buf_free(&re);
	alb_buf_free(&ours_re);
	alb_msg_free(o);
	alb_msg_free(v);
}

/* The reply to a vector command: the request's header, byte for byte. */
static void assert_reply_header(const struct alb_buf *reply, const struct alb_buf *req)
{
	struct alb_msg *q = decode(req);
	struct alb_msg *r = decode(reply);
	assert_int_equal(r->header.sequence, q->header.sequence);
	assert_string_equal(r->header.name, q->header.name);
	/* The header TLV follows the outer SEQUENCE's 2-byte head in both. */
	size_t hlen = 2 + (size_t)req->data[3];
	assert_memory_equal(reply->data + 2, req->data + 2, hlen);
	alb_msg_free(q);
	alb_msg_free(r);
}

/* A Console_subscribe of the vectors and the number of the two history
 * lines its count or time selects. */
struct sub_vector {
	struct alb_buf req;
	size_t lines;
};

/* Every accepted wire vector of the MANIFEST that is a Console_subscribe,
 * with what it selects of two lines written just now. */
static struct sub_vector *subscribe_vectors(size_t *n_out)
{
	struct vec_entry *v;
	size_t n = vec_manifest(vec_dir(), &v), k = 0;
	struct sub_vector *subs = calloc(n + 1, sizeof(*subs));
	assert_non_null(subs);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t i = 0; i < n; i++) {
		struct alb_buf b;
		if (strcmp(v[i].kind, "wire") != 0 || strcmp(v[i].expect, "error") == 0 ||
		    !read_vector(v[i].file, &b))
			continue;
		struct alb_msg *m = decode(&b);
		const struct alb_command *c = &m->u.command;
		if (m->kind != ALB_PAYLOAD_COMMAND || c->kind != ALB_CMD_CONSOLE_SUBSCRIBE) {
			alb_msg_free(m);
			alb_buf_free(&b);
			continue;
		}
		if (c->u.subscribe.since)
			subs[k].lines = c->u.subscribe.time.sec <= now.tv_sec ? 2 : 0;
		else
			subs[k].lines = c->u.subscribe.count <= 0 ? 0
					: c->u.subscribe.count < 2 ? (size_t)c->u.subscribe.count
								  : 2;
		subs[k++].req = b;
		alb_msg_free(m);
	}
	free(v);
	*n_out = k;
	return subs;
}

static void test_vectors(void **state)
{
	(void)state;
	struct alb_buf add, v[2];
	if (!read_named("cmd_console_add", &add) || !read_named("data_console", &v[0]) ||
	    !read_named("data_console_frac", &v[1]))
		skip();
	size_t n_subs;
	struct sub_vector *subs = subscribe_vectors(&n_subs);
	char max_subs[32];
	snprintf(max_subs, sizeof(max_subs), "%zu", n_subs + 2);
	daemon_start("--max-subscribers", max_subs);
	const char *n = "a:b:c";
	char fifo[256];
	fifo_path(n, fifo, sizeof(fifo));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* Console_add as albatrossd sends it. */
	int vfd = conn();
	struct alb_buf req, rep;
	send_raw(vfd, &add);
	recv_raw(vfd, &rep);
	assert_reply_header(&rep, &add);
	struct alb_msg *m = decode(&rep);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_EMPTY);
	alb_msg_free(m);
	alb_buf_free(&add);
	alb_buf_free(&rep);
	/* the unikernel prints the lines of the two Console_data vectors */
	int probe = subscribe(n, cmd_count(0), "subscribed");
	int w = writer_open(n);
	for (size_t i = 0; i < 2; i++) {
		struct alb_msg *d = decode(&v[i]);
		struct alb_str l = d->u.data.u.console.line;
		assert_null(memchr(l.ptr, '\n', l.len));
		writef(w, "%.*s\n", (int)l.len, l.ptr);
		alb_msg_free(d);
	}
	struct alb_buf d1, d2;
	recv_raw(probe, &d1);
	recv_raw(probe, &d2);
	assert_data_like(&d1, &v[0]);
	assert_data_like(&d2, &v[1]);
	alb_buf_free(&d1);
	alb_buf_free(&d2);
	/* Every subscribe vector: the reply echoes its header; the history is
	 * the last lines its count or time selects. */
	int *fds = calloc(n_subs + 1, sizeof(*fds));
	assert_non_null(fds);
	for (size_t i = 0; i < n_subs; i++) {
		fds[i] = conn();
		send_raw(fds[i], &subs[i].req);
		recv_raw(fds[i], &rep);
		assert_reply_header(&rep, &subs[i].req);
		assert_reply_string(decode(&rep), n, "subscribed");
		alb_buf_free(&rep);
		for (size_t k = 2 - subs[i].lines; k < 2; k++) {
			recv_raw(fds[i], &d1);
			assert_data_like(&d1, &v[k]);
			alb_buf_free(&d1);
		}
	}
	struct alb_msg *first = decode(&v[0]);
	writef(w, "%.*s\n", (int)first->u.data.u.console.line.len,
	       first->u.data.u.console.line.ptr);
	alb_msg_free(first);
	for (size_t i = 0; i < n_subs; i++) {
		recv_raw(fds[i], &d1);
		assert_data_like(&d1, &v[0]);
		alb_buf_free(&d1);
		close(fds[i]);
		alb_buf_free(&subs[i].req);
	}
	printf("%zu Console_subscribe vectors served\n", n_subs);
	free(fds);
	free(subs);
	alb_buf_free(&v[0]);
	alb_buf_free(&v[1]);
	close(w);
	wait_inactive("a:b:", ":c");
	/* List_inactive for a:b: as the vector asks. */
	if (read_named("cmd_console_list_inactive", &req)) {
		int lfd = conn();
		send_raw(lfd, &req);
		recv_raw(lfd, &rep);
		assert_reply_header(&rep, &req);
		m = decode(&rep);
		assert_int_equal(m->u.success.kind, ALB_REPLY_CONSOLES);
		assert_int_equal(m->u.success.u.consoles.n, 1);
		assert_string_equal(m->u.success.u.consoles.v[0], ":c");
		alb_msg_free(m);
		alb_buf_free(&req);
		alb_buf_free(&rep);
		expect_eof(lfd);
		close(lfd);
	}
	close(probe);
	close(vfd);
	daemon_stop();
}

/* Real albatross-client traffic (transcripts 18 and 20) replayed: our
 * replies equal albatross-console's byte for byte (timestamps aside). */
static void test_transcripts(void **state)
{
	(void)state;
	struct alb_buf req, rep, vec;
	if (!read_vector("transcripts/18-console-count/01-001-c2s.der", &req))
		skip();
	daemon_start(NULL, NULL);
	int vfd = conn();
	add_console(vfd, "tenant:hello", 2);
	add_console(vfd, "tenant:spt", 2);
	int probe = subscribe("tenant:hello", cmd_count(0), "subscribed");
	int w = writer_open("tenant:hello");
	for (int i = 1; i <= 7; i++)
		writef(w, "fake unikernel output line %d\n", i);
	expect_lines(probe, "tenant:hello", "fake unikernel output line", 1, 8);
	int fd = conn();
	send_raw(fd, &req);
	recv_raw(fd, &rep);
	assert_true(read_vector("transcripts/18-console-count/01-002-s2c.der", &vec));
	assert_same_bytes(&rep, &vec);
	alb_buf_free(&rep);
	alb_buf_free(&vec);
	alb_buf_free(&req);
	for (int i = 3; i <= 9; i++) {
		if (i == 5)
			for (int l = 8; l <= 12; l++)
				writef(w, "fake unikernel output line %d\n", l);
		char file[128];
		snprintf(file, sizeof(file), "transcripts/18-console-count/01-%03d-s2c.der", i);
		assert_true(read_vector(file, &vec));
		recv_raw(fd, &rep);
		assert_data_like(&rep, &vec);
		alb_buf_free(&rep);
		alb_buf_free(&vec);
	}
	close(fd);
	close(probe);
	close(w);
	close(writer_open("tenant:spt"));
	wait_inactive(":", "tenant:spt tenant:hello");
	if (!read_vector("transcripts/20-inactive-consoles/01-001-c2s.der", &req)) {
		printf("transcript 20-inactive-consoles is not in this vector set\n");
		close(vfd);
		daemon_stop();
		return;
	}
	fd = conn();
	send_raw(fd, &req);
	recv_raw(fd, &rep);
	assert_true(read_vector("transcripts/20-inactive-consoles/01-002-s2c.der", &vec));
	assert_same_bytes(&rep, &vec);
	expect_eof(fd);
	close(fd);
	alb_buf_free(&req);
	alb_buf_free(&rep);
	alb_buf_free(&vec);
	close(vfd);
	daemon_stop();
}

/* ---- alb-info console and inactive-consoles ------------------------------ */

/* Starts `alb-info ARGS...` with stdout to a pipe; returns its pid and
 * the read end in *out. */
static pid_t spawn_info(const char *const *args, int *out)
{
	char exe[512];
	exe_path("alb-info", exe, sizeof(exe));
	const char *argv[16] = {exe};
	size_t n = 1;
	for (; args[n - 1] != NULL && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(exe, (char *const *)argv);
		test_child_exit(127);
	}
	close(p[1]);
	*out = p[0];
	return pid;
}

/* Reads one line (without its newline) from fd, a byte at a time. */
static void read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		assert_int_equal(r, 1);
		if (c == '\n')
			break;
		assert_true(n + 1 < size);
		buf[n++] = c;
	}
	buf[n] = '\0';
}

/* "<RFC 3339 time> <line>" with a time of this day or the next. */
static void assert_console_output(const char *got, const char *line)
{
	struct alb_time now = now_ms();
	time_t s = (time_t)now.sec;
	struct tm tm;
	gmtime_r(&s, &tm);
	char day[16];
	strftime(day, sizeof(day), "%Y-%m-", &tm);
	assert_memory_equal(got, day, strlen(day));
	const char *sp = strchr(got, ' ');
	assert_non_null(sp);
	assert_int_equal(sp[-1], 'Z');
	assert_int_equal(got[10], 'T');
	assert_string_equal(sp + 1, line);
}

static void test_alb_info(void **state)
{
	(void)state;
	char exe[512];
	exe_path("alb-info", exe, sizeof(exe));
	if (access(exe, X_OK) != 0)
		skip();
	daemon_start(NULL, NULL);
	const char *n = "tenant:hello";
	int vfd = conn();
	add_console(vfd, n, 2);
	int probe = subscribe(n, cmd_count(0), "subscribed");
	int w = writer_open(n);
	/* A control character is escaped, never sent to the terminal. */
	writef(w, "one\ntwo\nthree \x1b[31mred\n");
	expect_line(probe, n, "one", NULL);
	expect_line(probe, n, "two", NULL);
	expect_line(probe, n, "three \x1b[31mred", NULL);
	int out;
	const char *args[] = {"console", n, "--count", "2", "--tmpdir", D.dir, "-q", NULL};
	pid_t pid = spawn_info(args, &out);
	char got[1024];
	read_line(out, got, sizeof(got));
	assert_console_output(got, "two");
	read_line(out, got, sizeof(got));
	assert_console_output(got, "three \\x1b[31mred");
	/* Then it follows. */
	writef(w, "four\n");
	read_line(out, got, sizeof(got));
	assert_console_output(got, "four");
	kill(pid, SIGTERM);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(out);
	/* --since a date, and JSON lines. */
	const char *args2[] = {"console", n, "--since", "2000-01-01", "--json", "--tmpdir",
			       D.dir, NULL};
	pid = spawn_info(args2, &out);
	read_line(out, got, sizeof(got));
	assert_non_null(strstr(got, "\"subscribed\""));
	static const char *const json[] = {"\"one\"", "\"two\"",
					   "\"three \\u001b[31mred\"", "\"four\""};
	for (int i = 0; i < 4; i++) {
		read_line(out, got, sizeof(got));
		assert_int_equal(got[0], '{');
		assert_non_null(strstr(got, "\"tenant:hello\""));
		if (strstr(got, json[i]) == NULL)
			fail_msg("JSON line %d lacks %s: %s", i, json[i], got);
	}
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(out);
	/* inactive-consoles, once the unikernel stopped. */
	close(w);
	wait_inactive(":", "tenant:hello");
	const char *args3[] = {"inactive-consoles", "--tmpdir", D.dir, NULL};
	pid = spawn_info(args3, &out);
	read_line(out, got, sizeof(got));
	assert_string_equal(got, "tenant:hello");
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(out);
	const char *args4[] = {"inactive-consoles", "-p", "tenant", "--tmpdir", D.dir, NULL};
	pid = spawn_info(args4, &out);
	read_line(out, got, sizeof(got));
	assert_string_equal(got, ":hello");
	assert_int_equal(waitpid(pid, &st, 0), pid);
	close(out);
	/* A failure reply: exit 117. */
	const char *args5[] = {"console", "tenant:", "--tmpdir", D.dir, NULL};
	pid = spawn_info(args5, &out);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 117);
	close(out);
	close(probe);
	close(vfd);
	daemon_stop();
}

/* ---- albd, alb-consoled and a real virtual machine ------------------------ */

/* Reads one line from fd within timeout_ms; false on timeout or EOF. */
static bool read_line_within(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t n = 0;
	int64_t end = monotonic_us() + (int64_t)timeout_ms * 1000;
	for (;;) {
		int left = (int)((end - monotonic_us()) / 1000);
		struct pollfd pfd = {fd, POLLIN, 0};
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		char c;
		if (read(fd, &c, 1) != 1)
			return false;
		if (c == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return true;
}

/* Starts a program of the build with up to four arguments; stdout to
 * *out when out is not NULL. */
static pid_t spawn(const char *prog, const char *a1, const char *a2,
		   const char *a3, const char *a4, int *out)
{
	char exe[512];
	exe_path(prog, exe, sizeof(exe));
	int p[2] = {-1, -1};
	if (out != NULL && pipe(p) != 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (out != NULL) {
			dup2(p[1], 1);
			close(p[0]);
		}
		execl(exe, exe, a1, a2, a3, a4, (char *)NULL);
		test_child_exit(127);
	}
	if (out != NULL) {
		close(p[1]);
		*out = p[0];
	}
	return pid;
}

static bool wait_socket(const char *path, int timeout_ms)
{
	for (int i = 0; i < timeout_ms / 10; i++) {
		struct alb_client *c = NULL;
		if (alb_client_connect(path, 1000, &c, NULL) == 0) {
			alb_client_close(c);
			return true;
		}
		usleep(10000);
	}
	return false;
}

static void stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* In a private network namespace: alb-consoled, then albd, a bridge,
 * examples/hello-unikernel created through albd (QEMU runs it), and
 * `alb-info console` shows its greeting with a timestamp. */
static int e2e_body(void)
{
	char kernel[512], qemu[ALB_TENDER_PATH_MAX];
	snprintf(kernel, sizeof(kernel), "%s/examples/hello-unikernel/hello.elf",
		 build_root());
	FILE *f = fopen(kernel, "rb");
	if (f == NULL || alb_tender_lookup(ALB_TENDER_QEMU, 1, "/nonexistent", qemu,
					   NULL) != 0) {
		printf("skipped: no qemu-system-x86_64 or no %s\n", kernel);
		if (f != NULL)
			fclose(f);
		return SKIP_STATUS;
	}
	static uint8_t elf[4 << 20];
	size_t elf_len = fread(elf, 1, sizeof(elf), f);
	fclose(f);
	struct alb_net *net = NULL;
	if (alb_net_new(&net, NULL) != 0 || alb_bridge_create(net, "br0", NULL) != 0) {
		printf("skipped: cannot make a bridge\n");
		alb_net_free(net);
		return SKIP_STATUS;
	}
	alb_net_free(net);
	char root[64], tmpdir[96], dbdir[96], tmparg[128], dbarg[128];
	snprintf(root, sizeof(root), "/tmp/alb-e2e-XXXXXX");
	if (mkdtemp(root) == NULL)
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "%s/run", root);
	snprintf(dbdir, sizeof(dbdir), "%s/db", root);
	snprintf(tmparg, sizeof(tmparg), "--tmpdir=%s", tmpdir);
	snprintf(dbarg, sizeof(dbarg), "--dbdir=%s", dbdir);
	mkdir(tmpdir, 0755);
	mkdir(dbdir, 0755);
	char csock[ALB_SOCKET_PATH_BUF], vsock[ALB_SOCKET_PATH_BUF];
	alb_endpoint_socket_path(tmpdir, ALB_ENDPOINT_CONSOLE, csock, NULL);
	alb_endpoint_socket_path(tmpdir, ALB_ENDPOINT_VMMD, vsock, NULL);
	int status = 1;
	pid_t info = -1, albd = -1;
	int out = -1;
	pid_t consoled = spawn("alb-consoled", "--tmpdir", tmpdir, NULL, NULL, NULL);
	if (!wait_socket(csock, 10000)) {
		printf("e2e: alb-consoled does not listen\n");
		goto done;
	}
	albd = spawn("albd", tmparg, dbarg, NULL, NULL, NULL);
	if (!wait_socket(vsock, 10000)) {
		printf("e2e: albd does not listen\n");
		goto done;
	}
	struct alb_command c;
	memset(&c, 0, sizeof(c));
	c.kind = ALB_CMD_UNIKERNEL_CREATE;
	int64_t cpu = 0;
	struct alb_net_dev nd = {{"service", 7}, {"br0", 3}, false, {0}};
	struct alb_str args[] = {{"--seconds=2", 11}, {"--exit=0", 8}};
	c.u.create.typ = ALB_TYP_SOLO5;
	c.u.create.image = (struct alb_bytes){elf, elf_len};
	c.u.create.add_name = true;
	c.u.create.n_cpuids = 1;
	c.u.create.cpuids = &cpu;
	c.u.create.memory = 32;
	c.u.create.numcpus = 1;
	c.u.create.n_bridges = 1;
	c.u.create.bridges = &nd;
	c.u.create.has_argv = true;
	c.u.create.n_argv = 2;
	c.u.create.argv = args;
	struct alb_client *cl = NULL;
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	if (alb_client_connect(vsock, 60000, &cl, &err) != 0 ||
	    alb_client_send(cl, ":hello", &c, NULL, NULL, &err) != 0 ||
	    alb_client_recv(cl, &m, &err) != 0 || m->kind != ALB_PAYLOAD_SUCCESS) {
		printf("e2e: create failed: %s%s\n", err.msg,
		       m != NULL && m->kind == ALB_PAYLOAD_FAILURE ? m->u.failure.ptr : "");
		alb_msg_free(m);
		alb_client_close(cl);
		goto done;
	}
	alb_msg_free(m);
	alb_client_close(cl);
	info = spawn("alb-info", "console", ":hello", "--tmpdir", tmpdir, &out);
	char line[1024];
	bool greeted = false;
	while (!greeted && read_line_within(out, line, sizeof(line), 60000)) {
		printf("e2e: alb-info console: %s\n", line);
		const char *sp = strchr(line, ' ');
		greeted = sp != NULL && sp - line >= 20 && line[10] == 'T' && sp[-1] == 'Z' &&
			  strcmp(sp + 1, "Hello from albatross hello-unikernel") == 0;
	}
	if (!greeted) {
		printf("e2e: no greeting from the unikernel\n");
		goto done;
	}
	/* It exits after its ticks: its console becomes inactive. */
	bool listed = false;
	for (int i = 0; i < 600 && !listed; i++) {
		int lo;
		pid_t l = spawn("alb-info", "inactive-consoles", "--tmpdir", tmpdir, NULL, &lo);
		listed = read_line_within(lo, line, sizeof(line), 5000) &&
			 strcmp(line, ":hello") == 0;
		waitpid(l, NULL, 0);
		close(lo);
		if (!listed)
			usleep(100000);
	}
	if (!listed) {
		printf("e2e: :hello never became inactive\n");
		goto done;
	}
	status = 0;
done:
	stop(info);
	if (out >= 0)
		close(out);
	stop(albd);
	stop(consoled);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("e2e: cannot remove %s\n", root);
	return status;
}

static void test_albd_qemu(void **state)
{
	(void)state;
	char exe[512];
	exe_path("albd", exe, sizeof(exe));
	if (access(exe, X_OK) != 0) {
		printf("skipped: albd is not built\n");
		skip();
	}
	int st = run_in_netns(e2e_body);
	if (st == SKIP_STATUS)
		skip();
	assert_int_equal(st, 0);
}

/* ---- memory ------------------------------------------------------------------ */

/* Reads frames from fd until one contains `end`; counts them. */
struct drain {
	int fd;
	const char *end;
	uint64_t frames;
	uint64_t bytes;
};

static void *drain_thread(void *arg)
{
	struct drain *d = arg;
	static uint8_t buf[1 << 16];
	size_t have = 0;
	for (;;) {
		ssize_t r = read(d->fd, buf + have, sizeof(buf) - have);
		if (r <= 0)
			return NULL;
		have += (size_t)r;
		d->bytes += (uint64_t)r;
		size_t off = 0;
		while (have - off >= 4) {
			size_t len = ((size_t)buf[off] << 24) | ((size_t)buf[off + 1] << 16) |
				     ((size_t)buf[off + 2] << 8) | buf[off + 3];
			if (have - off - 4 < len)
				break;
			__atomic_add_fetch(&d->frames, 1, __ATOMIC_RELAXED);
			if (memmem(buf + off + 4, len, d->end, strlen(d->end)) != NULL)
				return NULL;
			off += 4 + len;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
}

/* 100 MB of console output, a subscriber that reads it all and one that
 * reads nothing: the daemon's memory stays bounded and the idle
 * subscriber is dropped. */
static void test_memory_100mb(void **state)
{
	(void)state;
	daemon_start(NULL, NULL);
	const char *n = ":chatty";
	int vfd = conn();
	add_console(vfd, n, ROOT_RINGS);
	int reader = subscribe(n, cmd_count(0), "subscribed");
	int idle = subscribe(n, cmd_count(0), "subscribed");
	long rss0 = proc_kb("VmRSS");
	struct drain d = {reader, "THE END", 0, 0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, drain_thread, &d), 0);
	int w = writer_open(n);
	static char chunk[1 << 16];
	/* Lines of 100 bytes, and now and then one of 3000 without newline
	 * (cut, then dropped up to its end). */
	size_t off = 0;
	while (off + 100 <= sizeof(chunk)) {
		memset(chunk + off, 'a' + (char)(off / 100 % 26), 99);
		chunk[off + 99] = '\n';
		off += 100;
	}
	static char longline[3001];
	memset(longline, 'L', 3000);
	longline[3000] = '\n';
	uint64_t total = 0;
	long peak_seen = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t lines = 0;
	int idle_history = -1;
	for (int i = 0; total < 100u * 1000u * 1000u; i++) {
		write_all(w, chunk, off);
		total += off;
		lines += off / 100;
		if (i % 64 == 0) {
			write_all(w, longline, sizeof(longline));
			total += sizeof(longline);
			lines++;
			long rss = proc_kb("VmRSS");
			if (rss > peak_seen)
				peak_seen = rss;
		}
		/* A reader is dropped when it falls ALB_CONSOLE_PENDING_MAX
		 * behind: this one keeps within a few hundred KiB. */
		if (i % 4 == 3)
			while (__atomic_load_n(&d.frames, __ATOMIC_RELAXED) + 1000 < lines)
				usleep(100);
		/* A ring of long lines, and one more subscriber that asks for
		 * all of it (more than the socket takes) and reads nothing: it
		 * is dropped when the ring overtakes it. */
		if (i == 8) {
			static char wide[500];
			memset(wide, 'w', sizeof(wide) - 1);
			wide[sizeof(wide) - 1] = '\n';
			for (int k = 0; k < ALB_CONSOLE_RING_LINES; k++)
				write_all(w, wide, sizeof(wide));
			lines += ALB_CONSOLE_RING_LINES;
			total += sizeof(wide) * ALB_CONSOLE_RING_LINES;
			while (__atomic_load_n(&d.frames, __ATOMIC_RELAXED) < lines)
				usleep(100);
			idle_history = subscribe(n, cmd_count(ALB_CONSOLE_RING_LINES),
						 "subscribed");
		}
	}
	writef(w, "THE END\n");
	assert_int_equal(pthread_join(th, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* The idle subscriber was dropped: what it can still read is what the
	 * kernel and the daemon had taken before, then EOF. */
	uint64_t idle_bytes = 0;
	static uint8_t sink[1 << 16];
	ssize_t r;
	while ((r = read(idle, sink, sizeof(sink))) > 0)
		idle_bytes += (uint64_t)r;
	assert_int_equal(r, 0);
	uint64_t history_bytes = 0;
	while ((r = read(idle_history, sink, sizeof(sink))) > 0)
		history_bytes += (uint64_t)r;
	assert_int_equal(r, 0);
	long hwm = proc_kb("VmHWM");
	long rss1 = proc_kb("VmRSS");
	printf("100 MB test: %.1f MB in %.2f s (%.0f MB/s), %llu frames to the reader; "
	       "idle subscribers got %llu (live) and %llu (history) bytes then EOF; "
	       "daemon RSS %ld KiB before, "
	       "%ld KiB peak seen, %ld KiB after, VmHWM %ld KiB (bound %d KiB)\n",
	       (double)total / 1e6, secs, (double)total / 1e6 / secs,
	       (unsigned long long)d.frames, (unsigned long long)idle_bytes,
	       (unsigned long long)history_bytes, rss0,
	       peak_seen, rss1, hwm, RSS_BOUND_100MB_KB);
	assert_true(d.frames > 900000);
	assert_true(idle_bytes < ALB_CONSOLE_PENDING_MAX + 8u * 1024u * 1024u);
	assert_true(history_bytes < ALB_CONSOLE_PENDING_MAX + 8u * 1024u * 1024u);
	close(idle_history);
	assert_true(hwm < RSS_BOUND_100MB_KB);
	close(idle);
	close(reader);
	close(w);
	close(vfd);
	daemon_stop();
}

/* 1,000 root-level unikernels (no path limit) that each print 2,000 lines
 * and stop: the rings of stopped ones are evicted past
 * ALB_CONSOLE_INACTIVE_MAX, the daemon's memory stays bounded. */
static void test_many_writers(void **state)
{
	(void)state;
	daemon_start(NULL, NULL);
	int vfd = conn();
	static char chunk[2000 * 60];
	for (size_t i = 0; i < 2000; i++) {
		memset(chunk + i * 60, 'a' + (char)(i % 26), 59);
		chunk[i * 60 + 59] = '\n';
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 1000; i++) {
		char name[32];
		snprintf(name, sizeof(name), ":w%d", i);
		add_console(vfd, name, ROOT_RINGS);
		int w = writer_open(name);
		write_all(w, chunk, sizeof(chunk));
		close(w);
		char fifo[128];
		fifo_path(name, fifo, sizeof(fifo));
		unlink(fifo);
	}
	/* Wait until the last one has stopped too. */
	char *names = malloc(1 << 20);
	assert_non_null(names);
	size_t kept = 0;
	for (int i = 0; i < 1000; i++) {
		kept = list_inactive(":", names, 1 << 20);
		if (strstr(names, ":w999") != NULL)
			break;
		usleep(10000);
	}
	assert_non_null(strstr(names, ":w999"));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(names);
	long hwm = proc_kb("VmHWM");
	long rss = proc_kb("VmRSS");
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("1000 writers: %.1f MB in %.2f s; %zu stopped consoles kept; daemon RSS "
	       "%ld KiB, VmHWM %ld KiB (bound %d KiB)\n",
	       1000.0 * sizeof(chunk) / 1e6, secs, kept, rss, hwm, RSS_BOUND_WRITERS_KB);
	assert_true(kept > 0);
	assert_true(kept < 1000);
	assert_true(hwm < RSS_BOUND_WRITERS_KB);
	close(vfd);
	daemon_stop();
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_cli_options, cleanup),
		cmocka_unit_test_teardown(test_history_and_live, cleanup),
		cmocka_unit_test_teardown(test_full_ring, cleanup),
		cmocka_unit_test_teardown(test_subscriber_limit, cleanup),
		cmocka_unit_test_teardown(test_systemd_socket, cleanup),
		cmocka_unit_test_teardown(test_waiting_and_restart, cleanup),
		cmocka_unit_test_teardown(test_inactive_and_path_limit, cleanup),
		cmocka_unit_test_teardown(test_vectors, cleanup),
		cmocka_unit_test_teardown(test_transcripts, cleanup),
		cmocka_unit_test_teardown(test_alb_info, cleanup),
		cmocka_unit_test_teardown(test_albd_qemu, cleanup),
		cmocka_unit_test_teardown(test_memory_100mb, cleanup),
		cmocka_unit_test_teardown(test_many_writers, cleanup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
