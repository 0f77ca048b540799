/* alb-ca — the certificate side of albatross-client (spec §9.5–§9.8):
 * make a CA, sign CSRs, write CSRs for a delegation or a create, and show
 * the albatross extensions of a certificate chain. create-csr and
 * add-policy-csr are alb-deploy's create and add-policy with --csr: the
 * same options, parsed by the same code.
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <string.h>

#include "cli_common.h"

static const struct cli_opt common_opts[] = {
	{"verbose", 'v', OPT_VERBOSE, NULL, "more messages"},
	{"quiet", 'q', OPT_QUIET, NULL, "no warnings"},
	{"help", 'h', OPT_HELP, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}};

#define KEY_TYPE_OPT                                                          \
	{"key-type", 0, OPT_KEY_TYPE, "TYPE",                                 \
	 "type of a new key: ed25519 (default), rsa2048, rsa4096, p256, p384 " \
	 "or p521"}

static const struct cli_opt generate_opts[] = {
	{"days", 0, OPT_DAYS, "N", "validity of the CA in days (default 3650)"},
	{"server", 0, OPT_SERVER, "NAME", "name of the server certificate (default server)"},
	{"server-days", 0, OPT_SERVER_DAYS, "N",
	 "validity of the server certificate in days (default 365)"},
	KEY_TYPE_OPT,
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt sign_opts[] = {
	{"days", 0, OPT_DAYS, "N",
	 "validity in days (default: 365 for a delegation or a server, 1 for a command)"},
	{NULL, 0, 0, NULL, NULL}};

/* create-csr and add-policy-csr: the options of alb-deploy's create and
 * add-policy, and the key type. */
static struct cli_opt create_csr_opts[64];
static struct cli_opt policy_csr_opts[16];

static const struct cli_opt no_opts[] = {{NULL, 0, 0, NULL, NULL}};

/* One line and 124 for any failure, as albatross-client's Cli_failed. */
static int failed(struct cli_args *a, const struct alb_error *err)
{
	cli_error(a, "%s", err->msg);
	return err->code == ALB_ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_CLI;
}

static int run_generate(struct cli_args *a)
{
	struct alb_error err = {0};
	char path[ALB_CERT_CN_MAX + 8];
	EVP_PKEY *key = NULL, *skey = NULL;
	X509 *ca = NULL, *server = NULL;
	X509_REQ *csr = NULL;
	int64_t now = alb_cert_now();
	const char *name = a->pos[0];
	const char *sname = a->server != NULL ? a->server : "server";
	if (strlen(name) > ALB_CERT_CN_MAX || strlen(sname) > ALB_CERT_CN_MAX) {
		cli_error(a, "NAME longer than %d bytes", ALB_CERT_CN_MAX);
		return CLI_EXIT_CLI;
	}
	snprintf(path, sizeof(path), "%s.key", name);
	int rc = alb_key_load_or_create(path, a->key_type, &key, &err);
	if (rc == 0)
		rc = alb_cert_make_ca(key, name, a->days != 0 ? a->days : ALB_CERT_DAYS_CA,
				      now, &ca, &err);
	if (rc == 0)
		rc = alb_cert_write_file("cacert.pem", ca, NULL, &err);
	snprintf(path, sizeof(path), "%s.key", sname);
	if (rc == 0)
		rc = alb_key_load_or_create(path, a->key_type, &skey, &err);
	if (rc == 0)
		rc = alb_csr_make(skey, sname, NULL, 0, &csr, &err);
	if (rc == 0)
		rc = alb_cert_sign_csr(ca, key, csr,
				       a->server_days != 0 ? a->server_days
							   : ALB_CERT_DAYS_SERVER,
				       now, NULL, &server, &err);
	if (rc == 0)
		rc = alb_cert_db_append(a->pos[1], server, &err);
	snprintf(path, sizeof(path), "%s.pem", sname);
	if (rc == 0)
		rc = alb_cert_write_file(path, server, ca, &err);
	X509_REQ_free(csr);
	X509_free(server);
	X509_free(ca);
	EVP_PKEY_free(skey);
	EVP_PKEY_free(key);
	return rc != 0 ? failed(a, &err) : CLI_EXIT_OK;
}

