/* Integration: least privilege (issue 10) with the real albd binary and
 * the fake tender, as root in private network and mount namespaces:
 *   - two tenders under --tender-uids run under two uids of the range with
 *     every capability set empty and no_new_privs, each opens its own tap
 *     and block file (and /dev/kvm through its group), neither opens the
 *     other's; a third create finds no free uid until one tender is
 *     reaped; block files are given back when a tender ends, also after a
 *     crash of albd;
 *   - another uid reads neither the state file, nor images, records or
 *     block files;
 *   - a link planted at each path albd writes in its tmpdir is not
 *     followed: the create is refused or the link replaced, the target is
 *     untouched;
 *   - albd refuses a tmpdir or dbdir writable by others.
 * /dev/net/tun and /dev/kvm of this machine may be closed to other users:
 * the mount namespace gets device nodes of its own, 0666 and 0660 with a
 * group of the test, bound over them.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>

#include <cmocka.h>

#include "albd_harness.h"
#include "host_helpers.h"

#define BR "br0"
/* ids no user or group of the machine has */
#define UID_FIRST 3000000300u
#define UID_COUNT 2
#define KVM_GID 3000000390u
#define OTHER_UID 3000000399u
#define WAIT_MS 10000

static struct harness H;
static bool have_kvm;

/* ---- the host ------------------------------------------------------------ */

/* The directory of the tmpfs the device nodes are made on. */
static char devdir[] = "/tmp/alb-priv-dev-XXXXXX";

/* Makes the device nodes on a tmpfs at devdir and binds them. */
static int private_nodes(void)
{
	char tun[64], kvm[64];
	if (mkdtemp(devdir) == NULL ||
	    mount("tmpfs", devdir, "tmpfs", 0, "mode=0755") != 0)
		return -1;
	snprintf(tun, sizeof(tun), "%s/tun", devdir);
	snprintf(kvm, sizeof(kvm), "%s/kvm", devdir);
	if (mknod(tun, S_IFCHR | 0666, makedev(10, 200)) != 0 || chmod(tun, 0666) != 0 ||
	    mount(tun, "/dev/net/tun", NULL, MS_BIND, NULL) != 0)
		return -1;
	struct stat st;
	have_kvm = stat("/dev/kvm", &st) == 0;
	if (have_kvm &&
	    (mknod(kvm, S_IFCHR | 0660, st.st_rdev) != 0 || chown(kvm, 0, KVM_GID) != 0 ||
	     chmod(kvm, 0660) != 0 || mount(kvm, "/dev/kvm", NULL, MS_BIND, NULL) != 0))
		return -1;
	return 0;
}

/* Binds device nodes of our own over /dev/net/tun (0666, as udev makes it)
 * and /dev/kvm (0660, group KVM_GID) in this mount namespace. The binds
 * keep the tmpfs the nodes are on: its directory in /tmp is detached and
 * removed at once, so that no run leaves it behind. */
static int private_devices(void)
{
	int rc = private_nodes();
	int saved = errno;
	umount2(devdir, MNT_DETACH);
	rmdir(devdir);
	errno = saved;
	return rc;
}

/* Runs fn(arg) in a child under uid (and gid uid): its exit status. */
static int as_uid(uint32_t uid, int (*fn)(const char *), const char *arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			test_child_exit(255);
		test_child_exit(fn(arg));
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 254;
}

