/* libalbatross — vmmd: the daemon's own metrics (spec §8.6): the process
 * and its connections (daemon/common), each policy's limits
 * (albatross-policies) and the usage of each path (albatross-unikernels),
 * and the counts of creates, destroys, restarts and failures with the
 * latency of creates (Prometheus only).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "vmmd_internal.h"

#define C DC_METRIC_COUNTER
#define G DC_METRIC_GAUGE
/* Prometheus shows MB as bytes. */
#define MB 1048576.0
/* Seconds per nanosecond of uv_hrtime(). */
#define NS 1e-9

/* Albatross's albatross-policies fields, in its order. */
static const struct dc_metric_def policy_defs[3] = {
	{"alb_policy_unikernels_max", "Most unikernels the policy of a path allows.", G, false, 0, "domain", "albatross-policies", "maximum unikernels", NULL, 0},
	{"alb_policy_memory_max_bytes", "Most memory the policy of a path allows its unikernels.", G, false, MB, "domain", "albatross-policies", "maximum memory", NULL, 0},
	{"alb_policy_block_max_bytes", "Most block storage the policy of a path allows.", G, false, MB, "domain", "albatross-policies", "maximum block", NULL, 0},
};

enum { U_ATTACHED, U_UNATTACHED, U_BLOCK, U_UNIKERNELS, U_MEMORY, N_USAGE };

/* Albatross's albatross-unikernels fields, in its order. */
static const struct dc_metric_def usage_defs[N_USAGE] = {
	[U_ATTACHED] = {"alb_usage_block_attached_bytes", "Block devices of a path attached to a running unikernel.", G, false, MB, "domain", "albatross-unikernels", "attached used block", NULL, 0},
	[U_UNATTACHED] = {"alb_usage_block_unattached_bytes", "Block devices of a path not attached to a running unikernel.", G, false, MB, "domain", "albatross-unikernels", "unattached used block", NULL, 0},
	[U_BLOCK] = {"alb_usage_block_bytes", "Block devices of a path.", G, false, MB, "domain", "albatross-unikernels", "total used block", NULL, 0},
	[U_UNIKERNELS] = {"alb_usage_unikernels", "Running unikernels of a path.", G, false, 0, "domain", "albatross-unikernels", "running unikernels", NULL, 0},
	[U_MEMORY] = {"alb_usage_memory_bytes", "Memory of the running unikernels of a path.", G, false, MB, "domain", "albatross-unikernels", "used memory", NULL, 0},
};

/* From a few milliseconds (a tiny image, no device) to a minute (a large
 * compressed image with devices on a busy host). */
static const double duration_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
					 0.5, 1, 2.5, 5, 10, 30, 60};

static const struct dc_metric_def counter_defs[] = {
	{"alb_unikernel_creates_total", "Unikernels started by a create or force-create command.", C, false, 0, NULL, NULL, NULL, NULL, 0},
	{"alb_unikernel_create_failures_total", "Create and force-create commands that failed.", C, false, 0, NULL, NULL, NULL, NULL, 0},
	{"alb_unikernel_destroys_total", "Unikernels removed by a destroy command.", C, false, 0, NULL, NULL, NULL, NULL, 0},
	{"alb_unikernel_restores_total", "Unikernels of the state file started again at startup.", C, false, 0, NULL, NULL, NULL, NULL, 0},
	{"alb_unikernel_restore_failures_total", "Unikernels of the state file that failed to start at startup.", C, false, 0, NULL, NULL, NULL, NULL, 0},
	{"alb_unikernel_failures_total", "Tenders that ended on their own with an exit code other than 0, a signal, or (adopted) an unknown status.", C, false, 0, NULL, NULL, NULL, NULL, 0},
	{"alb_unikernel_restarts_total", "Unikernels restarted, by a restart command or after a failure.", C, false, 0, "cause", NULL, NULL, NULL, 0},
	{"alb_unikernel_restart_failures_total", "Restarts that failed to start the unikernel, by cause.", C, false, 0, "cause", NULL, NULL, NULL, 0},
	{"alb_unikernel_create_duration_seconds", "Time from a create, force-create or restart command to its successful reply.", DC_METRIC_HISTOGRAM, true, 0, "command", NULL, NULL, duration_bounds, ALB_ARRAY_LEN(duration_bounds)},
};

static const char *const causes[N_CAUSES] = {"command", "failure"};
static const char *const durs[N_DURS] = {"create", "force_create", "restart"};

/* ---- the collector ---------------------------------------------------------- */

/* Albatross's text of a path (Name.Path.to_string): "a:b" for the path
 * name "a:b:", ":" for the root. */
static void domain_text(const char *path, char *out)
{
	size_t len = strlen(path);
	if (len > 1 && path[len - 1] == ':')
		len--;
	memcpy(out, path, len);
	out[len] = '\0';
}

