/* libalbatross — vmmd: surviving a crash of the daemon (runtime records
 * are in vmmd_record.c).
 *
 * At startup, before anything is started (and after vmmd_spawning.c waited
 * for the spawns a killed daemon left before their exec, and killed those
 * of this tmpdir that never exec'd), every tender of this tmpdir is
 * found by scanning /proc for processes with an argument
 * <tmpdir>/<name>.img (records alone would miss one spawned just before a
 * crash), and by the records of running tenders whose pid and process
 * start time still match (a tender may have rewritten its command line).
 * Each is ADOPTED when a record says it is ours — same pid and
 * process start time (stage running), or, for one spawned before its pid
 * was recorded, the newest record of its name at stage spawn — and the
 * record's fingerprint matches the unikernel in the state file: it keeps
 * running, is watched through a pidfd, and owns its taps, FIFO, image and
 * record again. At most one tender per name is adopted. Every other one is
 * stopped (SIGTERM, SIGKILL after the kill timeout) and waited for. Then
 * the taps that the records of the tenders not adopted name are removed
 * (and those records with them), as are the console FIFOs and images
 * that no adopted unikernel owns; a tap that no record names is never
 * touched. The restore that follows thus starts at most one tender per
 * unikernel.
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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmmd_internal.h"

/* A record read at startup. */
struct found_record {
	char name[ALB_NAME_BUF];
	uint64_t id;
	struct record r;
	bool adopted;
};

/* A tender found in /proc. */
struct found_tender {
	pid_t pid;
	unsigned long long starttime;
	char name[ALB_NAME_BUF];
	bool done; /* adopted, put on the stop list, or gone */
};

struct survey {
	struct found_record *recs;
	size_t n_recs, cap_recs;
	struct alb_ifname *taps; /* the vmmtapN that exist */
	size_t n_taps, cap_taps;
	bool taps_known;
	struct found_tender *tenders;
	size_t n_tenders, cap_tenders;
	int *stop;             /* pidfds of the tenders to stop */
	size_t n_stop;
};

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	size_t c = *cap ? 2 * *cap : 16;
	void *q = realloc(p, c * size);
	if (q != NULL)
		*cap = c;
	return q;
}

/* ---- what runs: /proc ------------------------------------------------------- */

bool proc_tender_of(const char *tmpdir, const char *cmdline, size_t len,
		    char name[ALB_NAME_BUF])
{
	size_t tl = strlen(tmpdir);
	for (size_t i = 0; i < len; i += strnlen(cmdline + i, len - i) + 1) {
		const char *a = cmdline + i;
		size_t al = strnlen(a, len - i);
		if (al <= tl + 1 + 4 || memcmp(a, tmpdir, tl) != 0 || a[tl] != '/' ||
		    memcmp(a + al - 4, ".img", 4) != 0)
			continue;
		size_t nl = al - tl - 1 - 4;
		const char *n = a + tl + 1;
		char canon[ALB_NAME_BUF];
		if (nl >= ALB_NAME_BUF || memchr(n, '/', nl) != NULL ||
		    alb_name_parse(n, nl, canon, NULL) != 0 ||
		    strlen(canon) != nl || memcmp(canon, n, nl) != 0 ||
		    alb_name_is_path(canon))
			continue;
		memcpy(name, canon, nl + 1);
		return true;
	}
	return false;
}

/* Every process (but us) running an image of this tmpdir. */
static void scan_proc(struct alb_vmmd *v, struct survey *s)
{
	DIR *d = opendir("/proc");
	char *buf = malloc(ALB_TENDER_ARGV_MAX + 1);
	if (d == NULL || buf == NULL) {
		alb_log_error("vmmd: cannot look for running tenders in /proc: %s",
			      strerror(errno));
		if (d != NULL)
			closedir(d);
		free(buf);
		return;
	}
	pid_t self = getpid();
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 1 || pid == self)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		size_t len = 0;
		ssize_t n;
		while (len < ALB_TENDER_ARGV_MAX &&
		       (n = read(fd, buf + len, ALB_TENDER_ARGV_MAX - len)) > 0)
			len += (size_t)n;
		close(fd);
		char name[ALB_NAME_BUF];
		/* a zombie has an empty command line: it runs nothing */
		if (len == 0 || !proc_tender_of(v->tmpdir, buf, len, name))
			continue;
		unsigned long long st = proc_starttime((pid_t)pid);
		struct found_tender *t = grow(s->tenders, &s->cap_tenders,
					      s->n_tenders, sizeof(*t));
		if (st == 0 || t == NULL) {
			if (t == NULL)
				alb_log_error("vmmd: out of memory looking for tenders");
			continue;
		}
		s->tenders = t;
		t = &s->tenders[s->n_tenders++];
		t->pid = (pid_t)pid;
		t->starttime = st;
		t->done = false;
		memcpy(t->name, name, sizeof(name));
	}
	closedir(d);
	free(buf);
}

