/* libalbatross — the figures of a running process from /proc, as
 * albatross-stats reads them on Linux (spec §8.3).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/internal.h"
#include "host/proc.h"

/* proc(5) numbers of the /proc/PID/stat fields read. */
enum {
	STAT_MINFLT = 10,
	STAT_MAJFLT = 12,
	STAT_UTIME = 14,
	STAT_STIME = 15,
	STAT_STARTTIME = 22,
	STAT_VSIZE = 23,
	STAT_RSS = 24,
	STAT_NSWAP = 36
};

/* statm fields, counted from 1. */
enum { STATM_TEXT = 4, STATM_DATA = 6 };

#define US_PER_S 1000000

/* A non-negative decimal integer that fits int64, nothing else (no sign,
 * no blank): what the kernel writes for these fields. */
static bool parse_u63(const char *s, size_t len, int64_t *out)
{
	if (len == 0)
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d > 9 || v > (INT64_MAX - (int64_t)d) / 10)
			return false;
		v = v * 10 + (int64_t)d;
	}
	*out = v;
	return true;
}

/* The file is read as one line, like OCaml's input_line. */
static size_t first_line(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	return nl != NULL ? (size_t)(nl - buf) : len;
}

static int too_long(struct alb_error *err, int64_t pid, const char *file)
{
	return alb_fail(err, ALB_ETOOBIG, "/proc/%lld/%s is longer than %d bytes",
			(long long)pid, file, ALB_STATS_PROC_FILE_MAX);
}

/* Walks the fields of s[0..len) split on single spaces; field numbers
 * start at first. want[] lists field numbers (ascending) whose text goes
 * to pos[]/lens[]. Returns the number of fields. */
static size_t split_fields(const char *s, size_t len, size_t first,
			   const size_t *want, size_t n_want, const char **pos,
			   size_t *lens)
{
	size_t field = first, w = 0;
	const char *p = s, *end = s + len;
	for (;;) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *fe = sp != NULL ? sp : end;
		if (w < n_want && want[w] == field) {
			pos[w] = p;
			lens[w] = (size_t)(fe - p);
			w++;
		}
		if (sp == NULL)
			return field - first + 1;
		p = sp + 1;
		field++;
	}
}

int alb_proc_parse_stat(const char *buf, size_t len, int64_t pid,
			struct alb_proc_stat *out, struct alb_error *err)
{
	if (len > ALB_STATS_PROC_FILE_MAX)
		return too_long(err, pid, "stat");
	len = first_line(buf, len);
	const char *open = memchr(buf, '(', len);
	const char *close = memrchr(buf, ')', len);
	/* "PID (comm) rest": the pid before, one space after the comm */
	if (open == NULL || close == NULL || close < open || open == buf ||
	    (size_t)(close - buf) + 2 > len || close[1] != ' ')
		goto bad;
	static const size_t want[] = {STAT_MINFLT, STAT_MAJFLT, STAT_UTIME,
				      STAT_STIME,  STAT_STARTTIME, STAT_VSIZE,
				      STAT_RSS,    STAT_NSWAP};
	const char *pos[ALB_ARRAY_LEN(want)];
	size_t lens[ALB_ARRAY_LEN(want)];
	const char *rest = close + 2;
	/* pid and comm are fields 1 and 2; the rest starts at field 3 */
	size_t n = 2 + split_fields(rest, (size_t)(buf + len - rest), 3, want,
				    ALB_ARRAY_LEN(want), pos, lens);
	if (n < ALB_STATS_STAT_FIELDS_MIN)
		goto bad;
	int64_t v[ALB_ARRAY_LEN(want)];
	for (size_t i = 0; i < ALB_ARRAY_LEN(want); i++)
		if (!parse_u63(pos[i], lens[i], &v[i]))
			goto bad;
	*out = (struct alb_proc_stat){.minflt = v[0],
				      .majflt = v[1],
				      .utime = v[2],
				      .stime = v[3],
				      .starttime = v[4],
				      .vsize = v[5],
				      .rss = v[6],
				      .nswap = v[7]};
	return 0;
bad:
	return alb_fail(err, ALB_EPARSE, "unable to parse /proc/%lld/stat",
			(long long)pid);
}

