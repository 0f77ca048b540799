/* libalbatross — private helpers shared by cert.c, cert_chain.c and
 * cert_sign.c.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_CERT_INTERNAL_H
#define ALB_CERT_INTERNAL_H

#include <openssl/x509.h>

#include "albatross/cert.h"

/* Fills err with code and "<what>: <OpenSSL's last reason>" (or just
 * <what> when OpenSSL queued nothing), empties OpenSSL's error queue and
 * returns code. */
int alb_cert_ossl_fail(struct alb_error *err, int code, const char *what);

/* The albatross extension for cmd (version 5, non-critical) as a new
 * X509_EXTENSION (free with X509_EXTENSION_free()). */
int alb_cert_ext_build(const struct alb_command *cmd, X509_EXTENSION **out,
		       struct alb_error *err);

/* Decodes the albatross extension among exts (NULL = none): ALB_ENOENT
 * when absent, ALB_EINVAL "duplicate albatross extension" when twice.
 * When version is not NULL a version other than 5 is accepted and
 * reported there (sign's CSR); otherwise it fails as the codec does. */
int alb_cert_ext_find(const STACK_OF(X509_EXTENSION) *exts,
		      int64_t *version, struct alb_certext **out,
		      struct alb_error *err);

/* The digest albatross-client signs with for a key (§9.10): NULL for
 * Ed25519, SHA-256 for RSA and P-256, SHA-384 for P-384, SHA-512 for
 * P-521. */
const EVP_MD *alb_cert_md(EVP_PKEY *key);

/* Reads a regular file of at most max bytes whole into out (empty; free
 * with alb_buf_free()). ALB_ESYS, ALB_ETOOBIG past max. */
int alb_cert_file_read(const char *path, size_t max, struct alb_buf *out,
		       struct alb_error *err);

/* Writes len bytes to path, replacing it, created with mode. When excl,
 * an existing file is an error (ALB_EEXIST) and never touched. */
int alb_cert_file_write(const char *path, const void *data, size_t len,
			unsigned mode, bool excl, struct alb_error *err);

#endif
