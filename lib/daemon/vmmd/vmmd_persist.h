/* libalbatross — vmmd: what the persistence files share (private to
 * vmmd_durable.c, vmmd_journal.c and vmmd_persist.c):
 *   vmmd_durable.c  the durable state (what state + journal hold): load
 *                   from a dbdir, snapshots, the state file written from
 *                   a snapshot
 *   vmmd_journal.c  records queued on the loop, appended in batches in the
 *                   threadpool, applied to the durable state once on disk
 *   vmmd_persist.c  compaction and its triggers, startup, shutdown, the
 *                   restore of unikernels, offline compaction
 * SPDX-License-Identifier: ISC */
#ifndef ALB_VMMD_PERSIST_H
#define ALB_VMMD_PERSIST_H

#include "vmmd_internal.h"

struct alb_io_yield;

/* ---- the durable state (vmmd_durable.c) ---------------------------------- */

int durable_init(struct durable *d);
void durable_free(struct durable *d);
/** Sets unikernel name to cfg (a reference is taken), or removes it (cfg
 * NULL). 0 or ALB_ENOMEM (d unchanged). */
int durable_set_uk(struct durable *d, const char *name,
		   struct alb_unikernel_config *cfg, struct alb_error *err);
/** Sets the policy at path to a copy of p, or removes it (p NULL). */
int durable_set_policy(struct durable *d, const char *path,
		       const struct alb_policy *p, struct alb_error *err);

/** What the loading of a dbdir found. */
struct durable_load_info {
	bool have_state;   /* a state file was read */
	uint64_t last_seg; /* the highest journal segment, 0 for none */
	size_t segments;
	uint64_t records;  /* replayed */
	uint64_t torn;     /* torn last records ignored */
};

/** Reads <dbdir>/state (none: empty) and replays every journal segment
 * into d (empty before). Errors: the state file or a segment unreadable,
 * a corrupt record (the files are left as they are). */
int durable_load(struct durable *d, const char *dbdir,
		 struct durable_load_info *info, struct alb_error *err);

/** What a state write takes from the durable state: names (copied),
 * configurations (retained; their entries encoded), policies (copied). */
struct snapshot {
	size_t n;
	char **names;
	struct alb_unikernel_config **cfgs;
	size_t np;
	struct alb_named_policy *pols;
	struct alb_policy **pol_copies;
};

/** Takes a snapshot of d (on the loop). 0 or ALB_ENOMEM. */
int durable_snapshot(const struct durable *d, struct snapshot *s,
		     struct alb_error *err);
/** Releases a snapshot (on the loop: the references). */
void snapshot_free(struct snapshot *s);
/** Writes <dbdir>/state from s (atomic replacement, state.bak kept): the
 * unikernels in name order, each entry written from its configuration's
 * cached encoding and image (threadpool-safe when every entry is encoded
 * already, as on the daemon's durable state). *bytes: the file's size. */
int snapshot_write(const char *dbdir, const struct snapshot *s,
		   const struct alb_io_yield *y, uint64_t *bytes,
		   struct alb_error *err);

/* ---- the journal (vmmd_journal.c) ------------------------------------------- */

/** Starts an append of the queued records if none runs and none waits for
 * its retry; with none queued and no segment open, makes the next segment
 * ahead (an append of no record). */
void journal_kick(struct alb_vmmd *v);
/** Frees queued records (their waiters are not called: core freed). */
void journal_free(struct alb_vmmd *v);

/* ---- compaction (vmmd_persist.c) --------------------------------------------- */

/** Starts a compaction now: no append may run (records appended from now
 * on go to a new segment). */
void compaction_start(struct alb_vmmd *v);
/** After an append: arms the age timer, or asks for a compaction when the
 * journal is large. */
void compaction_after_append(struct alb_vmmd *v);

#endif
