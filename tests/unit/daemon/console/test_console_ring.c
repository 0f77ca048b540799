/* Unit tests: the console ring and line splitter (spec §7.2, §7.4, §7.6),
 * every limit at and one past it, the history queries' bounds; and the
 * daemon core in-process (its loop on a thread of its own): configuration,
 * listening socket, connection limit, memory cap of stopped unikernels.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "albatross/client.h"
#include "albatross/console.h"
#include "albatross/frame.h"

/* ---- helpers -------------------------------------------------------- */

static struct alb_console_ring *ring_new(void)
{
	struct alb_console_ring *r = NULL;
	assert_int_equal(alb_console_ring_new(&r, NULL), 0);
	assert_non_null(r);
	return r;
}

static struct alb_time at(int64_t sec, uint32_t nsec)
{
	struct alb_time t = {sec, nsec};
	return t;
}

/* Pushes line number i as "line <i>" at second i. */
static void push_numbered(struct alb_console_ring *r, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "line %zu", i);
		struct alb_time t = at((int64_t)i, 0);
		assert_int_equal(alb_console_ring_push(r, &t, line, (size_t)n, NULL), 0);
	}
}

static void assert_line(const struct alb_console_ring *r, size_t i,
			const char *text, int64_t sec)
{
	struct alb_time t;
	struct alb_str s;
	assert_int_equal(alb_console_ring_get(r, i, &t, &s), 0);
	assert_int_equal(s.len, strlen(text));
	assert_memory_equal(s.ptr, text, s.len);
	assert_int_equal(s.ptr[s.len], '\0');
	assert_int_equal(t.sec, sec);
}

#define MAX_LINES 64

/* Collects what a splitter emits. */
struct got {
	size_t n;
	size_t len[MAX_LINES];
	char line[MAX_LINES][ALB_CONSOLE_STORED_MAX + 1];
	size_t refuse_at; /* refuse the line with this number + 1 (0: never) */
};

static int collect(void *ctx, const char *line, size_t len)
{
	struct got *g = ctx;
	assert_true(len >= 1 && len <= ALB_CONSOLE_STORED_MAX);
	assert_true(g->n < MAX_LINES);
	memcpy(g->line[g->n], line, len);
	g->line[g->n][len] = '\0';
	g->len[g->n] = len;
	g->n++;
	if (g->refuse_at != 0 && g->n == g->refuse_at)
		return 42;
	return 0;
}

static struct alb_console_lines *lines_new(void)
{
	struct alb_console_lines *s = NULL;
	assert_int_equal(alb_console_lines_new(&s, NULL), 0);
	assert_non_null(s);
	return s;
}

static void feed(struct alb_console_lines *s, struct got *g, const char *p,
		 size_t len)
{
	assert_int_equal(alb_console_lines_feed(s, (const uint8_t *)p, len,
						collect, g), 0);
	assert_true(alb_console_lines_pending(s) < ALB_CONSOLE_READ_MAX);
}

static void feed_str(struct alb_console_lines *s, struct got *g, const char *p)
{
	feed(s, g, p, strlen(p));
}

/* n copies of c. */
static char *run(char c, size_t n)
{
	char *p = malloc(n + 1);
	assert_non_null(p);
	memset(p, c, n);
	p[n] = '\0';
	return p;
}

static void assert_cut(const struct got *g, size_t i, char c)
{
	assert_int_equal(g->len[i], ALB_CONSOLE_STORED_MAX);
	for (size_t k = 0; k < ALB_CONSOLE_LINE_MAX; k++)
		assert_int_equal(g->line[i][k], c);
	assert_string_equal(g->line[i] + ALB_CONSOLE_LINE_MAX, " [truncated]");
}

/* ---- the ring --------------------------------------------------------- */

static void test_ring_constants(void **state)
{
	(void)state;
	assert_int_equal(ALB_CONSOLE_RING_LINES, 1024);
	assert_int_equal(ALB_CONSOLE_LINE_MAX, 512);
	assert_int_equal(strlen(ALB_CONSOLE_TRUNCATED), ALB_CONSOLE_TRUNCATED_LEN);
	assert_int_equal(ALB_CONSOLE_STORED_MAX, 524);
	/* Memory per ring: 1024 lines of (512 + overhead), overhead small. */
	size_t max = alb_console_ring_bytes_max();
	assert_true(max >= (size_t)ALB_CONSOLE_RING_LINES * ALB_CONSOLE_STORED_MAX);
	assert_true(max <= (size_t)ALB_CONSOLE_RING_LINES * (ALB_CONSOLE_LINE_MAX + 64));
	printf("ring: at most %zu bytes (%.1f per line)\n", max,
	       (double)max / ALB_CONSOLE_RING_LINES);
}

