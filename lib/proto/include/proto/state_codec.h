/* libalbatross — the state file's encoding in pieces, for writers that keep
 * each unikernel's entry (private to the library).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_PROTO_STATE_CODEC_H
#define ALB_PROTO_STATE_CODEC_H

#include "albatross/state.h"

/** ALB_ETOOBIG (with a message) when a state file of size bytes is larger
 * than ALB_STATE_FILE_MAX, else 0. */
int alb_state_file_check_size(uint64_t size, struct alb_error *err);

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
