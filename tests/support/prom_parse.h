/* A strict parser of the Prometheus text exposition format 0.0.4, for the
 * tests of the daemons' metrics (tests/unit/daemon/common/test_metrics.c,
 * tests/integration/test_metrics.c). Stricter than Prometheus: every line
 * must be a # HELP, a # TYPE or a sample (no blank lines, no other
 * comments, no timestamps); each family has one TYPE before its samples
 * and at most one HELP, and its samples are contiguous; a sample belongs
 * to the family of the TYPE before it (name, or name_bucket, _sum, _count
 * for a histogram); label names are valid, not repeated, values quoted
 * with only \\, \" and \n escaped; values are Go floats (NaN, +Inf, -Inf,
 * decimals, exponents); no series twice; counters and histogram figures
 * are not negative; a histogram has, per label set, buckets with
 * increasing le ending at +Inf whose counts never decrease, _count equal
 * to the +Inf bucket, and _sum. Header-only; no cmocka: functions return
 * NULL or the error text.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_PROM_PARSE_H
#define ALB_TEST_PROM_PARSE_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_NAME_MAX 200
#define PROM_LABELS_MAX 2048

struct prom_sample {
	char name[PROM_NAME_MAX];     /* as written, e.g. x_bucket */
	char family[PROM_NAME_MAX];   /* its family, e.g. x */
	char labels[PROM_LABELS_MAX]; /* between the braces, as written */
	char rest[PROM_LABELS_MAX];   /* the labels without le */
	double le;                    /* a bucket's bound */
	double value;
};

struct prom_family {
	char name[PROM_NAME_MAX];
	char type[16];
	bool help;
	size_t first, n; /* its samples */
};

struct prom {
	struct prom_sample *s;
	size_t n, cap;
	struct prom_family *f;
	size_t n_f, cap_f;
	char err[512];
};

static inline void prom_free(struct prom *p)
{
	free(p->s);
	free(p->f);
	memset(p, 0, sizeof(*p));
}

static inline bool prom_name_ok(const char *s, size_t len, bool label)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || (!label && c == ':');
		if (!alpha && (i == 0 || c < '0' || c > '9'))
			return false;
	}
	return true;
}

/* A Go strconv.ParseFloat value as Prometheus writes and reads it. */
static inline bool prom_float(const char *s, size_t len, double *out)
{
	char b[64];
	if (len == 0 || len >= sizeof(b))
		return false;
	memcpy(b, s, len);
	b[len] = '\0';
	if (strcmp(b, "NaN") == 0) {
		*out = NAN;
		return true;
	}
	if (strcmp(b, "+Inf") == 0 || strcmp(b, "Inf") == 0) {
		*out = INFINITY;
		return true;
	}
	if (strcmp(b, "-Inf") == 0) {
		*out = -INFINITY;
		return true;
	}
	for (size_t i = 0; i < len; i++)
		if (strchr("0123456789+-.eE", b[i]) == NULL)
			return false;
	char *end;
	*out = strtod(b, &end);
	return *end == '\0';
}

#define PROM_FAIL(p, line, ...)                                                \
	do {                                                                   \
		int n_ = snprintf((p)->err, sizeof((p)->err), "line %zu: ", line); \
		snprintf((p)->err + n_, sizeof((p)->err) - (size_t)n_, __VA_ARGS__); \
		return (p)->err;                                               \
	} while (0)

static inline struct prom_family *prom_family_of(struct prom *p, const char *name)
{
	for (size_t i = 0; i < p->n_f; i++)
		if (strcmp(p->f[i].name, name) == 0)
			return &p->f[i];
	return NULL;
}

/* The family a sample name belongs to, given the current family. */
static inline bool prom_member(const struct prom_family *f, const char *name,
			       char *suffix)
{
	size_t fl = strlen(f->name);
	suffix[0] = '\0';
	if (strcmp(name, f->name) == 0)
		return strcmp(f->type, "histogram") != 0 &&
		       strcmp(f->type, "summary") != 0;
	if (strncmp(name, f->name, fl) != 0)
		return false;
	const char *rest = name + fl;
	if (strcmp(f->type, "histogram") == 0 &&
	    (strcmp(rest, "_bucket") == 0 || strcmp(rest, "_sum") == 0 ||
	     strcmp(rest, "_count") == 0)) {
		strcpy(suffix, rest);
		return true;
	}
	return false;
}

/* Parses the labels between braces: names valid and distinct, values
 * quoted and escaped; the le value and the labels without le. */
