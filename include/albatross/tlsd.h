/* libalbatross — the TLS endpoint (albatross-tls-endpoint's twin, spec
 * §9.1–9.2): accepts TLS 1.3 connections whose client certificate chain
 * leads to a single CA, maps the chain to (name, policies, command) with
 * the cert module, installs the chain's policies at vmmd, relays the
 * command and its data streams to the local daemon that serves it, and
 * sends the reply back. Driven by a libuv loop that the caller owns.
 * SPDX-License-Identifier: ISC
 *
 * Where it differs from albatross-tls-endpoint:
 * - a chain that does not map to a command (§9.2 step 2) gets a Failure
 *   reply with the reason (header: version 5, sequence 0, the root name)
 *   before the connection closes; upstream closes without a reply, which
 *   albatross-client reports as success (§12.2 item 10). albatross-client
 *   reads the Failure like any other and exits with its failure status;
 * - a streamed image (create with an empty image) is bounded by
 *   image_max and each client chunk by ALB_TLSD_CHUNK_MAX (upstream
 *   accumulates without a limit, §12.2 item 2), and waits for its command
 *   in an unnamed file in $TMPDIR (else ALB_TLSD_SPOOL_DIR), not in memory;
 * - at most conn_max connections are served at once and at most
 *   handshakes_max of them are in their handshake; a new connection beyond
 *   either limit replaces the oldest connection still in its handshake
 *   (so silent connections cannot shut clients out), and is refused only
 *   when none is; a handshake must end within handshake_timeout_ms;
 * - at most addr_conn_max connections come from one source address; more
 *   are refused at accept;
 * - a client certificate chain (the TLS Certificate message) larger than
 *   cert_list_max bytes is refused when its length arrives, before any of
 *   it is buffered, parsed or verified;
 * - an authenticated client that is to send (a streamed image, block data)
 *   and sends nothing for idle_timeout_ms is dropped;
 * - a client or daemon that does not read is not buffered for beyond
 *   ALB_TLSD_PENDING_MAX bytes (reading from the other side pauses
 *   instead). */
#ifndef ALBATROSS_TLSD_H
#define ALBATROSS_TLSD_H

#include "albatross/common.h"
#include "albatross/image.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default TCP port (spec §9.1). */
#define ALB_TLSD_PORT_DEFAULT 1025

/** Default listening address: IPv6 any, dual-stack. */
#define ALB_TLSD_IP_DEFAULT "::"

/** Listen backlog of the TCP socket (spec §2.3). */
#define ALB_TLSD_BACKLOG 10

/** Default most connections served at once; more are closed at accept. */
#define ALB_TLSD_CONN_MAX 64

/** Default time a client has to complete the TLS handshake, in ms. */
#define ALB_TLSD_HANDSHAKE_TIMEOUT_MS 10000

/** Default most connections in their TLS handshake at once. */
#define ALB_TLSD_HANDSHAKES_MAX 16

/** Default most connections from one source address at once. */
#define ALB_TLSD_ADDR_CONN_MAX 8

/** Default time an authenticated client that is to send data (a streamed
 * image, block data) may stay silent, in ms. */
#define ALB_TLSD_IDLE_TIMEOUT_MS 30000

/** Largest chunk a client may send in a data stream (an image or a block
 * device), in bytes: what Albatross's own producers send at most. */
#define ALB_TLSD_CHUNK_MAX 65536

/** Default largest image streamed by a client for a create with an empty
 * image, in bytes: the largest image vmmd accepts. */
#define ALB_TLSD_IMAGE_MAX ALB_IMAGE_MAX

/** Default largest message read from a daemon, in bytes: a reply that
 * holds the largest image with room for the rest. */
#define ALB_TLSD_FRAME_MAX (ALB_IMAGE_MAX + 1024u * 1024u)

/** Most bytes waiting to be sent to one peer of a connection (the TLS
 * client or the daemon); past it reading from the other peer pauses. */
#define ALB_TLSD_PENDING_MAX (1024u * 1024u)

/** Directory of the unnamed files (O_TMPFILE) that hold streamed images
 * until their command goes to the daemon, when $TMPDIR is not set: a
 * streamed image costs disk there, not memory. */
#define ALB_TLSD_SPOOL_DIR "/var/tmp"

/** Largest cert_list_max, in bytes: a TLS handshake message holds at most
 * 2^24 - 1 bytes, and albatross-client puts whole images into its leaf
 * certificates (spec §9.3). */
#define ALB_TLSD_CERT_LIST_MAX ((1u << 24) - 1)

/** Default largest certificate chain a client may present, in bytes (the
 * body of the TLS Certificate message): room for an image of a few MiB in a
 * leaf; larger images are streamed. Every handshake in progress may hold
 * this much, so handshakes_max times it bounds their memory. */
#define ALB_TLSD_CERT_LIST_DEFAULT (8u * 1024u * 1024u)

/** How the endpoint is set up. Fill with alb_tlsd_config_init() first,
 * then set the files and what differs from the defaults. Strings are used
 * during alb_tlsd_new() only. */
/** A streamed image (a create with an empty image, then the image in
 * chunks) goes to vmmd as it comes, in the same form, instead of waiting
 * whole in a file and going inside the create: for an albd behind the
 * endpoint (albatrossd takes only the whole create). Bounded by image_max
 * all the same. */
#define ALB_TLSD_STREAM_IMAGES (UINT64_C(1) << 0)

