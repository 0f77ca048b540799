/* libalbatross — vmmd: surviving a crash of the daemon.
 *
 * For every running tender a runtime record is kept in <tmpdir>/running/
 * <name> (written atomically): its pid and process start time (field 22 of
 * /proc/PID/stat, which tells a recycled pid apart), tender kind, taps with
 * their MACs, start time, where its output goes, and a fingerprint of its
 * configuration (SHA-256 of the name and configuration encoded as in the
 * state file, with the image replaced by its digest).
 *
 * At startup, a tender whose record matches a live process (same pid and
 * start time, its command line naming the unikernel's image) and whose
 * fingerprint matches the unikernel in the state file is ADOPTED: it keeps
 * running, is watched through a pidfd, and owns its taps, FIFO and image
 * again. Any other live tender of a record is stopped. Then every tap
 * vmmtapN, console FIFO, image and record that no adopted unikernel owns is
 * removed (the daemon owns every vmmtapN of its network namespace), so
 * that the restore that follows starts exactly one tender per unikernel.
 *
 * An adopted tender is not our child: waitid() cannot tell how it ended.
 * Its exit counts as "exit code unknown", which restarts it only when it is
 * configured to restart on every exit code; a configuration listing exit
 * codes (or Quit) lets it go, since restarting on a code that may not be
 * listed would do what the operator did not ask for.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "host/proc.h"
#include "vmmd_internal.h"

/* Field 22 of /proc/<pid>/stat; 0 when the process is gone. */
static unsigned long long proc_starttime(pid_t pid)
{
	char path[64], buf[ALB_STATS_PROC_FILE_MAX];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	struct alb_proc_stat st;
	if (n <= 0 || alb_proc_parse_stat(buf, (size_t)n, pid, &st, NULL) != 0)
		return 0;
	return (unsigned long long)st.starttime;
}

/* True when the command line of pid has the argument arg. */
static bool proc_has_arg(pid_t pid, const char *arg)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char *buf = malloc(ALB_TENDER_ARGV_MAX + 1);
	ssize_t n = buf ? read(fd, buf, ALB_TENDER_ARGV_MAX) : -1;
	close(fd);
	bool found = false;
	if (n > 0) {
		buf[n] = '\0';
		for (ssize_t i = 0; i < n && !found; i += (ssize_t)strlen(buf + i) + 1)
			found = strcmp(buf + i, arg) == 0;
	}
	free(buf);
	return found;
}

static int fingerprint(const char *name, const struct alb_unikernel_config *c,
		       const uint8_t digest[ALB_SHA256_LEN],
		       uint8_t out[ALB_SHA256_LEN])
{
	struct alb_state_unikernel e = {.name = name, .config = *c};
	e.config.image = (struct alb_bytes){digest, ALB_SHA256_LEN};
	struct alb_state st = {.format = ALB_STATE_FORMAT_CURRENT,
			       .n_unikernels = 1, .unikernels = &e};
	struct alb_buf buf = {0};
	int rc = alb_state_encode(&st, &buf, NULL);
	if (rc == 0)
		rc = alb_image_digest(buf.data, buf.len, out, NULL);
	alb_buf_free(&buf);
	return rc;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

void record_write(const struct uk *u)
{
	struct alb_vmmd *v = u->v;
	uint8_t fp[ALB_SHA256_LEN];
	unsigned long long st = proc_starttime(u->pid);
	if (st == 0 || fingerprint(u->name, u->cfg, u->digest, fp) != 0) {
		alb_log_warn("vmmd: %s: no runtime record (it will not be "
			     "adopted after a crash)", u->name);
		return;
	}
	size_t cap = 512 + u->n_taps * 64;
	char *text = malloc(cap);
	if (text == NULL)
		return;
	char fph[2 * ALB_SHA256_LEN + 1];
	hex(fph, fp, ALB_SHA256_LEN);
	size_t o = (size_t)snprintf(text, cap,
				    "pid %d\nstarttime %llu\nkind %d\n"
				    "started %lld %u\nfingerprint %s\nlog %d\n",
				    (int)u->pid, st, (int)u->kind,
				    (long long)u->started.sec, u->started.nsec,
				    fph, u->log_output ? 1 : 0);
	for (size_t i = 0; i < u->n_taps && o < cap; i++) {
		char mac[ALB_MAC_STR_SIZE];
		alb_mac_print(u->macs[i], mac);
		o += (size_t)snprintf(text + o, cap - o, "tap %s %s\n",
				      u->taps[i].name, mac);
	}
	char path[VMMD_PATH_MAX], tmp[VMMD_PATH_MAX];
	path_record(v, u->name, path);
	/* '#' is in no name, so the temporary file is nobody's record */
	int tl = snprintf(tmp, sizeof(tmp), "%s/#%s", v->run_dir, u->name);
	if (tl < 0 || (size_t)tl >= sizeof(tmp)) {
		free(text);
		return;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0 && o < cap && write(fd, text, o) == (ssize_t)o;
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	if (!ok || rename(tmp, path) != 0) {
		alb_log_warn("vmmd: %s: writing its runtime record failed: %s",
			     u->name, strerror(errno));
		unlink(tmp);
	}
	free(text);
}

void record_remove(const struct uk *u)
{
	char path[VMMD_PATH_MAX];
	path_record(u->v, u->name, path);
	if (unlink(path) != 0 && errno != ENOENT)
		alb_log_warn("vmmd: unlink %s: %s", path, strerror(errno));
}

static bool unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned b;
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return false;
		out[i] = (uint8_t)b;
	}
	return s[2 * n] == '\0' || s[2 * n] == '\n';
}

