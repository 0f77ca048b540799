/* Fault injection: the console daemon goes away while albd's core writes
 * to it, in an embedding program that leaves SIGPIPE at its default
 * disposition (the core never raises SIGPIPE, vmmd.h). The core runs in a
 * child of the harness (h_start_core: SIGPIPE default) with unikernels
 * that write to their consoles (the fake tender's ticks):
 *  1. deterministically: a stand-in console daemon answers the first
 *     Console_add and then shuts its read side, so that the core's next
 *     Console_add (the next create) is written to a peer that can take no
 *     more: EPIPE, which raises SIGPIPE unless the write says MSG_NOSIGNAL.
 *     The core lives on, the create succeeds with a log file, and the
 *     core connects again (every VMMD_CONSOLE_RETRY_MS) and sends
 *     Console_add again for the unikernel whose console was taken;
 *  2. with the real alb-consoled: kill -9 of it between creates (each sends
 *     a Console_add), the consoles drained to <name>.log meanwhile, and
 *     alb-consoled back shows their new lines;
 *  3. the core shuts down cleanly (exit 0, not killed by a signal).
 * SPDX-License-Identifier: ISC */
#include <pthread.h>

#include "faults.h"

#define TICK_MS 20
#define CREATES 6
#define FAKE_CONNS 16

static struct harness H;

/* ---- a stand-in console daemon ---------------------------------------------- */

struct fake {
	int listen_fd;
	int fds[FAKE_CONNS];
	bool shut[FAKE_CONNS];  /* read side shut: no longer polled */
	int conns;              /* connections accepted so far */
	pthread_mutex_t lock;
	char first[ALB_NAME_BUF]; /* the first name added */
	int adds;               /* Console_add answered */
	int readds_first;       /* ... of `first` on a later connection */
	bool stop;
	pthread_t thread;
};

static struct fake F = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Answers one Console_add on connection i; the very first answer is
 * followed by shutdown(SHUT_RD): the core's next write there fails with
 * EPIPE. false when the connection is done. */
static bool fake_serve(int i)
{
	int fd = F.fds[i];
	struct alb_buf in = {0};
	struct alb_msg *m = NULL;
	if (alb_frame_read_fd(fd, 65536, &in, NULL) != 0 ||
	    alb_msg_decode(in.data, in.len, 0, &m, NULL) != 0) {
		alb_buf_free(&in);
		return false;
	}
	alb_buf_free(&in);
	bool ok = m->kind == ALB_PAYLOAD_COMMAND &&
		  m->u.command.kind == ALB_CMD_CONSOLE_ADD;
	/* the console is read, as alb-consoled does (our FIFO readers are
	 * closed with the test) */
	char fifo[H_PATH * 2 + ALB_NAME_BUF];
	snprintf(fifo, sizeof(fifo), "%s/fifo/%s", H.tmpdir, m->header.name);
	if (ok && open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC) < 0)
		ok = false;
	struct alb_msg r = {.kind = ALB_PAYLOAD_SUCCESS};
	r.header = m->header;
	r.u.success.kind = ALB_REPLY_EMPTY;
	struct alb_buf out = {0};
	if (ok && alb_msg_encode(&r, ALB_ENCODE_FRAMED, &out, NULL) == 0)
		ok = send(fd, out.data, out.len, MSG_NOSIGNAL) == (ssize_t)out.len;
	alb_buf_free(&out);
	pthread_mutex_lock(&F.lock);
	if (ok && F.adds++ == 0) {
		snprintf(F.first, sizeof(F.first), "%s", m->header.name);
		shutdown(fd, SHUT_RD);
		F.shut[i] = true;
	} else if (ok && i > 0 && strcmp(m->header.name, F.first) == 0) {
		F.readds_first++;
	}
	pthread_mutex_unlock(&F.lock);
	alb_msg_free(m);
	return ok;
}

static void *fake_run(void *arg)
{
	(void)arg;
	while (!F.stop) {
		struct pollfd p[FAKE_CONNS + 1];
		int idx[FAKE_CONNS + 1];
		int n = 0;
		p[n] = (struct pollfd){.fd = F.listen_fd, .events = POLLIN};
		idx[n++] = -1;
		for (int i = 0; i < F.conns; i++)
			if (F.fds[i] >= 0 && !F.shut[i]) {
				p[n] = (struct pollfd){.fd = F.fds[i], .events = POLLIN};
				idx[n++] = i;
			}
		if (poll(p, (nfds_t)n, 50) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (p[k].revents == 0)
				continue;
			if (idx[k] < 0) {
				int fd = accept4(F.listen_fd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0 && F.conns < FAKE_CONNS)
					F.fds[F.conns++] = fd;
				else if (fd >= 0)
					close(fd);
			} else if (!fake_serve(idx[k])) {
				close(F.fds[idx[k]]);
				F.fds[idx[k]] = -1;
			}
		}
	}
	return NULL;
}

