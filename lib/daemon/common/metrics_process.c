/* libalbatross — daemon/common: what every daemon reports of itself (spec
 * §8.6): its getrusage() (Albatross's metrics-rusage resource_usage), its
 * memory as /proc/self shows it (kinfo_mem, read as spec §8.3 reads a
 * unikernel), file descriptors, start time, version, and the families of
 * connection counts.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "albatross/log.h"
#include "albatross/stats.h"
#include "base/internal.h"
#include "dcommon/metrics.h"

/* Which figure a family of the table shows. */
enum src {
	RU_UTIME, RU_STIME, RU_MAXRSS, RU_IXRSS, RU_IDRSS, RU_ISRSS, RU_MINFLT,
	RU_MAJFLT, RU_NSWAP, RU_INBLOCK, RU_OUTBLOCK, RU_MSGSND, RU_MSGRCV,
	RU_NSIGNALS, RU_NVCSW, RU_NIVCSW,
	MEM_VSIZE, MEM_RSS, MEM_TSIZE, MEM_DSIZE, MEM_SSIZE, MEM_COW,
	MEM_RUNTIME, MEM_UPTIME,
	START_TIME, OPEN_FDS, MAX_FDS,
	N_SRC
};

#define C DC_METRIC_COUNTER
#define G DC_METRIC_GAUGE
/* A page-sized scale, set at registration. */
#define PAGES (-1.0)

/* Prometheus names for what Linux maintains; the fields Linux leaves at
 * 0 (ixrss, idrss, isrss, nswap, msgsnd, msgrcv, nsignals, cow) and the
 * copies (ssize is dsize) are pushed to Influx only, as Albatross sends
 * them. The Influx fields are Albatross's, in its order. */
static const struct dc_metric_def defs[N_SRC] = {
	[RU_UTIME] = {"alb_process_user_cpu_seconds_total", "User CPU time of the daemon (getrusage).", C, true, 0, NULL, "resource_usage", "utime", NULL, 0},
	[RU_STIME] = {"alb_process_system_cpu_seconds_total", "System CPU time of the daemon (getrusage).", C, true, 0, NULL, "resource_usage", "stime", NULL, 0},
	[RU_MAXRSS] = {"alb_process_max_resident_memory_bytes", "Largest resident set size of the daemon (getrusage maxrss).", G, false, 1024, NULL, "resource_usage", "maxrss", NULL, 0},
	[RU_IXRSS] = {NULL, NULL, G, false, 0, NULL, "resource_usage", "ixrss", NULL, 0},
	[RU_IDRSS] = {NULL, NULL, G, false, 0, NULL, "resource_usage", "idrss", NULL, 0},
	[RU_ISRSS] = {NULL, NULL, G, false, 0, NULL, "resource_usage", "isrss", NULL, 0},
	[RU_MINFLT] = {"alb_process_minor_page_faults_total", "Minor page faults of the daemon.", C, false, 0, NULL, "resource_usage", "minflt", NULL, 0},
	/* Albatross's field name for majflt, kept for its dashboards */
	[RU_MAJFLT] = {"alb_process_major_page_faults_total", "Major page faults of the daemon.", C, false, 0, NULL, "resource_usage", "maxflt", NULL, 0},
	[RU_NSWAP] = {NULL, NULL, C, false, 0, NULL, "resource_usage", "nswap", NULL, 0},
	[RU_INBLOCK] = {"alb_process_block_input_operations_total", "Block input operations of the daemon.", C, false, 0, NULL, "resource_usage", "inblock", NULL, 0},
	[RU_OUTBLOCK] = {"alb_process_block_output_operations_total", "Block output operations of the daemon.", C, false, 0, NULL, "resource_usage", "outblock", NULL, 0},
	[RU_MSGSND] = {NULL, NULL, C, false, 0, NULL, "resource_usage", "msgsnd", NULL, 0},
	[RU_MSGRCV] = {NULL, NULL, C, false, 0, NULL, "resource_usage", "msgrcv", NULL, 0},
	[RU_NSIGNALS] = {NULL, NULL, C, false, 0, NULL, "resource_usage", "nsignals", NULL, 0},
	[RU_NVCSW] = {"alb_process_voluntary_context_switches_total", "Voluntary context switches of the daemon.", C, false, 0, NULL, "resource_usage", "nvcsw", NULL, 0},
	[RU_NIVCSW] = {"alb_process_involuntary_context_switches_total", "Involuntary context switches of the daemon.", C, false, 0, NULL, "resource_usage", "nivcsw", NULL, 0},
	[MEM_VSIZE] = {"alb_process_virtual_memory_bytes", "Virtual memory size of the daemon.", G, false, 0, NULL, "kinfo_mem", "vsize", NULL, 0},
	[MEM_RSS] = {"alb_process_resident_memory_bytes", "Resident memory of the daemon.", G, false, PAGES, NULL, "kinfo_mem", "rss", NULL, 0},
	[MEM_TSIZE] = {"alb_process_text_memory_bytes", "Text (code) memory of the daemon.", G, false, PAGES, NULL, "kinfo_mem", "tsize", NULL, 0},
	[MEM_DSIZE] = {"alb_process_data_memory_bytes", "Data and stack memory of the daemon.", G, false, PAGES, NULL, "kinfo_mem", "dsize", NULL, 0},
	[MEM_SSIZE] = {NULL, NULL, G, false, 0, NULL, "kinfo_mem", "ssize", NULL, 0},
	[MEM_COW] = {NULL, NULL, C, false, 0, NULL, "kinfo_mem", "cow_faults", NULL, 0},
	[MEM_RUNTIME] = {"alb_process_cpu_seconds_total", "User and system CPU time of the daemon.", C, false, 1e-6, NULL, "kinfo_mem", "runtime", NULL, 0},
	[MEM_UPTIME] = {"alb_process_uptime_seconds", "Seconds since the daemon started.", G, true, 0, NULL, "kinfo_mem", "uptime", NULL, 0},
	[START_TIME] = {"alb_process_start_time_seconds", "Start time of the daemon since the Unix epoch.", G, true, 0, NULL, NULL, NULL, NULL, 0},
	[OPEN_FDS] = {"alb_process_open_fds", "Open file descriptors of the daemon.", G, false, 0, NULL, NULL, NULL, NULL, 0},
	[MAX_FDS] = {"alb_process_max_fds", "Most file descriptors the daemon may open (RLIMIT_NOFILE).", G, false, 0, NULL, NULL, NULL, NULL, 0},
};

