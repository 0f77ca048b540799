/* libalbatross — a presented client chain: verification against the one
 * trusted CA, and its meaning as the TLS endpoint sees it (spec §9.2).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "albatross/policy.h"
#include "cert_internal.h"
#include "base/internal.h"

/* OpenSSL security level 1: RSA (and DSA/DH) keys of fewer than 1024 bits
 * are refused, as ocaml-x509 does (§9.1). */
#define CERT_AUTH_LEVEL 1

void alb_cert_auth_free(struct alb_cert_auth *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n_delegations; i++)
		alb_policy_free(a->delegations[i].policy);
	free(a->delegations);
	alb_certext_free(a->ext);
	free(a);
}

int alb_cert_verify(const X509 *ca, STACK_OF(X509) *chain, int64_t at,
		    struct alb_error *err)
{
	if (ca == NULL)
		return alb_fail(err, ALB_EINVAL, "no CA certificate");
	if (chain == NULL || sk_X509_num(chain) == 0)
		return alb_fail(err, ALB_EINVAL, "empty chain");
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = 0;
	/* X509_STORE_add_cert takes its own reference, it does not modify. */
	if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, (X509 *)ca) ||
	    !X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), chain)) {
		rc = alb_cert_ossl_fail(err, ALB_ENOMEM, "certificate store");
		goto out;
	}
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, (time_t)at);
	X509_VERIFY_PARAM_set_auth_level(param, CERT_AUTH_LEVEL);
	/* The purpose a TLS server checks a client chain with. */
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		rc = alb_fail(err, ALB_EPERM, "certificate verification failed: %s",
			      X509_verify_cert_error_string(e));
		ERR_clear_error();
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/* Leaf commands of §9.2: anything a client may ask for with a certificate. */
static bool leaf_command_allowed(enum alb_cmd_kind k)
{
	switch (k) {
	case ALB_CMD_CONSOLE_SUBSCRIBE:
	case ALB_CMD_CONSOLE_LIST_INACTIVE:
	case ALB_CMD_STATS_SUBSCRIBE:
	case ALB_CMD_UNIKERNEL_INFO:
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
	case ALB_CMD_UNIKERNEL_DESTROY:
	case ALB_CMD_UNIKERNEL_GET:
	case ALB_CMD_UNIKERNEL_RESTART:
	case ALB_CMD_OLD_UNIKERNEL_INFO4:
	case ALB_CMD_OLD_UNIKERNEL_INFO5:
	case ALB_CMD_POLICY_INFO:
	case ALB_CMD_BLOCK_INFO:
	case ALB_CMD_BLOCK_ADD:
	case ALB_CMD_BLOCK_REMOVE:
	case ALB_CMD_BLOCK_SET:
	case ALB_CMD_BLOCK_DUMP:
	case ALB_CMD_OLD_BLOCK_ADD:
	case ALB_CMD_OLD_BLOCK_SET:
	case ALB_CMD_OLD_BLOCK_DUMP:
		return true;
	default:
		return false;
	}
}

/* The refusal of a command on a leaf without a label (Albatross's texts,
 * including its "block dump" for the old dump), or NULL when allowed. */
static const char *empty_name_refusal(enum alb_cmd_kind k)
{
	switch (k) {
	case ALB_CMD_POLICY_ADD: return "policy add may not have an empty name";
	case ALB_CMD_POLICY_REMOVE: return "policy remove may not have an empty name";
	case ALB_CMD_BLOCK_ADD: return "block add may not have an empty name";
	case ALB_CMD_OLD_BLOCK_ADD: return "old block add may not have an empty name";
	case ALB_CMD_BLOCK_REMOVE: return "block remove may not have an empty name";
	case ALB_CMD_BLOCK_SET: return "block set may not have an empty name";
	case ALB_CMD_OLD_BLOCK_SET: return "old block set may not have an empty name";
	case ALB_CMD_BLOCK_DUMP:
	case ALB_CMD_OLD_BLOCK_DUMP: return "block dump may not have an empty name";
	default: return NULL;
	}
}

static int label_error(struct alb_error *err)
{
	return alb_fail(err, ALB_EPARSE,
			"invalid path: invalid label (only [a-zA-Z0-9-.] allowed, 1 to 63 chars)");
}

/* Records the delegation of one intermediate that carries the extension:
 * its CN extends path (in place). */
static int add_delegation(struct alb_cert_auth *a, X509 *cert,
			  const struct alb_certext *ce, char *path,
			  struct alb_error *err)
{
	if (ce->command.kind != ALB_CMD_POLICY_ADD)
		return alb_fail(err, ALB_EPERM, "unexpected wire %s",
				alb_cmd_kind_name(ce->command.kind));
	char cn[ALB_CERT_CN_MAX + 1];
	int rc = alb_cert_cn(cert, cn, err);
	if (rc == ALB_ENOENT)
		return alb_fail(err, ALB_EPERM, "policy add may not have an empty name");
	if (rc != 0)
		return rc;
	char next[ALB_NAME_BUF];
	/* A label alone, never a path: "a:b" or "" is an invalid label. */
	if (!alb_label_valid(cn, strlen(cn)))
		return label_error(err);
	rc = alb_name_make(path, cn, next, err);
	if (rc != 0)
		return rc;
	/* Name(path, label) "a:b" is the path "a:b:" once ':' is appended. */
	size_t n = strlen(next);
	if (n + 1 >= ALB_NAME_BUF)
		return alb_fail(err, ALB_ETOOBIG, "name longer than %d bytes", ALB_NAME_MAX);
	if (next[0] == ':')
		memmove(next, next + 1, n--);
	next[n] = ':';
	next[n + 1] = '\0';
	struct alb_cert_delegation *d = &a->delegations[a->n_delegations];
	rc = alb_policy_copy(&ce->command.u.policy, &d->policy, err);
	if (rc != 0)
		return rc;
	memcpy(d->path, next, n + 2);
	memcpy(path, next, n + 2);
	a->n_delegations++;
	return 0;
}

