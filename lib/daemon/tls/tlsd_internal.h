/* libalbatross — private parts of the TLS endpoint (tlsd.c: lifecycle
 * and listener; tlsd_tls.c: TLS over a libuv stream with memory BIOs;
 * tlsd_conn.c: the per-connection procedure of spec §9.2).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TLSD_INTERNAL_H
#define ALB_TLSD_INTERNAL_H

#include <openssl/ssl.h>
#include <uv.h>

#include "albatross/cert.h"
#include "albatross/client.h"
#include "albatross/frame.h"
#include "albatross/tlsd.h"
#include "albatross/wire.h"
#include "dcommon/conn.h"

struct alb_tlsd {
	uv_loop_t *loop;
	SSL_CTX *ctx;
	X509 *ca;
	char *tmpdir; /* NULL: the default */
	char *ip;     /* NULL: the default */
	uint16_t port;
	int listen_fd; /* given, until started */
	int conn_fd;   /* given (inetd), until started */
	int tcp_fd;    /* the listening socket (the pool's), or -1 */
	struct dc_pool *pool;    /* the clients */
	struct dc_pool *dm_pool; /* the daemons */
	bool started;
	bool single; /* one connection (conn_fd), no listener */
	bool free_when_done;
	bool done_called;
	alb_tlsd_done_fn done;
	void *done_ctx;
	unsigned conn_max;
	unsigned handshake_ms;
	unsigned handshakes_max;
	unsigned addr_conn_max;
	unsigned idle_ms;
	unsigned n_handshakes; /* connections in T_HANDSHAKE */
	size_t image_max;
	size_t frame_max;
	bool stream_images; /* relay streamed images to vmmd as streams */
	struct tconn *conns;
	struct alb_tlsd_stats st;
	/* Sequence number of the next message to a daemon (process-global in
	 * Albatross, which starts at 0). */
	int64_t sequence;
	bool stopping;
};

enum tstate {
	T_HANDSHAKE, /* TLS handshake under way */
	T_IMAGE,     /* reading a streamed image from the client */
	T_CONNECT,   /* connecting to the daemon */
	T_SNAPSHOT,  /* waiting for the policies the chain's paths have */
	T_POLICY,    /* waiting for vmmd's answer to a Policy_add */
	T_ROLLBACK,  /* putting back what the chain's Policy_adds replaced */
	T_SPOOL,     /* sending the command with its spooled image to vmmd */
	T_BLOCK,     /* relaying the client's block stream to vmmd */
	T_REPLY,     /* waiting for (or relaying) the daemon's reply */
	T_FINISH,    /* the final reply is being sent */
	T_CLOSING    /* handles are closing */
};

struct tconn {
	struct alb_tlsd *d;
	struct tconn *prev, *next;
	enum tstate state;
	struct dc_conn *cl; /* the client (raw), NULL once closed */
	struct dc_conn *dm; /* the daemon (framed), NULL when none */
	uv_timer_t timer;
	bool dm_reading, dm_paused;
	bool cl_reading, cl_paused;
	size_t handles; /* the timer and the two connections while open */
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	struct alb_frame_reader *crd; /* client chunks (decrypted) */
	bool in_handshake;   /* counted in d->n_handshakes */
	bool has_addr;
	uint8_t addr[16];    /* the client's address (IPv4 as v4-mapped) */
	struct alb_cert_auth *auth;
	int64_t version; /* the client's (of its certificate extension) */
	enum alb_endpoint endpoint;
	enum alb_reply_mode mode;
	bool block_stream; /* the command is followed by a client stream */
	bool image_stream; /* ... of an image, relayed (stream_images) */
	uint64_t streamed; /* bytes of it relayed */
	size_t next_policy; /* delegations still to install: [0, next) */
	/* all or nothing (tlsd_policy.c): the policies the chain's paths had
	 * (NULL: none), the next one to put back, the refusal to send then */
	struct alb_policy **old;
	size_t rollback;
	char *refusal;
	/* a streamed image (tlsd_spool.c): kept in an unnamed file, not in
	 * memory, then sent to vmmd inside the command's frame, spool_len
	 * bytes of which spool_sent went out; the frame's bytes after the
	 * image; hole: the address that stands for the image in the command */
	int spool_fd;
	uint64_t spool_len, spool_sent;
	struct alb_buf spool_tail;
	uint8_t hole;
	/* the reply to a Unikernel_get, relayed as it comes (tlsd_relay.c) */
	struct tlsd_relay *relay;
};

/* tlsd.c */
void tlsd_conn_unlink(struct alb_tlsd *d, struct tconn *k);
/* k's handshake is over (done, failed or closed). */
void tlsd_handshake_over(struct tconn *k);
void tlsd_maybe_release(struct alb_tlsd *d);

