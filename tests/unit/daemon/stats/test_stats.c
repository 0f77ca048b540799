/* Unit tests: the stats module — /proc parsers on canned files and on live
 * processes, the Influx line protocol (spec §8.5) and Prometheus output,
 * subscribers and name relativisation (spec §8.2), and the daemon core
 * (its exporters serve the unikernels' figures before the daemon's own,
 * which tests/unit/daemon/common/test_metrics.c checks with the HTTP
 * server's limits).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cmocka.h>

#include "albatross/frame.h"
#include "albatross/stats.h"
#include "host/proc.h"
#include "stats_internal.h"
#include "loopback.h"
#include "vectors.h"
#include "test_child.h"

/* ---- canned /proc files ------------------------------------------------ */

/* A /proc/PID/stat line with n_fields fields (proc(5) numbering) and the
 * given comm; field k holds 1000 + k except for the ones read. */
static char *stat_line(const char *comm, size_t n_fields)
{
	size_t cap = 4096 + strlen(comm);
	char *s = malloc(cap);
	assert_non_null(s);
	int len = snprintf(s, cap, "4242 (%s)", comm);
	for (size_t k = 3; k <= n_fields; k++) {
		long long v = 1000 + (long long)k;
		switch (k) {
		case 10: v = 111; break;   /* minflt */
		case 12: v = 12; break;    /* majflt */
		case 14: v = 250; break;   /* utime, ticks */
		case 15: v = 199; break;   /* stime */
		case 23: v = 3133440; break; /* vsize */
		case 24: v = 411; break;   /* rss */
		case 36: v = 0; break;     /* nswap */
		}
		if (k == 3)
			len += snprintf(s + len, cap - (size_t)len, " S");
		else
			len += snprintf(s + len, cap - (size_t)len, " %lld", v);
	}
	snprintf(s + len, cap - (size_t)len, "\n");
	return s;
}

static void check_stat_values(const struct alb_proc_stat *st)
{
	assert_int_equal(st->minflt, 111);
	assert_int_equal(st->majflt, 12);
	assert_int_equal(st->utime, 250);
	assert_int_equal(st->stime, 199);
	assert_int_equal(st->vsize, 3133440);
	assert_int_equal(st->rss, 411);
	assert_int_equal(st->nswap, 0);
}

/* A 52-field stat line whose field 14 (utime) is value. */
static char *with_utime(const char *value)
{
	char *line = stat_line("t", 52);
	const char *p = strstr(line, " 250 ");
	size_t size = strlen(line) + strlen(value) + 1;
	char *mod = malloc(size);
	if (p == NULL || mod == NULL)
		abort();
	snprintf(mod, size, "%.*s%s%s", (int)(p - line) + 1, line, value, p + 4);
	free(line);
	return mod;
}

static void test_parse_stat(void **state)
{
	(void)state;
	struct alb_proc_stat st;
	struct alb_error err;
	/* a real line from this kernel, trailing newline included */
	const char *real =
	    "8744 (cat) R 8742 8742 7078 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 "
	    "123936 3133440 411 18446744073709551615 94167080288256 "
	    "94167080308137 140729748519584 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
	    "94167080324144 94167080325760 94167392215040 140729748523658 "
	    "140729748523678 140729748523678 140729748525035 0\n";
	assert_int_equal(alb_proc_parse_stat(real, strlen(real), 8744, &st, &err), 0);
	assert_int_equal(st.minflt, 101);
	assert_int_equal(st.starttime, 123936);
	assert_int_equal(st.vsize, 3133440);
	assert_int_equal(st.rss, 411);

	/* comm with spaces and parentheses: first '(' to last ')' */
	static const char *const comms[] = {"solo5 hvt", "a) (b", ") S 1 2 (",
					    "((()))", "", "x)"};
	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		char *s = stat_line(comms[i], 52);
		assert_int_equal(alb_proc_parse_stat(s, strlen(s), 4242, &st, &err), 0);
		check_stat_values(&st);
		free(s);
	}

	/* exactly 52 fields pass, 51 fail; more are fine */
	char *s = stat_line("t", 51);
	assert_int_equal(alb_proc_parse_stat(s, strlen(s), 4242, &st, &err),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "unable to parse /proc/4242/stat");
	free(s);
	s = stat_line("t", 52);
	assert_int_equal(alb_proc_parse_stat(s, strlen(s), 4242, &st, NULL), 0);
	free(s);
	s = stat_line("t", 60);
	assert_int_equal(alb_proc_parse_stat(s, strlen(s), 4242, &st, NULL), 0);
	check_stat_values(&st);
	free(s);

	/* without its newline; and with nothing after the newline read */
	s = stat_line("t", 52);
	assert_int_equal(alb_proc_parse_stat(s, strlen(s) - 1, 1, &st, NULL), 0);
	free(s);

	/* malformed */
	static const char *const bad[] = {
	    "",
	    "4242 t S 1",                /* no parentheses */
	    "(t) S",                     /* no pid before the comm */
	    "4242 (t",                   /* no closing parenthesis */
	    "4242 )t( S",                /* closing before opening */
	    "4242 (t)",                  /* nothing after the comm */
	    "4242 (t)S 1 2",             /* no space after the comm */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(alb_proc_parse_stat(bad[i], strlen(bad[i]), 1,
						     &st, NULL),
				 ALB_EPARSE);

	/* a field read that is not a non-negative decimal, or overflows */
	static const char *const bad_values[] = {"-1", "", "12a", "0x10", " 5",
						 "9223372036854775808"};
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		char *mod = with_utime(bad_values[i]);
		assert_int_equal(alb_proc_parse_stat(mod, strlen(mod), 1, &st, NULL),
				 ALB_EPARSE);
		free(mod);
	}
	/* the largest int64 is fine */
	char *mod = with_utime("9223372036854775807");
	assert_int_equal(alb_proc_parse_stat(mod, strlen(mod), 1, &st, NULL), 0);
	assert_int_equal(st.utime, INT64_MAX);
	free(mod);
}

/* A valid stat line of exactly len bytes, padded in the comm. */
static char *stat_of_len(size_t len)
{
	char *base = stat_line("", 52);
	size_t blen = strlen(base);
	assert_true(len >= blen);
	char *pad = malloc(len - blen + 1);
	assert_non_null(pad);
	memset(pad, 'x', len - blen);
	pad[len - blen] = '\0';
	char *s = stat_line(pad, 52);
	free(pad);
	free(base);
	assert_int_equal(strlen(s), len);
	return s;
}

static void test_proc_file_limit(void **state)
{
	(void)state;
	struct alb_proc_stat st;
	struct alb_error err;
	char *s = stat_of_len(ALB_STATS_PROC_FILE_MAX);
	assert_int_equal(alb_proc_parse_stat(s, ALB_STATS_PROC_FILE_MAX, 7, &st, &err), 0);
	check_stat_values(&st);
	free(s);
	s = stat_of_len(ALB_STATS_PROC_FILE_MAX + 1);
	assert_int_equal(alb_proc_parse_stat(s, ALB_STATS_PROC_FILE_MAX + 1, 7,
					     &st, &err),
			 ALB_ETOOBIG);
	assert_string_equal(err.msg, "/proc/7/stat is longer than 8192 bytes");
	free(s);

	/* statm and status have the same bound */
	char *big = malloc(ALB_STATS_PROC_FILE_MAX + 2);
	assert_non_null(big);
	const char *statm = "765 423 395 5 0 123 0";
	memset(big, ' ', ALB_STATS_PROC_FILE_MAX + 1);
	memcpy(big, statm, strlen(statm));
	int64_t a, b;
	/* trailing spaces make empty fields, which the statm parser ignores */
	assert_int_equal(alb_proc_parse_statm(big, ALB_STATS_PROC_FILE_MAX, 7,
					      &a, &b, NULL),
			 0);
	assert_int_equal(alb_proc_parse_statm(big, ALB_STATS_PROC_FILE_MAX + 1, 7,
					      &a, &b, NULL),
			 ALB_ETOOBIG);
	const char *status = "voluntary_ctxt_switches:\t1\n"
			     "nonvoluntary_ctxt_switches:\t2\n";
	memset(big, '\n', ALB_STATS_PROC_FILE_MAX + 1);
	memcpy(big, status, strlen(status));
	assert_int_equal(alb_proc_parse_status(big, ALB_STATS_PROC_FILE_MAX, 7,
					       &a, &b, NULL),
			 0);
	assert_int_equal(alb_proc_parse_status(big, ALB_STATS_PROC_FILE_MAX + 1,
					       7, &a, &b, NULL),
			 ALB_ETOOBIG);
	free(big);
}

static void test_parse_statm(void **state)
{
	(void)state;
	int64_t text = -1, data = -1;
	struct alb_error err;
	const char *s = "765 423 395 5 0 123 0\n";
	assert_int_equal(alb_proc_parse_statm(s, strlen(s), 3, &text, &data, &err), 0);
	assert_int_equal(text, 5);
	assert_int_equal(data, 123);
	/* six fields are too few; eight are fine */
	s = "765 423 395 5 0 123\n";
	assert_int_equal(alb_proc_parse_statm(s, strlen(s), 3, &text, &data, &err),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "unable to parse /proc/3/statm");
	s = "765 423 395 6 0 124 0 9";
	assert_int_equal(alb_proc_parse_statm(s, strlen(s), 3, &text, &data, NULL), 0);
	assert_int_equal(text, 6);
	assert_int_equal(data, 124);
	s = "765 423 395 x 0 123 0";
	assert_int_equal(alb_proc_parse_statm(s, strlen(s), 3, &text, &data, NULL),
			 ALB_EPARSE);
	s = "";
	assert_int_equal(alb_proc_parse_statm(s, 0, 3, &text, &data, NULL),
			 ALB_EPARSE);
}

