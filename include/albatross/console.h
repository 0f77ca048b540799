/* libalbatross — console output of unikernels (spec §7): a ring of the
 * last lines with their timestamps, the splitter that turns bytes read
 * from a console FIFO into lines as albatross-console does, and the core
 * of alb-consoled (albatross-console's twin) driven by a libuv loop that
 * the caller owns.
 * SPDX-License-Identifier: ISC
 *
 * Where it differs from albatross-console (spec §7, §12.2, §12.5):
 * - every stored line is at most ALB_CONSOLE_LINE_MAX bytes: a complete
 *   line that is longer (Albatross passes up to ~1 KiB when the newline
 *   arrives in time) keeps its first ALB_CONSOLE_LINE_MAX bytes followed by
 *   ALB_CONSOLE_TRUNCATED, as a line without newline already does;
 * - history queries are bounded: a count is clamped to
 *   [0, ALB_CONSOLE_RING_LINES] (a negative count loops forever upstream);
 * - a unikernel keeps exactly max_subscribers subscribers (upstream keeps
 *   one more); when another subscribes, the oldest is dropped, as upstream;
 * - a subscriber that does not read is dropped once ALB_CONSOLE_PENDING_MAX
 *   bytes wait for it, or, while its history is still being sent, once the
 *   ring overwrites the next line it was due (upstream stops reading the
 *   console instead, which stalls the unikernel);
 * - rings of stopped unikernels are evicted, oldest stop first, once they
 *   hold more than ALB_CONSOLE_INACTIVE_MAX bytes together (upstream keeps
 *   every ring of a root-level unikernel forever). */
#ifndef ALBATROSS_CONSOLE_H
#define ALBATROSS_CONSOLE_H

#include "albatross/common.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Lines a ring keeps; the oldest is overwritten by the next one. */
#define ALB_CONSOLE_RING_LINES 1024

/** Longest line kept, in bytes (without a truncation marker). */
#define ALB_CONSOLE_LINE_MAX 512

/** Appended to a line that was cut at ALB_CONSOLE_LINE_MAX bytes. */
#define ALB_CONSOLE_TRUNCATED " [truncated]"
/** Length of ALB_CONSOLE_TRUNCATED. */
#define ALB_CONSOLE_TRUNCATED_LEN 12

/** Longest line a ring stores: a cut line with its marker. */
#define ALB_CONSOLE_STORED_MAX (ALB_CONSOLE_LINE_MAX + ALB_CONSOLE_TRUNCATED_LEN)

/** Bytes Albatross reads from a FIFO at once; the splitter's rules
 * (spec §7.4) apply to pieces of this size. */
#define ALB_CONSOLE_READ_MAX 512

/* ---- the ring ---------------------------------------------------------- */

/** The last ALB_CONSOLE_RING_LINES lines of a console with their times
 * (opaque). The text of all lines lives in one buffer that grows with what
 * is stored, up to alb_console_ring_bytes_max(); nothing is allocated per
 * line. */
struct alb_console_ring;

/** Makes an empty ring. Returns 0 and *out (free with
 * alb_console_ring_free()) or ALB_ENOMEM. */
ALB_EXPORT int alb_console_ring_new(struct alb_console_ring **out,
				    struct alb_error *err);

/** Frees a ring; NULL is a no-op. */
ALB_EXPORT void alb_console_ring_free(struct alb_console_ring *r);

/** Appends line[0..len) read at time t, overwriting the oldest line when
 * the ring is full. Returns 0; ALB_EINVAL for an empty line (empty lines
 * are never stored); ALB_ETOOBIG when len > ALB_CONSOLE_STORED_MAX;
 * ALB_ENOMEM (the ring is unchanged). Invalidates the lines borrowed with
 * alb_console_ring_get(). */
ALB_EXPORT int alb_console_ring_push(struct alb_console_ring *r,
				     const struct alb_time *t,
				     const char *line, size_t len,
				     struct alb_error *err);

/** Number of lines held (at most ALB_CONSOLE_RING_LINES). */
ALB_EXPORT size_t alb_console_ring_len(const struct alb_console_ring *r);

/** Number of lines ever pushed. The line at index i of
 * alb_console_ring_get() is line number total - len + i of the console. */
ALB_EXPORT uint64_t alb_console_ring_total(const struct alb_console_ring *r);

/** Bytes of memory the ring holds now. */
ALB_EXPORT size_t alb_console_ring_bytes(const struct alb_console_ring *r);

/** Most bytes of memory a ring ever holds. */
ALB_EXPORT size_t alb_console_ring_bytes_max(void);

/** The line at index i (0 = the oldest held). Its time goes to *t and its
 * text to *line (NUL-terminated, borrowed: valid until the next push or
 * the ring's free); either may be NULL. ALB_ENOENT when i >= len. */
ALB_EXPORT int alb_console_ring_get(const struct alb_console_ring *r, size_t i,
				    struct alb_time *t, struct alb_str *line);

