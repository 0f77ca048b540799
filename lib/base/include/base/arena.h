/* libalbatross — region allocator for decoded values (private).
 * SPDX-License-Identifier: ISC
 *
 * Everything a decoded message points to lives in one arena, freed at once.
 * The arena is allocated together with its "head" (the struct the caller
 * returns, e.g. a struct alb_msg) and a first block, so that decoding a
 * small message costs one malloc. Later blocks at least double, up to
 * ALB_ARENA_BLOCK_MAX; a request larger than half a block (an image) gets
 * a block of its own. A limit bounds the total handed out. */
#ifndef ALB_ARENA_H
#define ALB_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct alb_arena;

/** Largest block size reached by doubling. */
#define ALB_ARENA_BLOCK_MAX (64 * 1024)
/** Alignment of every allocation. */
#define ALB_ARENA_ALIGN 8

/** Allocates in one malloc a zeroed head of head_size bytes, the arena and
 * a first block of first_block bytes. limit is the most bytes the arena
 * may hand out (allocations beyond fail). Returns the head, or NULL when
 * out of memory; *arena receives the arena (alb_arena_destroy() frees the
 * head too). */
void *alb_arena_create(size_t head_size, size_t first_block, size_t limit,
		       struct alb_arena **arena);

/** n bytes aligned to ALB_ARENA_ALIGN, uninitialised; NULL when out of
 * memory or past the limit. */
void *alb_arena_alloc(struct alb_arena *a, size_t n);

/** A zeroed array of n elements of size bytes; NULL on overflow, out of
 * memory or past the limit. n == 0 gives a valid empty pointer. */
void *alb_arena_calloc(struct alb_arena *a, size_t n, size_t size);

/** A NUL-terminated copy of p[0..n); NULL on failure. */
char *alb_arena_strndup(struct alb_arena *a, const void *p, size_t n);

/** Bytes handed out so far (with alignment). */
size_t alb_arena_used(const struct alb_arena *a);

/** True when an allocation failed because it would have passed the
 * limit (rather than because malloc failed). */
bool alb_arena_refused(const struct alb_arena *a);

/** Frees every block, the arena and its head; NULL is a no-op. */
void alb_arena_destroy(struct alb_arena *a);

#endif
