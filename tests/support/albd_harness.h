/* Helpers of the albd integration test and benchmark (test_albd.c,
 * bench/albd.c): a scratch tmpdir/dbdir with the fake tender installed as
 * <dbdir>/solo5-hvt, tiny Solo5 hvt images, the daemon started in a child
 * (the library core on its own loop, or the albd binary), a client call,
 * and the host's view (tender processes, taps, files). Header-only: each
 * test is one binary. No cmocka here: functions return status codes.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_ALBD_HARNESS_H
#define ALB_TEST_ALBD_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "albatross/albatross.h"
#include "test_child.h"

#define H_PATH 512

/* snprintf into an array, -1 when it does not fit. */
#define H_FMT(buf, ...)                                                       \
	(snprintf((buf), sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf) ? -1 : 0)

struct harness {
	char root[H_PATH];
	char troot[H_PATH];  /* the tmpdir's own scratch directory, if any */
	char tmpdir[H_PATH];
	char dbdir[H_PATH];
	char sock[H_PATH];
	char tender[H_PATH]; /* <dbdir>/solo5-hvt */
	pid_t pid;           /* the daemon's process */
	bool reaped;         /* it ended already, with wait status `status` */
	int status;
};

static inline int64_t h_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline void h_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- tiny Solo5 images ---------------------------------------------------- */

static inline void h_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void h_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void h_put64(uint8_t *p, uint64_t v)
{
	h_put32(p, (uint32_t)v);
	h_put32(p + 4, (uint32_t)(v >> 32));
}

#define H_NET 2u
#define H_BLOCK 1u

/* An ELF64 x86_64 executable that is only what a Solo5 tender and
 * Albatross look at: the ABI1 note (target, ABI version 2) and the MFT1
 * manifest with the devices names[i] of types[i] (H_NET, H_BLOCK). Its
 * length goes to *len; free() it. `salt` changes the bytes (and digest)
 * without changing the meaning. */
static inline uint8_t *h_image(uint32_t target, const char *const *names,
			       const unsigned *types, size_t n, uint32_t salt,
			       size_t *len)
{
	const size_t eh = 64, ph = 56, nh = 20;
	size_t abi_len = nh + 16;
	size_t entries = n + 1;
	size_t mft_desc = 4 + 8 + entries * 104;
	size_t mft_len = nh + mft_desc;
	size_t total = eh + 2 * ph + abi_len + mft_len + 4;
	*len = 0;
	uint8_t *b = calloc(1, total);
	if (b == NULL)
		return NULL;
	memcpy(b, "\x7f" "ELF", 4);
	b[4] = 2; /* ELFCLASS64 */
	b[5] = 1; /* little-endian */
	b[6] = 1; /* EV_CURRENT */
	h_put16(b + 16, 2);  /* ET_EXEC */
	h_put16(b + 18, 62); /* x86_64 */
	h_put32(b + 20, 1);
	h_put64(b + 32, eh); /* e_phoff */
	h_put16(b + 52, (uint16_t)eh);
	h_put16(b + 54, (uint16_t)ph);
	h_put16(b + 56, 2);
	size_t abi_off = eh + 2 * ph, mft_off = abi_off + abi_len;
	for (int i = 0; i < 2; i++) {
		uint8_t *p = b + eh + (size_t)i * ph;
		h_put32(p, 4); /* PT_NOTE */
		h_put64(p + 8, i == 0 ? abi_off : mft_off);
		h_put64(p + 32, i == 0 ? abi_len : mft_len);
		h_put64(p + 40, i == 0 ? abi_len : mft_len);
	}
	uint8_t *a = b + abi_off;
	h_put32(a, 6);
	h_put32(a + 4, 16);
	h_put32(a + 8, 0x31494241u); /* ABI1 */
	memcpy(a + 12, "Solo5", 6);
	h_put32(a + 20, target);
	h_put32(a + 24, 2); /* ABI version */
	uint8_t *m = b + mft_off;
	h_put32(m, 6);
	h_put32(m + 4, (uint32_t)mft_desc);
	h_put32(m + 8, 0x3154464du); /* MFT1 */
	memcpy(m + 12, "Solo5", 6);
	uint8_t *d = m + nh;
	h_put32(d + 4, 1);
	h_put32(d + 8, (uint32_t)entries);
	uint8_t *e = d + 12;
	h_put32(e + 68, 0x40000000u); /* RESERVED_FIRST */
	for (size_t i = 0; i < n; i++) {
		uint8_t *x = e + (i + 1) * 104;
		snprintf((char *)x, 68, "%s", names[i]);
		h_put32(x + 68, types[i]);
	}
	h_put32(b + total - 4, salt);
	*len = total;
	return b;
}

