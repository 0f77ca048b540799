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

#include "albatross/policy.h"
#include "cli_common.h"

static const struct cli_opt common_opts[] = {
	{"socket", 0, OPT_SOCKET, "PATH",
	 "daemon socket to use instead of <tmpdir>/util/vmmd.sock; '-' prints the encoded command"},
	{"tmpdir", 0, OPT_TMPDIR, "DIR", "albatross temporary directory (" ALB_TMPDIR_DEFAULT ")"},
	{"timeout", 0, OPT_TIMEOUT, "SECONDS", "give up when the daemon is silent this long (0: never)"},
	{"verbose", 'v', OPT_VERBOSE, NULL, "more messages"},
	{"quiet", 'q', OPT_QUIET, NULL, "no warnings, no progress"},
	{"help", 'h', OPT_HELP, NULL, "show this help"},
	{NULL, 0, 0, NULL, NULL}};

/* The options shared by create and restart --replace-arguments. */
#define VM_OPTS                                                                          \
	{"startup", 0, OPT_STARTUP, "N", "startup priority (0 is highest, default 50)"},    \
	    {"no-add-name", 0, OPT_NO_ADD_NAME, NULL,                                        \
	     "do not add --name=<NAME> to the unikernel arguments"},                         \
	    {"cpu", 0, OPT_CPU, "ID", "CPU id to pin to (repeatable; default 0)"},           \
	    {"mem", 0, OPT_MEM, "MB", "memory in MB (default 32)"},                          \
	    {"arg", 0, OPT_ARG, "ARG", "boot argument (repeatable), e.g. --arg='--hello=Hi'"}, \
	    {"block", 0, OPT_BLOCK_DEV, "NAME[:DEVICE][@SECTOR-SIZE]",                        \
	     "block device (repeatable)"},                                                   \
	    {"net", 0, OPT_NET, "[NETIF:]BRIDGE[@MAC]", "network device (repeatable)"},      \
	    {"restart-on-fail", 0, OPT_RESTART, NULL, "restart the unikernel when it exits"}, \
	    {"restart", 0, OPT_RESTART, NULL, "same as --restart-on-fail"},                  \
	    {"exit-code", 0, OPT_EXIT_CODE, "N",                                             \
	     "exit code to restart on (repeatable; default: all but 1 and 60-64)"},          \
	    {"cpus", 0, OPT_CPUS, "N", "number of virtual CPUs (BHyve; default 1)"},          \
	    {"linux-boot", 0, OPT_LINUX_BOOT, "PARTITION", "boot partition of a Linux guest (BHyve)"}

#define LEVEL_OPT                                                                 \
	{"compression-level", 0, OPT_LEVEL, "0-9",                                  \
	 "compress what is sent at this zlib level (default 0: not compressed)"}

