/* alb-info console and alb-info inactive-consoles (spec §10.2): follow a
 * unikernel's console output, list the consoles of stopped unikernels.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_INFO_CONSOLE_H
#define ALB_INFO_CONSOLE_H

#include "cli_common.h"

/* Lines shown by `alb-info console` when neither --since nor --count is
 * given (albatross-client's default). */
#define ALB_INFO_CONSOLE_COUNT_DEFAULT 20

/* Options of `alb-info console`: --since, --count. */
extern const struct cli_opt alb_info_console_opts[];

/* `alb-info console NAME [--since TIMESTAMP | --count N]`: subscribes,
 * prints each line as "<RFC 3339 time> <escaped line>" (or, with --json,
 * each message as one line of JSON) and follows new lines until the daemon
 * closes or the program is interrupted. A cli_cmd run function. */
int alb_info_console(struct cli_args *a);

/* Options of `alb-info inactive-consoles`: -p/--path. */
extern const struct cli_opt alb_info_inactive_opts[];

/* `alb-info inactive-consoles [-p PATH]`: the consoles of stopped unikernels
 * below PATH (default: all), one name per line relative to PATH, or the
 * reply as JSON. A cli_cmd run function. */
int alb_info_inactive_consoles(struct cli_args *a);

#endif
