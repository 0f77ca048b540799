/* libalbatross — the printer's JSON form (RFC 8259), pretty-printed.
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <string.h>

#include "print_internal.h"

/* Writes s[0..len) as a JSON string: valid UTF-8 as is, except the
 * characters that need (or are safer with) a \u escape; every byte that is
 * not part of a valid UTF-8 sequence becomes U+FFFD. */
static void put_string(FILE *out, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	fputc('"', out);
	while (i < len) {
		uint32_t cp;
		size_t n = alb_print_utf8(p + i, len - i, &cp);
		if (n == 0) {
			fputs("\xef\xbf\xbd", out);
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\') {
			fputc('\\', out);
			fputc((int)cp, out);
		} else if (alb_print_is_control(cp) || cp == 0x2028 ||
			   cp == 0x2029) {
			/* U+2028/U+2029 end lines in JavaScript source. */
			fprintf(out, "\\u%04" PRIx32, cp);
		} else {
			fwrite(p + i, 1, n, out);
		}
		i += n;
	}
	fputc('"', out);
}

/* Starts a value: the comma after the previous one, a new indented line
 * (not for the outermost value), and "key": when the value has a key. */
static void start(struct alb_emit *e, const char *key)
{
	if (e->depth > 0) {
		if (e->need_comma)
			fputc(',', e->out);
		fputc('\n', e->out);
		for (int i = 0; i < e->depth; i++)
			fputs("  ", e->out);
	}
	if (key != NULL) {
		put_string(e->out, key, strlen(key));
		fputs(": ", e->out);
	}
	e->need_comma = true;
}

static void open_(struct alb_emit *e, const char *key, char c)
{
	start(e, key);
	fputc(c, e->out);
	e->depth++;
	e->need_comma = false;
}

static void close_(struct alb_emit *e, char c)
{
	e->depth--;
	/* need_comma tells whether anything was written inside. */
	if (e->need_comma) {
		fputc('\n', e->out);
		for (int i = 0; i < e->depth; i++)
			fputs("  ", e->out);
	}
	fputc(c, e->out);
	e->need_comma = true;
	if (e->depth == 0)
		fputc('\n', e->out);
}

static void j_begin_obj(struct alb_emit *e, const char *key)
{
	open_(e, key, '{');
}

static void j_end_obj(struct alb_emit *e)
{
	close_(e, '}');
}

static void j_begin_list(struct alb_emit *e, const char *key, size_t n)
{
	(void)n;
	open_(e, key, '[');
}

static void j_end_list(struct alb_emit *e, size_t n)
{
	(void)n;
	close_(e, ']');
}

static void j_absent(struct alb_emit *e, const char *key)
{
	start(e, key);
	fputs("null", e->out);
}

static void j_boolean(struct alb_emit *e, const char *key, bool v)
{
	start(e, key);
	fputs(v ? "true" : "false", e->out);
}

static void j_integer(struct alb_emit *e, const char *key, int64_t v)
{
	start(e, key);
	fprintf(e->out, "%" PRId64, v);
}

/* Writes [a, b, c] on one line. */
static void put_int_array(FILE *out, size_t n, const int64_t *v)
{
	fputc('[', out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, i > 0 ? ", %" PRId64 : "%" PRId64, v[i]);
	fputc(']', out);
}

static void j_ints(struct alb_emit *e, const char *key, size_t n,
		   const int64_t *v)
{
	start(e, key);
	put_int_array(e->out, n, v);
}

static void j_str(struct alb_emit *e, const char *key, const char *p,
		  size_t len)
{
	start(e, key);
	put_string(e->out, p, len);
}

static void j_word(struct alb_emit *e, const char *key, const char *s)
{
	start(e, key);
	put_string(e->out, s, strlen(s));
}

static void j_bytes(struct alb_emit *e, const char *key,
		    const struct alb_print_bytes *b)
{
	start(e, key);
	fprintf(e->out, "{\"length\": %" PRIu64 ", \"sha256\": \"", b->len);
	alb_print_hex(e->out, b->sha256, sizeof(b->sha256));
	fputc('"', e->out);
	if (b->len <= ALB_PRINT_HEX_MAX) {
		fputs(", \"hex\": \"", e->out);
		alb_print_hex(e->out, b->head, (size_t)b->len);
		fputc('"', e->out);
	}
	fputc('}', e->out);
}

static void j_fail(struct alb_emit *e, const char *key,
		   const struct alb_fail *f)
{
	/* The same three keys whatever the behaviour, so that consumers
	 * need no case analysis: any_exit_code is the empty set of codes,
	 * which restarts on every code but the never-restart ones. */
	bool any = f->restart && f->n_exit_codes == 0;
	start(e, key);
	fprintf(e->out, "{\"restart\": %s, \"any_exit_code\": %s, "
			"\"exit_codes\": ",
		f->restart ? "true" : "false", any ? "true" : "false");
	put_int_array(e->out, f->restart ? f->n_exit_codes : 0,
		      f->exit_codes);
	fputc('}', e->out);
}

const struct alb_emit_ops alb_print_json_ops = {
	.begin_obj = j_begin_obj,
	.end_obj = j_end_obj,
	.begin_list = j_begin_list,
	.end_list = j_end_list,
	.absent = j_absent,
	.boolean = j_boolean,
	.integer = j_integer,
	.ints = j_ints,
	.str = j_str,
	.word = j_word,
	.bytes = j_bytes,
	.fail = j_fail,
};
