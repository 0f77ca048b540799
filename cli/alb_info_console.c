/* alb-info console and alb-info inactive-consoles (spec §10.2).
 * SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "alb_info_console.h"

static const struct cli_prog info_prog = {"alb-info", NULL, NULL, 0, NULL};

/* ---- --since ---------------------------------------------------------- */

/* n decimal digits at *p (advanced past them); false when absent. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect_char(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

/* RFC 3339 ("2024-02-29T12:34:56.5+01:00", 'T' or 't' or ' ', 'Z' or 'z'
 * or an offset), or YYYY-MM-DD meaning midnight UTC, as albatross-client
 * takes --since. */
static bool parse_since(const char *s, struct alb_time *out)
{
	const char *p = s;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	uint32_t nsec = 0;
	if (!digits(&p, 4, &y) || !expect_char(&p, "-") || !digits(&p, 2, &mo) ||
	    !expect_char(&p, "-") || !digits(&p, 2, &d))
		return false;
	if (*p != '\0') {
		if (!expect_char(&p, "Tt ") || !digits(&p, 2, &h) ||
		    !expect_char(&p, ":") || !digits(&p, 2, &mi) ||
		    !expect_char(&p, ":") || !digits(&p, 2, &sec))
			return false;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			/* Digits past nanoseconds are dropped. */
			uint32_t scale = 100000000;
			for (; isdigit((unsigned char)*p); p++, scale /= 10)
				nsec += (uint32_t)(*p - '0') * scale;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;
			if (!digits(&p, 2, &oh) || !expect_char(&p, ":") ||
			    !digits(&p, 2, &om) || oh > 23 || om > 59)
				return false;
			off = sign * (oh * 3600 + om * 60);
		} else {
			return false;
		}
		if (*p != '\0')
			return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	/* timegm normalises a 31st of a short month: such dates are wrong. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return false;
	out->sec = (int64_t)t - off;
	out->nsec = nsec;
	return true;
}

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
		if (a->verbosity >= 0 && m->u.success.kind == ALB_REPLY_STRING) {
			alb_print_escape(stderr, m->header.name,
					 strlen(m->header.name), 0);
			fputs(": ", stderr);
			alb_print_escape(stderr, m->u.success.u.string.ptr,
					 m->u.success.u.string.len, 0);
			fputc('\n', stderr);
		}
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

static void console_usage(FILE *out)
{
	fprintf(out,
		"Usage: alb-info console NAME [OPTION]...\n"
		"Shows the console output of a unikernel and follows it until interrupted.\n\n"
		"  --since TIMESTAMP  lines from this time on (RFC 3339, or YYYY-MM-DD for\n"
		"                     midnight UTC)\n"
		"  --count N          the last N lines (default %d; ignored with --since)\n"
		"  --socket PATH      daemon socket to use instead of <tmpdir>/util/console.sock;\n"
		"                     '-' prints the encoded command\n"
		"  --tmpdir DIR       albatross temporary directory (%s)\n"
		"  --timeout SECONDS  give up when the daemon is silent this long (0: never)\n"
		"  --json             each message as one line of JSON\n"
		"  -v, --verbose      more messages\n"
		"  -q, --quiet        no status line\n"
		"  -h, --help         show this help\n",
		ALB_INFO_CONSOLE_COUNT_DEFAULT, ALB_TMPDIR_DEFAULT);
}

enum {
	O_SINCE = 256,
	O_COUNT,
	O_SOCKET,
	O_TMPDIR,
	O_TIMEOUT,
	O_JSON
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("alb-info: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return CLI_EXIT_CLI;
}

int alb_info_console_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, O_SINCE},
		{"count", required_argument, NULL, O_COUNT},
		{"socket", required_argument, NULL, O_SOCKET},
		{"tmpdir", required_argument, NULL, O_TMPDIR},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"json", no_argument, NULL, O_JSON},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_args a;
	memset(&a, 0, sizeof(a));
	a.prog = &info_prog;
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = ALB_CMD_CONSOLE_SUBSCRIBE;
	cmd.u.subscribe.count = ALB_INFO_CONSOLE_COUNT_DEFAULT;
	bool since = false;
	int64_t v;
	struct alb_error err;
	struct stat st;
	int c;
	opterr = 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, ":vqh", opts, NULL)) != -1) {
		switch (c) {
		case O_SINCE:
			if (!parse_since(optarg, &cmd.u.subscribe.time))
				return usage_error("option '--since': invalid value '%s', "
						   "expected an RFC 3339 timestamp or "
						   "YYYY-MM-DD", optarg);
			since = true;
			break;
		case O_COUNT:
			if (cli_parse_int(optarg, &v, &err) < 0)
				return usage_error("option '--count': %s", err.msg);
			cmd.u.subscribe.count = v;
			break;
		case O_SOCKET: a.socket = optarg; break;
		case O_TMPDIR:
			if (stat(optarg, &st) < 0 || !S_ISDIR(st.st_mode))
				return usage_error("option '--tmpdir': no '%s' directory",
						   optarg);
			a.tmpdir = optarg;
			break;
		case O_TIMEOUT:
			if (cli_parse_int(optarg, &v, &err) < 0 || v < 0 ||
			    v > CLI_TIMEOUT_MAX)
				return usage_error("option '--timeout': invalid value '%s'",
						   optarg);
			a.timeout_ms = (int)v * 1000;
			break;
		case O_JSON: a.json = true; break;
		case 'v': a.verbosity++; break;
		case 'q': a.verbosity--; break;
		case 'h':
			console_usage(stdout);
			return CLI_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1) {
		console_usage(stderr);
		return CLI_EXIT_CLI;
	}
	cmd.u.subscribe.since = since;
	alb_log_set_level(a.verbosity > 1   ? ALB_LOG_DEBUG
			  : a.verbosity > 0 ? ALB_LOG_INFO
			  : a.verbosity < 0 ? ALB_LOG_ERROR
					    : ALB_LOG_WARN);
	char name[ALB_NAME_BUF];
	if (cli_name("NAME argument", argv[optind], name, &err) < 0)
		return usage_error("%s", err.msg);
	struct cli_request r;
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.cmd = &cmd;
	r.upload_fd = -1;
	r.dump_fd = -1;
	r.on_reply = on_console_msg;
	return cli_execute(&a, &r);
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
	if (a->json) {
		struct alb_error err = {0};
		if (alb_msg_print(stdout, m, ALB_PRINT_JSON, &err) < 0) {
			cli_error(a, "%s", err.msg);
			return CLI_EXIT_INTERNAL;
		}
		return CLI_EXIT_OK;
	}
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
	if (cli_path("option '--path'", a->path_opt ? a->path_opt : "", path, &err) < 0) {
		cli_error(a, "%s", err.msg);
		return CLI_EXIT_CLI;
	}
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = ALB_CMD_CONSOLE_LIST_INACTIVE;
	struct cli_request r;
	memset(&r, 0, sizeof(r));
	r.name = path;
	r.cmd = &cmd;
	r.upload_fd = -1;
	r.dump_fd = -1;
	r.on_reply = on_inactive;
	return cli_execute(a, &r);
}