/* The tenders of running records that /proc did not show by their image
 * (a command line rewritten, or read while the exec was under way): same
 * pid and start time is the process we spawned. */
static void add_recorded(struct survey *s)
{
	for (size_t i = 0; i < s->n_recs; i++) {
		const struct found_record *r = &s->recs[i];
		if (r->r.stage != RECORD_RUNNING ||
		    proc_starttime(r->r.pid) != r->r.starttime)
			continue;
		bool seen = false;
		for (size_t k = 0; k < s->n_tenders && !seen; k++)
			seen = s->tenders[k].pid == r->r.pid;
		struct found_tender *t = seen ? NULL
				       : grow(s->tenders, &s->cap_tenders,
					      s->n_tenders, sizeof(*t));
		if (t == NULL)
			continue;
		s->tenders = t;
		t = &s->tenders[s->n_tenders++];
		*t = (struct found_tender){.pid = r->r.pid,
					   .starttime = r->r.starttime};
		memcpy(t->name, r->name, sizeof(t->name));
	}
}

/* ---- what was recorded --------------------------------------------------------- */

static void read_records(struct alb_vmmd *v, struct survey *s)
{
	int fd = openat(v->run_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		alb_log_error("vmmd: cannot read %s: %s", v->run_dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	uint64_t max = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_name[0] == '#') {
			/* a write that a crash interrupted: its previous
			 * version (if any) is in place */
			unlinkat(fd, e->d_name, 0);
			continue;
		}
		struct found_record *r = grow(s->recs, &s->cap_recs, s->n_recs,
					      sizeof(*r));
		if (r == NULL) {
			alb_log_error("vmmd: out of memory reading records");
			break;
		}
		s->recs = r;
		r = &s->recs[s->n_recs];
		memset(r, 0, sizeof(*r));
		if (!record_file_parse(e->d_name, r->name, &r->id) ||
		    !record_read_at(fd, e->d_name, &r->r)) {
			alb_log_warn("vmmd: removing %s/%s: not a runtime record",
				     v->run_dir, e->d_name);
			unlinkat(fd, e->d_name, 0);
			continue;
		}
		if (r->id > max)
			max = r->id;
		s->n_recs++;
	}
	closedir(d);
	v->rec_next = max + 1;
}

/* The record that says tender t is ours: the running one with its pid and
 * start time, else the newest one of its name at stage spawn. */
static struct found_record *record_of(struct survey *s,
				      const struct found_tender *t)
{
	struct found_record *spawn = NULL;
	for (size_t i = 0; i < s->n_recs; i++) {
		struct found_record *r = &s->recs[i];
		if (strcmp(r->name, t->name) != 0 || r->adopted)
			continue;
		if (r->r.stage == RECORD_RUNNING && r->r.pid == t->pid &&
		    r->r.starttime == t->starttime)
			return r;
		if (r->r.stage == RECORD_SPAWN && (spawn == NULL || r->id > spawn->id))
			spawn = r;
	}
	return spawn;
}

/* ---- spawns that did not exec ------------------------------------------------------ */

/* True when st is the console of record fr: its FIFO or its log file. */
static bool console_of(const struct alb_vmmd *v, const struct found_record *fr,
		       const struct stat *st)
{
	char log[ALB_NAME_BUF + 8];
	struct stat c;
	snprintf(log, sizeof(log), "%s.log", fr->name);
	return (fstatat(v->fifo_fd, fr->name, &c, AT_SYMLINK_NOFOLLOW) == 0 &&
		c.st_dev == st->st_dev && c.st_ino == st->st_ino) ||
	       (fstatat(v->tmp_fd, log, &c, AT_SYMLINK_NOFOLLOW) == 0 &&
		c.st_dev == st->st_dev && c.st_ino == st->st_ino);
}

