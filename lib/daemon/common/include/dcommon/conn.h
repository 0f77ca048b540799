/* libalbatross — daemon/common: connections of the daemon cores.
 * SPDX-License-Identifier: ISC
 *
 * A pool is the set of connections of one core on one socket kind: it
 * accepts on a listening socket (or wraps sockets the core connected
 * itself), and bounds what clients may hold:
 *  - at most conn_max connections; a new one beyond it takes the place of
 *    the oldest connection that has not completed a command yet (so idle
 *    connections can never shut a client out), and is refused only when
 *    every connection is past its first command;
 *  - a connection waiting for a command must complete it within
 *    command_timeout_ms;
 *  - a frame's buffer grows as its bytes arrive (never the announced
 *    length up front). The first DC_FREE_BYTES of a frame are always
 *    granted (small commands are never starved); beyond them the bytes of
 *    incomplete frames of all connections together stay within bytes_max,
 *    and those of one peer user (SO_PEERCRED uid) within uid_bytes_max; a
 *    connection marked as a peer daemon (dc_conn_set_peer(), after its first
 *    command identified it) draws from a reserved share of its own instead.
 *    A connection that may not hold more pauses until bytes are released
 *    (its deadline still runs). Memory held is at most twice what is
 *    counted (buffers double).
 *
 * Every connection has one write queue of buffers sent with
 * send(MSG_NOSIGNAL | MSG_DONTWAIT): a peer that went away is a failed write
 * reported to the core, never a SIGPIPE, so an embedding program need not
 * ignore SIGPIPE. Everything runs on the loop's thread. */
#ifndef ALB_DCOMMON_CONN_H
#define ALB_DCOMMON_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

#include "albatross/common.h"
#include "albatross/wire.h"

/** Bytes of a frame a connection may always hold, outside every budget. */
#define DC_FREE_BYTES 65536u
/** Frames handled per readiness event of one connection (fairness). */
#define DC_FRAMES_PER_WAKE 16
/** Connections accepted per readiness event of a listening socket. */
#define DC_ACCEPTS_PER_WAKE 64
/** Bytes read at once from a connection in raw mode. */
#define DC_RAW_READ 16896

struct dc_pool;
struct dc_conn;

/** What a core does with its connections' events. Every callback may
 * close the connection. */
struct dc_ops {
	/** A connection was accepted on the listening socket: set c->data
	 * and start reading. Return 0, or non-zero to close it. */
	int (*accepted)(struct dc_pool *p, struct dc_conn *c);
	/** A complete frame: the payload is taken over (alb_buf_free()). */
	void (*frame)(struct dc_conn *c, struct alb_buf *payload);
	/** An end-of-stream marker (a length <= 0); NULL: treated as lost. */
	void (*eos)(struct dc_conn *c);
	/** Raw mode (dc_conn_set_raw()): bytes as they arrive, borrowed. */
	void (*bytes)(struct dc_conn *c, const uint8_t *p, size_t n);
	/** The peer closed (rc ALB_EEOF), a read or a write failed (ALB_ESYS),
	 * a frame was too large or the command deadline passed (ALB_ETOOBIG),
	 * or the bytes did not frame (ALB_EPROTO); why says it in words. The
	 * connection reads no more; the core closes it when it is done. */
	void (*lost)(struct dc_conn *c, int rc, const char *why);
	/** Queued bytes were sent; dc_conn_pending() tells what still waits.
	 * May be NULL. */
	void (*drained)(struct dc_conn *c);
	/** c is closed; its memory goes right after this call. May be NULL. */
	void (*closed)(struct dc_conn *c);
	/** A libuv handle of the pool finished closing (the listener or a
	 * connection): the core may check whether it is done. May be NULL. */
	void (*gone)(struct dc_pool *p);
};

/** Limits of a pool; 0 means none for each. */
struct dc_pool_config {
	const char *who;      /* "vmmd", "console", ... for log messages */
	unsigned conn_max;
	size_t frame_max;     /* 0: ALB_FRAME_MAX_DEFAULT */
	unsigned command_timeout_ms;
	size_t bytes_max;     /* beyond DC_FREE_BYTES, all connections */
	size_t uid_bytes_max; /* beyond DC_FREE_BYTES, one peer user */
	size_t reserved_bytes; /* beyond DC_FREE_BYTES, all peer daemons */
	int backlog;          /* listen(); 0: 64 */
};

struct dc_chunk;

/** One connection. Fields other than data are the pool's; read them, do
 * not write them. */
struct dc_conn {
	void *data; /* the core's */
	struct dc_pool *pool;
	int fd;
	uid_t uid;      /* the peer's (SO_PEERCRED), or (uid_t)-1 */
	bool peer;      /* marked as a peer daemon */
	bool identified; /* has completed a frame */
	/* private */
	struct dc_conn *prev, *next; /* oldest first */
	uv_poll_t poll;
	uv_timer_t timer;
	struct alb_frame_reader *rd;
	struct dc_chunk *wq_head, *wq_tail;
	size_t pending;
	size_t held;    /* bytes received of the current frame */
	int events;
	unsigned handles;
	bool reading, deadline, raw, starved, lost, wfail, ending, closing;
	bool accepted;  /* counted against conn_max */
	bool shut_wr, shut_done; /* dc_conn_shutdown_write() */
};

/** Makes a pool on loop with limits cfg (copied; who must outlive the
 * pool) and the core's callbacks. Returns 0 and *out, ALB_EINVAL, ALB_ENOMEM. */
