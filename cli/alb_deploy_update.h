/* alb-deploy update (spec §10.3): a unikernel replaced by the latest build
 * of its job at a builder-web server, keeping its configuration and MACs.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_DEPLOY_UPDATE_H
#define ALB_DEPLOY_UPDATE_H

#include "cli_common.h"

/* Largest body of the /hash and /build/latest answers read (a redirect's
 * page), in bytes. */
#define ALB_UPDATE_PAGE_MAX (1024 * 1024)

/* Most redirects followed to the main binary. */
#define ALB_UPDATE_REDIRECTS_MAX 5

/* Longest job name or build uuid taken from a Location. */
#define ALB_UPDATE_ID_MAX 255

/* Options of update: --http-host, --dryrun/--dry-run, --compression-level. */
extern const struct cli_opt alb_deploy_update_opts[];

/* `update NAME`: the unikernel's info (exactly one Solo5 unikernel, else
 * "unexpected reply", 121), its digest looked up at <host>/hash (a
 * redirect to /job/<job>/build/<uuid>; 404: "couldn't find the unikernel
 * in the repository"), the job's latest build (<host>/job/<job>/build/
 * latest); the same build: "already up to date"; else "compare at
 * <host>/compare/<old>/<new>", and unless --dryrun the main binary is
 * downloaded, checked against the running devices ("manifest failed: ...",
 * 125) and sent as a force-create with the running configuration, the
 * devices' MACs, and --name added. HTTP failures: "error in HTTP
 * interaction: ...", 118. Not with --csr. A cli_cmd run function. */
int alb_deploy_update(struct cli_args *a);

#endif