static void test_ring_empty(void **state)
{
	(void)state;
	struct alb_console_ring *r = ring_new();
	assert_int_equal(alb_console_ring_len(r), 0);
	assert_int_equal(alb_console_ring_total(r), 0);
	assert_int_equal(alb_console_ring_get(r, 0, NULL, NULL), ALB_ENOENT);
	assert_int_equal(alb_console_ring_from_count(r, 20), 0);
	assert_int_equal(alb_console_ring_from_count(r, -1), 0);
	struct alb_time t = at(0, 0);
	assert_int_equal(alb_console_ring_from_since(r, &t), 0);
	/* A ring that never held a line holds no text buffer. */
	assert_true(alb_console_ring_bytes(r) < 32 * 1024);
	alb_console_ring_free(r);
	alb_console_ring_free(NULL);
}

static void test_ring_1023_1024_1025(void **state)
{
	(void)state;
	struct alb_console_ring *r = ring_new();
	push_numbered(r, 0, 1023);
	assert_int_equal(alb_console_ring_len(r), 1023);
	assert_line(r, 0, "line 0", 0);
	assert_line(r, 1022, "line 1022", 1022);
	assert_int_equal(alb_console_ring_get(r, 1023, NULL, NULL), ALB_ENOENT);

	push_numbered(r, 1023, 1024);
	assert_int_equal(alb_console_ring_len(r), 1024);
	assert_int_equal(alb_console_ring_total(r), 1024);
	assert_line(r, 0, "line 0", 0);
	assert_line(r, 1023, "line 1023", 1023);
	assert_int_equal(alb_console_ring_get(r, 1024, NULL, NULL), ALB_ENOENT);

	/* One past: the oldest goes. */
	push_numbered(r, 1024, 1025);
	assert_int_equal(alb_console_ring_len(r), 1024);
	assert_int_equal(alb_console_ring_total(r), 1025);
	assert_line(r, 0, "line 1", 1);
	assert_line(r, 1023, "line 1024", 1024);
	alb_console_ring_free(r);
}

static void test_ring_line_length(void **state)
{
	(void)state;
	struct alb_console_ring *r = ring_new();
	struct alb_error err;
	struct alb_time t = at(1, 0);
	char *big = run('x', ALB_CONSOLE_STORED_MAX + 1);
	assert_int_equal(alb_console_ring_push(r, &t, big, ALB_CONSOLE_STORED_MAX, NULL), 0);
	assert_int_equal(alb_console_ring_push(r, &t, big, ALB_CONSOLE_STORED_MAX + 1,
					       &err),
			 ALB_ETOOBIG);
	assert_int_equal(err.code, ALB_ETOOBIG);
	assert_int_equal(alb_console_ring_push(r, &t, big, 0, &err), ALB_EINVAL);
	assert_int_equal(alb_console_ring_push(r, &t, big, 1, NULL), 0);
	assert_int_equal(alb_console_ring_len(r), 2);
	struct alb_str s;
	assert_int_equal(alb_console_ring_get(r, 0, NULL, &s), 0);
	assert_int_equal(s.len, ALB_CONSOLE_STORED_MAX);
	assert_int_equal(alb_console_ring_get(r, 1, NULL, &s), 0);
	assert_int_equal(s.len, 1);
	/* Lines may hold any byte, NUL included. */
	assert_int_equal(alb_console_ring_push(r, &t, "a\0b", 3, NULL), 0);
	assert_int_equal(alb_console_ring_get(r, 2, NULL, &s), 0);
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.ptr, "a\0b", 3);
	free(big);
	alb_console_ring_free(r);
}

/* A model of the ring: the last 1024 lines pushed, each of a length that
 * varies, including the longest; the ring must agree after every push. */
static void test_ring_model(void **state)
{
	(void)state;
	struct alb_console_ring *r = ring_new();
	static char model[ALB_CONSOLE_RING_LINES][ALB_CONSOLE_STORED_MAX];
	static size_t model_len[ALB_CONSOLE_RING_LINES];
	uint32_t seed = 12345;
	size_t pushed = 0;
	for (size_t round = 0; round < 6000; round++) {
		seed = seed * 1103515245u + 12345u;
		size_t len;
		/* Phases: short lines, longest lines, then a mix, so that the
		 * buffer grows, wraps at every offset and reaches its maximum. */
		if (round < 1500)
			len = 1 + (seed >> 16) % 40;
		else if (round < 3000)
			len = ALB_CONSOLE_STORED_MAX;
		else
			len = 1 + (seed >> 16) % ALB_CONSOLE_STORED_MAX;
		char line[ALB_CONSOLE_STORED_MAX];
		for (size_t k = 0; k < len; k++)
			line[k] = (char)('a' + (round + k) % 26);
		struct alb_time t = at((int64_t)round, (uint32_t)round);
		assert_int_equal(alb_console_ring_push(r, &t, line, len, NULL), 0);
		size_t slot = pushed % ALB_CONSOLE_RING_LINES;
		memcpy(model[slot], line, len);
		model_len[slot] = len;
		pushed++;
		assert_true(alb_console_ring_bytes(r) <= alb_console_ring_bytes_max());
		if (round % 97 != 0 && round < 5990)
			continue;
		size_t n = pushed < ALB_CONSOLE_RING_LINES ? pushed : ALB_CONSOLE_RING_LINES;
		assert_int_equal(alb_console_ring_len(r), n);
		for (size_t i = 0; i < n; i++) {
			size_t no = pushed - n + i;
			struct alb_str s;
			struct alb_time ti;
			assert_int_equal(alb_console_ring_get(r, i, &ti, &s), 0);
			assert_int_equal(ti.sec, (int64_t)no);
			assert_int_equal(ti.nsec, (uint32_t)no);
			assert_int_equal(s.len, model_len[no % ALB_CONSOLE_RING_LINES]);
			assert_memory_equal(s.ptr, model[no % ALB_CONSOLE_RING_LINES], s.len);
		}
	}
	alb_console_ring_free(r);
}

