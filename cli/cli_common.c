/* alb-deploy and alb-info — the shared command line: the memory the
 * arguments own, option parsing, help, and the program's main (see
 * cli_common.h); the values of options are read by cli_values.c.
 * SPDX-License-Identifier: ISC */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_common.h"

/* ---- memory owned by the arguments ------------------------------------- */

void *cli_own(struct cli_args *a, void *p)
{
	if (p == NULL)
		return NULL;
	if (a->n_owned_ == a->cap_owned_) {
		size_t cap = a->cap_owned_ == 0 ? 16 : 2 * a->cap_owned_;
		void **v = realloc(a->owned_, cap * sizeof(*v));
		if (v == NULL) {
			free(p);
			return NULL;
		}
		a->owned_ = v;
		a->cap_owned_ = cap;
	}
	a->owned_[a->n_owned_++] = p;
	return p;
}

void cli_args_free(struct cli_args *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n_owned_; i++)
		free(a->owned_[i]);
	free(a->owned_);
	a->owned_ = NULL;
	a->n_owned_ = a->cap_owned_ = 0;
}

/* Every repeatable option gets storage for CLI_LIST_MAX values at its
 * first use: a few KiB, and no reallocation while parsing. */
static int list_add(struct cli_args *a, const char *opt, void *list_ptr,
		    size_t *n, size_t elsize, struct alb_error *err)
{
	void **list = list_ptr;
	if (*list == NULL) {
		*list = cli_own(a, calloc(CLI_LIST_MAX, elsize));
		if (*list == NULL)
			return cli_fail(err, ALB_ENOMEM, "out of memory");
	}
	if (*n >= CLI_LIST_MAX)
		return cli_fail(err, ALB_ETOOBIG,
				"option '--%s': more than %d values", opt,
				CLI_LIST_MAX);
	(*n)++;
	return 0;
}

/* ---- the command line --------------------------------------------------- */

static const struct cli_opt *find_opt(const struct cli_opt *t, int id)
{
	for (; t != NULL && t->name != NULL; t++)
		if ((int)t->id == id || (t->short_name != 0 && t->short_name == id))
			return t;
	return NULL;
}

/* An option of command c of p: its own, the connect ones, the common. */
static const struct cli_opt *lookup(const struct cli_prog *p,
				    const struct cli_cmd *c, int id)
{
	const struct cli_opt *o = find_opt(c->opts, id);
	if (o == NULL && !c->offline)
		o = find_opt(p->connect, id);
	return o != NULL ? o : find_opt(p->common, id);
}

static size_t count_opts(const struct cli_opt *t)
{
	size_t n = 0;
	for (; t != NULL && t->name != NULL; t++)
		n++;
	return n;
}

static void print_opts(FILE *out, const struct cli_opt *t)
{
	for (; t != NULL && t->name != NULL; t++) {
		char left[64];
		int n = snprintf(left, sizeof(left), "%c%c%c --%s%s%s",
				 t->short_name ? '-' : ' ',
				 t->short_name ? t->short_name : ' ',
				 t->short_name ? ',' : ' ', t->name,
				 t->arg ? " " : "", t->arg ? t->arg : "");
		if (n < 0)
			continue;
		if (n > 30)
			fprintf(out, "  %s\n  %-30s %s\n", left, "", t->help);
		else
			fprintf(out, "  %-30s %s\n", left, t->help);
	}
}

static void print_cmd_help(const struct cli_prog *p, const struct cli_cmd *c,
			   FILE *out)
{
	fprintf(out, "Usage: %s %s [OPTIONS]%s%s\n\n%s\n", p->name, c->name,
		c->usage[0] ? " " : "", c->usage, c->doc);
	if (c->alias != NULL)
		fprintf(out, "(also available as '%s %s')\n", p->name, c->alias);
	if (count_opts(c->opts) > 0) {
		fprintf(out, "\nOptions:\n");
		print_opts(out, c->opts);
	}
	if (!c->offline && count_opts(p->connect) > 0) {
		fprintf(out, "\nConnection options (local socket, or a remote host over TLS):\n");
		print_opts(out, p->connect);
	}
	fprintf(out, "\nCommon options:\n");
	print_opts(out, p->common);
	if (c->offline) {
		fprintf(out, "\nExit status: 0 success, 124 command-line or input "
			     "error, 125 internal error.\n");
		return;
	}
	fprintf(out,
		"\nExit status: 0 success, 116 our certificate chain does not "
		"validate against --server-ca, 117 the daemon refused the command, "
		"118 HTTP failure (update), 119 the remote server refused our "
		"certificate, 120 the remote server's certificate is not trusted, "
		"121 communication failure (also --socket - and --destination -), "
		"122 connect failure, 124 command-line error, 125 internal error.\n");
}

