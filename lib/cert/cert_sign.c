/* libalbatross — the CA side of albatross-client: generate, CSRs, sign and
 * short-lived leaves (spec §9.3, §9.5–§9.8).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "albatross/policy.h"
#include "albatross/stream.h"
#include "cert_internal.h"
#include "base/internal.h"

#define SECONDS_PER_DAY 86400

/* The three profiles of albatross-client's certificates. */
enum profile { PROFILE_CA, PROFILE_LEAF, PROFILE_SERVER };

int alb_cert_cn_for(const char *name, enum alb_cmd_kind kind, char *out,
		    struct alb_error *err)
{
	const char *label = NULL;
	size_t ll = alb_name_label(name, &label);
	size_t pl = alb_name_path_len(name);
	size_t n;
	if (kind == ALB_CMD_POLICY_ADD || kind == ALB_CMD_POLICY_REMOVE ||
	    kind == ALB_CMD_POLICY_INFO) {
		/* The path as Albatross prints it: labels joined by ':'. */
		const char *p = name[0] == ':' ? name + 1 : name;
		n = pl;
		if (n > ALB_CERT_CN_MAX)
			return alb_fail(err, ALB_ETOOBIG, "common name longer than %d bytes",
					ALB_CERT_CN_MAX);
		memcpy(out, p, n);
	} else if (pl > 0) {
		return alb_fail(err, ALB_EINVAL, "non-empty path");
	} else if (ll == 0) {
		n = 1;
		out[0] = '.';
	} else {
		n = ll;
		memcpy(out, label, n);
	}
	out[n] = '\0';
	return 0;
}

/* The policy of a signing certificate: *p is NULL when it carries none
 * (or a command other than Policy_add); *ce owns it. */
static int ca_policy(const X509 *ca, struct alb_certext **ce,
		     const struct alb_policy **p, struct alb_error *err)
{
	*p = NULL;
	*ce = NULL;
	int rc = alb_cert_ext_get(ca, ce, err);
	if (rc == ALB_ENOENT)
		return 0;
	if (rc != 0)
		return alb_fail(err, ALB_EPARSE, "couldn't parse albatross extension in cert");
	if ((*ce)->command.kind == ALB_CMD_POLICY_ADD)
		*p = &(*ce)->command.u.policy;
	return 0;
}

int alb_cert_check_command(const X509 *ca, const struct alb_command *cmd,
			   struct alb_error *err)
{
	if (ca == NULL || cmd == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_cert_check_command: no certificate or command");
	struct alb_certext *ce;
	const struct alb_policy *p;
	int rc = ca_policy(ca, &ce, &p, err);
	if (rc != 0 || p == NULL) {
		alb_certext_free(ce);
		return rc;
	}
	switch (cmd->kind) {
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
		rc = alb_policy_allows(p, &cmd->u.create, err);
		break;
	case ALB_CMD_POLICY_ADD:
		rc = alb_policy_is_smaller(p, &cmd->u.policy, err);
		break;
	default:
		break;
	}
	alb_certext_free(ce);
	return rc;
}

int alb_cert_serial(uint8_t *out, size_t *len, struct alb_error *err)
{
	uint8_t r[ALB_CERT_SERIAL_RANDOM];
	if (RAND_bytes(r, (int)sizeof(r)) != 1)
		return alb_cert_ossl_fail(err, ALB_ESYS, "no random bytes");
	size_t o = 0;
	/* Albatross's fix-ups keep the INTEGER positive and minimal. */
	if (r[0] >= 0x80)
		out[o++] = 0x00;
	else if (r[0] == 0x00 && r[1] <= 0x7f)
		out[o++] = 0x7f;
	memcpy(out + o, r, sizeof(r));
	*len = o + sizeof(r);
	return 0;
}

/* The key identifier of ocaml-x509 (Public_key.id) and RFC 5280 method 1:
 * SHA-1 of the subjectPublicKey bits. */
static int key_id(EVP_PKEY *key, ASN1_OCTET_STRING **out,
		  struct alb_error *err)
{
	X509_PUBKEY *pk = NULL;
	const unsigned char *bits = NULL;
	int n = 0;
	unsigned char md[SHA_DIGEST_LENGTH];
	if (!X509_PUBKEY_set(&pk, key) ||
	    !X509_PUBKEY_get0_param(NULL, &bits, &n, NULL, pk) || n < 0) {
		X509_PUBKEY_free(pk);
		return alb_cert_ossl_fail(err, ALB_EINVAL, "public key");
	}
	SHA1(bits, (size_t)n, md);
	X509_PUBKEY_free(pk);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	if (os == NULL || !ASN1_OCTET_STRING_set(os, md, (int)sizeof(md))) {
		ASN1_OCTET_STRING_free(os);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	*out = os;
	return 0;
}

static int add_key_ids(X509 *x, EVP_PKEY *subject_key, EVP_PKEY *issuer_key,
		       struct alb_error *err)
{
	ASN1_OCTET_STRING *ski = NULL;
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	if (akid == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	int rc = key_id(subject_key, &ski, err);
	if (rc == 0)
		rc = key_id(issuer_key, &akid->keyid, err);
	if (rc == 0 &&
	    (X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT) != 1 ||
	     X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) != 1))
		rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "key identifiers");
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static int add_conf(X509 *x, int nid, const char *value, struct alb_error *err)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, NULL, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	int ok = e != NULL && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : alb_cert_ossl_fail(err, ALB_ENOMEM, value);
}