/* A quiet console costs little; a full one stays under the bound. */
static void test_ring_memory(void **state)
{
	(void)state;
	struct alb_console_ring *r = ring_new();
	push_numbered(r, 0, 3);
	size_t small = alb_console_ring_bytes(r);
	assert_true(small < 32 * 1024);
	push_numbered(r, 3, 5000);
	/* 1024 lines of about ten bytes. */
	size_t short_full = alb_console_ring_bytes(r);
	assert_true(short_full < 64 * 1024);
	char *big = run('y', ALB_CONSOLE_STORED_MAX);
	for (int i = 0; i < 3000; i++) {
		struct alb_time t = at(i, 0);
		assert_int_equal(alb_console_ring_push(r, &t, big, ALB_CONSOLE_STORED_MAX,
						       NULL), 0);
	}
	assert_int_equal(alb_console_ring_len(r), ALB_CONSOLE_RING_LINES);
	assert_true(alb_console_ring_bytes(r) <= alb_console_ring_bytes_max());
	printf("ring bytes: 3 lines %zu, 1024 short lines %zu, 1024 longest %zu\n",
	       small, short_full, alb_console_ring_bytes(r));
	free(big);
	alb_console_ring_free(r);
}

/* Count k: the last min(k, len) lines; k <= 0 none (upstream loops forever
 * on a negative count and a full ring, spec §12.2). */
static void test_ring_count(void **state)
{
	(void)state;
	struct alb_console_ring *r = ring_new();
	push_numbered(r, 0, 10);
	assert_int_equal(alb_console_ring_from_count(r, 0), 10);
	assert_int_equal(alb_console_ring_from_count(r, 1), 9);
	assert_int_equal(alb_console_ring_from_count(r, 9), 1);
	assert_int_equal(alb_console_ring_from_count(r, 10), 0);
	assert_int_equal(alb_console_ring_from_count(r, 11), 0);
	assert_int_equal(alb_console_ring_from_count(r, -1), 10);
	/* Full ring. */
	push_numbered(r, 10, 3000);
	size_t len = alb_console_ring_len(r);
	assert_int_equal(len, ALB_CONSOLE_RING_LINES);
	assert_int_equal(alb_console_ring_from_count(r, 0), len);
	assert_int_equal(alb_console_ring_from_count(r, -1), len);
	assert_int_equal(alb_console_ring_from_count(r, INT64_MIN), len);
	assert_int_equal(alb_console_ring_from_count(r, 20), len - 20);
	assert_int_equal(alb_console_ring_from_count(r, 1023), 1);
	assert_int_equal(alb_console_ring_from_count(r, 1024), 0);
	assert_int_equal(alb_console_ring_from_count(r, 1025), 0);
	assert_int_equal(alb_console_ring_from_count(r, (int64_t)1 << 62), 0);
	assert_int_equal(alb_console_ring_from_count(r, INT64_MAX), 0);
	alb_console_ring_free(r);
}