/* ---- files ------------------------------------------------------------------ */

static inline int h_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* Reads a whole file (NUL added, not counted) or NULL. */
static inline char *h_read_file(const char *path, size_t *len)
{
	if (len != NULL)
		*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (buf == NULL)
			break;
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf != NULL) {
		buf[n] = '\0';
		if (len != NULL)
			*len = n;
	}
	return buf;
}

static inline void h_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char sub[H_PATH * 2];
			if (H_FMT(sub, "%s/%s", path, e->d_name) == 0)
				h_rm_rf(sub);
		}
		if (d != NULL)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* Number of entries of dir (without . and ..) whose name ends with suffix. */
static inline int h_count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int n = 0;
	size_t sl = strlen(suffix);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    e->d_type == DT_DIR)
			continue;
		if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* ---- the host's view ------------------------------------------------------- */

/* The command line of pid (NUL-separated, NUL-terminated) into buf; its
 * length, 0 when it is gone or a zombie. */
static inline size_t h_cmdline(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, buf, size - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	return (size_t)r;
}

/* Tries at reading a command line that is still empty (h_tenders). */
#define H_CMDLINE_TRIES 200

/* Whether pid, whose command line is empty, may be a process being
 * exec'ed: a user process (its executable known, unlike a kernel
 * thread's) that is no zombie. */
static inline bool h_proc_execing(pid_t pid)
{
	char path[64], exe[H_PATH];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (readlink(path, exe, sizeof(exe)) <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *text = h_read_file(path, NULL);
	const char *st = text != NULL ? strstr(text, "State:\t") : NULL;
	bool live = st != NULL && st[7] != 'Z' && st[7] != 'X';
	free(text);
	return live;
}

/* Pids of processes whose argv[0] is the harness's tender (up to max). */
static inline int h_tenders(const struct harness *h, pid_t *pids, int max)
{
	DIR *d = opendir("/proc");
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	size_t tl = strlen(h->tender);
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		char arg0[H_PATH + 2];
		/* a process the kernel is still exec'ing (a tender right
		 * after its spawn returned: CLONE_VFORK lets the parent go
		 * before the new command line is in place) shows an empty
		 * one for a moment, as a zombie does for ever */
		size_t r = h_cmdline((pid_t)pid, arg0, sizeof(arg0));
		for (int t = 1; r == 0 && t < H_CMDLINE_TRIES &&
				h_proc_execing((pid_t)pid); t++) {
			h_sleep_ms(1);
			r = h_cmdline((pid_t)pid, arg0, sizeof(arg0));
		}
		if (r == 0)
			continue;
		if (strlen(arg0) == tl && memcmp(arg0, h->tender, tl) == 0) {
			if (pids != NULL && n < max)
				pids[n] = (pid_t)pid;
			n++;
		}
	}
	closedir(d);
	return n;
}

/* True when the NUL-separated command line cmd[0..len) has the argument
 * arg. */
static inline bool h_cmdline_has(const char *cmd, size_t len, const char *arg)
{
	for (size_t i = 0; i < len; i += strnlen(cmd + i, len - i) + 1)
		if (strcmp(cmd + i, arg) == 0)
			return true;
	return false;
}

/* The number after label at the start of a line of /proc/<pid>/<file>
 * ("status", "VmHWM:"; "limits", "Max open files"; "io", "write_bytes:"),
 * -1 when there is none (or pid is gone). */