int dc_pool_new(uv_loop_t *loop, const struct dc_pool_config *cfg,
		const struct dc_ops *ops, void *data, struct dc_pool **out,
		struct alb_error *err);
/** The core's pointer given to dc_pool_new(). */
void *dc_pool_data(const struct dc_pool *p);
/** Accepts connections on fd (a listening socket, taken over). */
int dc_pool_listen(struct dc_pool *p, int fd, struct alb_error *err);
/** Stops accepting (the listener closes; its gone callback follows). */
void dc_pool_stop_listening(struct dc_pool *p);
/** Open connections. */
size_t dc_pool_count(const struct dc_pool *p);
/** Open connections that were accepted (the core's own left out), and
 * connections accepted since the pool was made; 0 for NULL. */
size_t dc_pool_accepted(const struct dc_pool *p);
uint64_t dc_pool_accepted_total(const struct dc_pool *p);
/** Calls fn for every connection not closing, oldest first (fn may close
 * the connection it is given). */
void dc_pool_each(struct dc_pool *p, void (*fn)(struct dc_conn *c, void *ctx),
		  void *ctx);
/** Closes the listener and every connection. */
void dc_pool_close_all(struct dc_pool *p);
/** Open libuv handles of the pool (0 once everything closed). */
size_t dc_pool_handles(const struct dc_pool *p);
/** Bytes queued for all connections and not yet sent. */
size_t dc_pool_pending(const struct dc_pool *p);
/** Bytes counted against bytes_max / reserved_bytes now. */
size_t dc_pool_bytes(const struct dc_pool *p);
size_t dc_pool_reserved_bytes(const struct dc_pool *p);
/** Frees a pool whose handles are all closed (dc_pool_handles() == 0);
 * NULL is a no-op. */
void dc_pool_free(struct dc_pool *p);

/** Wraps fd, a connected non-blocking socket the core made (e.g. to a peer
 * daemon), in a connection of p (not counted against conn_max). Returns 0
 * and *out (fd is taken over, also on failure). */
int dc_conn_open(struct dc_pool *p, int fd, void *data, struct dc_conn **out,
		 struct alb_error *err);

/** Reads frames; with command true the pool's command deadline runs until
 * the next frame is complete. */
void dc_conn_read(struct dc_conn *c, bool command);
/** Stops reading (e.g. while a command is processed). */
void dc_conn_pause(struct dc_conn *c);
/** Hands what arrives to ops->bytes instead of framing it. */
void dc_conn_set_raw(struct dc_conn *c);
/** Marks c as a peer daemon: never evicted, no deadline, bytes from the
 * reserved share. Call between frames. */
void dc_conn_set_peer(struct dc_conn *c);
/** Changes the largest frame c accepts. */
int dc_conn_set_frame_max(struct dc_conn *c, size_t max);

/** Queues a framed encoding of m. Returns 0, ALB_EPROTO when c is closing
 * or its writes failed, or the encoder's error (nothing queued). */
int dc_conn_send_msg(struct dc_conn *c, const struct alb_msg *m,
		     struct alb_error *err);
/** Queues p[0..n), which is sent from where it is, not copied: done(ctx)
 * is called once it is sent or dropped (on the loop's thread; at once when
 * nothing could be queued). Returns 0, ALB_EPROTO, ALB_ENOMEM. */
int dc_conn_send_ref(struct dc_conn *c, const void *p, size_t n,
		     void (*done)(void *ctx), void *ctx);
/** dc_conn_send_msg() of m whose string at hole (hole_len bytes, e.g. an
 * image the caller keeps) is sent from where it is (dc_conn_send_ref()):
 * only the rest of the message is encoded. done(ctx) is always called,
 * on failure before this returns. */
int dc_conn_send_msg_ref(struct dc_conn *c, const struct alb_msg *m,
			 const void *hole, size_t hole_len,
			 void (*done)(void *ctx), void *ctx,
			 struct alb_error *err);
/** Queues buf (taken over: it is freed once sent or dropped). */
int dc_conn_send_buf(struct dc_conn *c, struct alb_buf *buf);
/** Queues a copy of p[0..n) and sends at once when nothing waited. */
int dc_conn_send(struct dc_conn *c, const void *p, size_t n);
/** Queues a copy of p[0..n) without sending (small messages queued one
 * after the other share one buffer); dc_conn_flush() sends. */
int dc_conn_queue(struct dc_conn *c, const void *p, size_t n);
/** Sends what the socket takes now; the rest when it is writable. A
 * failure reaches the core through ops->lost, never in this call. */
void dc_conn_flush(struct dc_conn *c);
/** Bytes queued and not yet sent. */
size_t dc_conn_pending(const struct dc_conn *c);
/** Stops reading and closes c once its queue is sent (or at once when a
 * write fails). */
void dc_conn_end(struct dc_conn *c);
/** Shuts the write side (shutdown(SHUT_WR)) once the queue is sent; c
 * goes on reading (e.g. to drain a peer's input so that the close does not
 * turn into a reset). */
void dc_conn_shutdown_write(struct dc_conn *c);
/** Closes c now; what is queued is dropped. */
void dc_conn_close(struct dc_conn *c);

/* ---- the budget, as pure arithmetic (tested alone) ---- */

/** How many more bytes a connection that has received `held` bytes of its
 * current frame may read: up to DC_FREE_BYTES always; beyond, what the
 * budget `max` less `used` leaves and, when uid_max is not 0, what the
 * user's `uid_max` less `uid_used` leaves. SIZE_MAX when max is 0. */
size_t dc_budget_allow(size_t held, size_t max, size_t used, size_t uid_max,
		       size_t uid_used);

#endif
