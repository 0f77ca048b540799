/* alb-deploy — every albatross-client command that changes state: create,
 * destroy and restart unikernels, create, fill and destroy block devices,
 * add and remove policies (spec §10.2).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alb_deploy_update.h"
#include "cli_common.h"

static const struct cli_opt common_opts[] = {
	{"verbose", 'v', OPT_VERBOSE, NULL, "more messages"},
	{"quiet", 'q', OPT_QUIET, NULL, "no warnings, no progress"},
	{"help", 'h', OPT_HELP, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt connect_opts[] = {
	{"socket", 0, OPT_SOCKET, "PATH",
	 "daemon socket to use instead of <tmpdir>/util/vmmd.sock; '-' prints the encoded command"},
	{"tmpdir", 0, OPT_TMPDIR, "DIR", "albatross temporary directory (" ALB_TMPDIR_DEFAULT ")"},
	{"timeout", 0, OPT_TIMEOUT, "SECONDS", "give up when the daemon is silent this long (0: never)"},
	CLI_REMOTE_OPTS,
	{NULL, 0, 0, NULL, NULL}};

#define LEVEL_OPT                                                                 \
	{"compression-level", 0, OPT_LEVEL, "0-9",                                  \
	 "compress what is sent at this zlib level (default 0 to a local socket, "  \
	 "9 with --destination or --csr)"}

static const struct cli_opt create_block_opts[] = {
	{"data", 0, OPT_DATA, "FILE", "fill the new device with this file"},
	LEVEL_OPT,
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt level_opts[] = {LEVEL_OPT, {NULL, 0, 0, NULL, NULL}};

static const struct cli_opt path_opts[] = {
	{"path", 'p', OPT_PATH, "PATH", "path of the policy (default: the root)"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt no_opts[] = {{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt name_opts[] = {
	{"name", 'n', OPT_NAME, "NAME", "the unikernel (default: the root)"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt stats_add_opts[] = {
	{"vmmdev", 0, OPT_VMMDEV, "NAME", "VMM device name for VMM statistics (/dev/vmm/NAME, FreeBSD)"},
	{"bridge", 0, OPT_TAP, "BRIDGE:TAP", "an interface: the unikernel's device and its tap (repeatable)"},
	{"name", 'n', OPT_NAME, "NAME", "the unikernel (default: the root)"},
	{NULL, 0, 0, NULL, NULL}};

static int run_simple(struct cli_args *a, const char *name,
		      const struct alb_command *cmd)
{
	struct cli_request r = {.name = name, .cmd = cmd, .upload_fd = -1,
				.dump_fd = -1};
	return cli_execute(a, &r);
}

static int named(struct cli_args *a, enum alb_cmd_kind kind)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("NAME argument", a->pos[0], name, &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_command cmd = {.kind = kind};
	return run_simple(a, name, &cmd);
}

static int run_destroy(struct cli_args *a)
{
	return named(a, ALB_CMD_UNIKERNEL_DESTROY);
}

static int run_restart(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = ALB_CMD_UNIKERNEL_RESTART;
	int rc = cli_name("NAME argument", a->pos[0], name, &err);
	if (rc == 0 && !a->vm.replace_arguments && a->vm.given)
		cli_warn(a, "without --replace-arguments the unikernel restarts "
			    "with its configuration; the options given are ignored");
	if (rc == 0 && a->vm.replace_arguments) {
		cmd.u.restart.has_args = true;
		rc = cli_vm_config(a, true, &cmd.u.restart.args, &err);
	}
	if (rc < 0)
		return cli_local_failure(a, &err);
	return run_simple(a, name, &cmd);
}

/* Block_set with the file's content as a stream (spec §2.4). */
static int set_block(struct cli_args *a, const char *name, const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		cli_error(a, "FILE argument: cannot read '%s': %s", file,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		return CLI_EXIT_CLI;
	}
	int level = cli_level(a);
	struct alb_command cmd = {.kind = ALB_CMD_BLOCK_SET};
	cmd.u.block_compressed = level > 0;
	struct cli_request r = {.name = name, .cmd = &cmd, .upload_fd = fd,
				.upload_size = (uint64_t)st.st_size,
				.upload_level = level, .dump_fd = -1};
	int status = cli_execute(a, &r);
	close(fd);
	return status;
}

static int run_create_block(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	struct alb_command cmd = {.kind = ALB_CMD_BLOCK_ADD};
	int rc = cli_name("NAME argument", a->pos[0], name, &err);
	if (rc == 0 && cli_parse_int(a->pos[1], &cmd.u.block_size, &err) < 0)
		rc = cli_fail(&err, ALB_EPARSE, "SIZE argument: invalid value '%s', expected an integer",
			      a->pos[1]);
	if (rc == 0 && a->data != NULL) {
		struct stat st;
		if (stat(a->data, &st) < 0 || !S_ISREG(st.st_mode))
			rc = cli_fail(&err, ALB_ENOENT, "option '--data': no '%s' file",
				      a->data);
		/* A size that overflows as bytes holds any file. */
		else if (cmd.u.block_size < CLI_INT_MAX >> 20 &&
			 (cmd.u.block_size < 0 ||
			  (uint64_t)cmd.u.block_size << 20 < (uint64_t)st.st_size))
			rc = cli_fail(&err, ALB_EINVAL, "data exceeds size");
	}
	if (rc < 0)
		return cli_local_failure(a, &err);
	int status = run_simple(a, name, &cmd);
	/* Unlike albatross-client, the data is only sent to a device that
	 * was created. */
	if (status == CLI_EXIT_OK && a->data != NULL)
		status = set_block(a, name, a->data);
	return status;
}

