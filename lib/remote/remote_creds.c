/* libalbatross — the credentials of a remote command: a fresh leaf signed
 * by the tenant's CA (albatross-client's gen_cert, spec §9.3), or an
 * existing certificate and key (§9.9); the check of the chain against the
 * server's CA before connecting, and its `--destination -` print.
 * SPDX-License-Identifier: ISC */
#include <openssl/err.h>
#include <openssl/pem.h>

#include "base/internal.h"
#include "remote_internal.h"

void alb_remote_creds_free(struct alb_remote_creds *c)
{
	if (c == NULL)
		return;
	X509_free(c->leaf);
	EVP_PKEY_free(c->key);
	sk_X509_pop_free(c->chain, X509_free);
	alb_certext_free(c->ext);
	free(c);
}

static int local(enum alb_remote_status *why, int rc)
{
	if (why != NULL)
		*why = rc == 0 ? ALB_REMOTE_OK : ALB_REMOTE_LOCAL;
	return rc;
}

/* Reads a chain file into the leaf (the first certificate) and the rest. */
static int read_chain(const char *path, X509 **first, STACK_OF(X509) **rest,
		      struct alb_error *err)
{
	STACK_OF(X509) *s = NULL;
	int rc = alb_cert_read_file(path, &s, err);
	if (rc != 0)
		return rc;
	*first = sk_X509_shift(s);
	*rest = s;
	return 0;
}

/* Re-fills err with "<prefix><its message>". */
static int prefix(struct alb_error *err, int rc, const char *p)
{
	if (err != NULL) {
		char msg[ALB_ERROR_MSG_MAX];
		memcpy(msg, err->msg, sizeof(msg));
		msg[sizeof(msg) - 1] = '\0';
		alb_set_error(err, rc, "%s%s", p, msg);
	}
	return rc;
}

int alb_remote_creds_make(const struct alb_remote_config *cfg, const char *name,
			  const struct alb_command *cmd,
			  struct alb_remote_creds **out,
			  enum alb_remote_status *why, struct alb_error *err)
{
	if (cfg == NULL || name == NULL || cmd == NULL || out == NULL)
		return local(why, alb_fail(err, ALB_EINVAL, "missing argument"));
	*out = NULL;
	if (!ALB_RESERVED_ZERO(cfg))
		return local(why, alb_fail(err, ALB_EINVAL,
					   "reserved configuration words are not zero"));
	char cn[ALB_NAME_BUF];
	int rc = alb_cert_cn_for(name, cmd->kind, cn, err);
	if (rc != 0)
		return local(why, rc);
	struct alb_remote_creds *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return local(why, alb_fail(err, ALB_ENOMEM, "out of memory"));
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	rc = read_chain(cfg->ca_file, &ca, &c->chain, err);
	if (rc == 0)
		rc = alb_key_read_file(cfg->ca_key_file, &ca_key, err);
	/* From here on albatross-client says "couldn't generate certificate
	 * chain: ...": the key's match, the policy pre-checks, the leaf. */
	if (rc == 0) {
		rc = alb_key_matches(ca, ca_key, err);
		if (rc == 0)
			rc = alb_key_generate(cfg->key_type, &c->key, err);
		if (rc == 0)
			rc = alb_cert_make_leaf(ca, ca_key, c->key, cn, cmd, cfg->level,
						alb_cert_now(), &c->leaf, err);
		if (rc != 0)
			prefix(err, rc, "couldn't generate certificate chain: ");
	}
	if (rc == 0 && sk_X509_unshift(c->chain, ca) <= 0)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
	else if (rc == 0)
		ca = NULL;
	if (rc == 0 && alb_cert_ext_get(c->leaf, &c->ext, NULL) != 0)
		c->ext = NULL;
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	if (rc != 0) {
		alb_remote_creds_free(c);
		return local(why, rc);
	}
	*out = c;
	return local(why, 0);
}

