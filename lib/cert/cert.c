/* libalbatross — certificates, keys and CSRs: files, names and the
 * albatross extension (spec §1.10, §9.10).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cert_internal.h"
#include "asn1/der.h"
#include "base/internal.h"

int alb_cert_ossl_fail(struct alb_error *err, int code, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
	if (reason != NULL)
		alb_set_error(err, code, "%s: %s", what, reason);
	else
		alb_set_error(err, code, "%s", what);
	ERR_clear_error();
	return code;
}

int64_t alb_cert_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- key types ----------------------------------------------------------- */

static const char *const key_type_names[] = {
	[ALB_KEY_ED25519] = "ed25519", [ALB_KEY_RSA2048] = "rsa2048",
	[ALB_KEY_RSA4096] = "rsa4096", [ALB_KEY_P256] = "p256",
	[ALB_KEY_P384] = "p384",       [ALB_KEY_P521] = "p521",
};

int alb_key_type_parse(const char *s, enum alb_key_type *out,
		       struct alb_error *err)
{
	for (size_t i = 0; s != NULL && i < ALB_ARRAY_LEN(key_type_names); i++) {
		if (strcmp(s, key_type_names[i]) == 0) {
			*out = (enum alb_key_type)i;
			return 0;
		}
	}
	return alb_fail(err, ALB_EINVAL, "unknown key type %s", s != NULL ? s : "(null)");
}

const char *alb_key_type_name(enum alb_key_type t)
{
	if ((size_t)t < ALB_ARRAY_LEN(key_type_names))
		return key_type_names[t];
	return "unknown";
}

int alb_key_generate(enum alb_key_type t, EVP_PKEY **out,
		     struct alb_error *err)
{
	EVP_PKEY *k = NULL;
	switch (t) {
	case ALB_KEY_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case ALB_KEY_RSA2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case ALB_KEY_RSA4096:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	case ALB_KEY_P256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case ALB_KEY_P384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case ALB_KEY_P521:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
		break;
	default:
		return alb_fail(err, ALB_EINVAL, "unknown key type %d", (int)t);
	}
	if (k == NULL)
		return alb_cert_ossl_fail(err, ALB_EUNSUPPORTED, "key generation failed");
	*out = k;
	return 0;
}

const EVP_MD *alb_cert_md(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "EC")) {
		int bits = EVP_PKEY_get_bits(key);
		if (bits > 384)
			return EVP_sha512();
		if (bits > 256)
			return EVP_sha384();
		return EVP_sha256();
	}
	if (EVP_PKEY_is_a(key, "RSA"))
		return EVP_sha256();
	return NULL; /* Ed25519 (and Ed448) sign the message itself */
}

/* ---- files --------------------------------------------------------------- */

int alb_cert_file_read(const char *path, size_t max, struct alb_buf *out,
		       struct alb_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return alb_fail_sys(err, "%s", path);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = alb_fail_sys(err, "%s", path);
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return alb_fail(err, ALB_EPARSE, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return alb_fail(err, ALB_ETOOBIG, "%s: larger than %zu bytes", path, max);
	}
	/* One byte more than allowed detects a file that grew since fstat. */
	size_t cap = (size_t)st.st_size + 1, len = 0;
	uint8_t *p = malloc(cap);
	if (p == NULL) {
		close(fd);
		return alb_fail(err, ALB_ENOMEM, "out of memory reading %s", path);
	}
	for (;;) {
		ssize_t n = read(fd, p + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = alb_fail_sys(err, "%s", path);
			free(p);
			close(fd);
			return rc;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			free(p);
			close(fd);
			return alb_fail(err, ALB_ETOOBIG, "%s: changed while being read", path);
		}
	}
	close(fd);
	out->data = out->base_ = p;
	out->len = len;
	out->cap_ = cap;
	return 0;
}

int alb_cert_file_write(const char *path, const void *data, size_t len,
			unsigned mode, bool excl, struct alb_error *err)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC);
	int fd = open(path, flags, (mode_t)mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return alb_fail(err, ALB_EEXIST, "%s: file exists", path);
		return alb_fail_sys(err, "%s", path);
	}
	const uint8_t *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = alb_fail_sys(err, "%s", path);
			close(fd);
			return rc;
		}
		done += (size_t)n;
	}
	if (close(fd) != 0)
		return alb_fail_sys(err, "%s", path);
	return 0;
}

