/* alb-info stats (spec §10.2): subscribes to alb-statsd and shows the
 * samples as a table, or as JSON.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alb_info_stats.h"

enum col {
	COL_NAME,
	COL_CPU,
	COL_RSS,
	COL_VSIZE,
	COL_IF,
	COL_RX_PKTS,
	COL_RX_BYTES,
	COL_TX_PKTS,
	COL_TX_BYTES,
	N_COLS
};

static const char *const headers[N_COLS] = {
	"NAME",    "CPU",      "RSS",     "VSIZE",   "INTERFACE",
	"RX-PKTS", "RX-BYTES", "TX-PKTS", "TX-BYTES"};

/* Widths of the --follow rows, which are printed before the widest cell
 * is known; a longer cell just shifts its line. */
static const int follow_width[N_COLS] = {20, 10, 10, 10, 10, 10, 12, 10, 12};

/* Longest cell text (a size, a count, a time). */
#define CELL 32

/* ---- rows --------------------------------------------------------------- */

typedef char row_t[N_COLS][CELL];

static void cell_i64(char *c, int64_t v)
{
	snprintf(c, CELL, "%lld", (long long)v);
}

/* The first row of a sample (the unikernel and its first interface) into
 * rows[0], one more row per further interface; returns the row count. */
static size_t sample_rows(const struct alb_msg *m, row_t *rows, size_t max)
{
	const struct alb_stats *s = &m->u.data.u.stats;
	static long page = 0;
	if (page == 0)
		page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
	size_t n = s->n_ifdata > 0 ? s->n_ifdata : 1;
	if (n > max)
		n = max;
	for (size_t r = 0; r < n; r++) {
		for (int c = 0; c < N_COLS; c++)
			strcpy(rows[r][c], r == 0 || c >= COL_IF ? "-" : "");
		if (r < s->n_ifdata) {
			const struct alb_ifdata *d = &s->ifdata[r];
			snprintf(rows[r][COL_IF], CELL, "%.*s",
				 (int)(d->bridge.len < CELL - 1 ? d->bridge.len : CELL - 1),
				 d->bridge.ptr != NULL ? d->bridge.ptr : "");
			/* on the tap, input is what the unikernel sent */
			cell_i64(rows[r][COL_RX_PKTS], d->output_packets);
			cell_i64(rows[r][COL_RX_BYTES], d->output_bytes);
			cell_i64(rows[r][COL_TX_PKTS], d->input_packets);
			cell_i64(rows[r][COL_TX_BYTES], d->input_bytes);
		}
	}
	snprintf(rows[0][COL_NAME], CELL, "%s", m->header.name);
	const struct alb_rusage *ru = &s->rusage;
	double cpu = (double)ru->utime.sec + (double)ru->stime.sec +
		     ((double)ru->utime.usec + (double)ru->stime.usec) / 1e6;
	snprintf(rows[0][COL_CPU], CELL, "%.2fs", cpu);
	if (s->has_kinfo_mem) {
		cli_format_size((uint64_t)s->kinfo_mem.rss * (uint64_t)page,
				rows[0][COL_RSS], CELL);
		cli_format_size((uint64_t)s->kinfo_mem.vsize, rows[0][COL_VSIZE],
				CELL);
	}
	return n;
}

/* The whole name goes to the table (a cell copy may be cut). */
static void add_to_table(struct cli_table *t, const struct alb_msg *m)
{
	row_t rows[ALB_STATSD_TAPS_MAX];
	size_t n = sample_rows(m, rows, ALB_STATSD_TAPS_MAX);
	for (size_t r = 0; r < n; r++) {
		const char *cells[N_COLS];
		for (int c = 0; c < N_COLS; c++)
			cells[c] = rows[r][c];
		if (r == 0)
			cells[COL_NAME] = m->header.name;
		cli_table_add(t, cells);
	}
}

static void print_follow_header(void)
{
	for (int c = 0; c + 1 < N_COLS; c++)
		printf("%-*s  ", follow_width[c], headers[c]);
	printf("%s\n", headers[N_COLS - 1]);
}

static void print_follow(const struct alb_msg *m)
{
	row_t rows[ALB_STATSD_TAPS_MAX];
	size_t n = sample_rows(m, rows, ALB_STATSD_TAPS_MAX);
	for (size_t r = 0; r < n; r++) {
		for (int c = 0; c < N_COLS; c++) {
			const char *s = r == 0 && c == COL_NAME ? m->header.name
								 : rows[r][c];
			/* names and interfaces come from the daemon */
			size_t w = alb_print_escape(stdout, s, strlen(s), 0);
			if (c + 1 < N_COLS) {
				int pad = follow_width[c] - (int)w;
				printf("%*s  ", pad > 0 ? pad : 0, "");
			}
		}
		putchar('\n');
	}
}

/* ---- the subscription --------------------------------------------------- */

static bool timed_out(int rc, const struct alb_error *err)
{
	return rc == ALB_ESYS &&
	       (err->sys_errno == ETIMEDOUT || err->sys_errno == EAGAIN);
}

struct run {
	struct cli_args *a;
	bool follow;
	struct alb_msg **samples; /* the round, without --follow */
	size_t n, cap;
};

static bool seen(const struct run *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->samples[i]->header.name, name) == 0)
			return true;
	return false;
}

