/* libalbatross — statistics as text: the Influx line protocol of
 * albatross-influx (spec §8.5) and the Prometheus text exposition format.
 * SPDX-License-Identifier: ISC */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/internal.h"
#include "dcommon/text.h"
#include "stats_internal.h"

/* ---- Influx line protocol (spec §8.5) --------------------------------- */

/* OCaml's Printf "%06d": at least six characters, zero-padded. */
static void usec6(struct alb_text *t, int64_t usec)
{
	if (usec < 0 || usec > 999999) {
		alb_text_fmt(t, "%06lld", (long long)usec);
		return;
	}
	char d[6];
	for (int i = 5; i >= 0; i--, usec /= 10)
		d[i] = (char)('0' + usec % 10);
	alb_text_put(t, d, 6);
}

/* "key=S.UUUUUU": seconds printed unsigned ("%Lu"), as Albatross does. */
static void field_tv(struct alb_text *t, const char *key,
		     struct alb_timeval tv)
{
	alb_text_str(t, key);
	alb_text_u64(t, (uint64_t)tv.sec);
	alb_text_put(t, ".", 1);
	usec6(t, tv.usec);
}

/* "key=Ni": an int64 printed unsigned ("%Lui"). */
static void field_u64(struct alb_text *t, const char *key, int64_t v)
{
	alb_text_str(t, key);
	alb_text_u64(t, (uint64_t)v);
	alb_text_put(t, "i", 1);
}

/* "key=Ni": an int32 printed unsigned ("%lui"). */
static void field_u32(struct alb_text *t, const char *key, int32_t v)
{
	alb_text_str(t, key);
	alb_text_u64(t, (uint32_t)v);
	alb_text_put(t, "i", 1);
}

static double tv_seconds(struct alb_timeval tv)
{
	return (double)tv.sec + (double)tv.usec / 1e6;
}

static void influx_head(struct alb_text *t, const char *measurement,
			const char *vm)
{
	alb_text_str(t, measurement);
	alb_text_str(t, ",vm=");
	alb_text_influx_key(t, vm, strlen(vm));
}

static void influx_rusage(struct alb_text *t, const char *vm,
			  const struct alb_rusage *r)
{
	influx_head(t, "resource_usage", vm);
	field_tv(t, " utime=", r->utime);
	field_tv(t, ",stime=", r->stime);
	field_u64(t, ",maxrss=", r->maxrss);
	field_u64(t, ",ixrss=", r->ixrss);
	field_u64(t, ",idrss=", r->idrss);
	field_u64(t, ",isrss=", r->isrss);
	field_u64(t, ",minflt=", r->minflt);
	/* Albatross's field name, kept for the dashboards built on it */
	field_u64(t, ",maxflt=", r->majflt);
	field_u64(t, ",nswap=", r->nswap);
	field_u64(t, ",inblock=", r->inblock);
	field_u64(t, ",outblock=", r->oublock);
	field_u64(t, ",msgsnd=", r->msgsnd);
	field_u64(t, ",msgrcv=", r->msgrcv);
	field_u64(t, ",nsignals=", r->nsignals);
	field_u64(t, ",nvcsw=", r->nvcsw);
	field_u64(t, ",nivcsw=", r->nivcsw);
	alb_text_put(t, "\n", 1);
}

static void influx_mem(struct alb_text *t, const char *vm,
		       const struct alb_kinfo_mem *m, struct alb_timeval now)
{
	influx_head(t, "kinfo_mem", vm);
	field_u64(t, " vsize=", m->vsize);
	field_u64(t, ",rss=", m->rss);
	field_u64(t, ",tsize=", m->tsize);
	field_u64(t, ",dsize=", m->dsize);
	field_u64(t, ",ssize=", m->ssize);
	field_u64(t, ",cow_faults=", m->cow);
	field_u64(t, ",runtime=", m->runtime);
	alb_text_fmt(t, ",uptime=%f\n", tv_seconds(now) - tv_seconds(m->start));
}

static void influx_vmm(struct alb_text *t, const char *vm,
		       const struct alb_stats *s)
{
	influx_head(t, "vmm", vm);
	for (size_t i = 0; i < s->n_vmm; i++) {
		alb_text_put(t, i == 0 ? " " : ",", 1);
		alb_text_influx_key(t, s->vmm[i].key.ptr, s->vmm[i].key.len);
		field_u64(t, "=", s->vmm[i].value);
	}
	if (s->n_vmm == 0)
		alb_text_put(t, " ", 1);
	alb_text_put(t, "\n", 1);
}