/* The errno of opening path for reading (0 when it opens). */
static int open_errno(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

/* ---- albd ------------------------------------------------------------------ */

/* Starts albd with the tender uids; returns once it serves (its socket
 * accepts before the start is over: an info is answered only after). */
static int start_albd(void)
{
	char arg[64];
	snprintf(arg, sizeof(arg), "--tender-uids=%u:%u", UID_FIRST, UID_COUNT);
	if (h_start_albd(&H, arg) != 0)
		return -1;
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_msg *m = h_call(&H, ":", &info);
	int rc = m != NULL && m->kind == ALB_PAYLOAD_SUCCESS ? 0 : -1;
	alb_msg_free(m);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	if (h_setup_in(&H, "priv", NULL) != 0)
		return -1;
	/* the tender uids reach their files by name, not by listing */
	if (chmod(H.root, 0711) != 0)
		return -1;
	struct alb_error err = {0};
	if (alb_bridge_create(NULL, BR, &err) != 0 && err.code != ALB_EEXIST) {
		fprintf(stderr, "bridge: %s\n", err.msg);
		return -1;
	}
	return start_albd();
}

static int teardown(void **state)
{
	(void)state;
	int st = h_stop(&H, SIGTERM);
	h_teardown(&H);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void block_add(const char *name)
{
	struct alb_command add = {.kind = ALB_CMD_BLOCK_ADD};
	add.u.block_size = 1;
	assert_true(h_call_is(&H, name, &add, "added block device"));
}

/* Creates unikernel name with a NIC on BR and block device disk, which
 * opens both and sleeps, trying what extra[] says. Returns the reply. */
static struct alb_msg *create(const char *name, const char *disk,
			      const char *const *extra)
{
	struct h_uk u;
	h_uk_init(&u, false);
	h_uk_net(&u, "service", BR);
	h_uk_block(&u, "storage", disk + 1);
	h_uk_arg(&u, "--attach");
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		h_uk_arg(&u, "%s", extra[i]);
	h_uk_arg(&u, "--sleep-ms=60000");
	assert_int_equal(h_uk_image(&u), 0);
	struct alb_msg *m = h_call(&H, name, &u.cmd);
	h_uk_free(&u);
	return m;
}

static void create_ok(const char *name, const char *disk, const char *const *extra)
{
	struct alb_msg *m = create(name, disk, extra);
	assert_string_equal(h_text(m), "created unikernel");
	alb_msg_free(m);
}

static void destroy(const char *name)
{
	struct alb_command d = {.kind = ALB_CMD_UNIKERNEL_DESTROY};
	assert_true(h_call_is(&H, name, &d, "destroyed unikernel"));
}

/* The console log of name (albd writes it without a console daemon) once
 * it holds a line that starts with line; NULL after WAIT_MS. Free it. */
static char *log_with(const char *name, const char *line)
{
	char path[H_PATH * 2], start[H_PATH];
	snprintf(path, sizeof(path), "%s/%s.log", H.tmpdir, name);
	snprintf(start, sizeof(start), "\n%s", line);
	for (int64_t end = h_now_us() + WAIT_MS * 1000; h_now_us() < end;
	     h_sleep_ms(10)) {
		char *text = h_read_file(path, NULL);
		if (text != NULL && (strncmp(text, line, strlen(line)) == 0 ||
				     strstr(text, start) != NULL))
			return text;
		free(text);
	}
	fprintf(stderr, "%s: no line \"%s\"\n", path, line);
	return NULL;
}

/* The value after `key` up to the end of its line, from a report. */
static void report_value(const char *text, const char *key, char *out, size_t size)
{
	const char *p = strstr(text, key);
	assert_non_null(p);
	p += strlen(key);
	size_t n = strcspn(p, "\n");
	while (n > 0 && p[n - 1] == ' ')
		n--;
	assert_true(n < size);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* A tender as its report and /proc show it. */
struct tender {
	pid_t pid;
	uint32_t uid;
	char tap[ALB_IFNAME_SIZE];
	char block[H_PATH * 2];
	char *log;
};

static void tender_of(const char *name, struct tender *t)
{
	memset(t, 0, sizeof(*t));
	/* its last report line, after what it tried */
	t->log = log_with(name, "fake-tender: cmdline ");
	assert_non_null(t->log);
	assert_true(output_has_line(t->log, "fake-tender: devices attached"));
	char v[H_PATH * 2];
	report_value(t->log, "fake-tender: pid ", v, sizeof(v));
	t->pid = (pid_t)atoi(v);
	report_value(t->log, "--net:service=", t->tap, sizeof(t->tap));
	report_value(t->log, "--block:storage=", t->block, sizeof(t->block));
	/* the kernel's view */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)t->pid);
	char *status = h_read_file(path, NULL);
	assert_non_null(status);
	report_value(status, "\nUid:\t", v, sizeof(v));
	t->uid = (uint32_t)strtoul(v, NULL, 10);
	char want[128];
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", t->uid, t->uid, t->uid, t->uid);
	assert_string_equal(v, want);
	report_value(status, "\nGid:\t", v, sizeof(v));
	assert_string_equal(v, want);
	static const char *const zero[] = {"\nCapInh:\t", "\nCapPrm:\t", "\nCapEff:\t",
					   "\nCapBnd:\t", "\nCapAmb:\t"};
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		report_value(status, zero[i], v, sizeof(v));
		assert_string_equal(v, "0000000000000000");
	}
	report_value(status, "\nNoNewPrivs:\t", v, sizeof(v));
	assert_string_equal(v, "1");
	if (have_kvm) {
		report_value(status, "\nGroups:\t", v, sizeof(v));
		snprintf(want, sizeof(want), "%u", KVM_GID);
		assert_string_equal(v, want);
	}
	free(status);
	printf("tender %d: uid %u, CapInh/Prm/Eff/Bnd/Amb 0, NoNewPrivs 1, "
	       "tap %s, block %s\n", (int)t->pid, t->uid, t->tap, t->block);
}