static int run_sign(struct cli_args *a)
{
	struct alb_error err = {0};
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	bool warn = false;
	char cn[ALB_CERT_CN_MAX + 1], path[ALB_CERT_CN_MAX + 8];
	int rc = alb_cert_read_single(a->pos[0], &ca, &err);
	if (rc == 0)
		rc = alb_key_read_file(a->pos[2], &key, &err);
	if (rc == 0)
		rc = alb_csr_read_file(a->pos[3], &csr, &err);
	if (rc == 0)
		rc = alb_cert_sign_csr(ca, key, csr, a->days, alb_cert_now(), &warn,
				       &cert, &err);
	if (rc == 0)
		rc = alb_cert_cn(cert, cn, &err);
	if (rc == 0 && warn)
		cli_warn(a, "version in request different from ours, using ours");
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s.pem", cn);
		rc = alb_cert_db_append(a->pos[1], cert, &err);
	}
	if (rc == 0)
		rc = alb_cert_write_file(path, cert, ca, &err);
	if (rc == 0)
		printf("signed %s\n", path);
	X509_REQ_free(csr);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	return rc != 0 ? failed(a, &err) : CLI_EXIT_OK;
}

static int run_create_csr(struct cli_args *a)
{
	a->csr = true;
	return cli_run_create(a);
}

static int run_add_policy_csr(struct cli_args *a)
{
	a->csr = true;
	return cli_run_add_policy(a);
}

static int run_show(struct cli_args *a)
{
	struct alb_error err = {0};
	STACK_OF(X509) *s = NULL;
	if (alb_cert_read_file(a->pos[0], &s, &err) != 0)
		return failed(a, &err);
	int status = CLI_EXIT_OK;
	for (int i = 0; i < sk_X509_num(s); i++) {
		X509 *x = sk_X509_value(s, i);
		char cn[ALB_CERT_CN_MAX + 1];
		if (alb_cert_cn(x, cn, &err) != 0)
			snprintf(cn, sizeof(cn), "(no common name)");
		printf("certificate %d: CN ", i);
		alb_print_escape(stdout, cn, strlen(cn), 0);
		printf("\n");
		struct alb_certext *ce = NULL;
		int rc = alb_cert_ext_get(x, &ce, &err);
		if (rc == ALB_ENOENT) {
			printf("no albatross extension\n");
			continue;
		}
		if (rc != 0 || alb_certext_print(stdout, ce, a->json ? ALB_PRINT_JSON : 0,
						 &err) != 0)
			status = failed(a, &err);
		alb_certext_free(ce);
	}
	sk_X509_pop_free(s, X509_free);
	return status;
}

static const struct cli_cmd commands[] = {
	{"generate", NULL, "NAME DB", 2,
	 "Makes a CA: the key NAME.key (kept when it exists), the self-signed "
	 "cacert.pem, and a server certificate signed by it (<server>.key, "
	 "<server>.pem; one line in DB).",
	 generate_opts, run_generate, true},
	{"sign", NULL, "CACERT DB KEY CSR", 4,
	 "Signs CSR with the CA certificate CACERT and its KEY: a delegated CA for "
	 "a policy, a leaf for a command, else a server certificate; writes "
	 "<CN>.pem (with CACERT after it unless CACERT is a root) and appends a "
	 "line to DB.",
	 sign_opts, run_sign, true},
	{"add-policy-csr", NULL, "PATH UNIKERNELS", 2,
	 "Writes the key and CSR of a delegation of PATH (alb-deploy add-policy "
	 "--csr): PATH.key, PATH.req.",
	 policy_csr_opts, run_add_policy_csr, true},
	{"create-csr", NULL, "NAME IMAGE", 2,
	 "Writes the key and CSR of a create (alb-deploy create --csr): NAME.key, "
	 "NAME.req; the image is carried compressed at level 9 unless "
	 "--compression-level says otherwise.",
	 create_csr_opts, run_create_csr, true},
	{"show", NULL, "CERT", 1,
	 "Shows the common name and the albatross extension of each certificate "
	 "of CERT.",
	 no_opts, run_show, true},
};

static const struct cli_prog alb_ca_prog = {
	"alb-ca",
	"Makes and signs the certificates of the TLS endpoint and its clients "
	"(the certificate commands of albatross-client).",
	commands,
	sizeof(commands) / sizeof(commands[0]),
	common_opts,
	NULL,
};

/* tab = a, then b, then one more option: the tables of the CSR commands. */
static void join(struct cli_opt *tab, size_t cap, const struct cli_opt *a,
		 const struct cli_opt *more)
{
	size_t n = 0;
	for (; a->name != NULL && n + 2 < cap; a++)
		tab[n++] = *a;
	tab[n++] = *more;
	tab[n].name = NULL;
}

int main(int argc, char **argv)
{
	static const struct cli_opt key_type = KEY_TYPE_OPT;
	join(create_csr_opts, sizeof(create_csr_opts) / sizeof(create_csr_opts[0]),
	     cli_create_opts, &key_type);
	join(policy_csr_opts, sizeof(policy_csr_opts) / sizeof(policy_csr_opts[0]),
	     cli_policy_opts, &key_type);
	return cli_main(&alb_ca_prog, argc, argv);
}