static inline long long h_proc_value(pid_t pid, const char *file,
				     const char *label)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	FILE *f = fopen(path, "re");
	long long v = -1;
	size_t n = strlen(label);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, label, n) == 0) {
			v = strtoll(line + n, NULL, 10);
			break;
		}
	if (f != NULL)
		fclose(f);
	return v;
}

/* Fills the filesystem that holds path: zeros appended to a new file there
 * until the disk is full; 0 when the last write failed with ENOSPC. */
static inline int h_fill_fs(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	static const uint8_t zeros[4096];
	while (write(fd, zeros, sizeof(zeros)) > 0)
		;
	int e = errno;
	close(fd);
	return e == ENOSPC ? 0 : -1;
}

/* Pids (up to max) of the tenders that run the image of unikernel name
 * (<tmpdir>/<name>.img on their command line); their number. */
static inline int h_tenders_of(const struct harness *h, const char *name,
			       pid_t *pids, int max)
{
	pid_t all[256];
	char img[H_PATH * 2];
	snprintf(img, sizeof(img), "%s/%s.img", h->tmpdir, name);
	int n = h_tenders(h, all, 256), k = 0;
	static char cmd[65536];
	for (int i = 0; i < n && i < 256; i++) {
		size_t len = h_cmdline(all[i], cmd, sizeof(cmd));
		if (len > 0 && h_cmdline_has(cmd, len, img)) {
			if (pids != NULL && k < max)
				pids[k] = all[i];
			k++;
		}
	}
	return k;
}

/* The pid that the runtime record <tmpdir>/running/<name>@<id> of a
 * running tender names (the newest such record), 0 when there is none. */
static inline pid_t h_record_pid(const struct harness *h, const char *name)
{
	char dir[H_PATH * 2];
	snprintf(dir, sizeof(dir), "%s/running", h->tmpdir);
	DIR *d = opendir(dir);
	pid_t pid = 0;
	unsigned long long best = 0;
	struct dirent *e;
	size_t nl = strlen(name);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, name, nl) != 0 || e->d_name[nl] != '@')
			continue;
		unsigned long long id = strtoull(e->d_name + nl + 1, NULL, 10);
		char path[H_PATH * 3];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *text = h_read_file(path, NULL);
		const char *p = text != NULL ? strstr(text, "\npid ") : NULL;
		if (p != NULL && id > best) {
			best = id;
			pid = (pid_t)atoi(p + 5);
		}
		free(text);
	}
	if (d != NULL)
		closedir(d);
	return pid;
}

/* The pid of the one tender of unikernel name, 0 when none runs (or
 * more than one). */
static inline pid_t h_tender_of(const struct harness *h, const char *name)
{
	pid_t pid = 0;
	return h_tenders_of(h, name, &pid, 1) == 1 ? pid : 0;
}

/* True once pid catches SIGUSR1 (SigCgt of /proc/PID/status). */
static inline bool h_catches_usr1(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	char *text = h_read_file(path, NULL);
	const char *c = text != NULL ? strstr(text, "SigCgt:") : NULL;
	bool yes = c != NULL &&
		   (strtoull(c + 7, NULL, 16) & (1ULL << (SIGUSR1 - 1))) != 0;
	free(text);
	return yes;
}

/* Sends SIGUSR1 to a fake tender run with --usr1-exit=N once it has set
 * up its handler (a signal sent before would kill it instead of making it
 * exit with N); up to a second. */
static inline void h_usr1_when_caught(pid_t pid)
{
	if (pid <= 0)
		return;
	for (int i = 0; i < 200 && !h_catches_usr1(pid); i++)
		h_sleep_ms(5);
	kill(pid, SIGUSR1);
}

static inline int h_count_taps_cb(void *ctx, int ifindex, const char *ifname,
				  const struct alb_ifdata *d)
{
	(void)ifindex;
	(void)d;
	if (alb_tap_name_index(ifname, NULL))
		(*(int *)ctx)++;
	return 0;
}

/* Number of interfaces vmmtapN in this network namespace. */
static inline int h_count_taps(void)
{
	int n = 0;
	if (alb_ifdata_dump(NULL, h_count_taps_cb, &n, NULL) != 0)
		return -1;
	return n;
}