static int mark(struct alb_trie *t, const char *path)
{
	void *old = NULL;
	if (alb_trie_find(t, path) != NULL)
		return 0;
	return alb_trie_insert(t, path, (void *)t, &old, NULL);
}

/* Marks the path of name and every path above it. */
static int mark_up(struct alb_trie *t, const char *name)
{
	char path[ALB_NAME_BUF], up[ALB_NAME_BUF];
	alb_name_path(name, path);
	for (;;) {
		int rc = mark(t, path);
		if (rc != 0 || alb_name_is_root(path))
			return rc;
		alb_name_parent(path, up);
		memcpy(path, up, strlen(up) + 1);
	}
}

static int add_usage(const char *path, void *value, void *ctx)
{
	(void)value;
	struct alb_vmmd *v = ctx;
	struct alb_usage u;
	if (alb_resources_usage(v->res, path, &u, NULL) != 0)
		return 0;
	char dom[ALB_NAME_BUF];
	domain_text(path, dom);
	const int64_t val[N_USAGE] = {
		[U_ATTACHED] = u.block_active,
		[U_UNATTACHED] = u.block_inactive,
		[U_BLOCK] = u.block_active + u.block_inactive,
		[U_UNIKERNELS] = u.unikernels,
		[U_MEMORY] = u.memory,
	};
	for (int i = 0; i < N_USAGE; i++)
		dc_series_set(dc_metric_append(v->metrics.usage[i], dom),
			      val[i] > 0 ? (uint64_t)val[i] : 0);
	return 0;
}

/* The policies, and the usage of the root and of every path that holds a
 * policy, a unikernel or a block device (each once). */
static void collect(void *ctx)
{
	struct alb_vmmd *v = ctx;
	struct vmmd_metrics *m = &v->metrics;
	dc_series_set(m->conn_active, dc_pool_accepted(v->pool));
	dc_series_set(m->conn_opened, dc_pool_accepted_total(v->pool));
	for (int i = 0; i < 3; i++)
		dc_metric_clear(m->policy[i]);
	for (int i = 0; i < N_USAGE; i++)
		dc_metric_clear(m->usage[i]);
	struct alb_trie *paths = alb_trie_new();
	struct alb_named_policy *pol = NULL;
	struct alb_block_info *blk = NULL;
	size_t n_pol = 0, n_blk = 0;
	int rc = paths != NULL ? mark(paths, ":") : ALB_ENOMEM;
	if (rc == 0)
		rc = alb_resources_policy_list(v->res, ":", &pol, &n_pol, NULL);
	for (size_t i = 0; rc == 0 && i < n_pol; i++) {
		const struct alb_policy *p = &pol[i].policy;
		char dom[ALB_NAME_BUF];
		domain_text(pol[i].name, dom);
		const int64_t val[3] = {p->unikernels, p->memory,
					p->has_block ? p->block : 0};
		for (int k = 0; k < 3; k++)
			dc_series_set(dc_metric_append(m->policy[k], dom),
				      val[k] > 0 ? (uint64_t)val[k] : 0);
		rc = mark(paths, pol[i].name);
	}
	if (rc == 0)
		rc = alb_resources_block_list(v->res, ":", &blk, &n_blk, NULL);
	for (size_t i = 0; rc == 0 && i < n_blk; i++)
		rc = mark_up(paths, blk[i].name);
	for (struct vlist *l = v->all.next; rc == 0 && l != &v->all; l = l->next)
		rc = mark_up(paths, vlist_entry(l, struct uk, link)->name);
	if (rc == 0)
		alb_trie_all(paths, add_usage, v);
	else
		alb_log_error("vmmd: metrics: out of memory");
	alb_named_policies_free(pol);
	alb_block_infos_free(blk);
	alb_trie_free(paths, NULL);
}

/* ---- setup ------------------------------------------------------------------ */

static char *dup_opt(const char *s, bool *fail)
{
	char *r = s != NULL ? strdup(s) : NULL;
	*fail |= s != NULL && r == NULL;
	return r;
}

