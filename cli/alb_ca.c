/* alb-ca — the certificate side of albatross-client (spec §9.5–§9.8):
 * make a CA, sign CSRs, write CSRs for a delegation or a create, and show
 * the albatross extensions of a certificate chain.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/albatross.h"
#include "cli_common.h"

/* Default memory of a created unikernel in MB, and of a policy (§5.2). */
#define CA_CREATE_MEM 32
#define CA_POLICY_MEM 512
/* Largest unikernel image read for create-csr: what fits a certificate. */
#define CA_IMAGE_MAX ALB_CERT_DER_MAX

static const char *const usage =
    "usage: alb-ca generate NAME DB [--days 3650] [--server NAME] [--server-days 365] "
    "[--key-type T]\n"
    "       alb-ca sign CACERT DB KEY CSR [--days N]\n"
    "       alb-ca add-policy-csr PATH UNIKERNELS [--mem MB] [--cpu ID]... [--block MB] "
    "[--bridge B]... [--key-type T]\n"
    "       alb-ca create-csr NAME IMAGE [--mem MB] [--cpu ID]... [--arg A]... "
    "[--net NAME[:BRIDGE]]... [--block NAME[:DEVICE]]... [--compression-level N] [--key-type T]\n"
    "       alb-ca show CERT\n"
    "key types: ed25519 (default), rsa2048, rsa4096, p256, p384, p521\n"
    "  -h, --help    show this help\n";

struct opts {
	int64_t days, server_days;
	const char *server;
	enum alb_key_type key_type;
	int64_t mem;
	bool has_block;
	int64_t block;
	int level;
	size_t n_cpus, n_bridges, n_args, n_nets, n_blocks;
	int64_t cpus[CLI_LIST_MAX];
	struct alb_str bridges[CLI_LIST_MAX], args[CLI_LIST_MAX];
	struct alb_net_dev nets[CLI_LIST_MAX];
	struct alb_block_dev blocks[CLI_LIST_MAX];
};

static int fail(int status, const struct alb_error *err)
{
	fprintf(stderr, "alb-ca: %s\n", err->msg);
	return status;
}

static int usage_error(const char *what)
{
	fprintf(stderr, "alb-ca: %s\n%s", what, usage);
	return CLI_EXIT_CLI;
}

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static struct alb_str str_of(const char *s)
{
	struct alb_str r = {s, strlen(s)};
	return r;
}

/* "a[:b]": the part before the first ':' and the rest (absent if none). */
static void split(char *s, struct alb_str *a, struct alb_str *b)
{
	char *c = strchr(s, ':');
	if (c != NULL)
		*c = '\0';
	*a = str_of(s);
	*b = c != NULL ? str_of(c + 1) : (struct alb_str){NULL, 0};
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"days", required_argument, NULL, 'd'},
		{"server", required_argument, NULL, 's'},
		{"server-days", required_argument, NULL, 'S'},
		{"key-type", required_argument, NULL, 'k'},
		{"mem", required_argument, NULL, 'm'},
		{"cpu", required_argument, NULL, 'c'},
		{"block", required_argument, NULL, 'b'},
		{"bridge", required_argument, NULL, 'B'},
		{"arg", required_argument, NULL, 'a'},
		{"net", required_argument, NULL, 'n'},
		{"compression-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct alb_error err;
	int64_t v;
	int c;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case 'd':
			ok = parse_int(optarg, 1, ALB_CERT_DAYS_MAX, &o->days);
			break;
		case 'S':
			ok = parse_int(optarg, 1, ALB_CERT_DAYS_MAX, &o->server_days);
			break;
		case 's':
			o->server = optarg;
			break;
		case 'k':
			if (alb_key_type_parse(optarg, &o->key_type, &err) != 0)
				return usage_error(err.msg);
			break;
		case 'm':
			ok = parse_int(optarg, 0, CLI_INT_MAX, &o->mem);
			break;
		case 'c':
			ok = o->n_cpus < CLI_LIST_MAX &&
			     parse_int(optarg, 0, CLI_INT_MAX, &o->cpus[o->n_cpus++]);
			break;
		case 'l':
			ok = parse_int(optarg, 0, CLI_LEVEL_MAX, &v);
			o->level = (int)v;
			break;
		case 'B':
			ok = o->n_bridges < CLI_LIST_MAX;
			if (ok)
				o->bridges[o->n_bridges++] = str_of(optarg);
			break;
		case 'a':
			ok = o->n_args < CLI_LIST_MAX;
			if (ok)
				o->args[o->n_args++] = str_of(optarg);
			break;
		case 'n':
			ok = o->n_nets < CLI_LIST_MAX;
			if (ok)
				split(optarg, &o->nets[o->n_nets].netif, &o->nets[o->n_nets].bridge);
			o->n_nets += ok;
			break;
		case 'b':
			/* --block is a size for add-policy-csr, a device for create-csr:
			 * kept both ways, the subcommand picks one. */
			o->has_block = parse_int(optarg, 0, CLI_INT_MAX, &o->block);
			ok = o->n_blocks < CLI_LIST_MAX;
			if (ok)
				split(optarg, &o->blocks[o->n_blocks].name,
				      &o->blocks[o->n_blocks].device);
			o->n_blocks += ok;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(CLI_EXIT_OK);
		default:
			return CLI_EXIT_CLI;
		}
		if (!ok) {
			fprintf(stderr, "alb-ca: invalid option value: %s\n", optarg);
			return CLI_EXIT_CLI;
		}
	}
	return 0;
}

