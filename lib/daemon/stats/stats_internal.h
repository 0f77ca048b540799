/* libalbatross — private parts of the stats module: the subscriber
 * registry and the daemon's messages.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_STATS_INTERNAL_H
#define ALB_STATS_INTERNAL_H

#include <sys/socket.h>

#include <uv.h>

#include "albatross/name.h"
#include "albatross/stats.h"

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
