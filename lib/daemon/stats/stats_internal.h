/* libalbatross — private parts of the stats module: the /proc parsers, a
 * text builder, the subscriber registry, and the daemon's TCP sides.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_STATS_INTERNAL_H
#define ALB_STATS_INTERNAL_H

#include <sys/socket.h>

#include "albatross/name.h"
#include "albatross/stats.h"

#include "host/proc.h"

/* ---- text output (stats_export.c) ------------------------------------ */

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

/* ---- subscribers (stats.c) ------------------------------------------- */

/* Subscriptions by name; several subscribers may share a name (Albatross
 * keeps one). A subscriber is an opaque owner pointer with the version of
 * its Stats_subscribe and the name it subscribed to. */
struct alb_stats_subs;

struct alb_stats_subs *alb_stats_subs_new(void);
void alb_stats_subs_free(struct alb_stats_subs *r);

/* Registers owner at name (canonical); *added (may be NULL) tells whether
 * this is a new subscription or one owner already held at exactly that
 * name (only its version is then updated). ALB_ENOMEM, ALB_EINVAL,
 * ALB_ETOOBIG. */
int alb_stats_subs_add(struct alb_stats_subs *r, const char *name,
		       int64_t version, void *owner, bool *added,
		       struct alb_error *err);

/* True when owner holds a subscription at exactly name. */
bool alb_stats_subs_has(const struct alb_stats_subs *r, const char *name,
			const void *owner);

/* Forgets every subscription of owner; returns how many there were. */
size_t alb_stats_subs_remove_owner(struct alb_stats_subs *r, void *owner);

/* Number of subscriptions. */
size_t alb_stats_subs_count(const struct alb_stats_subs *r);

/* Called for each subscriber that covers a unikernel: its owner, version,
 * and the unikernel's name relative to the subscription's path (what the
 * header of its Data carries). Return 0 to go on. */
typedef int (*alb_stats_subs_fn)(void *ctx, void *owner, int64_t version,
				 const char *relative_name);

/* Visits the subscribers of unikernel name (spec §8.2): those registered
 * at the root, at each path prefix of name, and at name itself (a name
 * `foo` shares the node of the path `foo:`), deepest first. Returns 0 or
 * the first non-zero return of fn. */
int alb_stats_subs_collect(const struct alb_stats_subs *r, const char *name,
			   alb_stats_subs_fn fn, void *ctx);

/* True when some subscriber covers name. */
bool alb_stats_subs_any(const struct alb_stats_subs *r, const char *name);

/* ---- Prometheus endpoint (stats_http.c) ----------------------------- */

enum alb_http_verdict {
	ALB_HTTP_INCOMPLETE,   /* no end of headers yet */
	ALB_HTTP_METRICS,      /* GET (or HEAD) /metrics: 200 */
	ALB_HTTP_NOT_FOUND,    /* another path: 404 */
	ALB_HTTP_BAD_METHOD,   /* another method: 405 */
	ALB_HTTP_BAD_REQUEST,  /* malformed: 400 */
	ALB_HTTP_TOO_LARGE     /* past ALB_STATS_HTTP_REQUEST_MAX: 431 */
};

/* Looks at the bytes of a request received so far and says what to
 * answer: the request line and headers must end (blank line) within
 * ALB_STATS_HTTP_REQUEST_MAX bytes. *head is set for a HEAD request. */
enum alb_http_verdict alb_http_parse(const char *buf, size_t len, bool *head);

/* Fills out (empty) with the body of GET /metrics. Returns 0 or an ALB_E*
 * code (answered 500). */
typedef int (*alb_http_render_fn)(void *ctx, struct alb_buf *out);

/* Called once a component has closed all its handles and freed itself. */
typedef void (*alb_stats_done_fn)(void *ctx);

struct alb_http_server;

/* Listens on addr (TCP) and answers GET /metrics with render's output as
 * HTTP/1.0, one request per connection. */
int alb_http_server_new(uv_loop_t *loop, const struct sockaddr *addr,
			alb_http_render_fn render, void *ctx,
			struct alb_http_server **out, struct alb_error *err);

/* Closes the listener and every connection; done(ctx) follows once all
 * handles are closed. */
void alb_http_server_close(struct alb_http_server *s, alb_stats_done_fn done,
			   void *ctx);

/* ---- Influx push (stats_influx.c) ------------------------------------ */

/* Parses "HOST[:PORT]" (IPv4 "1.2.3.4:8094", IPv6 "[::1]:8094", bare IPv6
 * "::1" without port) with a numeric host only (no name resolution, so
 * that nothing leaves the machine by surprise). default_port 0 makes the
 * port required. ALB_EINVAL with the reason. */
int alb_stats_parse_addr(const char *s, int default_port,
			 struct sockaddr_storage *out, struct alb_error *err);

struct alb_influx;

/* A client that writes batches of line protocol to a TCP server,
 * connecting lazily (at the first batch) with SO_KEEPALIVE, and dropping
 * the connection on any error or when more than ALB_STATSD_QUEUE_MAX bytes
 * wait (the next batch reconnects). */
int alb_influx_new(uv_loop_t *loop, const struct sockaddr *addr,
		   struct alb_influx **out, struct alb_error *err);

/* Sends batch (moved from: *batch is left empty). While connecting only
 * the newest batch is kept. */
void alb_influx_push(struct alb_influx *c, struct alb_buf *batch);

/* Closes the connection; done(ctx) follows once closed and freed. */
void alb_influx_close(struct alb_influx *c, alb_stats_done_fn done, void *ctx);

/* ---- the daemon's messages (stats.c) --------------------------------- */

/* True when len more bytes may be queued for a peer that has `queued`
 * bytes waiting: nothing waits, or the total stays within
 * ALB_STATSD_QUEUE_MAX. */
bool alb_statsd_queue_ok(size_t queued, size_t len);

/* Encodes the Data (Stats_data s) message with header h, framed. */
int alb_statsd_encode_data(const struct alb_header *h, const struct alb_stats *s,
			   struct alb_buf *out, struct alb_error *err);

/* Encodes a stats command with header h, framed: what alb-statsd sends to
 * albd (Stats_initial) and what its tests send. */
int alb_statsd_encode_cmd(const struct alb_header *h,
			  const struct alb_command *cmd, struct alb_buf *out,
			  struct alb_error *err);

#endif
