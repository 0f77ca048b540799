/* Fault injection: albd killed between the clone of a tender and its exec.
 * Until its exec the child of a spawn shares albd's memory, so its
 * /proc/PID/cmdline is albd's and the next albd's /proc scan cannot see
 * which unikernel it is about to run; it is named ALB_SPAWN_COMM
 * (host/spawn.h) from its birth to its exec (test_tender checks that of
 * alb_tender_spawn's child, stopped by ptrace before it runs).
 *
 * The window is made deterministic: two unikernels run under albd, albd
 * is killed -9, their runtime records are put back to stage spawn (what
 * albd writes just before the clone) and their tenders are replaced by
 * stand-ins of un-exec'd spawn children — named ALB_SPAWN_COMM, their
 * console FIFO as stdio, this test's command line — that exec the real
 * tender command line only when told. A third stand-in has /dev/null as
 * console (another daemon's spawn). The next albd must:
 *  - wait (logged) before it scans; the stand-in of :a, told to exec while
 *    albd waits, is then ADOPTED (one tender for :a, the stand-in's pid,
 *    not a second one started by the restore);
 *  - after VMMD_SPAWN_SETTLE_MS, KILL the stand-in of :b, which never
 *    execs and whose console is :b's FIFO, and start :b once;
 *  - leave the stand-in with /dev/null alone.
 * SPDX-License-Identifier: ISC */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "faults.h"
#include "host/spawn.h"

#define ARGS_MAX 64

static struct harness H;

/* A tender's command line, as an argv. */
struct cmd {
	char buf[8192];
	char *argv[ARGS_MAX + 1];
};

static bool cmd_of(pid_t pid, struct cmd *c)
{
	size_t len = h_cmdline(pid, c->buf, sizeof(c->buf));
	size_t n = 0;
	for (size_t i = 0; i < len && n < ARGS_MAX; i += strlen(c->buf + i) + 1)
		c->argv[n++] = c->buf + i;
	c->argv[n] = NULL;
	return n > 0;
}

/* Rewrites the runtime record <tmpdir>/running/<name>@* to stage spawn:
 * what albd left when it died between the record and the tender's pid. */
static bool record_to_spawn(const char *name)
{
	char dir[H_PATH * 2];
	snprintf(dir, sizeof(dir), "%s/running", H.tmpdir);
	DIR *d = opendir(dir);
	struct dirent *e;
	bool done = false;
	size_t nl = strlen(name);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, name, nl) != 0 || e->d_name[nl] != '@')
			continue;
		char path[H_PATH * 3];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *text = h_read_file(path, NULL);
		char *pid = text != NULL ? strstr(text, "\npid ") : NULL;
		if (pid == NULL || strncmp(text, "stage running\n", 14) != 0) {
			free(text);
			continue;
		}
		pid[1] = '\0';
		char out[8192];
		snprintf(out, sizeof(out), "stage spawn\n%s", text + 14);
		done = h_write_file(path, out, strlen(out)) == 0;
		free(text);
	}
	if (d != NULL)
		closedir(d);
	return done;
}

/* Waits until pid (not our child) is gone. */
static bool gone(pid_t pid, int timeout_ms)
{
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     h_now_us() < end; h_sleep_ms(5)) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
		char b;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, &b, 1) : 0;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return true;
	}
	return false;
}

/* Waits up to timeout_ms for our child pid to end; its status in *st. */
static bool reaped(pid_t pid, int *st, int timeout_ms)
{
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     h_now_us() < end; h_sleep_ms(5))
		if (waitpid(pid, st, WNOHANG) == pid)
			return true;
	return false;
}

/* A stand-in of a spawn child that has not exec'd. */
struct mimic {
	pid_t pid;
	int release; /* a byte: exec; closed without one: exit 0 */
};

static struct mimic mimic_start(const char *console, char *const *argv)
{
	int p[2];
	struct mimic m = {-1, -1};
	if (pipe2(p, O_CLOEXEC) != 0)
		return m;
	fflush(stdout);
	fflush(stderr);
	m.pid = fork();
	if (m.pid == 0) {
		prctl(PR_SET_NAME, ALB_SPAWN_COMM);
		/* a spawn child has albd's credentials: none of the
		 * capabilities albd drops at start (without CAP_SYS_PTRACE,
		 * albd may read the console of /proc/PID/fd/0 only of a
		 * process whose capabilities are within its own) */
		struct __user_cap_header_struct hd = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct cd[2] = {{0}};
		cd[0].effective = cd[0].permitted =
			(1u << CAP_KILL) | (1u << CAP_NET_ADMIN);
		if (syscall(SYS_capset, &hd, cd) != 0)
			_exit(126);
		close(p[1]);
		int fd = open(console, O_RDWR);
		for (int i = 0; i <= 2 && fd >= 0; i++)
			dup2(fd, i);
		char c;
		if (read(p[0], &c, 1) == 1)
			execv(argv[0], argv);
		_exit(0);
	}
	close(p[0]);
	m.release = p[1];
	return m;
}