static void test_parse_status(void **state)
{
	(void)state;
	int64_t v = -1, iv = -1;
	struct alb_error err;
	const char *s = "Name:\tsolo5-hvt\n"
			"Umask:\t0022\n"
			"State:\tS (sleeping)\n"
			"Tgid:\t1234\n"
			"Cpus_allowed_list:\t0-1\n"
			"voluntary_ctxt_switches:\t4242\n"
			"nonvoluntary_ctxt_switches:\t17\n";
	assert_int_equal(alb_proc_parse_status(s, strlen(s), 9, &v, &iv, &err), 0);
	assert_int_equal(v, 4242);
	assert_int_equal(iv, 17);
	/* order, blanks and a missing final newline do not matter */
	s = "nonvoluntary_ctxt_switches:  3 \nvoluntary_ctxt_switches:\t 5";
	assert_int_equal(alb_proc_parse_status(s, strlen(s), 9, &v, &iv, NULL), 0);
	assert_int_equal(v, 5);
	assert_int_equal(iv, 3);
	/* a key must start its line and be followed by ':' */
	s = "xvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t2\n";
	assert_int_equal(alb_proc_parse_status(s, strlen(s), 9, &v, &iv, &err),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "error parsing /proc/9/status");
	s = "voluntary_ctxt_switches\t1\nnonvoluntary_ctxt_switches:\t2\n";
	assert_int_equal(alb_proc_parse_status(s, strlen(s), 9, &v, &iv, NULL),
			 ALB_EPARSE);
	s = "voluntary_ctxt_switches:\tmany\nnonvoluntary_ctxt_switches:\t2\n";
	assert_int_equal(alb_proc_parse_status(s, strlen(s), 9, &v, &iv, NULL),
			 ALB_EPARSE);
	s = "voluntary_ctxt_switches:\t1\n";
	assert_int_equal(alb_proc_parse_status(s, strlen(s), 9, &v, &iv, NULL),
			 ALB_EPARSE);
}

static void test_proc_to_stats(void **state)
{
	(void)state;
	struct alb_proc_stat st = {.minflt = 111, .majflt = 12, .utime = 250,
				   .stime = 199, .vsize = 3133440, .rss = 411,
				   .nswap = 3};
	struct alb_rusage ru;
	struct alb_kinfo_mem mem;
	struct alb_timeval start = {1700000000, 42};
	memset(&ru, 0xff, sizeof(ru));
	alb_proc_to_stats(&st, 5, 123, 4242, 17, 100, start, &ru, &mem);
	assert_int_equal(ru.utime.sec, 2);
	assert_int_equal(ru.utime.usec, 500000);
	assert_int_equal(ru.stime.sec, 1);
	assert_int_equal(ru.stime.usec, 990000);
	assert_int_equal(ru.maxrss, 411); /* pages, as Albatross reports */
	assert_int_equal(ru.minflt, 111);
	assert_int_equal(ru.majflt, 12);
	assert_int_equal(ru.nswap, 3);
	assert_int_equal(ru.nvcsw, 4242);
	assert_int_equal(ru.nivcsw, 17);
	assert_int_equal(ru.ixrss, 0);
	assert_int_equal(ru.idrss, 0);
	assert_int_equal(ru.isrss, 0);
	assert_int_equal(ru.inblock, 0);
	assert_int_equal(ru.oublock, 0);
	assert_int_equal(ru.msgsnd, 0);
	assert_int_equal(ru.msgrcv, 0);
	assert_int_equal(ru.nsignals, 0);
	assert_int_equal(mem.vsize, 3133440);
	assert_int_equal(mem.rss, 411);
	assert_int_equal(mem.tsize, 5);
	assert_int_equal(mem.dsize, 123);
	assert_int_equal(mem.ssize, 123);
	assert_int_equal(mem.runtime, 4490000);
	assert_int_equal(mem.cow, 0);
	assert_int_equal(mem.start.sec, 1700000000);
	assert_int_equal(mem.start.usec, 42);

	/* a clock that does not divide a second: truncated like Albatross */
	st.utime = 1;
	st.stime = 0;
	alb_proc_to_stats(&st, 0, 0, 0, 0, 3, start, &ru, &mem);
	assert_int_equal(ru.utime.sec, 0);
	assert_int_equal(ru.utime.usec, 333333);
	assert_int_equal(mem.runtime, 333333);
	/* no overflow for absurd tick counts */
	st.utime = INT64_MAX;
	st.stime = INT64_MAX;
	alb_proc_to_stats(&st, 0, 0, 0, 0, 100, start, NULL, &mem);
	assert_int_equal(mem.runtime, INT64_MAX);
}

/* ---- live processes ------------------------------------------------------ */

