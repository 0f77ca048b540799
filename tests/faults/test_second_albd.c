/* Fault injection: a second albd while one runs — on the same tmpdir and
 * dbdir, on other directories in the same network namespace, and in
 * another network namespace on the same dbdir or the same tmpdir. Each
 * refuses to start with a message that says why, and touches nothing:
 * every file of the first one's tmpdir and dbdir is as it was (name, size,
 * modification time, inode), its unikernel runs on with its tap, and it
 * still answers. Once the first one is killed (kill -9), the next one
 * starts and adopts its unikernel.
 * SPDX-License-Identifier: ISC */
#include "faults.h"

static struct harness H;

struct snap {
	char *text;
	size_t len, cap;
};

static void snap_add(struct snap *s, const char *line)
{
	size_t l = strlen(line);
	if (s->len + l + 1 > s->cap) {
		s->cap = (s->len + l + 1) * 2;
		s->text = realloc(s->text, s->cap);
	}
	memcpy(s->text + s->len, line, l + 1);
	s->len += l;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry below dir: path, type, size, mtime, inode (sorted). */
static void snap_dir(struct snap *s, const char *dir)
{
	char *lines[512];
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL && n < 512) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char path[H_PATH * 4], line[H_PATH * 5];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(path, &st) != 0)
			continue;
		snprintf(line, sizeof(line), "%s %o %lld %lld.%09ld %llu\n", path,
			 (unsigned)st.st_mode, (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			 (unsigned long long)st.st_ino);
		lines[n++] = strdup(line);
		if (S_ISDIR(st.st_mode))
			snap_dir(s, path);
	}
	if (d != NULL)
		closedir(d);
	qsort(lines, (size_t)n, sizeof(*lines), by_str);
	for (int i = 0; i < n; i++) {
		snap_add(s, lines[i]);
		free(lines[i]);
	}
}

/* What the first albd has: its files, taps, tenders. */
static char *snapshot(void)
{
	struct snap s = {0};
	snap_add(&s, "");
	snap_dir(&s, H.tmpdir);
	snap_dir(&s, H.dbdir);
	struct f_taps t;
	f_list_taps(&t);
	for (int i = 0; i < t.n; i++) {
		snap_add(&s, t.name[i]);
		snap_add(&s, "\n");
	}
	char line[64];
	snprintf(line, sizeof(line), "tender %d\n", (int)h_tender_of(&H, ":u"));
	snap_add(&s, line);
	return s.text;
}

/* Runs a second albd on tmpdir and dbdir (in a network namespace of its
 * own when newns) and waits for it to end; its exit status, its stderr
 * into out. -1 when it is still running after 10 s (it is killed). */
static int second(const char *tmpdir, const char *dbdir, bool newns, char *out,
		  size_t size)
{
	char exe[H_PATH], tmp[H_PATH + 16], db[H_PATH + 16], errf[H_PATH * 2];
	f_exe(exe, sizeof(exe), "albd");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", tmpdir);
	snprintf(db, sizeof(db), "--dbdir=%s", dbdir);
	snprintf(errf, sizeof(errf), "%s/second.err", H.root);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		if (newns && unshare(CLONE_NEWNET) != 0)
			_exit(126);
		execl(exe, exe, tmp, db, (char *)NULL);
		_exit(127);
	}
	int st = -1;
	for (int i = 0; i < 1000; i++, h_sleep_ms(10))
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
	if (waitpid(pid, NULL, WNOHANG) == 0) {
		f_kill(pid, SIGKILL);
		st = -1;
	}
	char *text = h_read_file(errf, NULL);
	snprintf(out, size, "%.900s", text ? text : "");
	free(text);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int body(void)
{
	if (f_world(&H, "second") != 0 || h_start_albd(&H, "-q") != 0)
		return 1;
	struct alb_command add = {.kind = ALB_CMD_BLOCK_ADD};
	add.u.block_size = 1;
	F_CHECK(h_call_is(&H, ":d", &add, "added block device"), "block add");
	struct h_uk u;
	f_uk_init(&u, false, F_BR, "d", 1, false);
	h_uk_arg(&u, "--sleep-ms=600000");
	F_CHECK(h_call_is(&H, ":u", &u.cmd, "created unikernel"), "create");
	h_uk_free(&u);
	pid_t pid = 0;
	for (int i = 0; i < 200 && pid == 0; i++, h_sleep_ms(10))
		pid = h_tender_of(&H, ":u");
	F_CHECK(pid > 0, ":u runs");
	/* the log file of its console is written once at its start */
	h_sleep_ms(200);
	char *before = snapshot();

	char other_tmp[H_PATH * 2], other_db[H_PATH * 2], out[1024];
	snprintf(other_tmp, sizeof(other_tmp), "%s/run2", H.root);
	snprintf(other_db, sizeof(other_db), "%s/db2", H.root);
	struct {
		const char *what, *tmpdir, *dbdir;
		bool newns;
		const char *says;
	} cases[] = {
		{"same tmpdir and dbdir", H.tmpdir, H.dbdir, false,
		 "network namespace"},
		{"other directories, same network namespace", other_tmp, other_db,
		 false, "another albd runs in this network namespace"},
		{"same dbdir, another network namespace", other_tmp, H.dbdir, true,
		 "/db/vmmd.lock: refusing to start"},
		{"same tmpdir, another network namespace", H.tmpdir, other_db, true,
		 "/run/vmmd.lock: refusing to start"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = second(cases[i].tmpdir, cases[i].dbdir, cases[i].newns, out,
				sizeof(out));
		F_CHECK(st == 1 && strstr(out, cases[i].says) != NULL,
			"%s: exit %d, said: %s", cases[i].what, st, out);
		printf("second albd, %s: exit %d: %s", cases[i].what, st, out);
		char *after = snapshot();
		F_CHECK(strcmp(before, after) == 0, "%s: something changed:\n"
			"before:\n%s\nafter:\n%s", cases[i].what, before, after);
		free(after);
		F_CHECK(h_tender_of(&H, ":u") == pid, "%s: :u lost its tender",
			cases[i].what);
		struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
		struct alb_msg *m = h_call(&H, ":u", &info);
		F_CHECK(m != NULL && m->kind == ALB_PAYLOAD_SUCCESS &&
			m->u.success.u.infos.n == 1,
			"%s: the first albd does not answer: %s", cases[i].what,
			h_text(m));
		alb_msg_free(m);
	}
	/* the first one dies: its locks go with it, the next one adopts */
	h_stop(&H, SIGKILL);
	F_CHECK(h_start_albd(&H, "-q") == 0, "albd after kill -9");
	F_CHECK(h_tender_of(&H, ":u") == pid, ":u was not adopted");
	struct f_taps t;
	f_list_taps(&t);
	F_CHECK(t.n == 1, "%d taps", t.n);
	printf("second albd: %zu cases refused, nothing touched; %d failed "
	       "checks\n", sizeof(cases) / sizeof(cases[0]), f_failures);
	fflush(stdout);
	free(before);
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
