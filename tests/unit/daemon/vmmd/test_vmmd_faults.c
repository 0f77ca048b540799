/* Unit tests of the vmmd core's mechanisms against faults: runtime records
 * (text at and past its limits, atomic durable stores, file names, the
 * /proc test of a tender's image), block device files written beside the
 * device and renamed into place only when complete, and the locks that
 * keep a second daemon out.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "host_helpers.h"
#include "host/spawn.h"
#include "vmmd_internal.h"

static char dir[128];
static int dfd = -1;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/alb-vmmd-faults-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	close(dfd);
	remove_tree(dir);
	return 0;
}

/* Contents of dir/file (NUL added), or NULL. */
static char *slurp(const char *file, size_t *len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	uint8_t *data = load_file(path, 1u << 30, len);
	char *text = data != NULL ? malloc(*len + 1) : NULL;
	if (text != NULL) {
		memcpy(text, data, *len);
		text[*len] = '\0';
	}
	free(data);
	return text;
}

static bool exists(const char *file)
{
	struct stat st;
	return fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- records ---------------------------------------------------------- */

static void fill_record(struct record *r, enum record_stage stage, size_t taps)
{
	memset(r, 0, sizeof(*r));
	r->stage = stage;
	r->kind = ALB_TENDER_HVT;
	for (size_t i = 0; i < ALB_SHA256_LEN; i++)
		r->fingerprint[i] = (uint8_t)i;
	r->log_output = true;
	for (size_t i = 0; i < taps; i++) {
		snprintf(r->taps[i].name, ALB_IFNAME_SIZE, "vmmtap%zu", i);
		r->macs[i][0] = 0x00;
		r->macs[i][5] = (uint8_t)i;
	}
	r->n_taps = taps;
	if (stage == RECORD_RUNNING) {
		r->pid = 4242;
		r->starttime = 123456;
		r->started = (struct alb_time){1700000000, 5};
	}
}

/* VMMD_RECORD_TAPS_MAX taps and VMMD_RECORD_MAX bytes are read, one more
 * of either is not; the fields of a running tender are there exactly at
 * stage running. */
static void test_record_parse(void **state)
{
	(void)state;
	static const char head[] =
		"stage running\nkind 1\n"
		"fingerprint 000102030405060708090a0b0c0d0e0f"
		"101112131415161718191a1b1c1d1e1f\n"
		"pid 4242\nstarttime 123456\nstarted 1700000000 5\n";
	size_t cap = VMMD_RECORD_MAX + 64;
	char *text = malloc(cap);
	struct record *r = malloc(sizeof(*r));
	size_t o = (size_t)snprintf(text, cap, "%s", head);
	assert_true(record_parse(text, o, r));
	assert_int_equal(r->stage, RECORD_RUNNING);
	assert_int_equal(r->pid, 4242);
	assert_int_equal(r->starttime, 123456);
	assert_int_equal(r->kind, ALB_TENDER_HVT);
	assert_int_equal(r->started.nsec, 5);
	assert_int_equal(r->fingerprint[31], 0x1f);
	assert_int_equal(r->n_taps, 0);
	assert_false(r->log_output);
	for (int i = 0; i < VMMD_RECORD_TAPS_MAX; i++)
		o += (size_t)snprintf(text + o, cap - o,
				      "tap vmmtap%d 00:80:41:00:00:%02x\n", i, i);
	assert_true(record_parse(text, o, r));
	assert_int_equal(r->n_taps, VMMD_RECORD_TAPS_MAX);
	assert_string_equal(r->taps[3].name, "vmmtap3");
	assert_int_equal(r->macs[3][5], 3);
	size_t at = o;
	o += (size_t)snprintf(text + o, cap - o, "tap vmmtap99 00:80:41:00:00:99\n");
	assert_false(record_parse(text, o, r));
	/* padded to exactly the size limit (trailing blanks of "log 1") */
	o = at;
	o += (size_t)snprintf(text + o, cap - o, "log 1");
	memset(text + o, ' ', VMMD_RECORD_MAX - o);
	assert_true(record_parse(text, VMMD_RECORD_MAX, r));
	assert_true(r->log_output);
	text[VMMD_RECORD_MAX] = ' ';
	assert_false(record_parse(text, VMMD_RECORD_MAX + 1, r));
	/* a field missing, twice, an unknown line, a NUL byte, an unknown
	 * stage */
	assert_false(record_parse(head, 20, r));
	o = (size_t)snprintf(text, cap, "%sbogus 1\n", head);
	assert_false(record_parse(text, o, r));
	o = (size_t)snprintf(text, cap, "%skind 1\n", head);
	assert_false(record_parse(text, o, r));
	o = (size_t)snprintf(text, cap, "%s", head);
	text[3] = '\0';
	assert_false(record_parse(text, o, r));
	o = (size_t)snprintf(text, cap, "stage later%s", head + 13);
	assert_false(record_parse(text, o, r));
	/* the intent: no pid yet, and a pid at stage spawn is refused */
	o = (size_t)snprintf(text, cap, "stage spawn\nkind 2\nfingerprint %064d\n", 7);
	assert_true(record_parse(text, o, r));
	assert_int_equal(r->stage, RECORD_SPAWN);
	assert_int_equal(r->kind, ALB_TENDER_SPT);
	assert_int_equal(r->fingerprint[31], 0x07);
	o += (size_t)snprintf(text + o, cap - o, "pid 77\n");
	assert_false(record_parse(text, o, r));
	/* and stage running without its pid */
	o = (size_t)snprintf(text, cap, "stage running\nkind 2\nfingerprint %064d\n", 7);
	assert_false(record_parse(text, o, r));
	free(text);
	free(r);
}

/* What record_format() writes, record_parse() reads back, at each stage
 * and with the most taps. */
static void test_record_roundtrip(void **state)
{
	(void)state;
	struct record *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char *text = malloc(VMMD_RECORD_MAX);
	for (int stage = RECORD_TAPS; stage <= RECORD_RUNNING; stage++) {
		fill_record(a, (enum record_stage)stage, VMMD_RECORD_TAPS_MAX);
		size_t len = record_format(a, text, VMMD_RECORD_MAX);
		assert_true(len > 0);
		assert_true(record_parse(text, len, b));
		assert_int_equal(b->stage, stage);
		assert_int_equal(b->n_taps, VMMD_RECORD_TAPS_MAX);
		assert_memory_equal(b->taps, a->taps, sizeof(a->taps));
		assert_memory_equal(b->macs, a->macs, sizeof(a->macs));
		assert_memory_equal(b->fingerprint, a->fingerprint, ALB_SHA256_LEN);
		assert_int_equal(b->pid, a->pid);
		assert_int_equal(b->starttime, a->starttime);
		assert_int_equal(b->started.sec, a->started.sec);
		assert_true(b->log_output);
		/* one byte short of room: nothing */
		assert_int_equal(record_format(a, text, len), 0);
		assert_int_equal(record_format(a, text, len + 1), len);
	}
	free(text);
	free(a);
	free(b);
}

static void test_record_file_names(void **state)
{
	(void)state;
	char name[ALB_NAME_BUF], file[64];
	uint64_t id = 0;
	assert_true(record_file(file, sizeof(file), "a:b:c", 17));
	assert_string_equal(file, "a:b:c@17");
	assert_true(record_file_parse(file, name, &id));
	assert_string_equal(name, "a:b:c");
	assert_int_equal(id, 17);
	assert_true(record_file_parse(":x.y@18446744073709551615", name, &id));
	assert_int_equal(id, UINT64_MAX);
	assert_false(record_file_parse(":x@18446744073709551616", name, &id));
	assert_false(record_file(file, 8, "a:b:c", 17));
	const char *bad[] = {":x", ":x@", ":x@0", "@3", ":x@3a", ":x@-3",
			     "#:x@3", ":X@3", "a:@3", ":x@ 3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(record_file_parse(bad[i], name, &id));
}

/* A store replaces the previous version at once (rename), leaves no
 * temporary file, makes the record private, removes the leftover of an
 * interrupted write (a symlink there is removed, its target untouched). */
static void test_record_store(void **state)
{
	(void)state;
	struct record *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	fill_record(a, RECORD_TAPS, 1);
	assert_int_equal(record_store_at(dfd, ":u", 5, a, NULL), 0);
	assert_true(record_read_at(dfd, ":u@5", b));
	assert_int_equal(b->stage, RECORD_TAPS);
	assert_int_equal(b->n_taps, 1);
	struct stat st;
	assert_int_equal(fstatat(dfd, ":u@5", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_false(exists("#:u@5"));

	/* an interrupted write of the next version: a symlink to a file of
	 * someone else's */
	assert_true(store_file("/tmp/alb-vmmd-faults-target", "keep", 4));
	assert_int_equal(symlinkat("/tmp/alb-vmmd-faults-target", dfd, "#:u@5"), 0);
	fill_record(a, RECORD_RUNNING, 2);
	assert_int_equal(record_store_at(dfd, ":u", 5, a, NULL), 0);
	assert_true(record_read_at(dfd, ":u@5", b));
	assert_int_equal(b->stage, RECORD_RUNNING);
	assert_int_equal(b->pid, 4242);
	assert_false(exists("#:u@5"));
	size_t len;
	char *t = (char *)load_file("/tmp/alb-vmmd-faults-target", 64, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(t, "keep", 4);
	free(t);
	unlink("/tmp/alb-vmmd-faults-target");

	/* a record is not read through a symlink, nor past its limit */
	assert_int_equal(symlinkat(":u@5", dfd, ":v@6"), 0);
	assert_false(record_read_at(dfd, ":v@6", b));
	char *big = malloc(VMMD_RECORD_MAX + 1);
	memset(big, ' ', VMMD_RECORD_MAX + 1);
	char path[256];
	snprintf(path, sizeof(path), "%s/:w@7", dir);
	assert_true(store_file(path, big, VMMD_RECORD_MAX + 1));
	assert_false(record_read_at(dfd, ":w@7", b));
	free(big);
	/* a store into a directory that is gone fails and says so */
	int gone = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char sub[256];
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	int sfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(rmdir(sub), 0);
	struct alb_error err = {0};
	assert_int_equal(record_store_at(sfd, ":u", 8, a, &err), ALB_ESYS);
	assert_non_null(strstr(err.msg, "cannot write its runtime record"));
	close(sfd);
	close(gone);
	free(a);
	free(b);
}

/* The /proc test: an argument <tmpdir>/<name>.img of a valid name. */
static void test_proc_tender_of(void **state)
{
	(void)state;
	char name[ALB_NAME_BUF];
	static const char ok[] = "solo5-hvt\0--mem=32\0--net:service=vmmtap0\0"
				 "/run/alb/a:b.img\0--name=b";
	assert_true(proc_tender_of("/run/alb", ok, sizeof(ok), name));
	assert_string_equal(name, "a:b");
	static const char qemu[] = "qemu-system-x86_64\0-kernel\0/run/alb/:q.img";
	assert_true(proc_tender_of("/run/alb", qemu, sizeof(qemu) - 1, name));
	assert_string_equal(name, ":q");
	static const char *const no[] = {
		"x\0/run/albx/:a.img",        /* another directory */
		"x\0/run/alb/sub/:a.img",     /* below it */
		"x\0/run/alb/:A.img",         /* not canonical */
		"x\0/run/alb/a:.img",         /* a path, not a unikernel */
		"x\0/run/alb/.img",           /* no name */
		"x\0/run/alb/:a.img.tmp",     /* not an image */
		"x\0--kernel=/run/alb/:a.img" /* part of an argument */
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		size_t len = strlen(no[i]) + 1 + strlen(no[i] + strlen(no[i]) + 1);
		assert_false(proc_tender_of("/run/alb", no[i], len, name));
	}
}

/* The intent at work: a process spawned after its stage spawn record is
 * recognised by /proc alone (its pid was never recorded). */
static void test_intent_finds_process(void **state)
{
	(void)state;
	const char *fake = getenv("ALB_FAKE_TENDER");
	if (fake == NULL)
		skip();
	char img[256];
	snprintf(img, sizeof(img), "%s/:intent.img", dir);
	assert_true(store_file(img, "x", 1));
	struct record *r = malloc(sizeof(*r));
	fill_record(r, RECORD_SPAWN, 0);
	assert_int_equal(record_store_at(dfd, ":intent", 9, r, NULL), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execl(fake, "solo5-hvt", "--mem=32", "--", img, "--sleep-ms=30000",
		      (char *)NULL);
		_exit(127);
	}
	char path[64], *cmd = malloc(ALB_TENDER_ARGV_MAX);
	char name[ALB_NAME_BUF];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	bool found = false;
	for (int i = 0; i < 200 && !found; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, cmd, ALB_TENDER_ARGV_MAX) : -1;
		if (fd >= 0)
			close(fd);
		found = n > 0 && proc_tender_of(dir, cmd, (size_t)n, name);
		if (!found)
			usleep(10000);
	}
	assert_true(found);
	assert_string_equal(name, ":intent");
	assert_true(proc_starttime(pid) > 0);
	assert_true(record_read_at(dfd, ":intent@9", r));
	assert_int_equal(r->stage, RECORD_SPAWN);
	kill(pid, SIGKILL);
	/* dead but not reaped (as an adopted tender is until its reaper
	 * waits): gone, not a tender to adopt */
	siginfo_t si;
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(proc_starttime(pid), 0);
	waitpid(pid, NULL, 0);
	assert_int_equal(proc_starttime(pid), 0);
	free(cmd);
	free(r);
}

/* ---- block device files ------------------------------------------------- */

static void put(const char *file, const void *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	assert_true(store_file(path, p, n));
}

static void assert_file(const char *file, const uint8_t *p, size_t n)
{
	size_t len;
	char *got = slurp(file, &len);
	assert_non_null(got);
	assert_int_equal(len, n);
	assert_memory_equal(got, p, n);
	free(got);
}

static void test_blockfile(void **state)
{
	(void)state;
	const size_t MiB = 1 << 20;
	uint8_t *old = malloc(MiB), *data = malloc(MiB + 1);
	for (size_t i = 0; i < MiB; i++)
		old[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i <= MiB; i++)
		data[i] = (uint8_t)(i * 13 + 1);
	put(":d", old, MiB);
	struct blockfile b;
	struct alb_error err = {0};

	/* a write given up (a broken stream, a client gone): old bytes */
	assert_int_equal(blockfile_begin(&b, dfd, ":d", NULL), 0);
	assert_true(exists("#:d"));
	assert_int_equal(blockfile_write(&b, data, MiB / 2, NULL), 0);
	blockfile_abort(&b);
	assert_false(exists("#:d"));
	assert_file(":d", old, MiB);

	/* exactly the size fits; one byte more does not, and changes nothing */
	assert_int_equal(blockfile_begin(&b, dfd, ":d", NULL), 0);
	assert_int_equal(blockfile_write(&b, data, MiB + 1, NULL), 0);
	assert_int_equal(blockfile_commit(&b, MiB, true, &err), ALB_ETOOBIG);
	assert_string_equal(err.msg, "data exceeds block size");
	assert_false(exists("#:d"));
	assert_file(":d", old, MiB);
	assert_int_equal(blockfile_begin(&b, dfd, ":d", NULL), 0);
	assert_int_equal(blockfile_write(&b, data, MiB, NULL), 0);
	assert_int_equal(blockfile_commit(&b, MiB, true, NULL), 0);
	assert_false(exists("#:d"));
	assert_file(":d", data, MiB);

	/* a shorter write is padded with zeros to the size */
	assert_int_equal(blockfile_begin(&b, dfd, ":d", NULL), 0);
	assert_int_equal(blockfile_write(&b, old, 100, NULL), 0);
	assert_int_equal(blockfile_commit(&b, MiB, true, NULL), 0);
	uint8_t *want = calloc(1, MiB);
	memcpy(want, old, 100);
	assert_file(":d", want, MiB);
	free(want);

	/* a new device: only where no file is */
	assert_int_equal(blockfile_begin(&b, dfd, ":d", NULL), 0);
	assert_int_equal(blockfile_commit(&b, MiB, false, &err), ALB_EEXIST);
	assert_string_equal(err.msg, "file already exists");
	assert_false(exists("#:d"));
	assert_int_equal(blockfile_begin(&b, dfd, ":n", NULL), 0);
	assert_int_equal(blockfile_commit(&b, 2 * MiB, false, NULL), 0);
	struct stat st;
	assert_int_equal(fstatat(dfd, ":n", &st, 0), 0);
	assert_int_equal(st.st_size, 2 * MiB);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* the leftover of a crash (even a symlink) is replaced, not followed */
	put("victim", "v", 1);
	char target[256];
	snprintf(target, sizeof(target), "%s/victim", dir);
	assert_int_equal(symlinkat(target, dfd, "#:d"), 0);
	assert_int_equal(blockfile_begin(&b, dfd, ":d", NULL), 0);
	assert_int_equal(blockfile_write(&b, data, 10, NULL), 0);
	blockfile_abort(&b);
	assert_file("victim", (const uint8_t *)"v", 1);

	/* removal */
	assert_int_equal(blockfile_remove(dfd, ":n", NULL), 0);
	assert_false(exists(":n"));
	assert_int_equal(blockfile_remove(dfd, ":n", NULL), 0);
	free(old);
	free(data);
}

/* ---- locks ------------------------------------------------------------------ */

static void test_lock_file(void **state)
{
	(void)state;
	struct alb_error err = {0};
	int a = lock_file_take(dfd, dir, "vmmd.lock", &err);
	assert_true(a >= 0);
	size_t len;
	char *pid = slurp("vmmd.lock", &len);
	char want[32];
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(pid, want);
	free(pid);
	struct stat st;
	assert_int_equal(fstatat(dfd, "vmmd.lock", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* a second holder (its own open file description) is refused */
	assert_int_equal(lock_file_take(dfd, dir, "vmmd.lock", &err), ALB_EBUSY);
	char msg[256];
	snprintf(msg, sizeof(msg), "another albd (pid %ld) holds %s/vmmd.lock: "
		 "refusing to start", (long)getpid(), dir);
	assert_string_equal(err.msg, msg);
	/* ... also in another process */
	pid_t child = fork();
	if (child == 0)
		_exit(lock_file_take(dfd, dir, "vmmd.lock", NULL) == ALB_EBUSY ? 0 : 1);
	int ws;
	waitpid(child, &ws, 0);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	/* released with its descriptor (a crash releases it too) */
	close(a);
	a = lock_file_take(dfd, dir, "vmmd.lock", &err);
	assert_true(a >= 0);
	close(a);
	/* never through a symlink */
	put("elsewhere", "x", 1);
	assert_int_equal(symlinkat("elsewhere", dfd, "link.lock"), 0);
	assert_int_equal(lock_file_take(dfd, dir, "link.lock", &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, ELOOP);
	assert_file("elsewhere", (const uint8_t *)"x", 1);
}

static void test_lock_netns(void **state)
{
	(void)state;
	char name[64];
	/* a name of this test's own: the host may run an albd */
	snprintf(name, sizeof(name), "alb-test-lock-%ld", (long)getpid());
	struct alb_error err = {0};
	int a = lock_netns_take(name, &err);
	assert_true(a >= 0);
	assert_int_equal(lock_netns_take(name, &err), ALB_EBUSY);
	assert_non_null(strstr(err.msg, "another albd runs in this network namespace"));
	close(a);
	a = lock_netns_take(name, &err);
	assert_true(a >= 0);
	close(a);
	/* the longest name that fits, and one past it */
	char lng[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	memset(lng, 'n', sizeof(lng) - 2);
	lng[sizeof(lng) - 2] = '\0';
	lng[0] = (char)('a' + getpid() % 26);
	a = lock_netns_take(lng, &err);
	assert_true(a >= 0);
	close(a);
	memset(lng, 'n', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	assert_int_equal(lock_netns_take(lng, &err), ALB_ETOOBIG);
}

/* The core's three locks: in a network namespace of its own, a second
 * core on the same directories, or in the same namespace, is refused
 * before it makes anything. */
static int lock_body(void)
{
	struct alb_vmmd *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct alb_vmmd *vs[2] = {a, b};
	for (int i = 0; i < 2; i++) {
		vs[i]->lock_ns = vs[i]->lock_tmp = vs[i]->lock_db = -1;
		snprintf(vs[i]->tmpdir, sizeof(vs[i]->tmpdir), "%s/run%d", dir, i);
		snprintf(vs[i]->dbdir, sizeof(vs[i]->dbdir), "%s/db", dir);
	}
	struct alb_error err = {0};
	int rc = vmmd_lock(a, &err);
	if (rc != 0) {
		printf("lock: %s\n", err.msg);
		return 1;
	}
	/* same namespace */
	rc = vmmd_lock(b, &err);
	struct stat st;
	if (rc != ALB_EBUSY || strstr(err.msg, "network namespace") == NULL ||
	    stat(b->tmpdir, &st) == 0) {
		printf("second lock: %d %s\n", rc, err.msg);
		return 1;
	}
	vmmd_unlock(b);
	/* another namespace, same dbdir: refused by the dbdir's lock */
	if (unshare(CLONE_NEWNET) != 0)
		return 1;
	rc = vmmd_lock(b, &err);
	char want[VMMD_PATH_MAX + 128];
	snprintf(want, sizeof(want), "another albd (pid %ld) holds %s/vmmd.lock: "
		 "refusing to start", (long)getpid(), a->dbdir);
	if (rc != ALB_EBUSY || strcmp(err.msg, want) != 0) {
		printf("dbdir lock: %d %s\n", rc, err.msg);
		return 1;
	}
	vmmd_unlock(b);
	/* another namespace, same tmpdir */
	snprintf(b->tmpdir, sizeof(b->tmpdir), "%s", a->tmpdir);
	snprintf(b->dbdir, sizeof(b->dbdir), "%s/db2", dir);
	rc = vmmd_lock(b, &err);
	if (rc != ALB_EBUSY || strstr(err.msg, "/run0/vmmd.lock") == NULL) {
		printf("tmpdir lock: %d %s\n", rc, err.msg);
		return 1;
	}
	vmmd_unlock(b);
	/* the first one gone: the second one gets them */
	vmmd_unlock(a);
	rc = vmmd_lock(b, &err);
	vmmd_unlock(b);
	free(a);
	free(b);
	return rc == 0 ? 0 : 1;
}

static void test_vmmd_locks(void **state)
{
	(void)state;
	int st = run_in_netns(lock_body);
	if (st == SKIP_STATUS)
		skip();
	assert_int_equal(st, 0);
}

/* ---- spawns left before their exec (vmmd_spawning.c) ---------------------------- */

/* A child named ALB_SPAWN_COMM with fd 0 on console, blocked until a byte
 * arrives on *release (then it execs /bin/sleep 30) or the pipe closes
 * (then it exits). */
static pid_t named_child(const char *console, int *release)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		int fd = open(console, O_RDONLY);
		int null = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 0);
		/* no output of ours kept open if the test fails */
		for (int i = 1; i <= 2 && null >= 0; i++)
			dup2(null, i);
		/* named last: once listed, its fd 0 is the console (the
		 * test looks as soon as it sees the name) */
		prctl(PR_SET_NAME, ALB_SPAWN_COMM);
		char c;
		if (read(p[0], &c, 1) == 1)
			execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(0);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

static const struct spawning *listed(const struct spawning *l, size_t n,
				     pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].pid == pid)
			return &l[i];
	return NULL;
}

static void test_spawning(void **state)
{
	(void)state;
	char console[256];
	snprintf(console, sizeof(console), "%s/console", dir);
	int cfd = open(console, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(cfd >= 0);
	close(cfd);
	int rel_a, rel_b;
	pid_t a = named_child(console, &rel_a);
	pid_t b = named_child("/dev/null", &rel_b);
	/* both listed (once they have their name), with their start time */
	size_t n = 0;
	struct spawning *l = NULL;
	for (int i = 0; i < 500; i++) {
		free(l);
		l = spawning_list(&n);
		if (listed(l, n, a) != NULL && listed(l, n, b) != NULL)
			break;
		usleep(2000);
	}
	const struct spawning *sa = listed(l, n, a), *sb = listed(l, n, b);
	assert_non_null(sa);
	assert_non_null(sb);
	assert_int_equal(sa->starttime, proc_starttime(a));
	assert_true(spawning_still(sa));
	/* fd 0 tells whose spawn it is */
	struct stat st, want;
	assert_true(spawning_console(sa, &st));
	assert_int_equal(stat(console, &want), 0);
	assert_true(st.st_dev == want.st_dev && st.st_ino == want.st_ino);
	struct spawning ka = *sa, kb = *sb;
	free(l);
	/* neither execs: the wait ends at its bound with both (and with any
	 * exec elsewhere on the host that took as long: tests run beside) */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(spawns_settle(50) >= 2);
	assert_true(spawning_still(&ka) && spawning_still(&kb));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 50);
	/* a execs, b exits (a zombie until reaped): neither is waited for */
	assert_int_equal(write(rel_a, "x", 1), 1);
	close(rel_b);
	assert_int_equal(spawns_settle(5000), 0);
	assert_false(spawning_still(&ka));
	assert_false(spawning_still(&kb));
	l = spawning_list(&n);
	assert_null(listed(l, n, a));
	assert_null(listed(l, n, b));
	free(l);
	kill(a, SIGKILL);
	int ws;
	assert_int_equal(waitpid(a, &ws, 0), a);
	assert_int_equal(waitpid(b, &ws, 0), b);
	close(rel_a);
}

/* Fields 48 and 51 of /proc/self/stat: where the command line starts and
 * the environment ends (the top of the initial stack). */
static bool args_area(unsigned long *start, unsigned long *end)
{
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	char *text = fd < 0 ? NULL : read_to_eof(fd);
	if (fd >= 0)
		close(fd);
	char *f = text != NULL ? strrchr(text, ')') : NULL;
	for (int i = 2; i < 48 && f != NULL; i++) /* f at field i's space */
		f = strchr(f + 1, ' ');
	bool ok = f != NULL && sscanf(f, " %lu %*u %*u %lu", start, end) == 2;
	free(text);
	return ok;
}

struct execing_pipes {
	int release; /* read end: a byte makes the child exec */
	int ready;   /* write end: its status once it looks so */
};

/* The child of execing_child(), on a stack of its own: the one it was
 * forked on may share a page with its arguments. */
static int execing_body(void *arg)
{
	struct execing_pipes pp = *(struct execing_pipes *)arg;
	prctl(PR_SET_NAME, "tender");
	unsigned long start, end, page = (unsigned long)getpagesize();
	char st = 1;
	if (args_area(&start, &end)) {
		start &= ~(page - 1);
		end = (end + page - 1) & ~(page - 1);
		st = munmap((void *)start, end - start) == 0 ? 0 : 1;
	}
	/* from here on: no environment, no auxiliary vector */
	if (write(pp.ready, &st, 1) != 1 || st != 0)
		_exit(1);
	char c, *argv[] = {"sleep", "30", NULL}, *envp[] = {NULL};
	if (read(pp.release, &c, 1) == 1)
		execve("/bin/sleep", argv, envp);
	_exit(0);
}

/* A child that looks like a process whose exec is under way: renamed, its
 * executable readable, its command line empty (the pages holding its
 * arguments unmapped, as they are not set yet in an exec's new memory). A
 * byte on *release makes it exec /bin/sleep 30 (with no environment:
 * environ is gone). Its first byte on *ready is 0 once it looks so. */
static pid_t execing_child(int *release, int *ready)
{
	enum { STACK = 256 * 1024 };
	int p[2], r[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	char *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	assert_true(stack != MAP_FAILED);
	struct execing_pipes pp = {p[0], r[1]};
	fflush(stdout);
	pid_t pid = clone(execing_body, stack + STACK, SIGCHLD, &pp);
	assert_true(pid > 0);
	munmap(stack, STACK);
	close(p[0]);
	close(r[1]);
	*release = p[1];
	*ready = r[0];
	return pid;
}

/* A spawn already renamed by its exec but whose exec has not set its
 * arguments yet is still waited for (the /proc scan after the wait would
 * miss it), without a warning about tender spawns. */
static void test_spawn_execing(void **state)
{
	(void)state;
	int rel, ready;
	pid_t c = execing_child(&rel, &ready);
	char st = 1;
	assert_int_equal(read(ready, &st, 1), 1);
	close(ready);
	assert_int_equal(st, 0);
	size_t n = 0;
	struct spawning *l = spawning_list(&n);
	const struct spawning *sc = listed(l, n, c);
	assert_non_null(sc);
	assert_false(sc->named);
	assert_true(spawning_still(sc));
	struct spawning kc = *sc;
	free(l);
	assert_true(spawns_settle(20) >= 1); /* >: an exec elsewhere */
	assert_true(spawning_still(&kc));
	/* its exec done: no longer waited for */
	assert_int_equal(write(rel, "x", 1), 1);
	assert_int_equal(spawns_settle(5000), 0);
	assert_false(spawning_still(&kc));
	kill(c, SIGKILL);
	int ws;
	assert_int_equal(waitpid(c, &ws, 0), c);
	assert_true(WIFSIGNALED(ws));
	close(rel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_file_names),
		cmocka_unit_test_setup_teardown(test_record_store, setup, teardown),
		cmocka_unit_test(test_proc_tender_of),
		cmocka_unit_test_setup_teardown(test_intent_finds_process, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_blockfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_file, setup, teardown),
		cmocka_unit_test(test_lock_netns),
		cmocka_unit_test_setup_teardown(test_vmmd_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawning, setup, teardown),
		cmocka_unit_test(test_spawn_execing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
