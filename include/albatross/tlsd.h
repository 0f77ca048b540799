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
 *   accumulates without a limit, §12.2 item 2);
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

/** Largest cert_list_max, in bytes: a TLS handshake message holds at most
 * 2^24 - 1 bytes, and albatross-client puts whole images into its leaf
 * certificates (spec §9.3). */
#define ALB_TLSD_CERT_LIST_MAX ((1u << 24) - 1)

/** Default largest certificate chain a client may present, in bytes (the
 * body of the TLS Certificate message): room for an image of a few MiB in a
 * leaf; larger images are streamed. Every handshake in progress may hold
 * this much, so handshakes_max times it bounds their memory. */
#define ALB_TLSD_CERT_LIST_DEFAULT (8u * 1024u * 1024u)

/** How the endpoint is set up. Zero it, then set the files and what
 * differs from the defaults. Strings are used during alb_tlsd_new() only. */
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
	/** Serve listen_fd (a listening TCP socket, e.g. from systemd)
	 * instead of binding ip and port; the core closes it. */
	bool use_listen_fd;
	int listen_fd;
	/** Serve exactly one connection on conn_fd (a connected socket, e.g.
	 * inetd's stdin) instead of listening; the core closes it. The loop
	 * ends once that connection is done. */
	bool use_conn_fd;
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
};

/** A running endpoint (opaque). */
struct alb_tlsd;

struct uv_loop_s;

/** Sets up the endpoint on loop (a uv_loop_t): loads the CA, the server
 * certificate and key, and listens (or takes the connection of conn_fd).
 * Nothing happens until the caller runs the loop. Returns 0 and *out (stop
 * it with alb_tlsd_free()); ALB_EINVAL for a bad configuration (e.g.
 * "Options --port and --systemd-socket-activation are not compatible") or
 * a CA file that does not hold exactly one certificate ("expect single ca
 * as cacert"); ALB_EPARSE for an unusable certificate or key; ALB_ESYS when
 * a file cannot be read or the socket cannot be set up; ALB_ENOMEM. After
 * a failure the caller runs the loop once more so that what was set up is
 * released. */
ALB_EXPORT int alb_tlsd_new(struct uv_loop_s *loop,
			    const struct alb_tlsd_config *cfg,
			    struct alb_tlsd **out, struct alb_error *err);

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
};

/** Fills *out with the endpoint's figures. */
ALB_EXPORT void alb_tlsd_get_stats(const struct alb_tlsd *d,
				   struct alb_tlsd_stats *out);

/** Stops the endpoint: closes the listening socket and every connection.
 * The memory of the handle is released by the loop once the last libuv
 * handle has closed, so the caller must run the loop afterwards. NULL is a
 * no-op. */
ALB_EXPORT void alb_tlsd_free(struct alb_tlsd *d);

#ifdef __cplusplus
}
#endif
#endif
