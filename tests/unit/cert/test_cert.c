/* Unit tests of the cert module: the albatross extension, chain
 * verification and mapping (spec §9.2), and the CA operations of
 * albatross-client (§9.3, §9.5–§9.8), against the vectors made by the real
 * Albatross and against PKIs made here.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "albatross/cert.h"
#include "albatross/policy.h"
#include "cert_forge.h"
#include "vectors.h"

/* 2030-01-01T00:00:00Z: inside the vectors' validity (2024..2049). */
#define T2030 INT64_C(1893456000)
/* 2050-01-01T00:00:00Z: after it. */
#define T2050 INT64_C(2524608000)

/* The path of a file of the certificate vectors (certs/<name>). */
static const char *cert_path(const char *name)
{
	static char buf[8192];
	snprintf(buf, sizeof(buf), "%s/certs/%s", vec_dir(), name);
	return buf;
}

static STACK_OF(X509) *vec_certs(const char *name)
{
	const char *path = cert_path(name);
	STACK_OF(X509) *s = NULL;
	struct alb_error err;
	int rc = alb_cert_read_file(path, &s, &err);
	if (rc != 0)
		fail_msg("%s: %s", path, err.msg);
	return s;
}

static X509 *vec_cert(const char *name)
{
	STACK_OF(X509) *s = vec_certs(name);
	assert_int_equal(sk_X509_num(s), 1);
	X509 *x = sk_X509_shift(s);
	sk_X509_free(s);
	return x;
}

