/* libalbatross — the journal beside the state file, on disk (private;
 * doc/journal.md). The journal is a sequence of segments
 * <dbdir>/journal.<N> (N decimal, from 1), each a concatenation of records
 * (proto/journal_codec.h) appended and fdatasync'ed. The state of a dbdir
 * is <dbdir>/state with the segments' records applied in order (segment
 * by segment, ascending N). Records set or remove one key, so applying a
 * segment again over a state that already holds its changes changes
 * nothing: compaction writes the state and only then removes the
 * segments it covers.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_IO_JOURNAL_FILE_H
#define ALB_IO_JOURNAL_FILE_H

#include <stdint.h>
#include <sys/uio.h>

#include "io/background.h"
#include "proto/journal_codec.h"

/** File name prefix of a segment. */
#define ALB_JOURNAL_PREFIX "journal."
/** Most segments a dbdir may hold (one per compaction that could not
 * finish, or per failed append, between two compactions); more is refused
 * as a damaged dbdir. */
#define ALB_JOURNAL_SEGMENTS_MAX 4096

/** The numbers of the segments in dbdir, ascending, in a new array *ids
 * (free()) of *n. Other files are ignored; a "journal.<N>" that is not a
 * regular file, or a number out of range, is ALB_EPARSE; more than
 * ALB_JOURNAL_SEGMENTS_MAX segments is ALB_ETOOBIG. */
int alb_journal_list(const char *dbdir, uint64_t **ids, size_t *n,
		     struct alb_error *err);

/** Creates segment id (O_EXCL, mode 0600, opened for appending and for
 * reading: its records may be mapped) and makes its name durable (fsync
 * of dbdir). Returns its descriptor or an error (ALB_EEXIST when it
 * exists). */
int alb_journal_create(const char *dbdir, uint64_t id, struct alb_error *err);

/** Removes segment id of dbdir, which holds no record (one made ahead and
 * never appended to); a missing one is no error. The removal need not be
 * durable: an empty segment found at a start changes nothing. */
int alb_journal_discard(const char *dbdir, uint64_t id, struct alb_error *err);

/** Appends iov[0..n) to the segment open as fd whose length is *size, and
 * fdatasyncs it: 0 and *size grown, or an error after which the segment
 * is cut back to *size (as far as the system lets us: a failed cut leaves
 * bytes that a reader finds torn, so the caller appends no more to it). */
int alb_journal_append(int fd, const struct iovec *iov, size_t n,
		       uint64_t *size, struct alb_error *err);

/** Called for each record of a segment, in order; a non-zero return stops
 * the replay, which returns it. */
typedef int (*alb_journal_fn)(void *ctx, const struct alb_journal_change *c,
			      struct alb_error *err);

/** What a replay found. */
struct alb_journal_replay_stats {
	uint64_t records;
	uint64_t bytes;      /* of the whole records */
	bool torn;           /* a torn last record was ignored */
	uint64_t torn_at;    /* its offset */
};

/** Reads segment id of dbdir and calls fn for each of its records. A last
 * record that is incomplete or fails its checksum (an append a crash cut
 * short, never acknowledged) is ignored with a warning; any other damage
 * (a record that fails its checksum or grammar with records after it) is
 * ALB_EPARSE with a message naming the file and the offset. */
int alb_journal_replay(const char *dbdir, uint64_t id, alb_journal_fn fn,
		       void *ctx, struct alb_journal_replay_stats *st,
		       struct alb_error *err);

/** Opens segment id of dbdir read-only: its descriptor and *size, or an
 * error. */
int alb_journal_open(const char *dbdir, uint64_t id, uint64_t *size,
		     struct alb_error *err);

/** alb_journal_replay() of segment id of dbdir whose size bytes the
 * caller has mapped at bytes: each change's image points into them
 * (ALB_DECODE_BORROW). The file must not shrink meanwhile. */
int alb_journal_replay_mapped(const char *dbdir, uint64_t id,
			      const uint8_t *bytes, uint64_t size,
			      alb_journal_fn fn, void *ctx,
			      struct alb_journal_replay_stats *st,
			      struct alb_error *err);

/** Removes every segment numbered up to id (a compaction covers them),
 * lowest first, each freed a step at a time giving way to y (may be NULL;
 * io/background.h), then fsyncs dbdir. */
int alb_journal_remove(const char *dbdir, uint64_t upto,
		       const struct alb_io_yield *y, struct alb_error *err);

#endif
