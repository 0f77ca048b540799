/* libalbatross — statistics of running unikernels (spec §8): sampling a
 * process through /proc, the Influx line protocol and the Prometheus text
 * exposition format, and the core of alb-statsd (albatross-stats) driven
 * by a libuv loop that the caller owns.
 * SPDX-License-Identifier: ISC
 *
 * The figures are the ones albatross-stats reports on Linux (spec §8.3):
 * a struct alb_rusage and a struct alb_kinfo_mem of wire.h per process,
 * and one struct alb_ifdata per tap (net.h reads those). */
#ifndef ALBATROSS_STATS_H
#define ALBATROSS_STATS_H

#include "albatross/common.h"
#include "albatross/metrics.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sampling a process (spec §8.3) ---------------------------------- */

/** Largest /proc/PID/stat, statm or status file read, in bytes; a longer
 * one fails with ALB_ETOOBIG (real ones are below 2 KiB). */
#define ALB_STATS_PROC_FILE_MAX 8192

/** Fewest fields /proc/PID/stat must have (proc(5) numbering). */
#define ALB_STATS_STAT_FIELDS_MIN 52
/** Fewest fields /proc/PID/statm must have. */
#define ALB_STATS_STATM_FIELDS_MIN 7

/** A process watched through /proc (opaque): its /proc/PID directory and
 * the files read at each sample stay open, so that a sample costs three
 * pread() calls and a process that died (or whose PID was reused) fails
 * instead of being mistaken for another. */
struct alb_stats_proc;

/** Opens /proc/PID and its stat, statm and status files. The start time of
 * the process is taken now, as the ctime of /proc/PID (Albatross's
 * choice). Returns 0 and *out (free with alb_stats_proc_free()),
 * ALB_EINVAL for a pid outside 1..INT32_MAX, ALB_ENOENT when there is no
 * such process, ALB_ESYS or ALB_ENOMEM. */
ALB_EXPORT int alb_stats_proc_open(int64_t pid, struct alb_stats_proc **out,
				   struct alb_error *err);

/** Frees a handle and closes its files; NULL is a no-op. */
ALB_EXPORT void alb_stats_proc_free(struct alb_stats_proc *p);

/** Samples the process exactly as albatross-stats does on Linux (spec
 * §8.3): rusage (utime, stime, maxrss in pages, minflt, majflt, nswap,
 * nvcsw, nivcsw; every other field 0) and kinfo-mem (vsize in bytes, rss,
 * tsize, dsize = ssize in pages, runtime in microseconds, cow 0, start).
 * Either output may be NULL. Returns 0; ALB_ENOENT when the process has
 * exited; ALB_EPARSE for a file that does not parse ("unable to parse
 * /proc/<pid>/stat", ...); ALB_ETOOBIG; ALB_ESYS. Outputs are written only
 * on success. */
ALB_EXPORT int alb_stats_proc_sample(struct alb_stats_proc *p,
				     struct alb_rusage *ru,
				     struct alb_kinfo_mem *mem,
				     struct alb_error *err);

/** The process id of a handle. */
ALB_EXPORT int64_t alb_stats_proc_pid(const struct alb_stats_proc *p);

/* ---- export formats -------------------------------------------------- */

/** Appends to out (empty or holding earlier output; free it with
 * alb_buf_free()) the Influx line protocol batch that albatross-influx
 * writes for one Stats_data (spec §8.5): the resource_usage line, the
 * kinfo_mem line when present (uptime = now - start), the vmm line when
 * present, one interface line per ifdata, each ended by '\n'. vm is the
 * tag value (albatross-influx uses the label of the name, or the whole
 * name with --no-drop-path). Integers print as Albatross prints them
 * (int64 and int32 as unsigned decimal, with the `maxflt` field name
 * carrying majflt). Tag values are written as given when they hold no
 * ',', '=', ' ' or control byte (always so for names and usual interface
 * names): those three are backslash-escaped as the line protocol asks, and
 * control bytes become '?', so that a value can never break a line. Returns 0, ALB_EINVAL for NULL
 * arguments or ALB_ENOMEM (out then holds what it held before). */
