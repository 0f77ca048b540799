/* albd — the unikernel daemon, albatrossd's twin (spec §6.1): a thin main
 * over the vmmd core of libalbatross (albatross/vmmd.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/albatross.h"
#include "daemon_main.h"

static const char *prog = "albd";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Deploys and supervises MirageOS/Solo5 unikernels (Albatross's vmmd);\n"
		"serves <tmpdir>/util/vmmd.sock.\n\n"
		DAEMON_HELP_HEAD
		"  --dbdir DIR                  persistent directory (default " ALB_DBDIR_DEFAULT ")\n"
		"  --no-drop-path               pass the full name as --name=, not the label\n"
		"  --allow-zvol-for PATH        unikernels at PATH may use /dev/zvol devices\n"
		"  --qemu-accel tcg|kvm         accelerator of QEMU for virtio images (tcg)\n"
		"  --tender-uids FIRST:COUNT    run each tender under a uid of its own\n"
		"                               from FIRST..FIRST+COUNT-1, without root\n"
		"  --compact-state              compact the state of --dbdir (state file\n"
		"                               and journal) and exit; refused while a\n"
		"                               running albd holds the lock of --dbdir\n"
		DAEMON_HELP_METRICS
		DAEMON_HELP_TAIL
		"SIGHUP makes a running albd compact its state file.\n",
		prog);
}

enum { OPT_DBDIR = DAEMON_OPT_OWN, OPT_NO_DROP_PATH, OPT_ZVOL, OPT_QEMU_ACCEL,
       OPT_TENDER_UIDS, OPT_COMPACT_STATE };

/* What albd keeps of root (doc/privilege.md): taps and bridges, signals
 * to tenders under other uids; CAP_CHOWN for the socket's group and for
 * the files of tender uids; with tender uids, the child's credentials and
 * bounding set. */
static const int caps_kept[] = {CAP_NET_ADMIN, CAP_KILL, CAP_CHOWN,
				CAP_SETUID, CAP_SETGID, CAP_SETPCAP};
#define N_CAPS_BASE 2
#define N_CAPS_CHOWN 3