static void print_prog_help(const struct cli_prog *p, FILE *out)
{
	fprintf(out, "Usage: %s COMMAND [OPTIONS] [ARGUMENTS]\n\n%s\n\nCommands:\n",
		p->name, p->doc);
	int width = 0;
	for (size_t i = 0; i < p->n_cmds; i++)
		if ((int)strlen(p->cmds[i].name) > width)
			width = (int)strlen(p->cmds[i].name);
	for (size_t i = 0; i < p->n_cmds; i++)
		fprintf(out, "  %-*s  %s\n", width, p->cmds[i].name,
			p->cmds[i].doc);
	fprintf(out, "\nRun '%s COMMAND --help' for the options of a command.\n",
		p->name);
}

static const struct cli_cmd *find_cmd(const struct cli_prog *p, const char *s)
{
	for (size_t i = 0; i < p->n_cmds; i++)
		if (strcmp(p->cmds[i].name, s) == 0 ||
		    (p->cmds[i].alias != NULL && strcmp(p->cmds[i].alias, s) == 0))
			return &p->cmds[i];
	return NULL;
}

static int opt_int(const struct cli_opt *o, const char *arg, int64_t min,
		   int64_t max, int64_t *out, struct alb_error *err)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "option '--%s'", o->name);
	int rc = cli_parse_int(arg, out, err);
	if (rc < 0)
		return cli_prefix_fail(err, rc, prefix);
	if (*out < min || *out > max)
		return cli_fail(err, ALB_EPARSE,
				"option '--%s': %s is not between %" PRId64
				" and %" PRId64,
				o->name, arg, min, max);
	return 0;
}

