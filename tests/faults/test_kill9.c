/* Fault injection: kill -9 of albd at seeded random instants while clients
 * create, destroy, force-create and restart unikernels with a NIC and a
 * block device each (and, one time in five, while albd is starting up and
 * adopting or restoring). After each kill albd starts again, and then:
 * every acknowledged create (force-create, restart) runs exactly once with
 * the acknowledged configuration, no acknowledged destroy came back, no
 * tender runs twice at any time we look, and no tap, image, FIFO or
 * runtime record is left without a running owner. An operation whose
 * reply was lost (or a failure) may have happened or not: then only "at
 * most once" is checked, and what runs becomes the new expectation.
 * ALB_FAULTS_SEED replays a run; the seed and what was tried are printed.
 * SPDX-License-Identifier: ISC */
#include <pthread.h>
#include <stdatomic.h>

#include "faults.h"

/* Instants at which albd is killed. */
#define INSTANTS 50
/* Unikernels, and client threads (each owns NAMES / WORKERS names). */
#define NAMES 6
#define WORKERS 3
/* Longest wait, after starting the operations, before the kill (ms). */
#define KILL_WINDOW_MS 150
/* Longest wait, after starting albd, before a kill during its startup. */
#define STARTUP_WINDOW_MS 60

static struct harness H;

enum mstate { M_ABSENT, M_PRESENT, M_UNKNOWN };

struct mname {
	char name[16];
	char block[16];
	enum mstate st;
	unsigned gen; /* the configuration acknowledged (M_PRESENT) */
};

static struct mname model[NAMES];
static atomic_uint gen_counter;
static atomic_bool stop_ops;

static struct {
	unsigned acked, unknown, unknown_up, unknown_down;
	unsigned op_kills, startup_kills;
} stats;

struct worker {
	int idx;
	uint64_t rng;
	unsigned acked, unknown;
};

static const char *const op_names[] = {"create", "destroy", "force-create",
				       "restart"};

/* One operation on model entry m; false once albd does not answer. */
static bool one_op(struct worker *w, struct mname *m)
{
	int op = (int)(f_rand(&w->rng) % 10);
	op = op < 4 ? 0 : op < 6 ? 1 : op < 8 ? 2 : 3;
	unsigned gen = atomic_fetch_add(&gen_counter, 1) + 1;
	struct h_uk u;
	f_uk_init(&u, op == 2, F_BR, m->block, gen, false);
	h_uk_arg(&u, "--sleep-ms=600000");
	h_uk_arg(&u, "--gen=%u", gen);
	if (op == 1)
		u.cmd = (struct alb_command){.kind = ALB_CMD_UNIKERNEL_DESTROY};
	else if (op == 3)
		u.cmd = (struct alb_command){.kind = ALB_CMD_UNIKERNEL_RESTART};
	/* a lost reply leaves the outcome open */
	enum mstate before = m->st;
	m->st = M_UNKNOWN;
	struct alb_msg *r = h_call(&H, m->name, &u.cmd);
	h_uk_free(&u);
	if (r == NULL) {
		w->unknown++;
		return false;
	}
	const char *t = h_text(r);
	bool ok = r->kind == ALB_PAYLOAD_SUCCESS;
	if (ok && op != 1 && strcmp(t, "created unikernel") == 0) {
		m->st = M_PRESENT;
		if (op != 3)
			m->gen = gen;
	} else if (ok && op == 1) {
		m->st = M_ABSENT;
	} else if (!ok && strcmp(t, "Unikernel with same name is already running") == 0 &&
		   before == M_PRESENT) {
		m->st = M_PRESENT;
	} else if (!ok && strcmp(t, "destroy: not found") == 0) {
		/* nothing runs under the name (also a restart's answer) */
		m->st = M_ABSENT;
	} else {
		/* another failure: whether its undo is durable is not this
		 * test's business; the outcome is open */
		fprintf(stderr, "%s %s: %s\n", op_names[op], m->name, t);
	}
	if (m->st != M_UNKNOWN)
		w->acked++;
	alb_msg_free(r);
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load(&stop_ops)) {
		struct mname *m = &model[w->idx * (NAMES / WORKERS) +
					 (int)(f_rand(&w->rng) % (NAMES / WORKERS))];
		if (!one_op(w, m))
			break;
	}
	return NULL;
}