/** Index of the first line of the history `Count count` (spec §7.6): the
 * last min(count, len) lines; a count <= 0 selects none (returns len). */
ALB_EXPORT size_t alb_console_ring_from_count(const struct alb_console_ring *r,
					      int64_t count);

/** Index of the first line of the history `Since t` (spec §7.6): going
 * back from the newest line, the lines whose time is not earlier than t,
 * stopping at the first earlier one (or after all lines held). Returns len
 * when the newest line is earlier than t. */
ALB_EXPORT size_t alb_console_ring_from_since(const struct alb_console_ring *r,
					      const struct alb_time *t);

/* ---- the line splitter (spec §7.4) -------------------------------------- */

/** Turns the bytes of a console into lines exactly as albatross-console
 * does with its reads of ALB_CONSOLE_READ_MAX bytes: lines end at '\n'
 * (a '\r' stays part of the line), empty lines are dropped, an unfinished
 * line of ALB_CONSOLE_LINE_MAX bytes or more is cut there, marked with
 * ALB_CONSOLE_TRUNCATED, and the rest of it up to the next '\n' is
 * dropped; a complete line longer than ALB_CONSOLE_LINE_MAX is cut and
 * marked the same way. An unfinished line at the end of the stream is
 * lost. (Opaque; no allocation after creation.) */
struct alb_console_lines;

/** Receives one line (1..ALB_CONSOLE_STORED_MAX bytes, not NUL-terminated,
 * valid only during the call). Return 0 to go on, anything else to stop
 * alb_console_lines_feed(), which returns that value. */
typedef int (*alb_console_line_fn)(void *ctx, const char *line, size_t len);

/** Makes a splitter in its initial state. Returns 0 and *out (free with
 * alb_console_lines_free()) or ALB_ENOMEM. */
ALB_EXPORT int alb_console_lines_new(struct alb_console_lines **out,
				     struct alb_error *err);

/** Frees a splitter; NULL is a no-op. */
ALB_EXPORT void alb_console_lines_free(struct alb_console_lines *s);

/** Consumes data[0..len) (any length; it is taken in pieces of
 * ALB_CONSOLE_READ_MAX bytes, as Albatross would read it) and calls fn for
 * every line completed. Returns 0, or the first non-zero return of fn;
 * all of data is consumed either way (the lines after the one fn refused
 * are dropped). */
ALB_EXPORT int alb_console_lines_feed(struct alb_console_lines *s,
				      const uint8_t *data, size_t len,
				      alb_console_line_fn fn, void *ctx);

/** Back to the initial state: the unfinished line is dropped (end of a
 * stream). */
ALB_EXPORT void alb_console_lines_reset(struct alb_console_lines *s);

/** Bytes of an unfinished line held (always < ALB_CONSOLE_READ_MAX). */
ALB_EXPORT size_t alb_console_lines_pending(const struct alb_console_lines *s);

/* ---- the daemon core (alb-consoled, spec §7) ---------------------------- */

struct uv_loop_s;

/** Default and least number of subscribers per unikernel (spec §7.1). */
#define ALB_CONSOLE_SUBSCRIBERS_DEFAULT 5
/** Largest max_subscribers accepted. */
#define ALB_CONSOLE_SUBSCRIBERS_LIMIT 1024

/** Most bytes that may wait to be sent to one subscriber; one more and the
 * subscriber is dropped (its connection closed, with a log line). */
#define ALB_CONSOLE_PENDING_MAX (1024u * 1024u)

/** Most bytes the rings of stopped unikernels hold together; past it the
 * ring of the unikernel that stopped first is dropped, with its waiting
 * subscribers. Running unikernels' rings are never dropped. */
#define ALB_CONSOLE_INACTIVE_MAX (64u * 1024u * 1024u)

/** Largest command frame read, in bytes: a console command with the
 * longest name is about 1.1 KiB. A larger frame closes the connection. */
#define ALB_CONSOLE_FRAME_MAX 4096

/** Most connections served at once. A new one beyond it replaces the
 * oldest connection that has not sent a complete command yet; it is closed
 * at accept only when every connection is past its first command. As
 * frames are at most ALB_CONSOLE_FRAME_MAX bytes, this also bounds the
 * bytes all connections' incomplete commands hold (4 MiB). */
#define ALB_CONSOLE_CONN_MAX 1024

/** A connection waiting for a command must complete it within this many
 * milliseconds, or it is closed. vmmd's connection is exempt once its
 * first Console_add identified it. */
#define ALB_CONSOLE_COMMAND_TIMEOUT_MS 10000

/** How the core is set up. Fill with alb_console_config_init() first, then
 * set what differs from the defaults. Strings are copied by
 * alb_console_new(). */