bool record_parse(const char *data, size_t len, struct record *r)
{
	memset(r, 0, sizeof(*r));
	if (len > VMMD_RECORD_MAX || memchr(data, '\0', len) != NULL)
		return false;
	char *text = malloc(len + 1);
	if (text == NULL)
		return false;
	memcpy(text, data, len);
	text[len] = '\0';
	unsigned seen = 0;
	bool ok = true;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); ok && line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		int pid, kind, log;
		long long sec;
		unsigned nsec;
		char a[64], b[64];
		if (sscanf(line, "pid %d", &pid) == 1 && pid > 1) {
			r->pid = pid;
			seen |= 1;
		} else if (sscanf(line, "starttime %llu", &r->starttime) == 1) {
			seen |= 2;
		} else if (sscanf(line, "kind %d", &kind) == 1 && kind >= 1 &&
			   kind <= 3) {
			r->kind = kind;
			seen |= 4;
		} else if (sscanf(line, "started %lld %u", &sec, &nsec) == 2 &&
			   nsec < 1000000000u) {
			r->started = (struct alb_time){sec, nsec};
			seen |= 8;
		} else if (strncmp(line, "fingerprint ", 12) == 0 &&
			   unhex(line + 12, r->fingerprint, ALB_SHA256_LEN)) {
			seen |= 16;
		} else if (sscanf(line, "log %d", &log) == 1) {
			r->log_output = log != 0;
		} else if (sscanf(line, "tap %63s %63s", a, b) == 2 &&
			   r->n_taps < VMMD_RECORD_TAPS_MAX &&
			   alb_tap_name_index(a, NULL) &&
			   alb_mac_parse(b, strlen(b), r->macs[r->n_taps], NULL) == 0) {
			/* alb_tap_name_index() accepted it: it fits */
			memcpy(r->taps[r->n_taps].name, a, strlen(a) + 1);
			r->n_taps++;
		} else {
			ok = false;
		}
	}
	free(text);
	return ok && seen == 31;
}