/* Kills the spawns that spawns_settle() waited for in vain and whose
 * console is that of a spawn record of ours (the others are another
 * daemon's), and puts them on the stop list: they run no unikernel yet,
 * and would exec one unsupervised. */
static void stop_stuck_spawns(struct alb_vmmd *v, struct survey *s)
{
	size_t n = 0;
	struct spawning *list = spawning_list(&n);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (!spawning_still(&list[i]) || !spawning_console(&list[i], &st))
			continue;
		const struct found_record *fr = NULL;
		for (size_t k = 0; k < s->n_recs && fr == NULL; k++)
			if (s->recs[k].r.stage == RECORD_SPAWN &&
			    console_of(v, &s->recs[k], &st))
				fr = &s->recs[k];
		if (fr == NULL)
			continue;
		int pidfd = (int)syscall(SYS_pidfd_open, list[i].pid, 0);
		if (pidfd < 0)
			continue;
		/* checked again through the pidfd's process: no recycled pid */
		if (proc_starttime(list[i].pid) != list[i].starttime) {
			close(pidfd);
			continue;
		}
		alb_log_warn("vmmd: %s: killing a spawn of a previous daemon that "
			     "did not exec its tender (pid %d)", fr->name,
			     (int)list[i].pid);
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		/* waited for with the tenders stopped (when out of memory,
		 * killed all the same) */
		int *stop = realloc(s->stop, (s->n_stop + 1) * sizeof(*stop));
		if (stop == NULL) {
			close(pidfd);
			continue;
		}
		s->stop = stop;
		s->stop[s->n_stop++] = pidfd;
	}
	free(list);
}

/* ---- adopting ------------------------------------------------------------------- */

/* Adopts the tender t (its pidfd stays the caller's) as unikernel
 * fr->name with config c under record fr. */
static bool adopt(struct alb_vmmd *v, const struct alb_unikernel_config *c,
		  struct found_record *fr, const struct found_tender *t,
		  const uint8_t digest[ALB_SHA256_LEN], int pidfd)
{
	const char *name = fr->name;
	const struct record *r = &fr->r;
	struct alb_error err = {0};
	struct uk *u = uk_get(v, name);
	int wfd = u != NULL && u->state == UK_IDLE
			  ? fcntl(pidfd, F_DUPFD_CLOEXEC, 3) : -1;
	if (wfd < 0) {
		if (u != NULL)
			uk_maybe_free(u);
		return false;
	}
	/* the durable state's own (c is its bitwise copy): the image
	 * stays where it is, mapped or held once */
	struct alb_unikernel_config *copy = persist_config(v, name);
	if (copy != NULL)
		config_retain(copy);
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
		close(wfd);
		return false;
	}
	memcpy(u->taps, r->taps, r->n_taps * sizeof(*u->taps));
	memcpy(u->macs, r->macs, r->n_taps * sizeof(*u->macs));
	u->n_taps = r->n_taps;
	u->cfg = copy;
	u->pid = t->pid;
	u->kind = (enum alb_tender_kind)r->kind;
	memcpy(u->digest, digest, ALB_SHA256_LEN);
	u->started_ms = vmmd_now_ms(v);
	u->log_output = r->log_output;
	u->adopted = true;
	u->rec_id = fr->id;
	if (r->stage == RECORD_RUNNING) {
		u->started = r->started;
	} else {
		/* spawned just before the crash: its record learns its pid
		 * now (when that fails, /proc finds it again next time) */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		u->started = (struct alb_time){ts.tv_sec, (uint32_t)ts.tv_nsec};
		fr->r.stage = RECORD_RUNNING;
		fr->r.pid = t->pid;
		fr->r.starttime = t->starttime;
		fr->r.started = u->started;
		if (record_store(v, name, fr->id, &fr->r, &err) != 0)
			alb_log_warn("vmmd: %s", err.msg);
	}
	if (uk_watch(u, wfd, &err) != 0) {
		/* the caller stops it: better not running than unsupervised */
		alb_log_error("vmmd: %s: cannot watch its tender: %s", name,
			      err.msg);
		alb_resources_unikernel_remove(v->res, name, NULL);
		uk_forget_config(u);
		u->n_taps = 0;
		u->rec_id = 0;
		uk_maybe_free(u);
		return false;
	}
	fr->adopted = true;
	/* its FIFO gets our reader again; console_readd_all() gives it to
	 * the console daemon again */
	if (!u->log_output)
		keeper_attach(u, keeper_open(v, name));
	/* under a tender uid: it keeps it, and the files given to it */
	uint32_t uid = proc_uid(t->pid);
	if (uid != 0)
		blocks_adopt(v, u, uid);
	uk_started(u);
	alb_log_warn("vmmd: %s: adopted its running tender (pid %d)", name,
		     (int)t->pid);
	return true;
}