static void influx_if(struct alb_text *t, const char *vm,
		      const struct alb_ifdata *d)
{
	influx_head(t, "interface", vm);
	alb_text_str(t, ",bridge=");
	alb_text_influx_key(t, d->bridge.ptr, d->bridge.len);
	field_u32(t, " send_queue_length=", d->send_length);
	field_u32(t, ",max_send_queue_length=", d->max_send_length);
	field_u32(t, ",send_queue_drops=", d->send_drops);
	field_u32(t, ",mtu=", d->mtu);
	field_u64(t, ",baudrate=", d->baudrate);
	field_u64(t, ",vm_to_host_packets=", d->input_packets);
	field_u64(t, ",vm_to_host_errors=", d->input_errors);
	field_u64(t, ",vm_to_host_bytes=", d->input_bytes);
	field_u64(t, ",vm_to_host_mcast=", d->input_mcast);
	field_u64(t, ",vm_to_host_dropped=", d->input_dropped);
	field_u64(t, ",collisions=", d->collisions);
	field_u64(t, ",host_to_vm_packets=", d->output_packets);
	field_u64(t, ",host_to_vm_errors=", d->output_errors);
	field_u64(t, ",host_to_vm_bytes=", d->output_bytes);
	field_u64(t, ",host_to_vm_mcast=", d->output_mcast);
	field_u64(t, ",host_to_vm_dropped=", d->output_dropped);
	alb_text_put(t, "\n", 1);
}

static bool lists_ok(const struct alb_stats *s)
{
	return (s->n_ifdata == 0 || s->ifdata != NULL) &&
	       (!s->has_vmm || s->n_vmm == 0 || s->vmm != NULL);
}

int alb_stats_influx(const char *vm, const struct alb_stats *s,
		     struct alb_timeval now, struct alb_buf *out,
		     struct alb_error *err)
{
	if (vm == NULL || s == NULL || out == NULL || !lists_ok(s))
		return alb_fail(err, ALB_EINVAL, "alb_stats_influx: bad arguments");
	struct alb_text t = {out, false};
	size_t start = out->len;
	influx_rusage(&t, vm, &s->rusage);
	if (s->has_kinfo_mem)
		influx_mem(&t, vm, &s->kinfo_mem, now);
	if (s->has_vmm)
		influx_vmm(&t, vm, s);
	for (size_t i = 0; i < s->n_ifdata; i++)
		influx_if(&t, vm, &s->ifdata[i]);
	return alb_text_end(&t, start, err);
}

/* ---- Prometheus text format ------------------------------------------ */

enum metric_src {
	SRC_RU_TV,   /* struct alb_timeval in alb_rusage, as seconds */
	SRC_RU,      /* int64 in alb_rusage */
	SRC_MEM,     /* int64 in alb_kinfo_mem */
	SRC_MEM_US,  /* int64 microseconds in alb_kinfo_mem, as seconds */
	SRC_START,   /* kinfo-mem start, as seconds */
	SRC_UPTIME,  /* now - start, in seconds */
	SRC_IF64,    /* int64 in alb_ifdata */
	SRC_IF32     /* int32 in alb_ifdata */
};

struct metric {
	const char *name;
	bool counter;
	enum metric_src src;
	size_t off;
	const char *help;
};

#define RU(f) offsetof(struct alb_rusage, f)
#define MEM(f) offsetof(struct alb_kinfo_mem, f)
#define IF(f) offsetof(struct alb_ifdata, f)

/* The figures of alb_stats_influx(), under Prometheus's naming rules.
 * Integers print unsigned, as in the Influx output. */