static int set_opt(struct cli_args *a, const struct cli_opt *o,
		   const char *arg, struct alb_error *err)
{
	struct cli_vm *vm = &a->vm;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "option '--%s'", o->name);
	int64_t v = 0;
	int rc = 0;
	if (o->id >= OPT_STARTUP && o->id <= OPT_LINUX_BOOT && o->id != OPT_LEVEL)
		vm->given = true;
	switch (o->id) {
	case OPT_HELP: break; /* handled by the caller */
	case OPT_SOCKET: a->socket = arg; break;
	case OPT_TMPDIR:
	case OPT_DBDIR: {
		struct stat st;
		if (stat(arg, &st) < 0 || !S_ISDIR(st.st_mode))
			return cli_fail(err, ALB_EPARSE,
					"option '--%s': no '%s' directory", o->name,
					arg);
		*(o->id == OPT_TMPDIR ? &a->tmpdir : &a->dbdir) = arg;
		break;
	}
	case OPT_TIMEOUT:
		rc = opt_int(o, arg, 0, CLI_TIMEOUT_MAX, &v, err);
		a->timeout_ms = (int)v * 1000;
		break;
	case OPT_JSON: a->json = true; break;
	case OPT_VERBOSE: a->verbosity++; break;
	case OPT_QUIET: a->verbosity--; break;
	case OPT_TYP:
		if (strcmp(arg, "solo5") == 0)
			vm->typ = ALB_TYP_SOLO5;
		else if (strcmp(arg, "bhyve") == 0)
			vm->typ = ALB_TYP_BHYVE;
		else
			rc = cli_fail(err, ALB_EPARSE,
				      "option '--typ': invalid value '%s', expected either 'solo5' or 'bhyve'",
				      arg);
		break;
	case OPT_FORCE: vm->force = true; break;
	case OPT_STARTUP:
		rc = opt_int(o, arg, CLI_INT_MIN, CLI_INT_MAX, &vm->startup, err);
		vm->has_startup = true;
		break;
	case OPT_NO_ADD_NAME: vm->no_add_name = true; break;
	case OPT_CPU:
		rc = opt_int(o, arg, CLI_INT_MIN, CLI_INT_MAX, &v, err);
		if (rc == 0)
			rc = list_add(a, o->name, &vm->cpuids, &vm->n_cpuids,
				      sizeof(*vm->cpuids), err);
		if (rc == 0)
			vm->cpuids[vm->n_cpuids - 1] = v;
		break;
	case OPT_MEM:
		rc = opt_int(o, arg, CLI_INT_MIN, CLI_INT_MAX, &vm->mem, err);
		vm->has_mem = true;
		break;
	case OPT_ARG:
		rc = list_add(a, o->name, &vm->argv, &vm->n_argv,
			      sizeof(*vm->argv), err);
		if (rc == 0) {
			vm->argv[vm->n_argv - 1].ptr = arg;
			vm->argv[vm->n_argv - 1].len = strlen(arg);
		}
		break;
	case OPT_BLOCK_DEV: {
		struct alb_block_dev b;
		rc = cli_parse_block(a, arg, &b, err);
		if (rc < 0)
			return cli_prefix_fail(err, rc, prefix);
		rc = list_add(a, o->name, &vm->blocks, &vm->n_blocks,
			      sizeof(*vm->blocks), err);
		if (rc == 0)
			vm->blocks[vm->n_blocks - 1] = b;
		break;
	}
	case OPT_NET: {
		struct alb_net_dev d;
		rc = cli_parse_net(a, arg, &d, err);
		if (rc < 0)
			return cli_prefix_fail(err, rc, prefix);
		rc = list_add(a, o->name, &vm->nets, &vm->n_nets,
			      sizeof(*vm->nets), err);
		if (rc == 0)
			vm->nets[vm->n_nets - 1] = d;
		break;
	}
	case OPT_LEVEL:
		rc = opt_int(o, arg, 0, CLI_LEVEL_MAX, &v, err);
		a->has_level = true;
		a->level = (int)v;
		break;
	case OPT_RESTART: vm->restart_on_fail = true; break;
	case OPT_EXIT_CODE:
		rc = opt_int(o, arg, CLI_INT_MIN, CLI_INT_MAX, &v, err);
		if (rc == 0)
			rc = list_add(a, o->name, &vm->exit_codes,
				      &vm->n_exit_codes, sizeof(*vm->exit_codes),
				      err);
		if (rc == 0)
			vm->exit_codes[vm->n_exit_codes - 1] = v;
		break;
	case OPT_CPUS:
		rc = opt_int(o, arg, CLI_INT_MIN, CLI_INT_MAX, &vm->numcpus, err);
		break;
	case OPT_LINUX_BOOT: vm->linux_boot = arg; break;
	case OPT_REPLACE_ARGS: vm->replace_arguments = true; break;
	case OPT_POLICY_BLOCK:
		rc = opt_int(o, arg, CLI_INT_MIN, CLI_INT_MAX, &a->policy_block,
			     err);
		a->has_policy_block = true;
		break;
	case OPT_BRIDGE:
		rc = list_add(a, o->name, &a->bridges, &a->n_bridges,
			      sizeof(*a->bridges), err);
		if (rc == 0)
			a->bridges[a->n_bridges - 1] = arg;
		break;
	case OPT_NAME: a->name_opt = arg; break;
	case OPT_PATH: a->path_opt = arg; break;
	case OPT_OUTPUT: a->output = arg; break;
	case OPT_DATA: a->data = arg; break;
	case OPT_FILE: a->file = arg; break;
	case OPT_SINCE:
		rc = cli_parse_since(arg, &a->since, err);
		if (rc < 0)
			return cli_prefix_fail(err, rc, prefix);
		a->has_since = true;
		break;
	case OPT_COUNT:
		rc = opt_int(o, arg, CLI_INT_MIN, CLI_INT_MAX, &a->count, err);
		a->has_count = true;
		break;
	case OPT_FOLLOW: a->follow = true; break;
	case OPT_DESTINATION:
		rc = alb_remote_parse_destination(arg, a->host, &a->port, err);
		if (rc < 0)
			return cli_prefix_fail(err, rc, prefix);
		a->remote = true;
		break;
	case OPT_CSR: a->csr = true; break;
	case OPT_CA:
	case OPT_CA_KEY:
	case OPT_SERVER_CA: {
		/* As albatross-client's: a file that must exist when given. */
		struct stat st;
		if (stat(arg, &st) < 0 || S_ISDIR(st.st_mode))
			return cli_fail(err, ALB_EPARSE, "option '--%s': no '%s' file",
					o->name, arg);
		*(o->id == OPT_CA ? &a->ca : o->id == OPT_CA_KEY ? &a->ca_key
								 : &a->server_ca) = arg;
		break;
	}
	case OPT_KEY_TYPE:
		rc = alb_key_type_parse(arg, &a->key_type, err);
		if (rc < 0)
			return cli_prefix_fail(err, ALB_EPARSE, prefix);
		break;
	case OPT_HTTP_HOST:
		rc = cli_parse_http_host(a, arg, err);
		if (rc < 0)
			return cli_prefix_fail(err, rc, prefix);
		break;
	case OPT_DRYRUN: a->dryrun = true; break;
	case OPT_VMMDEV: a->vmmdev = arg; break;
	case OPT_TAP: {
		struct alb_stats_tap t;
		rc = cli_parse_tap(a, arg, &t, err);
		if (rc < 0)
			return cli_prefix_fail(err, rc, prefix);
		rc = list_add(a, o->name, &a->taps, &a->n_taps, sizeof(*a->taps), err);
		if (rc == 0)
			a->taps[a->n_taps - 1] = t;
		break;
	}
	case OPT_DAYS:
	case OPT_SERVER_DAYS:
		rc = opt_int(o, arg, 1, ALB_CERT_DAYS_MAX, &v, err);
		*(o->id == OPT_DAYS ? &a->days : &a->server_days) = v;
		break;
	case OPT_SERVER: a->server = arg; break;
	}
	return rc;
}