/* ---- setting up ------------------------------------------------------------ */

/* Makes the scratch directories under /tmp, the runtime one under
 * tmp_base instead when it is not NULL (e.g. a tmpfs, as /run is where
 * albd runs), and installs the fake tender (path in $ALB_FAKE_TENDER) as
 * <dbdir>/solo5-hvt. */
static inline int h_setup_in(struct harness *h, const char *tag,
			     const char *tmp_base)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->root, sizeof(h->root), "/tmp/alb-%s-XXXXXX", tag);
	if (mkdtemp(h->root) == NULL)
		return -1;
	const char *tbase = h->root;
	if (tmp_base != NULL) {
		if (H_FMT(h->troot, "%s/alb-%s-XXXXXX", tmp_base, tag) != 0 ||
		    mkdtemp(h->troot) == NULL)
			return -1;
		tbase = h->troot;
	}
	const char *fake = getenv("ALB_FAKE_TENDER");
	if (H_FMT(h->tmpdir, "%s/run", tbase) != 0 ||
	    H_FMT(h->dbdir, "%s/db", h->root) != 0 ||
	    H_FMT(h->sock, "%s/util/vmmd.sock", h->tmpdir) != 0 ||
	    H_FMT(h->tender, "%s/solo5-hvt", h->dbdir) != 0 || fake == NULL ||
	    mkdir(h->tmpdir, 0755) != 0 ||
	    mkdir(h->dbdir, 0755) != 0 || symlink(fake, h->tender) != 0)
		return -1;
	return 0;
}

static inline int h_setup(struct harness *h, const char *tag)
{
	return h_setup_in(h, tag, NULL);
}

static inline void h_teardown(struct harness *h)
{
	h_rm_rf(h->root);
	if (h->troot[0] != '\0')
		h_rm_rf(h->troot);
}

/* True once the daemon accepts connections. */
static inline bool h_wait_socket(struct harness *h, int timeout_ms)
{
	int st;
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     h_now_us() < end; h_sleep_ms(5)) {
		struct alb_client *c = NULL;
		if (alb_client_connect(h->sock, 1000, &c, NULL) == 0) {
			alb_client_close(c);
			return true;
		}
		if (h->pid > 0 && waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->reaped = true;
			h->status = st;
			return false;
		}
	}
	return false;
}

/* The core in a child process: its own loop, SIGTERM -> shutdown, SIGHUP
 * -> compaction (as albd), exit 0 once shut down (1 when it did not
 * start), SIGPIPE at its default. */
struct h_core {
	uv_loop_t loop;
	uv_signal_t sig, hup;
	struct alb_vmmd *v;
};

static inline void h_core_done(struct alb_vmmd *v, void *ctx)
{
	(void)v;
	struct h_core *c = ctx;
	uv_close((uv_handle_t *)&c->sig, NULL);
	uv_close((uv_handle_t *)&c->hup, NULL);
}

static inline void h_core_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	struct h_core *c = s->data;
	alb_vmmd_shutdown(c->v, h_core_done, c);
}

static inline void h_core_hup(uv_signal_t *s, int signum)
{
	(void)signum;
	struct h_core *c = s->data;
	alb_vmmd_compact(c->v);
}

/* Starts the core with cfg (tmpdir and dbdir are the harness's) in a child
 * and waits until it listens. Returns 0 or -1. */
