/* libalbatross — GeneralizedTime as Albatross reads it.
 *
 * asn1-combinators 0.3.2 (Asn_prim.Time.gen_time_of_string) reads the
 * string with OCaml's Scanf, nesting scanners on one input:
 *
 *   sscanf s "%4u%2u%2u%2u%r%r%!" m_s_f tz
 *   m_s_f = try "%2u" mm, then (try "%2u" ss, then (try ".%3u" ms
 *           with _ -> 0) with _ -> 0, 0) with _ -> 0, (0, 0)
 *   tz    = try "%1[+-]%2u%2u%!" with _ -> (try "Z" with _ -> 0)
 *
 * then Ptime.of_date_time ((y, m, d), ((hh, mm, ss), tz)) plus ms
 * milliseconds. The rules that follow from it, which this file reproduces
 * step by step rather than as a grammar:
 *  - "%Nu" is at most N characters: a digit, then digits or '_' (ignored);
 *  - a failed scanner keeps what it consumed, so minutes, seconds and the
 *    fraction are optional (0 when absent) and "HHMM" may end the string;
 *  - ".%3u" reads up to three digits as a NUMBER of milliseconds: ".5" is
 *    5 ms, ".50" 50 ms, ".500" 500 ms (an upstream quirk, doc/quirks.md);
 *  - an offset "+HHMM"/"-HHMM" counts only when it ends the string (local =
 *    UTC + offset); anything that is not a complete offset, and a 'Z', is
 *    UTC; the digits after a 3-digit fraction are read as such an offset;
 *  - the date and time must be valid (seconds up to 60, a leap second being
 *    the next second) and the instant within 0000-01-01 .. 9999-12-31 UTC.
 * SPDX-License-Identifier: ISC */
#include <stdbool.h>
#include <stdio.h>

#include "der_time.h"

int64_t alb_der_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (m + 9) % 12; /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool leap_year(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31};
	return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* The input as one Scanf channel: what a scanner consumed stays consumed. */
struct scan {
	const uint8_t *p;
	size_t n, i;
};

/* Outcomes of a scanner: a value, Scan_failure, End_of_file. */
enum { SCAN_OK, SCAN_FAIL, SCAN_EOF };

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* "%<width>u": a digit first, then digits or '_' (skipped), at most width
 * characters in all. */
static int scan_uint(struct scan *s, unsigned width, unsigned *v)
{
	if (s->i == s->n)
		return SCAN_EOF;
	if (!is_digit(s->p[s->i]))
		return SCAN_FAIL;
	unsigned x = 0;
	for (; width > 0 && s->i < s->n; width--, s->i++) {
		uint8_t c = s->p[s->i];
		if (is_digit(c))
			x = x * 10 + (unsigned)(c - '0');
		else if (c != '_')
			break;
	}
	*v = x;
	return SCAN_OK;
}

/* A literal character of the format. */
static int scan_char(struct scan *s, uint8_t c)
{
	if (s->i == s->n)
		return SCAN_EOF;
	if (s->p[s->i] != c)
		return SCAN_FAIL;
	s->i++;
	return SCAN_OK;
}

/* The zone in seconds east of UTC: "[+-]?HHMM" ending the input, else 0
 * after an optional 'Z' (what the first attempt consumed stays consumed). */
static long scan_zone(struct scan *s)
{
	long sign = 1;
	if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
		sign = s->p[s->i++] == '-' ? -1 : 1;
	unsigned h, m;
	if (scan_uint(s, 2, &h) == SCAN_OK && scan_uint(s, 2, &m) == SCAN_OK &&
	    s->i == s->n)
		return sign * (3600L * h + 60L * m);
	(void)scan_char(s, 'Z');
	return 0;
}

static int fail(const uint8_t *p, size_t n, const char *what,
		struct alb_error *err)
{
	char text[64];
	size_t k = n < sizeof(text) - 1 ? n : sizeof(text) - 1;
	for (size_t i = 0; i < k; i++)
		text[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
	text[k] = '\0';
	return alb_fail(err, ALB_EPARSE, "GeneralizedTime: %s: %s", what, text);
}

int alb_der_time_parse(const uint8_t *p, size_t n, struct alb_time *v,
		       struct alb_error *err)
{
	struct scan s = {p, n, 0};
	static const unsigned widths[4] = {4, 2, 2, 2};
	unsigned f[4]; /* year, month, day, hour */
	for (size_t k = 0; k < 4; k++) {
		int rc = scan_uint(&s, widths[k], &f[k]);
		if (rc != SCAN_OK)
			return fail(p, n, rc == SCAN_EOF ? "unexpected end" : "invalid format",
				    err);
	}
	unsigned mi = 0, sec = 0, ms = 0;
	/* each failed scanner leaves its field 0 */
	if (scan_uint(&s, 2, &mi) == SCAN_OK && scan_uint(&s, 2, &sec) == SCAN_OK &&
	    scan_char(&s, '.') == SCAN_OK)
		(void)scan_uint(&s, 3, &ms);
	long zone = scan_zone(&s);
	if (s.i != s.n)
		return fail(p, n, "invalid format", err);
	unsigned y = f[0], mo = f[1], d = f[2], h = f[3];
	/* Ptime.of_date_time: a valid date and time (ss 60 is a leap second,
	 * counted as the next second), then the range of Ptime */
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return fail(p, n, "out of range", err);
	int64_t t = alb_der_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
		    (int64_t)mi * 60 + (int64_t)sec - zone;
	if (t < ALB_DER_TIME_SEC_MIN || t > ALB_DER_TIME_SEC_MAX)
		return fail(p, n, "out of range", err);
	v->sec = t;
	v->nsec = ms * 1000000u;
	return 0;
}
