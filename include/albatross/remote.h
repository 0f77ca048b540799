/* libalbatross — the remote half of the client: a command for an
 * albatross host over TLS, as albatross-client --destination does (spec
 * §9.3, §9.8, §9.9, §10.1), and the HTTP(S) GET that `update` needs
 * (§10.3). OpenSSL 3, TLS 1.3 only.
 * SPDX-License-Identifier: ISC
 *
 * A remote command travels in a short-lived client certificate: the tenant's
 * CA (--ca, its key --ca-key) signs a fresh key's leaf whose albatross
 * extension is the command (alb_remote_creds_make()). The chain [leaf, the
 * CA, the rest of the --ca file] must validate against the server's CA
 * (--server-ca) before anything is sent, and the server's certificate must
 * lead to that CA (no host name check, as albatross-client). What comes back
 * is a struct alb_client of client.h: replies, data streams, block dumps and
 * timeouts are read with the same calls as from a local socket, and the
 * streams that follow a command (block data, a streamed image) are sent with
 * alb_client_send_stream().
 *
 * Every call is blocking. Failures say, besides their ALB_E* code and
 * message, which of albatross-client's failure classes they belong to (enum
 * alb_remote_status), from which its exit statuses follow. */
#ifndef ALBATROSS_REMOTE_H
#define ALBATROSS_REMOTE_H

#include <stdio.h>

#include "albatross/cert.h"
#include "albatross/client.h"
#include "albatross/common.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default TCP port of a destination (spec §10.1). */
#define ALB_REMOTE_PORT_DEFAULT 1025
/** Defaults of --ca, --ca-key and --server-ca (spec §10.1). */
#define ALB_REMOTE_CA_DEFAULT "ca.pem"
#define ALB_REMOTE_CA_KEY_DEFAULT "ca.key"
#define ALB_REMOTE_SERVER_CA_DEFAULT "cacert.pem"
/** Longest host name or address of a destination (RFC 1035: 253). */
#define ALB_REMOTE_HOST_MAX 253
/** Size of a buffer for a destination's host with its NUL. */
#define ALB_REMOTE_HOST_BUF (ALB_REMOTE_HOST_MAX + 1)
/** Milliseconds between two connection attempts to the addresses of a
 * host (RFC 8305's "connection attempt delay"). */
#define ALB_REMOTE_ATTEMPT_DELAY_MS 250
/** Largest image bytes (as sent: compressed or not) carried inside a leaf
 * certificate: what fits alb-tlsd's default limit on a client's chain
 * (ALB_TLSD_CERT_LIST_DEFAULT, 8 MiB) with 1 MiB for the rest of it. A
 * larger image is streamed after the handshake (spec §2.4, empty-image
 * create), which alb-tlsd and albatross-tls-endpoint both accept.
 * albatross-client puts images of up to almost 16 MiB (the TLS handshake
 * message) into the certificate; an alb-tlsd with its default limit
 * refuses those chains, unverified certificates being bounded there. */
#define ALB_REMOTE_CERT_IMAGE_MAX (7u * 1024u * 1024u)

/** albatross-client's failure classes (its exit statuses in brackets). */
enum alb_remote_status {
	ALB_REMOTE_OK = 0,
	/** a local step: files, keys, the pre-checks of the command against
	 * the CA's policy, the certificate (124) */
	ALB_REMOTE_LOCAL = 1,
	/** our chain does not validate against the server's CA (116) */
	ALB_REMOTE_CHAIN = 2,
	/** no TCP connection to any address of the host (122) */
	ALB_REMOTE_CONNECT = 3,
	/** the server refused our certificate: a certificate alert (119) */
	ALB_REMOTE_LOCAL_AUTH = 4,
	/** the server's certificate does not lead to the server CA (120) */
	ALB_REMOTE_REMOTE_AUTH = 5,
	/** any other TLS or read/write failure (121) */
	ALB_REMOTE_COMM = 6
};

/** Settings of a remote command. Initialise with alb_remote_config_init(),
 * then change what differs. Strings are read during the calls only. */
struct alb_remote_config {
	const char *ca_file;        /* --ca: signing certificate, then its chain */
	const char *ca_key_file;    /* --ca-key */
	const char *server_ca_file; /* --server-ca: the trust anchors */
	enum alb_key_type key_type; /* --key-type of the fresh leaf key */
	/** zlib level (1..9; 0 = none) at which an uncompressed create image
	 * is compressed into the certificate (albatross-client: 9). */
	int level;
	/** Bounds connecting (each address), the handshake and every later
	 * read or write, in ms; 0 waits forever. */
	int timeout_ms;
	ALB_RESERVED(8); /* must be zero */
};