static void burn_cpu(int ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	volatile uint64_t x = 0;
	do {
		for (int i = 0; i < 100000; i++)
			x += (uint64_t)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static void test_proc_live(void **state)
{
	(void)state;
	struct alb_stats_proc *p;
	struct alb_error err;
	assert_int_equal(alb_stats_proc_open(getpid(), &p, &err), 0);
	assert_int_equal(alb_stats_proc_pid(p), getpid());
	struct alb_rusage ru1, ru2;
	struct alb_kinfo_mem mem1, mem2;
	assert_int_equal(alb_stats_proc_sample(p, &ru1, &mem1, &err), 0);
	assert_true(mem1.vsize > 0);
	assert_true(mem1.rss > 0);
	assert_int_equal(ru1.maxrss, mem1.rss);
	assert_true(mem1.tsize > 0);
	assert_true(mem1.dsize > 0);
	assert_true(ru1.nvcsw + ru1.nivcsw >= 0);
	time_t now = time(NULL);
	assert_true(mem1.start.sec <= now && mem1.start.sec > now - 3600);
	assert_true(mem1.start.usec >= 0 && mem1.start.usec < 1000000);
	/* the cached files give fresh figures at each sample */
	burn_cpu(50);
	assert_int_equal(alb_stats_proc_sample(p, &ru2, &mem2, &err), 0);
	int64_t t1 = ru1.utime.sec * 1000000 + ru1.utime.usec +
		     ru1.stime.sec * 1000000 + ru1.stime.usec;
	int64_t t2 = ru2.utime.sec * 1000000 + ru2.utime.usec +
		     ru2.stime.sec * 1000000 + ru2.stime.usec;
	assert_true(t2 >= t1 + 30000);
	assert_true(mem2.runtime >= mem1.runtime + 30000);
	assert_int_equal(mem2.start.sec, mem1.start.sec);
	assert_int_equal(mem2.start.usec, mem1.start.usec);
	/* either output may be omitted */
	assert_int_equal(alb_stats_proc_sample(p, NULL, NULL, NULL), 0);
	alb_stats_proc_free(p);
	alb_stats_proc_free(NULL);
}

static void test_proc_gone(void **state)
{
	(void)state;
	struct alb_stats_proc *p = NULL;
	struct alb_error err;
	assert_int_equal(alb_stats_proc_open(0, &p, &err), ALB_EINVAL);
	assert_int_equal(alb_stats_proc_open(-5, &p, &err), ALB_EINVAL);
	assert_int_equal(alb_stats_proc_open((int64_t)INT32_MAX + 1, &p, &err),
			 ALB_EINVAL);
	/* pid_max is at most 2^22: this one never exists */
	assert_int_equal(alb_stats_proc_open(INT32_MAX, &p, &err), ALB_ENOENT);
	assert_null(p);

	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		test_child_exit(0);
	}
	assert_int_equal(alb_stats_proc_open(child, &p, &err), 0);
	struct alb_kinfo_mem mem;
	assert_int_equal(alb_stats_proc_sample(p, NULL, &mem, &err), 0);
	kill(child, SIGKILL);
	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	/* reaped: the open files now fail, even if the pid were reused */
	assert_int_equal(alb_stats_proc_sample(p, NULL, &mem, &err), ALB_ENOENT);
	alb_stats_proc_free(p);
	assert_int_equal(alb_stats_proc_open(child, &p, &err), ALB_ENOENT);
}

/* ---- Influx line protocol (spec §8.5) ---------------------------------- */

static struct alb_str str(const char *s)
{
	return (struct alb_str){s, strlen(s)};
}

/* The values of the vector data_stats_full. */
static struct alb_ifdata full_if[2];
static struct alb_vmm_stat full_vmm[3];

static struct alb_stats full_stats(void)
{
	struct alb_stats s = {0};
	s.rusage = (struct alb_rusage){
	    .utime = {1, 250000}, .stime = {0, 999999}, .maxrss = 20480,
	    .ixrss = 0, .idrss = -1, .isrss = INT64_MAX, .minflt = INT64_MIN,
	    .majflt = 3, .nswap = 0, .inblock = 128, .oublock = 256,
	    .msgsnd = 0, .msgrcv = 0, .nsignals = 1, .nvcsw = 4242,
	    .nivcsw = 17};
	s.has_kinfo_mem = true;
	s.kinfo_mem = (struct alb_kinfo_mem){
	    .vsize = 1073741824, .rss = 52428800, .tsize = 4096,
	    .dsize = 8192, .ssize = 0, .runtime = 123456789, .cow = 7,
	    .start = {1700000000, 42}};
	s.has_vmm = true;
	full_vmm[0] = (struct alb_vmm_stat){str("vmexit"), 1000};
	full_vmm[1] = (struct alb_vmm_stat){str("vmentry"), -5};
	full_vmm[2] = (struct alb_vmm_stat){str(""), 0};
	s.n_vmm = 3;
	s.vmm = full_vmm;
	full_if[0] = (struct alb_ifdata){
	    .bridge = str("service"), .flags = 34883, .max_send_length = 50,
	    .mtu = 1500, .baudrate = 10000000000, .input_packets = 1,
	    .output_packets = 2, .input_bytes = 98, .output_bytes = 196};
	full_if[1] = (struct alb_ifdata){
	    .bridge = str("admin"), .flags = INT32_MIN, .max_send_length = 50,
	    .mtu = INT32_MAX, .baudrate = 10000000000, .input_packets = 1,
	    .output_packets = 2, .input_bytes = INT64_MAX, .output_bytes = 196,
	    .output_dropped = -1};
	s.n_ifdata = 2;
	s.ifdata = full_if;
	return s;
}

static const char influx_full[] =
    "resource_usage,vm=c utime=1.250000,stime=0.999999,maxrss=20480i,"
    "ixrss=0i,idrss=18446744073709551615i,isrss=9223372036854775807i,"
    "minflt=9223372036854775808i,maxflt=3i,nswap=0i,inblock=128i,"
    "outblock=256i,msgsnd=0i,msgrcv=0i,nsignals=1i,nvcsw=4242i,nivcsw=17i\n"
    "kinfo_mem,vm=c vsize=1073741824i,rss=52428800i,tsize=4096i,dsize=8192i,"
    "ssize=0i,cow_faults=7i,runtime=123456789i,uptime=100.000000\n"
    "vmm,vm=c vmexit=1000i,vmentry=18446744073709551611i,=0i\n"
    "interface,vm=c,bridge=service send_queue_length=0i,"
    "max_send_queue_length=50i,send_queue_drops=0i,mtu=1500i,"
    "baudrate=10000000000i,vm_to_host_packets=1i,vm_to_host_errors=0i,"
    "vm_to_host_bytes=98i,vm_to_host_mcast=0i,vm_to_host_dropped=0i,"
    "collisions=0i,host_to_vm_packets=2i,host_to_vm_errors=0i,"
    "host_to_vm_bytes=196i,host_to_vm_mcast=0i,host_to_vm_dropped=0i\n"
    "interface,vm=c,bridge=admin send_queue_length=0i,"
    "max_send_queue_length=50i,send_queue_drops=0i,mtu=2147483647i,"
    "baudrate=10000000000i,vm_to_host_packets=1i,vm_to_host_errors=0i,"
    "vm_to_host_bytes=9223372036854775807i,vm_to_host_mcast=0i,"
    "vm_to_host_dropped=0i,collisions=0i,host_to_vm_packets=2i,"
    "host_to_vm_errors=0i,host_to_vm_bytes=196i,host_to_vm_mcast=0i,"
    "host_to_vm_dropped=18446744073709551615i\n";

static void assert_buf(const struct alb_buf *b, const char *want)
{
	char *got = strndup((const char *)b->data, b->len);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_influx_full(void **state)
{
	(void)state;
	struct alb_stats s = full_stats();
	struct alb_buf out = {0};
	struct alb_timeval now = {1700000100, 42};
	assert_int_equal(alb_stats_influx("c", &s, now, &out, NULL), 0);
	assert_buf(&out, influx_full);
	/* appends: a second batch follows the first */
	assert_int_equal(alb_stats_influx("c", &s, now, &out, NULL), 0);
	assert_int_equal(out.len, 2 * strlen(influx_full));
	assert_memory_equal(out.data + strlen(influx_full), influx_full,
			    strlen(influx_full));
	alb_buf_free(&out);
}

static void test_influx_min(void **state)
{
	(void)state;
	/* data_stats_min: no kinfo-mem, no vmm, no interface */
	struct alb_stats s = {0};
	s.rusage.utime = (struct alb_timeval){0, 5};
	s.rusage.stime = (struct alb_timeval){-1, 7};
	s.rusage.majflt = 9;
	struct alb_buf out = {0};
	assert_int_equal(alb_stats_influx("a:b:", &s, (struct alb_timeval){0, 0},
					  &out, NULL),
			 0);
	assert_buf(&out,
		   "resource_usage,vm=a:b: utime=0.000005,"
		   "stime=18446744073709551615.000007,maxrss=0i,ixrss=0i,"
		   "idrss=0i,isrss=0i,minflt=0i,maxflt=9i,nswap=0i,inblock=0i,"
		   "outblock=0i,msgsnd=0i,msgrcv=0i,nsignals=0i,nvcsw=0i,"
		   "nivcsw=0i\n");
	alb_buf_free(&out);

	/* vmm present but empty: the measurement with no field, as upstream */
	s.has_vmm = true;
	s.rusage.stime.usec = -3; /* "%06d" of a negative value */
	assert_int_equal(alb_stats_influx("x", &s, (struct alb_timeval){0, 0},
					  &out, NULL),
			 0);
	char *got = strndup((const char *)out.data, out.len);
	assert_non_null(strstr(got, ",stime=18446744073709551615.-00003,"));
	assert_non_null(strstr(got, "\nvmm,vm=x \n"));
	free(got);
	alb_buf_free(&out);
}

static void test_influx_escape(void **state)
{
	(void)state;
	struct alb_stats s = {0};
	struct alb_ifdata d = {.bridge = {"a b,c=d\ne", 9}};
	struct alb_vmm_stat v = {{"k =,\r", 5}, 1};
	s.n_ifdata = 1;
	s.ifdata = &d;
	s.has_vmm = true;
	s.n_vmm = 1;
	s.vmm = &v;
	struct alb_buf out = {0};
	assert_int_equal(alb_stats_influx("vm", &s, (struct alb_timeval){0, 0},
					  &out, NULL),
			 0);
	char *got = strndup((const char *)out.data, out.len);
	assert_non_null(strstr(got, "\nvmm,vm=vm k\\ \\=\\,?=1i\n"));
	assert_non_null(strstr(got, "\ninterface,vm=vm,bridge=a\\ b\\,c\\=d?e "
				    "send_queue_length=0i,"));
	/* three lines, no more: nothing broke a line */
	size_t lines = 0;
	for (char *p = got; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 3);
	free(got);
	alb_buf_free(&out);
	/* a bridge absent (NULL, 0) is an empty tag value */
	d.bridge = (struct alb_str){NULL, 0};
	s.has_vmm = false;
	assert_int_equal(alb_stats_influx("vm", &s, (struct alb_timeval){0, 0},
					  &out, NULL),
			 0);
	got = strndup((const char *)out.data, out.len);
	assert_non_null(strstr(got, "\ninterface,vm=vm,bridge= send_queue"));
	free(got);
	alb_buf_free(&out);

	assert_int_equal(alb_stats_influx(NULL, &s, (struct alb_timeval){0, 0},
					  &out, NULL),
			 ALB_EINVAL);
	s.ifdata = NULL; /* a list of n > 0 without storage */
	assert_int_equal(alb_stats_influx("vm", &s, (struct alb_timeval){0, 0},
					  &out, NULL),
			 ALB_EINVAL);
}

/* ---- Prometheus ---------------------------------------------------------- */

static bool has_line(const char *out, const char *line)
{
	size_t l = strlen(line);
	for (const char *p = out; (p = strstr(p, line)) != NULL; p++)
		if ((p == out || p[-1] == '\n') && p[l] == '\n')
			return true;
	return false;
}

static void test_prometheus(void **state)
{
	(void)state;
	struct alb_stats full = full_stats();
	struct alb_stats min = {0};
	min.rusage.utime = (struct alb_timeval){3, 7};
	struct alb_ifdata d = {.bridge = str("we\"ird\\\n"), .mtu = 9000,
			       .input_packets = 5};
	min.n_ifdata = 1;
	min.ifdata = &d;
	struct alb_stats_entry v[] = {{"a:b:c", &full}, {":min", &min}};
	struct alb_buf out = {0};
	struct alb_timeval now = {1700000100, 42};
	assert_int_equal(alb_stats_prometheus(v, 2, now, &out, NULL), 0);
	char *got = strndup((const char *)out.data, out.len);
	assert_true(has_line(got, "# HELP albatross_utime_seconds_total User CPU time."));
	assert_true(has_line(got, "# TYPE albatross_utime_seconds_total counter"));
	assert_true(has_line(got, "albatross_utime_seconds_total{vm=\"a:b:c\"} 1.250000"));
	assert_true(has_line(got, "albatross_utime_seconds_total{vm=\":min\"} 3.000007"));
	assert_true(has_line(got, "albatross_majflt_total{vm=\"a:b:c\"} 3"));
	assert_true(has_line(got, "# TYPE albatross_vsize_bytes gauge"));
	assert_true(has_line(got, "albatross_vsize_bytes{vm=\"a:b:c\"} 1073741824"));
	/* in seconds, as Prometheus's base unit asks (promtool's lint) */
	assert_true(has_line(got, "albatross_runtime_seconds_total{vm=\"a:b:c\"} 123.456789"));
	assert_true(has_line(got, "albatross_start_time_seconds{vm=\"a:b:c\"} 1700000000.000042"));
	assert_true(has_line(got, "albatross_uptime_seconds{vm=\"a:b:c\"} 100.000000"));
	/* no kinfo-mem: no memory sample for it */
	assert_null(strstr(got, "albatross_vsize_bytes{vm=\":min\"}"));
	assert_true(has_line(got, "albatross_interface_vm_to_host_bytes_total{vm=\"a:b:c\",bridge=\"service\"} 98"));
	assert_true(has_line(got, "albatross_interface_host_to_vm_dropped_total{vm=\"a:b:c\",bridge=\"admin\"} 18446744073709551615"));
	assert_true(has_line(got, "albatross_interface_mtu{vm=\":min\",bridge=\"we\\\"ird\\\\\\n\"} 9000"));
	assert_true(has_line(got, "albatross_interface_vm_to_host_packets_total{vm=\":min\",bridge=\"we\\\"ird\\\\\\n\"} 5"));
	assert_true(has_line(got, "# TYPE albatross_vmm gauge"));
	assert_true(has_line(got, "albatross_vmm{vm=\"a:b:c\",key=\"vmentry\"} 18446744073709551611"));
	/* every line is a comment or "name{labels} value" */
	for (char *line = got, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		if (line[0] == '#')
			continue;
		assert_true(strncmp(line, "albatross_", 10) == 0);
		char *sp = memrchr(line, ' ', (size_t)(nl - line));
		assert_non_null(sp);
		assert_true(sp[-1] == '}');
		char *end;
		strtod(sp + 1, &end);
		assert_ptr_equal(end, nl);
	}
	free(got);
	alb_buf_free(&out);

	/* nothing monitored: families only, no sample */
	assert_int_equal(alb_stats_prometheus(NULL, 0, now, &out, NULL), 0);
	got = strndup((const char *)out.data, out.len);
	assert_non_null(strstr(got, "# TYPE albatross_utime_seconds_total counter\n"));
	assert_null(strstr(got, "{"));
	free(got);
	alb_buf_free(&out);
	struct alb_stats_entry bad = {NULL, &min};
	assert_int_equal(alb_stats_prometheus(&bad, 1, now, &out, NULL), ALB_EINVAL);
}

/* ---- subscribers (spec §8.2) -------------------------------------------- */

struct seen {
	size_t n;
	void *owner[8];
	int64_t version[8];
	char name[8][ALB_NAME_BUF];
};

static int record(void *ctx, void *owner, int64_t version, const char *rel)
{
	struct seen *s = ctx;
	assert_true(s->n < 8);
	s->owner[s->n] = owner;
	s->version[s->n] = version;
	snprintf(s->name[s->n], ALB_NAME_BUF, "%s", rel);
	s->n++;
	return 0;
}

/* The relative name subscriber `owner` gets for unikernel vm, or NULL when
 * it does not cover it. */
static const char *rel_for(const struct alb_stats_subs *r, const char *vm,
			   void *owner, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(alb_stats_subs_collect(r, vm, record, s), 0);
	for (size_t i = 0; i < s->n; i++)
		if (s->owner[i] == owner)
			return s->name[i];
	return NULL;
}

static void test_subscribers(void **state)
{
	(void)state;
	struct alb_stats_subs *r = alb_stats_subs_new();
	assert_non_null(r);
	int root, foo_path, foo_label, foobar, foobar2, other;
	assert_int_equal(alb_stats_subs_add(r, ":", 5, &root, NULL, NULL), 0);
	assert_int_equal(alb_stats_subs_add(r, "foo:", 5, &foo_path, NULL, NULL), 0);
	assert_int_equal(alb_stats_subs_add(r, ":foo", 4, &foo_label, NULL, NULL), 0);
	assert_int_equal(alb_stats_subs_add(r, "foo:bar", 5, &foobar, NULL, NULL), 0);
	/* several subscribers at one name (Albatross would close the first) */
	assert_int_equal(alb_stats_subs_add(r, "foo:bar", 5, &foobar2, NULL, NULL), 0);
	assert_int_equal(alb_stats_subs_add(r, "other:", 5, &other, NULL, NULL), 0);
	assert_int_equal(alb_stats_subs_count(r), 6);
	assert_true(alb_stats_subs_has(r, "foo:", &foo_path));
	assert_false(alb_stats_subs_has(r, ":foo", &foo_path));
	assert_false(alb_stats_subs_has(r, "foo:x", &foo_path));
	/* the same owner at the same name again: its version changes only */
	bool added = true;
	assert_int_equal(alb_stats_subs_add(r, ":foo", 3, &foo_label, &added, NULL), 0);
	assert_false(added);
	assert_int_equal(alb_stats_subs_add(r, ":foo", 4, &foo_label, &added, NULL), 0);
	assert_false(added);
	assert_int_equal(alb_stats_subs_add(r, "foo:", 4, &foo_label, &added, NULL), 0);
	assert_true(added);
	assert_int_equal(alb_stats_subs_remove_owner(r, &foo_label), 2);
	assert_int_equal(alb_stats_subs_add(r, ":foo", 4, &foo_label, &added, NULL), 0);
	assert_true(added);
	assert_int_equal(alb_stats_subs_count(r), 6);

	struct seen s;
	/* foo:bar: root (full name), the path foo: (":bar"), the root-level
	 * name foo sharing its node (relative to the root: full name), and
	 * itself twice (relative to its path foo:) */
	assert_string_equal(rel_for(r, "foo:bar", &root, &s), "foo:bar");
	assert_string_equal(rel_for(r, "foo:bar", &foo_path, &s), ":bar");
	assert_string_equal(rel_for(r, "foo:bar", &foo_label, &s), "foo:bar");
	assert_string_equal(rel_for(r, "foo:bar", &foobar, &s), ":bar");
	assert_string_equal(rel_for(r, "foo:bar", &foobar2, &s), ":bar");
	assert_null(rel_for(r, "foo:bar", &other, &s));
	assert_int_equal(s.n, 5);
	/* deepest first: the two at foo:bar, then the node foo, then root */
	assert_true(s.owner[0] == &foobar2 || s.owner[0] == &foobar);
	assert_ptr_equal(s.owner[4], &root);
	/* versions travel with the subscription */
	assert_int_equal(s.version[s.owner[2] == &foo_label ? 2 : 3], 4);

	/* deeper: a:b:c seen by root only */
	assert_string_equal(rel_for(r, "foo:baz:x", &foo_path, &s), "baz:x");
	assert_null(rel_for(r, "foo:baz:x", &foobar, &s));
	assert_string_equal(rel_for(r, "a:b:c", &root, &s), "a:b:c");
	assert_int_equal(s.n, 1);
	/* the root-level unikernel foo: its own name and the path foo: */
	assert_string_equal(rel_for(r, ":foo", &foo_label, &s), ":foo");
	assert_string_equal(rel_for(r, ":foo", &foo_path, &s), ":");
	assert_null(rel_for(r, ":foobar", &foo_path, &s));
	assert_true(alb_stats_subs_any(r, "other:x"));

	/* an owner's departure removes all its subscriptions, and only them */
	assert_int_equal(alb_stats_subs_add(r, "other:y", 5, &foobar, NULL, NULL), 0);
	assert_int_equal(alb_stats_subs_remove_owner(r, &foobar), 2);
	assert_int_equal(alb_stats_subs_count(r), 5);
	assert_null(rel_for(r, "foo:bar", &foobar, &s));
	assert_string_equal(rel_for(r, "foo:bar", &foobar2, &s), ":bar");
	assert_int_equal(alb_stats_subs_remove_owner(r, &root), 1);
	assert_int_equal(alb_stats_subs_remove_owner(r, &root), 0);
	assert_false(alb_stats_subs_any(r, "a:b:c"));
	assert_true(alb_stats_subs_any(r, "other:z"));
	assert_int_equal(alb_stats_subs_remove_owner(r, &other), 1);
	assert_false(alb_stats_subs_any(r, "other:z"));
	assert_int_equal(alb_stats_subs_count(r), 3);
	alb_stats_subs_free(r);
	alb_stats_subs_free(NULL);
}

/* ---- the daemon's messages against the golden vectors ------------------- */

/* Compares a framed message with the vector name (its DER, unframed). */
static void assert_vector(const struct alb_buf *framed, const char *name)
{
	const char *dir = vec_dir();
	char file[128];
	snprintf(file, sizeof(file), "%s.der", name);
	size_t len;
	uint8_t *want = vec_read_at(dir, file, &len);
	if (want == NULL) {
		/* a vector set without it: this comparison is not made */
		print_message("not compared: vector %s is not in this set\n", file);
		return;
	}
	assert_int_equal(framed->len, len + 4);
	assert_int_equal(((uint32_t)framed->data[0] << 24 | framed->data[1] << 16 |
			  framed->data[2] << 8 | framed->data[3]),
			 len);
	assert_memory_equal(framed->data + 4, want, len);
	free(want);
}

static void test_vectors(void **state)
{
	(void)state;
	/* skipped before anything is allocated (skip() leaves the test) */
	if (!vec_present(vec_dir()))
		skip();
	/* every vector has this header */
	struct alb_header h = {5, 1, "a:b:c"};
	struct alb_stats s = full_stats();
	struct alb_buf out = {0};
	assert_int_equal(alb_statsd_encode_data(&h, &s, &out, NULL), 0);
	assert_vector(&out, "data_stats_full");
	alb_buf_free(&out);

	/* kinfo-mem absent, vmm absent, no interface */
	s.has_kinfo_mem = false;
	s.has_vmm = false;
	s.n_ifdata = 0;
	assert_int_equal(alb_statsd_encode_data(&h, &s, &out, NULL), 0);
	assert_vector(&out, "data_stats_min");
	alb_buf_free(&out);

	/* vmm present and empty, one interface */
	s.has_vmm = true;
	s.n_vmm = 0;
	s.n_ifdata = 1;
	assert_int_equal(alb_statsd_encode_data(&h, &s, &out, NULL), 0);
	assert_vector(&out, "data_stats_vmm_empty");
	alb_buf_free(&out);

	struct alb_command cmd = {.kind = ALB_CMD_STATS_INITIAL};
	assert_int_equal(alb_statsd_encode_cmd(&h, &cmd, &out, NULL), 0);
	assert_vector(&out, "cmd_stats_initial");
	alb_buf_free(&out);
	cmd.kind = ALB_CMD_STATS_SUBSCRIBE;
	assert_int_equal(alb_statsd_encode_cmd(&h, &cmd, &out, NULL), 0);
	assert_vector(&out, "cmd_stats_subscribe");
	alb_buf_free(&out);
	cmd.kind = ALB_CMD_STATS_REMOVE;
	assert_int_equal(alb_statsd_encode_cmd(&h, &cmd, &out, NULL), 0);
	assert_vector(&out, "cmd_stats_remove");
	alb_buf_free(&out);
	struct alb_stats_tap taps[] = {{str("service"), str("vmmtap0")},
				       {str("admin"), str("vmmtap1")}};
	cmd.kind = ALB_CMD_STATS_ADD;
	cmd.u.stats_add.vmmdev = str("solo5-1234");
	cmd.u.stats_add.pid = 1234;
	cmd.u.stats_add.n_taps = 2;
	cmd.u.stats_add.taps = taps;
	assert_int_equal(alb_statsd_encode_cmd(&h, &cmd, &out, NULL), 0);
	assert_vector(&out, "cmd_stats_add");
	alb_buf_free(&out);
	cmd.u.stats_add.vmmdev = str("");
	cmd.u.stats_add.pid = 0;
	cmd.u.stats_add.n_taps = 0;
	assert_int_equal(alb_statsd_encode_cmd(&h, &cmd, &out, NULL), 0);
	assert_vector(&out, "cmd_stats_add_no_taps");
	alb_buf_free(&out);
}

/* ---- the daemon, run in-process on a loop thread -------------------------- */

enum op { OP_NONE, OP_TICK, OP_COUNT, OP_STOP };

struct harness {
	uv_loop_t loop;
	uv_async_t async;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum op op;
	bool done;
	size_t count;
	struct alb_statsd *d;
	char tmp[64];
	char stat_path[128];
	char vmmd_path[128];
};

static void on_async(uv_async_t *a)
{
	struct harness *h = a->data;
	pthread_mutex_lock(&h->mu);
	enum op op = h->op;
	pthread_mutex_unlock(&h->mu);
	switch (op) {
	case OP_TICK:
		alb_statsd_tick(h->d);
		break;
	case OP_COUNT:
		h->count = alb_statsd_count(h->d);
		break;
	case OP_STOP:
		alb_statsd_free(h->d);
		uv_close((uv_handle_t *)a, NULL);
		break;
	case OP_NONE:
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->op = OP_NONE;
	h->done = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void *loop_thread(void *arg)
{
	struct harness *h = arg;
	uv_run(&h->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void harness_op(struct harness *h, enum op op)
{
	pthread_mutex_lock(&h->mu);
	h->op = op;
	h->done = false;
	pthread_mutex_unlock(&h->mu);
	uv_async_send(&h->async);
	pthread_mutex_lock(&h->mu);
	while (!h->done)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

static size_t harness_count(struct harness *h)
{
	harness_op(h, OP_COUNT);
	return h->count;
}

static void harness_dirs(struct harness *h)
{
	snprintf(h->tmp, sizeof(h->tmp), "/tmp/alb-stats-XXXXXX");
	assert_non_null(mkdtemp(h->tmp));
	snprintf(h->stat_path, sizeof(h->stat_path), "%s/util/stat.sock", h->tmp);
	snprintf(h->vmmd_path, sizeof(h->vmmd_path), "%s/util/vmmd.sock", h->tmp);
}

/* Starts a daemon on h->tmp (made by harness_dirs() if empty). */
static void harness_start(struct harness *h, struct alb_statsd_config *cfg)
{
	if (h->tmp[0] == '\0')
		harness_dirs(h);
	cfg->tmpdir = h->tmp;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	assert_int_equal(uv_loop_init(&h->loop), 0);
	struct alb_error err;
	int rc = alb_statsd_new(&h->loop, cfg, &h->d, &err);
	if (rc != 0)
		fail_msg("alb_statsd_new: %s", err.msg);
	rc = alb_statsd_start(h->d, &err);
	if (rc != 0)
		fail_msg("alb_statsd_start: %s", err.msg);
	assert_int_equal(uv_async_init(&h->loop, &h->async, on_async), 0);
	h->async.data = h;
	assert_int_equal(pthread_create(&h->thread, NULL, loop_thread, h), 0);
}

static void harness_stop(struct harness *h)
{
	harness_op(h, OP_STOP);
	pthread_join(h->thread, NULL);
	/* every handle was closed and the memory released */
	assert_int_equal(uv_loop_close(&h->loop), 0);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	unlink(h->stat_path);
	unlink(h->vmmd_path);
	char util[128];
	snprintf(util, sizeof(util), "%s/util", h->tmp);
	rmdir(util);
	rmdir(h->tmp);
}

/* A blocking client socket whose reads give up after timeout_ms. */
static int unix_connect(const char *path, int timeout_ms)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int stat_connect(struct harness *h)
{
	return unix_connect(h->stat_path, 5000);
}

static void send_cmd(int fd, const char *name, int64_t seq,
		     const struct alb_command *cmd)
{
	struct alb_header hd = {5, seq, name};
	struct alb_buf out = {0};
	assert_int_equal(alb_statsd_encode_cmd(&hd, cmd, &out, NULL), 0);
	assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
	alb_buf_free(&out);
}

static void send_simple(int fd, const char *name, enum alb_cmd_kind kind)
{
	struct alb_command cmd = {.kind = kind};
	send_cmd(fd, name, 0, &cmd);
}

static void send_add(int fd, const char *name, int64_t pid, size_t n_taps,
		     const char *netif, const char *tap)
{
	struct alb_stats_tap *taps = calloc(n_taps + 1, sizeof(*taps));
	assert_non_null(taps);
	for (size_t i = 0; i < n_taps; i++)
		taps[i] = (struct alb_stats_tap){str(netif), str(tap)};
	struct alb_command cmd = {.kind = ALB_CMD_STATS_ADD};
	cmd.u.stats_add.vmmdev = str("");
	cmd.u.stats_add.pid = pid;
	cmd.u.stats_add.n_taps = n_taps;
	cmd.u.stats_add.taps = taps;
	send_cmd(fd, name, 0, &cmd);
	free(taps);
}

/* The next message, or NULL at end of stream or after the timeout. */
static struct alb_msg *recv_msg(int fd)
{
	struct alb_buf in = {0};
	if (alb_frame_read_fd(fd, 1 << 20, &in, NULL) != 0)
		return NULL;
	struct alb_msg *m = NULL;
	struct alb_error err;
	if (alb_msg_decode(in.data, in.len, 0, &m, &err) != 0)
		fail_msg("undecodable message: %s", err.msg);
	alb_buf_free(&in);
	return m;
}

/* Expects Success (String text), with header name and sequence seq. */
static void expect_success(int fd, const char *name, int64_t seq,
			   const char *text)
{
	struct alb_msg *m = recv_msg(fd);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_STRING);
	assert_string_equal(m->u.success.u.string.ptr, text);
	assert_int_equal(m->header.version, 5);
	assert_int_equal(m->header.sequence, seq);
	assert_string_equal(m->header.name, name);
	alb_msg_free(m);
}

/* Expects Failure text, then the end of the connection. */
static void expect_failure_close(int fd, const char *name, const char *text)
{
	struct alb_msg *m = recv_msg(fd);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_FAILURE);
	assert_string_equal(m->u.failure.ptr, text);
	assert_string_equal(m->header.name, name);
	alb_msg_free(m);
	char c;
	assert_int_equal(read(fd, &c, 1), 0);
}

/* True when the peer closed the connection without sending anything
 * (closing with our bytes unread makes it a reset). */
static bool closed_silently(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* True when nothing arrives within ms. */
static bool quiet_for(int fd, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	return poll(&p, 1, ms) == 0;
}

static void write_vector(int fd, const char *name)
{
	const char *dir = vec_dir();
	if (!vec_present(dir))
		skip();
	char file[128];
	snprintf(file, sizeof(file), "%s.der", name);
	size_t len;
	uint8_t *v = vec_read_at(dir, file, &len);
	if (v == NULL) {
		print_message("skipped: vector %s is not in this set\n", file);
		skip();
	}
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
			  (uint8_t)(len >> 8), (uint8_t)len};
	assert_int_equal(write(fd, hdr, 4), 4);
	assert_int_equal(write(fd, v, len), (ssize_t)len);
	free(v);
}

static pid_t sleeper(void)
{
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		/* never outlive a test that failed before reaping it, nor
		 * hold the test's sockets open */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close_range(3, ~0u, 0);
		for (;;)
			pause();
	}
	return p;
}

static void reap(pid_t p)
{
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

static void test_daemon_commands(void **state)
{
	(void)state;
	/* the session needs these vectors: skipped before anything starts
	 * when the set lacks one */
	static const char *const need[] = {"cmd_stats_add", "cmd_stats_add_no_taps",
					   "cmd_stats_remove", "cmd_stats_subscribe",
					   "cmd_stats_initial"};
	for (size_t i = 0; i < sizeof(need) / sizeof(*need); i++) {
		size_t len;
		uint8_t *b = vec_read_named(vec_dir(), need[i], &len, NULL);
		if (b == NULL)
			skip();
		free(b);
	}
	struct harness h = {0};
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.no_vmmd = true;
	harness_start(&h, &cfg);
	/* the vectors as albatross would send them (sequence 1, a:b:c) */
	int fd = stat_connect(&h);
	write_vector(fd, "cmd_stats_add");
	expect_success(fd, "a:b:c", 1, "added");
	assert_int_equal(harness_count(&h), 1);
	/* a second add for the same name replaces the first */
	write_vector(fd, "cmd_stats_add_no_taps");
	expect_success(fd, "a:b:c", 1, "added");
	assert_int_equal(harness_count(&h), 1);
	write_vector(fd, "cmd_stats_remove");
	expect_success(fd, "a:b:c", 1, "removed");
	assert_int_equal(harness_count(&h), 0);
	write_vector(fd, "cmd_stats_remove");
	expect_success(fd, "a:b:c", 1, "removed");
	write_vector(fd, "cmd_stats_subscribe");
	expect_success(fd, "a:b:c", 1, "subscribed");
	write_vector(fd, "cmd_stats_initial");
	expect_failure_close(fd, "a:b:c", "unexpected message initial");
	close(fd);

	/* any other command, or a reply, is unexpected */
	fd = stat_connect(&h);
	send_simple(fd, ":x", ALB_CMD_UNIKERNEL_INFO);
	expect_failure_close(fd, ":x", "unexpected command");
	close(fd);
	fd = stat_connect(&h);
	struct alb_msg m = {.header = {5, 7, ":y"}, .kind = ALB_PAYLOAD_SUCCESS};
	m.u.success.kind = ALB_REPLY_EMPTY;
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(&m, ALB_ENCODE_FRAMED, &out, NULL), 0);
	assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
	alb_buf_free(&out);
	expect_failure_close(fd, ":y", "unexpected command");
	close(fd);

	/* bytes that do not decode, and an end-of-stream length, end the
	 * connection without an answer */
	fd = stat_connect(&h);
	assert_int_equal(write(fd, "\0\0\0\3abc", 7), 7);
	assert_true(closed_silently(fd));
	close(fd);
	fd = stat_connect(&h);
	assert_int_equal(write(fd, "\0\0\0\0", 4), 4);
	assert_true(closed_silently(fd));
	close(fd);
	/* commands may be pipelined; replies come in order */
	fd = stat_connect(&h);
	send_add(fd, ":p1", 1, 0, NULL, NULL);
	send_simple(fd, ":p1", ALB_CMD_STATS_REMOVE);
	send_simple(fd, ":", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(fd, ":p1", 0, "added");
	expect_success(fd, ":p1", 0, "removed");
	expect_success(fd, ":", 0, "subscribed");
	close(fd);
	harness_stop(&h);
}

static void check_sample(const struct alb_msg *m, const char *name)
{
	assert_int_equal(m->kind, ALB_PAYLOAD_DATA);
	assert_int_equal(m->u.data.kind, ALB_DATA_STATS);
	assert_int_equal(m->header.sequence, 0);
	assert_string_equal(m->header.name, name);
	const struct alb_stats *s = &m->u.data.u.stats;
	assert_true(s->has_kinfo_mem);
	assert_false(s->has_vmm);
	assert_true(s->kinfo_mem.vsize > 0);
	assert_true(s->kinfo_mem.rss > 0);
	assert_int_equal(s->rusage.maxrss, s->kinfo_mem.rss);
	assert_true(s->kinfo_mem.start.sec > time(NULL) - 3600);
	/* two taps given, the second unknown: one interface, lo */
	assert_int_equal(s->n_ifdata, 1);
	assert_string_equal(s->ifdata[0].bridge.ptr, "service");
	assert_int_equal(s->ifdata[0].mtu, 65536);
}

static void test_daemon_subscribe(void **state)
{
	(void)state;
	struct harness h = {0};
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.no_vmmd = true;
	harness_start(&h, &cfg);
	pid_t child = sleeper();
	int ctl = stat_connect(&h);
	struct alb_stats_tap taps[] = {{str("service"), str("lo")},
				       {str("gone"), str("nosuchif0")}};
	struct alb_command add = {.kind = ALB_CMD_STATS_ADD};
	add.u.stats_add.vmmdev = str("");
	add.u.stats_add.pid = child;
	add.u.stats_add.n_taps = 2;
	add.u.stats_add.taps = taps;
	send_cmd(ctl, "foo:bar", 0, &add);
	expect_success(ctl, "foo:bar", 0, "added");

	/* no subscriber: a tick sends nothing anywhere */
	harness_op(&h, OP_TICK);
	int root = stat_connect(&h), path = stat_connect(&h),
	    self = stat_connect(&h), self2 = stat_connect(&h),
	    other = stat_connect(&h);
	send_simple(root, ":", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(root, ":", 0, "subscribed");
	send_simple(path, "foo:", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(path, "foo:", 0, "subscribed");
	send_simple(self, "foo:bar", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(self, "foo:bar", 0, "subscribed");
	send_simple(self2, "foo:bar", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(self2, "foo:bar", 0, "subscribed");
	send_simple(other, "other:", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(other, "other:", 0, "subscribed");

	harness_op(&h, OP_TICK);
	struct alb_msg *m = recv_msg(root);
	assert_non_null(m);
	check_sample(m, "foo:bar");
	alb_msg_free(m);
	m = recv_msg(path);
	assert_non_null(m);
	check_sample(m, ":bar");
	alb_msg_free(m);
	/* two subscribers at one name both get it */
	m = recv_msg(self);
	assert_non_null(m);
	check_sample(m, ":bar");
	alb_msg_free(m);
	m = recv_msg(self2);
	assert_non_null(m);
	check_sample(m, ":bar");
	alb_msg_free(m);
	assert_true(quiet_for(other, 200));
	assert_true(quiet_for(ctl, 0));

	/* a subscriber that leaves does not disturb the others */
	close(self2);
	harness_op(&h, OP_TICK);
	m = recv_msg(self);
	assert_non_null(m);
	alb_msg_free(m);
	m = recv_msg(root);
	assert_non_null(m);
	alb_msg_free(m);
	m = recv_msg(path);
	assert_non_null(m);
	alb_msg_free(m);

	/* the process is gone: monitoring ends, nothing is sent */
	reap(child);
	harness_op(&h, OP_TICK);
	assert_int_equal(harness_count(&h), 0);
	assert_true(quiet_for(root, 200));
	close(root);
	close(path);
	close(self);
	close(other);
	close(ctl);
	harness_stop(&h);
}

static void test_daemon_limits(void **state)
{
	(void)state;
	struct harness h = {0};
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.no_vmmd = true;
	harness_start(&h, &cfg);

	/* taps per Stats_add */
	int fd = stat_connect(&h);
	send_add(fd, ":t", getpid(), ALB_STATSD_TAPS_MAX, "n", "lo");
	expect_success(fd, ":t", 0, "added");
	send_add(fd, ":t", getpid(), ALB_STATSD_TAPS_MAX + 1, "n", "lo");
	expect_failure_close(fd, ":t", "too many taps");
	close(fd);

	/* subscriptions per connection; the same name again is not new */
	fd = stat_connect(&h);
	char name[32];
	for (int i = 0; i < ALB_STATSD_SUBS_PER_CONN_MAX; i++) {
		snprintf(name, sizeof(name), ":s%d", i);
		send_simple(fd, name, ALB_CMD_STATS_SUBSCRIBE);
		expect_success(fd, name, 0, "subscribed");
	}
	send_simple(fd, ":s0", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(fd, ":s0", 0, "subscribed");
	send_simple(fd, ":one-more", ALB_CMD_STATS_SUBSCRIBE);
	expect_failure_close(fd, ":one-more", "too many subscriptions");
	close(fd);

	/* a command frame of exactly the limit is read, one byte more ends
	 * the connection */
	for (size_t extra = 0; extra <= 1; extra++) {
		size_t pad = ALB_STATSD_FRAME_MAX - 64;
		struct alb_buf out = {0};
		char *vmmdev = NULL;
		for (int round = 0; round < 4; round++) {
			free(vmmdev);
			vmmdev = malloc(pad + 1);
			assert_non_null(vmmdev);
			memset(vmmdev, 'v', pad);
			vmmdev[pad] = '\0';
			struct alb_command cmd = {.kind = ALB_CMD_STATS_ADD};
			cmd.u.stats_add.vmmdev = (struct alb_str){vmmdev, pad};
			cmd.u.stats_add.pid = getpid();
			struct alb_header hd = {5, 0, ":big"};
			alb_buf_free(&out);
			assert_int_equal(alb_statsd_encode_cmd(&hd, &cmd, &out, NULL), 0);
			size_t want = ALB_STATSD_FRAME_MAX + extra;
			if (out.len - 4 == want)
				break;
			pad += want - (out.len - 4);
		}
		assert_int_equal(out.len - 4, ALB_STATSD_FRAME_MAX + extra);
		fd = stat_connect(&h);
		if (extra == 0) {
			assert_int_equal(write(fd, out.data, out.len),
					 (ssize_t)out.len);
			expect_success(fd, ":big", 0, "added");
		} else {
			/* the daemon may close the connection as soon as it
			 * has read the length, before the rest is written:
			 * the write is then short, or fails (without SIGPIPE) */
			ssize_t w = send(fd, out.data, out.len, MSG_NOSIGNAL);
			assert_true(w > 0 || errno == EPIPE || errno == ECONNRESET);
			assert_true(closed_silently(fd));
		}
		close(fd);
		alb_buf_free(&out);
		free(vmmdev);
	}

	/* unikernels monitored at once: a full table still takes a new add
	 * for a name it has (pid INT32_MAX never exists: no file is held) */
	fd = stat_connect(&h);
	size_t todo = ALB_STATSD_UNIKERNELS_MAX - harness_count(&h);
	const size_t batch = 512;
	for (size_t i = 0; i < todo; i += batch) {
		size_t n = todo - i < batch ? todo - i : batch;
		for (size_t j = 0; j < n; j++) {
			snprintf(name, sizeof(name), ":u%zu", i + j);
			send_add(fd, name, INT32_MAX, 0, NULL, NULL);
		}
		for (size_t j = 0; j < n; j++) {
			snprintf(name, sizeof(name), ":u%zu", i + j);
			expect_success(fd, name, 0, "added");
		}
	}
	assert_int_equal(harness_count(&h), ALB_STATSD_UNIKERNELS_MAX);
	send_add(fd, ":u0", INT32_MAX, 0, NULL, NULL);
	expect_success(fd, ":u0", 0, "added");
	send_add(fd, ":one-more", INT32_MAX, 0, NULL, NULL);
	expect_failure_close(fd, ":one-more", "too many unikernels");
	close(fd);
	assert_int_equal(harness_count(&h), ALB_STATSD_UNIKERNELS_MAX);
	harness_stop(&h);
}

static void test_daemon_connections(void **state)
{
	(void)state;
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rlim_t need = 2 * ALB_STATSD_CONN_MAX + 256;
	if (rl.rlim_cur < need) {
		if (rl.rlim_max < need)
			skip();
		rl.rlim_cur = need;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	struct harness h = {0};
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.no_vmmd = true;
	harness_start(&h, &cfg);
	int *fds = calloc(ALB_STATSD_CONN_MAX + 1, sizeof(int));
	assert_non_null(fds);
	for (int i = 0; i < ALB_STATSD_CONN_MAX; i++) {
		fds[i] = stat_connect(&h);
		/* one answered command each: every one is accepted in turn */
		send_simple(fds[i], ":c", ALB_CMD_STATS_REMOVE);
		expect_success(fds[i], ":c", 0, "removed");
	}
	fds[ALB_STATSD_CONN_MAX] = stat_connect(&h);
	assert_true(closed_silently(fds[ALB_STATSD_CONN_MAX]));
	close(fds[ALB_STATSD_CONN_MAX]);
	/* the others are still served; after one leaves, a new one is too */
	send_simple(fds[0], ":c", ALB_CMD_STATS_REMOVE);
	expect_success(fds[0], ":c", 0, "removed");
	close(fds[0]);
	/* the close must be seen before the next accept */
	harness_count(&h);
	usleep(100000);
	fds[0] = stat_connect(&h);
	send_simple(fds[0], ":c", ALB_CMD_STATS_REMOVE);
	expect_success(fds[0], ":c", 0, "removed");
	for (int i = 0; i < ALB_STATSD_CONN_MAX; i++)
		close(fds[i]);
	free(fds);
	harness_stop(&h);
}

static void test_daemon_slow_subscriber(void **state)
{
	(void)state;
	assert_true(alb_statsd_queue_ok(1, ALB_STATSD_QUEUE_MAX - 1));
	assert_false(alb_statsd_queue_ok(1, ALB_STATSD_QUEUE_MAX));
	assert_true(alb_statsd_queue_ok(ALB_STATSD_QUEUE_MAX - 10, 10));
	assert_false(alb_statsd_queue_ok(ALB_STATSD_QUEUE_MAX - 10, 11));
	assert_false(alb_statsd_queue_ok(ALB_STATSD_QUEUE_MAX + 1, 0));
	assert_false(alb_statsd_queue_ok(SIZE_MAX, 2));
	/* with nothing queued, one message of any size (an Influx batch) */
	assert_true(alb_statsd_queue_ok(0, ALB_STATSD_QUEUE_MAX + 1));
	assert_true(alb_statsd_queue_ok(0, SIZE_MAX));

	/* a subscriber that never reads is dropped once its queue is full,
	 * and the others go on */
	struct harness h = {0};
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.no_vmmd = true;
	harness_start(&h, &cfg);
	int ctl = stat_connect(&h);
	char name[32];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), ":vm%d", i);
		send_add(ctl, name, getpid(), 1, "service", "lo");
		expect_success(ctl, name, 0, "added");
	}
	int slow = stat_connect(&h), fast = stat_connect(&h);
	send_simple(slow, ":", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(slow, ":", 0, "subscribed");
	send_simple(fast, ":vm7", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(fast, ":vm7", 0, "subscribed");
	int ticks = 0, received = 0;
	for (; ticks < 400; ticks++) {
		harness_op(&h, OP_TICK);
		struct alb_msg *m = recv_msg(fast);
		assert_non_null(m);
		alb_msg_free(m);
		struct pollfd p = {slow, POLLRDHUP, 0};
		/* the socket buffer holds some; the queue the rest */
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP)))
			break;
	}
	assert_true(ticks < 400);
	struct alb_msg *m;
	while ((m = recv_msg(slow)) != NULL) {
		received++;
		alb_msg_free(m);
	}
	/* it got less than was sent, then the end */
	assert_true(received < (ticks + 1) * 100);
	assert_true(received > 0);
	close(slow);
	close(fast);
	close(ctl);
	harness_stop(&h);
}

static void test_daemon_config(void **state)
{
	(void)state;
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct harness h = {0};
	harness_dirs(&h);
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.tmpdir = h.tmp;
	cfg.no_vmmd = true;
	struct alb_statsd *d = NULL;
	struct alb_error err;
	cfg.interval_s = ALB_STATS_INTERVAL_MAX + 1;
	assert_int_equal(alb_statsd_new(&loop, &cfg, &d, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "the interval must be 1 to 86400 seconds");
	cfg.interval_s = ALB_STATS_INTERVAL_MAX;
	assert_int_equal(alb_statsd_new(&loop, &cfg, &d, &err), 0);
	assert_int_equal(alb_statsd_start(d, &err), 0);
	assert_int_equal(alb_statsd_start(d, &err), ALB_EINVAL);
	/* a second daemon on the same socket is refused while one answers */
	struct alb_statsd *d2 = NULL;
	assert_int_equal(alb_statsd_new(&loop, &cfg, &d2, &err), 0);
	assert_int_equal(alb_statsd_start(d2, &err), ALB_EBUSY);
	assert_non_null(strstr(err.msg, "another daemon listens on"));
	alb_statsd_free(d2);
	/* the socket is 0660 whatever the umask */
	struct stat sb;
	assert_int_equal(lstat(h.stat_path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0660);
	alb_statsd_free(d);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	/* removed at shutdown; a stale socket file is replaced */
	assert_int_equal(lstat(h.stat_path, &sb), -1);
	int sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(h.stat_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, h.stat_path, strlen(h.stat_path));
	assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(sfd);
	cfg.interval_s = 0;
	assert_int_equal(alb_statsd_new(&loop, &cfg, &d, &err), 0);
	assert_int_equal(alb_statsd_start(d, &err), 0);
	alb_statsd_free(d);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	/* what an exporter needs */
	cfg.influx = "influx.example:8094";
	assert_int_equal(alb_statsd_new(&loop, &cfg, &d, &err), 0);
	assert_int_equal(alb_statsd_start(d, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "invalid address 'influx.example:8094': the "
				     "host must be a numeric IPv4 or IPv6 address");
	alb_statsd_free(d);
	cfg.influx = NULL;
	cfg.prometheus = "127.0.0.1";
	assert_int_equal(alb_statsd_new(&loop, &cfg, &d, &err), 0);
	assert_int_equal(alb_statsd_start(d, &err), ALB_EINVAL);
	alb_statsd_free(d);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	alb_statsd_free(NULL);
	assert_int_equal(alb_statsd_count(NULL), 0);
	unlink(h.stat_path);
	char util[128];
	snprintf(util, sizeof(util), "%s/util", h.tmp);
	rmdir(util);
	rmdir(h.tmp);
}

/* ---- the channel from albd -------------------------------------------- */

static int unix_listen(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Accepts a connection within ms, or returns -1. */
static int accept_within(int lfd, int ms)
{
	struct pollfd p = {lfd, POLLIN, 0};
	if (poll(&p, 1, ms) != 1)
		return -1;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Plays albd's part of the handshake: reads Stats_initial (the exact
 * bytes albatross-stats sends) and answers it with reply. */
static void albd_handshake(int fd, const struct alb_msg *reply)
{
	struct alb_buf in = {0}, want = {0};
	assert_int_equal(alb_frame_read_fd(fd, 1 << 16, &in, NULL), 0);
	struct alb_header hd = {5, 0, ":"};
	struct alb_command cmd = {.kind = ALB_CMD_STATS_INITIAL};
	assert_int_equal(alb_statsd_encode_cmd(&hd, &cmd, &want, NULL), 0);
	assert_int_equal(in.len + 4, want.len);
	assert_memory_equal(in.data, want.data + 4, in.len);
	alb_buf_free(&in);
	alb_buf_free(&want);
	struct alb_buf out = {0};
	assert_int_equal(alb_msg_encode(reply, ALB_ENCODE_FRAMED, &out, NULL), 0);
	assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
	alb_buf_free(&out);
}

static struct alb_msg empty_reply(int64_t seq)
{
	struct alb_msg m = {.header = {5, seq, ":"}, .kind = ALB_PAYLOAD_SUCCESS};
	m.u.success.kind = ALB_REPLY_EMPTY;
	return m;
}

static void wait_count(struct harness *h, size_t want)
{
	for (int i = 0; i < 200 && harness_count(h) != want; i++)
		usleep(10000);
	assert_int_equal(harness_count(h), want);
}

static void test_daemon_vmmd(void **state)
{
	(void)state;
	struct harness h = {0};
	harness_dirs(&h);
	char util[128];
	snprintf(util, sizeof(util), "%s/util", h.tmp);
	assert_int_equal(mkdir(util, 0755), 0);
	int lfd = unix_listen(h.vmmd_path);
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	harness_start(&h, &cfg);
	pid_t child = sleeper();

	int a = accept_within(lfd, 5000);
	assert_true(a >= 0);
	struct alb_msg ok = empty_reply(0);
	albd_handshake(a, &ok);
	/* albd sends Stats_add for each running unikernel, with its own
	 * sequence numbers, and waits for each answer */
	struct alb_stats_tap taps[] = {{str("service"), str("lo")}};
	struct alb_command add = {.kind = ALB_CMD_STATS_ADD};
	add.u.stats_add.vmmdev = str("");
	add.u.stats_add.pid = child;
	add.u.stats_add.n_taps = 1;
	add.u.stats_add.taps = taps;
	send_cmd(a, "foo:bar", 1, &add);
	expect_success(a, "foo:bar", 1, "added");
	send_cmd(a, ":other", 2, &add);
	expect_success(a, ":other", 2, "added");
	struct alb_command rm = {.kind = ALB_CMD_STATS_REMOVE};
	send_cmd(a, ":other", 3, &rm);
	expect_success(a, ":other", 3, "removed");
	assert_int_equal(harness_count(&h), 1);
	int sub = stat_connect(&h);
	send_simple(sub, "foo:", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(sub, "foo:", 0, "subscribed");
	harness_op(&h, OP_TICK);
	struct alb_msg *m = recv_msg(sub);
	assert_non_null(m);
	check_sample(m, ":bar");
	alb_msg_free(m);

	/* albd goes away: everything it added is forgotten, and the daemon
	 * is back after ALB_STATS_RECONNECT_S */
	int64_t t0 = now_ms();
	close(a);
	wait_count(&h, 0);
	a = accept_within(lfd, 5000);
	int64_t waited = now_ms() - t0;
	assert_true(a >= 0);
	assert_true(waited >= ALB_STATS_RECONNECT_S * 1000 - 100);
	assert_true(waited < ALB_STATS_RECONNECT_S * 1000 + 2000);
	/* a refused or mismatched handshake is dropped and retried */
	struct alb_msg refuse = {.header = {5, 0, ":"}, .kind = ALB_PAYLOAD_FAILURE};
	refuse.u.failure = str("nope");
	albd_handshake(a, &refuse);
	assert_true(closed_silently(a));
	close(a);
	a = accept_within(lfd, 5000);
	assert_true(a >= 0);
	struct alb_msg wrong_seq = empty_reply(5);
	albd_handshake(a, &wrong_seq);
	assert_true(closed_silently(a));
	close(a);
	a = accept_within(lfd, 5000);
	assert_true(a >= 0);
	albd_handshake(a, &ok);
	send_cmd(a, "foo:bar", 1, &add);
	expect_success(a, "foo:bar", 1, "added");
	assert_int_equal(harness_count(&h), 1);
	/* the subscription survived albd's absence */
	harness_op(&h, OP_TICK);
	m = recv_msg(sub);
	assert_non_null(m);
	check_sample(m, ":bar");
	alb_msg_free(m);

	/* albd not there at all: retried until it is */
	close(a);
	close(lfd);
	unlink(h.vmmd_path);
	wait_count(&h, 0);
	usleep(1500000);
	lfd = unix_listen(h.vmmd_path);
	a = accept_within(lfd, 3000);
	assert_true(a >= 0);
	close(a);
	close(lfd);
	close(sub);
	reap(child);
	harness_stop(&h);
}

/* ---- the exporters ---------------------------------------------------- */

static char *http_get(int port, const char *req)
{
	return lo_request(port, req, strlen(req));
}

/* Reads Influx lines until `want` lines of the unikernels arrived (or 5 s
 * passed); the daemon's own, tagged vm=albatross_stats, come on the same
 * connection. */
static char *influx_read(int fd, size_t want)
{
	size_t cap = 1 << 16, len = 0, lines = 0;
	char *b = malloc(cap);
	assert_non_null(b);
	int64_t end = now_ms() + 5000;
	while (lines < want && now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) != 1)
			continue;
		ssize_t n = read(fd, b + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		b[len] = '\0';
		lines = 0;
		for (const char *l = b, *nl; (nl = strchr(l, '\n')) != NULL; l = nl + 1) {
			const char *own = strstr(l, ",vm=albatross_stats");
			lines += own == NULL || own > nl;
		}
	}
	b[len] = '\0';
	return b;
}

/* The value of field key in an Influx line starting with prefix. */
static bool influx_field(const char *text, const char *prefix, const char *key,
			 char *out, size_t size)
{
	for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
		const char *nl = strchr(l, '\n');
		if (nl == NULL)
			return false;
		if (strncmp(l, prefix, strlen(prefix)) != 0)
			continue;
		char pat[64];
		snprintf(pat, sizeof(pat), "%s=", key);
		for (const char *f = strchr(l, ' ') + 1; f < nl;) {
			const char *end = memchr(f, ',', (size_t)(nl - f));
			if (end == NULL)
				end = nl;
			if (strncmp(f, pat, strlen(pat)) == 0) {
				snprintf(out, size, "%.*s",
					 (int)(end - f - (int)strlen(pat)),
					 f + strlen(pat));
				return true;
			}
			f = end + 1;
		}
	}
	return false;
}

static void test_daemon_exporters(void **state)
{
	(void)state;
	int iport = 0;
	int ilfd = lo_listen(&iport, 4);
	int pport = lo_free_port();
	char influx[32], prom[32];
	snprintf(influx, sizeof(influx), "127.0.0.1:%d", iport);
	snprintf(prom, sizeof(prom), "127.0.0.1:%d", pport);
	struct harness h = {0};
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.no_vmmd = true;
	cfg.influx = influx;
	cfg.prometheus = prom;
	harness_start(&h, &cfg);
	pid_t child = sleeper();
	int ctl = stat_connect(&h);
	send_add(ctl, "foo:bar", child, 1, "service", "lo");
	expect_success(ctl, "foo:bar", 0, "added");
	send_add(ctl, ":solo", child, 0, NULL, NULL);
	expect_success(ctl, ":solo", 0, "added");

	/* before any sample: the metric families, no sample */
	char *r = http_get(pport, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 200 OK\r\n"));
	assert_null(strstr(r, "{vm="));
	free(r);

	/* exporters sample everything, without subscribers; the Influx
	 * connection is made at the first batch */
	harness_op(&h, OP_TICK);
	int ifd = accept_within(ilfd, 5000);
	assert_true(ifd >= 0);
	char *lines = influx_read(ifd, 5);
	char v[64];
	/* tag vm = the label, as albatross-influx does by default */
	assert_true(influx_field(lines, "resource_usage,vm=bar ", "maxflt", v, sizeof(v)));
	assert_true(influx_field(lines, "resource_usage,vm=solo ", "nvcsw", v, sizeof(v)));
	assert_true(influx_field(lines, "kinfo_mem,vm=bar ", "rss", v, sizeof(v)));
	assert_true(atoll(v) > 0);
	assert_true(v[strlen(v) - 1] == 'i');
	assert_true(influx_field(lines, "kinfo_mem,vm=bar ", "uptime", v, sizeof(v)));
	assert_non_null(strchr(v, '.'));
	assert_true(influx_field(lines, "interface,vm=bar,bridge=service ", "mtu",
				 v, sizeof(v)));
	assert_string_equal(v, "65536i");
	free(lines);

	r = http_get(pport, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; "
				  "version=0.0.4; charset=utf-8\r\n"));
	char *body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	char cl[64];
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
	assert_non_null(strstr(r, cl));
	assert_non_null(strstr(body, "\nalbatross_interface_mtu{vm=\"foo:bar\",bridge=\"service\"} 65536\n"));
	char *rss = strstr(body, "\nalbatross_rss_pages{vm=\":solo\"} ");
	assert_non_null(rss);
	assert_true(atoll(rss + strlen("\nalbatross_rss_pages{vm=\":solo\"} ")) > 0);
	free(r);
	/* HEAD: the headers only */
	r = http_get(pport, "HEAD /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(r, "Content-Length: "));
	assert_true(strlen(strstr(r, "\r\n\r\n")) == 4);
	free(r);
	r = http_get(pport, "GET /other HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 404 Not Found\r\n"));
	free(r);
	r = http_get(pport, "DELETE /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(r, "\r\nAllow: GET, HEAD\r\n"));
	free(r);
	r = http_get(pport, "GET /metrics\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 400 Bad Request\r\n"));
	free(r);
	/* a request that does not end within the limit; the rest that the
	 * client keeps sending does not turn the answer into a reset */
	char *big = malloc(3 * ALB_STATS_HTTP_REQUEST_MAX);
	assert_non_null(big);
	memset(big, 'a', 3 * ALB_STATS_HTTP_REQUEST_MAX);
	memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
	r = lo_request(pport, big, 3 * ALB_STATS_HTTP_REQUEST_MAX);
	assert_non_null(strstr(r, "HTTP/1.0 431 Request Header Fields Too Large\r\n"));
	free(r);
	free(big);

	/* the Influx server goes away: the next batches reconnect */
	close(ifd);
	ifd = -1;
	for (int i = 0; i < 5 && ifd < 0; i++) {
		harness_op(&h, OP_TICK);
		ifd = accept_within(ilfd, 500);
	}
	assert_true(ifd >= 0);
	lines = influx_read(ifd, 5);
	assert_true(influx_field(lines, "resource_usage,vm=bar ", "utime", v, sizeof(v)));
	free(lines);
	/* and when it is not there at all, nothing breaks */
	close(ifd);
	close(ilfd);
	for (int i = 0; i < 3; i++)
		harness_op(&h, OP_TICK);
	ilfd = lo_listen(&iport, 4);
	ifd = -1;
	for (int i = 0; i < 5 && ifd < 0; i++) {
		harness_op(&h, OP_TICK);
		ifd = accept_within(ilfd, 500);
	}
	assert_true(ifd >= 0);
	close(ifd);
	close(ilfd);
	close(ctl);
	reap(child);
	harness_stop(&h);
}

/* The stats socket handed over (systemd socket activation). */
static void test_daemon_listen_fd(void **state)
{
	(void)state;
	struct harness h = {0};
	harness_dirs(&h);
	char path[128];
	snprintf(path, sizeof(path), "%s/given.sock", h.tmp);
	int lfd = unix_listen(path);
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.no_vmmd = true;
	cfg.listen_fd = lfd;
	harness_start(&h, &cfg);
	int fd = unix_connect(path, 5000);
	send_simple(fd, ":", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(fd, ":", 0, "subscribed");
	close(fd);
	/* nothing was bound at the usual place */
	assert_int_equal(access(h.stat_path, F_OK), -1);
	unlink(path);
	harness_stop(&h);
}

/* A connection that completes its first command in time is served; one
 * that sends half a frame is closed at the command deadline. */
static void test_daemon_command_deadline(void **state)
{
	(void)state;
	struct harness h = {0};
	struct alb_statsd_config cfg;
	alb_statsd_config_init(&cfg);
	cfg.no_vmmd = true;
	cfg.command_timeout_ms = 300;
	harness_start(&h, &cfg);
	int slow = unix_connect(h.stat_path, 5000);
	assert_int_equal(write(slow, "\0\0", 2), 2);
	usleep(100000);
	int quick = unix_connect(h.stat_path, 5000);
	send_simple(quick, ":", ALB_CMD_STATS_SUBSCRIBE);
	expect_success(quick, ":", 0, "subscribed");
	struct timeval tv = {5, 0};
	setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char b;
	assert_int_equal(read(slow, &b, 1), 0);
	/* the subscriber, past its first command, stays */
	usleep(400000);
	assert_int_equal(recv(quick, &b, 1, MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close(slow);
	close(quick);
	harness_stop(&h);
}

int main(void)
{
	/* the core never raises SIGPIPE: a peer that leaves fails a write */
	signal(SIGPIPE, SIG_DFL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_command_deadline),
	    cmocka_unit_test(test_parse_stat),
	    cmocka_unit_test(test_proc_file_limit),
	    cmocka_unit_test(test_parse_statm),
	    cmocka_unit_test(test_parse_status),
	    cmocka_unit_test(test_proc_to_stats),
	    cmocka_unit_test(test_proc_live),
	    cmocka_unit_test(test_proc_gone),
	    cmocka_unit_test(test_influx_full),
	    cmocka_unit_test(test_influx_min),
	    cmocka_unit_test(test_influx_escape),
	    cmocka_unit_test(test_prometheus),
	    cmocka_unit_test(test_subscribers),
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_daemon_commands),
	    cmocka_unit_test(test_daemon_subscribe),
	    cmocka_unit_test(test_daemon_limits),
	    cmocka_unit_test(test_daemon_connections),
	    cmocka_unit_test(test_daemon_slow_subscriber),
	    cmocka_unit_test(test_daemon_config),
	    cmocka_unit_test(test_daemon_listen_fd),
	    cmocka_unit_test(test_daemon_vmmd),
	    cmocka_unit_test(test_daemon_exporters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
