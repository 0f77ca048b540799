/* libalbatross — the printer's text form: indented, one field per line.
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <string.h>

#include "print_internal.h"

static void spaces(FILE *out, int n)
{
	for (int i = 0; i < n; i++)
		fputs("  ", out);
}

/* Starts a line: indentation, then the key, or "-" for a list element.
 * The outermost object (depth 1) is not indented. The first field of an
 * object that is a list element takes the "- " in place of two spaces. */
static void label(struct alb_emit *e, const char *key)
{
	int level = e->depth > 0 ? e->depth - 1 : 0;
	if (e->dash) {
		e->dash = false;
		spaces(e->out, level - 1);
		fputs("- ", e->out);
	} else {
		spaces(e->out, level);
	}
	fputs(key != NULL ? key : "-", e->out);
}

/* Starts a line that holds a value. */
static void head(struct alb_emit *e, const char *key)
{
	label(e, key);
	fputs(key != NULL ? ": " : " ", e->out);
}

static void t_begin_obj(struct alb_emit *e, const char *key)
{
	if (e->depth == 0) {
		/* The outermost object is the whole output. */
	} else if (key == NULL) {
		e->dash = true;
	} else {
		label(e, key);
		fputs(":\n", e->out);
	}
	e->depth++;
}

static void t_end_obj(struct alb_emit *e)
{
	if (e->dash) {
		/* An object without fields in a list. */
		e->dash = false;
		spaces(e->out, e->depth - 2);
		fputs("- {}\n", e->out);
	}
	e->depth--;
}

static void t_begin_list(struct alb_emit *e, const char *key, size_t n)
{
	if (n == 0) {
		head(e, key);
		fputs("[]\n", e->out);
		return;
	}
	label(e, key);
	fprintf(e->out, " (%zu):\n", n);
	e->depth++;
}

static void t_end_list(struct alb_emit *e, size_t n)
{
	if (n > 0)
		e->depth--;
}

static void t_absent(struct alb_emit *e, const char *key)
{
	head(e, key);
	fputs("(absent)\n", e->out);
}

static void t_boolean(struct alb_emit *e, const char *key, bool v)
{
	head(e, key);
	fputs(v ? "true\n" : "false\n", e->out);
}

static void t_integer(struct alb_emit *e, const char *key, int64_t v)
{
	head(e, key);
	fprintf(e->out, "%" PRId64 "\n", v);
}

/* Writes "a, b, c" (nothing for an empty list). */
static void put_int_list(FILE *out, size_t n, const int64_t *v)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, i > 0 ? ", %" PRId64 : "%" PRId64, v[i]);
}

static void t_ints(struct alb_emit *e, const char *key, size_t n,
		   const int64_t *v)
{
	head(e, key);
	fputc('[', e->out);
	put_int_list(e->out, n, v);
	fputs("]\n", e->out);
}

static void t_str(struct alb_emit *e, const char *key, const char *p,
		  size_t len)
{
	head(e, key);
	fputc('"', e->out);
	alb_print_escape(e->out, p, len,
			 ALB_PRINT_ESCAPE_QUOTE | ALB_PRINT_ESCAPE_NAMED);
	fputs("\"\n", e->out);
}

static void t_word(struct alb_emit *e, const char *key, const char *s)
{
	head(e, key);
	alb_print_escape(e->out, s, strlen(s), ALB_PRINT_ESCAPE_NAMED);
	fputc('\n', e->out);
}

static void t_bytes(struct alb_emit *e, const char *key,
		    const struct alb_print_bytes *b)
{
	head(e, key);
	fprintf(e->out, "%" PRIu64 " bytes", b->len);
	if (b->len > 0) {
		fputs(", sha256 ", e->out);
		alb_print_hex(e->out, b->sha256, sizeof(b->sha256));
		if (b->len <= ALB_PRINT_HEX_MAX) {
			fputs(", hex ", e->out);
			alb_print_hex(e->out, b->head, (size_t)b->len);
		} else {
			fprintf(e->out, ", first %d bytes ", ALB_PRINT_HEAD_LEN);
			alb_print_hex(e->out, b->head, ALB_PRINT_HEAD_LEN);
			fputs("...", e->out);
		}
	}
	fputc('\n', e->out);
}

static void t_fail(struct alb_emit *e, const char *key,
		   const struct alb_fail *f)
{
	head(e, key);
	if (!f->restart) {
		fputs("quit\n", e->out);
	} else if (f->n_exit_codes == 0) {
		/* The codes that never restart (spec §6.7). */
		fputs("restart on any exit code except 1, 60-64\n", e->out);
	} else {
		fputs("restart on exit codes {", e->out);
		put_int_list(e->out, f->n_exit_codes, f->exit_codes);
		fputs("}\n", e->out);
	}
}

const struct alb_emit_ops alb_print_text_ops = {
	.begin_obj = t_begin_obj,
	.end_obj = t_end_obj,
	.begin_list = t_begin_list,
	.end_list = t_end_list,
	.absent = t_absent,
	.boolean = t_boolean,
	.integer = t_integer,
	.ints = t_ints,
	.str = t_str,
	.word = t_word,
	.bytes = t_bytes,
	.fail = t_fail,
};
