/* Shared by the libFuzzer targets: a failed property aborts with its
 * place, and decoders are checked to allocate at most a small multiple of
 * their input ("Never reads outside the buffer; allocates at most a small
 * multiple of len", wire.h).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_FUZZ_CHECK_H
#define ALB_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "wire_internal.h"

#define FUZZ_ASSERT(cond)                                                   \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: property failed: %s\n",     \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

/* The most a decode of len input bytes may take from malloc: the arena
 * hands out at most len * ALB_DECODE_MEM_FACTOR + ALB_DECODE_MEM_SLACK
 * bytes, every full arena block is at least half used, and the last block
 * and the first (allocated with the head) come on top. */
#define FUZZ_MEM_FACTOR (2 * ALB_DECODE_MEM_FACTOR)
#define FUZZ_MEM_SLACK (2 * ALB_DECODE_MEM_SLACK + 2 * ALB_ARENA_BLOCK_MAX + 8192)

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_MALLOC_HOOKS 1
#endif
#endif

#ifdef FUZZ_MALLOC_HOOKS
#include <sanitizer/allocator_interface.h>

/* Bytes requested from malloc by this thread while counting. */
static _Thread_local bool fuzz_counting;
static _Thread_local size_t fuzz_bytes;

static void fuzz_malloc_hook(const volatile void *p, size_t n)
{
	(void)p;
	if (fuzz_counting)
		fuzz_bytes += n;
}

static void fuzz_free_hook(const volatile void *p)
{
	(void)p;
}

/* Installs the counting hook once, from LLVMFuzzerInitialize. */
static inline void fuzz_mem_init(void)
{
	FUZZ_ASSERT(__sanitizer_install_malloc_and_free_hooks(fuzz_malloc_hook,
							      fuzz_free_hook) != 0);
}

static inline void fuzz_mem_start(void)
{
	fuzz_bytes = 0;
	fuzz_counting = true;
}

/* Stops counting; the bytes malloc gave since fuzz_mem_start(). */
static inline size_t fuzz_mem_stop(void)
{
	fuzz_counting = false;
	return fuzz_bytes;
}
#else
/* Without AddressSanitizer there are no malloc hooks: the bound is then
 * checked on what the arena handed out (see fuzz_arena_check). */
static inline void fuzz_mem_init(void)
{
	fprintf(stderr, "fuzz: no malloc hooks without AddressSanitizer; "
			"checking arena use only\n");
}
static inline void fuzz_mem_start(void) {}
static inline size_t fuzz_mem_stop(void)
{
	return 0;
}
#endif

/* Defines the target's LLVMFuzzerInitialize: fuzz_mem_init(), once. */
#define FUZZ_MEM_INITIALIZE()                                                  \
	int LLVMFuzzerInitialize(int *argc, char ***argv);                     \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                      \
	{                                                                      \
		(void)argc;                                                    \
		(void)argv;                                                    \
		fuzz_mem_init();                                               \
		return 0;                                                      \
	}

/* Checks the bytes a decode of len input bytes took from malloc. */
static inline void fuzz_mem_check(size_t used, size_t len)
{
	FUZZ_ASSERT(used <= len * FUZZ_MEM_FACTOR + FUZZ_MEM_SLACK);
}

/* Checks what a decoded value's arena handed out. */
static inline void fuzz_arena_check(const struct alb_arena *a, size_t len)
{
	FUZZ_ASSERT(alb_arena_used(a) <= len * ALB_DECODE_MEM_FACTOR + ALB_DECODE_MEM_SLACK);
}

/* True when two encodings hold the same bytes. */
static inline bool fuzz_same(const struct alb_buf *a, const struct alb_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

#endif