static const struct metric metrics[] = {
	{"utime_seconds_total", true, SRC_RU_TV, RU(utime), "User CPU time."},
	{"stime_seconds_total", true, SRC_RU_TV, RU(stime), "System CPU time."},
	{"maxrss_pages", false, SRC_RU, RU(maxrss), "Resident set size (rusage maxrss) in pages."},
	{"ixrss", false, SRC_RU, RU(ixrss), "Integral shared memory size (rusage ixrss)."},
	{"idrss", false, SRC_RU, RU(idrss), "Integral unshared data size (rusage idrss)."},
	{"isrss", false, SRC_RU, RU(isrss), "Integral unshared stack size (rusage isrss)."},
	{"minflt_total", true, SRC_RU, RU(minflt), "Minor page faults."},
	{"majflt_total", true, SRC_RU, RU(majflt), "Major page faults."},
	{"nswap_total", true, SRC_RU, RU(nswap), "Swaps (rusage nswap)."},
	{"inblock_total", true, SRC_RU, RU(inblock), "Block input operations."},
	{"outblock_total", true, SRC_RU, RU(oublock), "Block output operations."},
	{"msgsnd_total", true, SRC_RU, RU(msgsnd), "IPC messages sent."},
	{"msgrcv_total", true, SRC_RU, RU(msgrcv), "IPC messages received."},
	{"nsignals_total", true, SRC_RU, RU(nsignals), "Signals received."},
	{"nvcsw_total", true, SRC_RU, RU(nvcsw), "Voluntary context switches."},
	{"nivcsw_total", true, SRC_RU, RU(nivcsw), "Involuntary context switches."},
	{"vsize_bytes", false, SRC_MEM, MEM(vsize), "Virtual memory size in bytes."},
	{"rss_pages", false, SRC_MEM, MEM(rss), "Resident set size in pages."},
	{"tsize_pages", false, SRC_MEM, MEM(tsize), "Text size in pages."},
	{"dsize_pages", false, SRC_MEM, MEM(dsize), "Data size in pages."},
	{"ssize_pages", false, SRC_MEM, MEM(ssize), "Stack size in pages."},
	{"cow_faults_total", true, SRC_MEM, MEM(cow), "Copy-on-write faults."},
	{"runtime_seconds_total", true, SRC_MEM_US, MEM(runtime), "CPU time (user and system)."},
	{"start_time_seconds", false, SRC_START, 0, "Start time of the process since the Unix epoch."},
	{"uptime_seconds", false, SRC_UPTIME, 0, "Seconds since the process started."},
	{"interface_send_queue_length", false, SRC_IF32, IF(send_length), "Send queue length."},
	{"interface_max_send_queue_length", false, SRC_IF32, IF(max_send_length), "Maximum send queue length."},
	{"interface_send_queue_drops_total", true, SRC_IF32, IF(send_drops), "Send queue drops."},
	{"interface_mtu", false, SRC_IF32, IF(mtu), "MTU in bytes."},
	{"interface_baudrate", false, SRC_IF64, IF(baudrate), "Link speed in bits per second."},
	{"interface_vm_to_host_packets_total", true, SRC_IF64, IF(input_packets), "Packets sent by the unikernel."},
	{"interface_vm_to_host_errors_total", true, SRC_IF64, IF(input_errors), "Errors on packets sent by the unikernel."},
	{"interface_vm_to_host_bytes_total", true, SRC_IF64, IF(input_bytes), "Bytes sent by the unikernel."},
	{"interface_vm_to_host_mcast_total", true, SRC_IF64, IF(input_mcast), "Multicast packets sent by the unikernel."},
	{"interface_vm_to_host_dropped_total", true, SRC_IF64, IF(input_dropped), "Dropped packets sent by the unikernel."},
	{"interface_collisions_total", true, SRC_IF64, IF(collisions), "Collisions."},
	{"interface_host_to_vm_packets_total", true, SRC_IF64, IF(output_packets), "Packets sent to the unikernel."},
	{"interface_host_to_vm_errors_total", true, SRC_IF64, IF(output_errors), "Errors on packets sent to the unikernel."},
	{"interface_host_to_vm_bytes_total", true, SRC_IF64, IF(output_bytes), "Bytes sent to the unikernel."},
	{"interface_host_to_vm_mcast_total", true, SRC_IF64, IF(output_mcast), "Multicast packets sent to the unikernel."},
	{"interface_host_to_vm_dropped_total", true, SRC_IF64, IF(output_dropped), "Dropped packets sent to the unikernel."},
};

#define PROM_PREFIX "albatross_"

static void prom_family(struct alb_text *t, const char *name, bool counter,
			const char *help)
{
	alb_text_str(t, "# HELP " PROM_PREFIX);
	alb_text_str(t, name);
	alb_text_put(t, " ", 1);
	alb_text_str(t, help);
	alb_text_str(t, "\n# TYPE " PROM_PREFIX);
	alb_text_str(t, name);
	alb_text_str(t, counter ? " counter\n" : " gauge\n");
}