/* Since t: lines not earlier than t, newest backwards, at most one ring. */
static void test_ring_since(void **state)
{
	(void)state;
	struct alb_console_ring *r = ring_new();
	push_numbered(r, 100, 110); /* seconds 100..109 */
	struct alb_time t = at(0, 0);
	assert_int_equal(alb_console_ring_from_since(r, &t), 0);   /* before first */
	t = at(100, 0);
	assert_int_equal(alb_console_ring_from_since(r, &t), 0);   /* = first */
	t = at(100, 1);
	assert_int_equal(alb_console_ring_from_since(r, &t), 1);
	t = at(105, 0);
	assert_int_equal(alb_console_ring_from_since(r, &t), 5);
	t = at(109, 0);
	assert_int_equal(alb_console_ring_from_since(r, &t), 9);   /* = last */
	t = at(109, 1);
	assert_int_equal(alb_console_ring_from_since(r, &t), 10);  /* after last */
	t = at(INT64_MAX, 999999999);
	assert_int_equal(alb_console_ring_from_since(r, &t), 10);
	/* Full ring, every line at the same time: a since before it takes the
	 * whole ring, once (upstream looped forever before v2.7.2). */
	struct alb_console_ring *f = ring_new();
	for (int i = 0; i < 2500; i++) {
		struct alb_time same = at(7, 0);
		assert_int_equal(alb_console_ring_push(f, &same, "x", 1, NULL), 0);
	}
	t = at(INT64_MIN, 0);
	assert_int_equal(alb_console_ring_from_since(f, &t), 0);
	t = at(7, 0);
	assert_int_equal(alb_console_ring_from_since(f, &t), 0);
	t = at(8, 0);
	assert_int_equal(alb_console_ring_from_since(f, &t), ALB_CONSOLE_RING_LINES);
	/* A clock that went back: the scan stops at the first earlier line. */
	struct alb_time back = at(1, 0);
	assert_int_equal(alb_console_ring_push(r, &back, "late", 4, NULL), 0);
	t = at(105, 0);
	assert_int_equal(alb_console_ring_from_since(r, &t), 11);
	t = at(1, 0);
	assert_int_equal(alb_console_ring_from_since(r, &t), 0);
	alb_console_ring_free(f);
	alb_console_ring_free(r);
}

/* ---- the splitter -------------------------------------------------------- */

static void test_lines_basic(void **state)
{
	(void)state;
	struct alb_console_lines *s = lines_new();
	struct got g = {0};
	feed_str(s, &g, "hello\nworld\n");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.line[0], "hello");
	assert_string_equal(g.line[1], "world");
	/* Empty lines are discarded. */
	feed_str(s, &g, "\n\n\nx\n\n");
	assert_int_equal(g.n, 3);
	assert_string_equal(g.line[2], "x");
	/* An unfinished line waits for its newline, across feeds. */
	feed_str(s, &g, "par");
	assert_int_equal(g.n, 3);
	assert_int_equal(alb_console_lines_pending(s), 3);
	feed_str(s, &g, "tial");
	feed_str(s, &g, "\n");
	assert_int_equal(g.n, 4);
	assert_string_equal(g.line[3], "partial");
	/* At the end of a stream it is lost. */
	feed_str(s, &g, "lost");
	alb_console_lines_reset(s);
	assert_int_equal(alb_console_lines_pending(s), 0);
	feed_str(s, &g, "next\n");
	assert_int_equal(g.n, 5);
	assert_string_equal(g.line[4], "next");
	/* Nothing at all. */
	feed(s, &g, "", 0);
	assert_int_equal(g.n, 5);
	alb_console_lines_free(s);
	alb_console_lines_free(NULL);
}

/* Albatross splits on '\n' only: a '\r' stays in the line. */
static void test_lines_crlf(void **state)
{
	(void)state;
	struct alb_console_lines *s = lines_new();
	struct got g = {0};
	feed_str(s, &g, "dos\r\n\r\nmac\rstill\n\r");
	assert_int_equal(g.n, 3);
	assert_string_equal(g.line[0], "dos\r");
	assert_string_equal(g.line[1], "\r");
	assert_string_equal(g.line[2], "mac\rstill");
	assert_int_equal(alb_console_lines_pending(s), 1);
	alb_console_lines_free(s);
}

/* An unfinished line of 511 bytes waits; of 512 it is cut and marked. */
static void test_lines_511_512_513_unfinished(void **state)
{
	(void)state;
	struct alb_console_lines *s = lines_new();
	struct got g = {0};
	char *a = run('a', 511);
	feed_str(s, &g, a);
	assert_int_equal(g.n, 0);
	assert_int_equal(alb_console_lines_pending(s), 511);
	feed_str(s, &g, "\n");
	assert_int_equal(g.n, 1);
	assert_int_equal(g.len[0], 511);
	assert_int_equal(g.line[0][0], 'a');

	char *b = run('b', 512);
	feed_str(s, &g, b);
	assert_int_equal(g.n, 2);
	assert_cut(&g, 1, 'b');
	/* Drop mode: the rest up to the newline goes, then lines resume. */
	feed_str(s, &g, "rest of b");
	feed_str(s, &g, " still b\nafter\n");
	assert_int_equal(g.n, 3);
	assert_string_equal(g.line[2], "after");

	/* 513 bytes in one read: the 513th byte starts the next piece, in
	 * drop mode. */
	char *c = run('c', 513);
	feed_str(s, &g, c);
	assert_int_equal(g.n, 4);
	assert_cut(&g, 3, 'c');
	assert_int_equal(alb_console_lines_pending(s), 0);
	feed_str(s, &g, "c\nd\n");
	assert_int_equal(g.n, 5);
	assert_string_equal(g.line[4], "d");
	free(a);
	free(b);
	free(c);
	alb_console_lines_free(s);
}