static void owner_is(const char *path, uint32_t uid, mode_t mode)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	if (st.st_uid != uid || (st.st_mode & 07777) != mode)
		fail_msg("%s: uid %u mode %04o, expected uid %u mode %04o", path,
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
			 (unsigned)uid, (unsigned)mode);
}

/* ---- two tenders ------------------------------------------------------------ */

static void test_two_tenders(void **state)
{
	(void)state;
	block_add(":da");
	block_add(":db");
	create_ok(":a", ":da", NULL);
	struct tender a, b;
	tender_of(":a", &a);
	char try_tap[64], try_block[H_PATH * 3], try_kvm[64];
	snprintf(try_tap, sizeof(try_tap), "--try-tap=%s", a.tap);
	snprintf(try_block, sizeof(try_block), "--try-open=%s", a.block);
	snprintf(try_kvm, sizeof(try_kvm), "--try-open=/dev/kvm");
	const char *tries[] = {try_tap, try_block, have_kvm ? try_kvm : NULL, NULL};
	create_ok(":b", ":db", tries);
	tender_of(":b", &b);

	/* two uids of the range, not the same */
	assert_true(a.uid >= UID_FIRST && a.uid < UID_FIRST + UID_COUNT);
	assert_true(b.uid >= UID_FIRST && b.uid < UID_FIRST + UID_COUNT);
	assert_int_not_equal(a.uid, b.uid);
	/* each has its own NIC and block ("devices attached" above), but
	 * not the other's */
	char want[H_PATH * 4];
	snprintf(want, sizeof(want), "fake-tender: try-tap %s Operation not permitted",
		 a.tap);
	assert_true(output_has_line(b.log, want));
	snprintf(want, sizeof(want), "fake-tender: try-open %s Permission denied",
		 a.block);
	assert_true(output_has_line(b.log, want));
	if (have_kvm)
		assert_true(output_has_line(b.log, "fake-tender: try-open /dev/kvm ok"));
	printf("%s", strstr(b.log, "fake-tender: try-tap"));

	/* the files given to each uid, 0600 */
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/:a.img", H.tmpdir);
	owner_is(path, a.uid, 0600);
	owner_is(a.block, a.uid, 0600);
	owner_is(b.block, b.uid, 0600);
	char tapowner[32];
	assert_true(sysfs_read(a.tap, "owner", tapowner, sizeof(tapowner)));
	assert_int_equal(strtoul(tapowner, NULL, 10), a.uid);

	/* UID_COUNT tenders run: no uid for one more */
	block_add(":dc");
	struct alb_msg *m = create(":c", ":dc", NULL);
	snprintf(want, sizeof(want), "no free tender uid: all %u of %u..%u run a tender",
		 UID_COUNT, UID_FIRST, UID_FIRST + UID_COUNT - 1);
	assert_string_equal(h_text(m), want);
	alb_msg_free(m);
	char dc[H_PATH * 2];
	snprintf(dc, sizeof(dc), "%s/block/:dc", H.dbdir);
	owner_is(dc, 0, 0600);

	/* a's tender reaped: its block file is albd's again, its uid free */
	destroy(":a");
	owner_is(a.block, 0, 0600);
	create_ok(":c", ":dc", NULL);
	struct tender c;
	tender_of(":c", &c);
	assert_int_equal(c.uid, a.uid);
	owner_is(dc, c.uid, 0600);

	destroy(":b");
	destroy(":c");
	owner_is(b.block, 0, 0600);
	owner_is(dc, 0, 0600);
	free(a.log);
	free(b.log);
	free(c.log);
}