static EVP_PKEY *vec_key(const char *name)
{
	const char *path = cert_path(name);
	EVP_PKEY *k = NULL;
	struct alb_error err;
	if (alb_key_read_file(path, &k, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	return k;
}

/* The raw extension value of a certificate. */
static void ext_bytes(const X509 *x, const uint8_t **p, size_t *len)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(ALB_CERTEXT_OID, 1);
	int i = X509_get_ext_by_OBJ(x, obj, -1);
	ASN1_OBJECT_free(obj);
	assert_true(i >= 0);
	X509_EXTENSION *e = X509_get_ext(x, i);
	assert_false(X509_EXTENSION_get_critical(e));
	const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
	*p = ASN1_STRING_get0_data(v);
	*len = (size_t)ASN1_STRING_length(v);
}

static void assert_ext_equals_file(const X509 *x, const char *file)
{
	size_t n = 0;
	uint8_t *want = vec_read_at(vec_dir(), file, &n);
	assert_non_null(want);
	const uint8_t *got;
	size_t len;
	ext_bytes(x, &got, &len);
	assert_int_equal(len, n);
	assert_memory_equal(got, want, n);
	/* and our encoder writes the same bytes for the decoded command */
	struct alb_certext *ce = NULL;
	assert_int_equal(alb_cert_ext_get(x, &ce, NULL), 0);
	struct alb_buf b = {0};
	assert_int_equal(alb_certext_encode(ce, &b, NULL), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	alb_buf_free(&b);
	alb_certext_free(ce);
	free(want);
}

static void test_vector_chain(void **state)
{
	(void)state;
	X509 *ca = vec_cert("ca.pem");
	STACK_OF(X509) *chain = vec_certs("leaf-chain.pem");
	assert_int_equal(sk_X509_num(chain), 2);
	struct alb_cert_auth *a = NULL;
	struct alb_error err;
	int rc = alb_cert_authenticate(ca, chain, T2030, &a, &err);
	if (rc != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(a->name, "tenant:hello");
	assert_int_equal(a->n_delegations, 1);
	assert_string_equal(a->delegations[0].path, "tenant:");
	assert_int_equal(a->delegations[0].policy->unikernels, 10);
	assert_int_equal(a->delegations[0].policy->memory, 1024);
	assert_int_equal(a->ext->command.kind, ALB_CMD_UNIKERNEL_CREATE);
	assert_ext_equals_file(sk_X509_value(chain, 0), "certs/leaf.ext.der");
	assert_ext_equals_file(sk_X509_value(chain, 1), "certs/intermediate.ext.der");
	alb_cert_auth_free(a);

	/* expired, not yet valid, another CA */
	assert_int_equal(alb_cert_verify(ca, chain, T2050, &err), ALB_EPERM);
	assert_string_equal(err.msg, "certificate verification failed: certificate has expired");
	assert_int_equal(alb_cert_verify(ca, chain, INT64_C(1600000000), &err), ALB_EPERM);
	assert_string_equal(err.msg, "certificate verification failed: certificate is not yet valid");
	X509 *server = vec_cert("server.pem");
	assert_int_equal(alb_cert_verify(server, chain, T2030, &err), ALB_EPERM);
	X509_free(server);

	/* the root in the presented chain is fine and skipped */
	X509_up_ref(ca);
	sk_X509_push(chain, ca);
	assert_int_equal(alb_cert_authenticate(ca, chain, T2030, &a, &err), 0);
	assert_string_equal(a->name, "tenant:hello");
	assert_int_equal(a->n_delegations, 1);
	alb_cert_auth_free(a);
	sk_X509_pop_free(chain, X509_free);

	/* a CA certificate as leaf: Policy_add is no leaf command */
	chain = vec_certs("policy-leaf-chain.pem");
	assert_int_equal(alb_cert_map(chain, &a, &err), ALB_EPERM);
	assert_string_equal(err.msg, "unexpected command");
	assert_ext_equals_file(sk_X509_value(chain, 0), "certs/policy-leaf.ext.der");
	sk_X509_pop_free(chain, X509_free);

	/* a leaf alone maps to a name at the root */
	chain = vec_certs("leaf.pem");
	assert_int_equal(alb_cert_map(chain, &a, &err), 0);
	assert_string_equal(a->name, ":hello");
	assert_int_equal(a->n_delegations, 0);
	alb_cert_auth_free(a);
	/* its issuer is not the CA: verification fails */
	assert_int_equal(alb_cert_verify(ca, chain, T2030, &err), ALB_EPERM);
	sk_X509_pop_free(chain, X509_free);

	assert_int_equal(alb_cert_map(NULL, &a, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "empty chain");
	X509_free(ca);
	alb_cert_auth_free(NULL);
}

/* The keys match their certificates; a wrong one is refused. */
static void test_vector_keys(void **state)
{
	(void)state;
	X509 *ca = vec_cert("ca.pem");
	EVP_PKEY *k = vec_key("ca.key");
	EVP_PKEY *other = vec_key("leaf.key");
	struct alb_error err;
	assert_int_equal(alb_key_matches(ca, k, &err), 0);
	assert_int_equal(alb_key_matches(ca, other, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "Public key of certificate doesn't match private key");
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
	X509_free(ca);
}

/* ---- a PKI made here ------------------------------------------------------ */

static struct alb_policy test_policy(int64_t unikernels, int64_t memory)
{
	static int64_t cpus[] = {0, 1};
	static struct alb_str bridges[] = {{"service", 7}};
	struct alb_policy p = {.unikernels = unikernels, .n_cpuids = 2, .cpuids = cpus,
			       .memory = memory, .n_bridges = 1, .bridges = bridges};
	return p;
}

struct ca {
	X509 *cert;
	EVP_PKEY *key;
};

static struct ca make_root(int64_t now)
{
	struct ca c = {0};
	struct alb_error err;
	assert_int_equal(alb_key_generate(ALB_KEY_ED25519, &c.key, &err), 0);
	if (alb_cert_make_ca(c.key, "root", ALB_CERT_DAYS_CA, now, &c.cert, &err) != 0)
		fail_msg("%s", err.msg);
	return c;
}

/* A delegated CA at label cn with policy p, signed by issuer. */
static struct ca make_sub(const struct ca *issuer, const char *cn,
			  const struct alb_policy *p, int64_t now)
{
	struct ca c = {0};
	struct alb_error err;
	struct alb_command cmd = {.kind = ALB_CMD_POLICY_ADD};
	cmd.u.policy = *p;
	X509_REQ *csr = NULL;
	assert_int_equal(alb_key_generate(ALB_KEY_ED25519, &c.key, &err), 0);
	assert_int_equal(alb_csr_make(c.key, cn, &cmd, 0, &csr, &err), 0);
	if (alb_cert_sign_csr(issuer->cert, issuer->key, csr, 0, now, NULL, &c.cert, &err) != 0)
		fail_msg("%s", err.msg);
	X509_REQ_free(csr);
	return c;
}

static void ca_free(struct ca *c)
{
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
}

static X509 *make_leaf(const struct ca *issuer, const char *cn,
		       const struct alb_command *cmd, int64_t now)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	struct alb_error err;
	assert_int_equal(alb_key_generate(ALB_KEY_ED25519, &k, &err), 0);
	if (alb_cert_make_leaf(issuer->cert, issuer->key, k, cn, cmd, 0, now, &x, &err) != 0)
		fail_msg("%s", err.msg);
	EVP_PKEY_free(k);
	return x;
}

/* Re-signs x with subject subj (NULL: an empty subject, no CN). */
static void resign(X509 *x, const char *cn, const struct ca *issuer)
{
	X509_NAME *n = X509_NAME_new();
	if (cn != NULL)
		assert_true(X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
						       (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_subject_name(x, n));
	X509_NAME_free(n);
	assert_true(X509_sign(x, issuer->key, NULL) > 0);
}

static STACK_OF(X509) *chain_of(X509 *leaf, ...)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	va_list ap;
	va_start(ap, leaf);
	for (X509 *x = leaf; x != NULL; x = va_arg(ap, X509 *)) {
		X509_up_ref(x);
		sk_X509_push(s, x);
	}
	va_end(ap);
	return s;
}

static void map_fails(STACK_OF(X509) *chain, int code, const char *msg)
{
	struct alb_cert_auth *a = NULL;
	struct alb_error err;
	assert_int_equal(alb_cert_map(chain, &a, &err), code);
	assert_null(a);
	assert_string_equal(err.msg, msg);
	sk_X509_pop_free(chain, X509_free);
}

static void test_made_chain(void **state)
{
	(void)state;
	int64_t now = alb_cert_now();
	struct ca root = make_root(now);
	struct alb_policy pa = test_policy(4, 512), pb = test_policy(2, 256);
	struct ca a = make_sub(&root, "a", &pa, now);
	struct ca b = make_sub(&a, "B", &pb, now);
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	X509 *leaf = make_leaf(&b, "hello", &info, now);
	STACK_OF(X509) *chain = chain_of(leaf, b.cert, a.cert, NULL);
	struct alb_cert_auth *auth = NULL;
	struct alb_error err;
	if (alb_cert_authenticate(root.cert, chain, now, &auth, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(auth->name, "a:b:hello");
	assert_int_equal(auth->n_delegations, 2);
	assert_string_equal(auth->delegations[0].path, "a:");
	assert_string_equal(auth->delegations[1].path, "a:b:");
	assert_true(alb_policy_equal(auth->delegations[0].policy, &pa));
	assert_true(alb_policy_equal(auth->delegations[1].policy, &pb));
	assert_int_equal(auth->ext->command.kind, ALB_CMD_UNIKERNEL_INFO);
	alb_cert_auth_free(auth);
	/* the leaf lives 300 s; OpenSSL takes its last second as expired */
	assert_int_equal(alb_cert_verify(root.cert, chain, now + ALB_CERT_LEAF_SECONDS - 1, &err),
			 0);
	assert_int_equal(alb_cert_verify(root.cert, chain, now + ALB_CERT_LEAF_SECONDS, &err),
			 ALB_EPERM);
	assert_int_equal(alb_cert_verify(root.cert, chain, now - ALB_CERT_BACKDATE, &err), 0);
	assert_int_equal(alb_cert_verify(root.cert, chain, now - ALB_CERT_BACKDATE - 1, &err),
			 ALB_EPERM);
	/* another root does not authenticate it */
	struct ca other = make_root(now);
	assert_int_equal(alb_cert_verify(other.cert, chain, now, &err), ALB_EPERM);
	/* same subject "root", another key */
	assert_string_equal(err.msg, "certificate verification failed: certificate signature failure");
	ca_free(&other);
	sk_X509_pop_free(chain, X509_free);

	/* CN "." and ":" name the path; a leaf without CN too */
	const char *path_cns[] = {".", ":", NULL};
	for (size_t i = 0; i < 3; i++) {
		X509 *l = make_leaf(&b, "x", &info, now);
		resign(l, path_cns[i], &b);
		chain = chain_of(l, b.cert, a.cert, NULL);
		assert_int_equal(alb_cert_authenticate(root.cert, chain, now, &auth, &err), 0);
		assert_string_equal(auth->name, "a:b:");
		alb_cert_auth_free(auth);
		sk_X509_pop_free(chain, X509_free);
		X509_free(l);
	}
	/* a leaf without CN may not carry commands that need a label */
	struct alb_command block_add = {.kind = ALB_CMD_BLOCK_ADD, .u.block_size = 10};
	X509 *l = make_leaf(&b, "x", &block_add, now);
	resign(l, NULL, &b);
	map_fails(chain_of(l, b.cert, a.cert, NULL), ALB_EPERM,
		  "block add may not have an empty name");
	X509_free(l);
	struct alb_command old_dump = {.kind = ALB_CMD_OLD_BLOCK_DUMP};
	l = make_leaf(&b, "x", &old_dump, now);
	resign(l, NULL, &b);
	map_fails(chain_of(l, b.cert, a.cert, NULL), ALB_EPERM,
		  "block dump may not have an empty name");
	X509_free(l);
	/* a CN that is not a label */
	l = make_leaf(&b, "x", &info, now);
	resign(l, "a:b", &b);
	map_fails(chain_of(l, b.cert, a.cert, NULL), ALB_EPARSE,
		  "invalid path: invalid label (only [a-zA-Z0-9-.] allowed, 1 to 63 chars)");
	X509_free(l);
	/* commands not allowed in a leaf */
	struct alb_command console_add = {.kind = ALB_CMD_CONSOLE_ADD, .u.console_add = 3};
	l = make_leaf(&b, "x", &console_add, now);
	map_fails(chain_of(l, b.cert, a.cert, NULL), ALB_EPERM, "unexpected command");
	X509_free(l);
	/* an intermediate with another command than policy add */
	struct ca odd = {0};
	assert_int_equal(alb_key_generate(ALB_KEY_ED25519, &odd.key, &err), 0);
	odd.cert = make_leaf(&a, "odd", &info, now);
	l = make_leaf(&b, "x", &info, now);
	map_fails(chain_of(l, odd.cert, a.cert, NULL), ALB_EPERM,
		  "unexpected wire unikernel info");
	/* an intermediate with policy add but no CN */
	X509 *nocn = X509_dup(b.cert);
	resign(nocn, NULL, &a);
	map_fails(chain_of(l, nocn, a.cert, NULL), ALB_EPERM,
		  "policy add may not have an empty name");
	X509_free(nocn);
	X509_free(l);
	ca_free(&odd);
	/* a leaf without the extension (a server certificate) */
	EVP_PKEY *sk = NULL;
	X509_REQ *csr = NULL;
	X509 *server = NULL;
	assert_int_equal(alb_key_generate(ALB_KEY_ED25519, &sk, &err), 0);
	assert_int_equal(alb_csr_make(sk, "server", NULL, 0, &csr, &err), 0);
	assert_int_equal(alb_cert_sign_csr(root.cert, root.key, csr, 0, now, NULL, &server, &err), 0);
	map_fails(chain_of(server, NULL), ALB_EPERM,
		  "leaf certificate does not contain an albatross extension");
	/* serverAuth only: not a TLS client certificate */
	chain = chain_of(server, NULL);
	assert_int_equal(alb_cert_verify(root.cert, chain, now, &err), ALB_EPERM);
	assert_string_equal(err.msg, "certificate verification failed: unsuitable certificate purpose");
	sk_X509_pop_free(chain, X509_free);
	X509_free(server);
	X509_REQ_free(csr);
	EVP_PKEY_free(sk);

	X509_free(leaf);
	ca_free(&b);
	ca_free(&a);
	ca_free(&root);
}

/* x (a delegated CA signed by issuer) with Policy_add p instead. */
static X509 *with_policy(const X509 *x, const struct alb_policy *p,
			 const struct ca *issuer)
{
	X509 *y = forge_policy(x, p, issuer->key);
	assert_non_null(y);
	return y;
}

/* Delegations must nest inside the chain: a sub-CA whose policy is above
 * its parent's in any field is refused with the reason; equal policies
 * nest. */
static void test_chain_nesting(void **state)
{
	(void)state;
	int64_t now = alb_cert_now();
	struct ca root = make_root(now);
	struct alb_policy pa = test_policy(4, 512), pb = test_policy(2, 256);
	struct ca a = make_sub(&root, "a", &pa, now);
	struct ca b = make_sub(&a, "b", &pb, now);
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	X509 *leaf = make_leaf(&b, "x", &info, now);
	struct alb_cert_auth *auth = NULL;
	struct alb_error err;

	/* at the parent's policy: nests */
	X509 *same = with_policy(b.cert, &pa, &a);
	STACK_OF(X509) *chain = chain_of(leaf, same, a.cert, NULL);
	if (alb_cert_authenticate(root.cert, chain, now, &auth, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(auth->n_delegations, 2);
	alb_cert_auth_free(auth);
	sk_X509_pop_free(chain, X509_free);
	X509_free(same);

	/* one unikernel more than the parent allows */
	struct alb_policy big = test_policy(5, 256);
	X509 *above = with_policy(b.cert, &big, &a);
	chain = chain_of(leaf, above, a.cert, NULL);
	/* the signatures are right: only the policies are wrong */
	assert_int_equal(alb_cert_verify(root.cert, chain, now, &err), 0);
	auth = NULL;
	assert_int_equal(alb_cert_authenticate(root.cert, chain, now, &auth, &err),
			 ALB_EPERM);
	assert_null(auth);
	assert_string_equal(err.msg, "policy of a:b: is not within the policy of "
				     "a: in the chain: policy above allows 4 "
				     "unikernels, which is fewer than 5");
	sk_X509_pop_free(chain, X509_free);
	X509_free(above);

	/* more memory, another CPU, another bridge, block storage */
	big = test_policy(2, 513);
	above = with_policy(b.cert, &big, &a);
	map_fails(chain_of(leaf, above, a.cert, NULL), ALB_EPERM,
		  "policy of a:b: is not within the policy of a: in the chain: "
		  "policy above allows 512 MB memory, which is fewer than 513 MB");
	X509_free(above);
	int64_t cpus3[] = {0, 1, 2};
	big = test_policy(2, 256);
	big.n_cpuids = 3;
	big.cpuids = cpus3;
	above = with_policy(b.cert, &big, &a);
	map_fails(chain_of(leaf, above, a.cert, NULL), ALB_EPERM,
		  "policy of a:b: is not within the policy of a: in the chain: "
		  "policy above does not allow CPUids 2");
	X509_free(above);
	big = test_policy(2, 256);
	big.has_block = true;
	big.block = 10;
	above = with_policy(b.cert, &big, &a);
	map_fails(chain_of(leaf, above, a.cert, NULL), ALB_EPERM,
		  "policy of a:b: is not within the policy of a: in the chain: "
		  "policy above allows 0 MB block storage, which is fewer than 10 MB");
	X509_free(above);

	/* deeper: the third level above the second, the first fine */
	struct ca c = make_sub(&b, "c", &pb, now);
	struct alb_policy pc = test_policy(3, 256);
	X509 *c_above = with_policy(c.cert, &pc, &b);
	X509 *l2 = make_leaf(&c, "x", &info, now);
	map_fails(chain_of(l2, c_above, b.cert, a.cert, NULL), ALB_EPERM,
		  "policy of a:b:c: is not within the policy of a:b: in the chain: "
		  "policy above allows 2 unikernels, which is fewer than 3");
	X509_free(c_above);
	X509_free(l2);
	ca_free(&c);

	X509_free(leaf);
	ca_free(&b);
	ca_free(&a);
	ca_free(&root);
}

/* Chains of ALB_CERT_CHAIN_MAX − 1 certificates map, one more does not. */
static void test_chain_length(void **state)
{
	(void)state;
	int64_t now = alb_cert_now();
	struct ca root = make_root(now);
	struct alb_policy p = test_policy(4, 512);
	struct ca sub[ALB_CERT_CHAIN_MAX - 2];
	const struct ca *issuer = &root;
	for (size_t i = 0; i < ALB_CERT_CHAIN_MAX - 2; i++) {
		char cn[8];
		snprintf(cn, sizeof(cn), "l%zu", i);
		sub[i] = make_sub(issuer, cn, &p, now);
		issuer = &sub[i];
	}
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	X509 *leaf = make_leaf(issuer, "x", &info, now);
	/* leaf + 8 intermediates = 9 certificates */
	STACK_OF(X509) *chain = chain_of(leaf, NULL);
	for (size_t i = ALB_CERT_CHAIN_MAX - 2; i > 0; i--) {
		X509_up_ref(sub[i - 1].cert);
		sk_X509_push(chain, sub[i - 1].cert);
	}
	assert_int_equal(sk_X509_num(chain), ALB_CERT_CHAIN_MAX - 1);
	struct alb_cert_auth *a = NULL;
	struct alb_error err;
	if (alb_cert_authenticate(root.cert, chain, now, &a, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(a->name, "l0:l1:l2:l3:l4:l5:l6:l7:x");
	assert_int_equal(a->n_delegations, ALB_CERT_CHAIN_MAX - 2);
	alb_cert_auth_free(a);
	/* with the root appended: 10 */
	X509_up_ref(root.cert);
	sk_X509_push(chain, root.cert);
	assert_int_equal(alb_cert_map(chain, &a, &err), ALB_ETOOBIG);
	assert_string_equal(err.msg, "certificate chain too long");
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	for (size_t i = 0; i < ALB_CERT_CHAIN_MAX - 2; i++)
		ca_free(&sub[i]);
	ca_free(&root);
}

static int64_t lifetime(const X509 *x)
{
	int days = 0, secs = 0;
	assert_true(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)));
	return (int64_t)days * 86400 + secs;
}

static bool has_ext(const X509 *x, int nid, bool critical)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	return i >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, i)) == (int)critical;
}

/* sign: the profiles, default validity, policy checks (§9.5). */
static void test_sign(void **state)
{
	(void)state;
	int64_t now = alb_cert_now();
	struct ca root = make_root(now);
	assert_int_equal(lifetime(root.cert), ALB_CERT_DAYS_CA * 86400 + ALB_CERT_BACKDATE);
	assert_true(has_ext(root.cert, NID_basic_constraints, true));
	assert_true(has_ext(root.cert, NID_key_usage, true));
	assert_int_equal(X509_get_ext_by_NID(root.cert, NID_subject_key_identifier, -1), -1);
	assert_int_equal(X509_get_key_usage(root.cert),
			 KU_KEY_CERT_SIGN | KU_CRL_SIGN | KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);

	struct alb_policy pa = test_policy(4, 512);
	struct ca a = make_sub(&root, "a", &pa, now);
	assert_int_equal(lifetime(a.cert), ALB_CERT_DAYS_SERVER * 86400 + ALB_CERT_BACKDATE);
	assert_true(X509_check_ca(a.cert) > 0);
	assert_true(has_ext(a.cert, NID_subject_key_identifier, false));
	assert_true(has_ext(a.cert, NID_authority_key_identifier, false));

	struct alb_error err;
	EVP_PKEY *k = NULL;
	X509_REQ *csr = NULL;
	X509 *x = NULL;
	assert_int_equal(alb_key_generate(ALB_KEY_ED25519, &k, &err), 0);
	/* a leaf from a CSR: 1 day, clientAuth, CA:FALSE */
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	assert_int_equal(alb_csr_make(k, "hello", &info, 0, &csr, &err), 0);
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, 0, now, NULL, &x, &err), 0);
	assert_int_equal(lifetime(x), ALB_CERT_DAYS_LEAF * 86400 + ALB_CERT_BACKDATE);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extended_key_usage(x) == XKU_SSL_CLIENT);
	assert_true(has_ext(x, NID_ext_key_usage, true));
	X509_free(x);
	/* --days */
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, 7, now, NULL, &x, &err), 0);
	assert_int_equal(lifetime(x), 7 * 86400 + ALB_CERT_BACKDATE);
	X509_free(x);
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, ALB_CERT_DAYS_MAX, now, NULL, &x,
					   &err), 0);
	X509_free(x);
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, ALB_CERT_DAYS_MAX + 1, now, NULL,
					   &x, &err), ALB_EINVAL);
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, -1, now, NULL, &x, &err),
			 ALB_EINVAL);
	/* the wrong key */
	assert_int_equal(alb_cert_sign_csr(a.cert, root.key, csr, 0, now, NULL, &x, &err),
			 ALB_EINVAL);
	assert_string_equal(err.msg, "Public key of certificate doesn't match private key");
	X509_REQ_free(csr);

	/* policies: unusable, larger than the CA's */
	struct alb_command pol = {.kind = ALB_CMD_POLICY_ADD};
	pol.u.policy = test_policy(0, 512);
	assert_int_equal(alb_csr_make(k, "sub", &pol, 0, &csr, &err), 0);
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, 0, now, NULL, &x, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "Unusable policy with no unikernels");
	X509_REQ_free(csr);
	pol.u.policy = test_policy(5, 512);
	assert_int_equal(alb_csr_make(k, "sub", &pol, 0, &csr, &err), 0);
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, 0, now, NULL, &x, &err), ALB_EPERM);
	assert_string_equal(err.msg, "policy above allows 4 unikernels, which is fewer than 5");
	/* the root has no policy: anything usable goes */
	assert_int_equal(alb_cert_sign_csr(root.cert, root.key, csr, 0, now, NULL, &x, &err), 0);
	X509_free(x);
	X509_REQ_free(csr);
	/* a create must fit the CA's policy, here and in a fresh leaf */
	struct alb_command create = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	int64_t cpu = 0;
	create.u.create.n_cpuids = 1;
	create.u.create.cpuids = &cpu;
	create.u.create.memory = 1024;
	create.u.create.numcpus = 1;
	assert_int_equal(alb_csr_make(k, "big", &create, 0, &csr, &err), 0);
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, 0, now, NULL, &x, &err), ALB_EPERM);
	assert_string_equal(err.msg, "1024 MB memory assigned to unikernel exceeds policy (512MB)");
	X509_REQ_free(csr);
	assert_int_equal(alb_cert_make_leaf(a.cert, a.key, k, "big", &create, 0, now, &x, &err),
			 ALB_EPERM);
	assert_string_equal(err.msg, "1024 MB memory assigned to unikernel exceeds policy (512MB)");
	/* a CSR without CN */
	csr = X509_REQ_new();
	assert_true(X509_REQ_set_pubkey(csr, k));
	assert_true(X509_REQ_sign(csr, k, NULL) > 0);
	assert_int_equal(alb_cert_sign_csr(a.cert, a.key, csr, 0, now, NULL, &x, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "couldn't find name (no common name in CSR subject)");
	X509_REQ_free(csr);
	EVP_PKEY_free(k);
	ca_free(&a);
	ca_free(&root);
}