static int run_set_block(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("NAME argument", a->pos[0], name, &err) < 0)
		return cli_local_failure(a, &err);
	return set_block(a, name, a->pos[1]);
}

static int run_destroy_block(struct cli_args *a)
{
	return named(a, ALB_CMD_BLOCK_REMOVE);
}

static int run_remove_policy(struct cli_args *a)
{
	char path[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_path("option '--path'", a->path_opt ? a->path_opt : "", path,
		     &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_command cmd = {.kind = ALB_CMD_POLICY_REMOVE};
	return run_simple(a, path, &cmd);
}

static int run_stats_add(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	struct alb_command cmd = {.kind = ALB_CMD_STATS_ADD};
	int rc = cli_name("option '--name'", a->name_opt ? a->name_opt : ":", name, &err);
	if (rc == 0 && cli_parse_int(a->pos[0], &cmd.u.stats_add.pid, &err) < 0)
		rc = cli_fail(&err, ALB_EPARSE,
			      "PID argument: invalid value '%s', expected an integer",
			      a->pos[0]);
	if (rc < 0)
		return cli_local_failure(a, &err);
	const char *vmmdev = a->vmmdev != NULL ? a->vmmdev : "";
	cmd.u.stats_add.vmmdev.ptr = vmmdev;
	cmd.u.stats_add.vmmdev.len = strlen(vmmdev);
	cmd.u.stats_add.n_taps = a->n_taps;
	cmd.u.stats_add.taps = a->taps;
	return run_simple(a, name, &cmd);
}

static int run_stats_remove(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("option '--name'", a->name_opt ? a->name_opt : ":", name, &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_command cmd = {.kind = ALB_CMD_STATS_REMOVE};
	return run_simple(a, name, &cmd);
}

static const struct cli_cmd commands[] = {
	{"create", NULL, "NAME IMAGE", 2,
	 "Creates a unikernel from an image file (remotely, an image that does not "
	 "fit in a certificate streams after the handshake).",
	 cli_create_opts, cli_run_create},
	{"destroy", NULL, "NAME", 1, "Destroys a unikernel.", no_opts, run_destroy},
	{"restart", NULL, "NAME", 1,
	 "Restarts a unikernel, with its configuration or the one given.",
	 cli_restart_opts, run_restart},
	{"create-block", NULL, "NAME SIZE-MB", 2,
	 "Creates a block device of SIZE-MB MiB, optionally filled with --data.",
	 create_block_opts, run_create_block},
	{"set-block", NULL, "NAME FILE", 2,
	 "Overwrites a block device with the content of FILE.", level_opts,
	 run_set_block},
	{"destroy-block", NULL, "NAME", 1, "Destroys a block device.", no_opts,
	 run_destroy_block},
	{"add-policy", "replace-policy", "PATH UNIKERNELS", 2,
	 "Adds or replaces the policy of PATH (running at most UNIKERNELS unikernels).",
	 cli_policy_opts, cli_run_add_policy},
	{"remove-policy", NULL, "", 0, "Removes the policy of a path.", path_opts,
	 run_remove_policy},
	{"update", NULL, "NAME", 1,
	 "Updates a unikernel to the latest build of its job at the build server "
	 "(builder-web), keeping its configuration and MAC addresses.",
	 alb_deploy_update_opts, alb_deploy_update},
	{"stats-add", NULL, "PID", 1,
	 "Adds a process to alb-statsd's gathering (a debugging aid).",
	 stats_add_opts, run_stats_add},
	{"stats-remove", NULL, "", 0,
	 "Removes a unikernel from alb-statsd's gathering (a debugging aid).",
	 name_opts, run_stats_remove},
	{"certificate", NULL, "CERT KEY", 2,
	 "Runs the command of an existing certificate (e.g. made with --csr and "
	 "signed with 'alb-ca sign') at --destination; CERT holds the chain, leaf "
	 "first, KEY the leaf's key.",
	 cli_certificate_opts, cli_run_certificate, true},
};

static const struct cli_prog alb_deploy_prog = {
	"alb-deploy",
	"Changes what an albatross daemon runs: unikernels, block devices and "
	"policies (the state-changing commands of albatross-client).",
	commands,
	sizeof(commands) / sizeof(commands[0]),
	common_opts,
	connect_opts,
};

int main(int argc, char **argv)
{
	return cli_main(&alb_deploy_prog, argc, argv);
}