static int add_profile(X509 *x, enum profile p, struct alb_error *err)
{
	int rc;
	switch (p) {
	case PROFILE_CA:
		rc = add_conf(x, NID_basic_constraints, "critical,CA:TRUE", err);
		if (rc == 0)
			rc = add_conf(x, NID_key_usage,
				      "critical,keyCertSign,cRLSign,digitalSignature,nonRepudiation",
				      err);
		return rc;
	case PROFILE_LEAF:
	case PROFILE_SERVER:
		rc = add_conf(x, NID_key_usage, "critical,digitalSignature,keyEncipherment", err);
		if (rc == 0)
			rc = add_conf(x, NID_basic_constraints, "critical,CA:FALSE", err);
		if (rc == 0)
			rc = add_conf(x, NID_ext_key_usage,
				      p == PROFILE_LEAF ? "critical,clientAuth" : "critical,serverAuth",
				      err);
		return rc;
	}
	return alb_fail(err, ALB_EINVAL, "unknown profile");
}

/* What a new certificate is made of. */
struct cert_spec {
	const X509_NAME *subject;
	EVP_PKEY *subject_key; /* public part used */
	const X509_NAME *issuer;
	EVP_PKEY *issuer_key; /* signs */
	int64_t not_before, not_after;
	enum profile profile;
	bool key_ids;
	const struct alb_command *cmd; /* NULL: no albatross extension */
};

static int set_serial(X509 *x, struct alb_error *err)
{
	uint8_t s[ALB_CERT_SERIAL_MAX];
	size_t n;
	int rc = alb_cert_serial(s, &n, err);
	if (rc != 0)
		return rc;
	BIGNUM *bn = BN_bin2bn(s, (int)n, NULL);
	ASN1_INTEGER *i = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	if (i == NULL || !X509_set_serialNumber(x, i))
		rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "serial number");
	ASN1_INTEGER_free(i);
	BN_free(bn);
	return rc;
}

static int build(const struct cert_spec *s, X509 **out, struct alb_error *err)
{
	X509 *x = X509_new();
	if (x == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	int rc = 0;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, s->subject) ||
	    !X509_set_issuer_name(x, s->issuer) ||
	    !X509_set_pubkey(x, s->subject_key) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->not_after) == NULL)
		rc = alb_cert_ossl_fail(err, ALB_EINVAL, "certificate fields");
	if (rc == 0)
		rc = set_serial(x, err);
	if (rc == 0)
		rc = add_profile(x, s->profile, err);
	if (rc == 0 && s->cmd != NULL)
		rc = alb_cert_ext_add(x, s->cmd, err);
	if (rc == 0 && s->key_ids)
		rc = add_key_ids(x, s->subject_key, s->issuer_key, err);
	if (rc == 0 && X509_sign(x, s->issuer_key, alb_cert_md(s->issuer_key)) <= 0)
		rc = alb_cert_ossl_fail(err, ALB_EINVAL, "signing the certificate");
	if (rc != 0) {
		X509_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

static int check_days(int64_t days, struct alb_error *err)
{
	if (days < 1 || days > ALB_CERT_DAYS_MAX)
		return alb_fail(err, ALB_EINVAL, "days must be between 1 and %d",
				ALB_CERT_DAYS_MAX);
	return 0;
}

static int cn_name(const char *cn, X509_NAME **out, struct alb_error *err)
{
	size_t n = cn != NULL ? strlen(cn) : 0;
	if (n > ALB_CERT_CN_MAX)
		return alb_fail(err, ALB_ETOOBIG, "common name longer than %d bytes",
				ALB_CERT_CN_MAX);
	X509_NAME *name = X509_NAME_new();
	if (name == NULL ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)(cn != NULL ? cn : ""),
					(int)n, -1, 0)) {
		X509_NAME_free(name);
		return alb_cert_ossl_fail(err, ALB_EINVAL, "common name");
	}
	*out = name;
	return 0;
}