int alb_remote_creds_load(const char *cert_file, const char *key_file,
			  struct alb_remote_creds **out,
			  enum alb_remote_status *why, struct alb_error *err)
{
	if (cert_file == NULL || key_file == NULL || out == NULL)
		return local(why, alb_fail(err, ALB_EINVAL, "missing argument"));
	*out = NULL;
	struct alb_remote_creds *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return local(why, alb_fail(err, ALB_ENOMEM, "out of memory"));
	int rc = read_chain(cert_file, &c->leaf, &c->chain, err);
	if (rc == 0)
		rc = alb_key_read_file(key_file, &c->key, err);
	if (rc == 0)
		rc = alb_key_matches(c->leaf, c->key, err);
	if (rc != 0) {
		alb_remote_creds_free(c);
		return local(why, rc);
	}
	if (alb_cert_ext_get(c->leaf, &c->ext, NULL) != 0)
		c->ext = NULL;
	*out = c;
	return local(why, 0);
}

const struct alb_certext *alb_remote_creds_command(const struct alb_remote_creds *c)
{
	return c != NULL ? c->ext : NULL;
}

X509 *alb_remote_creds_leaf(const struct alb_remote_creds *c)
{
	return c != NULL ? c->leaf : NULL;
}

int alb_remote_creds_check(const struct alb_remote_creds *c,
			   const char *server_ca_file,
			   enum alb_remote_status *why, struct alb_error *err)
{
	if (c == NULL || server_ca_file == NULL)
		return local(why, alb_fail(err, ALB_EINVAL, "missing argument"));
	STACK_OF(X509) *cas = NULL;
	int rc = alb_cert_read_file(server_ca_file, &cas, err);
	if (rc != 0)
		return local(why, rc);
	STACK_OF(X509) *chain = sk_X509_dup(c->chain);
	if (chain == NULL || sk_X509_unshift(chain, c->leaf) <= 0) {
		sk_X509_free(chain);
		sk_X509_pop_free(cas, X509_free);
		return local(why, alb_fail(err, ALB_ENOMEM, "out of memory"));
	}
	/* Any certificate of the file may be the anchor. */
	int64_t now = alb_cert_now();
	struct alb_error e = {0};
	rc = ALB_EPERM;
	for (int i = 0; i < sk_X509_num(cas) && rc != 0; i++)
		rc = alb_cert_verify(sk_X509_value(cas, i), chain, now, &e);
	sk_X509_free(chain);
	sk_X509_pop_free(cas, X509_free);
	if (rc == 0)
		return local(why, 0);
	if (why != NULL)
		*why = ALB_REMOTE_CHAIN;
	return alb_fail(err, ALB_EPERM,
			"TLS validation error of provided certificate chain: %s", e.msg);
}

int remote_server_store(const char *path, X509_STORE **out,
			struct alb_error *err)
{
	STACK_OF(X509) *cas = NULL;
	int rc = alb_cert_read_file(path, &cas, err);
	if (rc != 0)
		return rc;
	X509_STORE *st = X509_STORE_new();
	for (int i = 0; st != NULL && i < sk_X509_num(cas); i++)
		if (X509_STORE_add_cert(st, sk_X509_value(cas, i)) != 1) {
			X509_STORE_free(st);
			st = NULL;
		}
	sk_X509_pop_free(cas, X509_free);
	if (st == NULL)
		return remote_ossl_fail(err, ALB_ENOMEM, "cannot use the server CA");
	*out = st;
	return 0;
}

int alb_remote_creds_print(const struct alb_remote_creds *c, FILE *out,
			   struct alb_error *err)
{
	if (c == NULL || out == NULL)
		return alb_fail(err, ALB_EINVAL, "missing argument");
	int ok = fputs("intermediate:\n", out) >= 0;
	for (int i = 0; ok && i < sk_X509_num(c->chain); i++)
		ok = (i == 0 || fputs("\n", out) >= 0) &&
		     PEM_write_X509(out, sk_X509_value(c->chain, i)) == 1;
	ok = ok && fputs("\nleaf:\n", out) >= 0 && PEM_write_X509(out, c->leaf) == 1;
	if (!ok || fflush(out) != 0) {
		ERR_clear_error();
		return alb_fail_sys(err, "writing the certificates");
	}
	return 0;
}