static inline int h_start_core(struct harness *h, const struct alb_vmmd_config *cfg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* the core never raises SIGPIPE (vmmd.h): it runs with the
		 * default disposition, which a SIGPIPE would end */
		signal(SIGPIPE, SIG_DFL);
		struct h_core c;
		struct alb_vmmd_config conf;
		if (cfg != NULL)
			conf = *cfg;
		else
			alb_vmmd_config_init(&conf);
		conf.tmpdir = h->tmpdir;
		conf.dbdir = h->dbdir;
		struct alb_error err = {0};
		uv_loop_init(&c.loop);
		if (alb_vmmd_new(&c.loop, &conf, &c.v, &err) != 0) {
			fprintf(stderr, "core: %s\n", err.msg);
			test_child_exit(1);
		}
		uv_signal_init(&c.loop, &c.sig);
		c.sig.data = &c;
		uv_signal_start(&c.sig, h_core_signal, SIGTERM);
		uv_signal_init(&c.loop, &c.hup);
		c.hup.data = &c;
		uv_signal_start(&c.hup, h_core_hup, SIGHUP);
		int st = 0;
		if (alb_vmmd_start(c.v, &err) != 0) {
			fprintf(stderr, "core: %s\n", err.msg);
			alb_vmmd_shutdown(c.v, h_core_done, &c);
			st = 1;
		}
		uv_run(&c.loop, UV_RUN_DEFAULT);
		alb_vmmd_free(c.v);
		uv_loop_close(&c.loop);
		test_child_exit(st);
	}
	h->pid = pid;
	h->reaped = false;
	return h_wait_socket(h, 10000) ? 0 : -1;
}

/* Starts the albd binary (from $ALB_BUILD_ROOT/cli) with the extra
 * arguments (up to 8, ended by NULL; extra may be NULL), and waits until it
 * listens. */
static inline int h_start_albd_args(struct harness *h, const char *const *extra)
{
	const char *build = getenv("ALB_BUILD_ROOT");
	char exe[H_PATH], tmp[H_PATH + 16], db[H_PATH + 16];
	if (H_FMT(exe, "%s/cli/albd", build ? build : ".") != 0 ||
	    H_FMT(tmp, "--tmpdir=%s", h->tmpdir) != 0 ||
	    H_FMT(db, "--dbdir=%s", h->dbdir) != 0)
		return -1;
	const char *argv[12] = {exe, tmp, db};
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (i >= 8)
			return -1;
		argv[3 + i] = extra[i];
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(exe, (char *const *)argv);
		test_child_exit(127);
	}
	h->pid = pid;
	h->reaped = false;
	return h_wait_socket(h, 10000) ? 0 : -1;
}

/* Starts the albd binary with an optional extra argument. */
static inline int h_start_albd(struct harness *h, const char *extra)
{
	const char *args[2] = {extra, NULL};
	return h_start_albd_args(h, args);
}

/* Sends sig to the daemon and waits for it; returns its wait status. */
static inline int h_stop(struct harness *h, int sig)
{
	int st = -1;
	if (h->pid <= 0)
		return -1;
	if (h->reaped) {
		st = h->status;
	} else {
		kill(h->pid, sig);
		while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	h->pid = 0;
	h->reaped = false;
	return st;
}

/* Whatever a failed test left running: the daemon and its tenders, killed
 * (h_teardown() then removes the files). */
static inline void h_kill_all(struct harness *h)
{
	if (h->pid > 0)
		h_stop(h, SIGKILL);
	pid_t pids[64];
	int n = h_tenders(h, pids, 64);
	for (int i = 0; i < n && i < 64; i++)
		kill(pids[i], SIGKILL);
}

/* The state file once the daemon (core or albd) has compacted its
 * journal into it on a SIGHUP, as an albatrossd would read it: polls up to
 * timeout_ms until pred(st, ctx) holds (pred NULL: the first state read
 * after the SIGHUP). NULL when it never did; free with alb_state_free(). */
static inline struct alb_state *h_compacted_state(struct harness *h,
						  bool (*pred)(const struct alb_state *, void *),
						  void *ctx, int timeout_ms)
{
	struct alb_state *st = NULL;
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     h_now_us() < end; h_sleep_ms(20)) {
		if (h->pid > 0)
			kill(h->pid, SIGHUP);
		h_sleep_ms(20);
		alb_state_free(st);
		st = NULL;
		if (alb_state_read_file(h->dbdir, &st, NULL) == 0 &&
		    (pred == NULL || pred(st, ctx)))
			return st;
	}
	alb_state_free(st);
	return NULL;
}

/* ---- talking to it ------------------------------------------------------------ */

