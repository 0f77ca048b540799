/* alb-info console and alb-info inactive-consoles (spec §10.2).
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alb_info_console.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- output ----------------------------------------------------------- */

/* A message as one line of JSON: print.h's JSON with its layout removed
 * (strings never hold a raw newline, so every newline and the indentation
 * after it are layout). */
static int print_json_line(struct cli_args *a, const struct alb_msg *m)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	if (mem == NULL) {
		cli_error(a, "out of memory");
		return CLI_EXIT_INTERNAL;
	}
	struct alb_error err = {0};
	int rc = alb_msg_print(mem, m, ALB_PRINT_JSON, &err);
	fclose(mem);
	if (rc < 0) {
		free(text);
		cli_error(a, "%s", err.msg);
		return CLI_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\n') {
			putchar(text[i]);
			continue;
		}
		while (i + 1 < len && text[i + 1] == ' ')
			i++;
	}
	putchar('\n');
	free(text);
	return CLI_EXIT_OK;
}

static int on_console_msg(struct cli_args *a, const struct alb_msg *m)
{
	if (m->kind == ALB_PAYLOAD_SUCCESS) {
		/* "subscribed" or "waiting for VM": news for a person, so it goes
		 * to stderr and leaves stdout to the lines. */
		if (a->json)
			return print_json_line(a, m);
		if (a->verbosity >= 0)
			cli_note_reply(m);
		return CLI_EXIT_OK;
	}
	if (m->kind != ALB_PAYLOAD_DATA || m->u.data.kind != ALB_DATA_CONSOLE) {
		cli_error(a, "unexpected message from the console daemon");
		return CLI_EXIT_COMM;
	}
	int rc = CLI_EXIT_OK;
	if (a->json) {
		rc = print_json_line(a, m);
	} else {
		char ts[ALB_PRINT_TIME_BUF];
		alb_print_format_time(&m->u.data.u.console.time, ts);
		fputs(ts, stdout);
		fputc(' ', stdout);
		alb_print_escape(stdout, m->u.data.u.console.line.ptr,
				 m->u.data.u.console.line.len, 0);
		fputc('\n', stdout);
	}
	/* Lines are followed live: show each at once; stop when stdout is
	 * gone (e.g. a pipe to head). */
	if (fflush(stdout) != 0 || ferror(stdout))
		return CLI_EXIT_INTERNAL;
	return rc;
}

/* ---- alb-info console ---------------------------------------------------- */

const struct cli_opt alb_info_console_opts[] = {
	{"since", 0, OPT_SINCE, "TIMESTAMP",
	 "lines from this time on (RFC 3339, or YYYY-MM-DD for midnight UTC)"},
	{"count", 0, OPT_COUNT, "N",
	 "the last N lines (default " STR(ALB_INFO_CONSOLE_COUNT_DEFAULT)
	 "; ignored with --since)"},
	{NULL, 0, 0, NULL, NULL}};

int alb_info_console(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err;
	if (cli_name("NAME argument", a->pos[0], name, &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_command cmd = {.kind = ALB_CMD_CONSOLE_SUBSCRIBE};
	cmd.u.subscribe.since = a->has_since;
	cmd.u.subscribe.time = a->since;
	cmd.u.subscribe.count =
	    a->has_count ? a->count : ALB_INFO_CONSOLE_COUNT_DEFAULT;
	struct cli_request r = {.name = name, .cmd = &cmd, .upload_fd = -1,
				.dump_fd = -1, .on_reply = on_console_msg};
	return cli_execute(a, &r);
}

/* ---- alb-info inactive-consoles ------------------------------------------ */

const struct cli_opt alb_info_inactive_opts[] = {
	{"path", 'p', OPT_PATH, "PATH", "the consoles at and below PATH (default: all)"},
	{NULL, 0, 0, NULL, NULL}};

static int on_inactive(struct cli_args *a, const struct alb_msg *m)
{
	if (m->u.success.kind != ALB_REPLY_CONSOLES) {
		cli_error(a, "unexpected reply from the console daemon");
		return CLI_EXIT_COMM;
	}
	if (a->json)
		return cli_print_msg(a, m, ALB_PRINT_JSON);
	for (size_t i = 0; i < m->u.success.u.consoles.n; i++) {
		const char *n = m->u.success.u.consoles.v[i];
		alb_print_escape(stdout, n, strlen(n), 0);
		fputc('\n', stdout);
	}
	return CLI_EXIT_OK;
}

int alb_info_inactive_consoles(struct cli_args *a)
{
	char path[ALB_NAME_BUF];
	struct alb_error err;
	if (cli_path("option '--path'", a->path_opt ? a->path_opt : "", path, &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_command cmd = {.kind = ALB_CMD_CONSOLE_LIST_INACTIVE};
	struct cli_request r = {.name = path, .cmd = &cmd, .upload_fd = -1,
				.dump_fd = -1, .on_reply = on_inactive};
	return cli_execute(a, &r);
}