/* Every key type signs with its digest (§9.10). */
static void test_key_types(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int sig_nid;
	} types[] = {
		{"ed25519", NID_ED25519},
		{"rsa2048", NID_sha256WithRSAEncryption},
		{"rsa4096", NID_sha256WithRSAEncryption},
		{"p256", NID_ecdsa_with_SHA256},
		{"p384", NID_ecdsa_with_SHA384},
		{"p521", NID_ecdsa_with_SHA512},
	};
	struct alb_error err;
	int64_t now = alb_cert_now();
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		enum alb_key_type t;
		assert_int_equal(alb_key_type_parse(types[i].name, &t, &err), 0);
		assert_string_equal(alb_key_type_name(t), types[i].name);
		EVP_PKEY *k = NULL;
		X509 *x = NULL;
		assert_int_equal(alb_key_generate(t, &k, &err), 0);
		assert_int_equal(alb_cert_make_ca(k, "ca", 1, now, &x, &err), 0);
		assert_int_equal(X509_get_signature_nid(x), types[i].sig_nid);
		assert_int_equal(X509_verify(x, k), 1);
		X509_free(x);
		EVP_PKEY_free(k);
	}
	enum alb_key_type t;
	assert_int_equal(alb_key_type_parse("dsa", &t, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "unknown key type dsa");
}

