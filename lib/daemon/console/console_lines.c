/* libalbatross — splitting console output into lines (spec §7.4).
 * SPDX-License-Identifier: ISC
 *
 * Albatross reads at most ALB_CONSOLE_READ_MAX bytes at a time and keeps
 * a mode (Read or Drop) and the unfinished line ("slack"). The rules are
 * applied here to each piece of ALB_CONSOLE_READ_MAX bytes, so that what
 * comes out does not depend on how the caller reads. The slack is always
 * shorter than ALB_CONSOLE_READ_MAX: it is what follows the last newline
 * of one piece, or a piece without newline that is still short. */
#include <stdlib.h>
#include <string.h>

#include "albatross/console.h"
#include "base/internal.h"

struct alb_console_lines {
	bool drop;    /* skipping the rest of a cut line, up to its newline */
	size_t slack; /* bytes of the unfinished line, at buf[0] */
	int rc;       /* first refusal of the callback during a feed */
	alb_console_line_fn fn;
	void *ctx;
	char buf[2 * ALB_CONSOLE_READ_MAX];  /* slack, then a piece */
	char cut[ALB_CONSOLE_STORED_MAX];    /* a cut line with its marker */
};

int alb_console_lines_new(struct alb_console_lines **out, struct alb_error *err)
{
	struct alb_console_lines *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	*out = s;
	return 0;
}

void alb_console_lines_free(struct alb_console_lines *s)
{
	free(s);
}

void alb_console_lines_reset(struct alb_console_lines *s)
{
	s->drop = false;
	s->slack = 0;
}

size_t alb_console_lines_pending(const struct alb_console_lines *s)
{
	return s->slack;
}

static void deliver(struct alb_console_lines *s, const char *p, size_t len)
{
	if (s->rc == 0)
		s->rc = s->fn(s->ctx, p, len);
}

/* A line that is too long keeps its first ALB_CONSOLE_LINE_MAX bytes. */
static void emit_cut(struct alb_console_lines *s, const char *p)
{
	memcpy(s->cut, p, ALB_CONSOLE_LINE_MAX);
	memcpy(s->cut + ALB_CONSOLE_LINE_MAX, ALB_CONSOLE_TRUNCATED,
	       ALB_CONSOLE_TRUNCATED_LEN);
	deliver(s, s->cut, ALB_CONSOLE_STORED_MAX);
}

static void emit(struct alb_console_lines *s, const char *p, size_t len)
{
	/* Albatross drops empty lines ("not worth it"). */
	if (len == 0)
		return;
	if (len > ALB_CONSOLE_LINE_MAX)
		emit_cut(s, p);
	else
		deliver(s, p, len);
}

/* Every piece of data[0..len) before a newline is a line; what follows
 * the last newline (all of it when there is none) becomes the slack. data
 * may point into buf. */
static void split(struct alb_console_lines *s, const char *data, size_t len)
{
	const char *p = data;
	const char *end = data + len;
	const char *nl;
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		emit(s, p, (size_t)(nl - p));
		p = nl + 1;
	}
	s->slack = (size_t)(end - p);
	memmove(s->buf, p, s->slack);
}

/* One read of Albatross: n <= ALB_CONSOLE_READ_MAX. */
static void piece(struct alb_console_lines *s, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	if (s->drop) {
		if (nl == NULL)
			return;
		s->drop = false;
		/* The rest of the cut line ends at the newline. */
		size_t skip = (size_t)(nl - p) + 1;
		split(s, p + skip, n - skip);
		return;
	}
	const char *data = p;
	size_t len = n;
	if (s->slack > 0) {
		memcpy(s->buf + s->slack, p, n);
		data = s->buf;
		len = s->slack + n;
	}
	if (nl != NULL) {
		split(s, data, len);
		return;
	}
	if (len >= ALB_CONSOLE_LINE_MAX) {
		emit_cut(s, data);
		s->drop = true;
		s->slack = 0;
		return;
	}
	if (data != s->buf)
		memcpy(s->buf, data, len);
	s->slack = len;
}

int alb_console_lines_feed(struct alb_console_lines *s, const uint8_t *data,
			   size_t len, alb_console_line_fn fn, void *ctx)
{
	s->rc = 0;
	s->fn = fn;
	s->ctx = ctx;
	const char *p = (const char *)data;
	while (len > 0) {
		size_t n = len < ALB_CONSOLE_READ_MAX ? len : ALB_CONSOLE_READ_MAX;
		piece(s, p, n);
		p += n;
		len -= n;
	}
	return s->rc;
}
