/* libalbatross — private: the console daemon core's state, connections
 * and commands, shared by console.c (lifecycle, listening, commands),
 * console_state.c (paths, consoles, FIFO readers), console_conn.c
 * (connections, output, history) and console_metrics.c (its own metrics).
 * SPDX-License-Identifier: ISC
 *
 * State (spec §7.2): a trie of paths; each path has its ring allowance n
 * (from the last Console_add) and its consoles in label order. A console
 * has an optional ring, an optional FIFO reader (it is "active" while it
 * has one) and its subscribers, newest first.
 *
 * Every socket and FIFO is a uv_poll_t with plain non-blocking reads and
 * writes, so that the core owns its buffers: each connection has one
 * output buffer. A new subscriber first catches up from the ring (its
 * history, then whatever arrived meanwhile), never holding more than
 * PUMP_WATERMARK bytes; once caught up it is live and each new line is
 * encoded once and queued to every live subscriber, up to pending_max. */
#ifndef ALB_CONSOLE_INTERNAL_H
#define ALB_CONSOLE_INTERNAL_H

#include <uv.h>

#include "albatross/console.h"
#include "albatross/frame.h"
#include "albatross/name.h"
#include "albatross/wire.h"
#include "albatross/client.h"
#include "dcommon/conn.h"
#include "dcommon/metrics.h"

/* Bytes read from a FIFO per read(); one timestamp for all of them. */
#define READ_BUF 65536
/* Reads per readiness event of one FIFO, so that one chatty console
 * cannot starve the others. */
#define READS_PER_WAKE 16
/* A catching-up subscriber gets history until this many bytes wait. */
#define PUMP_WATERMARK 65536
/* Listening backlog (albatross-console uses 1; a burst of clients should
 * not be refused). */
#define LISTEN_BACKLOG 16

struct conn;
struct reader;

/* One console: (path, label). */
struct entry {
	struct cpath *path;
	struct entry *next, *prev; /* in the path, label order */
	char name[ALB_NAME_BUF];   /* full canonical name */
	const char *label;         /* into name */
	struct alb_console_ring *ring; /* NULL while waiting for the VM */
	struct reader *reader;     /* non-NULL while active */
	struct conn *subs, *subs_tail; /* newest first */
	size_t n_subs;
	bool in_lru;
	bool removing;
	struct entry *lru_next, *lru_prev; /* stopped, ring held: oldest first */
};

/* One path of the trie. */
struct cpath {
	char name[ALB_NAME_BUF]; /* canonical path name */
	int64_t n;               /* rings allowed (spec §7.5) */
	struct entry *entries;   /* label order */
	size_t count;
	struct cpath *next, *prev; /* all paths */
};

struct reader {
	uv_poll_t poll;
	int fd;
	struct alb_console *c;
	struct entry *e; /* NULL once detached */
	struct alb_console_lines *split;
	struct alb_time now; /* of the read being split */
};

enum conn_state {
	CONN_CMD,  /* reading commands */
	CONN_SUB,  /* subscribed: any input ends it */
	CONN_DONE  /* replied: close once the output is out */
};

struct conn {
	struct dc_conn *dc;
	struct alb_console *c;
	enum conn_state state;
	bool closing;
	/* subscription */
	struct entry *e;
	struct conn *sub_next, *sub_prev;
	int64_t version;
	bool live;          /* caught up: new lines are queued as they come */
	uint64_t next_line; /* catching up: number of the next line to send */
};

struct alb_console {
	uv_loop_t *loop;
	char *tmpdir;
	unsigned max_subs;
	size_t pending_max;
	size_t inactive_max;
	unsigned conn_max;
	unsigned command_timeout_ms;
	int listen_fd;      /* given by the caller until started */
	int64_t socket_gid;
	bool bound_path;    /* we bound the socket (removed at shutdown) */
	char sock_path[ALB_SOCKET_PATH_BUF];
	struct dc_pool *pool; /* the connections */
	struct alb_trie *paths;
	struct cpath *path_list;
	struct entry *lru_head, *lru_tail;
	struct alb_console_stats st;
	uint64_t fifos_opened; /* FIFO readers started since the start */
	struct console_metrics *metrics;
	size_t handles; /* FIFO readers' libuv handles (and the metrics
			 * exporter) not yet closed */
	bool started;
	bool freeing;   /* shut down: nothing new is served */
	bool free_when_done; /* alb_console_free() before the handles closed */
	bool done_called;
	alb_console_done_fn done;
	void *done_ctx;
	uint8_t rbuf[READ_BUF];
};

