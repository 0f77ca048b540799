/* libalbatross — vmmd: runtime records, the daemon's durable notes of the
 * tenders it may have started (<tmpdir>/running/<name>@<id>, one file per
 * start attempt, <id> unique for the daemon's records directory).
 *
 * A record is written before what it names can exist, so that a daemon
 * killed at any instant leaves nothing that no record names:
 *   stage taps     before each tap becomes persistent (the tap is claimed
 *                  between TUNSETIFF and TUNSETPERSIST: dying earlier, the
 *                  kernel removes it with our descriptor);
 *   stage spawn    before the tender is spawned (its pid is not known yet:
 *                  the next daemon finds it in /proc by its image);
 *   stage running  once the tender runs: its pid and process start time
 *                  (field 22 of /proc/PID/stat, which tells a recycled pid
 *                  apart) and the start time that info reports.
 * Every record also holds the tender kind, where the console goes, the
 * taps with their MACs and a fingerprint of the configuration (SHA-256 of
 * the name and configuration encoded as in the state file, with the image
 * replaced by its digest). A record is removed once its tender has exited
 * and its taps are gone; vmmd_adopt.c reads them after a crash.
 *
 * Each write is atomic: a new file #<name>@<id> (O_EXCL, O_NOFOLLOW, 0600,
 * relative to the directory's descriptor) renamed into place ('#' and '@'
 * are in no name). The records that come before something exists (stages
 * taps and spawn) are durable too: fdatasync before the rename, the
 * directory fsynced after. The update to stage running is not: a crash of
 * the machine ends the tender with it, and a daemon's crash loses nothing
 * of a renamed file; it stays off the reply's path (an fsync costs ~20 ms
 * on a disk, ~0 on the tmpfs that /run is).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/write_all.h"
#include "host/proc.h"
#include "host/tap.h"
#include "vmmd_internal.h"

unsigned long long proc_starttime(pid_t pid)
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
	/* field 3, after the command's closing parenthesis: a zombie (Z) or
	 * a dying process (X) runs nothing. Adopting one from its record
	 * would release its taps again at its "exit" after a next tender
	 * took their names. */
	const char *paren = memrchr(buf, ')', (size_t)n);
	if (paren == NULL || buf + n - paren < 3 || paren[2] == 'Z' ||
	    paren[2] == 'X')
		return 0;
	return (unsigned long long)st.starttime;
}

int record_fingerprint(const char *name, const struct alb_unikernel_config *c,
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

/* ---- text ------------------------------------------------------------------ */

static const char *const stage_names[] = {
	[RECORD_TAPS] = "taps",
	[RECORD_SPAWN] = "spawn",
	[RECORD_RUNNING] = "running",
};

size_t record_format(const struct record *r, char *out, size_t cap)
{
	char fp[2 * ALB_SHA256_LEN + 1];
	for (size_t i = 0; i < ALB_SHA256_LEN; i++)
		snprintf(fp + 2 * i, 3, "%02x", r->fingerprint[i]);
	int n = snprintf(out, cap, "stage %s\nkind %d\nfingerprint %s\nlog %d\n",
			 stage_names[r->stage], r->kind, fp, r->log_output ? 1 : 0);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	size_t o = (size_t)n;
	for (size_t i = 0; i < r->n_taps; i++) {
		char mac[ALB_MAC_STR_SIZE];
		alb_mac_print(r->macs[i], mac);
		n = snprintf(out + o, cap - o, "tap %s %s\n", r->taps[i].name, mac);
		if (n < 0 || (size_t)n >= cap - o)
			return 0;
		o += (size_t)n;
	}
	if (r->stage == RECORD_RUNNING) {
		n = snprintf(out + o, cap - o,
			     "pid %d\nstarttime %llu\nstarted %lld %u\n",
			     (int)r->pid, r->starttime,
			     (long long)r->started.sec, r->started.nsec);
		if (n < 0 || (size_t)n >= cap - o)
			return 0;
		o += (size_t)n;
	}
	return o;
}

static bool unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned b;
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return false;
		out[i] = (uint8_t)b;
	}
	return s[2 * n] == '\0';
}