/** Fills cfg with the defaults: the three files above, Ed25519, level
 * ALB_CERT_COMPRESSION_DEFAULT, no timeout. */
ALB_EXPORT void alb_remote_config_init(struct alb_remote_config *cfg);

/** Parses a destination "HOST[:PORT]" as albatross-client does (§10.1):
 * the text after the last ':' is the port when there is more than one
 * piece ("failed to parse port" unless 0..65535), so an IPv6 literal needs
 * its port ("::1:1025"); "[::1]:1025" and "[::1]" are accepted too. The host
 * must be an IP address, a host name (labels of letters, digits and '-') or
 * "-" ("invalid host name <h>"). host receives ALB_REMOTE_HOST_BUF bytes.
 * ALB_EPARSE on error. */
ALB_EXPORT int alb_remote_parse_destination(const char *s, char *host,
					    uint16_t *port,
					    struct alb_error *err);

/** A leaf certificate, its private key and the chain presented with it
 * (opaque). */
struct alb_remote_creds;

/** Makes the credentials of one command as albatross-client does (§9.3):
 * reads cfg->ca_file (first certificate = the signer, the rest its chain)
 * and cfg->ca_key_file, which must match ("Public key of certificate
 * doesn't match private key"); the subject CN from name and the command
 * (alb_cert_cn_for(): "non-empty path"); the pre-checks against the
 * signer's policy (alb_cert_check_command()); a fresh cfg->key_type key
 * and a leaf valid [now - 10 s, now + 300 s] (alb_cert_make_leaf(): an
 * uncompressed create image is compressed at cfg->level; "certificate too
 * big for TLS"). Every failure is ALB_REMOTE_LOCAL in *why. *out: free
 * with alb_remote_creds_free(). */
ALB_EXPORT int alb_remote_creds_make(const struct alb_remote_config *cfg,
				     const char *name,
				     const struct alb_command *cmd,
				     struct alb_remote_creds **out,
				     enum alb_remote_status *why,
				     struct alb_error *err);

/** Loads existing credentials (the `certificate CERT KEY` command, §9.9):
 * the chain file (leaf first) and the leaf's key, which must match. Every
 * failure is ALB_REMOTE_LOCAL. */
ALB_EXPORT int alb_remote_creds_load(const char *cert_file,
				     const char *key_file,
				     struct alb_remote_creds **out,
				     enum alb_remote_status *why,
				     struct alb_error *err);

/** Frees credentials; NULL is a no-op. */
ALB_EXPORT void alb_remote_creds_free(struct alb_remote_creds *c);

/** The albatross extension of the leaf (borrowed, valid as long as c), or
 * NULL when the leaf has none (or one that does not decode). */
ALB_EXPORT const struct alb_certext *
alb_remote_creds_command(const struct alb_remote_creds *c);

/** The leaf certificate (borrowed, valid as long as c). */
ALB_EXPORT X509 *alb_remote_creds_leaf(const struct alb_remote_creds *c);

/** Validates the chain [leaf, the rest] against the certificates of
 * server_ca_file (any of them may be the anchor) at the current time, with
 * no host name, before connecting (§9.3): ALB_EPERM "TLS validation error
 * of provided certificate chain: <reason>" and ALB_REMOTE_CHAIN. A
 * server CA file that cannot be read is ALB_REMOTE_LOCAL. */
ALB_EXPORT int alb_remote_creds_check(const struct alb_remote_creds *c,
				      const char *server_ca_file,
				      enum alb_remote_status *why,
				      struct alb_error *err);

/** Writes the chain as albatross-client's `--destination -` shows it:
 * "intermediate:\n", each certificate after the leaf as PEM (a blank line
 * between two), then "\nleaf:\n" and the leaf as PEM. ALB_ESYS when
 * writing fails. */
ALB_EXPORT int alb_remote_creds_print(const struct alb_remote_creds *c,
				      FILE *out, struct alb_error *err);