int alb_proc_parse_statm(const char *buf, size_t len, int64_t pid,
			 int64_t *text, int64_t *data, struct alb_error *err)
{
	if (len > ALB_STATS_PROC_FILE_MAX)
		return too_long(err, pid, "statm");
	len = first_line(buf, len);
	static const size_t want[] = {STATM_TEXT, STATM_DATA};
	const char *pos[2];
	size_t lens[2];
	size_t n = split_fields(buf, len, 1, want, 2, pos, lens);
	int64_t t, d;
	if (n < ALB_STATS_STATM_FIELDS_MIN || !parse_u63(pos[0], lens[0], &t) ||
	    !parse_u63(pos[1], lens[1], &d))
		return alb_fail(err, ALB_EPARSE,
				"unable to parse /proc/%lld/statm",
				(long long)pid);
	*text = t;
	*data = d;
	return 0;
}

/* The value of "key:<blanks>value<blanks>" lines, blanks trimmed. */
static bool status_value(const char *line, size_t len, const char *key,
			 int64_t *out)
{
	size_t klen = strlen(key);
	if (len <= klen || memcmp(line, key, klen) != 0 || line[klen] != ':')
		return false;
	const char *v = line + klen + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return parse_u63(v, (size_t)(end - v), out);
}

int alb_proc_parse_status(const char *buf, size_t len, int64_t pid,
			  int64_t *nvcsw, int64_t *nivcsw,
			  struct alb_error *err)
{
	if (len > ALB_STATS_PROC_FILE_MAX)
		return too_long(err, pid, "status");
	bool have_v = false, have_iv = false;
	int64_t v = 0, iv = 0;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		/* the line of one key with a value that does not parse is
		 * simply not that key's line: both must be found */
		if (!have_v)
			have_v = status_value(p, l, "voluntary_ctxt_switches", &v);
		if (!have_iv)
			have_iv = status_value(p, l, "nonvoluntary_ctxt_switches",
					       &iv);
		p += l + (nl != NULL);
	}
	if (!have_v || !have_iv)
		return alb_fail(err, ALB_EPARSE,
				"error parsing /proc/%lld/status",
				(long long)pid);
	*nvcsw = v;
	*nivcsw = iv;
	return 0;
}

/* v * US_PER_S / tck without overflow (saturating, which a real process
 * never reaches), computed as Albatross does: truncated. */
static int64_t ticks_to_us(int64_t v, long tck)
{
	int64_t q = v / tck, r = v % tck, us;
	if (__builtin_mul_overflow(q, (int64_t)US_PER_S, &us) ||
	    __builtin_add_overflow(us, r * US_PER_S / tck, &us))
		return INT64_MAX;
	return us;
}

static struct alb_timeval ticks_to_tv(int64_t v, long tck)
{
	return (struct alb_timeval){.sec = v / tck,
				    .usec = (v % tck) * US_PER_S / tck};
}

void alb_proc_to_stats(const struct alb_proc_stat *st, int64_t text,
		       int64_t data, int64_t nvcsw, int64_t nivcsw,
		       long clk_tck, struct alb_timeval start,
		       struct alb_rusage *ru, struct alb_kinfo_mem *mem)
{
	if (ru != NULL) {
		*ru = (struct alb_rusage){.utime = ticks_to_tv(st->utime, clk_tck),
					  .stime = ticks_to_tv(st->stime, clk_tck),
					  .maxrss = st->rss,
					  .minflt = st->minflt,
					  .majflt = st->majflt,
					  .nswap = st->nswap,
					  .nvcsw = nvcsw,
					  .nivcsw = nivcsw};
	}
	if (mem != NULL) {
		int64_t ticks;
		if (__builtin_add_overflow(st->utime, st->stime, &ticks))
			ticks = INT64_MAX;
		*mem = (struct alb_kinfo_mem){.vsize = st->vsize,
					      .rss = st->rss,
					      .tsize = text,
					      .dsize = data,
					      .ssize = data,
					      .runtime = ticks_to_us(ticks, clk_tck),
					      .cow = 0,
					      .start = start};
	}
}

/* ---- the handle ------------------------------------------------------ */

enum { F_STAT, F_STATM, F_STATUS, F_COUNT };

static const char *const file_names[F_COUNT] = {"stat", "statm", "status"};

struct alb_stats_proc {
	int64_t pid;
	long clk_tck;
	struct alb_timeval start;
	int fd[F_COUNT];
};

void alb_stats_proc_free(struct alb_stats_proc *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < F_COUNT; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	free(p);
}

