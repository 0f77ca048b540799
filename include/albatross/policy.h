/* libalbatross — policies and resource accounting (spec §4, §12.1).
 * SPDX-License-Identifier: ISC
 *
 * Two parts, both without I/O (except alb_policy_root_discover):
 *  - checks on policy values: "usable" (§4.2), sub ≤ super (§4.3), the
 *    client's "config fits policy" check, root policy discovery (§4.7);
 *  - the resource table of vmmd: policies at paths, running unikernels and
 *    block devices, with the checks of policy add (§4.4), create (§4.5)
 *    and block add (§4.6), failing with Albatross's exact texts.
 *
 * Names are canonical strings (name.h). Policies are compared as sets:
 * cpuids and bridges may come in any order and with duplicates.
 *
 * Where we differ from Albatross (spec §12.1 item 1, a security fix): the
 * create and block checks consult EVERY policy from the name's path up to
 * and including the root, each against the usage of its own subtree, most
 * specific first, with the same messages. Albatross only consults the
 * policy at the exact path, so siblings could jointly exceed their parent.
 * Policy insertion is unchanged (ancestors up to, excluding, the root). */
#ifndef ALBATROSS_POLICY_H
#define ALBATROSS_POLICY_H

#include "albatross/common.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A usable policy allows more than this much memory, in MB (§4.2). */
#define ALB_POLICY_MIN_MEMORY 16
/** OCaml's max_int (2^62 − 1): the root policy's unikernel count and the
 * console ring count for root-level unikernels (§4.7, §4.8). */
#define ALB_POLICY_UNLIMITED INT64_C(0x3fffffffffffffff)
/** Most CPUs a discovered root policy lists (Linux's largest NR_CPUS). */
#define ALB_POLICY_ROOT_CPUS_MAX 8192

/* ---- policy values ----------------------------------------------------- */

/** Deep-copies src into one new allocation, normalised: cpuids ascending
 * and bridges in bytewise order, duplicates dropped (as Albatross's sets).
 * Free *out with alb_policy_free(). ALB_ENOMEM / ALB_ETOOBIG (size). */
ALB_EXPORT int alb_policy_copy(const struct alb_policy *src,
			       struct alb_policy **out, struct alb_error *err);

/** Frees a policy made by this module; NULL is a no-op. */
ALB_EXPORT void alb_policy_free(struct alb_policy *p);

/** True when both policies are equal, cpuids and bridges compared as sets
 * (Albatross's Policy.equal). */
ALB_EXPORT bool alb_policy_equal(const struct alb_policy *a,
				 const struct alb_policy *b);

/** The "usable" check (§4.2), done by the client and by `sign`, never by
 * vmmd. Returns 0 or ALB_EINVAL with "Unusable policy with no unikernels",
 * "... with no CPUids", "... with memory N MB <= 16 MB" or
 * "... with block N MB < 0 MB". */
ALB_EXPORT int alb_policy_usable(const struct alb_policy *p,
				 struct alb_error *err);

/** The static check sub ≤ super (§4.3), first failure wins. Returns 0 or
 * ALB_EPERM with "policy above allows N unikernels, which is fewer than M"
 * and its siblings for memory, CPUids, bridge(s) and block storage. */
ALB_EXPORT int alb_policy_is_smaller(const struct alb_policy *super,
				     const struct alb_policy *sub,
				     struct alb_error *err);

/** The client's check that a unikernel config fits a policy (Albatross's
 * fine_with_policy: cpuids ⊆, memory ≤, host bridges ⊆). Returns 0 or
 * ALB_EPERM with "the CPUids L requested by the unikernel are not allowed
 * by policy", "M MB memory assigned to unikernel exceeds policy (PMB)" or
 * "Bridge(s) L not allowed by policy (available: L)". */
ALB_EXPORT int alb_policy_allows(const struct alb_policy *p,
				 const struct alb_unikernel_config *c,
				 struct alb_error *err);

/** Builds the root policy of a host (§4.7) from its numbers: ncpus online
 * CPUs (1..ALB_POLICY_ROOT_CPUS_MAX; cpuids 0..ncpus−1), physical memory
 * and the total size of the block directory's filesystem in bytes (both
 * rounded down to MB), and the host's bridges; unikernels is
 * ALB_POLICY_UNLIMITED. Free *out with alb_policy_free(). ALB_EINVAL for
 * ncpus < 1, ALB_ETOOBIG above the CPU limit, ALB_ENOMEM. */
