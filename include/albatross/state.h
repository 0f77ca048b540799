/* libalbatross — the state file <dbdir>/state (spec §1.9, §6.10).
 * SPDX-License-Identifier: ISC */
#ifndef ALBATROSS_STATE_H
#define ALBATROSS_STATE_H

#include "albatross/common.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

struct alb_state_unikernel {
	const char *name; /* canonical name */
	struct alb_unikernel_config config;
	ALB_RESERVED(1);
};

/** The persisted state: unikernel configs and policies. `format` is the
 * CHOICE tag it was read from (0..6); the encoder always writes 6. */
struct alb_state {
	int format;
	size_t n_unikernels;
	struct alb_state_unikernel *unikernels;
	size_t n_policies;
	struct alb_named_policy *policies;
	struct alb_arena *arena_; /* private */
	ALB_RESERVED(4);
};

/** The format tag written today. */
#define ALB_STATE_FORMAT_CURRENT 6

/** Decodes a state file of any version [0]..[6]. Duplicate or invalid names
 * and the reserved [7] are clean ALB_EPARSE errors. Free with
 * alb_state_free(). flags as alb_msg_decode(). */
ALB_EXPORT int alb_state_decode(const uint8_t *buf, size_t len,
				unsigned flags, struct alb_state **out,
				struct alb_error *err);
ALB_EXPORT void alb_state_free(struct alb_state *s);

/** Encodes as format [6], entries in Albatross's trie order whatever their
 * order in s. */
ALB_EXPORT int alb_state_encode(const struct alb_state *s, struct alb_buf *out,
				struct alb_error *err);

/** Writes <dbdir>/state so that a crash at any instant leaves either the old
 * or the new file: the current file is kept as state.bak (hard link), the
 * new one written to a temporary file, fsync'ed, renamed over state, and the
 * directory fsync'ed. */
ALB_EXPORT int alb_state_write_file(const char *dbdir, const struct alb_state *s,
				    struct alb_error *err);

/** Reads and decodes <dbdir>/state. ALB_ENOENT when it does not exist. */
ALB_EXPORT int alb_state_read_file(const char *dbdir, struct alb_state **out,
				   struct alb_error *err);

/** Largest state file read or written, in bytes: 4 GiB. Images are stored
 * inside the state file as received (spec §6.10), so it must hold every
 * running unikernel's image (e.g. 32 images of 128 MiB); the daemon holds
 * all of it in memory anyway. A larger file is refused with ALB_ETOOBIG
 * before anything is allocated, and a larger state is never written. */
#define ALB_STATE_FILE_MAX ((uint64_t)4 << 30)

/** Copies <dbdir>/state to <dbdir>/state.started (Albatross's startup
 * copy, made at daemon start) atomically and durably, without running
 * `cp`. ALB_ENOENT when there is no state file. */
ALB_EXPORT int alb_state_copy_started(const char *dbdir, struct alb_error *err);

#ifdef __cplusplus
}
#endif
#endif
