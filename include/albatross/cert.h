/* libalbatross — X.509 with Albatross's permission extension (spec §1.10,
 * §9.2–§9.11), on OpenSSL 3.
 * SPDX-License-Identifier: ISC
 *
 * Three parts, none doing network I/O:
 *  - the albatross extension (OID 1.3.6.1.4.1.49836.42, non-critical) of a
 *    certificate or CSR: read it, add it (the bytes are alb_certext_encode's);
 *  - a presented client chain: verify it against exactly one trusted CA at a
 *    given time, and map it to (name, delegated policies, command) with the
 *    endpoint's rules and messages (§9.2 step 2);
 *  - the CA side of albatross-client: keys, a self-signed CA (generate), a
 *    CSR carrying a command (--csr), signing a CSR (sign), and a fresh
 *    short-lived leaf for one command (remote commands, §9.3).
 *
 * OpenSSL objects passed in are borrowed (their reference counts are not
 * taken unless said); objects returned through an out parameter belong to
 * the caller, who frees them with OpenSSL's X509_free(), X509_REQ_free(),
 * EVP_PKEY_free() or sk_X509_pop_free(s, X509_free).
 *
 * Times are seconds since the Unix epoch (UTC); pass alb_cert_now() for the
 * current time. */
#ifndef ALBATROSS_CERT_H
#define ALBATROSS_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "albatross/common.h"
#include "albatross/name.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A presented chain (leaf plus issuers) must be shorter than this
 * ("certificate chain too long", §9.2): at most 9 certificates. */
#define ALB_CERT_CHAIN_MAX 10
/** Largest DER certificate made for a command: a TLS handshake message
 * carries at most 16 MiB ("certificate too big for TLS", §9.3). */
#define ALB_CERT_DER_MAX (16u * 1024u * 1024u)
/** Largest PEM/DER file (certificate, chain, key, CSR) read, in bytes: a
 * 16 MiB certificate in base64 plus its armour. */
#define ALB_CERT_FILE_MAX (23u * 1024u * 1024u)
/** Validity of certificates starts this many seconds before "now". */
#define ALB_CERT_BACKDATE 10
/** Lifetime of a leaf made on the fly for one command, in seconds (§9.3). */
#define ALB_CERT_LEAF_SECONDS 300
/** Default validity in days: self-signed CA (generate --days). */
#define ALB_CERT_DAYS_CA 3650
/** Default validity in days: server and delegated (Policy_add) CA certs. */
#define ALB_CERT_DAYS_SERVER 365
/** Default validity in days: a leaf signed from a CSR. */
#define ALB_CERT_DAYS_LEAF 1
/** Longest --days accepted (a validity must end before year 9999). */
#define ALB_CERT_DAYS_MAX 2000000
/** Random bytes of a serial number before Albatross's fix-ups (§9.6). */
#define ALB_CERT_SERIAL_RANDOM 10
/** Longest serial number: the random bytes plus one prepended byte. */
#define ALB_CERT_SERIAL_MAX (ALB_CERT_SERIAL_RANDOM + 1)
/** Longest subject common name accepted (RFC 5280 ub-common-name). */
#define ALB_CERT_CN_MAX 64
/** Default zlib level for an image carried in a certificate (§9.3, §9.8). */
#define ALB_CERT_COMPRESSION_DEFAULT 9

/** Key types of albatross-client's --key-type (§9.10). */
enum alb_key_type {
	ALB_KEY_ED25519 = 0, /* the default */
	ALB_KEY_RSA2048 = 1,
	ALB_KEY_RSA4096 = 2,
	ALB_KEY_P256 = 3,
	ALB_KEY_P384 = 4,
	ALB_KEY_P521 = 5
};

/* ---- time, keys and files ---------------------------------------------- */

/** The current time in seconds since the epoch. */
ALB_EXPORT int64_t alb_cert_now(void);

/** Parses a --key-type value ("ed25519", "rsa2048", "rsa4096", "p256",
 * "p384", "p521"). ALB_EINVAL "unknown key type <s>". */
ALB_EXPORT int alb_key_type_parse(const char *s, enum alb_key_type *out,
				  struct alb_error *err);

/** The --key-type spelling of a key type ("ed25519", ...). Never NULL. */
ALB_EXPORT const char *alb_key_type_name(enum alb_key_type t);

/** Generates a fresh private key of a type into *out (free with
 * EVP_PKEY_free()). ALB_EINVAL for an unknown type, ALB_ENOMEM or
 * ALB_EUNSUPPORTED when OpenSSL fails. */
ALB_EXPORT int alb_key_generate(enum alb_key_type t, EVP_PKEY **out,
				struct alb_error *err);

