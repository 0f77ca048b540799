/* Bounded clients on vmmd.sock with the real albd: 500 idle connections
 * and a client still gets its reply within 1 s; 4 clients that announce
 * 100 MiB frames and stall leave albd's RSS below a printed bound; the
 * socket is 0660 with the configured group, and a user outside that group
 * cannot connect while one inside it can (a throwaway user and group, made
 * and removed here). Root, in a private network namespace; skips (77)
 * otherwise.
 * SPDX-License-Identifier: ISC */
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "albd_harness.h"
#include "host_helpers.h"

#define IDLE_CONNS 500
#define REPLY_MS_MAX 1000
#define STALLERS 4
#define ANNOUNCED (100u * 1024u * 1024u)
/* What 4 stalled 100 MiB announcements may add to albd's RSS: their
 * buffers start at ALB_FRAME_BUF_MIN and grow only with what arrives. */
#define RSS_GROWTH_MAX_KIB (16u * 1024u)

static int raw_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static long rss_kib(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *s = h_read_file(path, NULL);
	if (s == NULL)
		return -1;
	char *p = strstr(s, "VmRSS:");
	long v = p != NULL ? strtol(p + 6, NULL, 10) : -1;
	free(s);
	return v;
}

static int64_t info_ms(const struct harness *h)
{
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_INFO};
	int64_t t0 = h_now_us();
	struct alb_msg *m = h_call(h, ".", &cmd);
	int64_t ms = (h_now_us() - t0) / 1000;
	bool ok = m != NULL && m->kind == ALB_PAYLOAD_SUCCESS;
	alb_msg_free(m);
	return ok ? ms : -1;
}

static void test_idle_connections(void **state)
{
	(void)state;
	struct harness h;
	assert_int_equal(h_setup(&h, "bounded-idle"), 0);
	assert_int_equal(h_start_albd(&h, NULL), 0);
	static int fds[IDLE_CONNS];
	int opened = 0;
	for (int i = 0; i < IDLE_CONNS; i++) {
		fds[i] = raw_connect(h.sock);
		if (fds[i] >= 0)
			opened++;
	}
	assert_int_equal(opened, IDLE_CONNS);
	h_sleep_ms(100);
	int64_t ms = info_ms(&h);
	printf("%d idle connections on vmmd.sock (limit %d): info answered in "
	       "%lld ms (bound %d ms)\n", IDLE_CONNS, ALB_VMMD_CONN_MAX,
	       (long long)ms, REPLY_MS_MAX);
	assert_true(ms >= 0);
	assert_true(ms < REPLY_MS_MAX);
	for (int i = 0; i < IDLE_CONNS; i++)
		close(fds[i]);
	assert_true(WIFEXITED(h_stop(&h, SIGTERM)));
	h_teardown(&h);
}

static void test_stalled_announcements(void **state)
{
	(void)state;
	struct harness h;
	assert_int_equal(h_setup(&h, "bounded-rss"), 0);
	assert_int_equal(h_start_albd(&h, NULL), 0);
	assert_true(info_ms(&h) >= 0);
	long before = rss_kib(h.pid);
	assert_true(before > 0);
	int fds[STALLERS];
	uint8_t head[4 + 1024];
	memset(head, 0x30, sizeof(head));
	alb_frame_header(head, ANNOUNCED, NULL);
	for (int i = 0; i < STALLERS; i++) {
		fds[i] = raw_connect(h.sock);
		assert_true(fds[i] >= 0);
		assert_int_equal(write(fds[i], head, sizeof(head)), (ssize_t)sizeof(head));
	}
	h_sleep_ms(300);
	long after = rss_kib(h.pid);
	printf("%d clients announcing %u MiB frames and stalling: albd RSS %ld KiB "
	       "before, %ld KiB after (bound: before + %u KiB)\n", STALLERS,
	       ANNOUNCED >> 20, before, after, RSS_GROWTH_MAX_KIB);
	assert_true(after - before < (long)RSS_GROWTH_MAX_KIB);
	/* and a client is still served */
	assert_true(info_ms(&h) >= 0);
	for (int i = 0; i < STALLERS; i++)
		close(fds[i]);
	assert_true(WIFEXITED(h_stop(&h, SIGTERM)));
	h_teardown(&h);
}

/* ---- socket mode and group ---------------------------------------------------- */

static char user[32], group[32];

static int run(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Whether uid (primary group gid, supplementary groups as given) may
 * connect to path: 0 yes, 1 EACCES, 2 anything else. */
static int try_connect_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
			  const char *path)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(n, groups) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
			_exit(3);
		int fd = raw_connect(path);
		_exit(fd >= 0 ? 0 : errno == EACCES ? 1 : 2);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 4;
}

static void test_socket_mode_group(void **state)
{
	(void)state;
	snprintf(user, sizeof(user), "albtu%d", (int)getpid() % 100000);
	snprintf(group, sizeof(group), "albtg%d", (int)getpid() % 100000);
	if (run("groupadd %s 2>/dev/null", group) != 0 ||
	    run("useradd -M -N -g nogroup -s /usr/sbin/nologin %s 2>/dev/null",
		user) != 0) {
		run("groupdel %s 2>/dev/null", group);
		skip();
	}
	struct passwd *pw = getpwnam(user);
	struct group *gr = getgrnam(group);
	assert_non_null(pw);
	assert_non_null(gr);
	uid_t uid = pw->pw_uid;
	gid_t ugid = pw->pw_gid, sgid = gr->gr_gid;

	struct harness h;
	assert_int_equal(h_setup(&h, "bounded-group"), 0);
	/* the user must reach the socket's directory */
	chmod(h.root, 0755);
	char arg[64];
	snprintf(arg, sizeof(arg), "--socket-group=%s", group);
	assert_int_equal(h_start_albd(&h, arg), 0);
	struct stat st;
	assert_int_equal(lstat(h.sock, &st), 0);
	printf("vmmd.sock: mode %04o, group %u (%s: %u)\n",
	       (unsigned)(st.st_mode & 07777), (unsigned)st.st_gid, group,
	       (unsigned)sgid);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, sgid);
	assert_int_equal(try_connect_as(uid, ugid, NULL, 0, h.sock), 1);
	assert_int_equal(try_connect_as(uid, ugid, &sgid, 1, h.sock), 0);
	assert_true(WIFEXITED(h_stop(&h, SIGTERM)));
	h_teardown(&h);
	run("userdel %s 2>/dev/null", user);
	run("groupdel %s 2>/dev/null", group);
	user[0] = group[0] = '\0';
}

static int body(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_connections),
		cmocka_unit_test(test_stalled_announcements),
		cmocka_unit_test(test_socket_mode_group),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (user[0] != '\0')
		run("userdel %s 2>/dev/null", user);
	if (group[0] != '\0')
		run("groupdel %s 2>/dev/null", group);
	return rc;
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	return run_in_netns(body);
}