/* ---- files other uids may not read --------------------------------------- */

/* The path of the first file of dir whose name starts with prefix. */
static bool file_with_prefix(const char *dir, const char *prefix, char *out,
			     size_t size)
{
	DIR *d = opendir(dir);
	bool found = false;
	struct dirent *e;
	size_t pl = strlen(prefix);
	while (d != NULL && !found && (e = readdir(d)) != NULL)
		if (strncmp(e->d_name, prefix, pl) == 0)
			found = (size_t)snprintf(out, size, "%s/%.64s", dir,
						 e->d_name) < size;
	if (d != NULL)
		closedir(d);
	return found;
}

/* The path of the runtime record of name (<tmpdir>/running/<name>@<id>). */
static bool record_of(const char *name, char *out, size_t size)
{
	char dir[H_PATH * 2], prefix[ALB_NAME_BUF + 1];
	snprintf(dir, sizeof(dir), "%s/running", H.tmpdir);
	snprintf(prefix, sizeof(prefix), "%s@", name);
	return file_with_prefix(dir, prefix, out, size);
}

static void test_private_files(void **state)
{
	(void)state;
	block_add(":dp");
	create_ok(":p", ":dp", NULL);
	struct tender p;
	tender_of(":p", &p);
	char paths[5][H_PATH * 2];
	/* the change (with its image) is in the journal until a compaction
	 * (SIGHUP here) writes the state file */
	assert_true(file_with_prefix(H.dbdir, "journal.", paths[0],
				     sizeof(paths[0])));
	snprintf(paths[1], sizeof(paths[1]), "%s/:p.img", H.tmpdir);
	assert_true(record_of(":p", paths[2], sizeof(paths[2])));
	snprintf(paths[3], sizeof(paths[3]), "%s", p.block);
	snprintf(paths[4], sizeof(paths[4]), "%s/state", H.dbdir);
	for (size_t i = 0; i < 5; i++) {
		/* the compaction then takes the journal's place */
		for (int k = 0; i == 4 && k < 250 && access(paths[4], F_OK) != 0;
		     k++) {
			if (k == 0)
				kill(H.pid, SIGHUP);
			h_sleep_ms(20);
		}
		struct stat st;
		assert_int_equal(stat(paths[i], &st), 0);
		/* another user, and another tender uid of the range */
		int e = as_uid(OTHER_UID, open_errno, paths[i]);
		int e2 = as_uid(p.uid == UID_FIRST ? UID_FIRST + 1 : UID_FIRST,
				open_errno, paths[i]);
		printf("%s: mode %04o uid %u; uid %u: %s, uid %u: %s\n", paths[i],
		       (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
		       OTHER_UID, strerror(e), p.uid == UID_FIRST ? UID_FIRST + 1
								  : UID_FIRST,
		       strerror(e2));
		assert_int_equal(e, EACCES);
		assert_int_equal(e2, EACCES);
	}
	destroy(":p");
	free(p.log);
}

/* ---- links planted where albd writes --------------------------------------- */

#define PLANT_MAX 48

/* The target the links point to, its content and its state before. */
static void target_make(char *target, size_t size, struct stat *before)
{
	snprintf(target, size, "%s/target", H.root);
	assert_int_equal(h_write_file(target, "precious\n", 9), 0);
	assert_int_equal(chmod(target, 0644), 0);
	assert_int_equal(stat(target, before), 0);
}

static void target_untouched(const char *target, const struct stat *before)
{
	char *content = h_read_file(target, NULL);
	assert_string_equal(content, "precious\n");
	free(content);
	struct stat after;
	assert_int_equal(stat(target, &after), 0);
	assert_int_equal(after.st_uid, before->st_uid);
	assert_int_equal(after.st_mode, before->st_mode);
	assert_int_equal(after.st_size, before->st_size);
	assert_true(after.st_mtim.tv_sec == before->st_mtim.tv_sec &&
		    after.st_mtim.tv_nsec == before->st_mtim.tv_nsec);
	unlink(target);
}

/* Plants links at <tmpdir>/<rels[i]> to a file of ours, creates :s, and
 * checks that the target is untouched and the links no longer what albd
 * used: the create is refused (refused true) or each link replaced. */
static void planted(const char *const *rels, size_t n, bool refused)
{
	char target[H_PATH * 2], link[PLANT_MAX][H_PATH * 2];
	struct stat before;
	target_make(target, sizeof(target), &before);
	for (size_t i = 0; i < n; i++) {
		snprintf(link[i], sizeof(link[i]), "%s/%s", H.tmpdir, rels[i]);
		unlink(link[i]);
		assert_int_equal(symlink(target, link[i]), 0);
	}
	struct alb_msg *m = create(":s", ":ds", NULL);
	const char *text = h_text(m);
	printf("links at %s%s: %s\n", rels[0], n > 1 ? " ..." : "", text);
	if (refused) {
		assert_string_not_equal(text, "created unikernel");
	} else {
		assert_string_equal(text, "created unikernel");
		destroy(":s");
	}
	alb_msg_free(m);
	target_untouched(target, &before);
	for (size_t i = 0; i < n; i++)
		unlink(link[i]);
}

/* A link at a file albd makes when it starts: it does not start, or
 * starts without following it. */
static void planted_at_start(const char *rel)
{
	char target[H_PATH * 2], link[H_PATH * 2];
	struct stat before;
	assert_int_equal(WEXITSTATUS(h_stop(&H, SIGTERM)), 0);
	target_make(target, sizeof(target), &before);
	snprintf(link, sizeof(link), "%s/%s", H.tmpdir, rel);
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	int rc = start_albd();
	printf("link at %s, albd started: %s\n", rel, rc == 0 ? "yes" : "no");
	target_untouched(target, &before);
	unlink(link);
	if (rc != 0)
		assert_int_equal(start_albd(), 0);
}

static void test_planted_links(void **state)
{
	(void)state;
	block_add(":ds");
	/* the image and its temporary name: a link is replaced, never
	 * followed */
	const char *img[] = {":s.img"}, *img_tmp[] = {"#:s.img"};
	planted(img, 1, false);
	planted(img_tmp, 1, false);
	/* the console FIFO and the log file: refused */
	const char *fifo[] = {"fifo/:s"}, *log[] = {":s.log"};
	planted(fifo, 1, true);
	planted(log, 1, true);
	/* the runtime records of the next creates (<name>@<id>) and their
	 * temporary names: replaced by the records */
	static char recs[PLANT_MAX][64];
	const char *rec[PLANT_MAX];
	for (int i = 0; i < PLANT_MAX / 2; i++) {
		snprintf(recs[2 * i], sizeof(recs[0]), "running/:s@%d", i + 1);
		snprintf(recs[2 * i + 1], sizeof(recs[0]), "running/#:s@%d", i + 1);
		rec[2 * i] = recs[2 * i];
		rec[2 * i + 1] = recs[2 * i + 1];
	}
	planted(rec, PLANT_MAX, false);
	/* nothing of :s is left behind */
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/:s.img", H.tmpdir);
	assert_int_equal(access(path, F_OK), -1);
	/* what albd makes in the tmpdir when it starts */
	planted_at_start("vmmd.lock");
	planted_at_start("util/vmmd.sock");
}

/* ---- a crash of albd ------------------------------------------------------- */

static void test_crash(void **state)
{
	(void)state;
	block_add(":dx");
	block_add(":dy");
	block_add(":dz");
	create_ok(":x", ":dx", NULL);
	create_ok(":y", ":dy", NULL);
	struct tender x, y;
	tender_of(":x", &x);
	tender_of(":y", &y);
	/* albd dies; then y's tender too, while no albd watches it */
	int st = h_stop(&H, SIGKILL);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(kill(y.pid, SIGKILL), 0);
	for (int i = 0; i < 500 && kill(y.pid, 0) == 0; i++)
		h_sleep_ms(10);
	owner_is(y.block, y.uid, 0600);
	char ylog[H_PATH * 2];
	snprintf(ylog, sizeof(ylog), "%s/:y.log", H.tmpdir);
	unlink(ylog);
	assert_int_equal(start_albd(), 0);
	/* x adopted, with its uid and file; y restored from the state file:
	 * a new tender, under a free uid */
	owner_is(x.block, x.uid, 0600);
	struct tender y2;
	tender_of(":y", &y2);
	assert_int_not_equal(y2.pid, y.pid);
	assert_int_not_equal(y2.uid, x.uid);
	owner_is(y2.block, y2.uid, 0600);
	/* both uids are taken */
	struct alb_msg *m = create(":z", ":dz", NULL);
	assert_non_null(strstr(h_text(m), "no free tender uid"));
	alb_msg_free(m);
	/* the adopted tender's file goes back at its end too */
	destroy(":x");
	owner_is(x.block, 0, 0600);
	destroy(":y");
	owner_is(y.block, 0, 0600);

	/* a block file a tender uid holds without a tender (as a crash
	 * between giving it and spawning would leave it) is taken back */
	assert_int_equal(WEXITSTATUS(h_stop(&H, SIGTERM)), 0);
	char dz[H_PATH * 2];
	snprintf(dz, sizeof(dz), "%s/block/:dz", H.dbdir);
	assert_int_equal(chown(dz, UID_FIRST + 1, UID_FIRST + 1), 0);
	assert_int_equal(chmod(dz, 0666), 0);
	assert_int_equal(start_albd(), 0);
	owner_is(dz, 0, 0600);
	free(x.log);
	free(y.log);
	free(y2.log);
}

/* ---- QEMU ------------------------------------------------------------------- */

/* The pid of the process whose command line has arg (0: none). */
static pid_t pid_with_arg(const char *arg)
{
	DIR *d = opendir("/proc");
	pid_t found = 0;
	struct dirent *e;
	static char cmd[65536];
	while (d != NULL && found == 0 && (e = readdir(d)) != NULL) {
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1) {
			cmd[n] = '\0';
			if (strcmp(cmd + i, arg) == 0)
				found = (pid_t)atoi(e->d_name);
		}
	}
	if (d != NULL)
		closedir(d);
	return found;
}