/** Reads the PEM private key at path into *out (free with
 * EVP_PKEY_free()). ALB_ESYS when it cannot be read, ALB_ETOOBIG past
 * ALB_CERT_FILE_MAX, ALB_EPARSE when it holds no key. */
ALB_EXPORT int alb_key_read_file(const char *path, EVP_PKEY **out,
				 struct alb_error *err);

/** albatross-client's key file handling (§9.7, §9.8): reuses the PEM key at
 * path if the file exists, otherwise generates one of type t and writes it
 * there as PEM, created with mode 0400. *out is the key (free with
 * EVP_PKEY_free()). Errors as alb_key_read_file() and alb_key_generate(). */
ALB_EXPORT int alb_key_load_or_create(const char *path, enum alb_key_type t,
				      EVP_PKEY **out, struct alb_error *err);

/** 0 when key is the private key of cert's public key, else ALB_EINVAL
 * "Public key of certificate doesn't match private key". */
ALB_EXPORT int alb_key_matches(const X509 *cert, const EVP_PKEY *key,
			       struct alb_error *err);

/** Parses every certificate of PEM (or one DER) bytes into a new stack, in
 * file order (free with sk_X509_pop_free(s, X509_free)). ALB_EPARSE when there
 * is none or one is malformed, ALB_ETOOBIG past ALB_CERT_FILE_MAX. */
ALB_EXPORT int alb_cert_parse(const uint8_t *buf, size_t len,
			      STACK_OF(X509) **out, struct alb_error *err);

/** alb_cert_parse() of the file at path (ALB_ESYS when unreadable). */
ALB_EXPORT int alb_cert_read_file(const char *path, STACK_OF(X509) **out,
				  struct alb_error *err);

/** Reads a file that must hold exactly one certificate (the CA of the TLS
 * endpoint, the CACERT of sign) into *out (free with X509_free()).
 * ALB_EINVAL "expect single ca as cacert" for zero or several. */
ALB_EXPORT int alb_cert_read_single(const char *path, X509 **out,
				    struct alb_error *err);

/** Reads the PEM CSR at path into *out (free with X509_REQ_free()).
 * ALB_ESYS, ALB_ETOOBIG or ALB_EPARSE as alb_cert_read_file(). */
ALB_EXPORT int alb_csr_read_file(const char *path, X509_REQ **out,
				 struct alb_error *err);

/** Writes the subject common name of cert (the first CN, at most
 * ALB_CERT_CN_MAX bytes) NUL-terminated to out (ALB_CERT_CN_MAX + 1
 * bytes). ALB_ENOENT when there is none, ALB_EPARSE when it is not a
 * string of at most ALB_CERT_CN_MAX bytes without NUL. */
ALB_EXPORT int alb_cert_cn(const X509 *cert, char *out,
			   struct alb_error *err);

/** Like alb_cert_cn() for the subject of a CSR. */
ALB_EXPORT int alb_csr_cn(const X509_REQ *csr, char *out,
			  struct alb_error *err);

/* ---- the albatross extension (§1.10) ------------------------------------ */

/** Decodes the albatross extension of cert into *out (free with
 * alb_certext_free(); it owns its memory). ALB_ENOENT when the certificate
 * has none; ALB_EPARSE with the codec's text when it does not decode
 * ("unknown version number 0x4", ...); ALB_EINVAL when it appears twice. */
ALB_EXPORT int alb_cert_ext_get(const X509 *cert, struct alb_certext **out,
				struct alb_error *err);

/** Like alb_cert_ext_get() for the extensionRequest of a CSR. The version
 * is not checked here (sign only warns about one other than 5): *version
 * receives it when not NULL, and *out holds the command with version 5. */
ALB_EXPORT int alb_csr_ext_get(const X509_REQ *csr, int64_t *version,
			       struct alb_certext **out,
			       struct alb_error *err);

/** Adds the albatross extension (version 5, cmd; non-critical) to a
 * certificate being built. The extnValue is alb_certext_encode()'s output.
 * ALB_EINVAL when cmd cannot be encoded, ALB_ENOMEM. */
ALB_EXPORT int alb_cert_ext_add(X509 *cert, const struct alb_command *cmd,
				struct alb_error *err);

/* ---- a presented chain (§9.2) ------------------------------------------- */

/** A delegation found in a chain: an intermediate CA with Policy_add. */
struct alb_cert_delegation {
	char path[ALB_NAME_BUF];    /* canonical path name, e.g. "a:b:" */
	struct alb_policy *policy;  /* normalised copy (policy.h) */
	ALB_RESERVED(1);
};

