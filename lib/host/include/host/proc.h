/* libalbatross — /proc/PID parsers (private to the library): what
 * albatross-stats samples and the start time that tells one process from a
 * later one with the same pid.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_HOST_PROC_H
#define ALB_HOST_PROC_H

#include <signal.h>

#include "albatross/stats.h"

/* The figures of /proc/PID/stat that albatross-stats uses (spec §8.3),
 * and the start time (clock ticks after boot) that tells a pid's
 * process from a later one with the same pid (vmmd's adoption). */
struct alb_proc_stat {
	int64_t minflt, majflt, utime, stime, starttime, vsize, rss, nswap;
};

/* Parses the contents of /proc/PID/stat (one line, the newline optional):
 * comm is the text between the first '(' and the last ')', the rest is
 * split on single spaces, and at least ALB_STATS_STAT_FIELDS_MIN fields are
 * needed. ALB_EPARSE "unable to parse /proc/<pid>/stat" (pid as given, for
 * the message), ALB_ETOOBIG past ALB_STATS_PROC_FILE_MAX bytes. */
int alb_proc_parse_stat(const char *buf, size_t len, int64_t pid,
			struct alb_proc_stat *out, struct alb_error *err);

/* Parses /proc/PID/statm (at least ALB_STATS_STATM_FIELDS_MIN fields):
 * text = 4th field, data = 6th field, in pages. */
int alb_proc_parse_statm(const char *buf, size_t len, int64_t pid,
			 int64_t *text, int64_t *data, struct alb_error *err);

/* Parses /proc/PID/status for voluntary_ctxt_switches and
 * nonvoluntary_ctxt_switches (both required). */
int alb_proc_parse_status(const char *buf, size_t len, int64_t pid,
			  int64_t *nvcsw, int64_t *nivcsw,
			  struct alb_error *err);

/* Combines parsed figures into the wire structures (spec §8.3): ticks are
 * converted with clk_tck (> 0), start is the ctime of /proc/PID. */
void alb_proc_to_stats(const struct alb_proc_stat *st, int64_t text,
		       int64_t data, int64_t nvcsw, int64_t nivcsw,
		       long clk_tck, struct alb_timeval start,
		       struct alb_rusage *ru, struct alb_kinfo_mem *mem);

/* The waitpid() status of a child's end as waitid() reported it in *si
 * (CLD_EXITED, CLD_KILLED, CLD_DUMPED), for alb_tender_exit_decode(); -1
 * for a stop or a continue, which are no end. The tenders are reaped
 * through their pidfd with waitid(P_PIDFD), which gives a siginfo_t. */
int alb_proc_wait_status(const siginfo_t *si);

#endif