/* A line reaching 512 bytes across reads, without newline: cut. */
static void test_lines_slack_reaches_limit(void **state)
{
	(void)state;
	struct alb_console_lines *s = lines_new();
	struct got g = {0};
	char *a = run('a', 300);
	char *b = run('a', 211);
	feed_str(s, &g, a);
	feed_str(s, &g, b);
	assert_int_equal(g.n, 0);
	assert_int_equal(alb_console_lines_pending(s), 511);
	feed_str(s, &g, "a");
	assert_int_equal(g.n, 1);
	assert_cut(&g, 0, 'a');
	feed_str(s, &g, "zz\nok\n");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.line[1], "ok");
	free(a);
	free(b);
	alb_console_lines_free(s);
}

/* Complete lines of 511, 512 and 513 bytes whose newline comes in the same
 * read as their end: 511 and 512 pass whole, 513 is cut (upstream passes
 * such lines whole up to ~1 KiB; we keep ALB_CONSOLE_LINE_MAX bytes). */
static void test_lines_511_512_513_complete(void **state)
{
	(void)state;
	for (size_t len = 511; len <= 513; len++) {
		struct alb_console_lines *s = lines_new();
		struct got g = {0};
		char *first = run('p', 300);
		char rest[300];
		memset(rest, 'p', len - 300);
		memcpy(rest + len - 300, "\nnext\n", 6);
		feed_str(s, &g, first);
		/* One read holds the end of the line and its newline. */
		feed(s, &g, rest, len - 300 + 6);
		assert_int_equal(g.n, 2);
		if (len <= ALB_CONSOLE_LINE_MAX) {
			assert_int_equal(g.len[0], len);
			assert_int_equal(g.line[0][len - 1], 'p');
		} else {
			assert_cut(&g, 0, 'p');
		}
		assert_string_equal(g.line[1], "next");
		free(first);
		alb_console_lines_free(s);
	}
	/* The longest complete line upstream can produce: 511 bytes of slack
	 * and 511 more with the newline (1022 bytes). */
	struct alb_console_lines *s = lines_new();
	struct got g = {0};
	char *x = run('q', 511);
	char buf[512];
	memset(buf, 'q', 511);
	buf[511] = '\n';
	feed_str(s, &g, x);
	feed(s, &g, buf, sizeof(buf));
	assert_int_equal(g.n, 1);
	assert_cut(&g, 0, 'q');
	free(x);
	alb_console_lines_free(s);
}

/* Albatross's reads are ALB_CONSOLE_READ_MAX bytes: a 512-byte line whose
 * newline is the 513th byte of one write is cut (its first read has no
 * newline), and the newline then only ends the drop. */
static void test_lines_newline_in_next_read(void **state)
{
	(void)state;
	struct alb_console_lines *s = lines_new();
	struct got g = {0};
	char buf[512 + 1 + 5];
	memset(buf, 'm', 512);
	memcpy(buf + 512, "\nnew\n", 5);
	feed(s, &g, buf, 517);
	assert_int_equal(g.n, 2);
	assert_cut(&g, 0, 'm');
	assert_string_equal(g.line[1], "new");
	alb_console_lines_free(s);
}

/* Drop mode across many reads without newline discards everything, then
 * splits what follows the newline (several lines and a new slack). */
static void test_lines_drop_mode(void **state)
{
	(void)state;
	struct alb_console_lines *s = lines_new();
	struct got g = {0};
	char *big = run('z', 4096);
	feed_str(s, &g, big);
	assert_int_equal(g.n, 1);
	assert_cut(&g, 0, 'z');
	feed_str(s, &g, big);
	assert_int_equal(g.n, 1);
	feed_str(s, &g, "zzz\n\none\ntwo\nthr");
	assert_int_equal(g.n, 3);
	assert_string_equal(g.line[1], "one");
	assert_string_equal(g.line[2], "two");
	assert_int_equal(alb_console_lines_pending(s), 3);
	feed_str(s, &g, "ee\n");
	assert_string_equal(g.line[3], "three");
	/* Reset leaves drop mode too. */
	feed_str(s, &g, big);
	assert_int_equal(g.n, 5);
	alb_console_lines_reset(s);
	feed_str(s, &g, "fresh\n");
	assert_int_equal(g.n, 6);
	assert_string_equal(g.line[5], "fresh");
	free(big);
	alb_console_lines_free(s);
}