struct alb_console_config {
	/** Runtime directory; NULL: ALB_TMPDIR_DEFAULT of client.h. FIFOs are
	 * read from <tmpdir>/fifo; <tmpdir>/util is created when missing. */
	const char *tmpdir;
	/** A listening Unix stream socket to serve (e.g. from systemd), or -1
	 * to bind <tmpdir>/util/console.sock. The core takes it over. */
	int listen_fd;
	/** Group of the socket the core binds (mode 0660, whatever the
	 * umask), or -1 to leave the process's group. */
	int64_t socket_gid;
	/** Subscribers per unikernel, 1..ALB_CONSOLE_SUBSCRIBERS_LIMIT; 0:
	 * ALB_CONSOLE_SUBSCRIBERS_DEFAULT. */
	unsigned max_subscribers;
	/** 0: ALB_CONSOLE_PENDING_MAX. */
	size_t pending_max;
	/** 0: ALB_CONSOLE_INACTIVE_MAX. */
	size_t inactive_max;
	/** 0: ALB_CONSOLE_CONN_MAX. */
	unsigned conn_max;
	/** 0: ALB_CONSOLE_COMMAND_TIMEOUT_MS. */
	unsigned command_timeout_ms;
	/** "HOST[:PORT]" (numeric, port ALB_METRICS_INFLUX_PORT_DEFAULT) to
	 * push the daemon's own metrics to (--influx, spec §8.6), or NULL. */
	const char *influx;
	/** "ADDR:PORT" to serve them on, GET /metrics (--prometheus), or
	 * NULL. albatross/metrics.h lists both outputs. */
	const char *prometheus;
	ALB_RESERVED(8);
};

/** Fills cfg with the defaults (tmpdir NULL, listen_fd and socket_gid -1,
 * limits 0). */
ALB_EXPORT void alb_console_config_init(struct alb_console_config *cfg);

/** A console daemon core (opaque). The lifecycle is every core's:
 * alb_console_new(), alb_console_start(), run the loop,
 * alb_console_shutdown() with a callback, alb_console_free(). The core
 * never raises SIGPIPE: its connections are written with MSG_NOSIGNAL (a
 * subscriber or albd that went away is a failed write, the connection
 * dropped), so the caller need not ignore SIGPIPE. */
struct alb_console;

/** Makes a core on loop (a uv_loop_t) with cfg; nothing is touched yet.
 * Returns 0 and *out; ALB_EINVAL for a bad configuration, e.g. "max
 * subscribers must be at most 1024"; ALB_ETOOBIG for a tmpdir too long for
 * a socket path; ALB_ENOMEM. On failure the caller keeps cfg->listen_fd. */
ALB_EXPORT int alb_console_new(struct uv_loop_s *loop,
			       const struct alb_console_config *cfg,
			       struct alb_console **out, struct alb_error *err);

/** Starts listening: on cfg->listen_fd, or on <tmpdir>/util/console.sock
 * (made with its directory when missing; a stale socket file is replaced,
 * ALB_EBUSY when another daemon answers there, ALB_EEXIST when the path is
 * not a socket), and with cfg->influx or cfg->prometheus pushes and serves
 * the daemon's own metrics (albatross/metrics.h; ALB_EINVAL for a bad
 * address, before anything is made). Nothing happens until the caller
 * runs the loop. Returns 0, ALB_EINVAL when called twice, ALB_ESYS. After
 * a failure, shut down and free. */
ALB_EXPORT int alb_console_start(struct alb_console *c, struct alb_error *err);

/** Called once the core has shut down. */
typedef void (*alb_console_done_fn)(struct alb_console *c, void *ctx);

/** Stops the daemon: closes the listening socket (removing the socket file
 * it bound), every connection and every FIFO, frees the rings. done(c,
 * ctx), if not NULL, is called on the loop once every handle is closed (it
 * may be called before this returns). A second call only replaces done.
 * Returns 0, or ALB_EINVAL for NULL. */
ALB_EXPORT int alb_console_shutdown(struct alb_console *c,
				    alb_console_done_fn done, void *ctx);

/** What a daemon holds now (for monitoring and tests). */
struct alb_console_stats {
	size_t connections;
	size_t consoles;      /* (path, label) entries, waiting ones included */
	size_t active;        /* consoles whose FIFO is being read */
	size_t rings;
	size_t subscribers;
	size_t ring_bytes;    /* memory of all rings */
	size_t inactive_bytes; /* of these, the rings of stopped unikernels */
	size_t pending_bytes; /* output waiting for all connections */
	uint64_t lines;       /* lines read since the start */
	uint64_t dropped;     /* subscribers dropped for not reading */
	uint64_t evicted;     /* rings dropped (path limit or memory) */
	ALB_RESERVED(4);
};

/** Fills *out with the daemon's figures. */
ALB_EXPORT void alb_console_get_stats(const struct alb_console *c,
				      struct alb_console_stats *out);

/** Frees the core: from or after the done callback, or instead of
 * starting it. A core still running is shut down first and its memory
 * released once its last handle has closed (the caller runs the loop until
 * uv_run() returns). NULL is a no-op. */
ALB_EXPORT void alb_console_free(struct alb_console *c);

#ifdef __cplusplus
}
#endif
#endif
