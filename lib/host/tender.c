/* libalbatross — tender lookup and ABI check (spec §6.4), exit statuses
 * and restart decisions (spec §6.7).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/internal.h"
#include "host/proc.h"
#include "tender_internal.h"

/* ---- lookup ------------------------------------------------------------ */

bool alb__tender_executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

int alb__tender_which(const char *name, const char *path_env, char *out)
{
	if (path_env == NULL)
		path_env = "/bin:/usr/bin";
	const char *p = path_env;
	for (;;) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		/* an empty PATH element is the current directory */
		const char *dir = dlen > 0 ? p : ".";
		int dl = dlen > 0 ? (int)dlen : 1;
		int n = snprintf(out, ALB_TENDER_PATH_MAX, "%.*s/%s", dl, dir,
				 name);
		if (n > 0 && n < ALB_TENDER_PATH_MAX &&
		    alb__tender_executable(out))
			return 0;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	out[0] = '\0';
	return ALB_ENOENT;
}

static const char *base_name(enum alb_tender_kind kind)
{
	switch (kind) {
	case ALB_TENDER_HVT: return "solo5-hvt";
	case ALB_TENDER_SPT: return "solo5-spt";
	case ALB_TENDER_QEMU: return "qemu-system-x86_64";
	}
	return NULL;
}

static const char *dir_sep(const char *dir)
{
	size_t n = strlen(dir);
	return (n > 0 && dir[n - 1] == '/') ? "" : "/";
}

int alb_tender_lookup(enum alb_tender_kind kind, unsigned abi_version,
		      const char *dbdir, char *out, struct alb_error *err)
{
	const char *base = base_name(kind);
	if (base == NULL || dbdir == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "tender lookup: invalid argument");
	/* Albatross's order: versioned before plain, each first in dbdir
	 * and then in PATH; QEMU has no versioned name. */
	char names[2][64];
	size_t n_names = 0;
	if (kind != ALB_TENDER_QEMU)
		snprintf(names[n_names++], sizeof(names[0]), "%s.%u", base,
			 abi_version);
	snprintf(names[n_names++], sizeof(names[0]), "%s", base);

	const char *path_env = getenv("PATH");
	for (size_t i = 0; i < n_names; i++) {
		int n = snprintf(out, ALB_TENDER_PATH_MAX, "%s%s%s", dbdir,
				 dir_sep(dbdir), names[i]);
		if (n > 0 && n < ALB_TENDER_PATH_MAX &&
		    alb__tender_executable(out))
			return 0;
		if (alb__tender_which(names[i], path_env, out) == 0)
			return 0;
	}
	out[0] = '\0';
	if (n_names == 1)
		return alb_fail(err, ALB_ENOENT,
				"tender does not exist, looked for %s%s%s, %s",
				dbdir, dir_sep(dbdir), names[0], names[0]);
	return alb_fail(err, ALB_ENOENT,
			"tender does not exist, looked for %s%s%s, %s, %s%s%s, %s",
			dbdir, dir_sep(dbdir), names[0], names[0], dbdir,
			dir_sep(dbdir), names[1], names[1]);
}

/* ---- ABI check --------------------------------------------------------- */

/* A tender that passed the check, identified by its file so that a
 * replaced binary is checked again. */
struct abi_entry {
	char path[ALB_TENDER_PATH_MAX];
	unsigned abi_version;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct abi_entry cache[ALB_TENDER_ABI_CACHE_MAX];
static size_t cache_len;
static size_t cache_next; /* the slot replaced when the cache is full */

static bool entry_matches(const struct abi_entry *e, const char *path,
			  unsigned v, const struct stat *st)
{
	return e->abi_version == v && e->dev == st->st_dev &&
	       e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec &&
	       e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       strcmp(e->path, path) == 0;
}

static bool cache_lookup(const char *path, unsigned v, const struct stat *st)
{
	bool found = false;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < cache_len && !found; i++)
		found = entry_matches(&cache[i], path, v, st);
	pthread_mutex_unlock(&cache_lock);
	return found;
}

static void cache_insert(const char *path, unsigned v, const struct stat *st)
{
	pthread_mutex_lock(&cache_lock);
	struct abi_entry *e;
	if (cache_len < ALB_TENDER_ABI_CACHE_MAX) {
		e = &cache[cache_len++];
	} else {
		e = &cache[cache_next];
		cache_next = (cache_next + 1) % ALB_TENDER_ABI_CACHE_MAX;
	}
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->abi_version = v;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->size = st->st_size;
	e->mtime = st->st_mtim;
	pthread_mutex_unlock(&cache_lock);
}

void alb__tender_abi_cache_clear(void)
{
	pthread_mutex_lock(&cache_lock);
	cache_len = 0;
	cache_next = 0;
	pthread_mutex_unlock(&cache_lock);
}