/* ---- checks ----------------------------------------------------------------- */

/* The --gen=N of the tender pid, 0 when none. */
static unsigned tender_gen(pid_t pid)
{
	static char cmd[65536];
	size_t len = h_cmdline(pid, cmd, sizeof(cmd));
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (strncmp(cmd + i, "--gen=", 6) == 0)
			return (unsigned)strtoul(cmd + i + 6, NULL, 10);
	return 0;
}

static bool in_list(char **names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* Taps, images, FIFOs and records that no running unikernel owns, and
 * running tenders whose taps are missing; 0 when everything is owned. */
static int orphans(char **running, int n, bool report)
{
	int bad = 0;
	/* the taps the running tenders were given */
	char owned[NAMES][ALB_IFNAME_SIZE];
	int n_owned = 0;
	static char cmd[65536];
	for (int i = 0; i < NAMES; i++) {
		pid_t pid = h_tender_of(&H, model[i].name);
		size_t len = pid > 0 ? h_cmdline(pid, cmd, sizeof(cmd)) : 0;
		for (size_t k = 0; k < len; k += strlen(cmd + k) + 1)
			if (strncmp(cmd + k, "--net:service=", 14) == 0)
				snprintf(owned[n_owned++], ALB_IFNAME_SIZE, "%s",
					 cmd + k + 14);
	}
	struct f_taps t;
	f_list_taps(&t);
	for (int i = 0; i < t.n; i++) {
		bool found = false;
		for (int k = 0; k < n_owned && !found; k++)
			found = strcmp(owned[k], t.name[i]) == 0;
		if (!found && report)
			fprintf(stderr, "tap %s has no owner\n", t.name[i]);
		bad += !found;
	}
	for (int k = 0; k < n_owned; k++) {
		bool found = false;
		for (int i = 0; i < t.n && !found; i++)
			found = strcmp(owned[k], t.name[i]) == 0;
		if (!found && report)
			fprintf(stderr, "tap %s of a running tender is gone\n", owned[k]);
		bad += !found;
	}
	/* files: <tmpdir>/<name>.img, fifo/<name>, running/<name>@<id> */
	const char *dirs[3] = {"", "/fifo", "/running"};
	for (int d = 0; d < 3; d++) {
		char path[H_PATH * 2];
		snprintf(path, sizeof(path), "%s%s", H.tmpdir, dirs[d]);
		DIR *dd = opendir(path);
		struct dirent *e;
		while (dd != NULL && (e = readdir(dd)) != NULL) {
			char name[ALB_NAME_BUF];
			snprintf(name, sizeof(name), "%s", e->d_name);
			char *cut = d == 0 ? strstr(name, ".img") : d == 2 ? strchr(name, '@') : name + strlen(name);
			if (e->d_name[0] == '.' || e->d_type == DT_DIR || cut == NULL)
				continue;
			*cut = '\0';
			if (!in_list(running, n, name)) {
				if (report) {
					char file[H_PATH * 3];
					snprintf(file, sizeof(file), "%s/%s", path,
						 e->d_name);
					char *text = d == 2 ? h_read_file(file, NULL) : NULL;
					fprintf(stderr, "%s has no owner%s%s\n", file,
						text ? ":\n" : "", text ? text : "");
					free(text);
				}
				bad++;
			}
		}
		if (dd != NULL)
			closedir(dd);
	}
	return bad;
}

static unsigned albd_count;
static void log_path(char *out, size_t size, unsigned n);

/* After a restart: waits until every unikernel that must run runs, then
 * checks the model and resolves what was open. */
static void verify(unsigned round)
{
	char **running = NULL;
	int n = 0;
	bool ready = false, twice[NAMES] = {false};
	for (int64_t end = h_now_us() + 10 * 1000000; !ready && h_now_us() < end;
	     h_sleep_ms(20)) {
		f_names_free(running, n);
		n = f_running(&H, &running);
		ready = n >= 0;
		for (int i = 0; i < NAMES; i++) {
			int t = h_tenders_of(&H, model[i].name, NULL, 0);
			/* at any instant we look (reported once) */
			F_CHECK(t <= 1 || twice[i], "round %u: %s runs %d times",
				round, model[i].name, t);
			twice[i] = twice[i] || t > 1;
			if (model[i].st == M_PRESENT)
				ready = ready && t == 1 && in_list(running, n, model[i].name);
		}
	}
	F_CHECK(ready, "round %u: not every acknowledged unikernel runs", round);
	/* the restore has started everything it will (it says so in its log;
	 * without a state file there is nothing to restore) */
	char log[H_PATH * 2];
	log_path(log, sizeof(log), albd_count);
	bool restored = false;
	for (int64_t end = h_now_us() + 10 * 1000000; !restored && h_now_us() < end;
	     h_sleep_ms(10)) {
		char *text = h_read_file(log, NULL);
		restored = text != NULL && (strstr(text, "vmmd: restore done") != NULL ||
					    strstr(text, "vmmd: no state file") != NULL);
		free(text);
	}
	F_CHECK(restored, "round %u: albd did not finish its restore", round);
	f_names_free(running, n);
	n = f_running(&H, &running);
	for (int i = 0; i < NAMES; i++) {
		struct mname *m = &model[i];
		pid_t pids[4];
		int t = h_tenders_of(&H, m->name, pids, 4);
		bool listed = in_list(running, n, m->name);
		F_CHECK(t <= 1, "round %u: %s runs %d times", round, m->name, t);
		switch (m->st) {
		case M_PRESENT:
			F_CHECK(listed && t == 1 && tender_gen(pids[0]) == m->gen,
				"round %u: acknowledged %s (generation %u) does not "
				"run once (%d tenders, listed %d, generation %u)",
				round, m->name, m->gen, t, listed,
				t > 0 ? tender_gen(pids[0]) : 0);
			break;
		case M_ABSENT:
			F_CHECK(!listed && t == 0, "round %u: destroyed %s came "
				"back (%d tenders)", round, m->name, t);
			break;
		case M_UNKNOWN:
			F_CHECK(listed == (t == 1), "round %u: %s listed %d with %d "
				"tenders", round, m->name, listed, t);
			stats.unknown++;
			if (t == 1) {
				m->st = M_PRESENT;
				m->gen = tender_gen(pids[0]);
				stats.unknown_up++;
			} else {
				m->st = M_ABSENT;
				stats.unknown_down++;
			}
			break;
		}
	}
	/* the leftovers of what died are removed in the background */
	int bad = 1;
	for (int64_t end = h_now_us() + 3 * 1000000; bad > 0 && h_now_us() < end;
	     h_sleep_ms(20)) {
		f_names_free(running, n);
		n = f_running(&H, &running);
		bad = orphans(running, n, false);
	}
	if (bad > 0)
		orphans(running, n, true);
	F_CHECK(bad == 0, "round %u: %d things without an owner", round, bad);
	f_names_free(running, n);
}

/* Each albd logs (-v) to <root>/albd-<n>.log (albd_count of them); the
 * last two are printed when a check fails. */

static void log_path(char *out, size_t size, unsigned n)
{
	snprintf(out, size, "%s/albd-%u.log", H.root, n);
}

/* albd started without waiting for it. */
static pid_t spawn_albd(void)
{
	char exe[H_PATH], tmp[H_PATH + 16], db[H_PATH + 16], log[H_PATH * 2];
	f_exe(exe, sizeof(exe), "albd");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", H.tmpdir);
	snprintf(db, sizeof(db), "--dbdir=%s", H.dbdir);
	log_path(log, sizeof(log), ++albd_count);
	/* the one before the previous is not needed any more */
	char old[H_PATH * 2];
	log_path(old, sizeof(old), albd_count - 2);
	unlink(old);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		execl(exe, exe, tmp, db, "-v", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool start_albd(void)
{
	H.pid = spawn_albd();
	H.reaped = false;
	if (!h_wait_socket(&H, 10000)) {
		fprintf(stderr, "albd did not start\n");
		f_failures++;
		return false;
	}
	return true;
}

/* The logs of the last two albd, after a failed check. */
static void print_logs(void)
{
	for (unsigned n = albd_count > 1 ? albd_count - 1 : 1; n <= albd_count; n++) {
		char path[H_PATH * 2];
		log_path(path, sizeof(path), n);
		char *text = h_read_file(path, NULL);
		fprintf(stderr, "---- albd %u ----\n%s", n, text ? text : "");
		free(text);
	}
}

static int body(void)
{
	if (f_world(&H, "kill9") != 0)
		return 1;
	const char *s = getenv("ALB_FAULTS_SEED");
	uint64_t seed = s != NULL ? strtoull(s, NULL, 0)
				  : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (seed == 0)
		seed = 1;
	printf("kill -9 suite: seed %llu (ALB_FAULTS_SEED=%llu replays it)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	fflush(stdout);
	uint64_t rng = seed;
	for (int i = 0; i < NAMES; i++) {
		snprintf(model[i].name, sizeof(model[i].name), ":k%d", i);
		snprintf(model[i].block, sizeof(model[i].block), "b%d", i);
		model[i].st = M_ABSENT;
	}
	if (!start_albd())
		return 1;
	for (int i = 0; i < NAMES; i++) {
		struct alb_command add = {.kind = ALB_CMD_BLOCK_ADD};
		add.u.block_size = 1;
		char bname[16];
		snprintf(bname, sizeof(bname), ":%s", model[i].block);
		F_CHECK(h_call_is(&H, bname, &add, "added block device"), "%s", bname);
	}
	int64_t t0 = h_now_us();
	for (unsigned round = 1; round <= INSTANTS && f_failures == 0; round++) {
		if (f_rand(&rng) % 5 == 0) {
			/* during the startup: adoption, cleanup, restore */
			h_stop(&H, SIGKILL);
			pid_t pid = spawn_albd();
			h_sleep_ms((int)(f_rand(&rng) % STARTUP_WINDOW_MS));
			f_kill(pid, SIGKILL);
			stats.startup_kills++;
		} else {
			atomic_store(&stop_ops, false);
			pthread_t th[WORKERS];
			struct worker w[WORKERS];
			for (int i = 0; i < WORKERS; i++) {
				w[i] = (struct worker){.idx = i,
						       .rng = f_rand(&rng) | 1};
				pthread_create(&th[i], NULL, worker_main, &w[i]);
			}
			h_sleep_ms((int)(f_rand(&rng) % KILL_WINDOW_MS));
			h_stop(&H, SIGKILL);
			atomic_store(&stop_ops, true);
			for (int i = 0; i < WORKERS; i++) {
				pthread_join(th[i], NULL);
				stats.acked += w[i].acked;
			}
			stats.op_kills++;
		}
		if (!start_albd())
			break;
		int before = f_failures;
		verify(round);
		if (f_failures > before)
			print_logs();
	}
	double secs = (double)(h_now_us() - t0) / 1e6;
	printf("kill -9 suite: seed %llu: %u instants tried (%u during operations, "
	       "%u during startup) in %.1f s; %u operations acknowledged; %u "
	       "outcomes open at a kill (%u found running, %u not); %d "
	       "violations\n",
	       (unsigned long long)seed, stats.op_kills + stats.startup_kills,
	       stats.op_kills, stats.startup_kills, secs, stats.acked,
	       stats.unknown, stats.unknown_up, stats.unknown_down, f_failures);
	fflush(stdout);
	h_stop(&H, SIGTERM);
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
