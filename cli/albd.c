/* albd — the unikernel daemon, albatrossd's twin: a thin main over the
 * vmmd core of libalbatross (albatross/vmmd.h).
 * SPDX-License-Identifier: ISC */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "albatross/albatross.h"

static const char usage[] =
	"usage: albd [OPTION]...\n"
	"Deploys and supervises MirageOS/Solo5 unikernels (Albatross's vmmd).\n"
	"\n"
	"  --tmpdir=DIR                   runtime directory (default " ALB_TMPDIR_DEFAULT ")\n"
	"  --dbdir=DIR                    persistent directory (default " ALB_DBDIR_DEFAULT ")\n"
	"  --systemd-socket-activation    serve the socket passed by systemd\n"
	"  --no-drop-path                 pass the full name as --name=, not the label\n"
	"  --allow-zvol-for=PATH          unikernels at PATH may use /dev/zvol devices\n"
	"  --qemu-accel=tcg|kvm           accelerator of QEMU for virtio images (tcg)\n"
	"  -v, --verbose                  more log output (twice: debug)\n"
	"  -q, --quiet                    errors only\n"
	"  --syslog                       log to syslog instead of stderr\n"
	"  --version                      print the version and exit\n"
	"  --help                         print this help and exit\n";

enum {
	OPT_TMPDIR = 256,
	OPT_DBDIR,
	OPT_SYSTEMD,
	OPT_NO_DROP_PATH,
	OPT_ZVOL,
	OPT_QEMU_ACCEL,
	OPT_SYSLOG,
	OPT_VERSION,
	OPT_HELP
};

static const struct option options[] = {
	{"tmpdir", required_argument, NULL, OPT_TMPDIR},
	{"dbdir", required_argument, NULL, OPT_DBDIR},
	{"systemd-socket-activation", no_argument, NULL, OPT_SYSTEMD},
	{"no-drop-path", no_argument, NULL, OPT_NO_DROP_PATH},
	{"allow-zvol-for", required_argument, NULL, OPT_ZVOL},
	{"qemu-accel", required_argument, NULL, OPT_QEMU_ACCEL},
	{"verbose", no_argument, NULL, 'v'},
	{"quiet", no_argument, NULL, 'q'},
	{"syslog", no_argument, NULL, OPT_SYSLOG},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

struct daemon {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	struct alb_vmmd *vmmd;
};

static void on_done(struct alb_vmmd *v, void *ctx)
{
	(void)v;
	struct daemon *d = ctx;
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;
	alb_log_info("albd: signal %d, shutting down", signum);
	alb_vmmd_shutdown(d->vmmd, on_done, d);
}

int main(int argc, char **argv)
{
	struct alb_vmmd_config cfg;
	alb_vmmd_config_init(&cfg);
	bool systemd = false;
	int verbosity = ALB_LOG_WARN;
	char zvol[ALB_NAME_BUF];
	struct alb_error err = {0};
	int c;
	while ((c = getopt_long(argc, argv, "vq", options, NULL)) != -1) {
		switch (c) {
		case OPT_TMPDIR:
			cfg.tmpdir = optarg;
			break;
		case OPT_DBDIR:
			cfg.dbdir = optarg;
			break;
		case OPT_SYSTEMD:
			systemd = true;
			break;
		case OPT_NO_DROP_PATH:
			cfg.no_drop_path = true;
			break;
		case OPT_ZVOL:
			if (alb_path_parse(optarg, strlen(optarg), zvol, &err) != 0) {
				fprintf(stderr, "albd: --allow-zvol-for: %s\n", err.msg);
				return 2;
			}
			cfg.zvol_path = zvol;
			break;
		case OPT_QEMU_ACCEL:
			if (strcmp(optarg, "tcg") == 0) {
				cfg.qemu_accel = ALB_QEMU_ACCEL_TCG;
			} else if (strcmp(optarg, "kvm") == 0) {
				cfg.qemu_accel = ALB_QEMU_ACCEL_KVM;
			} else {
				fprintf(stderr, "albd: --qemu-accel must be tcg or kvm\n");
				return 2;
			}
			break;
		case 'v':
			if (verbosity < ALB_LOG_DEBUG)
				verbosity++;
			break;
		case 'q':
			verbosity = ALB_LOG_ERROR;
			break;
		case OPT_SYSLOG:
			alb_log_use_syslog("albd");
			break;
		case OPT_VERSION:
			printf("version %s protocol version %d\n", alb_version(),
			       ALB_WIRE_VERSION);
			return 0;
		case OPT_HELP:
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "albd: unexpected argument %s\n", argv[optind]);
		return 2;
	}
	alb_log_set_level((enum alb_log_level)verbosity);
	/* a client that goes away must not end the daemon */
	signal(SIGPIPE, SIG_IGN);
	if (systemd && alb_vmmd_systemd_fd(&cfg.listen_fd, &err) != 0) {
		alb_log_error("albd: %s", err.msg);
		return 1;
	}

	struct daemon d = {0};
	uv_loop_init(&d.loop);
	if (alb_vmmd_new(&d.loop, &cfg, &d.vmmd, &err) != 0) {
		alb_log_error("albd: %s", err.msg);
		return 1;
	}
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	int status = 0;
	if (alb_vmmd_start(d.vmmd, &err) != 0) {
		alb_log_error("albd: %s", err.msg);
		alb_vmmd_shutdown(d.vmmd, on_done, &d);
		status = 1;
	}
	uv_run(&d.loop, UV_RUN_DEFAULT);
	alb_vmmd_free(d.vmmd);
	uv_loop_close(&d.loop);
	return status;
}