/* Short lines come out the same however the bytes are cut. */
static void test_lines_any_cut(void **state)
{
	(void)state;
	const char *text = "alpha\nbeta\r\n\ngamma delta\nepsilon\n";
	size_t len = strlen(text);
	struct got whole = {0};
	struct alb_console_lines *s = lines_new();
	feed(s, &whole, text, len);
	alb_console_lines_free(s);
	assert_int_equal(whole.n, 4);
	for (size_t step = 1; step <= len; step++) {
		struct got g = {0};
		s = lines_new();
		for (size_t off = 0; off < len; off += step)
			feed(s, &g, text + off, off + step <= len ? step : len - off);
		assert_int_equal(g.n, whole.n);
		for (size_t i = 0; i < g.n; i++)
			assert_string_equal(g.line[i], whole.line[i]);
		alb_console_lines_free(s);
	}
}

/* A refusing callback stops the calls, all bytes are still consumed, and
 * the splitter goes on correctly afterwards. */
static void test_lines_refusal(void **state)
{
	(void)state;
	struct alb_console_lines *s = lines_new();
	struct got g = {0};
	g.refuse_at = 2;
	const char *text = "one\ntwo\nthree\nfour";
	assert_int_equal(alb_console_lines_feed(s, (const uint8_t *)text, strlen(text),
						collect, &g), 42);
	assert_int_equal(g.n, 2);
	assert_int_equal(alb_console_lines_pending(s), 4);
	g.refuse_at = 0;
	feed_str(s, &g, "\n");
	assert_int_equal(g.n, 3);
	assert_string_equal(g.line[2], "four");
	alb_console_lines_free(s);
}

/* ---- the core, in-process ------------------------------------------------- */

struct core {
	char dir[64];
	uv_loop_t loop;
	uv_async_t wake;
	pthread_t th;
	struct alb_console *c;
	/* requests from the test thread, served on the loop's thread */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool want_stats, have_stats, want_stop;
	struct alb_console_stats stats;
};