static bool record_read(struct alb_vmmd *v, const char *name, struct record *r)
{
	char path[VMMD_PATH_MAX];
	path_record(v, name, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	/* one byte more than a record may have tells a too long one */
	char *text = malloc(VMMD_RECORD_MAX + 1);
	ssize_t n = text ? read(fd, text, VMMD_RECORD_MAX + 1) : -1;
	close(fd);
	bool ok = n > 0 && record_parse(text, (size_t)n, r);
	free(text);
	return ok;
}

/* Stops a leftover tender that is not adopted: SIGTERM, SIGKILL after the
 * kill timeout, waiting for it each time (it is not our child). */
static void stop_leftover(struct alb_vmmd *v, const char *name, int pidfd)
{
	alb_log_warn("vmmd: %s: stopping a tender left by a previous daemon",
		     name);
	int sigs[2] = {SIGTERM, SIGKILL};
	for (int i = 0; i < 2; i++) {
		if (syscall(SYS_pidfd_send_signal, pidfd, sigs[i], NULL, 0) != 0)
			return;
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int r;
		do
			r = poll(&p, 1, (int)v->kill_timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r > 0)
			return;
	}
}

/* Adopts the survivor of record r as unikernel name with config c. */
static bool adopt(struct alb_vmmd *v, const char *name,
		  const struct alb_unikernel_config *c, const struct record *r,
		  const uint8_t digest[ALB_SHA256_LEN], int pidfd)
{
	struct alb_error err = {0};
	struct uk *u = uk_get(v, name);
	if (u == NULL || u->state != UK_IDLE)
		return false;
	struct alb_unikernel_config *copy = config_copy(c, NULL);
	u->taps = calloc(r->n_taps ? r->n_taps : 1, sizeof(*u->taps));
	u->macs = calloc(r->n_taps ? r->n_taps : 1, sizeof(*u->macs));
	if (copy == NULL || u->taps == NULL || u->macs == NULL ||
	    alb_resources_unikernel_insert(v->res, name, c, &err) != 0) {
		alb_log_error("vmmd: %s: cannot adopt its tender: %s", name,
			      err.msg[0] ? err.msg : "out of memory");
		config_free(copy);
		free(u->taps);
		free(u->macs);
		u->taps = NULL;
		u->macs = NULL;
		uk_maybe_free(u);
		return false;
	}
	memcpy(u->taps, r->taps, r->n_taps * sizeof(*u->taps));
	memcpy(u->macs, r->macs, r->n_taps * sizeof(*u->macs));
	u->n_taps = r->n_taps;
	u->cfg = copy;
	u->pid = r->pid;
	u->kind = (enum alb_tender_kind)r->kind;
	memcpy(u->digest, digest, ALB_SHA256_LEN);
	u->started = r->started;
	u->started_ms = vmmd_now_ms(v);
	u->log_output = r->log_output;
	u->adopted = true;
	if (uk_watch(u, pidfd, &err) != 0) {
		/* the pidfd is gone with it: the tender cannot be supervised,
		 * its record lets the next start try again */
		alb_log_error("vmmd: %s: cannot watch its tender: %s", name,
			      err.msg);
		alb_resources_unikernel_remove(v->res, name, NULL);
		uk_forget_config(u);
		u->n_taps = 0;
		uk_maybe_free(u);
		return false;
	}
	uk_started(u);
	alb_log_warn("vmmd: %s: adopted its running tender (pid %d)", name,
		     (int)r->pid);
	return true;
}

/* Looks at the record of name: adopts, stops or ignores its tender. */
static void survivor(struct alb_vmmd *v, const char *name,
		     const struct alb_trie *stored)
{
	struct record r;
	if (!record_read(v, name, &r))
		return;
	char image[VMMD_PATH_MAX];
	path_image(v, name, image);
	if (proc_starttime(r.pid) != r.starttime || !proc_has_arg(r.pid, image))
		return; /* gone, or the pid is someone else's now */
	int pidfd = (int)syscall(SYS_pidfd_open, r.pid, 0);
	if (pidfd < 0)
		return;
	/* checked again through the pidfd's process: no recycled pid */
	if (proc_starttime(r.pid) != r.starttime) {
		close(pidfd);
		return;
	}
	const struct alb_unikernel_config *c = alb_trie_find(stored, name);
	struct alb_image img = {0};
	uint8_t fp[ALB_SHA256_LEN];
	if (c != NULL && alb_image_load(c->image, c->compressed, &img, NULL) == 0 &&
	    fingerprint(name, c, img.digest, fp) == 0 &&
	    memcmp(fp, r.fingerprint, ALB_SHA256_LEN) == 0 &&
	    adopt(v, name, c, &r, img.digest, pidfd)) {
		alb_image_free(&img);
		return;
	}
	alb_image_free(&img);
	stop_leftover(v, name, pidfd);
	close(pidfd);
}

static bool owned(struct alb_vmmd *v, const char *name)
{
	const struct uk *u = uk_find(v, name);
	return u != NULL && uk_visible(u);
}

struct taps_found {
	struct alb_vmmd *v;
	struct alb_ifname *v_taps;
	size_t n, cap;
};

static bool tap_owned(struct alb_vmmd *v, const char *tap);

static int tap_cb(void *ctx, int ifindex, const char *ifname,
		  const struct alb_ifdata *d)
{
	(void)ifindex;
	(void)d;
	struct taps_found *t = ctx;
	if (!alb_tap_name_index(ifname, NULL) || tap_owned(t->v, ifname))
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct alb_ifname *nv = realloc(t->v_taps, cap * sizeof(*nv));
		if (nv == NULL)
			return ALB_ENOMEM;
		t->v_taps = nv;
		t->cap = cap;
	}
	snprintf(t->v_taps[t->n++].name, ALB_IFNAME_SIZE, "%s", ifname);
	return 0;
}