/* Serial numbers (§9.6) and the DB line. */
static void test_serial_db(void **state)
{
	(void)state;
	for (int i = 0; i < 2000; i++) {
		uint8_t s[ALB_CERT_SERIAL_MAX];
		size_t n = 0;
		assert_int_equal(alb_cert_serial(s, &n, NULL), 0);
		assert_true(n == ALB_CERT_SERIAL_RANDOM || n == ALB_CERT_SERIAL_MAX);
		/* positive and minimal as a DER INTEGER */
		assert_true(s[0] < 0x80);
		assert_false(s[0] == 0x00 && s[1] < 0x80);
		if (n == ALB_CERT_SERIAL_MAX)
			assert_true((s[0] == 0x00 && s[1] >= 0x80) ||
				    (s[0] == 0x7f && s[1] == 0x00 && s[2] <= 0x7f));
	}
	char dir[] = "/tmp/test_cert_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char db[sizeof(dir) + 8];
	snprintf(db, sizeof(db), "%s/ca.db", dir);
	int64_t now = alb_cert_now();
	struct ca root = make_root(now);
	struct alb_error err;
	assert_int_equal(alb_cert_db_append(db, root.cert, &err), 0);
	assert_int_equal(alb_cert_db_append(db, root.cert, &err), 0);
	size_t len = 0;
	uint8_t *text = vec_read(db, &len);
	assert_non_null(text);
	/* the DER content bytes of the serial, in hex */
	unsigned char *der = NULL;
	int dn = i2d_ASN1_INTEGER(X509_get_serialNumber(root.cert), &der);
	assert_true(dn > 2 && der[1] == dn - 2);
	char want[128];
	size_t o = 0;
	for (int i = 2; i < dn; i++)
		o += (size_t)snprintf(want + o, sizeof(want) - o, "%02x", der[i]);
	snprintf(want + o, sizeof(want) - o, " root\n");
	OPENSSL_free(der);
	assert_int_equal(len, 2 * strlen(want));
	assert_memory_equal(text, want, strlen(want));
	assert_memory_equal(text + strlen(want), want, strlen(want));
	free(text);
	struct stat st;
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	unlink(db);
	rmdir(dir);
	ca_free(&root);
}

