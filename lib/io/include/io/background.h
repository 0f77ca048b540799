/* libalbatross — what background file work (a compaction, the freeing of
 * large files) does so that the writes a client waits for go first: it
 * gives way to them between chunks, and it frees a large file a step at a
 * time instead of all at once.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_IO_BACKGROUND_H
#define ALB_IO_BACKGROUND_H

#include <stdbool.h>

/** What a background writer gives way to: while busy(ctx) says that
 * foreground writes (the journal's appends, a streamed image's syncs) are
 * in flight, it waits before its next chunk, ALB_IO_YIELD_MAX_MS at most,
 * so that it always progresses. busy is called from the writer's thread;
 * busy NULL: the work goes in chunks (steps) but never waits. */
struct alb_io_yield {
	bool (*busy)(void *ctx);
	void *ctx;
};

/** The longest a background writer waits for foreground writes before its
 * next chunk, and its poll interval while it waits. */
#define ALB_IO_YIELD_MAX_MS 50
#define ALB_IO_YIELD_POLL_US 500

/** Waits while y says foreground writes are in flight, ALB_IO_YIELD_MAX_MS
 * at most (y or its busy NULL: returns at once). */
void alb_io_yield_wait(const struct alb_io_yield *y);

/** Bytes freed per step when a large file goes: a truncation and its
 * fdatasync each, so that the filesystem frees (and, mounted with
 * discard, discards) a bounded amount per journal commit. Freed at once,
 * 400 MB held a concurrent 4 KB append+fdatasync on ext4 for 155-195 ms;
 * in 16 MiB steps for 13-19 ms, in 8 MiB steps for 4-5 ms. */
#define ALB_IO_FREE_STEP (8u * 1024u * 1024u)

/** Frees the blocks of fd's file from its end, ALB_IO_FREE_STEP at a time,
 * giving way to y between steps, when no name is left to it (st_nlink 0:
 * the last link was removed) and it is a regular file that fd may
 * truncate; otherwise, or with y NULL (nothing to give way to, as at a
 * shutdown: at once is faster), does nothing, and close() frees it. Best
 * effort: a step that fails leaves the rest to close(). */
void alb_io_free_gradually(int fd, const struct alb_io_yield *y);

/** unlinkat(dirfd, name), the file's blocks then freed as
 * alb_io_free_gradually() does: the name goes first (a crash leaves an
 * orphan that the filesystem frees at mount, never a shortened file under
 * its name). 0 or the errno of unlinkat. */
int alb_io_unlink_gradually(int dirfd, const char *name,
			    const struct alb_io_yield *y);

#endif