/* Adopts tender t, or puts it on the stop list. */
static void survivor(struct alb_vmmd *v, struct survey *s,
		     struct found_tender *t, const struct alb_trie *stored)
{
	t->done = true;
	int pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (pidfd < 0)
		return; /* gone meanwhile */
	/* checked again through the pidfd's process: no recycled pid */
	if (proc_starttime(t->pid) != t->starttime) {
		close(pidfd);
		return;
	}
	struct found_record *fr = record_of(s, t);
	const struct alb_unikernel_config *c = alb_trie_find(stored, t->name);
	const struct uk *u = uk_find(v, t->name);
	struct alb_image img = {0};
	uint8_t fp[ALB_SHA256_LEN];
	bool ok = fr != NULL && c != NULL && (u == NULL || !uk_visible(u)) &&
		  alb_image_load(c->image, c->compressed, &img, NULL) == 0 &&
		  record_fingerprint(t->name, c, img.digest, fp) == 0 &&
		  memcmp(fp, fr->r.fingerprint, ALB_SHA256_LEN) == 0;
	bool adopted = ok && adopt(v, c, fr, t, img.digest, pidfd);
	alb_image_free(&img);
	if (adopted) {
		close(pidfd);
		return;
	}
	alb_log_warn("vmmd: %s: stopping its tender (pid %d), which %s",
		     t->name, (int)t->pid,
		     ok ? "cannot be adopted"
		     : fr == NULL ? "no record names"
		     : c == NULL ? "the state file does not hold"
		     : u != NULL && uk_visible(u) ? "runs twice"
		     : "runs another configuration");
	int *st = realloc(s->stop, (s->n_stop + 1) * sizeof(*st));
	if (st == NULL) {
		/* cannot wait for it: at least it does not run on */
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		close(pidfd);
		return;
	}
	s->stop = st;
	s->stop[s->n_stop++] = pidfd;
}