/* An unsigned decimal number that fits 32 bits, the whole of s[0..len). */
static bool parse_u32(const char *s, size_t len, uint32_t *out)
{
	if (len == 0 || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

struct options {
	struct alb_vmmd_config cfg;
	char zvol[ALB_NAME_BUF];
	bool compact_state;
};

static int take_option(void *ctx, int id, const char *arg)
{
	struct options *o = ctx;
	struct alb_error err;
	switch (id) {
	case OPT_DBDIR:
		o->cfg.dbdir = arg;
		return 0;
	case OPT_NO_DROP_PATH:
		o->cfg.no_drop_path = true;
		return 0;
	case OPT_ZVOL:
		if (alb_path_parse(arg, strlen(arg), o->zvol, &err) != 0)
			return daemon_usage_error(prog, "option '--allow-zvol-for': %s",
						  err.msg);
		o->cfg.zvol_path = o->zvol;
		return 0;
	case OPT_TENDER_UIDS: {
		const char *colon = strchr(arg, ':');
		if (colon == NULL ||
		    !parse_u32(arg, (size_t)(colon - arg), &o->cfg.tender_uid_first) ||
		    !parse_u32(colon + 1, strlen(colon + 1), &o->cfg.tender_uid_count))
			return daemon_usage_error(prog, "option '--tender-uids': "
						  "FIRST:COUNT expected, not '%s'", arg);
		return 0;
	}
	case OPT_COMPACT_STATE:
		o->compact_state = true;
		return 0;
	case OPT_QEMU_ACCEL:
		if (strcmp(arg, "tcg") == 0)
			o->cfg.qemu_accel = ALB_QEMU_ACCEL_TCG;
		else if (strcmp(arg, "kvm") == 0)
			o->cfg.qemu_accel = ALB_QEMU_ACCEL_KVM;
		else
			return daemon_usage_error(prog, "option '--qemu-accel': "
						  "tcg or kvm expected, not '%s'", arg);
		return 0;
	}
	return daemon_usage_error(prog, "unknown option");
}

/* The core and the SIGHUP handler that compacts its state. */
struct albd {
	struct alb_vmmd *vmmd;
	uv_signal_t hup;
	bool hup_open;
};

static void on_hup(uv_signal_t *h, int signum)
{
	(void)signum;
	struct albd *a = h->data;
	if (a->vmmd == NULL || alb_vmmd_compact(a->vmmd) != 0)
		alb_log_warn("%s: SIGHUP: not started yet, nothing compacted", prog);
}

static void stop(void *ctx)
{
	struct albd *a = ctx;
	if (a->hup_open) {
		uv_close((uv_handle_t *)&a->hup, NULL);
		a->hup_open = false;
	}
	/* SIGTERM semantics: every unikernel is stopped and cleaned up, the
	 * state compacted; the loop ends once the core has closed its last
	 * handle */
	alb_vmmd_shutdown(a->vmmd, NULL, NULL);
}

/* --compact-state: no daemon, no loop. */
static int compact_state(const char *dbdir)
{
	struct alb_error err;
	if (alb_vmmd_compact_state(dbdir, &err) != 0) {
		alb_log_error("%s: %s", prog, err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dbdir", required_argument, NULL, OPT_DBDIR},
		{"no-drop-path", no_argument, NULL, OPT_NO_DROP_PATH},
		{"allow-zvol-for", required_argument, NULL, OPT_ZVOL},
		{"qemu-accel", required_argument, NULL, OPT_QEMU_ACCEL},
		{"tender-uids", required_argument, NULL, OPT_TENDER_UIDS},
		{"compact-state", no_argument, NULL, OPT_COMPACT_STATE},
		{NULL, 0, NULL, 0},
	};
	struct options o = {.compact_state = false};
	alb_vmmd_config_init(&o.cfg);
	const struct daemon_prog p = {prog, usage, opts, take_option, &o, true};
	struct daemon_common com;
	int status = daemon_setup(&p, argc, argv, &com);
	if (status >= 0)
		return status;
	if (o.compact_state)
		return compact_state(o.cfg.dbdir);
	o.cfg.tmpdir = com.tmpdir;
	o.cfg.listen_fd = com.listen_fd;
	o.cfg.socket_gid = com.socket_gid;
	o.cfg.influx = com.influx;
	o.cfg.prometheus = com.prometheus;

	daemon_hold_signals();
	uv_loop_t loop;
	struct albd a = {.vmmd = NULL, .hup_open = false};
	struct alb_error err;
	size_t n_caps = o.cfg.tender_uid_count > 0
			    ? sizeof(caps_kept) / sizeof(caps_kept[0])
			: o.cfg.socket_gid >= 0 ? N_CAPS_CHOWN
						: N_CAPS_BASE;
	/* a tender without these would fail at each start: refuse now */
	if (o.cfg.tender_uid_count > 0 &&
	    daemon_need_caps(prog, caps_kept + N_CAPS_CHOWN - 1,
			     sizeof(caps_kept) / sizeof(caps_kept[0]) -
				 (N_CAPS_CHOWN - 1),
			     "--tender-uids") != 0)
		return 1;
	if (daemon_keep_caps(prog, caps_kept, n_caps) != 0)
		return 1;
	if (uv_loop_init(&loop) != 0) {
		alb_log_error("%s: cannot make an event loop", prog);
		return 1;
	}
	/* before the socket exists: a SIGHUP never kills albd */
	uv_signal_init(&loop, &a.hup);
	a.hup.data = &a;
	uv_signal_start(&a.hup, on_hup, SIGHUP);
	a.hup_open = true;
	if (alb_vmmd_new(&loop, &o.cfg, &a.vmmd, &err) != 0) {
		alb_log_error("%s: %s", prog, err.msg);
		uv_close((uv_handle_t *)&a.hup, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return 1;
	}
	if (alb_vmmd_start(a.vmmd, &err) != 0) {
		alb_log_error("%s: %s", prog, err.msg);
		stop(&a);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		alb_vmmd_free(a.vmmd);
		/* a bad --influx or --prometheus address */
		return err.code == ALB_EINVAL ? DAEMON_EXIT_CLI : 1;
	}
	status = daemon_run(prog, &loop, stop, &a);
	alb_vmmd_free(a.vmmd);
	return status;
}
