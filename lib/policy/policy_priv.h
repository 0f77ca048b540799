/* libalbatross — private: set helpers shared by policy.c and resources.c.
 * SPDX-License-Identifier: ISC
 *
 * Albatross's policies hold sets (of CPU ids, of bridge names) and its
 * messages print them in ascending order separated by ", ". A "view" looks
 * at a caller's array as such a set: the array itself when it is already
 * strictly ascending (every decoded or normalised value), else a sorted,
 * de-duplicated copy. Sorting and comparing are the codec's (alb_sort_ints,
 * alb_sort_strs, alb_str_cmp in wire_internal.h). */
#ifndef ALB_POLICY_PRIV_H
#define ALB_POLICY_PRIV_H

#include "albatross/common.h"
#include "albatross/wire.h"
#include "base/sort.h"

struct alb_ids_view {
	const int64_t *v;
	size_t n;
	int64_t *owned_; /* private: the copy, if one was needed */
};

struct alb_strs_view {
	const struct alb_str *v;
	size_t n;
	struct alb_str *owned_; /* private: the copy (of the structs only) */
};

/** Views v[0..n) as a set. 0 or ALB_ENOMEM. Release with *_view_free. */
int alb_pol_ids_view(struct alb_ids_view *out, const int64_t *v, size_t n);
void alb_pol_ids_view_free(struct alb_ids_view *w);
int alb_pol_strs_view(struct alb_strs_view *out, const struct alb_str *v,
		      size_t n);
void alb_pol_strs_view_free(struct alb_strs_view *w);

/** Membership in a set (binary search). */
bool alb_pol_ids_has(const int64_t *set, size_t n, int64_t x);
bool alb_pol_strs_has(const struct alb_str *set, size_t n,
		      const struct alb_str *x);

/** True when every element of set a is in set b (both views). */
bool alb_pol_ids_subset(const struct alb_ids_view *a,
			const struct alb_ids_view *b);
bool alb_pol_strs_subset(const struct alb_strs_view *a,
			 const struct alb_strs_view *b);

/** Writes the elements of set a that are not in set b as "1, 2, 3" into
 * out (cap bytes, always NUL-terminated, cut when full). b may be NULL to
 * print all of a. */
void alb_pol_ids_print(char *out, size_t cap, const struct alb_ids_view *a,
		       const struct alb_ids_view *b);

/** Writes strings v[0..n) as "a, b, c" (cut when full). */
void alb_pol_strs_print(char *out, size_t cap, const struct alb_str *v,
			size_t n);

/** The host bridge a network device attaches to: its bridge, else its
 * unikernel-side name (Albatross's Unikernel.bridges). */
const struct alb_str *alb_pol_host_bridge(const struct alb_net_dev *d);

/** Writes the host bridges of c that are not in the set allowed, in config
 * order with duplicates (as Albatross's List.partition leaves them), as
 * "a, b" into out (cut when full); true when there is at least one. */
bool alb_pol_bridges_denied(char *out, size_t cap,
			    const struct alb_unikernel_config *c,
			    const struct alb_str *allowed, size_t n_allowed);

/** x + y saturating at INT64_MAX, with negative amounts counted as 0. */
int64_t alb_pol_add(int64_t x, int64_t y);

/** True when `request` exceeds `limit - used` (computed without
 * overflow), Albatross's test for memory and block storage. */
bool alb_pol_exceeds(int64_t request, int64_t limit, int64_t used);

#endif
