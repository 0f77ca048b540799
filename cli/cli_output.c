/* alb-deploy and alb-info — output: messages, printed replies, the
 * --socket - hexdump, sizes, progress and aligned tables (see
 * cli_common.h).
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

void cli_progress(void *ctx, uint64_t done, uint64_t total)
{
	const struct cli_args *a = ctx;
	static int last = -1;
	/* Small messages go out in an instant: no line for them. */
	if (a->verbosity < 0 || (total != 0 && total < CLI_PROGRESS_MIN) ||
	    !isatty(STDERR_FILENO))
		return;
	char d[32], t[32];
	cli_format_size(done, d, sizeof(d));
	if (total == 0) {
		fprintf(stderr, "\ruploading: %s", d);
		return;
	}
	int pct = done >= total ? 100 : (int)(done * 100 / total);
	/* One line per percent is plenty for a terminal. */
	if (pct == last)
		return;
	last = pct;
	cli_format_size(total, t, sizeof(t));
	fprintf(stderr, "\ruploading: %s of %s (%d%%)%s", d, t, pct,
		pct == 100 ? "\n" : "");
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