ALB_EXPORT int alb_stats_influx(const char *vm, const struct alb_stats *s,
				struct alb_timeval now, struct alb_buf *out,
				struct alb_error *err);

/** One unikernel's figures for alb_stats_prometheus(). */
struct alb_stats_entry {
	const char *name; /* canonical name, the `vm` label */
	const struct alb_stats *stats;
	ALB_RESERVED(1);
};

/** Content type of alb_stats_prometheus()'s output. */
#define ALB_STATS_PROMETHEUS_CONTENT_TYPE ALB_METRICS_CONTENT_TYPE

/** Appends to out (as alb_stats_influx()) the figures of n unikernels in
 * the Prometheus text exposition format 0.0.4: for each metric a # HELP
 * and a # TYPE line, then one sample per unikernel (label vm, the full
 * name) or per interface (labels vm and bridge, the unikernel-side device
 * name). Names are albatross_<figure>, with _total for counters and the
 * unit in the name (_seconds, _bytes, _pages); label values
 * are escaped as the format asks. Returns 0, ALB_EINVAL or ALB_ENOMEM. */
ALB_EXPORT int alb_stats_prometheus(const struct alb_stats_entry *v, size_t n,
				    struct alb_timeval now,
				    struct alb_buf *out,
				    struct alb_error *err);

/* ---- the daemon core (alb-statsd) ------------------------------------ */

struct uv_loop_s;

/** Default sampling interval, in seconds (spec §8.1). */
#define ALB_STATS_INTERVAL_DEFAULT 10
/** Longest sampling interval accepted, in seconds (one day). */
#define ALB_STATS_INTERVAL_MAX 86400
/** Seconds between attempts to reach albd (spec §8.2). */
#define ALB_STATS_RECONNECT_S 1
/** Default port of --influx (albatross-influx's). */
#define ALB_STATS_INFLUX_PORT_DEFAULT ALB_METRICS_INFLUX_PORT_DEFAULT

/** Largest command frame the daemon accepts, in bytes. */
#define ALB_STATSD_FRAME_MAX 65536
/** Most taps in one Stats_add (Albatross has no limit). */
#define ALB_STATSD_TAPS_MAX 64
/** Most unikernels monitored at once. */
#define ALB_STATSD_UNIKERNELS_MAX 65536
/** Most connections on the stats socket at once. A new one beyond it
 * replaces the oldest connection that has not sent a complete command yet;
 * it is closed at accept only when every connection is past its first
 * command. */
#define ALB_STATSD_CONN_MAX 1024
/** A connection must send its first command within this many
 * milliseconds, or it is closed. */
#define ALB_STATSD_COMMAND_TIMEOUT_MS 10000
/** Bytes of incomplete frames all connections hold together beyond the
 * first 64 KiB of each (frames are at most ALB_STATSD_FRAME_MAX, so this
 * only matters for the few bytes past it). */
#define ALB_STATSD_READ_BYTES_MAX (1024u * 1024u)
/** Most subscriptions one connection may hold. */
#define ALB_STATSD_SUBS_PER_CONN_MAX 64
/** Most bytes queued for one peer (subscriber, Influx server); a peer that
 * lets more pile up is dropped rather than letting memory grow (a message
 * to a peer with nothing queued is always taken). */
#define ALB_STATSD_QUEUE_MAX (4u * 1024u * 1024u)

/** The Prometheus endpoint's limits, every daemon's (metrics.h). */
#define ALB_STATS_HTTP_REQUEST_MAX ALB_METRICS_HTTP_REQUEST_MAX
#define ALB_STATS_HTTP_CONN_MAX ALB_METRICS_HTTP_CONN_MAX
#define ALB_STATS_HTTP_TIMEOUT_MS ALB_METRICS_HTTP_TIMEOUT_MS

/** How the daemon is set up. Fill with alb_statsd_config_init() first,
 * then set what differs from the defaults. Strings are copied by
 * alb_statsd_new(). */
