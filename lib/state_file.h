/* libalbatross — private side of the state file persistence (state_file.c):
 * the byte-level file operations under alb_state_write_file() /
 * alb_state_read_file(), and a fault-injection hook for tests.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_STATE_FILE_H
#define ALB_STATE_FILE_H

#include <sys/uio.h>

#include "albatross/state.h"

/* File names inside dbdir (Albatross's). */
#define ALB_STATE_NAME "state"
#define ALB_STATE_BAK_NAME "state.bak"
#define ALB_STATE_STARTED_NAME "state.started"

/** The instants of an atomic file replacement at which the hook is called,
 * in order. A crash at any of them leaves the target and its backup each
 * holding a complete old or new content. */
enum alb_state_step {
	ALB_STATE_STEP_TMP_CREATED,  /* empty temporary file created */
	ALB_STATE_STEP_TMP_WRITTEN,  /* content written, not yet fsync'ed */
	ALB_STATE_STEP_TMP_SYNCED,   /* temporary file fsync'ed and closed */
	ALB_STATE_STEP_BAK_LINKED,   /* current file linked as <bak>.tmp */
	ALB_STATE_STEP_BAK_REPLACED, /* <bak>.tmp renamed over <bak> */
	ALB_STATE_STEP_RENAMED,      /* temporary file renamed over the target */
	ALB_STATE_STEP_DIR_SYNCED    /* directory fsync'ed: done */
};

/** Called at each step; a non-zero return makes the operation fail there
 * as if a system call had failed (it then cleans up), and a hook that never
 * returns (a child's _exit) simulates a crash. Tests only; not thread-safe.
 * NULL removes the hook. */
typedef int (*alb_state_hook_fn)(enum alb_state_step step, void *ctx);
void alb_state_file_set_hook(alb_state_hook_fn fn, void *ctx);

/** ALB_ETOOBIG (with a message) when a state file of size bytes is larger
 * than ALB_STATE_FILE_MAX, else 0. */
int alb_state_file_check_size(uint64_t size, struct alb_error *err);

/** Replaces <dbdir>/state with buf[0..len) as alb_state_write_file()
 * describes, keeping the previous file as state.bak. */
int alb_state_file_write_bytes(const char *dbdir, const uint8_t *buf,
			       size_t len, struct alb_error *err);

/** Reads <dbdir>/<name> whole into out (which must be empty; free with
 * alb_buf_free()). ALB_ENOENT when it does not exist, ALB_ETOOBIG past
 * ALB_STATE_FILE_MAX, ALB_EPARSE when it is not a regular file. */
int alb_state_file_read_bytes(const char *dbdir, const char *name,
			      struct alb_buf *out, struct alb_error *err);

/** Replaces <dbdir>/state with the concatenation of iov[0..n) (written
 * with writev), as alb_state_file_write_bytes() does. */
int alb_state_file_write_iov(const char *dbdir, const struct iovec *iov,
			     size_t n, struct alb_error *err);

/* ---- a state file in pieces: alb_state_encode() is a head, the entries
 * of the unikernels in name order (alb_name_cmp) and a tail (the
 * policies), so that a writer may keep each unikernel's entry and write
 * them with writev. */

/** One unikernel's entry with its image cut out: the entry is
 * bytes[0..cut), the image (image bytes), bytes[cut..len). */
struct alb_state_entry {
	uint8_t *bytes;
	size_t len;
	size_t cut;
	size_t image;
};

/** Encodes the entry of unikernel name with configuration c (whose image
 * is cut out, not copied: the caller writes c->image at out->cut). Free
 * with alb_state_entry_free(). 0 or ALB_ENOMEM. */
int alb_state_entry_encode(const char *name,
			   const struct alb_unikernel_config *c,
			   struct alb_state_entry *out, struct alb_error *err);
/** Frees e's bytes (NULL or already freed: nothing). */
void alb_state_entry_free(struct alb_state_entry *e);

/** The current format's state file around its unikernel entries, which
 * are entries_len bytes in all: the head in front of them and the tail
 * (the policies p[0..np), any order) after them. head and tail must be
 * empty; free both with alb_buf_free(). ALB_ETOOBIG past
 * ALB_STATE_FILE_MAX. */
int alb_state_encode_frame(const struct alb_named_policy *p, size_t np,
			   size_t entries_len, struct alb_buf *head,
			   struct alb_buf *tail, struct alb_error *err);

#endif