/** What a client chain authorises (§9.2 step 2). Owned by the caller;
 * free with alb_cert_auth_free(). */
struct alb_cert_auth {
	/** The canonical name the command applies to (a path name for a leaf
	 * without CN, "." or ":"). */
	char name[ALB_NAME_BUF];
	/** The delegations top-down (closest to the root first). Albatross
	 * installs them deepest first (§9.2 step 5): iterate backwards. */
	size_t n_delegations;
	struct alb_cert_delegation *delegations;
	/** The leaf's extension; ext->command is the command to execute. */
	struct alb_certext *ext;
	ALB_RESERVED(2);
};

/** Frees a mapped chain; NULL is a no-op. */
ALB_EXPORT void alb_cert_auth_free(struct alb_cert_auth *a);

/** Verifies a presented chain (leaf first, then the issuers as the client
 * sent them, perhaps including the root) against the single trusted ca at
 * time `at`: signatures, validity periods (OpenSSL counts a certificate
 * as expired from its notAfter second on), CA basic constraints and key
 * usage of issuers, TLS client purpose, RSA keys of at least 1024 bits;
 * no CRLs, no host names. Returns 0 or ALB_EPERM with OpenSSL's reason
 * ("certificate has expired", "unable to get local issuer certificate",
 * ...); ALB_EINVAL for an empty chain ("empty chain"). */
ALB_EXPORT int alb_cert_verify(const X509 *ca, STACK_OF(X509) *chain,
			       int64_t at, struct alb_error *err);

/** Maps a chain (leaf first; normally already verified, e.g. by the TLS
 * handshake) to what it authorises, exactly as the TLS endpoint (§9.2 step
 * 2): fewer than ALB_CERT_CHAIN_MAX certificates ("certificate chain too
 * long"); the issuers top-down, those without the extension skipped, the
 * others must carry Policy_add ("unexpected wire <cmd>") and a CN that is
 * a valid label ("policy add may not have an empty name" when absent),
 * each extending the path; the leaf must carry the extension ("leaf
 * certificate does not contain an albatross extension"); its CN (absent,
 * "." or ":" = the path itself) names the target; only the commands a leaf
 * may carry ("unexpected command"); a leaf without CN may not carry policy
 * add/remove nor a block command other than info ("<command> may not have
 * an empty name"). Then, beyond Albatross, the delegations must nest:
 * each policy ≤ the one above it in the chain (alb_policy_is_smaller),
 * else ALB_EPERM "policy of a:b: is not within the policy of a: in the
 * chain: <why>" (the topmost one is the daemon's to check against what
 * it holds). On success *out is new (free with alb_cert_auth_free());
 * failures are ALB_EPARSE or ALB_EPERM with the message (ALB_ETOOBIG for
 * the length, ALB_EINVAL for an empty chain "empty chain"). */
ALB_EXPORT int alb_cert_map(STACK_OF(X509) *chain,
			    struct alb_cert_auth **out,
			    struct alb_error *err);

/** alb_cert_verify() then alb_cert_map(). */
ALB_EXPORT int alb_cert_authenticate(const X509 *ca, STACK_OF(X509) *chain,
				     int64_t at, struct alb_cert_auth **out,
				     struct alb_error *err);

/* ---- the CA side of albatross-client (§9.3, §9.5–§9.8) ------------------ */

/** The subject CN albatross-client puts in a certificate for a command on
 * a canonical name (§9.3): for policy commands the name's path ("" for the
 * root path, "a:b" for a:b:); for other commands the label, or "." when
 * the name has none, and a name whose path is not the root fails with
 * ALB_EINVAL "non-empty path". out holds ALB_NAME_BUF bytes; ALB_ETOOBIG
 * when the CN would exceed ALB_CERT_CN_MAX. */
ALB_EXPORT int alb_cert_cn_for(const char *name, enum alb_cmd_kind kind,
			       char *out, struct alb_error *err);

/** Checks a command against the policy in a signing certificate (the
 * client's pre-checks, §9.3, and sign's, §9.5): if ca carries Policy_add
 * p, a create/force-create config must fit p (alb_policy_allows) and a
 * Policy_add q must be ≤ p (alb_policy_is_smaller). Returns 0, ALB_EPARSE
 * "couldn't parse albatross extension in cert", or the policy module's
 * code and text. (sign also requires a Policy_add to be usable; that is
 * alb_cert_sign_csr's own check.) */
ALB_EXPORT int alb_cert_check_command(const X509 *ca,
				      const struct alb_command *cmd,
				      struct alb_error *err);