static int64_t at64(const void *base, size_t off)
{
	int64_t v;
	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static void prom_value(struct alb_text *t, const struct metric *m,
		       const struct alb_stats *s, const struct alb_ifdata *d,
		       struct alb_timeval now)
{
	alb_text_put(t, " ", 1);
	switch (m->src) {
	case SRC_RU_TV: {
		struct alb_timeval tv;
		memcpy(&tv, (const char *)&s->rusage + m->off, sizeof(tv));
		alb_text_u64(t, (uint64_t)tv.sec);
		alb_text_put(t, ".", 1);
		usec6(t, tv.usec);
		break;
	}
	case SRC_RU:
		alb_text_u64(t, (uint64_t)at64(&s->rusage, m->off));
		break;
	case SRC_MEM:
		alb_text_u64(t, (uint64_t)at64(&s->kinfo_mem, m->off));
		break;
	case SRC_MEM_US: {
		/* exact: whole seconds, then six digits */
		uint64_t us = (uint64_t)at64(&s->kinfo_mem, m->off);
		alb_text_u64(t, us / 1000000);
		alb_text_put(t, ".", 1);
		usec6(t, (int64_t)(us % 1000000));
		break;
	}
	case SRC_START:
		alb_text_i64(t, s->kinfo_mem.start.sec);
		alb_text_put(t, ".", 1);
		usec6(t, s->kinfo_mem.start.usec);
		break;
	case SRC_UPTIME:
		alb_text_fmt(t, "%f", tv_seconds(now) -
					  tv_seconds(s->kinfo_mem.start));
		break;
	case SRC_IF64:
		alb_text_u64(t, (uint64_t)at64(d, m->off));
		break;
	case SRC_IF32: {
		int32_t v;
		memcpy(&v, (const char *)d + m->off, sizeof(v));
		alb_text_u64(t, (uint32_t)v);
		break;
	}
	}
	alb_text_put(t, "\n", 1);
}

static void prom_metric(struct alb_text *t, const struct metric *m,
			const struct alb_stats_entry *v, size_t n,
			struct alb_timeval now)
{
	prom_family(t, m->name, m->counter, m->help);
	bool per_if = m->src == SRC_IF64 || m->src == SRC_IF32;
	bool mem = m->src == SRC_MEM || m->src == SRC_MEM_US ||
		   m->src == SRC_START ||
		   m->src == SRC_UPTIME;
	for (size_t i = 0; i < n; i++) {
		const struct alb_stats *s = v[i].stats;
		if (mem && !s->has_kinfo_mem)
			continue;
		size_t rows = per_if ? s->n_ifdata : 1;
		for (size_t j = 0; j < rows; j++) {
			const struct alb_ifdata *d = per_if ? &s->ifdata[j] : NULL;
			alb_text_str(t, PROM_PREFIX);
			alb_text_str(t, m->name);
			alb_text_put(t, "{", 1);
			alb_text_prom_label(t, "vm", v[i].name, strlen(v[i].name));
			if (d != NULL) {
				alb_text_put(t, ",", 1);
				alb_text_prom_label(t, "bridge", d->bridge.ptr,
					   d->bridge.len);
			}
			alb_text_put(t, "}", 1);
			prom_value(t, m, s, d, now);
		}
	}
}

/* FreeBSD's VMM counters, one family keyed by the counter's name. */
static void prom_vmm(struct alb_text *t, const struct alb_stats_entry *v,
		     size_t n)
{
	bool any = false;
	for (size_t i = 0; i < n; i++)
		any = any || v[i].stats->has_vmm;
	if (!any)
		return;
	prom_family(t, "vmm", false, "VMM debug counters (FreeBSD bhyve).");
	for (size_t i = 0; i < n; i++) {
		const struct alb_stats *s = v[i].stats;
		for (size_t j = 0; s->has_vmm && j < s->n_vmm; j++) {
			alb_text_str(t, PROM_PREFIX "vmm{");
			alb_text_prom_label(t, "vm", v[i].name, strlen(v[i].name));
			alb_text_put(t, ",", 1);
			alb_text_prom_label(t, "key", s->vmm[j].key.ptr, s->vmm[j].key.len);
			alb_text_put(t, "} ", 2);
			alb_text_u64(t, (uint64_t)s->vmm[j].value);
			alb_text_put(t, "\n", 1);
		}
	}
}

int alb_stats_prometheus(const struct alb_stats_entry *v, size_t n,
			 struct alb_timeval now, struct alb_buf *out,
			 struct alb_error *err)
{
	if (out == NULL || (n > 0 && v == NULL))
		return alb_fail(err, ALB_EINVAL,
				"alb_stats_prometheus: bad arguments");
	for (size_t i = 0; i < n; i++)
		if (v[i].name == NULL || v[i].stats == NULL ||
		    !lists_ok(v[i].stats))
			return alb_fail(err, ALB_EINVAL,
					"alb_stats_prometheus: bad entry %zu", i);
	struct alb_text t = {out, false};
	size_t start = out->len;
	for (size_t i = 0; i < ALB_ARRAY_LEN(metrics); i++)
		prom_metric(&t, &metrics[i], v, n, now);
	prom_vmm(&t, v, n);
	return alb_text_end(&t, start, err);
}