struct alb_tlsd_config {
	/** PEM file with exactly one certificate: the CA that client chains
	 * must lead to ("expect single ca as cacert" otherwise). */
	const char *ca_file;
	/** PEM file with the server certificate (a chain may follow it). */
	const char *cert_file;
	/** PEM file with the server's private key. */
	const char *key_file;
	/** Runtime directory holding util/vmmd.sock, util/console.sock and
	 * util/stat.sock; NULL: ALB_TMPDIR_DEFAULT of client.h. */
	const char *tmpdir;
	/** Address to listen on; NULL: ALB_TLSD_IP_DEFAULT. An IPv6 socket
	 * accepts IPv4 too. */
	const char *ip;
	/** TCP port; 0 selects an ephemeral port when port_set is true, else
	 * ALB_TLSD_PORT_DEFAULT. */
	uint16_t port;
	bool port_set;
	/** A listening TCP socket to serve (e.g. from systemd) instead of
	 * binding ip and port, or -1; the core takes it over. */
	int listen_fd;
	/** A connected socket (e.g. inetd's stdin) to serve as the only
	 * connection instead of listening, or -1; the core takes it over.
	 * The loop ends once that connection is done. */
	int conn_fd;
	/** 0: ALB_TLSD_CONN_MAX. */
	unsigned conn_max;
	/** 0: ALB_TLSD_HANDSHAKE_TIMEOUT_MS. */
	unsigned handshake_timeout_ms;
	/** 0: ALB_TLSD_IMAGE_MAX. */
	size_t image_max;
	/** 0: ALB_TLSD_FRAME_MAX (at most ALB_FRAME_MAX_LIMIT of frame.h). */
	size_t frame_max;
	/** 0: ALB_TLSD_HANDSHAKES_MAX. */
	unsigned handshakes_max;
	/** 0: ALB_TLSD_ADDR_CONN_MAX. */
	unsigned addr_conn_max;
	/** 0: ALB_TLSD_CERT_LIST_DEFAULT; at most ALB_TLSD_CERT_LIST_MAX. */
	size_t cert_list_max;
	/** 0: ALB_TLSD_IDLE_TIMEOUT_MS. */
	unsigned idle_timeout_ms;
	/** Since 0.3: ALB_TLSD_* flags (others: ALB_EINVAL). */
	uint64_t flags;
	ALB_RESERVED(7);
};

/** Fills cfg with the defaults (listen_fd and conn_fd -1, the rest 0). */
ALB_EXPORT void alb_tlsd_config_init(struct alb_tlsd_config *cfg);

/** An endpoint core (opaque), with every core's lifecycle: alb_tlsd_new(),
 * alb_tlsd_start(), run the loop, alb_tlsd_shutdown() with a callback,
 * alb_tlsd_free(). The core never raises SIGPIPE: clients and daemons are
 * written to with MSG_NOSIGNAL (TLS goes through memory BIOs, never to a
 * socket directly), so the caller need not ignore SIGPIPE. */
struct alb_tlsd;

struct uv_loop_s;

/** Makes an endpoint on loop (a uv_loop_t): loads the CA, the server
 * certificate and key; nothing listens yet. Returns 0 and *out; ALB_EINVAL
 * for a bad configuration (e.g. "Options --port and
 * --systemd-socket-activation are not compatible") or a CA file that does
 * not hold exactly one certificate ("expect single ca as cacert");
 * ALB_EPARSE for an unusable certificate or key; ALB_ESYS when a file
 * cannot be read; ALB_ENOMEM. On failure the caller keeps its sockets. */
ALB_EXPORT int alb_tlsd_new(struct uv_loop_s *loop,
			    const struct alb_tlsd_config *cfg,
			    struct alb_tlsd **out, struct alb_error *err);

/** Starts: listens on listen_fd, or on ip and port (ALB_EINVAL for an
 * address that does not parse, ALB_ESYS when it cannot be bound), or takes
 * the connection of conn_fd. Nothing happens until the caller runs the
 * loop. After a failure, shut down and free. */
ALB_EXPORT int alb_tlsd_start(struct alb_tlsd *d, struct alb_error *err);

/** Called once the endpoint has shut down. */
typedef void (*alb_tlsd_done_fn)(struct alb_tlsd *d, void *ctx);

/** Stops the endpoint: closes the listening socket and every connection;
 * done(d, ctx), if not NULL, is called on the loop once every handle is
 * closed. A second call only replaces done. Returns 0, or ALB_EINVAL for
 * NULL. */
ALB_EXPORT int alb_tlsd_shutdown(struct alb_tlsd *d, alb_tlsd_done_fn done,
				 void *ctx);

/** The TCP port the endpoint listens on (useful after asking for an
 * ephemeral one). ALB_EINVAL when it serves a single connection. */
ALB_EXPORT int alb_tlsd_port(const struct alb_tlsd *d, uint16_t *port,
			     struct alb_error *err);

/** What an endpoint has done (for monitoring and tests). */
struct alb_tlsd_stats {
	size_t connections;   /* open now */
	uint64_t accepted;    /* connections accepted since the start */
	uint64_t refused;     /* closed at accept: over a limit */
	uint64_t handshakes_failed; /* TLS failures, timeouts, replaced ones */
	uint64_t chains_refused;    /* chains that do not map to a command */
	uint64_t commands;    /* commands sent to a daemon */
	uint64_t next_sequence; /* of the next message sent to a daemon */
	ALB_RESERVED(4);
};

/** Fills *out with the endpoint's figures. */
ALB_EXPORT void alb_tlsd_get_stats(const struct alb_tlsd *d,
				   struct alb_tlsd_stats *out);

/** Frees the endpoint: from or after the done callback, or instead of
 * starting it. An endpoint still running is shut down first and its memory
 * released once its last handle has closed (the caller runs the loop until
 * uv_run() returns). NULL is a no-op. */
ALB_EXPORT void alb_tlsd_free(struct alb_tlsd *d);

#ifdef __cplusplus
}
#endif
#endif