static inline const char *prom_labels(struct prom *p, size_t line,
				      const char *s, size_t len,
				      struct prom_sample *out, bool *has_le)
{
	char names[32][PROM_NAME_MAX];
	size_t n = 0, i = 0, rl = 0;
	*has_le = false;
	while (i < len) {
		size_t k = i;
		while (k < len && s[k] != '=')
			k++;
		if (k >= len || !prom_name_ok(s + i, k - i, true) ||
		    k - i >= PROM_NAME_MAX || n >= 32)
			PROM_FAIL(p, line, "bad label name");
		memcpy(names[n], s + i, k - i);
		names[n][k - i] = '\0';
		for (size_t j = 0; j < n; j++)
			if (strcmp(names[j], names[n]) == 0)
				PROM_FAIL(p, line, "label %.64s twice", names[n]);
		bool le = strcmp(names[n], "le") == 0;
		n++;
		if (k + 1 >= len || s[k + 1] != '"')
			PROM_FAIL(p, line, "label value not quoted");
		size_t v = k + 2, e = v;
		char val[PROM_LABELS_MAX];
		size_t vl = 0;
		while (e < len && s[e] != '"') {
			if (s[e] == '\\') {
				if (e + 1 >= len || strchr("\\\"n", s[e + 1]) == NULL)
					PROM_FAIL(p, line, "bad escape in label value");
				e++;
			} else if (s[e] == '\n') {
				PROM_FAIL(p, line, "newline in label value");
			}
			if (vl + 1 < sizeof(val))
				val[vl++] = s[e];
			e++;
		}
		if (e >= len)
			PROM_FAIL(p, line, "unterminated label value");
		val[vl] = '\0';
		if (le) {
			*has_le = true;
			if (!prom_float(val, vl, &out->le))
				PROM_FAIL(p, line, "bad le \"%.64s\"", val);
		} else {
			size_t w = e + 1 - i;
			if (rl + w + 1 >= sizeof(out->rest))
				PROM_FAIL(p, line, "labels too long");
			if (rl > 0)
				out->rest[rl++] = ',';
			memcpy(out->rest + rl, s + i, w);
			rl += w;
		}
		i = e + 1;
		if (i < len) {
			if (s[i] != ',')
				PROM_FAIL(p, line, "expected ',' between labels");
			i++;
			if (i >= len)
				PROM_FAIL(p, line, "trailing ',' in labels");
		}
	}
	out->rest[rl] = '\0';
	return NULL;
}

/* Checks the histograms of family f once its samples are all read. */
static inline const char *prom_check_histogram(struct prom *p,
					       const struct prom_family *f)
{
	for (size_t a = f->first; a < f->first + f->n; a++) {
		const struct prom_sample *s = &p->s[a];
		if (strcmp(s->name + strlen(f->name), "_count") != 0)
			continue;
		/* the buckets, sum and count of this label set */
		double last_le = -INFINITY, last_c = 0, inf = -1;
		bool sum = false;
		for (size_t b = f->first; b < f->first + f->n; b++) {
			const struct prom_sample *t = &p->s[b];
			if (strcmp(t->rest, s->rest) != 0)
				continue;
			const char *suf = t->name + strlen(f->name);
			if (strcmp(suf, "_sum") == 0)
				sum = true;
			if (strcmp(suf, "_bucket") != 0)
				continue;
			if (!(t->le > last_le) || t->value < last_c)
				return snprintf(p->err, sizeof(p->err),
						"%.200s{%.200s}: buckets not cumulative",
						f->name, s->rest), p->err;
			last_le = t->le;
			last_c = t->value;
			if (isinf(t->le))
				inf = t->value;
		}
		if (!isinf(last_le) || inf != s->value || !sum)
			return snprintf(p->err, sizeof(p->err),
					"%.200s{%.200s}: no +Inf bucket equal to _count, "
					"or no _sum", f->name, s->rest), p->err;
	}
	return NULL;
}