struct alb_statsd_config {
	const char *tmpdir;   /* NULL: ALB_TMPDIR_DEFAULT; util/ is created */
	unsigned interval_s;  /* 0: ALB_STATS_INTERVAL_DEFAULT */
	int listen_fd;        /* a listening socket to serve (systemd), or -1
			       * to bind <tmpdir>/util/stat.sock */
	int64_t socket_gid;   /* group of the bound socket (0660), or -1 */
	bool no_vmmd;         /* do not connect to albd (tests, debugging) */
	/* "HOST[:PORT]", numeric address; NULL: none. The unikernels' lines
	 * (spec §8.5) and the daemon's own (§8.6, albatross/metrics.h). */
	const char *influx;
	bool influx_full_names; /* tag vm = the whole name (--no-drop-path) */
	/* "ADDR:PORT" to serve GET /metrics (the unikernels' figures, then
	 * the daemon's own); NULL */
	const char *prometheus;
	unsigned command_timeout_ms; /* 0: ALB_STATSD_COMMAND_TIMEOUT_MS */
	ALB_RESERVED(8);
};

/** Fills cfg with the defaults (listen_fd and socket_gid -1, the rest 0). */
ALB_EXPORT void alb_statsd_config_init(struct alb_statsd_config *cfg);

/** A statistics daemon core (opaque), with every core's lifecycle:
 * alb_statsd_new(), alb_statsd_start(), run the loop,
 * alb_statsd_shutdown() with a callback, alb_statsd_free(). The core
 * never raises SIGPIPE: the channel to albd, the subscribers, the Influx
 * output and the Prometheus endpoint are written with MSG_NOSIGNAL (a peer
 * that went away is a failed write, the connection dropped), so the
 * caller need not ignore SIGPIPE. */
struct alb_statsd;

/** Makes a core on loop with cfg; nothing is touched yet. Returns 0 and
 * *out, ALB_EINVAL for a bad configuration (with the reason), ALB_ETOOBIG
 * for a tmpdir too long for a socket path, ALB_ENOMEM. On failure the
 * caller keeps cfg->listen_fd. */
ALB_EXPORT int alb_statsd_new(struct uv_loop_s *loop,
			      const struct alb_statsd_config *cfg,
			      struct alb_statsd **out, struct alb_error *err);

/** Starts: listens on cfg->listen_fd or <tmpdir>/util/stat.sock (made with
 * its directory when missing; a stale socket file is replaced, ALB_EBUSY
 * when another daemon answers there, ALB_EEXIST when the path is not a
 * socket), serves the Prometheus endpoint and Influx output if asked, with
 * the daemon's own metrics after the unikernels' (albatross/metrics.h;
 * ALB_EINVAL for a bad address), connects to <tmpdir>/util/vmmd.sock in
 * the background (retrying every ALB_STATS_RECONNECT_S) and samples every
 * interval. Nothing happens until the caller runs the loop. After a
 * failure, shut down and free. */
ALB_EXPORT int alb_statsd_start(struct alb_statsd *d, struct alb_error *err);

/** Called once the core has shut down. */
typedef void (*alb_statsd_done_fn)(struct alb_statsd *d, void *ctx);

/** Stops the daemon: closes every socket (removing the socket file it
 * bound) and timer; done(d, ctx), if not NULL, is called on the loop once
 * every handle is closed. A second call only replaces done. Returns 0, or
 * ALB_EINVAL for NULL. */
ALB_EXPORT int alb_statsd_shutdown(struct alb_statsd *d,
				   alb_statsd_done_fn done, void *ctx);

/** Samples now, as if the interval had elapsed (the interval timer is not
 * reset). */
ALB_EXPORT void alb_statsd_tick(struct alb_statsd *d);

/** Number of unikernels monitored. */
ALB_EXPORT size_t alb_statsd_count(const struct alb_statsd *d);

/** Frees the core: from or after the done callback, or instead of
 * starting it. A core still running is shut down first and its memory
 * released once its last handle has closed (the caller runs the loop until
 * uv_run() returns). NULL is a no-op. */
ALB_EXPORT void alb_statsd_free(struct alb_statsd *d);

#ifdef __cplusplus
}
#endif
#endif