/** Writes a fresh serial number as albatross-client makes it (§9.6): 10
 * random bytes, a 0x00 prepended when the first is ≥ 0x80, a 0x7F
 * prepended when the first is 0x00 and the second ≤ 0x7F. out holds
 * ALB_CERT_SERIAL_MAX bytes; *len receives 10 or 11. ALB_ESYS when no
 * randomness is available. */
ALB_EXPORT int alb_cert_serial(uint8_t *out, size_t *len,
			       struct alb_error *err);

/** Makes a self-signed CA certificate (generate, §9.7): subject CN=cn,
 * serial per alb_cert_serial(), validity [now − ALB_CERT_BACKDATE, + days],
 * basicConstraints CA:TRUE and keyUsage keyCertSign, cRLSign,
 * digitalSignature, contentCommitment (both critical), no SKI/AKI. days in
 * 1..ALB_CERT_DAYS_MAX (ALB_EINVAL otherwise). *out: free with X509_free(). */
ALB_EXPORT int alb_cert_make_ca(EVP_PKEY *key, const char *cn, int64_t days,
				int64_t now, X509 **out,
				struct alb_error *err);

/** Makes a CSR (--csr, §9.8): subject CN=cn signed by key, with one
 * extensionRequest holding the albatross extension for cmd (non-critical),
 * or no attribute when cmd is NULL (a server CSR). An uncompressed
 * create/force-create image is compressed at `level` (1..9; 0 leaves it
 * as it is), as alb_cert_make_leaf(). *out: free with X509_REQ_free(). */
ALB_EXPORT int alb_csr_make(EVP_PKEY *key, const char *cn,
			    const struct alb_command *cmd, int level,
			    X509_REQ **out, struct alb_error *err);

/** Signs a CSR with a CA certificate and its key (sign, §9.5). The CSR's
 * signature must verify and the CA key must match the CA. With the
 * albatross extension: Policy_add makes a CA certificate (365 days by
 * default; its policy must be usable, alb_policy_usable()), any other
 * command a client leaf (1 day), after alb_cert_check_command(); without: a server certificate (365 days).
 * days 0 = that default, else 1..ALB_CERT_DAYS_MAX. Validity starts at
 * now − ALB_CERT_BACKDATE; subject = the CSR's; other CSR extensions are
 * ignored; SKI and AKI added. If the CSR's extension version is not 5 and
 * warn is not NULL, *warn is set to true (Albatross only warns). The CSR
 * must have a CN ("couldn't find name (no common name in CSR subject)").
 * *out: free with X509_free(). */
ALB_EXPORT int alb_cert_sign_csr(X509 *ca, EVP_PKEY *ca_key, X509_REQ *csr,
				 int64_t days, int64_t now, bool *warn,
				 X509 **out, struct alb_error *err);

/** Makes a short-lived client leaf for one command (remote commands,
 * §9.3): subject CN=cn, issuer = ca's subject, validity [now −
 * ALB_CERT_BACKDATE, now + ALB_CERT_LEAF_SECONDS], leaf extensions, the
 * albatross extension, SKI and AKI, signed by ca_key (which must match ca).
 * cmd is first checked with alb_cert_check_command(). An uncompressed
 * create/force-create image is compressed at `level` (1..9; 0 leaves it as
 * it is). A certificate whose DER exceeds ALB_CERT_DER_MAX fails with
 * ALB_ETOOBIG "certificate too big for TLS". *out: free with X509_free(). */
ALB_EXPORT int alb_cert_make_leaf(X509 *ca, EVP_PKEY *ca_key,
				  EVP_PKEY *leaf_key, const char *cn,
				  const struct alb_command *cmd, int level,
				  int64_t now, X509 **out,
				  struct alb_error *err);

/** Appends the DB line of cert, "<serial-hex-lowercase> <CN>\n", to the
 * file at db_path (created with mode 0644 when missing). ALB_ESYS on I/O
 * failure, ALB_ENOENT when cert has no CN. */
ALB_EXPORT int alb_cert_db_append(const char *db_path, const X509 *cert,
				  struct alb_error *err);

/** Writes cert as PEM to path, followed by issuer's PEM when issuer is
 * not NULL and not self-signed (sign's <CN>.pem, §9.5). The file is
 * replaced (mode 0644). ALB_ESYS on I/O failure. */
ALB_EXPORT int alb_cert_write_file(const char *path, const X509 *cert,
				   const X509 *issuer, struct alb_error *err);

/** Writes a CSR as PEM to path (replaced, mode 0644). ALB_ESYS. */
ALB_EXPORT int alb_csr_write_file(const char *path, const X509_REQ *csr,
				  struct alb_error *err);

#ifdef __cplusplus
}
#endif
#endif
