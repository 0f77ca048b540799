/* libalbatross — region allocator for decoded values.
 * SPDX-License-Identifier: ISC */
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"

/* Smallest block made by growth. */
#define ARENA_BLOCK_MIN 256

struct block {
	struct block *next;
	alignas(ALB_ARENA_ALIGN) unsigned char data[];
};

struct alb_arena {
	unsigned char *cur, *end; /* free part of the current block */
	struct block *blocks;     /* blocks allocated after the first */
	size_t next_size;
	size_t used;
	size_t limit;
	bool refused; /* an allocation would have passed the limit */
};

/* What calloc of zero elements returns: valid, never dereferenced. */
static max_align_t empty_array;

static size_t round_up(size_t n)
{
	return (n + ALB_ARENA_ALIGN - 1) & ~(size_t)(ALB_ARENA_ALIGN - 1);
}

void *alb_arena_create(size_t head_size, size_t first_block, size_t limit,
		       struct alb_arena **arena)
{
	size_t a_sz = round_up(sizeof(struct alb_arena));
	if (head_size > SIZE_MAX / 4 || first_block > SIZE_MAX / 4)
		return NULL;
	size_t h_sz = round_up(head_size);
	first_block = round_up(first_block);
	unsigned char *mem = malloc(a_sz + h_sz + first_block);
	if (mem == NULL)
		return NULL;
	struct alb_arena *a = (struct alb_arena *)mem;
	void *head = mem + a_sz;
	memset(head, 0, head_size);
	a->cur = mem + a_sz + h_sz;
	a->end = a->cur + first_block;
	a->blocks = NULL;
	a->next_size = first_block * 2;
	if (a->next_size < ARENA_BLOCK_MIN)
		a->next_size = ARENA_BLOCK_MIN;
	if (a->next_size > ALB_ARENA_BLOCK_MAX)
		a->next_size = ALB_ARENA_BLOCK_MAX;
	a->used = 0;
	a->limit = limit;
	a->refused = false;
	*arena = a;
	return head;
}

static void *new_block(struct alb_arena *a, size_t size)
{
	if (size > SIZE_MAX - sizeof(struct block))
		return NULL;
	struct block *b = malloc(sizeof(struct block) + size);
	if (b == NULL)
		return NULL;
	b->next = a->blocks;
	a->blocks = b;
	return b->data;
}

void *alb_arena_alloc(struct alb_arena *a, size_t n)
{
	if (n > SIZE_MAX / 2)
		return NULL;
	n = round_up(n);
	if (n > a->limit - a->used || a->used > a->limit) {
		a->refused = true;
		return NULL;
	}
	if ((size_t)(a->end - a->cur) < n) {
		if (n > a->next_size / 2) {
			/* a large value gets its own block, the current one stays */
			void *p = new_block(a, n);
			if (p != NULL)
				a->used += n;
			return p;
		}
		unsigned char *blk = new_block(a, a->next_size);
		if (blk == NULL)
			return NULL;
		a->cur = blk;
		a->end = blk + a->next_size;
		if (a->next_size < ALB_ARENA_BLOCK_MAX)
			a->next_size *= 2;
	}
	void *p = a->cur;
	a->cur += n;
	a->used += n;
	return p;
}

void *alb_arena_calloc(struct alb_arena *a, size_t n, size_t size)
{
	if (n == 0)
		return &empty_array;
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	void *p = alb_arena_alloc(a, n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

char *alb_arena_strndup(struct alb_arena *a, const void *p, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *s = alb_arena_alloc(a, n + 1);
	if (s == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

size_t alb_arena_used(const struct alb_arena *a)
{
	return a->used;
}

bool alb_arena_refused(const struct alb_arena *a)
{
	return a->refused;
}

void alb_arena_destroy(struct alb_arena *a)
{
	if (a == NULL)
		return;
	struct block *b = a->blocks;
	while (b != NULL) {
		struct block *next = b->next;
		free(b);
		b = next;
	}
	free(a);
}
