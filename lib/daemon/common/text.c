/* libalbatross — daemon/common: text output into an alb_buf (the
 * exporters' Prometheus and Influx text).
 * SPDX-License-Identifier: ISC */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "dcommon/text.h"

/* First allocation of an empty buffer. */
#define TEXT_CHUNK 4096
/* Longest decimal uint64. */
#define U64_DIGITS 20
/* Digits that always read back as the same double; fewer are tried
 * first (DBL_DIG). */
#define REAL_DIGITS_MAX 17
#define REAL_DIGITS_MIN 15

static bool text_reserve(struct alb_text *t, size_t n)
{
	if (t->failed)
		return false;
	struct alb_buf *b = t->b;
	size_t off = b->base_ != NULL ? (size_t)(b->data - b->base_) : 0;
	if (b->cap_ - off - b->len >= n)
		return true;
	if (off > 0) {
		/* an encoder may leave its bytes at the end of the block */
		memmove(b->base_, b->data, b->len);
		b->data = b->base_;
		if (b->cap_ - b->len >= n)
			return true;
	}
	size_t cap = b->cap_ > 0 ? b->cap_ : TEXT_CHUNK;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			t->failed = true;
			return false;
		}
		cap *= 2;
	}
	uint8_t *nb = realloc(b->base_, cap);
	if (nb == NULL) {
		t->failed = true;
		return false;
	}
	b->base_ = b->data = nb;
	b->cap_ = cap;
	return true;
}

bool alb_text_put(struct alb_text *t, const char *s, size_t len)
{
	if (!text_reserve(t, len))
		return false;
	if (len > 0)
		memcpy(t->b->data + t->b->len, s, len);
	t->b->len += len;
	return true;
}

bool alb_text_str(struct alb_text *t, const char *s)
{
	return alb_text_put(t, s, strlen(s));
}

bool alb_text_u64(struct alb_text *t, uint64_t v)
{
	char d[U64_DIGITS];
	size_t i = sizeof(d);
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return alb_text_put(t, d + i, sizeof(d) - i);
}

bool alb_text_i64(struct alb_text *t, int64_t v)
{
	if (v >= 0)
		return alb_text_u64(t, (uint64_t)v);
	/* the magnitude of INT64_MIN only fits unsigned */
	return alb_text_put(t, "-", 1) && alb_text_u64(t, -(uint64_t)v);
}

bool alb_text_fmt(struct alb_text *t, const char *fmt, ...)
{
	char small[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->failed = true;
		return false;
	}
	if ((size_t)n < sizeof(small))
		return alb_text_put(t, small, (size_t)n);
	if (!text_reserve(t, (size_t)n + 1))
		return false;
	va_start(ap, fmt);
	vsnprintf((char *)t->b->data + t->b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->b->len += (size_t)n;
	return true;
}

bool alb_text_real(struct alb_text *t, double v)
{
	if (isnan(v))
		return alb_text_str(t, "NaN");
	if (isinf(v))
		return alb_text_str(t, v > 0 ? "+Inf" : "-Inf");
	char d[32];
	snprintf(d, sizeof(d), "%.*g", REAL_DIGITS_MIN, v);
	if (strtod(d, NULL) != v)
		snprintf(d, sizeof(d), "%.*g", REAL_DIGITS_MAX, v);
	return alb_text_str(t, d);
}

void alb_text_prom_label(struct alb_text *t, const char *key, const char *s,
			 size_t len)
{
	alb_text_str(t, key);
	alb_text_put(t, "=\"", 2);
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c != '\\' && c != '"' && c != '\n')
			continue;
		alb_text_put(t, s + run, i - run);
		alb_text_put(t, c == '\\' ? "\\\\" : c == '"' ? "\\\"" : "\\n", 2);
		run = i + 1;
	}
	if (len > 0)
		alb_text_put(t, s + run, len - run);
	alb_text_put(t, "\"", 1);
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

void alb_text_influx_key(struct alb_text *t, const char *s, size_t len)
{
	if (len == 0)
		return;
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != ',' && c != '=' && c != ' ' && !is_control(c))
			continue;
		alb_text_put(t, s + run, i - run);
		if (is_control(c))
			alb_text_put(t, "?", 1);
		else
			alb_text_put(t, (const char[]){'\\', (char)c}, 2);
		run = i + 1;
	}
	alb_text_put(t, s + run, len - run);
}

int alb_text_end(struct alb_text *t, size_t start, struct alb_error *err)
{
	if (!t->failed)
		return 0;
	t->b->len = start;
	return alb_fail(err, ALB_ENOMEM, "out of memory");
}
