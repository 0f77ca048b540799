/* libalbatross — daemon/common: the exporter of a daemon's metrics, its
 * Prometheus endpoint (http.c) and its Influx pushes (influx.c): at once,
 * then every ALB_METRICS_PUSH_INTERVAL_S seconds, as Albatross's
 * albatrossd_utils does (spec §8.6).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "albatross/log.h"
#include "albatross/metrics.h"
#include "base/internal.h"
#include "dcommon/http.h"
#include "dcommon/inet.h"
#include "dcommon/influx.h"
#include "dcommon/metrics.h"

/* Seconds per nanosecond of uv_hrtime(). */
#define NS 1e-9

static const struct dc_metric_def render_def = {
	"alb_metrics_render_duration_seconds",
	"Time the previous scrape took to render, on the daemon's loop.",
	DC_METRIC_GAUGE, true, 0, NULL, NULL, NULL, NULL, 0};

struct dc_exporter {
	uv_loop_t *loop;
	struct dc_metrics *m;
	char *vm;
	struct dc_http_server *http;
	struct dc_influx *influx;
	uv_timer_t timer;
	bool timer_open;
	struct dc_series *render_s;
	int (*before)(void *ctx, struct alb_buf *out);
	void *before_ctx;
	size_t open;       /* components and handles not yet closed */
	bool closing;
	void (*done)(void *ctx);
	void *done_ctx;
};

int dc_exporter_check(const struct dc_exporter_config *cfg,
		      struct alb_error *err)
{
	struct sockaddr_storage sa;
	int rc = 0;
	if (cfg->influx != NULL)
		rc = dc_parse_addr(cfg->influx, ALB_METRICS_INFLUX_PORT_DEFAULT,
				   &sa, err);
	if (rc == 0 && cfg->prometheus != NULL)
		rc = dc_parse_addr(cfg->prometheus, 0, &sa, err);
	return rc;
}

static int render(void *ctx, struct alb_buf *out)
{
	struct dc_exporter *e = ctx;
	uint64_t t0 = uv_hrtime();
	int rc = e->before != NULL ? e->before(e->before_ctx, out) : 0;
	if (rc == 0)
		rc = dc_metrics_prometheus(e->m, out, NULL);
	/* shown by the next scrape */
	dc_series_set_real(e->render_s, (double)(uv_hrtime() - t0) * NS);
	return rc;
}

static void push(uv_timer_t *t)
{
	struct dc_exporter *e = t->data;
	struct alb_buf batch = {0};
	struct alb_error err;
	if (dc_metrics_influx(e->m, e->vm, &batch, &err) != 0)
		alb_log_error("metrics: %s", err.msg);
	else
		dc_influx_push(e->influx, &batch);
	alb_buf_free(&batch);
}

static void destroy(struct dc_exporter *e)
{
	void (*done)(void *ctx) = e->done;
	void *ctx = e->done_ctx;
	free(e->vm);
	free(e);
	if (done != NULL)
		done(ctx);
}

static void release(void *ctx)
{
	struct dc_exporter *e = ctx;
	if (--e->open == 0 && e->closing)
		destroy(e);
}

static void timer_closed(uv_handle_t *h)
{
	release(h->data);
}

int dc_exporter_new(uv_loop_t *loop, struct dc_metrics *m,
		    const struct dc_exporter_config *cfg,
		    struct dc_exporter **out, struct alb_error *err)
{
	int rc = dc_exporter_check(cfg, err);
	if (rc != 0)
		return rc;
	struct dc_exporter *e = calloc(1, sizeof(*e));
	if (e == NULL || (e->vm = strdup(cfg->vm ? cfg->vm : "")) == NULL) {
		free(e);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	e->loop = loop;
	e->m = m;
	e->before = cfg->before;
	e->before_ctx = cfg->before_ctx;
	struct dc_metric *f = dc_metrics_find(m, render_def.name);
	if (f == NULL)
		rc = dc_metric_add(m, &render_def, &f, err);
	if (rc == 0 && (e->render_s = dc_metric_series(f, NULL)) == NULL)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	struct sockaddr_storage sa;
	if (rc == 0 && cfg->prometheus != NULL) {
		dc_parse_addr(cfg->prometheus, 0, &sa, NULL);
		rc = dc_http_server_new(loop, (struct sockaddr *)&sa, render, e,
					&e->http, err);
		e->open += rc == 0;
	}
	if (rc == 0 && cfg->influx != NULL) {
		dc_parse_addr(cfg->influx, ALB_METRICS_INFLUX_PORT_DEFAULT, &sa,
			      NULL);
		rc = dc_influx_new(loop, (struct sockaddr *)&sa, &e->influx, err);
		e->open += rc == 0;
	}
	if (rc == 0 && e->influx != NULL) {
		uint64_t ms = cfg->push_interval_ms != 0
				      ? cfg->push_interval_ms
				      : ALB_METRICS_PUSH_INTERVAL_S * 1000u;
		uv_timer_init(loop, &e->timer);
		e->timer.data = e;
		e->timer_open = true;
		e->open++;
		uv_timer_start(&e->timer, push, 0, ms);
	}
	if (rc != 0) {
		/* what was made closes; e goes with its last handle */
		dc_exporter_close(e, NULL, NULL);
		return rc;
	}
	*out = e;
	return 0;
}

bool dc_exporter_has_influx(const struct dc_exporter *e)
{
	return e != NULL && e->influx != NULL;
}

void dc_exporter_push(struct dc_exporter *e, struct alb_buf *batch)
{
	if (e == NULL || e->influx == NULL || e->closing) {
		alb_buf_free(batch);
		return;
	}
	dc_influx_push(e->influx, batch);
}

void dc_exporter_close(struct dc_exporter *e, void (*done)(void *ctx),
		       void *ctx)
{
	if (e == NULL || e->closing)
		return;
	e->closing = true;
	e->done = done;
	e->done_ctx = ctx;
	/* held until every close below was started */
	e->open++;
	if (e->timer_open)
		uv_close((uv_handle_t *)&e->timer, timer_closed);
	if (e->http != NULL)
		dc_http_server_close(e->http, release, e);
	if (e->influx != NULL)
		dc_influx_close(e->influx, release, e);
	e->http = NULL;
	e->influx = NULL;
	release(e);
}
