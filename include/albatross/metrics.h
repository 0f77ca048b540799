/* libalbatross — the daemons' own metrics (spec §8.6): what albd,
 * alb-consoled and alb-statsd push to InfluxDB (--influx, the cores'
 * `influx` setting) and serve to Prometheus (--prometheus, the cores'
 * `prometheus` setting), and the limits of those two outputs.
 * SPDX-License-Identifier: ISC
 *
 * Influx (Albatross's self-metrics, spec §8.6): right after the start and
 * then every ALB_METRICS_PUSH_INTERVAL_S seconds one batch of line
 * protocol over TCP, each line tagged vm=albatross (albd),
 * vm=albatross_console or vm=albatross_stats, without timestamps:
 *   resource_usage,vm=V utime=S.UUUUUU,stime=...,maxrss=Ni,...,nivcsw=Ni
 *     (getrusage of the daemon, the 16 fields of §8.5, maxrss in KiB)
 *   kinfo_mem,vm=V vsize=Ni,rss=Ni,tsize=Ni,dsize=Ni,ssize=Ni,
 *     cow_faults=Ni,runtime=Ni,uptime=F   (the daemon, as §8.3 reads it)
 *   connections,vm=V,kind=K active=Ni,total=Ni
 *     (K: unix for the daemon's socket; fifo for alb-consoled's FIFOs)
 *   albatross-policies,vm=albatross,domain=P maximum\ unikernels=Ni,
 *     maximum\ memory=Ni,maximum\ block=Ni   (albd, each policy, MB)
 *   albatross-unikernels,vm=albatross,domain=P attached\ used\ block=Ni,
 *     unattached\ used\ block=Ni,total\ used\ block=Ni,
 *     running\ unikernels=Ni,used\ memory=Ni
 *     (albd: the root and every path with a policy, a unikernel or a
 *     block device below it; MB)
 * A path P is written as Albatross prints it ("a:b"), the root as ":".
 * alb-statsd's unikernel lines (spec §8.5) go to the same connection.
 *
 * Prometheus (text exposition format 0.0.4, GET /metrics): the same
 * figures in base units, and more; every name starts with alb_:
 *   alb_process_user_cpu_seconds_total, alb_process_system_cpu_seconds_total,
 *   alb_process_cpu_seconds_total, alb_process_max_resident_memory_bytes,
 *   alb_process_minor_page_faults_total, alb_process_major_page_faults_total,
 *   alb_process_block_input_operations_total,
 *   alb_process_block_output_operations_total,
 *   alb_process_voluntary_context_switches_total,
 *   alb_process_involuntary_context_switches_total,
 *   alb_process_virtual_memory_bytes, alb_process_resident_memory_bytes,
 *   alb_process_text_memory_bytes, alb_process_data_memory_bytes,
 *   alb_process_uptime_seconds, alb_process_start_time_seconds,
 *   alb_process_open_fds, alb_process_max_fds, alb_build_info{version},
 *   alb_metrics_render_duration_seconds (the previous scrape's rendering),
 *   alb_connections_active{kind}, alb_connections_opened_total{kind};
 * albd also:
 *   alb_policy_unikernels_max{domain}, alb_policy_memory_max_bytes{domain},
 *   alb_policy_block_max_bytes{domain}, alb_usage_unikernels{domain},
 *   alb_usage_memory_bytes{domain}, alb_usage_block_attached_bytes{domain},
 *   alb_usage_block_unattached_bytes{domain}, alb_usage_block_bytes{domain},
 *   alb_unikernel_creates_total, alb_unikernel_create_failures_total,
 *   alb_unikernel_destroys_total, alb_unikernel_restarts_total{cause},
 *   alb_unikernel_restart_failures_total{cause} (cause: command, failure),
 *   alb_unikernel_restores_total, alb_unikernel_restore_failures_total,
 *   alb_unikernel_failures_total, and the histogram
 *   alb_unikernel_create_duration_seconds{command} (command: create,
 *   force_create, restart; from the command's arrival to its reply);
 * alb-consoled also: alb_console_consoles, alb_console_subscribers,
 *   alb_console_ring_bytes, alb_console_lines_total,
 *   alb_console_subscribers_dropped_total, alb_console_rings_evicted_total;
 * alb-statsd also: alb_stats_unikernels, alb_stats_subscriptions, after
 *   the albatross_* figures of its unikernels (alb_stats_prometheus()). */
#ifndef ALBATROSS_METRICS_H
#define ALBATROSS_METRICS_H

#ifdef __cplusplus
extern "C" {
#endif

/** Seconds between two Influx pushes of a daemon's own metrics (spec
 * §8.6); the first push follows the start at once. */
#define ALB_METRICS_PUSH_INTERVAL_S 10
/** Port of an Influx address given without one (spec §6.1). */
#define ALB_METRICS_INFLUX_PORT_DEFAULT 8094
/** Most bytes waiting for the Influx server; when a batch would go past
 * it, the connection is dropped and the next batch reconnects (a batch
 * that finds nothing waiting is always taken). */
#define ALB_METRICS_INFLUX_QUEUE_MAX (4u * 1024u * 1024u)

/** Content type of a Prometheus scrape. */
#define ALB_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/** Largest HTTP request (request line and headers) of the Prometheus
 * endpoint; a longer one is answered 431 and closed. */
#define ALB_METRICS_HTTP_REQUEST_MAX 8192
/** Most HTTP connections open at once; more are closed at accept. */
#define ALB_METRICS_HTTP_CONN_MAX 64
/** Milliseconds an HTTP client has from its connect until the answer is
 * sent and it has closed; then the connection is closed. */
#define ALB_METRICS_HTTP_TIMEOUT_MS 10000

#ifdef __cplusplus
}
#endif
#endif
