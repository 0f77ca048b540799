/* alb-deploy and alb-ca — the commands both programs offer, with one
 * option table each: create (alb-ca create-csr is create --csr), restart's
 * options, and add-policy (alb-ca add-policy-csr); and how a create's
 * image is sent (spec §10.2, §9.3, §9.8).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "albatross/policy.h"
#include "cli_common.h"

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

const struct cli_opt cli_create_opts[] = {
	{"force", 'f', OPT_FORCE, NULL, "destroy a unikernel of the same name first"},
	{"typ", 0, OPT_TYP, "solo5|bhyve", "virtual machine type (default solo5)"},
	{"compression-level", 0, OPT_LEVEL, "0-9",
	 "compress the image at this zlib level (default 0 to a local socket, "
	 "9 with --destination or --csr)"},
	VM_OPTS,
	{NULL, 0, 0, NULL, NULL}};

const struct cli_opt cli_restart_opts[] = {
	{"replace-arguments", 0, OPT_REPLACE_ARGS, NULL,
	 "replace the configuration with the options given (else all are ignored)"},
	VM_OPTS,
	{NULL, 0, 0, NULL, NULL}};

const struct cli_opt cli_policy_opts[] = {
	{"mem", 0, OPT_MEM, "MB", "memory to allow in MB (default 512)"},
	{"cpu", 0, OPT_CPU, "ID", "CPU id to allow (repeatable; default 0)"},
	{"block", 0, OPT_POLICY_BLOCK, "MB", "block storage to allow in MB (default: none)"},
	{"size", 0, OPT_POLICY_BLOCK, "MB", "same as --block"},
	{"bridge", 0, OPT_BRIDGE, "NAME", "bridge to allow (repeatable)"},
	{"network", 0, OPT_BRIDGE, "NAME", "same as --bridge"},
	{NULL, 0, 0, NULL, NULL}};

/* The image as it goes locally or into a CSR: as it is (level 0), or
 * compressed here (local) or by the CSR maker. */
static int inline_image(struct cli_args *a, const uint8_t *map, size_t size,
			struct alb_unikernel_config *cfg, struct alb_buf *buf,
			struct alb_error *err)
{
	int level = cli_level(a);
	cfg->compressed = false;
	cfg->image.ptr = map;
	cfg->image.len = size;
	if (level == 0 || a->csr)
		return 0;
	int rc = alb_zlib_deflate(map, size, level, buf, err);
	if (rc < 0)
		return rc;
	cfg->compressed = true;
	cfg->image.ptr = buf->data;
	cfg->image.len = buf->len;
	return 0;
}

/* Maps the image file fd (checked: a regular file, not empty, at most
 * ALB_IMAGE_MAX bytes). Mapped, the notes are read where they are, and a
 * streamed image is never in memory as a whole. */
static int map_image(int fd, const char *what, uint8_t **map, uint64_t *size,
		     struct alb_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return cli_fail(err, ALB_ESYS, "cannot read '%s': %s", what,
				strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cli_fail(err, ALB_EINVAL, "cannot read '%s': not a regular file",
				what);
	*size = (uint64_t)st.st_size;
	if (*size > ALB_IMAGE_MAX)
		return cli_fail(err, ALB_ETOOBIG, "'%s' is larger than %u bytes", what,
				ALB_IMAGE_MAX);
	if (*size == 0)
		return cli_fail(err, ALB_EPARSE, "'%s' is empty", what);
	*map = mmap(NULL, (size_t)*size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*map == MAP_FAILED)
		return cli_fail(err, ALB_ESYS, "cannot read '%s': %s", what,
				strerror(errno));
	return 0;
}

/* The Solo5 notes of the image against the configured devices (§5.4). */
static int check_image(const uint8_t *map, uint64_t size,
		       const struct alb_unikernel_config *cfg, struct alb_error *err)
{
	struct alb_solo5_info info;
	int rc = alb_solo5_parse(map, (size_t)size, &info, err);
	return rc == 0 ? alb_manifest_match(&info, cfg, err) : rc;
}

int cli_image_check(int fd, const struct alb_unikernel_config *cfg,
		    struct alb_error *err)
{
	uint8_t *map;
	uint64_t size;
	int rc = map_image(fd, "the image", &map, &size, err);
	if (rc != 0)
		return rc;
	rc = check_image(map, size, cfg, err);
	munmap(map, (size_t)size);
	return rc;
}

int cli_send_create(struct cli_args *a, const char *name,
		    struct alb_command *cmd, int fd, const char *what)
{
	struct alb_error err = {0};
	struct alb_unikernel_config *cfg = &cmd->u.create;
	uint8_t *map;
	uint64_t size;
	if (map_image(fd, what, &map, &size, &err) != 0)
		return cli_local_failure(a, &err);
	struct alb_buf buf = {0};
	struct cli_request r = {.name = name, .cmd = cmd, .upload_fd = -1,
				.dump_fd = -1};
	int rc = check_image(map, size, cfg, &err);
	if (rc == 0 && a->remote) {
		bool stream;
		rc = alb_remote_image_prepare(fd, size, cli_level(a), cfg, &buf,
					      &stream, &err);
		if (rc == 0 && stream) {
			alb_log_info("the image (%llu bytes) streams after the handshake",
				     (unsigned long long)size);
			r.upload_fd = fd;
			r.upload_size = size;
			r.upload_level = cli_level(a);
		}
	} else if (rc == 0) {
		rc = inline_image(a, map, (size_t)size, cfg, &buf, &err);
	}
	/* a streamed image is read from fd: its pages need not stay mapped
	 * (they would count in our memory as the page cache lends them) */
	if (r.upload_fd >= 0) {
		munmap(map, (size_t)size);
		map = NULL;
	}
	int status = rc < 0 ? cli_local_failure(a, &err) : cli_execute(a, &r);
	alb_buf_free(&buf);
	if (map != NULL)
		munmap(map, (size_t)size);
	return status;
}

int cli_run_create(struct cli_args *a)
{
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	int rc = cli_name("NAME argument", a->pos[0], name, &err);
	if (rc == 0)
		rc = cli_vm_config(a, false, &cmd.u.create, &err);
	if (rc < 0)
		return cli_local_failure(a, &err);
	cmd.kind = a->vm.force ? ALB_CMD_UNIKERNEL_FORCE_CREATE
			       : ALB_CMD_UNIKERNEL_CREATE;
	if (a->vm.typ == ALB_TYP_SOLO5) {
		int fd = open(a->pos[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_error(a, "cannot read '%s': %s", a->pos[1], strerror(errno));
			return CLI_EXIT_CLI;
		}
		int status = cli_send_create(a, name, &cmd, fd, a->pos[1]);
		close(fd);
		return status;
	}
	/* BHyve boots from a block device: nothing is sent, but the IMAGE
	 * argument must still name a file, as upstream. */
	struct stat st;
	if (stat(a->pos[1], &st) < 0 || !S_ISREG(st.st_mode)) {
		cli_error(a, "IMAGE argument: no '%s' file", a->pos[1]);
		return CLI_EXIT_CLI;
	}
	struct cli_request r = {.name = name, .cmd = &cmd, .upload_fd = -1,
				.dump_fd = -1};
	return cli_execute(a, &r);
}

int cli_run_add_policy(struct cli_args *a)
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
	struct cli_request r = {.name = path, .cmd = &cmd, .upload_fd = -1,
				.dump_fd = -1};
	return cli_execute(a, &r);
}