/* Sends cmd for name on a new connection and returns the first reply (or
 * NULL); the connection goes to *keep when keep is not NULL, else closed. */
static inline struct alb_msg *h_call_keep(const struct harness *h, const char *name,
					  const struct alb_command *cmd,
					  struct alb_client **keep)
{
	struct alb_client *c = NULL;
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	if (alb_client_connect(h->sock, 30000, &c, &err) != 0) {
		fprintf(stderr, "connect: %s\n", err.msg);
		return NULL;
	}
	if (alb_client_send(c, name, cmd, NULL, NULL, &err) != 0 ||
	    alb_client_recv(c, &m, &err) != 0) {
		fprintf(stderr, "call %s: %s\n", name, err.msg);
		m = NULL;
	}
	if (keep != NULL)
		*keep = c;
	else
		alb_client_close(c);
	return m;
}

static inline struct alb_msg *h_call(const struct harness *h, const char *name,
				     const struct alb_command *cmd)
{
	return h_call_keep(h, name, cmd, NULL);
}

static inline const char *h_text(const struct alb_msg *m);

/* Sends cmd for name, then data[0..len) as a raw chunk stream (spec §2.4,
 * sent as it is) on a new connection; the reply's text into out. albd
 * answers a stream it refuses at once and closes: the rest of the stream
 * may not get through, its answer does. */
static inline const char *h_call_stream(const struct harness *h, const char *name,
					const struct alb_command *cmd,
					const uint8_t *data, size_t len,
					char *out, size_t size)
{
	char path[H_PATH + 16];
	snprintf(path, sizeof(path), "%s/stream.up", h->root);
	if (h_write_file(path, data, len) != 0)
		return "(cannot write the stream)";
	struct alb_client *c = NULL;
	struct alb_error err = {0};
	if (alb_client_connect(h->sock, 30000, &c, &err) != 0)
		return "(no connection)";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct alb_msg *m = NULL;
	if (alb_client_send(c, name, cmd, NULL, NULL, &err) == 0)
		alb_client_send_stream(c, fd, 0, len, NULL, NULL, NULL);
	if (alb_client_recv(c, &m, &err) != 0)
		snprintf(out, size, "(no reply: %.400s)", err.msg);
	else
		snprintf(out, size, "%.400s", h_text(m));
	close(fd);
	unlink(path);
	alb_msg_free(m);
	alb_client_close(c);
	return out;
}

/* The reply's text: a success string, a failure, or "" for other replies;
 * "(no reply)" for NULL. Valid while m is. */
static inline const char *h_text(const struct alb_msg *m)
{
	if (m == NULL)
		return "(no reply)";
	if (m->kind == ALB_PAYLOAD_FAILURE)
		return m->u.failure.ptr;
	if (m->kind == ALB_PAYLOAD_SUCCESS && m->u.success.kind == ALB_REPLY_STRING)
		return m->u.success.u.string.ptr;
	return "";
}

/* Calls and returns whether the reply text is `expect` (prints it if not). */
static inline bool h_call_is(const struct harness *h, const char *name,
			     const struct alb_command *cmd, const char *expect)
{
	struct alb_msg *m = h_call(h, name, cmd);
	bool ok = strcmp(h_text(m), expect) == 0;
	if (!ok)
		fprintf(stderr, "%s: expected \"%s\", got \"%s\"\n", name, expect,
			h_text(m));
	alb_msg_free(m);
	return ok;
}

/* ---- a create command --------------------------------------------------- */

#define H_UK_DEV_MAX 4
#define H_UK_ARG_MAX 8
#define H_UK_ARG_LEN 512

/* A create of a unikernel with 32 MB on CPU 0, --name added, and the
 * devices and unikernel arguments added with h_uk_net/h_uk_block/h_uk_arg;
 * h_uk_image() then makes an image whose manifest has exactly those
 * devices. Everything the command points to lives in the struct. */
