/* A certificate forged for tests: a delegated CA whose albatross extension
 * is replaced (any Policy_add, also one above its issuer's, which
 * alb_cert_sign_csr() would refuse) and that is signed again by its
 * issuer's key, so that only its policy is wrong. Header-only.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_CERT_FORGE_H
#define ALB_TEST_CERT_FORGE_H

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "albatross/cert.h"

/* A copy of x with Policy_add p as its albatross extension, signed with
 * ikey; NULL on failure. Free with X509_free(). */
static inline X509 *forge_policy(const X509 *x, const struct alb_policy *p,
				 EVP_PKEY *ikey)
{
	X509 *y = X509_dup(x);
	ASN1_OBJECT *oid = OBJ_txt2obj(ALB_CERTEXT_OID, 1);
	int i;
	while (y != NULL && oid != NULL && (i = X509_get_ext_by_OBJ(y, oid, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(y, i));
	ASN1_OBJECT_free(oid);
	struct alb_command cmd = {.kind = ALB_CMD_POLICY_ADD};
	cmd.u.policy = *p;
	if (y == NULL || alb_cert_ext_add(y, &cmd, NULL) != 0 ||
	    X509_sign(y, ikey, NULL) <= 0) {
		X509_free(y);
		return NULL;
	}
	return y;
}

#endif
