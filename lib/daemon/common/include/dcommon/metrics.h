/* libalbatross — daemon/common: the daemons' metrics (albatross/metrics.h
 * lists them): a small registry of counters, gauges and histograms with
 * fixed buckets, each family with at most one label; its text in the
 * Prometheus exposition format and in Influx line protocol (spec §8.6);
 * the daemon's own process figures and connection counts; and the
 * exporter that serves a registry over HTTP and pushes it to Influx.
 * SPDX-License-Identifier: ISC
 *
 * A family describes both outputs: its Prometheus name (base units, the
 * value multiplied by `scale`) and, when it is pushed, the Influx
 * measurement and field it fills (the value as counted, e.g. MB or
 * pages). Families of one measurement are added one after the other and
 * hold the same label values in the same order: each index is one line
 * (measurement,vm=V,label=L f1=..,f2=..). Everything runs on the loop's
 * thread. */
#ifndef ALB_DCOMMON_METRICS_H
#define ALB_DCOMMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "albatross/common.h"

/** Most series (label values) one family holds; more are refused. */
#define DC_METRIC_SERIES_MAX 65536
/** Most bucket bounds of a histogram (+Inf comes on top). */
#define DC_METRIC_BOUNDS_MAX 32
/** Longest label value, in bytes (a path name fits). */
#define DC_METRIC_LABEL_MAX 1024

enum dc_metric_type {
	DC_METRIC_COUNTER,
	DC_METRIC_GAUGE,
	DC_METRIC_HISTOGRAM
};

/** A metric family. The strings and bounds must outlive the registry
 * (static tables); the description itself is copied. */
struct dc_metric_def {
	const char *name;        /* Prometheus name, or NULL: Influx only */
	const char *help;        /* HELP text (one line) */
	enum dc_metric_type type;
	bool real;               /* a float (else an unsigned integer) */
	double scale;            /* Prometheus value = value * scale; 0: 1 */
	const char *label;       /* its one label (and Influx tag), or NULL */
	const char *measurement; /* Influx measurement, or NULL: not pushed */
	const char *field;       /* Influx field key */
	const double *bounds;    /* histogram: bucket upper bounds, increasing */
	size_t n_bounds;
};

struct dc_metrics;
struct dc_metric;
struct dc_series;

/** An empty registry, or NULL when out of memory. */
struct dc_metrics *dc_metrics_new(void);
/** Frees the registry, its series and its collectors' contexts; NULL is
 * a no-op. */
void dc_metrics_free(struct dc_metrics *m);

/** Adds a family. ALB_EINVAL (with the reason) for a name or label that
 * Prometheus does not accept, a name already taken, a histogram without
 * bounds, with more than DC_METRIC_BOUNDS_MAX, bounds not increasing, a
 * label `le` or an Influx field, a family that is neither named nor
 * pushed; ALB_ENOMEM. *out (may be NULL) is the family. */
int dc_metric_add(struct dc_metrics *m, const struct dc_metric_def *def,
		  struct dc_metric **out, struct alb_error *err);
/** The family of a Prometheus name, or NULL. */
struct dc_metric *dc_metrics_find(const struct dc_metrics *m, const char *name);

/** The series of f with label value `label` (NULL for a family without a
 * label), made at 0 when missing. NULL when out of memory, at
 * DC_METRIC_SERIES_MAX, or for a label value longer than
 * DC_METRIC_LABEL_MAX (or missing, or given to a family without label).
 * Valid until dc_metric_clear(f). */
struct dc_series *dc_metric_series(struct dc_metric *f, const char *label);
/** As dc_metric_series(), without looking for an existing series: for a
 * collector that fills a cleared family with distinct label values. */
struct dc_series *dc_metric_append(struct dc_metric *f, const char *label);
/** Forgets the series of f (a collector refills it at each render; their
 * memory is kept for the next fill). */
void dc_metric_clear(struct dc_metric *f);
/** Number of series of f. */
size_t dc_metric_count(const struct dc_metric *f);

/* Values; every function takes NULL as a no-op. A float family keeps a
 * double, an integer one a uint64_t; set_real on an integer family
 * rounds towards zero (negative: 0). */