/* tlsd_tls.c: TLS on k's client connection */
size_t tlsd_client_pending(const struct tconn *k);
/* Bytes from the client; the client went away (rc ALB_EEOF) or broke. */
void tlsd_client_bytes(struct tconn *k, const uint8_t *p, size_t n);
void tlsd_client_lost(struct tconn *k, int rc);
int tlsd_tls_start(struct tconn *k);
int tlsd_tls_send(struct tconn *k, const uint8_t *p, size_t n);
void tlsd_tls_close_notify(struct tconn *k);
void tlsd_tls_flush(struct tconn *k);
void tlsd_client_read_start(struct tconn *k);
void tlsd_client_read_stop(struct tconn *k);
/* Runs the idle timer while k's client is to send and is read; stops it
 * otherwise. */
void tlsd_idle_update(struct tconn *k);
/* Decrypts what was received and hands it to tlsd_conn_app_data(), unless
 * k's client side is paused. */
void tlsd_tls_pump(struct tconn *k);

/* tlsd_spool.c: a streamed image on its way from the client to vmmd */
/* Appends n bytes of the image; 0, or -1 after finishing with failure. */
int tlsd_spool_append(struct tconn *k, const uint8_t *p, size_t n);
/* The image is complete: the command stands for it with &k->hole. */
void tlsd_spool_done(struct tconn *k);
/* Sends the command with the spooled image (state T_SPOOL); 0, or -1
 * after finishing with failure. */
int tlsd_spool_send(struct tconn *k, const char *failure);
/* vmmd took some of what was queued: more of the image goes. */
void tlsd_spool_pump(struct tconn *k);
void tlsd_spool_free(struct tconn *k);

/* tlsd_relay.c: the reply to a Unikernel_get on its way to the client */
/* Reads k's daemon raw from now on; 0, or -1 after finishing with failure. */
int tlsd_relay_start(struct tconn *k);
/* Bytes from the daemon. */
void tlsd_relay_bytes(struct tconn *k, const uint8_t *p, size_t n);
/* True once part of the reply went to the client: a failure can then only
 * close the connection. */
bool tlsd_relay_passing(const struct tconn *k);
void tlsd_relay_free(struct tconn *k);

/* tlsd_conn.c */
/* The final reply went to the TLS layer: close_notify, then k ends. */
void tlsd_reply_sent(struct tconn *k);
/* Stops reading the daemon while the client has more than
 * ALB_TLSD_PENDING_MAX bytes to take (tlsd_conn_client_drained resumes). */
void tlsd_dm_throttle(struct tconn *k);
struct tconn *tlsd_conn_new(struct alb_tlsd *d);
/* Opens a new connection to k's daemon (k->dm) and reads from it: 0, or
 * -1 (logged). */
int tlsd_dm_open(struct tconn *k);
/* Closes k's connection to its daemon, if any. */
void tlsd_dm_close(struct tconn *k);
/* Sends cmd for name to the daemon with the next sequence number: 0, or
 * -1 after finishing k with the failure text. */
int tlsd_dm_command(struct tconn *k, const char *name,
		    const struct alb_command *cmd, const char *failure);
/* Sends the chain's command (§9.2 step 6). */
void tlsd_send_command(struct tconn *k);
/* Ends k with the failure text as its reply. */
void tlsd_finish_failure(struct tconn *k, const char *text);

/* tlsd_policy.c: the chain's policies into vmmd (§9.2 step 5), all or
 * nothing */
/* Starts installing k's delegations (at least one), then the command. */
void tlsd_policies_install(struct tconn *k);
/* vmmd's answer in T_SNAPSHOT, T_POLICY or T_ROLLBACK. */
void tlsd_policy_answer(struct tconn *k, const struct alb_msg *m);
/* vmmd went away in one of those states. */
void tlsd_policy_lost(struct tconn *k);
/* Frees what the installation keeps. */
void tlsd_policies_free(struct tconn *k);
/* One of k's handles (timer, client, daemon) has closed. */
void tlsd_conn_handle_gone(struct tconn *k);
/* k's client / daemon connection has closed. */
void tlsd_client_closed(struct tconn *k);
void tlsd_daemon_closed(struct tconn *k);
/* From the daemon: a frame (taken over), the connection lost, its queue
 * drained. */
void tlsd_daemon_frame(struct tconn *k, struct alb_buf *frame);
void tlsd_daemon_lost(struct tconn *k, int rc, const char *why);
void tlsd_daemon_drained(struct tconn *k);
void tlsd_conn_close(struct tconn *k);
/* Closes k once what is queued for the client has been sent. */
void tlsd_conn_end(struct tconn *k);
void tlsd_conn_established(struct tconn *k);
void tlsd_conn_app_data(struct tconn *k, const uint8_t *p, size_t n);
/* While k reads a stream: where the next bytes of it go (the frame
 * reader's space, *len bytes at most), for tlsd_conn_app_advance() to take
 * n of them; false otherwise (or after the stream failed). */
bool tlsd_conn_app_space(struct tconn *k, uint8_t **p, size_t *len);
void tlsd_conn_app_advance(struct tconn *k, size_t n);
void tlsd_conn_client_gone(struct tconn *k, bool error);
void tlsd_conn_client_drained(struct tconn *k);
/* The client stayed silent for the idle timeout: ends k with text. */
void tlsd_conn_idle_timeout(struct tconn *k, const char *text);

#endif