static int fake_start(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	F.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (F.listen_fd < 0 || bind(F.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(F.listen_fd, 8) != 0) {
		perror("the stand-in console daemon");
		return -1;
	}
	return pthread_create(&F.thread, NULL, fake_run, NULL) == 0 ? 0 : -1;
}

static void fake_stop(const char *path)
{
	F.stop = true;
	pthread_join(F.thread, NULL);
	for (int i = 0; i < F.conns; i++)
		if (F.fds[i] >= 0)
			close(F.fds[i]);
	close(F.listen_fd);
	unlink(path);
}

/* ---- the test ------------------------------------------------------------------ */

static bool core_alive(void)
{
	int st;
	if (H.reaped)
		return false;
	if (waitpid(H.pid, &st, WNOHANG) != H.pid)
		return true;
	H.reaped = true;
	H.status = st;
	fprintf(stderr, "the core ended: %s %d\n",
		WIFSIGNALED(st) ? "signal" : "exit status",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return false;
}

static bool create(const char *name, uint32_t salt)
{
	struct h_uk u;
	f_uk_init(&u, false, NULL, NULL, salt, false);
	h_uk_arg(&u, "--ticks-ms=%d", TICK_MS);
	bool ok = h_call_is(&H, name, &u.cmd, "created unikernel");
	h_uk_free(&u);
	return ok;
}

static int body(void)
{
	if (f_world(&H, "sigpipe") != 0)
		return 1;
	char util[H_PATH * 2], csock[H_PATH * 3];
	snprintf(util, sizeof(util), "%s/util", H.tmpdir);
	snprintf(csock, sizeof(csock), "%s/console.sock", util);
	mkdir(util, 0755);
	/* the core first: no thread of ours runs when it is forked */
	if (h_start_core(&H, NULL) != 0) {
		fprintf(stderr, "the core did not start\n");
		return 1;
	}
	if (fake_start(csock) != 0)
		return 1;
	pid_t con = 0;

	/* 1. a Console_add written to a peer that shut its read side */
	F_CHECK(create(":a", 1), ":a");
	pid_t a = h_tender_of(&H, ":a");
	F_CHECK(a > 0, ":a has no tender");
	F_CHECK(create(":b", 2), ":b (its Console_add met EPIPE)");
	if (!core_alive()) {
		F_CHECK(false, "the core died writing to a peer that shut its "
			"read side");
		goto out;
	}
	pthread_mutex_lock(&F.lock);
	F_CHECK(strcmp(F.first, ":a") == 0 || strcmp(F.first, "a") == 0,
		"the first Console_add named '%s'", F.first);
	pthread_mutex_unlock(&F.lock);
	int readds = 0;
	for (int64_t end = h_now_us() + 5000000; readds == 0 && h_now_us() < end;
	     h_sleep_ms(20)) {
		pthread_mutex_lock(&F.lock);
		readds = F.readds_first;
		pthread_mutex_unlock(&F.lock);
	}
	F_CHECK(readds > 0, "no Console_add for :a again on a new connection");
	fake_stop(csock);

	/* 2. the real console daemon, killed between creates */
	con = f_start_helper(&H, "alb-consoled", "-q", "console.sock");
	char line[512];
	const char *args[] = {"console", ":a"};
	F_CHECK(f_info_shows(&H, args, 2, "fake-tender: tick", 0, 5000, line,
			     sizeof(line)),
		"alb-consoled does not show :a's console");
	for (int i = 0; i < CREATES; i++) {
		if (i == 2)
			f_kill(con, SIGKILL);
		char name[16];
		snprintf(name, sizeof(name), ":c%d", i);
		F_CHECK(create(name, 10 + (uint32_t)i), "%s", name);
		if (!core_alive()) {
			F_CHECK(false, "the core died after the create of %s", name);
			goto out;
		}
	}
	h_sleep_ms(1000);
	F_CHECK(core_alive(), "with alb-consoled dead");
	F_CHECK(h_tender_of(&H, ":a") == a, ":a's tender changed");
	long before = f_log_tick(&H, ":a");
	F_CHECK(before > 10, ":a: %ld ticks drained into its log file", before);
	con = f_start_helper(&H, "alb-consoled", "-q", "console.sock");
	F_CHECK(f_info_shows(&H, args, 2, "fake-tender: tick", before, 5000, line,
			     sizeof(line)),
		"alb-consoled back shows no tick of :a after %ld", before);

	/* 3. a clean shutdown */
	F_CHECK(core_alive(), "at the end");
	int st = h_stop(&H, SIGTERM);
	F_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		"the core ended with %s %d", WIFSIGNALED(st) ? "signal" : "status",
		WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	printf("sigpipe: a core with SIGPIPE at its default, a console daemon "
	       "that shut its read side, then a kill -9 of alb-consoled between "
	       "%d creates: %d failed checks\n", CREATES, f_failures);
	fflush(stdout);
out:
	if (!F.stop && F.listen_fd > 0)
		fake_stop(csock);
	h_stop(&H, SIGKILL);
	f_kill(con, SIGTERM);
	f_kill_tenders(&H);
	return f_failures == 0 ? 0 : 1;
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	return run_in_netns(body);
}
