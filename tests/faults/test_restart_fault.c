/* Fault injection: a restart-on-failure unikernel whose tender, bridge or
 * block device is missing when it is to restart. albd keeps it in the
 * restart back-off (and in the state file, across a kill -9 of albd too)
 * and tries again, each failure logged, until the fault is gone: then it
 * runs again without a new create. A destroy during the back-off ends the
 * attempts for good.
 * SPDX-License-Identifier: ISC */
#include "faults.h"
#include "io/journal_file.h"

#define BR2 "br1"

static struct harness H;
static char errlog[H_PATH * 2];

struct durable_find {
	const char *name;
	bool found;
};

static int find_change(void *ctx, const struct alb_journal_change *c,
		       struct alb_error *err)
{
	(void)err;
	struct durable_find *f = ctx;
	if ((c->kind == ALB_JOURNAL_UNIKERNEL ||
	     c->kind == ALB_JOURNAL_UNIKERNEL_FILE ||
	     c->kind == ALB_JOURNAL_UNIKERNEL_GONE) && strcmp(c->name, f->name) == 0)
		f->found = c->kind != ALB_JOURNAL_UNIKERNEL_GONE;
	return 0;
}

/* Whether name is in albd's durable state: the state file with the
 * journal's segments replayed over it (doc/journal.md), what the next
 * start restores. */
static bool in_state(const char *name)
{
	struct durable_find f = {name, false};
	struct alb_state *st = NULL;
	int rc = alb_state_read_file(H.dbdir, &st, NULL);
	if (rc != 0 && rc != ALB_ENOENT)
		return false;
	for (size_t i = 0; st != NULL && i < st->n_unikernels; i++)
		f.found = f.found || strcmp(st->unikernels[i].name, name) == 0;
	alb_state_free(st);
	uint64_t *ids = NULL;
	size_t n = 0;
	if (alb_journal_list(H.dbdir, &ids, &n, NULL) != 0)
		return false;
	struct alb_journal_replay_stats js;
	for (size_t i = 0; i < n; i++)
		if (alb_journal_replay(H.dbdir, ids[i], find_change, &f, &js,
				       NULL) != 0) {
			free(ids);
			return false;
		}
	free(ids);
	return f.found;
}

/* Waits until name has a tender other than old (0: any). */
static pid_t wait_new_tender(const char *name, pid_t old, int timeout_ms)
{
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     h_now_us() < end; h_sleep_ms(20)) {
		pid_t p = h_tender_of(&H, name);
		if (p > 0 && p != old)
			return p;
	}
	return 0;
}

/* Lines of albd's log that contain both a and b. */
static int log_count(const char *a, const char *b)
{
	char *text = h_read_file(errlog, NULL);
	int n = 0;
	for (char *l = text; l != NULL && *l;) {
		char *nl = strchr(l, '\n');
		if (nl != NULL)
			*nl = '\0';
		n += strstr(l, a) != NULL && strstr(l, b) != NULL;
		l = nl != NULL ? nl + 1 : NULL;
	}
	free(text);
	return n;
}

static bool start_albd(void)
{
	char exe[H_PATH], tmp[H_PATH + 16], db[H_PATH + 16];
	f_exe(exe, sizeof(exe), "albd");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", H.tmpdir);
	snprintf(db, sizeof(db), "--dbdir=%s", H.dbdir);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		/* appended: the log of every albd of the test */
		int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 2);
		execl(exe, exe, tmp, db, getenv("ALB_FAULTS_VERBOSE") ? "-v" : NULL,
		      (char *)NULL);
		_exit(127);
	}
	H.pid = pid;
	H.reaped = false;
	return h_wait_socket(&H, 10000);
}

static void make_bridge(const char *name, bool up)
{
	struct alb_net *net = NULL;
	alb_net_new(&net, NULL);
	if (up)
		alb_bridge_create(net, name, NULL);
	else
		alb_bridge_delete(net, name, NULL);
	alb_net_free(net);
}

static pid_t create(const char *name, const char *bridge, const char *block)
{
	struct h_uk u;
	f_uk_init(&u, false, bridge, block, 7, true);
	h_uk_arg(&u, "--usr1-exit=2");
	h_uk_arg(&u, "--sleep-ms=600000");
	F_CHECK(h_call_is(&H, name, &u.cmd, "created unikernel"), "create %s", name);
	h_uk_free(&u);
	pid_t p = wait_new_tender(name, 0, 2000);
	F_CHECK(p > 0, "%s runs", name);
	return p;
}

static char fake[H_PATH], hidden[H_PATH + 8];

static void hide_tender(bool hide)
{
	F_CHECK(hide ? rename(fake, hidden) == 0 : rename(hidden, fake) == 0,
		"%s the tender: %s", hide ? "hide" : "restore", strerror(errno));
}