ALB_EXPORT int alb_policy_root(int64_t ncpus, uint64_t memory_bytes,
			       uint64_t block_bytes,
			       const struct alb_str *bridges,
			       size_t n_bridges, struct alb_policy **out,
			       struct alb_error *err);

/** Like alb_policy_root() with the numbers read from this host: online
 * CPUs and physical memory from sysconf(), the block size from statfs() of
 * block_dir (which must exist). The bridges are given by the caller (the
 * net module lists them). ALB_ESYS "root policy failed: ..." when a number
 * cannot be read. */
ALB_EXPORT int alb_policy_root_discover(const char *block_dir,
					const struct alb_str *bridges,
					size_t n_bridges,
					struct alb_policy **out,
					struct alb_error *err);

/* ---- the resource table ------------------------------------------------ */

/** vmmd's resource table: policies, running unikernels, block devices. */
struct alb_resources;

/** Usage of a subtree (§4.4): running unikernels, their memory (MB), and
 * the sizes (MB) of block devices attached to a running unikernel (active)
 * or not. Sums saturate at INT64_MAX; negative amounts count as 0. */
struct alb_usage {
	int64_t unikernels;
	int64_t memory;
	int64_t block_active;
	int64_t block_inactive;
	ALB_RESERVED(4);
};

/** A new empty table, or NULL when out of memory. Free with
 * alb_resources_free(). */
ALB_EXPORT struct alb_resources *alb_resources_new(void);

/** Frees the table and everything it holds; NULL is a no-op. */
ALB_EXPORT void alb_resources_free(struct alb_resources *r);

/** Sets the path (canonical path name) whose unikernels may use host block
 * devices starting with "/dev/zvol" outside the block table (vmmd's
 * --allow-zvol-for, §6.13); NULL turns the escape off. */
ALB_EXPORT int alb_resources_set_zvol_path(struct alb_resources *r,
					   const char *path,
					   struct alb_error *err);

/** Inserts (or replaces) the policy at a path name (§4.4). If the same
 * policy (as sets) is already there, nothing changes and *unchanged (when
 * not NULL) is set: vmmd then replies "no modification of policy";
 * otherwise *unchanged is false. Checks, first failure wins: every policy
 * strictly above up to but excluding the root must allow it; it must allow
 * every policy below; the current usage of its subtree must fit ("policy
 * does not allow CPUids L", "policy allows bridges L, which is not a
 * superset of L", "unikernel would exceed running unikernel limit set by
 * policy to N, running M", ... memory ..., ... block storage ...).
 * ALB_EPERM on a refusal, ALB_EINVAL when path is not a path name. The
 * policy is deep-copied. */
ALB_EXPORT int alb_resources_policy_insert(struct alb_resources *r,
					   const char *path,
					   const struct alb_policy *p,
					   bool *unchanged,
					   struct alb_error *err);

/** Removes the policy at a path name; ALB_ENOENT "unknown policy". Nothing
 * else is checked (as Albatross). */
ALB_EXPORT int alb_resources_policy_remove(struct alb_resources *r,
					   const char *path,
					   struct alb_error *err);

/** The policy at exactly a path name, or NULL. Borrowed: valid until the
 * policy at that path is replaced or removed, or the table freed. */
ALB_EXPORT const struct alb_policy *
alb_resources_policy_find(const struct alb_resources *r, const char *path);

/** Lists the policies of the subtree of a path name (the path itself
 * included, named ":"), with names relative to the path, in the order of
 * Albatross's Policies reply (reverse of the trie fold, §3.4). *out is one
 * allocation holding deep copies; free it with alb_named_policies_free().
 * An empty list gives *n = 0 and *out = NULL. */
ALB_EXPORT int alb_resources_policy_list(const struct alb_resources *r,
					 const char *path,
					 struct alb_named_policy **out,
					 size_t *n, struct alb_error *err);

/** Frees a list from alb_resources_policy_list(); NULL is a no-op. */
ALB_EXPORT void alb_named_policies_free(struct alb_named_policy *v);

/** The check for adding block device `name` (with a label) of size_mb
 * (§4.6): ALB_EEXIST "block device with name [unikernel: P:L] already
 * exists"; then each policy from the name's path up to the root: ALB_EPERM
 * "no block devices are allowed by policy" or "block device policy limit
 * of N MB (used U MB) would be exceeded by the request (S MB)", with U all
 * devices (active or not) of that policy's subtree. */