size_t alb__tender_abi_cache_size(void)
{
	pthread_mutex_lock(&cache_lock);
	size_t n = cache_len;
	pthread_mutex_unlock(&cache_lock);
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads the child's merged output until EOF, the size limit or the
 * deadline. Returns 0, or an error after which the child must be killed. */
static int read_output(int fd, char *buf, size_t *len, int64_t deadline,
		       int timeout_ms, const char *tender,
		       struct alb_error *err)
{
	*len = 0;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return alb_fail(err, ALB_ESYS,
					"%s --version did not finish within %d ms",
					tender, timeout_ms);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return alb_fail_sys(err, "poll");
		if (r == 0)
			continue;
		/* one byte more than allowed shows that the output is too long */
		char *dst = buf + *len;
		size_t room = ALB_TENDER_VERSION_OUTPUT_MAX + 1 - *len;
		ssize_t n = read(fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return alb_fail_sys(err, "reading %s --version", tender);
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len > ALB_TENDER_VERSION_OUTPUT_MAX)
			return alb_fail(err, ALB_ETOOBIG,
					"%s --version printed more than %d bytes",
					tender, ALB_TENDER_VERSION_OUTPUT_MAX);
	}
}

/* Waits for the child behind pidfd until deadline (monotonic ms), then
 * kills its process group (whatever it started goes too; the group lives
 * as long as its unreaped leader) and waits on; reaps it through the
 * pidfd, which it closes. Returns 1 when the child had to be killed;
 * *status is its waitpid() status (0 if it could not be had). */
static int reap(pid_t pid, int pidfd, int64_t deadline, int *status)
{
	int killed = 0;
	*status = 0;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (!killed && left <= 0) {
			kill(-pid, SIGKILL);
			killed = 1;
		}
		struct pollfd pf = {.fd = pidfd, .events = POLLIN};
		int n = poll(&pf, 1, killed ? -1 : (int)(left < INT_MAX ? left : INT_MAX));
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) == 0) {
			int st = alb_proc_wait_status(&si);
			*status = st >= 0 ? st : 0;
			break;
		}
		if (errno != EINTR)
			break;
	}
	close(pidfd);
	return killed;
}

/* True when one line of the output is exactly "ABI version <v>", the
 * number in plain decimal. */
static bool has_abi_line(const char *out, unsigned v)
{
	char want[32];
	int wl = snprintf(want, sizeof(want), "ABI version %u", v);
	for (const char *l = out; *l != '\0';) {
		const char *e = strchrnul(l, '\n');
		if (e - l == wl && memcmp(l, want, (size_t)wl) == 0)
			return true;
		l = *e ? e + 1 : e;
	}
	return false;
}

/* Albatross reports the output trimmed of surrounding white space. */
static void trim(char *s, size_t len)
{
	size_t a = 0;
	while (a < len && strchr(" \t\r\n", s[a]) != NULL)
		a++;
	while (len > a && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	memmove(s, s + a, len - a);
	s[len - a] = '\0';
}

int alb__tender_check_abi_timeout(const char *tender, unsigned abi_version,
				  int timeout_ms, struct alb_error *err)
{
	if (tender == NULL)
		return alb_fail(err, ALB_EINVAL, "tender check: no tender");
	/* a bare name is run from PATH, so that is the file to check */
	char found[ALB_TENDER_PATH_MAX];
	if (strchr(tender, '/') == NULL) {
		if (alb__tender_which(tender, getenv("PATH"), found) != 0)
			return alb_fail(err, ALB_ENOENT,
					"tender does not exist, looked for %s",
					tender);
		tender = found;
	}
	struct stat st;
	if (stat(tender, &st) != 0)
		return alb_fail_sys(err, "tender %s", tender);
	if (cache_lookup(tender, abi_version, &st))
		return 0;

	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return alb_fail_sys(err, "pipe");
	const char *argv[] = {tender, "--version", NULL};
	struct alb_spawn s = {.argv = argv, .console_fd = p[1]};
	struct alb_spawned child;
	int64_t deadline = now_ms() + timeout_ms;
	int rc = alb_tender_spawn(&s, &child, err);
	close(p[1]);
	if (rc != 0) {
		close(p[0]);
		return rc;
	}
	char *buf = malloc(ALB_TENDER_VERSION_OUTPUT_MAX + 2);
	if (buf == NULL) {
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	} else {
		size_t len = 0;
		rc = read_output(p[0], buf, &len, deadline, timeout_ms, tender,
				 err);
		buf[len] = '\0';
		if (rc == 0 && memchr(buf, '\0', len) != NULL)
			len = strlen(buf);
		if (rc == 0)
			trim(buf, len);
	}
	close(p[0]);
	/* its own process group: whatever it started goes too */
	if (rc != 0)
		deadline = 0;
	int status = 0;
	if (reap(child.pid, child.pidfd, deadline, &status) != 0 && rc == 0)
		rc = alb_fail(err, ALB_ESYS,
			      "%s --version did not finish within %d ms", tender,
			      timeout_ms);
	if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		struct alb_exit_status es;
		char how[64];
		alb_tender_exit_decode(status, ALB_TENDER_HVT, &es);
		alb_tender_exit_format(&es, how, sizeof(how));
		rc = alb_fail(err, ALB_EPROTO, "%s --version failed with %s",
			      tender, how);
	}
	if (rc == 0 && !has_abi_line(buf, abi_version))
		rc = alb_fail(err, ALB_EPROTO,
			      "unexpected solo5 tender --version output, expected "
			      "one line with 'ABI version %u', got %s",
			      abi_version, buf);
	if (rc == 0)
		cache_insert(tender, abi_version, &st);
	free(buf);
	return rc;
}