/* The vectors of the real albatross-client: CSR, signed intermediate,
 * and signing that CSR again with its CA (keys match). */
static void test_client_generated(void **state)
{
	(void)state;
	struct alb_error err;
	X509 *cacert = NULL;
	assert_int_equal(alb_cert_read_single(cert_path("client-generated/cacert.pem"), &cacert,
					      &err), 0);
	X509 *tenant = vec_cert("client-generated/tenant.pem");
	EVP_PKEY *cakey = vec_key("client-generated/testca.key");
	assert_int_equal(alb_key_matches(cacert, cakey, &err), 0);
	X509_REQ *csr = NULL;
	assert_int_equal(alb_csr_read_file(cert_path("client-generated/tenant.req"), &csr, &err),
			 0);
	char cn[ALB_CERT_CN_MAX + 1];
	assert_int_equal(alb_csr_cn(csr, cn, &err), 0);
	assert_string_equal(cn, "tenant");
	struct alb_certext *req_ext = NULL, *cert_ext = NULL;
	int64_t version = 0;
	assert_int_equal(alb_csr_ext_get(csr, &version, &req_ext, &err), 0);
	assert_int_equal(version, 5);
	assert_int_equal(req_ext->command.kind, ALB_CMD_POLICY_ADD);
	assert_int_equal(alb_cert_ext_get(tenant, &cert_ext, &err), 0);
	assert_true(alb_policy_equal(&req_ext->command.u.policy, &cert_ext->command.u.policy));

	int64_t now = alb_cert_now();
	X509 *mine = NULL;
	assert_int_equal(alb_cert_sign_csr(cacert, cakey, csr, 0, now, NULL, &mine, &err), 0);
	/* the same extension bytes and key usage as albatross-client's */
	const uint8_t *p1, *p2;
	size_t n1, n2;
	ext_bytes(tenant, &p1, &n1);
	ext_bytes(mine, &p2, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(p1, p2, n1);
	assert_int_equal(X509_get_key_usage(mine), X509_get_key_usage(tenant));
	/* and the same key identifiers */
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(mine),
					       X509_get0_subject_key_id(tenant)), 0);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(mine),
					       X509_get0_authority_key_id(tenant)), 0);
	/* a chain [leaf, tenant] verifies against cacert within tenant's life */
	EVP_PKEY *tkey = vec_key("client-generated/tenant.key");
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	X509 *leaf = NULL;
	int64_t at = (int64_t)1795410000; /* 2026-11-22T..., tenant.pem valid */
	assert_int_equal(alb_cert_make_leaf(tenant, tkey, cakey, "hello", &info, 0, at, &leaf,
					    &err), 0);
	STACK_OF(X509) *chain = chain_of(leaf, tenant, NULL);
	struct alb_cert_auth *auth = NULL;
	if (alb_cert_authenticate(cacert, chain, at, &auth, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(auth->name, "tenant:hello");
	alb_cert_auth_free(auth);
	sk_X509_pop_free(chain, X509_free);
	X509_free(leaf);
	EVP_PKEY_free(tkey);
	X509_free(mine);
	alb_certext_free(req_ext);
	alb_certext_free(cert_ext);
	X509_REQ_free(csr);
	EVP_PKEY_free(cakey);
	X509_free(tenant);
	X509_free(cacert);
	/* sign's CACERT must be one certificate */
	assert_int_equal(alb_cert_read_single(cert_path("leaf-chain.pem"), &cacert, &err),
			 ALB_EINVAL);
	assert_string_equal(err.msg, "expect single ca as cacert");
}

/* Limits: the common name, the file size, the certificate size. */
static void test_limits(void **state)
{
	(void)state;
	struct alb_error err;
	int64_t now = alb_cert_now();
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	assert_int_equal(alb_key_generate(ALB_KEY_ED25519, &k, &err), 0);
	char cn[ALB_CERT_CN_MAX + 2];
	memset(cn, 'a', sizeof(cn));
	cn[ALB_CERT_CN_MAX] = '\0';
	assert_int_equal(alb_cert_make_ca(k, cn, 1, now, &x, &err), 0);
	char got[ALB_CERT_CN_MAX + 1];
	assert_int_equal(alb_cert_cn(x, got, &err), 0);
	assert_string_equal(got, cn);
	cn[ALB_CERT_CN_MAX] = 'a';
	cn[ALB_CERT_CN_MAX + 1] = '\0';
	X509 *y = NULL;
	assert_int_equal(alb_cert_make_ca(k, cn, 1, now, &y, &err), ALB_ETOOBIG);

	/* a PEM buffer of exactly ALB_CERT_FILE_MAX bytes, then one more */
	BIO *b = BIO_new(BIO_s_mem());
	assert_true(PEM_write_bio_X509(b, x));
	char *pem = NULL;
	long pn = BIO_get_mem_data(b, &pem);
	uint8_t *big = malloc(ALB_CERT_FILE_MAX + 1);
	memset(big, '\n', ALB_CERT_FILE_MAX + 1);
	memcpy(big, pem, (size_t)pn);
	BIO_free(b);
	STACK_OF(X509) *s = NULL;
	assert_int_equal(alb_cert_parse(big, ALB_CERT_FILE_MAX, &s, &err), 0);
	assert_int_equal(sk_X509_num(s), 1);
	sk_X509_pop_free(s, X509_free);
	assert_int_equal(alb_cert_parse(big, ALB_CERT_FILE_MAX + 1, &s, &err), ALB_ETOOBIG);
	free(big);
	/* garbage and a truncated PEM */
	assert_int_equal(alb_cert_parse((const uint8_t *)"hello", 5, &s, &err), ALB_EPARSE);
	assert_int_equal(alb_cert_parse((const uint8_t *)pem, 0, &s, &err), ALB_EPARSE);

	/* the leaf's DER at ALB_CERT_DER_MAX and one past: find the overhead
	 * of the certificate around the image, then size the image. The serial
	 * may be 10 or 11 bytes, so retry until the size is the one aimed at. */
	struct alb_command create = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	int64_t cpu = 0;
	create.u.create.n_cpuids = 1;
	create.u.create.cpuids = &cpu;
	create.u.create.memory = 32;
	create.u.create.numcpus = 1;
	size_t img_len = ALB_CERT_DER_MAX - 4096;
	uint8_t *img = calloc(1, ALB_CERT_DER_MAX);
	create.u.create.image.ptr = img;
	create.u.create.image.len = img_len;
	assert_int_equal(alb_cert_make_leaf(x, k, k, "big", &create, 0, now, &y, &err), 0);
	size_t overhead = (size_t)i2d_X509(y, NULL) - img_len;
	X509_free(y);
	for (int past = 0; past <= 1; past++) {
		create.u.create.image.len = ALB_CERT_DER_MAX - overhead + (size_t)past;
		int rc = 0;
		for (int tries = 0; tries < 20; tries++) {
			y = NULL;
			rc = alb_cert_make_leaf(x, k, k, "big", &create, 0, now, &y, &err);
			size_t der = rc == 0 ? (size_t)i2d_X509(y, NULL) : 0;
			X509_free(y);
			if ((past == 0 && rc == 0 && der == ALB_CERT_DER_MAX) ||
			    (past == 1 && rc == ALB_ETOOBIG))
				break;
		}
		assert_int_equal(rc, past ? ALB_ETOOBIG : 0);
		if (past)
			assert_string_equal(err.msg, "certificate too big for TLS");
	}
	/* compressed at level 9, the same image fits easily */
	create.u.create.image.len = ALB_CERT_DER_MAX;
	assert_int_equal(alb_cert_make_leaf(x, k, k, "big", &create, ALB_CERT_COMPRESSION_DEFAULT,
					    now, &y, &err), 0);
	struct alb_certext *ce = NULL;
	assert_int_equal(alb_cert_ext_get(y, &ce, &err), 0);
	assert_true(ce->command.u.create.compressed);
	assert_true(ce->command.u.create.image.len < 65536);
	alb_certext_free(ce);
	X509_free(y);
	free(img);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* Key files: created 0400 when missing, reused otherwise; PEM outputs. */
static void test_files(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_cert_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char key[sizeof(dir) + 16], pem[sizeof(dir) + 16], req[sizeof(dir) + 16];
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	snprintf(pem, sizeof(pem), "%s/ca.pem", dir);
	snprintf(req, sizeof(req), "%s/x.req", dir);
	struct alb_error err;
	EVP_PKEY *k1 = NULL, *k2 = NULL;
	assert_int_equal(alb_key_load_or_create(key, ALB_KEY_P256, &k1, &err), 0);
	struct stat st;
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0400);
	assert_int_equal(alb_key_load_or_create(key, ALB_KEY_ED25519, &k2, &err), 0);
	assert_int_equal(EVP_PKEY_eq(k1, k2), 1);
	int64_t now = alb_cert_now();
	struct ca root = {0};
	root.key = k1;
	assert_int_equal(alb_cert_make_ca(k1, "root", 10, now, &root.cert, &err), 0);
	struct alb_policy p = test_policy(2, 128);
	struct ca a = make_sub(&root, "a", &p, now);
	/* a file of a sub-CA's certificate holds the sub-CA's issuer too,
	 * the root's only itself */
	STACK_OF(X509) *s = NULL;
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	X509 *leaf = make_leaf(&a, "x", &info, now);
	assert_int_equal(alb_cert_write_file(pem, leaf, a.cert, &err), 0);
	assert_int_equal(alb_cert_read_file(pem, &s, &err), 0);
	assert_int_equal(sk_X509_num(s), 2);
	assert_int_equal(X509_cmp(sk_X509_value(s, 1), a.cert), 0);
	sk_X509_pop_free(s, X509_free);
	assert_int_equal(alb_cert_write_file(pem, a.cert, root.cert, &err), 0);
	assert_int_equal(alb_cert_read_file(pem, &s, &err), 0);
	assert_int_equal(sk_X509_num(s), 1);
	sk_X509_pop_free(s, X509_free);
	X509_REQ *csr = NULL, *back = NULL;
	assert_int_equal(alb_csr_make(k2, "x", &info, 0, &csr, &err), 0);
	assert_int_equal(alb_csr_write_file(req, csr, &err), 0);
	assert_int_equal(alb_csr_read_file(req, &back, &err), 0);
	struct alb_certext *ce = NULL;
	assert_int_equal(alb_csr_ext_get(back, NULL, &ce, &err), 0);
	assert_int_equal(ce->command.kind, ALB_CMD_UNIKERNEL_INFO);
	alb_certext_free(ce);
	X509_REQ_free(back);
	X509_REQ_free(csr);
	X509_free(leaf);
	ca_free(&a);
	ca_free(&root);
	EVP_PKEY_free(k2);
	assert_int_equal(alb_key_read_file("/nonexistent/k", &k2, &err),
			 ALB_ESYS);
	unlink(key);
	unlink(pem);
	unlink(req);
	rmdir(dir);
}

/* cn_for: the CN albatross-client puts in a certificate (§9.3). */
static void test_cn_for(void **state)
{
	(void)state;
	char out[ALB_NAME_BUF];
	struct alb_error err;
	assert_int_equal(alb_cert_cn_for(":hello", ALB_CMD_UNIKERNEL_CREATE, out, &err), 0);
	assert_string_equal(out, "hello");
	assert_int_equal(alb_cert_cn_for(":", ALB_CMD_UNIKERNEL_INFO, out, &err), 0);
	assert_string_equal(out, ".");
	assert_int_equal(alb_cert_cn_for("a:b", ALB_CMD_UNIKERNEL_INFO, out, &err), ALB_EINVAL);
	assert_string_equal(err.msg, "non-empty path");
	assert_int_equal(alb_cert_cn_for("tenant:", ALB_CMD_POLICY_ADD, out, &err), 0);
	assert_string_equal(out, "tenant");
	assert_int_equal(alb_cert_cn_for("a:b:", ALB_CMD_POLICY_INFO, out, &err), 0);
	assert_string_equal(out, "a:b");
	assert_int_equal(alb_cert_cn_for(":", ALB_CMD_POLICY_INFO, out, &err), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	if (!vec_present(vec_dir()))
		return VEC_SKIP;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_chain),
		cmocka_unit_test(test_vector_keys),
		cmocka_unit_test(test_made_chain),
		cmocka_unit_test(test_chain_length),
		cmocka_unit_test(test_chain_nesting),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_serial_db),
		cmocka_unit_test(test_client_generated),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_cn_for),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
