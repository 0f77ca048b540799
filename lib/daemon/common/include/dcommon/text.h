/* libalbatross — daemon/common: text output into an alb_buf, for the
 * daemons' exporters (Prometheus exposition, Influx line protocol).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_DCOMMON_TEXT_H
#define ALB_DCOMMON_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "albatross/common.h"

/* Appends to an alb_buf; every function returns false once an allocation
 * failed (and stays false: later appends do nothing). */
struct alb_text {
	struct alb_buf *b;
	bool failed;
};

bool alb_text_put(struct alb_text *t, const char *s, size_t len);
bool alb_text_str(struct alb_text *t, const char *s);
bool alb_text_u64(struct alb_text *t, uint64_t v);
bool alb_text_i64(struct alb_text *t, int64_t v);
/* printf-style, for the rare floating point figure. */
bool alb_text_fmt(struct alb_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A float as Prometheus reads it: the shortest decimal that reads back
 * as the same double ("0.25", "1e-06", "12345"), "NaN", "+Inf", "-Inf". */
bool alb_text_real(struct alb_text *t, double v);

/* key="value": a Prometheus label, its value with backslash, double
 * quote and newline escaped (s[0..len), len 0 for ""). */
void alb_text_prom_label(struct alb_text *t, const char *key, const char *s,
			 size_t len);

/* An Influx tag key or value, or field key: ',', '=' and ' ' escaped
 * with a backslash as the line protocol asks, control bytes replaced by
 * '?' so that no value can end a line. */
void alb_text_influx_key(struct alb_text *t, const char *s, size_t len);

/* Ends a build started at out->len == start: 0, or ALB_ENOMEM with the
 * buffer cut back to start. */
int alb_text_end(struct alb_text *t, size_t start, struct alb_error *err);

#endif
