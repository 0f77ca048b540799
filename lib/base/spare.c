/* libalbatross — the process's spare large buffer.
 *
 * A large image arrives in a frame buffer of its size, and the buffer is
 * freed once the image is durable (albd then maps it from its journal
 * record). The next create would receive into memory the process has
 * never touched, or gave back: a page fault per page, and on a virtual
 * machine whose host reclaims freed memory, the host's too (4 MiB of new
 * memory cost 11-15 ms on the development VM, against 1 ms to receive 4
 * MB into memory used before). One such buffer is therefore kept, the
 * largest freed up to ALB_SPARE_MAX bytes, and the next large frame
 * arrives in it.
 * SPDX-License-Identifier: ISC */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/spare.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *spare;
static size_t spare_cap;

void *alb_spare_take(size_t need, size_t *cap)
{
	void *p = NULL;
	pthread_mutex_lock(&lock);
	if (spare != NULL && spare_cap >= need) {
		p = spare;
		*cap = spare_cap;
		spare = NULL;
		spare_cap = 0;
	}
	pthread_mutex_unlock(&lock);
	return p;
}

bool alb_spare_keep(void *p, size_t cap)
{
	if (p == NULL || cap < ALB_SPARE_ALIGN || cap > ALB_SPARE_MAX ||
	    ((uintptr_t)p & (ALB_SPARE_ALIGN - 1)) != 0)
		return false;
	void *old = p;
	pthread_mutex_lock(&lock);
	if (spare == NULL || spare_cap < cap) {
		old = spare;
		spare = p;
		spare_cap = cap;
	}
	pthread_mutex_unlock(&lock);
	if (old == p)
		return false;
	free(old);
	return true;
}

void alb_spare_free(void *p, size_t cap)
{
	if (!alb_spare_keep(p, cap))
		free(p);
}