enum {
	SEEN_STAGE = 1,
	SEEN_KIND = 2,
	SEEN_FP = 4,
	SEEN_LOG = 8,
	SEEN_PID = 16,
	SEEN_START = 32,
	SEEN_STARTED = 64,
	SEEN_HEAD = SEEN_STAGE | SEEN_KIND | SEEN_FP,
	SEEN_RUN = SEEN_PID | SEEN_START | SEEN_STARTED
};

/* One line into r; the bit of its field in *seen (each field once). */
static bool parse_line(char *line, struct record *r, unsigned *seen)
{
	int pid, kind, log;
	long long sec;
	unsigned nsec;
	char a[64], b[64];
	unsigned bit = 0;
	if (sscanf(line, "stage %63s", a) == 1) {
		bit = SEEN_STAGE;
		for (int s = RECORD_TAPS; s <= RECORD_RUNNING; s++)
			if (strcmp(a, stage_names[s]) == 0)
				r->stage = (enum record_stage)s;
		if (r->stage == 0)
			return false;
	} else if (sscanf(line, "kind %d", &kind) == 1 && kind >= 1 && kind <= 3) {
		bit = SEEN_KIND;
		r->kind = kind;
	} else if (strncmp(line, "fingerprint ", 12) == 0 &&
		   unhex(line + 12, r->fingerprint, ALB_SHA256_LEN)) {
		bit = SEEN_FP;
	} else if (sscanf(line, "log %d", &log) == 1) {
		bit = SEEN_LOG;
		r->log_output = log != 0;
	} else if (sscanf(line, "pid %d", &pid) == 1 && pid > 1) {
		bit = SEEN_PID;
		r->pid = pid;
	} else if (sscanf(line, "starttime %llu", &r->starttime) == 1) {
		bit = SEEN_START;
	} else if (sscanf(line, "started %lld %u", &sec, &nsec) == 2 &&
		   nsec < 1000000000u) {
		bit = SEEN_STARTED;
		r->started = (struct alb_time){sec, nsec};
	} else if (sscanf(line, "tap %63s %63s", a, b) == 2 &&
		   r->n_taps < VMMD_RECORD_TAPS_MAX &&
		   alb_tap_name_index(a, NULL) &&
		   alb_mac_parse(b, strlen(b), r->macs[r->n_taps], NULL) == 0) {
		/* alb_tap_name_index() accepted it: it fits */
		memcpy(r->taps[r->n_taps].name, a, strlen(a) + 1);
		r->n_taps++;
		return true;
	} else {
		return false;
	}
	if (*seen & bit)
		return false;
	*seen |= bit;
	return true;
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
	     line = strtok_r(NULL, "\n", &save))
		ok = parse_line(line, r, &seen);
	free(text);
	/* the pid, its start time and the start are there exactly when the
	 * tender runs */
	bool running = r->stage == RECORD_RUNNING;
	return ok && (seen & SEEN_HEAD) == SEEN_HEAD &&
	       (seen & SEEN_RUN) == (running ? (unsigned)SEEN_RUN : 0u);
}

/* ---- files ------------------------------------------------------------------ */

bool record_file(char *out, size_t cap, const char *name, uint64_t id)
{
	int n = snprintf(out, cap, "%s@%" PRIu64, name, id);
	return n > 0 && (size_t)n < cap;
}