/* Each delegation's policy must fit its parent's in the chain (not a
 * check of Albatross's endpoint, which installs whatever the chain holds:
 * a sub-CA could plant a policy above its parent's and so lock the
 * parent's tenant out, spec §12). The topmost is albd's to check. */
static int check_nesting(const struct alb_cert_auth *a, struct alb_error *err)
{
	for (size_t i = 1; i < a->n_delegations; i++) {
		const struct alb_cert_delegation *up = &a->delegations[i - 1];
		const struct alb_cert_delegation *d = &a->delegations[i];
		struct alb_error why = {0};
		if (alb_policy_is_smaller(up->policy, d->policy, &why) != 0)
			return alb_fail(err, ALB_EPERM,
					"policy of %s is not within the policy of "
					"%s in the chain: %s", d->path, up->path,
					why.msg);
	}
	return 0;
}

/* Maps the leaf in Albatross's order: the name from its CN first (a leaf
 * without CN is refused for commands that need a label), then the
 * extension and its command. */
static int map_leaf(struct alb_cert_auth *a, X509 *leaf, const char *path,
		    struct alb_error *err)
{
	struct alb_certext *ce = NULL;
	int ext_rc = alb_cert_ext_get(leaf, &ce, err);
	char cn[ALB_CERT_CN_MAX + 1];
	int rc = ext_rc == ALB_ENOENT ? ALB_ENOENT : alb_cert_cn(leaf, cn, err);
	if (rc != 0 && rc != ALB_ENOENT)
		goto out;
	if (rc == ALB_ENOENT && ext_rc != ALB_ENOENT) {
		/* No CN: Albatross looks at the command before anything else. */
		if (ext_rc != 0) {
			rc = alb_fail(err, ALB_EPARSE, "couldn't parse albatross extension");
			goto out;
		}
		const char *refusal = empty_name_refusal(ce->command.kind);
		if (refusal != NULL) {
			rc = alb_fail(err, ALB_EPERM, "%s", refusal);
			goto out;
		}
	}
	if (rc == ALB_ENOENT || strcmp(cn, ".") == 0 || strcmp(cn, ":") == 0) {
		snprintf(a->name, sizeof(a->name), "%s", path);
		rc = 0;
	} else if (!alb_label_valid(cn, strlen(cn))) {
		rc = label_error(err);
		goto out;
	} else if ((rc = alb_name_make(path, cn, a->name, err)) != 0) {
		goto out;
	}
	if (ext_rc == ALB_ENOENT) {
		rc = alb_fail(err, ALB_EPERM,
			      "leaf certificate does not contain an albatross extension");
		goto out;
	}
	if (ext_rc != 0) {
		/* Decode the extension again for its message: the CN may have
		 * overwritten err. */
		rc = alb_cert_ext_get(leaf, &ce, err);
		goto out;
	}
	if (!leaf_command_allowed(ce->command.kind)) {
		rc = alb_fail(err, ALB_EPERM, "unexpected command");
		goto out;
	}
	a->ext = ce;
	return 0;
out:
	alb_certext_free(ce);
	return rc;
}

int alb_cert_map(STACK_OF(X509) *chain, struct alb_cert_auth **out,
		 struct alb_error *err)
{
	if (out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_cert_map: no output");
	int n = chain != NULL ? sk_X509_num(chain) : 0;
	if (n <= 0)
		return alb_fail(err, ALB_EINVAL, "empty chain");
	if (n >= ALB_CERT_CHAIN_MAX)
		return alb_fail(err, ALB_ETOOBIG, "certificate chain too long");
	struct alb_cert_auth *a = calloc(1, sizeof(*a));
	if (a == NULL || (n > 1 && (a->delegations = calloc((size_t)n - 1,
							    sizeof(*a->delegations))) == NULL)) {
		free(a);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	char path[ALB_NAME_BUF] = ":";
	int rc = 0;
	/* Top-down: the last certificate is the closest to the root. */
	for (int i = n - 1; i >= 1 && rc == 0; i--) {
		X509 *c = sk_X509_value(chain, i);
		struct alb_certext *ce = NULL;
		rc = alb_cert_ext_get(c, &ce, err);
		if (rc == ALB_ENOENT) {
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = add_delegation(a, c, ce, path, err);
		alb_certext_free(ce);
	}
	if (rc == 0)
		rc = map_leaf(a, sk_X509_value(chain, 0), path, err);
	if (rc == 0)
		rc = check_nesting(a, err);
	if (rc != 0) {
		alb_cert_auth_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

int alb_cert_authenticate(const X509 *ca, STACK_OF(X509) *chain, int64_t at,
			  struct alb_cert_auth **out, struct alb_error *err)
{
	int rc = alb_cert_verify(ca, chain, at, err);
	if (rc == 0)
		rc = alb_cert_map(chain, out, err);
	return rc;
}
