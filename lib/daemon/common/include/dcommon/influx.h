/* libalbatross — daemon/common: the Influx client of the exporters, which
 * writes batches of line protocol to a TCP server (spec §8.5, §8.6).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_DCOMMON_INFLUX_H
#define ALB_DCOMMON_INFLUX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "albatross/common.h"

struct dc_influx;

/* True when a batch of len bytes may be queued for a peer that has
 * `queued` bytes waiting: nothing waits, or the total stays within max. */
bool dc_queue_ok(size_t queued, size_t len, size_t max);

/* A client that connects lazily (at the first batch) with SO_KEEPALIVE,
 * and drops the connection on any error or when more than
 * ALB_METRICS_INFLUX_QUEUE_MAX bytes would wait (the next batch
 * reconnects). */
int dc_influx_new(uv_loop_t *loop, const struct sockaddr *addr,
		  struct dc_influx **out, struct alb_error *err);

/* Sends batch (moved from: *batch is left empty). While connecting, the
 * batches wait (together within ALB_METRICS_INFLUX_QUEUE_MAX; a batch
 * past it is dropped). */
void dc_influx_push(struct dc_influx *c, struct alb_buf *batch);

/* Closes the connection; done(ctx) follows once closed and freed. */
void dc_influx_close(struct dc_influx *c, void (*done)(void *ctx), void *ctx);

#endif
