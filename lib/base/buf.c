/* libalbatross — output buffers (a frame buffer freed may stay as the
 * spare: base/spare.h).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "albatross/common.h"
#include "base/spare.h"

void alb_buf_free(struct alb_buf *b)
{
	if (b == NULL)
		return;
	alb_spare_free(b->base_, b->cap_);
	memset(b, 0, sizeof(*b));
}