struct tap_owner {
	const char *tap;
	bool found;
};

static int tap_owner_cb(struct uk *u, void *ctx)
{
	struct tap_owner *o = ctx;
	for (size_t i = 0; i < u->n_taps && !o->found; i++)
		o->found = strcmp(u->taps[i].name, o->tap) == 0;
	return 0;
}

static bool tap_owned(struct alb_vmmd *v, const char *tap)
{
	struct tap_owner o = {tap, false};
	uks_each(v, tap_owner_cb, &o);
	return o.found;
}

/* Removes the files of dir that are not an adopted unikernel's: those
 * named <name><suffix> (suffix "" for FIFOs and records), and leftovers of
 * interrupted writes (<name>.img.tmp, #<name>). */
static void clean_dir(struct alb_vmmd *v, const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	size_t sl = strlen(suffix);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char name[ALB_NAME_BUF];
		size_t l = strlen(e->d_name);
		bool tmp = false;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (sl > 0 && l > sl + 4 && strcmp(e->d_name + l - 4, ".tmp") == 0 &&
		    strncmp(e->d_name + l - 4 - sl, suffix, sl) == 0) {
			tmp = true;
		} else if (sl > 0 && (l <= sl || strcmp(e->d_name + l - sl, suffix) != 0)) {
			continue;
		} else if (sl == 0 && e->d_name[0] == '#') {
			tmp = true;
		}
		if (e->d_type == DT_DIR)
			continue;
		if (!tmp) {
			size_t nl = l - sl;
			if (nl >= sizeof(name))
				continue;
			memcpy(name, e->d_name, nl);
			name[nl] = '\0';
			if (owned(v, name))
				continue;
		}
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			alb_log_info("vmmd: removed leftover %s/%s", dir, e->d_name);
	}
	closedir(d);
}

void adopt_survivors(struct alb_vmmd *v, const struct alb_state *st)
{
	struct alb_trie *stored = alb_trie_new();
	for (size_t i = 0; stored != NULL && st != NULL && i < st->n_unikernels; i++)
		alb_trie_insert(stored, st->unikernels[i].name,
				(void *)&st->unikernels[i].config, NULL, NULL);
	DIR *d = opendir(v->run_dir);
	if (d != NULL && stored != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 &&
			    strcmp(e->d_name, "..") != 0 && e->d_name[0] != '#')
				survivor(v, e->d_name, stored);
		closedir(d);
	}
	alb_trie_free(stored, NULL);
	clean_dir(v, v->run_dir, "");
	clean_dir(v, v->fifo_dir, "");
	clean_dir(v, v->tmpdir, ".img");

	struct taps_found t = {.v = v};
	struct alb_error err = {0};
	if (alb_ifdata_dump(NULL, tap_cb, &t, &err) != 0)
		alb_log_warn("vmmd: listing interfaces for leftover taps: %s",
			     err.msg);
	for (size_t i = 0; i < t.n; i++)
		alb_log_info("vmmd: removing leftover tap %s", t.v_taps[i].name);
	/* in the threadpool: the restore does not wait for them */
	taps_release(v, t.v_taps, t.n, NULL, NULL);
}