/* Writes whatever a PEM writer put into a memory BIO to path. */
static int write_bio(const char *path, BIO *b, unsigned mode, bool excl,
		     struct alb_error *err)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	if (n < 0)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	return alb_cert_file_write(path, p, (size_t)n, mode, excl, err);
}

int alb_key_read_file(const char *path, EVP_PKEY **out, struct alb_error *err)
{
	struct alb_buf b = {0};
	int rc = alb_cert_file_read(path, ALB_CERT_FILE_MAX, &b, err);
	if (rc != 0)
		return rc;
	BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
	EVP_PKEY *k = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	alb_buf_free(&b);
	if (k == NULL)
		return alb_cert_ossl_fail(err, ALB_EPARSE, path);
	*out = k;
	return 0;
}

int alb_key_load_or_create(const char *path, enum alb_key_type t,
			   EVP_PKEY **out, struct alb_error *err)
{
	if (access(path, F_OK) == 0)
		return alb_key_read_file(path, out, err);
	EVP_PKEY *k = NULL;
	int rc = alb_key_generate(t, &k, err);
	if (rc != 0)
		return rc;
	BIO *b = BIO_new(BIO_s_mem());
	if (b == NULL || !PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL))
		rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "writing the key");
	else
		rc = write_bio(path, b, 0400, true, err);
	BIO_free(b);
	if (rc != 0) {
		EVP_PKEY_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int alb_key_matches(const X509 *cert, const EVP_PKEY *key,
		    struct alb_error *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	if (pub == NULL || key == NULL || EVP_PKEY_eq(pub, key) != 1) {
		ERR_clear_error();
		return alb_fail(err, ALB_EINVAL,
				"Public key of certificate doesn't match private key");
	}
	return 0;
}

int alb_cert_parse(const uint8_t *buf, size_t len, STACK_OF(X509) **out,
		   struct alb_error *err)
{
	if (buf == NULL || len == 0)
		return alb_fail(err, ALB_EPARSE, "no certificate");
	if (len > ALB_CERT_FILE_MAX)
		return alb_fail(err, ALB_ETOOBIG, "certificate data larger than %u bytes",
				ALB_CERT_FILE_MAX);
	STACK_OF(X509) *s = sk_X509_new_null();
	if (s == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	if (buf[0] == 0x30) {
		/* DER: exactly one certificate spanning the whole buffer. */
		const unsigned char *p = buf;
		X509 *x = d2i_X509(NULL, &p, (long)len);
		if (x == NULL || p != buf + len || !sk_X509_push(s, x)) {
			X509_free(x);
			sk_X509_pop_free(s, X509_free);
			return alb_cert_ossl_fail(err, ALB_EPARSE, "malformed DER certificate");
		}
		*out = s;
		return 0;
	}
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL) {
		sk_X509_free(s);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	for (;;) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x == NULL)
			break;
		if (!sk_X509_push(s, x)) {
			X509_free(x);
			break;
		}
	}
	BIO_free(bio);
	/* The reader stops with "no start line" at the end of the input;
	 * anything else is a malformed certificate. */
	unsigned long e = ERR_peek_last_error();
	bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM &&
		      ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
	if (sk_X509_num(s) == 0 || !at_end) {
		sk_X509_pop_free(s, X509_free);
		return alb_cert_ossl_fail(err, ALB_EPARSE, "no valid PEM certificate");
	}
	ERR_clear_error();
	*out = s;
	return 0;
}