static int cmd_generate(char **pos, const struct opts *o)
{
	struct alb_error err;
	char path[ALB_CERT_CN_MAX + 8];
	EVP_PKEY *key = NULL, *skey = NULL;
	X509 *ca = NULL, *server = NULL;
	X509_REQ *csr = NULL;
	int64_t now = alb_cert_now();
	int status = CLI_EXIT_CLI;
	const char *sname = o->server != NULL ? o->server : "server";
	if (strlen(pos[0]) > ALB_CERT_CN_MAX || strlen(sname) > ALB_CERT_CN_MAX)
		return usage_error("NAME longer than 64 bytes");
	snprintf(path, sizeof(path), "%s.key", pos[0]);
	if (alb_key_load_or_create(path, o->key_type, &key, &err) != 0 ||
	    alb_cert_make_ca(key, pos[0], o->days != 0 ? o->days : ALB_CERT_DAYS_CA, now, &ca,
			     &err) != 0 ||
	    alb_cert_write_file("cacert.pem", ca, NULL, &err) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s.key", sname);
	if (alb_key_load_or_create(path, o->key_type, &skey, &err) != 0 ||
	    alb_csr_make(skey, sname, NULL, 0, &csr, &err) != 0 ||
	    alb_cert_sign_csr(ca, key, csr, o->server_days != 0 ? o->server_days : ALB_CERT_DAYS_SERVER,
			      now, NULL, &server, &err) != 0 ||
	    alb_cert_db_append(pos[1], server, &err) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s.pem", sname);
	if (alb_cert_write_file(path, server, ca, &err) != 0)
		goto out;
	status = CLI_EXIT_OK;
out:
	if (status != CLI_EXIT_OK)
		fail(status, &err);
	X509_REQ_free(csr);
	X509_free(server);
	X509_free(ca);
	EVP_PKEY_free(skey);
	EVP_PKEY_free(key);
	return status;
}

static int cmd_sign(char **pos, const struct opts *o)
{
	struct alb_error err;
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	bool warn = false;
	int status = CLI_EXIT_CLI;
	char cn[ALB_CERT_CN_MAX + 1], path[ALB_CERT_CN_MAX + 8];
	if (alb_cert_read_single(pos[0], &ca, &err) != 0 ||
	    alb_key_read_file(pos[2], &key, &err) != 0 ||
	    alb_csr_read_file(pos[3], &csr, &err) != 0 ||
	    alb_cert_sign_csr(ca, key, csr, o->days, alb_cert_now(), &warn, &cert, &err) != 0 ||
	    alb_cert_cn(cert, cn, &err) != 0)
		goto out;
	if (warn)
		fprintf(stderr, "alb-ca: version in request different from ours, using ours\n");
	snprintf(path, sizeof(path), "%s.pem", cn);
	if (alb_cert_db_append(pos[1], cert, &err) != 0 ||
	    alb_cert_write_file(path, cert, ca, &err) != 0)
		goto out;
	printf("signed %s\n", path);
	status = CLI_EXIT_OK;
out:
	if (status != CLI_EXIT_OK)
		fail(status, &err);
	X509_REQ_free(csr);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	return status;
}

/* Writes <CN>.key (if missing) and <CN>.req for cmd on name (§9.8). */
static int write_csr(const char *name, const struct alb_command *cmd,
		     const struct opts *o, int level)
{
	struct alb_error err;
	char cn[ALB_NAME_BUF], path[ALB_NAME_BUF + 8];
	EVP_PKEY *key = NULL;
	X509_REQ *csr = NULL;
	int status = CLI_EXIT_CLI;
	if (alb_cert_cn_for(name, cmd->kind, cn, &err) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s.key", cn);
	if (alb_key_load_or_create(path, o->key_type, &key, &err) != 0 ||
	    alb_csr_make(key, cn, cmd, level, &csr, &err) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s.req", cn);
	if (alb_csr_write_file(path, csr, &err) != 0)
		goto out;
	printf("wrote %s\n", path);
	status = CLI_EXIT_OK;
out:
	if (status != CLI_EXIT_OK)
		fail(status, &err);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	return status;
}

static int cmd_add_policy_csr(char **pos, const struct opts *o)
{
	struct alb_error err;
	char path[ALB_NAME_BUF];
	struct alb_command cmd = {.kind = ALB_CMD_POLICY_ADD};
	static const int64_t cpu0 = 0;
	if (alb_path_parse(pos[0], strlen(pos[0]), path, &err) != 0)
		return fail(CLI_EXIT_CLI, &err);
	if (!parse_int(pos[1], 0, CLI_INT_MAX, &cmd.u.policy.unikernels))
		return usage_error("UNIKERNELS must be a number");
	if (o->n_blocks > 0 && !o->has_block)
		return usage_error("--block takes a size in MB");
	cmd.u.policy.memory = o->mem != 0 ? o->mem : CA_POLICY_MEM;
	cmd.u.policy.n_cpuids = o->n_cpus > 0 ? o->n_cpus : 1;
	cmd.u.policy.cpuids = o->n_cpus > 0 ? (int64_t *)o->cpus : (int64_t *)&cpu0;
	cmd.u.policy.has_block = o->has_block;
	cmd.u.policy.block = o->block;
	cmd.u.policy.n_bridges = o->n_bridges;
	cmd.u.policy.bridges = (struct alb_str *)o->bridges;
	if (alb_policy_usable(&cmd.u.policy, &err) != 0)
		return fail(CLI_EXIT_CLI, &err);
	if (o->n_bridges == 0)
		fprintf(stderr, "alb-ca: policy without any network access\n");
	return write_csr(path, &cmd, o, 0);
}

static int cmd_create_csr(char **pos, const struct opts *o)
{
	struct alb_error err;
	char name[ALB_NAME_BUF];
	if (alb_name_parse(pos[0], strlen(pos[0]), name, &err) != 0)
		return fail(CLI_EXIT_CLI, &err);
	FILE *f = fopen(pos[1], "rb");
	if (f == NULL) {
		fprintf(stderr, "alb-ca: %s: %s\n", pos[1], strerror(errno));
		return CLI_EXIT_CLI;
	}
	uint8_t *img = malloc(CA_IMAGE_MAX + 1);
	size_t n = img != NULL ? fread(img, 1, CA_IMAGE_MAX + 1, f) : 0;
	bool bad = img == NULL || ferror(f) || n > CA_IMAGE_MAX;
	fclose(f);
	if (bad) {
		free(img);
		fprintf(stderr, "alb-ca: %s: unreadable or larger than %u bytes\n", pos[1],
			CA_IMAGE_MAX);
		return CLI_EXIT_CLI;
	}
	static const int64_t cpu0 = 0;
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	struct alb_unikernel_config *c = &cmd.u.create;
	c->typ = ALB_TYP_SOLO5;
	c->image.ptr = img;
	c->image.len = n;
	c->add_name = true;
	c->n_cpuids = o->n_cpus > 0 ? o->n_cpus : 1;
	c->cpuids = o->n_cpus > 0 ? (int64_t *)o->cpus : (int64_t *)&cpu0;
	c->memory = o->mem != 0 ? o->mem : CA_CREATE_MEM;
	c->n_blocks = o->n_blocks;
	c->blocks = (struct alb_block_dev *)o->blocks;
	c->n_bridges = o->n_nets;
	c->bridges = (struct alb_net_dev *)o->nets;
	c->has_argv = o->n_args > 0;
	c->n_argv = o->n_args;
	c->argv = (struct alb_str *)o->args;
	c->numcpus = 1;
	int status = write_csr(name, &cmd, o, o->level);
	free(img);
	return status;
}

static int cmd_show(char **pos)
{
	struct alb_error err;
	STACK_OF(X509) *s = NULL;
	if (alb_cert_read_file(pos[0], &s, &err) != 0)
		return fail(CLI_EXIT_CLI, &err);
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
		if (rc != 0 || alb_certext_print(stdout, ce, 0, &err) != 0) {
			fail(CLI_EXIT_CLI, &err);
			status = CLI_EXIT_CLI;
		}
		alb_certext_free(ce);
	}
	sk_X509_pop_free(s, X509_free);
	return status;
}

int main(int argc, char **argv)
{
	static struct opts o; /* large: the option lists */
	o.level = ALB_CERT_COMPRESSION_DEFAULT;
	if (argc < 2)
		return usage_error("no subcommand");
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		fputs(usage, stdout);
		return CLI_EXIT_OK;
	}
	int rc = parse_opts(argc - 1, argv + 1, &o);
	if (rc != 0)
		return rc;
	char **pos = argv + 1 + optind;
	int npos = argc - 1 - optind;
	static const struct {
		const char *name;
		int npos;
	} subs[] = {{"generate", 2}, {"sign", 4}, {"add-policy-csr", 2},
		    {"create-csr", 2}, {"show", 1}};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(sub, subs[i].name) != 0)
			continue;
		if (npos != subs[i].npos)
			return usage_error("wrong number of arguments");
		switch (i) {
		case 0: return cmd_generate(pos, &o);
		case 1: return cmd_sign(pos, &o);
		case 2: return cmd_add_policy_csr(pos, &o);
		case 3: return cmd_create_csr(pos, &o);
		default: return cmd_show(pos);
		}
	}
	return usage_error("unknown subcommand");
}