int alb_tender_check_abi(const char *tender, unsigned abi_version,
			 struct alb_error *err)
{
	return alb__tender_check_abi_timeout(tender, abi_version,
					     ALB_TENDER_VERSION_TIMEOUT_MS, err);
}

int alb_tender_find(enum alb_tender_kind kind, unsigned abi_version,
		    const char *dbdir, char *out, struct alb_error *err)
{
	int rc = alb_tender_lookup(kind, abi_version, dbdir, out, err);
	if (rc == 0 && kind != ALB_TENDER_QEMU)
		rc = alb_tender_check_abi(out, abi_version, err);
	return rc;
}

/* ---- exit statuses and restart decisions ------------------------------- */

int alb_tender_exit_decode(int wstatus, enum alb_tender_kind kind,
			   struct alb_exit_status *out)
{
	if (out == NULL || (kind != ALB_TENDER_HVT && kind != ALB_TENDER_SPT &&
			    kind != ALB_TENDER_QEMU))
		return ALB_EINVAL;
	*out = (struct alb_exit_status){0};
	if (WIFEXITED(wstatus)) {
		int code = WEXITSTATUS(wstatus);
		/* isa-debug-exit makes QEMU exit with (value << 1) | 1; 1 is
		 * also QEMU's own failure and stays a tender error */
		if (kind == ALB_TENDER_QEMU && (code & 1) && code >= 3)
			code >>= 1;
		out->kind = ALB_EXIT_CODE;
		out->value = code;
		return 0;
	}
	if (WIFSIGNALED(wstatus)) {
		out->kind = ALB_EXIT_SIGNAL;
		out->value = WTERMSIG(wstatus);
		out->core = WCOREDUMP(wstatus);
		return 0;
	}
	if (WIFSTOPPED(wstatus)) {
		out->kind = ALB_EXIT_STOPPED;
		out->value = WSTOPSIG(wstatus);
		return 0;
	}
	return ALB_EINVAL;
}

void alb_tender_exit_format(const struct alb_exit_status *st, char *buf,
			    size_t size)
{
	if (size == 0)
		return;
	switch (st->kind) {
	case ALB_EXIT_CODE:
		snprintf(buf, size, "exit code %d", st->value);
		return;
	case ALB_EXIT_SIGNAL:
		snprintf(buf, size, "signal %d%s", st->value,
			 st->core ? " (core dumped)" : "");
		return;
	case ALB_EXIT_STOPPED:
		snprintf(buf, size, "stopped by signal %d", st->value);
		return;
	}
	snprintf(buf, size, "unknown status");
}

bool alb_tender_should_restart(const struct alb_fail *fail,
			       const struct alb_exit_status *st)
{
	if (!fail->restart || st->kind != ALB_EXIT_CODE)
		return false;
	/* 1: tender error (also hvt's answer to SIGTERM); 60..64: Solo5 and
	 * Mirage reserve these for errors a restart cannot fix */
	if (st->value == 1 || (st->value >= 60 && st->value <= 64))
		return false;
	if (fail->n_exit_codes == 0)
		return true;
	for (size_t i = 0; i < fail->n_exit_codes; i++)
		if (fail->exit_codes[i] == st->value)
			return true;
	return false;
}

enum alb_restart alb_tender_restart_decision(const struct alb_fail *fail,
					     bool add_name,
					     const struct alb_exit_status *st)
{
	/* 64 is a usage error: most likely a unikernel that does not know
	 * --name, so it gets another try without it whatever its policy */
	if (add_name && st->kind == ALB_EXIT_CODE && st->value == 64)
		return ALB_RESTART_WITHOUT_NAME;
	return alb_tender_should_restart(fail, st) ? ALB_RESTART_SAME
						    : ALB_RESTART_NO;
}