/** Connects to host:port and makes the TLS 1.3 session: validates the
 * chain first (alb_remote_creds_check() with cfg->server_ca_file), then
 * tries the host's addresses (a new attempt every
 * ALB_REMOTE_ATTEMPT_DELAY_MS while earlier ones are pending; the first
 * to connect wins: "connect failed with <host>:<port>: <reason>",
 * ALB_REMOTE_CONNECT), presents the chain, and requires the server's
 * certificate to lead to one of the server CA's certificates (no host
 * name; "remote authentication failure <reason>", ALB_REMOTE_REMOTE_AUTH).
 * A certificate alert from the server is "local authentication failure
 * <alert>", ALB_REMOTE_LOCAL_AUTH; other TLS failures "failed to establish
 * TLS connection: <reason>", ALB_REMOTE_COMM. *out: a client as
 * alb_client_connect()'s, close it with alb_client_close(). */
ALB_EXPORT int alb_remote_connect(const struct alb_remote_config *cfg,
				  const char *host, uint16_t port,
				  const struct alb_remote_creds *creds,
				  struct alb_client **out,
				  enum alb_remote_status *why,
				  struct alb_error *err);

/** The class of the last failure of a call on c (client.h) when c is a
 * remote client: ALB_REMOTE_LOCAL_AUTH when the server sent a certificate
 * alert (with TLS 1.3 a refused client certificate is only seen at the
 * first read), else ALB_REMOTE_COMM. ALB_REMOTE_COMM for a local client. */
ALB_EXPORT enum alb_remote_status alb_remote_failure(const struct alb_client *c);

/** How a create's image travels to a remote host (§9.3, §2.4): reads the
 * uncompressed image of `size` bytes from fd (from its current offset)
 * and, when its bytes as sent — compressed at `level` (1..9), or as they
 * are for level 0 — fit ALB_REMOTE_CERT_IMAGE_MAX, puts them into cfg
 * (image, compressed) with *stream false: they go in the certificate, as
 * albatross-client sends every image. Otherwise cfg gets the empty image,
 * compressed = level > 0, and *stream is true: after the handshake the
 * caller sends the image with alb_client_send_stream(c, fd, level, ...)
 * from offset 0 (the fd is rewound here). The bytes kept are in *buf
 * (empty on entry; free with alb_buf_free()), at most
 * ALB_REMOTE_CERT_IMAGE_MAX whatever the image's size. ALB_ESYS when fd
 * cannot be read, ALB_EINVAL for a level outside 0..9. */
ALB_EXPORT int alb_remote_image_prepare(int fd, uint64_t size, int level,
					struct alb_unikernel_config *cfg,
					struct alb_buf *buf, bool *stream,
					struct alb_error *err);

/* ---- HTTP(S) GET (update, §10.3) ---------------------------------------- */

/** Longest URL taken by alb_http_get(). */
#define ALB_HTTP_URL_MAX 2048
/** Most bytes of a response's status line and headers. */
#define ALB_HTTP_HEAD_MAX 16384
/** Longest Location header kept (longer ones are an error). */
#define ALB_HTTP_LOCATION_MAX 2048
/** Port of http:// and https:// URLs without one. */
#define ALB_HTTP_PORT 80
#define ALB_HTTPS_PORT 443

/** What a GET returned. A plain value filled by alb_http_get(). */
struct alb_http_response {
	int status;                                /* e.g. 200, 302, 404 */
	char location[ALB_HTTP_LOCATION_MAX + 1];  /* "" when absent */
	uint64_t body_len;                         /* bytes of body received */
	ALB_RESERVED(4);
};

/** GET url ("http://host[:port]/path" or "https://..."), HTTP/1.1, no
 * redirect followed. HTTPS checks the server's certificate against the
 * system's trust store (OpenSSL's defaults, e.g. $SSL_CERT_FILE) and its
 * name. The body (Content-Length, chunked, or up to the close) is written
 * to body_fd, or dropped when body_fd is -1; a body above max_body bytes is
 * ALB_ETOOBIG. ALB_EPARSE for a malformed URL ("expected http[s]://host")
 * or response; ALB_ESYS for connect and I/O failures (connect: as
 * alb_remote_connect()'s message); ALB_EPROTO for TLS failures. timeout_ms
 * bounds connecting and each read or write (0: none). */
ALB_EXPORT int alb_http_get(const char *url, int timeout_ms, int body_fd,
			    uint64_t max_body, struct alb_http_response *out,
			    struct alb_error *err);

#ifdef __cplusplus
}
#endif
#endif
