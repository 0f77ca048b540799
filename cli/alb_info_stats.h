/* alb-info stats (spec §10.2 `stats`): the statistics alb-statsd gathers.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_INFO_STATS_H
#define ALB_INFO_STATS_H

#include "cli_common.h"

/* Seconds `alb-info stats` waits for the first sample without --follow
 * (more than two of alb-statsd's default intervals). */
#define ALB_INFO_STATS_WAIT_S 25

/* Milliseconds of silence after which a round of samples is complete:
 * alb-statsd sends all samples of a tick back to back. */
#define ALB_INFO_STATS_QUIET_MS 500

/* Options of `alb-info stats`: -n/--name, --follow. */
extern const struct cli_opt alb_info_stats_opts[];

/* `alb-info stats [-n NAME] [--follow]`: subscribes to the statistics of
 * NAME (default: everything) and prints one round of samples, the first
 * sample of each unikernel, as a table (name, CPU time, resident and
 * virtual memory, and per interface the packets and bytes received and
 * sent, as the unikernel sees them); with --follow it keeps printing rows
 * as samples arrive; with --json each sample as a JSON object. Without
 * --follow, a --timeout of 0 waits ALB_INFO_STATS_WAIT_S seconds for the
 * first sample. A cli_cmd run function. */
int alb_info_stats(struct cli_args *a);

#endif