static int body(void)
{
	if (f_world(&H, "restart") != 0)
		return 1;
	snprintf(errlog, sizeof(errlog), "%s/albd.log", H.root);
	/* bridges are in the root policy when they exist at albd's start */
	make_bridge(BR2, true);
	if (!start_albd())
		return 1;
	snprintf(fake, sizeof(fake), "%s", H.tender);
	snprintf(hidden, sizeof(hidden), "%s.away", H.tender);
	struct alb_command d = {.kind = ALB_CMD_UNIKERNEL_DESTROY};

	/* 1. the tender is missing at restart time, then back */
	pid_t p = create(":r", NULL, NULL);
	hide_tender(true);
	h_usr1_when_caught(p);
	h_sleep_ms(1200);
	F_CHECK(h_tender_of(&H, ":r") == 0, ":r cannot run without a tender");
	int fails = log_count(":r: restart failed", "tender does not exist");
	F_CHECK(fails >= 3, ":r: %d restart failures logged in 1.2 s", fails);
	F_CHECK(in_state(":r"), ":r left the state file");
	hide_tender(false);
	p = wait_new_tender(":r", p, 8000);
	F_CHECK(p > 0, ":r did not run again once its tender was back");
	printf("missing tender: %d failed restarts logged in 1.2 s, then it ran "
	       "again\n", fails);

	/* 2. the bridge is missing at restart time, then back */
	pid_t q = create(":rb", BR2, NULL);
	make_bridge(BR2, false);
	h_usr1_when_caught(q);
	h_sleep_ms(500);
	F_CHECK(h_tender_of(&H, ":rb") == 0, ":rb runs without its bridge");
	F_CHECK(log_count(":rb: restart failed", "interface br1 does not exist") >= 1,
		":rb: no failed restart logged");
	make_bridge(BR2, true);
	q = wait_new_tender(":rb", q, 8000);
	F_CHECK(q > 0, ":rb did not run again once its bridge was back");

	/* 3. albd is killed while :r waits for its tender: the next albd's
	 * restore keeps trying; :rb is adopted meanwhile */
	hide_tender(true);
	h_usr1_when_caught(p);
	h_sleep_ms(300);
	h_stop(&H, SIGKILL);
	F_CHECK(start_albd(), "albd restarts");
	h_sleep_ms(500);
	F_CHECK(h_tender_of(&H, ":r") == 0, ":r runs without a tender");
	F_CHECK(in_state(":r"), ":r left the state file");
	F_CHECK(h_tender_of(&H, ":rb") == q, ":rb was not adopted (pid %d)",
		(int)h_tender_of(&H, ":rb"));
	hide_tender(false);
	p = wait_new_tender(":r", p, 8000);
	F_CHECK(p > 0, ":r did not run again after albd's restart");

	/* 4. the block device is removed while it waits, then added again;
	 * destroyed while it waits, it is not tried again */
	struct alb_command add = {.kind = ALB_CMD_BLOCK_ADD};
	add.u.block_size = 1;
	F_CHECK(h_call_is(&H, ":disk", &add, "added block device"), "block add");
	pid_t b = create(":rd", NULL, "disk");
	hide_tender(true);
	h_usr1_when_caught(b);
	h_sleep_ms(300);
	struct alb_command rm = {.kind = ALB_CMD_BLOCK_REMOVE};
	F_CHECK(h_call_is(&H, ":disk", &rm, "removed block"), "block remove");
	hide_tender(false);
	h_sleep_ms(1000);
	F_CHECK(h_tender_of(&H, ":rd") == 0, ":rd runs without its block device");
	F_CHECK(log_count(":rd: restart failed", "block") >= 1,
		":rd: no failure about its block device logged");
	F_CHECK(h_call_is(&H, ":disk", &add, "added block device"), "block add");
	b = wait_new_tender(":rd", b, 8000);
	F_CHECK(b > 0, ":rd did not run again once its block device was back");
	hide_tender(true);
	h_usr1_when_caught(b);
	h_sleep_ms(300);
	F_CHECK(h_call_is(&H, ":rd", &d, "destroyed: removed from restarting"),
		"destroy during the back-off");
	hide_tender(false);
	h_sleep_ms(1500);
	F_CHECK(h_tender_of(&H, ":rd") == 0, "a destroyed :rd came back");
	F_CHECK(!in_state(":rd"), "a destroyed :rd is in the state file");
	printf("restart faults: tender, bridge and block device missing at "
	       "restart time, albd killed meanwhile; %d failed checks\n",
	       f_failures);
	fflush(stdout);
	h_stop(&H, SIGTERM);
	if (f_failures > 0 || getenv("ALB_FAULTS_VERBOSE") != NULL) {
		char *text = h_read_file(errlog, NULL);
		fprintf(stderr, "albd's log:\n%s\n", text ? text : "");
		free(text);
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