int alb_cert_read_file(const char *path, STACK_OF(X509) **out,
		       struct alb_error *err)
{
	struct alb_buf b = {0};
	int rc = alb_cert_file_read(path, ALB_CERT_FILE_MAX, &b, err);
	if (rc != 0)
		return rc;
	rc = alb_cert_parse(b.data, b.len, out, err);
	alb_buf_free(&b);
	if (rc != 0 && err != NULL) {
		char msg[ALB_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		alb_set_error(err, rc, "%s: %s", path, msg);
	}
	return rc;
}

int alb_cert_read_single(const char *path, X509 **out, struct alb_error *err)
{
	STACK_OF(X509) *s = NULL;
	int rc = alb_cert_read_file(path, &s, err);
	if (rc != 0)
		return rc;
	if (sk_X509_num(s) != 1) {
		sk_X509_pop_free(s, X509_free);
		return alb_fail(err, ALB_EINVAL, "expect single ca as cacert");
	}
	*out = sk_X509_shift(s);
	sk_X509_free(s);
	return 0;
}

int alb_csr_read_file(const char *path, X509_REQ **out, struct alb_error *err)
{
	struct alb_buf b = {0};
	int rc = alb_cert_file_read(path, ALB_CERT_FILE_MAX, &b, err);
	if (rc != 0)
		return rc;
	BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
	X509_REQ *r = bio != NULL ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	alb_buf_free(&b);
	if (r == NULL)
		return alb_cert_ossl_fail(err, ALB_EPARSE, path);
	*out = r;
	return 0;
}

/* ---- names --------------------------------------------------------------- */

static int name_cn(const X509_NAME *n, char *out, struct alb_error *err)
{
	int i = n != NULL ? X509_NAME_get_index_by_NID(n, NID_commonName, -1) : -1;
	if (i < 0)
		return alb_fail(err, ALB_ENOENT, "no common name");
	const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	unsigned char *u = NULL;
	int len = ASN1_STRING_to_UTF8(&u, s);
	if (len < 0)
		return alb_cert_ossl_fail(err, ALB_EPARSE, "malformed common name");
	int rc = 0;
	if ((size_t)len > ALB_CERT_CN_MAX)
		rc = alb_fail(err, ALB_EPARSE, "common name longer than %d bytes",
			      ALB_CERT_CN_MAX);
	else if (memchr(u, 0, (size_t)len) != NULL)
		rc = alb_fail(err, ALB_EPARSE, "common name contains a NUL byte");
	else {
		memcpy(out, u, (size_t)len);
		out[len] = '\0';
	}
	OPENSSL_free(u);
	return rc;
}

int alb_cert_cn(const X509 *cert, char *out, struct alb_error *err)
{
	return name_cn(X509_get_subject_name(cert), out, err);
}

int alb_csr_cn(const X509_REQ *csr, char *out, struct alb_error *err)
{
	return name_cn(X509_REQ_get_subject_name(csr), out, err);
}

/* ---- the albatross extension --------------------------------------------- */

/* Decodes an extension whose version may differ from 5: the command is
 * re-wrapped with version 5 so that the one codec decodes it. */
static int decode_any_version(const uint8_t *p, size_t len, int64_t *version,
			      struct alb_certext **out, struct alb_error *err)
{
	struct alb_der top, seq;
	alb_der_init(&top, p, len);
	int rc = alb_der_get(&top, ALB_DER_SEQUENCE, &seq, "cert-extension", err);
	if (rc == 0)
		rc = alb_der_get_int(&seq, version, "version", err);
	if (rc != 0)
		return rc;
	struct alb_derw w;
	alb_derw_init(&w, seq.len + 16);
	size_t m = alb_derw_len(&w);
	alb_derw_bytes(&w, seq.ptr, seq.len);
	alb_derw_int(&w, ALB_WIRE_VERSION);
	alb_derw_close(&w, ALB_DER_SEQUENCE, m);
	struct alb_buf b = {0};
	rc = alb_derw_finish(&w, false, &b, err);
	if (rc != 0)
		return rc;
	/* Trailing bytes after the SEQUENCE are an error, as in the codec. */
	rc = alb_der_end(&top, err);
	if (rc == 0)
		rc = alb_certext_decode(b.data, b.len, 0, out, err);
	alb_buf_free(&b);
	return rc;
}

int alb_cert_ext_find(const STACK_OF(X509_EXTENSION) *exts, int64_t *version,
		      struct alb_certext **out, struct alb_error *err)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(ALB_CERTEXT_OID, 1);
	if (obj == NULL)
		return alb_cert_ossl_fail(err, ALB_ENOMEM, "OID");
	int i = exts != NULL ? X509v3_get_ext_by_OBJ(exts, obj, -1) : -1;
	int again = i >= 0 ? X509v3_get_ext_by_OBJ(exts, obj, i) : -1;
	ASN1_OBJECT_free(obj);
	if (i < 0)
		return alb_fail(err, ALB_ENOENT, "no albatross extension");
	if (again >= 0)
		return alb_fail(err, ALB_EINVAL, "duplicate albatross extension");
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(X509v3_get_ext(exts, i));
	const uint8_t *p = ASN1_STRING_get0_data(v);
	size_t len = (size_t)ASN1_STRING_length(v);
	if (version == NULL)
		return alb_certext_decode(p, len, 0, out, err);
	return decode_any_version(p, len, version, out, err);
}

