/* libalbatross — daemon/common: the metrics registry and its two texts,
 * the Prometheus exposition format and Influx line protocol (spec §8.6).
 * SPDX-License-Identifier: ISC */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "dcommon/metrics.h"
#include "dcommon/text.h"

struct dc_series {
	char *label;      /* NULL for a family without label */
	size_t label_cap; /* bytes allocated for label */
	uint64_t u;       /* an integer family's value */
	double d;         /* a float family's value; a histogram's sum */
	uint64_t count;   /* a histogram's observations */
	uint64_t *buckets; /* a histogram's counts per bucket, +Inf last */
	const struct dc_metric *f;
};

struct dc_metric {
	struct dc_metric_def def;
	struct dc_series **s; /* n in use, then `made` kept for reuse */
	size_t n, made, cap;
};

struct collector {
	void (*fn)(void *ctx);
	void *ctx;
	void (*free_ctx)(void *ctx);
};

struct dc_metrics {
	struct dc_metric **f;
	size_t n, cap;
	struct collector *c;
	size_t n_c, cap_c;
};

struct dc_metrics *dc_metrics_new(void)
{
	return calloc(1, sizeof(struct dc_metrics));
}

static void series_free(struct dc_series *s)
{
	if (s == NULL)
		return;
	free(s->label);
	free(s->buckets);
	free(s);
}

void dc_metrics_free(struct dc_metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_c; i++)
		if (m->c[i].free_ctx != NULL)
			m->c[i].free_ctx(m->c[i].ctx);
	for (size_t i = 0; i < m->n; i++) {
		for (size_t j = 0; j < m->f[i]->made; j++)
			series_free(m->f[i]->s[j]);
		free(m->f[i]->s);
		free(m->f[i]);
	}
	free(m->c);
	free(m->f);
	free(m);
}

/* ---- families ------------------------------------------------------------ */

/* Prometheus: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* not starting with "__". */
static bool name_ok(const char *s, bool label)
{
	if (s == NULL || *s == '\0' || (label && strncmp(s, "__", 2) == 0))
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || (!label && c == ':');
		if (!alpha && (p == s || c < '0' || c > '9'))
			return false;
	}
	return true;
}

/* One line, printable: a HELP text or an Influx key. */
static bool text_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return false;
	return true;
}

static int check_def(const struct dc_metrics *m, const struct dc_metric_def *d,
		     struct alb_error *err)
{
	const char *who = d->name ? d->name : d->field ? d->field : "?";
	if (d->name == NULL && d->measurement == NULL)
		return alb_fail(err, ALB_EINVAL, "metric %s: neither named nor pushed",
				who);
	if (d->name != NULL && (!name_ok(d->name, false) || !text_ok(d->help)))
		return alb_fail(err, ALB_EINVAL, "metric %s: invalid name or help",
				who);
	if (d->name != NULL && dc_metrics_find(m, d->name) != NULL)
		return alb_fail(err, ALB_EINVAL, "metric %s: added twice", who);
	if (d->label != NULL && !name_ok(d->label, true))
		return alb_fail(err, ALB_EINVAL, "metric %s: invalid label name",
				who);
	if (d->measurement != NULL &&
	    (!text_ok(d->measurement) || !text_ok(d->field) ||
	     strpbrk(d->measurement, ", ") != NULL))
		return alb_fail(err, ALB_EINVAL, "metric %s: invalid Influx "
				"measurement or field", who);
	if (d->type != DC_METRIC_HISTOGRAM)
		return 0;
	if (d->measurement != NULL || d->n_bounds == 0 || d->bounds == NULL ||
	    d->n_bounds > DC_METRIC_BOUNDS_MAX ||
	    (d->label != NULL && strcmp(d->label, "le") == 0))
		return alb_fail(err, ALB_EINVAL, "histogram %s: needs 1 to %d "
				"bounds, no label le, no Influx field", who,
				DC_METRIC_BOUNDS_MAX);
	for (size_t i = 0; i < d->n_bounds; i++)
		if (!isfinite(d->bounds[i]) ||
		    (i > 0 && d->bounds[i] <= d->bounds[i - 1]))
			return alb_fail(err, ALB_EINVAL, "histogram %s: bounds "
					"must be finite and increasing", who);
	return 0;
}