void dc_series_add(struct dc_series *s, uint64_t n);
void dc_series_set(struct dc_series *s, uint64_t v);
void dc_series_set_real(struct dc_series *s, double v);
/** A histogram's observation (NaN is ignored). */
void dc_series_observe(struct dc_series *s, double v);
/** An integer series' value (a float one's, truncated). */
uint64_t dc_series_value(const struct dc_series *s);

/** Calls fn(ctx) before each rendering, to set what is read then (in the
 * order of registration); free_ctx(ctx), if not NULL, when the registry
 * is freed. ALB_ENOMEM. */
int dc_metrics_on_collect(struct dc_metrics *m, void (*fn)(void *ctx),
			  void *ctx, void (*free_ctx)(void *ctx));

/** Appends the Prometheus text (exposition format 0.0.4) of every named
 * family to out, after running the collectors: # HELP and # TYPE, then
 * the samples; a histogram's cumulative buckets with le="+Inf", _sum and
 * _count. 0 or ALB_ENOMEM (out then holds what it held before). */
int dc_metrics_prometheus(struct dc_metrics *m, struct alb_buf *out,
			  struct alb_error *err);

/** Appends the Influx lines of every pushed family (spec §8.6), each
 * tagged vm=<vm> first, after running the collectors. 0 or ALB_ENOMEM. */
int dc_metrics_influx(struct dc_metrics *m, const char *vm,
		      struct alb_buf *out, struct alb_error *err);

/* ---- what every daemon reports (metrics_process.c) ------------------- */

/** Adds the daemon's own figures: getrusage() (Influx resource_usage),
 * /proc/self as spec §8.3 reads a process (kinfo_mem), open and most file
 * descriptors, start time, and alb_build_info. ALB_EINVAL, ALB_ENOMEM. */
int dc_metrics_add_process(struct dc_metrics *m, struct alb_error *err);

/** Largest descriptor table counted with one poll() (its array costs 8
 * bytes a slot); a larger one is counted by reading /proc/self/fd. */
#define DC_FD_TABLE_POLL_MAX 16384

/** The process's open file descriptors (alb_process_open_fds). */
uint64_t dc_open_fds(void);

/** The series of connection kind `kind` (Albatross's kinds: unix, fifo)
 * in alb_connections_active and alb_connections_opened_total (Influx
 * connections active and total), the two families added at the first
 * call. ALB_EINVAL, ALB_ENOMEM. */
int dc_metrics_connections(struct dc_metrics *m, const char *kind,
			   struct dc_series **active, struct dc_series **opened,
			   struct alb_error *err);

/* ---- the exporter (metrics_export.c) ------------------------------------ */

struct dc_exporter_config {
	const char *influx;     /* "HOST[:PORT]" or NULL */
	const char *prometheus; /* "ADDR:PORT" or NULL */
	const char *vm;         /* the Influx tag vm (albatross, ...) */
	/* 0: ALB_METRICS_PUSH_INTERVAL_S */
	unsigned push_interval_ms;
	/* text a scrape begins with (alb-statsd's unikernels), or NULL */
	int (*before)(void *ctx, struct alb_buf *out);
	void *before_ctx;
};

/** Checks the addresses of cfg: 0 or ALB_EINVAL with the reason. */
int dc_exporter_check(const struct dc_exporter_config *cfg,
		      struct alb_error *err);

struct dc_exporter;

/** Serves m at cfg->prometheus (GET /metrics) and pushes it to
 * cfg->influx at once and then every push interval; m must outlive the
 * exporter. Adds alb_metrics_render_duration_seconds to m. Returns 0 and
 * *out; ALB_EINVAL for a bad address, ALB_ESYS when it cannot listen,
 * ALB_ENOMEM. */
int dc_exporter_new(uv_loop_t *loop, struct dc_metrics *m,
		    const struct dc_exporter_config *cfg,
		    struct dc_exporter **out, struct alb_error *err);
/** True when the exporter pushes to an Influx server. */
bool dc_exporter_has_influx(const struct dc_exporter *e);
/** Sends a batch of lines to the Influx server (moved from; dropped
 * without one). */
void dc_exporter_push(struct dc_exporter *e, struct alb_buf *batch);
/** Stops serving and pushing; done(ctx) follows once every handle is
 * closed and e is freed. NULL is a no-op (done is not called). */
void dc_exporter_close(struct dc_exporter *e, void (*done)(void *ctx),
		       void *ctx);

#endif
