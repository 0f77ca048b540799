/* alb-deploy update (spec §10.3), as albatross-client's: ask the build
 * server which build the running image is, compare with the job's latest,
 * and replace the unikernel by it.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alb_deploy_update.h"

const struct cli_opt alb_deploy_update_opts[] = {
	{"http-host", 0, OPT_HTTP_HOST, "URL",
	 "the build server (builder-web): http[s]://host (default "
	 CLI_HTTP_HOST_DEFAULT ")"},
	{"dryrun", 0, OPT_DRYRUN, NULL, "only tell whether there is a newer build"},
	{"dry-run", 0, OPT_DRYRUN, NULL, "same as --dryrun"},
	{"compression-level", 0, OPT_LEVEL, "0-9",
	 "compress the new image at this zlib level (default 0 to a local "
	 "socket, 9 with --destination)"},
	{NULL, 0, 0, NULL, NULL}};

/* Sends Unikernel_info for name and returns its single reply in *out. */
static int ask_info(struct cli_args *a, const char *name, struct alb_msg **out)
{
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_client *c = NULL;
	*out = NULL;
	int status = cli_connect(a, name, &cmd, &c);
	if (status != CLI_EXIT_OK || c == NULL)
		return status;
	struct alb_error err = {0};
	int rc = a->remote ? 0 : alb_client_send(c, name, &cmd, NULL, NULL, &err);
	if (rc == 0)
		rc = alb_client_recv(c, out, &err);
	if (rc < 0)
		status = rc == ALB_EEOF ? (cli_error(a, "the daemon closed the "
						   "connection without a reply"),
					   CLI_EXIT_COMM)
					: cli_comm_failure(a, c, rc, &err);
	alb_client_close(c);
	return status;
}

/* "/job/<job>/build/<uuid>" (a final '/' allowed) into job and uuid. */
static bool job_and_build(const char *loc, char *job, char *uuid)
{
	static const char pre[] = "/job/";
	if (strncmp(loc, pre, sizeof(pre) - 1) != 0)
		return false;
	const char *j = loc + sizeof(pre) - 1;
	const char *slash = strchr(j, '/');
	if (slash == NULL || slash == j || strncmp(slash, "/build/", 7) != 0)
		return false;
	const char *u = slash + 7;
	size_t jl = (size_t)(slash - j), ul = strcspn(u, "/");
	if (ul == 0 || jl > ALB_UPDATE_ID_MAX || ul > ALB_UPDATE_ID_MAX ||
	    (u[ul] != '\0' && strcmp(u + ul, "/") != 0))
		return false;
	/* They go back into URLs: nothing that would change their meaning. */
	for (size_t i = 0; i < jl; i++)
		if (strchr("?#% \t", j[i]) != NULL)
			return false;
	for (size_t i = 0; i < ul; i++)
		if (strchr("?#% \t", u[i]) != NULL)
			return false;
	memcpy(job, j, jl);
	job[jl] = '\0';
	memcpy(uuid, u, ul);
	uuid[ul] = '\0';
	return true;
}

/* A GET whose answer must be a redirect to a build (spec §10.3 steps 3-4). */
static int build_of(struct cli_args *a, const char *url, char *job, char *uuid,
		    struct alb_error *err)
{
	struct alb_http_response resp;
	alb_log_info("GET %s", url);
	int rc = alb_http_get(url, a->timeout_ms, -1, ALB_UPDATE_PAGE_MAX, &resp, err);
	if (rc != 0)
		return rc;
	if (resp.status >= 300 && resp.status < 400) {
		if (resp.location[0] == '\0')
			return cli_fail(err, ALB_EPROTO,
					"no Location header received in HTTP reply");
		if (!job_and_build(resp.location, job, uuid))
			return cli_fail(err, ALB_EPROTO,
					"expected '/job/<jobname>/build/<uuid>', got: %s",
					resp.location);
		return 0;
	}
	if (resp.status == 404)
		return cli_fail(err, ALB_ENOENT,
				"couldn't find the unikernel in the repository");
	cli_warn(a, "received HTTP reply: status %d", resp.status);
	return cli_fail(err, ALB_EPROTO, "unexpected HTTP reply");
}