/* QEMU runs a virtio image the same way: its own uid, no capability, its
 * tap opened by name (ifname=, script=no). */
static void test_qemu(void **state)
{
	(void)state;
	size_t len = 0;
	char *elf = h_qemu_demo(H.dbdir, &len);
	if (elf == NULL)
		return;
	struct h_uk u;
	h_uk_init(&u, false);
	h_uk_net(&u, "service", BR);
	h_uk_arg(&u, "--seconds=10");
	u.cmd.u.create.image = (struct alb_bytes){(uint8_t *)elf, len};
	assert_true(h_call_is(&H, ":vm", &u.cmd, "created unikernel"));
	char *log = log_with(":vm", "Hello from albatross hello-unikernel");
	assert_non_null(log);
	free(log);
	char img[H_PATH * 2];
	snprintf(img, sizeof(img), "%s/:vm.img", H.tmpdir);
	pid_t pid = pid_with_arg(img);
	assert_true(pid > 0);
	char path[64], v[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *status = h_read_file(path, NULL);
	assert_non_null(status);
	report_value(status, "\nUid:\t", v, sizeof(v));
	uint32_t uid = (uint32_t)strtoul(v, NULL, 10);
	assert_true(uid >= UID_FIRST && uid < UID_FIRST + UID_COUNT);
	report_value(status, "\nCapEff:\t", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	report_value(status, "\nCapBnd:\t", v, sizeof(v));
	assert_string_equal(v, "0000000000000000");
	free(status);
	owner_is(img, uid, 0600);
	printf("qemu %d: uid %u, no capability, its tap opened by name\n", (int)pid,
	       uid);
	destroy(":vm");
	free(elf);
}

/* ---- daemons under --user ----------------------------------------------------- */

#define DAEMON_USER "nobody"

static pid_t consoled_pid, statsd_pid;

/* Starts cli/<prog> on H.tmpdir as DAEMON_USER with the socket group
 * group and extra arguments; returns once util/<sock> accepts. */
static pid_t start_daemon(const char *prog, const char *sock, const char *group,
			  const char *extra)
{
	const char *build = getenv("ALB_BUILD_ROOT");
	char exe[H_PATH], path[H_PATH * 2];
	snprintf(exe, sizeof(exe), "%s/cli/%s", build ? build : ".", prog);
	snprintf(path, sizeof(path), "%s/util/%s", H.tmpdir, sock);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		execl(exe, exe, "--tmpdir", H.tmpdir, "--user", DAEMON_USER,
		      "--socket-group", group, extra, (char *)NULL);
		test_child_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		struct alb_client *c = NULL;
		if (alb_client_connect(path, 1000, &c, NULL) == 0) {
			alb_client_close(c);
			return pid;
		}
		h_sleep_ms(10);
	}
	fail_msg("%s did not start", prog);
	return -1;
}

/* The process runs as uid and gid, with no capability (it may still be
 * getting there: its socket accepts before it drops root). */
static void runs_as(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], v[256], want[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)uid, (unsigned)uid,
		 (unsigned)uid, (unsigned)uid);
	char *status = NULL;
	for (int i = 0; i < 500; i++, h_sleep_ms(10)) {
		free(status);
		status = h_read_file(path, NULL);
		assert_non_null(status);
		report_value(status, "\nUid:\t", v, sizeof(v));
		if (strcmp(v, want) == 0)
			break;
	}
	assert_string_equal(v, want);
	report_value(status, "\nGid:\t", v, sizeof(v));
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)gid, (unsigned)gid,
		 (unsigned)gid, (unsigned)gid);
	assert_string_equal(v, want);
	static const char *const zero[] = {"\nCapPrm:\t", "\nCapEff:\t",
					   "\nCapBnd:\t", "\nCapAmb:\t"};
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		report_value(status, zero[i], v, sizeof(v));
		assert_string_equal(v, "0000000000000000");
	}
	free(status);
}

