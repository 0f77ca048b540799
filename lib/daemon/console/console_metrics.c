/* libalbatross — the console daemon's own metrics (spec §8.6): the
 * process, its connections (kind unix) and FIFOs (kind fifo), as
 * albatross-console reports them, and its rings and subscribers
 * (Prometheus only).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "console_internal.h"

#define C DC_METRIC_COUNTER
#define G DC_METRIC_GAUGE

enum { M_CONSOLES, M_SUBS, M_RING_BYTES, M_LINES, M_DROPPED, M_EVICTED, N_OWN };

static const struct dc_metric_def own_defs[N_OWN] = {
	[M_CONSOLES] = {"alb_console_consoles", "Consoles known (running and stopped unikernels).", G, false, 0, NULL, NULL, NULL, NULL, 0},
	[M_SUBS] = {"alb_console_subscribers", "Subscribers of consoles.", G, false, 0, NULL, NULL, NULL, NULL, 0},
	[M_RING_BYTES] = {"alb_console_ring_bytes", "Memory of the rings of console lines.", G, false, 0, NULL, NULL, NULL, NULL, 0},
	[M_LINES] = {"alb_console_lines_total", "Console lines read.", C, false, 0, NULL, NULL, NULL, NULL, 0},
	[M_DROPPED] = {"alb_console_subscribers_dropped_total", "Subscribers dropped for not reading.", C, false, 0, NULL, NULL, NULL, NULL, 0},
	[M_EVICTED] = {"alb_console_rings_evicted_total", "Rings dropped (path limit or memory).", C, false, 0, NULL, NULL, NULL, NULL, 0},
};

struct console_metrics {
	struct dc_metrics *reg;
	struct dc_exporter *exp;
	char *influx, *prometheus;
	struct dc_series *unix_active, *unix_opened;
	struct dc_series *fifo_active, *fifo_opened;
	struct dc_series *own[N_OWN];
};

static void collect(void *ctx)
{
	struct alb_console *c = ctx;
	struct console_metrics *m = c->metrics;
	dc_series_set(m->unix_active, dc_pool_accepted(c->pool));
	dc_series_set(m->unix_opened, dc_pool_accepted_total(c->pool));
	dc_series_set(m->fifo_active, c->st.active);
	dc_series_set(m->fifo_opened, c->fifos_opened);
	const uint64_t v[N_OWN] = {
		[M_CONSOLES] = c->st.consoles, [M_SUBS] = c->st.subscribers,
		[M_RING_BYTES] = c->st.ring_bytes, [M_LINES] = c->st.lines,
		[M_DROPPED] = c->st.dropped, [M_EVICTED] = c->st.evicted,
	};
	for (int i = 0; i < N_OWN; i++)
		dc_series_set(m->own[i], v[i]);
}

static char *dup_opt(const char *s, bool *fail)
{
	char *r = s != NULL ? strdup(s) : NULL;
	*fail |= s != NULL && r == NULL;
	return r;
}

int console_metrics_new(struct alb_console *c,
			const struct alb_console_config *cfg,
			struct alb_error *err)
{
	struct console_metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	c->metrics = m;
	bool nomem = false;
	m->influx = dup_opt(cfg->influx, &nomem);
	m->prometheus = dup_opt(cfg->prometheus, &nomem);
	m->reg = dc_metrics_new();
	if (nomem || m->reg == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	int rc = dc_metrics_add_process(m->reg, err);
	if (rc == 0)
		rc = dc_metrics_connections(m->reg, "unix", &m->unix_active,
					    &m->unix_opened, err);
	if (rc == 0)
		rc = dc_metrics_connections(m->reg, "fifo", &m->fifo_active,
					    &m->fifo_opened, err);
	for (int i = 0; i < N_OWN && rc == 0; i++) {
		struct dc_metric *f;
		rc = dc_metric_add(m->reg, &own_defs[i], &f, err);
		if (rc == 0 && (m->own[i] = dc_metric_series(f, NULL)) == NULL)
			rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	if (rc == 0 && dc_metrics_on_collect(m->reg, collect, c, NULL) != 0)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	return rc;
}

static struct dc_exporter_config exporter_config(const struct console_metrics *m)
{
	return (struct dc_exporter_config){
		.influx = m->influx,
		.prometheus = m->prometheus,
		.vm = "albatross_console",
	};
}

int console_metrics_check(const struct alb_console *c, struct alb_error *err)
{
	struct dc_exporter_config ec = exporter_config(c->metrics);
	return dc_exporter_check(&ec, err);
}

int console_metrics_start(struct alb_console *c, struct alb_error *err)
{
	struct console_metrics *m = c->metrics;
	if (m->influx == NULL && m->prometheus == NULL)
		return 0;
	struct dc_exporter_config ec = exporter_config(m);
	return dc_exporter_new(c->loop, m->reg, &ec, &m->exp, err);
}

static void exporter_closed(void *ctx)
{
	struct alb_console *c = ctx;
	c->handles--;
	console_handle_gone(c);
}

void console_metrics_close(struct alb_console *c)
{
	struct console_metrics *m = c->metrics;
	if (m == NULL || m->exp == NULL)
		return;
	c->handles++;
	dc_exporter_close(m->exp, exporter_closed, c);
	m->exp = NULL;
}

void console_metrics_free(struct alb_console *c)
{
	struct console_metrics *m = c->metrics;
	if (m == NULL)
		return;
	dc_metrics_free(m->reg);
	free(m->influx);
	free(m->prometheus);
	free(m);
	c->metrics = NULL;
}