int dc_metric_add(struct dc_metrics *m, const struct dc_metric_def *def,
		  struct dc_metric **out, struct alb_error *err)
{
	int rc = check_def(m, def, err);
	if (rc != 0)
		return rc;
	struct dc_metric *f = calloc(1, sizeof(*f));
	if (f == NULL || !alb_grow((void **)&m->f, &m->cap, m->n + 1, sizeof(*m->f))) {
		free(f);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	f->def = *def;
	if (f->def.scale == 0)
		f->def.scale = 1;
	m->f[m->n++] = f;
	if (out != NULL)
		*out = f;
	return 0;
}

struct dc_metric *dc_metrics_find(const struct dc_metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->f[i]->def.name != NULL && strcmp(m->f[i]->def.name, name) == 0)
			return m->f[i];
	return NULL;
}

/* ---- series ------------------------------------------------------------- */

static bool label_fits(const struct dc_metric *f, const char *label)
{
	if ((label != NULL) != (f->def.label != NULL))
		return false;
	return label == NULL || strnlen(label, DC_METRIC_LABEL_MAX + 1) <=
					DC_METRIC_LABEL_MAX;
}

struct dc_series *dc_metric_append(struct dc_metric *f, const char *label)
{
	if (f == NULL || !label_fits(f, label) || f->n >= DC_METRIC_SERIES_MAX)
		return NULL;
	if (f->n == f->made) {
		if (!alb_grow((void **)&f->s, &f->cap, f->made + 1, sizeof(*f->s)))
			return NULL;
		struct dc_series *s = calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
		if (f->def.type == DC_METRIC_HISTOGRAM) {
			s->buckets = calloc(f->def.n_bounds + 1, sizeof(*s->buckets));
			if (s->buckets == NULL) {
				free(s);
				return NULL;
			}
		}
		s->f = f;
		f->s[f->made++] = s;
	}
	struct dc_series *s = f->s[f->n];
	if (label != NULL) {
		size_t len = strlen(label) + 1;
		if (len > s->label_cap) {
			char *p = realloc(s->label, len);
			if (p == NULL)
				return NULL;
			s->label = p;
			s->label_cap = len;
		}
		memcpy(s->label, label, len);
	}
	s->u = 0;
	s->d = 0;
	s->count = 0;
	if (s->buckets != NULL)
		memset(s->buckets, 0, (f->def.n_bounds + 1) * sizeof(*s->buckets));
	f->n++;
	return s;
}

struct dc_series *dc_metric_series(struct dc_metric *f, const char *label)
{
	if (f == NULL || !label_fits(f, label))
		return NULL;
	for (size_t i = 0; i < f->n; i++)
		if (label == NULL || strcmp(f->s[i]->label, label) == 0)
			return f->s[i];
	return dc_metric_append(f, label);
}

void dc_metric_clear(struct dc_metric *f)
{
	if (f != NULL)
		f->n = 0;
}

size_t dc_metric_count(const struct dc_metric *f)
{
	return f != NULL ? f->n : 0;
}

void dc_series_add(struct dc_series *s, uint64_t n)
{
	if (s == NULL)
		return;
	if (s->f->def.real)
		s->d += (double)n;
	else
		s->u += n;
}

void dc_series_set(struct dc_series *s, uint64_t v)
{
	if (s == NULL)
		return;
	if (s->f->def.real)
		s->d = (double)v;
	else
		s->u = v;
}

void dc_series_set_real(struct dc_series *s, double v)
{
	if (s == NULL)
		return;
	if (s->f->def.real)
		s->d = v;
	else
		s->u = v > 0 && v < 0x1p64 ? (uint64_t)v : v >= 0x1p64 ? UINT64_MAX : 0;
}

