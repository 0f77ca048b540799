/* libalbatross — making a tap whose name is recorded before it can
 * outlive us (private to the library; vmmd's runtime records).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_HOST_TAP_H
#define ALB_HOST_TAP_H

#include "albatross/net.h"

/* Called with the name of a new tap that is not persistent yet: if the
 * process dies now the kernel removes it. Return 0 to keep it (it is made
 * persistent), or a negative ALB_E* code (err filled) to drop it. */
typedef int (*alb_tap_claim_fn)(void *ctx, const char *tap,
				struct alb_error *err);

/* alb_tap_create_owned() with a claim between choosing the name and
 * making the tap persistent: a daemon writes the name into a durable
 * record there, so that no tap it made is ever unnamed by its records.
 * claim may be NULL; owner -1 for none. A failed claim fails the create
 * with its code; nothing is left. */
int alb_tap_create_claimed(struct alb_net *net, const char *bridge,
			   int64_t owner, alb_tap_claim_fn claim, void *ctx,
			   char tap[ALB_IFNAME_SIZE], struct alb_error *err);

#endif
