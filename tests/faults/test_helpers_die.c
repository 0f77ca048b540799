/* Fault injection: the helper daemons die. kill -9 of alb-consoled while
 * three unikernels write to their consoles (the fake tender aborts on a
 * failed console write, as solo5-hvt's assert does): all keep running,
 * their output meanwhile goes to <tmpdir>/<name>.log, and once
 * alb-consoled is back `alb-info console` shows their new lines (albd sent
 * Console_add again). Then kill -9 of alb-statsd: once it is back,
 * `alb-info stats` shows all three again (albd sent Stats_add again).
 * SPDX-License-Identifier: ISC */
#include "faults.h"

#define UKS 3
#define TICK_MS 20

static struct harness H;

/* Runs `alb-info <args...> --tmpdir=<tmpdir>` until a line containing
 * want (and, when min_tick > 0, a tick line numbered above min_tick) is
 * printed or timeout_ms passed; the line (or "") into line. */
static bool info_shows(const char *const *args, int nargs, const char *want,
		       long min_tick, int timeout_ms, char *line, size_t size)
{
	char exe[H_PATH], tmp[H_PATH + 16];
	f_exe(exe, sizeof(exe), "alb-info");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", H.tmpdir);
	const char *argv[16] = {exe};
	int k = 1;
	for (int i = 0; i < nargs && k < 14; i++)
		argv[k++] = args[i];
	argv[k++] = tmp;
	argv[k] = NULL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return false;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	char buf[65536];
	size_t len = 0;
	bool found = false;
	line[0] = '\0';
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     !found && h_now_us() < end;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		if (poll(&pf, 1, 50) <= 0)
			continue;
		ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		char *nl;
		while (!found && (nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			const char *t = strstr(buf, "fake-tender: tick ");
			if (strstr(buf, want) != NULL &&
			    (min_tick <= 0 || (t != NULL && atol(t + 18) > min_tick))) {
				snprintf(line, size, "%.400s", buf);
				found = true;
			}
			size_t used = (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, len - used + 1);
			len -= used;
		}
		if (len == sizeof(buf) - 1)
			len = 0;
	}
	close(p[0]);
	f_kill(pid, SIGKILL);
	return found;
}

/* The highest tick in <tmpdir>/<name>.log, 0 when none. */
static long log_tick(const char *name)
{
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/%s.log", H.tmpdir, name);
	char *text = h_read_file(path, NULL);
	long max = 0;
	for (char *q = text; q != NULL && (q = strstr(q, "fake-tender: tick ")) != NULL;
	     q++) {
		long t = atol(q + 18);
		if (t > max)
			max = t;
	}
	free(text);
	return max;
}

static pid_t start_helper(const char *prog, const char *arg, const char *sock)
{
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/util/%s", H.tmpdir, sock);
	pid_t pid = f_spawn(prog, H.tmpdir, arg, NULL);
	if (!f_wait_socket(path, 10000)) {
		fprintf(stderr, "%s did not start\n", prog);
		f_failures++;
	}
	return pid;
}