/* ---- console_metrics.c ---- */

/* The registry of the core's own metrics (spec §8.6); ALB_ENOMEM. */
int console_metrics_new(struct alb_console *c,
			const struct alb_console_config *cfg,
			struct alb_error *err);
/* Checks the exporter's addresses: 0 or ALB_EINVAL. */
int console_metrics_check(const struct alb_console *c, struct alb_error *err);
/* Serves and pushes the metrics, if asked. */
int console_metrics_start(struct alb_console *c, struct alb_error *err);
/* Stops serving and pushing (counted in c->handles until closed). */
void console_metrics_close(struct alb_console *c);
void console_metrics_free(struct alb_console *c);

/* ---- console_state.c ---- */

/* One libuv handle of the core has closed: after a shutdown, the last one
 * calls the done callback (and frees the core after alb_console_free()). */
void console_handle_gone(struct alb_console *c);
/* Frees what the core holds besides its handles. */
void console_final_free(struct alb_console *c);
/* A new path with allowance n, in the trie; NULL when out of memory. */
struct cpath *console_path_new(struct alb_console *c, const char *name,
			       int64_t n);
/* Removes an empty path. */
void console_path_free(struct alb_console *c, struct cpath *p);
/* The console of label in p, or NULL. */
struct entry *console_entry_find(const struct cpath *p, const char *label);
/* A new console (no ring, no reader) of full name in p; NULL on ENOMEM. */
struct entry *console_entry_new(struct alb_console *c, struct cpath *p,
				const char *name);
/* Removes a console: closes its subscribers, stops its reader, frees its
 * ring, and its path when that becomes empty. */
void console_entry_remove(struct alb_console *c, struct entry *e);
/* Spec §7.5: a path holding more consoles than it may loses its inactive
 * console with the smallest label. */
void console_maybe_drop(struct alb_console *c, struct cpath *p);
/* k becomes the newest subscriber of e. */
void console_sub_add(struct alb_console *c, struct entry *e, struct conn *k);
/* k stops being a subscriber; a console that never ran is forgotten once
 * nobody waits for it. */
void console_unsubscribe(struct conn *k);
/* Console_add n for a name with a label (spec §7.3): opens its FIFO and
 * reads it. Returns 0, or -1 (logged) when the FIFO cannot be read. */
int console_add_fifo(struct alb_console *c, const char *name, int64_t n);

/* ---- console_conn.c ---- */

/* The core's callbacks of its connection pool. */
extern const struct dc_ops console_conn_ops;
/* k subscribed: any input from now on ends it. */
void console_conn_subscribed(struct conn *k);
/* k answered a Console_add: read its next command (vmmd's connection is a
 * peer from now on). */
void console_conn_next(struct conn *k);
/* Closes a connection (asynchronously; k stays readable until the loop
 * runs); a no-op for one already closing. */
void console_conn_close(struct conn *k);
/* Bytes waiting to be sent to k. */
size_t console_pending(const struct conn *k);
/* Queues p[0..n) for k. A capped write that would make more than
 * pending_max bytes wait drops the subscriber instead. Returns 0, or -1
 * when k is closed. */
int console_conn_queue(struct conn *k, const uint8_t *p, size_t n, bool capped);
/* Writes what waits, as far as the socket takes it. May close k. */
void console_conn_flush(struct conn *k);
/* Encodes m (framed) and queues it uncapped. Returns 0, or -1 when k is
 * closed. */
int console_conn_send(struct conn *k, const struct alb_msg *m);
/* Encodes the framed Console_data message of a line. */
int console_encode_line(const char *name, int64_t version,
			const struct alb_time *t, const struct alb_str *line,
			struct alb_buf *out);
/* Sends a catching-up subscriber history from the ring while little
 * waits, and makes it live once it has every line. May close k. */
void console_pump(struct conn *k);

/* ---- console.c ---- */

/* Decodes and runs one command frame of k. */
void console_handle_frame(struct conn *k, const uint8_t *p, size_t len);

#endif