static bool repeatable(enum cli_opt_id id)
{
	switch (id) {
	case OPT_CPU:
	case OPT_ARG:
	case OPT_BLOCK_DEV:
	case OPT_NET:
	case OPT_EXIT_CODE:
	case OPT_BRIDGE:
	case OPT_TAP:
	case OPT_VERBOSE:
	case OPT_QUIET:
	case OPT_HELP:
		return true;
	default:
		return false;
	}
}

/* getopt_long tables for the common options plus the command's. */
static int build_getopt(const struct cli_prog *p, const struct cli_cmd *c,
			struct option **lo_out, char **so_out)
{
	const struct cli_opt *connect = c->offline ? NULL : p->connect;
	size_t n = count_opts(p->common) + count_opts(connect) + count_opts(c->opts);
	struct option *lo = calloc(n + 1, sizeof(*lo));
	/* ":" first: a missing value is reported as ':' rather than '?'. */
	char *so = calloc(2 * n + 2, 1);
	if (lo == NULL || so == NULL) {
		free(lo);
		free(so);
		return ALB_ENOMEM;
	}
	size_t k = 0, s = 0;
	so[s++] = ':';
	const struct cli_opt *tables[3] = {p->common, connect, c->opts};
	for (size_t t = 0; t < 3; t++)
		for (const struct cli_opt *o = tables[t]; o && o->name; o++) {
			lo[k].name = o->name;
			lo[k].has_arg = o->arg ? required_argument : no_argument;
			lo[k].val = (int)o->id;
			k++;
			if (o->short_name) {
				so[s++] = (char)o->short_name;
				if (o->arg)
					so[s++] = ':';
			}
		}
	*lo_out = lo;
	*so_out = so;
	return 0;
}

/* Defaults that depend on whether an option was given at all. */
static void finish_defaults(struct cli_args *a, struct alb_error *err, int *rc)
{
	const struct cli_opt *cpu = find_opt(a->cmd->opts, OPT_CPU);
	if (*rc == 0 && cpu != NULL && a->vm.n_cpuids == 0) {
		*rc = list_add(a, cpu->name, &a->vm.cpuids, &a->vm.n_cpuids,
			       sizeof(*a->vm.cpuids), err);
		if (*rc == 0)
			a->vm.cpuids[0] = 0;
	}
}