static int body(void)
{
	if (f_world(&H, "helpers") != 0)
		return 1;
	char util[H_PATH * 2];
	snprintf(util, sizeof(util), "%s/util", H.tmpdir);
	mkdir(util, 0755);
	pid_t con = start_helper("alb-consoled", "-q", "console.sock");
	pid_t st = start_helper("alb-statsd", "--interval=1", "stat.sock");
	if (h_start_albd(&H, getenv("ALB_FAULTS_VERBOSE") ? "-v" : "-q") != 0) {
		fprintf(stderr, "albd did not start\n");
		return 1;
	}
	const char *names[UKS] = {":c0", ":c1", ":c2"};
	pid_t pids[UKS];
	for (int i = 0; i < UKS; i++) {
		struct f_uk u;
		f_uk_init(&u, false, i == 0 ? F_BR : NULL, NULL, (uint32_t)i, false);
		f_uk_arg(&u, "--ticks-ms=%d", TICK_MS);
		F_CHECK(h_call_is(&H, names[i], &u.cmd, "created unikernel"), "%s",
			names[i]);
		f_uk_free(&u);
		pids[i] = h_tender_of(&H, names[i]);
		F_CHECK(pids[i] > 0, "%s has %d tenders", names[i],
			h_tenders_of(&H, names[i], NULL, 0));
	}
	char line[512];
	for (int i = 0; i < UKS; i++) {
		const char *args[] = {"console", names[i]};
		F_CHECK(info_shows(args, 2, "fake-tender: tick", 0, 5000, line,
				   sizeof(line)),
			"alb-info console %s shows no tick", names[i]);
	}

	/* the console daemon dies: the tenders write on */
	f_kill(con, SIGKILL);
	h_sleep_ms(1500);
	long before[UKS];
	for (int i = 0; i < UKS; i++) {
		F_CHECK(h_tender_of(&H, names[i]) == pids[i],
			"%s: its tender (pid %d) died with the console daemon",
			names[i], (int)pids[i]);
		/* ~75 ticks were written meanwhile: albd drained them */
		before[i] = log_tick(names[i]);
		F_CHECK(before[i] > 10, "%s: %ld ticks in its log file", names[i],
			before[i]);
	}

	/* it comes back: albd adds the consoles again */
	con = start_helper("alb-consoled", "-q", "console.sock");
	for (int i = 0; i < UKS; i++) {
		const char *args[] = {"console", names[i]};
		F_CHECK(info_shows(args, 2, "fake-tender: tick", before[i], 5000,
				   line, sizeof(line)),
			"alb-info console %s shows no tick after %ld", names[i],
			before[i]);
		F_CHECK(h_tender_of(&H, names[i]) == pids[i], "%s: tender changed",
			names[i]);
	}
	/* and the drain stopped: the log file no longer grows */
	long after[UKS];
	for (int i = 0; i < UKS; i++)
		after[i] = log_tick(names[i]);
	h_sleep_ms(300);
	for (int i = 0; i < UKS; i++)
		F_CHECK(log_tick(names[i]) == after[i], "%s: still drained (%ld -> "
			"%ld)", names[i], after[i], log_tick(names[i]));

	/* the stats daemon dies and comes back: all three are sampled */
	const char *sargs[] = {"stats", "--timeout=10"};
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			f_kill(st, SIGKILL);
			h_sleep_ms(200);
			st = start_helper("alb-statsd", "--interval=1", "stat.sock");
		}
		for (int i = 0; i < UKS; i++)
			F_CHECK(info_shows(sargs, 2, names[i], 0, 10000, line,
					   sizeof(line)),
				"alb-info stats shows no %s (round %d)", names[i],
				round);
	}
	for (int i = 0; i < UKS; i++)
		F_CHECK(h_tender_of(&H, names[i]) == pids[i], "%s: tender changed",
			names[i]);

	/* albd dies while alb-consoled is away: the next albd adopts the
	 * tenders and holds their FIFOs again; alb-consoled gets them back */
	f_kill(con, SIGKILL);
	h_stop(&H, SIGKILL);
	h_sleep_ms(200);
	F_CHECK(h_start_albd(&H, "-q") == 0, "albd restarts");
	h_sleep_ms(1000);
	for (int i = 0; i < UKS; i++) {
		F_CHECK(h_tender_of(&H, names[i]) == pids[i], "%s: not adopted",
			names[i]);
		before[i] = log_tick(names[i]);
	}
	con = start_helper("alb-consoled", "-q", "console.sock");
	for (int i = 0; i < UKS; i++) {
		const char *args[] = {"console", names[i]};
		F_CHECK(info_shows(args, 2, "fake-tender: tick", before[i], 5000,
				   line, sizeof(line)),
			"after albd's restart, alb-info console %s shows no tick "
			"after %ld", names[i], before[i]);
		F_CHECK(h_tender_of(&H, names[i]) == pids[i], "%s: tender changed",
			names[i]);
	}
	printf("helpers: %d unikernels kept running through kill -9 of "
	       "alb-consoled, alb-statsd, and albd with alb-consoled; %d failed "
	       "checks\n", UKS, f_failures);
	fflush(stdout);
	h_stop(&H, SIGTERM);
	f_kill(con, SIGTERM);
	f_kill(st, SIGTERM);
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
