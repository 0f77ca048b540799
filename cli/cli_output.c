/* alb-deploy and alb-info — output: messages, printed replies, the
 * --socket - hexdump, sizes, progress and aligned tables (see
 * cli_common.h).
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"

static void vreport(const struct cli_args *a, const char *kind,
		    const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vreport(const struct cli_args *a, const char *kind,
		    const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", a->prog->name, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const struct cli_args *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(a, "", fmt, ap);
	va_end(ap);
}

int cli_local_failure(const struct cli_args *a, const struct alb_error *err)
{
	cli_error(a, "%s", err->msg);
	return err->code == ALB_ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_CLI;
}

void cli_warn(const struct cli_args *a, const char *fmt, ...)
{
	if (a->verbosity < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vreport(a, "warning: ", fmt, ap);
	va_end(ap);
}

int cli_print_msg(struct cli_args *a, const struct alb_msg *m, unsigned flags)
{
	struct alb_error err = {0};
	if (alb_msg_print(stdout, m, flags, &err) < 0) {
		cli_error(a, "%s", err.msg);
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

void cli_hexdump(FILE *out, const uint8_t *p, size_t len)
{
	fputs("out:\n", out);
	for (size_t off = 0; off < len; off += 16) {
		fprintf(out, "%08zx ", off);
		for (size_t i = 0; i < 16; i++) {
			if (i == 8)
				fputc(' ', out);
			if (off + i < len)
				fprintf(out, " %02x", p[off + i]);
			else
				fputs("   ", out);
		}
		fputs("  |", out);
		for (size_t i = 0; i < 16 && off + i < len; i++) {
			uint8_t b = p[off + i];
			fputc(b >= 0x20 && b < 0x7f ? b : '.', out);
		}
		fputs("|\n", out);
	}
}

void cli_format_size(uint64_t n, char *buf, size_t size)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	if (n < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", n);
		return;
	}
	double v = (double)n / 1024.0;
	size_t u = 0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(buf, size, "%.1f %s", v, units[u]);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One "\r<what>: <done>[ of <total> (<pct>%)], <rate>" line. */
static void progress(struct cli_args *a, const char *what, uint64_t done,
		     uint64_t total)
{
	/* Small transfers are over in an instant: no line for them. */
	if (a->verbosity < 0 || (total != 0 && total < CLI_PROGRESS_MIN) ||
	    (total == 0 && done < CLI_PROGRESS_MIN && !a->progress_shown) ||
	    !isatty(STDERR_FILENO))
		return;
	int64_t now = now_ms();
	if (a->progress_start_ms == 0)
		a->progress_start_ms = now;
	bool last = total != 0 && done >= total;
	if (!last && a->progress_shown &&
	    now - a->progress_last_ms < 1000 / CLI_PROGRESS_HZ)
		return;
	a->progress_last_ms = now;
	a->progress_shown = true;
	char d[32], t[32], r[32];
	cli_format_size(done, d, sizeof(d));
	int64_t ms = now - a->progress_start_ms;
	cli_format_size(ms > 0 ? (uint64_t)((double)done * 1000.0 / (double)ms) : 0,
			r, sizeof(r));
	if (total == 0) {
		fprintf(stderr, "\r%s: %s, %s/s  ", what, d, r);
		return;
	}
	cli_format_size(total, t, sizeof(t));
	fprintf(stderr, "\r%s: %s of %s (%d%%), %s/s  ", what, d, t,
		last ? 100 : (int)(done * 100 / total), r);
	if (last)
		cli_progress_end(a);
}

void cli_progress(void *ctx, uint64_t done, uint64_t total)
{
	progress(ctx, "uploading", done, total);
}

void cli_progress_download(void *ctx, uint64_t done, uint64_t total)
{
	progress(ctx, "downloading", done, total);
}

void cli_progress_end(struct cli_args *a)
{
	if (a->progress_shown)
		fputc('\n', stderr);
	a->progress_shown = false;
	a->progress_start_ms = a->progress_last_ms = 0;
}

struct cli_table {
	size_t n_cols;
	size_t n_rows; /* the header included */
	size_t cap_rows;
	char **cells;  /* n_rows * n_cols */
};

struct cli_table *cli_table_new(size_t n_cols, const char *const *headers)
{
	struct cli_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->n_cols = n_cols;
	if (cli_table_add(t, headers) < 0) {
		cli_table_free(t);
		return NULL;
	}
	return t;
}

int cli_table_add(struct cli_table *t, const char *const *cells)
{
	if (t->n_rows == t->cap_rows) {
		size_t cap = t->cap_rows == 0 ? 8 : 2 * t->cap_rows;
		char **v = realloc(t->cells, cap * t->n_cols * sizeof(*v));
		if (v == NULL)
			return ALB_ENOMEM;
		t->cells = v;
		t->cap_rows = cap;
	}
	char **row = t->cells + t->n_rows * t->n_cols;
	for (size_t i = 0; i < t->n_cols; i++) {
		row[i] = strdup(cells[i] != NULL ? cells[i] : "-");
		if (row[i] == NULL) {
			while (i-- > 0)
				free(row[i]);
			return ALB_ENOMEM;
		}
	}
	t->n_rows++;
	return 0;
}

void cli_table_print(const struct cli_table *t, FILE *out)
{
	size_t *width = calloc(t->n_cols, sizeof(*width));
	if (width == NULL)
		return;
	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *s = t->cells[r * t->n_cols + c];
			size_t w = alb_print_escape(NULL, s, strlen(s), 0);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; r < t->n_rows; r++) {
		for (size_t c = 0; c < t->n_cols; c++) {
			const char *s = t->cells[r * t->n_cols + c];
			size_t w = alb_print_escape(out, s, strlen(s), 0);
			if (c + 1 < t->n_cols)
				fprintf(out, "%*s", (int)(width[c] - w + 2), "");
		}
		fputc('\n', out);
	}
	free(width);
}

void cli_table_free(struct cli_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