void dc_series_observe(struct dc_series *s, double v)
{
	if (s == NULL || s->buckets == NULL || isnan(v))
		return;
	const struct dc_metric_def *d = &s->f->def;
	size_t i = 0;
	while (i < d->n_bounds && v > d->bounds[i])
		i++;
	s->buckets[i]++;
	s->count++;
	s->d += v;
}

uint64_t dc_series_value(const struct dc_series *s)
{
	if (s == NULL)
		return 0;
	if (s->buckets != NULL)
		return s->count;
	if (s->f->def.real)
		return s->d > 0 && s->d < 0x1p64 ? (uint64_t)s->d : 0;
	return s->u;
}

int dc_metrics_on_collect(struct dc_metrics *m, void (*fn)(void *ctx),
			  void *ctx, void (*free_ctx)(void *ctx))
{
	if (!alb_grow((void **)&m->c, &m->cap_c, m->n_c + 1, sizeof(*m->c)))
		return ALB_ENOMEM;
	m->c[m->n_c++] = (struct collector){fn, ctx, free_ctx};
	return 0;
}

static void collect(struct dc_metrics *m)
{
	for (size_t i = 0; i < m->n_c; i++)
		m->c[i].fn(m->c[i].ctx);
}

/* ---- Prometheus ----------------------------------------------------------- */

static const char *type_name(enum dc_metric_type t)
{
	switch (t) {
	case DC_METRIC_COUNTER: return "counter";
	case DC_METRIC_GAUGE: return "gauge";
	case DC_METRIC_HISTOGRAM: return "histogram";
	}
	return "untyped";
}

/* An integer value in base units: exact while the scale is a whole
 * number and the product fits. */
static void prom_u64(struct alb_text *t, uint64_t u, double scale)
{
	if (scale == 1) {
		alb_text_u64(t, u);
		return;
	}
	if (scale >= 1 && scale < 0x1p53 && (double)(uint64_t)scale == scale &&
	    u <= UINT64_MAX / (uint64_t)scale) {
		alb_text_u64(t, u * (uint64_t)scale);
		return;
	}
	alb_text_real(t, (double)u * scale);
}

/* name[suffix]{label="v"[,le="b"]} */
static void prom_head(struct alb_text *t, const struct dc_metric *f,
		      const struct dc_series *s, const char *suffix,
		      const double *le)
{
	alb_text_str(t, f->def.name);
	alb_text_str(t, suffix);
	if (s->label == NULL && le == NULL) {
		alb_text_put(t, " ", 1);
		return;
	}
	alb_text_put(t, "{", 1);
	if (s->label != NULL) {
		alb_text_prom_label(t, f->def.label, s->label, strlen(s->label));
		if (le != NULL)
			alb_text_put(t, ",", 1);
	}
	if (le != NULL) {
		alb_text_str(t, "le=\"");
		alb_text_real(t, *le);
		alb_text_put(t, "\"", 1);
	}
	alb_text_put(t, "} ", 2);
}

static void prom_histogram(struct alb_text *t, const struct dc_metric *f,
			   const struct dc_series *s)
{
	uint64_t cum = 0;
	for (size_t i = 0; i <= f->def.n_bounds; i++) {
		double inf = INFINITY;
		cum += s->buckets[i];
		prom_head(t, f, s, "_bucket",
			  i < f->def.n_bounds ? &f->def.bounds[i] : &inf);
		alb_text_u64(t, cum);
		alb_text_put(t, "\n", 1);
	}
	prom_head(t, f, s, "_sum", NULL);
	alb_text_real(t, s->d * f->def.scale);
	alb_text_put(t, "\n", 1);
	prom_head(t, f, s, "_count", NULL);
	alb_text_u64(t, s->count);
	alb_text_put(t, "\n", 1);
}