int alb_cert_make_ca(EVP_PKEY *key, const char *cn, int64_t days, int64_t now,
		     X509 **out, struct alb_error *err)
{
	if (key == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_cert_make_ca: no key or output");
	int rc = check_days(days, err);
	X509_NAME *name = NULL;
	if (rc == 0)
		rc = cn_name(cn, &name, err);
	if (rc != 0)
		return rc;
	struct cert_spec s = {
		.subject = name, .subject_key = key, .issuer = name, .issuer_key = key,
		.not_before = now - ALB_CERT_BACKDATE,
		.not_after = now + days * SECONDS_PER_DAY,
		.profile = PROFILE_CA,
	};
	rc = build(&s, out, err);
	X509_NAME_free(name);
	return rc;
}

/* A copy of cmd whose create image is compressed at level; *copy is cmd
 * itself when nothing is to be done. The compressed bytes live in buf. */
static int compress_cmd(const struct alb_command *cmd, int level,
			struct alb_command *copy, struct alb_buf *buf,
			struct alb_error *err)
{
	*copy = *cmd;
	if (level < 0 || level > 9)
		return alb_fail(err, ALB_EINVAL, "compression level must be between 0 and 9");
	if (level == 0 || (cmd->kind != ALB_CMD_UNIKERNEL_CREATE &&
			   cmd->kind != ALB_CMD_UNIKERNEL_FORCE_CREATE) ||
	    cmd->u.create.compressed)
		return 0;
	int rc = alb_zlib_deflate(cmd->u.create.image.ptr, cmd->u.create.image.len,
				  level, buf, err);
	if (rc != 0)
		return rc;
	copy->u.create.compressed = true;
	copy->u.create.image.ptr = buf->data;
	copy->u.create.image.len = buf->len;
	return 0;
}

int alb_csr_make(EVP_PKEY *key, const char *cn, const struct alb_command *cmd,
		 int level, X509_REQ **out, struct alb_error *err)
{
	if (key == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_csr_make: no key or output");
	X509_NAME *name = NULL;
	int rc = cn_name(cn, &name, err);
	if (rc != 0)
		return rc;
	X509_REQ *r = X509_REQ_new();
	if (r == NULL || !X509_REQ_set_version(r, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(r, name) || !X509_REQ_set_pubkey(r, key))
		rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "CSR fields");
	X509_NAME_free(name);
	if (rc == 0 && cmd != NULL) {
		struct alb_command c;
		struct alb_buf img = {0};
		X509_EXTENSION *x = NULL;
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		rc = compress_cmd(cmd, level, &c, &img, err);
		if (rc == 0)
			rc = alb_cert_ext_build(&c, &x, err);
		if (rc == 0 && (exts == NULL || !sk_X509_EXTENSION_push(exts, x) ||
				!X509_REQ_add_extensions(r, exts))) {
			rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "extension request");
		}
		/* After a successful push, exts owns x. */
		if (exts != NULL && sk_X509_EXTENSION_num(exts) > 0)
			sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		else {
			X509_EXTENSION_free(x);
			sk_X509_EXTENSION_free(exts);
		}
		alb_buf_free(&img);
	}
	if (rc == 0 && X509_REQ_sign(r, key, alb_cert_md(key)) <= 0)
		rc = alb_cert_ossl_fail(err, ALB_EINVAL, "signing the CSR");
	if (rc != 0) {
		X509_REQ_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int alb_cert_sign_csr(X509 *ca, EVP_PKEY *ca_key, X509_REQ *csr, int64_t days,
		      int64_t now, bool *warn, X509 **out,
		      struct alb_error *err)
{
	if (ca == NULL || ca_key == NULL || csr == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_cert_sign_csr: missing argument");
	if (warn != NULL)
		*warn = false;
	int rc = alb_key_matches(ca, ca_key, err);
	if (rc != 0)
		return rc;
	EVP_PKEY *pub = X509_REQ_get0_pubkey(csr);
	if (pub == NULL || X509_REQ_verify(csr, pub) != 1)
		return alb_cert_ossl_fail(err, ALB_EPARSE, "CSR signature does not verify");
	char cn[ALB_CERT_CN_MAX + 1];
	rc = alb_csr_cn(csr, cn, err);
	if (rc == ALB_ENOENT)
		return alb_fail(err, ALB_EINVAL,
				"couldn't find name (no common name in CSR subject)");
	if (rc != 0)
		return rc;
	struct alb_certext *ce = NULL;
	int64_t version = ALB_WIRE_VERSION;
	rc = alb_csr_ext_get(csr, &version, &ce, err);
	enum profile profile = PROFILE_SERVER;
	int64_t default_days = ALB_CERT_DAYS_SERVER;
	if (rc == ALB_ENOENT) {
		rc = 0;
	} else if (rc == 0) {
		if (version != ALB_WIRE_VERSION && warn != NULL)
			*warn = true;
		if (ce->command.kind == ALB_CMD_POLICY_ADD) {
			profile = PROFILE_CA;
			rc = alb_policy_usable(&ce->command.u.policy, err);
		} else {
			profile = PROFILE_LEAF;
			default_days = ALB_CERT_DAYS_LEAF;
		}
		if (rc == 0)
			rc = alb_cert_check_command(ca, &ce->command, err);
	}
	if (days == 0)
		days = default_days;
	if (rc == 0)
		rc = check_days(days, err);
	if (rc == 0) {
		struct cert_spec s = {
			.subject = X509_REQ_get_subject_name(csr), .subject_key = pub,
			.issuer = X509_get_subject_name(ca), .issuer_key = ca_key,
			.not_before = now - ALB_CERT_BACKDATE,
			.not_after = now + days * SECONDS_PER_DAY,
			.profile = profile, .key_ids = true,
			.cmd = ce != NULL ? &ce->command : NULL,
		};
		rc = build(&s, out, err);
	}
	alb_certext_free(ce);
	return rc;
}

int alb_cert_make_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *leaf_key,
		       const char *cn, const struct alb_command *cmd, int level,
		       int64_t now, X509 **out, struct alb_error *err)
{
	if (ca == NULL || ca_key == NULL || leaf_key == NULL || cmd == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_cert_make_leaf: missing argument");
	int rc = alb_key_matches(ca, ca_key, err);
	if (rc == 0)
		rc = alb_cert_check_command(ca, cmd, err);
	X509_NAME *name = NULL;
	if (rc == 0)
		rc = cn_name(cn, &name, err);
	if (rc != 0)
		return rc;
	struct alb_command c;
	struct alb_buf img = {0};
	rc = compress_cmd(cmd, level, &c, &img, err);
	X509 *x = NULL;
	if (rc == 0) {
		struct cert_spec s = {
			.subject = name, .subject_key = leaf_key,
			.issuer = X509_get_subject_name(ca), .issuer_key = ca_key,
			.not_before = now - ALB_CERT_BACKDATE,
			.not_after = now + ALB_CERT_LEAF_SECONDS,
			.profile = PROFILE_LEAF, .key_ids = true, .cmd = &c,
		};
		rc = build(&s, &x, err);
	}
	alb_buf_free(&img);
	X509_NAME_free(name);
	if (rc != 0)
		return rc;
	int der = i2d_X509(x, NULL);
	if (der < 0 || (size_t)der > ALB_CERT_DER_MAX) {
		X509_free(x);
		return alb_fail(err, ALB_ETOOBIG, "certificate too big for TLS");
	}
	*out = x;
	return 0;
}
