/* libalbatross — the process's spare large buffer (private to the
 * library).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_BASE_SPARE_H
#define ALB_BASE_SPARE_H

#include <stdbool.h>
#include <stddef.h>

/* A large frame buffer is aligned to this many bytes, and asked for in
 * huge pages of that size (lib/io/frame.c). */
#define ALB_SPARE_ALIGN (2u * 1024u * 1024u)

/* The largest buffer kept as the spare: a frame buffer of more is freed
 * (an image of a few MB, as MirageOS unikernels have, fits). */
#define ALB_SPARE_MAX (16u * 1024u * 1024u)

/** Hands over the spare when it holds at least need bytes: the buffer,
 * its size in *cap; NULL when there is none that large. It stays the
 * caller's until given back with alb_spare_keep() or free(). */
void *alb_spare_take(size_t need, size_t *cap);

/** Keeps p (a malloc'd buffer of cap bytes) as the spare when it is one of
 * ALB_SPARE_ALIGN to ALB_SPARE_MAX bytes aligned to ALB_SPARE_ALIGN and
 * larger than the spare held (which is then freed): true. false: p is
 * still the caller's to free. Any thread. */
bool alb_spare_keep(void *p, size_t cap);

/** alb_spare_keep(), or else free(p). */
void alb_spare_free(void *p, size_t cap);

#endif