/* Parses text[0..len); NULL, or the error (also in p->err). */
static inline const char *prom_parse(struct prom *p, const char *text, size_t len)
{
	memset(p, 0, sizeof(*p));
	if (len == 0 || text[len - 1] != '\n')
		PROM_FAIL(p, (size_t)0, "the text does not end with a newline");
	struct prom_family *cur = NULL;
	size_t line = 0;
	for (size_t at = 0; at < len;) {
		const char *l = text + at;
		const char *nl = memchr(l, '\n', len - at);
		size_t ll = (size_t)(nl - l);
		at += ll + 1;
		line++;
		if (ll == 0)
			PROM_FAIL(p, line, "empty line");
		if (l[0] == '#') {
			bool help = ll > 7 && memcmp(l, "# HELP ", 7) == 0;
			bool type = ll > 7 && memcmp(l, "# TYPE ", 7) == 0;
			if (!help && !type)
				PROM_FAIL(p, line, "a comment that is neither HELP nor TYPE");
			const char *n = l + 7;
			const char *sp = memchr(n, ' ', ll - 7);
			if (sp == NULL || !prom_name_ok(n, (size_t)(sp - n), false) ||
			    (size_t)(sp - n) >= PROM_NAME_MAX)
				PROM_FAIL(p, line, "bad metric name");
			char name[PROM_NAME_MAX];
			memcpy(name, n, (size_t)(sp - n));
			name[sp - n] = '\0';
			const char *arg = sp + 1;
			size_t al = ll - (size_t)(arg - l);
			struct prom_family *f = prom_family_of(p, name);
			if (f != NULL && f != cur)
				PROM_FAIL(p, line, "family %s is not contiguous", name);
			if (f == NULL) {
				if (cur != NULL && strcmp(cur->type, "histogram") == 0 &&
				    prom_check_histogram(p, cur) != NULL)
					return p->err;
				if (p->n_f == p->cap_f) {
					p->cap_f = p->cap_f ? 2 * p->cap_f : 64;
					p->f = realloc(p->f, p->cap_f * sizeof(*p->f));
				}
				f = &p->f[p->n_f++];
				memset(f, 0, sizeof(*f));
				strcpy(f->name, name);
				f->first = p->n;
				cur = f;
			}
			if (help) {
				if (f->help)
					PROM_FAIL(p, line, "second HELP of %s", name);
				for (size_t i = 0; i < al; i++) {
					if (arg[i] != '\\')
						continue;
					if (i + 1 >= al || (arg[i + 1] != '\\' &&
							    arg[i + 1] != 'n'))
						PROM_FAIL(p, line, "bad escape in HELP");
					i++;
				}
				f->help = true;
			} else {
				if (f->type[0] != '\0')
					PROM_FAIL(p, line, "second TYPE of %s", name);
				if (f->n > 0)
					PROM_FAIL(p, line, "TYPE of %s after its samples", name);
				static const char *const types[] = {
				    "counter", "gauge", "histogram", "summary", "untyped"};
				bool ok = false;
				for (size_t i = 0; i < 5; i++)
					ok |= al == strlen(types[i]) &&
					      memcmp(arg, types[i], al) == 0;
				if (!ok)
					PROM_FAIL(p, line, "bad type");
				memcpy(f->type, arg, al);
				f->type[al] = '\0';
			}
			continue;
		}
		/* a sample: name[{labels}] value */
		if (p->n == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 256;
			p->s = realloc(p->s, p->cap * sizeof(*p->s));
		}
		struct prom_sample *s = &p->s[p->n];
		memset(s, 0, sizeof(*s));
		size_t i = 0;
		while (i < ll && l[i] != '{' && l[i] != ' ')
			i++;
		if (i >= ll || !prom_name_ok(l, i, false) || i >= PROM_NAME_MAX)
			PROM_FAIL(p, line, "bad sample name");
		memcpy(s->name, l, i);
		bool has_le = false;
		if (l[i] == '{') {
			const char *close = NULL;
			bool q = false;
			for (size_t k = i + 1; k < ll && close == NULL; k++) {
				if (q && l[k] == '\\')
					k++;
				else if (l[k] == '"')
					q = !q;
				else if (!q && l[k] == '}')
					close = l + k;
			}
			if (close == NULL)
				PROM_FAIL(p, line, "unterminated labels");
			size_t lab = (size_t)(close - l) - i - 1;
			if (lab >= PROM_LABELS_MAX)
				PROM_FAIL(p, line, "labels too long");
			memcpy(s->labels, l + i + 1, lab);
			if (prom_labels(p, line, l + i + 1, lab, s, &has_le) != NULL)
				return p->err;
			i = (size_t)(close - l) + 1;
		}
		if (i >= ll || l[i] != ' ')
			PROM_FAIL(p, line, "expected a space before the value");
		i++;
		if (memchr(l + i, ' ', ll - i) != NULL)
			PROM_FAIL(p, line, "a timestamp or more after the value");
		if (!prom_float(l + i, ll - i, &s->value))
			PROM_FAIL(p, line, "bad value");
		char suffix[16];
		if (cur == NULL || cur->type[0] == '\0' ||
		    !prom_member(cur, s->name, suffix))
			PROM_FAIL(p, line, "sample %s outside its family's TYPE", s->name);
		strcpy(s->family, cur->name);
		if (has_le != (strcmp(suffix, "_bucket") == 0))
			PROM_FAIL(p, line, "le where it does not belong, or missing");
		bool counting = strcmp(cur->type, "counter") == 0 ||
				strcmp(cur->type, "histogram") == 0;
		if (counting && !(s->value >= 0))
			PROM_FAIL(p, line, "negative or NaN count");
		for (size_t k = cur->first; k < p->n; k++)
			if (strcmp(p->s[k].name, s->name) == 0 &&
			    strcmp(p->s[k].labels, s->labels) == 0)
				PROM_FAIL(p, line, "series %.100s{%.200s} twice", s->name, s->labels);
		p->n++;
		cur->n++;
	}
	if (cur != NULL && strcmp(cur->type, "histogram") == 0 &&
	    prom_check_histogram(p, cur) != NULL)
		return p->err;
	return NULL;
}

/* The sample name{labels} (labels exactly as written, "" for none). */
static inline const struct prom_sample *prom_find(const struct prom *p,
						  const char *name,
						  const char *labels)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->s[i].name, name) == 0 &&
		    strcmp(p->s[i].labels, labels) == 0)
			return &p->s[i];
	return NULL;
}

/* Its value, or NAN when there is no such sample. */
static inline double prom_value(const struct prom *p, const char *name,
				const char *labels)
{
	const struct prom_sample *s = prom_find(p, name, labels);
	return s != NULL ? s->value : NAN;
}

/* The type of a family, or NULL. */
static inline const char *prom_type(struct prom *p, const char *name)
{
	const struct prom_family *f = prom_family_of(p, name);
	return f != NULL ? f->type : NULL;
}

#endif