static void on_wake(uv_async_t *a)
{
	struct core *k = a->data;
	pthread_mutex_lock(&k->mu);
	if (k->want_stats) {
		alb_console_get_stats(k->c, &k->stats);
		k->want_stats = false;
		k->have_stats = true;
	}
	if (k->want_stop) {
		alb_console_free(k->c);
		uv_close((uv_handle_t *)a, NULL);
	}
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

static void *core_thread(void *arg)
{
	struct core *k = arg;
	uv_run(&k->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void core_dir(struct core *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->dir, sizeof(k->dir), "/tmp/alb-console-unit-XXXXXX");
	assert_non_null(mkdtemp(k->dir));
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/fifo", k->dir);
	assert_int_equal(mkdir(fifo, 0755), 0);
}

static void core_start(struct core *k, struct alb_console_config *cfg)
{
	cfg->tmpdir = k->dir;
	assert_int_equal(uv_loop_init(&k->loop), 0);
	struct alb_error err;
	if (alb_console_new(&k->loop, cfg, &k->c, &err) != 0)
		fail_msg("alb_console_new: %s", err.msg);
	if (alb_console_start(k->c, &err) != 0)
		fail_msg("alb_console_start: %s", err.msg);
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	uv_async_init(&k->loop, &k->wake, on_wake);
	k->wake.data = k;
	assert_int_equal(pthread_create(&k->th, NULL, core_thread, k), 0);
}

static struct alb_console_stats core_stats(struct core *k)
{
	pthread_mutex_lock(&k->mu);
	k->want_stats = true;
	k->have_stats = false;
	uv_async_send(&k->wake);
	while (!k->have_stats)
		pthread_cond_wait(&k->cv, &k->mu);
	struct alb_console_stats st = k->stats;
	pthread_mutex_unlock(&k->mu);
	return st;
}

/* Frees the core on its loop, which then ends; no handle is left. */
static void core_stop(struct core *k)
{
	pthread_mutex_lock(&k->mu);
	k->want_stop = true;
	uv_async_send(&k->wake);
	pthread_mutex_unlock(&k->mu);
	assert_int_equal(pthread_join(k->th, NULL), 0);
	assert_int_equal(uv_loop_close(&k->loop), 0);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k->dir);
	assert_int_equal(system(cmd), 0);
}

static int core_connect(const struct core *k)
{
	char path[ALB_SOCKET_PATH_BUF];
	assert_int_equal(alb_endpoint_socket_path(k->dir, ALB_ENDPOINT_CONSOLE, path,
						  NULL), 0);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {10, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends cmd for name on fd; returns the kind of the reply (-1 for EOF). */
static int core_call(int fd, const char *name, const struct alb_command *cmd)
{
	struct alb_buf b = {0};
	assert_int_equal(alb_client_encode_command(name, cmd, ALB_ENCODE_FRAMED, &b,
						   NULL), 0);
	/* A connection closed by the daemon may be reset. */
	ssize_t w = send(fd, b.data, b.len, MSG_NOSIGNAL);
	size_t len = b.len;
	alb_buf_free(&b);
	if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
		return -1;
	assert_int_equal(w, (ssize_t)len);
	struct alb_error err;
	int rc = alb_frame_read_fd(fd, 0, &b, &err);
	if (rc == ALB_EEOF || (rc == ALB_ESYS && err.sys_errno == ECONNRESET))
		return -1;
	assert_int_equal(rc, 0);
	struct alb_msg *m = NULL;
	assert_int_equal(alb_msg_decode(b.data, b.len, 0, &m, NULL), 0);
	int kind = (int)m->kind;
	alb_msg_free(m);
	alb_buf_free(&b);
	return kind;
}

static void test_core_config(void **state)
{
	(void)state;
	struct core k;
	core_dir(&k);
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	struct alb_console *c = NULL;
	struct alb_error err;
	struct alb_console_config cfg;
	alb_console_config_init(&cfg);
	cfg.tmpdir = k.dir;
	assert_int_equal(alb_console_new(NULL, &cfg, &c, &err), ALB_EINVAL);
	assert_int_equal(alb_console_new(&loop, NULL, &c, &err), ALB_EINVAL);
	/* Subscribers per unikernel: at the limit and one past. */
	cfg.max_subscribers = ALB_CONSOLE_SUBSCRIBERS_LIMIT + 1;
	assert_int_equal(alb_console_new(&loop, &cfg, &c, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "max subscribers must be at most 1024");
	cfg.max_subscribers = ALB_CONSOLE_SUBSCRIBERS_LIMIT;
	assert_int_equal(alb_console_new(&loop, &cfg, &c, &err), 0);
	assert_int_equal(alb_console_start(c, &err), 0);
	assert_int_equal(alb_console_start(c, &err), ALB_EINVAL);
	/* A second daemon on the same socket. */
	struct alb_console *c2 = NULL;
	assert_int_equal(alb_console_new(&loop, &cfg, &c2, &err), 0);
	assert_int_equal(alb_console_start(c2, &err), ALB_EBUSY);
	alb_console_free(c2);
	alb_console_free(c);
	alb_console_free(NULL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	/* The socket is removed at shutdown; a stale one left by a daemon
	 * that died is replaced. */
	char path[ALB_SOCKET_PATH_BUF];
	assert_int_equal(alb_endpoint_socket_path(k.dir, ALB_ENDPOINT_CONSOLE, path,
						  NULL), 0);
	struct stat sb;
	assert_int_equal(lstat(path, &sb), -1);
	int sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(sfd);
	assert_int_equal(alb_console_new(&loop, &cfg, &c, &err), 0);
	assert_int_equal(alb_console_start(c, &err), 0);
	/* the socket is 0660 whatever the umask */
	assert_int_equal(lstat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0660);
	alb_console_free(c);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	/* A file that is no socket is left alone. */
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(alb_console_new(&loop, &cfg, &c, &err), 0);
	assert_int_equal(alb_console_start(c, &err), ALB_EEXIST);
	alb_console_free(c);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	/* A tmpdir too long for the socket path. */
	char longdir[200];
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	cfg.tmpdir = longdir;
	assert_int_equal(alb_console_new(&loop, &cfg, &c, &err), ALB_ETOOBIG);
	/* A given socket that is not a listening one: refused. */
	cfg.tmpdir = k.dir;
	cfg.listen_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(alb_console_new(&loop, &cfg, &c, &err), 0);
	assert_int_equal(alb_console_start(c, &err), ALB_EINVAL);
	alb_console_free(c);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", k.dir);
	assert_int_equal(system(cmd), 0);
}

/* conn_max connections are served, one more is closed at once. */
static void test_core_conn_limit(void **state)
{
	(void)state;
	struct core k;
	core_dir(&k);
	struct alb_console_config cfg;
	alb_console_config_init(&cfg);
	cfg.conn_max = 2;
	core_start(&k, &cfg);
	struct alb_command list;
	memset(&list, 0, sizeof(list));
	list.kind = ALB_CMD_CONSOLE_LIST_INACTIVE;
	struct alb_command sub;
	memset(&sub, 0, sizeof(sub));
	sub.kind = ALB_CMD_CONSOLE_SUBSCRIBE;
	int a = core_connect(&k);
	int b = core_connect(&k);
	assert_int_equal(core_call(a, "p:x", &sub), ALB_PAYLOAD_SUCCESS);
	assert_int_equal(core_call(b, "q:y", &sub), ALB_PAYLOAD_SUCCESS);
	assert_int_equal(core_stats(&k).connections, 2);
	int third = core_connect(&k);
	assert_int_equal(core_call(third, ":", &list), -1);
	close(third);
	close(a);
	for (int i = 0; i < 500 && core_stats(&k).connections != 1; i++)
		usleep(2000);
	int again = core_connect(&k);
	assert_int_equal(core_call(again, ":", &list), ALB_PAYLOAD_SUCCESS);
	close(again);
	close(b);
	core_stop(&k);
}

/* A connection that has not sent a command is replaced by a newcomer at
 * conn_max; one that sends half a command is closed at the deadline,
 * while one that completes it in time is served. */
static void test_core_idle_connections(void **state)
{
	(void)state;
	struct core k;
	core_dir(&k);
	struct alb_console_config cfg;
	alb_console_config_init(&cfg);
	cfg.conn_max = 2;
	cfg.command_timeout_ms = 300;
	core_start(&k, &cfg);
	struct alb_command list;
	memset(&list, 0, sizeof(list));
	list.kind = ALB_CMD_CONSOLE_LIST_INACTIVE;
	int a = core_connect(&k);
	int b = core_connect(&k);
	for (int i = 0; i < 500 && core_stats(&k).connections != 2; i++)
		usleep(2000);
	/* at the limit: a third replaces the oldest idle one */
	int c = core_connect(&k);
	assert_int_equal(core_call(c, ":", &list), ALB_PAYLOAD_SUCCESS);
	char x;
	assert_int_equal(read(a, &x, 1), 0);
	/* b sends half a frame: closed once the deadline passes */
	assert_int_equal(write(b, "\0\0", 2), 2);
	usleep(100000);
	int d = core_connect(&k);
	assert_int_equal(core_call(d, ":", &list), ALB_PAYLOAD_SUCCESS);
	assert_int_equal(read(b, &x, 1), 0);
	close(a);
	close(b);
	close(c);
	close(d);
	core_stop(&k);
}

/* Adds a console for name, opens and closes its writer: a unikernel that
 * ran and stopped without output. */
static void run_and_stop(struct core *k, int vfd, const char *name)
{
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/fifo/%s", k->dir, name);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	struct alb_command add;
	memset(&add, 0, sizeof(add));
	add.kind = ALB_CMD_CONSOLE_ADD;
	add.u.console_add = 0x3fffffffffffffff;
	assert_int_equal(core_call(vfd, name, &add), ALB_PAYLOAD_SUCCESS);
	int w = open(fifo, O_WRONLY | O_CLOEXEC);
	assert_true(w >= 0);
	close(w);
}

/* Stopped unikernels' rings: inactive_max bytes are kept, one ring more
 * evicts the one that stopped first. */
static void test_core_inactive_max(void **state)
{
	(void)state;
	struct alb_console_ring *r = ring_new();
	size_t ring = alb_console_ring_bytes(r);
	alb_console_ring_free(r);
	struct core k;
	core_dir(&k);
	struct alb_console_config cfg;
	alb_console_config_init(&cfg);
	cfg.inactive_max = 2 * ring;
	core_start(&k, &cfg);
	int vfd = core_connect(&k);
	run_and_stop(&k, vfd, ":a");
	run_and_stop(&k, vfd, ":b");
	struct alb_console_stats st;
	for (int i = 0; i < 500; i++) {
		st = core_stats(&k);
		if (st.active == 0)
			break;
		usleep(2000);
	}
	/* At the limit: both kept. */
	assert_int_equal(st.active, 0);
	assert_int_equal(st.inactive_bytes, 2 * ring);
	assert_int_equal(st.rings, 2);
	assert_int_equal(st.evicted, 0);
	/* One past: :a goes. */
	run_and_stop(&k, vfd, ":c");
	for (int i = 0; i < 500; i++) {
		st = core_stats(&k);
		if (st.active == 0)
			break;
		usleep(2000);
	}
	assert_int_equal(st.rings, 2);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.inactive_bytes, 2 * ring);
	assert_int_equal(st.consoles, 2);
	close(vfd);
	core_stop(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_constants),
		cmocka_unit_test(test_ring_empty),
		cmocka_unit_test(test_ring_1023_1024_1025),
		cmocka_unit_test(test_ring_line_length),
		cmocka_unit_test(test_ring_model),
		cmocka_unit_test(test_ring_memory),
		cmocka_unit_test(test_ring_count),
		cmocka_unit_test(test_ring_since),
		cmocka_unit_test(test_lines_basic),
		cmocka_unit_test(test_lines_crlf),
		cmocka_unit_test(test_lines_511_512_513_unfinished),
		cmocka_unit_test(test_lines_slack_reaches_limit),
		cmocka_unit_test(test_lines_511_512_513_complete),
		cmocka_unit_test(test_lines_newline_in_next_read),
		cmocka_unit_test(test_lines_drop_mode),
		cmocka_unit_test(test_lines_any_cut),
		cmocka_unit_test(test_lines_refusal),
		cmocka_unit_test(test_core_config),
		cmocka_unit_test(test_core_conn_limit),
		cmocka_unit_test(test_core_idle_connections),
		cmocka_unit_test(test_core_inactive_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