ALB_EXPORT int alb_resources_block_check(const struct alb_resources *r,
					 const char *name, int64_t size_mb,
					 struct alb_error *err);

/** Checks as alb_resources_block_check() and registers the device as
 * inactive. ALB_EINVAL for a negative size. */
ALB_EXPORT int alb_resources_block_add(struct alb_resources *r,
				       const char *name, int64_t size_mb,
				       struct alb_error *err);

/** Unregisters a block device: ALB_ENOENT "unknown block device N",
 * ALB_EBUSY "block device N in use". */
ALB_EXPORT int alb_resources_block_remove(struct alb_resources *r,
					  const char *name,
					  struct alb_error *err);

/** Looks a block device up: 0 with its size (MB) and active flag (either
 * pointer may be NULL), or ALB_ENOENT. */
ALB_EXPORT int alb_resources_block_find(const struct alb_resources *r,
					const char *name, int64_t *size_mb,
					bool *active);

/** Marks a block device attached (active) or not: ALB_ENOENT "block device
 * N not in trie", ALB_EBUSY "block device N already in state active" (or
 * "inactive"). Creating and removing unikernels does this by itself. */
ALB_EXPORT int alb_resources_block_set_active(struct alb_resources *r,
					      const char *name, bool active,
					      struct alb_error *err);

/** Lists block devices (§6.12): for a name with a label that device alone
 * (named as given, none if absent); for a path name every device of its
 * subtree with relative names, in the order of Albatross's reply. *out is
 * one allocation; free it with alb_block_infos_free(). */
ALB_EXPORT int alb_resources_block_list(const struct alb_resources *r,
					const char *name,
					struct alb_block_info **out,
					size_t *n, struct alb_error *err);

/** Frees a list from alb_resources_block_list(); NULL is a no-op. */
ALB_EXPORT void alb_block_infos_free(struct alb_block_info *v);

/** The dynamic check before creating unikernel `name` with config c
 * (§4.5, with our fix): for each policy from the name's path up to and
 * including the root (most specific first), with the usage of that
 * policy's subtree: ALB_EPERM "maximum amount of unikernels (N) reached",
 * "maximum allowed memory (M, used U) would be exceeded (requesting R)",
 * "CPUids L are not allowed by policy", "bridges L not allowed by policy";
 * then each block device: ALB_ENOENT "block device N not found", ALB_EBUSY
 * "block device N already in use"; then ALB_EEXIST "unikernel with same
 * name already exists". If `ignore` is not NULL, the running unikernel of
 * that name is treated as gone (its usage, its name and its block devices
 * are free): the check of force-create and restart. */
ALB_EXPORT int alb_resources_unikernel_check(const struct alb_resources *r,
					     const char *name,
					     const struct alb_unikernel_config *c,
					     const char *ignore,
					     struct alb_error *err);

/** Records a running unikernel (the resource parts of c are copied) and
 * marks its block devices active. ALB_EEXIST "unikernel N already exists
 * in trie", ALB_ENOENT "block device N not in trie", ALB_EBUSY "block
 * device N already in state active"; nothing changes on failure. */
ALB_EXPORT int alb_resources_unikernel_insert(struct alb_resources *r,
					      const char *name,
					      const struct alb_unikernel_config *c,
					      struct alb_error *err);

/** Forgets a running unikernel and marks its block devices inactive.
 * ALB_ENOENT "unknown unikernel". */
ALB_EXPORT int alb_resources_unikernel_remove(struct alb_resources *r,
					      const char *name,
					      struct alb_error *err);

/** True when a unikernel of that name is recorded as running. */
ALB_EXPORT bool alb_resources_unikernel_exists(const struct alb_resources *r,
					       const char *name);

/** The usage of the subtree of a path name (which, as in Albatross, also
 * covers a root-level unikernel or block device named like the path's
 * only label). ALB_EINVAL when path is not a path name. */
ALB_EXPORT int alb_resources_usage(const struct alb_resources *r,
				   const char *path, struct alb_usage *out,
				   struct alb_error *err);

/** The number of console rings for unikernel `name` (§4.8): unlimited
 * (ALB_POLICY_UNLIMITED) at the root path, else the unikernels field of
 * the policy at the name's path, else 0. */
ALB_EXPORT int64_t alb_resources_unikernel_limit(const struct alb_resources *r,
						 const char *name);

#ifdef __cplusplus
}
#endif
#endif