static const struct dc_metric_def build_info = {
	"alb_build_info", "The libalbatross version the daemon runs (always 1).",
	G, false, 0, "version", NULL, NULL, NULL, 0};

struct process {
	struct dc_series *s[N_SRC];
	struct alb_stats_proc *self; /* /proc/self, opened at the first use */
	bool warned;
};

static double seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Entries of /proc/self/fd, the directory's own descriptor left out:
 * the kernel makes them one by one (about 1 us each). */
static uint64_t fds_by_dir(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	uint64_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

/* The size of the descriptor table (FDSize of /proc/self/status), 0 when
 * it cannot be read. */
static size_t fd_table_size(void)
{
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[ALB_STATS_PROC_FILE_MAX + 1];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *f = strstr(buf, "\nFDSize:");
	return f != NULL ? (size_t)strtoul(f + 8, NULL, 10) : 0;
}

/* Open descriptors: one poll() of every slot of the table without
 * events, a closed slot answering POLLNVAL (a daemon with thousands of
 * descriptors counts them in a tenth of the time /proc/self/fd takes). */
uint64_t dc_open_fds(void)
{
	size_t size = fd_table_size();
	struct pollfd *p = size > 0 && size <= DC_FD_TABLE_POLL_MAX
				   ? malloc(size * sizeof(*p))
				   : NULL;
	if (p == NULL)
		return fds_by_dir();
	for (size_t i = 0; i < size; i++)
		p[i] = (struct pollfd){(int)i, 0, 0};
	uint64_t n = 0;
	if (poll(p, size, 0) < 0) {
		/* e.g. a table larger than RLIMIT_NOFILE */
		n = fds_by_dir();
	} else {
		for (size_t i = 0; i < size; i++)
			n += !(p[i].revents & POLLNVAL);
	}
	free(p);
	return n;
}

static void sample_rusage(struct process *p)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	dc_series_set_real(p->s[RU_UTIME], seconds(ru.ru_utime));
	dc_series_set_real(p->s[RU_STIME], seconds(ru.ru_stime));
	const long v[] = {
		[RU_MAXRSS] = ru.ru_maxrss, [RU_IXRSS] = ru.ru_ixrss,
		[RU_IDRSS] = ru.ru_idrss, [RU_ISRSS] = ru.ru_isrss,
		[RU_MINFLT] = ru.ru_minflt, [RU_MAJFLT] = ru.ru_majflt,
		[RU_NSWAP] = ru.ru_nswap, [RU_INBLOCK] = ru.ru_inblock,
		[RU_OUTBLOCK] = ru.ru_oublock, [RU_MSGSND] = ru.ru_msgsnd,
		[RU_MSGRCV] = ru.ru_msgrcv, [RU_NSIGNALS] = ru.ru_nsignals,
		[RU_NVCSW] = ru.ru_nvcsw, [RU_NIVCSW] = ru.ru_nivcsw,
	};
	for (int i = RU_MAXRSS; i <= RU_NIVCSW; i++)
		dc_series_set(p->s[i], (uint64_t)v[i]);
}