static int add_all(struct vmmd_metrics *m, const struct dc_metric_def *defs,
		   size_t n, struct dc_metric **out, struct alb_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = dc_metric_add(m->reg, &defs[i], &out[i], err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The counters, each series made now so that a scrape shows it at 0. */
static int add_counters(struct vmmd_metrics *m, struct alb_error *err)
{
	struct dc_metric *f[ALB_ARRAY_LEN(counter_defs)];
	int rc = add_all(m, counter_defs, ALB_ARRAY_LEN(counter_defs), f, err);
	if (rc != 0)
		return rc;
	struct dc_series **plain[] = {&m->creates, &m->create_failures,
				      &m->destroys, &m->restores,
				      &m->restore_failures, &m->failures};
	bool ok = true;
	for (size_t i = 0; i < ALB_ARRAY_LEN(plain); i++)
		ok &= (*plain[i] = dc_metric_series(f[i], NULL)) != NULL;
	for (int i = 0; i < N_CAUSES; i++) {
		ok &= (m->restarts[i] = dc_metric_series(f[6], causes[i])) != NULL;
		ok &= (m->restart_failures[i] = dc_metric_series(f[7], causes[i])) != NULL;
	}
	for (int i = 0; i < N_DURS; i++)
		ok &= (m->duration[i] = dc_metric_series(f[8], durs[i])) != NULL;
	return ok ? 0 : alb_fail(err, ALB_ENOMEM, "out of memory");
}

int metrics_new(struct alb_vmmd *v, const struct alb_vmmd_config *c,
		struct alb_error *err)
{
	struct vmmd_metrics *m = &v->metrics;
	bool nomem = false;
	m->influx = dup_opt(c->influx, &nomem);
	m->prometheus = dup_opt(c->prometheus, &nomem);
	m->reg = dc_metrics_new();
	if (nomem || m->reg == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	int rc = dc_metrics_add_process(m->reg, err);
	if (rc == 0)
		rc = dc_metrics_connections(m->reg, "unix", &m->conn_active,
					    &m->conn_opened, err);
	if (rc == 0)
		rc = add_all(m, policy_defs, 3, m->policy, err);
	if (rc == 0)
		rc = add_all(m, usage_defs, N_USAGE, m->usage, err);
	if (rc == 0)
		rc = add_counters(m, err);
	if (rc == 0 && dc_metrics_on_collect(m->reg, collect, v, NULL) != 0)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	return rc;
}

static struct dc_exporter_config exporter_config(const struct alb_vmmd *v)
{
	return (struct dc_exporter_config){
		.influx = v->metrics.influx,
		.prometheus = v->metrics.prometheus,
		.vm = "albatross",
	};
}

int metrics_check(const struct alb_vmmd *v, struct alb_error *err)
{
	struct dc_exporter_config ec = exporter_config(v);
	return dc_exporter_check(&ec, err);
}

int metrics_start(struct alb_vmmd *v, struct alb_error *err)
{
	struct vmmd_metrics *m = &v->metrics;
	if (m->influx == NULL && m->prometheus == NULL)
		return 0;
	struct dc_exporter_config ec = exporter_config(v);
	return dc_exporter_new(v->loop, m->reg, &ec, &m->exp, err);
}

static void exporter_closed(void *ctx)
{
	vmmd_job_end(ctx);
}

void metrics_close(struct alb_vmmd *v)
{
	if (v->metrics.exp == NULL)
		return;
	vmmd_job_begin(v);
	dc_exporter_close(v->metrics.exp, exporter_closed, v);
	v->metrics.exp = NULL;
}

void metrics_free(struct alb_vmmd *v)
{
	dc_metrics_free(v->metrics.reg);
	free(v->metrics.influx);
	free(v->metrics.prometheus);
}

/* ---- counting ---------------------------------------------------------------- */

void metrics_start_done(const struct uop *o)
{
	struct vmmd_metrics *m = &o->op.uk->v->metrics;
	bool ok = o->rc == 0;
	if (o->op.conn == NULL) {
		if (o->mode == CREATE_AUTO)
			dc_series_add(ok ? m->restarts[CAUSE_FAILURE]
					 : m->restart_failures[CAUSE_FAILURE], 1);
		else if (o->mode == CREATE_RESTORE)
			dc_series_add(ok ? m->restores : m->restore_failures, 1);
		return;
	}
	int dur;
	switch (o->cmd) {
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
		dc_series_add(ok ? m->creates : m->create_failures, 1);
		dur = o->cmd == ALB_CMD_UNIKERNEL_CREATE ? DUR_CREATE
							 : DUR_FORCE_CREATE;
		break;
	case ALB_CMD_UNIKERNEL_RESTART:
		dc_series_add(ok ? m->restarts[CAUSE_COMMAND]
				 : m->restart_failures[CAUSE_COMMAND], 1);
		dur = DUR_RESTART;
		break;
	default:
		return;
	}
	if (ok)
		dc_series_observe(m->duration[dur],
				  (double)(uv_hrtime() - o->t0) * NS);
}

void metrics_destroyed(struct alb_vmmd *v)
{
	dc_series_add(v->metrics.destroys, 1);
}

void metrics_exited(struct alb_vmmd *v, const struct alb_exit_status *st,
		    bool known)
{
	if (!known || st->kind != ALB_EXIT_CODE || st->value != 0)
		dc_series_add(v->metrics.failures, 1);
}
