/* alb-info — every albatross-client command that reads: unikernel, policy
 * and block device listings, image and block device downloads, and the
 * offline inspection of state files and wire messages (spec §10.2).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alb_info_console.h"
#include "alb_info_stats.h"
#include "cli_common.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* Hex digits of a digest shown in the info table. */
#define DIGEST_PREFIX_BYTES 8

static const struct cli_opt connect_opts[] = {
	{"socket", 0, OPT_SOCKET, "PATH",
	 "daemon socket to use instead of the daemon's under <tmpdir>/util (vmmd.sock, "
	 "console.sock or stat.sock); '-' prints the encoded command"},
	{"tmpdir", 0, OPT_TMPDIR, "DIR", "albatross temporary directory (" ALB_TMPDIR_DEFAULT ")"},
	{"timeout", 0, OPT_TIMEOUT, "SECONDS", "give up when the daemon is silent this long (0: never)"},
	CLI_REMOTE_OPTS,
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt common_opts[] = {
	{"json", 0, OPT_JSON, NULL, "print replies as JSON instead of tables (console: one line each)"},
	{"verbose", 'v', OPT_VERBOSE, NULL, "more messages"},
	{"quiet", 'q', OPT_QUIET, NULL, "no warnings"},
	{"help", 'h', OPT_HELP, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt info_opts[] = {
	{"name", 'n', OPT_NAME, "NAME", "a unikernel, or a path for all below it (default: all)"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt policy_opts[] = {
	{"path", 'p', OPT_PATH, "PATH", "the policies at and below PATH (default: all)"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt block_opts[] = {
	{"name", 0, OPT_NAME, "NAME", "a block device, or a path for all below it (default: all)"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt download_opts[] = {
	{"output", 'o', OPT_OUTPUT, "FILE",
	 "write to FILE (default: $TMPDIR or /tmp, then <name>.<timestamp>)"},
	{"compression-level", 0, OPT_LEVEL, "0-9",
	 "ask the daemon to compress what it sends at this level (default 0 from "
	 "a local socket, 9 with --destination or --csr)"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt extract_opts[] = {
	{"file", 0, OPT_FILE, "FILE", "state file to read, relative to --dbdir (default: state)"},
	{"dbdir", 0, OPT_DBDIR, "DIR", "albatross database directory (" CLI_DBDIR_DEFAULT ")"},
	{"output", 'o', OPT_OUTPUT, "FILE",
	 "write the image to FILE (default: $TMPDIR or /tmp, then <name>.<timestamp>)"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt inspect_opts[] = {
	{"file", 0, OPT_FILE, "FILE", "state file to read, relative to --dbdir (default: state)"},
	{"dbdir", 0, OPT_DBDIR, "DIR", "albatross database directory (" CLI_DBDIR_DEFAULT ")"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt no_opts[] = {{NULL, 0, 0, NULL, NULL}};

/* A reply of an unexpected kind is printed in full rather than dropped. */
static int print_other(struct cli_args *a, const struct alb_msg *m)
{
	return cli_print_msg(a, m, a->json ? ALB_PRINT_JSON : 0);
}

/* A growable string for table cells (open_memstream keeps it simple). */
struct cell {
	char *s;
	size_t len;
	FILE *f;
};

static FILE *cell_open(struct cell *c)
{
	c->s = NULL;
	c->len = 0;
	c->f = open_memstream(&c->s, &c->len);
	return c->f;
}

static char *cell_close(struct cell *c)
{
	if (c->f != NULL && fclose(c->f) != 0) {
		free(c->s);
		return NULL;
	}
	return c->s;
}

static void put_ints(FILE *f, size_t n, const int64_t *v)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%" PRId64, i ? "," : "", v[i]);
}

static void put_time(FILE *f, const struct alb_time *t)
{
	/* Whole seconds, as albatross-client's tables show them. */
	struct alb_time whole = {.sec = t->sec, .nsec = 0};
	char buf[ALB_PRINT_TIME_BUF];
	alb_print_format_time(&whole, buf);
	fputs(buf, f);
}

static void put_devices(FILE *f, const struct alb_unikernel_info *u)
{
	for (size_t i = 0; i < u->n_blocks; i++) {
		const struct alb_info_block *b = &u->blocks[i];
		fprintf(f, "%sblock %.*s->%.*s (%" PRId64 " MB, %" PRId64 " B sectors)",
			i ? ", " : "", (int)b->unikernel_device.len,
			b->unikernel_device.ptr, (int)b->host_device.len,
			b->host_device.ptr, b->size, b->sector_size);
	}
	for (size_t i = 0; i < u->n_bridges; i++) {
		const struct alb_info_net *n = &u->bridges[i];
		char mac[ALB_MAC_STR_SIZE];
		alb_mac_print(n->mac, mac);
		fprintf(f, "%snet %.*s->%.*s (%s)", i || u->n_blocks ? ", " : "",
			(int)n->unikernel_device.len, n->unikernel_device.ptr,
			(int)n->host_device.len, n->host_device.ptr, mac);
	}
}

static void put_digest(FILE *f, const struct alb_unikernel_info *u)
{
	/* BHyve keeps its VM name there, Solo5 the image's SHA-256. */
	if (u->typ == ALB_TYP_BHYVE) {
		fwrite(u->digest.ptr, 1, u->digest.len, f);
		return;
	}
	for (size_t i = 0; i < u->digest.len && i < DIGEST_PREFIX_BYTES; i++)
		fprintf(f, "%02x", u->digest.ptr[i]);
}

static int add_row(struct cli_table *t, size_t n, struct cell *cells)
{
	const char *v[8];
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		v[i] = cell_close(&cells[i]);
		if (v[i] == NULL)
			rc = ALB_ENOMEM;
	}
	if (rc == 0)
		rc = cli_table_add(t, v);
	for (size_t i = 0; i < n; i++)
		free((char *)v[i]);
	return rc;
}

static int print_table(struct cli_args *a, struct cli_table *t, int rc)
{
	if (rc == 0)
		cli_table_print(t, stdout);
	cli_table_free(t);
	if (rc < 0) {
		cli_error(a, "out of memory");
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

static int info_reply(struct cli_args *a, const struct alb_msg *m)
{
	const struct alb_reply *r = &m->u.success;
	if (r->kind != ALB_REPLY_UNIKERNEL_INFO &&
	    r->kind != ALB_REPLY_OLD_UNIKERNEL_INFO4 &&
	    r->kind != ALB_REPLY_OLD_UNIKERNEL_INFO5)
		return print_other(a, m);
	if (a->json)
		return cli_print_msg(a, m, ALB_PRINT_JSON);
	static const char *const hdr[] = {"NAME", "TYP", "CPUS", "MEMORY",
					  "STARTED", "DEVICES", "DIGEST"};
	struct cli_table *t = cli_table_new(7, hdr);
	int rc = t == NULL ? ALB_ENOMEM : 0;
	for (size_t i = 0; rc == 0 && i < r->u.infos.n; i++) {
		const struct alb_unikernel_info *u = &r->u.infos.v[i].info;
		struct cell c[7];
		for (size_t k = 0; k < 7; k++)
			if (cell_open(&c[k]) == NULL)
				rc = ALB_ENOMEM;
		if (rc < 0)
			break;
		fputs(r->u.infos.v[i].name, c[0].f);
		fputs(u->typ == ALB_TYP_BHYVE ? "bhyve" : "solo5", c[1].f);
		put_ints(c[2].f, u->n_cpuids, u->cpuids);
		if (u->numcpus != 1)
			fprintf(c[2].f, " (%" PRId64 " vcpus)", u->numcpus);
		fprintf(c[3].f, "%" PRId64 " MB", u->memory);
		put_time(c[4].f, &u->started);
		put_devices(c[5].f, u);
		put_digest(c[6].f, u);
		rc = add_row(t, 7, c);
	}
	return print_table(a, t, rc);
}

static int policy_reply(struct cli_args *a, const struct alb_msg *m)
{
	const struct alb_reply *r = &m->u.success;
	if (r->kind != ALB_REPLY_POLICIES)
		return print_other(a, m);
	if (a->json)
		return cli_print_msg(a, m, ALB_PRINT_JSON);
	static const char *const hdr[] = {"PATH", "UNIKERNELS", "CPUIDS",
					  "MEMORY", "BLOCK", "BRIDGES"};
	struct cli_table *t = cli_table_new(6, hdr);
	int rc = t == NULL ? ALB_ENOMEM : 0;
	for (size_t i = 0; rc == 0 && i < r->u.policies.n; i++) {
		const struct alb_policy *p = &r->u.policies.v[i].policy;
		struct cell c[6];
		for (size_t k = 0; k < 6; k++)
			if (cell_open(&c[k]) == NULL)
				rc = ALB_ENOMEM;
		if (rc < 0)
			break;
		fputs(r->u.policies.v[i].name, c[0].f);
		fprintf(c[1].f, "%" PRId64, p->unikernels);
		put_ints(c[2].f, p->n_cpuids, p->cpuids);
		fprintf(c[3].f, "%" PRId64 " MB", p->memory);
		if (p->has_block)
			fprintf(c[4].f, "%" PRId64 " MB", p->block);
		else
			fputs("none", c[4].f);
		for (size_t k = 0; k < p->n_bridges; k++)
			fprintf(c[5].f, "%s%.*s", k ? "," : "",
				(int)p->bridges[k].len, p->bridges[k].ptr);
		if (p->n_bridges == 0)
			fputs("none", c[5].f);
		rc = add_row(t, 6, c);
	}
	return print_table(a, t, rc);
}

static int block_reply(struct cli_args *a, const struct alb_msg *m)
{
	const struct alb_reply *r = &m->u.success;
	if (r->kind != ALB_REPLY_BLOCK_DEVICES)
		return print_other(a, m);
	if (a->json)
		return cli_print_msg(a, m, ALB_PRINT_JSON);
	static const char *const hdr[] = {"NAME", "SIZE", "ACTIVE"};
	struct cli_table *t = cli_table_new(3, hdr);
	int rc = t == NULL ? ALB_ENOMEM : 0;
	for (size_t i = 0; rc == 0 && i < r->u.blocks.n; i++) {
		const struct alb_block_info *b = &r->u.blocks.v[i];
		char size[32];
		snprintf(size, sizeof(size), "%" PRId64 " MB", b->size);
		const char *row[3] = {b->name, size, b->active ? "yes" : "no"};
		rc = cli_table_add(t, row);
	}
	return print_table(a, t, rc);
}

static int query(struct cli_args *a, const char *name, enum alb_cmd_kind kind,
		 int (*on_reply)(struct cli_args *, const struct alb_msg *))
{
	struct alb_command cmd = {.kind = kind};
	struct cli_request r = {.name = name, .cmd = &cmd, .upload_fd = -1,
				.dump_fd = -1, .on_reply = on_reply};
	return cli_execute(a, &r);
}

static int run_info(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("option '--name'", a->name_opt ? a->name_opt : ":", name,
		     &err) < 0)
		return cli_local_failure(a, &err);
	return query(a, name, ALB_CMD_UNIKERNEL_INFO, info_reply);
}

static int run_policy(struct cli_args *a)
{
	char path[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_path("option '--path'", a->path_opt ? a->path_opt : "", path,
		     &err) < 0)
		return cli_local_failure(a, &err);
	return query(a, path, ALB_CMD_POLICY_INFO, policy_reply);
}

static int run_block(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("option '--name'", a->name_opt ? a->name_opt : ":", name,
		     &err) < 0)
		return cli_local_failure(a, &err);
	return query(a, name, ALB_CMD_BLOCK_INFO, block_reply);
}

static int run_get(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("NAME argument", a->pos[0], name, &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_GET};
	cmd.u.level = cli_level(a);
	struct cli_request r = {.name = name, .cmd = &cmd, .upload_fd = -1,
				.dump_fd = -1};
	return cli_execute(a, &r);
}

static int run_dump_block(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("NAME argument", a->pos[0], name, &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_command cmd = {.kind = ALB_CMD_BLOCK_DUMP};
	cmd.u.level = cli_level(a);
	struct cli_request r = {.name = name, .cmd = &cmd, .upload_fd = -1,
				.dump_fd = -1};
	return cli_dump(a, name, &r, NULL);
}

static int print_value(struct cli_args *a, const char *what, int rc,
		       const struct alb_error *err)
{
	if (rc < 0) {
		cli_error(a, "printing %s: %s", what, err->msg);
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

/* The state file of --file/--dbdir into *s (inspect-dump, extract-dump). */
static int read_state(struct cli_args *a, struct alb_state **s)
{
	char path[4096];
	const char *file = a->file != NULL ? a->file : "state";
	if (file[0] == '/')
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%s/%s", a->dbdir, file);
	struct alb_error err = {0};
	uint8_t *data;
	size_t len;
	if (cli_read_file(path, (size_t)ALB_STATE_FILE_MAX, &data, &len, &err) < 0)
		return cli_local_failure(a, &err);
	int rc = alb_state_decode(data, len, 0, s, &err);
	free(data);
	if (rc < 0) {
		cli_error(a, "couldn't parse dump file %s: %s", path, err.msg);
		return CLI_EXIT_CLI;
	}
	return CLI_EXIT_OK;
}

/* extract-dump NAME: the image to a file, the configuration printed (as
 * a state holding only it, so that text and JSON are the printer's). */
static int run_extract_dump(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("NAME argument", a->pos[0], name, &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_state *s;
	int status = read_state(a, &s);
	if (status != CLI_EXIT_OK)
		return status;
	const struct alb_state_unikernel *u = NULL;
	for (size_t i = 0; i < s->n_unikernels; i++)
		if (strcmp(s->unikernels[i].name, name) == 0)
			u = &s->unikernels[i];
	if (u == NULL) {
		alb_state_free(s);
		cli_error(a, "unikernel not found");
		return CLI_EXIT_CLI;
	}
	char path[4096];
	if (a->output != NULL)
		snprintf(path, sizeof(path), "%s", a->output);
	else
		cli_default_output(name, path, sizeof(path));
	struct alb_buf plain = {0};
	const struct alb_bytes *img = &u->config.image;
	int rc = u->config.compressed
			 ? alb_zlib_inflate(img->ptr, img->len, ALB_IMAGE_MAX, &plain, &err)
			 : 0;
	if (rc < 0) {
		cli_error(a, "failed to uncompress image: %s", err.msg);
		status = CLI_EXIT_CLI;
	} else {
		status = u->config.compressed
				 ? cli_write_file(a, path, plain.data, plain.len)
				 : cli_write_file(a, path, img->ptr, img->len);
	}
	alb_buf_free(&plain);
	if (status == CLI_EXIT_OK) {
		if (!a->json)
			printf("dumped image to %s\n", path);
		struct alb_state one = {.format = ALB_STATE_FORMAT_CURRENT,
					.n_unikernels = 1,
					.unikernels = (struct alb_state_unikernel *)u};
		rc = alb_state_print(stdout, &one, a->json ? ALB_PRINT_JSON : 0, &err);
		status = print_value(a, "the configuration", rc, &err);
	}
	alb_state_free(s);
	return status;
}

static int run_inspect_dump(struct cli_args *a)
{
	struct alb_state *s;
	int status = read_state(a, &s);
	if (status != CLI_EXIT_OK)
		return status;
	struct alb_error err = {0};
	int rc = alb_state_print(stdout, s, a->json ? ALB_PRINT_JSON : 0, &err);
	alb_state_free(s);
	return print_value(a, "the state", rc, &err);
}

/* What decode found, above the text form (JSON stays one object). */
static void heading(const struct cli_args *a, const char *what)
{
	if (!a->json)
		printf("# %s\n", what);
}

/* Tries, in order: a framed wire message, a bare wire message, a state
 * file, a certificate extension; prints the first that decodes. */
static int run_decode(struct cli_args *a)
{
	struct alb_error err = {0}, werr = {0};
	uint8_t *data;
	size_t len;
	if (cli_read_file(a->pos[0], (size_t)ALB_STATE_FILE_MAX, &data, &len,
			  &err) < 0)
		return cli_local_failure(a, &err);
	unsigned flags = (a->json ? ALB_PRINT_JSON : 0);
	struct alb_msg *m = NULL;
	int rc = ALB_EPARSE;
	bool framed = false;
	if (len > ALB_FRAME_HEADER_LEN &&
	    ((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
	     (uint32_t)data[2] << 8 | data[3]) == len - ALB_FRAME_HEADER_LEN) {
		rc = alb_msg_decode(data + ALB_FRAME_HEADER_LEN,
				    len - ALB_FRAME_HEADER_LEN,
				    ALB_DECODE_BORROW, &m, &werr);
		framed = rc == 0;
	}
	if (rc < 0)
		rc = alb_msg_decode(data, len, ALB_DECODE_BORROW, &m, &werr);
	if (rc == 0) {
		heading(a, framed ? "wire message (with its 4-byte frame length)"
				  : "wire message");
		rc = alb_msg_print(stdout, m, flags, &err);
		alb_msg_free(m);
		free(data);
		return print_value(a, "the message", rc, &err);
	}
	struct alb_state *s;
	if (alb_state_decode(data, len, ALB_DECODE_BORROW, &s, &err) == 0) {
		heading(a, "state file");
		rc = alb_state_print(stdout, s, flags, &err);
		alb_state_free(s);
		free(data);
		return print_value(a, "the state", rc, &err);
	}
	struct alb_certext *c;
	if (alb_certext_decode(data, len, ALB_DECODE_BORROW, &c, &err) == 0) {
		heading(a, "certificate extension");
		rc = alb_certext_print(stdout, c, flags, &err);
		alb_certext_free(c);
		free(data);
		return print_value(a, "the extension", rc, &err);
	}
	free(data);
	cli_error(a,
		  "'%s' is neither a wire message (%s), nor a state file, nor a certificate extension",
		  a->pos[0], werr.msg);
	return CLI_EXIT_CLI;
}

static const struct cli_cmd commands[] = {
	{"info", NULL, "", 0, "Shows the running unikernels.", info_opts, run_info},
	{"policy", NULL, "", 0, "Shows the policies.", policy_opts, run_policy},
	{"block", NULL, "", 0, "Shows the block devices.", block_opts, run_block},
	{"get", NULL, "NAME", 1, "Downloads the image of a running unikernel.",
	 download_opts, run_get},
	{"dump-block", NULL, "NAME", 1, "Downloads the content of a block device.",
	 download_opts, run_dump_block},
	{"inspect-dump", NULL, "", 0,
	 "Prints the unikernels and policies of a state file.", inspect_opts,
	 run_inspect_dump, true},
	{"extract-dump", NULL, "NAME", 1,
	 "Writes the (decompressed) image of unikernel NAME from a state file to "
	 "a file and prints its configuration.",
	 extract_opts, run_extract_dump, true},
	{"console", NULL, "NAME", 1,
	 "Shows the console output of a unikernel and follows it until interrupted.",
	 alb_info_console_opts, alb_info_console},
	{"inactive-consoles", NULL, "", 0, "Lists the consoles of stopped unikernels.",
	 alb_info_inactive_opts, alb_info_inactive_consoles},
	{"stats", NULL, "", 0,
	 "Shows the statistics alb-statsd gathers: CPU time, memory, and the traffic "
	 "of each interface as the unikernel sees it (RX: from the host to the "
	 "unikernel); without --follow, one sample of each unikernel, waiting up to "
	 STR(ALB_INFO_STATS_WAIT_S) " s unless --timeout says otherwise.",
	 alb_info_stats_opts, alb_info_stats},
	{"decode", NULL, "FILE", 1,
	 "Prints a wire message (with or without its 4-byte length), a state file "
	 "or a certificate extension.",
	 no_opts, run_decode, true},
	{"certificate", NULL, "CERT KEY", 2,
	 "Runs the command of an existing certificate (e.g. made with --csr and "
	 "signed with 'alb-ca sign') at --destination; CERT holds the chain, leaf "
	 "first, KEY the leaf's key.",
	 cli_certificate_opts, cli_run_certificate, true},
};

static const struct cli_prog alb_info_prog = {
	"alb-info",
	"Shows what an albatross daemon runs, downloads images and block devices, "
	"and decodes Albatross files (the reading commands of albatross-client).",
	commands,
	sizeof(commands) / sizeof(commands[0]),
	common_opts,
	connect_opts,
};

int main(int argc, char **argv)
{
	return cli_main(&alb_info_prog, argc, argv);
}