static void prom_family(struct alb_text *t, const struct dc_metric *f)
{
	alb_text_str(t, "# HELP ");
	alb_text_str(t, f->def.name);
	alb_text_put(t, " ", 1);
	alb_text_str(t, f->def.help);
	alb_text_str(t, "\n# TYPE ");
	alb_text_str(t, f->def.name);
	alb_text_put(t, " ", 1);
	alb_text_str(t, type_name(f->def.type));
	alb_text_put(t, "\n", 1);
	for (size_t i = 0; i < f->n; i++) {
		const struct dc_series *s = f->s[i];
		if (f->def.type == DC_METRIC_HISTOGRAM) {
			prom_histogram(t, f, s);
			continue;
		}
		prom_head(t, f, s, "", NULL);
		if (f->def.real)
			alb_text_real(t, s->d * f->def.scale);
		else
			prom_u64(t, s->u, f->def.scale);
		alb_text_put(t, "\n", 1);
	}
}

int dc_metrics_prometheus(struct dc_metrics *m, struct alb_buf *out,
			  struct alb_error *err)
{
	collect(m);
	struct alb_text t = {out, false};
	size_t start = out->len;
	for (size_t i = 0; i < m->n; i++)
		if (m->f[i]->def.name != NULL)
			prom_family(&t, m->f[i]);
	return alb_text_end(&t, start, err);
}

/* ---- Influx --------------------------------------------------------------- */

/* "key=value": an integer as counted ("Ni"), a float with six decimals. */
static void influx_field(struct alb_text *t, const struct dc_metric *f,
			 const struct dc_series *s)
{
	alb_text_influx_key(t, f->def.field, strlen(f->def.field));
	alb_text_put(t, "=", 1);
	if (f->def.real) {
		alb_text_fmt(t, "%f", isfinite(s->d) ? s->d : 0.0);
	} else {
		alb_text_u64(t, s->u);
		alb_text_put(t, "i", 1);
	}
}

/* The series of f that goes on the line of `first` (the group's first
 * family): the same index when its label agrees, else found by label. */
static const struct dc_series *line_series(const struct dc_metric *f, size_t i,
					   const struct dc_series *first)
{
	if (i < f->n && (first->label == NULL ||
			 strcmp(f->s[i]->label, first->label) == 0))
		return f->s[i];
	for (size_t j = 0; first->label != NULL && j < f->n; j++)
		if (strcmp(f->s[j]->label, first->label) == 0)
			return f->s[j];
	return NULL;
}

/* The lines of the families g[0..n) of one measurement. */
static void influx_group(struct alb_text *t, struct dc_metric *const *g,
			 size_t n, const char *vm)
{
	const struct dc_metric *f0 = g[0];
	for (size_t i = 0; i < f0->n; i++) {
		const struct dc_series *s0 = f0->s[i];
		alb_text_str(t, f0->def.measurement);
		alb_text_str(t, ",vm=");
		alb_text_influx_key(t, vm, strlen(vm));
		if (s0->label != NULL && s0->label[0] != '\0') {
			alb_text_put(t, ",", 1);
			alb_text_influx_key(t, f0->def.label, strlen(f0->def.label));
			alb_text_put(t, "=", 1);
			alb_text_influx_key(t, s0->label, strlen(s0->label));
		}
		for (size_t k = 0, fields = 0; k < n; k++) {
			const struct dc_series *s = line_series(g[k], i, s0);
			if (s == NULL)
				continue;
			alb_text_put(t, fields++ == 0 ? " " : ",", 1);
			influx_field(t, g[k], s);
		}
		alb_text_put(t, "\n", 1);
	}
}

int dc_metrics_influx(struct dc_metrics *m, const char *vm,
		      struct alb_buf *out, struct alb_error *err)
{
	collect(m);
	struct alb_text t = {out, false};
	size_t start = out->len;
	for (size_t i = 0; i < m->n;) {
		const char *meas = m->f[i]->def.measurement;
		if (meas == NULL) {
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < m->n && m->f[j]->def.measurement != NULL &&
		       strcmp(m->f[j]->def.measurement, meas) == 0)
			j++;
		influx_group(&t, m->f + i, j - i, vm);
		i = j;
	}
	return alb_text_end(&t, start, err);
}
