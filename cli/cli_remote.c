/* alb-deploy and alb-info — the remote side of albatross-client: a command
 * sent to --destination over TLS in a fresh certificate, --destination -,
 * --csr, and `certificate CERT KEY` (spec §9.3, §9.8, §9.9, §10.1), with
 * albatross-client's messages and exit statuses.
 * SPDX-License-Identifier: ISC */
#include <string.h>

#include "cli_common.h"

void cli_remote_config(const struct cli_args *a, struct alb_remote_config *cfg)
{
	alb_remote_config_init(cfg);
	cfg->ca_file = a->ca;
	cfg->ca_key_file = a->ca_key;
	cfg->server_ca_file = a->server_ca;
	cfg->key_type = a->key_type;
	cfg->level = cli_level(a);
	cfg->timeout_ms = a->timeout_ms;
}

int cli_remote_exit(enum alb_remote_status why, int rc)
{
	switch (why) {
	case ALB_REMOTE_OK: return CLI_EXIT_OK;
	case ALB_REMOTE_CHAIN: return CLI_EXIT_CHAIN;
	case ALB_REMOTE_CONNECT: return CLI_EXIT_CONNECT;
	case ALB_REMOTE_LOCAL_AUTH: return CLI_EXIT_LOCAL_AUTH;
	case ALB_REMOTE_REMOTE_AUTH: return CLI_EXIT_REMOTE_AUTH;
	case ALB_REMOTE_COMM: return CLI_EXIT_COMM;
	case ALB_REMOTE_LOCAL: break;
	}
	return rc == ALB_ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_CLI;
}

/* The chain check, then "-" prints the chain (exit 121), else connects. */
static int connect_creds(struct cli_args *a, const struct alb_remote_creds *creds,
			 struct alb_client **c)
{
	struct alb_remote_config cfg;
	cli_remote_config(a, &cfg);
	struct alb_error err = {0};
	enum alb_remote_status why;
	int rc;
	if (strcmp(a->host, "-") == 0) {
		rc = alb_remote_creds_check(creds, cfg.server_ca_file, &why, &err);
		if (rc == 0)
			rc = alb_remote_creds_print(creds, stdout, &err);
		if (rc != 0) {
			cli_error(a, "%s", err.msg);
			return rc == ALB_ESYS ? CLI_EXIT_INTERNAL : cli_remote_exit(why, rc);
		}
		return CLI_EXIT_COMM;
	}
	rc = alb_remote_connect(&cfg, a->host, a->port, creds, c, &why, &err);
	if (rc != 0) {
		cli_error(a, "%s", err.msg);
		return cli_remote_exit(why, rc);
	}
	alb_log_info("connected to %s:%u over TLS", a->host, (unsigned)a->port);
	return CLI_EXIT_OK;
}

int cli_remote_connect(struct cli_args *a, const char *name,
		       const struct alb_command *cmd, struct alb_client **c)
{
	*c = NULL;
	struct alb_remote_config cfg;
	cli_remote_config(a, &cfg);
	struct alb_remote_creds *creds = NULL;
	struct alb_error err = {0};
	enum alb_remote_status why;
	int rc = alb_remote_creds_make(&cfg, name, cmd, &creds, &why, &err);
	if (rc != 0) {
		cli_error(a, "%s", err.msg);
		return cli_remote_exit(why, rc);
	}
	alb_log_info("sending %s for %s in a certificate",
		     alb_cmd_kind_name(cmd->kind), name);
	int status = connect_creds(a, creds, c);
	alb_remote_creds_free(creds);
	return status;
}

int cli_write_csr(struct cli_args *a, const char *name,
		  const struct alb_command *cmd)
{
	struct alb_error err = {0};
	char cn[ALB_NAME_BUF], path[ALB_NAME_BUF + 8];
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	int rc = alb_cert_cn_for(name, cmd->kind, cn, &err);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s.key", cn);
		rc = alb_key_load_or_create(path, a->key_type, &key, &err);
	}
	if (rc == 0)
		rc = alb_csr_make(key, cn, cmd, cli_level(a), &csr, &err);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s.req", cn);
		rc = alb_csr_write_file(path, csr, &err);
	}
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	if (rc != 0) {
		cli_error(a, "error while creating CSR: %s", err.msg);
		return rc == ALB_ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_CLI;
	}
	if (a->verbosity >= 0)
		printf("wrote %s\n", path);
	return CLI_EXIT_OK;
}

/* ---- certificate CERT KEY ------------------------------------------------ */

const struct cli_opt cli_certificate_opts[] = {
	{"destination", 'd', OPT_DESTINATION, "HOST[:PORT]",
	 "the albatross host to connect to (port 1025 unless given)"},
	{"server-ca", 0, OPT_SERVER_CA, "FILE",
	 "the CA certificate(s) the server's certificate must lead to "
	 "(default " ALB_REMOTE_SERVER_CA_DEFAULT ")"},
	{"timeout", 0, OPT_TIMEOUT, "SECONDS",
	 "give up when the server is silent this long (0: never)"},
	{NULL, 0, 0, NULL, NULL}};

int cli_run_certificate(struct cli_args *a)
{
	if (!a->remote) {
		cli_error(a, "no destination provided");
		return CLI_EXIT_CLI;
	}
	struct alb_remote_creds *creds = NULL;
	struct alb_error err = {0};
	enum alb_remote_status why;
	int rc = alb_remote_creds_load(a->pos[0], a->pos[1], &creds, &why, &err);
	if (rc != 0) {
		cli_error(a, "%s", err.msg);
		return cli_remote_exit(why, rc);
	}
	/* The replies are read as the certificate's command wants them (a
	 * stream when it has none, as albatross-client); the name of files
	 * written is the leaf's CN. */
	const struct alb_certext *ext = alb_remote_creds_command(creds);
	struct alb_command none = {.kind = ALB_CMD_CONSOLE_SUBSCRIBE};
	const struct alb_command *cmd = ext != NULL ? &ext->command : &none;
	char cn[ALB_CERT_CN_MAX + 1];
	if (alb_cert_cn(alb_remote_creds_leaf(creds), cn, NULL) != 0 ||
	    strcmp(cn, ".") == 0 || strchr(cn, '/') != NULL)
		snprintf(cn, sizeof(cn), "certificate");
	struct alb_client *c = NULL;
	int status = connect_creds(a, creds, &c);
	struct cli_request r = {.name = cn, .cmd = cmd, .upload_fd = -1,
				.dump_fd = -1};
	if (status == CLI_EXIT_OK && alb_command_reply_mode(cmd->kind) == ALB_REPLY_MODE_DUMP)
		status = cli_dump(a, cn, &r, c);
	else if (status == CLI_EXIT_OK)
		status = cli_run_connected(a, &r, c);
	alb_remote_creds_free(creds);
	return status;
}