static int gone(struct alb_error *err, int64_t pid)
{
	return alb_fail(err, ALB_ENOENT, "no process %lld", (long long)pid);
}

int alb_stats_proc_open(int64_t pid, struct alb_stats_proc **out,
			struct alb_error *err)
{
	if (out == NULL || pid <= 0 || pid > INT32_MAX)
		return alb_fail(err, ALB_EINVAL, "invalid pid %lld",
				(long long)pid);
	long tck = sysconf(_SC_CLK_TCK);
	if (tck <= 0)
		return alb_fail_sys(err, "sysconf(_SC_CLK_TCK)");
	struct alb_stats_proc *p = malloc(sizeof(*p));
	if (p == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	*p = (struct alb_stats_proc){.pid = pid, .clk_tck = tck,
				     .fd = {-1, -1, -1}};
	char path[32];
	snprintf(path, sizeof(path), "/proc/%lld", (long long)pid);
	int rc = 0;
	int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat sb;
	if (dir < 0) {
		rc = errno == ENOENT ? gone(err, pid)
				     : alb_fail_sys(err, "cannot open %s", path);
		goto out;
	}
	if (fstat(dir, &sb) != 0) {
		rc = alb_fail_sys(err, "cannot stat %s", path);
		goto out;
	}
	p->start = (struct alb_timeval){.sec = sb.st_ctim.tv_sec,
					.usec = sb.st_ctim.tv_nsec / 1000};
	for (int i = 0; i < F_COUNT; i++) {
		p->fd[i] = openat(dir, file_names[i], O_RDONLY | O_CLOEXEC);
		if (p->fd[i] < 0) {
			rc = errno == ENOENT || errno == ESRCH
				 ? gone(err, pid)
				 : alb_fail_sys(err, "cannot open %s/%s", path,
						file_names[i]);
			goto out;
		}
	}
out:
	if (dir >= 0)
		close(dir);
	if (rc != 0) {
		alb_stats_proc_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int64_t alb_stats_proc_pid(const struct alb_stats_proc *p)
{
	return p != NULL ? p->pid : 0;
}

/* Reads a whole /proc file from its start into buf (room for one byte
 * past the limit, to notice a longer file). */
static int read_file(const struct alb_stats_proc *p, int i, char *buf,
		     size_t *len, struct alb_error *err)
{
	ssize_t n;
	do
		n = pread(p->fd[i], buf, ALB_STATS_PROC_FILE_MAX + 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		/* the kernel answers ESRCH once the task is gone */
		if (errno == ESRCH)
			return alb_fail(err, ALB_ENOENT,
					"process %lld has exited",
					(long long)p->pid);
		return alb_fail_sys(err, "cannot read /proc/%lld/%s",
				    (long long)p->pid, file_names[i]);
	}
	if (n == 0)
		return alb_fail(err, ALB_ENOENT, "process %lld has exited",
				(long long)p->pid);
	*len = (size_t)n;
	return 0;
}

int alb_stats_proc_sample(struct alb_stats_proc *p, struct alb_rusage *ru,
			  struct alb_kinfo_mem *mem, struct alb_error *err)
{
	if (p == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_stats_proc_sample: NULL");
	char buf[ALB_STATS_PROC_FILE_MAX + 1];
	size_t len;
	struct alb_proc_stat st;
	int64_t text, data, nvcsw, nivcsw;
	int rc = read_file(p, F_STAT, buf, &len, err);
	if (rc == 0)
		rc = alb_proc_parse_stat(buf, len, p->pid, &st, err);
	if (rc == 0)
		rc = read_file(p, F_STATM, buf, &len, err);
	if (rc == 0)
		rc = alb_proc_parse_statm(buf, len, p->pid, &text, &data, err);
	if (rc == 0)
		rc = read_file(p, F_STATUS, buf, &len, err);
	if (rc == 0)
		rc = alb_proc_parse_status(buf, len, p->pid, &nvcsw, &nivcsw,
					   err);
	if (rc != 0)
		return rc;
	alb_proc_to_stats(&st, text, data, nvcsw, nivcsw, p->clk_tck, p->start,
			  ru, mem);
	return 0;
}

int alb_proc_wait_status(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED: return (si->si_status & 0xff) << 8;
	case CLD_KILLED: return si->si_status & 0x7f;
	case CLD_DUMPED: return (si->si_status & 0x7f) | 0x80;
	}
	return -1;
}
