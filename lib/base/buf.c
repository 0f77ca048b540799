/* libalbatross — output buffers.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "albatross/common.h"

void alb_buf_free(struct alb_buf *b)
{
	if (b == NULL)
		return;
	free(b->base_);
	memset(b, 0, sizeof(*b));
}
