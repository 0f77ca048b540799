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

static int body(void)
{
	if (f_world(&H, "helpers") != 0)
		return 1;
	char util[H_PATH * 2];
	snprintf(util, sizeof(util), "%s/util", H.tmpdir);
	mkdir(util, 0755);
	pid_t con = f_start_helper(&H, "alb-consoled", "-q", "console.sock");
	pid_t st = f_start_helper(&H, "alb-statsd", "--interval=1", "stat.sock");
	if (h_start_albd(&H, getenv("ALB_FAULTS_VERBOSE") ? "-v" : "-q") != 0) {
		fprintf(stderr, "albd did not start\n");
		return 1;
	}
	const char *names[UKS] = {":c0", ":c1", ":c2"};
	pid_t pids[UKS];
	for (int i = 0; i < UKS; i++) {
		struct h_uk u;
		f_uk_init(&u, false, i == 0 ? F_BR : NULL, NULL, (uint32_t)i, false);
		h_uk_arg(&u, "--ticks-ms=%d", TICK_MS);
		F_CHECK(h_call_is(&H, names[i], &u.cmd, "created unikernel"), "%s",
			names[i]);
		h_uk_free(&u);
		pids[i] = h_tender_of(&H, names[i]);
		F_CHECK(pids[i] > 0, "%s has %d tenders", names[i],
			h_tenders_of(&H, names[i], NULL, 0));
	}
	char line[512];
	for (int i = 0; i < UKS; i++) {
		const char *args[] = {"console", names[i]};
		F_CHECK(f_info_shows(&H, args, 2, "fake-tender: tick", 0, 5000, line,
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
		before[i] = f_log_tick(&H, names[i]);
		F_CHECK(before[i] > 10, "%s: %ld ticks in its log file", names[i],
			before[i]);
	}

	/* it comes back: albd adds the consoles again */
	con = f_start_helper(&H, "alb-consoled", "-q", "console.sock");
	for (int i = 0; i < UKS; i++) {
		const char *args[] = {"console", names[i]};
		F_CHECK(f_info_shows(&H, args, 2, "fake-tender: tick", before[i], 5000,
				   line, sizeof(line)),
			"alb-info console %s shows no tick after %ld", names[i],
			before[i]);
		F_CHECK(h_tender_of(&H, names[i]) == pids[i], "%s: tender changed",
			names[i]);
	}
	/* and the drain stopped: the log file no longer grows */
	long after[UKS];
	for (int i = 0; i < UKS; i++)
		after[i] = f_log_tick(&H, names[i]);
	h_sleep_ms(300);
	for (int i = 0; i < UKS; i++)
		F_CHECK(f_log_tick(&H, names[i]) == after[i], "%s: still drained (%ld -> "
			"%ld)", names[i], after[i], f_log_tick(&H, names[i]));

	/* the stats daemon dies and comes back: all three are sampled */
	const char *sargs[] = {"stats", "--timeout=10"};
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			f_kill(st, SIGKILL);
			h_sleep_ms(200);
			st = f_start_helper(&H, "alb-statsd", "--interval=1", "stat.sock");
		}
		for (int i = 0; i < UKS; i++)
			F_CHECK(f_info_shows(&H, sargs, 2, names[i], 0, 10000, line,
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
		before[i] = f_log_tick(&H, names[i]);
	}
	con = f_start_helper(&H, "alb-consoled", "-q", "console.sock");
	for (int i = 0; i < UKS; i++) {
		const char *args[] = {"console", names[i]};
		F_CHECK(f_info_shows(&H, args, 2, "fake-tender: tick", before[i], 5000,
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
