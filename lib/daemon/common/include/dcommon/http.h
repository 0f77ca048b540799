/* libalbatross — daemon/common: the Prometheus endpoint, a minimal
 * HTTP/1.0 server that answers GET /metrics, one request per connection,
 * within the limits of albatross/metrics.h (ALB_METRICS_HTTP_*).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_DCOMMON_HTTP_H
#define ALB_DCOMMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "albatross/common.h"

enum dc_http_verdict {
	DC_HTTP_INCOMPLETE,   /* no end of headers yet */
	DC_HTTP_METRICS,      /* GET (or HEAD) /metrics: 200 */
	DC_HTTP_NOT_FOUND,    /* another path: 404 */
	DC_HTTP_BAD_METHOD,   /* another method: 405 */
	DC_HTTP_BAD_REQUEST,  /* malformed: 400 */
	DC_HTTP_TOO_LARGE     /* past ALB_METRICS_HTTP_REQUEST_MAX: 431 */
};

/* Looks at the bytes of a request received so far and says what to
 * answer: the request line and headers must end (blank line) within
 * ALB_METRICS_HTTP_REQUEST_MAX bytes. *head is set for a HEAD request. */
enum dc_http_verdict dc_http_parse(const char *buf, size_t len, bool *head);

/* Fills out (empty) with the body of GET /metrics. Returns 0 or an ALB_E*
 * code (answered 500). */
typedef int (*dc_http_render_fn)(void *ctx, struct alb_buf *out);

struct dc_http_server;

/* Listens on addr (TCP, SO_REUSEADDR) and answers GET /metrics with
 * render's output (ALB_METRICS_CONTENT_TYPE) as HTTP/1.0: at most
 * ALB_METRICS_HTTP_CONN_MAX connections (more are closed at accept), each
 * closed ALB_METRICS_HTTP_TIMEOUT_MS after its accept. ALB_ESYS when the
 * address cannot be bound. */
int dc_http_server_new(uv_loop_t *loop, const struct sockaddr *addr,
		       dc_http_render_fn render, void *ctx,
		       struct dc_http_server **out, struct alb_error *err);

/* Closes the listener and every connection; done(ctx) follows once all
 * handles are closed and the server is freed. */
void dc_http_server_close(struct dc_http_server *s, void (*done)(void *ctx),
			  void *ctx);

#endif