/* Reads samples until the round is complete (a name comes again, or the
 * daemon is quiet), or for ever with --follow. */
static int read_samples(struct run *r, struct alb_client *c)
{
	struct cli_args *a = r->a;
	int wait_ms = a->timeout_ms;
	if (!r->follow && wait_ms == 0)
		wait_ms = ALB_INFO_STATS_WAIT_S * 1000;
	bool header = false;
	for (;;) {
		struct alb_error err = {0};
		alb_client_set_timeout(c, r->n > 0 ? ALB_INFO_STATS_QUIET_MS : wait_ms,
				       NULL);
		struct alb_msg *m;
		int rc = alb_client_recv(c, &m, &err);
		if (rc == ALB_EEOF) {
			if (r->follow || r->n == 0)
				cli_error(a, "the stats daemon closed the connection");
			return r->follow || r->n == 0 ? CLI_EXIT_COMM : CLI_EXIT_OK;
		}
		if (timed_out(rc, &err)) {
			if (r->n == 0 && a->verbosity >= 0)
				fprintf(stderr,
					"alb-info: no statistics within %d s (is the "
					"unikernel running, and alb-statsd connected "
					"to albd?)\n",
					wait_ms / 1000);
			return CLI_EXIT_OK;
		}
		if (rc < 0)
			return cli_comm_failure(a, c, rc, &err);
		if (m->kind != ALB_PAYLOAD_DATA || m->u.data.kind != ALB_DATA_STATS) {
			alb_msg_free(m);
			cli_error(a, "unexpected message from the stats daemon");
			return CLI_EXIT_COMM;
		}
		if (r->follow) {
			int st = CLI_EXIT_OK;
			if (a->json) {
				st = cli_print_msg(a, m, ALB_PRINT_JSON);
			} else {
				if (!header)
					print_follow_header();
				header = true;
				print_follow(m);
			}
			alb_msg_free(m);
			/* stop when stdout is gone (a pipe to head) */
			if (st != CLI_EXIT_OK || fflush(stdout) != 0 || ferror(stdout))
				return st != CLI_EXIT_OK ? st : CLI_EXIT_INTERNAL;
			continue;
		}
		if (seen(r, m->header.name)) {
			alb_msg_free(m);
			return CLI_EXIT_OK;
		}
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 16;
			struct alb_msg **v = realloc(r->samples, cap * sizeof(*v));
			if (v == NULL) {
				alb_msg_free(m);
				cli_error(a, "out of memory");
				return CLI_EXIT_INTERNAL;
			}
			r->samples = v;
			r->cap = cap;
		}
		r->samples[r->n++] = m;
	}
}

static int print_round(struct run *r)
{
	if (r->n == 0)
		return CLI_EXIT_OK;
	if (r->a->json) {
		for (size_t i = 0; i < r->n; i++) {
			int st = cli_print_msg(r->a, r->samples[i],
					       ALB_PRINT_JSON);
			if (st != CLI_EXIT_OK)
				return st;
		}
		return CLI_EXIT_OK;
	}
	struct cli_table *t = cli_table_new(N_COLS, headers);
	if (t == NULL) {
		cli_error(r->a, "out of memory");
		return CLI_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < r->n; i++)
		add_to_table(t, r->samples[i]);
	cli_table_print(t, stdout);
	cli_table_free(t);
	return CLI_EXIT_OK;
}

const struct cli_opt alb_info_stats_opts[] = {
	{"name", 'n', OPT_NAME, "NAME",
	 "a unikernel, or a path with everything below it (default: everything)"},
	{"follow", 0, OPT_FOLLOW, NULL, "keep printing samples as they arrive"},
	{NULL, 0, 0, NULL, NULL}};

int alb_info_stats(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("option '--name'", a->name_opt ? a->name_opt : ":", name,
		     &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_command cmd = {.kind = ALB_CMD_STATS_SUBSCRIBE};
	struct alb_client *c;
	int status = cli_connect(a, name, &cmd, &c);
	if (status != CLI_EXIT_OK || c == NULL)
		return status;
	struct alb_msg *m = NULL;
	/* Remotely the command is in the certificate. */
	int rc = a->remote ? 0 : alb_client_send(c, name, &cmd, NULL, NULL, &err);
	if (rc == 0)
		rc = alb_client_recv(c, &m, &err);
	if (rc < 0) {
		status = cli_comm_failure(a, c, rc, &err);
		alb_client_close(c);
		return status;
	}
	if (m->kind == ALB_PAYLOAD_FAILURE) {
		status = cli_report_failure(a, m->header.name, m->u.failure.ptr,
					    m->u.failure.len);
	} else if (m->kind != ALB_PAYLOAD_SUCCESS) {
		cli_error(a, "unexpected reply from the stats daemon");
		status = CLI_EXIT_COMM;
	} else if (a->verbosity > 0) {
		cli_note_reply(m);
	}
	alb_msg_free(m);
	if (status != CLI_EXIT_OK) {
		alb_client_close(c);
		return status;
	}
	struct run r = {.a = a, .follow = a->follow};
	status = read_samples(&r, c);
	alb_client_close(c);
	if (status == CLI_EXIT_OK)
		status = print_round(&r);
	for (size_t i = 0; i < r.n; i++)
		alb_msg_free(r.samples[i]);
	free(r.samples);
	return status;
}
