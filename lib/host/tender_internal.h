/* libalbatross — private parts of the tender module shared by its files
 * and reachable from its unit test.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TENDER_INTERNAL_H
#define ALB_TENDER_INTERNAL_H

#include "albatross/tender.h"

/** Searches the directories of path_env (PATH; NULL for the default
 * "/bin:/usr/bin", an empty element meaning the current directory) for an
 * executable regular file named `name` and writes it to out
 * (ALB_TENDER_PATH_MAX bytes). ALB_ENOENT when there is none. */
int alb__tender_which(const char *name, const char *path_env, char *out);

/** True when path is a regular file that we may execute. */
bool alb__tender_executable(const char *path);

/** alb_tender_check_abi() with the time limit as a parameter, so tests
 * need not wait ALB_TENDER_VERSION_TIMEOUT_MS. */
int alb__tender_check_abi_timeout(const char *tender, unsigned abi_version,
				  int timeout_ms, struct alb_error *err);

/** Forgets every remembered ABI check. */
void alb__tender_abi_cache_clear(void);

/** Number of tenders whose ABI check is remembered. */
size_t alb__tender_abi_cache_size(void);

#endif