/* alb-consoled and alb-statsd as nobody (after binding), albd's sockets in
 * nobody's group, the FIFO directory setgid to it (as the packaging makes
 * it), tenders under tender uids. */
static int setup_user(void **state)
{
	(void)state;
	struct passwd *pw = getpwnam(DAEMON_USER);
	struct group *gr = pw != NULL ? getgrgid(pw->pw_gid) : NULL;
	if (pw == NULL || gr == NULL) {
		printf("no user " DAEMON_USER ": skipped\n");
		return 0;
	}
	static char group[64];
	snprintf(group, sizeof(group), "%s", gr->gr_name);
	char fifo[H_PATH * 2];
	if (h_setup_in(&H, "priv-user", NULL) != 0 || chmod(H.root, 0711) != 0)
		return -1;
	snprintf(fifo, sizeof(fifo), "%s/fifo", H.tmpdir);
	if (mkdir(fifo, 0750) != 0 || chown(fifo, 0, pw->pw_gid) != 0 ||
	    chmod(fifo, 02750) != 0)
		return -1;
	struct alb_error err = {0};
	if (alb_bridge_create(NULL, BR, &err) != 0 && err.code != ALB_EEXIST)
		return -1;
	char uids[64], sg[96];
	snprintf(uids, sizeof(uids), "--tender-uids=%u:%u", UID_FIRST, UID_COUNT);
	snprintf(sg, sizeof(sg), "--socket-group=%s", group);
	const char *args[] = {uids, sg, NULL};
	if (h_start_albd_args(&H, args) != 0)
		return -1;
	consoled_pid = start_daemon("alb-consoled", "console.sock", group, NULL);
	statsd_pid = start_daemon("alb-statsd", "stat.sock", group, "--interval=1");
	return 0;
}