struct h_uk {
	struct alb_command cmd;
	struct alb_net_dev nets[H_UK_DEV_MAX];
	struct alb_block_dev blocks[H_UK_DEV_MAX];
	struct alb_str argv[H_UK_ARG_MAX];
	char args[H_UK_ARG_MAX][H_UK_ARG_LEN];
	int64_t cpuid;
	uint32_t salt; /* h_uk_image(): a different image for each salt */
	uint8_t *image;
};

static inline struct alb_str h_str(const char *s)
{
	return (struct alb_str){s, strlen(s)};
}

static inline void h_uk_init(struct h_uk *u, bool force)
{
	memset(u, 0, sizeof(*u));
	u->cmd.kind = force ? ALB_CMD_UNIKERNEL_FORCE_CREATE
			    : ALB_CMD_UNIKERNEL_CREATE;
	struct alb_unikernel_config *c = &u->cmd.u.create;
	c->typ = ALB_TYP_SOLO5;
	c->memory = 32;
	c->add_name = true;
	c->numcpus = 1;
	c->n_cpuids = 1;
	c->cpuids = &u->cpuid;
	c->bridges = u->nets;
	c->blocks = u->blocks;
	c->argv = u->argv;
}

/* The demo unikernel (<$ALB_BUILD_ROOT>/examples/hello-unikernel/hello.elf,
 * malloc'd, its size in *len) when QEMU is there to run it, else NULL
 * with the reason printed. */
static inline char *h_qemu_demo(const char *dbdir, size_t *len)
{
	char qemu[ALB_TENDER_PATH_MAX], kernel[H_PATH * 2];
	const char *build = getenv("ALB_BUILD_ROOT");
	snprintf(kernel, sizeof(kernel), "%s/examples/hello-unikernel/hello.elf",
		 build ? build : ".");
	char *elf = h_read_file(kernel, len);
	if (alb_tender_lookup(ALB_TENDER_QEMU, 1, dbdir, qemu, NULL) != 0 ||
	    elf == NULL) {
		printf("qemu test skipped: no qemu-system-x86_64 or hello.elf\n");
		free(elf);
		return NULL;
	}
	return elf;
}

/* A network device netif on bridge (NULL: a bridge named netif). */
static inline void h_uk_net(struct h_uk *u, const char *netif, const char *bridge)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	u->nets[c->n_bridges].netif = h_str(netif);
	if (bridge != NULL)
		u->nets[c->n_bridges].bridge = h_str(bridge);
	c->n_bridges++;
}

/* A block device name backed by the host device (NULL: one named name). */
static inline void h_uk_block(struct h_uk *u, const char *name, const char *device)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	u->blocks[c->n_blocks].name = h_str(name);
	if (device != NULL)
		u->blocks[c->n_blocks].device = h_str(device);
	c->n_blocks++;
}

static inline void h_uk_arg(struct h_uk *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void h_uk_arg(struct h_uk *u, const char *fmt, ...)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	if (c->n_argv >= H_UK_ARG_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(u->args[c->n_argv], H_UK_ARG_LEN, fmt, ap);
	va_end(ap);
	u->argv[c->n_argv] = h_str(u->args[c->n_argv]);
	c->n_argv++;
	c->has_argv = true;
}

/* The hvt image (uncompressed) with the manifest of the devices added;
 * 0 or -1. */
static inline int h_uk_image(struct h_uk *u)
{
	struct alb_unikernel_config *c = &u->cmd.u.create;
	const char *names[2 * H_UK_DEV_MAX];
	unsigned types[2 * H_UK_DEV_MAX];
	size_t n = 0, len = 0;
	for (size_t i = 0; i < c->n_bridges; i++) {
		names[n] = c->bridges[i].netif.ptr;
		types[n++] = H_NET;
	}
	for (size_t i = 0; i < c->n_blocks; i++) {
		names[n] = c->blocks[i].name.ptr;
		types[n++] = H_BLOCK;
	}
	free(u->image);
	u->image = h_image(1, names, types, n, u->salt, &len);
	if (u->image == NULL)
		return -1;
	c->image = (struct alb_bytes){u->image, len};
	c->compressed = false;
	return 0;
}

static inline void h_uk_free(struct h_uk *u)
{
	free(u->image);
	u->image = NULL;
}

#endif