int cli_parse(const struct cli_prog *p, int argc, char **argv,
	      struct cli_args *a, FILE *out, struct alb_error *err)
{
	memset(a, 0, sizeof(*a));
	a->prog = p;
	a->tmpdir = ALB_TMPDIR_DEFAULT;
	a->dbdir = CLI_DBDIR_DEFAULT;
	a->timeout_ms = CLI_TIMEOUT_DEFAULT * 1000;
	a->vm.numcpus = 1;
	a->port = ALB_REMOTE_PORT_DEFAULT;
	a->ca = ALB_REMOTE_CA_DEFAULT;
	a->ca_key = ALB_REMOTE_CA_KEY_DEFAULT;
	a->server_ca = ALB_REMOTE_SERVER_CA_DEFAULT;
	a->key_type = ALB_KEY_ED25519;
	a->http_host = CLI_HTTP_HOST_DEFAULT;
	if (argc < 2)
		return cli_fail(err, ALB_EPARSE,
				"no command given; try '%s --help'", p->name);
	const char *sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "help") == 0) {
		const struct cli_cmd *c = argc > 2 ? find_cmd(p, argv[2]) : NULL;
		if (argc > 2 && c == NULL)
			return cli_fail(err, ALB_EPARSE, "unknown command '%s'",
					argv[2]);
		if (c != NULL)
			print_cmd_help(p, c, out);
		else
			print_prog_help(p, out);
		return 1;
	}
	if (strcmp(sub, "--version") == 0) {
		fprintf(out, "%s version %s protocol version %d\n", p->name,
			alb_version(), ALB_WIRE_VERSION);
		return 1;
	}
	a->cmd = find_cmd(p, sub);
	if (a->cmd == NULL)
		return cli_fail(err, ALB_EPARSE,
				"unknown command '%s'; try '%s --help'", sub, p->name);

	struct option *lo;
	char *so;
	if (build_getopt(p, a->cmd, &lo, &so) < 0)
		return cli_fail(err, ALB_ENOMEM, "out of memory");
	bool seen[CLI_OPT_COUNT] = {false};
	bool help = false;
	int rc = 0, c;
	int sargc = argc - 1;
	char **sargv = argv + 1;
	optind = 0; /* glibc: start over, as each call parses a new vector */
	opterr = 0;
	while (rc == 0 && (c = getopt_long(sargc, sargv, so, lo, NULL)) != -1) {
		if (c == '?' || c == ':') {
			const struct cli_opt *o = lookup(p, a->cmd, optopt);
			if (c == ':' && o != NULL)
				rc = cli_fail(err, ALB_EPARSE,
					      "option '--%s' needs an argument",
					      o->name);
			else if (optopt != 0 && optopt < 256)
				rc = cli_fail(err, ALB_EPARSE,
					      "unknown option '-%c'", optopt);
			else
				rc = cli_fail(err, ALB_EPARSE,
					      "unknown option '%s'",
					      sargv[optind - 1]);
			break;
		}
		const struct cli_opt *o = lookup(p, a->cmd, c);
		if (o == NULL) {
			rc = cli_fail(err, ALB_EPARSE, "unknown option");
			break;
		}
		if (!repeatable(o->id) && seen[o->id - OPT_HELP]) {
			rc = cli_fail(err, ALB_EPARSE,
				      "option '--%s' cannot be repeated", o->name);
			break;
		}
		seen[o->id - OPT_HELP] = true;
		if (o->id == OPT_HELP)
			help = true;
		rc = set_opt(a, o, optarg, err);
	}
	free(lo);
	free(so);
	if (rc < 0)
		return rc;
	if (help) {
		print_cmd_help(p, a->cmd, out);
		return 1;
	}
	size_t n_pos = (size_t)(sargc - optind);
	if (n_pos < a->cmd->n_pos)
		return cli_fail(err, ALB_EPARSE,
				"%s: missing argument(s), usage: %s %s %s",
				a->cmd->name, p->name, a->cmd->name, a->cmd->usage);
	if (n_pos > a->cmd->n_pos)
		return cli_fail(err, ALB_EPARSE,
				"%s: too many arguments, don't know what to do with '%s'",
				a->cmd->name, sargv[optind + (int)a->cmd->n_pos]);
	a->n_pos = n_pos;
	for (size_t i = 0; i < n_pos; i++)
		a->pos[i] = sargv[optind + (int)i];
	if ((a->csr ? 1 : 0) + (a->remote ? 1 : 0) + (a->socket != NULL ? 1 : 0) > 1)
		return cli_fail(err, ALB_EPARSE,
				"The options --csr, --destination, and --socket are "
				"mutually exclusive");
	finish_defaults(a, err, &rc);
	return rc;
}

int cli_level(const struct cli_args *a)
{
	if (a->has_level)
		return a->level;
	return a->remote || a->csr ? CLI_LEVEL_REMOTE : CLI_LEVEL_LOCAL;
}

int cli_main(const struct cli_prog *p, int argc, char **argv)
{
	struct cli_args a;
	struct alb_error err = {0};
	int rc = cli_parse(p, argc, argv, &a, stdout, &err);
	if (rc == 1) {
		cli_args_free(&a);
		return CLI_EXIT_OK;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", p->name, err.msg);
		cli_args_free(&a);
		return CLI_EXIT_CLI;
	}
	alb_log_set_level(a.verbosity > 1   ? ALB_LOG_DEBUG
			  : a.verbosity > 0 ? ALB_LOG_INFO
			  : a.verbosity < 0 ? ALB_LOG_ERROR
					    : ALB_LOG_WARN);
	rc = a.cmd->run(&a);
	cli_args_free(&a);
	return rc;
}