static int teardown_user(void **state)
{
	if (H.pid == 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		pid_t pid = i == 0 ? consoled_pid : statsd_pid;
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, NULL, 0);
		}
	}
	consoled_pid = statsd_pid = 0;
	return teardown(state);
}

/* The first message on c that is data, within the client's timeout. */
static struct alb_msg *next_data(struct alb_client *c)
{
	for (int i = 0; i < 100; i++) {
		struct alb_msg *m = NULL;
		if (alb_client_recv(c, &m, NULL) != 0)
			return NULL;
		if (m->kind == ALB_PAYLOAD_DATA)
			return m;
		alb_msg_free(m);
	}
	return NULL;
}

static void test_daemons_user(void **state)
{
	(void)state;
	struct passwd *pw = getpwnam(DAEMON_USER);
	if (pw == NULL || consoled_pid == 0)
		return;
	runs_as(consoled_pid, pw->pw_uid, pw->pw_gid);
	runs_as(statsd_pid, pw->pw_uid, pw->pw_gid);
	printf("alb-consoled %d and alb-statsd %d: uid %u, no capability\n",
	       (int)consoled_pid, (int)statsd_pid, (unsigned)pw->pw_uid);

	/* a unikernel under a tender uid, its console and statistics served */
	struct h_uk u;
	h_uk_init(&u, false);
	h_uk_net(&u, "service", BR);
	h_uk_arg(&u, "--sleep-ms=60000");
	assert_int_equal(h_uk_image(&u), 0);
	assert_true(h_call_is(&H, ":u", &u.cmd, "created unikernel"));
	h_uk_free(&u);

	char path[H_PATH * 2];
	struct alb_client *c = NULL;
	snprintf(path, sizeof(path), "%s/util/console.sock", H.tmpdir);
	assert_int_equal(alb_client_connect(path, 10000, &c, NULL), 0);
	struct alb_command sub = {.kind = ALB_CMD_CONSOLE_SUBSCRIBE};
	sub.u.subscribe.count = 40;
	assert_int_equal(alb_client_send(c, ":u", &sub, NULL, NULL, NULL), 0);
	/* the tender's last report line before it sleeps */
	const char *want = "fake-tender: cmdline --name=u --sleep-ms=60000";
	bool seen = false;
	for (int i = 0; i < 40 && !seen; i++) {
		struct alb_msg *m = next_data(c);
		assert_non_null(m);
		const struct alb_str *line = &m->u.data.u.console.line;
		seen = m->u.data.kind == ALB_DATA_CONSOLE &&
		       line->len == strlen(want) &&
		       memcmp(line->ptr, want, line->len) == 0;
		alb_msg_free(m);
	}
	assert_true(seen);
	alb_client_close(c);

	snprintf(path, sizeof(path), "%s/util/stat.sock", H.tmpdir);
	assert_int_equal(alb_client_connect(path, 10000, &c, NULL), 0);
	struct alb_command ssub = {.kind = ALB_CMD_STATS_SUBSCRIBE};
	assert_int_equal(alb_client_send(c, ":u", &ssub, NULL, NULL, NULL), 0);
	struct alb_msg *m = next_data(c);
	assert_non_null(m);
	assert_int_equal(m->u.data.kind, ALB_DATA_STATS);
	const struct alb_stats *st = &m->u.data.u.stats;
	/* what it read of a process of another uid: not masked */
	assert_true(st->rusage.maxrss > 0);
	assert_true(st->has_kinfo_mem && st->kinfo_mem.vsize > 0);
	assert_true(st->kinfo_mem.start.sec > 0);
	assert_int_equal(st->n_ifdata, 1);
	printf("alb-statsd as %s, a tender of another uid: maxrss %lld, vsize "
	       "%lld, nvcsw %lld, tap mtu %lld\n", DAEMON_USER,
	       (long long)st->rusage.maxrss, (long long)st->kinfo_mem.vsize,
	       (long long)st->rusage.nvcsw, (long long)st->ifdata[0].mtu);
	alb_msg_free(m);
	alb_client_close(c);
	destroy(":u");
}

