/* libalbatross — private side of the state file persistence (state_file.c):
 * the byte-level file operations under alb_state_write_file() /
 * alb_state_read_file(), and a fault-injection hook in the tests' build.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_IO_STATE_FILE_H
#define ALB_IO_STATE_FILE_H

#include <sys/uio.h>

#include "albatross/state.h"
#include "io/background.h"

/* File names inside dbdir (Albatross's). */
#define ALB_STATE_NAME "state"
#define ALB_STATE_BAK_NAME "state.bak"
#define ALB_STATE_STARTED_NAME "state.started"

/** The instants of an atomic file replacement at which the hook is called,
 * in order, then those of the journal. A crash at any of them leaves the
 * target and its backup each holding a complete old or new content, and
 * the journal's acknowledged records readable. */
enum alb_state_step {
	ALB_STATE_STEP_TMP_CREATED,  /* empty temporary file created */
	ALB_STATE_STEP_TMP_WRITTEN,  /* content written, not yet fsync'ed */
	ALB_STATE_STEP_TMP_SYNCED,   /* temporary file fsync'ed and closed */
	ALB_STATE_STEP_BAK_LINKED,   /* current file linked as <bak>.tmp */
	ALB_STATE_STEP_BAK_REPLACED, /* <bak>.tmp renamed over <bak> */
	ALB_STATE_STEP_RENAMED,      /* temporary file renamed over the target */
	ALB_STATE_STEP_DIR_SYNCED,   /* directory fsync'ed: done */
	/* the journal (journal_file.h) */
	ALB_STATE_STEP_JOURNAL_CREATED, /* new segment created, dir not synced */
	ALB_STATE_STEP_JOURNAL_WRITTEN, /* records written, not yet fdatasync'ed */
	ALB_STATE_STEP_JOURNAL_SYNCED,  /* records fdatasync'ed: durable */
	ALB_STATE_STEP_JOURNAL_REMOVED, /* one compacted segment unlinked */
	/* a streamed image's file (albd's vmmd_upload.c) */
	ALB_STATE_STEP_IMAGE_SYNCED,    /* its bytes so far fdatasync'ed */
	ALB_STATE_STEP_IMAGE_RENAMED,   /* whole: renamed from .part */
	ALB_STATE_STEP_IMAGE_DIR_SYNCED /* images/ fsync'ed: durable */
};

/** Calls the test hook (alb_state_file_set_hook) at step s: 0, or an
 * injected failure (ALB_ESYS, errno EIO) with its message in err; the
 * shipped library has no hook and returns 0. */
int alb_io_step(enum alb_state_step s, struct alb_error *err);

#ifdef ALB_TEST_HOOKS
/** Called at each step; a non-zero return makes the operation fail there
 * as if a system call had failed (it then cleans up), and a hook that never
 * returns (a child's _exit) simulates a crash. Not thread-safe. NULL
 * removes the hook. Only in the tests' build of state_file.c (a test gets
 * it with alb_io_hooks_dep, which defines ALB_TEST_HOOKS); the library
 * has no hook. */
typedef int (*alb_state_hook_fn)(enum alb_state_step step, void *ctx);
void alb_state_file_set_hook(alb_state_hook_fn fn, void *ctx);
#endif

/** Replaces <dbdir>/state with buf[0..len) as alb_state_write_file()
 * describes, keeping the previous file as state.bak. */
int alb_state_file_write_bytes(const char *dbdir, const uint8_t *buf,
			       size_t len, struct alb_error *err);

/** Opens <dbdir>/<name> for reading; *size its size. The descriptor, or
 * ALB_ENOENT when it does not exist, ALB_ETOOBIG past ALB_STATE_FILE_MAX,
 * ALB_EPARSE when it is not a regular file. */
int alb_state_file_open(const char *dbdir, const char *name, uint64_t *size,
			struct alb_error *err);

/** Reads <dbdir>/<name> whole into out (which must be empty; free with
 * alb_buf_free()). Errors as alb_state_file_open(). */
int alb_state_file_read_bytes(const char *dbdir, const char *name,
			      struct alb_buf *out, struct alb_error *err);

/** Bytes of a state file per write-behind chunk (sync_file_range): a
 * compaction of a large state has two chunks at most on their way to the
 * disk, so the journal's fdatasync beside it waits for those, not for
 * hundreds of MB of the state file's pages. 400 MB written here: 8 MiB
 * chunks one at a time 1.1 s, two in flight of 2 MiB 0.76-1.0 s, of 1 MiB
 * 0.71-0.78 s; and the less in flight, the less a create waits. */
#define ALB_STATE_WRITE_BEHIND (1u * 1024u * 1024u)

/** Replaces <dbdir>/state with the concatenation of iov[0..n) (written
 * with writev), as alb_state_file_write_bytes() does; with y non-NULL,
 * giving way to foreground writes as struct alb_io_yield says. */
int alb_state_file_write_iov(const char *dbdir, const struct iovec *iov,
			     size_t n, const struct alb_io_yield *y,
			     struct alb_error *err);

#endif