/* albd with its messages in log, not waited for. */
static pid_t albd_start(const char *log)
{
	char exe[H_PATH], tmp[H_PATH + 16], db[H_PATH + 16];
	f_exe(exe, sizeof(exe), "albd");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", H.tmpdir);
	snprintf(db, sizeof(db), "--dbdir=%s", H.dbdir);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		execl(exe, exe, tmp, db, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool log_has(const char *log, const char *text, int timeout_ms)
{
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;;
	     h_sleep_ms(10)) {
		char *t = h_read_file(log, NULL);
		bool found = t != NULL && strstr(t, text) != NULL;
		free(t);
		if (found || h_now_us() >= end)
			return found;
	}
}

static int body(void)
{
	if (f_world(&H, "spawnrace") != 0)
		return 1;
	if (h_start_albd(&H, "-q") != 0) {
		fprintf(stderr, "albd did not start\n");
		return 1;
	}
	const char *names[2] = {":a", ":b"};
	struct cmd cmds[2];
	for (int i = 0; i < 2; i++) {
		struct h_uk u;
		f_uk_init(&u, false, i == 0 ? F_BR : NULL, NULL, (uint32_t)i, false);
		h_uk_arg(&u, "--ticks-ms=50");
		F_CHECK(h_call_is(&H, names[i], &u.cmd, "created unikernel"), "%s",
			names[i]);
		h_uk_free(&u);
		pid_t t = h_tender_of(&H, names[i]);
		F_CHECK(t > 0 && cmd_of(t, &cmds[i]), "%s has no tender", names[i]);
	}
	if (f_failures > 0)
		return 1;

	/* albd dies between the records and the exec of both tenders */
	h_stop(&H, SIGKILL);
	for (int i = 0; i < 2; i++) {
		pid_t t = h_tender_of(&H, names[i]);
		kill(t, SIGKILL);
		F_CHECK(gone(t, 5000), "%s: tender %d still there", names[i], (int)t);
		F_CHECK(record_to_spawn(names[i]), "%s: no running record", names[i]);
	}
	char fifo[2][H_PATH * 2];
	struct mimic m[3];
	for (int i = 0; i < 2; i++) {
		snprintf(fifo[i], sizeof(fifo[i]), "%s/fifo/%s", H.tmpdir, names[i]);
		m[i] = mimic_start(fifo[i], cmds[i].argv);
	}
	m[2] = mimic_start("/dev/null", cmds[0].argv);
	for (int i = 0; i < 3; i++)
		F_CHECK(m[i].pid > 0, "stand-in %d", i);

	/* the next albd waits for them before it scans /proc */
	char log[H_PATH * 2];
	snprintf(log, sizeof(log), "%s/albd.log", H.root);
	H.pid = albd_start(log);
	H.reaped = false;
	bool waited = log_has(log, "tender spawns (processes named", 10000);
	F_CHECK(waited, "albd did not wait for the un-exec'd spawns");
	/* :a's stand-in execs its tender now, while albd waits */
	F_CHECK(write(m[0].release, "x", 1) == 1, "release");
	F_CHECK(h_wait_socket(&H, 15000), "albd does not listen");

	/* :a: its tender adopted, not started again */
	pid_t pa[4];
	int na = h_tenders_of(&H, ":a", pa, 4);
	F_CHECK(na == 1 && pa[0] == m[0].pid,
		":a has %d tenders (first %d), the stand-in was %d", na,
		na > 0 ? (int)pa[0] : 0, (int)m[0].pid);
	char want[128];
	snprintf(want, sizeof(want), ":a: adopted its running tender (pid %d)",
		 (int)m[0].pid);
	F_CHECK(log_has(log, want, 1000), "albd's log lacks '%s'", want);

	/* :b: its stand-in never execs: killed, and :b started once */
	int st = 0;
	F_CHECK(reaped(m[1].pid, &st, 5000) && WIFSIGNALED(st) &&
			WTERMSIG(st) == SIGKILL,
		":b's stand-in was not killed (status %#x)", st);
	F_CHECK(log_has(log, ":b: killing a spawn of a previous daemon", 1000),
		"albd's log does not say it killed :b's stand-in");
	pid_t pb = 0;
	for (int64_t end = h_now_us() + 5000000; pb == 0 && h_now_us() < end;
	     h_sleep_ms(20))
		pb = h_tender_of(&H, ":b");
	F_CHECK(pb > 0 && pb != m[1].pid, ":b: tender %d", (int)pb);

	/* another daemon's spawn (console /dev/null) is left alone */
	F_CHECK(waitpid(m[2].pid, &st, WNOHANG) == 0,
		"the stand-in with /dev/null ended (status %#x)", st);

	/* a while later: still exactly one tender each, both listed */
	h_sleep_ms(500);
	F_CHECK(h_tenders_of(&H, ":a", NULL, 0) == 1, ":a: %d tenders",
		h_tenders_of(&H, ":a", NULL, 0));
	F_CHECK(h_tenders_of(&H, ":b", NULL, 0) == 1, ":b: %d tenders",
		h_tenders_of(&H, ":b", NULL, 0));
	char **running = NULL;
	int n = f_running(&H, &running);
	F_CHECK(n == 2, "info lists %d unikernels", n);
	f_names_free(running, n > 0 ? n : 0);

	printf("spawn race: adopt a spawn that execs while the next albd "
	       "waits, kill one that never does and start its unikernel once, "
	       "leave another daemon's alone: %d failed checks\n", f_failures);
	fflush(stdout);
	if (f_failures > 0) {
		char *t = h_read_file(log, NULL);
		fprintf(stderr, "albd's log:\n%s\n", t != NULL ? t : "");
		free(t);
	}
	h_stop(&H, SIGTERM);
	for (int i = 0; i < 3; i++) {
		close(m[i].release);
		f_kill(m[i].pid, SIGKILL);
	}
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