/* ---- directories albd refuses ----------------------------------------------- */

static void test_refused_dirs(void **state)
{
	(void)state;
	/* between two runs: the dbdir becomes writable by its group, then
	 * by others, then the tmpdir is another user's */
	assert_int_equal(WEXITSTATUS(h_stop(&H, SIGTERM)), 0);
	assert_int_equal(chmod(H.dbdir, 0775), 0);
	assert_int_not_equal(start_albd(), 0);
	assert_int_equal(chmod(H.dbdir, 0757), 0);
	assert_int_not_equal(start_albd(), 0);
	assert_int_equal(chmod(H.dbdir, 0750), 0);
	assert_int_equal(chown(H.tmpdir, OTHER_UID, 0), 0);
	assert_int_not_equal(start_albd(), 0);
	assert_int_equal(chown(H.tmpdir, 0, 0), 0);
	/* fixed: it starts, and gives others search permission on dbdir */
	assert_int_equal(start_albd(), 0);
	struct stat st;
	assert_int_equal(stat(H.dbdir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
}

static int tests(void)
{
	if (private_devices() != 0) {
		printf("skipped: cannot bind device nodes of our own: %s\n",
		       strerror(errno));
		return SKIP_STATUS;
	}
	const struct CMUnitTest t[] = {
		cmocka_unit_test_setup_teardown(test_two_tenders, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_qemu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemons_user, setup_user,
						teardown_user),
		cmocka_unit_test_setup_teardown(test_refused_dirs, setup, teardown),
	};
	return cmocka_run_group_tests_name("privilege", t, NULL, NULL);
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	return run_in_netns(tests);
}