/* Waits up to ms for every process of fds[0..n) to end; how many run. */
static size_t wait_exits(int *fds, size_t n, unsigned ms)
{
	struct pollfd *p = calloc(n ? n : 1, sizeof(*p));
	if (p == NULL)
		return n;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t left = n;
	for (;;) {
		left = 0;
		for (size_t i = 0; i < n; i++)
			if (fds[i] >= 0)
				p[left++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		if (left == 0)
			break;
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		long spent = (t.tv_sec - t0.tv_sec) * 1000 +
			     (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (spent >= (long)ms)
			break;
		int r = poll(p, left, (int)((long)ms - spent));
		if (r < 0 && errno != EINTR)
			break;
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < left && fds[i] >= 0; k++)
				if (p[k].fd == fds[i] && p[k].revents != 0)
					fds[i] = -1 - fds[i]; /* done, kept to close */
	}
	free(p);
	return left;
}

/* Stops every tender of the list at once: SIGTERM, SIGKILL to those alive
 * after the kill timeout, and waits for them (they are not our children:
 * their pidfds say when they are gone). */
static void stop_all(struct alb_vmmd *v, struct survey *s)
{
	if (s->n_stop == 0)
		return;
	for (size_t i = 0; i < s->n_stop; i++)
		syscall(SYS_pidfd_send_signal, s->stop[i], SIGTERM, NULL, 0);
	if (wait_exits(s->stop, s->n_stop, v->kill_timeout_ms) > 0) {
		for (size_t i = 0; i < s->n_stop; i++)
			if (s->stop[i] >= 0)
				syscall(SYS_pidfd_send_signal, s->stop[i], SIGKILL,
					NULL, 0);
		size_t left = wait_exits(s->stop, s->n_stop, v->kill_timeout_ms);
		if (left > 0)
			alb_log_error("vmmd: %zu tenders of a previous daemon did "
				      "not end after SIGKILL", left);
	}
	for (size_t i = 0; i < s->n_stop; i++)
		close(s->stop[i] >= 0 ? s->stop[i] : -1 - s->stop[i]);
}

/* ---- leftovers ---------------------------------------------------------------------- */

static bool owned(struct alb_vmmd *v, const char *name)
{
	const struct uk *u = uk_find(v, name);
	return u != NULL && uk_visible(u);
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

static int exists_cb(void *ctx, int ifindex, const char *ifname,
		     const struct alb_ifdata *d)
{
	(void)ifindex;
	(void)d;
	struct survey *s = ctx;
	if (!alb_tap_name_index(ifname, NULL))
		return 0;
	struct alb_ifname *t = grow(s->taps, &s->cap_taps, s->n_taps, sizeof(*t));
	if (t == NULL)
		return ALB_ENOMEM;
	s->taps = t;
	snprintf(s->taps[s->n_taps++].name, ALB_IFNAME_SIZE, "%s", ifname);
	return 0;
}

/* Whether tap exists now and was not handed to a removal yet; it is then
 * taken off the list (its removal is queued). */
static bool tap_take(struct survey *s, const char *tap)
{
	for (size_t i = 0; i < s->n_taps; i++)
		if (strcmp(s->taps[i].name, tap) == 0) {
			s->taps[i] = s->taps[--s->n_taps];
			return true;
		}
	return false;
}

/* Removes the taps of a record that no adopted tender owns, then the
 * record (in the threadpool: the restore does not wait for them). Only
 * taps that exist now, each once: a name that does not exist (or whose
 * removal another record queued already) could be taken by a create of
 * the restore before the removal runs, and removed under it; one that
 * exists is taken by nobody else until it is removed. Two records may
 * name one tap: its removal and the unlink of the record that named it
 * are not one step, and a create may take the name in between. */
static void release_record(struct alb_vmmd *v, struct survey *s,
			   const struct found_record *fr)
{
	struct alb_ifname *taps = calloc(fr->r.n_taps ? fr->r.n_taps : 1,
					 sizeof(*taps));
	size_t n = 0;
	for (size_t i = 0; taps != NULL && i < fr->r.n_taps; i++) {
		if (tap_owned(v, fr->r.taps[i].name) ||
		    !tap_take(s, fr->r.taps[i].name))
			continue;
		alb_log_info("vmmd: removing leftover tap %s of %s",
			     fr->r.taps[i].name, fr->name);
		taps[n++] = fr->r.taps[i];
	}
	if (taps == NULL) {
		alb_log_error("vmmd: out of memory, the taps of %s stay", fr->name);
		return;
	}
	taps_release(v, fr->name, fr->id, taps, n, NULL, NULL);
}

/* Removes the files of dir that are not an adopted unikernel's: those
 * named <name><suffix> (suffix "" for FIFOs), and leftovers of interrupted
 * writes (<name>.img.tmp). */
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
		    strncmp(e->d_name + l - 4 - sl, suffix, sl) == 0)
			tmp = true;
		else if (sl > 0 && (l <= sl || strcmp(e->d_name + l - sl, suffix) != 0))
			continue;
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
	struct survey s = {0};
	read_records(v, &s);
	stop_stuck_spawns(v, &s);
	scan_proc(v, &s);
	add_recorded(&s);
	/* running records first: a tender found by its pid wins over one
	 * found by its name */
	for (int pass = 0; pass < 2 && stored != NULL; pass++)
		for (size_t i = 0; i < s.n_tenders; i++) {
			if (s.tenders[i].done)
				continue;
			struct found_record *fr = record_of(&s, &s.tenders[i]);
			bool by_pid = fr != NULL && fr->r.stage == RECORD_RUNNING;
			if (by_pid == (pass == 0))
				survivor(v, &s, &s.tenders[i], stored);
		}
	alb_trie_free(stored, NULL);
	stop_all(v, &s);
	/* the tenders not adopted are gone: what their uids held comes back */
	blocks_take_back_stray(v);
	struct alb_error err = {0};
	s.taps_known = alb_ifdata_dump(NULL, exists_cb, &s, &err) == 0;
	if (!s.taps_known)
		alb_log_warn("vmmd: listing the taps: %s (the leftovers of the "
			     "records stay)", err.msg);
	for (size_t i = 0; i < s.n_recs; i++)
		if (!s.recs[i].adopted && s.taps_known)
			release_record(v, &s, &s.recs[i]);
	clean_dir(v, v->fifo_dir, "");
	clean_dir(v, v->tmpdir, ".img");
	free(s.recs);
	free(s.taps);
	free(s.tenders);
	free(s.stop);
	console_readd_all(v);
}