/* An unlinked temporary file for the new image. */
static int temp_fd(void)
{
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

/* Downloads the main binary of a build into fd, following redirects. */
static int download(struct cli_args *a, const char *job, const char *uuid, int fd,
		    struct alb_error *err)
{
	char url[ALB_HTTP_URL_MAX + 1];
	if (snprintf(url, sizeof(url), "%s/job/%s/build/%s/main-binary",
		     a->http_host, job, uuid) >= (int)sizeof(url))
		return cli_fail(err, ALB_ETOOBIG, "URL too long");
	for (int hops = 0;; hops++) {
		struct alb_http_response resp;
		alb_log_info("GET %s", url);
		if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
			return cli_fail(err, ALB_ESYS, "temporary file: %s",
					strerror(errno));
		int rc = alb_http_get(url, a->timeout_ms, fd, ALB_IMAGE_MAX, &resp, err);
		if (rc != 0)
			return rc;
		if (resp.status >= 200 && resp.status < 300 && resp.body_len > 0)
			return lseek(fd, 0, SEEK_SET) < 0
				       ? cli_fail(err, ALB_ESYS, "temporary file: %s",
						  strerror(errno))
				       : 0;
		bool redirect = resp.status >= 300 && resp.status < 400 &&
				resp.location[0] != '\0';
		if (!redirect || hops == ALB_UPDATE_REDIRECTS_MAX) {
			cli_warn(a, "received HTTP reply: status %d", resp.status);
			return cli_fail(err, ALB_EPROTO, "unexpected HTTP reply");
		}
		/* An absolute Location, or a path on the same host. */
		if (resp.location[0] == '/')
			rc = snprintf(url, sizeof(url), "%s%s", a->http_host, resp.location);
		else
			rc = snprintf(url, sizeof(url), "%s", resp.location);
		if (rc < 0 || rc >= (int)sizeof(url))
			return cli_fail(err, ALB_ETOOBIG, "URL too long");
	}
}

/* The running configuration as a force-create (spec §10.3 step 7): the
 * devices with their host devices, sector sizes and MACs; --name added.
 * The lists point into info and into memory owned by a. */
static int config_of(struct cli_args *a, const struct alb_unikernel_info *u,
		     struct alb_unikernel_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->typ = ALB_TYP_SOLO5;
	cfg->fail = u->fail;
	cfg->has_startup = u->has_startup;
	cfg->startup = u->startup;
	cfg->add_name = true;
	cfg->n_cpuids = u->n_cpuids;
	cfg->cpuids = u->cpuids;
	cfg->memory = u->memory;
	cfg->has_argv = u->has_argv;
	cfg->n_argv = u->n_argv;
	cfg->argv = u->argv;
	cfg->numcpus = u->numcpus;
	cfg->linux_boot_partition = u->linux_boot_partition;
	cfg->blocks = cli_own(a, calloc(u->n_blocks + 1, sizeof(*cfg->blocks)));
	cfg->bridges = cli_own(a, calloc(u->n_bridges + 1, sizeof(*cfg->bridges)));
	if (cfg->blocks == NULL || cfg->bridges == NULL)
		return ALB_ENOMEM;
	for (size_t i = 0; i < u->n_blocks; i++) {
		struct alb_block_dev *b = &cfg->blocks[i];
		b->name = u->blocks[i].unikernel_device;
		b->device = u->blocks[i].host_device;
		b->has_sector_size = true;
		b->sector_size = u->blocks[i].sector_size;
	}
	for (size_t i = 0; i < u->n_bridges; i++) {
		struct alb_net_dev *n = &cfg->bridges[i];
		n->netif = u->bridges[i].unikernel_device;
		n->bridge = u->bridges[i].host_device;
		n->has_mac = true;
		memcpy(n->mac, u->bridges[i].mac, ALB_MAC_LEN);
	}
	cfg->n_blocks = u->n_blocks;
	cfg->n_bridges = u->n_bridges;
	return 0;
}

/* The new build, from the running unikernel's info on. */
static int update(struct cli_args *a, const char *name,
		  const struct alb_unikernel_info *u)
{
	struct alb_error err = {0};
	char hash[2 * ALB_SHA256_LEN + 1] = "";
	for (size_t i = 0; i < u->digest.len && i < ALB_SHA256_LEN; i++)
		snprintf(hash + 2 * i, 3, "%02x", u->digest.ptr[i]);
	char url[ALB_HTTP_URL_MAX + 1];
	char job[ALB_UPDATE_ID_MAX + 1], old[ALB_UPDATE_ID_MAX + 1];
	char job2[ALB_UPDATE_ID_MAX + 1], latest[ALB_UPDATE_ID_MAX + 1];
	snprintf(url, sizeof(url), "%s/hash?sha256=%s", a->http_host, hash);
	int rc = build_of(a, url, job, old, &err);
	if (rc == 0 && snprintf(url, sizeof(url), "%s/job/%s/build/latest",
				a->http_host, job) >= (int)sizeof(url))
		rc = cli_fail(&err, ALB_ETOOBIG, "URL too long");
	if (rc == 0)
		rc = build_of(a, url, job2, latest, &err);
	if (rc != 0) {
		cli_error(a, "error in HTTP interaction: %s", err.msg);
		return CLI_EXIT_HTTP;
	}
	if (strcmp(old, latest) == 0) {
		printf("already up to date\n");
		return CLI_EXIT_OK;
	}
	printf("compare at %s/compare/%s/%s\n", a->http_host, old, latest);
	if (a->dryrun)
		return CLI_EXIT_OK;
	fflush(stdout);
	int fd = temp_fd();
	if (fd < 0) {
		cli_error(a, "temporary file: %s", strerror(errno));
		return CLI_EXIT_INTERNAL;
	}
	rc = download(a, job, latest, fd, &err);
	if (rc != 0) {
		close(fd);
		cli_error(a, "error in HTTP interaction: %s", err.msg);
		return CLI_EXIT_HTTP;
	}
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = ALB_CMD_UNIKERNEL_FORCE_CREATE;
	if (config_of(a, u, &cmd.u.create) != 0) {
		close(fd);
		cli_error(a, "out of memory");
		return CLI_EXIT_INTERNAL;
	}
	rc = cli_image_check(fd, &cmd.u.create, &err);
	int status;
	if (rc != 0) {
		cli_error(a, "manifest failed: %s", err.msg);
		status = CLI_EXIT_INTERNAL;
	} else {
		status = cli_send_create(a, name, &cmd, fd, "main-binary");
	}
	close(fd);
	return status;
}

int alb_deploy_update(struct cli_args *a)
{
	if (a->csr) {
		cli_error(a, "update with CSR not supported");
		return CLI_EXIT_CLI;
	}
	char name[ALB_NAME_BUF];
	struct alb_error err = {0};
	if (cli_name("NAME argument", a->pos[0], name, &err) < 0)
		return cli_local_failure(a, &err);
	struct alb_msg *m = NULL;
	int status = ask_info(a, name, &m);
	if (status != CLI_EXIT_OK || m == NULL)
		return status;
	const struct alb_reply *r = &m->u.success;
	bool one = m->kind == ALB_PAYLOAD_SUCCESS &&
		   (r->kind == ALB_REPLY_UNIKERNEL_INFO ||
		    r->kind == ALB_REPLY_OLD_UNIKERNEL_INFO4 ||
		    r->kind == ALB_REPLY_OLD_UNIKERNEL_INFO5) &&
		   r->u.infos.n == 1 && r->u.infos.v[0].info.typ == ALB_TYP_SOLO5;
	if (!one) {
		fprintf(stderr, "%s: unexpected reply: ", a->prog->name);
		alb_msg_print(stderr, m, 0, NULL);
		status = CLI_EXIT_COMM;
	} else {
		status = update(a, name, &r->u.infos.v[0].info);
	}
	alb_msg_free(m);
	return status;
}