bool record_file_parse(const char *file, char name[ALB_NAME_BUF], uint64_t *id)
{
	const char *at = strrchr(file, '@');
	if (at == NULL || at == file || (size_t)(at - file) >= ALB_NAME_BUF ||
	    at[1] < '0' || at[1] > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(at + 1, &end, 10);
	if (errno != 0 || *end != '\0' || n == 0)
		return false;
	memcpy(name, file, (size_t)(at - file));
	name[at - file] = '\0';
	char canon[ALB_NAME_BUF];
	/* the file name is the canonical string of a unikernel's name */
	if (alb_name_parse(name, strlen(name), canon, NULL) != 0 ||
	    strcmp(canon, name) != 0 || alb_name_is_path(name))
		return false;
	*id = n;
	return true;
}

int record_store_at(int dirfd, const char *name, uint64_t id,
		    const struct record *r, struct alb_error *err)
{
	char file[ALB_NAME_BUF + 32], tmp[ALB_NAME_BUF + 33];
	if (!record_file(file, sizeof(file), name, id))
		return alb_fail(err, ALB_ETOOBIG, "%s: record name too long", name);
	snprintf(tmp, sizeof(tmp), "#%s", file);
	size_t cap = 512 + r->n_taps * 64;
	char *text = malloc(cap);
	size_t len = text != NULL ? record_format(r, text, cap) : 0;
	if (len == 0) {
		free(text);
		return alb_fail(err, ALB_ENOMEM, "%s: out of memory", name);
	}
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, tmp, flags, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* a write of this record that a crash interrupted */
		unlinkat(dirfd, tmp, 0);
		fd = openat(dirfd, tmp, flags, 0600);
	}
	bool durable = r->stage != RECORD_RUNNING;
	int rc = 0;
	if (fd < 0) {
		rc = alb_fail_sys(err, "%s: cannot write its runtime record", name);
	} else if (alb_write_all(fd, text, len) != 0 ||
		   (durable && fdatasync(fd) != 0)) {
		rc = alb_fail_sys(err, "%s: cannot write its runtime record", name);
		close(fd);
	} else if (close(fd) != 0 || renameat(dirfd, tmp, dirfd, file) != 0 ||
		   (durable && fsync(dirfd) != 0)) {
		rc = alb_fail_sys(err, "%s: cannot write its runtime record", name);
	}
	if (rc != 0)
		unlinkat(dirfd, tmp, 0);
	free(text);
	return rc;
}

int record_store(const struct alb_vmmd *v, const char *name, uint64_t id,
		 const struct record *r, struct alb_error *err)
{
	return record_store_at(v->run_fd, name, id, r, err);
}

void record_delete(const struct alb_vmmd *v, const char *name, uint64_t id)
{
	char file[ALB_NAME_BUF + 32];
	if (id == 0 || !record_file(file, sizeof(file), name, id))
		return;
	if (unlinkat(v->run_fd, file, 0) != 0 && errno != ENOENT)
		alb_log_warn("vmmd: removing the record %s/%s: %s", v->run_dir,
			     file, strerror(errno));
}

bool record_read_at(int dirfd, const char *file, struct record *r)
{
	int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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

/* ---- taps ------------------------------------------------------------------- */

/* alb_tap_claim_fn: the tap joins the record, which is stored before the
 * tap becomes persistent. */
static int claim_tap(void *ctx, const char *tap, struct alb_error *err)
{
	struct record_claim *c = ctx;
	struct record *r = c->r;
	if (r->n_taps >= VMMD_RECORD_TAPS_MAX)
		return alb_fail(err, ALB_ETOOBIG, "%s: too many taps", c->name);
	snprintf(r->taps[r->n_taps].name, ALB_IFNAME_SIZE, "%s", tap);
	memcpy(r->macs[r->n_taps], c->mac, ALB_MAC_LEN);
	r->n_taps++;
	int rc = record_store(c->v, c->name, c->id, r, err);
	if (rc != 0)
		r->n_taps--;
	return rc;
}

int record_tap_create(struct record_claim *c, const char *bridge,
		      char tap[ALB_IFNAME_SIZE], struct alb_error *err)
{
	/* a private netlink socket: this runs on a worker thread */
	return alb_tap_create_claimed(NULL, bridge, c->owner, claim_tap, c, tap, err);
}