static void sample_memory(struct process *p)
{
	struct alb_error err = {0};
	struct alb_kinfo_mem mem;
	int rc = p->self != NULL ? 0 : alb_stats_proc_open(getpid(), &p->self, &err);
	if (rc == 0)
		rc = alb_stats_proc_sample(p->self, NULL, &mem, &err);
	if (rc != 0) {
		if (!p->warned)
			alb_log_warn("metrics: cannot read /proc/self: %s", err.msg);
		p->warned = true;
		return;
	}
	const int64_t v[] = {
		[MEM_VSIZE] = mem.vsize, [MEM_RSS] = mem.rss,
		[MEM_TSIZE] = mem.tsize, [MEM_DSIZE] = mem.dsize,
		[MEM_SSIZE] = mem.ssize, [MEM_COW] = mem.cow,
		[MEM_RUNTIME] = mem.runtime,
	};
	for (int i = MEM_VSIZE; i <= MEM_RUNTIME; i++)
		dc_series_set(p->s[i], v[i] > 0 ? (uint64_t)v[i] : 0);
	struct timeval now;
	gettimeofday(&now, NULL);
	double start = (double)mem.start.sec + (double)mem.start.usec / 1e6;
	dc_series_set_real(p->s[MEM_UPTIME], seconds(now) - start);
	dc_series_set_real(p->s[START_TIME], start);
}

static void collect(void *ctx)
{
	struct process *p = ctx;
	sample_rusage(p);
	sample_memory(p);
	dc_series_set(p->s[OPEN_FDS], dc_open_fds());
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		dc_series_set(p->s[MAX_FDS], rl.rlim_cur == RLIM_INFINITY
						     ? UINT64_MAX
						     : (uint64_t)rl.rlim_cur);
}

static void process_free(void *ctx)
{
	struct process *p = ctx;
	alb_stats_proc_free(p->self);
	free(p);
}

int dc_metrics_add_process(struct dc_metrics *m, struct alb_error *err)
{
	struct process *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	long page = sysconf(_SC_PAGESIZE);
	int rc = 0;
	for (int i = 0; i < N_SRC && rc == 0; i++) {
		struct dc_metric_def d = defs[i];
		if (d.scale == PAGES)
			d.scale = page > 0 ? (double)page : 4096;
		struct dc_metric *f;
		rc = dc_metric_add(m, &d, &f, err);
		if (rc == 0 && (p->s[i] = dc_metric_series(f, NULL)) == NULL)
			rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	struct dc_metric *bi;
	if (rc == 0)
		rc = dc_metric_add(m, &build_info, &bi, err);
	if (rc == 0) {
		struct dc_series *s = dc_metric_series(bi, alb_version());
		if (s == NULL)
			rc = alb_fail(err, ALB_ENOMEM, "out of memory");
		dc_series_set(s, 1);
	}
	if (rc == 0 && dc_metrics_on_collect(m, collect, p, process_free) != 0)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	if (rc != 0)
		process_free(p);
	return rc;
}

/* ---- connections ----------------------------------------------------------- */

static const struct dc_metric_def conn_defs[2] = {
	{"alb_connections_active", "Connections open now, by kind (unix: the daemon's socket, fifo: console FIFOs).", G, false, 0, "kind", "connections", "active", NULL, 0},
	{"alb_connections_opened_total", "Connections opened since the start, by kind.", C, false, 0, "kind", "connections", "total", NULL, 0},
};

int dc_metrics_connections(struct dc_metrics *m, const char *kind,
			   struct dc_series **active, struct dc_series **opened,
			   struct alb_error *err)
{
	struct dc_metric *f[2];
	for (int i = 0; i < 2; i++) {
		f[i] = dc_metrics_find(m, conn_defs[i].name);
		if (f[i] == NULL) {
			int rc = dc_metric_add(m, &conn_defs[i], &f[i], err);
			if (rc != 0)
				return rc;
		}
	}
	*active = dc_metric_series(f[0], kind);
	*opened = dc_metric_series(f[1], kind);
	if (*active == NULL || *opened == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	return 0;
}