int alb_cert_ext_get(const X509 *cert, struct alb_certext **out,
		     struct alb_error *err)
{
	if (cert == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_cert_ext_get: no certificate");
	return alb_cert_ext_find(X509_get0_extensions(cert), NULL, out, err);
}

int alb_csr_ext_get(const X509_REQ *csr, int64_t *version,
		    struct alb_certext **out, struct alb_error *err)
{
	if (csr == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_csr_ext_get: no CSR");
	/* X509_REQ_get_extensions takes a non-const request but reads it. */
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions((X509_REQ *)csr);
	int64_t v = ALB_WIRE_VERSION;
	int rc = alb_cert_ext_find(exts, &v, out, err);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	if (rc == 0 && version != NULL)
		*version = v;
	return rc;
}

int alb_cert_ext_build(const struct alb_command *cmd, X509_EXTENSION **out,
		       struct alb_error *err)
{
	struct alb_certext ce = {.version = ALB_WIRE_VERSION};
	ce.command = *cmd;
	struct alb_buf b = {0};
	int rc = alb_certext_encode(&ce, &b, err);
	if (rc != 0)
		return rc;
	if (b.len > INT32_MAX) {
		alb_buf_free(&b);
		return alb_fail(err, ALB_ETOOBIG, "certificate too big for TLS");
	}
	ASN1_OBJECT *obj = OBJ_txt2obj(ALB_CERTEXT_OID, 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *x = NULL;
	if (obj != NULL && os != NULL && ASN1_OCTET_STRING_set(os, b.data, (int)b.len))
		x = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	alb_buf_free(&b);
	if (x == NULL)
		return alb_cert_ossl_fail(err, ALB_ENOMEM, "albatross extension");
	*out = x;
	return 0;
}

int alb_cert_ext_add(X509 *cert, const struct alb_command *cmd,
		     struct alb_error *err)
{
	if (cert == NULL || cmd == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_cert_ext_add: no certificate or command");
	X509_EXTENSION *x = NULL;
	int rc = alb_cert_ext_build(cmd, &x, err);
	if (rc != 0)
		return rc;
	if (!X509_add_ext(cert, x, -1))
		rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "albatross extension");
	X509_EXTENSION_free(x);
	return rc;
}

/* ---- output files -------------------------------------------------------- */

int alb_cert_db_append(const char *db_path, const X509 *cert,
		       struct alb_error *err)
{
	char cn[ALB_CERT_CN_MAX + 1];
	int rc = alb_cert_cn(cert, cn, err);
	if (rc != 0)
		return rc;
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	const uint8_t *s = ASN1_STRING_get0_data(serial);
	size_t n = (size_t)ASN1_STRING_length(serial);
	/* OpenSSL keeps the magnitude without the sign byte; the DB shows the
	 * DER content bytes, so a leading 00 comes back when the top bit is
	 * set (§9.6). */
	bool pad = n > 0 && s[0] >= 0x80;
	if (n > ALB_CERT_SERIAL_MAX)
		return alb_fail(err, ALB_EINVAL, "serial number longer than %d bytes",
				ALB_CERT_SERIAL_MAX);
	char line[2 * (ALB_CERT_SERIAL_MAX + 1) + 1 + ALB_CERT_CN_MAX + 2];
	size_t o = 0;
	if (pad)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "00");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%02x", s[i]);
	o += (size_t)snprintf(line + o, sizeof(line) - o, " %s\n", cn);
	int fd = open(db_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return alb_fail_sys(err, "%s", db_path);
	ssize_t w;
	do
		w = write(fd, line, o);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)o) {
		if (w >= 0)
			errno = EIO;
		rc = alb_fail_sys(err, "%s", db_path);
	}
	if (close(fd) != 0 && rc == 0)
		rc = alb_fail_sys(err, "%s", db_path);
	return rc;
}

int alb_cert_write_file(const char *path, const X509 *cert, const X509 *issuer,
			struct alb_error *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = 0;
	/* The root is not repeated in a user's file (§9.5). X509_self_signed
	 * caches extension data, hence the cast of a certificate it reads. */
	if (b == NULL || !PEM_write_bio_X509(b, cert) ||
	    (issuer != NULL && X509_self_signed((X509 *)issuer, 0) != 1 &&
	     !PEM_write_bio_X509(b, issuer)))
		rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "writing the certificate");
	else
		rc = write_bio(path, b, 0644, false, err);
	BIO_free(b);
	return rc;
}

int alb_csr_write_file(const char *path, const X509_REQ *csr,
		       struct alb_error *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = 0;
	if (b == NULL || !PEM_write_bio_X509_REQ(b, csr))
		rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "writing the CSR");
	else
		rc = write_bio(path, b, 0644, false, err);
	BIO_free(b);
	return rc;
}