static const struct cli_opt create_opts[] = {
	{"force", 'f', OPT_FORCE, NULL, "destroy a unikernel of the same name first"},
	{"typ", 0, OPT_TYP, "solo5|bhyve", "virtual machine type (default solo5)"},
	LEVEL_OPT,
	VM_OPTS,
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt restart_opts[] = {
	{"replace-arguments", 0, OPT_REPLACE_ARGS, NULL,
	 "replace the configuration with the options given (else all are ignored)"},
	VM_OPTS,
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt create_block_opts[] = {
	{"data", 0, OPT_DATA, "FILE", "fill the new device with this file"},
	LEVEL_OPT,
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt level_opts[] = {LEVEL_OPT, {NULL, 0, 0, NULL, NULL}};

static const struct cli_opt policy_opts[] = {
	{"mem", 0, OPT_MEM, "MB", "memory to allow in MB (default 512)"},
	{"cpu", 0, OPT_CPU, "ID", "CPU id to allow (repeatable; default 0)"},
	{"block", 0, OPT_POLICY_BLOCK, "MB", "block storage to allow in MB (default: none)"},
	{"size", 0, OPT_POLICY_BLOCK, "MB", "same as --block"},
	{"bridge", 0, OPT_BRIDGE, "NAME", "bridge to allow (repeatable)"},
	{"network", 0, OPT_BRIDGE, "NAME", "same as --bridge"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt path_opts[] = {
	{"path", 'p', OPT_PATH, "PATH", "path of the policy (default: the root)"},
	{NULL, 0, 0, NULL, NULL}};

static const struct cli_opt no_opts[] = {{NULL, 0, 0, NULL, NULL}};

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

/* The image of a Solo5 unikernel, checked against the configured devices
 * and compressed at the requested level (spec §5.4, §5.6). */
static int load_image(struct cli_args *a, const char *file,
		      struct alb_unikernel_config *cfg, uint8_t **raw,
		      struct alb_buf *packed, struct alb_error *err)
{
	size_t len;
	int rc = cli_read_file(file, ALB_IMAGE_MAX, raw, &len, err);
	if (rc < 0)
		return rc;
	struct alb_solo5_info info;
	rc = alb_solo5_parse(*raw, len, &info, err);
	if (rc == 0)
		rc = alb_manifest_match(&info, cfg, err);
	if (rc < 0)
		return rc;
	int level = a->has_level ? a->level : 0;
	if (level == 0) {
		cfg->compressed = false;
		cfg->image.ptr = *raw;
		cfg->image.len = len;
		return 0;
	}
	rc = alb_zlib_deflate(*raw, len, level, packed, err);
	if (rc < 0)
		return rc;
	cfg->compressed = true;
	cfg->image.ptr = packed->data;
	cfg->image.len = packed->len;
	return 0;
}

static int run_create(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	uint8_t *raw = NULL;
	struct alb_buf packed = {0};
	int rc = cli_name("NAME argument", a->pos[0], name, &err);
	if (rc == 0)
		rc = cli_vm_config(a, false, &cmd.u.create, &err);
	if (rc == 0 && a->vm.typ == ALB_TYP_SOLO5) {
		rc = load_image(a, a->pos[1], &cmd.u.create, &raw, &packed, &err);
	} else if (rc == 0) {
		/* BHyve boots from a block device: nothing is sent, but the
		 * IMAGE argument must still name a file, as upstream. */
		struct stat st;
		if (stat(a->pos[1], &st) < 0 || !S_ISREG(st.st_mode))
			rc = cli_fail(&err, ALB_ENOENT, "IMAGE argument: no '%s' file",
				      a->pos[1]);
	}
	int status;
	if (rc < 0) {
		status = cli_local_failure(a, &err);
	} else {
		cmd.kind = a->vm.force ? ALB_CMD_UNIKERNEL_FORCE_CREATE
				       : ALB_CMD_UNIKERNEL_CREATE;
		status = run_simple(a, name, &cmd);
	}
	free(raw);
	alb_buf_free(&packed);
	return status;
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
	int level = a->has_level ? a->level : 0;
	struct alb_command cmd = {.kind = ALB_CMD_BLOCK_SET};
	cmd.u.block_compressed = level > 0;
	a->level = level;
	struct cli_request r = {.name = name, .cmd = &cmd, .upload_fd = fd,
				.upload_size = (uint64_t)st.st_size, .dump_fd = -1};
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

static int run_add_policy(struct cli_args *a)
{
	char path[ALB_NAME_BUF];
	struct alb_error err = {0};
	int64_t unikernels;
	struct alb_command cmd = {.kind = ALB_CMD_POLICY_ADD};
	int rc = cli_path("PATH argument", a->pos[0], path, &err);
	if (rc == 0 && cli_parse_int(a->pos[1], &unikernels, &err) < 0)
		rc = cli_fail(&err, ALB_EPARSE,
			      "UNIKERNELS argument: invalid value '%s', expected an integer",
			      a->pos[1]);
	if (rc == 0)
		rc = cli_policy(a, unikernels, &cmd.u.policy, &err);
	if (rc == 0)
		rc = alb_policy_usable(&cmd.u.policy, &err);
	if (rc < 0)
		return cli_local_failure(a, &err);
	if (cmd.u.policy.n_bridges == 0)
		cli_warn(a, "policy without any network access");
	return run_simple(a, path, &cmd);
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

static const struct cli_cmd commands[] = {
	{"create", NULL, "NAME IMAGE", 2, "Creates a unikernel from an image file.",
	 create_opts, run_create},
	{"destroy", NULL, "NAME", 1, "Destroys a unikernel.", no_opts, run_destroy},
	{"restart", NULL, "NAME", 1,
	 "Restarts a unikernel, with its configuration or the one given.",
	 restart_opts, run_restart},
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
	 policy_opts, run_add_policy},
	{"remove-policy", NULL, "", 0, "Removes the policy of a path.", path_opts,
	 run_remove_policy},
};

static const struct cli_prog alb_deploy_prog = {
	"alb-deploy",
	"Changes what an albatross daemon runs: unikernels, block devices and "
	"policies (the state-changing commands of albatross-client).",
	commands,
	sizeof(commands) / sizeof(commands[0]),
	common_opts,
};

int main(int argc, char **argv)
{
	return cli_main(&alb_deploy_prog, argc, argv);
}
